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
//! What it must not do either: know what an answer means to IMAPI2. Parsers
//! report [`ParseError`]s and sense data reports a
//! [`sense::SenseCondition`]; the recorder library maps those to HRESULTs.
//!
//! Rules every parser here follows:
//! - it never panics and never indexes out of bounds, whatever the input;
//! - a response shorter than a field it needs is a [`ParseError::Truncated`]
//!   naming the field, its offset and the bytes needed versus present;
//! - a response that contradicts itself (a page running past the end its own
//!   length field declares, a page code other than the one asked for) is a
//!   [`ParseError::Inconsistent`].
//!
//! Command builders return a [`Command`]: the CDB as a fixed-size array plus
//! the data direction and allocation length the transport must set up.
//!
//! # Module map
//!
//! Dependencies run downward only; no module imports one on its own floor
//! or above it.
//!
//! ```text
//! emulator       an emulated MMC drive answering CDBs (pure state machine)
//!    |
//! cdb  medium    recognising an incoming CDB; the emulated disc's layout and rules
//!    |
//! inquiry  sense  unit  configuration  mode  event  disc  write
//!                                          one command family each
//!    |
//! bytes  command       bounds-checked field readers; Command, DataDirection
//!    |
//! error  codes         ParseError, EncodeError; opcodes, status, sense keys, ASC/ASCQ
//! ```
//!
//! - [`codes`]: the numbers the standards assign (SPC-4 Annex D, SAM-5 5.3.1);
//! - [`inquiry`]: INQUIRY standard data and VPD pages 0x00, 0x80, 0x83
//!   (SPC-4 6.4, 7.8);
//! - [`sense`]: REQUEST SENSE, fixed and descriptor sense data and the
//!   conditions the recorder acts on (SPC-4 4.5, 6.29);
//! - [`mod@unit`]: TEST UNIT READY, START STOP UNIT, PREVENT ALLOW MEDIUM
//!   REMOVAL (SPC-4 6.37, SBC-3 5.25, SPC-3 6.13);
//! - [`configuration`]: GET CONFIGURATION, profiles and features (MMC-6 6.6,
//!   5.3);
//! - [`mode`]: MODE SENSE(10) and the mode page walk (SPC-4 6.12, 7.5);
//! - [`event`]: GET EVENT STATUS NOTIFICATION, media class (MMC-6 6.7);
//! - [`disc`]: READ DISC INFORMATION, READ TRACK INFORMATION, READ CAPACITY,
//!   READ TOC/PMA/ATIP formats 0 and 1, READ FORMAT CAPACITIES (MMC-6 6.21,
//!   6.26, 6.25; MMC-5 r03c 6.24; see its Sources table);
//! - [`mod@write`]: WRITE(10)/(12), READ(10), SYNCHRONIZE CACHE, CLOSE
//!   TRACK/SESSION, BLANK, FORMAT UNIT, RESERVE TRACK, SEND CUE SHEET, MODE
//!   SELECT(10) with the Write Parameters page, GET PERFORMANCE write speeds,
//!   SET STREAMING, SET CD SPEED, READ BUFFER CAPACITY, and long-operation
//!   progress from sense bytes (MMC-5 r03c 6.3-6.39, 7.5; SPC-4 4.5.2.4.4;
//!   see its Sources table);
//! - [`cdb`]: recognising an incoming CDB (for an emulated drive);
//! - [`medium`]: the emulated drive's disc: layout, each profile's recording rules, and
//!   the [`medium::SectorStore`] the caller provides for its sectors;
//! - [`emulator`]: an emulated MMC drive answering CDBs with this crate's
//!   own encoders (pure state machine, no I/O).
//!
//! # References
//!
//! MMC-6: T10/1836-D, SCSI Multi-Media Commands - 6. SPC-4: T10/1731-D, SCSI
//! Primary Commands - 4. MMC-5: T10/1675-D revision 3c (cited by libburn
//! for the numbers MMC-6 could not be checked for). SPC-3: T10/1416-D. SBC-3: T10/1799-D, SCSI Block
//! Commands - 3. SAM-5: T10/2104-D, SCSI Architecture Model - 5.
#![forbid(unsafe_code)]

mod bytes;
pub mod cdb;
pub mod codes;
mod command;
pub mod configuration;
pub mod disc;
pub mod emulator;
mod error;
pub mod event;
pub mod inquiry;
pub mod medium;
pub mod mode;
pub mod sense;
pub mod unit;
pub mod write;

pub use cdb::Cdb;
pub use command::{Command, DataDirection};
pub use error::{EncodeError, ParseError};
