//! `discrec emu serve NAME`: the emulated recorder emu:NAME as a real SCSI device of this
//! machine. The kernel's LIO target passes each command of a TCMU backstore to this process
//! (`discrecorder-tcmu`), which answers it with emu:NAME's drive (`emu::update` +
//! `DriveState::execute`, so `discrec emu set` changes the served drive live: media, tray,
//! faults); `tcm_loop` attaches the backstore to the SCSI midlayer, and the kernel's `sr`
//! driver binds `/dev/srN`.
//!
//! Owns the mapping between the emulated drive's outcomes and the ring's responses (a hang
//! holds the command until the fault is cleared; a vanished drive removes the device) and the
//! names of the LIO objects (`discrec-NAME`, a WWN from NAME). It must not touch configfs or
//! the ring itself (that is `discrecorder_tcmu`) and runs until SIGINT, SIGTERM or SIGHUP,
//! removing every LIO object it made on the way out.
//!
//! Two processes, so that even SIGKILL frees everything: the one the user starts re-executes
//! itself as the worker (`--worker`) that serves, forwards SIGINT/SIGTERM/SIGHUP to it and, when
//! the worker dies without cleaning up (killed), removes what it left
//! ([`discrecorder_tcmu::lio::remove_leftovers`]). The worker gets SIGTERM when its parent
//! dies (`PR_SET_PDEATHSIG`), so killing the parent with SIGKILL cleans up too.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use discrecorder::mmc::emulator::{Fault, Outcome as EmuOutcome};
use discrecorder::{emu, Error, HResult};
use discrecorder_tcmu::lio::{naa_wwn, BackstoreSpec, CONFIGFS_TARGET};
use discrecorder_tcmu::{Attached, Command, Handler, Response, ServeOptions};
use rustix::process::{getppid, kill_process, set_parent_process_death_signal, Pid, Signal};
use serde::Serialize;

use crate::output::{self, outln, Outcome};

/// Options of `emu serve`.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// emu:NAME or NAME (made with `discrec emu create`)
    pub name: String,
    /// N of the LIO HBA directory core/user_N (default: a number made from NAME, so that each
    /// served drive has its own HBA directory and removes it).
    #[arg(long)]
    pub hba: Option<u32>,
    /// Seconds after which the kernel fails a command the drive has not answered (a hang
    /// fault); 0: never.
    #[arg(long, default_value_t = 30)]
    pub cmd_time_out: u32,
    /// Internal: this process serves; its parent (the process the user started) watches it
    /// and removes the LIO objects if it dies without doing so.
    #[arg(long, hide = true)]
    pub worker: bool,
    /// Append one line per command to FILE: the CDB, its data-out (`out N [bytes]`) or the
    /// answer's data-in (`in N [bytes]`), bytes shown when at most 64, and the outcome.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
}

/// SCSI status CHECK CONDITION.
const CHECK_CONDITION: u8 = 0x02;

/// Fixed-format sense data with `key`, `asc`, `ascq`.
fn sense(key: u8, asc: u8, ascq: u8) -> Vec<u8> {
    let mut s = vec![0u8; 18];
    s[0] = 0x70;
    s[2] = key;
    s[7] = 10;
    s[12] = asc;
    s[13] = ascq;
    s
}

/// emu:NAME behind the ring.
struct EmuDrive {
    name: String,
    gone: bool,
    /// `--trace`: one line per command (CDB, data-out length, outcome), for peers' command
    /// sequences in bug reports.
    trace: Option<std::fs::File>,
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

impl EmuDrive {
    fn log(&mut self, cmd: &Command, response: &Response) {
        let Some(f) = self.trace.as_mut() else { return };
        let what = match response {
            Response::Hold => "held".to_owned(),
            Response::Complete {
                status,
                data_in,
                sense,
            } => match sense.get(2..14) {
                Some(s) if *status != 0 => format!(
                    "status {status:02x} sense {:x}/{:02x}/{:02x}",
                    s[0] & 0x0F,
                    s[10],
                    s[11]
                ),
                _ => format!("status {status:02x} data-in {}", data_in.len()),
            },
        };
        // The buffers carry data-out only for commands without a data-in phase; for the others
        // they hold whatever was there before, so the answer is shown instead.
        let takes_data_in = discrecorder::mmc::cdb::Cdb::parse(&cmd.cdb)
            .map(|c| c.allocation_length() > 0)
            .unwrap_or(false);
        let shown = |bytes: &[u8]| {
            // parameter lists and short answers in full; not sector data
            if bytes.len() <= 64 && !bytes.is_empty() {
                format!(" [{}]", hex(bytes))
            } else {
                String::new()
            }
        };
        let buffers = match response {
            Response::Complete { data_in, .. } if takes_data_in => {
                format!("in {}{}", data_in.len(), shown(data_in))
            }
            _ if takes_data_in => format!("in -/{}", cmd.data.len()),
            _ => format!("out {}{}", cmd.data.len(), shown(&cmd.data)),
        };
        let _ = std::io::Write::write_all(
            f,
            format!("{} | {buffers} | {what}\n", hex(&cmd.cdb)).as_bytes(),
        );
    }
}

impl Handler for EmuDrive {
    fn command(&mut self, cmd: &Command) -> Response {
        let response = self.answer(cmd);
        self.log(cmd, &response);
        response
    }

    fn release_held(&mut self) -> Option<(u8, Vec<u8>)> {
        match emu::update(&self.name, |s| s.fault) {
            Ok(Fault::Hang) => None,
            // ABORTED COMMAND, no additional sense: the initiator retries
            _ => Some((CHECK_CONDITION, sense(0x0B, 0x00, 0x00))),
        }
    }

    fn gone(&mut self) -> bool {
        self.gone
    }
}

impl EmuDrive {
    fn answer(&mut self, cmd: &Command) -> Response {
        match emu::execute(&self.name, &cmd.cdb, &cmd.data) {
            Ok(EmuOutcome::Reply(r)) => Response::Complete {
                status: r.status,
                data_in: r.data,
                sense: r.sense,
            },
            Ok(EmuOutcome::Hang) => Response::Hold,
            Ok(EmuOutcome::Vanished) | Err(_) => {
                // the drive is gone (vanish fault, or emu:NAME removed): the device goes too
                self.gone = true;
                Response::Complete {
                    status: CHECK_CONDITION,
                    data_in: Vec::new(),
                    // ILLEGAL REQUEST, LOGICAL UNIT NOT SUPPORTED
                    sense: sense(0x05, 0x25, 0x00),
                }
            }
        }
    }
}

#[derive(Serialize)]
struct Served<'a> {
    served: String,
    block: Option<&'a PathBuf>,
    generic: Option<&'a PathBuf>,
    scsi_address: &'a str,
    uio: String,
}

/// A stable 36-bit number from `text` (FNV-1a), for the WWNs.
fn seed(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn io_error(name: &str, e: discrecorder_tcmu::Error) -> Error {
    let hresult = match &e {
        discrecorder_tcmu::Error::Io(io) if io.kind() == std::io::ErrorKind::PermissionDenied => {
            HResult::EAccessDenied
        }
        discrecorder_tcmu::Error::Io(io) if io.kind() == std::io::ErrorKind::NotFound => {
            HResult::DevNotExist
        }
        _ => HResult::EFail,
    };
    Error::new(
        hresult,
        format!("emu:{name}: serving as a SCSI device: {e}"),
    )
}

fn register_stop_signals(stop: &Arc<AtomicBool>) -> Result<(), Error> {
    for sig in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register(sig, stop.clone()).map_err(|e| {
            Error::new(HResult::EFail, "installing a signal handler").with_source(e)
        })?;
    }
    Ok(())
}

fn options(name: &str, args: &ServeArgs) -> ServeOptions {
    ServeOptions {
        root: PathBuf::from(CONFIGFS_TARGET),
        backstore: BackstoreSpec {
            hba: args.hba.unwrap_or((seed(name) & 0xFFFF) as u32 + 1000),
            name: format!("discrec-{name}"),
            config: format!("discrec/{name}"),
            // what LIO reports nowhere for a pass-through device; the drive answers READ CAPACITY
            dev_size: 25_025_314_816,
            block_size: 2048,
            cmd_time_out: args.cmd_time_out,
        },
        wwn: naa_wwn(seed(name)),
        initiator: naa_wwn(seed(name) ^ 0xF_FFFF_FFFF),
    }
}

pub fn run(json: bool, args: ServeArgs) -> Outcome {
    let name = args
        .name
        .strip_prefix("emu:")
        .unwrap_or(&args.name)
        .to_owned();
    emu::check_name(&name)?;
    // the drive must exist: a misspelt name is an error, not a device answering nothing
    emu::update(&name, |_| ())?;
    if args.worker {
        worker(json, &name, &args)
    } else {
        supervise(json, &name, &args)
    }
}

/// The process the user started: runs the worker, passes stop signals on, cleans up after a
/// worker that could not.
fn supervise(json: bool, name: &str, args: &ServeArgs) -> Outcome {
    let stop = Arc::new(AtomicBool::new(false));
    register_stop_signals(&stop)?;
    let exe = std::env::current_exe()
        .map_err(|e| Error::new(HResult::EFail, "finding this program").with_source(e))?;
    let mut cmd = std::process::Command::new(exe);
    if json {
        cmd.arg("--json");
    }
    cmd.args(["emu", "serve", "--worker", "--cmd-time-out"])
        .arg(args.cmd_time_out.to_string());
    if let Some(hba) = args.hba {
        cmd.arg("--hba").arg(hba.to_string());
    }
    if let Some(trace) = &args.trace {
        cmd.arg("--trace").arg(trace);
    }
    cmd.arg("--").arg(name);
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::new(HResult::EFail, "starting the serving process").with_source(e))?;
    let mut forwarded = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => {
                return Err(
                    Error::new(HResult::EFail, "waiting for the serving process")
                        .with_source(e)
                        .into(),
                )
            }
        }
        if stop.load(Ordering::Relaxed) && !forwarded {
            forwarded = true;
            if let Some(pid) = Pid::from_raw(child.id() as i32) {
                let _ = kill_process(pid, Signal::TERM);
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    if status.success() {
        return Ok(ExitCode::SUCCESS);
    }
    // A worker that exited by itself has removed what it made (or made nothing: NAME may be
    // served by another process, whose objects must stay); only a killed one leaves objects.
    if std::os::unix::process::ExitStatusExt::signal(&status).is_none() {
        return Err(output::Failure::Silent(
            status
                .code()
                .and_then(|c| u8::try_from(c).ok())
                .unwrap_or(output::status::SYSTEM),
        ));
    }
    let opts = options(name, args);
    match discrecorder_tcmu::lio::remove_leftovers(&opts.root, &opts.wwn, &opts.backstore) {
        Ok(true) => eprintln!(
            "discrec: emu:{name}: the serving process ended ({status}); removed the LIO objects it left"
        ),
        Ok(false) => {}
        Err(e) => eprintln!(
            "discrec: emu:{name}: the serving process ended ({status}); removing the LIO objects it left: {e}"
        ),
    }
    Err(output::Failure::Silent(
        status
            .code()
            .and_then(|c| u8::try_from(c).ok())
            .unwrap_or(output::status::SYSTEM),
    ))
}

/// The serving process.
fn worker(json: bool, name: &str, args: &ServeArgs) -> Outcome {
    // the parent's death (even by SIGKILL) stops this process the clean way
    let _ = set_parent_process_death_signal(Some(Signal::TERM));
    let stop = Arc::new(AtomicBool::new(false));
    register_stop_signals(&stop)?;
    if getppid().is_none_or(|p| p.as_raw_nonzero().get() == 1) {
        // the parent died before the death signal was set
        stop.store(true, Ordering::Relaxed);
    }
    let opts = options(name, args);
    let trace = match &args.trace {
        Some(path) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| {
                    Error::new(HResult::EFail, format!("--trace {}", path.display())).with_source(e)
                })?,
        ),
        None => None,
    };
    let drive = EmuDrive {
        name: name.to_owned(),
        gone: false,
        trace,
    };
    let mut shown = Ok(());
    discrecorder_tcmu::serve(&opts, drive, &stop, |a: &Attached| {
        shown = show(json, name, a);
    })
    .map_err(|e| io_error(name, e))?;
    shown?;
    Ok(ExitCode::SUCCESS)
}

fn show(json: bool, name: &str, a: &Attached) -> Result<(), output::Failure> {
    let uio = format!("/dev/uio{}", a.uio);
    if json {
        output::print_json(&Served {
            served: format!("emu:{name}"),
            block: a.block.as_ref(),
            generic: a.generic.as_ref(),
            scsi_address: &a.scsi_address,
            uio,
        })?;
    } else {
        let path = |p: &Option<PathBuf>| {
            p.as_ref()
                .map_or("(none)".to_owned(), |p| p.display().to_string())
        };
        outln!(
            "emu:{name} served as {} ({}, SCSI {}, {uio})",
            path(&a.block),
            path(&a.generic),
            a.scsi_address
        )?;
    }
    output::flush()?;
    Ok(())
}
