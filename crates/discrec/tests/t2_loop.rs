//! Tier T2: exclusive access on real kernel block devices (loop devices, ext2 mounts). Needs
//! root; under CI=true a missing privilege fails instead of skipping.

mod common;

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use common::*;
use discrecorder::{HResult, HoldMode, OwnerKind, Recorder, Warning};

#[test]
#[ignore = "helper-process entry point, started by the other tests"]
fn zz_probe_entry() {
    probe_entry();
}

fn open(spec: &str) -> Recorder {
    Recorder::open(spec).expect("open recorder")
}

#[test]
fn f_mounted_without_force_is_denied_naming_the_mount_point_and_stays_mounted() {
    if !require_root("f1") {
        return;
    }
    let _s = serial();
    let mut lo = LoopDev::new(true);
    let point = lo.mount();
    let rec = open(lo.dev());
    let err = rec
        .acquire_exclusive_access(false, "Polite")
        .expect_err("mounted");
    assert_eq!(err.hresult(), HResult::EAccessDenied);
    assert!(
        err.context().contains(point.to_str().expect("utf8")),
        "{err}"
    );
    assert!(LoopDev::is_mounted(&point), "force=false unmounted it");
    assert_eq!(rec.lock_count(), 0);
    let o = rec.owner().expect("owner").expect("mount owns it");
    assert_eq!(o.kind, OwnerKind::Mount);
    assert_eq!(o.name, point.to_str().expect("utf8"));
}

#[test]
fn f_force_unmounts_and_holds_the_kernel_claim() {
    if !require_root("f2") {
        return;
    }
    let _s = serial();
    let mut lo = LoopDev::new(true);
    let point = lo.mount();
    let rec = open(lo.dev());
    let got = rec
        .acquire_exclusive_access(true, "Forceful")
        .expect("force acquire");
    assert_eq!(got.unmounted, vec![point.clone()]);
    assert!(got.warnings.is_empty(), "{:?}", got.warnings);
    assert_eq!(got.mode, HoldMode::Exclusive);
    assert!(!LoopDev::is_mounted(&point));
    assert!(rec.holds_kernel_claim());
    let mut p = probe("owner", &[lo.dev()]);
    assert_eq!(p.line(), "owner Forceful");
}

#[test]
fn f_force_with_a_busy_volume_holds_keeps_it_mounted_and_reports_it() {
    if !require_root("f3") {
        return;
    }
    let _s = serial();
    let mut lo = LoopDev::new(true);
    let point = lo.mount();
    let open_file = std::fs::File::create(point.join("busy.txt")).expect("file on volume");
    let rec = open(lo.dev());
    let got = rec
        .acquire_exclusive_access(true, "Forceful")
        .expect("force gains access anyway");
    assert!(LoopDev::is_mounted(&point), "busy volume must stay mounted");
    assert_eq!(got.mode, HoldMode::Weak);
    assert!(
        got.warnings.iter().any(|w| matches!(w,
            Warning::StillMounted { mount_point, .. } if *mount_point == point)),
        "{:?}",
        got.warnings
    );
    assert!(!rec.holds_kernel_claim());
    let mut p = probe("try", &[lo.dev(), "Other"]);
    let line = p.line();
    assert!(line.starts_with("err 0x80070005"), "{line}");
    assert!(line.contains("Forceful"), "{line}");
    drop(open_file);
}

#[test]
fn g_while_held_mount_exclusive_open_flock_and_posix_lock_all_fail() {
    if !require_root("g") {
        return;
    }
    let _s = serial();
    let lo = LoopDev::new(true);
    let rec = open(lo.dev());
    rec.acquire_exclusive_access(false, "Guardian")
        .expect("acquire");
    let mut p = probe("check", &[lo.dev()]);
    assert_eq!(p.line(), "flock=busy posix=busy excl=busy");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new("mount")
        .args([lo.dev(), dir.path().to_str().expect("utf8")])
        .output()
        .expect("mount");
    assert!(!out.status.success(), "mount succeeded while held");
    assert!(!LoopDev::is_mounted(dir.path()));
    rec.release_exclusive_access().expect("release");
    // After release every one of them works again.
    let mut p = probe("check", &[lo.dev()]);
    assert_eq!(p.line(), "flock=ok posix=ok excl=ok");
}

#[test]
fn h_foreign_holder_is_denied_and_named_by_program() {
    if !require_root("h") {
        return;
    }
    let _s = serial();
    let lo = LoopDev::new(false);
    let mut foreign = probe("foreign", &[lo.dev()]);
    assert_eq!(foreign.line(), "ready");
    let comm = std::fs::read_to_string(format!("/proc/{}/comm", foreign.pid()))
        .expect("comm")
        .trim()
        .to_owned();
    let rec = open(lo.dev());
    let err = rec
        .acquire_exclusive_access(false, "Hopeful")
        .expect_err("foreign holds it");
    assert_eq!(err.hresult(), HResult::EAccessDenied);
    assert!(err.context().contains(&comm), "{err} should name {comm}");
    let o = rec.owner().expect("owner").expect("owned");
    assert_eq!(o.kind, OwnerKind::ForeignProgram);
    assert_eq!(o.name, comm);
    assert_eq!(o.pid, Some(foreign.pid()));
    assert_eq!(rec.exclusive_access_owner().expect("owner"), comm);
    foreign.finish();
    rec.acquire_exclusive_access(false, "Hopeful")
        .expect("free after the foreign holder exits");
}

#[test]
fn i_detached_loop_device_gives_dev_not_exist_and_a_held_one_still_releases() {
    if !require_root("i") {
        return;
    }
    let _s = serial();
    let lo = LoopDev::new(false);
    let rec = open(lo.dev());
    rec.acquire_exclusive_access(false, "Holder")
        .expect("acquire");
    lo.detach();
    // The kernel defers the detach of an open loop device to its last close: release does it.
    assert_eq!(rec.release_exclusive_access().expect("release"), 0);
    let err = rec
        .acquire_exclusive_access(false, "Holder")
        .expect_err("detached");
    assert_eq!(err.hresult(), HResult::DevNotExist);
    assert_eq!(err.code(), 0x8007_0037);
    let err = rec.owner().expect_err("detached");
    assert_eq!(err.hresult(), HResult::DevNotExist);
}

#[test]
fn j_unprivileged_user_with_access_acquires_and_one_without_is_told_why() {
    if !require_root("j") {
        return;
    }
    let _s = serial();
    let lo = LoopDev::new(false);
    let st = rustix::fs::stat(lo.path.as_path()).expect("stat");
    let group = 4242u32;
    std::os::unix::fs::chown(&lo.path, Some(0), Some(group)).expect("chgrp");
    std::fs::set_permissions(
        &lo.path,
        std::os::unix::fs::PermissionsExt::from_mode(0o660),
    )
    .expect("chmod");
    let as_user = |gid: u32| {
        move |c: &mut Command| {
            c.uid(65534).gid(gid);
        }
    };
    let mut member = probe_with("hold", &[lo.dev(), "Unprivileged"], as_user(group));
    assert_eq!(member.line(), "held");
    let mut seen = probe("owner", &[lo.dev()]);
    assert_eq!(seen.line(), "owner Unprivileged");
    let mut outsider = probe_with("try", &[lo.dev(), "Outsider"], as_user(65534));
    let line = outsider.line();
    assert!(line.starts_with("err 0x80070005"), "{line}");
    assert!(line.contains("permission denied"), "{line}");
    assert!(line.contains("read-write"), "{line}");
    member.finish();
    std::os::unix::fs::chown(&lo.path, Some(st.st_uid), Some(st.st_gid)).expect("restore");
    std::fs::set_permissions(
        &lo.path,
        std::os::unix::fs::PermissionsExt::from_mode(st.st_mode & 0o7777),
    )
    .expect("restore mode");
}

#[test]
fn k_handoff_child_opens_exclusively_while_others_see_the_client_name() {
    if !require_root("k") {
        return;
    }
    let _s = serial();
    let lo = LoopDev::new(false);
    let exe = std::env::current_exe().expect("exe");
    let mut lock = Command::new(DISCREC)
        .args(["lock", lo.dev(), "--name", "Handoff Job", "--handoff", "--"])
        .arg(exe)
        .args([
            "--ignored",
            "--exact",
            "zz_probe_entry",
            "--nocapture",
            "-q",
        ])
        .env("PROBE_MODE", "foreign")
        .env("PROBE_ARGS", lo.dev())
        .env("DISCRECORDER_RUNTIME_DIR", init())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("discrec lock --handoff");
    let mut out = std::io::BufReader::new(lock.stdout.take().expect("stdout"));
    let mut ready = String::new();
    while !ready.contains("PROBE:") {
        ready.clear();
        let n = std::io::BufRead::read_line(&mut out, &mut ready).expect("read");
        assert!(n > 0, "child ended early");
    }
    assert_eq!(
        ready.trim(),
        "PROBE: ready",
        "the child could not open exclusively"
    );
    let rec = open(lo.dev());
    let err = rec
        .acquire_exclusive_access(false, "Intruder")
        .expect_err("hand-off holder keeps our clients off");
    assert_eq!(err.hresult(), HResult::EAccessDenied);
    assert!(err.context().contains("Handoff Job"), "{err}");
    assert_eq!(rec.exclusive_access_owner().expect("owner"), "Handoff Job");
    drop(lock.stdin.take());
    let status = lock.wait().expect("wait");
    assert!(status.success());
    assert_eq!(rec.owner().expect("owner"), None);
}

#[test]
fn d_loop_holder_killed_at_random_instants_frees_the_device_every_time() {
    if !require_root("d-loop") {
        return;
    }
    let _s = serial();
    let lo = LoopDev::new(false);
    crash_rounds(lo.dev(), &lo.path, chaos_rounds(300));
}

#[test]
fn e_loop_sixteen_processes_race_and_exactly_one_wins_each_round() {
    if !require_root("e-loop") {
        return;
    }
    let _s = serial();
    let lo = LoopDev::new(false);
    race_rounds(lo.dev(), 200);
}

#[test]
fn info_on_a_loop_device_says_it_is_not_an_mmc_device() {
    if !require_root("info-loop") {
        return;
    }
    let _s = serial();
    let lo = LoopDev::new(false);
    let (code, out, err) = discrec(&["info", lo.dev()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("not an MMC device"), "{out}");
    assert!(
        out.contains(&format!("device          {}", lo.dev())),
        "{out}"
    );
    let (code, out, _) = discrec(&["info", lo.dev(), "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["is_mmc"], false);
    let (code, _, err) = discrec(&["eject", lo.dev()]);
    assert_eq!(code, 71, "not an MMC device: another system error");
    assert!(err.contains("not an MMC device"), "{err}");
    let err = open(lo.dev())
        .identity()
        .expect_err("no INQUIRY on a loop device");
    assert_eq!(err.hresult(), HResult::EFail);
    assert!(err.context().contains("not an MMC device"), "{err}");
}

#[test]
fn load_loop_sixty_four_processes_on_four_devices_are_all_served_one_holder_each() {
    if !require_root("load-loop") {
        return;
    }
    let _s = serial();
    let loops: Vec<LoopDev> = (0..4).map(|_| LoopDev::new(false)).collect();
    let devices: Vec<String> = loops.iter().map(|l| l.dev().to_owned()).collect();
    load_run(&devices, 64, load_secs(5.0));
}

/// Issue 11 A7: a partition of a loop device has no `loop/backing_file` of its own, so it was
/// reported as gone (ERROR_DEV_NOT_EXIST). Partitions work like whole disks.
#[test]
fn a_loop_partition_is_a_device_like_its_disk_not_gone() {
    if !require_root("a7") {
        return;
    }
    let _serial = serial();
    let disk = LoopDev::partitioned();
    let part = disk.partition1();
    let rec = open(&part);
    rec.acquire_exclusive_access(false, "Partition Job")
        .expect("acquire a loop partition");
    assert_eq!(
        open(&part).exclusive_access_owner().expect("owner"),
        "Partition Job"
    );
    assert!(!rec.device_vanished());
    rec.release_exclusive_access().expect("release");
    assert_eq!(open(&part).owner().expect("owner"), None);
    let (code, out, err) = discrec(&["owner", &part]);
    assert_eq!((code, out.trim()), (0, ""), "{err}");
}

/// Issue 11 A1: a process holding a loop device, or a partition of another one, with nothing
/// but `O_EXCL` (no lock, no mount) was named by `lock`'s refusal while `owner` printed an empty
/// line and `info` said free. Every command names it, on the disk, on the partition and on the
/// disk whose partition it holds; and all say free once it exits.
#[test]
fn a_holder_with_only_o_excl_is_named_alike_by_owner_info_and_lock() {
    if !require_root("a1") {
        return;
    }
    let _serial = serial();
    let whole = LoopDev::new(false);
    let disk = LoopDev::partitioned();
    let part = disk.partition1();
    let mut holder = probe("excl-only", &[whole.dev(), &part]);
    assert_eq!(holder.line(), "ready");
    let comm = std::fs::read_to_string(format!("/proc/{}/comm", holder.pid()))
        .expect("comm")
        .trim()
        .to_owned();
    for dev in [whole.dev(), part.as_str(), disk.dev()] {
        let o = open(dev).owner().expect("owner").expect("held");
        assert_eq!(o.kind, OwnerKind::ForeignProgram, "{dev}");
        assert_eq!(
            (o.pid, o.name.as_str()),
            (Some(holder.pid()), comm.as_str()),
            "{dev}"
        );
        let (code, out, err) = discrec(&["owner", dev]);
        assert_eq!((code, out.trim()), (0, comm.as_str()), "owner {dev}: {err}");
        let (code, out, err) = discrec(&["owner", dev, "--json"]);
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).expect("json");
        assert_eq!(v["owner"]["kind"], "foreign_program", "{out}");
        assert_eq!(v["owner"]["pid"], holder.pid(), "{out}");
        let (code, out, err) = discrec(&["info", dev]);
        assert_eq!(code, 0, "{err}");
        let line = out
            .lines()
            .find(|l| l.starts_with("owner"))
            .unwrap_or_else(|| panic!("no owner line in {out}"));
        assert!(
            line.contains(&comm) && line.contains(&holder.pid().to_string()),
            "info {dev}: {line}"
        );
        let (code, _, err) = discrec(&["lock", dev, "-N", "Second", "--", "true"]);
        assert_eq!(code, 1, "lock {dev} must be refused: {err}");
        assert!(err.contains(&comm), "lock {dev}: {err}");
    }
    holder.finish();
    for dev in [whole.dev(), part.as_str(), disk.dev()] {
        assert_eq!(open(dev).owner().expect("owner"), None, "{dev}");
        let (code, out, err) = discrec(&["owner", dev]);
        assert_eq!((code, out.trim()), (0, ""), "{dev}: {err}");
    }
}

/// Issue 11 A6: `--force` unmounted the volume this process sees, but the device stayed mounted
/// in another mount namespace, so no `O_EXCL` claim was possible and access was weak, silently.
/// Now a warning says so, in text and in JSON.
#[test]
fn force_falling_back_to_weak_mode_warns_when_the_volume_is_mounted_in_another_namespace() {
    use std::io::BufRead;
    if !require_root("a6") {
        return;
    }
    let _s = serial();
    let mut lo = LoopDev::new(true);
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let mut ns = std::process::Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(format!(
            "mount {} {} && echo ready && exec sleep 60",
            lo.dev(),
            elsewhere.path().display()
        ))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("unshare");
    let mut line = String::new();
    std::io::BufReader::new(ns.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read");
    assert_eq!(line, "ready\n", "the other namespace did not mount it");
    for json in [true, false] {
        lo.mount();
        let mut args = vec![
            "lock",
            lo.dev(),
            "--name",
            "Forcer",
            "--force",
            "--",
            "true",
        ];
        if json {
            args.insert(0, "--json");
        }
        let (code, _, err) = discrec(&args);
        assert_eq!(code, 0, "{err}");
        if json {
            assert!(err.contains("\"kind\":\"no_exclusive_claim\""), "{err}");
            assert!(err.contains("\"mode\":\"weak\""), "{err}");
        } else {
            assert!(
                err.contains("warning: access gained without the kernel's exclusive claim"),
                "{err}"
            );
        }
    }
    let _ = ns.kill();
    let _ = ns.wait();
}

/// Issue 11 A9: a holder inside a PID namespace published its namespace PID (1), so readers
/// outside saw a foreign `discrec` instead of the client. The record now gives the PID as the
/// initial namespace sees it (`NSpid`).
#[test]
fn a_holder_inside_a_pid_namespace_is_named_by_readers_outside() {
    use std::io::BufRead;
    if !require_root("a9") {
        return;
    }
    let dev = unique_emu("pidns");
    let mut inside = std::process::Command::new("unshare")
        .args([
            "--pid",
            "--fork",
            DISCREC,
            "lock",
            &dev,
            "--name",
            "Contained Job",
        ])
        .args(["--", "sh", "-c", "echo ready; exec sleep 60"])
        .env("DISCRECORDER_RUNTIME_DIR", init())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("unshare");
    let mut line = String::new();
    std::io::BufReader::new(inside.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read");
    assert_eq!(line, "ready\n");
    let (code, out, err) = discrec(&["owner", &dev]);
    assert_eq!((code, out.as_str()), (0, "Contained Job\n"), "{err}");
    let _ = inside.kill();
    let _ = inside.wait();
}
