//! `discrec owner`: who holds a device. It owns the owner output (text and JSON); it must not
//! change anything on the device.

use std::process::ExitCode;

use discrecorder::{Error, Owner, Recorder};
use serde::Serialize;

use crate::output;

/// Show who holds DEVICE: a client name, a program, or a mount point (empty when free).
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  discrec owner /dev/sr0
  discrec owner emu:bay1 --json")]
pub struct Args {
    /// The device: a block device path such as /dev/sr0, or emu:NAME.
    device: String,
}

#[derive(Serialize)]
struct OwnerOutput<'a> {
    device: &'a str,
    owner: Option<Owner>,
}

pub fn run(json: bool, args: Args) -> Result<ExitCode, Error> {
    let device = args.device.as_str();
    // The one place this subcommand calls the library.
    let owner = Recorder::open(device)?.owner()?;
    if json {
        output::print_json(&OwnerOutput { device, owner });
    } else if let Some(o) = owner {
        println!("{}", o.name);
    } else {
        println!();
    }
    Ok(ExitCode::SUCCESS)
}
