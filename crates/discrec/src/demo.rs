//! `discrec demo`: the README's main job. The whole exclusive-access lifecycle on an emulated
//! recorder, with real processes: nesting, a second client refused with the owner's name, the
//! holder killed with SIGKILL, and the device re-acquired at once.

use std::io::{BufRead, BufReader};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use discrecorder::{emu, Error, HResult, Recorder};
use serde::Serialize;

use crate::output;

/// Show the whole exclusive-access lifecycle on an emulated recorder, with real processes.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The emulated recorder to use (default: a fresh emu:demo-PID, removed afterwards).
    #[arg(long)]
    device: Option<String>,
}

/// What `demo --json` prints.
#[derive(Serialize)]
struct DemoOutput<'a> {
    device: &'a str,
    ok: bool,
    steps: &'a [Step],
}

#[derive(Serialize)]
struct Step {
    step: u32,
    what: String,
    ok: bool,
    detail: String,
}

struct Report {
    json: bool,
    steps: Vec<Step>,
}

impl Report {
    fn step(&mut self, what: &str, ok: bool, detail: impl Into<String>) {
        let detail = detail.into();
        let n = self.steps.len() as u32 + 1;
        if !self.json {
            let mark = if ok { "ok " } else { "BAD" };
            println!("[{mark}] {n}. {what}");
            for line in detail.lines() {
                println!("         {line}");
            }
        }
        self.steps.push(Step {
            step: n,
            what: what.to_owned(),
            ok,
            detail,
        });
    }
}

fn fail(what: &str) -> Error {
    Error::new(HResult::EFail, format!("demo: {what}"))
}

fn self_exe() -> Result<std::path::PathBuf, Error> {
    std::env::current_exe().map_err(|e| fail(&format!("cannot find own executable: {e}")))
}

/// Runs `discrec ARGS` as another process and returns (exit success, stdout, stderr).
fn discrec(args: &[&str]) -> Result<(bool, String, String), Error> {
    let out = Command::new(self_exe()?)
        .args(args)
        .output()
        .map_err(|e| fail(&format!("cannot run discrec {args:?}: {e}")))?;
    Ok((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim_end().to_owned(),
        String::from_utf8_lossy(&out.stderr).trim_end().to_owned(),
    ))
}

pub fn run(json: bool, args: Args) -> Result<ExitCode, Error> {
    let device = args.device.as_deref();
    let pid = std::process::id();
    let owned_name = format!("demo-{pid}");
    let spec = device.map_or_else(|| format!("emu:{owned_name}"), str::to_owned);
    let mut r = Report {
        json,
        steps: Vec::new(),
    };
    if !json {
        println!("discrecorder demo on {spec} (an emulated recorder: no drive, no root needed)\n");
    }
    let result = lifecycle(&mut r, &spec);
    if device.is_none() {
        let _ = emu::remove(&owned_name);
    }
    result?;
    let all_ok = r.steps.iter().all(|s| s.ok);
    if json {
        output::print_json(&DemoOutput {
            device: &spec,
            ok: all_ok,
            steps: &r.steps,
        });
    } else {
        println!(
            "\n{}",
            if all_ok {
                "Every step behaved as IMAPI2's IDiscRecorder2 specifies."
            } else {
                "Some steps did not behave as specified (marked BAD)."
            }
        );
    }
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn lifecycle(r: &mut Report, spec: &str) -> Result<(), Error> {
    let me = "Demo Burner";
    let rec = Recorder::open(spec)?;

    // 1-2: the lock count.
    for _ in 0..3 {
        rec.acquire_exclusive_access(false, me)?;
    }
    r.step(
        &format!("acquire three times as \"{me}\""),
        rec.lock_count() == 3,
        format!("lock count {}", rec.lock_count()),
    );
    rec.release_exclusive_access()?;
    rec.release_exclusive_access()?;
    r.step(
        "release twice: still held",
        rec.lock_count() == 1,
        format!("lock count {}", rec.lock_count()),
    );

    // 3: another process sees the owner.
    let (ok, seen, err) = discrec(&["owner", spec])?;
    r.step(
        "another process asks `discrec owner`",
        ok && seen == me,
        if ok {
            format!("owner: \"{seen}\"")
        } else {
            err
        },
    );

    // 4: another process is refused, with the owner's name.
    let (ok, _, err) = discrec(&["lock", spec, "--name", "Intruder", "--", "true"])?;
    r.step(
        "another process tries `discrec lock --name Intruder`: refused",
        !ok && err.contains("E_ACCESSDENIED (0x80070005)") && err.contains(me),
        err,
    );

    // 5: release to zero.
    rec.release_exclusive_access()?;
    let (ok, seen, err) = discrec(&["owner", spec])?;
    r.step(
        "release once more: lock count 0, device free",
        ok && seen.is_empty() && rec.lock_count() == 0,
        if ok {
            format!("owner: \"{seen}\" (empty: nobody)")
        } else {
            err
        },
    );
    let again = rec.release_exclusive_access();
    r.step(
        "release at count 0 fails with E_FAIL and changes nothing",
        again.as_ref().is_err_and(|e| e.hresult() == HResult::EFail),
        match again {
            Err(e) => e.to_string(),
            Ok(n) => format!("unexpectedly succeeded, count {n}"),
        },
    );

    // 6: a holder process.
    let holder_name = "Holder Process";
    let mut holder = Command::new(self_exe()?)
        .args([
            "lock",
            spec,
            "--name",
            holder_name,
            "--",
            "sh",
            "-c",
            "echo ready; exec sleep 600",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .process_group(0)
        .spawn()
        .map_err(|e| fail(&format!("cannot start the holder: {e}")))?;
    let holder_pid = holder.id();
    let mut line = String::new();
    if let Some(out) = holder.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    let owner = rec.owner()?;
    r.step(
        &format!(
            "holder process {holder_pid} runs `discrec lock --name \"{holder_name}\" -- sleep 600`"
        ),
        line.trim() == "ready"
            && owner
                .as_ref()
                .is_some_and(|o| o.name == holder_name && o.pid == Some(holder_pid as i32)),
        match &owner {
            Some(o) => format!("owner seen from here: {}", o.describe()),
            None => "no owner seen".to_owned(),
        },
    );

    // 7-8: SIGKILL, then immediate re-acquire.
    let killed_at = Instant::now();
    let _ = holder.kill();
    let _ = holder.wait();
    let result = rec.acquire_exclusive_access(false, me);
    let elapsed = killed_at.elapsed();
    // The holder's command was not given the claim and keeps running; end it now.
    if let Some(pgid) = rustix::process::Pid::from_raw(holder_pid as i32) {
        let _ = rustix::process::kill_process_group(pgid, rustix::process::Signal::TERM);
    }
    r.step(
        &format!("SIGKILL to {holder_pid}, then acquire again at once, with no cleanup step"),
        result.is_ok(),
        match &result {
            Ok(_) => format!(
                "acquired {} µs after the kill (the kernel released every claim when the holder died; its `sleep` child never held it)",
                elapsed.as_micros()
            ),
            Err(e) => e.to_string(),
        },
    );
    if result.is_ok() {
        rec.release_exclusive_access()?;
    }
    Ok(())
}

use std::os::unix::process::CommandExt;
