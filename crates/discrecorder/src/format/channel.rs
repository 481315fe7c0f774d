//! The writing layer's line to the drive: one transport, the command timeout, and the waiting
//! rules of long operations.
//!
//! Owns retrying a command the drive refused because it is busy finishing earlier work (NOT
//! READY 04/07 or 04/08, "long write in progress": libburn and growisofs wait and send it again)
//! and polling a long operation (BLANK, FORMAT UNIT, CLOSE with Immed) with TEST UNIT READY and
//! REQUEST SENSE's progress indication until the drive is ready. Byte layouts are
//! `discrecorder_mmc`'s, the sense-to-HRESULT table is [`crate::error`]'s; it must not decide
//! what to write.

use std::time::{Duration, Instant};

use discrecorder_mmc::sense::request_sense;
use discrecorder_mmc::unit::test_unit_ready;
use discrecorder_mmc::write::sense_progress;
use discrecorder_mmc::Command;

use crate::error::{Error, HResult, Result};
use crate::format::progress::CancelToken;
use crate::scsi;
use crate::transport::Transport;

/// How long the drive may stay busy (long write in progress, closing, formatting) before the
/// operation gives up: real drives close a DVD-R session in minutes, format a BD-RE in about
/// an hour.
pub(crate) const LONG_OPERATION: Duration = Duration::from_secs(3600);

pub(crate) struct Channel {
    t: Box<dyn Transport>,
    timeout: Duration,
    device: String,
    /// Pause between two polls of a busy drive.
    poll: Duration,
    /// How long a busy drive may stay busy.
    pub(crate) busy_limit: Duration,
}

impl Channel {
    pub(crate) fn new(
        t: Box<dyn Transport>,
        timeout: Duration,
        device: &str,
        emulated: bool,
    ) -> Self {
        Channel {
            t,
            timeout,
            device: device.to_owned(),
            // An emulated drive answers at once; a real one is polled as libburn does.
            poll: if emulated {
                Duration::from_millis(5)
            } else {
                Duration::from_millis(300)
            },
            busy_limit: LONG_OPERATION,
        }
    }

    pub(crate) fn device(&self) -> &str {
        &self.device
    }

    /// One command; sense mapped by the writing table.
    pub(crate) fn once<const N: usize>(
        &mut self,
        cmd: &Command<N>,
        payload: &[u8],
        what: &str,
    ) -> Result<Vec<u8>> {
        scsi::run_with(
            self.t.as_mut(),
            cmd,
            payload,
            self.timeout,
            &self.device,
            what,
            HResult::for_write_sense,
        )
    }

    /// A query whose failure is only interesting as "not available".
    pub(crate) fn query<const N: usize>(
        &mut self,
        cmd: &Command<N>,
        what: &str,
    ) -> Result<Vec<u8>> {
        self.once(cmd, &[], what)
    }

    /// A command sent again while the drive says it is busy (04/07, 04/08) or becoming
    /// ready, after waiting for it; `cancel` is looked at between tries.
    pub(crate) fn send<const N: usize>(
        &mut self,
        cmd: &Command<N>,
        payload: &[u8],
        what: &str,
        cancel: Option<&CancelToken>,
    ) -> Result<Vec<u8>> {
        let start = Instant::now();
        loop {
            match self.once(cmd, payload, what) {
                Err(e) if is_busy(&e) => {
                    if start.elapsed() > self.busy_limit {
                        return Err(e);
                    }
                    if cancel.is_some_and(CancelToken::is_cancelled) {
                        return Err(cancelled(&self.device, what));
                    }
                    std::thread::sleep(self.poll);
                }
                other => return other,
            }
        }
    }

    /// Polls TEST UNIT READY until the drive is ready, reporting REQUEST SENSE's progress
    /// (65536ths) while it is busy. Gives up after `limit` with `E_IMAPI_RECORDER_MEDIA_BUSY`
    /// (the caller may map it to its own code).
    pub(crate) fn wait_ready(
        &mut self,
        limit: Duration,
        mut on_progress: impl FnMut(Option<u16>),
    ) -> Result<()> {
        let start = Instant::now();
        loop {
            match self.once(&test_unit_ready(), &[], "TEST UNIT READY") {
                Ok(_) => return Ok(()),
                Err(e) if is_busy(&e) || e.hresult() == HResult::MediaFormatInProgress => {
                    let raw = self
                        .once(&request_sense(18, false), &[], "REQUEST SENSE")
                        .ok();
                    on_progress(raw.as_deref().and_then(sense_progress));
                    if start.elapsed() > limit {
                        return Err(Error::new(
                            HResult::MediaBusy,
                            format!(
                                "{}: the drive was still busy after {} s",
                                self.device,
                                limit.as_secs()
                            ),
                        ));
                    }
                    std::thread::sleep(self.poll);
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// Whether the drive refused a command only because it is busy or becoming ready.
pub(crate) fn is_busy(e: &Error) -> bool {
    matches!(
        e.hresult(),
        HResult::MediaBusy | HResult::MediaBecomingReady
    )
}

/// `E_IMAPI_REQUEST_CANCELLED` for an operation stopped at `what`.
pub(crate) fn cancelled(device: &str, what: &str) -> Error {
    Error::new(
        HResult::RequestCancelled,
        format!("{device}: cancelled at {what}"),
    )
}
