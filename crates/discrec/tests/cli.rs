//! The `discrec` command line: exit codes, error lines, JSON, signals, and the demo.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
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

/// Issue 11 A2, the old rule kept under `-o/--close` (flock's name): COMMAND gets no part of
/// the claim, so the device is free the moment discrec dies.
#[test]
fn lock_close_killed_with_sigkill_frees_the_device_while_the_command_keeps_running() {
    let dev = unique_emu("cli-kill");
    let (mut lock, line) = lock_running_sh_with(
        std::path::Path::new(DISCREC),
        &dev,
        "Doomed",
        &["-o"],
        "echo $$; exec sleep 100",
        |_| {},
    );
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
    let prefix = "discrec: E_ACCESSDENIED (0x80070005): the device is currently being used by another application: ";
    assert!(lines[0].starts_with(prefix), "{err}");
    assert!(lines[0].contains("\"The Holder\""), "{err}");
    assert!(lines[0].contains(&format!("pid {}", holder.pid())), "{err}");
    holder.finish();
}

#[test]
fn invalid_client_name_gives_e_invalidarg() {
    let dev = unique_emu("cli-name");
    let (code, _, err) = discrec(&["lock", &dev, "--name", "bad/name", "--", "true"]);
    assert_eq!(code, 64, "an invalid argument is a usage error");
    assert!(
        err.starts_with("discrec: E_INVALIDARG (0x80070057): "),
        "{err}"
    );
}

#[test]
fn json_errors_carry_hresult_name_meaning_and_context() {
    let dev = unique_emu("cli-json-err");
    let (code, _, err) = discrec(&["--json", "lock", &dev, "--name", "", "--", "true"]);
    assert_eq!(code, 64);
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
    assert_eq!(steps.len(), 9);
    assert!(steps.iter().all(|s| s["ok"] == true), "{out}");
    let dev = v["device"].as_str().expect("device");
    let (_, list, _) = discrec(&["emu", "list"]);
    assert!(!list.contains(dev), "demo left its device behind");
}

// ---- Issue 11 E: the command line behaves like the tools it sits beside. ----

/// Runs `discrec ARGS` with `adjust` applied to the command (its stdout, stderr, user).
fn discrec_with(args: &[&str], adjust: impl FnOnce(&mut Command)) -> std::process::Output {
    let mut cmd = Command::new(DISCREC);
    cmd.args(args).env("DISCRECORDER_RUNTIME_DIR", init());
    adjust(&mut cmd);
    cmd.output().expect("run discrec")
}

/// A fresh emulated device, created explicitly as `discrec emu create` does.
fn created_emu(tag: &str) -> String {
    let dev = unique_emu(tag);
    let (code, _, err) = discrec(&["emu", "create", &dev]);
    assert_eq!(code, 0, "{err}");
    dev
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn usage_errors_exit_64_and_help_and_version_exit_0() {
    let dev = created_emu("cli-usage");
    for args in [
        &["lock"][..],
        &["no-such-subcommand"],
        &["lock", &dev, "--name", "X", "--wait", "soon", "--", "true"],
        &["lock", &dev, "--name", "X", "--wait", "-1", "--", "true"],
        &["lock", &dev, "--name", "bad/name", "--", "true"],
        &["emu", "set", &dev, "--tray", "ajar"],
    ] {
        let (code, out, err) = discrec(args);
        assert_eq!(code, 64, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}: {out}");
        assert!(err.starts_with("discrec: "), "{args:?}: {err}");
    }
    for args in [
        &["--help"][..],
        &["--version"],
        &["lock", "--help"],
        &["help"],
    ] {
        let (code, out, _) = discrec(args);
        assert_eq!(code, 0, "{args:?}");
        assert!(!out.is_empty(), "{args:?}");
    }
}

#[test]
fn usage_errors_under_json_are_one_json_object_on_stderr() {
    let (code, out, err) = discrec(&["--json", "lock", "emu:x", "--wait", "soon"]);
    assert_eq!(code, 64, "{err}");
    assert!(out.is_empty());
    assert_eq!(err.lines().count(), 1, "{err}");
    let v: serde_json::Value = serde_json::from_str(err.trim()).expect("json usage error");
    assert_eq!(v["error"]["name"], "E_INVALIDARG", "{v}");
    assert_eq!(v["error"]["hresult"], "0x80070057", "{v}");
    assert!(v["error"]["context"]
        .as_str()
        .is_some_and(|c| c.contains("--wait")));
}

#[test]
fn no_such_device_exits_66_also_a_vanished_one() {
    let (code, _, err) = discrec(&["owner", "/dev/discrec-test-no-such-node"]);
    assert_eq!(code, 66, "{err}");
    let dev = created_emu("cli-vanish");
    let (code, _, err) = discrec(&["emu", "set", &dev, "--fault", "vanish"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = discrec(&["eject", &dev]);
    assert_eq!(code, 66, "{err}");
    assert!(err.contains("ERROR_DEV_NOT_EXIST"), "{err}");
}

#[test]
fn device_io_error_exits_74() {
    let dev = created_emu("cli-garbage");
    let (code, _, err) = discrec(&["emu", "set", &dev, "--fault", "garbage"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = discrec(&["eject", &dev]);
    assert_eq!(code, 74, "{err}");
    assert!(
        err.starts_with("discrec: E_IMAPI_RECORDER_INVALID_RESPONSE_FROM_DEVICE"),
        "{err}"
    );
}

#[test]
fn permission_denied_exits_77_not_busy() {
    if !require_root("cli-77") {
        return;
    }
    let _s = serial();
    let lo = LoopDev::new(false);
    let exe = discrec_for_others();
    let mut cmd = Command::new(exe);
    cmd.args(["lock", lo.dev(), "--name", "Nobody", "--", "true"])
        .env("DISCRECORDER_RUNTIME_DIR", init())
        .uid(65534)
        .gid(65534)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = spawn_fresh_copy(&mut cmd)
        .and_then(|c| c.wait_with_output())
        .expect("run discrec as nobody");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(77), "{err}");
    assert!(err.starts_with("discrec: E_ACCESSDENIED"), "{err}");
}

#[test]
fn conflict_exit_code_changes_the_busy_status_only() {
    let dev = created_emu("cli-E");
    let mut holder = probe("hold", &[&dev, "Holder"]);
    assert_eq!(holder.line(), "held");
    let (code, _, err) = discrec(&["lock", &dev, "-N", "Late", "-E", "9", "--", "true"]);
    assert_eq!(code, 9, "{err}");
    let (code, _, err) = discrec(&[
        "lock",
        &dev,
        "--name",
        "Late",
        "--conflict-exit-code",
        "10",
        "--wait",
        "0.05",
        "--",
        "true",
    ]);
    assert_eq!(code, 10, "a wait that timed out is a conflict too: {err}");
    holder.finish();
    let (code, _, err) = discrec(&[
        "lock", &dev, "-N", "Free", "-E", "9", "--", "sh", "-c", "exit 3",
    ]);
    assert_eq!(code, 3, "COMMAND's own status is untouched: {err}");
}

#[test]
fn wait_accepts_fractions_zero_and_inf() {
    let dev = created_emu("cli-wait-forms");
    let mut holder = probe("hold", &[&dev, "Holder"]);
    assert_eq!(holder.line(), "held");
    let started = std::time::Instant::now();
    let (code, _, err) = discrec(&["lock", &dev, "-N", "W", "-w", "0.3", "--", "true"]);
    let took = started.elapsed();
    assert_eq!(code, 1, "{err}");
    assert!(took >= Duration::from_millis(250), "gave up after {took:?}");
    let (code, _, err) = discrec(&["lock", &dev, "-N", "W", "-w", "0", "--", "true"]);
    assert_eq!(code, 1, "{err}");
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        holder.finish();
    });
    let (code, out, err) = discrec(&[
        "lock", &dev, "-N", "W", "--wait", "inf", "--", "echo", "got",
    ]);
    assert_eq!((code, out.as_str()), (0, "got\n"), "{err}");
    releaser.join().expect("join");
}

#[test]
fn nonblock_fails_at_once_and_n_no_longer_means_name() {
    let dev = created_emu("cli-nonblock");
    let mut holder = probe("hold", &[&dev, "Holder"]);
    assert_eq!(holder.line(), "held");
    let (code, _, err) = discrec(&["lock", &dev, "-n", "-N", "Quick", "--", "true"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("E_ACCESSDENIED"), "{err}");
    let (code, _, err) = discrec(&["lock", &dev, "--nonblock", "--name", "Quick", "--", "true"]);
    assert_eq!(code, 1, "{err}");
    holder.finish();
    let (code, _, err) = discrec(&["lock", &dev, "-n", "Quick", "--", "true"]);
    assert_eq!(code, 64, "-n takes no value: {err}");
}

#[test]
fn c_runs_a_shell_command() {
    let dev = created_emu("cli-c");
    let (code, out, err) = discrec(&[
        "lock",
        &dev,
        "-N",
        "Shell",
        "-c",
        &format!("{DISCREC} owner {dev}; exit 5"),
    ]);
    assert_eq!(code, 5, "{err}");
    assert_eq!(out, "Shell\n");
    let (code, _, err) = discrec(&["lock", &dev, "-N", "Both", "-c", "true", "--", "true"]);
    assert_eq!(code, 64, "-c and COMMAND together: {err}");
}

#[test]
fn missing_double_dash_before_command_is_a_usage_error_that_says_so() {
    let dev = created_emu("cli-dashdash");
    let (code, out, err) = discrec(&["lock", &dev, "-N", "X", "echo", "hi"]);
    assert_eq!(code, 64, "{err}");
    assert!(out.is_empty(), "COMMAND must not run: {out}");
    assert!(err.starts_with("discrec: "), "{err}");
    assert!(err.contains("`--`"), "{err}");
    let (code, _, err) = discrec(&["lock", &dev, "-N", "X", "ls", "-l"]);
    assert_eq!(code, 64, "{err}");
    assert!(err.contains("`--`"), "{err}");
    let (code, _, err) = discrec(&["lock", &dev, "-N", "X"]);
    assert_eq!(code, 64, "{err}");
    assert!(err.contains("COMMAND"), "{err}");
}

#[test]
fn quiet_silences_the_refusal_and_verbose_reports_on_stderr() {
    let dev = created_emu("cli-quiet");
    let mut holder = probe("hold", &[&dev, "Holder"]);
    assert_eq!(holder.line(), "held");
    let (code, out, err) = discrec(&["lock", &dev, "-q", "-N", "Q", "--", "true"]);
    assert_eq!((code, out.as_str(), err.as_str()), (1, "", ""));
    holder.finish();
    let (code, out, err) = discrec(&["lock", &dev, "--verbose", "-N", "V", "--", "true"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.starts_with("discrec: ") && err.contains("acquired") && err.contains("\"V\""),
        "{err}"
    );
}

#[test]
fn list_banner_and_info_errors_go_to_stderr_data_to_stdout() {
    let dev = created_emu("cli-streams");
    let (code, out, err) = discrec(&["list"]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("No optical drive"), "{out}");
    assert!(
        out.starts_with("ID "),
        "the header is the first line of data: {out}"
    );
    if !out.contains("/dev/sr") {
        assert!(err.starts_with("discrec: No optical drive"), "{err}");
    }
    let (code, _, err) = discrec(&["emu", "set", &dev, "--fault", "garbage"]);
    assert_eq!(code, 0, "{err}");
    let (_, out, err) = discrec(&["info", &dev]);
    assert!(!out.contains("error"), "{out}");
    assert!(
        err.lines().count() >= 1 && err.lines().all(|l| l.starts_with("discrec: ")),
        "{err}"
    );
}

#[test]
fn list_noheadings_and_output_columns() {
    let dev = created_emu("cli-columns");
    let (code, out, err) = discrec(&["list", "-n", "-o", "id,owner"]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.starts_with("ID"), "{out}");
    let row = out.lines().find(|l| l.starts_with(&dev)).expect("listed");
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells, [dev.as_str(), "free"], "{row}");
    let (code, out, err) = discrec(&["list", "--output", "DEVICE,VENDOR"]);
    assert_eq!(code, 0, "{err}");
    let header: Vec<&str> = out
        .lines()
        .next()
        .expect("header")
        .split_whitespace()
        .collect();
    assert_eq!(header, ["DEVICE", "VENDOR"]);
    let (code, _, err) = discrec(&["list", "-o", "id,colour"]);
    assert_eq!(code, 64, "{err}");
}

#[test]
fn owner_silent_exits_1_when_free_and_prints_nothing() {
    let dev = created_emu("cli-silent");
    let (code, out, err) = discrec(&["owner", "-s", &dev]);
    assert_eq!((code, out.as_str(), err.as_str()), (1, "", ""));
    let mut holder = probe("hold", &[&dev, "Holder"]);
    assert_eq!(holder.line(), "held");
    let (code, out, err) = discrec(&["owner", "--silent", &dev]);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    holder.finish();
}

#[test]
fn one_word_for_nobody_across_commands() {
    let dev = created_emu("cli-free");
    let (_, out, _) = discrec(&["list", "-n", "-o", "id,owner"]);
    let row = out.lines().find(|l| l.starts_with(&dev)).expect("listed");
    assert!(row.ends_with(" free"), "{row}");
    let (_, out, _) = discrec(&["info", &dev]);
    assert!(out.lines().any(|l| l == "owner           free"), "{out}");
    let (_, out, _) = discrec(&["demo", "--device", &created_emu("cli-free-demo")]);
    assert!(!out.contains("nobody"), "{out}");
    assert!(out.contains("(free)"), "{out}");
}

#[test]
fn every_error_is_prefixed_discrec() {
    let dev = created_emu("cli-prefix");
    let (code, _, err) = discrec(&["emu", "set", &dev, "--fault", "vanish"]);
    assert_eq!(code, 0, "{err}");
    for args in [
        &["owner", "/dev/discrec-test-no-such-node"][..],
        &["info", &dev],
        &["eject", &dev],
        &["lock", &dev, "--name", "X", "--", "true"],
        &["emu", "remove", "never-created-here"],
    ] {
        let (code, _, err) = discrec(args);
        assert_ne!(code, 0, "{args:?}");
        assert!(
            !err.is_empty() && err.lines().all(|l| l.starts_with("discrec: ")),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn emu_subcommands_accept_the_emu_prefix_that_emu_list_prints() {
    let dev = unique_emu_name("cli-prefix-emu");
    let (code, out, err) = discrec(&["emu", "create", &dev]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim_end(), format!("{dev} created"));
    let (_, list, _) = discrec(&["emu", "list"]);
    let listed = list
        .lines()
        .find(|l| *l == dev)
        .expect("emu list prints emu:NAME");
    let (code, _, err) = discrec(&["emu", "set", listed, "--tray", "open"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = discrec(&["emu", "remove", listed]);
    assert_eq!(code, 0, "{err}");
    let (_, list, _) = discrec(&["emu", "list"]);
    assert!(!list.lines().any(|l| l == dev), "{list}");
}

#[test]
fn help_of_every_subcommand_has_examples() {
    for args in [
        &["lock"][..],
        &["owner"],
        &["list"],
        &["info"],
        &["eject"],
        &["close-tray"],
        &["demo"],
        &["emu"],
        &["emu", "create"],
        &["emu", "remove"],
        &["emu", "list"],
        &["emu", "set"],
    ] {
        let mut a = args.to_vec();
        a.push("--help");
        let (code, out, _) = discrec(&a);
        assert_eq!(code, 0, "{args:?}");
        assert!(out.contains("Examples:\n  discrec "), "{args:?}:\n{out}");
    }
    let (_, out, _) = discrec(&["--help"]);
    for status in ["64", "66", "71", "74", "77"] {
        assert!(
            out.contains(status),
            "exit status {status} missing from --help:\n{out}"
        );
    }
}

/// The write end of a pipe whose read end is already closed: writing to it gives EPIPE.
fn broken_pipe() -> std::io::PipeWriter {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    writer
}

/// `stderr` without `list`'s notice that there is no optical drive.
fn without_banner(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|l| !l.starts_with("discrec: No optical drive"))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn broken_pipe_exits_141_quietly() {
    let dev = created_emu("cli-epipe");
    for args in [
        &["owner", &dev][..],
        &["list"],
        &["emu", "list"],
        &["info", &dev],
    ] {
        let out = discrec_with(args, |c| {
            c.stdout(broken_pipe());
        });
        let err = without_banner(&text(&out.stderr));
        assert_eq!(out.status.code(), Some(141), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?}: {err}");
    }
}

#[test]
fn full_disk_exits_74_with_one_error_line_and_no_panic() {
    let dev = created_emu("cli-enospc");
    for args in [&["list"][..], &["owner", "--json", &dev], &["info", &dev]] {
        let out = discrec_with(args, |c| {
            c.stdout(std::fs::File::create("/dev/full").expect("/dev/full"));
        });
        let err = without_banner(&text(&out.stderr));
        assert_eq!(out.status.code(), Some(74), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("discrec: ") && err.contains("ENOSPC"),
            "{err}"
        );
    }
}

#[test]
fn notices_into_a_broken_stderr_pipe_do_not_stop_the_job() {
    let dev = created_emu("cli-stderr-epipe");
    let out = discrec_with(
        &[
            "--json", "lock", &dev, "--name", "Deaf", "--", "echo", "ran",
        ],
        |c| {
            c.stderr(broken_pipe());
        },
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "ran\n");
}

/// Processes (other than this one) whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != me && process_alive(pid))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle))
        })
        .collect()
}

/// After a demo run as PID `pid`: its emulated device is gone and none of its processes live on.
fn assert_demo_cleaned_up(pid: u32) {
    let dev = format!("emu:demo-{pid}");
    let (_, list, _) = discrec(&["emu", "list"]);
    assert!(!list.lines().any(|l| l == dev), "{dev} left behind: {list}");
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    loop {
        let left = processes_mentioning(&dev);
        if left.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "processes of the demo left running: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn demo_into_a_closed_pipe_exits_141_and_cleans_up() {
    let mut demo = Command::new(DISCREC)
        .arg("demo")
        .env("DISCRECORDER_RUNTIME_DIR", init())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn demo");
    let mut first = String::new();
    let mut stdout = BufReader::new(demo.stdout.take().expect("stdout"));
    stdout.read_line(&mut first).expect("read");
    drop(stdout);
    let out = demo.wait_with_output().expect("wait");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_demo_cleaned_up(demo_pid(&first));
}

/// The demo's PID, from its first line (`discrecorder demo on emu:demo-PID …`).
fn demo_pid(first_line: &str) -> u32 {
    first_line
        .split("emu:demo-")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no demo device in {first_line:?}"))
}

/// Sends `signal` to a running demo once it has printed the line starting with `after`; the
/// demo must die of that signal, leaving no device and no process behind.
fn demo_interrupted(signal: rustix::process::Signal, after: &str) {
    let mut demo = Command::new(DISCREC)
        .arg("demo")
        .env("DISCRECORDER_RUNTIME_DIR", init())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn demo");
    let mut stdout = BufReader::new(demo.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("read");
    let pid = demo_pid(&first);
    loop {
        let mut line = String::new();
        let n = stdout.read_line(&mut line).expect("read");
        assert!(n > 0, "the demo ended before {after:?}");
        if line.starts_with(after) {
            break;
        }
    }
    let p = rustix::process::Pid::from_raw(pid as i32).expect("pid");
    rustix::process::kill_process(p, signal).expect("signal the demo");
    let status = demo.wait().expect("wait");
    assert_eq!(status.signal(), Some(signal.as_raw()), "{status:?}");
    assert_demo_cleaned_up(pid);
}

#[test]
fn demo_killed_with_sigterm_removes_its_device() {
    demo_interrupted(rustix::process::Signal::TERM, "[ok ] 1.");
}

#[test]
fn demo_interrupted_with_sigint_while_its_holder_runs_leaves_no_process() {
    demo_interrupted(rustix::process::Signal::INT, "[ok ] 6.");
}

/// The owner of `dev` as `discrec owner --json` reports it: (name, pid), `None` when free.
fn owner_of(dev: &str) -> Option<(String, Option<i64>)> {
    let (code, out, err) = discrec(&["owner", "--json", dev]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    let o = &v["owner"];
    (!o.is_null()).then(|| {
        (
            o["name"].as_str().expect("name").to_owned(),
            o["pid"].as_i64(),
        )
    })
}

/// Waits (up to 5 s) until `pid` has exited (it is not our child: its parent reaps it).
fn wait_gone(pid: i32) {
    for _ in 0..5000 {
        if !process_alive(pid) {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("{pid} still runs");
}

fn kill9(pid: i32) {
    if let Some(p) = rustix::process::Pid::from_raw(pid) {
        let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
    }
}

/// Issue 11 A2: COMMAND inherits the claim, as with flock(1). A killed `discrec lock` no longer
/// frees a device its command still writes to: the client stays named, with the PID of the
/// command that holds the claim now; the device is free the instant the command exits.
#[test]
fn lock_killed_with_sigkill_leaves_the_claim_with_its_command_until_it_exits() {
    let dev = unique_emu("cli-inherit");
    let (mut lock, line) = lock_running_sh(&dev, "Nightly Backup", "echo $$; exec sleep 100");
    let command_pid: i32 = line.trim().parse().expect("pid");
    lock.kill().expect("kill");
    lock.wait().expect("wait");
    assert_eq!(
        owner_of(&dev),
        Some(("Nightly Backup".to_owned(), Some(i64::from(command_pid)))),
        "the command holds the claim after discrec died"
    );
    let mut p = probe("try", &[&dev, "Next"]);
    assert!(
        p.line().starts_with("err 0x80070005"),
        "another client got in"
    );
    kill9(command_pid);
    wait_gone(command_pid);
    assert_eq!(owner_of(&dev), None, "free once the last holder exited");
    let mut p = probe("try", &[&dev, "Next"]);
    assert_eq!(p.line(), "ok Next");
}

/// Issue 11 A2, chaos: `discrec lock` SIGKILLed at random instants, from before it acquires to
/// while its command runs. Whenever the command started, the device is held (and named) until
/// the command exits, then free at once; when it did not, the device is free.
#[test]
fn chaos_lock_killed_at_random_instants_never_frees_a_device_its_command_holds() {
    use rand::Rng;
    use std::io::BufRead;
    let dev = unique_emu("cli-inherit-chaos");
    let mut rng = rand::rng();
    let (mut started, mut not_started) = (0, 0);
    let rounds: u32 = std::env::var("DISCREC_INHERIT_CHAOS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    for round in 0..rounds {
        let mut lock = std::process::Command::new(DISCREC)
            .args(["lock", &dev, "--name", "Chaos Job", "--"])
            .args(["sh", "-c", "echo $$; exec sleep 100"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_micros(rng.random_range(0..8000)));
        let _ = lock.kill();
        let _ = lock.wait();
        let mut line = String::new();
        let _ = std::io::BufReader::new(lock.stdout.take().expect("stdout")).read_line(&mut line);
        match line.trim().parse::<i32>() {
            Ok(command_pid) if process_alive(command_pid) => {
                started += 1;
                let owner = owner_of(&dev);
                assert_eq!(
                    owner.as_ref().map(|o| o.0.as_str()),
                    Some("Chaos Job"),
                    "round {round}: free while the command held it"
                );
                let mut p = probe("try", &[&dev, "Intruder"]);
                assert!(
                    p.line().starts_with("err 0x80070005"),
                    "round {round}: another client got the device"
                );
                kill9(command_pid);
                wait_gone(command_pid);
            }
            _ => not_started += 1,
        }
        assert_eq!(
            owner_of(&dev),
            None,
            "round {round}: not free after the last holder"
        );
    }
    eprintln!(
        "inherit chaos: {rounds} kills, {started} after the command started, {not_started} before"
    );
    assert!(
        started > rounds / 10 && not_started > 0,
        "kills landed: {started} after the command started, {not_started} before"
    );
}

/// Whether the tray of the emulated `dev` is open, from its state file.
fn tray_open(dev: &str) -> bool {
    let bytes = std::fs::read(emu_backing(dev)).expect("read emu state");
    discrecorder::testing::parse_emu_state(&bytes, dev)
        .expect("parse emu state")
        .tray_open
}

/// Issue 11 E5: a `discrec` started inside a job acts under the job's claim (nesting): eject,
/// close-tray, owner and lock succeed, and the job's client stays the owner throughout.
#[test]
fn a_job_acts_on_the_drive_it_holds_nesting_under_its_claim() {
    let dev = created_emu("cli-job-nest");
    let d = DISCREC;
    let script = format!(
        "set -e; {d} eject {dev}; {d} close-tray {dev}; {d} owner {dev}; \
         {d} lock {dev} -N Inner -- {d} owner {dev}; \
         {d} lock {dev} -N Inner -- {d} eject {dev}; {d} owner {dev}"
    );
    let (code, out, err) = discrec(&["lock", &dev, "-N", "Outer Job", "--", "sh", "-c", &script]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out, "Outer Job\nOuter Job\nOuter Job\n",
        "the job's client stays the owner: the inner commands nested"
    );
    assert!(tray_open(&dev), "the inner eject ran");
    assert_eq!(owner_of(&dev), None, "free once the job ended");
}

/// Issue 11 E5: only the job's own processes nest. A sibling, even with the job's whole
/// environment, is another client and is refused.
#[test]
fn outside_the_job_the_drive_stays_refused_even_with_the_jobs_environment() {
    let dev = created_emu("cli-job-sibling");
    let dir = tempfile::tempdir().expect("tempdir");
    let env_file = dir.path().join("env");
    let (mut lock, line) = lock_running_sh(
        &dev,
        "Outer Job",
        &format!("env -0 > {}; echo $$; exec sleep 100", env_file.display()),
    );
    let command_pid: i32 = line.trim().parse().expect("pid");
    let env = std::fs::read(&env_file).expect("env");
    let vars: Vec<(String, String)> = env
        .split(|&b| b == 0)
        .filter_map(|kv| {
            let kv = String::from_utf8_lossy(kv).into_owned();
            let (k, v) = kv.split_once('=')?;
            Some((k.to_owned(), v.to_owned()))
        })
        .collect();
    for args in [
        &["eject", &dev][..],
        &["close-tray", &dev],
        &["lock", &dev, "-N", "Sibling", "--", "true"],
    ] {
        let out = discrec_with(args, |c| {
            c.env_clear().envs(vars.iter().cloned());
        });
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("E_IMAPI_RECORDER_LOCKED") || err.contains("E_ACCESSDENIED"),
            "{args:?}: {err}"
        );
    }
    assert!(!tray_open(&dev), "the sibling's eject did nothing");
    kill9(command_pid);
    let _ = lock.wait();
    assert_eq!(owner_of(&dev), None);
}

/// Issue 11 E5: `lock --eject` ejects the medium after COMMAND exits, before releasing.
#[test]
fn lock_eject_opens_the_tray_after_the_command_and_keeps_its_status() {
    let dev = created_emu("cli-lock-eject");
    assert!(!tray_open(&dev));
    let (code, _, err) = discrec(&["lock", &dev, "-N", "Ejector", "--eject", "--", "true"]);
    assert_eq!(code, 0, "{err}");
    assert!(tray_open(&dev), "ejected");
    let (code, _, err) = discrec(&["close-tray", &dev]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = discrec(&[
        "lock", &dev, "-N", "Ejector", "--eject", "--", "sh", "-c", "exit 3",
    ]);
    assert_eq!(code, 3, "{err}");
    assert!(tray_open(&dev), "ejected after a failed command too");
    assert_eq!(owner_of(&dev), None);
}

/// Issue 11 E8: `--timeout SECS` on the commands that talk to the drive, and `info` on a hung
/// drive gives up after the first timeout instead of timing out on every query.
#[test]
fn info_on_a_hung_drive_takes_one_timeout_and_exits_74() {
    let dev = created_emu("cli-hang");
    let (code, _, err) = discrec(&["emu", "set", &dev, "--fault", "hang"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = discrec(&["info", &dev, "--timeout", "0.3"]);
    assert_eq!(code, 74, "{err}");
    assert_eq!(
        err.matches("E_IMAPI_RECORDER_COMMAND_TIMEOUT").count(),
        1,
        "one timeout: {err}"
    );
    assert!(err.contains("not attempted"), "{err}");
    let (code, out, err) = discrec(&["--json", "info", &dev, "--timeout", "0.3"]);
    assert_eq!(code, 74, "{err}");
    assert_eq!(out.matches("COMMAND_TIMEOUT").count(), 1, "{out}");
    for args in [
        &["eject", &dev, "--timeout", "0.3"][..],
        &["close-tray", &dev, "--timeout", "0.3"],
        &["lock", &dev, "-N", "T", "--timeout", "0.3", "--", "true"],
    ] {
        let (code, _, err) = discrec(args);
        assert_eq!(code, 74, "{args:?}: {err}");
        assert!(err.contains("within 300 ms"), "{args:?}: {err}");
    }
    let (code, _, err) = discrec(&["list", "--timeout", "0.3"]);
    assert_ne!(code, 64, "{err}");
}

/// Issue 11 E2: an unusable runtime directory is not "in use by another application": its own
/// meaning, and exit 77 like other permission problems, not 1 (busy).
#[test]
fn a_broken_runtime_directory_is_not_in_use_by_another_application() {
    use std::os::unix::fs::PermissionsExt;
    let runtime = tempfile::tempdir().expect("tempdir");
    let private = runtime.path().join(format!(
        "discrecorder-emu-{}",
        rustix::process::geteuid().as_raw()
    ));
    std::fs::create_dir(&private).expect("mkdir");
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    for json in [false, true] {
        let mut args = vec!["emu", "create", "broken"];
        if json {
            args.insert(0, "--json");
        }
        let (code, _, err) = discrec_in(runtime.path(), &args);
        assert_eq!(code, 77, "{err}");
        assert!(err.contains("E_ACCESSDENIED"), "{err}");
        assert!(!err.contains("another application"), "{err}");
        assert!(err.contains("directory"), "{err}");
    }
}

/// Issue 11 C: paths given on the command line were echoed raw in errors (ESC, U+202E), and
/// `emu:`/`wwid:` names were escaped twice (`\\x1b`). Every error context is escaped once.
#[test]
fn error_contexts_escape_hostile_text_once() {
    init();
    let (code, _, err) = discrec(&["owner", "/dev/x\u{1b}[31m\u{202e}evil"]);
    assert_eq!(code, 66, "{err}");
    assert!(
        !err.contains('\u{1b}') && !err.contains('\u{202e}'),
        "{err:?}"
    );
    assert!(err.contains("/dev/x\\x1b[31m\\u{202e}evil"), "{err}");
    let (code, _, err) = discrec(&["owner", "emu:a\u{1b}[2Jb"]);
    assert_eq!(code, 64, "{err}");
    assert!(
        err.contains("a\\x1b[2Jb") && !err.contains("\\\\x1b"),
        "{err}"
    );
    let (_, _, err) = discrec(&["owner", "wwid:x\\y"]);
    assert!(
        err.contains("wwid:x\\y") && !err.contains("x\\\\y"),
        "{err}"
    );
}
