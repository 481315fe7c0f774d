//! `discrec`: the command-line front end of discrecorder.
//!
//! Thin by design: it parses arguments, calls the library and prints. Every error is printed on
//! one line as `NAME (0xXXXXXXXX): meaning: context` (or as JSON with `--json`) and gives a
//! non-zero exit.

mod demo;
mod info;

use std::io::Write;
use std::process::{Command, ExitCode};
use std::time::Duration;

use clap::{Parser, Subcommand};
use discrecorder::{
    emu, AcquireOptions, ClaimScope, Error, HResult, Mounted, Owner, Recorder, Wait,
};
use serde::Serialize;

const EXAMPLES: &str = "\
Examples:
  discrec demo                                   the whole lifecycle on an emulated recorder
  discrec lock /dev/sr0 --name 'Disc Robot' -- dd if=image.iso of=/dev/sr0
  discrec lock /dev/sr0 --name 'Nightly Backup' --wait 60 -- ./burn.sh
  discrec lock /dev/sr0 --name 'xorriso job' --handoff -- xorriso -outdev /dev/sr0 -toc
  discrec owner /dev/sr0
  discrec owner emu:bay1 --json
  discrec emu create bay1";

/// Exclusive, named, crash-proof access to optical disc recorders and block devices.
#[derive(Parser, Debug)]
#[command(name = "discrec", version, after_help = EXAMPLES)]
struct Cli {
    /// Print results and errors as JSON.
    #[arg(long, global = true)]
    json: bool,

    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Hold exclusive access to DEVICE while COMMAND runs, then release it.
    ///
    /// COMMAND never inherits the claim: if discrec itself is killed, the device is free at once
    /// even while COMMAND keeps running. SIGINT, SIGTERM, SIGHUP and SIGQUIT are forwarded to
    /// COMMAND. Exits with COMMAND's status (128+N if it died of signal N); 126/127 if it could
    /// not be run; 1 if access could not be gained.
    #[command(after_help = "Examples:
  discrec lock /dev/sr0 --name 'Disc Robot' -- growisofs -Z /dev/sr0=image.iso
  discrec lock /dev/loop0 --name Backup --force -- ./write-image.sh
  discrec lock emu:bay1 --name 'Job 42' --wait 30 -- sleep 5
  discrec lock /dev/sr0 --name 'xorriso job' --handoff -- xorriso -outdev /dev/sr0 -blank as_needed")]
    Lock {
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
    },
    /// Show who holds DEVICE: a client name, a program, or a mount point (empty when free).
    #[command(after_help = "Examples:
  discrec owner /dev/sr0
  discrec owner emu:bay1 --json")]
    Owner {
        /// The device: a block device path such as /dev/sr0, or emu:NAME.
        device: String,
    },
    /// List every recorder on the machine: optical drives and emulated recorders.
    #[command(after_help = "Examples:
  discrec list
  discrec list --json")]
    List,
    /// Show everything about one recorder: identity, profiles, features, mode pages, tray,
    /// medium, mounts and owner.
    #[command(after_help = "Examples:
  discrec info /dev/sr0
  discrec info emu:bay1 --json
  discrec info wwid:naa.5000c500a1b2c3d4")]
    Info {
        /// The device: /dev/srN, emu:NAME, or a recorder id from `discrec list`.
        device: String,
    },
    /// Open the tray (refused with E_IMAPI_RECORDER_LOCKED while another client holds it).
    Eject {
        /// The device: /dev/srN, emu:NAME, or a recorder id.
        device: String,
        /// The client name to publish while ejecting.
        #[arg(long, short = 'n', default_value = "discrec eject")]
        name: String,
    },
    /// Close the tray (refused with E_IMAPI_RECORDER_LOCKED while another client holds it).
    CloseTray {
        /// The device: /dev/srN, emu:NAME, or a recorder id.
        device: String,
        /// The client name to publish while closing.
        #[arg(long, short = 'n', default_value = "discrec close-tray")]
        name: String,
    },
    /// Show the whole exclusive-access lifecycle on an emulated recorder, with real processes.
    Demo {
        /// The emulated recorder to use (default: a fresh emu:demo-PID, removed afterwards).
        #[arg(long)]
        device: Option<String>,
    },
    /// Create, remove or list emulated recorders (emu:NAME).
    Emu {
        #[command(subcommand)]
        action: EmuCmd,
    },
}

#[derive(Subcommand, Debug)]
enum EmuCmd {
    /// Create emu:NAME (recorders also create it on first use).
    Create {
        /// 1-32 bytes of A-Z a-z 0-9 _ -
        name: String,
    },
    /// Remove emu:NAME; recorders on it then get ERROR_DEV_NOT_EXIST.
    Remove {
        /// The name, without emu:
        name: String,
    },
    /// List the emulated recorders that exist.
    List,
    /// Change an emulated drive as a person or a fault would: medium, tray, faults.
    #[command(after_help = "Examples:
  discrec emu set bay1 --medium none
  discrec emu set bay1 --medium 0x001A --tray closed
  discrec emu set bay1 --fault hang")]
    Set {
        /// The name, without emu:
        name: String,
        /// Insert a disc of this profile (e.g. 0x0009 CD-R, 0x001A DVD+RW, 0x0041 BD-R) or
        /// remove it (`none`).
        #[arg(long)]
        medium: Option<String>,
        /// Open or close the tray.
        #[arg(long, value_parser = ["open", "closed"])]
        tray: Option<String>,
        /// Inject a fault: none, hang (commands never complete), vanish (the device is gone),
        /// garbage (malformed responses).
        #[arg(long, value_parser = ["none", "hang", "vanish", "garbage"])]
        fault: Option<String>,
    },
}

/// An error of discrec itself, as printed.
#[derive(Serialize)]
struct JsonError<'a> {
    hresult: String,
    name: &'a str,
    meaning: &'a str,
    context: &'a str,
}

fn print_error(json: bool, err: &Error) {
    let mut stderr = std::io::stderr().lock();
    if json {
        let e = JsonError {
            hresult: format!("0x{:08X}", err.code()),
            name: err.name(),
            meaning: err.meaning(),
            context: err.context(),
        };
        let _ = writeln!(stderr, "{}", serde_json::json!({ "error": e }));
    } else {
        let _ = writeln!(stderr, "{err}");
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            print_error(json, &err);
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, Error> {
    match cli.command {
        Cmd::Lock {
            device,
            name,
            force,
            wait,
            handoff,
            command,
        } => lock(cli.json, &device, &name, force, wait, handoff, &command),
        Cmd::Owner { device } => owner(cli.json, &device),
        Cmd::List => info::list(cli.json),
        Cmd::Info { device } => info::info(cli.json, &device),
        Cmd::Eject { device, name } => info::tray(cli.json, &device, &name, true),
        Cmd::CloseTray { device, name } => info::tray(cli.json, &device, &name, false),
        Cmd::Demo { device } => demo::run(cli.json, device.as_deref()),
        Cmd::Emu { action } => emu_cmd(cli.json, action),
    }
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

fn lock(
    json: bool,
    device: &str,
    name: &str,
    force: bool,
    wait: Option<f64>,
    handoff: bool,
    command: &[String],
) -> Result<ExitCode, Error> {
    let opts = AcquireOptions::new()
        .mounted(if force {
            Mounted::Unmount
        } else {
            Mounted::Refuse
        })
        .wait(parse_wait(wait)?)
        .scope(if handoff {
            ClaimScope::Handoff
        } else {
            ClaimScope::Full
        });
    let recorder = Recorder::open(device)?;
    let access = recorder.lock_with(name, opts)?;
    let acquired = access.acquired();
    if json {
        eprintln!(
            "{}",
            serde_json::json!({ "acquired": { "device": device, "client": name, "result": acquired } })
        );
    } else {
        for point in &acquired.unmounted {
            eprintln!("discrec: unmounted {}", point.display());
        }
        for w in &acquired.warnings {
            eprintln!("discrec: warning: {w}");
        }
    }
    let (program, args) = command
        .split_first()
        .ok_or_else(|| Error::new(HResult::EInvalidArg, "no COMMAND given after --"))?;
    use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
    let signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP, SIGQUIT])
        .map_err(|e| Error::new(HResult::EFail, format!("cannot handle signals: {e}")))?;
    let mut child = match Command::new(program).args(args).spawn() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            };
            drop(access);
            print_error(
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

#[derive(Serialize)]
struct OwnerOutput<'a> {
    device: &'a str,
    owner: Option<Owner>,
}

fn owner(json: bool, device: &str) -> Result<ExitCode, Error> {
    let recorder = Recorder::open(device)?;
    let owner = recorder.owner()?;
    if json {
        println!(
            "{}",
            serde_json::to_string(&OwnerOutput { device, owner })
                .map_err(|e| Error::new(HResult::EFail, format!("cannot encode JSON: {e}")))?
        );
    } else if let Some(o) = owner {
        println!("{}", o.name);
    } else {
        println!();
    }
    Ok(ExitCode::SUCCESS)
}

fn emu_cmd(json: bool, action: EmuCmd) -> Result<ExitCode, Error> {
    match action {
        EmuCmd::Create { name } => {
            let new = emu::create(&name)?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "created": format!("emu:{name}"), "new": new })
                );
            } else if new {
                println!("emu:{name} created");
            } else {
                println!("emu:{name} exists already");
            }
        }
        EmuCmd::Remove { name } => {
            emu::remove(&name)?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "removed": format!("emu:{name}") })
                );
            }
        }
        EmuCmd::Set {
            name,
            medium,
            tray,
            fault,
        } => {
            let state = info::emu_set(&name, medium.as_deref(), tray.as_deref(), fault.as_deref())?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "device": format!("emu:{name}"), "state": state })
                );
            } else {
                println!(
                    "emu:{name}: {}",
                    serde_json::to_string(&state).unwrap_or_default()
                );
            }
        }
        EmuCmd::List => {
            let names: Vec<String> = emu::list()
                .into_iter()
                .map(|n| format!("emu:{n}"))
                .collect();
            if json {
                println!("{}", serde_json::json!({ "emulated": names }));
            } else {
                for n in names {
                    println!("{n}");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
