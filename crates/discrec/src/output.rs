//! What every subcommand shares: printing results (text or JSON, always through serde structs)
//! and printing errors. It owns the shape of the error object; it must not call the library
//! beyond reading an [`Error`]'s fields.

use std::io::Write;

use discrecorder::Error;
use serde::Serialize;

/// An error of discrec itself, as printed under `--json`.
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

/// Prints `err` on stderr: one line of text, or one JSON object.
pub fn print_error(json: bool, err: &Error) {
    let mut stderr = std::io::stderr().lock();
    if json {
        let e = ErrorOutput {
            error: JsonError {
                hresult: format!("0x{:08X}", err.code()),
                name: err.name(),
                meaning: err.meaning(),
                context: err.context(),
            },
        };
        let _ = writeln!(stderr, "{}", to_json(&e));
    } else {
        let _ = writeln!(stderr, "{err}");
    }
}

/// `value` as one line of JSON.
pub fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value)
        .expect("output structs hold only strings, numbers, booleans, lists and string-keyed maps")
}

/// Prints `value` as one line of JSON on stdout.
pub fn print_json<T: Serialize>(value: &T) {
    println!("{}", to_json(value));
}

/// Prints `value` as one line of JSON on stderr (for `lock`, whose stdout is COMMAND's).
pub fn eprint_json<T: Serialize>(value: &T) {
    eprintln!("{}", to_json(value));
}
