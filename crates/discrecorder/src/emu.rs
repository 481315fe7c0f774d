//! Emulated recorders: `emu:NAME`, a device any process of the machine can find by name.
//!
//! Owns the backing file of each emulated device in the runtime directory
//! (`discrecorder.emu.NAME`, mode 0666). Its claims are kernel locks on that file, so the
//! cross-process semantics (exclusive, named, released by the kernel when a holder dies) are the
//! same as on a block device, without hardware or root.

use std::path::PathBuf;

use rustix::fs::{Mode, OFlags};

use crate::error::{errno_text, Error, HResult, Result};
use crate::sys;

/// The prefix that names an emulated device.
pub const PREFIX: &str = "emu:";

/// The longest emulated device name.
pub const MAX_NAME_LEN: usize = 32;

/// Checks an emulated device name: 1..=32 bytes of `A-Z a-z 0-9 _ -`.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::new(
            HResult::EInvalidArg,
            format!(
                "emulated device name {:?} is not valid: use 1 to {MAX_NAME_LEN} of A-Z a-z 0-9 _ -",
                crate::owner::sanitize(name)
            ),
        ))
    }
}

/// The backing file of `emu:NAME`.
pub fn backing_path(name: &str) -> PathBuf {
    sys::runtime_dir().join(format!("discrecorder.emu.{name}"))
}

/// Creates `emu:NAME` if it does not exist yet and returns its backing file.
pub fn ensure(name: &str) -> Result<PathBuf> {
    check_name(name)?;
    let dir = sys::runtime_dir();
    let file = format!("discrecorder.emu.{name}");
    let path = dir.join(&file);
    match rustix::fs::lstat(&path) {
        Ok(st) => {
            if rustix::fs::FileType::from_raw_mode(st.st_mode) != rustix::fs::FileType::RegularFile
            {
                return Err(Error::new(
                    HResult::EAccessDenied,
                    format!(
                        "{} is not a regular file (a symlink or special file was planted there): refusing to use it",
                        path.display()
                    ),
                ));
            }
            return Ok(path);
        }
        Err(rustix::io::Errno::NOENT) => {}
        Err(e) => {
            return Err(Error::from_io(
                e.into(),
                &path.display().to_string(),
                "cannot stat",
            ))
        }
    }
    let dirfd =
        sys::open_shared_dir(&dir).map_err(|why| Error::new(HResult::EAccessDenied, why))?;
    match rustix::fs::openat(
        &dirfd,
        file.as_str(),
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o666),
    ) {
        Ok(fd) => {
            // Every user may use an emulated device, whatever our umask.
            rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o666)).map_err(|e| {
                Error::from_io(e.into(), &path.display().to_string(), "cannot chmod")
            })?;
            Ok(path)
        }
        Err(rustix::io::Errno::EXIST) => Ok(path),
        Err(e) => Err(Error::new(
            HResult::EAccessDenied,
            format!(
                "cannot create emulated device {}: {}",
                path.display(),
                errno_text(&e.into())
            ),
        )),
    }
}

/// Removes `emu:NAME`: recorders on it then get `ERROR_DEV_NOT_EXIST`.
pub fn remove(name: &str) -> Result<()> {
    check_name(name)?;
    let path = backing_path(name);
    crate::record::remove_stale(&sys::runtime_dir(), &format!("emu-{name}"));
    std::fs::remove_file(&path).map_err(|e| {
        let mut err = Error::from_io(e, &format!("{PREFIX}{name}"), "cannot remove");
        if err.hresult() == HResult::DevNotExist {
            err = Error::new(
                HResult::DevNotExist,
                format!("{PREFIX}{name} does not exist"),
            );
        }
        err
    })
}

/// The names of the emulated devices that exist now.
pub fn list() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(sys::runtime_dir())
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_prefix("discrecorder.emu."))
                .filter(|n| check_name(n).is_ok())
                .map(str::to_owned)
        })
        .collect();
    names.sort();
    names
}

/// Reads and changes the state of `emu:NAME`'s drive (tray, medium, faults) as a host-side
/// operator would: no lock is needed, as on a real drive a person can press the eject button.
pub fn update<T>(
    name: &str,
    f: impl FnOnce(&mut discrecorder_mmc::emulator::DriveState) -> T,
) -> Result<T> {
    check_name(name)?;
    let path = backing_path(name);
    crate::transport::with_emu_state(&path, &format!("{PREFIX}{name}"), f)
}
