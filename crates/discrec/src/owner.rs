//! `discrec owner`: who holds a device. It owns the owner output (text and JSON); it must not
//! change anything on the device.

use std::process::ExitCode;

use discrecorder::{Owner, Recorder};
use serde::Serialize;

use crate::output::{self, outln, Outcome};

/// Show who holds DEVICE: a client name, a program, or a mount point (an empty line when the
/// device is free). A client that publishes a job (a burn) is followed by what it is doing:
/// `Disc Robot: writing 43 %, 3 min left`; `--json` has it as `job`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  discrec owner /dev/sr0
  discrec owner emu:bay1 --json
  discrec owner -s /dev/sr0 && echo held || echo free")]
pub struct Args {
    /// The device: a block device path such as /dev/sr0, or emu:NAME.
    device: String,
    /// Print nothing; exit 0 if the device is held, 1 if it is free (like fuser -s).
    #[arg(long, short = 's')]
    silent: bool,
}

#[derive(Serialize)]
struct OwnerOutput<'a> {
    device: &'a str,
    owner: Option<Owner>,
    /// The processes waiting for the device, in the order they will be served.
    waiting: Vec<discrecorder::Waiter>,
}

pub fn run(json: bool, args: Args) -> Outcome {
    let device = args.device.as_str();
    // The one place this subcommand calls the library.
    let recorder = Recorder::open(device)?;
    let owner = recorder.owner()?;
    if args.silent {
        return Ok(if owner.is_some() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    if json {
        output::print_json(&OwnerOutput {
            device,
            owner,
            waiting: recorder.waiting(),
        })?;
    } else if let Some(o) = owner {
        match &o.job {
            Some(job) => outln!("{}: {}", o.name, job.describe())?,
            None => outln!("{}", o.name)?,
        }
    } else {
        outln!()?;
    }
    Ok(ExitCode::SUCCESS)
}
