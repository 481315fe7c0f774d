//! `discrec demo`: the README's main job. The whole exclusive-access lifecycle on an emulated
//! recorder, with real processes: nesting, a second client refused with the owner's name, the
//! holder killed with SIGKILL, and the device re-acquired at once.
//!
//! It owns what it creates: its own `emu:demo-PID` device and the holder's process group, and
//! undoes both however it ends (success, an error, a closed stdout, SIGINT, SIGTERM, SIGHUP).

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode, Stdio};
use std::sync::Mutex;
use std::time::Instant;

use discrecorder::{emu, Error, HResult, Recorder};
use rustix::process::{kill_process, kill_process_group, Pid, Signal};
use serde::Serialize;

use crate::output::{self, outln, Failure, Outcome};

/// Show the whole exclusive-access lifecycle on an emulated recorder, with real processes.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  discrec demo
  discrec demo --json | jq '.steps[] | select(.ok | not)'
  discrec emu create bay1 && discrec demo --device emu:bay1")]
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
    fn step(&mut self, what: &str, ok: bool, detail: impl Into<String>) -> Result<(), Failure> {
        let detail = detail.into();
        let n = self.steps.len() as u32 + 1;
        if !self.json {
            let mark = if ok { "ok " } else { "BAD" };
            outln!("[{mark}] {n}. {what}")?;
            for line in detail.lines() {
                outln!("         {line}")?;
            }
        }
        self.steps.push(Step {
            step: n,
            what: what.to_owned(),
            ok,
            detail,
        });
        Ok(())
    }
}

/// What the demo has created and must undo if it ends early.
struct Leftovers {
    /// Its own emulated device (not one given with --device).
    device: Option<String>,
    /// The holder's process group (`discrec lock` and its command).
    holder: Option<Pid>,
    /// A `discrec` the demo runs and waits for (`owner`, a refused `lock`).
    helper: Option<Pid>,
}

impl Leftovers {
    /// Ends the holder's process group and the helper, and once they are dead (they could
    /// otherwise still open the device) removes the demo's own device.
    fn clean_up(&mut self) {
        let group = self.holder.take();
        let helper = self.helper.take();
        if let Some(group) = group {
            let _ = kill_process_group(group, Signal::KILL);
        }
        if let Some(pid) = helper {
            let _ = kill_process(pid, Signal::KILL);
        }
        for pid in group.into_iter().chain(helper) {
            wait_until_dead(pid);
        }
        if let Some(name) = self.device.take() {
            // Its holders are dead or dying: a dying one may still hold the flock a moment.
            let _ = emu::remove(&name, emu::Removal::EvenIfHeld);
        }
    }
}

/// Waits (up to a second) until `pid`, just sent SIGKILL, is a zombie or gone. Its parent may
/// be another thread of ours, so this reads `/proc` instead of reaping it.
fn wait_until_dead(pid: Pid) {
    let stat = format!("/proc/{}/stat", pid.as_raw_nonzero());
    for _ in 0..1000 {
        let dead = std::fs::read_to_string(&stat).map_or(true, |s| {
            s.rsplit_once(") ")
                .is_none_or(|(_, rest)| rest.starts_with('Z') || rest.starts_with('X'))
        });
        if dead {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// Shared with the signal thread, which cleans up while holding it and then dies of the signal,
/// so the main thread can never create something after the cleanup.
static LEFTOVERS: Mutex<Leftovers> = Mutex::new(Leftovers {
    device: None,
    holder: None,
    helper: None,
});

fn leftovers() -> std::sync::MutexGuard<'static, Leftovers> {
    LEFTOVERS.lock().unwrap_or_else(|p| p.into_inner())
}

/// On SIGINT, SIGTERM or SIGHUP: clean up, then die of the signal as if it had not been caught.
fn clean_up_on_signals() -> Result<signal_hook::iterator::backend::Handle, Error> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
        .map_err(|e| fail(&format!("cannot handle signals: {e}")))?;
    let handle = signals.handle();
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            let mut held = leftovers();
            held.clean_up();
            let _ = signal_hook::low_level::emulate_default_handler(sig);
            std::process::exit(128 + sig);
        }
    });
    Ok(handle)
}

fn fail(what: &str) -> Error {
    Error::new(HResult::EFail, format!("demo: {what}"))
}

fn self_exe() -> Result<std::path::PathBuf, Error> {
    std::env::current_exe().map_err(|e| fail(&format!("cannot find own executable: {e}")))
}

/// Runs `discrec ARGS` as another process and returns (exit success, stdout, stderr).
fn discrec(args: &[&str]) -> Result<(bool, String, String), Error> {
    let exe = self_exe()?;
    let mut held = leftovers();
    let child = Command::new(exe)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(&format!("cannot run discrec {args:?}: {e}")))?;
    held.helper = Pid::from_raw(child.id() as i32);
    drop(held);
    let out = child.wait_with_output();
    leftovers().helper = None;
    let out = out.map_err(|e| fail(&format!("cannot run discrec {args:?}: {e}")))?;
    Ok((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim_end().to_owned(),
        String::from_utf8_lossy(&out.stderr).trim_end().to_owned(),
    ))
}

pub fn run(json: bool, args: Args) -> Outcome {
    let owned = args
        .device
        .is_none()
        .then(|| format!("demo-{}", std::process::id()));
    let spec = match (&args.device, &owned) {
        (Some(d), _) => d.clone(),
        (None, Some(name)) => format!("emu:{name}"),
        (None, None) => unreachable!("owned is Some when no device is given"),
    };
    let signals = clean_up_on_signals()?;
    if let Some(name) = &owned {
        let mut held = leftovers();
        emu::create(name)?;
        held.device = Some(name.clone());
    }
    let mut r = Report {
        json,
        steps: Vec::new(),
    };
    let result = (|| {
        if !json {
            outln!(
                "discrecorder demo on {spec} (an emulated recorder: no drive, no root needed)\n"
            )?;
        }
        lifecycle(&mut r, &spec)
    })();
    leftovers().clean_up();
    signals.close();
    result?;
    let all_ok = r.steps.iter().all(|s| s.ok);
    if json {
        output::print_json(&DemoOutput {
            device: &spec,
            ok: all_ok,
            steps: &r.steps,
        })?;
    } else {
        outln!(
            "\n{}",
            if all_ok {
                "Every step behaved as IMAPI2's IDiscRecorder2 specifies."
            } else {
                "Some steps did not behave as specified (marked BAD)."
            }
        )?;
    }
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn lifecycle(r: &mut Report, spec: &str) -> Result<(), Failure> {
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
    )?;
    rec.release_exclusive_access()?;
    rec.release_exclusive_access()?;
    r.step(
        "release twice: still held",
        rec.lock_count() == 1,
        format!("lock count {}", rec.lock_count()),
    )?;

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
    )?;

    // 4: another process is refused, with the owner's name.
    let (ok, _, err) = discrec(&["lock", spec, "--name", "Intruder", "--", "true"])?;
    r.step(
        "another process tries `discrec lock --name Intruder`: refused",
        !ok && err.contains("E_ACCESSDENIED (0x80070005)") && err.contains(me),
        err,
    )?;

    // 5: release to zero.
    rec.release_exclusive_access()?;
    let (ok, seen, err) = discrec(&["owner", spec])?;
    r.step(
        "release once more: lock count 0, device free",
        ok && seen.is_empty() && rec.lock_count() == 0,
        if ok {
            format!("owner: \"{seen}\" ({})", crate::output::FREE)
        } else {
            err
        },
    )?;
    let again = rec.release_exclusive_access();
    r.step(
        "release at count 0 fails with E_FAIL and changes nothing",
        again.as_ref().is_err_and(|e| e.hresult() == HResult::EFail),
        match again {
            Err(e) => e.to_string(),
            Ok(n) => format!("unexpectedly succeeded, count {n}"),
        },
    )?;

    // 6: a holder process.
    let holder_name = "Holder Process";
    let exe = self_exe()?;
    let mut held = leftovers();
    let mut holder = Command::new(exe)
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
    held.holder = Pid::from_raw(holder_pid as i32);
    drop(held);
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
    )?;

    // 7: SIGKILL to discrec: its job inherited the claim (as with flock(1)) and holds it on.
    let _ = holder.kill();
    let _ = holder.wait();
    let owner = rec.owner()?;
    r.step(
        &format!("SIGKILL to {holder_pid}: its job (`sleep`) inherited the claim and holds it on"),
        owner.as_ref().is_some_and(|o| {
            o.name == holder_name && o.pid.is_some_and(|p| p != holder_pid as i32)
        }),
        match &owner {
            Some(o) => format!("owner seen from here: {}", o.describe()),
            None => "no owner seen: the job lost the claim".to_owned(),
        },
    )?;

    // 8: SIGKILL to the job: the last holder is gone, the device is free at once.
    let killed_at = Instant::now();
    if let Some(group) = leftovers().holder.take() {
        let _ = kill_process_group(group, Signal::KILL);
    }
    let result = rec.acquire_with(
        me,
        discrecorder::AcquireOptions::new().wait(discrecorder::Wait::Timeout(
            std::time::Duration::from_secs(5),
        )),
    );
    let elapsed = killed_at.elapsed();
    r.step(
        "SIGKILL to the job, then acquire again, woken by the kernel, with no cleanup step",
        result.is_ok(),
        match &result {
            Ok(_) => format!(
                "acquired {} µs after the kill (the kernel released every claim when the last holder died)",
                elapsed.as_micros()
            ),
            Err(e) => e.to_string(),
        },
    )?;
    if result.is_ok() {
        rec.release_exclusive_access()?;
    }
    Ok(())
}
