//! `discrec emu`: create, remove, list, show and change emulated recorders (`emu:NAME`). It
//! owns the options of `emu set` (medium by profile name or number, blank disc, capacity,
//! write protect, faults) and their mapping onto the emulated drive's state, and the medium
//! summary `emu show` prints; what the drive does with that state is the library's.

use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};
use discrecorder::emu;
use discrecorder::mmc::configuration::Profile;
use discrecorder::mmc::disc::{DiscStatus, SessionState};
use discrecorder::mmc::emulator::{DriveState, Fault, RecordingFaults, Trigger, TriggerAt};
use discrecorder::mmc::medium::{self, MediumKind, Track};
use serde::Serialize;

use crate::output::{self, outln, Failure, Outcome};

/// Create, remove, list or change emulated recorders (emu:NAME).
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  discrec emu create bay1
  discrec emu set emu:bay1 --medium DVD+R --blank
  discrec emu show bay1 --json
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
    /// Change an emulated drive as a person or a fault would: medium, tray, write protect,
    /// faults.
    #[command(
        after_help = "Media (a name as discrec prints it, case-insensitive, or a profile number):
  CD-R 0x09  CD-RW 0x0A  DVD-R 0x11  DVD-RW 0x14 (sequential)  DVD-RW-RO 0x13 (restricted
  overwrite)  DVD+RW 0x1A  DVD+R 0x1B  DVD+R-DL 0x2B  BD-R 0x41  BD-RE 0x43  CD-ROM 0x08
  DVD-ROM 0x10  BD-ROM 0x40  none
A disc put in is blank (DVD+RW and BD-RE unformatted), and the drive learns to support its
profile if it is one of those above (any other number makes an incompatible disc). --blank
replaces the disc in the drive with a blank one. --capacity 0 gives the real disc's size
(CD 359847, DVD 2295104, DVD+R DL 4173824, BD 12219392 sectors).

Faults:
  hang, vanish, garbage     now, or armed with --at-command N (the Nth command from now)
                            or --at-opcode 0xNN (the first command with that opcode)
  medium-error --lba N      WRITE touching sector N fails: MEDIUM ERROR 3/0C/00
  long-write --count K      SYNCHRONIZE CACHE / TEST UNIT READY: NOT READY 2/04/08, K times
  corrupt --lba N           sector N reads back different from what was written
  power-loss                sectors written since the last SYNCHRONIZE CACHE are lost
  none                      clear every fault

Examples:
  discrec emu set bay1 --medium DVD+R --blank
  discrec emu set emu:bay1 --medium 0x001A --tray closed
  discrec emu set bay1 --medium BD-R --capacity 100000
  discrec emu set bay1 --write-protect on
  discrec emu set bay1 --fault medium-error --lba 1000
  discrec emu set bay1 --fault hang --at-opcode 0x2A
  discrec emu set bay1 --fault vanish --at-command 50
  discrec emu set bay1 --medium none"
    )]
    Set {
        /// emu:NAME or NAME
        name: String,
        /// Insert a disc of this profile (a name such as DVD+R or BD-R, or a number such as
        /// 0x001B) or remove it (`none`).
        #[arg(long, value_parser = parse_medium)]
        medium: Option<Medium>,
        /// Replace the disc in the drive (or the one --medium inserts) with a blank one.
        #[arg(long)]
        blank: bool,
        /// Capacity of the disc in 2048-byte sectors (0: the real disc's).
        #[arg(long, value_name = "SECTORS")]
        capacity: Option<u32>,
        /// Open or close the tray.
        #[arg(long)]
        tray: Option<Tray>,
        /// Write-protect the disc (WRITE, BLANK, FORMAT UNIT fail with DATA PROTECT 7/27/00).
        #[arg(long, value_name = "on|off", value_parser = parse_on_off)]
        write_protect: Option<bool>,
        /// Inject a fault (see below).
        #[arg(long)]
        fault: Option<FaultArg>,
        /// The sector of --fault medium-error or corrupt.
        #[arg(long, value_name = "N")]
        lba: Option<u32>,
        /// How many polls --fault long-write lasts.
        #[arg(long, value_name = "K")]
        count: Option<u32>,
        /// Arm --fault hang|vanish|garbage to start at the Nth command from now (1: the next).
        #[arg(long, value_name = "N", conflicts_with = "at_opcode")]
        at_command: Option<u32>,
        /// Arm --fault hang|vanish|garbage to start at the first command with this opcode.
        #[arg(long, value_name = "0xNN", value_parser = parse_opcode)]
        at_opcode: Option<u8>,
    },
    /// Serve emu:NAME as a real SCSI device of this machine (/dev/srN) until SIGINT/SIGTERM:
    /// a TCMU handler behind the kernel's LIO target and its loopback fabric (root; modules
    /// target_core_user and tcm_loop).
    #[command(after_help = "Examples:
  modprobe target_core_user; modprobe tcm_loop
  discrec emu create bay1 && discrec emu serve bay1 &
  sg_inq /dev/sr1; discrec emu set bay1 --fault hang; kill %1")]
    Serve(crate::serve::ServeArgs),
    /// Show an emulated drive's state and its disc's layout (status, sessions, tracks, next
    /// writable address, free sectors).
    #[command(after_help = "Examples:
  discrec emu show bay1
  discrec emu show emu:bay1 --json")]
    Show {
        /// emu:NAME or NAME
        name: String,
    },
}

/// The profile a name or number on the command line means.
fn profile_code(s: &str) -> Option<u16> {
    let hex = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"));
    if let Some(h) = hex {
        return u16::from_str_radix(h, 16).ok();
    }
    if s.bytes().all(|b| b.is_ascii_hexdigit()) && s.bytes().any(|b| b.is_ascii_digit()) {
        return u16::from_str_radix(s, 16).ok();
    }
    let wanted = s.to_ascii_uppercase();
    let alias = match wanted.as_str() {
        "BD-R" | "BD-R SRM" => Some(0x0041),
        "DVD-R" => Some(0x0011),
        "DVD-RW" => Some(0x0014),
        "DVD-RW-RO" | "DVD-RW RO" => Some(0x0013),
        "DVD-R DL" => Some(0x0015),
        "DVD+R DL" | "DVD+R-DL" => Some(0x002B),
        _ => None,
    };
    alias.or_else(|| {
        (0u16..=0x0060)
            .chain([0xFFFF])
            .find(|&p| Profile(p).name().is_some_and(|n| n.eq_ignore_ascii_case(s)))
    })
}

fn parse_on_off(s: &str) -> Result<bool, String> {
    match s {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(format!("{s:?}: give on or off")),
    }
}

fn parse_opcode(s: &str) -> Result<u8, String> {
    let hex = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    u8::from_str_radix(hex, 16).map_err(|_| format!("{s:?}: give an operation code such as 0x2A"))
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
    profile_code(s).map(Medium::Profile).ok_or_else(|| {
        format!(
            "{s:?}: give a profile name such as DVD+R or BD-R, a number such as 0x001B, or none"
        )
    })
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
    /// WRITE touching sector --lba fails with a medium error.
    MediumError,
    /// SYNCHRONIZE CACHE reports a long write in progress --count times.
    LongWrite,
    /// Sector --lba reads back different from what was written.
    Corrupt,
    /// The power fails: unsynchronized sectors are lost.
    PowerLoss,
}

/// The changes `emu set` makes, checked against each other before any is made.
#[derive(Debug, Default)]
struct Changes {
    medium: Option<Medium>,
    blank: bool,
    capacity: Option<u32>,
    tray: Option<Tray>,
    write_protect: Option<bool>,
    fault: Option<FaultArg>,
    lba: Option<u32>,
    count: Option<u32>,
    at: Option<TriggerAt>,
}

impl Changes {
    /// Refuses options that do not go together (a usage error, exit 64).
    fn check(&self) -> Result<(), Failure> {
        let usage = |m: &str| Err(Failure::Usage(m.to_owned()));
        let fault = self.fault;
        let needs_lba = matches!(fault, Some(FaultArg::MediumError | FaultArg::Corrupt));
        if needs_lba != self.lba.is_some() {
            return usage(
                "--lba goes with --fault medium-error or --fault corrupt, and they need it",
            );
        }
        if matches!(fault, Some(FaultArg::LongWrite)) != self.count.is_some() {
            return usage("--count goes with --fault long-write, and it needs it");
        }
        let armable = matches!(
            fault,
            Some(FaultArg::Hang | FaultArg::Vanish | FaultArg::Garbage)
        );
        if self.at.is_some() && !armable {
            return usage("--at-command and --at-opcode arm --fault hang, vanish or garbage");
        }
        if self.at == Some(TriggerAt::Command(0)) {
            return usage("--at-command counts from 1 (the next command)");
        }
        Ok(())
    }

    fn apply(&self, s: &mut DriveState) {
        if let Some(c) = self.capacity {
            s.disc.capacity = c;
        }
        match self.medium {
            Some(Medium::Profile(p)) => {
                // A disc the emulator models needs a drive that supports it.
                if medium::MODELED_PROFILES.contains(&p) {
                    s.support_profile(p);
                }
                s.insert_medium(p)
            }
            Some(Medium::None) => s.remove_medium(),
            None if self.blank => s.blank_medium(),
            None => {}
        }
        if let Some(t) = self.tray {
            s.tray_open = matches!(t, Tray::Open);
        }
        if let Some(w) = self.write_protect {
            s.write_protected = w;
        }
        let simple = |f: FaultArg| match f {
            FaultArg::Hang => Fault::Hang,
            FaultArg::Vanish => Fault::Vanish,
            FaultArg::Garbage => Fault::Garbage,
            _ => Fault::None,
        };
        match self.fault {
            None => {}
            Some(FaultArg::None) => {
                s.fault = Fault::None;
                s.faults = RecordingFaults::default();
            }
            Some(f @ (FaultArg::Hang | FaultArg::Vanish | FaultArg::Garbage)) => match self.at {
                Some(at) => {
                    s.faults.trigger = Some(Trigger {
                        fault: simple(f),
                        at,
                    })
                }
                None => s.fault = simple(f),
            },
            Some(FaultArg::MediumError) => s.faults.medium_error_lba = self.lba,
            Some(FaultArg::Corrupt) => s.faults.corrupt_lba = self.lba,
            Some(FaultArg::LongWrite) => s.faults.long_write_polls = self.count.unwrap_or(0),
            Some(FaultArg::PowerLoss) => s.power_loss(),
        }
    }
}

/// The disc as `emu show` describes it.
#[derive(Serialize)]
struct MediumView {
    /// Profile number, `0x001B`.
    profile: String,
    /// Profile name as discrec prints it.
    name: String,
    /// blank, incomplete (a session open), appendable, complete, formatted, unformatted or
    /// read-only.
    status: &'static str,
    write_protected: bool,
    capacity: u32,
    /// Sessions closed.
    sessions: u16,
    /// Next writable address (sequential media that can take more).
    nwa: Option<u32>,
    /// Sectors left after the NWA.
    free: Option<u32>,
    tracks: Vec<Track>,
}

fn medium_view(s: &DriveState) -> Option<MediumView> {
    let p = Profile(s.medium?);
    let disc = &s.disc;
    let capacity = disc.capacity(p);
    let k = medium::kind(p);
    let status = match (k, disc.status(p)) {
        (MediumKind::ReadOnly, _) => "read-only",
        (MediumKind::Random, (DiscStatus::Blank, _)) => "unformatted",
        (MediumKind::Random, _) => "formatted",
        (_, (DiscStatus::Blank, _)) => "blank",
        (_, (DiscStatus::Incomplete, SessionState::Incomplete)) => "incomplete",
        (_, (DiscStatus::Incomplete, _)) => "appendable",
        _ => "complete",
    };
    let writable = matches!(k, MediumKind::Sequential { .. }) && !disc.finalized;
    let nwa = writable.then(|| disc.next_writable_address(p));
    Some(MediumView {
        profile: format!("0x{:04X}", p.0),
        name: p.name().unwrap_or("unknown").to_owned(),
        status,
        write_protected: s.write_protected,
        capacity,
        sessions: disc.closed_sessions,
        nwa,
        free: nwa.map(|n| capacity.saturating_sub(n)),
        tracks: disc.tracks.clone(),
    })
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
struct ShowOutput {
    device: String,
    medium: Option<MediumView>,
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
            blank,
            capacity,
            tray,
            write_protect,
            fault,
            lba,
            count,
            at_command,
            at_opcode,
        } => {
            let name = bare(&name);
            let changes = Changes {
                medium,
                blank,
                capacity,
                tray,
                write_protect,
                fault,
                lba,
                count,
                at: at_command
                    .map(TriggerAt::Command)
                    .or(at_opcode.map(TriggerAt::Opcode)),
            };
            changes.check()?;
            let state = emu::update(name, |s| {
                changes.apply(s);
                s.clone()
            })?;
            if json {
                output::print_json(&StateOutput {
                    device: format!("emu:{name}"),
                    state,
                })?;
            } else {
                outln!("emu:{name}: {}", output::to_json(&state))?;
            }
        }
        Action::Show { name } => {
            let name = bare(&name);
            let state = emu::update(name, |s| s.clone())?;
            let medium = medium_view(&state);
            if json {
                output::print_json(&ShowOutput {
                    device: format!("emu:{name}"),
                    medium,
                    state,
                })?;
            } else {
                outln!("emu:{name}")?;
                match medium {
                    None => outln!("  medium: none")?,
                    Some(m) => {
                        outln!("  medium: {} {} ({})", m.profile, m.name, m.status)?;
                        outln!(
                            "  capacity: {} sectors, {} session(s) closed, {} track(s)",
                            m.capacity,
                            m.sessions,
                            m.tracks.len()
                        )?;
                        if let (Some(nwa), Some(free)) = (m.nwa, m.free) {
                            outln!("  next writable address: {nwa}, free: {free} sectors")?;
                        }
                        for (i, t) in m.tracks.iter().enumerate() {
                            outln!(
                                "  track {}: session {}, start {}, {} sectors written{}{}",
                                i + 1,
                                t.session,
                                t.start,
                                t.written,
                                t.reserved
                                    .map(|r| format!(", {r} reserved"))
                                    .unwrap_or_default(),
                                if t.closed { ", closed" } else { "" }
                            )?;
                        }
                    }
                }
                outln!(
                    "  tray: {}",
                    if state.tray_open { "open" } else { "closed" }
                )?;
                if state.write_protected {
                    outln!("  write protected")?;
                }
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
