//! Bytes <-> typed values for the SCSI commands an optical disc recorder speaks
//! (MMC-6 and the SPC-4 commands MMC devices share).
//!
//! This crate owns exactly one job: building command descriptor blocks (CDBs)
//! and turning response bytes into typed values, and back again so that an
//! emulated drive can answer with the same code. It is the analogue of
//! `netlink-packet-route`: pure functions over byte slices.
//!
//! What it must not do: any I/O. No file descriptors, no ioctls, no `SG_IO`,
//! no sysfs, no clocks, no `unsafe`. A transport elsewhere moves the bytes; the
//! recorder logic elsewhere decides what to send and what the answers mean for
//! exclusive access.
//!
//! Rules every parser here follows:
//! - it never panics and never indexes out of bounds, whatever the input;
//! - a response shorter than a field it needs is a [`ParseError::Truncated`]
//!   naming the field, its offset and the bytes needed versus present;
//! - a response that contradicts itself (a page running past the end its own
//!   length field declares, a page code other than the one asked for) is a
//!   [`ParseError::Inconsistent`];
//! - every [`ParseError`] maps to IMAPI2's
//!   `E_IMAPI_RECORDER_INVALID_RESPONSE_FROM_DEVICE` through
//!   [`ParseError::hresult`].
//!
//! Command builders return a [`Command`]: the CDB as a fixed-size array plus
//! the data direction and allocation length the transport must set up.
//!
//! Module map:
//! - [`inquiry`]: INQUIRY standard data and VPD pages 0x00, 0x80, 0x83;
//! - [`sense`]: REQUEST SENSE, fixed and descriptor sense data, the
//!   conditions the recorder acts on and their IMAPI2 HRESULTs;
//! - [`mod@unit`]: TEST UNIT READY, START STOP UNIT, PREVENT ALLOW MEDIUM REMOVAL;
//! - [`configuration`]: GET CONFIGURATION, profiles and features;
//! - [`mode`]: MODE SENSE(10) and the mode page walk;
//! - [`event`]: GET EVENT STATUS NOTIFICATION, media class;
//! - [`cdb`]: recognising an incoming CDB (for an emulated drive);
//! - [`emulator`]: an emulated MMC drive answering CDBs with this crate's
//!   own encoders (pure state machine, no I/O);
//! - [`hresult`]: the IMAPI2 HRESULT numbers used here.
#![forbid(unsafe_code)]

mod bytes;
pub mod cdb;
mod command;
pub mod configuration;
pub mod emulator;
mod error;
pub mod event;
pub mod hresult;
pub mod inquiry;
pub mod mode;
pub mod sense;
pub mod unit;

pub use cdb::Cdb;
pub use command::{Command, DataDirection};
pub use error::{EncodeError, ParseError};
