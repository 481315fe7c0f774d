//! What a write or an erase tells its caller while it runs, and how the caller stops it: IMAPI2's
//! `IMAPI_FORMAT2_DATA_WRITE_ACTION` values, the progress record, and a cloneable cancel token.
//!
//! Owns these value types only; it must not run commands or print.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

/// What the writer is doing: the owner record's [`JobAction`] (IMAPI2's
/// `IMAPI_FORMAT2_DATA_WRITE_ACTION` values, plus erasing), so that what a caller is told and
/// what other processes see are one thing.
pub use crate::record::JobAction;

/// One progress report (`IDiscFormat2DataEventArgs`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Progress {
    /// What is being done.
    pub action: JobAction,
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
            return if self.action == JobAction::Completed {
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
        for (i, a) in JobAction::ALL.iter().take(8).enumerate() {
            assert_eq!(a.imapi_value(), Some(i as u32), "{a:?}");
        }
        assert!(JobAction::WritingData
            .imapi_name()
            .is_some_and(|n| n.ends_with("WRITING_DATA")));
        assert_eq!(JobAction::Erasing.imapi_value(), None);
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
            action: JobAction::WritingData,
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
