//! Which device a recorder talks to, and whether it is still there.
//!
//! Owns turning a user's device string (`/dev/sr0`, `/dev/cdrom`, `emu:NAME`) into a [`Device`]:
//! the node to lock, its inode identity for `/proc/locks`, and the key under which its owner
//! record is published. It opens nothing (opening and closing a node would drop this process's
//! POSIX locks on it): it only stats. An emulated device keeps its [`emu`] backing (a checked
//! directory descriptor and the inode resolved), so that every later open and presence check
//! is of that very inode, never of whatever the name points at by then.

use std::path::{Path, PathBuf};

use rustix::fs::FileType;

use crate::emu;
use crate::error::{Error, HResult, Result};
use crate::sys::{self, FileId};

/// What kind of device a recorder is on.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeviceKind {
    /// A kernel block device (`/dev/srN`, `/dev/loopN`, a disk).
    Block {
        /// Major device number.
        major: u32,
        /// Minor device number.
        minor: u32,
    },
    /// An emulated recorder, `emu:NAME`, backed by a file in this user's private directory of
    /// emulated recorders, or in the administrator's shared one.
    Emulated {
        /// Its name.
        name: String,
    },
}

/// A resolved device.
#[derive(Clone, Debug)]
pub struct Device {
    spec: String,
    kind: DeviceKind,
    path: PathBuf,
    node: FileId,
    key: String,
    /// The kernel's name (`sr0`, `loop3`), empty for emulated devices.
    devname: String,
    /// Whether the device speaks MMC (an sr drive, SCSI type 5, or an emulated recorder).
    mmc: bool,
    /// An emulated device's backing file, as resolved.
    backing: Option<emu::Backing>,
}

impl Device {
    /// Resolves a device string: a block device path (symlinks such as `/dev/cdrom` are
    /// followed) or `emu:NAME` of an existing emulated recorder. It creates nothing.
    ///
    /// # Errors
    /// - `HRESULT_FROM_WIN32(ERROR_DEV_NOT_EXIST)`: no such node, or no such emulated recorder
    ///   (create one with [`crate::emu::create`]).
    /// - `E_INVALIDARG`: the path is not a block device, or the emulated name is not valid.
    /// - `E_ACCESSDENIED`: the node cannot be examined, or an emulated recorder's directory is
    ///   unsafe or its file was replaced by something other than a regular file.
    pub fn resolve(spec: &str) -> Result<Device> {
        if let Some(name) = spec.strip_prefix(emu::PREFIX) {
            let backing = emu::resolve(name)?;
            return Ok(Device {
                spec: spec.to_owned(),
                kind: DeviceKind::Emulated {
                    name: name.to_owned(),
                },
                node: backing.id(),
                key: emu::record_key(name),
                path: backing.path(),
                devname: String::new(),
                mmc: true,
                backing: Some(backing),
            });
        }
        let given = Path::new(spec);
        let st = stat(given, spec)?;
        if FileType::from_raw_mode(st.st_mode) != FileType::BlockDevice {
            return Err(Error::new(
                HResult::EInvalidArg,
                format!("{spec} is not a block device (nor emu:NAME)"),
            ));
        }
        let (major, minor) = (rustix::fs::major(st.st_rdev), rustix::fs::minor(st.st_rdev));
        // Lock the kernel's own node so that every name of the device meets the same lock.
        let mut path = given.to_path_buf();
        let mut node_st = st;
        let devname = sys::block_devname(major, minor).unwrap_or_default();
        if !devname.is_empty() {
            let canonical = PathBuf::from("/dev").join(&devname);
            if let Ok(cst) = rustix::fs::stat(&canonical) {
                if cst.st_rdev == st.st_rdev
                    && FileType::from_raw_mode(cst.st_mode) == FileType::BlockDevice
                {
                    path = canonical;
                    node_st = cst;
                }
            }
        }
        Ok(Device {
            spec: spec.to_owned(),
            kind: DeviceKind::Block { major, minor },
            node: FileId::of(&node_st),
            key: format!("blk-{major}-{minor}"),
            path,
            devname,
            backing: None,
            mmc: std::fs::read_to_string(format!("/sys/dev/block/{major}:{minor}/device/type"))
                .is_ok_and(|t| t.trim() == "5"),
        })
    }

    /// The string the user gave.
    pub fn spec(&self) -> &str {
        &self.spec
    }

    /// The kind of device.
    pub fn kind(&self) -> &DeviceKind {
        &self.kind
    }

    /// The node that is locked and opened.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// An emulated device's backing file, as resolved.
    pub(crate) fn backing(&self) -> Option<&emu::Backing> {
        self.backing.as_ref()
    }

    /// For an emulated device, a new read-write descriptor on its backing file, opened relative
    /// to its checked directory without following symlinks and checked to be the inode
    /// resolved; `None` for a block device.
    pub(crate) fn open_emulated(&self) -> Option<Result<std::os::fd::OwnedFd>> {
        self.backing.as_ref().map(emu::Backing::open)
    }

    /// The identity of the node's inode.
    pub(crate) fn node(&self) -> FileId {
        self.node
    }

    /// The key of the owner record (`blk-MAJ-MIN` or `emu-NAME`).
    pub(crate) fn key(&self) -> &str {
        &self.key
    }

    /// Whether this is a block device (mounts and `O_EXCL` apply).
    pub fn is_block(&self) -> bool {
        matches!(self.kind, DeviceKind::Block { .. })
    }

    /// Whether the device speaks MMC (decided once, when resolved).
    pub fn is_mmc(&self) -> bool {
        self.mmc
    }

    /// The cheap part of [`Device::check_present`] for the acquire path, where opening the node
    /// reports a missing device anyway: only a detached loop device opens fine while gone.
    /// (An emulated device's backing file is checked in full: that is one `stat`.)
    pub(crate) fn check_not_detached(&self) -> Result<()> {
        match self.kind {
            DeviceKind::Block { major, minor } => {
                if self.devname.starts_with("loop") && !sys::loop_device_bound(major, minor) {
                    return Err(self.detached(major, minor));
                }
                Ok(())
            }
            DeviceKind::Emulated { .. } => self.check_present(),
        }
    }

    fn detached(&self, major: u32, minor: u32) -> Error {
        Error::new(
            HResult::DevNotExist,
            format!(
                "{} ({major}:{minor}) is no longer present (unplugged, removed or a detached loop device)",
                self.spec
            ),
        )
    }

    /// Checks that a descriptor just opened on the node is the device resolved, not a node
    /// that was replaced since (`ERROR_INVALID_HANDLE`).
    pub(crate) fn verify_fd(&self, fd: &std::os::fd::OwnedFd) -> Result<()> {
        let st = rustix::fs::fstat(fd)
            .map_err(|e| Error::from_io(e.into(), &self.spec, "cannot stat"))?;
        let same = match self.kind {
            DeviceKind::Block { major, minor } => st.st_rdev == rustix::fs::makedev(major, minor),
            DeviceKind::Emulated { .. } => FileId::of(&st) == self.node,
        };
        if same {
            Ok(())
        } else {
            Err(self.replaced())
        }
    }

    fn replaced(&self) -> Error {
        Error::new(
            HResult::InvalidHandle,
            format!(
                "{} now refers to a different device than when this recorder was opened",
                self.path.display()
            ),
        )
    }

    /// Checks the device is still the one resolved: gone gives `ERROR_DEV_NOT_EXIST`, a node
    /// that now names another device gives `ERROR_INVALID_HANDLE`.
    ///
    /// # Errors
    /// - `HRESULT_FROM_WIN32(ERROR_DEV_NOT_EXIST)`: gone (or a detached loop device).
    /// - `HRESULT_FROM_WIN32(ERROR_INVALID_HANDLE)`: the node now names another device.
    pub fn check_present(&self) -> Result<()> {
        if let Some(b) = &self.backing {
            return b.check_present();
        }
        let st = stat(&self.path, &self.spec)?;
        let same = match self.kind {
            DeviceKind::Block { major, minor } => {
                if self.devname.starts_with("loop") && !sys::loop_device_bound(major, minor) {
                    return Err(self.detached(major, minor));
                }
                st.st_rdev == rustix::fs::makedev(major, minor)
            }
            DeviceKind::Emulated { .. } => FileId::of(&st) == self.node,
        };
        if !same {
            return Err(self.replaced());
        }
        Ok(())
    }

    /// The device and its partitions, for matching mounts.
    pub(crate) fn block_numbers(&self) -> Vec<(u32, u32)> {
        match self.kind {
            DeviceKind::Block { major, minor } => {
                sys::block_device_and_partitions(major, minor, &self.devname)
            }
            DeviceKind::Emulated { .. } => Vec::new(),
        }
    }
}

fn stat(path: &Path, spec: &str) -> Result<rustix::fs::Stat> {
    rustix::fs::stat(path).map_err(|e| Error::from_io(e.into(), spec, "cannot stat"))
}
