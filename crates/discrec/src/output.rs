//! What every subcommand shares: the exit status table, writing data to stdout (text or JSON,
//! always through serde structs), notices and errors on stderr. It owns the shape of the error
//! object and the mapping from the library's HRESULTs to exit statuses; it must not call the
//! library beyond reading an [`Error`]'s fields.
//!
//! Data goes to stdout and a failure to write it is an error of its own ([`Failure::Output`]):
//! a closed pipe ends discrec quietly with 141, a full disk with 74. Notices and errors go to
//! stderr, prefixed `discrec: `, and a failure to write them is ignored (there is nowhere left
//! to report it).

use std::fmt;
use std::io::{self, Write};
use std::process::ExitCode;

use discrecorder::{Error, HResult};
use serde::Serialize;

/// The one word for "nobody holds it", in every command's text output.
pub const FREE: &str = "free";

/// The exit statuses scripts branch on (sysexits.h names in comments).
pub mod status {
    /// Busy, or the wait timed out; `lock -E N` changes it.
    pub const CONFLICT: u8 = 1;
    /// EX_USAGE.
    pub const USAGE: u8 = 64;
    /// EX_NOINPUT: no such device (also a vanished one).
    pub const NO_DEVICE: u8 = 66;
    /// EX_OSERR: another system error.
    pub const SYSTEM: u8 = 71;
    /// EX_IOERR: a device I/O error or command timeout; stdout could not be written.
    pub const IO: u8 = 74;
    /// EX_NOPERM.
    pub const PERMISSION: u8 = 77;
    /// 128 + SIGPIPE: stdout is a pipe nobody reads any more.
    pub const BROKEN_PIPE: u8 = 141;
}

/// The exit status table as `--help` shows it.
pub const EXIT_STATUS_HELP: &str = "\
Exit status:
  0        success (lock: COMMAND's own status)
  1        busy, or the wait timed out (lock -E N changes it)
  64       usage error, including an invalid client name
  66       no such device (also one that vanished)
  71       other system error
  74       device I/O error or command timeout; stdout could not be written (ENOSPC)
  77       permission denied
  126/127  COMMAND could not be run / was not found
  128+N    COMMAND died of signal N
  141      stdout is a pipe whose reader has gone (EPIPE)";

/// `--timeout SECS`: how long one drive command may take, in seconds (fractions allowed, more
/// than 0).
pub fn parse_timeout(s: &str) -> Result<std::time::Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| "give a number of seconds (fractions allowed)".to_owned())?;
    if secs.is_finite() && secs > 0.0 {
        Ok(std::time::Duration::from_secs_f64(secs.min(1.0e6)))
    } else {
        Err("give a number of seconds greater than 0".to_owned())
    }
}

/// Why discrec did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// The library failed; `conflict` is the status for a busy device or a wait that timed out.
    Device { err: Error, conflict: u8 },
    /// A conflict already reported, or silenced with `-q`: exit with this status.
    Silent(u8),
    /// The command line is wrong.
    Usage(String),
    /// Writing data to stdout failed.
    Output(io::Error),
}

impl From<Error> for Failure {
    fn from(err: Error) -> Failure {
        Failure::Device {
            err,
            conflict: status::CONFLICT,
        }
    }
}

/// What a subcommand returns.
pub type Outcome = Result<ExitCode, Failure>;

/// Whether `err` means "someone else has the device" (busy, or a wait that timed out), as
/// opposed to a permission problem or an unusable runtime directory: E_ACCESSDENIED covers all
/// of them, and [`Error::is_permission_problem`] tells them apart.
pub fn is_conflict(err: &Error) -> bool {
    match err.hresult() {
        HResult::RecorderLocked | HResult::EraseRecorderInUse => true,
        HResult::EAccessDenied => !is_permission(err),
        _ => false,
    }
}

fn is_permission(err: &Error) -> bool {
    err.is_permission_problem()
}

/// The exit status for a library error (the table in `discrec --help`).
pub fn exit_status(err: &Error, conflict: u8) -> u8 {
    const EIO: i32 = 5;
    const ENOSPC: i32 = 28;
    if is_conflict(err) {
        return conflict;
    }
    match err.hresult() {
        HResult::EAccessDenied => status::PERMISSION,
        HResult::EInvalidArg
        | HResult::ClientNameIsNotValid
        | HResult::Df2DataClientNameIsNotValid
        | HResult::EraseClientNameIsNotValid => status::USAGE,
        HResult::DevNotExist => status::NO_DEVICE,
        HResult::RecorderCommandTimeout
        | HResult::InvalidResponseFromDevice
        | HResult::MediaNoMedia
        | HResult::MediaBecomingReady
        | HResult::MediaWriteProtected
        | HResult::NoSuchModePage
        | HResult::NoSuchFeature
        | HResult::GetConfigurationNotSupported
        // Writing and erasing: the medium or the drive said no, or read back wrong.
        | HResult::BurnVerificationFailed
        | HResult::MediaIncompatible
        | HResult::MediaUpsideDown
        | HResult::MediaFormatInProgress
        | HResult::MediaBusy
        | HResult::InvalidModeParameters
        | HResult::MediaSpeedMismatch
        | HResult::MediaNotFormatted
        | HResult::LossOfStreaming
        | HResult::UnexpectedResponseFromDevice
        | HResult::Df2DataInvalidMediaState
        | HResult::Df2DataStreamTooLargeForCurrentMedia
        | HResult::Df2DataMediaNotBlank
        | HResult::Df2DataMediaIsNotSupported
        | HResult::Df2DataRecorderNotSupported
        | HResult::EraseMediaIsNotErasable
        | HResult::EraseDriveFailedEraseCommand
        | HResult::EraseTookLongerThanOneHour
        | HResult::EraseUnexpectedDriveResponseDuringErase
        | HResult::EraseMediaIsNotSupported
        | HResult::EraseRecorderNotSupported => status::IO,
        _ if matches!(err.raw_os_error(), Some(EIO | ENOSPC)) => status::IO,
        // E_FAIL, E_OUTOFMEMORY, an invalid handle, a cancelled request, and codes added later.
        _ => status::SYSTEM,
    }
}

/// An error as printed under `--json`.
#[derive(Serialize)]
struct JsonError<'a> {
    hresult: String,
    name: &'a str,
    meaning: &'a str,
    context: &'a str,
}

/// The one object `--json` prints for an error: `{"error":{…}}`.
#[derive(Serialize)]
struct ErrorOutput<'a> {
    error: JsonError<'a>,
}

/// Prints `err` on stderr: one line `discrec: NAME (0x…): meaning: context`, or one JSON object.
pub fn print_error(json: bool, err: &Error) {
    if json {
        eprint_json(&ErrorOutput {
            error: JsonError {
                hresult: format!("0x{:08X}", err.code()),
                name: err.name(),
                meaning: err.meaning(),
                context: err.context(),
            },
        });
    } else {
        notice(format_args!("{err}"));
    }
}

/// Prints a usage error: `discrec: MESSAGE` (with clap's usage lines after it), or under
/// `--json` one error object with E_INVALIDARG and the message's first line as context.
pub fn print_usage_error(json: bool, message: &str) {
    if json {
        // The message without clap's usage and tip paragraphs, on one line.
        let first = message.split("\n\n").next().unwrap_or_default();
        let words: Vec<&str> = first.split_whitespace().collect();
        print_error(true, &Error::new(HResult::EInvalidArg, words.join(" ")));
    } else {
        let mut stderr = io::stderr().lock();
        let _ = writeln!(stderr, "discrec: {}", message.trim_end());
    }
}

/// Reports `failure` on stderr (unless there is nothing to say) and gives its exit status.
pub fn report(json: bool, failure: Failure) -> ExitCode {
    ExitCode::from(match failure {
        Failure::Device { err, conflict } => {
            print_error(json, &err);
            exit_status(&err, conflict)
        }
        Failure::Silent(code) => code,
        Failure::Usage(message) => {
            print_usage_error(json, &message);
            status::USAGE
        }
        Failure::Output(e) if e.kind() == io::ErrorKind::BrokenPipe => status::BROKEN_PIPE,
        Failure::Output(e) => {
            let mut what = e.to_string();
            if let Some(at) = what.find(" (os error") {
                what.truncate(at);
            }
            let errno = match e.raw_os_error() {
                Some(28) => " (ENOSPC)",
                Some(5) => " (EIO)",
                _ => "",
            };
            what.push_str(errno);
            notice(format_args!("cannot write to standard output: {what}"));
            status::IO
        }
    })
}

/// A clap parse result that is not a command line: help and version go to stdout with status
/// 0; anything else is a usage error (64, not clap's 2).
pub fn report_clap(json: bool, err: clap::Error) -> ExitCode {
    if !err.use_stderr() {
        let _ = err.print();
        return ExitCode::SUCCESS;
    }
    if err.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        if json {
            print_usage_error(true, "no subcommand given");
        } else {
            let _ = err.print();
        }
        return ExitCode::from(status::USAGE);
    }
    let rendered = err.render().to_string();
    let message = rendered.strip_prefix("error: ").unwrap_or(&rendered);
    report(json, Failure::Usage(message.to_owned()))
}

/// Writes one line of data on stdout.
pub fn write_line(line: fmt::Arguments<'_>) -> Result<(), Failure> {
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{line}").map_err(Failure::Output)
}

/// Writes one line of data on stdout: `outln!("{x}")?`.
macro_rules! outln {
    () => {
        $crate::output::write_line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::output::write_line(format_args!($($arg)*))
    };
}
pub(crate) use outln;

/// Flushes stdout at the end, so a late write error is reported, not lost.
pub fn flush() -> Result<(), Failure> {
    io::stdout().flush().map_err(Failure::Output)
}

/// A notice or error on stderr, prefixed `discrec: `. Write errors are ignored: stderr is
/// where they would be reported.
pub fn notice(message: fmt::Arguments<'_>) {
    let mut stderr = io::stderr().lock();
    let _ = writeln!(stderr, "discrec: {message}");
}

/// `value` as one line of JSON.
pub fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value)
        .expect("output structs hold only strings, numbers, booleans, lists and string-keyed maps")
}

/// Writes `value` as one line of JSON on stdout.
pub fn print_json<T: Serialize>(value: &T) -> Result<(), Failure> {
    write_line(format_args!("{}", to_json(value)))
}

/// Writes `value` as one line of JSON on stderr (for `lock`, whose stdout is COMMAND's, and
/// for errors). Write errors are ignored, as for [`notice`].
pub fn eprint_json<T: Serialize>(value: &T) {
    let mut stderr = io::stderr().lock();
    let _ = writeln!(stderr, "{}", to_json(value));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io_error(hresult: HResult, errno: i32) -> Error {
        Error::new(hresult, "x").with_source(io::Error::from_raw_os_error(errno))
    }

    #[test]
    fn every_hresult_has_an_exit_status_from_the_table() {
        let table = [0, 1, 9, 64, 66, 71, 74, 77];
        for h in HResult::ALL {
            let s = exit_status(&Error::new(h, "x"), 9);
            assert!(table.contains(&s) && s != 0, "{h}: {s}");
        }
    }

    #[test]
    fn access_denied_is_a_conflict_unless_the_errno_says_permission() {
        let busy = Error::new(HResult::EAccessDenied, "held by x");
        assert_eq!(exit_status(&busy, 1), 1);
        assert_eq!(exit_status(&busy, 9), 9);
        assert_eq!(exit_status(&io_error(HResult::EAccessDenied, 16), 1), 1);
        assert_eq!(exit_status(&io_error(HResult::EAccessDenied, 13), 1), 77);
        assert_eq!(exit_status(&io_error(HResult::EAccessDenied, 1), 9), 77);
        assert_eq!(exit_status(&Error::new(HResult::RecorderLocked, "x"), 9), 9);
    }

    #[test]
    fn the_rest_of_the_table() {
        let s = |h| exit_status(&Error::new(h, "x"), 1);
        assert_eq!(s(HResult::EInvalidArg), 64);
        assert_eq!(s(HResult::ClientNameIsNotValid), 64);
        assert_eq!(s(HResult::DevNotExist), 66);
        assert_eq!(s(HResult::RecorderCommandTimeout), 74);
        assert_eq!(s(HResult::InvalidResponseFromDevice), 74);
        assert_eq!(s(HResult::EFail), 71);
        assert_eq!(s(HResult::EOutOfMemory), 71);
        assert_eq!(exit_status(&io_error(HResult::EFail, 5), 1), 74);
        assert_eq!(s(HResult::Df2DataStreamTooLargeForCurrentMedia), 74);
        assert_eq!(s(HResult::BurnVerificationFailed), 74);
        assert_eq!(s(HResult::Df2DataClientNameIsNotValid), 64);
        assert_eq!(
            exit_status(&Error::new(HResult::EraseRecorderInUse, "x"), 9),
            9
        );
        assert_eq!(s(HResult::RequestCancelled), 71);
    }
}
