//! `discrec burn`: write a data image to a disc. It owns its arguments, reading the image's
//! size, turning SIGINT/SIGTERM into a cancel, and its output; the write itself, exclusive
//! access and verification are the library's ([`DataWriter`]).

use std::fs::File;
use std::io::Read;
use std::process::ExitCode;
use std::time::Duration;

use discrecorder::format::{
    Closing, DataWriter, Media, Speed, Verification, WriteOptions, WriteReport,
};
use discrecorder::{AcquireOptions, Error, HResult, Recorder, Wait};
use serde::Serialize;

use crate::output::{self, outln, Failure, Outcome};
use crate::progress::{Display, SignalCancel};

/// Write a data image (an ISO 9660/UDF file system, a multiple of 2048 bytes) to the disc in
/// DEVICE, taking exclusive access as CLIENT for the whole job, then verify it.
///
/// Sequential media (CD-R/RW, DVD±R, DVD-RW, BD-R) get a new session, left appendable unless
/// --close; rewritable media (DVD+RW, BD-RE) are formatted if needed and written from sector 0.
/// Ctrl-C (SIGINT) or SIGTERM cancels cleanly: the drive is released and the medium's state is
/// reported. A progress bar is shown on a terminal; --json prints one event per line.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  discrec burn backup.iso /dev/sr0 -N 'Nightly Backup'
  discrec burn backup.iso /dev/sr0 -N 'Disc Robot' --close --verify full --speed 8x
  mkisofs -R -J photos/ | discrec burn - /dev/sr0 -N 'Photo Archive' --size 734003200
  discrec burn image.iso emu:bay1 -N 'Test Burn' --json

Exit status: 0 burned and verified; 1 another client holds the drive (or --wait ran out);
64 bad arguments (size not a multiple of 2048); 66 no such device; 130 / 143 cancelled by
SIGINT / SIGTERM (E_IMAPI_REQUEST_CANCELLED, the drive released);
74 the medium or the drive refused (no medium, closed disc, too large, write protected,
verification failed, I/O error, timeout); 77 permission denied.")]
pub struct Args {
    /// The image file, or - for standard input.
    image: String,
    /// The device: /dev/srN, emu:NAME, or a recorder id.
    device: String,
    /// The client name others see as owner while the burn runs.
    #[arg(long, short = 'N')]
    name: String,
    /// Close (finalize) the medium: nothing can be added afterwards.
    #[arg(long)]
    close: bool,
    /// How the written data is checked: none (layout only), quick (sampled), full (every sector).
    #[arg(long, value_enum, default_value = "full")]
    verify: VerifyArg,
    /// Write speed: kB/s (1000 bytes/s), or Nx (times the medium's 1x: CD 150, DVD 1385,
    /// BD 4495 kB/s). The drive's fastest by default.
    #[arg(long, value_name = "X")]
    speed: Option<String>,
    /// Wait up to SECS seconds for a busy drive (fractions, 0, or inf).
    #[arg(long, short = 'w', value_name = "SECS", value_parser = crate::lock::parse_wait)]
    wait: Option<Wait>,
    /// The image size in bytes, needed when IMAGE is - and standard input is a pipe.
    #[arg(long, value_name = "BYTES")]
    size: Option<u64>,
    /// Give up on a drive command after SECS seconds (E_IMAPI_RECORDER_COMMAND_TIMEOUT, exit 74).
    #[arg(long, value_name = "SECS", value_parser = output::parse_timeout)]
    timeout: Option<Duration>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum VerifyArg {
    None,
    Quick,
    Full,
}

#[derive(Serialize)]
struct Done<'a> {
    event: &'static str,
    device: &'a str,
    #[serde(flatten)]
    report: &'a WriteReport,
}

pub fn run(json: bool, args: Args) -> Outcome {
    let (source, size) = open_image(&args)?;
    let device = args.device.as_str();
    // The one place this subcommand calls the library.
    let rec = Recorder::open(device)?;
    if let Some(t) = args.timeout {
        rec.set_command_timeout(t);
    }
    let speed = match args.speed.as_deref() {
        None => Speed::Fastest,
        Some(s) => Speed::KilobytesPerSecond(parse_speed(s, &rec)?),
    };
    // With --wait, discrec takes the drive first (waiting for it); the writer nests under it.
    let _held = match args.wait {
        Some(w) if w != Wait::Immediately => {
            Some(rec.lock_with(&args.name, AcquireOptions::new().wait(w))?)
        }
        _ => None,
    };
    let signals = SignalCancel::install()?;
    let mut display = Display::new(json);
    let options = WriteOptions::new()
        .closing(if args.close {
            Closing::CloseMedium
        } else {
            Closing::LeaveAppendable
        })
        .verification(match args.verify {
            VerifyArg::None => Verification::None,
            VerifyArg::Quick => Verification::Quick,
            VerifyArg::Full => Verification::Full,
        })
        .speed(speed);
    let result = {
        let mut writer = DataWriter::new(&rec, &args.name)?
            .options(options)
            .cancel_with(signals.token())
            .on_progress(|p| display.show(device, p));
        writer.write(source, size)
    };
    display.finish();
    let report = result.map_err(|e| signals.failure(json, e))?;
    if json {
        output::print_json(&Done {
            event: "done",
            device,
            report: &report,
        })?;
    } else {
        outln!(
            "{device}: wrote {} sectors at LBA {} ({} bytes), verified {} ({} sectors); sha256 {}",
            report.sectors,
            report.start_lba,
            u64::from(report.sectors) * 2048,
            match report.verification {
                Verification::None => "layout only",
                Verification::Quick => "quick",
                _ => "full",
            },
            report.verified_sectors,
            report.sha256
        )?;
        outln!(
            "{device}: the medium is now {}",
            report.media.status.names().join(", ")
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The image as a reader and its size.
fn open_image(args: &Args) -> Result<(Box<dyn Read + Send>, u64), Failure> {
    if args.image == "-" {
        let stdin = std::io::stdin();
        let size = match args.size {
            Some(s) => s,
            None => {
                let meta = rustix::fs::fstat(&stdin).ok();
                match meta {
                    Some(m) if (m.st_mode & 0o170000) == 0o100000 => m.st_size as u64,
                    _ => {
                        return Err(Failure::Usage(
                            "give --size BYTES when the image comes from a pipe".to_owned(),
                        ))
                    }
                }
            }
        };
        return Ok((Box::new(stdin), size));
    }
    let file = File::open(&args.image).map_err(|e| {
        Failure::from(
            Error::new(
                HResult::EInvalidArg,
                format!("cannot open the image {:?}: {e}", args.image),
            )
            .with_source(e),
        )
    })?;
    let size = match args.size {
        Some(s) => s,
        None => file
            .metadata()
            .map(|m| m.len())
            .map_err(|e| Failure::from(Error::new(HResult::EFail, e.to_string())))?,
    };
    Ok((Box::new(file), size))
}

/// `--speed`: kB/s, or Nx of the loaded medium's 1x.
fn parse_speed(s: &str, rec: &Recorder) -> Result<u32, Failure> {
    let bad = || {
        Failure::Usage(format!(
            "--speed {s:?}: give kB/s (e.g. 11080) or Nx (e.g. 8x)"
        ))
    };
    if let Some(n) = s.strip_suffix(['x', 'X']) {
        let n: f64 = n.parse().map_err(|_| bad())?;
        if !(n.is_finite() && n > 0.0) {
            return Err(bad());
        }
        let media = Media::query(rec)?;
        let one_x = match media.profile {
            0x08..=0x0A => 150.0,
            0x40..=0x43 => 4495.0,
            _ => 1385.0,
        };
        Ok((n * one_x).round().min(f64::from(u32::MAX)) as u32)
    } else {
        s.parse::<u32>().ok().filter(|&k| k > 0).ok_or_else(bad)
    }
}
