//! `discrec media`: what is in the drive, as a burner sees it. It owns the media output (text
//! and JSON); it must not change anything on the device.

use std::process::ExitCode;
use std::time::Duration;

use discrecorder::format::Media;
use discrecorder::Recorder;
use serde::Serialize;

use crate::output::{self, outln, Outcome};

/// Show the medium in DEVICE: profile, IMAPI2 status flags, sessions, next writable address,
/// free and total sectors, the previous session and the write speeds. Takes no lock: works
/// while another client holds the drive.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  discrec media /dev/sr0
  discrec media emu:bay1 --json")]
pub struct Args {
    /// The device: /dev/srN, emu:NAME, or a recorder id.
    device: String,
    /// Give up on a drive command after SECS seconds (E_IMAPI_RECORDER_COMMAND_TIMEOUT, exit 74).
    #[arg(long, value_name = "SECS", value_parser = output::parse_timeout)]
    timeout: Option<Duration>,
}

#[derive(Serialize)]
struct MediaOutput<'a> {
    device: &'a str,
    #[serde(flatten)]
    media: &'a Media,
}

pub fn run(json: bool, args: Args) -> Outcome {
    let device = args.device.as_str();
    // The one place this subcommand calls the library.
    let rec = Recorder::open(device)?;
    if let Some(t) = args.timeout {
        rec.set_command_timeout(t);
    }
    let media = Media::query(&rec)?;
    if json {
        output::print_json(&MediaOutput {
            device,
            media: &media,
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let yes = |b: bool| if b { "yes" } else { "no" };
    outln!("profile: {} (0x{:04X})", media.profile_name, media.profile)?;
    outln!(
        "status: {} (0x{:04X})",
        media.status.names().join(", "),
        media.status.0
    )?;
    outln!("sessions: {}", media.sessions)?;
    match media.next_writable_address {
        Some(a) => outln!("next writable address: {a}")?,
        None => outln!("next writable address: none")?,
    }
    outln!(
        "free: {} sectors ({} MiB) of {} ({} MiB)",
        media.free_sectors,
        u64::from(media.free_sectors) * 2048 / (1 << 20),
        media.total_sectors,
        u64::from(media.total_sectors) * 2048 / (1 << 20)
    )?;
    match media.previous_session {
        Some(s) => outln!(
            "previous session: LBA {} to {}",
            s.start_lba,
            s.last_written_lba
        )?,
        None => outln!("previous session: none")?,
    }
    outln!("write protected: {}", yes(media.write_protected))?;
    outln!(
        "supported: recorder {}, medium {}",
        yes(media.recorder_supported),
        yes(media.media_supported)
    )?;
    let speeds: Vec<String> = media
        .write_speeds
        .iter()
        .map(|k| format!("{k} kB/s"))
        .collect();
    outln!(
        "write speeds: {}",
        if speeds.is_empty() {
            "not reported".to_owned()
        } else {
            speeds.join(", ")
        }
    )?;
    Ok(ExitCode::SUCCESS)
}
