//! The UIO device of a TCMU backstore: finding `/dev/uioN` by the name the kernel gives it
//! (`tcm-user/HBA/NAME/CONFIG`), the size of its map 0, waiting for the kernel's "new
//! commands" interrupt and telling it "completions ready".
//!
//! Owns the device's file descriptor. It must not touch the map's contents (that is
//! [`crate::shm`] and [`crate::ring`]) nor configfs ([`crate::lio`]).

use std::fs;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::fs::{open, Mode, OFlags};

/// Where the kernel lists UIO devices.
pub const SYSFS_UIO: &str = "/sys/class/uio";

/// An open UIO device.
#[derive(Debug)]
pub struct UioDevice {
    index: u32,
    fd: OwnedFd,
    map_size: usize,
}

/// The index N of the `uioN` whose name ends in `/NAME/CONFIG` and starts with `tcm-user/`
/// (the kernel's `tcm-user/HBA_ID/NAME/CONFIG`), if there is one.
pub fn find(name: &str, config: &str) -> io::Result<Option<u32>> {
    let suffix = format!("/{name}/{config}");
    let ctx = |e: io::Error| io::Error::new(e.kind(), format!("{SYSFS_UIO}: {e}"));
    for e in fs::read_dir(SYSFS_UIO).map_err(ctx)? {
        let e = e.map_err(ctx)?;
        let file = e.file_name();
        let Some(index) = file
            .to_str()
            .and_then(|f| f.strip_prefix("uio"))
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(dev_name) = fs::read_to_string(e.path().join("name")) else {
            continue;
        };
        let dev_name = dev_name.trim_end_matches('\n');
        if dev_name.starts_with("tcm-user/") && dev_name.ends_with(&suffix) {
            return Ok(Some(index));
        }
    }
    Ok(None)
}

/// Parses a sysfs map size (`0x...` hexadecimal, or decimal).
pub fn parse_size(text: &str) -> Option<usize> {
    let t = text.trim();
    match t.strip_prefix("0x") {
        Some(hex) => usize::from_str_radix(hex, 16).ok(),
        None => t.parse().ok(),
    }
}

impl UioDevice {
    /// Opens `/dev/uioN` read-write and reads the size of its map 0 from sysfs.
    pub fn open(index: u32) -> io::Result<UioDevice> {
        let size_path = format!("{SYSFS_UIO}/uio{index}/maps/map0/size");
        let text = fs::read_to_string(&size_path)?;
        let map_size = parse_size(&text)
            .ok_or_else(|| io::Error::other(format!("{size_path}: not a size: {text:?}")))?;
        let dev = format!("/dev/uio{index}");
        let fd = open(
            Path::new(&dev),
            OFlags::RDWR | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| io::Error::new(e.kind(), format!("{dev}: {e}")))?;
        Ok(UioDevice {
            index,
            fd,
            map_size,
        })
    }

    /// N of `/dev/uioN`.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// Size of map 0 in bytes.
    pub fn map_size(&self) -> usize {
        self.map_size
    }

    /// Waits up to `timeout` for the kernel's interrupt (new commands) and consumes it; true
    /// if there was one. Interrupted by a signal: false.
    pub fn wait(&self, timeout: Duration) -> io::Result<bool> {
        let mut fds = [PollFd::new(&self.fd, PollFlags::IN)];
        let ts = Timespec {
            tv_sec: timeout.as_secs() as i64,
            tv_nsec: i64::from(timeout.subsec_nanos()),
        };
        match poll(&mut fds, Some(&ts)) {
            Ok(0) => Ok(false),
            Ok(_) => {
                let mut count = [0u8; 4];
                rustix::io::read(&self.fd, &mut count)?;
                Ok(true)
            }
            Err(rustix::io::Errno::INTR) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Tells the kernel that completions are ready (a 4-byte write: UIO's irqcontrol, which
    /// TCMU answers by reading the tail).
    pub fn kick(&self) -> io::Result<()> {
        rustix::io::write(&self.fd, &0u32.to_ne_bytes())?;
        Ok(())
    }
}

impl AsFd for UioDevice {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn map_sizes_are_read_as_sysfs_prints_them() {
        assert_eq!(parse_size("0x40800000\n"), Some(0x4080_0000));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("0xZZ"), None);
    }
}
