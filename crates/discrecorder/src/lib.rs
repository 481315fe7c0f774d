//! # discrecorder
//!
//! Safe, named, crash-proof exclusive access to optical disc recorders and any block device on
//! Linux, with the semantics of Windows IMAPI2's `IDiscRecorder2::AcquireExclusiveAccess`,
//! `ReleaseExclusiveAccess` and `ExclusiveAccessOwner`.
//!
//! - [`Recorder`]: one client's handle on one device, with a lock count.
//! - [`ExclusiveAccess`] / [`OwnedExclusiveAccess`]: RAII guards over the counted API, borrowing
//!   the recorder or owning it (to move a job's exclusive access into a thread).
//! - [`Owner`]: who holds a device (one of our clients, a foreign program, a mount).
//! - [`Error`] / [`HResult`]: every failure as its exact HRESULT with context.
//!
//! Every claim is held by the kernel (an `O_EXCL` open, `flock`, a POSIX lock, on the device
//! node), so a holder that crashes or is killed frees the device at once. The client name is
//! published to other processes as an owner record in the runtime directory (`/dev/shm` or
//! `$DISCRECORDER_RUNTIME_DIR`) that counts only while the kernel's locks (the writer's
//! `/proc/PID/fdinfo`, else `/proc/locks`) show its writer holding the device's lock, so it can
//! be neither stale nor forged by a process that does not hold the device.
//!
//! Module map (each imports only modules below it):
//!
//! ```text
//! format     writing and erasing media: DataWriter, Eraser, Media (IDiscFormat2Data/Erase)
//!   |-> recorder (below), scsi, transport
//! recorder   the public Recorder: counts, guards, drive operations under exclusive access
//!   |-> claim     kernel claims taken and dropped as one unit; AcquireOptions, Wait
//!   |     |-> owner      who holds a device: Owner, discovery order
//!   |     |     |-> registry   this process's table of held devices and its own identity
//!   |     |     |-> device     resolving a device string, presence checks
//!   |     |     |     |-> emu        emulated recorders: private/shared storage, state file
//!   |     |     |-> record     owner records: publish, lock, look up
//!   |     |-> queue      wait tickets: waiters served in arrival order
//!   |-> drive     MMC queries and tray commands over one device
//!   |     |-> scsi       one command: transport choice, unit attention, sense -> HRESULT
//!   |           |-> transport  moving bytes: SG_IO or the emulated drive
//!   |-> master    enumeration and stable recorder ids
//! leaves: error (HRESULTs), client_name, text (sanitize), sys (Linux platform layer)
//! ```
//!
//! ```no_run
//! use discrecorder::Recorder;
//!
//! let rec = Recorder::open("/dev/sr0")?;
//! let access = rec.lock("Disc Robot")?;
//! // ... burn ...
//! drop(access); // released
//! # Ok::<(), discrecorder::Error>(())
//! ```

#![deny(unsafe_code)]

mod claim;
mod client_name;
mod device;
mod drive;
pub mod emu;
mod error;
pub mod format;
/// Property checks shared by the fuzz targets and the test suite (feature `testing`); not a
/// stable API.
#[cfg(feature = "testing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod master;
mod owner;
mod queue;
mod record;
mod recorder;
mod registry;
mod scsi;
mod sys;
mod text;
mod transport;

pub use claim::{AcquireOptions, Acquired, ClaimScope, Mounted, Wait, Warning};
pub use client_name::ClientName;
pub use device::{Device, DeviceKind};
pub use discrecorder_mmc as mmc;
pub use drive::Identity;
pub use error::{Error, HResult, Result, Sense};
pub use master::RecorderInfo;
pub use owner::{Owner, OwnerKind};
pub use queue::Waiter;
pub use record::{HoldMode, Job, JobAction};
pub use recorder::{AccessGuard, ExclusiveAccess, OwnedExclusiveAccess, Recorder};
pub use text::sanitize;

/// Internals exposed to the fuzz targets, property tests and benches (feature `testing`); not a
/// stable API.
#[cfg(feature = "testing")]
#[doc(hidden)]
pub mod testing {
    pub use crate::record::{OwnerRecord, ProcessId};
    use std::path::PathBuf;

    /// The backing file of this user's private `emu:NAME`.
    pub fn backing_path(name: &str) -> PathBuf {
        crate::emu::backing_path(name)
    }

    /// The backing file of the shared `emu:NAME`.
    pub fn shared_backing_path(name: &str) -> PathBuf {
        crate::emu::shared_backing_path(name)
    }

    /// Parses an emulated drive's state file (see `emu::parse_state`).
    pub fn parse_emu_state(
        text: &[u8],
        device: &str,
    ) -> crate::Result<crate::mmc::emulator::DriveState> {
        crate::emu::parse_state(text, device)
    }
    /// The write bench's sides on an in-memory emulated recorder: `write(profile, bytes)`
    /// (the `DataWriter` job, layout verification), `floor(profile, bytes)` (the same WRITE
    /// commands straight through the same transport), `fingerprint_only(bytes)` (SHA-256 and
    /// sector tags alone).
    pub use crate::format::data::bench as write_bench;
    pub use crate::sys::mountinfo::parse_line as parse_mountinfo_line;
    pub use crate::sys::proc_locks::parse_line as parse_proc_locks_line;
}
