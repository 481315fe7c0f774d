//! Questions asked of a device node through descriptors of our own: which PID holds a POSIX
//! lock on it, whether another open file holds an exclusive `flock` on it (a shared one of ours
//! is refused), whether an exclusive (`O_EXCL`) opener holds the block device.
//!
//! Owns the crate's one `fcntl(F_GETLK)` call. Every function here opens or uses a descriptor
//! of the node, and closing any descriptor of a file drops every POSIX lock this process holds
//! on it: callers ask only about nodes this process holds no POSIX lock on.
//!
//! # References
//! - `fcntl(2)` (`F_GETLK`: "If the lock could be placed, ... returns F_UNLCK in l_type";
//!   an open file description lock reports `l_pid` -1), `flock(2)`, `open(2)` (`O_EXCL` on a
//!   block device: `EBUSY` when it is in use).

#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

use rustix::fs::{FlockOperation, Mode, OFlags};

/// Opens `path` read-only without side effects on a block device (`O_NONBLOCK`: no wait for a
/// medium), for asking the questions below.
pub fn open_probe(path: &Path) -> io::Result<OwnedFd> {
    Ok(rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// The holder of a POSIX or open-file-description lock on any part of the file that a write
/// lock over all of it would conflict with: `Some(pid)`, `Some(-1)` when the kernel names no
/// PID (an OFD lock), `None` when there is none. The kernel looks at this file's locks only,
/// however many other locks the system holds. Locks of this process never conflict with it.
pub fn posix_lock_holder(fd: impl AsFd) -> io::Result<Option<i32>> {
    // SAFETY: `struct flock` is plain integers, for which all-zero is a valid value.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as _;
    fl.l_whence = libc::SEEK_SET as _;
    fl.l_start = 0;
    fl.l_len = 0;
    // SAFETY: F_GETLK reads and writes one `struct flock`, which `fl` is, and keeps no pointer
    // to it after the call; `fd` is a valid descriptor for the call's duration.
    let rc = unsafe { libc::fcntl(fd.as_fd().as_raw_fd(), libc::F_GETLK, &mut fl) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((i32::from(fl.l_type) != libc::F_UNLCK).then_some(fl.l_pid))
}

/// Takes a shared `flock` on `fd` unless another open file holds an exclusive one: `true` when
/// granted (held until unlocked or the file is closed), `false` when an exclusive one is held.
pub fn try_shared_flock(fd: impl AsFd) -> io::Result<bool> {
    match rustix::fs::flock(&fd, FlockOperation::NonBlockingLockShared) {
        Ok(()) => Ok(true),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Whether an exclusive opener (an `O_EXCL` open, a mount, a kernel holder such as
/// device-mapper) holds the block device at `path`, or one of its partitions or its disk:
/// whether an `O_EXCL` read-only open of our own gets `EBUSY`. When it does not, this process
/// held the device exclusively for the moment between its open and its close.
pub fn held_exclusively(path: &Path) -> io::Result<bool> {
    match rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::EXCL | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => {
            drop(fd);
            Ok(false)
        }
        Err(rustix::io::Errno::BUSY) => Ok(true),
        Err(e) => Err(e.into()),
    }
}

/// A duplicate (close-on-exec) of a descriptor this process already has open on `file` whose
/// open file holds an exclusive `flock` on it, as its `/proc/self/fdinfo` `lock:` lines show:
/// one a parent passed down when it started this process (a job's claim), since a descriptor
/// cannot be put into a process from outside. At most `MAX_FDS` descriptors are looked at.
///
/// Closing the duplicate later leaves the lock alone while the original stays open.
pub fn inherited_flock(file: super::FileId) -> Option<OwnedFd> {
    use std::os::fd::{BorrowedFd, RawFd};
    use std::os::unix::fs::MetadataExt;
    const MAX_FDS: usize = 1024;
    for entry in std::fs::read_dir("/proc/self/fd")
        .ok()?
        .flatten()
        .take(MAX_FDS)
    {
        let Some(n) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<RawFd>().ok())
        else {
            continue;
        };
        // stat follows the link to the open file's inode, without opening it anew.
        match std::fs::metadata(entry.path()) {
            Ok(md) if md.dev() == file.dev && md.ino() == file.ino => {}
            _ => continue,
        }
        // SAFETY: the borrow lasts one fcntl(F_DUPFD_CLOEXEC). Should another thread close
        // descriptor `n` meanwhile, the call fails with EBADF, or duplicates whatever reuses
        // the number, which the checks below, on the duplicate itself, then reject.
        let fd = unsafe { BorrowedFd::borrow_raw(n) };
        let Ok(dup) = rustix::io::fcntl_dupfd_cloexec(fd, 0) else {
            continue;
        };
        let same = rustix::fs::fstat(&dup).is_ok_and(|st| super::FileId::of(&st) == file);
        if same && holds_exclusive_flock(&dup, file) {
            return Some(dup);
        }
    }
    None
}

/// Whether the open file of `fd` holds an exclusive `flock` on `file` (its fdinfo `lock:` lines).
fn holds_exclusive_flock(fd: &OwnedFd, file: super::FileId) -> bool {
    use super::proc_locks::{parse_line, LockKind};
    std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd())).is_ok_and(|text| {
        text.lines()
            .filter_map(|l| l.strip_prefix("lock:"))
            .filter_map(|l| parse_line(l.trim_start()))
            .any(|e| e.kind == LockKind::Flock && e.write && e.file == file)
    })
}
