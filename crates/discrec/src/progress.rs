//! How burn, blank and format show a job's progress: an indicatif bar on a terminal (action,
//! percent, speed, time left, the drive's buffer), JSON lines of events with `--json`, nothing
//! otherwise. It owns that display and the event object; it must not call the library beyond
//! reading a [`Progress`].

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use discrecorder::format::{CancelToken, Progress};
use discrecorder::{Error, HResult};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::output;

/// SIGINT and SIGTERM cancel the job cleanly (through its [`CancelToken`]) instead of killing
/// discrec: the library releases the drive and reports the medium's state. The signal is
/// remembered, so that the exit status says which one ended the job (128 + N, as if discrec had
/// died of it, which is what shells and `timeout(1)` expect).
pub struct SignalCancel {
    token: CancelToken,
    signal: Arc<AtomicUsize>,
}

impl SignalCancel {
    /// Watches SIGINT and SIGTERM from now on.
    pub fn install() -> Result<SignalCancel, Error> {
        let token = CancelToken::new();
        let signal = Arc::new(AtomicUsize::new(0));
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            signal_hook::flag::register_usize(sig, signal.clone(), sig as usize)
                .and_then(|_| signal_hook::flag::register(sig, token.flag()))
                .map_err(|e| {
                    Error::new(HResult::EFail, format!("cannot watch for signals: {e}"))
                })?;
        }
        Ok(SignalCancel { token, signal })
    }

    /// The token the job is cancelled through.
    pub fn token(&self) -> CancelToken {
        self.token.clone()
    }

    /// The failure for `err`: a cancel caused by a signal is printed as the error it is
    /// (`E_IMAPI_REQUEST_CANCELLED` with the medium's state) and exits 128 + the signal.
    pub fn failure(&self, json: bool, err: Error) -> output::Failure {
        let sig = self.signal.load(Ordering::SeqCst);
        if err.hresult() == HResult::RequestCancelled && sig > 0 {
            output::print_error(json, &err);
            return output::Failure::Silent(u8::try_from(128 + sig).unwrap_or(u8::MAX));
        }
        err.into()
    }
}

/// One progress event as `--json` prints it (one object per line on stdout).
#[derive(Serialize)]
pub struct Event<'a> {
    /// Always `"progress"`.
    pub event: &'static str,
    pub device: &'a str,
    pub action: &'static str,
    pub action_code: Option<u32>,
    pub percent: u8,
    pub start_lba: u32,
    pub sector_count: u32,
    pub last_written_lba: u32,
    pub elapsed_s: f64,
    pub remaining_s: Option<f64>,
    pub buffer_percent: Option<u8>,
}

/// Where progress goes.
pub enum Display {
    Bar(ProgressBar),
    Json,
    Quiet,
}

impl Display {
    /// A bar on a terminal's stderr, JSON events with `--json`, else nothing.
    pub fn new(json: bool) -> Display {
        if json {
            Display::Json
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg:12} [{bar:32}] {percent:>3}% {binary_bytes_per_sec:>11} ETA {eta:>4} {prefix}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(250));
            Display::Bar(bar)
        } else {
            Display::Quiet
        }
    }

    /// Shows one report.
    pub fn show(&mut self, device: &str, p: &Progress) {
        match self {
            Display::Bar(bar) => {
                let total = u64::from(p.sector_count) * 2048;
                if bar.length() != Some(total) || bar.message() != p.action.describe() {
                    if bar.message() != p.action.describe() {
                        bar.reset();
                    }
                    bar.set_length(total);
                    bar.set_message(p.action.describe());
                }
                bar.set_position(p.done * 2048);
                bar.set_prefix(
                    p.buffer_percent
                        .map(|b| format!("buffer {b:>3}%"))
                        .unwrap_or_default(),
                );
            }
            Display::Json => {
                let line = output::to_json(&Event {
                    event: "progress",
                    device,
                    action: p.action.as_str(),
                    action_code: p.action.imapi_value(),
                    percent: p.percent(),
                    start_lba: p.start_lba,
                    sector_count: p.sector_count,
                    last_written_lba: p.last_written_lba,
                    elapsed_s: p.elapsed.as_secs_f64(),
                    remaining_s: p.remaining.map(|d| d.as_secs_f64()),
                    buffer_percent: p.buffer_percent,
                });
                // Progress lines are best effort: a closed stdout shows at the end.
                let _ = output::write_line(format_args!("{line}"));
                let _ = output::flush();
            }
            Display::Quiet => {}
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Display::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}
