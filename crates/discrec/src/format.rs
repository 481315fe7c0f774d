//! `discrec format`: format a DVD+RW, BD-RE or DVD-RW for random writing. It owns its arguments
//! and output; formatting and the exclusive access it takes are the library's ([`Eraser`]).

use std::process::ExitCode;
use std::time::Duration;

use discrecorder::format::Eraser;
use discrecorder::Recorder;

use crate::blank::Done;
use crate::output::{self, outln, Outcome};
use crate::progress::{Display, SignalCancel};

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
    let device = args.device.as_str();
    // The one place this subcommand calls the library.
    let rec = Recorder::open(device)?;
    if let Some(t) = args.timeout {
        rec.set_command_timeout(t);
    }
    let signals = SignalCancel::install()?;
    let mut display = Display::new(json);
    let result = Eraser::new(&rec, &args.name)?
        .on_progress(|p| display.show(device, p))
        .cancel_with(signals.token())
        .format();
    display.finish();
    let media = result.map_err(|e| signals.failure(json, e))?;
    if json {
        output::print_json(&Done {
            event: "done",
            device,
            media: &media,
        })?;
    } else {
        outln!(
            "{device}: formatted; the {} has {} sectors",
            media.profile_name,
            media.total_sectors
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
