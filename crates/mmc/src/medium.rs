//! The disc in an emulated drive: its recorded layout (tracks, sessions, next writable
//! address, formatted or not) and each profile's MMC rules for changing it, plus the
//! [`SectorStore`] that holds the sectors' bytes for it.
//!
//! Owns [`Disc`], the layout as plain serialisable data, and the answers that depend on it:
//! READ DISC INFORMATION, READ TRACK INFORMATION, READ CAPACITY, READ TOC/PMA/ATIP formats 0
//! and 1, READ FORMAT CAPACITIES and GET PERFORMANCE write speeds, and the effects of WRITE,
//! READ, SYNCHRONIZE CACHE, CLOSE TRACK/SESSION, BLANK, FORMAT UNIT and RESERVE TRACK. It
//! must not do I/O (sector bytes go through the caller's [`SectorStore`]), read clocks, or
//! decide anything that is not about the disc: unit attentions, tray, faults, long operations
//! and dispatch are [`crate::emulator`]'s. It imports the command modules' types and
//! encoders, never the dispatcher or the emulator.
//!
//! # The rules, per kind of medium
//!
//! - **Sequential** (CD-R 0x09, CD-RW 0x0A, DVD-R 0x11, DVD-RW sequential 0x14, DVD+R 0x1B,
//!   BD-R SRM 0x41, and the DL variants 0x15, 0x2B): WRITE only at the next writable address
//!   (NWA) of an open track: the invisible track, or a track reserved with RESERVE TRACK
//!   (ILLEGAL REQUEST 21/02 elsewhere, 21/00 past the capacity, 21/02 on a complete disc).
//!   CLOSE TRACK closes a track; CLOSE SESSION closes the open session, leaving the disc
//!   appendable, or complete when the Write Parameters page's multi-session field is 00b on
//!   CD and DVD-R/-RW (as MMC-6 6.3.2.2 and 6.3.2.3 say); on DVD+R and BD-R close function
//!   110b (and 101b) finalizes. Disc status moves blank (00b) -> incomplete (01b, last
//!   session incomplete) -> appendable (01b, last session empty) -> complete (10b). The next
//!   session starts after a gap standing for lead-out and lead-in ([`session_gap`]). CD-RW
//!   and DVD-RW need BLANK before they can be written again once complete.
//!   A blank CD-R or CD-RW can also be written session at once (write type 2, as `cdrskin
//!   -sao` does): SEND CUE SHEET plans the session ([`SessionAtOnce`]), the host WRITEs from
//!   the first track's pregap at LBA -150 (dropped, not stored) through the last block before
//!   the lead-out, and that block (or SYNCHRONIZE CACHE) closes the tracks and the session,
//!   finalizing unless the multi-session field was 11b. No CLOSE TRACK/SESSION is needed.
//!   A blank BD-R can be formatted with spare areas (FORMAT UNIT type 32h), which leaves it
//!   sequential.
//! - **Random** (DVD+RW 0x1A, BD-RE 0x43, DVD-RW restricted overwrite 0x13): WRITE anywhere
//!   below the capacity once formatted (NOT READY 30/10, medium not formatted, before);
//!   FORMAT UNIT formats (DVD+RW type 26h, BD-RE 00h/30h/31h, DVD-RW 00h/13h/15h, which also
//!   turns a sequential DVD-RW into restricted overwrite); BLANK turns a DVD-RW back into
//!   sequential. Formatted random media report disc status 11b ("others").
//! - **Read-only** (CD-ROM, DVD-ROM, BD-ROM and any other profile): one complete session with
//!   one track over the whole capacity; WRITE, BLANK and FORMAT UNIT are ILLEGAL REQUEST
//!   30/05 (cannot write medium, incompatible format).
//!
//! READ of a block that was never written on a sequential medium is ILLEGAL REQUEST 21/00
//! (LOGICAL BLOCK ADDRESS OUT OF RANGE): what real drives report for a read past the recorded
//! area (e.g. ImgBurn's verify log of a LiteOn iHAS124 on DVD-R: "Failed to Read Sector ... -
//! Reason: Logical Block Address out of Range"; Linux `sr` logs the same sense). Some drives
//! answer BLANK CHECK 8/00/00 inside a track instead; a reader must treat both as "not
//! written". Random and read-only media read unwritten blocks as zeros.
//! Capacity is settable per disc ([`Disc::capacity`]); 0 means the profile's real default
//! ([`default_capacity`]). Layout arithmetic saturates: a hostile state never panics.

use serde::{Deserialize, Serialize};

use crate::codes::{asc, ascq};
use crate::configuration::Profile;
use crate::disc::{
    Capacity, CapacityDescriptorType, CurrentCapacity, DiscInformation, DiscStatus,
    FormatCapacities, FormattableCapacity, FullToc, FullTocDescriptor, SessionInfo, SessionState,
    Toc, TocDescriptor, TrackAddress, TrackInfoExtension, TrackInformation, LEAD_OUT_TRACK,
    POINT_FIRST_TRACK, POINT_LAST_TRACK, POINT_LEAD_OUT, POINT_NEXT_PROGRAM_AREA,
};
use crate::sense::{SenseData, SenseKey};
use crate::write::{
    BlankingType, CloseFunction, CueEntry, FormatParameters, MultiSession, WriteSpeedDescriptor,
    WriteSpeeds,
};

/// Bytes in one block (sector) of user data.
pub const BLOCK_LEN: usize = 2048;

/// Capacity of a 700 MB (80 minute) CD-R/RW in blocks.
pub const CD_CAPACITY: u32 = 359_847;
/// Capacity of a single-layer DVD±R/RW in blocks.
pub const DVD_CAPACITY: u32 = 2_295_104;
/// Capacity of a dual-layer DVD+R (8.5 GB) in blocks.
pub const DVD_DL_CAPACITY: u32 = 4_173_824;
/// Capacity of a single-layer 25 GB BD-R/RE in blocks.
pub const BD_CAPACITY: u32 = 12_219_392;

/// The most tracks a disc holds in this model (a CD's limit; DVD and BD allow more).
pub const MAX_TRACKS: usize = 99;

/// The most extents kept in [`Disc::unsynced`] before they are merged into one.
const MAX_UNSYNCED: usize = 64;

/// ASC: LOGICAL BLOCK ADDRESS OUT OF RANGE (21/00), INVALID ADDRESS FOR WRITE (21/02).
const ASC_LBA_OUT_OF_RANGE: u8 = 0x21;
const ASCQ_INVALID_ADDRESS_FOR_WRITE: u8 = 0x02;
/// ASC: INVALID FIELD IN PARAMETER LIST.
const ASC_INVALID_FIELD_IN_PARAMETER_LIST: u8 = 0x26;
/// ASC 0Ch: WRITE ERROR; ASC 11h: UNRECOVERED READ ERROR.
const ASC_WRITE_ERROR: u8 = 0x0C;
const ASC_UNRECOVERED_READ_ERROR: u8 = 0x11;
/// ASC/ASCQ 30/05: CANNOT WRITE MEDIUM - INCOMPATIBLE FORMAT; 30/10: MEDIUM NOT FORMATTED.
const ASCQ_CANNOT_WRITE_INCOMPATIBLE: u8 = 0x05;
const ASCQ_MEDIUM_NOT_FORMATTED: u8 = 0x10;
/// ASC 2Ch: COMMAND SEQUENCE ERROR.
const ASC_COMMAND_SEQUENCE_ERROR: u8 = 0x2C;
/// ASC/ASCQ 72/05: NO MORE TRACK RESERVATIONS ALLOWED.
const ASC_SESSION_FIXATION: u8 = 0x72;
const ASCQ_NO_MORE_RESERVATIONS: u8 = 0x05;

/// Where the sectors' bytes live: provided by the caller (an image file in the library, memory
/// in tests), so that this crate does no I/O. Blocks are [`BLOCK_LEN`] bytes.
pub trait SectorStore {
    /// Fills `buf` (a whole number of blocks) from block `lba` on; never-written blocks read
    /// as zeros.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the bytes cannot be read.
    fn read(&mut self, lba: u32, buf: &mut [u8]) -> Result<(), StoreError>;

    /// Stores `data` (a whole number of blocks) from block `lba` on.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the bytes cannot be stored.
    fn write(&mut self, lba: u32, data: &[u8]) -> Result<(), StoreError>;

    /// Forgets `blocks` blocks from `lba` on (they read as zeros afterwards); `u32::MAX`
    /// blocks means everything from `lba` on.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when they cannot be forgotten.
    fn discard(&mut self, lba: u32, blocks: u32) -> Result<(), StoreError>;
}

/// A [`SectorStore`] could not do what it was asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the sector store failed")]
pub struct StoreError;

/// A store that holds nothing: reads give zeros, writes are dropped, and discarding fails
/// (so that discards a disc change asks for wait for a real store).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoSectors;

impl SectorStore for NoSectors {
    fn read(&mut self, _lba: u32, buf: &mut [u8]) -> Result<(), StoreError> {
        buf.fill(0);
        Ok(())
    }

    fn write(&mut self, _lba: u32, _data: &[u8]) -> Result<(), StoreError> {
        Ok(())
    }

    fn discard(&mut self, _lba: u32, _blocks: u32) -> Result<(), StoreError> {
        Err(StoreError)
    }
}

/// Sectors in memory, for tests and fuzzing; only written blocks take memory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryStore {
    /// The written blocks by LBA.
    pub blocks: std::collections::BTreeMap<u32, Vec<u8>>,
}

impl SectorStore for MemoryStore {
    fn read(&mut self, lba: u32, buf: &mut [u8]) -> Result<(), StoreError> {
        for (i, chunk) in buf.chunks_mut(BLOCK_LEN).enumerate() {
            let at = u32::try_from(i)
                .ok()
                .and_then(|i| lba.checked_add(i))
                .ok_or(StoreError)?;
            match self.blocks.get(&at) {
                Some(b) => {
                    let n = chunk.len().min(b.len());
                    chunk[..n].copy_from_slice(&b[..n]);
                    chunk[n..].fill(0);
                }
                None => chunk.fill(0),
            }
        }
        Ok(())
    }

    fn write(&mut self, lba: u32, data: &[u8]) -> Result<(), StoreError> {
        for (i, chunk) in data.chunks(BLOCK_LEN).enumerate() {
            let at = u32::try_from(i)
                .ok()
                .and_then(|i| lba.checked_add(i))
                .ok_or(StoreError)?;
            self.blocks.insert(at, chunk.to_vec());
        }
        Ok(())
    }

    fn discard(&mut self, lba: u32, blocks: u32) -> Result<(), StoreError> {
        let end = if blocks == u32::MAX {
            u64::from(u32::MAX) + 1
        } else {
            u64::from(lba) + u64::from(blocks)
        };
        self.blocks
            .retain(|&k, _| u64::from(k) < u64::from(lba) || u64::from(k) >= end);
        Ok(())
    }
}

/// The profiles whose discs this model knows the rules of: CD-ROM, CD-R, CD-RW, DVD-ROM,
/// DVD-R, DVD-RW restricted overwrite and sequential, DVD+RW, DVD+R, BD-ROM, BD-R SRM, BD-RE.
pub const MODELED_PROFILES: [u16; 13] = [
    0x0008, 0x0009, 0x000A, 0x0010, 0x0011, 0x0013, 0x0014, 0x001A, 0x001B, 0x002B, 0x0040, 0x0041,
    0x0043,
];

/// What a profile's medium is, for writing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediumKind {
    /// Pressed or otherwise unwritable: CD-ROM, DVD-ROM, BD-ROM, unknown profiles.
    ReadOnly,
    /// Written in order at the next writable address; `erasable` media can be blanked.
    Sequential {
        /// CD-RW, DVD-RW sequential.
        erasable: bool,
    },
    /// Written anywhere once formatted: DVD+RW, BD-RE, DVD-RW restricted overwrite.
    Random,
}

/// The kind of medium a profile is.
pub fn kind(profile: Profile) -> MediumKind {
    match profile.0 {
        0x0009 | 0x0011 | 0x0015 | 0x001B | 0x002B | 0x0041 => {
            MediumKind::Sequential { erasable: false }
        }
        0x000A | 0x0014 => MediumKind::Sequential { erasable: true },
        0x0013 | 0x001A | 0x0043 => MediumKind::Random,
        _ => MediumKind::ReadOnly,
    }
}

/// A CD profile (CD-ROM, CD-R, CD-RW).
pub(crate) fn is_cd(p: Profile) -> bool {
    matches!(p.0, 0x0008..=0x000A)
}

/// A BD profile (BD-ROM, BD-R SRM/RRM, BD-RE).
pub(crate) fn is_bd(p: Profile) -> bool {
    matches!(p.0, 0x0040..=0x0043)
}

/// The capacity in blocks of a real disc of `profile`: [`CD_CAPACITY`], [`BD_CAPACITY`],
/// [`DVD_DL_CAPACITY`] for DVD+R DL, else [`DVD_CAPACITY`] (single layer).
pub fn default_capacity(profile: Profile) -> u32 {
    if is_cd(profile) {
        CD_CAPACITY
    } else if is_bd(profile) {
        BD_CAPACITY
    } else if profile == Profile::DVD_PLUS_R_DL {
        DVD_DL_CAPACITY
    } else {
        DVD_CAPACITY
    }
}

/// Blocks between a closed session's last track and the next session's first track, standing
/// for the lead-out, the next lead-in and pregap: on CD the 6,750 + 4,500 + 150 blocks that
/// `cdrecord -msinfo` reports for a first session; on DVD and BD a gap of this model's own
/// choosing (real borders vary), so that a writer must ask for the NWA rather than compute it.
pub fn session_gap(profile: Profile) -> u32 {
    if is_cd(profile) {
        11_400
    } else if is_bd(profile) {
        0x2000
    } else {
        0x3000
    }
}

/// A run of blocks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extent {
    /// First block.
    pub start: u32,
    /// Number of blocks (`u32::MAX`: to the end of the disc).
    pub blocks: u32,
}

impl Extent {
    fn end(self) -> u64 {
        u64::from(self.start) + u64::from(self.blocks)
    }
}

/// One track of a sequential disc.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Track {
    /// Session number (1-based).
    pub session: u16,
    /// First block.
    pub start: u32,
    /// Blocks written from `start` on: the NWA is `start + written`.
    pub written: u32,
    /// Size reserved with RESERVE TRACK, if it was.
    pub reserved: Option<u32>,
    /// Closed with CLOSE TRACK/SESSION: no more writing.
    pub closed: bool,
}

impl Track {
    fn nwa(&self) -> u32 {
        self.start.saturating_add(self.written)
    }

    /// The block after the track: its reserved end, else its written end.
    fn end(&self) -> u32 {
        match self.reserved {
            Some(r) => self.start.saturating_add(r),
            None => self.nwa(),
        }
    }
}

/// A session-at-once layout announced with SEND CUE SHEET on a blank CD, waiting for the
/// host's WRITEs: from the first track's pregap (LBA -150) in order up to the lead-out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionAtOnce {
    /// The first block the host sends: the first track's pregap (index 0), LBA -150.
    pub first: i32,
    /// Each track's first block (its index 1), in order; the first is LBA 0.
    pub track_starts: Vec<u32>,
    /// Where the lead-out starts: the block after the last track.
    pub lead_out: u32,
    /// Blocks received so far from `first` on.
    pub received: u32,
    /// Closing the session leaves the disc appendable: the Write Parameters page's
    /// multi-session field was 11b when the cue sheet came.
    pub next_session_allowed: bool,
}

/// Whether a lead-in or lead-out data form is one the drive generates for a data disc: 14h
/// (libburn 1.x for a data track) or 01h (older libburn).
fn drive_generated(data_form: u8) -> bool {
    matches!(data_form, 0x01 | 0x14)
}

/// The layout a cue sheet describes, if it is one this drive records: a lead-in (TNO 0 at
/// 00:00:00), tracks numbered from 1, each a Mode 1 data track of 2,048-byte sectors from
/// the host (control 4h, copy bit free; data form 10h) with index 1 (and further indexes)
/// in ascending time, only the first with a pregap (index 0 at 00:00:00, index 1 at
/// 00:02:00), then the lead-out (TNO AAh) within `capacity`. Entries with ADR 2 (media
/// catalog number) and 3 (ISRC) carry no layout and are skipped.
fn session_layout(entries: &[CueEntry], capacity: u32) -> Option<SessionAtOnce> {
    if entries.iter().any(|e| !matches!(e.adr(), 1..=3)) {
        return None;
    }
    let positions: Vec<&CueEntry> = entries.iter().filter(|e| e.adr() == 1).collect();
    let (lead_in, rest) = positions.split_first()?;
    let (lead_out, tracks) = rest.split_last()?;
    if lead_in.tno != 0 || lead_in.lba()? != -150 || !drive_generated(lead_in.data_form) {
        return None;
    }
    if lead_out.tno != 0xAA || lead_out.index != 1 || !drive_generated(lead_out.data_form) {
        return None;
    }
    let first = tracks.first()?;
    if (first.tno, first.index, first.lba()?) != (1, 0, -150) {
        return None;
    }
    let mut starts: Vec<u32> = Vec::new();
    let mut current: u8 = 0;
    let mut last_index: u8 = 0;
    let mut prev: i32 = -151;
    for e in tracks {
        let lba = e.lba()?;
        if e.control() & 0x0D != 0x04 || e.data_form != 0x10 || lba <= prev {
            return None;
        }
        if e.tno == current {
            if Some(e.index) != last_index.checked_add(1) {
                return None;
            }
        } else {
            let whole = usize::from(current) == starts.len();
            if !whole || Some(e.tno) != current.checked_add(1) || e.tno > 99 {
                return None;
            }
            let pregap_allowed = e.tno == 1;
            if !(e.index == 1 || (e.index == 0 && pregap_allowed)) {
                return None;
            }
            current = e.tno;
        }
        if e.index == 1 {
            starts.push(u32::try_from(lba).ok()?);
        }
        last_index = e.index;
        prev = lba;
    }
    let end = lead_out.lba()?;
    if usize::from(current) != starts.len() || starts.first() != Some(&0) || end <= prev {
        return None;
    }
    let lead_out = u32::try_from(end).ok().filter(|&l| l <= capacity)?;
    Some(SessionAtOnce {
        first: -150,
        track_starts: starts,
        lead_out,
        received: 0,
        next_session_allowed: false,
    })
}

/// The layout of the disc in the drive. Plain data, serialisable; every field defaults, so
/// that older state files load as a blank disc.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Disc {
    /// Capacity in blocks; 0 means [`default_capacity`] of the profile.
    pub capacity: u32,
    /// Tracks written or reserved on a sequential disc, in order.
    pub tracks: Vec<Track>,
    /// Sessions closed so far (the open session is the next one).
    pub closed_sessions: u16,
    /// The disc is complete (finalized): no further session.
    pub finalized: bool,
    /// A random-access medium is formatted.
    pub formatted: bool,
    /// Blocks written since the last successful SYNCHRONIZE CACHE (or close): what a power
    /// loss takes. Contiguous writes merge; past a bound the extents merge into their hull.
    pub unsynced: Vec<Extent>,
    /// Blocks the sector store must forget at the next command with a store (a new disc, a
    /// blank, a format, a power loss).
    pub pending_discards: Vec<Extent>,
    /// The session-at-once layout SEND CUE SHEET announced, until its session is closed.
    pub session_at_once: Option<SessionAtOnce>,
}

/// An answer: the data, or the sense to report.
pub type Answer = Result<Vec<u8>, SenseData>;

fn sense(key: SenseKey, asc: u8, ascq: u8) -> SenseData {
    SenseData::new(key, asc, ascq)
}

fn invalid_field() -> SenseData {
    sense(
        SenseKey::IllegalRequest,
        asc::INVALID_FIELD_IN_CDB,
        ascq::NONE,
    )
}

/// ILLEGAL REQUEST 26/00, INVALID FIELD IN PARAMETER LIST.
pub fn invalid_parameter() -> SenseData {
    sense(
        SenseKey::IllegalRequest,
        ASC_INVALID_FIELD_IN_PARAMETER_LIST,
        ascq::NONE,
    )
}

/// ILLEGAL REQUEST 2C/00, COMMAND SEQUENCE ERROR: what a drive answers to SEND CUE SHEET
/// when the Write Parameters page does not say session at once, or the medium or its state
/// takes no cue sheet.
pub fn command_sequence_error() -> SenseData {
    sense(
        SenseKey::IllegalRequest,
        ASC_COMMAND_SEQUENCE_ERROR,
        ascq::NONE,
    )
}

fn out_of_range() -> SenseData {
    sense(SenseKey::IllegalRequest, ASC_LBA_OUT_OF_RANGE, ascq::NONE)
}

fn invalid_write_address() -> SenseData {
    sense(
        SenseKey::IllegalRequest,
        ASC_LBA_OUT_OF_RANGE,
        ASCQ_INVALID_ADDRESS_FOR_WRITE,
    )
}

fn cannot_write() -> SenseData {
    sense(
        SenseKey::IllegalRequest,
        asc::INCOMPATIBLE_MEDIUM_INSTALLED,
        ASCQ_CANNOT_WRITE_INCOMPATIBLE,
    )
}

fn not_formatted() -> SenseData {
    sense(
        SenseKey::NotReady,
        asc::INCOMPATIBLE_MEDIUM_INSTALLED,
        ASCQ_MEDIUM_NOT_FORMATTED,
    )
}

/// MEDIUM ERROR 0C/00 (write error) with `lba` in the information field.
pub fn write_error(lba: u32) -> SenseData {
    let mut s = sense(SenseKey::MediumError, ASC_WRITE_ERROR, ascq::NONE);
    s.information = Some(u64::from(lba));
    s
}

/// MEDIUM ERROR naming `defective` when that block is among the `blocks` blocks from `lba`
/// (a WRITE that meets the armed medium-error fault writes nothing).
fn check_defect(defective: Option<u32>, lba: u32, blocks: u32) -> Result<(), SenseData> {
    match defective {
        Some(bad) if bad >= lba && u64::from(bad) < u64::from(lba) + u64::from(blocks) => {
            Err(write_error(bad))
        }
        _ => Ok(()),
    }
}

fn read_error(lba: u32) -> SenseData {
    let mut s = sense(
        SenseKey::MediumError,
        ASC_UNRECOVERED_READ_ERROR,
        ascq::NONE,
    );
    s.information = Some(u64::from(lba));
    s
}

fn internal(_: crate::EncodeError) -> SenseData {
    sense(
        SenseKey::HardwareError,
        asc::INTERNAL_TARGET_FAILURE,
        ascq::NONE,
    )
}

/// `lba` as the 0/M/S/F bytes of a CD address (150 blocks of pregap before LBA 0).
fn msf(lba: u32) -> u32 {
    let a = lba.saturating_add(150);
    let (m, s, f) = (a / 4500, (a / 75) % 60, a % 75);
    (m.min(0xFF) << 16) | (s << 8) | f
}

/// Where a WRITE goes on a sequential disc.
enum Target {
    /// Track `index` of [`Disc::tracks`].
    Track(usize),
    /// A new track, starting at the invisible track's NWA.
    NewTrack,
}

impl Disc {
    /// A new blank disc of `capacity` blocks (0: the profile's default) whose old sectors the
    /// store must forget.
    pub fn blank(capacity: u32) -> Disc {
        Disc {
            capacity,
            pending_discards: vec![Extent {
                start: 0,
                blocks: u32::MAX,
            }],
            ..Disc::default()
        }
    }

    /// The capacity in blocks.
    pub fn capacity(&self, profile: Profile) -> u32 {
        if self.capacity == 0 {
            default_capacity(profile)
        } else {
            self.capacity
        }
    }

    /// The open session's number.
    fn open_session(&self) -> u16 {
        self.closed_sessions.saturating_add(1)
    }

    /// The index of the last track if it is the open, unreserved incomplete track.
    fn incomplete_track(&self) -> Option<usize> {
        let i = self.tracks.len().checked_sub(1)?;
        let t = self.tracks.get(i)?;
        (!t.closed && t.reserved.is_none() && t.session == self.open_session()).then_some(i)
    }

    /// The first block of the invisible track (where a new track would start).
    fn invisible_start(&self, profile: Profile) -> u32 {
        match self.tracks.last() {
            None => 0,
            Some(t) if t.session < self.open_session() => {
                t.end().saturating_add(session_gap(profile))
            }
            Some(t) => t.end(),
        }
    }

    /// The NWA of the invisible (or incomplete) track.
    pub fn next_writable_address(&self, profile: Profile) -> u32 {
        match self.incomplete_track().and_then(|i| self.tracks.get(i)) {
            Some(t) => t.nwa(),
            None => self.invisible_start(profile),
        }
    }

    /// Whether any block has been written.
    fn has_data(&self) -> bool {
        self.tracks.iter().any(|t| t.written > 0)
    }

    /// Disc status and state of the last session as READ DISC INFORMATION reports them.
    pub fn status(&self, profile: Profile) -> (DiscStatus, SessionState) {
        match kind(profile) {
            MediumKind::ReadOnly => (DiscStatus::Complete, SessionState::Complete),
            MediumKind::Random if self.formatted => (DiscStatus::Other, SessionState::Complete),
            MediumKind::Random => (DiscStatus::Blank, SessionState::Empty),
            MediumKind::Sequential { .. } => {
                if self.finalized {
                    (DiscStatus::Complete, SessionState::Complete)
                } else if self.tracks.iter().any(|t| t.session == self.open_session()) {
                    (DiscStatus::Incomplete, SessionState::Incomplete)
                } else if self.closed_sessions > 0 {
                    (DiscStatus::Incomplete, SessionState::Empty)
                } else {
                    (DiscStatus::Blank, SessionState::Empty)
                }
            }
        }
    }

    /// The number of sessions READ DISC INFORMATION reports: the open (or empty) one counts
    /// unless the disc is complete.
    fn session_count(&self, profile: Profile) -> u16 {
        match kind(profile) {
            MediumKind::Sequential { .. } if self.finalized => self.closed_sessions.max(1),
            MediumKind::Sequential { .. } => self.open_session(),
            _ => 1,
        }
    }

    /// Number of the invisible track (one past the last), or of the last track on a
    /// complete disc.
    fn last_track_number(&self, profile: Profile) -> u16 {
        let n = u16::try_from(self.tracks.len()).unwrap_or(u16::MAX);
        match kind(profile) {
            MediumKind::Sequential { .. } if self.finalized => n.max(1),
            MediumKind::Sequential { .. } if self.incomplete_track().is_some() => n,
            MediumKind::Sequential { .. } => n.saturating_add(1),
            _ => 1,
        }
    }

    /// The first track number of the last session.
    fn first_track_in_last_session(&self, profile: Profile) -> u16 {
        if !matches!(kind(profile), MediumKind::Sequential { .. }) {
            return 1;
        }
        let last = if self.finalized {
            self.closed_sessions
        } else {
            self.open_session()
        };
        self.tracks
            .iter()
            .position(|t| t.session == last)
            .map_or(self.last_track_number(profile), |i| {
                u16::try_from(i + 1).unwrap_or(u16::MAX)
            })
    }

    /// The standard disc information block.
    pub fn disc_information(&self, profile: Profile) -> DiscInformation {
        let (disc_status, last_session_state) = self.status(profile);
        let cap = self.capacity(profile);
        let erasable = matches!(
            kind(profile),
            MediumKind::Sequential { erasable: true } | MediumKind::Random
        );
        let writable_more =
            matches!(kind(profile), MediumKind::Sequential { .. }) && !self.finalized;
        let (lead_in, lead_out) = if !writable_more {
            (0xFFFF_FFFF, 0xFFFF_FFFF)
        } else if is_cd(profile) {
            (msf(self.next_writable_address(profile)), msf(cap))
        } else {
            (self.next_writable_address(profile), cap)
        };
        // BG format status 11b (complete) on a formatted DVD+RW.
        let flags = if profile == Profile::DVD_PLUS_RW && self.formatted {
            0x03
        } else {
            0
        };
        DiscInformation {
            erasable,
            last_session_state,
            disc_status,
            first_track: 1,
            sessions: self.session_count(profile),
            first_track_in_last_session: self.first_track_in_last_session(profile),
            last_track_in_last_session: self.last_track_number(profile),
            flags,
            disc_type: 0,
            disc_identification: 0,
            last_session_lead_in_start: lead_in,
            last_possible_lead_out_start: lead_out,
            disc_bar_code: [0; 8],
            disc_application_code: 0,
            opc_tables: Vec::new(),
        }
    }

    fn track_info(&self, profile: Profile, number: u16) -> Option<TrackInformation> {
        let cap = self.capacity(profile);
        // Track mode 7 on DVD+R, 4 (data) elsewhere; the blocking factor is the ECC block
        // (16 blocks on DVD, 32 on BD), as tgt's DVD+R LUN reports them for growisofs.
        let track_mode = if matches!(profile.0, 0x001B | 0x002B) {
            7
        } else {
            4
        };
        let fixed_packet_size = if is_bd(profile) {
            32
        } else if is_cd(profile) {
            0
        } else {
            16
        };
        let base = TrackInformation {
            track_number: number,
            session_number: 1,
            damage: false,
            copy: false,
            track_mode,
            reserved_track: false,
            blank: false,
            packet: false,
            fixed_packet: false,
            data_mode: 1,
            nwa_valid: false,
            lra_valid: false,
            track_start: 0,
            next_writable_address: 0,
            free_blocks: 0,
            fixed_packet_size,
            track_size: cap,
            last_recorded_address: Some(0),
            extension: Some(TrackInfoExtension {
                read_compatibility_lba: 0,
                next_layer_jump_address: 0,
                last_layer_jump_address: 0,
            }),
        };
        match kind(profile) {
            MediumKind::ReadOnly | MediumKind::Random => {
                if number != 1 {
                    return None;
                }
                let random = kind(profile) == MediumKind::Random;
                let formatted = !random || self.formatted;
                // A restricted-overwrite DVD-RW is one fixed-packet track of 16-block packets
                // (growisofs refuses it otherwise: "not formatted for fixed packet size").
                let fixed = formatted && profile == Profile::DVD_RW_RESTRICTED_OVERWRITE;
                Some(TrackInformation {
                    packet: fixed,
                    fixed_packet: fixed,
                    blank: !formatted,
                    nwa_valid: random && formatted,
                    free_blocks: if random && formatted { cap } else { 0 },
                    lra_valid: !random,
                    last_recorded_address: Some(if random { 0 } else { cap.saturating_sub(1) }),
                    ..base
                })
            }
            MediumKind::Sequential { .. } => {
                let index = usize::from(number).checked_sub(1)?;
                if let Some(t) = self.tracks.get(index) {
                    let open = !t.closed && !self.finalized;
                    let size = t.reserved.unwrap_or(if open {
                        cap.saturating_sub(t.start)
                    } else {
                        t.written
                    });
                    return Some(TrackInformation {
                        session_number: t.session,
                        reserved_track: t.reserved.is_some(),
                        blank: t.written == 0,
                        nwa_valid: open,
                        lra_valid: t.written > 0,
                        track_start: t.start,
                        next_writable_address: if open { t.nwa() } else { 0 },
                        free_blocks: if open {
                            size.saturating_sub(t.written)
                        } else {
                            0
                        },
                        track_size: size,
                        last_recorded_address: Some(t.nwa().saturating_sub(1)),
                        ..base
                    });
                }
                if index != self.tracks.len() || self.finalized {
                    return None;
                }
                // The invisible track: blank, from the NWA to the end of the disc.
                let start = self.invisible_start(profile);
                let free = cap.saturating_sub(start);
                Some(TrackInformation {
                    session_number: self.open_session(),
                    blank: true,
                    nwa_valid: true,
                    track_start: start,
                    next_writable_address: start,
                    free_blocks: free,
                    track_size: free,
                    ..base
                })
            }
        }
    }

    /// The track information block for `address` (ILLEGAL REQUEST 24/00 for no such track).
    pub fn track_information(&self, profile: Profile, address: TrackAddress) -> Answer {
        let number = match address {
            TrackAddress::Track(n) => {
                if n == 0xFF && matches!(kind(profile), MediumKind::Sequential { .. }) {
                    Some(self.last_track_number(profile))
                } else {
                    u16::try_from(n).ok()
                }
            }
            TrackAddress::Session(s) => {
                let s = u16::try_from(s).ok();
                match kind(profile) {
                    MediumKind::Sequential { .. } => s.and_then(|s| {
                        if s == self.open_session() && !self.finalized {
                            Some(self.first_track_in_last_session(profile))
                        } else {
                            self.tracks
                                .iter()
                                .position(|t| t.session == s)
                                .and_then(|i| u16::try_from(i + 1).ok())
                        }
                    }),
                    _ => s.filter(|&s| s == 1),
                }
            }
            TrackAddress::Lba(lba) => match kind(profile) {
                MediumKind::Sequential { .. } => {
                    let found = self.tracks.iter().position(|t| {
                        lba >= t.start && lba < t.end().max(t.start.saturating_add(1))
                    });
                    match found {
                        Some(i) => u16::try_from(i + 1).ok(),
                        None if !self.finalized && lba >= self.invisible_start(profile) => {
                            Some(self.last_track_number(profile))
                        }
                        None => None,
                    }
                }
                _ => (lba < self.capacity(profile)).then_some(1),
            },
        };
        let info = number
            .and_then(|n| self.track_info(profile, n))
            .ok_or_else(invalid_field)?;
        info.encode().map_err(internal)
    }

    /// The last block a reader can read, for READ CAPACITY.
    pub fn read_capacity(&self, profile: Profile) -> Capacity {
        let last_lba = match kind(profile) {
            MediumKind::ReadOnly => self.capacity(profile).saturating_sub(1),
            MediumKind::Random if self.formatted => self.capacity(profile).saturating_sub(1),
            MediumKind::Random => 0,
            MediumKind::Sequential { .. } => self
                .tracks
                .iter()
                .filter(|t| t.written > 0)
                .map(|t| t.nwa().saturating_sub(1))
                .max()
                .unwrap_or(0),
        };
        Capacity {
            last_lba,
            block_length: BLOCK_LEN as u32,
        }
    }

    /// READ TOC/PMA/ATIP format 0 (TOC) or 1 (session information).
    pub fn toc(&self, profile: Profile, msf_wanted: bool, format: u8, track: u8) -> Answer {
        let addr = |lba: u32| if msf_wanted { msf(lba) } else { lba };
        let desc = |number: u8, lba: u32| TocDescriptor {
            adr: 1,
            control: 4,
            track: number,
            start_address: addr(lba),
        };
        // (track number, start, end, session) of every readable track.
        let tracks: Vec<(u8, u32, u32, u16)> = match kind(profile) {
            MediumKind::Random if !self.formatted => Vec::new(),
            MediumKind::ReadOnly | MediumKind::Random => {
                vec![(1, 0, self.capacity(profile), 1)]
            }
            MediumKind::Sequential { .. } => self
                .tracks
                .iter()
                .enumerate()
                .filter(|(_, t)| t.written > 0)
                .map(|(i, t)| {
                    (
                        u8::try_from(i + 1).unwrap_or(u8::MAX),
                        t.start,
                        t.nwa(),
                        t.session,
                    )
                })
                .collect(),
        };
        let (Some(first), Some(last)) = (tracks.first(), tracks.last()) else {
            // A blank disc has no TOC.
            return Err(invalid_field());
        };
        match format {
            0 => {
                if track > last.0 && track != LEAD_OUT_TRACK {
                    return Err(invalid_field());
                }
                let mut descriptors: Vec<TocDescriptor> = tracks
                    .iter()
                    .filter(|t| t.0 >= track && track != LEAD_OUT_TRACK)
                    .map(|t| desc(t.0, t.1))
                    .collect();
                descriptors.push(desc(LEAD_OUT_TRACK, last.2));
                Toc {
                    first_track: first.0,
                    last_track: last.0,
                    descriptors,
                }
                .encode()
                .map_err(internal)
            }
            1 => {
                // The last complete session (an incomplete one does not count), else the
                // first.
                let last_session = tracks
                    .iter()
                    .map(|t| t.3)
                    .filter(|&s| {
                        !matches!(kind(profile), MediumKind::Sequential { .. })
                            || s <= self.closed_sessions
                    })
                    .max()
                    .unwrap_or(first.3);
                let first_of_last = tracks.iter().find(|t| t.3 == last_session).unwrap_or(first);
                SessionInfo {
                    first_session: 1,
                    last_session: u8::try_from(last_session).unwrap_or(u8::MAX),
                    first_track_in_last_session: desc(first_of_last.0, first_of_last.1),
                }
                .encode()
                .map_err(internal)
            }
            2 if is_cd(profile) => self.full_toc(profile, track),
            _ => Err(invalid_field()),
        }
    }

    /// READ TOC/PMA/ATIP format 2 on a CD: the lead-in entries of every closed session from
    /// `first_session` on (0: from the first): A0/A1 (first and last track), A2 (lead-out),
    /// one entry per track, and B0 (the next program area) while a next session may follow.
    /// libburn reads a CD's sessions and whether it is appendable from this; an open
    /// session has no lead-in yet and is not listed.
    fn full_toc(&self, profile: Profile, first_session: u8) -> Answer {
        let bytes = |lba: u32| {
            let [_, m, s, f] = msf(lba).to_be_bytes();
            [m, s, f]
        };
        let closed = self.closed_sessions;
        let numbered = || {
            self.tracks
                .iter()
                .enumerate()
                .map(|(i, t)| (u8::try_from(i + 1).unwrap_or(u8::MAX), t))
        };
        let mut descriptors = Vec::new();
        for session in u16::from(first_session.max(1))..=closed {
            let in_session: Vec<(u8, &Track)> = numbered()
                .filter(|(_, t)| t.session == session && t.written > 0)
                .collect();
            let (Some(first), Some(last)) = (in_session.first(), in_session.last()) else {
                continue;
            };
            let number = u8::try_from(session).unwrap_or(u8::MAX);
            let entry = |adr, point, msf, zero, pmsf| FullTocDescriptor {
                session: number,
                adr,
                control: 4,
                tno: 0,
                point,
                msf,
                zero,
                pmsf,
            };
            descriptors.push(entry(1, POINT_FIRST_TRACK, [0; 3], 0, [first.0, 0, 0]));
            descriptors.push(entry(1, POINT_LAST_TRACK, [0; 3], 0, [last.0, 0, 0]));
            descriptors.push(entry(1, POINT_LEAD_OUT, [0; 3], 0, bytes(last.1.nwa())));
            for (n, t) in &in_session {
                descriptors.push(entry(1, *n, [0; 3], 0, bytes(t.start)));
            }
            if !(self.finalized && session == closed) {
                // The next program area begins with its first track's 150-block pregap.
                let next = self
                    .tracks
                    .iter()
                    .find(|t| t.session > session)
                    .map_or_else(|| self.invisible_start(profile), |t| t.start)
                    .saturating_sub(150);
                let last_lead_out = bytes(self.capacity(profile));
                descriptors.push(entry(
                    5,
                    POINT_NEXT_PROGRAM_AREA,
                    bytes(next),
                    1,
                    last_lead_out,
                ));
            }
        }
        if descriptors.is_empty() {
            // No closed session (blank, or only an open one): no lead-in to read.
            return Err(invalid_field());
        }
        FullToc {
            first_session: 1,
            last_session: u8::try_from(closed).unwrap_or(u8::MAX),
            descriptors,
        }
        .encode()
        .map_err(internal)
    }

    /// READ FORMAT CAPACITIES: the current capacity and, on formattable media, the format
    /// types FORMAT UNIT accepts.
    pub fn format_capacities(&self, profile: Profile) -> FormatCapacities {
        let cap = self.capacity(profile);
        let f = |format_type, type_dependent| FormattableCapacity {
            blocks: cap,
            format_type,
            type_dependent,
        };
        let formattable = match profile.0 {
            0x001A => vec![f(0x26, 0)],
            // BD-R: SRM with spare areas, while blank.
            0x0041 if self.tracks.is_empty() && !self.formatted => vec![f(0x32, 0)],
            // BD-RE: full format (00h) first, as real drives list it and libburn requires,
            // then with spare areas (30h) and without (31h).
            0x0043 => vec![f(0x00, 0), f(0x30, 0), f(0x31, 0)],
            0x0013 | 0x0014 => vec![f(0x00, 16), f(0x15, 16)],
            _ => Vec::new(),
        };
        let formatted = match kind(profile) {
            MediumKind::Random => self.formatted,
            MediumKind::Sequential { .. } => self.has_data() || self.closed_sessions > 0,
            MediumKind::ReadOnly => true,
        };
        FormatCapacities {
            current: CurrentCapacity {
                blocks: cap,
                descriptor_type: if formatted {
                    CapacityDescriptorType::Formatted
                } else {
                    CapacityDescriptorType::Unformatted
                },
                block_length: BLOCK_LEN as u32,
            },
            formattable,
        }
    }

    /// GET PERFORMANCE type 03h: the write speeds a drive offers for this medium, fastest
    /// first, in kB/s (CD 1x = 176.4, DVD 1x = 1,385, BD 1x = 4,495 kB/s).
    pub fn write_speeds(&self, profile: Profile) -> WriteSpeeds {
        let speeds: &[u32] = match kind(profile) {
            MediumKind::ReadOnly => &[],
            _ if is_cd(profile) => &[8467, 7056, 4234, 1764],
            _ if is_bd(profile) => &[26970, 17980, 8990],
            _ => &[22160, 11080, 5540],
        };
        let read_speed = speeds.first().copied().unwrap_or(0);
        let end_lba = self.capacity(profile).saturating_sub(1);
        WriteSpeeds {
            descriptors: speeds
                .iter()
                .map(|&write_speed| WriteSpeedDescriptor {
                    rotation_control: 0,
                    restore_defaults: false,
                    exact: true,
                    mrw: false,
                    end_lba,
                    read_speed,
                    write_speed,
                })
                .collect(),
            complete: true,
        }
    }

    /// Where a WRITE of `blocks` at `lba` goes on a sequential disc, or why not.
    fn target(&self, profile: Profile, lba: u32, blocks: u32) -> Result<Target, SenseData> {
        if self.finalized {
            return Err(invalid_write_address());
        }
        let open = self.open_session();
        for (i, t) in self.tracks.iter().enumerate() {
            if t.closed || t.session != open || t.nwa() != lba {
                continue;
            }
            if let Some(r) = t.reserved {
                if u64::from(t.written) + u64::from(blocks) > u64::from(r) {
                    return Err(invalid_write_address());
                }
            }
            return Ok(Target::Track(i));
        }
        if self.incomplete_track().is_none() && lba == self.invisible_start(profile) {
            if self.tracks.len() >= MAX_TRACKS {
                return Err(sense(
                    SenseKey::IllegalRequest,
                    ASC_SESSION_FIXATION,
                    ASCQ_NO_MORE_RESERVATIONS,
                ));
            }
            return Ok(Target::NewTrack);
        }
        Err(invalid_write_address())
    }

    /// WRITE `data` (`blocks` blocks) at `lba`: checks the address by the medium's rules, then
    /// `medium_error` (a defective block: MEDIUM ERROR 0C/00 naming it, nothing written), then
    /// stores the bytes and moves the NWA.
    pub fn write(
        &mut self,
        profile: Profile,
        lba: u32,
        blocks: u32,
        data: &[u8],
        medium_error: Option<u32>,
        store: &mut dyn SectorStore,
    ) -> Answer {
        let len = usize::try_from(blocks)
            .ok()
            .and_then(|b| b.checked_mul(BLOCK_LEN))
            .ok_or_else(invalid_field)?;
        let data = data.get(..len).ok_or_else(invalid_field)?;
        let cap = self.capacity(profile);
        let medium = kind(profile);
        if medium == MediumKind::ReadOnly {
            return Err(cannot_write());
        }
        if medium == MediumKind::Random && !self.formatted {
            return Err(not_formatted());
        }
        if blocks == 0 {
            return Ok(Vec::new());
        }
        if let Some(plan) = self.session_at_once.clone() {
            return self.write_session_at_once(plan, lba, blocks, data, medium_error, store);
        }
        if lba >= cap || u64::from(lba) + u64::from(blocks) > u64::from(cap) {
            return Err(out_of_range());
        }
        let target = match medium {
            MediumKind::Sequential { .. } => Some(self.target(profile, lba, blocks)?),
            _ => None,
        };
        check_defect(medium_error, lba, blocks)?;
        store.write(lba, data).map_err(|_| write_error(lba))?;
        match target {
            Some(Target::Track(i)) => {
                if let Some(t) = self.tracks.get_mut(i) {
                    t.written = t.written.saturating_add(blocks);
                }
            }
            Some(Target::NewTrack) => self.tracks.push(Track {
                session: self.open_session(),
                start: lba,
                written: blocks,
                reserved: None,
                closed: false,
            }),
            None => {}
        }
        self.note_unsynced(Extent { start: lba, blocks });
        Ok(Vec::new())
    }

    /// SEND CUE SHEET with `entries` on a CD-R or CD-RW: plans the session the host then
    /// writes at once. Only a blank disc takes one (libburn does not try session at once on
    /// an appendable CD): COMMAND SEQUENCE ERROR on other media, on a disc with tracks and
    /// once the host has begun writing a planned session; INVALID FIELD IN PARAMETER LIST
    /// for a layout this drive does not record (see [`SessionAtOnce`]). A new sheet replaces
    /// one nothing was written for yet. `multi_session` is the Write Parameters page's field:
    /// 11b leaves the disc appendable once the session is written.
    pub fn send_cue_sheet(
        &mut self,
        profile: Profile,
        entries: &[CueEntry],
        multi_session: MultiSession,
    ) -> Answer {
        let started = self
            .session_at_once
            .as_ref()
            .is_some_and(|plan| plan.received > 0);
        let blank = self.status(profile).0 == DiscStatus::Blank;
        if !matches!(profile.0, 0x0009 | 0x000A) || !blank || started {
            return Err(command_sequence_error());
        }
        let plan = session_layout(entries, self.capacity(profile)).ok_or_else(invalid_parameter)?;
        self.session_at_once = Some(SessionAtOnce {
            next_session_allowed: multi_session == MultiSession::NextSessionAllowed,
            ..plan
        });
        Ok(Vec::new())
    }

    /// A WRITE of a session at once: only at the next block the plan expects (the pregap
    /// from LBA -150, as the CDB's 32-bit address wraps, then the tracks), never past the
    /// lead-out (ILLEGAL REQUEST 21/02). Pregap blocks (before LBA 0) are taken and dropped;
    /// the rest are stored in their tracks. The block before the lead-out closes the session.
    fn write_session_at_once(
        &mut self,
        mut plan: SessionAtOnce,
        lba: u32,
        blocks: u32,
        data: &[u8],
        medium_error: Option<u32>,
        store: &mut dyn SectorStore,
    ) -> Answer {
        // The CDB's address is a two's-complement LBA here: 0xFFFF_FF6A is -150.
        let at = i64::from(i32::from_be_bytes(lba.to_be_bytes()));
        let next = i64::from(plan.first) + i64::from(plan.received);
        let end = at + i64::from(blocks);
        if at != next || end > i64::from(plan.lead_out) {
            return Err(invalid_write_address());
        }
        let from = at.max(0);
        let stored = u32::try_from(end - from).unwrap_or(0);
        if stored > 0 {
            let start = u32::try_from(from).map_err(|_| invalid_write_address())?;
            check_defect(medium_error, start, stored)?;
            let skip = usize::try_from(from - at)
                .ok()
                .and_then(|b| b.checked_mul(BLOCK_LEN))
                .ok_or_else(invalid_field)?;
            let bytes = data.get(skip..).ok_or_else(invalid_field)?;
            store.write(start, bytes).map_err(|_| write_error(start))?;
            let stop = start.saturating_add(stored);
            let session = self.open_session();
            for (i, &track_start) in plan.track_starts.iter().enumerate() {
                let track_end = plan
                    .track_starts
                    .get(i + 1)
                    .copied()
                    .unwrap_or(plan.lead_out);
                let (lo, hi) = (track_start.max(start), track_end.min(stop));
                if lo >= hi {
                    continue;
                }
                match self
                    .tracks
                    .iter_mut()
                    .find(|t| t.session == session && t.start == track_start)
                {
                    Some(t) => t.written = t.written.saturating_add(hi - lo),
                    None => self.tracks.push(Track {
                        session,
                        start: track_start,
                        written: hi - lo,
                        reserved: None,
                        closed: false,
                    }),
                }
            }
            self.note_unsynced(Extent {
                start,
                blocks: stored,
            });
        }
        plan.received = plan.received.saturating_add(blocks);
        let (done, allowed) = (end == i64::from(plan.lead_out), plan.next_session_allowed);
        self.session_at_once = Some(plan);
        if done {
            self.close_session_at_once(allowed);
        }
        Ok(Vec::new())
    }

    /// The end of a session at once: its tracks and the session closed, the disc complete
    /// unless the next session is allowed; the plan is done.
    fn close_session_at_once(&mut self, next_session_allowed: bool) {
        self.unsynced.clear();
        self.session_at_once = None;
        let open = self.open_session();
        let mut any = false;
        for t in self.tracks.iter_mut().filter(|t| t.session == open) {
            t.closed = true;
            any = true;
        }
        if any {
            self.closed_sessions = open;
            self.finalized = !next_session_allowed;
        }
    }

    fn note_unsynced(&mut self, e: Extent) {
        if let Some(last) = self.unsynced.last_mut() {
            if last.end() == u64::from(e.start) {
                last.blocks = last.blocks.saturating_add(e.blocks);
                return;
            }
        }
        self.unsynced.push(e);
        if self.unsynced.len() > MAX_UNSYNCED {
            let start = self.unsynced.iter().map(|e| e.start).min().unwrap_or(0);
            let end = self.unsynced.iter().map(|e| e.end()).max().unwrap_or(0);
            let blocks = u32::try_from(end.saturating_sub(u64::from(start))).unwrap_or(u32::MAX);
            self.unsynced = vec![Extent { start, blocks }];
        }
    }

    /// Whether every block of `lba..lba+blocks` has been written (sequential media).
    fn recorded(&self, lba: u32, blocks: u32) -> bool {
        let end = u64::from(lba) + u64::from(blocks);
        let mut at = u64::from(lba);
        while at < end {
            let Some(t) = self
                .tracks
                .iter()
                .find(|t| u64::from(t.start) <= at && at < u64::from(t.nwa()))
            else {
                return false;
            };
            at = u64::from(t.nwa());
        }
        true
    }

    /// READ(10) of `blocks` blocks at `lba`; `corrupt` is a block that reads back different
    /// from what was written (its first byte inverted).
    pub fn read(
        &self,
        profile: Profile,
        lba: u32,
        blocks: u32,
        corrupt: Option<u32>,
        store: &mut dyn SectorStore,
    ) -> Answer {
        if blocks == 0 {
            return Ok(Vec::new());
        }
        let cap = self.capacity(profile);
        if u64::from(lba) + u64::from(blocks) > u64::from(cap) {
            return Err(out_of_range());
        }
        match kind(profile) {
            MediumKind::Random if !self.formatted => return Err(not_formatted()),
            MediumKind::Sequential { .. } if !self.recorded(lba, blocks) => {
                return Err(out_of_range())
            }
            _ => {}
        }
        let len = usize::try_from(blocks)
            .ok()
            .and_then(|b| b.checked_mul(BLOCK_LEN))
            .ok_or_else(out_of_range)?;
        let mut buf = vec![0u8; len];
        store.read(lba, &mut buf).map_err(|_| read_error(lba))?;
        if let Some(bad) = corrupt {
            if let Some(off) = bad
                .checked_sub(lba)
                .filter(|&o| o < blocks)
                .and_then(|o| usize::try_from(o).ok())
            {
                if let Some(b) = buf.get_mut(off * BLOCK_LEN) {
                    *b ^= 0xFF;
                }
            }
        }
        Ok(buf)
    }

    /// SYNCHRONIZE CACHE: what was written is safe from a power loss. A session at once
    /// with track data written ends here (the drive writes the lead-out after what it got),
    /// as when its last block arrives.
    pub fn synchronize(&mut self) {
        self.unsynced.clear();
        if let Some(plan) = &self.session_at_once {
            let open = self.open_session();
            if self.tracks.iter().any(|t| t.session == open) {
                let allowed = plan.next_session_allowed;
                self.close_session_at_once(allowed);
            }
        }
    }

    /// CLOSE TRACK/SESSION with `function` on `number`; `multi_session` is the Write
    /// Parameters page's field (it decides on CD and DVD-R/-RW whether closing the session
    /// finalizes).
    pub fn close(
        &mut self,
        profile: Profile,
        function: CloseFunction,
        number: u16,
        multi_session: MultiSession,
    ) -> Answer {
        self.synchronize();
        let MediumKind::Sequential { .. } = kind(profile) else {
            // DVD+RW, BD-RE: closing stops background formatting; nothing to close.
            return match kind(profile) {
                MediumKind::Random => Ok(Vec::new()),
                _ => Err(cannot_write()),
            };
        };
        if self.finalized {
            return Ok(Vec::new());
        }
        let open = self.open_session();
        let plus_or_bd = matches!(profile.0, 0x001B | 0x002B | 0x0041);
        match function {
            CloseFunction::Track => {
                let index = usize::from(number)
                    .checked_sub(1)
                    .ok_or_else(invalid_field)?;
                let count = self.tracks.len();
                match self.tracks.get_mut(index) {
                    Some(t) => t.closed = true,
                    // The invisible track, empty: nothing to close.
                    None if index == count => {}
                    None => return Err(invalid_field()),
                }
                Ok(Vec::new())
            }
            CloseFunction::Session | CloseFunction::Finalize | CloseFunction::Other(0b101) => {
                let session_has_tracks = self.tracks.iter().any(|t| t.session == open);
                for t in self.tracks.iter_mut().filter(|t| t.session == open) {
                    t.closed = true;
                    // An unfinished reservation is padded: its readable size stays what
                    // was written.
                }
                if session_has_tracks {
                    self.closed_sessions = open;
                }
                let finalize = match function {
                    CloseFunction::Session => {
                        !plus_or_bd && multi_session != MultiSession::NextSessionAllowed
                    }
                    _ => true,
                };
                if finalize && (session_has_tracks || self.closed_sessions > 0) {
                    self.finalized = true;
                }
                Ok(Vec::new())
            }
            CloseFunction::Other(_) => Err(invalid_field()),
        }
    }

    /// RESERVE TRACK of `blocks` blocks at the invisible track's NWA.
    pub fn reserve(&mut self, profile: Profile, blocks: u32) -> Answer {
        if !matches!(kind(profile), MediumKind::Sequential { .. }) || self.finalized {
            return Err(invalid_field());
        }
        if blocks == 0 || self.incomplete_track().is_some() {
            return Err(invalid_field());
        }
        if self.tracks.len() >= MAX_TRACKS {
            return Err(sense(
                SenseKey::IllegalRequest,
                ASC_SESSION_FIXATION,
                ASCQ_NO_MORE_RESERVATIONS,
            ));
        }
        let start = self.invisible_start(profile);
        if u64::from(start) + u64::from(blocks) > u64::from(self.capacity(profile)) {
            return Err(out_of_range());
        }
        self.tracks.push(Track {
            session: self.open_session(),
            start,
            written: 0,
            reserved: Some(blocks),
            closed: false,
        });
        Ok(Vec::new())
    }

    fn forget_all(&mut self) {
        let capacity = self.capacity;
        *self = Disc::blank(capacity);
    }

    /// BLANK: CD-RW and DVD-RW only (a restricted-overwrite DVD-RW becomes sequential
    /// again). Returns the profile the disc has afterwards.
    pub fn blank_disc(&mut self, profile: Profile, kind_: BlankingType) -> Result<u16, SenseData> {
        if !matches!(profile.0, 0x000A | 0x0013 | 0x0014) {
            return Err(cannot_write());
        }
        match kind_ {
            BlankingType::Full | BlankingType::Minimal => {}
            _ => return Err(invalid_field()),
        }
        self.forget_all();
        Ok(if profile.0 == 0x0013 {
            0x0014
        } else {
            profile.0
        })
    }

    /// FORMAT UNIT with `params`: DVD+RW (26h), BD-RE (00h, 30h, 31h), DVD-RW (00h, 13h,
    /// 15h; the disc becomes restricted overwrite). Returns the profile the disc has
    /// afterwards.
    pub fn format(
        &mut self,
        profile: Profile,
        params: &FormatParameters,
    ) -> Result<u16, SenseData> {
        if profile.0 == 0x0041 {
            // BD-R: only a blank disc takes spare areas (SRM+POW is not modelled); its
            // layout stays sequential and nothing is forgotten.
            if params.format_type != 0x32 || !self.tracks.is_empty() || self.formatted {
                return Err(invalid_parameter());
            }
            self.formatted = true;
            return Ok(profile.0);
        }
        let ok = match profile.0 {
            0x001A => params.format_type == 0x26,
            0x0043 => matches!(params.format_type, 0x00 | 0x30 | 0x31),
            0x0013 | 0x0014 => matches!(params.format_type, 0x00 | 0x13 | 0x15),
            _ => return Err(cannot_write()),
        };
        if !ok {
            return Err(invalid_parameter());
        }
        self.forget_all();
        self.formatted = true;
        Ok(if profile.0 == 0x0014 {
            0x0013
        } else {
            profile.0
        })
    }

    /// A power loss: the blocks written since the last SYNCHRONIZE CACHE are lost (the store
    /// forgets them at the next command) and each track's NWA falls back to the first lost
    /// block; a track left empty that was not reserved disappears; a session at once in
    /// progress is forgotten.
    pub fn lose_unsynced(&mut self) {
        // A session at once in progress is lost with the drive's memory of its cue sheet.
        self.session_at_once = None;
        let lost = std::mem::take(&mut self.unsynced);
        for e in &lost {
            for t in &mut self.tracks {
                if e.start >= t.start && e.start < t.nwa() {
                    t.written = e.start - t.start;
                }
            }
        }
        self.tracks
            .retain(|t| t.written > 0 || t.reserved.is_some() || t.closed);
        self.pending_discards.extend(lost);
        if self.pending_discards.len() > MAX_UNSYNCED {
            self.pending_discards = vec![Extent {
                start: 0,
                blocks: u32::MAX,
            }];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msf_counts_the_pregap() {
        assert_eq!(msf(0), 0x0000_0200);
        assert_eq!(msf(CD_CAPACITY - 150), (79 << 16) | (57 << 8) | 72);
    }

    #[test]
    fn kinds_of_the_writable_profiles() {
        for p in [0x09u16, 0x11, 0x1B, 0x41] {
            assert_eq!(kind(Profile(p)), MediumKind::Sequential { erasable: false });
        }
        for p in [0x0Au16, 0x14] {
            assert_eq!(kind(Profile(p)), MediumKind::Sequential { erasable: true });
        }
        for p in [0x13u16, 0x1A, 0x43] {
            assert_eq!(kind(Profile(p)), MediumKind::Random);
        }
        for p in [0x08u16, 0x10, 0x40, 0x12] {
            assert_eq!(kind(Profile(p)), MediumKind::ReadOnly);
        }
    }

    #[test]
    fn memory_store_discards_a_range() {
        let mut m = MemoryStore::default();
        m.write(0, &[1u8; 3 * BLOCK_LEN]).expect("writes");
        m.discard(1, 1).expect("discards");
        let mut buf = vec![9u8; 3 * BLOCK_LEN];
        m.read(0, &mut buf).expect("reads");
        assert_eq!(buf[0], 1);
        assert_eq!(buf[BLOCK_LEN], 0);
        assert_eq!(buf[2 * BLOCK_LEN], 1);
        m.discard(0, u32::MAX).expect("discards");
        assert!(m.blocks.is_empty());
    }

    #[test]
    fn power_loss_rolls_the_nwa_back_to_the_sync_point() {
        let p = Profile::DVD_PLUS_R;
        let mut d = Disc::default();
        let mut s = MemoryStore::default();
        d.write(p, 0, 16, &[1; 16 * BLOCK_LEN], None, &mut s)
            .expect("writes");
        d.synchronize();
        d.write(p, 16, 16, &[2; 16 * BLOCK_LEN], None, &mut s)
            .expect("writes");
        d.lose_unsynced();
        assert_eq!(d.next_writable_address(p), 16);
        assert_eq!(
            d.pending_discards,
            vec![Extent {
                start: 16,
                blocks: 16
            }]
        );
    }
}
