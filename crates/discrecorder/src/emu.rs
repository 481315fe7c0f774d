//! Emulated recorders: `emu:NAME`, a device any process of the machine can find by name.
//!
//! Owns the backing file of each emulated device in the runtime directory
//! (`discrecorder.emu.NAME`, mode 0666): creating it (only [`create`] does; resolving a name
//! never creates a device, so a misspelt name is an error, not a second device), removing it,
//! and reading and writing the emulated drive's state in it under a POSIX lock (`fcntl(2)`
//! `F_SETLKW`). Its claims are kernel locks on that file, so the cross-process semantics
//! (exclusive, named, released by the kernel when a holder dies) are the same as on a block
//! device, without hardware or root. What the drive answers is `discrecorder_mmc::emulator`'s;
//! this module only stores its state. It must not import the device, owner or transport layers
//! above it.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use discrecorder_mmc::emulator::DriveState;
use rustix::fs::{FlockOperation, Mode, OFlags};

use crate::error::{errno_text, Error, HResult, Result};
use crate::sys;

/// The prefix that names an emulated device.
pub const PREFIX: &str = "emu:";

/// The longest emulated device name.
pub const MAX_NAME_LEN: usize = 32;

/// Checks an emulated device name: 1..=32 bytes of `A-Z a-z 0-9 _ -`.
///
/// # Errors
/// - `E_INVALIDARG`: the name is empty, too long or has another byte.
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
                crate::text::sanitize(name)
            ),
        ))
    }
}

/// The backing file of `emu:NAME`.
pub(crate) fn backing_path(name: &str) -> PathBuf {
    sys::runtime_dir().join(format!("discrecorder.emu.{name}"))
}

/// The backing file of an existing `emu:NAME`. Resolving never creates a device, so that two
/// jobs that spell a name differently cannot each get a device of their own: a missing one is
/// `ERROR_DEV_NOT_EXIST` with the command that creates it.
pub(crate) fn existing(name: &str) -> Result<PathBuf> {
    check_name(name)?;
    let path = backing_path(name);
    match rustix::fs::lstat(&path) {
        Ok(st) => {
            if rustix::fs::FileType::from_raw_mode(st.st_mode) != rustix::fs::FileType::RegularFile
            {
                return Err(planted(&path));
            }
            Ok(path)
        }
        Err(rustix::io::Errno::NOENT) => Err(Error::new(
            HResult::DevNotExist,
            format!(
                "{PREFIX}{name} does not exist: create it with `discrec emu create {name}` (or discrecorder::emu::create)"
            ),
        )),
        Err(e) => Err(Error::from_io(
            e.into(),
            &path.display().to_string(),
            "cannot stat",
        )),
    }
}

fn planted(path: &Path) -> Error {
    Error::new(
        HResult::EAccessDenied,
        format!(
            "{} is not a regular file (a symlink or special file was planted there): refusing to use it",
            crate::text::sanitize(&path.display().to_string())
        ),
    )
}

/// Creates the emulated recorder `emu:NAME` with a new drive (tray closed, no medium). Returns
/// `true` if it was created now, `false` if it existed already.
///
/// # Errors
/// - `E_INVALIDARG`: the name is not 1 to 32 of `A-Z a-z 0-9 _ -`.
/// - `E_ACCESSDENIED`: the runtime directory is unsafe or not writable, or something other than
///   a regular file was planted under the device's name.
pub fn create(name: &str) -> Result<bool> {
    check_name(name)?;
    let dir = sys::runtime_dir();
    let file = format!("discrecorder.emu.{name}");
    let path = dir.join(&file);
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
            Ok(true)
        }
        Err(rustix::io::Errno::EXIST) => existing(name).map(|_| false),
        Err(e) => Err(Error::new(
            HResult::EAccessDenied,
            format!(
                "cannot create emulated device {}: {}",
                crate::text::sanitize(&path.display().to_string()),
                errno_text(&e.into())
            ),
        )),
    }
}

/// Removes `emu:NAME`: recorders on it then get `ERROR_DEV_NOT_EXIST`.
///
/// # Errors
/// - `E_INVALIDARG`: the name is not valid.
/// - `HRESULT_FROM_WIN32(ERROR_DEV_NOT_EXIST)`: there is no such emulated recorder.
/// - `E_ACCESSDENIED`: its file may not be removed by this user.
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
///
/// # Errors
/// - `E_INVALIDARG`, `HRESULT_FROM_WIN32(ERROR_DEV_NOT_EXIST)`: as [`remove`].
/// - `E_FAIL`: the state file is corrupt; others from reading or writing it.
pub fn update<T>(name: &str, f: impl FnOnce(&mut DriveState) -> T) -> Result<T> {
    let path = existing(name)?;
    with_state(&path, &format!("{PREFIX}{name}"), f)
}

/// Serialises state changes of emulated drives among the threads of this process (POSIX locks,
/// which serialise processes, do not exclude threads of one process).
static EMU_STATE: Mutex<()> = Mutex::new(());

/// Parses the text of an emulated drive's state file: blank text is a new drive (its serial
/// number follows `device`'s name, so two emulated drives differ), anything else must be the
/// JSON this library writes, else `E_FAIL`.
///
/// The file is writable by every local user, so these bytes are untrusted; the emulator answers
/// any state it accepts without panicking (`DriveState::execute`). Public only for the fuzz
/// targets and property tests (feature `testing`); not a stable API.
pub(crate) fn parse_state(text: &[u8], device: &str) -> Result<DriveState> {
    if text.iter().all(u8::is_ascii_whitespace) {
        let mut fresh = DriveState::new_recorder();
        let name = device.strip_prefix(PREFIX).unwrap_or(device);
        fresh.serial = format!("EMU-{name}").chars().take(32).collect();
        return Ok(fresh);
    }
    serde_json::from_slice(text).map_err(|e| {
        Error::new(
            HResult::EFail,
            format!("{device}: the emulated drive's state is corrupt ({e})"),
        )
    })
}

/// Reads, changes and writes an emulated drive's state under a POSIX write lock on its file.
pub(crate) fn with_state<T>(
    path: &std::path::Path,
    device: &str,
    f: impl FnOnce(&mut DriveState) -> T,
) -> Result<T> {
    let _threads = EMU_STATE.lock().unwrap_or_else(|p| p.into_inner());
    let fd = rustix::fs::open(
        path,
        OFlags::RDWR | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| {
        if e == rustix::io::Errno::NOENT {
            Error::new(HResult::DevNotExist, format!("{device} no longer exists"))
        } else {
            Error::from_io(e.into(), device, "cannot open the emulated drive")
        }
    })?;
    // Closing `fd` at the end drops this lock; this process holds no other POSIX lock on it.
    rustix::fs::fcntl_lock(&fd, FlockOperation::LockExclusive)
        .map_err(|e| Error::from_io(e.into(), device, "cannot lock the emulated drive"))?;
    let mut file = std::fs::File::from(fd);
    let mut text = Vec::new();
    std::io::Read::read_to_end(&mut file, &mut text)
        .map_err(|e| Error::from_io(e, device, "cannot read the emulated drive"))?;
    let mut state = parse_state(&text, device)?;
    let before = state.clone();
    let out = f(&mut state);
    if state != before || text.is_empty() {
        let json = serde_json::to_vec_pretty(&state)
            .map_err(|e| Error::new(HResult::EFail, format!("{device}: {e}")))?;
        rustix::fs::ftruncate(&file, 0)
            .and_then(|()| rustix::io::pwrite(&file, &json, 0).map(|_written: usize| ()))
            .map_err(|e| Error::from_io(e.into(), device, "cannot write the emulated drive"))?;
    }
    Ok(out)
}
