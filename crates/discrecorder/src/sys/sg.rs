//! `SG_IO`: one SCSI command through a block or sg device descriptor.
//!
//! Owns the `sg_io_hdr` layout and the one `unsafe` ioctl call of the crate. It moves bytes and
//! reports what the kernel said; interpreting status and sense is the caller's job.
//!
//! # References
//! - `include/uapi/scsi/sg.h` (`struct sg_io_hdr`, `SG_IO` = 0x2285, `SG_DXFER_*`).
//! - `block/scsi_ioctl.c`: on a block device, unprivileged callers may send read-type commands
//!   on any descriptor and write-safe ones (START STOP UNIT, PREVENT ALLOW) only on one opened
//!   for writing.
#![allow(unsafe_code)]

use std::os::fd::AsFd;
use std::time::Duration;

const SG_IO: rustix::ioctl::Opcode = 0x2285;
const SG_DXFER_NONE: i32 = -1;
const SG_DXFER_TO_DEV: i32 = -2;
const SG_DXFER_FROM_DEV: i32 = -3;

/// `struct sg_io_hdr` from `<scsi/sg.h>`.
#[repr(C)]
struct SgIoHdr {
    interface_id: i32,
    dxfer_direction: i32,
    cmd_len: u8,
    mx_sb_len: u8,
    iovec_count: u16,
    dxfer_len: u32,
    dxferp: *mut u8,
    cmdp: *const u8,
    sbp: *mut u8,
    timeout: u32,
    flags: u32,
    pack_id: i32,
    usr_ptr: *mut u8,
    status: u8,
    masked_status: u8,
    msg_status: u8,
    sb_len_wr: u8,
    host_status: u16,
    driver_status: u16,
    resid: i32,
    duration: u32,
    info: u32,
}

/// The data phase of a command.
pub enum Data<'a> {
    /// No data.
    None,
    /// Data from the device into this buffer.
    In(&'a mut [u8]),
    /// Data from this buffer to the device.
    Out(&'a [u8]),
}

/// What the kernel reported for one command.
#[derive(Debug, Clone)]
pub struct SgReply {
    /// SCSI status byte (0 GOOD, 2 CHECK CONDITION).
    pub status: u8,
    /// Sense bytes written by the device.
    pub sense: Vec<u8>,
    /// Bytes actually transferred.
    pub transferred: usize,
    /// Host adapter status (`DID_*`; 3 is `DID_TIME_OUT`).
    pub host_status: u16,
    /// Driver status (`DRIVER_*`; 6 is `DRIVER_TIMEOUT`).
    pub driver_status: u16,
}

impl SgReply {
    /// Whether the kernel gave up on the command after the timeout.
    pub fn timed_out(&self) -> bool {
        self.host_status == 0x03 || (self.driver_status & 0x0f) == 0x06
    }
}

/// Sends `cdb` with `data` through `fd`, giving up after `timeout`.
pub fn execute(
    fd: impl AsFd,
    cdb: &[u8],
    data: Data<'_>,
    timeout: Duration,
) -> std::io::Result<SgReply> {
    if cdb.is_empty() || cdb.len() > 16 {
        return Err(std::io::Error::from(std::io::ErrorKind::InvalidInput));
    }
    let mut sense = [0u8; 64];
    let (direction, ptr, len) = match data {
        Data::None => (SG_DXFER_NONE, std::ptr::null_mut(), 0usize),
        Data::In(buf) => (SG_DXFER_FROM_DEV, buf.as_mut_ptr(), buf.len()),
        Data::Out(buf) => (SG_DXFER_TO_DEV, buf.as_ptr().cast_mut(), buf.len()),
    };
    let mut hdr = SgIoHdr {
        interface_id: i32::from(b'S'),
        dxfer_direction: direction,
        cmd_len: cdb.len() as u8,
        mx_sb_len: sense.len() as u8,
        iovec_count: 0,
        dxfer_len: u32::try_from(len)
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?,
        dxferp: ptr,
        cmdp: cdb.as_ptr(),
        sbp: sense.as_mut_ptr(),
        timeout: u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX - 1),
        flags: 0,
        pack_id: 0,
        usr_ptr: std::ptr::null_mut(),
        status: 0,
        masked_status: 0,
        msg_status: 0,
        sb_len_wr: 0,
        host_status: 0,
        driver_status: 0,
        resid: 0,
        duration: 0,
        info: 0,
    };
    // SAFETY: SG_IO takes a `struct sg_io_hdr`, which `SgIoHdr` reproduces field for field. Every
    // pointer in it refers to memory that outlives the call: `cdb` (read), `sense` (written, up
    // to `mx_sb_len` bytes) and the data buffer (read or written, up to `dxfer_len` bytes, which
    // is its length). The ioctl is synchronous, so nothing is touched after it returns.
    unsafe {
        rustix::ioctl::ioctl(fd, rustix::ioctl::Updater::<SG_IO, SgIoHdr>::new(&mut hdr))?;
    }
    let sense_len = usize::from(hdr.sb_len_wr).min(sense.len());
    let resid = usize::try_from(hdr.resid.max(0)).unwrap_or(0);
    Ok(SgReply {
        status: hdr.status,
        sense: sense[..sense_len].to_vec(),
        transferred: len.saturating_sub(resid),
        host_status: hdr.host_status,
        driver_status: hdr.driver_status,
    })
}
