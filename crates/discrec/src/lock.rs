//! `discrec lock`: hold exclusive access to a device while a command runs, with `flock(1)`'s
//! option names. It owns the command's lifetime (start, signal forwarding, exit status); it must
//! not print anything on stdout, which belongs to COMMAND.

use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use discrecorder::{AcquireOptions, Acquired, ClaimScope, Error, HResult, Mounted, Recorder, Wait};
use serde::Serialize;

use crate::output::{self, status, Failure, Outcome};

/// Hold exclusive access to DEVICE while COMMAND runs, then release it.
///
/// COMMAND inherits the claim, as with flock(1): the device stays held while any process of the
/// job holds it, also if discrec itself is killed; with -o/--close the device is free the moment
/// discrec dies, even while COMMAND keeps running. A discrec run inside the job nests under its
/// claim. SIGINT, SIGTERM, SIGHUP and SIGQUIT are forwarded to
/// COMMAND. Exits with COMMAND's status (128+N if it died of signal N); 126/127 if it could
/// not be run; 1 (or -E N) if the device is busy or the wait timed out. Unlike flock(1),
/// discrec does not wait unless told to with --wait.
#[derive(clap::Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// The device: a block device path such as /dev/sr0, or emu:NAME.
    device: String,
    /// The client name others see as owner: 1-63 bytes of A-Z a-z 0-9, space and . , : ; _ -
    #[arg(long, short = 'N')]
    name: String,
    /// Unmount file systems of the device first; gain access even if one stays mounted.
    #[arg(long, short = 'f')]
    force: bool,
    /// Wait up to SECS seconds for a busy device (fractions, 0, or inf to wait for ever); the
    /// kernel wakes discrec when the device is freed.
    #[arg(
        long,
        short = 'w',
        value_name = "SECS",
        value_parser = parse_wait,
        allow_hyphen_values = true,
        conflicts_with = "nonblock"
    )]
    wait: Option<Wait>,
    /// Fail at once if the device is busy (the default; for flock(1) users).
    #[arg(long, short = 'n')]
    nonblock: bool,
    /// The exit status when the device is busy or the wait timed out.
    #[arg(
        long = "conflict-exit-code",
        short = 'E',
        value_name = "N",
        default_value_t = status::CONFLICT
    )]
    conflict_exit_code: u8,
    /// Hand-off mode for burners that open the device exclusively themselves (xorriso,
    /// cdrskin, growisofs): publish the name and keep udev and other discrecorder clients
    /// off the device, but leave the kernel's O_EXCL claim and the POSIX lock to COMMAND.
    #[arg(long)]
    handoff: bool,
    /// Do not pass the claim to COMMAND (flock's -o): the device is free the moment discrec
    /// exits or dies, even while COMMAND runs on.
    #[arg(long = "close", short = 'o')]
    close: bool,
    /// Run this shell command line with `sh -c` instead of COMMAND.
    #[arg(
        long = "command",
        short = 'c',
        value_name = "SHELL_COMMAND",
        conflicts_with = "command"
    )]
    shell_command: Option<String>,
    /// Print no notices, and no error when the device is busy or the wait timed out.
    #[arg(long, short = 'q', conflicts_with = "verbose")]
    quiet: bool,
    /// Say on stderr what discrec waits for, and when and how access was gained.
    #[arg(long)]
    verbose: bool,
    /// Eject the medium after COMMAND exits, before releasing the device.
    #[arg(long)]
    eject: bool,
    /// Give up on a drive command (the check that the drive answers, --eject) after SECS
    /// seconds: E_IMAPI_RECORDER_COMMAND_TIMEOUT, exit 74.
    #[arg(long, value_name = "SECS", value_parser = output::parse_timeout)]
    timeout: Option<Duration>,
    /// Words after DEVICE not preceded by `--`: refused with a usage error that says so.
    #[arg(hide = true, num_args = 0.., allow_hyphen_values = true)]
    stray: Vec<String>,
    /// The command to run while holding the device, after `--`.
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<String>,
}

const AFTER_HELP: &str = "\
Examples:
  discrec lock /dev/sr0 -N 'Disc Robot' -- growisofs -Z /dev/sr0=image.iso
  discrec lock /dev/loop0 --name Backup --force -- ./write-image.sh
  discrec lock emu:bay1 -N 'Job 42' --wait 30 -- sleep 5
  discrec lock emu:bay1 -N 'Job 43' -w inf -c 'cp image.iso /srv/burn && ./burn.sh'
  discrec lock /dev/sr0 -N 'Try once' -n -E 75 -- ./burn.sh || echo busy
  discrec lock /dev/sr0 -N 'xorriso job' --handoff -- xorriso -outdev /dev/sr0 -blank as_needed
  discrec lock /dev/sr0 -N 'Detached' -o -- ./spawns-a-daemon.sh   # the daemon gets no claim

Exit status: COMMAND's own; 1 (or -E N) busy or the wait timed out; 64 usage; 66 no such
device; 71 other system error; 74 device I/O error; 77 permission denied; 126/127 COMMAND
could not be run / was not found; 128+N COMMAND died of signal N.";

/// `--wait SECS`: a number of seconds (fractions and 0 allowed) or `inf`.
pub(crate) fn parse_wait(s: &str) -> Result<Wait, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| "give a number of seconds (fractions allowed), 0 or inf".to_owned())?;
    if secs == f64::INFINITY {
        Ok(Wait::Forever)
    } else if secs.is_finite() && secs >= 0.0 {
        Ok(Wait::Timeout(Duration::from_secs_f64(secs.min(1.0e9))))
    } else {
        Err("give a number of seconds, 0 or more, or inf".to_owned())
    }
}

/// Who holds the device and who waits for it, as `discrec owner --json` run in a child process
/// sees it: this process's own table lists the device as ours while it waits, and answers
/// nothing else about it.
fn queue_view(device: &str) -> Option<serde_json::Value> {
    let exe = std::env::current_exe().ok()?;
    let out = Command::new(exe)
        .args(["owner", device, "--json"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    serde_json::from_slice(&out.stdout).ok()
}

/// Says on stderr whom this process waits for (client, PID, since) and how many waiters are
/// ahead of it, again whenever that changes, until `done`.
fn report_waiting(device: &str, done: &std::sync::Mutex<bool>) {
    let me = u64::from(std::process::id());
    let mut last = None;
    loop {
        let now = queue_view(device).and_then(|v| {
            let owner = v.get("owner").filter(|o| !o.is_null())?.clone();
            let queue = v.get("waiting")?.as_array()?.clone();
            let ahead = queue
                .iter()
                .position(|w| w["pid"].as_u64() == Some(me))
                .unwrap_or(queue.len());
            Some((
                owner["name"].as_str().unwrap_or("?").to_owned(),
                owner["pid"].as_i64(),
                owner["since_unix_ms"].as_u64(),
                ahead,
            ))
        });
        {
            let done = done.lock().unwrap_or_else(|e| e.into_inner());
            if *done {
                return;
            }
            if now.is_some() && now != last {
                if let Some((name, pid, since, ahead)) = &now {
                    let pid = pid.map_or_else(|| "?".to_owned(), |p| p.to_string());
                    let since = since.map_or_else(
                        || "an unknown time".to_owned(),
                        |ms| {
                            let secs = ms / 1000 % 86_400;
                            format!(
                                "{:02}:{:02}:{:02} UTC",
                                secs / 3600,
                                secs / 60 % 60,
                                secs % 60
                            )
                        },
                    );
                    output::notice(format_args!(
                        "waiting for {device}: held by \"{}\" (PID {pid}) since {since}; {ahead} waiting ahead of us",
                        discrecorder::sanitize(name)
                    ));
                }
                last = now;
            }
        }
        for _ in 0..10 {
            std::thread::sleep(Duration::from_millis(20));
            if *done.lock().unwrap_or_else(|e| e.into_inner()) {
                return;
            }
        }
    }
}

/// What `lock --json` prints on stderr once access is gained.
#[derive(Serialize)]
struct AcquiredOutput<'a> {
    acquired: AcquiredBody<'a>,
}

#[derive(Serialize)]
struct AcquiredBody<'a> {
    device: &'a str,
    client: &'a str,
    result: &'a Acquired,
}

/// COMMAND as given: after `--`, or `-c` for `sh -c`.
fn command_line(args: &Args) -> Result<Vec<String>, Failure> {
    if let Some(first) = args.stray.first() {
        return Err(Failure::Usage(format!(
            "COMMAND must follow `--`: discrec lock {} [OPTIONS] -- {first} ... \
             (options after DEVICE are discrec's until `--`)",
            args.device
        )));
    }
    match (&args.shell_command, args.command.is_empty()) {
        (Some(line), _) => Ok(vec!["sh".to_owned(), "-c".to_owned(), line.clone()]),
        (None, false) => Ok(args.command.clone()),
        (None, true) => Err(Failure::Usage(
            "no COMMAND: give it after `--`, or a shell command line with -c".to_owned(),
        )),
    }
}

pub fn run(json: bool, args: Args) -> Outcome {
    let command = command_line(&args)?;
    let device = args.device.as_str();
    let name = args.name.as_str();
    let wait = if args.nonblock {
        Wait::Immediately
    } else {
        args.wait.unwrap_or(Wait::Immediately)
    };
    let refused = |err: Error| -> Failure {
        if args.quiet && output::is_conflict(&err) {
            Failure::Silent(args.conflict_exit_code)
        } else {
            Failure::Device {
                err,
                conflict: args.conflict_exit_code,
            }
        }
    };
    // The one place this subcommand calls the library to gain access.
    let opts = AcquireOptions::new()
        .mounted(if args.force {
            Mounted::Unmount
        } else {
            Mounted::Refuse
        })
        .wait(wait)
        .scope(if args.handoff {
            ClaimScope::Handoff
        } else {
            ClaimScope::Full
        });
    let recorder = Recorder::open(device).map_err(refused)?;
    if let Some(t) = args.timeout {
        recorder.set_command_timeout(t);
    }
    if args.verbose && wait != Wait::Immediately {
        output::notice(format_args!(
            "waiting {} for {device}",
            match wait {
                Wait::Timeout(d) => format!("up to {:.3} s", d.as_secs_f64()),
                _ => "for as long as it takes".to_owned(),
            }
        ));
    }
    let asked = Instant::now();
    // While waiting, say whom for and how many are ahead, on stderr: with --verbose, or by
    // default when stderr is a terminal.
    use std::io::IsTerminal;
    let report = wait != Wait::Immediately
        && !args.quiet
        && !json
        && (args.verbose || std::io::stderr().is_terminal());
    let done = std::sync::Mutex::new(false);
    let access = std::thread::scope(|s| {
        if report {
            s.spawn(|| report_waiting(device, &done));
        }
        let got = recorder.lock_with(name, opts);
        *done.lock().unwrap_or_else(|e| e.into_inner()) = true;
        got
    })
    .map_err(refused)?;
    let acquired = access.acquired();
    if json {
        output::eprint_json(&AcquiredOutput {
            acquired: AcquiredBody {
                device,
                client: name,
                result: acquired,
            },
        });
    } else if !args.quiet {
        print_notices(acquired);
    }
    if args.verbose {
        output::notice(format_args!(
            "acquired {device} as \"{name}\" after {:.3} s (mode {}); running {}",
            asked.elapsed().as_secs_f64(),
            format!("{:?}", acquired.mode).to_lowercase(),
            discrecorder::sanitize(&command.join(" "))
        ));
    }
    let (program, command_args) = command
        .split_first()
        .expect("command_line gives at least one word");
    use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
    let signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP, SIGQUIT])
        .map_err(|e| Error::new(HResult::EFail, format!("cannot handle signals: {e}")))?;
    let mut cmd = Command::new(program);
    cmd.args(command_args);
    // By default COMMAND inherits the claim, as with flock(1): the device stays held while any
    // process of the job holds it, also if discrec is killed. -o/--close keeps it out.
    let spawned = if args.close {
        cmd.spawn().map_err(|e| {
            Error::new(HResult::EFail, format!("cannot start the job: {e}")).with_source(e)
        })
    } else {
        access.spawn_job(&mut cmd)
    };
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            let code = if e.raw_os_error() == Some(2) {
                127
            } else {
                126
            };
            drop(access);
            output::print_error(
                json,
                &Error::new(
                    HResult::EFail,
                    format!(
                        "cannot run {program:?}: {}; exclusive access released",
                        e.context()
                    ),
                ),
            );
            return Ok(ExitCode::from(code));
        }
    };
    let forwarder = forward_signals(signals, child.id());
    let status = child.wait();
    // --eject: under the claim still held, after COMMAND and before releasing.
    let ejected = if args.eject {
        access.recorder().eject_media()
    } else {
        Ok(())
    };
    drop(access);
    if let Some(handle) = forwarder {
        handle.close();
    }
    let status =
        status.map_err(|e| Error::new(HResult::EFail, format!("waiting for {program:?}: {e}")))?;
    use std::os::unix::process::ExitStatusExt;
    let code = match (status.code(), status.signal()) {
        (Some(c), _) => c,
        (None, Some(sig)) => 128 + sig,
        (None, None) => 1,
    };
    let code = u8::try_from(code).unwrap_or(1);
    match ejected {
        Ok(()) => Ok(ExitCode::from(code)),
        // COMMAND's failure comes first; else the eject's.
        Err(e) if code != 0 => {
            output::print_error(json, &e);
            Ok(ExitCode::from(code))
        }
        Err(e) => Err(e.into()),
    }
}

fn print_notices(acquired: &Acquired) {
    for point in &acquired.unmounted {
        output::notice(format_args!("unmounted {}", point.display()));
    }
    for w in &acquired.warnings {
        output::notice(format_args!("warning: {w}"));
    }
}

/// Forwards the signals that would end discrec to the child instead; discrec then releases the
/// device when the child exits.
///
/// `signals` is registered before the child is started, so a signal that arrives in between is
/// queued and forwarded, not fatal to discrec (which would orphan the child).
fn forward_signals(
    mut signals: signal_hook::iterator::Signals,
    child: u32,
) -> Option<signal_hook::iterator::backend::Handle> {
    let handle = signals.handle();
    let pid = rustix::process::Pid::from_raw(i32::try_from(child).ok()?)?;
    std::thread::spawn(move || {
        for sig in signals.forever() {
            if let Some(s) = rustix::process::Signal::from_named_raw(sig) {
                let _ = rustix::process::kill_process(pid, s);
            }
        }
    });
    Some(handle)
}
