//! # discrecorder
//!
//! Safe, named, crash-proof exclusive access to optical disc recorders and any block device on
//! Linux, with the semantics of Windows IMAPI2's `IDiscRecorder2::AcquireExclusiveAccess`,
//! `ReleaseExclusiveAccess` and `ExclusiveAccessOwner`.
//!
//! - [`Recorder`]: one client's handle on one device, with a lock count.
//! - [`ExclusiveAccess`]: an RAII guard over the counted API.
//! - [`Owner`]: who holds a device (one of our clients, a foreign program, a mount).
//! - [`Error`] / [`HResult`]: every failure as its exact HRESULT with context.
//!
//! Every claim is held by the kernel (an `O_EXCL` open, `flock`, a POSIX lock, on the device
//! node), so a holder that crashes or is killed frees the device at once. How the client name is
//! published to other processes, and why it cannot be stale or forged, is described in
//! [`record`].
//!
//! ```no_run
//! use discrecorder::Recorder;
//!
//! let rec = Recorder::open("/dev/sr0")?;
//! let access = rec.lock(false, "Disc Robot")?;
//! // ... burn ...
//! drop(access); // released
//! # Ok::<(), discrecorder::Error>(())
//! ```

#![deny(unsafe_code)]

pub mod claim;
pub mod client_name;
pub mod device;
pub mod drive;
pub mod emu;
pub mod error;
/// Property checks shared by the fuzz targets and the test suite; not a stable API.
#[doc(hidden)]
pub mod fuzzing;
pub mod master;
pub mod owner;
pub mod record;
pub mod recorder;
mod sys;
pub mod transport;

pub use claim::{AcquireOptions, Acquired, Wait, Warning};
pub use client_name::ClientName;
pub use device::{Device, DeviceKind};
pub use discrecorder_mmc as mmc;
pub use drive::Identity;
pub use error::{Error, HResult, Result, Sense};
pub use master::RecorderInfo;
pub use owner::{Owner, OwnerKind};
pub use record::HoldMode;
pub use recorder::{ExclusiveAccess, Recorder};

/// Parsers exposed for fuzzing and property tests; not a stable API.
#[doc(hidden)]
pub mod parsers {
    pub use crate::sys::mountinfo::parse_line as parse_mountinfo_line;
    pub use crate::sys::proc_locks::parse_line as parse_proc_locks_line;
    pub use crate::transport::parse_emu_state;
}
