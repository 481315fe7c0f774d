//! The cdrom layer's one ioctl the library needs: telling the kernel to look at the medium.
//!
//! Owns the `CDROM_MEDIA_CHANGED` call and its one `unsafe` block. It sends no SCSI command of
//! its own beyond what the kernel's `check_events` does, and must not be used on a device
//! that is not a CD/DVD/BD drive (the ioctl is the cdrom driver's).
//!
//! # References
//! - `drivers/cdrom/cdrom.c` (`cdrom_ioctl_media_changed`, `cdrom_update_events`): the driver
//!   asks the drive (`sr_check_events`: TEST UNIT READY) and keeps what it learned for the
//!   next open, whose `disk_check_media_change` then re-reads the capacity
//!   (`sr_revalidate_disk`).
//! - `include/uapi/linux/cdrom.h` (`CDROM_MEDIA_CHANGED`, `CDSL_CURRENT`).

#![allow(unsafe_code)]

use std::io;
use std::os::fd::AsFd;

/// `CDROM_MEDIA_CHANGED` from `linux/cdrom.h`.
const CDROM_MEDIA_CHANGED: rustix::ioctl::Opcode = 0x5325;
/// `CDSL_CURRENT`: the current slot (`INT_MAX`).
const CDSL_CURRENT: usize = i32::MAX as usize;

/// Asks the cdrom driver of `fd`'s drive whether the medium changed; the kernel records a
/// change it sees (a tray that was opened, a disc that came back) so that the next open of the
/// device re-reads its size. Only the side effect matters: the answer is dropped.
///
/// # Errors
/// The ioctl's errno: `ENOTTY` when `fd` is not a cdrom device, `ENOSYS` when the driver cannot
/// tell.
pub(crate) fn media_changed(fd: impl AsFd) -> io::Result<()> {
    // SAFETY: CDROM_MEDIA_CHANGED takes its argument by value (the slot number, here
    // CDSL_CURRENT) and writes nothing through it; the opcode is the cdrom driver's own, and on
    // any other device the kernel refuses it with ENOTTY.
    unsafe {
        rustix::ioctl::ioctl(
            fd,
            rustix::ioctl::IntegerSetter::<CDROM_MEDIA_CHANGED>::new_usize(CDSL_CURRENT),
        )?;
    }
    Ok(())
}
