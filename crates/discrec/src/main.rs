//! `discrec`: the command-line front end of discrecorder.
//!
//! Thin by design: it parses arguments, calls the library and prints. Each subcommand lives in
//! its own module, which owns its arguments, its (single) use of the library and its output;
//! `output` holds what they share. Every error is printed on one line as
//! `NAME (0xXXXXXXXX): meaning: context` (or as JSON with `--json`) and gives a non-zero exit.

mod blank;
mod burn;
mod demo;
mod dist;
mod emu;
mod format;
mod info;
mod list;
mod lock;
mod media;
mod output;
mod owner;
mod progress;
mod serve;
mod tray;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

const EXAMPLES: &str = "\
Examples:
  discrec demo                                   the whole lifecycle on an emulated recorder
  discrec lock /dev/sr0 --name 'Disc Robot' -- dd if=image.iso of=/dev/sr0
  discrec lock /dev/sr0 --name 'Nightly Backup' --wait 60 -- ./burn.sh
  discrec lock /dev/sr0 --name 'xorriso job' --handoff -- xorriso -outdev /dev/sr0 -toc
  discrec owner /dev/sr0
  discrec owner emu:bay1 --json
  discrec burn backup.iso /dev/sr0 -N 'Nightly Backup' --verify full
  discrec media /dev/sr0
  discrec emu create bay1";

/// The root's text after the options: examples, then the exit status table.
fn after_help() -> String {
    format!("{EXAMPLES}\n\n{}", output::EXIT_STATUS_HELP)
}

/// Exclusive, named, crash-proof access to optical disc recorders and block devices.
#[derive(Parser, Debug)]
#[command(name = "discrec", version, after_help = after_help())]
struct Cli {
    /// Print results and errors as JSON.
    #[arg(long, global = true)]
    json: bool,

    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    Lock(lock::Args),
    Owner(owner::Args),
    List(list::Args),
    Info(info::Args),
    Eject(tray::EjectArgs),
    CloseTray(tray::CloseArgs),
    Burn(burn::Args),
    Blank(blank::Args),
    Format(format::Args),
    Media(media::Args),
    Demo(demo::Args),
    Emu(emu::Args),
}

fn main() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().collect();
    let json = wants_json(&argv);
    let cli = match dist::try_parse_from::<Cli>(&argv) {
        Ok(dist::Parsed::Cli(cli)) => cli,
        Ok(dist::Parsed::Done(code)) => return code, // hidden `man DIR`, `completions SHELL`
        Err(e) => return output::report_clap(json, e),
    };
    match run(cli).and_then(|code| output::flush().map(|()| code)) {
        Ok(code) => code,
        Err(failure) => output::report(json, failure),
    }
}

/// Whether `--json` is among the options (before any `--`), for reporting a usage error the
/// parser could not finish.
fn wants_json(argv: &[OsString]) -> bool {
    argv.iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .any(|a| a == "--json")
}

fn run(cli: Cli) -> output::Outcome {
    let json = cli.json;
    match cli.command {
        Cmd::Lock(args) => lock::run(json, args),
        Cmd::Owner(args) => owner::run(json, args),
        Cmd::List(args) => list::run(json, args),
        Cmd::Info(args) => info::run(json, args),
        Cmd::Eject(args) => tray::eject(json, args),
        Cmd::CloseTray(args) => tray::close(json, args),
        Cmd::Burn(args) => burn::run(json, args),
        Cmd::Blank(args) => blank::run(json, args),
        Cmd::Format(args) => format::run(json, args),
        Cmd::Media(args) => media::run(json, args),
        Cmd::Demo(args) => demo::run(json, args),
        Cmd::Emu(args) => emu::run(json, args),
    }
}
