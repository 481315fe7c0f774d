//! Moving SCSI commands to a device: the kernel's `SG_IO`, or the emulated MMC drive.
//!
//! Owns the [`Transport`] trait and its two implementations. A transport only moves bytes and
//! turns transport-level failures into HRESULTs (timeout, vanished device, no permission, not a
//! SCSI device); what the bytes mean is [`crate::mmc`]'s business.

use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::Duration;

use discrecorder_mmc::emulator::Outcome;

use crate::emu;
use crate::error::{errno_text, libc_errno, Error, HResult, Result};
pub(crate) use crate::sys::sg::Data;

/// What the device answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// SCSI status: 0 GOOD, 2 CHECK CONDITION.
    pub status: u8,
    /// Sense bytes, when the status is CHECK CONDITION.
    pub sense: Vec<u8>,
    /// Data bytes transferred.
    pub transferred: usize,
}

/// Sends one command and returns the device's answer.
pub trait Transport: Send + std::fmt::Debug {
    /// Executes `cdb` with its data phase, giving up after `timeout`.
    fn execute(&mut self, cdb: &[u8], data: Data<'_>, timeout: Duration) -> Result<Reply>;
}

/// `SG_IO` on a descriptor of the block device (the one holding the claim when there is one).
#[derive(Debug)]
pub struct SgTransport {
    fd: Arc<OwnedFd>,
    device: String,
}

impl SgTransport {
    /// A transport over `fd`, a descriptor of `device`.
    pub fn new(fd: Arc<OwnedFd>, device: &str) -> SgTransport {
        SgTransport {
            fd,
            device: device.to_owned(),
        }
    }
}

impl Transport for SgTransport {
    fn execute(&mut self, cdb: &[u8], data: Data<'_>, timeout: Duration) -> Result<Reply> {
        let reply = crate::sys::sg::execute(&*self.fd, cdb, data, timeout).map_err(|e| {
            let text = errno_text(&e);
            match e.raw_os_error() {
                Some(25) | Some(libc_errno::EINVAL) => Error::new(
                    HResult::EFail,
                    format!(
                        "{} is not an MMC device: it does not accept SCSI commands (SG_IO: {text})",
                        self.device
                    ),
                ),
                Some(libc_errno::EACCES) | Some(libc_errno::EPERM) => Error::permission_denied(
                    format!(
                        "{} refused the command (SG_IO: {text}): commands that change the drive need it opened read-write",
                        self.device
                    ),
                ),
                Some(libc_errno::ETIMEDOUT) => Error::new(
                    HResult::RecorderCommandTimeout,
                    format!("{}: command 0x{:02X} timed out", self.device, cdb[0]),
                ),
                _ => Error::from_io(e, &self.device, "SG_IO on"),
            }
        })?;
        if reply.timed_out() {
            return Err(Error::new(
                HResult::RecorderCommandTimeout,
                format!(
                    "{}: command 0x{:02X} did not complete within {} ms",
                    self.device,
                    cdb[0],
                    timeout.as_millis()
                ),
            ));
        }
        if reply.host_status != 0 && reply.status == 0 {
            // DID_NO_CONNECT (1), DID_BAD_TARGET (4): the device went away under us.
            if matches!(reply.host_status, 0x01 | 0x04) {
                return Err(Error::new(
                    HResult::DevNotExist,
                    format!("{} is no longer connected", self.device),
                ));
            }
            return Err(Error::new(
                HResult::EFail,
                format!(
                    "{}: command 0x{:02X} failed in the host adapter (host status 0x{:02X})",
                    self.device, cdb[0], reply.host_status
                ),
            ));
        }
        Ok(Reply {
            status: reply.status,
            sense: reply.sense,
            transferred: reply.transferred,
        })
    }
}

/// The emulated MMC drive of `emu:NAME`: its state lives in the backing file (JSON), so every
/// process sees the same tray, medium and events; commands run here, in the caller's process.
#[derive(Debug)]
pub struct EmuTransport {
    backing: emu::Backing,
    device: String,
}

impl EmuTransport {
    /// The drive whose state is in `backing`.
    pub(crate) fn new(backing: emu::Backing, device: &str) -> EmuTransport {
        EmuTransport {
            backing,
            device: device.to_owned(),
        }
    }
}

impl Transport for EmuTransport {
    fn execute(&mut self, cdb: &[u8], data: Data<'_>, timeout: Duration) -> Result<Reply> {
        let data_out: &[u8] = match &data {
            Data::Out(buf) => buf,
            _ => &[],
        };
        // The state lock is held for microseconds by a well-behaved process: wait for it no
        // longer than the command's timeout, and no longer than emu::STATE_LOCK_WAIT.
        let wait = timeout.min(emu::STATE_LOCK_WAIT);
        let outcome = emu::with_state(&self.backing, &self.device, wait, |s| {
            s.execute(cdb, data_out)
        })?;
        match outcome {
            Outcome::Hang => {
                // A command that never completes: the host gives up after its timeout.
                std::thread::sleep(timeout);
                Err(Error::new(
                    HResult::RecorderCommandTimeout,
                    format!(
                        "{}: command 0x{:02X} did not complete within {} ms",
                        self.device,
                        cdb.first().copied().unwrap_or(0),
                        timeout.as_millis()
                    ),
                ))
            }
            Outcome::Vanished => Err(Error::new(
                HResult::DevNotExist,
                format!("{} stopped answering: the device is gone", self.device),
            )),
            Outcome::Reply(r) => {
                let transferred = match data {
                    Data::In(buf) => {
                        let n = r.data.len().min(buf.len());
                        buf[..n].copy_from_slice(&r.data[..n]);
                        n
                    }
                    Data::Out(buf) => buf.len(),
                    Data::None => 0,
                };
                Ok(Reply {
                    status: r.status,
                    sense: r.sense,
                    transferred,
                })
            }
        }
    }
}
