//! Tier T1: writing and erasing discs on emulated recorders, through the library and `discrec
//! burn/blank/format/media`, with real processes. No root needed.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use discrecorder::format::{
    CancelToken, Closing, DataWriter, EraseKind, Eraser, JobAction, Media, MediaStatus,
    Verification, WriteOptions,
};
use discrecorder::mmc::emulator::{Fault, Trigger, TriggerAt};
use discrecorder::{emu, HResult, Recorder};

const WRITABLE: [u16; 13] = [
    0x43, 0x41, 0x2B, 0x1B, 0x1A, 0x15, 0x14, 0x13, 0x11, 0x10, 0x0A, 0x09, 0x08,
];

/// A fresh emulated recorder of every writable profile with a blank `profile` disc.
fn drive(tag: &str, profile: u16) -> String {
    let dev = unique_emu(tag);
    set(&dev, |s| {
        s.profiles = WRITABLE.to_vec();
        s.insert_medium(profile);
    });
    dev
}

fn set(dev: &str, f: impl FnOnce(&mut discrecorder::mmc::emulator::DriveState)) {
    emu::update(dev.trim_start_matches("emu:"), f).expect("update the emulated drive");
}

/// An image whose every sector differs.
fn image(sectors: u32, seed: u8) -> Vec<u8> {
    let mut v = vec![0u8; sectors as usize * 2048];
    for (i, s) in v.chunks_mut(2048).enumerate() {
        s[..4].copy_from_slice(&(i as u32).to_be_bytes());
        s[4] = seed;
        for (j, b) in s[5..].iter_mut().enumerate() {
            *b = (j as u8) ^ (i as u8).wrapping_mul(7) ^ seed;
        }
    }
    v
}

fn burn(
    rec: &Recorder,
    opts: WriteOptions,
    data: &[u8],
) -> discrecorder::Result<discrecorder::format::WriteReport> {
    DataWriter::new(rec, "Test Burner")?
        .options(opts)
        .write(std::io::Cursor::new(data.to_vec()), data.len() as u64)
}

/// `discrec burn ISO DEV -N NAME --verify VERIFY` in the background, with runtime directory
/// `rt` and its output discarded.
fn spawn_quiet_burn(
    iso: &std::path::Path,
    dev: &str,
    name: &str,
    verify: &str,
    rt: &std::path::Path,
) -> std::process::Child {
    Command::new(DISCREC)
        .args([
            "burn",
            iso.to_str().expect("utf-8"),
            dev,
            "-N",
            name,
            "--verify",
            verify,
        ])
        .env("DISCRECORDER_RUNTIME_DIR", rt)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn")
}

fn read_back(rec: &Recorder, lba: u32, sectors: u32) -> Vec<u8> {
    let mut out = Vec::new();
    DataWriter::new(rec, "Reader")
        .expect("writer")
        .read_back(lba, sectors, &mut out)
        .expect("read back");
    out
}

/// Whether anyone holds the device, asked by another recorder (as another client would).
fn owner_of(dev: &str) -> Option<String> {
    Recorder::open(dev)
        .expect("open")
        .owner()
        .expect("owner")
        .map(|o| o.name)
}

#[test]
fn every_profile_burns_and_reads_back_identical_through_the_library() {
    for profile in [
        0x09u16, 0x0A, 0x11, 0x14, 0x15, 0x1B, 0x2B, 0x41, 0x1A, 0x43, 0x13,
    ] {
        let dev = drive("burn-all", profile);
        let rec = Recorder::open(&dev).expect("open");
        let data = image(700, profile as u8);
        let r = burn(
            &rec,
            WriteOptions::new().verification(Verification::Full),
            &data,
        )
        .unwrap_or_else(|e| panic!("{profile:#06x}: {e}"));
        assert_eq!(read_back(&rec, r.start_lba, 700), data, "{profile:#06x}");
        assert_eq!(rec.lock_count(), 0, "{profile:#06x}: released");
        assert_eq!(owner_of(&dev), None, "{profile:#06x}: free");
    }
}

#[test]
fn a_second_burn_on_sequential_media_appends_a_session() {
    for profile in [0x09u16, 0x11, 0x1B, 0x41] {
        let dev = drive("append", profile);
        let rec = Recorder::open(&dev).expect("open");
        let (a, b) = (image(100, 1), image(150, 2));
        let ra = burn(&rec, WriteOptions::new(), &a).expect("first");
        let rb = burn(&rec, WriteOptions::new(), &b).expect("second");
        assert!(rb.start_lba >= ra.start_lba + 100, "{profile:#06x}");
        let m = Media::query(&rec).expect("media");
        assert_eq!(m.sessions, 2, "{profile:#06x}");
        assert!(m.status.has(MediaStatus::APPENDABLE), "{profile:#06x}");
        assert_eq!(
            read_back(&rec, ra.start_lba, 100),
            a,
            "{profile:#06x}: first intact"
        );
        assert_eq!(read_back(&rec, rb.start_lba, 150), b, "{profile:#06x}");
    }
}

#[test]
fn a_burn_on_rewritable_media_overwrites_from_sector_zero() {
    for profile in [0x1Au16, 0x43] {
        let dev = drive("overwrite", profile);
        let rec = Recorder::open(&dev).expect("open");
        burn(&rec, WriteOptions::new(), &image(300, 1)).expect("first");
        let b = image(120, 2);
        let r = burn(
            &rec,
            WriteOptions::new().verification(Verification::Full),
            &b,
        )
        .expect("second");
        assert_eq!(r.start_lba, 0);
        assert_eq!(read_back(&rec, 0, 120), b, "{profile:#06x}");
    }
}

#[test]
fn a_closed_rewritable_disc_is_blanked_and_reused() {
    for profile in [0x0Au16, 0x14] {
        let dev = drive("blank", profile);
        let rec = Recorder::open(&dev).expect("open");
        burn(
            &rec,
            WriteOptions::new().closing(Closing::CloseMedium),
            &image(64, 1),
        )
        .expect("burn");
        let e = burn(&rec, WriteOptions::new(), &image(64, 2)).expect_err("closed");
        assert_eq!(e.hresult(), HResult::Df2DataMediaNotBlank, "{e}");
        let m = Eraser::new(&rec, "Test Eraser")
            .expect("eraser")
            .kind(EraseKind::Quick)
            .erase()
            .expect("blank");
        assert!(
            m.status.has(MediaStatus::BLANK),
            "{profile:#06x}: {:?}",
            m.status.names()
        );
        let data = image(64, 3);
        let r = burn(
            &rec,
            WriteOptions::new().verification(Verification::Full),
            &data,
        )
        .expect("reuse");
        assert_eq!(read_back(&rec, r.start_lba, 64), data);
        assert_eq!(owner_of(&dev), None);
    }
}

#[test]
fn erasing_write_once_media_is_refused() {
    let dev = drive("erase-r", 0x1B);
    let rec = Recorder::open(&dev).expect("open");
    let e = Eraser::new(&rec, "E")
        .expect("eraser")
        .erase()
        .expect_err("DVD+R");
    assert_eq!(e.code(), 0x80AA_0904, "{e}");
    assert_eq!(owner_of(&dev), None);
}

#[test]
fn refusals_have_their_exact_hresults_and_write_nothing() {
    // No medium.
    let dev = drive("no-medium", 0x1B);
    set(&dev, |s| s.remove_medium());
    let rec = Recorder::open(&dev).expect("open");
    assert_eq!(
        burn(&rec, WriteOptions::new(), &image(16, 0))
            .expect_err("none")
            .code(),
        0xC0AA_0202
    );
    assert_eq!(owner_of(&dev), None);

    // Too large, checked before a sector is written.
    let dev = drive("too-large", 0x1B);
    set(&dev, |s| {
        s.disc.capacity = 500;
        s.insert_medium(0x1B);
    });
    let rec = Recorder::open(&dev).expect("open");
    let e = burn(&rec, WriteOptions::new(), &image(501, 0)).expect_err("too large");
    assert_eq!(e.code(), 0xC0AA_0404, "{e}");
    assert!(
        Media::query(&rec)
            .expect("media")
            .status
            .has(MediaStatus::BLANK),
        "nothing written"
    );

    // Write protected.
    let dev = drive("protected", 0x41);
    set(&dev, |s| s.write_protected = true);
    let rec = Recorder::open(&dev).expect("open");
    assert_eq!(
        burn(&rec, WriteOptions::new(), &image(16, 0))
            .expect_err("wp")
            .code(),
        0xC0AA_0209
    );

    // Not a multiple of 2048.
    let e = DataWriter::new(&rec, "X")
        .expect("writer")
        .write(std::io::Cursor::new(vec![0u8; 3000]), 3000)
        .expect_err("size");
    assert_eq!(e.code(), 0x8007_0057);

    // A bad client name.
    assert_eq!(
        DataWriter::new(&rec, "a/b").expect_err("name").code(),
        0xC0AA_0408
    );
}

#[test]
fn another_client_holding_the_drive_is_recorder_locked() {
    let dev = drive("locked", 0x1B);
    let (mut holder, _) = lock_running_sh(&dev, "Other Client", "echo held; exec sleep 5");
    let rec = Recorder::open(&dev).expect("open");
    let deadline = Instant::now() + Duration::from_secs(10);
    while owner_of(&dev).as_deref() != Some("Other Client") {
        assert!(Instant::now() < deadline, "holder never took the drive");
        std::thread::sleep(Duration::from_millis(20));
    }
    let e = burn(&rec, WriteOptions::new(), &image(16, 0)).expect_err("locked");
    assert_eq!(e.code(), 0xC0AA_0210, "{e}");
    assert!(e.context().contains("Other Client"), "{e}");
    let _ = holder.kill();
    let _ = holder.wait();
}

#[test]
fn a_caller_holding_the_drive_has_the_writer_nest_and_keep_its_level() {
    let dev = drive("nest", 0x1B);
    let rec = Recorder::open(&dev).expect("open");
    let access = rec.lock("Caller").expect("lock");
    burn(&rec, WriteOptions::new(), &image(32, 0)).expect("burn under the caller's lock");
    assert_eq!(
        rec.lock_count(),
        1,
        "the writer released only its own level"
    );
    assert_eq!(rec.exclusive_access_owner().expect("owner"), "Caller");
    assert_eq!(owner_of(&dev).as_deref(), Some("Caller"));
    drop(access);
    assert_eq!(owner_of(&dev), None);
}

#[test]
fn a_medium_error_names_the_lba_and_leaves_the_drive_free() {
    let dev = drive("medium-error", 0x1B);
    set(&dev, |s| s.faults.medium_error_lba = Some(300));
    let rec = Recorder::open(&dev).expect("open");
    let e = burn(&rec, WriteOptions::new(), &image(600, 0)).expect_err("medium error");
    assert_eq!(e.code(), 0xC0AA_0301, "{e}");
    assert!(e.context().contains("writing LBA 288 to 303"), "{e}");
    assert!(e.context().contains("the medium is now"), "{e}");
    assert_eq!(rec.lock_count(), 0);
    assert_eq!(owner_of(&dev), None);
}

#[test]
fn a_vanish_or_hang_at_every_command_of_a_burn_gives_its_hresult_and_frees_the_drive() {
    // How many commands a burn sends: vanish at a command past the end never fires.
    let mut n = 1;
    loop {
        let dev = drive("vanish", 0x1B);
        set(&dev, |s| {
            s.faults.trigger = Some(Trigger {
                fault: Fault::Vanish,
                at: TriggerAt::Command(n),
            })
        });
        let rec = Recorder::open(&dev).expect("open");
        match burn(&rec, WriteOptions::new(), &image(40, 0)) {
            Ok(_) => break,
            Err(e) => {
                assert_eq!(e.code(), 0x8007_0037, "vanish at command {n}: {e}");
                assert_eq!(rec.lock_count(), 0, "command {n}");
                assert_eq!(owner_of(&dev), None, "command {n}");
            }
        }
        n += 1;
        assert!(
            n < 200,
            "a burn of 40 sectors sends fewer than 200 commands"
        );
    }
    assert!(n > 10, "only {n} commands");
    for at in [2, n / 2, n - 2] {
        let dev = drive("hang", 0x1B);
        set(&dev, |s| {
            s.faults.trigger = Some(Trigger {
                fault: Fault::Hang,
                at: TriggerAt::Command(at),
            })
        });
        let rec = Recorder::open(&dev).expect("open");
        rec.set_command_timeout(Duration::from_millis(200));
        let e = burn(&rec, WriteOptions::new(), &image(40, 0)).expect_err("hang");
        assert_eq!(e.code(), 0xC0AA_020D, "hang at command {at}: {e}");
        assert_eq!(owner_of(&dev), None, "hang at {at}");
    }
}

#[test]
fn a_long_write_in_progress_is_waited_for_and_the_burn_succeeds() {
    let dev = drive("long-write", 0x41);
    set(&dev, |s| s.faults.long_write_polls = 6);
    let rec = Recorder::open(&dev).expect("open");
    let data = image(64, 4);
    let r = burn(
        &rec,
        WriteOptions::new().verification(Verification::Full),
        &data,
    )
    .expect("burn");
    assert_eq!(read_back(&rec, r.start_lba, 64), data);
}

#[test]
fn verification_catches_a_silently_corrupted_sector() {
    let dev = drive("corrupt", 0x1B);
    set(&dev, |s| s.faults.corrupt_lba = Some(77));
    let rec = Recorder::open(&dev).expect("open");
    let e = burn(
        &rec,
        WriteOptions::new().verification(Verification::Full),
        &image(200, 0),
    )
    .expect_err("corrupt");
    assert_eq!(e.code(), 0xC0AA_0007, "{e}");
    assert!(e.context().contains("first bad LBA 77"), "{e}");
    assert_eq!(owner_of(&dev), None);
}

#[test]
fn a_cancel_from_another_thread_is_request_cancelled_and_releases() {
    let dev = drive("cancel", 0x41);
    let rec = Recorder::open(&dev).expect("open");
    let cancel = CancelToken::new();
    let c = cancel.clone();
    let data = image(20_000, 1);
    let mut fired = false;
    let e = DataWriter::new(&rec, "Cancelled Burn")
        .expect("writer")
        .cancel_with(cancel)
        .on_progress(|p| {
            if p.action == JobAction::WritingData && p.done > 0 && !fired {
                fired = true;
                let c = c.clone();
                std::thread::spawn(move || c.cancel()).join().expect("join");
            }
        })
        .write(std::io::Cursor::new(data.clone()), data.len() as u64)
        .expect_err("cancelled");
    assert_eq!(e.code(), 0xC0AA_0002, "{e}");
    assert!(e.context().contains("the medium is now"), "{e}");
    assert_eq!(rec.lock_count(), 0);
    assert_eq!(owner_of(&dev), None);
}

#[test]
fn discrec_burn_media_blank_format_on_an_emulated_drive() {
    let dev = drive("cli", 0x1A);
    let dir = tempfile::tempdir().expect("tmp");
    let iso = dir.path().join("image.iso");
    std::fs::write(&iso, image(300, 5)).expect("image");
    let iso = iso.to_str().expect("utf-8");
    let (code, out, err) = discrec(&["burn", iso, &dev, "-N", "CLI Burn", "--json"]);
    assert_eq!(code, 0, "{err}");
    let last: serde_json::Value =
        serde_json::from_str(out.lines().last().expect("a line")).expect("json");
    assert_eq!(last["event"], "done");
    assert_eq!(last["sectors"], 300);
    assert_eq!(last["verification"], "full");
    assert!(
        out.lines()
            .any(|l| l.contains("\"action\":\"writing_data\"")),
        "{out}"
    );
    let (code, out, err) = discrec(&["media", &dev, "--json"]);
    assert_eq!(code, 0, "{err}");
    let m: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(m["profile"], 0x1A);
    assert_eq!(m["status"]["flags"][0], "overwrite_only");
    // A speed in times the medium's 1x and in kB/s; a speed that is no number is a usage error.
    let (code, _, err) = discrec(&["burn", iso, &dev, "-N", "CLI Burn", "--speed", "2x"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = discrec(&["burn", iso, &dev, "-N", "CLI Burn", "--speed", "2770"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = discrec(&["burn", iso, &dev, "-N", "CLI Burn", "--speed", "fast"]);
    assert_eq!(code, 64, "{err}");
    let (code, _, err) = discrec(&["format", &dev]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = discrec(&["blank", &dev]);
    assert_eq!(code, 0, "DVD+RW blank formats: {err}");
    // A pipe needs --size; a wrong size is a usage error.
    let (code, _, err) = discrec(&["burn", "-", &dev, "-N", "CLI Burn"]);
    assert_eq!(code, 64, "{err}");
}

#[test]
fn discrec_burn_refusals_exit_with_the_table() {
    let dev = drive("cli-refuse", 0x1B);
    set(&dev, |s| {
        s.disc.capacity = 100;
        s.insert_medium(0x1B);
    });
    let dir = tempfile::tempdir().expect("tmp");
    let iso = dir.path().join("big.iso");
    std::fs::write(&iso, image(101, 0)).expect("image");
    let (code, _, err) = discrec(&["burn", iso.to_str().expect("utf-8"), &dev, "-N", "Too Big"]);
    assert_eq!(code, 74, "{err}");
    assert!(
        err.contains("E_IMAPI_DF2DATA_STREAM_TOO_LARGE_FOR_CURRENT_MEDIA"),
        "{err}"
    );
    let odd = dir.path().join("odd.iso");
    std::fs::write(&odd, vec![0u8; 3000]).expect("image");
    let (code, _, err) = discrec(&["burn", odd.to_str().expect("utf-8"), &dev, "-N", "Odd"]);
    assert_eq!(code, 64, "{err}");
}

#[test]
fn sigint_to_discrec_burn_cancels_cleanly() {
    let dev = drive("sigint", 0x41);
    let dir = tempfile::tempdir().expect("tmp");
    let iso = dir.path().join("image.iso");
    std::fs::write(&iso, image(40_000, 1)).expect("image");
    let mut child = Command::new(DISCREC)
        .args([
            "burn",
            iso.to_str().expect("utf-8"),
            &dev,
            "-N",
            "Interrupted",
            "--json",
        ])
        .env("DISCRECORDER_RUNTIME_DIR", init())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    // Wait until it writes.
    let mut line = String::new();
    loop {
        line.clear();
        let n = std::io::BufRead::read_line(&mut out, &mut line).expect("read");
        assert!(n > 0, "discrec burn ended before writing");
        if line.contains("\"action\":\"writing_data\"") && !line.contains("\"percent\":0") {
            break;
        }
    }
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(child.id() as i32).expect("pid"),
        rustix::process::Signal::INT,
    )
    .expect("SIGINT");
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut out, &mut rest);
    let output = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{err}");
    assert!(err.contains("E_IMAPI_REQUEST_CANCELLED"), "{err}");
    assert_eq!(owner_of(&dev), None);
    let _ = std::io::stdout().flush();
}

/// Peak resident memory of a running child, polled from /proc/PID/status (VmHWM) until it
/// exits; the last reading before the exit.
fn peak_rss_kib(child: &mut std::process::Child) -> (u64, std::process::ExitStatus) {
    let path = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Ok(s) = std::fs::read_to_string(&path) {
            if let Some(v) = s
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak = peak.max(v);
            }
        }
        if let Some(status) = child.try_wait().expect("try_wait") {
            return (peak, status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_4_gib_sparse_image_burns_with_peak_rss_under_32_mib() {
    // The emulated drive stores its state at every command: keep it on tmpfs (as /dev/shm is
    // for the library's default runtime directory), not on the disk the test directory is on.
    let shm = std::path::Path::new("/dev/shm");
    let runtime = tempfile::Builder::new()
        .prefix("discrec-burn-rss-")
        .tempdir_in(if shm.is_dir() { shm } else { init() })
        .expect("runtime dir");
    rustix::fs::chmod(runtime.path(), rustix::fs::Mode::from_raw_mode(0o1777)).expect("chmod");
    let rt = runtime.path();
    let (code, _, err) = discrec_in(rt, &["emu", "create", "rss"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = discrec_in(rt, &["emu", "set", "rss", "--medium", "0x0041"]);
    assert_eq!(code, 0, "{err}");
    let dir = tempfile::tempdir().expect("tmp");
    let iso = dir.path().join("sparse.iso");
    let f = std::fs::File::create(&iso).expect("create");
    f.set_len(4 << 30).expect("sparse 4 GiB");
    drop(f);
    let mut child = spawn_quiet_burn(&iso, "emu:rss", "Big Burn", "quick", rt);
    let (peak, status) = peak_rss_kib(&mut child);
    assert!(status.success(), "burn failed: {status}");
    eprintln!("peak RSS of a 4 GiB burn: {peak} KiB");
    assert!(peak > 0, "VmHWM was never read");
    assert!(peak < 32 * 1024, "peak RSS {peak} KiB");
    let (code, out, err) = discrec_in(rt, &["media", "emu:rss", "--json"]);
    assert_eq!(code, 0, "{err}");
    let m: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(
        m["previous_session"]["last_written_lba"],
        (2 << 20) - 1,
        "{out}"
    );
    let _ = discrec_in(rt, &["emu", "remove", "rss"]);
}

#[test]
fn chaos_sigkill_of_a_burning_discrec_frees_the_drive_at_once_and_the_medium_is_consistent() {
    let rounds: usize = std::env::var("DISCREC_CHAOS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let dev = drive("chaos", 0x41);
    let dir = tempfile::tempdir().expect("tmp");
    let iso = dir.path().join("image.iso");
    let data = image(96, 7);
    std::fs::write(&iso, &data).expect("image");
    let rec = Recorder::open(&dev).expect("open");
    let mut rng_state = 0x2545_F491_4F6C_DD1Du64 ^ u64::from(std::process::id());
    let mut rand = move |n: u64| {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        rng_state % n
    };
    let mut completed = 0;
    for round in 0..rounds {
        set(&dev, |s| s.insert_medium(0x41));
        let mut child = spawn_quiet_burn(&iso, &dev, "Chaos", "none", init());
        std::thread::sleep(Duration::from_micros(rand(60_000)));
        let _ = child.kill();
        let status = child.wait().expect("wait");
        if status.success() {
            completed += 1;
        }
        // Free at once: no wait, no cleanup step.
        assert_eq!(
            owner_of(&dev),
            None,
            "round {round}: the drive is still held"
        );
        let m = Media::query(&rec).unwrap_or_else(|e| panic!("round {round}: {e}"));
        // What the medium reports matches what was written: a recorded session holds the
        // image's first sectors, as many as it says.
        if let Some(s) = m.previous_session {
            let n = s.last_written_lba + 1 - s.start_lba;
            assert!(n <= 96, "round {round}: {n} sectors recorded");
            assert_eq!(
                read_back(&rec, s.start_lba, n),
                data[..n as usize * 2048],
                "round {round}: the recorded session is not the image's start"
            );
        } else {
            assert!(m.sessions == 0, "round {round}: {m:?}");
        }
    }
    eprintln!("chaos: {rounds} rounds, {completed} burns completed before the kill");
}

#[test]
fn while_a_burn_runs_another_process_sees_the_job_and_its_advancing_lba() {
    let dev = drive("job", 0x41);
    let dir = tempfile::tempdir().expect("tmp");
    let iso = dir.path().join("sparse.iso");
    std::fs::File::create(&iso)
        .and_then(|f| f.set_len(1 << 30))
        .expect("sparse 1 GiB image");
    let mut child = spawn_quiet_burn(&iso, &dev, "Disc Robot", "none", init());
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut lbas: Vec<u64> = Vec::new();
    while lbas.len() < 2 || lbas[0] == lbas[lbas.len() - 1] {
        assert!(Instant::now() < deadline, "no advancing job seen: {lbas:?}");
        assert!(
            child.try_wait().expect("try_wait").is_none(),
            "the burn ended first: {lbas:?}"
        );
        let (code, out, _) = discrec(&["owner", &dev, "--json"]);
        if code == 0 {
            let v: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
            let job = &v["owner"]["job"];
            if v["owner"]["name"] == "Disc Robot" && job["action"] == "writing_data" {
                assert_eq!(job["total"], 1 << 19, "{out}");
                lbas.push(job["lba"].as_u64().expect("lba"));
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // Enough seen: cancel it (SIGINT) and the job is gone with the owner.
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(child.id() as i32).expect("pid"),
        rustix::process::Signal::INT,
    )
    .expect("SIGINT");
    assert_eq!(child.wait().expect("wait").code(), Some(130));
    let (_, out, _) = discrec(&["owner", &dev, "--json"]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert!(v["owner"].is_null(), "free after the burn: {out}");
}

#[test]
fn a_power_loss_mid_burn_loses_the_unsynchronized_sectors_and_the_burn_fails_exactly() {
    let dev = drive("power", 0x1B);
    let rec = Recorder::open(&dev).expect("open");
    let data = image(6000, 9);
    let mut cut = false;
    let e = DataWriter::new(&rec, "Powerless")
        .expect("writer")
        .on_progress(|p| {
            if p.action == JobAction::WritingData && p.done > 600 && !cut {
                cut = true;
                set(&dev, |s| s.power_loss());
            }
        })
        .write(std::io::Cursor::new(data.clone()), data.len() as u64)
        .expect_err("the drive lost what it had not synchronized");
    assert!(cut, "the power loss never happened");
    assert_eq!(e.code(), 0xC0AA_0402, "{e}");
    assert!(e.context().contains("writing LBA"), "{e}");
    assert_eq!(rec.lock_count(), 0);
    assert_eq!(owner_of(&dev), None);
    // Nothing was synchronized: the disc is as blank as before.
    let m = Media::query(&rec).expect("media");
    assert!(m.status.has(MediaStatus::BLANK), "{:?}", m.status.names());
}

#[test]
fn erasing_a_drive_another_client_holds_is_erase_recorder_in_use() {
    let dev = drive("erase-held", 0x0A);
    let (mut holder, _) = lock_running_sh(&dev, "Other Client", "echo held; exec sleep 5");
    let rec = Recorder::open(&dev).expect("open");
    let e = Eraser::new(&rec, "Eraser")
        .expect("eraser")
        .erase()
        .expect_err("held");
    assert_eq!(e.code(), 0x80AA_0900, "{e}");
    assert!(e.context().contains("Other Client"), "{e}");
    let _ = holder.kill();
    let _ = holder.wait();
}

#[test]
fn discrec_burn_wait_takes_the_drive_once_its_holder_lets_go() {
    let dev = drive("burn-wait", 0x1B);
    let (mut holder, _) = lock_running_sh_with(
        std::path::Path::new(DISCREC),
        &dev,
        "Other Client",
        &["-o"],
        "echo held; exec sleep 2",
        |_| {},
    );
    let dir = tempfile::tempdir().expect("tmp");
    let iso = dir.path().join("image.iso");
    std::fs::write(&iso, image(64, 2)).expect("image");
    let iso = iso.to_str().expect("utf-8");
    let (code, _, err) = discrec(&["burn", iso, &dev, "-N", "Patient Burn"]);
    assert_eq!(code, 1, "busy without --wait: {err}");
    assert!(err.contains("E_IMAPI_RECORDER_LOCKED"), "{err}");
    let t = Instant::now();
    let (code, out, err) = discrec(&["burn", iso, &dev, "-N", "Patient Burn", "--wait", "20"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("wrote 64 sectors"), "{out}");
    assert!(t.elapsed() < Duration::from_secs(15));
    let _ = holder.wait();
    assert_eq!(owner_of(&dev), None);
}
