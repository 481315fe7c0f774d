//! Emulated recorders: `emu:NAME`, a recorder without hardware, private to the user who
//! created it unless an administrator set up sharing.
//!
//! Owns the storage of emulated devices: where their state files live, creating them (only
//! [`create`] and [`create_shared`] do; resolving a name never creates a device, so a misspelt
//! name is an error, not a second device), removing them ([`remove`], refused while held unless
//! forced), and reading and writing the emulated drive's state under a bounded POSIX lock. What
//! the drive answers is `discrecorder_mmc::emulator`'s; this module only stores its state. It
//! must not import the device, owner, claim, recorder or transport layers above it.
//!
//! # Storage
//!
//! - **Private** (the default): `$RUNTIME/discrecorder-emu-UID/NAME`, where `$RUNTIME` is
//!   `$DISCRECORDER_RUNTIME_DIR` or `/dev/shm` and UID the effective uid. The directory is ours,
//!   mode exactly 0700, not a symlink (checked on a descriptor after opening it with
//!   `O_NOFOLLOW`, refused otherwise); files are mode 0600. Nobody else can read, lock, rename,
//!   replace or list them; root's private devices are root's alone too.
//! - **Shared** (an administrator's explicit act): `$RUNTIME/discrecorder-emu-shared/NAME`. The
//!   directory must be owned by root, and sticky if anyone but root may write it; we never
//!   create it. For a group, `install -d -o root -g cdrom -m 3770 /dev/shm/discrecorder-emu-shared`
//!   (setgid, so files get the group). Files created there are mode 0600, plus read-write for
//!   the group and for others when the directory lets them write. The sticky bit keeps every
//!   file renamable and removable only by its creator (and root).
//!
//! `emu:NAME` is the caller's private device if there is one, else the shared one.
//!
//! # Defences
//!
//! - Every file is opened relative to a checked directory descriptor (`openat`) with
//!   `O_NOFOLLOW`, and must be a regular file with one link: a symlink, FIFO or hard link
//!   planted under a device's name is refused, never followed.
//! - A device's identity is its inode, recorded when the name is resolved. Its
//!   claim (the `flock`) is on that same inode, and every later use checks that the name still
//!   names it: a device whose file was renamed or replaced is reported gone
//!   (`ERROR_DEV_NOT_EXIST`), so a rename cannot make two holders of one name.
//! - State is at most [`MAX_STATE_LEN`] bytes, read with a bounded read; a larger file is
//!   `E_FAIL` without being read.
//! - The disc's sectors are not in the state: they go to a sparse image `NAME.img` beside it
//!   ([`IMAGE_SUFFIX`]), opened the same way (relative to the checked directory descriptor,
//!   `O_NOFOLLOW`, a regular file with one link), owned by the state file's owner and with its
//!   mode; a symlink or anything else planted under that name is refused, never followed.
//!   All-zero blocks are holes (`fallocate(PUNCH_HOLE|KEEP_SIZE)`), a blanked or new disc
//!   truncates it, and [`remove`] removes it with the device. It is created with the device
//!   (by its owner: another user of a shared device never creates it) and only touched under
//!   the state lock, by the commands that move sectors.
//! - The state lock (`fcntl(2)` `F_SETLK`, a POSIX write lock) is tried without blocking until
//!   the operation's deadline; a neighbour who holds it longer gets the operation
//!   `E_IMAPI_RECORDER_COMMAND_TIMEOUT` naming its PID, never a hang.
//! - Every string of a state is checked (printable ASCII, bounded length) and every error
//!   message quoting a state is escaped ([`crate::sanitize`] and non-ASCII as `\u{..}`).

use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use std::os::fd::{AsFd, BorrowedFd};

use discrecorder_mmc::emulator::{DriveState, Outcome};
use discrecorder_mmc::medium::{SectorStore, StoreError, BLOCK_LEN};
use rustix::fs::{AtFlags, FallocateFlags, FileType, FlockOperation, Mode, OFlags};

use crate::error::{errno_text, Error, HResult, Result};
use crate::sys::proc_locks::{LockKind, LockTable};
use crate::sys::{self, FileId};

/// The prefix that names an emulated device.
pub const PREFIX: &str = "emu:";

/// The longest emulated device name.
pub const MAX_NAME_LEN: usize = 32;

/// The largest state file accepted, in bytes (the JSON this library writes is under 1 KiB).
pub const MAX_STATE_LEN: u64 = 64 * 1024;

/// What follows a device's name in the name of its disc image (`NAME.img`). Device names
/// cannot contain `.`, so an image is never taken for a device.
pub const IMAGE_SUFFIX: &str = ".img";

/// The file name of `emu:NAME`'s disc image.
fn image_name(name: &str) -> String {
    format!("{name}{IMAGE_SUFFIX}")
}

/// The shared directory's name in the runtime directory; only an administrator creates it.
pub const SHARED_DIR: &str = "discrecorder-emu-shared";

/// The longest wait for the state lock of a drive command or [`update`]: a state is read and
/// written in microseconds, so a lock held longer is a hung or hostile neighbour.
pub const STATE_LOCK_WAIT: Duration = Duration::from_secs(2);

/// Where an emulated recorder lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Scope {
    /// In the creator's private directory: only the creator (and root, by path) can use it.
    Private,
    /// In the administrator's shared directory.
    Shared,
}

/// Whether [`remove`] may remove a device that someone holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Removal {
    /// Refuse (`E_ACCESSDENIED` naming the holder) while anyone holds the device.
    IfFree,
    /// Remove it anyway: its holders then get `ERROR_DEV_NOT_EXIST`.
    EvenIfHeld,
}

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
                "emulated device name \"{}\" is not valid: use 1 to {MAX_NAME_LEN} of A-Z a-z 0-9 _ -",
                crate::text::sanitize(name)
            ),
        ))
    }
}

/// The key of `emu:NAME`'s owner records.
pub(crate) fn record_key(name: &str) -> String {
    format!("emu-{name}")
}

/// The name of this user's private directory in the runtime directory.
fn private_dir_name() -> String {
    format!("discrecorder-emu-{}", rustix::process::geteuid().as_raw())
}

/// The backing file `emu:NAME` has, or would have, in this user's private directory.
pub(crate) fn backing_path(name: &str) -> PathBuf {
    sys::runtime_dir().join(private_dir_name()).join(name)
}

/// The backing file `emu:NAME` has, or would have, in the shared directory.
pub(crate) fn shared_backing_path(name: &str) -> PathBuf {
    sys::runtime_dir().join(SHARED_DIR).join(name)
}

fn shown(path: &std::path::Path) -> String {
    crate::text::sanitize(&path.display().to_string())
}

fn denied(why: String) -> Error {
    Error::unsafe_directory(why)
}

/// A checked directory of emulated devices.
#[derive(Debug)]
struct Dir {
    fd: Arc<OwnedFd>,
    path: PathBuf,
    scope: Scope,
    /// Permission bits the directory grants group and others (`0o0g0`/`0o00o`).
    mode: u32,
}

/// The runtime directory, opened (it may be any directory the user chose; what is in it is
/// checked on its own).
fn runtime() -> Result<(OwnedFd, PathBuf)> {
    let path = sys::runtime_dir();
    rustix::fs::open(
        &path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map(|fd| (fd, path.clone()))
    .map_err(|e| {
        denied(format!(
            "runtime directory {} cannot be used: {}",
            shown(&path),
            errno_text(&e.into())
        ))
    })
}

/// Opens `name` under `rt` as a directory without following a symlink; `None` if absent.
fn open_subdir(rt: &OwnedFd, name: &str, path: &std::path::Path) -> Result<Option<OwnedFd>> {
    match rustix::fs::openat(
        rt,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => Ok(Some(fd)),
        Err(rustix::io::Errno::NOENT) => Ok(None),
        Err(e) => Err(denied(format!(
            "{} cannot be used as a directory of emulated recorders ({}): refusing it",
            shown(path),
            errno_text(&e.into())
        ))),
    }
}

/// This user's private directory: ours, mode exactly 0700, not a symlink. Made (0700) when
/// `create` and missing; `None` when missing and not `create`.
fn private_dir(create: bool) -> Result<Option<Dir>> {
    let (rt, rt_path) = runtime()?;
    let name = private_dir_name();
    let path = rt_path.join(&name);
    let mut made = false;
    if create {
        match rustix::fs::mkdirat(&rt, name.as_str(), Mode::from_raw_mode(0o700)) {
            Ok(()) => made = true,
            Err(rustix::io::Errno::EXIST) => {}
            Err(e) => {
                return Err(denied(format!(
                    "cannot create {}: {}",
                    shown(&path),
                    errno_text(&e.into())
                )))
            }
        }
    }
    let Some(fd) = open_subdir(&rt, &name, &path)? else {
        return Ok(None);
    };
    let st = rustix::fs::fstat(&fd)
        .map_err(|e| Error::from_io(e.into(), &shown(&path), "cannot stat"))?;
    let euid = rustix::process::geteuid().as_raw();
    if st.st_uid != euid {
        return Err(denied(format!(
            "{} belongs to uid {}, not to us (uid {euid}): refusing to keep emulated recorders in it",
            shown(&path),
            st.st_uid
        )));
    }
    if made {
        // Whatever our umask did to the mode of the directory we just made.
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o700))
            .map_err(|e| Error::from_io(e.into(), &shown(&path), "cannot chmod"))?;
    } else if st.st_mode & 0o7777 != 0o700 {
        return Err(denied(format!(
            "{} has mode {:o}, not 0700: refusing to keep emulated recorders where others may reach them (chmod 700 it)",
            shown(&path),
            st.st_mode & 0o7777
        )));
    }
    Ok(Some(Dir {
        fd: Arc::new(fd),
        path,
        scope: Scope::Private,
        mode: 0,
    }))
}

/// The administrator's shared directory: owned by root, sticky if anyone but root may write
/// it. `None` when there is none.
fn shared_dir() -> Result<Option<Dir>> {
    let (rt, rt_path) = runtime()?;
    let path = rt_path.join(SHARED_DIR);
    let Some(fd) = open_subdir(&rt, SHARED_DIR, &path)? else {
        return Ok(None);
    };
    let st = rustix::fs::fstat(&fd)
        .map_err(|e| Error::from_io(e.into(), &shown(&path), "cannot stat"))?;
    if st.st_uid != 0 {
        return Err(denied(format!(
            "{} belongs to uid {}, not root: only an administrator may share emulated recorders (see discrec emu create --help)",
            shown(&path),
            st.st_uid
        )));
    }
    let mode = st.st_mode & 0o7777;
    if mode & 0o022 != 0 && mode & 0o1000 == 0 {
        return Err(denied(format!(
            "{} is writable by others without the sticky bit (mode {mode:o}): refusing to share emulated recorders in it",
            shown(&path)
        )));
    }
    Ok(Some(Dir {
        fd: Arc::new(fd),
        path,
        scope: Scope::Shared,
        mode,
    }))
}

/// Stats `name` in `dir` without following a symlink: `None` if absent, an error if it is not
/// a regular file with one link (something planted there).
fn stat_entry(dir: &Dir, name: &str) -> Result<Option<rustix::fs::Stat>> {
    match rustix::fs::statat(&*dir.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => {
            check_regular(&st, &dir.path.join(name))?;
            Ok(Some(st))
        }
        Err(rustix::io::Errno::NOENT) => Ok(None),
        Err(e) => Err(Error::from_io(
            e.into(),
            &format!("{PREFIX}{name}"),
            "cannot stat",
        )),
    }
}

fn check_regular(st: &rustix::fs::Stat, path: &std::path::Path) -> Result<()> {
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile || st.st_nlink != 1 {
        return Err(denied(format!(
            "{} is not a regular file with one link (a symlink, hard link or special file was planted there): refusing to use it",
            shown(path)
        )));
    }
    Ok(())
}

/// An emulated recorder's backing file, resolved: the checked directory it is in, its name and
/// the identity of its inode when resolved. Every open goes through the directory descriptor
/// and is checked against that identity.
#[derive(Clone, Debug)]
pub(crate) struct Backing {
    dir: Arc<OwnedFd>,
    dir_path: PathBuf,
    name: String,
    id: FileId,
}

impl Backing {
    /// The file's path, for messages and inotify.
    pub(crate) fn path(&self) -> PathBuf {
        self.dir_path.join(&self.name)
    }

    /// The identity of the device's inode.
    pub(crate) fn id(&self) -> FileId {
        self.id
    }

    fn spec(&self) -> String {
        format!("{PREFIX}{}", self.name)
    }

    fn vanished(&self) -> Error {
        Error::new(
            HResult::DevNotExist,
            format!(
                "{} is gone: its file was removed or replaced since it was opened",
                self.spec()
            ),
        )
    }

    /// Checks that the name still names the inode resolved.
    ///
    /// # Errors
    /// - `HRESULT_FROM_WIN32(ERROR_DEV_NOT_EXIST)`: removed, renamed or replaced.
    pub(crate) fn check_present(&self) -> Result<()> {
        let st = match rustix::fs::statat(&*self.dir, self.name.as_str(), AtFlags::SYMLINK_NOFOLLOW)
        {
            Ok(st) => st,
            Err(rustix::io::Errno::NOENT) => return Err(self.vanished()),
            Err(e) => return Err(Error::from_io(e.into(), &self.spec(), "cannot stat")),
        };
        if FileId::of(&st) != self.id
            || FileType::from_raw_mode(st.st_mode) != FileType::RegularFile
        {
            return Err(self.vanished());
        }
        Ok(())
    }

    /// Opens the backing file read-write (`O_NOFOLLOW`, relative to the directory descriptor)
    /// and checks it is the inode resolved.
    ///
    /// # Errors
    /// - `HRESULT_FROM_WIN32(ERROR_DEV_NOT_EXIST)`: removed, renamed or replaced.
    /// - `E_ACCESSDENIED`: something other than a regular file is under the name.
    pub(crate) fn open(&self) -> Result<OwnedFd> {
        let fd = rustix::fs::openat(
            &*self.dir,
            self.name.as_str(),
            OFlags::RDWR | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| match e {
            rustix::io::Errno::NOENT => self.vanished(),
            rustix::io::Errno::LOOP => denied(format!(
                "{} is a symlink (planted there): refusing to follow it",
                shown(&self.path())
            )),
            e => Error::from_io(e.into(), &self.spec(), "cannot open the emulated drive"),
        })?;
        let st = rustix::fs::fstat(&fd)
            .map_err(|e| Error::from_io(e.into(), &self.spec(), "cannot stat"))?;
        check_regular(&st, &self.path())?;
        if FileId::of(&st) != self.id {
            return Err(self.vanished());
        }
        Ok(fd)
    }
}

impl Backing {
    /// Opens (creating if missing) the disc image beside the state file whose descriptor is
    /// `state`: relative to the directory descriptor, `O_NOFOLLOW`, a regular file with one
    /// link owned by the state file's owner; created with the state file's permission bits.
    ///
    /// # Errors
    /// - `E_ACCESSDENIED`: a symlink, hard link, special file or another user's file is under
    ///   the image's name.
    /// - Others as the system reports them.
    fn open_image(&self, state: BorrowedFd<'_>) -> Result<OwnedFd> {
        let name = image_name(&self.name);
        let path = self.dir_path.join(&name);
        let st = rustix::fs::fstat(state)
            .map_err(|e| Error::from_io(e.into(), &self.spec(), "cannot stat"))?;
        let mode = Mode::from_raw_mode(st.st_mode & 0o666);
        // Only the device's owner creates a missing image (a device made before images
        // existed): one made by another user of a shared device would be refused below.
        let create = if st.st_uid == rustix::process::geteuid().as_raw() {
            OFlags::CREATE
        } else {
            OFlags::empty()
        };
        let fd = rustix::fs::openat(
            &*self.dir,
            name.as_str(),
            OFlags::RDWR | create | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
            mode,
        )
        .map_err(|e| match e {
            rustix::io::Errno::LOOP => denied(format!(
                "{} is a symlink (planted there): refusing to follow it",
                shown(&path)
            )),
            e => Error::from_io(e.into(), &self.spec(), "cannot open the disc image"),
        })?;
        let ist = rustix::fs::fstat(&fd)
            .map_err(|e| Error::from_io(e.into(), &self.spec(), "cannot stat the disc image"))?;
        check_regular(&ist, &path)?;
        if ist.st_uid != st.st_uid {
            return Err(denied(format!(
                "{} belongs to uid {}, not to the device's owner (uid {}): refusing to use it",
                shown(&path),
                ist.st_uid,
                st.st_uid
            )));
        }
        if ist.st_mode & 0o7777 != mode.as_raw_mode()
            && ist.st_uid == rustix::process::geteuid().as_raw()
        {
            // Whatever our umask did.
            rustix::fs::fchmod(&fd, mode)
                .map_err(|e| Error::from_io(e.into(), &shown(&path), "cannot chmod"))?;
        }
        Ok(fd)
    }

    /// A backing file `name` in the directory `dir` (tests build devices in their own
    /// directories, without touching the runtime directory).
    #[cfg(test)]
    pub(crate) fn in_dir(dir: &std::path::Path, name: &str) -> Result<Backing> {
        let fd = rustix::fs::open(
            dir,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::from_io(e.into(), "test dir", "cannot open"))?;
        let d = Dir {
            fd: Arc::new(fd),
            path: dir.to_path_buf(),
            scope: Scope::Private,
            mode: 0,
        };
        create_in(&d, name, Mode::from_raw_mode(0o600))?;
        let st = stat_entry(&d, name)?.ok_or_else(|| denied("vanished".to_owned()))?;
        Ok(Backing {
            dir: d.fd,
            dir_path: d.path,
            name: name.to_owned(),
            id: FileId::of(&st),
        })
    }

    /// The disc image's path (for tests and messages).
    #[cfg(test)]
    pub(crate) fn image_path(&self) -> PathBuf {
        self.dir_path.join(image_name(&self.name))
    }
}

/// The disc's sectors in the image file beside the state: opened at the first use, under the
/// state lock. A failure is kept ([`ImageStore::failure`]) so that the command reports the
/// system's error, not a made-up medium error.
struct ImageStore<'a> {
    backing: &'a Backing,
    state: BorrowedFd<'a>,
    fd: Option<OwnedFd>,
    failure: Option<Error>,
}

impl ImageStore<'_> {
    fn file(&mut self) -> std::result::Result<&OwnedFd, StoreError> {
        if self.fd.is_none() {
            match self.backing.open_image(self.state) {
                Ok(fd) => self.fd = Some(fd),
                Err(e) => return Err(self.fail(e)),
            }
        }
        self.fd.as_ref().ok_or(StoreError)
    }

    fn fail(&mut self, e: Error) -> StoreError {
        if self.failure.is_none() {
            self.failure = Some(e);
        }
        StoreError
    }

    fn io(&mut self, e: rustix::io::Errno, what: &str) -> StoreError {
        let e = Error::from_io(e.into(), &self.backing.spec(), what);
        self.fail(e)
    }

    /// Byte offset of block `lba`.
    fn offset(lba: u32) -> u64 {
        u64::from(lba) * BLOCK_LEN as u64
    }

    fn punch(&mut self, offset: u64, len: u64) -> std::result::Result<(), StoreError> {
        let fd = self.file()?;
        match rustix::fs::fallocate(
            fd,
            FallocateFlags::PUNCH_HOLE | FallocateFlags::KEEP_SIZE,
            offset,
            len,
        ) {
            Ok(()) => Ok(()),
            // A file system without holes: write the zeros.
            Err(rustix::io::Errno::OPNOTSUPP) => {
                let zeros = vec![0u8; usize::try_from(len).unwrap_or(usize::MAX).min(1 << 20)];
                let mut at = offset;
                while at < offset + len {
                    let n = usize::try_from(offset + len - at)
                        .unwrap_or(usize::MAX)
                        .min(zeros.len());
                    self.pwrite_all(at, &zeros[..n])?;
                    at += n as u64;
                }
                Ok(())
            }
            Err(e) => Err(self.io(e, "cannot punch a hole in the disc image")),
        }
    }

    fn pwrite_all(&mut self, mut at: u64, mut data: &[u8]) -> std::result::Result<(), StoreError> {
        while !data.is_empty() {
            let fd = self.file()?;
            match rustix::io::pwrite(fd, data, at) {
                Ok(0) => {
                    return Err(self.io(rustix::io::Errno::NOSPC, "cannot write the disc image"))
                }
                Ok(n) => {
                    data = &data[n..];
                    at += n as u64;
                }
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(self.io(e, "cannot write the disc image")),
            }
        }
        Ok(())
    }
}

impl SectorStore for ImageStore<'_> {
    fn read(&mut self, lba: u32, buf: &mut [u8]) -> std::result::Result<(), StoreError> {
        let mut at = Self::offset(lba);
        let mut done = 0;
        while done < buf.len() {
            let fd = self.file()?;
            match rustix::io::pread(fd, &mut buf[done..], at) {
                // Past the end of the image: never written, zeros.
                Ok(0) => break,
                Ok(n) => {
                    done += n;
                    at += n as u64;
                }
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(self.io(e, "cannot read the disc image")),
            }
        }
        buf[done..].fill(0);
        Ok(())
    }

    fn write(&mut self, lba: u32, data: &[u8]) -> std::result::Result<(), StoreError> {
        // Runs of all-zero blocks become holes; the rest is written.
        let mut at = Self::offset(lba);
        let mut blocks = data.chunks(BLOCK_LEN).peekable();
        while let Some(first) = blocks.next() {
            let zero = first.iter().all(|&b| b == 0);
            let mut len = first.len();
            while let Some(next) = blocks.peek() {
                if next.iter().all(|&b| b == 0) != zero {
                    break;
                }
                len += next.len();
                blocks.next();
            }
            let start = usize::try_from(at - Self::offset(lba)).unwrap_or(usize::MAX);
            if zero {
                self.punch(at, len as u64)?;
            } else {
                let run = data.get(start..start + len).ok_or(StoreError)?;
                self.pwrite_all(at, run)?;
            }
            at += len as u64;
        }
        Ok(())
    }

    fn discard(&mut self, lba: u32, blocks: u32) -> std::result::Result<(), StoreError> {
        let from = Self::offset(lba);
        if blocks == u32::MAX {
            let fd = self.file()?;
            let size = match rustix::fs::fstat(fd) {
                Ok(st) => u64::try_from(st.st_size).unwrap_or(0),
                Err(e) => return Err(self.io(e, "cannot stat the disc image")),
            };
            if size > from {
                let fd = self.file()?;
                if let Err(e) = rustix::fs::ftruncate(fd, from) {
                    return Err(self.io(e, "cannot truncate the disc image"));
                }
            }
            return Ok(());
        }
        self.punch(from, u64::from(blocks) * BLOCK_LEN as u64)
    }
}

/// Resolves an existing `emu:NAME`: this user's private device, else the shared one. Resolving
/// never creates a device, so that two jobs that spell a name differently cannot each get a
/// device of their own: a missing one is `ERROR_DEV_NOT_EXIST` with the command that creates it.
///
/// # Errors
/// - `E_INVALIDARG`: the name is not valid.
/// - `HRESULT_FROM_WIN32(ERROR_DEV_NOT_EXIST)`: no such device.
/// - `E_ACCESSDENIED`: a directory is unsafe, or something other than a regular file is there.
pub(crate) fn resolve(name: &str) -> Result<Backing> {
    check_name(name)?;
    let dirs = [private_dir(false)?, shared_dir()?];
    for dir in dirs.into_iter().flatten() {
        if let Some(st) = stat_entry(&dir, name)? {
            return Ok(Backing {
                dir: dir.fd,
                dir_path: dir.path,
                name: name.to_owned(),
                id: FileId::of(&st),
            });
        }
    }
    Err(Error::new(
        HResult::DevNotExist,
        format!(
            "{PREFIX}{name} does not exist: create it with `discrec emu create {name}` (or discrecorder::emu::create)"
        ),
    ))
}

/// Creates the emulated recorder `emu:NAME`, private to this user, with a new drive (tray
/// closed, no medium). Returns `true` if it was created now, `false` if it existed already.
///
/// # Errors
/// - `E_INVALIDARG`: the name is not 1 to 32 of `A-Z a-z 0-9 _ -`.
/// - `E_ACCESSDENIED`: the private directory is unsafe (not ours, not 0700, a symlink) or
///   cannot be made, or something other than a regular file was planted under the name.
pub fn create(name: &str) -> Result<bool> {
    check_name(name)?;
    let dir = private_dir(true)?.ok_or_else(|| {
        denied(format!(
            "{} vanished while it was being made",
            shown(&backing_path(name))
        ))
    })?;
    create_in(&dir, name, Mode::from_raw_mode(0o600))
}

/// Creates `emu:NAME` in the shared directory that an administrator made, so that the users it
/// lets in can use it. Returns `true` if it was created now, `false` if it existed already.
///
/// # Errors
/// - `E_INVALIDARG`: the name is not valid.
/// - `E_ACCESSDENIED`: there is no shared directory, it is unsafe (not root's, or writable by
///   others without the sticky bit), we may not write it, or something other than a regular
///   file is under the name.
pub fn create_shared(name: &str) -> Result<bool> {
    check_name(name)?;
    let dir = shared_dir()?.ok_or_else(|| {
        denied(format!(
            "there is no shared directory {}: an administrator makes it, e.g. `install -d -o root -g cdrom -m 3770 {}`",
            shown(&shared_backing_path(name).with_file_name("")),
            shown(&sys::runtime_dir().join(SHARED_DIR))
        ))
    })?;
    let mut mode = 0o600;
    if dir.mode & 0o020 != 0 {
        mode |= 0o060;
    }
    if dir.mode & 0o002 != 0 {
        mode |= 0o006;
    }
    create_in(&dir, name, Mode::from_raw_mode(mode))
}

fn create_in(dir: &Dir, name: &str, mode: Mode) -> Result<bool> {
    let path = dir.path.join(name);
    match rustix::fs::openat(
        &*dir.fd,
        name,
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        mode,
    ) {
        Ok(fd) => {
            // Whatever our umask did.
            rustix::fs::fchmod(&fd, mode)
                .map_err(|e| Error::from_io(e.into(), &shown(&path), "cannot chmod"))?;
            // A disc image left by an earlier device of this name is not this one's disc.
            // The new device's image is made now, by its owner, so that the other users of a
            // shared device never have to create it. Both are best effort: an image squatted
            // by someone else is refused when the drive first opens it, which names it.
            let image = image_name(name);
            let _ = rustix::fs::unlinkat(&*dir.fd, image.as_str(), AtFlags::empty());
            let _ = rustix::fs::openat(
                &*dir.fd,
                image.as_str(),
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                mode,
            )
            .and_then(|img| rustix::fs::fchmod(&img, mode));
            Ok(true)
        }
        Err(rustix::io::Errno::EXIST) => stat_entry(dir, name).map(|_| false),
        Err(e) => Err(denied(format!(
            "cannot create emulated device {}: {}",
            shown(&path),
            errno_text(&e.into())
        ))),
    }
}

/// Removes `emu:NAME` (the private one, else the shared one): recorders on it then get
/// `ERROR_DEV_NOT_EXIST`. The check that nobody holds it is atomic with the removal: the
/// device's `flock` is taken (`LOCK_EX|LOCK_NB`) and kept while the name is unlinked.
///
/// # Errors
/// - `E_INVALIDARG`: the name is not valid.
/// - `HRESULT_FROM_WIN32(ERROR_DEV_NOT_EXIST)`: there is no such emulated recorder.
/// - `E_ACCESSDENIED`: with [`Removal::IfFree`], someone holds it (the holder is named);
///   or its file may not be removed by this user.
pub fn remove(name: &str, removal: Removal) -> Result<()> {
    let backing = resolve(name)?;
    let spec = backing.spec();
    let fd = backing.open()?;
    match rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => {}
        Err(rustix::io::Errno::WOULDBLOCK) if removal == Removal::IfFree => {
            return Err(denied(format!(
                "{spec} is held by {}: refusing to remove it (force with `discrec emu remove --force {name}` or Removal::EvenIfHeld)",
                flock_holder(&backing)
            )));
        }
        Err(rustix::io::Errno::WOULDBLOCK) => {}
        Err(e) => return Err(Error::from_io(e.into(), &spec, "cannot lock")),
    }
    // Still the file we locked (only its creator and root may rename it)?
    backing.check_present()?;
    crate::record::remove_stale(&sys::runtime_dir(), &record_key(name));
    match rustix::fs::unlinkat(&*backing.dir, image_name(name).as_str(), AtFlags::empty()) {
        Ok(()) | Err(rustix::io::Errno::NOENT) => {}
        Err(e) => {
            return Err(denied(format!(
                "cannot remove the disc image of {spec}: {}",
                errno_text(&e.into())
            )))
        }
    }
    rustix::fs::unlinkat(&*backing.dir, name, AtFlags::empty()).map_err(|e| {
        if e == rustix::io::Errno::NOENT {
            backing.vanished()
        } else {
            denied(format!(
                "cannot remove {spec} ({}): {}",
                shown(&backing.path()),
                errno_text(&e.into())
            ))
        }
    })?;
    drop(fd);
    Ok(())
}

/// Who holds the POSIX lock that blocks a write lock on `fd`, asked of the kernel with
/// `F_GETLK` (never by reading `/proc/locks`, which another user can flood): PID and program.
fn posix_holder(fd: &OwnedFd) -> String {
    use rustix::process::{fcntl_getlk, Flock, FlockOffsetType, FlockType};
    let want = Flock {
        start: 0,
        length: 0,
        pid: None,
        typ: FlockType::WriteLock,
        offset_type: FlockOffsetType::Set,
    };
    match fcntl_getlk(fd, &want) {
        Ok(Some(Flock { pid: Some(pid), .. })) => {
            let pid = pid.as_raw_nonzero().get();
            let program = sys::program_name(pid).unwrap_or_default();
            crate::text::sanitize(&format!("PID {pid} ({program})"))
        }
        _ => "another process".to_owned(),
    }
}

/// Who holds the device's `flock`: its client name from its owner record when the record is
/// vouched for, else its PID and program.
fn flock_holder(backing: &Backing) -> String {
    let Ok(locks) = LockTable::read() else {
        return "another process".to_owned();
    };
    let Some(pid) = locks
        .on(backing.id)
        .find(|e| e.kind == LockKind::Flock && e.pid > 0)
        .map(|e| e.pid)
    else {
        return "another process".to_owned();
    };
    let program = sys::program_name(pid).unwrap_or_default();
    // A record counts if its writer is the process that holds the lock now (start time and
    // descriptors, as far as this process may see them).
    let vouched =
        crate::record::lookup(&sys::runtime_dir(), &record_key(&backing.name), pid, &locks)
            .into_iter()
            .map(|c| c.record)
            .find(|r| {
                sys::process::start_time(r.pid) == Some(r.start)
                    && sys::process::holds_flock(r.pid, backing.id, pid) != sys::process::Holds::No
            });
    if let Some(rec) = vouched {
        return crate::text::sanitize(&format!(
            "\"{}\" (PID {pid}, {})",
            rec.client.as_str(),
            rec.program
        ));
    }
    crate::text::sanitize(&format!("PID {pid} ({program})"))
}

/// The emulated devices this user can use: its private ones and the shared ones, sorted, each
/// name once (a private device hides a shared one of the same name). Another user's private
/// devices are never listed.
pub fn list() -> Vec<String> {
    let mut names: Vec<String> = list_scoped().into_iter().map(|(n, _)| n).collect();
    names.dedup();
    names
}

/// [`list`] with where each device lives.
pub fn list_scoped() -> Vec<(String, Scope)> {
    let mut out: Vec<(String, Scope)> = Vec::new();
    let dirs = [
        private_dir(false).ok().flatten(),
        shared_dir().ok().flatten(),
    ];
    for dir in dirs.into_iter().flatten() {
        let Ok(entries) = rustix::fs::Dir::read_from(&*dir.fd) else {
            continue;
        };
        for entry in entries.flatten() {
            let Some(name) = entry.file_name().to_str().ok().map(str::to_owned) else {
                continue;
            };
            if check_name(&name).is_ok()
                && !out.iter().any(|(n, _)| *n == name)
                && stat_entry(&dir, &name).ok().flatten().is_some()
            {
                out.push((name, dir.scope));
            }
        }
    }
    out.sort();
    out
}

/// Reads and changes the state of `emu:NAME`'s drive (tray, medium, faults) as a host-side
/// operator would: no exclusive access is needed, as on a real drive a person can press the
/// eject button. Waits at most [`STATE_LOCK_WAIT`] for the state lock.
///
/// # Errors
/// - `E_INVALIDARG`, `HRESULT_FROM_WIN32(ERROR_DEV_NOT_EXIST)`: as [`remove`].
/// - `E_FAIL`: the state is corrupt or larger than [`MAX_STATE_LEN`].
/// - `E_IMAPI_RECORDER_COMMAND_TIMEOUT`: another process kept the state locked.
pub fn update<T>(name: &str, f: impl FnOnce(&mut DriveState) -> T) -> Result<T> {
    let backing = resolve(name)?;
    with_state(&backing, &format!("{PREFIX}{name}"), STATE_LOCK_WAIT, f)
}

/// Executes one CDB on `emu:NAME`'s drive with its disc image, as the device's own transport
/// does (the state lock, at most [`STATE_LOCK_WAIT`]), for a process that serves the drive to
/// others (`discrec emu serve`: the drive behind a real SCSI device). `data_out` is the
/// command's data-out buffer.
///
/// # Errors
/// As [`update`], and the image file's failures.
pub fn execute(name: &str, cdb: &[u8], data_out: &[u8]) -> Result<Outcome> {
    let backing = resolve(name)?;
    with_state_and_image(
        &backing,
        &format!("{PREFIX}{name}"),
        STATE_LOCK_WAIT,
        |s, store| s.execute_with(cdb, data_out, store),
    )
}

/// Serialises state changes of emulated drives among the threads of this process (POSIX locks,
/// which serialise processes, do not exclude threads of one process).
static EMU_STATE: Mutex<()> = Mutex::new(());

/// The longest string of a state: INQUIRY fields are 8, 16 and 4 bytes, serials up to 32.
const MAX_STATE_STRING: usize = 64;

/// Text quoted from an untrusted state, made safe to show: [`crate::sanitize`], and every
/// non-ASCII character escaped too.
fn escape(text: &str) -> String {
    crate::text::sanitize(text)
        .chars()
        .map(|c| {
            if c.is_ascii() {
                c.to_string()
            } else {
                format!("\\u{{{:x}}}", c as u32)
            }
        })
        .collect()
}

/// Parses the text of an emulated drive's state file: blank text is a new drive (its serial
/// number follows `device`'s name, so two emulated drives differ), anything else must be the
/// JSON this library writes, else `E_FAIL`: unknown enum values and strings that are not
/// printable ASCII of at most 64 bytes are refused, and the refusal quotes nothing raw.
///
/// Other processes may be able to write the file (a shared device), so these bytes are
/// untrusted; the emulator answers any state it accepts without panicking
/// (`DriveState::execute`). Public only for the fuzz targets and property tests (feature
/// `testing`); not a stable API.
pub(crate) fn parse_state(text: &[u8], device: &str) -> Result<DriveState> {
    let device = escape(device);
    if text.iter().all(u8::is_ascii_whitespace) {
        let mut fresh = DriveState::new_recorder();
        let name = device.strip_prefix(PREFIX).unwrap_or(&device);
        fresh.serial = format!("EMU-{name}").chars().take(32).collect();
        return Ok(fresh);
    }
    let state: DriveState = serde_json::from_slice(text).map_err(|e| {
        Error::new(
            HResult::EFail,
            format!(
                "{device}: the emulated drive's state is corrupt ({})",
                escape(&e.to_string())
            ),
        )
    })?;
    for (field, value) in [
        ("vendor", &state.vendor),
        ("product", &state.product),
        ("revision", &state.revision),
        ("serial", &state.serial),
    ] {
        let ok =
            value.len() <= MAX_STATE_STRING && value.bytes().all(|b| (0x20..0x7f).contains(&b));
        if !ok {
            return Err(Error::new(
                HResult::EFail,
                format!(
                    "{device}: the emulated drive's state is corrupt ({field} {:?} is not printable ASCII of at most {MAX_STATE_STRING} bytes)",
                    escape(&value.chars().take(MAX_STATE_STRING).collect::<String>())
                ),
            ));
        }
    }
    Ok(state)
}

/// Takes the state lock on `fd`, trying without blocking until `wait` has passed.
fn lock_state(fd: &OwnedFd, device: &str, wait: Duration) -> Result<()> {
    let deadline = Instant::now() + wait;
    let mut pause = Duration::from_millis(1);
    loop {
        match rustix::fs::fcntl_lock(fd, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return Ok(()),
            Err(rustix::io::Errno::AGAIN)
            | Err(rustix::io::Errno::ACCESS)
            | Err(rustix::io::Errno::INTR) => {}
            Err(e) => {
                return Err(Error::from_io(
                    e.into(),
                    device,
                    "cannot lock the emulated drive",
                ))
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::new(
                HResult::RecorderCommandTimeout,
                format!(
                    "{device}: the emulated drive's state stayed locked by {} for over {} ms",
                    posix_holder(fd),
                    wait.as_millis()
                ),
            ));
        }
        std::thread::sleep(pause.min(left));
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// Reads, changes and writes an emulated drive's state under a POSIX write lock on its file,
/// waiting at most `wait` for the lock.
pub(crate) fn with_state<T>(
    backing: &Backing,
    device: &str,
    wait: Duration,
    f: impl FnOnce(&mut DriveState) -> T,
) -> Result<T> {
    with_state_fd(backing, device, wait, |s, _| f(s))
}

/// [`with_state`] with the disc's sectors: `f` gets the drive's state and the store of its
/// image file. A failure of the image file (a planted file, no space) is the error returned,
/// whatever `f` made of it.
pub(crate) fn with_state_and_image<T>(
    backing: &Backing,
    device: &str,
    wait: Duration,
    f: impl FnOnce(&mut DriveState, &mut dyn SectorStore) -> T,
) -> Result<T> {
    let (out, failure) = with_state_fd(backing, device, wait, |s, fd| {
        let mut store = ImageStore {
            backing,
            state: fd,
            fd: None,
            failure: None,
        };
        let out = f(s, &mut store);
        (out, store.failure)
    })?;
    match failure {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

fn with_state_fd<T>(
    backing: &Backing,
    device: &str,
    wait: Duration,
    f: impl FnOnce(&mut DriveState, BorrowedFd<'_>) -> T,
) -> Result<T> {
    let _threads = EMU_STATE.lock().unwrap_or_else(|p| p.into_inner());
    let fd = backing.open()?;
    // Closing `fd` at the end drops this lock; this process holds no other POSIX lock on it.
    lock_state(&fd, device, wait)?;
    let size = rustix::fs::fstat(&fd)
        .map_err(|e| Error::from_io(e.into(), device, "cannot stat the emulated drive"))?
        .st_size;
    let too_big = || {
        Error::new(
            HResult::EFail,
            format!(
                "{device}: the emulated drive's state file is larger than {} KiB: refusing to read it (remove the device and create it again)",
                MAX_STATE_LEN / 1024
            ),
        )
    };
    if u64::try_from(size).map_or(true, |s| s > MAX_STATE_LEN) {
        return Err(too_big());
    }
    let file = std::fs::File::from(fd);
    let mut text = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(&file, MAX_STATE_LEN + 1),
        &mut text,
    )
    .map_err(|e| Error::from_io(e, device, "cannot read the emulated drive"))?;
    if text.len() as u64 > MAX_STATE_LEN {
        return Err(too_big());
    }
    let mut state = parse_state(&text, device)?;
    let before = state.clone();
    let out = f(&mut state, file.as_fd());
    if state != before || text.is_empty() {
        let json = serde_json::to_vec_pretty(&state)
            .map_err(|e| Error::new(HResult::EFail, format!("{device}: {e}")))?;
        rustix::fs::ftruncate(&file, 0)
            .and_then(|()| rustix::io::pwrite(&file, &json, 0).map(|_written: usize| ()))
            .map_err(|e| Error::from_io(e.into(), device, "cannot write the emulated drive"))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_file_from_before_recording_loads_with_a_blank_disc() {
        let old = br#"{"vendor":"DISCREC","product":"EMULATED BURNER","revision":"1.0",
            "serial":"EMU-x","profiles":[65,26,16,9,8],"medium":9,"tray_open":false,
            "prevent_removal":false,"write_protected":false,"pending_media_event":null,
            "unit_attention":false,"fault":"none"}"#;
        let s = parse_state(old, "emu:x").expect("loads");
        assert_eq!(s.disc, discrecorder_mmc::medium::Disc::default());
        assert_eq!(
            s.faults,
            discrecorder_mmc::emulator::RecordingFaults::default()
        );
        assert_eq!(s.operation, None);
        assert_eq!(s.write_mode.write_type, 1, "TAO, the power-on default");
    }

    #[test]
    fn an_image_name_is_never_a_device_name() {
        assert!(check_name(&image_name("bay1")).is_err());
    }
}
