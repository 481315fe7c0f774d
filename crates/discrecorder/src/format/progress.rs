//! What a write or an erase tells its caller while it runs, and how the caller stops it: IMAPI2's
//! `IMAPI_FORMAT2_DATA_WRITE_ACTION` values, the progress record, and a cloneable cancel token.
//!
//! Owns these value types only; it must not run commands or print.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

/// What the writer is doing (`IMAPI_FORMAT2_DATA_WRITE_ACTION`, same values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Action {
    /// 0: reading the medium's state and checking the image fits.
    ValidatingMedia,
    /// 1: formatting (DVD+RW, BD-RE) or blanking (the eraser).
    FormattingMedia,
    /// 2: setting the drive up (write parameters, speed).
    InitializingHardware,
    /// 3: the drive calibrates its laser power (optimum power calibration).
    CalibratingPower,
    /// 4: sending the data.
    WritingData,
    /// 5: flushing the drive's cache, closing the track and the session.
    Finalization,
    /// 6: done.
    Completed,
    /// 7: reading the written sectors back.
    Verifying,
}

impl Action {
    /// The IMAPI2 value.
    pub const fn code(self) -> u32 {
        match self {
            Action::ValidatingMedia => 0,
            Action::FormattingMedia => 1,
            Action::InitializingHardware => 2,
            Action::CalibratingPower => 3,
            Action::WritingData => 4,
            Action::Finalization => 5,
            Action::Completed => 6,
            Action::Verifying => 7,
        }
    }

    /// IMAPI2's name, for example `IMAPI_FORMAT2_DATA_WRITE_ACTION_WRITING_DATA`.
    pub const fn imapi_name(self) -> &'static str {
        match self {
            Action::ValidatingMedia => "IMAPI_FORMAT2_DATA_WRITE_ACTION_VALIDATING_MEDIA",
            Action::FormattingMedia => "IMAPI_FORMAT2_DATA_WRITE_ACTION_FORMATTING_MEDIA",
            Action::InitializingHardware => "IMAPI_FORMAT2_DATA_WRITE_ACTION_INITIALIZING_HARDWARE",
            Action::CalibratingPower => "IMAPI_FORMAT2_DATA_WRITE_ACTION_CALIBRATING_POWER",
            Action::WritingData => "IMAPI_FORMAT2_DATA_WRITE_ACTION_WRITING_DATA",
            Action::Finalization => "IMAPI_FORMAT2_DATA_WRITE_ACTION_FINALIZATION",
            Action::Completed => "IMAPI_FORMAT2_DATA_WRITE_ACTION_COMPLETED",
            Action::Verifying => "IMAPI_FORMAT2_DATA_WRITE_ACTION_VERIFYING",
        }
    }

    /// A short word for people: `writing`, `verifying`, ...
    pub const fn word(self) -> &'static str {
        match self {
            Action::ValidatingMedia => "validating",
            Action::FormattingMedia => "formatting",
            Action::InitializingHardware => "initializing",
            Action::CalibratingPower => "calibrating",
            Action::WritingData => "writing",
            Action::Finalization => "finalizing",
            Action::Completed => "completed",
            Action::Verifying => "verifying",
        }
    }
}

/// One progress report (`IDiscFormat2DataEventArgs`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Progress {
    /// What is being done.
    pub action: Action,
    /// First sector of the write (`StartLba`).
    pub start_lba: u32,
    /// Sectors in the write (`SectorCount`).
    pub sector_count: u32,
    /// The last sector sent, or read back while verifying (`LastWrittenLba`); below
    /// `start_lba` before the first one.
    pub last_written_lba: u32,
    /// Sectors done in this action (written, read back, or 65536ths of a long operation scaled
    /// to `sector_count`).
    pub done: u64,
    /// Time since the operation began (`ElapsedTime`).
    #[serde(serialize_with = "secs")]
    pub elapsed: Duration,
    /// Estimated time left in this action (`RemainingTime`), once it can be estimated.
    #[serde(serialize_with = "opt_secs")]
    pub remaining: Option<Duration>,
    /// The drive's buffer fill in percent (READ BUFFER CAPACITY, sampled), when known.
    pub buffer_percent: Option<u8>,
}

impl Progress {
    /// Percent of this action done, 0 to 100.
    pub fn percent(&self) -> u8 {
        if self.sector_count == 0 {
            return if self.action == Action::Completed {
                100
            } else {
                0
            };
        }
        (self.done.min(u64::from(self.sector_count)) * 100 / u64::from(self.sector_count)) as u8
    }
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}

fn opt_secs<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => secs(d, s),
        None => s.serialize_none(),
    }
}

/// Stops a running write or erase from another thread (or a signal handler's thread): the
/// operation ends with `E_IMAPI_REQUEST_CANCELLED` at its next step, leaving the drive
/// released. Clones share the flag.
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token not yet cancelled.
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// Asks the operation to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether cancellation was asked for.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// The shared flag, for `signal_hook::flag::register` and the like.
    pub fn flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_have_imapi2_values_in_order() {
        let all = [
            Action::ValidatingMedia,
            Action::FormattingMedia,
            Action::InitializingHardware,
            Action::CalibratingPower,
            Action::WritingData,
            Action::Finalization,
            Action::Completed,
            Action::Verifying,
        ];
        for (i, a) in all.iter().enumerate() {
            assert_eq!(a.code(), i as u32, "{a:?}");
        }
        assert!(Action::WritingData.imapi_name().ends_with("WRITING_DATA"));
    }

    #[test]
    fn a_cancel_reaches_every_clone() {
        let t = CancelToken::new();
        let c = t.clone();
        assert!(!c.is_cancelled());
        t.cancel();
        assert!(c.is_cancelled());
        assert!(c.flag().load(Ordering::SeqCst));
    }

    #[test]
    fn percent_is_bounded() {
        let p = Progress {
            action: Action::WritingData,
            start_lba: 0,
            sector_count: 10,
            last_written_lba: 0,
            done: 25,
            elapsed: Duration::ZERO,
            remaining: None,
            buffer_percent: None,
        };
        assert_eq!(p.percent(), 100);
        assert_eq!(
            Progress {
                done: 5,
                ..p.clone()
            }
            .percent(),
            50
        );
        assert_eq!(
            Progress {
                sector_count: 0,
                ..p
            }
            .percent(),
            0
        );
    }
}
