//! Writing and erasing media: IMAPI2's `IDiscFormat2Data` ([`DataWriter`]) and
//! `IDiscFormat2Erase` ([`Eraser`]), with the medium's state as they see it ([`Media`]).
//!
//! The layer above [`crate::recorder`]: every operation that changes the medium takes exclusive
//! access for itself under its own client name (nesting under a lock its caller holds), stops
//! media change notification while it runs, and gives both back on every path out. Commands
//! reach the drive through the recorder's transport ([`crate::scsi`] runs each one); byte
//! layouts are `discrecorder_mmc`'s. Nothing here prints.
//!
//! - [`media`]: the media status bitmask, physical type, free space, sessions, speeds.
//! - [`data`]: the write job and its options.
//! - [`erase`]: blanking and formatting.
//! - [`progress`]: progress reports and the cancel token.

mod channel;
pub mod data;
pub mod erase;
pub mod media;
pub mod progress;
mod stream;

pub use data::{Closing, DataWriter, Overwrite, Speed, Verification, WriteOptions, WriteReport};
pub use erase::{EraseKind, Eraser};
pub use media::{Media, MediaStatus, PhysicalMediaType, SessionSpan};
pub use progress::{Action, CancelToken, Progress};
