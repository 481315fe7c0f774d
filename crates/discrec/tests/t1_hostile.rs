//! Tier T1: the owner record against hostile neighbours (SPEC R2, R4, R5): forged, stale and
//! planted files, unsafe directories, and names full of terminal escapes.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;
use discrecorder::{HResult, OwnerKind, Recorder, Warning};

#[test]
#[ignore = "helper-process entry point, started by the other tests"]
fn zz_probe_entry() {
    probe_entry();
}

#[test]
fn forged_record_for_a_free_device_is_ignored() {
    let dev = unique_emu("forged-free");
    let key = format!("emu-{}", dev.strip_prefix("emu:").expect("emu"));
    let me = std::process::id() as i32;
    let path = init().join(format!("discrecorder.owner.{key}.{me}"));
    std::fs::write(&path, record_text("Forger", me)).expect("forge");
    // The forger even keeps its record locked, as a real holder would; it lacks the device lock.
    let forged = std::fs::File::open(&path).expect("open forged");
    rustix::fs::flock(
        &forged,
        rustix::fs::FlockOperation::NonBlockingLockExclusive,
    )
    .expect("flock");
    Recorder::open(&dev).expect("open");
    let mut p = probe("owner", &[&dev]);
    assert_eq!(
        p.line(),
        "owner",
        "a record without the device lock must not count"
    );
    let (_, out, _) = discrec(&["owner", &dev]);
    assert_eq!(out, "\n");
}

#[test]
fn forged_record_naming_a_live_pid_cannot_displace_the_real_holder() {
    let dev = unique_emu("forged-held");
    let key = format!("emu-{}", dev.strip_prefix("emu:").expect("emu"));
    let mut holder = probe("hold", &[&dev, "Real Holder"]);
    assert_eq!(holder.line(), "held");
    let me = std::process::id() as i32;
    std::fs::write(
        init().join(format!("discrecorder.owner.{key}.{me}")),
        record_text("Forger", me),
    )
    .expect("forge");
    let mut p = probe("owner", &[&dev]);
    assert_eq!(p.line(), "owner Real Holder");
    holder.finish();
}

#[test]
fn stale_record_of_a_killed_holder_is_ignored() {
    let dev = unique_emu("stale");
    let key = format!("emu-{}", dev.strip_prefix("emu:").expect("emu"));
    let mut holder = probe("hold", &[&dev, "Dead Holder"]);
    assert_eq!(holder.line(), "held");
    let pid = holder.pid();
    holder.kill();
    let leftover = init().join(format!("discrecorder.owner.{key}.{pid}"));
    assert!(
        leftover.exists(),
        "SIGKILL leaves the file; its lock is what died"
    );
    let mut p = probe("owner", &[&dev]);
    assert_eq!(p.line(), "owner");
}

#[test]
fn symlink_planted_at_the_record_name_is_not_followed_and_the_name_still_reaches_others() {
    let dev = unique_emu("symlink");
    let key = format!("emu-{}", dev.strip_prefix("emu:").expect("emu"));
    let victim_dir = tempfile::tempdir().expect("tempdir");
    let victim = victim_dir.path().join("precious");
    std::fs::write(&victim, "precious data\n").expect("victim");
    let me = std::process::id();
    let planted = init().join(format!("discrecorder.owner.{key}.{me}"));
    std::os::unix::fs::symlink(&victim, &planted).expect("plant");
    let rec = Recorder::open(&dev).expect("open");
    let got = rec
        .acquire_exclusive_access(false, "Careful")
        .expect("acquire");
    assert!(got.warnings.is_empty(), "{:?}", got.warnings);
    assert_eq!(
        std::fs::read_to_string(&victim).expect("victim"),
        "precious data\n"
    );
    let mut p = probe("owner", &[&dev]);
    assert_eq!(p.line(), "owner Careful");
    rec.release_exclusive_access().expect("release");
    assert_eq!(
        std::fs::read_to_string(&victim).expect("victim"),
        "precious data\n"
    );
    assert!(planted.is_symlink(), "not ours to remove");
}

/// A runtime directory holding `emu:NAME`, created while the directory was safe and then made
/// world-writable without the sticky bit.
fn unsafe_dir_with_emu(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, _, err) = discrec_in(dir.path(), &["emu", "create", name]);
    assert_eq!(code, 0, "{err}");
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .expect("chmod 777");
    dir
}

#[test]
fn unsafe_runtime_directory_is_refused_for_records_and_access_is_still_gained() {
    let dir = unsafe_dir_with_emu("unsafe-dir");
    let spec = "emu:unsafe-dir";
    let env = |c: &mut Command| {
        c.env("DISCRECORDER_RUNTIME_DIR", dir.path());
    };
    let (code, _, err) = discrec_in(dir.path(), &["lock", spec, "--name", "Wary", "--", "true"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("client name not published") && err.contains("sticky"),
        "{err}"
    );
    let mut holder = probe_with("hold", &[spec, "Wary"], env);
    let line = holder.line();
    assert!(
        line.starts_with("held; warning: client name not published"),
        "{line}"
    );
    let mut p = probe_with("owner", &[spec], env);
    let line = p.line();
    assert!(
        line.starts_with("owner ") && !line.contains("Wary"),
        "an unpublished name cannot be shown: {line}"
    );
    holder.finish();
}

#[test]
fn unsafe_directory_warning_is_reported_to_library_callers() {
    let dir = unsafe_dir_with_emu("lib-warn");
    let (_, _, err) = discrec_in(
        dir.path(),
        &[
            "--json",
            "lock",
            "emu:lib-warn",
            "--name",
            "Wary",
            "--",
            "true",
        ],
    );
    let v: serde_json::Value =
        serde_json::from_str(err.lines().next().expect("line")).expect("json");
    let warnings = v["acquired"]["result"]["warnings"]
        .as_array()
        .expect("warnings");
    assert_eq!(warnings[0]["kind"], "owner_not_published", "{v}");
    // The warning type is public and printable.
    let w = Warning::OwnerNotPublished { reason: "x".into() };
    assert!(w.to_string().contains("not published"));
}

#[test]
fn terminal_escapes_in_a_foreign_program_name_are_escaped_in_owner_output() {
    let dev = unique_emu("escapes");
    Recorder::open(&dev).expect("create");
    let backing = emu_backing(&dev);
    let mut foreign = probe(
        "foreign-flock",
        &[backing.to_str().expect("utf8"), "ev\u{1b}[2Jil"],
    );
    assert_eq!(foreign.line(), "ready");
    let (code, out, _) = discrec(&["owner", &dev]);
    assert_eq!(code, 0);
    assert!(
        !out.contains('\u{1b}'),
        "raw escape reached the terminal: {out:?}"
    );
    assert_eq!(out, "ev\\x1b[2Jil\n");
    let o = Recorder::open(&dev)
        .expect("open")
        .owner()
        .expect("owner")
        .expect("held");
    assert_eq!(o.kind, OwnerKind::ForeignProgram);
    assert_eq!(o.pid, Some(foreign.pid()));
    let err = Recorder::open(&dev)
        .expect("open")
        .acquire_exclusive_access(false, "Blocked")
        .expect_err("foreign flock holds it");
    assert_eq!(err.hresult(), HResult::EAccessDenied);
    assert!(!err.to_string().contains('\u{1b}'));
    foreign.finish();
}

/// Writes a fresh drive state with `field` set to `value` into `dev`'s state file: what a
/// neighbour with write access to the file could leave there.
fn plant_state_field(dev: &str, field: &str, value: &str) {
    let fresh = discrecorder::testing::parse_emu_state(b"", dev).expect("fresh state");
    let mut v = serde_json::to_value(&fresh).expect("state as json");
    v[field] = value.into();
    std::fs::write(emu_backing(dev), serde_json::to_vec(&v).expect("json")).expect("plant");
}

#[test]
fn unknown_fault_value_with_escape_bytes_in_state_never_reaches_output_raw() {
    let hostile = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31m\u{202e}kcah";
    for field in ["fault", "vendor", "product", "serial"] {
        let dev = unique_emu("state-esc");
        plant_state_field(&dev, field, hostile);
        let runs: [&[&str]; 6] = [
            &["list"],
            &["--json", "list"],
            &["info", &dev],
            &["--json", "info", &dev],
            &["lock", &dev, "--name", "Job", "--", "true"],
            &["emu", "set", &dev, "--tray", "closed"],
        ];
        for args in runs {
            let (_, out, err) = discrec(args);
            for text in [&out, &err] {
                assert!(
                    !text.contains(['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}']),
                    "{field}: discrec {args:?} printed state bytes raw: {text:?}"
                );
            }
        }
    }
}

#[test]
fn sparse_2gib_state_file_is_refused_without_being_read_whole() {
    let dev = unique_emu("sparse");
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(emu_backing(&dev))
        .expect("open state");
    file.set_len(2 << 30).expect("sparse 2 GiB");
    drop(file);
    let name = dev.strip_prefix("emu:").expect("emu");
    let err = discrecorder::emu::update(name, |_| ()).expect_err("a 2 GiB state is refused");
    assert_eq!(err.hresult(), HResult::EFail, "{err}");
    assert!(err.to_string().contains("larger than"), "{err}");
    let (_, out, err) = discrec(&["info", &dev]);
    assert!(format!("{out}{err}").contains("larger than"), "{out}{err}");
}

/// Issue 11 A8: holders and waiters killed with SIGKILL leave their record files behind. They
/// count for nothing, but piled up (17 in one afternoon); the same user's next acquire now
/// reaps those that nobody holds the lock of, and leaves held ones and fresh ones alone.
#[test]
fn stale_records_of_killed_holders_are_reaped_by_the_next_acquire() {
    let dev = unique_emu("reap");
    let dir = init();
    let old = std::time::SystemTime::now() - Duration::from_secs(60);
    let stale = dir.join("discrecorder.owner.emu-somewhere.999999");
    std::fs::write(&stale, "left by a killed holder").expect("stale");
    std::fs::File::options()
        .write(true)
        .open(&stale)
        .and_then(|f| f.set_modified(old))
        .expect("age it");
    let fresh = dir.join("discrecorder.owner.emu-somewhere.999998");
    std::fs::write(&fresh, "being written now").expect("fresh");
    // A killed holder's record that its job still holds (locked): not stale.
    let held = dir.join("discrecorder.owner.emu-somewhere.999997");
    std::fs::write(&held, "held").expect("held");
    std::fs::File::options()
        .write(true)
        .open(&held)
        .and_then(|f| f.set_modified(old))
        .expect("age it");
    let held_fd = std::fs::File::open(&held).expect("open");
    rustix::fs::flock(&held_fd, rustix::fs::FlockOperation::LockExclusive).expect("flock");
    let rec = Recorder::open(&dev).expect("open");
    rec.acquire_exclusive_access(false, "Reaper")
        .expect("acquire");
    assert!(!stale.exists(), "a stale record survived the next acquire");
    assert!(fresh.exists(), "a record being written was reaped");
    assert!(held.exists(), "a held record was reaped");
    rec.release_exclusive_access().expect("release");
    drop(held_fd);
    let _ = std::fs::remove_file(&fresh);
    let _ = std::fs::remove_file(&held);
}
