//! `discrec eject` and `discrec close-tray`: move the tray. It owns their arguments and output;
//! the refusal while another client holds the device is the library's.

use std::process::ExitCode;
use std::time::Duration;

use discrecorder::Recorder;
use serde::Serialize;

use crate::output::{self, Outcome};

/// Open the tray (refused with E_IMAPI_RECORDER_LOCKED while another client holds it).
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  discrec eject /dev/sr0
  discrec eject emu:bay1 --name 'Disc Robot' --json")]
pub struct EjectArgs {
    /// The device: /dev/srN, emu:NAME, or a recorder id.
    device: String,
    /// The client name to publish while ejecting.
    #[arg(long, short = 'N', default_value = "discrec eject")]
    name: String,
    /// Give up on a drive command after SECS seconds (E_IMAPI_RECORDER_COMMAND_TIMEOUT, exit 74).
    #[arg(long, value_name = "SECS", value_parser = output::parse_timeout)]
    timeout: Option<Duration>,
}

/// Close the tray (refused with E_IMAPI_RECORDER_LOCKED while another client holds it).
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  discrec close-tray /dev/sr0
  discrec close-tray emu:bay1 --name 'Disc Robot'")]
pub struct CloseArgs {
    /// The device: /dev/srN, emu:NAME, or a recorder id.
    device: String,
    /// The client name to publish while closing.
    #[arg(long, short = 'N', default_value = "discrec close-tray")]
    name: String,
    /// Give up on a drive command after SECS seconds (E_IMAPI_RECORDER_COMMAND_TIMEOUT, exit 74).
    #[arg(long, value_name = "SECS", value_parser = output::parse_timeout)]
    timeout: Option<Duration>,
}

/// Which way the tray moves.
#[derive(Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
enum Move {
    Eject,
    CloseTray,
}

#[derive(Serialize)]
struct Done<'a> {
    device: &'a str,
    done: Move,
}

pub fn eject(json: bool, args: EjectArgs) -> Outcome {
    tray(json, &args.device, &args.name, args.timeout, Move::Eject)
}

pub fn close(json: bool, args: CloseArgs) -> Outcome {
    tray(
        json,
        &args.device,
        &args.name,
        args.timeout,
        Move::CloseTray,
    )
}

fn tray(json: bool, device: &str, name: &str, timeout: Option<Duration>, how: Move) -> Outcome {
    // The one place these subcommands call the library.
    let rec = Recorder::open(device)?;
    rec.set_client_name(name)?;
    if let Some(t) = timeout {
        rec.set_command_timeout(t);
    }
    match how {
        Move::Eject => rec.eject_media()?,
        Move::CloseTray => rec.close_tray()?,
    }
    if json {
        output::print_json(&Done { device, done: how })?;
    }
    Ok(ExitCode::SUCCESS)
}
