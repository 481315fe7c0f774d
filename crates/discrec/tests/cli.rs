//! The `discrec` command line: exit codes, error lines, JSON, signals, and the demo.

mod common;

use std::time::Duration;

use common::*;

#[test]
#[ignore = "helper-process entry point, started by the other tests"]
fn zz_probe_entry() {
    probe_entry();
}

#[test]
fn lock_runs_the_command_exits_with_its_status_and_releases() {
    let dev = unique_emu("cli-status");
    let (code, out, _) = discrec(&[
        "lock",
        &dev,
        "--name",
        "Runner",
        "--",
        "sh",
        "-c",
        "echo inside; exit 7",
    ]);
    assert_eq!(code, 7);
    assert_eq!(out, "inside\n");
    let (code, out, _) = discrec(&["owner", &dev]);
    assert_eq!((code, out.as_str()), (0, "\n"), "free after the command");
}

#[test]
fn lock_holds_the_device_while_the_command_runs() {
    let dev = unique_emu("cli-holds");
    let (code, out, err) = discrec(&[
        "lock", &dev, "--name", "Runner", "--", DISCREC, "owner", &dev,
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "Runner\n");
}

#[test]
fn lock_killed_with_sigkill_frees_the_device_while_the_command_keeps_running() {
    let dev = unique_emu("cli-kill");
    let (mut lock, line) = lock_running_sh(&dev, "Doomed", "echo $$; exec sleep 100");
    let command_pid: i32 = line.trim().parse().expect("pid");
    lock.kill().expect("kill");
    lock.wait().expect("wait");
    let (_, out, _) = discrec(&["owner", &dev]);
    assert_eq!(out, "\n", "device still owned after discrec died");
    assert!(process_alive(command_pid), "the command should still run");
    let mut p = probe("try", &[&dev, "Next"]);
    assert_eq!(p.line(), "ok Next");
    if let Some(pid) = rustix::process::Pid::from_raw(command_pid) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
    }
}

#[test]
fn refused_lock_prints_one_line_name_code_meaning_context_and_fails() {
    let dev = unique_emu("cli-refused");
    let mut holder = probe("hold", &[&dev, "The Holder"]);
    assert_eq!(holder.line(), "held");
    let (code, out, err) = discrec(&["lock", &dev, "--name", "Late", "--", "true"]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    let prefix =
        "E_ACCESSDENIED (0x80070005): the device is currently being used by another application: ";
    assert!(lines[0].starts_with(prefix), "{err}");
    assert!(lines[0].contains("\"The Holder\""), "{err}");
    assert!(lines[0].contains(&format!("pid {}", holder.pid())), "{err}");
    holder.finish();
}

#[test]
fn invalid_client_name_gives_e_invalidarg() {
    let dev = unique_emu("cli-name");
    let (code, _, err) = discrec(&["lock", &dev, "--name", "bad/name", "--", "true"]);
    assert_eq!(code, 1);
    assert!(err.starts_with("E_INVALIDARG (0x80070057): "), "{err}");
}

#[test]
fn json_errors_carry_hresult_name_meaning_and_context() {
    let dev = unique_emu("cli-json-err");
    let (code, _, err) = discrec(&["--json", "lock", &dev, "--name", "", "--", "true"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(err.trim()).expect("json error");
    assert_eq!(v["error"]["hresult"], "0x80070057");
    assert_eq!(v["error"]["name"], "E_INVALIDARG");
    assert!(v["error"]["context"]
        .as_str()
        .is_some_and(|c| c.contains("empty")));
}

#[test]
fn owner_json_reports_kind_name_pid_program_since() {
    let dev = unique_emu("cli-owner-json");
    let (code, out, _) = discrec(&["owner", &dev, "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert!(v["owner"].is_null());
    let mut holder = probe("hold", &[&dev, "Json Holder"]);
    assert_eq!(holder.line(), "held");
    let (code, out, _) = discrec(&["owner", &dev, "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["device"], dev.as_str());
    assert_eq!(v["owner"]["kind"], "client");
    assert_eq!(v["owner"]["name"], "Json Holder");
    assert_eq!(v["owner"]["pid"], holder.pid());
    assert_eq!(v["owner"]["mode"], "exclusive");
    assert!(v["owner"]["since_unix_ms"].as_u64().is_some());
    holder.finish();
}

/// Sends `signal` (named `name` in the shell's trap) to `discrec lock` while its command runs:
/// the command must see it (it exits 42 from its trap), `discrec lock` must exit with the
/// command's status, and the device must be free.
fn lock_forwards(signal: rustix::process::Signal, name: &str) {
    let dev = unique_emu("cli-signal");
    let (mut lock, line) = lock_running_sh(
        &dev,
        "Signalled",
        &format!("trap 'exit 42' {name}; echo ready; while :; do sleep 0.02; done"),
    );
    assert_eq!(line.trim(), "ready");
    let pid = rustix::process::Pid::from_raw(lock.id() as i32).expect("pid");
    rustix::process::kill_process(pid, signal).expect("kill");
    let status = lock.wait().expect("wait");
    assert_eq!(
        status.code(),
        Some(42),
        "the command saw SIG{name} and discrec passed on its status"
    );
    let (_, out, _) = discrec(&["owner", &dev]);
    assert_eq!(out, "\n");
}

#[test]
fn lock_forwards_sigterm_to_the_command_and_releases_after_it_exits() {
    lock_forwards(rustix::process::Signal::TERM, "TERM");
}

#[test]
fn lock_forwards_sigint_to_the_command_and_releases_after_it_exits() {
    lock_forwards(rustix::process::Signal::INT, "INT");
}

#[test]
fn command_not_found_exits_127_and_releases() {
    let dev = unique_emu("cli-127");
    let (code, _, err) = discrec(&["lock", &dev, "--name", "X", "--", "/nonexistent/prog"]);
    assert_eq!(code, 127, "{err}");
    assert!(err.contains("exclusive access released"), "{err}");
    let (_, out, _) = discrec(&["owner", &dev]);
    assert_eq!(out, "\n");
}

#[test]
fn lock_wait_gets_the_device_when_the_holder_releases() {
    let dev = unique_emu("cli-wait");
    let mut holder = probe("hold", &[&dev, "Brief"]);
    assert_eq!(holder.line(), "held");
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        holder.finish();
    });
    let (code, out, err) = discrec(&[
        "lock", &dev, "--name", "Waiter", "--wait", "20", "--", "echo", "got it",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "got it\n");
    releaser.join().expect("join");
}

#[test]
fn help_shows_examples() {
    let (code, out, _) = discrec(&["--help"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("Examples:") && out.contains("discrec demo"),
        "{out}"
    );
    let (code, out, _) = discrec(&["lock", "--help"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("--handoff") && out.contains("Examples:"),
        "{out}"
    );
}

#[test]
fn demo_shows_the_whole_lifecycle_and_every_step_passes() {
    init();
    let (code, out, err) = discrec(&["--json", "demo"]);
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(v["ok"], true, "{out}");
    let steps = v["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 8);
    assert!(steps.iter().all(|s| s["ok"] == true), "{out}");
    let dev = v["device"].as_str().expect("device");
    let (_, list, _) = discrec(&["emu", "list"]);
    assert!(!list.contains(dev), "demo left its device behind");
}
