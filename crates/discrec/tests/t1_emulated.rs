//! Tier T1: exclusive access on emulated recorders, with real processes. No root needed.

mod common;

use std::time::{Duration, Instant};

use common::*;
use discrecorder::{emu, AcquireOptions, HResult, OwnerKind, Recorder, Wait};

#[test]
#[ignore = "helper-process entry point, started by the other tests"]
fn zz_probe_entry() {
    probe_entry();
}

fn open(spec: &str) -> Recorder {
    Recorder::open(spec).expect("open recorder")
}

#[test]
fn a_invalid_client_names_give_e_invalidarg_and_change_nothing() {
    let dev = unique_emu("names");
    let rec = open(&dev);
    let nul = "a\0b";
    let invalid = ["", &"x".repeat(64), "a@b", "a/b", "caf\u{e9}", "a\tb", nul];
    for name in invalid {
        let err = rec
            .acquire_exclusive_access(false, name)
            .expect_err("invalid name must fail");
        assert_eq!(err.hresult(), HResult::EInvalidArg, "{name:?}");
        assert_eq!(err.code(), 0x8007_0057);
        assert_eq!(rec.lock_count(), 0, "{name:?} changed the count");
        assert_eq!(
            rec.owner().expect("owner"),
            None,
            "{name:?} took the device"
        );
    }
    // While held, an invalid name changes neither the count nor the published name.
    rec.acquire_exclusive_access(false, "First")
        .expect("acquire");
    for name in invalid {
        let err = rec
            .acquire_exclusive_access(false, name)
            .expect_err("invalid");
        assert_eq!(err.hresult(), HResult::EInvalidArg);
        assert_eq!(rec.lock_count(), 1);
    }
    assert_eq!(rec.exclusive_access_owner().expect("owner"), "First");
    rec.release_exclusive_access().expect("release");
}

#[test]
fn a_valid_client_names_sixty_three_bytes_and_each_punctuation_byte() {
    let dev = unique_emu("valid");
    let rec = open(&dev);
    let long = "Z".repeat(63);
    let mut names = vec![long];
    names.extend(
        [" ", ".", ",", ":", ";", "_", "-"]
            .iter()
            .map(|p| format!("Client{p}9")),
    );
    for name in names {
        let got = rec.acquire_exclusive_access(false, &name);
        assert!(got.is_ok(), "{name:?}: {got:?}");
        let (code, out, _) = discrec(&["owner", &dev]);
        assert_eq!(code, 0);
        assert_eq!(
            out.trim_end_matches('\n'),
            name,
            "another process sees the name"
        );
        rec.release_exclusive_access().expect("release");
    }
}

#[test]
fn b_count_nests_and_only_the_last_release_frees_the_device() {
    let dev = unique_emu("count");
    let rec = open(&dev);
    for i in 1..=3 {
        let a = rec
            .acquire_exclusive_access(false, "Counter")
            .expect("acquire");
        assert_eq!(a.lock_count, i);
    }
    assert_eq!(rec.release_exclusive_access().expect("release"), 2);
    assert_eq!(rec.release_exclusive_access().expect("release"), 1);
    // Still held: another process sees the owner and is refused.
    let mut p = probe("owner", &[&dev]);
    assert_eq!(p.line(), "owner Counter");
    let mut p = probe("try", &[&dev, "Other"]);
    assert!(
        p.line().starts_with("err 0x80070005"),
        "other process refused"
    );
    assert_eq!(rec.release_exclusive_access().expect("release"), 0);
    // Free: another process gets it.
    let mut p = probe("try", &[&dev, "Other"]);
    assert_eq!(p.line(), "ok Other");
    drop(p);
    // Release at 0: E_FAIL, nothing changes.
    let err = rec.release_exclusive_access().expect_err("release at 0");
    assert_eq!(err.hresult(), HResult::EFail);
    assert_eq!(err.code(), 0x8000_4005);
    assert_eq!(rec.lock_count(), 0);
    assert_eq!(rec.owner().expect("owner"), None);
}

#[test]
fn b_nested_acquire_keeps_the_first_published_name() {
    let dev = unique_emu("firstname");
    let rec = open(&dev);
    rec.acquire_exclusive_access(false, "First Name")
        .expect("acquire");
    rec.acquire_exclusive_access(false, "Second Name")
        .expect("nest");
    let mut p = probe("owner", &[&dev]);
    assert_eq!(p.line(), "owner First Name");
}

#[test]
fn c_second_recorder_in_same_process_and_another_process_are_denied_naming_owner() {
    let dev = unique_emu("conflict");
    let a = open(&dev);
    a.acquire_exclusive_access(false, "Holder A")
        .expect("acquire");
    let b = open(&dev);
    let err = b
        .acquire_exclusive_access(false, "Holder B")
        .expect_err("same-process second recorder");
    assert_eq!(err.hresult(), HResult::EAccessDenied);
    assert!(err.context().contains("Holder A"), "{err}");
    assert_eq!(b.exclusive_access_owner().expect("owner"), "Holder A");
    let mut p = probe("try", &[&dev, "Holder C"]);
    let line = p.line();
    assert!(line.starts_with("err 0x80070005"), "{line}");
    assert!(line.contains("Holder A"), "{line}");
    // A's lock survives B's failed attempt (no descriptor of ours was closed under it).
    assert_eq!(a.lock_count(), 1);
    let mut p = probe("owner", &[&dev]);
    assert_eq!(p.line(), "owner Holder A");
}

#[test]
fn c_owner_value_carries_pid_program_since_and_kind() {
    let dev = unique_emu("rich");
    let mut holder = probe("hold", &[&dev, "Rich Owner"]);
    assert_eq!(holder.line(), "held");
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    let o = open(&dev).owner().expect("owner").expect("held");
    assert_eq!(o.kind, OwnerKind::Client);
    assert_eq!(o.name, "Rich Owner");
    assert_eq!(o.pid, Some(holder.pid()));
    assert!(o.program.as_deref().is_some_and(|p| !p.is_empty()));
    let since = o.since_unix_ms.expect("since");
    assert!(
        since <= before && before - since < 60_000,
        "since {since} vs {before}"
    );
    holder.finish();
    assert_eq!(open(&dev).owner().expect("owner"), None);
}

/// Issue 12 section 4: a job published by a holder (a burn) is seen by every other process,
/// through the library, `owner`, `owner --json`, `info --json` and `list --json`, advancing as
/// the holder publishes, and gone when it clears it.
#[test]
fn c_a_published_job_is_seen_by_other_processes_and_advances() {
    let dev = unique_emu("job");
    let mut holder = probe("hold", &[&dev, "Disc Robot"]);
    assert_eq!(holder.line(), "held");
    assert_eq!(open(&dev).owner().expect("owner").expect("held").job, None);
    holder.send("job 430");
    assert_eq!(holder.line(), "ok");
    let job = open(&dev).owner().expect("owner").expect("held").job;
    let job = job.expect("a published job");
    assert_eq!(
        (job.action, job.lba, job.total, job.percent),
        (discrecorder::JobAction::WritingData, 430, 1000, 43)
    );
    let (code, out, _) = discrec(&["owner", &dev]);
    assert_eq!(
        (code, out.trim()),
        (0, "Disc Robot: writing 43 %, 3 min left")
    );
    let (code, out, _) = discrec(&["owner", "--json", &dev]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["owner"]["job"]["action"], "writing_data");
    assert_eq!(v["owner"]["job"]["lba"], 430);
    assert_eq!(v["owner"]["job"]["total"], 1000);
    assert_eq!(v["owner"]["job"]["percent"], 43);
    assert_eq!(v["owner"]["job"]["eta_s"], 180);
    assert_eq!(v["owner"]["job"]["since"], 1_780_000_000_000u64);
    let (_, out, _) = discrec(&["info", "--json", &dev]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["owner"]["job"]["lba"], 430, "{out}");
    holder.send("job 870");
    assert_eq!(holder.line(), "ok");
    let (_, out, _) = discrec(&["owner", "--json", &dev]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["owner"]["job"]["lba"], 870, "the job's LBA advances");
    holder.send("job none");
    assert_eq!(holder.line(), "ok");
    let (_, out, _) = discrec(&["owner", "--json", &dev]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert!(v["owner"]["job"].is_null(), "{out}");
    assert_eq!(v["owner"]["name"], "Disc Robot");
    holder.finish();
}

#[test]
fn d_holder_killed_at_random_instants_frees_the_device_every_time() {
    let dev = unique_emu("crash");
    crash_rounds(&dev, &emu_backing(&dev), chaos_rounds(500));
}

#[test]
fn e_sixteen_processes_race_and_exactly_one_wins_each_of_500_rounds() {
    race_rounds(&unique_emu("race"), 500);
}

#[test]
fn i_emulated_device_removed_gives_dev_not_exist_and_release_still_works() {
    let dev = unique_emu("vanish");
    let name = dev.strip_prefix("emu:").expect("emu");
    let holder = open(&dev);
    holder
        .acquire_exclusive_access(false, "Soon Gone")
        .expect("acquire");
    let other = open(&dev);
    emu::remove(name, emu::Removal::EvenIfHeld).expect("remove");
    assert!(holder.device_vanished());
    let err = other
        .acquire_exclusive_access(false, "Late")
        .expect_err("device gone");
    assert_eq!(err.hresult(), HResult::DevNotExist);
    assert_eq!(err.code(), 0x8007_0037);
    let err = other.owner().expect_err("device gone");
    assert_eq!(err.hresult(), HResult::DevNotExist);
    assert_eq!(holder.release_exclusive_access().expect("release"), 0);
    let err = Recorder::open(&format!("emu:{name}-missing"))
        .and_then(|r| {
            emu::remove(&format!("{name}-missing"), emu::Removal::IfFree)?;
            r.acquire_exclusive_access(false, "X")
        })
        .expect_err("gone");
    assert_eq!(err.hresult(), HResult::DevNotExist);
}

#[test]
fn wait_is_woken_by_the_kernel_when_the_holder_releases() {
    let dev = unique_emu("wait");
    let mut holder = probe("hold", &[&dev, "Slow Holder"]);
    assert_eq!(holder.line(), "held");
    let waiter = open(&dev);
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        holder.finish()
    });
    let start = Instant::now();
    let got = waiter.acquire_with(
        "Patient",
        AcquireOptions::new().wait(Wait::Timeout(Duration::from_secs(20))),
    );
    let waited = start.elapsed();
    assert!(got.is_ok(), "{got:?}");
    assert!(
        waited >= Duration::from_millis(250),
        "acquired before release: {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(20),
        "timed out instead of being woken"
    );
    releaser.join().expect("releaser");
}

#[test]
fn wait_gives_up_at_the_deadline_with_access_denied() {
    let dev = unique_emu("deadline");
    let mut holder = probe("hold", &[&dev, "Stubborn"]);
    assert_eq!(holder.line(), "held");
    let start = Instant::now();
    let err = open(&dev)
        .acquire_with(
            "Patient",
            AcquireOptions::new().wait(Wait::Timeout(Duration::from_millis(300))),
        )
        .expect_err("held throughout");
    assert!(start.elapsed() >= Duration::from_millis(300));
    assert_eq!(err.hresult(), HResult::EAccessDenied);
    assert!(err.context().contains("Stubborn"), "{err}");
    holder.finish();
}

#[test]
fn guard_releases_once_when_dropped() {
    let dev = unique_emu("guard");
    let rec = open(&dev);
    rec.acquire_exclusive_access(false, "Outer")
        .expect("acquire");
    {
        let g = rec.lock("Inner").expect("guard");
        assert_eq!(g.acquired().lock_count, 2);
    }
    assert_eq!(rec.lock_count(), 1);
    {
        let _g = rec.lock("Inner").expect("guard");
    }
    rec.release_exclusive_access().expect("release");
    assert_eq!(open(&dev).owner().expect("owner"), None);
    let g = rec.lock("Solo").expect("guard");
    assert_eq!(g.release().expect("release"), 0);
    assert_eq!(rec.lock_count(), 0);
}

#[test]
fn dropping_a_recorder_releases_whatever_its_count() {
    let dev = unique_emu("droprec");
    let rec = open(&dev);
    for _ in 0..3 {
        rec.acquire_exclusive_access(false, "Dropper")
            .expect("acquire");
    }
    drop(rec);
    assert_eq!(open(&dev).owner().expect("owner"), None);
}

#[test]
fn load_sixty_four_processes_on_four_devices_are_all_served_one_holder_each() {
    let devices: Vec<String> = (0..4).map(|_| unique_emu("load")).collect();
    load_run(&devices, 64, load_secs(5.0));
}

/// Issue 10, bug 1: a thread waiting in `acquire_with` must not hold the recorder's state lock,
/// so other threads' queries answer at once. Before the fix `lock_count()` blocked until the
/// wait ended (here: never, until the holder lets go).
#[test]
fn threads_a_waiting_acquire_does_not_block_queries_of_the_same_recorder() {
    let dev = unique_emu("wait-queries");
    let holder = open(&dev);
    holder
        .acquire_exclusive_access(false, "Holder")
        .expect("holder");
    let rec = std::sync::Arc::new(open(&dev));
    let waiting = {
        let rec = rec.clone();
        std::thread::spawn(move || {
            rec.acquire_with("Waiter", AcquireOptions::new().wait(Wait::Forever))
                .map(|a| a.lock_count)
                .map_err(|e| e.hresult())
        })
    };
    // Let the waiter get into its wait.
    std::thread::sleep(Duration::from_millis(200));
    let (tx, rx) = std::sync::mpsc::channel();
    {
        let rec = rec.clone();
        std::thread::spawn(move || {
            let _ = tx.send(("lock_count", format!("{}", rec.lock_count())));
            let owner = rec.owner().map(|o| o.map(|o| o.name));
            let _ = tx.send(("owner", format!("{owner:?}")));
            let released = rec.release_exclusive_access().map_err(|e| e.hresult());
            let _ = tx.send(("release", format!("{released:?}")));
        });
    }
    // lock_count is a mutex read and owner() reads /proc/locks and the mount table; before
    // the fix neither came back at all (the waiter held the state mutex), so 2 s each tells a
    // blocked call from a slow one on a loaded machine (100 ms failed once under a guest run).
    let got = rx.recv_timeout(Duration::from_secs(2));
    assert_eq!(
        got.as_ref().map(|(w, v)| (*w, v.as_str())),
        Ok(("lock_count", "0")),
        "lock_count() blocked behind a waiting acquire"
    );
    let got = rx.recv_timeout(Duration::from_secs(2));
    assert_eq!(
        got.as_ref().map(|(w, v)| (*w, v.as_str())),
        Ok(("owner", "Ok(Some(\"Holder\"))")),
        "owner() blocked behind a waiting acquire"
    );
    let got = rx.recv_timeout(Duration::from_secs(2));
    assert_eq!(
        got.as_ref().map(|(w, v)| (*w, v.as_str())),
        Ok(("release", "Err(EFail)")),
        "release at count 0 blocked behind a waiting acquire"
    );
    assert!(!waiting.is_finished(), "the waiter stopped waiting early");
    holder.release_exclusive_access().expect("release holder");
    assert_eq!(waiting.join().expect("waiter thread"), Ok(1));
    assert_eq!(
        rec.owner().expect("owner").map(|o| o.name),
        Some("Waiter".into())
    );
}

/// Issue 10, bug 1 (second half): a second thread's acquire on a recorder whose first thread
/// is waiting for the device waits its turn and then nests; it never deadlocks and never takes
/// a second claim.
#[test]
fn threads_a_second_acquire_during_a_wait_nests_once_the_first_succeeds() {
    let dev = unique_emu("wait-nest");
    let holder = open(&dev);
    holder
        .acquire_exclusive_access(false, "Holder")
        .expect("holder");
    let rec = std::sync::Arc::new(open(&dev));
    let spawn = |name: &'static str, wait: Wait| {
        let rec = rec.clone();
        std::thread::spawn(move || {
            rec.acquire_with(name, AcquireOptions::new().wait(wait))
                .map(|a| a.lock_count)
                .map_err(|e| e.hresult())
        })
    };
    let first = spawn("First", Wait::Forever);
    std::thread::sleep(Duration::from_millis(200));
    // Not waiting: refused at once while the first thread waits.
    let now = spawn("Impatient", Wait::Immediately);
    assert_eq!(now.join().expect("thread"), Err(HResult::EAccessDenied));
    let second = spawn("Second", Wait::Timeout(Duration::from_secs(30)));
    std::thread::sleep(Duration::from_millis(200));
    holder.release_exclusive_access().expect("release holder");
    let mut counts = [
        first.join().expect("first").expect("first acquires"),
        second.join().expect("second").expect("second acquires"),
    ];
    counts.sort();
    assert_eq!(counts, [1, 2], "one claim, one nested level");
    assert_eq!(rec.lock_count(), 2);
    assert_eq!(rec.exclusive_access_owner().expect("owner"), "First");
    rec.release_exclusive_access().expect("release");
    rec.release_exclusive_access().expect("release");
    assert_eq!(open(&dev).owner().expect("owner"), None);
}

/// Issue 10, bug 2: `disable_mcn` checked the count under one lock and counted under another,
/// so two threads could both take a lock level and `enable_mcn` gave back only one: the device
/// stayed held. N threads disable at once, N enable: the device must be free, every round.
#[test]
fn threads_concurrent_disable_mcn_never_leaks_a_lock_level() {
    const THREADS: usize = 8;
    let dev = unique_emu("mcn-race");
    let rec = std::sync::Arc::new(open(&dev));
    for round in 0..50 {
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(THREADS));
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                let (rec, barrier) = (rec.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    rec.disable_mcn().expect("disable_mcn")
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        assert_eq!(rec.mcn_disabled_count(), THREADS as u32, "round {round}");
        assert_eq!(rec.lock_count(), 1, "round {round}: one lock level for MCN");
        for _ in 0..THREADS {
            rec.enable_mcn().expect("enable_mcn");
        }
        assert_eq!(rec.lock_count(), 0, "round {round}: a lock level leaked");
        assert_eq!(open(&dev).owner().expect("owner"), None, "round {round}");
    }
}

/// Issue 11 A3 / issue 10: resolving `emu:NAME` creates nothing. Before, any use of a misspelt
/// name made a new device, so two jobs spelling it differently had no mutual exclusion.
#[test]
fn an_unknown_emu_name_is_err_dev_not_exist_and_creates_nothing() {
    let dev = unique_emu_name("typo");
    let err = Recorder::open(&dev).expect_err("an unknown emulated recorder");
    assert_eq!(err.hresult(), HResult::DevNotExist);
    assert!(err.context().contains("emu create"), "{}", err.context());
    for args in [
        &["owner", dev.as_str()][..],
        &["info", &dev],
        &["eject", &dev],
        &["lock", &dev, "--name", "X", "--", "true"],
    ] {
        let (code, _, err) = discrec(args);
        assert_eq!(code, 66, "{args:?}: {err}");
    }
    assert!(!emu_backing(&dev).exists(), "a use of {dev} created it");
    let (_, list, _) = discrec(&["emu", "list"]);
    assert!(!list.lines().any(|l| l == dev), "{list}");
}

#[test]
fn emu_remove_of_a_held_device_is_refused_naming_the_holder_unless_forced() {
    let dev = unique_emu("remove-held");
    let name = dev.strip_prefix("emu:").expect("emu").to_owned();
    let mut holder = probe("hold", &[&dev, "Remove Guard"]);
    assert_eq!(holder.line(), "held");
    let (code, _, err) = discrec(&["emu", "remove", &name]);
    assert_ne!(code, 0, "a held device was removed");
    assert!(err.contains("0x80070005"), "{err}");
    assert!(err.contains("Remove Guard"), "the holder is named: {err}");
    assert!(
        err.contains(&holder.pid().to_string()),
        "with its PID: {err}"
    );
    assert!(emu::list().contains(&name), "still there");
    let e = emu::remove(&name, emu::Removal::IfFree).expect_err("the library refuses too");
    assert_eq!(e.hresult(), discrecorder::HResult::EAccessDenied, "{e}");
    let (code, _, err) = discrec(&["emu", "remove", "--force", &name]);
    assert_eq!(code, 0, "{err}");
    assert!(!emu::list().contains(&name), "removed with --force");
    holder.send("close-tray");
    assert!(
        holder.line().starts_with("err 0x80070037"),
        "the holder sees it gone"
    );
    holder.finish();
    // A free device is removed without --force.
    let dev = unique_emu("remove-free");
    let (code, _, err) = discrec(&["emu", "remove", &dev]);
    assert_eq!(code, 0, "{err}");
}

/// Starts `discrec lock DEV -N W<i> -w inf` appending `i` to `log` as its job, and waits until
/// the holder's view of the queue has `queued` waiters (its ticket is visible).
fn queue_waiter(
    holder: &Recorder,
    dev: &str,
    i: usize,
    log: &std::path::Path,
    queued: usize,
    extra: &[&str],
) -> std::process::Child {
    let mut cmd = std::process::Command::new(DISCREC);
    cmd.args(["lock", dev, "-N", &format!("W{i}"), "-w", "inf"])
        .args(extra)
        .args([
            "--",
            "sh",
            "-c",
            &format!("echo {i} >> '{}'", log.display()),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().expect("start waiter");
    let deadline = Instant::now() + Duration::from_secs(10);
    while holder.waiting().len() < queued {
        assert!(Instant::now() < deadline, "waiter {i} never queued");
        std::thread::sleep(Duration::from_millis(5));
    }
    child
}

fn served_order(log: &std::path::Path) -> Vec<usize> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|l| l.parse().expect("index"))
        .collect()
}

/// Issue 11 E: eight waiters arriving one after another are served in arrival order, every
/// round (fails with the queue check in `claim::acquire_inner` removed: all wake at once).
#[test]
fn wait_queue_serves_eight_waiters_in_arrival_order_every_round() {
    let dev = unique_emu("fifo");
    let holder = open(&dev);
    let tmp = tempfile::tempdir().expect("tempdir");
    for round in 0..4 {
        let log = tmp.path().join(format!("order{round}"));
        holder
            .acquire_exclusive_access(false, "Holder")
            .expect("hold");
        let mut kids: Vec<_> = (0..8)
            .map(|i| queue_waiter(&holder, &dev, i, &log, i + 1, &[]))
            .collect();
        let names: Vec<String> = holder.waiting().iter().map(|w| w.client.clone()).collect();
        assert_eq!(names, (0..8).map(|i| format!("W{i}")).collect::<Vec<_>>());
        holder.release_exclusive_access().expect("release");
        for k in &mut kids {
            assert!(k.wait().expect("wait").success());
        }
        assert_eq!(
            served_order(&log),
            (0..8).collect::<Vec<_>>(),
            "round {round}"
        );
        assert!(holder.waiting().is_empty());
    }
}

/// Issue 11 E: a waiter killed with SIGKILL in the middle of the queue drops out of it at once
/// and blocks nobody; `owner --json` lists the queue.
#[test]
fn wait_queue_skips_a_killed_waiter_and_owner_json_lists_the_queue() {
    let dev = unique_emu("fifo-kill");
    let holder = open(&dev);
    let tmp = tempfile::tempdir().expect("tempdir");
    let log = tmp.path().join("order");
    holder
        .acquire_exclusive_access(false, "Holder")
        .expect("hold");
    let mut kids: Vec<_> = (0..3)
        .map(|i| queue_waiter(&holder, &dev, i, &log, i + 1, &[]))
        .collect();
    let (code, out, _) = discrec(&["owner", &dev, "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    let waiting = v["waiting"].as_array().expect("waiting list");
    let clients: Vec<&str> = waiting
        .iter()
        .map(|w| w["client"].as_str().expect("client"))
        .collect();
    assert_eq!(clients, ["W0", "W1", "W2"]);
    assert_eq!(waiting[1]["pid"], kids[1].id());
    assert!(waiting[1]["since_unix_ms"].as_u64().expect("since") > 0);
    kids[1].kill().expect("SIGKILL");
    kids[1].wait().expect("reap");
    assert_eq!(holder.waiting().len(), 2, "the killed waiter still counts");
    holder.release_exclusive_access().expect("release");
    for i in [0, 2] {
        assert!(kids[i].wait().expect("wait").success());
    }
    assert_eq!(served_order(&log), [0, 2]);
}

/// Issue 11 E: `lock --wait --verbose` says on stderr whom it waits for and how many are
/// ahead; nothing on stdout.
#[test]
fn wait_verbose_names_the_holder_and_counts_those_ahead_on_stderr() {
    let dev = unique_emu("fifo-verbose");
    let holder = open(&dev);
    let tmp = tempfile::tempdir().expect("tempdir");
    let log = tmp.path().join("order");
    holder
        .acquire_exclusive_access(false, "Holder")
        .expect("hold");
    let first = queue_waiter(&holder, &dev, 0, &log, 1, &[]);
    let second = queue_waiter(&holder, &dev, 1, &log, 2, &["--verbose"]);
    std::thread::sleep(Duration::from_millis(400));
    holder.release_exclusive_access().expect("release");
    let out0 = first.wait_with_output().expect("first");
    let out1 = second.wait_with_output().expect("second");
    assert!(out0.status.success() && out1.status.success());
    assert!(out1.stdout.is_empty(), "stdout belongs to COMMAND");
    let err = String::from_utf8_lossy(&out1.stderr);
    let me = std::process::id();
    assert!(
        err.lines().any(|l| l.contains("\"Holder\"")
            && l.contains(&format!("PID {me}"))
            && l.contains("since")
            && l.contains("1 waiting ahead")),
        "{err}"
    );
    // Not verbose and not a terminal: silent.
    assert!(
        out0.stderr.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&out0.stderr)
    );
}
