//! An emulated MMC drive: a pure state machine that answers CDBs the way a
//! real optical disc recorder does, built only from this crate's own
//! recognisers and encoders ([`Cdb::parse`], [`StandardInquiry::encode`],
//! [`encode_configuration`], [`encode_mode_sense10`], [`EventStatus::encode`],
//! [`SenseData::encode`], ...). No I/O, no clocks, no threads: the caller
//! owns the [`DriveState`] (the library persists it between processes as
//! JSON) and feeds it one CDB at a time through [`DriveState::execute_with`], with a
//! [`SectorStore`] for the disc's sectors ([`DriveState::execute`] uses one that holds none).
//!
//! Owns the drive's behaviour: which answer (data, status, sense) each CDB
//! gets in each state. It is the top of the crate: it imports the dispatcher
//! ([`Cdb`]) and the command modules' encoders, and nothing imports it. It
//! must not do I/O, read clocks or persist itself (the library stores the
//! state). The behaviour follows MMC-6 (6.6 GET CONFIGURATION, 6.7 GET EVENT
//! STATUS NOTIFICATION, 5.3.4 Removable Medium for the tray and its lock), SPC-4 (6.4
//! INQUIRY, 6.12 MODE SENSE(10), 6.29 REQUEST SENSE, 6.37 TEST UNIT READY,
//! 4.5 sense data) and SAM-5 5.3.1 (status), checked against QEMU's emulated
//! CD-ROM drive.
//!
//! # What the drive answers
//!
//! | command | answer |
//! |---|---|
//! | INQUIRY | standard data (type 5, removable, SPC-3, 96 bytes); VPD 0x00 (lists 0x00, 0x80, 0x83), 0x80 (serial), 0x83 (one T10 vendor ID designator: vendor, product, serial); any other page, or a page code without EVPD: ILLEGAL REQUEST 24/00 |
//! | TEST UNIT READY | GOOD with a medium behind a closed tray; NOT READY 3A/01 (no medium, tray closed), 3A/02 (tray open), 30/00 (a medium of a profile the drive does not support) |
//! | REQUEST SENSE | fixed-format sense (the DESC bit is ignored, as MMC drives commonly do) of the current condition: a pending unit attention (reported and cleared, as SPC requires), else the not-ready condition TEST UNIT READY would report, else NO SENSE |
//! | GET CONFIGURATION | the features below, filtered by RT and the starting feature ([`RequestType::selects`]); the header's current profile is the mounted medium's (0 when none) |
//! | MODE SENSE(10) | pages 0x01, 0x05, 0x1A, 0x2A, no block descriptors; PC=changeable gives the same pages all zero (nothing is changeable), PC=saved is ILLEGAL REQUEST 39/00 (saving not supported); an unknown page or a subpage other than 0x00/0xFF is ILLEGAL REQUEST 24/00 |
//! | START STOP UNIT | eject opens the tray (ILLEGAL REQUEST 53/02 while removal is prevented); load closes it; start/stop and power conditions are GOOD no-ops |
//! | PREVENT ALLOW MEDIUM REMOVAL | prevent/allow set and clear [`DriveState::prevent_removal`]; the persistent variants are accepted and change nothing (a persistent prevent does not block a START STOP UNIT eject) |
//! | GET EVENT STATUS NOTIFICATION | polled only (asynchronous: ILLEGAL REQUEST 24/00); the media class reports and clears the pending media event; other classes: "no event available" |
//! | READ DISC INFORMATION | the standard block (data type 000b only, else 24/00) for the disc's layout: status blank/incomplete/complete/others, last session state, sessions counting the open one, first and last track of the last session (the invisible track included), NWA and last possible lead-out (MSF on CD), erasable bit, BG format status 11b on a formatted DVD+RW ([`medium`]) |
//! | READ TRACK INFORMATION | by LBA, track number (FFh: the invisible track) or session: start, NWA and NWA_V, free blocks, size, blank, RT, last recorded address; 24/00 for no such track |
//! | READ CAPACITY | the last recorded block on sequential media, the last block of a formatted or read-only disc, 0 when unformatted |
//! | READ TOC/PMA/ATIP | format 0 (tracks with data, lead-out) and 1 (sessions), LBA or MSF; a blank disc, other formats: 24/00 |
//! | READ FORMAT CAPACITIES | current capacity, descriptor type 01b (blank/unformatted) or 10b (formatted), 11b without a medium; the format types FORMAT UNIT accepts (DVD+RW 26h, BD-RE 30h/31h, DVD-RW 00h/15h) |
//! | WRITE(10), WRITE(12) | the profile's rules ([`medium`]): at the NWA on sequential media (21/02 elsewhere, 21/00 past the capacity), anywhere once formatted on DVD+RW/BD-RE/DVD-RW RO (2/30/10 before), 5/30/05 on read-only media; DATA PROTECT 7/27/00 when write protected; the blocks go to the [`SectorStore`] |
//! | READ(10) | the blocks from the [`SectorStore`]; unwritten blocks of sequential media: 21/00 |
//! | SYNCHRONIZE CACHE | GOOD (Immed or not); written blocks are safe from a power loss; ends a session at once that has track data |
//! | SEND CUE SHEET | with write type 2 (session at once) only, else 2C/00; a blank CD-R/CD-RW only (other media, a disc with tracks: 2C/00); the sheet plans the session (lead-in, Mode 1 data tracks of data form 10h, lead-out; anything else 26/00), the WRITEs then go from LBA -150 (the pregap, dropped) to the lead-out, whose last block closes the session ([`medium::SessionAtOnce`]) |
//! | CLOSE TRACK/SESSION | closes the track; closes the session (finalizing on CD and DVD-R/-RW when multi-session is 00b) or finalizes (110b, 101b); a no-op on rewritable media |
//! | BLANK | full or minimal, CD-RW and DVD-RW (a restricted-overwrite DVD-RW becomes sequential); with Immed, NOT READY 04/07 with progress for [`OPERATION_POLLS`] polls |
//! | FORMAT UNIT | FmtData with format code 001b: DVD+RW 26h, BD-RE 00h/30h/31h, DVD-RW 00h/13h/15h (becomes restricted overwrite); with Immed, NOT READY 04/04 with progress for [`OPERATION_POLLS`] polls |
//! | RESERVE TRACK | reserves a track at the invisible track's NWA on sequential media (ARSV and other media: 24/00) |
//! | MODE SELECT(10) | the Write Parameters page 05h: write type, multi-session and test write are kept and reported by MODE SENSE (and marked changeable); anything else 26/00; SP 39/00 |
//! | GET PERFORMANCE | type 03h: the medium's write speeds, fastest first; other types 24/00 |
//! | SET STREAMING, SET CD SPEED | accepted (a performance descriptor that does not decode: 26/00) |
//! | READ BUFFER CAPACITY | a 4 MiB buffer, always empty (the drive writes through) |
//! | anything else | ILLEGAL REQUEST 20/00 (invalid command operation code) |
//!
//! While a BLANK or FORMAT UNIT with Immed reports progress ([`DriveState::operation`]),
//! TEST UNIT READY and REQUEST SENSE answer NOT READY with the progress in sense bytes 15-17
//! and count down; other commands on the medium get the same NOT READY without counting.
//!
//! A pending unit attention (6/28/00, set by [`DriveState::insert_medium`]
//! and [`DriveState::remove_medium`]) fails the next command other than
//! INQUIRY, REQUEST SENSE and GET EVENT STATUS NOTIFICATION once, before
//! any other check (a pending power-on unit attention 6/29/00 goes first). A CDB too short
//! for its operation code is ILLEGAL REQUEST 24/00 (an empty one 20/00); so is GET
//! CONFIGURATION with the reserved RT value 3 and READ TRACK INFORMATION with address type
//! 11b. Data-out bytes are read by WRITE, MODE SELECT(10), FORMAT UNIT, SET STREAMING and
//! SEND CUE SHEET.
//!
//! # Features reported by GET CONFIGURATION
//!
//! Always (persistent and current): 0x0000 Profile List (the supported
//! profiles in [`DriveState::profiles`] order, CurrentP on the mounted one),
//! 0x0001 Core, 0x0002 Morphing, 0x0003 Removable Medium (tray, load, eject,
//! lock, prevent jumper present), 0x0100 Power Management, 0x0105 Timeout,
//! 0x0108 Drive Serial Number (when the serial is not empty).
//!
//! When a profile needing them is supported, current only with a medium that
//! makes them current: 0x0010 Random Readable (any medium), 0x001D Multi-Read
//! and 0x001E CD Read (CD), 0x001F DVD Read (DVD), 0x0020 Random Writable
//! (BD-RE), 0x0021 Incremental Streaming Writable (CD-R/RW, DVD-R/RW
//! sequential, BD-R SRM), 0x0023 Formattable (DVD+RW, BD-RE, DVD-RW), 0x0026
//! Restricted Overwrite (DVD-RW RO), 0x002A DVD+RW (DVD+RW), 0x002B DVD+R
//! (DVD+R), 0x002D CD Track at Once (CD-R/RW), 0x002F DVD-R/-RW Write
//! (DVD-R/-RW), 0x0040 BD Read (BD), 0x0041 BD Write (BD-R/RE). Writing
//! features are not current while [`DriveState::write_protected`] is set
//! (DVD+RW's and DVD+R's stay current with their Write bit cleared).
//!
//! The lock *state* is not part of the Removable Medium feature (its Lock
//! bit says the drive *can* lock); the drive reports it where MMC puts it,
//! in the Lock State bit of mode page 0x2A.
//!
//! # Faults
//!
//! Recording faults ([`DriveState::faults`], [`RecordingFaults`]), all deterministic: a
//! defective block (WRITE touching it: MEDIUM ERROR 3/0C/00 with the LBA in the information
//! field, nothing written); a long write in progress (SYNCHRONIZE CACHE, TEST UNIT READY and
//! REQUEST SENSE: NOT READY 2/04/08 for K polls, the cache unsynchronized meanwhile); a block
//! that reads back different (its first byte inverted); a power loss
//! ([`DriveState::power_loss`]: blocks written since the last SYNCHRONIZE CACHE are lost, the
//! NWA falls back, then UNIT ATTENTION 6/29/00); and a [`Trigger`] that starts a hang,
//! vanish or garbage at the Nth command from now or at the first command with an opcode.
//!
//! [`Fault::Hang`] and [`Fault::Vanish`] turn every command into
//! [`Outcome::Hang`] and [`Outcome::Vanished`]. [`Fault::Garbage`] answers
//! every data-in command GOOD with data that the matching parser of this
//! crate rejects, whatever the allocation length:
//!
//! - standard INQUIRY: 20 bytes whose additional length ends them before
//!   the product revision level (byte 36);
//! - INQUIRY VPD: a different page than the one asked for (wrong page code);
//! - GET CONFIGURATION: a data length shorter than the feature header;
//! - MODE SENSE(10): a mode data length shorter than the mode header;
//! - GET EVENT STATUS NOTIFICATION: a media event descriptor length of 2;
//! - REQUEST SENSE: sense data with the vendor-specific response code 0x7F.
//!
//! Commands without a data-in phase (and unknown or malformed CDBs) have no
//! data to damage: they end in CHECK CONDITION carrying that same
//! undecodable sense. Faults leave the state untouched.

use serde::{Deserialize, Serialize};

use crate::cdb::Cdb;
use crate::codes::status::{CHECK_CONDITION, GOOD};
use crate::codes::{asc, ascq, opcode};
use crate::configuration::{
    encode_configuration, FeatureCode, FeatureDescriptor, LoadingMechanism, Profile,
    ProfileDescriptor, RemovableMedium, RequestType,
};
use crate::disc::{CapacityDescriptorType, CurrentCapacity, FormatCapacities};
use crate::event::{class_mask, Event, EventStatus, MediaEvent, MediaEventCode};
use crate::inquiry::{
    Association, CodeSet, Designator, DesignatorType, DeviceIdentification, Peripheral,
    StandardInquiry, SupportedVpdPages, UnitSerialNumber, STANDARD_INQUIRY_LEN,
    VPD_DEVICE_IDENTIFICATION, VPD_SUPPORTED_PAGES, VPD_UNIT_SERIAL_NUMBER,
};
use crate::medium::{self, is_bd, is_cd, Disc, NoSectors, SectorStore};
use crate::mode::{encode_mode_sense10, ModePage, PageControl, ALL_PAGES};
use crate::sense::{SenseData, SenseKey};
use crate::unit::{MediumRemoval, StartStop};
use crate::write::{
    parse_cue_sheet, BufferCapacity, FormatParameters, MultiSession, PerformanceDescriptor,
    WriteParameters, WriteType,
};
use crate::EncodeError;

/// Mode page: read/write error recovery.
const PAGE_ERROR_RECOVERY: u8 = 0x01;
/// Mode page: write parameters.
const PAGE_WRITE_PARAMETERS: u8 = 0x05;
/// Mode page: power condition.
const PAGE_POWER_CONDITION: u8 = 0x1A;
/// Mode page: MM capabilities and mechanical status.
const PAGE_CAPABILITIES: u8 = 0x2A;
/// The mode pages the drive has, in the order it returns them.
const MODE_PAGES: [u8; 4] = [
    PAGE_ERROR_RECOVERY,
    PAGE_WRITE_PARAMETERS,
    PAGE_POWER_CONDITION,
    PAGE_CAPABILITIES,
];

/// The most profile descriptors the Profile List feature can hold (255 / 4).
const MAX_PROFILES: usize = 63;
/// Longest serial number the drive reports (it also goes into a 255-byte
/// VPD 0x83 designator and the Drive Serial Number feature).
const MAX_SERIAL_LEN: usize = 64;
/// Length of the standard INQUIRY data the drive reports (as QEMU's drive).
const INQUIRY_LEN: usize = 96;

/// A fault injected into the emulated drive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// The drive works.
    #[default]
    None,
    /// No command ever completes ([`Outcome::Hang`]).
    Hang,
    /// The device is gone ([`Outcome::Vanished`]).
    Vanish,
    /// Commands complete but their data cannot be decoded (see the module
    /// doc for what each command returns).
    Garbage,
}

/// The whole state of an emulated drive: identity, capabilities, medium,
/// tray, lock and pending conditions. Plain data, serialisable, so that
/// the library can keep it in a file between processes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriveState {
    /// INQUIRY vendor identification (at most 8 graphic ASCII characters;
    /// longer or non-ASCII text is cut and `?`-replaced when reported).
    pub vendor: String,
    /// INQUIRY product identification (at most 16 characters).
    pub product: String,
    /// INQUIRY product revision level (at most 4 characters).
    pub revision: String,
    /// Unit serial number: VPD page 0x80, the VPD 0x83 T10 vendor ID
    /// designator (vendor + product + serial) and feature 0x0108.
    pub serial: String,
    /// Supported profiles in Profile List order (e.g. BD-R 0x0041, DVD+RW
    /// 0x001A, DVD-ROM 0x0010, CD-R 0x0009, CD-ROM 0x0008); the first 63
    /// are reported.
    pub profiles: Vec<u16>,
    /// Profile of the disc in the drive; `None` when there is no disc.
    pub medium: Option<u16>,
    /// The tray is open (a disc in it is not mounted).
    pub tray_open: bool,
    /// PREVENT ALLOW MEDIUM REMOVAL state: eject by command is refused.
    pub prevent_removal: bool,
    /// The disc is write protected: writing features are not current.
    pub write_protected: bool,
    /// Media event code waiting for GET EVENT STATUS NOTIFICATION (MMC:
    /// 1 eject request, 2 new media, 3 media removal, 4 media changed, ...);
    /// only the low 4 bits are reported.
    pub pending_media_event: Option<u8>,
    /// A UNIT ATTENTION 6/28/00 is pending: the next command other than
    /// INQUIRY, REQUEST SENSE and GET EVENT STATUS NOTIFICATION fails with
    /// it once.
    pub unit_attention: bool,
    /// Injected fault.
    pub fault: Fault,
    /// The disc's recorded layout (tracks, sessions, formatted, capacity).
    #[serde(default)]
    pub disc: Disc,
    /// Write type and multi-session field set by MODE SELECT page 05h.
    #[serde(default)]
    pub write_mode: WriteMode,
    /// A long operation started with Immed (BLANK, FORMAT UNIT) still reporting progress.
    #[serde(default)]
    pub operation: Option<Operation>,
    /// Faults of the recording path (defects, long writes, triggers).
    #[serde(default)]
    pub faults: RecordingFaults,
    /// A UNIT ATTENTION 6/29/00 (power on or reset occurred) is pending, after a power loss;
    /// it is reported like the 6/28/00 one, and before it.
    #[serde(default)]
    pub power_on_reset: bool,
}

/// What MODE SELECT(10) set in the Write Parameters page (05h).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WriteMode {
    /// Write Type (0 packet/incremental, 1 TAO, 2 SAO/DAO, 3 raw, 4 layer jump).
    pub write_type: u8,
    /// Multi-session field (00b: closing the session finalizes on CD and DVD-R/-RW; 11b:
    /// next session allowed).
    pub multi_session: u8,
    /// Test Write (simulation): accepted and kept; the emulator still records.
    pub test_write: bool,
}

impl Default for WriteMode {
    /// The power-on values: TAO, no next session.
    fn default() -> WriteMode {
        WriteMode {
            write_type: 1,
            multi_session: 0,
            test_write: false,
        }
    }
}

/// The long operations that report progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationKind {
    /// FORMAT UNIT: NOT READY 04/04 (format in progress).
    Format,
    /// BLANK: NOT READY 04/07 (operation in progress).
    Blank,
}

/// A long operation in progress: its effect on the disc is already made; TEST UNIT READY and
/// REQUEST SENSE report NOT READY with progress (sense bytes 15-17) for `polls_left` more
/// polls, other medium commands report NOT READY without counting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    /// Which.
    pub kind: OperationKind,
    /// Polls until done.
    pub polls_left: u32,
    /// Polls it took in all.
    pub polls_total: u32,
}

/// Polls a BLANK or FORMAT UNIT with Immed reports progress for.
pub const OPERATION_POLLS: u32 = 4;

/// When a [`Trigger`] fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerAt {
    /// At the Nth command from when it was armed (1: the next command).
    Command(u32),
    /// At the first command with this operation code.
    Opcode(u8),
}

/// A fault armed to start later, so that a test can fault any command of a burn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trigger {
    /// The fault that starts (and stays, as if set by hand) when it fires.
    pub fault: Fault,
    /// When.
    pub at: TriggerAt,
}

/// Faults of the recording path. All deterministic and settable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RecordingFaults {
    /// A defective block: a WRITE touching it fails with MEDIUM ERROR 3/0C/00 naming it in
    /// the information field, and writes nothing.
    pub medium_error_lba: Option<u32>,
    /// A block that reads back different from what was written (its first byte inverted).
    pub corrupt_lba: Option<u32>,
    /// SYNCHRONIZE CACHE, TEST UNIT READY and REQUEST SENSE report NOT READY 2/04/08 (long
    /// write in progress) this many more times; the cache is not synchronized meanwhile.
    pub long_write_polls: u32,
    /// A hang or vanish (or garbage) armed to start at a later command.
    pub trigger: Option<Trigger>,
}

/// A completed command: status, data-in and sense.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// SCSI status: [`GOOD`] or [`CHECK_CONDITION`].
    pub status: u8,
    /// Data-in bytes, at most the CDB's allocation length (empty for
    /// commands without a data-in phase and on CHECK CONDITION).
    pub data: Vec<u8>,
    /// Fixed-format sense data on CHECK CONDITION; empty when GOOD.
    pub sense: Vec<u8>,
}

/// What became of a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The command completed.
    Reply(Reply),
    /// The command never completes.
    Hang,
    /// The device is gone.
    Vanished,
}

/// A command's result before it becomes a [`Reply`]: the full data-in (the
/// dispatcher cuts it to the allocation length) or the sense to report.
type Answer = Result<Vec<u8>, SenseData>;

impl Reply {
    /// GOOD with `data` cut to `allocation_length`.
    fn good(mut data: Vec<u8>, allocation_length: usize) -> Reply {
        data.truncate(allocation_length);
        Reply {
            status: GOOD,
            data,
            sense: Vec::new(),
        }
    }

    /// CHECK CONDITION carrying `sense` in fixed format.
    fn check(sense: &SenseData) -> Reply {
        Reply {
            status: CHECK_CONDITION,
            data: Vec::new(),
            // Fixed format without an information field always encodes.
            sense: sense.encode().unwrap_or_default(),
        }
    }
}

fn sense(key: SenseKey, asc: u8, ascq: u8) -> SenseData {
    SenseData::new(key, asc, ascq)
}

/// ILLEGAL REQUEST, INVALID FIELD IN CDB.
fn invalid_field() -> SenseData {
    sense(
        SenseKey::IllegalRequest,
        asc::INVALID_FIELD_IN_CDB,
        ascq::NONE,
    )
}

/// ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE.
fn invalid_opcode() -> SenseData {
    sense(
        SenseKey::IllegalRequest,
        asc::INVALID_COMMAND_OPERATION_CODE,
        ascq::NONE,
    )
}

/// UNIT ATTENTION, NOT READY TO READY CHANGE, MEDIUM MAY HAVE CHANGED.
fn medium_may_have_changed() -> SenseData {
    sense(
        SenseKey::UnitAttention,
        asc::NOT_READY_TO_READY_CHANGE,
        ascq::NONE,
    )
}

/// UNIT ATTENTION, POWER ON, RESET, OR BUS DEVICE RESET OCCURRED.
fn power_on_reset() -> SenseData {
    sense(
        SenseKey::UnitAttention,
        asc::POWER_ON_RESET_OCCURRED,
        ascq::NONE,
    )
}

/// ASCQs of LOGICAL UNIT NOT READY (04h): format in progress, operation in progress, long
/// write in progress.
const ASCQ_FORMAT_IN_PROGRESS: u8 = 0x04;
const ASCQ_OPERATION_IN_PROGRESS: u8 = 0x07;
const ASCQ_LONG_WRITE_IN_PROGRESS: u8 = 0x08;

/// The drive's buffer size READ BUFFER CAPACITY reports (4 MiB).
const DRIVE_BUFFER_LEN: u32 = 4 * 1024 * 1024;

/// HARDWARE ERROR, INTERNAL TARGET FAILURE: what the drive reports if one
/// of its own encoders refuses a value (not reachable with the sanitised
/// state, but never a panic).
fn internal_failure(_: EncodeError) -> SenseData {
    sense(
        SenseKey::HardwareError,
        asc::INTERNAL_TARGET_FAILURE,
        ascq::NONE,
    )
}

/// `text` as an encodable fixed-width ASCII field: bytes outside 0x20..=0x7E
/// become `?`, cut to `max`, trailing (and with `trim_start` leading) spaces
/// dropped, so that the crate's encoders accept it.
fn ascii_text(text: &str, max: usize, trim_start: bool) -> String {
    let start = if trim_start {
        text.trim_start_matches(' ')
    } else {
        text
    };
    let cleaned: String = start
        .chars()
        .map(|c| if (' '..='~').contains(&c) { c } else { '?' })
        .take(max)
        .collect();
    cleaned.trim_end_matches(' ').to_owned()
}

fn is_dvd(p: Profile) -> bool {
    matches!(p.0, 0x0010..=0x0016 | 0x001A | 0x001B | 0x002A | 0x002B)
}

fn is_cd_writable(p: Profile) -> bool {
    p == Profile::CD_R || p == Profile::CD_RW
}

fn is_dvd_dash_writable(p: Profile) -> bool {
    matches!(p.0, 0x0011 | 0x0013..=0x0016)
}

fn is_incremental_streaming(p: Profile) -> bool {
    matches!(p.0, 0x0009 | 0x000A | 0x0011 | 0x0014 | 0x0015 | 0x0041)
}

fn is_dvd_plus_rw(p: Profile) -> bool {
    p == Profile::DVD_PLUS_RW
}

/// DVD+R, single or dual layer.
fn is_dvd_plus_r(p: Profile) -> bool {
    p == Profile::DVD_PLUS_R || p == Profile::DVD_PLUS_R_DL
}

fn is_formattable(p: Profile) -> bool {
    matches!(p.0, 0x0013 | 0x0014 | 0x001A | 0x0043)
}

fn is_bd_writable(p: Profile) -> bool {
    matches!(p.0, 0x0041..=0x0043)
}

/// A feature descriptor whose data the crate has no typed encoder for.
fn feature(
    code: FeatureCode,
    version: u8,
    persistent: bool,
    current: bool,
    data: Vec<u8>,
) -> FeatureDescriptor {
    FeatureDescriptor {
        code,
        version,
        persistent,
        current,
        data,
    }
}

fn page(page_code: u8, data: Vec<u8>) -> ModePage {
    ModePage {
        page_code,
        subpage_code: None,
        parameters_saveable: false,
        data,
    }
}

impl DriveState {
    /// A writable drive: vendor `DISCREC`, product `EMULATED BURNER`,
    /// revision `1.0`, serial `EMU0000001`; profiles BD-R (SRM), DVD+RW,
    /// DVD-ROM, CD-R, CD-ROM; a blank CD-R behind a closed, unlocked tray;
    /// nothing pending, no fault.
    pub fn new_recorder() -> DriveState {
        DriveState {
            vendor: "DISCREC".to_owned(),
            product: "EMULATED BURNER".to_owned(),
            revision: "1.0".to_owned(),
            serial: "EMU0000001".to_owned(),
            profiles: vec![
                Profile::BD_R_SEQUENTIAL.0,
                Profile::DVD_PLUS_RW.0,
                Profile::DVD_ROM.0,
                Profile::CD_R.0,
                Profile::CD_ROM.0,
            ],
            medium: Some(Profile::CD_R.0),
            tray_open: false,
            prevent_removal: false,
            write_protected: false,
            pending_media_event: None,
            unit_attention: false,
            fault: Fault::None,
            disc: Disc::default(),
            write_mode: WriteMode::default(),
            operation: None,
            faults: RecordingFaults::default(),
            power_on_reset: false,
        }
    }

    /// A disc of `profile` is put in by hand: the tray closes, the medium
    /// is set (blank, of the capacity [`Disc::capacity`] says; unformatted
    /// unless it is a restricted-overwrite DVD-RW), a NEW MEDIA event is
    /// queued and a unit attention set.
    pub fn insert_medium(&mut self, profile: u16) {
        self.tray_open = false;
        self.medium = Some(profile);
        self.disc = Disc::blank(self.disc.capacity);
        // A restricted-overwrite DVD-RW is one that was formatted so.
        self.disc.formatted = profile == Profile::DVD_RW_RESTRICTED_OVERWRITE.0;
        self.operation = None;
        self.pending_media_event = Some(MediaEventCode::NEW_MEDIA.0);
        self.unit_attention = true;
    }

    /// The disc is taken out by hand: no medium, a MEDIA REMOVAL event is
    /// queued and a unit attention set. The tray stays as it is.
    pub fn remove_medium(&mut self) {
        self.medium = None;
        self.pending_media_event = Some(MediaEventCode::MEDIA_REMOVAL.0);
        self.unit_attention = true;
    }

    /// Makes the drive support `profile` (a drive that can read and write it): added to
    /// [`DriveState::profiles`] if missing, which is kept in descending order as real drives
    /// list them (BD before DVD before CD).
    pub fn support_profile(&mut self, profile: u16) {
        if !self.profiles.contains(&profile) {
            self.profiles.push(profile);
            self.profiles.sort_unstable_by(|a, b| b.cmp(a));
        }
    }

    /// A fresh blank disc of the current profile (the old one's sectors are forgotten at the
    /// next command with a store), as if a new one had been put in by hand.
    pub fn blank_medium(&mut self) {
        if let Some(p) = self.medium {
            self.insert_medium(p);
        }
    }

    /// The power fails and comes back: blocks written since the last successful
    /// SYNCHRONIZE CACHE are lost and the NWA falls back ([`Disc::lose_unsynced`]); the write
    /// parameters, the removal lock, a long operation and a long write are reset; a power-on
    /// UNIT ATTENTION 6/29/00 is pending.
    pub fn power_loss(&mut self) {
        self.disc.lose_unsynced();
        self.write_mode = WriteMode::default();
        self.prevent_removal = false;
        self.operation = None;
        self.faults.long_write_polls = 0;
        self.power_on_reset = true;
    }

    /// Executes one CDB with a store that holds no sectors ([`NoSectors`]: READ gives zeros,
    /// WRITE keeps only the layout) and returns what the drive does. Never panics, whatever
    /// the bytes and the state.
    pub fn execute(&mut self, cdb: &[u8], data_out: &[u8]) -> Outcome {
        self.execute_with(cdb, data_out, &mut NoSectors)
    }

    /// Executes one CDB; `data_out` is the data-out buffer (WRITE's blocks, MODE SELECT's
    /// and FORMAT UNIT's parameter lists), `store` holds the disc's sectors. Never panics,
    /// whatever the bytes, the state and the store's failures.
    pub fn execute_with(
        &mut self,
        cdb: &[u8],
        data_out: &[u8],
        store: &mut dyn SectorStore,
    ) -> Outcome {
        // Sectors a disc change, blank, format or power loss gave up.
        while let Some(e) = self.disc.pending_discards.first().copied() {
            if store.discard(e.start, e.blocks).is_err() {
                break;
            }
            self.disc.pending_discards.remove(0);
        }
        if let Some(t) = self.faults.trigger {
            let fire = match t.at {
                TriggerAt::Command(n) => {
                    if n <= 1 {
                        true
                    } else {
                        self.faults.trigger = Some(Trigger {
                            at: TriggerAt::Command(n - 1),
                            ..t
                        });
                        false
                    }
                }
                TriggerAt::Opcode(op) => cdb.first() == Some(&op),
            };
            if fire {
                self.fault = t.fault;
                self.faults.trigger = None;
            }
        }
        match self.fault {
            Fault::Hang => Outcome::Hang,
            Fault::Vanish => Outcome::Vanished,
            Fault::Garbage => Outcome::Reply(self.garbage(cdb)),
            Fault::None => Outcome::Reply(self.answer(cdb, data_out, store)),
        }
    }

    // ---- state views ----

    /// The supported profiles the drive reports (at most 63).
    fn supported(&self) -> Vec<Profile> {
        self.profiles
            .iter()
            .take(MAX_PROFILES)
            .map(|&p| Profile(p))
            .collect()
    }

    /// The disc behind a closed tray, whatever its profile.
    fn loaded(&self) -> Option<Profile> {
        if self.tray_open {
            None
        } else {
            self.medium.map(Profile)
        }
    }

    /// The mounted medium's profile: loaded and of a supported profile.
    fn current_profile(&self) -> Option<Profile> {
        self.loaded().filter(|p| self.supported().contains(p))
    }

    /// Why the medium is not ready, if it is not.
    fn not_ready(&self) -> Option<SenseData> {
        if self.tray_open {
            Some(sense(
                SenseKey::NotReady,
                asc::MEDIUM_NOT_PRESENT,
                ascq::TRAY_OPEN,
            ))
        } else if self.medium.is_none() {
            Some(sense(
                SenseKey::NotReady,
                asc::MEDIUM_NOT_PRESENT,
                ascq::TRAY_CLOSED,
            ))
        } else if self.current_profile().is_none() {
            // INCOMPATIBLE MEDIUM INSTALLED
            Some(sense(
                SenseKey::NotReady,
                asc::INCOMPATIBLE_MEDIUM_INSTALLED,
                ascq::NONE,
            ))
        } else {
            None
        }
    }

    fn vendor_text(&self) -> String {
        ascii_text(&self.vendor, 8, false)
    }

    fn product_text(&self) -> String {
        ascii_text(&self.product, 16, false)
    }

    fn serial_text(&self) -> String {
        ascii_text(&self.serial, MAX_SERIAL_LEN, true)
    }

    // ---- dispatch ----

    fn answer(&mut self, raw: &[u8], data_out: &[u8], store: &mut dyn SectorStore) -> Reply {
        let exempt = matches!(
            raw.first().copied(),
            Some(opcode::INQUIRY | opcode::REQUEST_SENSE | opcode::GET_EVENT_STATUS_NOTIFICATION)
        );
        if self.power_on_reset && !raw.is_empty() && !exempt {
            self.power_on_reset = false;
            return Reply::check(&power_on_reset());
        }
        if self.unit_attention && !raw.is_empty() && !exempt {
            self.unit_attention = false;
            return Reply::check(&medium_may_have_changed());
        }
        let cdb = match Cdb::parse(raw) {
            Ok(cdb) => cdb,
            Err(_) if raw.is_empty() => return Reply::check(&invalid_opcode()),
            Err(_) => return Reply::check(&invalid_field()),
        };
        if let Some(busy) = self.busy(&cdb) {
            return busy;
        }
        let allocation_length = cdb.allocation_length();
        let (answer, allocation_length) = match cdb {
            Cdb::TestUnitReady => (self.not_ready().map_or(Ok(Vec::new()), Err), 0),
            Cdb::RequestSense {
                allocation_length, ..
            } => (self.request_sense(), usize::from(allocation_length)),
            Cdb::Inquiry {
                vpd,
                page_code,
                allocation_length,
            } => (self.inquiry(vpd, page_code), usize::from(allocation_length)),
            Cdb::StartStopUnit {
                power_condition,
                action,
                ..
            } => (self.start_stop(power_condition, action), 0),
            Cdb::PreventAllowMediumRemoval { request } => (self.prevent_allow(request), 0),
            Cdb::GetConfiguration {
                request_type,
                starting_feature,
                allocation_length,
            } => (
                self.configuration(request_type, starting_feature),
                usize::from(allocation_length),
            ),
            Cdb::GetEventStatusNotification {
                polled,
                class_request,
                allocation_length,
            } => (
                self.event_status(polled, class_request, allocation_length),
                usize::from(allocation_length),
            ),
            Cdb::ModeSense10 {
                page_control,
                page_code,
                subpage_code,
                allocation_length,
                ..
            } => (
                self.mode_sense(page_control, page_code, subpage_code),
                usize::from(allocation_length),
            ),
            Cdb::Unsupported { .. } => (Err(invalid_opcode()), 0),
            other => (self.record(other, data_out, store), allocation_length),
        };
        match answer {
            Ok(data) => Reply::good(data, allocation_length),
            Err(s) => Reply::check(&s),
        }
    }

    // ---- long operations ----

    /// The answer while a long operation or a long write keeps the drive busy, if it does:
    /// TEST UNIT READY and REQUEST SENSE count as polls; other commands touching the medium
    /// get NOT READY without counting; identification and event commands go through.
    fn busy(&mut self, cdb: &Cdb) -> Option<Reply> {
        if self.operation.is_none() && self.faults.long_write_polls == 0 {
            return None;
        }
        let poll = matches!(cdb, Cdb::TestUnitReady | Cdb::RequestSense { .. });
        let medium_command = !matches!(
            cdb,
            Cdb::Inquiry { .. }
                | Cdb::GetConfiguration { .. }
                | Cdb::GetEventStatusNotification { .. }
                | Cdb::ModeSense10 { .. }
                | Cdb::StartStopUnit { .. }
                | Cdb::PreventAllowMediumRemoval { .. }
                | Cdb::Unsupported { .. }
        );
        let sync = matches!(cdb, Cdb::SynchronizeCache { .. });
        let (asc_q, progress) = if let Some(op) = self.operation {
            if !medium_command {
                return None;
            }
            let done = op.polls_total.saturating_sub(op.polls_left);
            let progress = u64::from(done) * 65536 / u64::from(op.polls_total.max(1));
            if poll {
                let left = op.polls_left.saturating_sub(1);
                self.operation = (left > 0).then_some(Operation {
                    polls_left: left,
                    ..op
                });
            }
            let q = match op.kind {
                OperationKind::Format => ASCQ_FORMAT_IN_PROGRESS,
                OperationKind::Blank => ASCQ_OPERATION_IN_PROGRESS,
            };
            (q, u16::try_from(progress).unwrap_or(u16::MAX))
        } else {
            // A long write: only the cache flush and the polls see it.
            if !(poll || sync) {
                return None;
            }
            self.faults.long_write_polls -= 1;
            (ASCQ_LONG_WRITE_IN_PROGRESS, 0x8000)
        };
        let s = sense(SenseKey::NotReady, asc::LOGICAL_UNIT_NOT_READY, asc_q);
        let mut bytes = s.encode().unwrap_or_default();
        // Sense-key specific bytes 15-17: SKSV and the progress indication.
        if let Some(sks) = bytes.get_mut(15..18) {
            let [hi, lo] = progress.to_be_bytes();
            sks.copy_from_slice(&[0x80, hi, lo]);
        }
        Some(if matches!(cdb, Cdb::RequestSense { .. }) {
            Reply::good(bytes, cdb.allocation_length())
        } else {
            Reply {
                status: CHECK_CONDITION,
                data: Vec::new(),
                sense: bytes,
            }
        })
    }

    // ---- recording ----

    /// The commands of the recording path: checks the medium is ready (and writable for
    /// those that write), then lets the disc answer.
    fn record(&mut self, cdb: Cdb, data_out: &[u8], store: &mut dyn SectorStore) -> Answer {
        let needs_medium = !matches!(
            cdb,
            Cdb::ModeSelect10 { .. }
                | Cdb::SetStreaming { .. }
                | Cdb::SetCdSpeed { .. }
                | Cdb::ReadBufferCapacity { .. }
                | Cdb::ReadFormatCapacities { .. }
        );
        let writes = matches!(
            cdb,
            Cdb::Write10 { .. }
                | Cdb::Write12 { .. }
                | Cdb::Blank { .. }
                | Cdb::FormatUnit { .. }
                | Cdb::CloseTrackSession { .. }
                | Cdb::ReserveTrack { .. }
                | Cdb::SendCueSheet { .. }
        );
        if needs_medium {
            if let Some(s) = self.not_ready() {
                return Err(s);
            }
        }
        if writes && self.write_protected {
            return Err(sense(
                SenseKey::DataProtect,
                asc::WRITE_PROTECTED,
                ascq::NONE,
            ));
        }
        let profile = self.current_profile().unwrap_or(Profile::NONE);
        let faults = self.faults;
        let multi_session = MultiSession::from_bits(self.write_mode.multi_session);
        match cdb {
            Cdb::ReadDiscInformation { data_type, .. } => {
                if data_type != 0 {
                    return Err(invalid_field());
                }
                self.disc
                    .disc_information(profile)
                    .encode()
                    .map_err(internal_failure)
            }
            Cdb::ReadTrackInformation { address, .. } => {
                self.disc.track_information(profile, address)
            }
            Cdb::ReadCapacity => Ok(self.disc.read_capacity(profile).encode()),
            Cdb::ReadToc {
                msf,
                format,
                track_or_session,
                ..
            } => self.disc.toc(profile, msf, format, track_or_session),
            Cdb::ReadFormatCapacities { .. } => {
                if self.not_ready().is_some() {
                    // No medium: one descriptor of type 11b.
                    return FormatCapacities {
                        current: CurrentCapacity {
                            blocks: u32::MAX,
                            descriptor_type: CapacityDescriptorType::NoMedia,
                            block_length: medium::BLOCK_LEN as u32,
                        },
                        formattable: Vec::new(),
                    }
                    .encode()
                    .map_err(internal_failure);
                }
                self.disc
                    .format_capacities(profile)
                    .encode()
                    .map_err(internal_failure)
            }
            Cdb::Write10 { transfer } | Cdb::Write12 { transfer, .. } => self.disc.write(
                profile,
                transfer.lba,
                transfer.blocks,
                data_out,
                faults.medium_error_lba,
                store,
            ),
            Cdb::Read10 { transfer } => self.disc.read(
                profile,
                transfer.lba,
                transfer.blocks,
                faults.corrupt_lba,
                store,
            ),
            Cdb::SynchronizeCache { .. } => {
                self.disc.synchronize();
                Ok(Vec::new())
            }
            Cdb::CloseTrackSession {
                function, number, ..
            } => self.disc.close(profile, function, number, multi_session),
            Cdb::Blank { kind, immed } => {
                let after = self.disc.blank_disc(profile, kind)?;
                self.medium = Some(after);
                self.start_operation(OperationKind::Blank, immed);
                Ok(Vec::new())
            }
            Cdb::FormatUnit {
                fmt_data,
                format_code,
            } => {
                if !fmt_data || format_code != 1 {
                    return Err(invalid_field());
                }
                let params =
                    FormatParameters::parse(data_out).map_err(|_| medium::invalid_parameter())?;
                let after = self.disc.format(profile, &params)?;
                self.medium = Some(after);
                self.start_operation(OperationKind::Format, params.immed);
                Ok(Vec::new())
            }
            Cdb::SendCueSheet { parameter_length } => {
                // Only a session at once takes a cue sheet (MMC-5 6.33).
                if WriteType::from_bits(self.write_mode.write_type) != WriteType::SessionAtOnce {
                    return Err(medium::command_sequence_error());
                }
                let list = usize::try_from(parameter_length)
                    .ok()
                    .and_then(|n| data_out.get(..n))
                    .unwrap_or(data_out);
                let entries = parse_cue_sheet(list).map_err(|_| medium::invalid_parameter())?;
                self.disc.send_cue_sheet(profile, &entries, multi_session)
            }
            Cdb::ReserveTrack { blocks } => match blocks {
                Some(b) => self.disc.reserve(profile, b),
                None => Err(invalid_field()),
            },
            Cdb::ModeSelect10 {
                save_pages,
                parameter_length,
                ..
            } => {
                if save_pages {
                    return Err(sense(
                        SenseKey::IllegalRequest,
                        asc::SAVING_PARAMETERS_NOT_SUPPORTED,
                        ascq::NONE,
                    ));
                }
                let list = data_out
                    .get(..usize::from(parameter_length))
                    .unwrap_or(data_out);
                let w = WriteParameters::parse_mode_parameters(list)
                    .map_err(|_| medium::invalid_parameter())?;
                // This drive records 2,048-byte user data only: no raw (2,352-byte sectors
                // with sub-channel) and no layer jump (DVD-R DL, not modeled). cdrecord/wodim
                // probe the write types this way and list what the drive takes.
                if matches!(
                    w.write_type,
                    WriteType::Other(_) | WriteType::Raw | WriteType::LayerJump
                ) {
                    return Err(medium::invalid_parameter());
                }
                self.write_mode = WriteMode {
                    write_type: w.write_type.bits(),
                    multi_session: w.multi_session.bits(),
                    test_write: w.test_write,
                };
                Ok(Vec::new())
            }
            Cdb::GetPerformance { data_type, .. } => {
                if data_type != 0x03 {
                    return Err(invalid_field());
                }
                self.disc
                    .write_speeds(profile)
                    .encode()
                    .map_err(internal_failure)
            }
            Cdb::SetStreaming {
                data_type,
                parameter_length,
            } => {
                if data_type != 0 {
                    return Err(invalid_field());
                }
                let list = data_out
                    .get(..usize::from(parameter_length))
                    .unwrap_or(data_out);
                PerformanceDescriptor::parse(list).map_err(|_| medium::invalid_parameter())?;
                Ok(Vec::new())
            }
            Cdb::SetCdSpeed { .. } => Ok(Vec::new()),
            Cdb::ReadBufferCapacity { block, .. } => {
                if block {
                    return Err(invalid_field());
                }
                // Written straight through: the buffer is always empty.
                BufferCapacity {
                    length: DRIVE_BUFFER_LEN,
                    blank_length: DRIVE_BUFFER_LEN,
                }
                .encode()
                .map(|b| b.to_vec())
                .map_err(internal_failure)
            }
            _ => Err(invalid_opcode()),
        }
    }

    fn start_operation(&mut self, kind: OperationKind, immed: bool) {
        self.operation = immed.then_some(Operation {
            kind,
            polls_left: OPERATION_POLLS,
            polls_total: OPERATION_POLLS,
        });
    }

    // ---- commands ----

    fn request_sense(&mut self) -> Answer {
        let s = if self.power_on_reset {
            self.power_on_reset = false;
            power_on_reset()
        } else if self.unit_attention {
            self.unit_attention = false;
            medium_may_have_changed()
        } else {
            self.not_ready()
                .unwrap_or_else(|| sense(SenseKey::NoSense, 0, 0))
        };
        s.encode().map_err(internal_failure)
    }

    fn standard_inquiry(&self) -> StandardInquiry {
        StandardInquiry {
            peripheral: Peripheral::MMC,
            removable: true,
            version: 5,
            response_data_format: 2,
            vendor: self.vendor_text(),
            product: self.product_text(),
            revision: ascii_text(&self.revision, 4, false),
            available_length: INQUIRY_LEN,
        }
    }

    /// The VPD page `page`, `None` when the drive does not have it.
    fn vpd_page(&self, page: u8) -> Option<Result<Vec<u8>, EncodeError>> {
        let peripheral = Peripheral::MMC;
        Some(match page {
            VPD_SUPPORTED_PAGES => SupportedVpdPages {
                peripheral,
                pages: vec![
                    VPD_SUPPORTED_PAGES,
                    VPD_UNIT_SERIAL_NUMBER,
                    VPD_DEVICE_IDENTIFICATION,
                ],
            }
            .encode(),
            VPD_UNIT_SERIAL_NUMBER => UnitSerialNumber {
                peripheral,
                serial: self.serial_text(),
            }
            .encode(),
            VPD_DEVICE_IDENTIFICATION => {
                // T10 vendor ID based: the 8-byte vendor identification,
                // then a vendor-specific part (product and serial here).
                let id = format!(
                    "{:<8}{:<16}{}",
                    self.vendor_text(),
                    self.product_text(),
                    self.serial_text()
                );
                DeviceIdentification {
                    peripheral,
                    designators: vec![Designator {
                        protocol_identifier: 0,
                        code_set: CodeSet::ASCII,
                        protocol_identifier_valid: false,
                        association: Association::LogicalUnit,
                        designator_type: DesignatorType::T10_VENDOR_ID,
                        identifier: id.into_bytes(),
                    }],
                }
                .encode()
            }
            _ => return None,
        })
    }

    fn inquiry(&self, vpd: bool, page_code: u8) -> Answer {
        if !vpd {
            if page_code != 0 {
                return Err(invalid_field());
            }
            return self.standard_inquiry().encode().map_err(internal_failure);
        }
        match self.vpd_page(page_code) {
            Some(bytes) => bytes.map_err(internal_failure),
            None => Err(invalid_field()),
        }
    }

    fn start_stop(&mut self, power_condition: u8, action: StartStop) -> Answer {
        if power_condition != 0 {
            // SPC power conditions: active, idle, standby, sleep, LU
            // control, force idle/standby 0. The drive has no power states
            // to model; valid requests succeed, LoEj/Start are ignored.
            return match power_condition {
                0x1 | 0x2 | 0x3 | 0x5 | 0x7 | 0xA | 0xB => Ok(Vec::new()),
                _ => Err(invalid_field()),
            };
        }
        match action {
            StartStop::Start | StartStop::Stop => {}
            StartStop::Eject => {
                if self.prevent_removal {
                    // MEDIUM REMOVAL PREVENTED
                    return Err(sense(
                        SenseKey::IllegalRequest,
                        asc::MEDIA_LOAD_OR_EJECT,
                        ascq::MEDIUM_REMOVAL_PREVENTED,
                    ));
                }
                if !self.tray_open {
                    self.tray_open = true;
                    if self.medium.is_some() {
                        self.pending_media_event = Some(MediaEventCode::MEDIA_REMOVAL.0);
                    }
                }
            }
            StartStop::Load => {
                if self.tray_open {
                    self.tray_open = false;
                    if self.medium.is_some() {
                        self.pending_media_event = Some(MediaEventCode::NEW_MEDIA.0);
                    }
                }
            }
        }
        Ok(Vec::new())
    }

    fn prevent_allow(&mut self, request: MediumRemoval) -> Answer {
        match request {
            MediumRemoval::Prevent => self.prevent_removal = true,
            MediumRemoval::Allow => self.prevent_removal = false,
            MediumRemoval::PersistentPrevent | MediumRemoval::PersistentAllow => {}
        }
        Ok(Vec::new())
    }

    /// Every feature the drive has, in ascending feature code order.
    fn features(&self) -> Result<Vec<FeatureDescriptor>, EncodeError> {
        let supported = self.supported();
        let current = self.current_profile();
        let any = |f: fn(Profile) -> bool| supported.iter().any(|&p| f(p));
        let now = |f: fn(Profile) -> bool| current.is_some_and(f);
        let writable = |f: fn(Profile) -> bool| now(f) && !self.write_protected;

        let profile_list: Vec<ProfileDescriptor> = supported
            .iter()
            .map(|&profile| ProfileDescriptor {
                profile,
                current: Some(profile) == current,
            })
            .collect();
        let mut out = vec![
            ProfileDescriptor::encode_list(&profile_list)?,
            // Core: physical interface 1 (SCSI family), DBE.
            feature(
                FeatureCode::CORE,
                2,
                true,
                true,
                vec![0, 0, 0, 1, 1, 0, 0, 0],
            ),
            // Morphing: no ASYNC, no operational change events.
            feature(FeatureCode::MORPHING, 1, true, true, vec![0; 4]),
            RemovableMedium {
                version: 2,
                current: true,
                loading_mechanism: LoadingMechanism::TRAY,
                load: true,
                eject: true,
                pvnt_jmpr: false,
                dbml: false,
                lock: true,
            }
            .encode()?,
        ];
        // Random Readable: 2048-byte blocks, blocking by medium family, PP.
        let blocking: u16 = match current {
            Some(p) if is_bd(p) => 32,
            Some(p) if is_dvd(p) => 16,
            _ => 1,
        };
        let [b_hi, b_lo] = blocking.to_be_bytes();
        out.push(feature(
            FeatureCode::RANDOM_READABLE,
            0,
            false,
            current.is_some(),
            vec![0, 0, 0x08, 0x00, b_hi, b_lo, 0x01, 0],
        ));
        if any(is_cd) {
            out.push(feature(
                FeatureCode::MULTI_READ,
                0,
                false,
                now(is_cd),
                Vec::new(),
            ));
            // CD Read: C2 flags.
            out.push(feature(
                FeatureCode::CD_READ,
                2,
                false,
                now(is_cd),
                vec![0x02, 0, 0, 0],
            ));
        }
        if any(is_dvd) {
            // DVD Read: MULTI110.
            out.push(feature(
                FeatureCode::DVD_READ,
                2,
                false,
                now(is_dvd),
                vec![0x01, 0, 0, 0],
            ));
        }
        if any(is_incremental_streaming) {
            // Data block type 8 (mode 1) supported, BUF, one link size: 7.
            out.push(feature(
                FeatureCode::INCREMENTAL_STREAMING_WRITABLE,
                1,
                false,
                writable(is_incremental_streaming),
                vec![0x01, 0x00, 0x01, 1, 7, 0, 0, 0],
            ));
        }
        if any(is_formattable) {
            // Formattable: no BD-RE certification or expansion options.
            out.push(feature(
                FeatureCode::FORMATTABLE,
                0,
                false,
                writable(is_formattable),
                vec![0; 8],
            ));
        }
        if supported.contains(&Profile::BD_RE) {
            // Random Writable: last LBA, 2048-byte blocks, blocking 32, PP.
            let last = current
                .filter(|&p| p == Profile::BD_RE)
                .map_or(0, |p| self.disc.capacity(p).saturating_sub(1));
            let mut data = last.to_be_bytes().to_vec();
            data.extend_from_slice(&[0, 0, 0x08, 0x00, 0, 32, 0x01, 0]);
            out.push(feature(
                FeatureCode::RANDOM_WRITABLE,
                1,
                false,
                writable(|p| p == Profile::BD_RE),
                data,
            ));
        }
        if supported.contains(&Profile::DVD_RW_RESTRICTED_OVERWRITE) {
            out.push(feature(
                FeatureCode::RESTRICTED_OVERWRITE,
                0,
                false,
                writable(|p| p == Profile::DVD_RW_RESTRICTED_OVERWRITE),
                Vec::new(),
            ));
        }
        if any(is_dvd_plus_r) {
            // DVD+R: Write (a dual-layer disc is a DVD+R too).
            out.push(feature(
                FeatureCode::DVD_PLUS_R,
                0,
                false,
                now(is_dvd_plus_r),
                vec![u8::from(!self.write_protected), 0, 0, 0],
            ));
        }
        if supported.contains(&Profile::DVD_PLUS_R_DL) {
            // DVD+R Dual Layer: Write.
            out.push(feature(
                FeatureCode::DVD_PLUS_R_DUAL_LAYER,
                1,
                false,
                now(|p| p == Profile::DVD_PLUS_R_DL),
                vec![u8::from(!self.write_protected), 0, 0, 0],
            ));
        }
        if any(is_dvd_plus_rw) {
            // DVD+RW: Write.
            out.push(feature(
                FeatureCode::DVD_PLUS_RW,
                0,
                false,
                now(is_dvd_plus_rw),
                vec![u8::from(!self.write_protected), 0, 0, 0],
            ));
        }
        if any(is_cd_writable) {
            // CD TAO: BUF, Test Write, CD-RW when supported; data types.
            let cd_rw = u8::from(supported.contains(&Profile::CD_RW)) << 1;
            out.push(feature(
                FeatureCode::CD_TRACK_AT_ONCE,
                2,
                false,
                writable(is_cd_writable),
                vec![0x44 | cd_rw, 0, 0x00, 0x3F],
            ));
        }
        if any(is_dvd_dash_writable) {
            // DVD-R/-RW Write: BUF, Test Write, DVD-RW SL when supported.
            let rw = supported.iter().any(|p| matches!(p.0, 0x0013 | 0x0014));
            out.push(feature(
                FeatureCode::DVD_DASH_WRITE,
                1,
                false,
                writable(is_dvd_dash_writable),
                vec![0x44 | (u8::from(rw) << 1), 0, 0, 0],
            ));
        }
        if any(is_bd) {
            // BD Read: 4 reserved bytes, then class 0..3 read support
            // bitmaps for BD-RE, BD-R, BD-ROM (version 2 discs, class 0).
            let mut data = vec![0u8; 28];
            for class0 in [4usize, 12, 20] {
                if let Some(b) = data.get_mut(class0 + 1) {
                    *b = 0x06;
                }
            }
            out.push(feature(FeatureCode::BD_READ, 1, false, now(is_bd), data));
        }
        if any(is_bd_writable) {
            // BD Write: SVNR, 3 reserved, class 0..3 write support bitmaps
            // for BD-RE then BD-R.
            let mut data = vec![0u8; 20];
            if supported.contains(&Profile::BD_RE) {
                if let Some(b) = data.get_mut(5) {
                    *b = 0x06;
                }
            }
            if supported
                .iter()
                .any(|p| *p == Profile::BD_R_SEQUENTIAL || *p == Profile::BD_R_RANDOM)
            {
                if let Some(b) = data.get_mut(13) {
                    *b = 0x06;
                }
            }
            out.push(feature(
                FeatureCode::BD_WRITE,
                1,
                false,
                writable(is_bd_writable),
                data,
            ));
        }
        out.push(feature(
            FeatureCode::POWER_MANAGEMENT,
            0,
            true,
            true,
            Vec::new(),
        ));
        // Timeout: no Group 3 timeouts.
        out.push(feature(FeatureCode::TIMEOUT, 1, true, true, vec![0; 4]));
        let serial = self.serial_text();
        if !serial.is_empty() {
            // Drive Serial Number: ASCII, space-padded to a multiple of 4.
            let mut data = serial.into_bytes();
            data.resize(data.len().div_ceil(4) * 4, b' ');
            out.push(feature(
                FeatureCode::DRIVE_SERIAL_NUMBER,
                0,
                true,
                true,
                data,
            ));
        }
        out.sort_by_key(|f| f.code);
        Ok(out)
    }

    fn configuration(&self, request_type: RequestType, starting: FeatureCode) -> Answer {
        let features = self.features().map_err(internal_failure)?;
        let selected: Vec<FeatureDescriptor> = features
            .into_iter()
            .filter(|f| request_type.selects(starting, f))
            .collect();
        let current = self.current_profile().unwrap_or(Profile::NONE);
        encode_configuration(current, &selected).map_err(internal_failure)
    }

    fn event_status(&mut self, polled: bool, class_request: u8, allocation_length: u16) -> Answer {
        if !polled {
            return Err(invalid_field());
        }
        let event = if class_request & class_mask::MEDIA == 0 {
            Event::NotAvailable
        } else {
            let code = self.pending_media_event.map_or(0, |c| c & 0x0F);
            Event::Media(MediaEvent {
                event: MediaEventCode(code),
                media_present: self.loaded().is_some(),
                tray_open: self.tray_open,
                start_slot: 0,
                end_slot: 0,
            })
        };
        let bytes = EventStatus {
            supported_classes: class_mask::MEDIA,
            event,
        }
        .encode()
        .map_err(internal_failure)?;
        // The event is consumed only when its whole descriptor was sent.
        if class_request & class_mask::MEDIA != 0 && usize::from(allocation_length) >= bytes.len() {
            self.pending_media_event = None;
        }
        Ok(bytes)
    }

    /// Current (and default) values of mode page `code`.
    fn mode_page(&self, code: u8) -> ModePage {
        let supported = self.supported();
        let any = |f: fn(Profile) -> bool| supported.iter().any(|&p| f(p));
        match code {
            PAGE_ERROR_RECOVERY => {
                // Flags, read retry count, 4 reserved, write retry count,
                // reserved, recovery time limit.
                page(code, vec![0x00, 5, 0, 0, 0, 0, 5, 0, 0, 0])
            }
            PAGE_WRITE_PARAMETERS => {
                // BUFE, write type TAO; track mode 4; data block type 8
                // (mode 1); audio pause length 150; MCN, ISRC, subheader 0.
                let mut data = vec![0u8; 0x32];
                let w = self.write_mode;
                let b2 = 0x40 | u8::from(w.test_write) << 4 | (w.write_type & 0x0F);
                let b3 = (w.multi_session & 0x03) << 6 | 0x04;
                for (i, v) in [(0usize, b2), (1, b3), (2, 0x08), (13, 0x96)] {
                    if let Some(b) = data.get_mut(i) {
                        *b = v;
                    }
                }
                page(code, data)
            }
            PAGE_POWER_CONDITION => {
                // Idle and Standby timers enabled: 300 s and 600 s.
                page(code, vec![0, 0x03, 0, 0, 0x0B, 0xB8, 0, 0, 0x17, 0x70])
            }
            _ => {
                let read = if any(is_cd) { 0x07 } else { 0 }
                    | if any(is_dvd) { 0x08 } else { 0 }
                    | if any(is_dvd_dash_writable) { 0x10 } else { 0 };
                let write = u8::from(supported.contains(&Profile::CD_R))
                    | u8::from(supported.contains(&Profile::CD_RW)) << 1
                    | u8::from(any(is_cd_writable) || any(is_dvd_dash_writable)) << 2
                    | u8::from(any(is_dvd_dash_writable)) << 4
                    | u8::from(supported.contains(&Profile::DVD_RAM)) << 5;
                // Tray, eject, prevent jumper, lock; Lock State as set.
                let mechanism = 0x2D | u8::from(self.prevent_removal) << 1;
                let speed: [u8; 2] = 0x1B90u16.to_be_bytes(); // 40x CD, kB/s
                let mut data = vec![
                    read, write, 0x71, 0x03, mechanism, 0, // capabilities
                    speed[0], speed[1], // obsolete maximum read speed
                    0x01, 0x00, // volume levels
                    0x08, 0x00, // buffer size (KiB)
                    speed[0], speed[1], // obsolete current read speed
                    0, 0, // reserved, digital output format
                    speed[0], speed[1], // obsolete maximum write speed
                    speed[0], speed[1], // obsolete current write speed
                    0, 0, // copy management revision
                    0, 0, 0, 0, // reserved, rotation control selected
                    speed[0], speed[1], // current write speed selected
                    0, 1, // one write speed performance descriptor
                ];
                data.extend_from_slice(&[0, 0, speed[0], speed[1]]);
                page(PAGE_CAPABILITIES, data)
            }
        }
    }

    fn mode_sense(&self, page_control: PageControl, page_code: u8, subpage_code: u8) -> Answer {
        if page_control == PageControl::Saved {
            // SAVING PARAMETERS NOT SUPPORTED
            return Err(sense(
                SenseKey::IllegalRequest,
                asc::SAVING_PARAMETERS_NOT_SUPPORTED,
                ascq::NONE,
            ));
        }
        if subpage_code != 0 && subpage_code != 0xFF {
            return Err(invalid_field());
        }
        let codes: Vec<u8> = if page_code == ALL_PAGES {
            MODE_PAGES.to_vec()
        } else if MODE_PAGES.contains(&page_code) {
            vec![page_code]
        } else {
            return Err(invalid_field());
        };
        let pages: Vec<ModePage> = codes
            .into_iter()
            .map(|c| {
                let mut p = self.mode_page(c);
                if page_control == PageControl::Changeable {
                    p.data.iter_mut().for_each(|b| *b = 0);
                    if c == PAGE_WRITE_PARAMETERS {
                        // Test Write, Write Type and Multi-session (MODE SELECT sets them).
                        for (i, v) in [(0usize, 0x1Fu8), (1, 0xC0)] {
                            if let Some(b) = p.data.get_mut(i) {
                                *b = v;
                            }
                        }
                    }
                }
                p
            })
            .collect();
        encode_mode_sense10(0, 0, &[], &pages).map_err(internal_failure)
    }

    // ---- faults ----

    /// The answer under [`Fault::Garbage`] (see the module doc).
    fn garbage(&self, raw: &[u8]) -> Reply {
        let undecodable_sense = || {
            let mut s = sense(SenseKey::NoSense, 0, 0).encode().unwrap_or_default();
            // Response code 0x7F: vendor-specific format, which no parser
            // of this crate (nor a host) can read.
            if let Some(b) = s.first_mut() {
                *b = 0x7F;
            }
            s
        };
        let data = match Cdb::parse(raw) {
            Ok(Cdb::RequestSense {
                allocation_length, ..
            }) => Some((undecodable_sense(), usize::from(allocation_length))),
            Ok(Cdb::Inquiry {
                vpd: false,
                allocation_length,
                ..
            }) => {
                let mut b = self.standard_inquiry().encode().unwrap_or_default();
                // Additional length 15: the data ends at byte 20, before
                // the product identification and revision.
                b.truncate(20);
                if let Some(len) = b.get_mut(4) {
                    *len = 15;
                }
                debug_assert!(b.len() < STANDARD_INQUIRY_LEN);
                Some((b, usize::from(allocation_length)))
            }
            Ok(Cdb::Inquiry {
                vpd: true,
                page_code,
                allocation_length,
            }) => {
                // Another page than the one asked for.
                let other = if page_code == VPD_SUPPORTED_PAGES {
                    VPD_UNIT_SERIAL_NUMBER
                } else {
                    VPD_SUPPORTED_PAGES
                };
                let b = self
                    .vpd_page(other)
                    .and_then(Result::ok)
                    .unwrap_or_default();
                Some((b, usize::from(allocation_length)))
            }
            Ok(Cdb::GetConfiguration {
                allocation_length, ..
            }) => {
                let mut b = self
                    .configuration(RequestType::All, FeatureCode::PROFILE_LIST)
                    .unwrap_or_default();
                // Data length 2: less than the rest of the feature header.
                if let Some(len) = b.get_mut(0..4) {
                    len.copy_from_slice(&2u32.to_be_bytes());
                }
                Some((b, usize::from(allocation_length)))
            }
            Ok(Cdb::ModeSense10 {
                allocation_length, ..
            }) => {
                let mut b = self
                    .mode_sense(PageControl::Current, ALL_PAGES, 0)
                    .unwrap_or_default();
                // Mode data length 0: shorter than the mode header itself.
                if let Some(len) = b.get_mut(0..2) {
                    len.copy_from_slice(&[0, 0]);
                }
                Some((b, usize::from(allocation_length)))
            }
            Ok(Cdb::GetEventStatusNotification {
                allocation_length, ..
            }) => {
                let mut b = EventStatus {
                    supported_classes: class_mask::MEDIA,
                    event: Event::Media(MediaEvent {
                        event: MediaEventCode::NO_CHANGE,
                        media_present: self.loaded().is_some(),
                        tray_open: self.tray_open,
                        start_slot: 0,
                        end_slot: 0,
                    }),
                }
                .encode()
                .unwrap_or_default();
                // Event descriptor length 2: too short for a media event.
                if let Some(len) = b.get_mut(0..2) {
                    len.copy_from_slice(&[0, 2]);
                }
                Some((b, usize::from(allocation_length)))
            }
            _ => None,
        };
        match data {
            Some((bytes, allocation_length)) => Reply::good(bytes, allocation_length),
            None => Reply {
                status: CHECK_CONDITION,
                data: Vec::new(),
                sense: undecodable_sense(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::configuration::Configuration;
    use crate::mode::ModeParameters;
    use crate::sense::SenseCondition;
    use crate::{configuration, event, inquiry, sense as sense_mod, unit};

    fn reply(state: &mut DriveState, cdb: &[u8]) -> Reply {
        match state.execute(cdb, &[]) {
            Outcome::Reply(r) => r,
            other => panic!("expected a reply, got {other:?}"),
        }
    }

    fn sense_of(r: &Reply) -> (SenseKey, u8, u8) {
        assert_eq!(r.status, CHECK_CONDITION, "{r:?}");
        assert!(r.data.is_empty());
        let s = SenseData::parse(&r.sense).expect("sense decodes");
        (s.key, s.asc, s.ascq)
    }

    #[test]
    fn ascii_text_sanitises_to_what_encoders_accept() {
        assert_eq!(ascii_text("ab\u{e9}c\n", 8, false), "ab?c?");
        assert_eq!(ascii_text("  x   ", 8, false), "  x");
        assert_eq!(ascii_text("  x   ", 8, true), "x");
        assert_eq!(ascii_text("123456789", 8, false), "12345678");
        assert_eq!(ascii_text("1234567 9", 8, false), "1234567");
    }

    #[test]
    fn profile_families() {
        assert!(is_cd(Profile::CD_ROM) && is_cd(Profile::CD_RW) && !is_cd(Profile::DVD_ROM));
        assert!(
            is_dvd(Profile::DVD_PLUS_R_DL)
                && is_dvd(Profile::DVD_RAM)
                && !is_dvd(Profile::BD_R_SEQUENTIAL)
        );
        assert!(is_bd(Profile::BD_RE) && !is_bd(Profile::HD_DVD_ROM));
        assert!(
            is_incremental_streaming(Profile::BD_R_SEQUENTIAL)
                && !is_incremental_streaming(Profile::DVD_PLUS_RW)
        );
        assert!(
            is_dvd_dash_writable(Profile::DVD_RW_RESTRICTED_OVERWRITE)
                && !is_dvd_dash_writable(Profile::DVD_RAM)
        );
    }

    #[test]
    fn unit_attention_precedes_not_ready_and_is_reported_once() {
        let mut d = DriveState::new_recorder();
        d.tray_open = true;
        d.unit_attention = true;
        let tur = unit::test_unit_ready();
        assert_eq!(
            sense_of(&reply(&mut d, &tur.cdb)),
            (SenseKey::UnitAttention, 0x28, 0)
        );
        assert!(!d.unit_attention);
        assert_eq!(
            sense_of(&reply(&mut d, &tur.cdb)),
            (SenseKey::NotReady, 0x3A, 0x02)
        );
    }

    #[test]
    fn request_sense_reports_and_clears_unit_attention() {
        let mut d = DriveState::new_recorder();
        d.unit_attention = true;
        let r = reply(&mut d, &sense_mod::request_sense(18, false).cdb);
        assert_eq!(r.status, GOOD);
        let s = SenseData::parse(&r.data).expect("decodes");
        assert_eq!(s.condition(), SenseCondition::MediumMayHaveChanged);
        assert!(!d.unit_attention);
        let r = reply(&mut d, &sense_mod::request_sense(18, false).cdb);
        let s = SenseData::parse(&r.data).expect("decodes");
        assert_eq!((s.key, s.asc, s.ascq), (SenseKey::NoSense, 0, 0));
    }

    #[test]
    fn exempt_commands_leave_unit_attention_pending() {
        let mut d = DriveState::new_recorder();
        d.unit_attention = true;
        for cdb in [
            inquiry::inquiry(96).cdb.to_vec(),
            event::get_media_event_status().cdb.to_vec(),
        ] {
            assert_eq!(reply(&mut d, &cdb).status, GOOD);
            assert!(d.unit_attention);
        }
    }

    #[test]
    fn incompatible_medium_is_not_ready_and_not_current() {
        let mut d = DriveState::new_recorder();
        d.medium = Some(Profile::HD_DVD_ROM.0);
        assert_eq!(
            sense_of(&reply(&mut d, &unit::test_unit_ready().cdb)),
            (SenseKey::NotReady, 0x30, 0x00)
        );
        let cdb = configuration::get_configuration(RequestType::All, FeatureCode(0), 4096).cdb;
        let c = Configuration::parse(&reply(&mut d, &cdb).data).expect("decodes");
        assert_eq!(c.current_profile, Profile::NONE);
        let m = EventStatus::parse(&reply(&mut d, &event::get_media_event_status().cdb).data)
            .expect("decodes");
        assert!(
            m.media().expect("media").media_present,
            "a disc is in the drive"
        );
    }

    #[test]
    fn hostile_strings_and_too_many_profiles_still_encode() {
        let mut d = DriveState::new_recorder();
        d.vendor = "  \u{1F4BF}\u{0}VENDORNAME  ".into();
        d.product = "\t".repeat(40);
        d.revision = " ".into();
        d.serial = format!("  {}  ", "S".repeat(500));
        d.profiles = (0..200).collect();
        d.medium = Some(150);
        let i = StandardInquiry::parse(&reply(&mut d, &inquiry::inquiry(255).cdb).data)
            .expect("decodes");
        assert_eq!(i.vendor, "  ??VEND");
        assert_eq!(i.product, "????????????????");
        assert_eq!(i.revision, "");
        let s = UnitSerialNumber::parse(&reply(&mut d, &inquiry::inquiry_vpd(0x80, 255).cdb).data)
            .expect("decodes");
        assert_eq!(s.serial, "S".repeat(MAX_SERIAL_LEN));
        let r = reply(&mut d, &inquiry::inquiry_vpd(0x83, 255).cdb);
        DeviceIdentification::parse(&r.data).expect("decodes");
        let cdb = configuration::get_configuration(RequestType::All, FeatureCode(0), 65535).cdb;
        let c = Configuration::parse(&reply(&mut d, &cdb).data).expect("decodes");
        assert!(c.complete);
        let profiles = c.profiles().expect("present").expect("decodes");
        assert_eq!(profiles.len(), MAX_PROFILES);
        assert_eq!(
            c.current_profile,
            Profile::NONE,
            "profile 150 is past the 63 reported"
        );
    }

    #[test]
    fn mode_page_lengths_are_the_documented_ones() {
        let d = DriveState::new_recorder();
        let lens: Vec<(u8, usize)> = MODE_PAGES
            .iter()
            .map(|&c| (c, d.mode_page(c).data.len()))
            .collect();
        assert_eq!(
            lens,
            vec![(0x01, 0x0A), (0x05, 0x32), (0x1A, 0x0A), (0x2A, 0x22)]
        );
        let bytes = d
            .mode_sense(PageControl::Current, ALL_PAGES, 0)
            .expect("answers");
        let m = ModeParameters::parse(&bytes).expect("decodes");
        assert_eq!(m.page_codes(), MODE_PAGES.to_vec());
        assert_eq!(
            d.mode_sense(PageControl::Current, 0x2A, 0xFF),
            d.mode_sense(PageControl::Current, 0x2A, 0)
        );
    }

    #[test]
    fn support_profile_adds_once_in_descending_order() {
        let mut d = DriveState::new_recorder();
        d.support_profile(0x001B);
        d.support_profile(0x001B);
        assert_eq!(
            d.profiles,
            vec![0x0041, 0x001B, 0x001A, 0x0010, 0x0009, 0x0008]
        );
    }

    #[test]
    fn faults_deserialize_from_snake_case_names() {
        use serde::de::{value::Error, IntoDeserializer};
        for (name, fault) in [
            ("none", Fault::None),
            ("hang", Fault::Hang),
            ("vanish", Fault::Vanish),
            ("garbage", Fault::Garbage),
        ] {
            let got: Result<Fault, Error> = Fault::deserialize(name.into_deserializer());
            assert_eq!(got, Ok(fault));
        }
        let bad: Result<Fault, Error> = Fault::deserialize("Garbage".into_deserializer());
        assert!(bad.is_err());
        assert_eq!(Fault::default(), Fault::None);
    }
}
