//! `discrec format`: format a DVD+RW, BD-RE or DVD-RW for random writing. It owns its arguments
//! and output line; formatting and the exclusive access it takes are the library's
//! ([`discrecorder::format::Eraser`]), run as `blank` runs its erase ([`erase_job`]).

use std::time::Duration;

use crate::blank::erase_job;
use crate::output::{self, Outcome};

/// Format the rewritable disc in DEVICE (DVD+RW, BD-RE; a DVD-RW becomes restricted
/// overwrite). Anything on it is lost.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  discrec format /dev/sr0
  discrec format emu:bay1 -N 'Disc Robot' --json")]
pub struct Args {
    /// The device: /dev/srN, emu:NAME, or a recorder id.
    device: String,
    /// The client name others see as owner while formatting.
    #[arg(long, short = 'N', default_value = "discrec format")]
    name: String,
    /// Give up on a drive command after SECS seconds (E_IMAPI_RECORDER_COMMAND_TIMEOUT, exit 74).
    #[arg(long, value_name = "SECS", value_parser = output::parse_timeout)]
    timeout: Option<Duration>,
}

pub fn run(json: bool, args: Args) -> Outcome {
    erase_job(
        json,
        &args.device,
        &args.name,
        args.timeout,
        |mut eraser| eraser.format(),
        |device, media| {
            format!(
                "{device}: formatted; the {} has {} sectors",
                media.profile_name, media.total_sectors
            )
        },
    )
}
