//! `discrec emu`: create, remove, list and change emulated recorders (`emu:NAME`). It owns the
//! enum-valued options of `emu set` and their mapping onto the emulated drive's state.

use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};
use discrecorder::mmc::emulator::{DriveState, Fault};
use discrecorder::{emu, Error};
use serde::Serialize;

use crate::output::{self, outln, Outcome};

/// Create, remove, list or change emulated recorders (emu:NAME).
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  discrec emu create bay1
  discrec emu set emu:bay1 --medium 0x001A
  discrec emu list
  discrec emu remove emu:bay1")]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Subcommand, Debug)]
enum Action {
    /// Create emu:NAME, private to you (only you can see, use or remove it), or with --shared
    /// in the directory an administrator set up for sharing.
    #[command(after_help = "Files:
  $RUNTIME/discrecorder-emu-UID/NAME   private (directory mode 0700, file 0600)
  $RUNTIME/discrecorder-emu-shared/NAME shared; $RUNTIME is $DISCRECORDER_RUNTIME_DIR or /dev/shm
An administrator enables sharing with a root-owned directory, sticky if others may write it:
  install -d -o root -g cdrom -m 3770 /dev/shm/discrecorder-emu-shared
emu:NAME is your private device if you have one, else the shared one.

Examples:
  discrec emu create bay1
  discrec emu create emu:bay2 --json
  discrec emu create --shared lab1")]
    Create {
        /// emu:NAME or NAME: 1-32 bytes of A-Z a-z 0-9 _ -
        name: String,
        /// Create it in the administrator's shared directory (it must exist and be root's).
        #[arg(long)]
        shared: bool,
    },
    /// Remove emu:NAME; refused while someone holds it (E_ACCESSDENIED naming the holder)
    /// unless --force, after which its holders get ERROR_DEV_NOT_EXIST.
    #[command(after_help = "Examples:
  discrec emu remove bay1
  discrec emu remove --force emu:bay1
  discrec emu list | xargs -n1 discrec emu remove")]
    Remove {
        /// emu:NAME or NAME
        name: String,
        /// Remove it even while someone holds it.
        #[arg(long)]
        force: bool,
    },
    /// List the emulated recorders you can use (yours and the shared ones), one emu:NAME a line.
    #[command(after_help = "Examples:
  discrec emu list
  discrec emu list --json")]
    List,
    /// Change an emulated drive as a person or a fault would: medium, tray, faults.
    #[command(after_help = "Examples:
  discrec emu set bay1 --medium none
  discrec emu set emu:bay1 --medium 0x001A --tray closed
  discrec emu set bay1 --fault hang")]
    Set {
        /// emu:NAME or NAME
        name: String,
        /// Insert a disc of this profile (e.g. 0x0009 CD-R, 0x001A DVD+RW, 0x0041 BD-R) or
        /// remove it (`none`).
        #[arg(long, value_parser = parse_medium)]
        medium: Option<Medium>,
        /// Open or close the tray.
        #[arg(long)]
        tray: Option<Tray>,
        /// Inject a fault.
        #[arg(long)]
        fault: Option<FaultArg>,
    },
    /// Serve emu:NAME as a real SCSI device of this machine (/dev/srN) until SIGINT/SIGTERM:
    /// a TCMU handler behind the kernel's LIO target and its loopback fabric (root; modules
    /// target_core_user and tcm_loop).
    #[command(after_help = "Examples:
  modprobe target_core_user; modprobe tcm_loop
  discrec emu create bay1 && discrec emu serve bay1 &
  sg_inq /dev/sr1; discrec emu set bay1 --fault hang; kill %1")]
    Serve(crate::serve::ServeArgs),
}

/// `--medium`: a profile number, or none.
#[derive(Clone, Copy, Debug)]
enum Medium {
    None,
    Profile(u16),
}

fn parse_medium(s: &str) -> Result<Medium, String> {
    if s == "none" {
        return Ok(Medium::None);
    }
    let hex = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    u16::from_str_radix(hex, 16)
        .map(Medium::Profile)
        .map_err(|_| format!("{s:?}: give a profile number such as 0x0009, or none"))
}

/// `--tray`.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Tray {
    Open,
    Closed,
}

/// `--fault`.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum FaultArg {
    /// Commands complete normally.
    None,
    /// Commands never complete.
    Hang,
    /// The device is gone.
    Vanish,
    /// Responses are malformed.
    Garbage,
}

impl From<FaultArg> for Fault {
    fn from(f: FaultArg) -> Fault {
        match f {
            FaultArg::None => Fault::None,
            FaultArg::Hang => Fault::Hang,
            FaultArg::Vanish => Fault::Vanish,
            FaultArg::Garbage => Fault::Garbage,
        }
    }
}

#[derive(Serialize)]
struct Created {
    created: String,
    /// Whether it was created now (`false`: it existed already).
    new: bool,
}

#[derive(Serialize)]
struct Removed {
    removed: String,
}

#[derive(Serialize)]
struct StateOutput {
    device: String,
    state: DriveState,
}

#[derive(Serialize)]
struct Emulated {
    emulated: Vec<String>,
}

/// An emulated recorder's name as the user gave it: `NAME` or `emu:NAME` (as `emu list` prints).
fn bare(name: &str) -> &str {
    name.strip_prefix("emu:").unwrap_or(name)
}

pub fn run(json: bool, args: Args) -> Outcome {
    match args.action {
        Action::Serve(serve) => return crate::serve::run(json, serve),
        Action::Create { name, shared } => {
            let name = bare(&name);
            let new = if shared {
                emu::create_shared(name)?
            } else {
                emu::create(name)?
            };
            if json {
                output::print_json(&Created {
                    created: format!("emu:{name}"),
                    new,
                })?;
            } else if new {
                outln!("emu:{name} created")?;
            } else {
                outln!("emu:{name} exists already")?;
            }
        }
        Action::Remove { name, force } => {
            let name = bare(&name);
            emu::remove(
                name,
                if force {
                    emu::Removal::EvenIfHeld
                } else {
                    emu::Removal::IfFree
                },
            )?;
            if json {
                output::print_json(&Removed {
                    removed: format!("emu:{name}"),
                })?;
            }
        }
        Action::Set {
            name,
            medium,
            tray,
            fault,
        } => {
            let name = bare(&name);
            let state = set(name, medium, tray, fault)?;
            if json {
                output::print_json(&StateOutput {
                    device: format!("emu:{name}"),
                    state,
                })?;
            } else {
                outln!("emu:{name}: {}", output::to_json(&state))?;
            }
        }
        Action::List => {
            let names: Vec<String> = emu::list()
                .into_iter()
                .map(|n| format!("emu:{n}"))
                .collect();
            if json {
                output::print_json(&Emulated { emulated: names })?;
            } else {
                for n in names {
                    outln!("{n}")?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn set(
    name: &str,
    medium: Option<Medium>,
    tray: Option<Tray>,
    fault: Option<FaultArg>,
) -> Result<DriveState, Error> {
    emu::update(name, |s| {
        match medium {
            Some(Medium::Profile(p)) => s.insert_medium(p),
            Some(Medium::None) => s.remove_medium(),
            None => {}
        }
        if let Some(t) = tray {
            s.tray_open = matches!(t, Tray::Open);
        }
        if let Some(f) = fault {
            s.fault = f.into();
        }
        s.clone()
    })
}
