//! `discrec lock`: hold exclusive access to a device while a command runs. It owns the command's
//! lifetime (start, signal forwarding, exit status); it must not print anything on stdout, which
//! belongs to COMMAND.

use std::process::{Command, ExitCode};
use std::time::Duration;

use discrecorder::{AcquireOptions, Acquired, Error, HResult, Recorder, Wait};
use serde::Serialize;

use crate::output;

/// Hold exclusive access to DEVICE while COMMAND runs, then release it.
///
/// COMMAND never inherits the claim: if discrec itself is killed, the device is free at once
/// even while COMMAND keeps running. SIGINT, SIGTERM, SIGHUP and SIGQUIT are forwarded to
/// COMMAND. Exits with COMMAND's status (128+N if it died of signal N); 126/127 if it could
/// not be run; 1 if access could not be gained.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  discrec lock /dev/sr0 --name 'Disc Robot' -- growisofs -Z /dev/sr0=image.iso
  discrec lock /dev/loop0 --name Backup --force -- ./write-image.sh
  discrec lock emu:bay1 --name 'Job 42' --wait 30 -- sleep 5
  discrec lock /dev/sr0 --name 'xorriso job' --handoff -- xorriso -outdev /dev/sr0 -blank as_needed")]
pub struct Args {
    /// The device: a block device path such as /dev/sr0, or emu:NAME.
    device: String,
    /// The client name others see as owner: 1-63 bytes of A-Z a-z 0-9, space and . , : ; _ -
    #[arg(long, short = 'n')]
    name: String,
    /// Unmount file systems of the device first; gain access even if one stays mounted.
    #[arg(long, short = 'f')]
    force: bool,
    /// Wait up to SECS seconds for a busy device (woken by the kernel when it is freed).
    #[arg(long, short = 'w', value_name = "SECS")]
    wait: Option<f64>,
    /// Hand-off mode for burners that open the device exclusively themselves (xorriso,
    /// cdrskin, growisofs): publish the name and keep udev and other discrecorder clients
    /// off the device, but leave the kernel's O_EXCL claim and the POSIX lock to COMMAND.
    #[arg(long)]
    handoff: bool,
    /// The command to run while holding the device, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    command: Vec<String>,
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

fn parse_wait(wait: Option<f64>) -> Result<Wait, Error> {
    match wait {
        None => Ok(Wait::Immediately),
        Some(s) if s.is_finite() && s >= 0.0 => {
            Ok(Wait::Timeout(Duration::from_secs_f64(s.min(1.0e9))))
        }
        Some(s) if s == f64::INFINITY => Ok(Wait::Forever),
        Some(s) => Err(Error::new(
            HResult::EInvalidArg,
            format!("--wait {s}: give a number of seconds, 0 or more"),
        )),
    }
}

pub fn run(json: bool, args: Args) -> Result<ExitCode, Error> {
    let wait = parse_wait(args.wait)?;
    let (program, command_args) = args
        .command
        .split_first()
        .ok_or_else(|| Error::new(HResult::EInvalidArg, "no COMMAND given after --"))?;
    let device = args.device.as_str();
    let name = args.name.as_str();
    // The one place this subcommand calls the library to gain access.
    let opts = AcquireOptions {
        force: args.force,
        wait,
        handoff: args.handoff,
    };
    let recorder = Recorder::open(device)?;
    let access = recorder.lock_with(name, opts)?;
    let acquired = access.acquired();
    if json {
        output::eprint_json(&AcquiredOutput {
            acquired: AcquiredBody {
                device,
                client: name,
                result: acquired,
            },
        });
    } else {
        print_notices(acquired);
    }
    use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
    let signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP, SIGQUIT])
        .map_err(|e| Error::new(HResult::EFail, format!("cannot handle signals: {e}")))?;
    let mut child = match Command::new(program).args(command_args).spawn() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            };
            drop(access);
            output::print_error(
                json,
                &Error::new(
                    HResult::EFail,
                    format!("cannot run {program:?}: {e}; exclusive access released"),
                ),
            );
            return Ok(ExitCode::from(code));
        }
    };
    let forwarder = forward_signals(signals, child.id());
    let status = child.wait();
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
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}

fn print_notices(acquired: &Acquired) {
    for point in &acquired.unmounted {
        eprintln!("discrec: unmounted {}", point.display());
    }
    for w in &acquired.warnings {
        eprintln!("discrec: warning: {w}");
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
