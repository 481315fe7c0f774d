//! Running one SCSI command on a device and turning its answer into the library's errors.
//!
//! Owns choosing the transport for a device (the held descriptor of this process, a fresh one,
//! or the emulated drive), retrying after a unit attention, and mapping SCSI status and sense
//! data to HRESULTs while keeping the raw sense key, ASC and ASCQ (SPC-4 4.5 "Sense data",
//! SAM-5 5.3 "Status"). It knows nothing of counts, owners or the public recorder API; byte
//! layouts are `discrecorder_mmc`'s, moving the bytes is [`crate::transport`]'s.

use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::Duration;

use discrecorder_mmc::codes::{sense_key, status};
use discrecorder_mmc::sense::SenseData;
use discrecorder_mmc::unit::test_unit_ready;
use discrecorder_mmc::{Command, DataDirection};
use rustix::fs::{Mode, OFlags};

use crate::device::{Device, DeviceKind};
use crate::error::{Error, HResult, Result, Sense};
use crate::registry;
use crate::transport::{Data, EmuTransport, SgTransport, Transport};

/// How long one SCSI command may take unless the recorder is told otherwise (`Recorder::set_command_timeout`).
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// Which bytes a command needs the transport for: reading only, or changing the drive.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Queries: a read-only descriptor will do.
    Read,
    /// Commands that change the drive (tray, medium): a read-write descriptor.
    Change,
}

/// The transport for commands to `device`: over `fd` if given, else over the descriptor a
/// recorder of this process holds it with, else over a new descriptor (nobody here holds it).
pub(crate) fn transport_for(
    device: &Device,
    fd: Option<Arc<OwnedFd>>,
    access: Access,
) -> Result<Box<dyn Transport>> {
    match device.kind() {
        DeviceKind::Emulated { .. } => match device.backing() {
            Some(b) => Ok(Box::new(EmuTransport::new(b.clone(), device.spec()))),
            None => Err(Error::new(
                HResult::DevNotExist,
                format!(
                    "{}: an emulated device without a backing file",
                    device.spec()
                ),
            )),
        },
        DeviceKind::Block { .. } => {
            let fd = match fd.or_else(|| registry::local_io_fd(device.key())) {
                Some(fd) => fd,
                None => {
                    // Nobody in this process holds the device, so opening and closing a
                    // descriptor here cannot drop a POSIX lock of ours.
                    let base = OFlags::NONBLOCK | OFlags::CLOEXEC;
                    let first = if access == Access::Change {
                        OFlags::RDWR
                    } else {
                        OFlags::RDONLY
                    };
                    Arc::new(
                        rustix::fs::open(device.path(), base | first, Mode::empty())
                            .map_err(|e| Error::from_io(e.into(), device.spec(), "cannot open"))?,
                    )
                }
            };
            Ok(Box::new(SgTransport::new(fd, device.spec())))
        }
    }
}

/// Runs `cmd`; GOOD gives the data, CHECK CONDITION an error from the sense (mapped by `map`).
pub(crate) fn run<const N: usize>(
    t: &mut dyn Transport,
    cmd: &Command<N>,
    timeout: Duration,
    device: &str,
    what: &str,
    map: fn(&SenseData) -> Option<HResult>,
) -> Result<Vec<u8>> {
    run_with(t, cmd, &[], timeout, device, what, map)
}

/// [`run`] for a command with a data-out phase: `payload` is sent to the device (its length is
/// the command's parameter length). For commands without one, `payload` is ignored.
pub(crate) fn run_with<const N: usize>(
    t: &mut dyn Transport,
    cmd: &Command<N>,
    payload: &[u8],
    timeout: Duration,
    device: &str,
    what: &str,
    map: fn(&SenseData) -> Option<HResult>,
) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; cmd.allocation_length() as usize];
    // A unit attention (medium changed, reset) reports an event, not a failure of this
    // command: like the kernel's own drivers, send the command again, a bounded number of times.
    let mut attempts = 0;
    let reply = loop {
        let data = match cmd.direction {
            DataDirection::FromDevice { .. } => Data::In(&mut buf),
            DataDirection::ToDevice { .. } => Data::Out(payload),
            DataDirection::None => Data::None,
        };
        let reply = t.execute(cmd.as_bytes(), data, timeout)?;
        attempts += 1;
        let unit_attention = reply.status == status::CHECK_CONDITION
            && SenseData::parse(&reply.sense)
                .is_ok_and(|s| s.key.code() == sense_key::UNIT_ATTENTION);
        if !unit_attention || attempts >= 4 {
            break reply;
        }
    };
    match reply.status {
        status::GOOD => {
            buf.truncate(reply.transferred.min(buf.len()));
            Ok(buf)
        }
        status::CHECK_CONDITION => Err(sense_error(&reply.sense, device, what, map)),
        status::BUSY => Err(Error::new(
            HResult::MediaBecomingReady,
            format!("{device}: {what}: the drive is busy (SCSI status BUSY)"),
        )),
        other => Err(Error::new(
            HResult::InvalidResponseFromDevice,
            format!("{device}: {what}: unexpected SCSI status 0x{other:02X}"),
        )),
    }
}

fn sense_error(
    raw: &[u8],
    device: &str,
    what: &str,
    map: fn(&SenseData) -> Option<HResult>,
) -> Error {
    let Ok(sense) = SenseData::parse(raw) else {
        return Error::new(
            HResult::InvalidResponseFromDevice,
            format!(
                "{device}: {what} failed and its sense data ({} bytes) could not be read",
                raw.len()
            ),
        );
    };
    let hresult = map(&sense).unwrap_or(HResult::EFail);
    Error::new(
        hresult,
        format!(
            "{device}: {what} failed: sense key 0x{:X}, ASC 0x{:02X}, ASCQ 0x{:02X} ({:?})",
            sense.key.code(),
            sense.asc,
            sense.ascq,
            sense.condition()
        ),
    )
    .with_sense(Sense {
        key: sense.key.code(),
        asc: sense.asc,
        ascq: sense.ascq,
    })
}

/// `E_IMAPI_RECORDER_INVALID_RESPONSE_FROM_DEVICE` for an answer that cannot be decoded.
pub(crate) fn parse_error(device: &str, what: &str, e: discrecorder_mmc::ParseError) -> Error {
    Error::new(HResult::from(&e), format!("{device}: {what}: {e}"))
}

/// After an acquire: does the drive answer at all within the timeout? Any status will do.
pub(crate) fn probe_answers(device: &Device, fd: Arc<OwnedFd>, timeout: Duration) -> Result<()> {
    let mut t = transport_for(device, Some(fd), Access::Read)?;
    t.execute(test_unit_ready().as_bytes(), Data::None, timeout)
        .map(drop)
}
