//! Linux platform layer: the system calls and kernel files the library reads.
//!
//! Owns every path into `/proc` and `/sys`, the runtime-directory safety rules and the kernel
//! wake-up used by waiting acquires. It knows nothing of client names, counts or HRESULTs: it
//! returns `io::Result` and plain values, and the recorder logic decides what they mean.

pub(crate) mod cdrom;
pub(crate) mod exec;
pub(crate) mod mountinfo;
pub(crate) mod node;
mod openers;
pub(crate) mod proc_locks;
pub(crate) mod process;
pub(crate) mod sg;

pub use openers::openers_of;

use std::fs;
use std::io::{self, Read, Seek};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::fs::inotify;

/// The identity of an inode: `(st_dev, st_ino)`. This is how `/proc/locks` names a locked file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileId {
    /// The device of the file system holding the inode.
    pub dev: u64,
    /// The inode number.
    pub ino: u64,
}

impl FileId {
    /// The identity of what `stat` describes.
    pub fn of(stat: &rustix::fs::Stat) -> FileId {
        FileId {
            dev: stat.st_dev,
            ino: stat.st_ino,
        }
    }
}

/// `/sys/dev/block/MAJ:MIN`: the sysfs directory of a block device.
pub fn block_sysfs_dir(major: u32, minor: u32) -> PathBuf {
    PathBuf::from(format!("/sys/dev/block/{major}:{minor}"))
}

/// The kernel's name for a block device (`DEVNAME` in its uevent), for example `sr0`.
pub fn block_devname(major: u32, minor: u32) -> io::Result<String> {
    let uevent = fs::read_to_string(block_sysfs_dir(major, minor).join("uevent"))?;
    uevent
        .lines()
        .find_map(|l| l.strip_prefix("DEVNAME="))
        .map(str::to_owned)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "uevent has no DEVNAME"))
}

/// The device itself plus every partition of it, as `(major, minor)` pairs. Partitions are the
/// entries of the device's sysfs directory named after it (`sda1`, `loop0p1`, `sr0`'s none).
pub fn block_device_and_partitions(major: u32, minor: u32, devname: &str) -> Vec<(u32, u32)> {
    let mut out = vec![(major, minor)];
    if devname.is_empty() {
        return out;
    }
    let Ok(entries) = fs::read_dir(block_sysfs_dir(major, minor)) else {
        return out;
    };
    for entry in entries.flatten() {
        let is_child = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.len() > devname.len() && n.starts_with(devname));
        if !is_child {
            continue;
        }
        if let Ok(dev) = fs::read_to_string(entry.path().join("dev")) {
            if let Some((ma, mi)) = dev.trim().split_once(':') {
                if let (Ok(ma), Ok(mi)) = (ma.parse(), mi.parse()) {
                    out.push((ma, mi));
                }
            }
        }
    }
    out
}

/// Whether a loop device has a backing file attached (a detached loop device has no medium
/// and no size: for us it is gone). A partition of a loop device (`loop0p1`) has no `loop/`
/// directory of its own: its disk's (the parent sysfs directory) answers for it.
pub fn loop_device_bound(major: u32, minor: u32) -> bool {
    let dir = block_sysfs_dir(major, minor);
    let disk = if dir.join("partition").exists() {
        dir.join("..")
    } else {
        dir
    };
    rustix::fs::stat(disk.join("loop/backing_file")).is_ok()
}

/// The program name the kernel reports for `pid` (`/proc/PID/comm`), unsanitised.
pub fn program_name(pid: i32) -> Option<String> {
    let mut comm = fs::read(format!("/proc/{pid}/comm")).ok()?;
    while comm.last() == Some(&b'\n') {
        comm.pop();
    }
    Some(String::from_utf8_lossy(&comm).into_owned())
}

/// The disk a partition belongs to, as `(major, minor)`; `None` for a whole disk.
pub fn block_disk_of(major: u32, minor: u32) -> Option<(u32, u32)> {
    let dir = block_sysfs_dir(major, minor);
    if !dir.join("partition").exists() {
        return None;
    }
    let dev = fs::read_to_string(dir.join("../dev")).ok()?;
    let (ma, mi) = dev.trim().split_once(':')?;
    Some((ma.parse().ok()?, mi.parse().ok()?))
}

/// The kernel's own holders of a block device (`holders/` in sysfs: the device-mapper or md
/// devices built on it), by kernel name.
pub fn block_holders(major: u32, minor: u32) -> Vec<String> {
    let Ok(entries) = fs::read_dir(block_sysfs_dir(major, minor).join("holders")) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .collect()
}

/// Where owner records and emulated devices live: `$DISCRECORDER_RUNTIME_DIR`, else `/dev/shm`
/// (a root-owned, sticky, world-writable tmpfs on every Linux system).
pub fn runtime_dir() -> PathBuf {
    std::env::var_os("DISCRECORDER_RUNTIME_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/dev/shm"))
}

/// Opens a shared directory for creating files in it, refusing one that others could use to
/// clobber or redirect them: it must be a real directory (not a symlink), owned by root or by
/// us, and sticky if anyone else may write to it.
pub fn open_shared_dir(path: &Path) -> Result<OwnedFd, String> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| {
        format!(
            "runtime directory {} cannot be used: {}",
            path.display(),
            crate::error::errno_text(&e.into())
        )
    })?;
    let st = rustix::fs::fstat(&fd)
        .map_err(|e| format!("cannot stat runtime directory {}: {e}", path.display()))?;
    let euid = rustix::process::geteuid().as_raw();
    if st.st_uid != 0 && st.st_uid != euid {
        return Err(format!(
            "runtime directory {} is owned by uid {}, neither root nor us: refusing to publish in it",
            path.display(),
            st.st_uid
        ));
    }
    let mode = st.st_mode;
    if mode & 0o022 != 0 && mode & 0o1000 == 0 {
        return Err(format!(
            "runtime directory {} is writable by others without the sticky bit (mode {:o}): refusing to publish in it",
            path.display(),
            mode & 0o7777
        ));
    }
    Ok(fd)
}

/// Sleeps until the kernel says something that may free a device changed: a descriptor on its
/// node was closed (the holder released or died), the node changed or went away, or (for block
/// devices) the mount table changed. A fallback period bounds every sleep, so waiting never
/// polls faster than that period without a kernel event.
#[derive(Debug)]
pub struct ChangeWaiter {
    inotify: OwnedFd,
    mountinfo: Option<fs::File>,
}

impl ChangeWaiter {
    /// The longest sleep without a kernel event.
    pub const FALLBACK_PERIOD: Duration = Duration::from_millis(100);

    /// Watches `node` (and the mount table when `watch_mounts`).
    pub fn new(node: &Path, watch_mounts: bool) -> io::Result<ChangeWaiter> {
        use inotify::{CreateFlags, WatchFlags};
        let fd = inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK)?;
        inotify::add_watch(
            &fd,
            node,
            WatchFlags::CLOSE_WRITE
                | WatchFlags::CLOSE_NOWRITE
                | WatchFlags::ATTRIB
                | WatchFlags::DELETE_SELF,
        )?;
        let mountinfo = if watch_mounts {
            let mut f = fs::File::open("/proc/self/mountinfo")?;
            io::copy(&mut f, &mut io::sink())?;
            Some(f)
        } else {
            None
        };
        Ok(ChangeWaiter {
            inotify: fd,
            mountinfo,
        })
    }

    /// Waits for an event or `timeout` (capped at [`Self::FALLBACK_PERIOD`]); true when an event
    /// ended the wait.
    pub fn wait(&mut self, timeout: Duration) -> io::Result<bool> {
        let timeout = timeout.min(Self::FALLBACK_PERIOD);
        let ts = Timespec {
            tv_sec: timeout.as_secs() as i64,
            tv_nsec: i64::from(timeout.subsec_nanos()),
        };
        let event = {
            let mut fds = vec![PollFd::new(&self.inotify, PollFlags::IN)];
            if let Some(m) = &self.mountinfo {
                fds.push(PollFd::from_borrowed_fd(
                    m.as_fd(),
                    PollFlags::PRI | PollFlags::ERR,
                ));
            }
            match rustix::event::poll(&mut fds, Some(&ts)) {
                Ok(n) => n > 0,
                Err(rustix::io::Errno::INTR) => false,
                Err(e) => return Err(e.into()),
            }
        };
        // Drain what woke us so the next wait sleeps again.
        let mut buf = [0u8; 4096];
        while rustix::io::read(&self.inotify, &mut buf).is_ok_and(|n| n > 0) {}
        if let Some(m) = &mut self.mountinfo {
            m.rewind()?;
            let mut sink = Vec::new();
            m.read_to_end(&mut sink)?;
        }
        Ok(event)
    }
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Tells the kernel and udev that the medium of block device `major:minor` (node `node`)
/// changed after a write or an erase: writes `change` to its sysfs `uevent` (udev re-runs its
/// rules: `cdrom_id` and `blkid` refresh `ID_CDROM_MEDIA_*` and `ID_FS_*` in the udev database,
/// so udisks and file managers see the new disc; root only, other users' writes fail with
/// EACCES), then opens and closes the node once: the sr driver re-reads the capacity
/// (`sr_block_open` -> `disk_check_media_change` -> `sr_revalidate_disk` -> `get_sectorsize`,
/// which `set_capacity`s `/sys/block/srN/size`) when the drive reports the medium changed.
/// The open is skipped unless `reopen`: closing any descriptor of the node drops this
/// process's POSIX locks on it, so a process that holds the device must not. Best effort: an
/// error of either step is returned after both were tried.
///
/// # References
/// - `drivers/scsi/sr.c` (`sr_block_open`, `sr_revalidate_disk`, `get_sectorsize`).
/// - `Documentation/ABI/testing/sysfs-uevent`.
pub fn announce_medium_change(major: u32, minor: u32, node: &Path, reopen: bool) -> io::Result<()> {
    let uevent = std::fs::OpenOptions::new()
        .write(true)
        .open(block_sysfs_dir(major, minor).join("uevent"))
        .and_then(|mut f| io::Write::write_all(&mut f, b"change\n"));
    if !reopen {
        return uevent;
    }
    let reopened = rustix::fs::open(
        node,
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::NONBLOCK | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map(drop)
    .map_err(io::Error::from);
    uevent.and(reopened)
}
