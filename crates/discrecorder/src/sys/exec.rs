//! Passing open files to a program this process starts.
//!
//! Owns the one `pre_exec` hook of the crate: every descriptor the library opens is
//! close-on-exec, and a job's claim is handed to its command by clearing that flag on chosen
//! descriptors in the child, between `fork` and `exec`.
//!
//! # References
//! - fcntl(2) `F_SETFD`/`FD_CLOEXEC`; fork(2), execve(2): open file descriptions, and the
//!   `flock` and `O_EXCL` claims they carry, are shared by the child; POSIX record locks are not.
//! - `std::os::unix::process::CommandExt::pre_exec`.
#![allow(unsafe_code)]

use std::os::fd::{BorrowedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

/// Makes the child that `cmd` starts keep `fds` open across `exec` (at the same numbers).
///
/// The caller must keep the descriptors open until the child has been spawned.
pub fn keep_across_exec(cmd: &mut Command, fds: Vec<RawFd>) {
    let hook = move || {
        for &fd in &fds {
            // SAFETY: `fd` is open in the parent when `spawn` forks (the caller keeps it open
            // until then), so it is open in the child; borrowing it for one fcntl is sound.
            let fd = unsafe { BorrowedFd::borrow_raw(fd) };
            rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::empty())?;
        }
        Ok(())
    };
    // SAFETY: the hook runs in the forked child before exec; it only calls fcntl(2), which is
    // async-signal-safe, allocates nothing and takes no lock.
    unsafe {
        cmd.pre_exec(hook);
    }
}
