//! `discrec blank`: erase a CD-RW or DVD-RW (formats a DVD+RW or BD-RE). It owns its arguments
//! and output; the erase and the exclusive access it takes are the library's ([`Eraser`]).

use std::process::ExitCode;
use std::time::Duration;

use discrecorder::format::{EraseKind, Eraser, Media};
use discrecorder::Recorder;
use serde::Serialize;

use crate::output::{self, outln, Outcome};
use crate::progress::{Display, SignalCancel};

/// Erase the rewritable disc in DEVICE: a minimal blank of a CD-RW or DVD-RW (every sector
/// with --full); a DVD+RW or BD-RE is formatted instead. Write-once media are refused
/// (E_IMAPI_ERASE_MEDIA_IS_NOT_ERASABLE, exit 74).
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  discrec blank /dev/sr0
  discrec blank /dev/sr0 --full -N 'Disc Robot'
  discrec blank emu:bay1 --json")]
pub struct Args {
    /// The device: /dev/srN, emu:NAME, or a recorder id.
    device: String,
    /// Blank every sector, not only the table of contents.
    #[arg(long)]
    full: bool,
    /// The client name others see as owner while blanking.
    #[arg(long, short = 'N', default_value = "discrec blank")]
    name: String,
    /// Give up on a drive command after SECS seconds (E_IMAPI_RECORDER_COMMAND_TIMEOUT, exit 74).
    #[arg(long, value_name = "SECS", value_parser = output::parse_timeout)]
    timeout: Option<Duration>,
}

#[derive(Serialize)]
struct Done<'a> {
    event: &'static str,
    device: &'a str,
    media: &'a Media,
}

pub fn run(json: bool, args: Args) -> Outcome {
    let kind = if args.full {
        EraseKind::Full
    } else {
        EraseKind::Quick
    };
    erase_job(
        json,
        &args.device,
        &args.name,
        args.timeout,
        |eraser| eraser.kind(kind).erase(),
        |device, media| {
            format!(
                "{device}: erased; the {} is now {}",
                media.profile_name,
                media.status.names().join(", ")
            )
        },
    )
}

/// Runs one [`Eraser`] job on `device` for `blank` and `format`: opens the recorder, applies
/// `timeout`, shows progress, turns SIGINT/SIGTERM into a cancel, runs `job` and prints the
/// medium afterwards (the `done` event with `--json`, else `summary`'s line).
pub(crate) fn erase_job(
    json: bool,
    device: &str,
    name: &str,
    timeout: Option<Duration>,
    job: impl FnOnce(Eraser<'_>) -> discrecorder::Result<Media>,
    summary: impl FnOnce(&str, &Media) -> String,
) -> Outcome {
    // The one place these subcommands call the library.
    let rec = Recorder::open(device)?;
    if let Some(t) = timeout {
        rec.set_command_timeout(t);
    }
    let signals = SignalCancel::install()?;
    let mut display = Display::new(json);
    let eraser = Eraser::new(&rec, name)?
        .on_progress(|p| display.show(device, p))
        .cancel_with(signals.token());
    let result = job(eraser);
    display.finish();
    let media = result.map_err(|e| signals.failure(json, e))?;
    if json {
        output::print_json(&Done {
            event: "done",
            device,
            media: &media,
        })?;
    } else {
        outln!("{}", summary(device, &media))?;
    }
    Ok(ExitCode::SUCCESS)
}
