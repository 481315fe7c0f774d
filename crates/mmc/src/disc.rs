//! The disc and track structure a recorder reads before writing: READ DISC
//! INFORMATION (opcode 0x51), READ TRACK INFORMATION (0x52), READ CAPACITY
//! (0x25), READ TOC/PMA/ATIP (0x43) formats 0000b (TOC) and 0001b (session
//! information), and READ FORMAT CAPACITIES (0x23). Builders, parsers,
//! encoders.
//!
//! Owns the byte layouts of the standard disc information block, the track
//! information block, the READ CAPACITY data, the formatted TOC and session
//! information, and the capacity list. It must not do I/O or decide what a
//! disc's state means for a recording (whether it is appendable enough, where
//! to write: that is the library's), and imports no other command module;
//! its operation codes come from [`crate::codes`].
//!
//! Addresses are kept as the drive sent them: READ TOC with the MSF bit set
//! and the CD lead-in/lead-out fields of the disc information carry
//! minute/second/frame bytes in the low three bytes of the `u32`, not an LBA.
//!
//! # Sources
//!
//! Clause numbers: MMC-6 (T10/1836-D, INCITS 468-2010) where a copy of its
//! tables confirms them, else the MMC-5 draft r03c numbers libburn's `mmc.c`
//! cites (MMC-6 numbers these commands one lower than MMC-5):
//!
//! | command | MMC-6 | MMC-5 r03c |
//! |---|---|---|
//! | READ CAPACITY | not checked | not checked |
//! | READ DISC INFORMATION, standard block | 6.21 (6.21.2, 6.21.3.1) | 6.22 |
//! | READ FORMAT CAPACITIES | 6.23 (inferred) | 6.24 (6.24.3.2, 6.24.3.3) |
//! | READ TOC/PMA/ATIP, formats 0000b/0001b | 6.25 (6.25.2.1, 6.25.3.2.1) | 6.26 |
//! | READ TRACK INFORMATION | 6.26 (6.26.2.1) | 6.27 |
//!
//! Every field position here was checked against implementations that talk
//! to real drives: libburn `libburn/mmc.c` (disc information bytes 2-33 and
//! the LSB/MSB split of bytes 4-6/9-11, track information bytes 5-7, 8-31
//! and 33, capacity list, READ FORMAT CAPACITIES as a 10-byte CDB, TOC
//! formats 0 and 1 with the MSF bit in byte 1), Linux
//! `include/uapi/linux/cdrom.h` (`disc_information`, `track_information`
//! bit fields), Wireshark's MMC dissector (disc information byte 7: DID_V
//! 80h, DBC_V 40h, URU 20h, DAC_V 10h, Dbit 04h, BG format status 03h; READ
//! TOC MSF 02h and format 0Fh), tgt `usr/mmc.c` (READ CAPACITY, forged TOC)
//! and the MMC-6 tables reproduced at fr-an.de.

use crate::bytes::{be16, be32, clamp, fit, slice, u8_at};
use crate::codes::opcode;
use crate::{Command, DataDirection, EncodeError, ParseError};

/// A 10-byte data-in CDB with the allocation length in bytes 7-8.
fn cdb10(op: u8, b1: u8, b2_5: [u8; 4], allocation_length: u16) -> Command<10> {
    let [hi, lo] = allocation_length.to_be_bytes();
    let [a, b, c, d] = b2_5;
    Command {
        cdb: [op, b1, a, b, c, d, 0, hi, lo, 0],
        direction: DataDirection::FromDevice {
            allocation_length: u32::from(allocation_length),
        },
    }
}

/// Three big-endian bytes at `offset`.
fn be24(buf: &[u8], field: &'static str, offset: usize) -> Result<u32, ParseError> {
    let b = slice(buf, field, offset, 3)?;
    Ok(b.iter().fold(0u32, |acc, &x| (acc << 8) | u32::from(x)))
}

/// The low three bytes of `v`, big-endian, or `Invalid` when it needs more.
fn put24(field: &'static str, v: u32) -> Result<[u8; 3], EncodeError> {
    crate::bytes::bits(field, u64::from(v), 0x00FF_FFFF)?;
    let [_, a, b, c] = v.to_be_bytes();
    Ok([a, b, c])
}

/// A 16-bit length field holding `len`, or `TooLong`.
fn len16(field: &'static str, len: usize) -> Result<[u8; 2], EncodeError> {
    fit(field, len, usize::from(u16::MAX))?;
    Ok(u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes())
}

// ---------------------------------------------------------------------------
// READ DISC INFORMATION (MMC-6 6.21)
// ---------------------------------------------------------------------------

/// Length of the standard disc information block without OPC tables.
pub const DISC_INFORMATION_LEN: usize = 34;

/// READ DISC INFORMATION for the standard disc information block (data type
/// 000b).
pub fn read_disc_information(allocation_length: u16) -> Command<10> {
    cdb10(opcode::READ_DISC_INFORMATION, 0, [0; 4], allocation_length)
}

/// Disc Status (byte 2, bits 1-0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DiscStatus {
    /// 00b: empty (blank) disc.
    Blank,
    /// 01b: incomplete (appendable) disc.
    Incomplete,
    /// 10b: finalized (complete) disc.
    Complete,
    /// 11b: others (random-access writable media such as DVD-RAM or BD-RE).
    Other,
}

impl DiscStatus {
    /// The status from its 2-bit value (higher bits ignored).
    pub fn from_bits(b: u8) -> DiscStatus {
        match b & 3 {
            0 => DiscStatus::Blank,
            1 => DiscStatus::Incomplete,
            2 => DiscStatus::Complete,
            _ => DiscStatus::Other,
        }
    }

    /// The 2-bit value.
    pub fn bits(self) -> u8 {
        match self {
            DiscStatus::Blank => 0,
            DiscStatus::Incomplete => 1,
            DiscStatus::Complete => 2,
            DiscStatus::Other => 3,
        }
    }
}

/// State of Last Session (byte 2, bits 3-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionState {
    /// 00b: empty session.
    Empty,
    /// 01b: incomplete session.
    Incomplete,
    /// 10b: reserved/damaged session.
    Damaged,
    /// 11b: complete session (only possible when the disc status is complete
    /// or other).
    Complete,
}

impl SessionState {
    /// The state from its 2-bit value (higher bits ignored).
    pub fn from_bits(b: u8) -> SessionState {
        match b & 3 {
            0 => SessionState::Empty,
            1 => SessionState::Incomplete,
            2 => SessionState::Damaged,
            _ => SessionState::Complete,
        }
    }

    /// The 2-bit value.
    pub fn bits(self) -> u8 {
        match self {
            SessionState::Empty => 0,
            SessionState::Incomplete => 1,
            SessionState::Damaged => 2,
            SessionState::Complete => 3,
        }
    }
}

/// A decoded standard disc information block (data type 000b).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DiscInformation {
    /// Erasable bit: the medium is rewritable (CD-RW, DVD+RW, ...).
    pub erasable: bool,
    /// State of Last Session.
    pub last_session_state: SessionState,
    /// Disc Status.
    pub disc_status: DiscStatus,
    /// Number of First Track on Disc.
    pub first_track: u8,
    /// Number of Sessions (bytes 9 and 4: MSB, LSB).
    pub sessions: u16,
    /// First Track Number in Last Session (bytes 10 and 5).
    pub first_track_in_last_session: u16,
    /// Last Track Number in Last Session (bytes 11 and 6).
    pub last_track_in_last_session: u16,
    /// Byte 7 as sent: DID_V (bit 7), DBC_V (6), URU (5), DAC_V (4), Dbit
    /// (2, the MRW dirty bit), BG Format Status (1-0: 0 not formatted, 1
    /// started but not running, 2 in progress, 3 complete); bit 3 is
    /// reserved (MMC-6 6.21.3.1; Linux cdrom.h, Wireshark, libburn).
    pub flags: u8,
    /// Disc Type (byte 8; 00h CD-DA/CD-ROM, 10h CD-I, 20h CD-ROM XA).
    pub disc_type: u8,
    /// Disc Identification (bytes 12-15; valid when DID_V is set).
    pub disc_identification: u32,
    /// Last Session Lead-in Start Address (bytes 16-19): MSF bytes on CD,
    /// an LBA on other media.
    pub last_session_lead_in_start: u32,
    /// Last Possible Lead-out Start Address (bytes 20-23): MSF bytes on CD,
    /// an LBA on other media.
    pub last_possible_lead_out_start: u32,
    /// Disc Bar Code (bytes 24-31; valid when DBC_V is set).
    pub disc_bar_code: [u8; 8],
    /// Disc Application Code (byte 32; valid when DAC_V is set).
    pub disc_application_code: u8,
    /// The OPC table entries (8 bytes each) that arrived whole.
    pub opc_tables: Vec<[u8; 8]>,
}

impl DiscInformation {
    /// Decodes a standard disc information block. OPC table entries are kept
    /// as far as they arrived whole (a short allocation length cuts them).
    ///
    /// # Errors
    ///
    /// [`ParseError::Truncated`] when `buf` ends before byte 34 (the block
    /// without OPC tables); [`ParseError::Inconsistent`] when the disc
    /// information data type is not 000b, the disc information length is
    /// below 32, or the number of OPC tables runs past the declared length.
    pub fn parse(buf: &[u8]) -> Result<DiscInformation, ParseError> {
        let length = be16(buf, "disc information length", 0)?;
        let b2 = u8_at(buf, "disc status", 2)?;
        if b2 >> 5 != 0 {
            return Err(ParseError::Inconsistent {
                field: "disc information data type",
                offset: 2,
                value: u64::from(b2 >> 5),
                problem: "not standard disc information (000b)",
            });
        }
        if usize::from(length) + 2 < DISC_INFORMATION_LEN {
            return Err(ParseError::Inconsistent {
                field: "disc information length",
                offset: 0,
                value: u64::from(length),
                problem: "the standard disc information block is at least 34 bytes",
            });
        }
        let declared_end = usize::from(length) + 2;
        let data = clamp(buf, declared_end);
        let lsb_msb = |lo: usize, hi: usize, field| -> Result<u16, ParseError> {
            Ok(u16::from_be_bytes([
                u8_at(data, field, hi)?,
                u8_at(data, field, lo)?,
            ]))
        };
        let first_track = u8_at(data, "number of first track", 3)?;
        let sessions = lsb_msb(4, 9, "number of sessions")?;
        let first_track_in_last_session = lsb_msb(5, 10, "first track in last session")?;
        let last_track_in_last_session = lsb_msb(6, 11, "last track in last session")?;
        let flags = u8_at(data, "disc flags", 7)?;
        let disc_type = u8_at(data, "disc type", 8)?;
        let disc_identification = be32(data, "disc identification", 12)?;
        let last_session_lead_in_start = be32(data, "last session lead-in start address", 16)?;
        let last_possible_lead_out_start = be32(data, "last possible lead-out start address", 20)?;
        let mut disc_bar_code = [0u8; 8];
        disc_bar_code.copy_from_slice(slice(data, "disc bar code", 24, 8)?);
        let disc_application_code = u8_at(data, "disc application code", 32)?;
        let opc_count = u8_at(data, "number of opc tables", 33)?;
        let opc_end = DISC_INFORMATION_LEN + usize::from(opc_count) * 8;
        if opc_end > declared_end {
            return Err(ParseError::Inconsistent {
                field: "number of opc tables",
                offset: 33,
                value: u64::from(opc_count),
                problem: "the OPC tables run past the disc information length",
            });
        }
        let opc_tables = data
            .get(DISC_INFORMATION_LEN..)
            .unwrap_or_default()
            .chunks_exact(8)
            .take(usize::from(opc_count))
            .map(|c| {
                let mut e = [0u8; 8];
                e.copy_from_slice(c);
                e
            })
            .collect();
        Ok(DiscInformation {
            erasable: b2 & 0x10 != 0,
            last_session_state: SessionState::from_bits(b2 >> 2),
            disc_status: DiscStatus::from_bits(b2),
            first_track,
            sessions,
            first_track_in_last_session,
            last_track_in_last_session,
            flags,
            disc_type,
            disc_identification,
            last_session_lead_in_start,
            last_possible_lead_out_start,
            disc_bar_code,
            disc_application_code,
            opc_tables,
        })
    }

    /// Encodes the block, OPC tables included.
    ///
    /// # Errors
    ///
    /// [`EncodeError::TooLong`] for more than 255 OPC tables.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        fit("opc tables", self.opc_tables.len(), usize::from(u8::MAX))?;
        let count = u8::try_from(self.opc_tables.len()).unwrap_or(u8::MAX);
        let total = DISC_INFORMATION_LEN + self.opc_tables.len() * 8;
        let [lh, ll] = len16("disc information", total - 2)?;
        let [sh, sl] = self.sessions.to_be_bytes();
        let [fh, fl] = self.first_track_in_last_session.to_be_bytes();
        let [th, tl] = self.last_track_in_last_session.to_be_bytes();
        let b2 = (u8::from(self.erasable) << 4)
            | (self.last_session_state.bits() << 2)
            | self.disc_status.bits();
        let mut out = vec![lh, ll, b2, self.first_track, sl, fl, tl, self.flags];
        out.extend_from_slice(&[self.disc_type, sh, fh, th]);
        out.extend_from_slice(&self.disc_identification.to_be_bytes());
        out.extend_from_slice(&self.last_session_lead_in_start.to_be_bytes());
        out.extend_from_slice(&self.last_possible_lead_out_start.to_be_bytes());
        out.extend_from_slice(&self.disc_bar_code);
        out.extend_from_slice(&[self.disc_application_code, count]);
        for e in &self.opc_tables {
            out.extend_from_slice(e);
        }
        Ok(out)
    }
}

// ---------------------------------------------------------------------------
// READ TRACK INFORMATION (MMC-6 6.26)
// ---------------------------------------------------------------------------

/// Length of the shortest track information block this crate accepts (up to
/// and including Logical Track Size).
pub const TRACK_INFORMATION_MIN_LEN: usize = 28;
/// Length of the MMC-6 track information block.
pub const TRACK_INFORMATION_LEN: usize = 48;

/// What the address field of READ TRACK INFORMATION names (Address/Number
/// Type, byte 1 bits 1-0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackAddress {
    /// 00b: the track containing this LBA.
    Lba(u32),
    /// 01b: this logical track number (0 = lead-in, FFh = invisible/incomplete).
    Track(u32),
    /// 10b: the first track of this session number.
    Session(u32),
}

/// READ TRACK INFORMATION for the track `address` names.
pub fn read_track_information(address: TrackAddress, allocation_length: u16) -> Command<10> {
    let (kind, value) = match address {
        TrackAddress::Lba(v) => (0, v),
        TrackAddress::Track(v) => (1, v),
        TrackAddress::Session(v) => (2, v),
    };
    cdb10(
        opcode::READ_TRACK_INFORMATION,
        kind,
        value.to_be_bytes(),
        allocation_length,
    )
}

/// Bytes 36-47 of the MMC-6 track information block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TrackInfoExtension {
    /// Read Compatibility LBA (bytes 36-39).
    pub read_compatibility_lba: u32,
    /// Next Layer Jump Address (bytes 40-43).
    pub next_layer_jump_address: u32,
    /// Last Layer Jump Address (bytes 44-47).
    pub last_layer_jump_address: u32,
}

/// A decoded track information block.
///
/// Blocks of 28 to 35 bytes (MMC-1 style) carry only the track number's and
/// session number's low byte and no last recorded address; blocks of 36 to
/// 47 bytes add both; 48-byte blocks add [`TrackInfoExtension`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TrackInformation {
    /// Logical Track Number (bytes 32 and 2: MSB, LSB).
    pub track_number: u16,
    /// Session Number (bytes 33 and 3).
    pub session_number: u16,
    /// Damage bit.
    pub damage: bool,
    /// Copy bit.
    pub copy: bool,
    /// Track Mode (byte 5, bits 3-0; the CONTROL nibble of the track).
    pub track_mode: u8,
    /// RT (reserved track) bit.
    pub reserved_track: bool,
    /// Blank bit: the track holds no written data.
    pub blank: bool,
    /// Packet/Inc bit: the track is written in packets (incremental).
    pub packet: bool,
    /// FP bit: the packets are of fixed size.
    pub fixed_packet: bool,
    /// Data Mode (byte 6, bits 3-0; 1 = mode 1, 2 = mode 2, Fh = unknown).
    pub data_mode: u8,
    /// NWA_V bit: [`Self::next_writable_address`] is valid.
    pub nwa_valid: bool,
    /// LRA_V bit: [`Self::last_recorded_address`] is valid.
    pub lra_valid: bool,
    /// Logical Track Start Address (bytes 8-11).
    pub track_start: u32,
    /// Next Writable Address (bytes 12-15).
    pub next_writable_address: u32,
    /// Free Blocks (bytes 16-19).
    pub free_blocks: u32,
    /// Fixed Packet Size / Blocking Factor (bytes 20-23).
    pub fixed_packet_size: u32,
    /// Logical Track Size (bytes 24-27).
    pub track_size: u32,
    /// Last Recorded Address (bytes 28-31), when the block reaches byte 36.
    pub last_recorded_address: Option<u32>,
    /// Bytes 36-47, when the block reaches byte 48.
    pub extension: Option<TrackInfoExtension>,
}

impl TrackInformation {
    /// The next writable address, when NWA_V says it is valid.
    pub fn nwa(&self) -> Option<u32> {
        self.nwa_valid.then_some(self.next_writable_address)
    }

    /// Decodes a track information block. Fields past byte 28 are read when
    /// both the data length and `buf` reach them.
    ///
    /// # Errors
    ///
    /// [`ParseError::Truncated`] when `buf` ends before byte 28;
    /// [`ParseError::Inconsistent`] when the data length is below 26.
    pub fn parse(buf: &[u8]) -> Result<TrackInformation, ParseError> {
        let length = be16(buf, "track information data length", 0)?;
        let declared_end = usize::from(length) + 2;
        if declared_end < TRACK_INFORMATION_MIN_LEN {
            return Err(ParseError::Inconsistent {
                field: "track information data length",
                offset: 0,
                value: u64::from(length),
                problem: "a track information block is at least 28 bytes",
            });
        }
        let data = clamp(buf, declared_end);
        let track_lsb = u8_at(data, "logical track number", 2)?;
        let session_lsb = u8_at(data, "session number", 3)?;
        let b5 = u8_at(data, "track mode", 5)?;
        let b6 = u8_at(data, "data mode", 6)?;
        let b7 = u8_at(data, "nwa valid", 7)?;
        let track_start = be32(data, "logical track start address", 8)?;
        let next_writable_address = be32(data, "next writable address", 12)?;
        let free_blocks = be32(data, "free blocks", 16)?;
        let fixed_packet_size = be32(data, "fixed packet size", 20)?;
        let track_size = be32(data, "logical track size", 24)?;
        let mmc2 = data.len() >= 36;
        let (last_recorded_address, track_msb, session_msb) = if mmc2 {
            (
                Some(be32(data, "last recorded address", 28)?),
                u8_at(data, "logical track number (msb)", 32)?,
                u8_at(data, "session number (msb)", 33)?,
            )
        } else {
            (None, 0, 0)
        };
        let extension = if data.len() >= TRACK_INFORMATION_LEN {
            Some(TrackInfoExtension {
                read_compatibility_lba: be32(data, "read compatibility lba", 36)?,
                next_layer_jump_address: be32(data, "next layer jump address", 40)?,
                last_layer_jump_address: be32(data, "last layer jump address", 44)?,
            })
        } else {
            None
        };
        Ok(TrackInformation {
            track_number: u16::from_be_bytes([track_msb, track_lsb]),
            session_number: u16::from_be_bytes([session_msb, session_lsb]),
            damage: b5 & 0x20 != 0,
            copy: b5 & 0x10 != 0,
            track_mode: b5 & 0x0F,
            reserved_track: b6 & 0x80 != 0,
            blank: b6 & 0x40 != 0,
            packet: b6 & 0x20 != 0,
            fixed_packet: b6 & 0x10 != 0,
            data_mode: b6 & 0x0F,
            nwa_valid: b7 & 0x01 != 0,
            lra_valid: b7 & 0x02 != 0,
            track_start,
            next_writable_address,
            free_blocks,
            fixed_packet_size,
            track_size,
            last_recorded_address,
            extension,
        })
    }

    /// Encodes the block: 28 bytes without a last recorded address, 36 with
    /// one, 48 with the extension.
    ///
    /// # Errors
    ///
    /// [`EncodeError::Invalid`] for a track mode or data mode above 15, an
    /// extension without a last recorded address, or a track or session
    /// number above 255 in the 28-byte form.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        crate::bytes::bits("track mode", u64::from(self.track_mode), 0x0F)?;
        crate::bytes::bits("data mode", u64::from(self.data_mode), 0x0F)?;
        let [tm, tl] = self.track_number.to_be_bytes();
        let [sm, sl] = self.session_number.to_be_bytes();
        let b5 = (u8::from(self.damage) << 5) | (u8::from(self.copy) << 4) | self.track_mode;
        let b6 = (u8::from(self.reserved_track) << 7)
            | (u8::from(self.blank) << 6)
            | (u8::from(self.packet) << 5)
            | (u8::from(self.fixed_packet) << 4)
            | self.data_mode;
        let b7 = (u8::from(self.lra_valid) << 1) | u8::from(self.nwa_valid);
        let mut out = vec![0, 0, tl, sl, 0, b5, b6, b7];
        for v in [
            self.track_start,
            self.next_writable_address,
            self.free_blocks,
            self.fixed_packet_size,
            self.track_size,
        ] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        match self.last_recorded_address {
            Some(lra) => {
                out.extend_from_slice(&lra.to_be_bytes());
                out.extend_from_slice(&[tm, sm, 0, 0]);
            }
            None => {
                if self.extension.is_some() {
                    return Err(EncodeError::Invalid {
                        field: "extension",
                        value: 0,
                        problem: "bytes 36-47 need the last recorded address too",
                    });
                }
                if tm != 0 || sm != 0 {
                    return Err(EncodeError::Invalid {
                        field: "track or session number",
                        value: u64::from(self.track_number.max(self.session_number)),
                        problem: "the 28-byte block holds one byte of each",
                    });
                }
            }
        }
        if let Some(x) = self.extension {
            for v in [
                x.read_compatibility_lba,
                x.next_layer_jump_address,
                x.last_layer_jump_address,
            ] {
                out.extend_from_slice(&v.to_be_bytes());
            }
        }
        let [lh, ll] = len16("track information", out.len() - 2)?;
        if let Some(h) = out.get_mut(..2) {
            h.copy_from_slice(&[lh, ll]);
        }
        Ok(out)
    }
}

// ---------------------------------------------------------------------------
// READ CAPACITY
// ---------------------------------------------------------------------------

/// Length of the READ CAPACITY data.
pub const CAPACITY_LEN: usize = 8;

/// READ CAPACITY (10); the drive answers with 8 bytes.
pub fn read_capacity() -> Command<10> {
    Command {
        cdb: [opcode::READ_CAPACITY, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        direction: DataDirection::FromDevice {
            allocation_length: CAPACITY_LEN as u32,
        },
    }
}

/// Decoded READ CAPACITY data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Capacity {
    /// Logical Block Address of the last recorded block (bytes 0-3).
    pub last_lba: u32,
    /// Block Length in Bytes (bytes 4-7; 2048 on MM devices).
    pub block_length: u32,
}

impl Capacity {
    /// Decodes READ CAPACITY data; bytes past 8 are ignored. The data has no
    /// length field, so nothing in it can be inconsistent.
    ///
    /// # Errors
    ///
    /// [`ParseError::Truncated`] when `buf` is shorter than 8 bytes.
    pub fn parse(buf: &[u8]) -> Result<Capacity, ParseError> {
        Ok(Capacity {
            last_lba: be32(buf, "logical block address", 0)?,
            block_length: be32(buf, "block length", 4)?,
        })
    }

    /// Encodes the 8 bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.last_lba.to_be_bytes().to_vec();
        out.extend_from_slice(&self.block_length.to_be_bytes());
        out
    }
}

// ---------------------------------------------------------------------------
// READ TOC/PMA/ATIP (MMC-6 6.25)
// ---------------------------------------------------------------------------

/// Track number of the lead-out in a formatted TOC.
pub const LEAD_OUT_TRACK: u8 = 0xAA;

/// Format field of READ TOC/PMA/ATIP (byte 2, bits 3-0) this crate decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TocFormat {
    /// 0000b: formatted TOC, from `track_or_session` on.
    Toc,
    /// 0001b: multi-session information.
    SessionInfo,
    /// 0010b: the full TOC of a CD: every session's Q sub-channel entries ([`FullToc`]).
    FullToc,
}

/// READ TOC/PMA/ATIP. `msf` asks for MSF addresses instead of LBAs;
/// `track_or_session` is the starting track (format 0) and ignored by
/// format 1.
pub fn read_toc(
    format: TocFormat,
    msf: bool,
    track_or_session: u8,
    allocation_length: u16,
) -> Command<10> {
    let f = match format {
        TocFormat::Toc => 0,
        TocFormat::SessionInfo => 1,
        TocFormat::FullToc => 2,
    };
    let [hi, lo] = allocation_length.to_be_bytes();
    Command {
        cdb: [
            opcode::READ_TOC_PMA_ATIP,
            u8::from(msf) << 1,
            f,
            0,
            0,
            0,
            track_or_session,
            hi,
            lo,
            0,
        ],
        direction: DataDirection::FromDevice {
            allocation_length: u32::from(allocation_length),
        },
    }
}

/// One 8-byte track descriptor of a formatted TOC (or the session
/// information's descriptor).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TocDescriptor {
    /// ADR (byte 1, bits 7-4).
    pub adr: u8,
    /// CONTROL (byte 1, bits 3-0).
    pub control: u8,
    /// Track Number (byte 2; [`LEAD_OUT_TRACK`] for the lead-out).
    pub track: u8,
    /// Track Start Address (bytes 4-7): LBA, or 0/M/S/F bytes with MSF set.
    pub start_address: u32,
}

impl TocDescriptor {
    fn parse(d: &[u8], at: usize) -> Result<TocDescriptor, ParseError> {
        let b1 = u8_at(d, "adr/control", at + 1)?;
        Ok(TocDescriptor {
            adr: b1 >> 4,
            control: b1 & 0x0F,
            track: u8_at(d, "track number", at + 2)?,
            start_address: be32(d, "track start address", at + 4)?,
        })
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        crate::bytes::bits("adr", u64::from(self.adr), 0x0F)?;
        crate::bytes::bits("control", u64::from(self.control), 0x0F)?;
        out.extend_from_slice(&[0, (self.adr << 4) | self.control, self.track, 0]);
        out.extend_from_slice(&self.start_address.to_be_bytes());
        Ok(())
    }
}

/// Checks a TOC data length: at least 2, and the descriptors a whole number.
fn toc_length(buf: &[u8]) -> Result<usize, ParseError> {
    toc_length_of(buf, 8, "not 2 plus a whole number of 8-byte descriptors")
}

/// Checks a TOC data length: at least 2, and then a whole number of `entry`-byte entries
/// (`problem` says so when not); the end of the declared data.
fn toc_length_of(buf: &[u8], entry: usize, problem: &'static str) -> Result<usize, ParseError> {
    let length = be16(buf, "toc data length", 0)?;
    if length < 2 || !usize::from(length - 2).is_multiple_of(entry) {
        return Err(ParseError::Inconsistent {
            field: "toc data length",
            offset: 0,
            value: u64::from(length),
            problem,
        });
    }
    Ok(usize::from(length) + 2)
}

/// A decoded formatted TOC (format 0000b).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Toc {
    /// First Track Number.
    pub first_track: u8,
    /// Last Track Number.
    pub last_track: u8,
    /// The track descriptors that arrived whole, lead-out last.
    pub descriptors: Vec<TocDescriptor>,
}

impl Toc {
    /// Decodes a formatted TOC, keeping the descriptors that arrived whole.
    ///
    /// # Errors
    ///
    /// [`ParseError::Truncated`] when `buf` ends before the 4-byte header
    /// ends; [`ParseError::Inconsistent`] when the TOC data length is not 2
    /// plus a multiple of 8.
    pub fn parse(buf: &[u8]) -> Result<Toc, ParseError> {
        let end = toc_length(buf)?;
        let data = clamp(buf, end);
        let first_track = u8_at(data, "first track number", 2)?;
        let last_track = u8_at(data, "last track number", 3)?;
        let descriptors = data
            .get(4..)
            .unwrap_or_default()
            .chunks_exact(8)
            .map(|c| TocDescriptor::parse(c, 0))
            .collect::<Result<_, _>>()?;
        Ok(Toc {
            first_track,
            last_track,
            descriptors,
        })
    }

    /// Encodes the TOC.
    ///
    /// # Errors
    ///
    /// [`EncodeError::Invalid`] for an ADR or CONTROL above 15;
    /// [`EncodeError::TooLong`] when the descriptors exceed the 16-bit length.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = vec![0, 0, self.first_track, self.last_track];
        for d in &self.descriptors {
            d.encode(&mut out)?;
        }
        let [hi, lo] = len16("toc descriptors", out.len() - 2)?;
        if let Some(h) = out.get_mut(..2) {
            h.copy_from_slice(&[hi, lo]);
        }
        Ok(out)
    }
}

/// Decoded multi-session information (format 0001b).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionInfo {
    /// First Complete Session Number.
    pub first_session: u8,
    /// Last Complete Session Number.
    pub last_session: u8,
    /// The first track in the last complete session and its start address.
    pub first_track_in_last_session: TocDescriptor,
}

impl SessionInfo {
    /// Decodes session information: header plus exactly one descriptor
    /// (bytes past the 12 are ignored).
    ///
    /// # Errors
    ///
    /// [`ParseError::Truncated`] when `buf` ends before byte 12;
    /// [`ParseError::Inconsistent`] when the TOC data length is not 2 plus a
    /// multiple of 8, or below 10 (no descriptor).
    pub fn parse(buf: &[u8]) -> Result<SessionInfo, ParseError> {
        let end = toc_length(buf)?;
        if end < 12 {
            return Err(ParseError::Inconsistent {
                field: "toc data length",
                offset: 0,
                value: (end - 2) as u64,
                problem: "session information has one 8-byte descriptor",
            });
        }
        let data = clamp(buf, end);
        Ok(SessionInfo {
            first_session: u8_at(data, "first complete session number", 2)?,
            last_session: u8_at(data, "last complete session number", 3)?,
            first_track_in_last_session: TocDescriptor::parse(data, 4)?,
        })
    }

    /// Encodes the 12 bytes.
    ///
    /// # Errors
    ///
    /// [`EncodeError::Invalid`] for an ADR or CONTROL above 15.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = vec![0, 10, self.first_session, self.last_session];
        self.first_track_in_last_session.encode(&mut out)?;
        Ok(out)
    }
}

/// POINT of a full TOC entry naming the first track of its session (PMIN).
pub const POINT_FIRST_TRACK: u8 = 0xA0;
/// POINT of the entry naming the last track of its session (PMIN).
pub const POINT_LAST_TRACK: u8 = 0xA1;
/// POINT of the entry giving the session's lead-out start (PMIN/PSEC/PFRAME).
pub const POINT_LEAD_OUT: u8 = 0xA2;
/// POINT of the mode 5 entry a session carries when a next session may follow: MIN/SEC/FRAME
/// are the start of the next possible program area, PMIN/PSEC/PFRAME the last possible
/// lead-out start of the disc.
pub const POINT_NEXT_PROGRAM_AREA: u8 = 0xB0;

/// One 11-byte entry of a full TOC (format 0010b): a Q sub-channel entry of a session's
/// lead-in, addresses as MSF bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FullTocDescriptor {
    /// Session Number (byte 0).
    pub session: u8,
    /// ADR (byte 1, bits 7-4): 1 for track and A0-A2 entries, 5 for B0/C0.
    pub adr: u8,
    /// CONTROL (byte 1, bits 3-0): 4 for a data track.
    pub control: u8,
    /// TNO (byte 2): 0 in the lead-in.
    pub tno: u8,
    /// POINT (byte 3): a track number or one of the `POINT_` values.
    pub point: u8,
    /// MIN, SEC, FRAME (bytes 4-6).
    pub msf: [u8; 3],
    /// ZERO (byte 7): for B0, the number of mode 5 pointers.
    pub zero: u8,
    /// PMIN, PSEC, PFRAME (bytes 8-10).
    pub pmsf: [u8; 3],
}

/// Bytes of one full TOC entry.
pub const FULL_TOC_DESCRIPTOR_LEN: usize = 11;

/// A decoded full TOC (format 0010b, CD only).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FullToc {
    /// First Complete Session Number.
    pub first_session: u8,
    /// Last Complete Session Number.
    pub last_session: u8,
    /// The entries that arrived whole, in the drive's order.
    pub descriptors: Vec<FullTocDescriptor>,
}

impl FullToc {
    /// Decodes a full TOC, keeping the entries that arrived whole.
    ///
    /// # Errors
    ///
    /// [`ParseError::Truncated`] when `buf` ends before the 4-byte header ends;
    /// [`ParseError::Inconsistent`] when the TOC data length is not 2 plus a multiple of 11.
    pub fn parse(buf: &[u8]) -> Result<FullToc, ParseError> {
        let end = toc_length_of(
            buf,
            FULL_TOC_DESCRIPTOR_LEN,
            "not 2 plus a whole number of 11-byte entries",
        )?;
        let data = clamp(buf, end);
        let first_session = u8_at(data, "first complete session number", 2)?;
        let last_session = u8_at(data, "last complete session number", 3)?;
        let descriptors = data
            .get(4..)
            .unwrap_or_default()
            .chunks_exact(FULL_TOC_DESCRIPTOR_LEN)
            .map(|d| FullTocDescriptor {
                session: d[0],
                adr: d[1] >> 4,
                control: d[1] & 0x0F,
                tno: d[2],
                point: d[3],
                msf: [d[4], d[5], d[6]],
                zero: d[7],
                pmsf: [d[8], d[9], d[10]],
            })
            .collect();
        Ok(FullToc {
            first_session,
            last_session,
            descriptors,
        })
    }

    /// Encodes the full TOC.
    ///
    /// # Errors
    ///
    /// [`EncodeError::Invalid`] for an ADR or CONTROL above 15;
    /// [`EncodeError::TooLong`] when the entries exceed the 16-bit length.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = vec![0, 0, self.first_session, self.last_session];
        for d in &self.descriptors {
            crate::bytes::bits("adr", u64::from(d.adr), 0x0F)?;
            crate::bytes::bits("control", u64::from(d.control), 0x0F)?;
            out.extend_from_slice(&[d.session, (d.adr << 4) | d.control, d.tno, d.point]);
            out.extend_from_slice(&d.msf);
            out.push(d.zero);
            out.extend_from_slice(&d.pmsf);
        }
        let [hi, lo] = len16("full toc entries", out.len() - 2)?;
        if let Some(h) = out.get_mut(..2) {
            h.copy_from_slice(&[hi, lo]);
        }
        Ok(out)
    }
}

// ---------------------------------------------------------------------------
// READ FORMAT CAPACITIES (MMC-5 r03c 6.24)
// ---------------------------------------------------------------------------

/// READ FORMAT CAPACITIES.
pub fn read_format_capacities(allocation_length: u16) -> Command<10> {
    cdb10(opcode::READ_FORMAT_CAPACITIES, 0, [0; 4], allocation_length)
}

/// Descriptor Type of the current/maximum capacity descriptor (byte 4,
/// bits 1-0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CapacityDescriptorType {
    /// 00b: reserved.
    Reserved,
    /// 01b: unformatted or blank media; the capacity is the maximum.
    Unformatted,
    /// 10b: formatted media; the capacity is the current one.
    Formatted,
    /// 11b: no media present, or unknown capacity.
    NoMedia,
}

impl CapacityDescriptorType {
    /// The type from its 2-bit value (higher bits ignored).
    pub fn from_bits(b: u8) -> CapacityDescriptorType {
        match b & 3 {
            0 => CapacityDescriptorType::Reserved,
            1 => CapacityDescriptorType::Unformatted,
            2 => CapacityDescriptorType::Formatted,
            _ => CapacityDescriptorType::NoMedia,
        }
    }

    /// The 2-bit value.
    pub fn bits(self) -> u8 {
        match self {
            CapacityDescriptorType::Reserved => 0,
            CapacityDescriptorType::Unformatted => 1,
            CapacityDescriptorType::Formatted => 2,
            CapacityDescriptorType::NoMedia => 3,
        }
    }
}

/// The current/maximum capacity descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CurrentCapacity {
    /// Number of Blocks (bytes 0-3).
    pub blocks: u32,
    /// Descriptor Type.
    pub descriptor_type: CapacityDescriptorType,
    /// Block Length (bytes 5-7, 24 bits).
    pub block_length: u32,
}

/// A formattable capacity descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FormattableCapacity {
    /// Number of Blocks (bytes 0-3).
    pub blocks: u32,
    /// Format Type (byte 4, bits 7-2; the FORMAT UNIT format type).
    pub format_type: u8,
    /// Type Dependent Parameter (bytes 5-7, 24 bits; block length, packet
    /// size or the like, by format type).
    pub type_dependent: u32,
}

/// Length of the capacity list header.
pub const CAPACITY_LIST_HEADER_LEN: usize = 4;

/// A decoded READ FORMAT CAPACITIES response.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FormatCapacities {
    /// The current/maximum capacity descriptor.
    pub current: CurrentCapacity,
    /// The formattable capacity descriptors that arrived whole.
    pub formattable: Vec<FormattableCapacity>,
}

impl FormatCapacities {
    /// Decodes a capacity list, keeping the formattable descriptors that
    /// arrived whole.
    ///
    /// # Errors
    ///
    /// [`ParseError::Truncated`] when `buf` ends before the current/maximum
    /// capacity descriptor ends (byte 12); [`ParseError::Inconsistent`] when
    /// the capacity list length is not a positive multiple of 8.
    pub fn parse(buf: &[u8]) -> Result<FormatCapacities, ParseError> {
        let length = u8_at(buf, "capacity list length", 3)?;
        if length < 8 || length % 8 != 0 {
            return Err(ParseError::Inconsistent {
                field: "capacity list length",
                offset: 3,
                value: u64::from(length),
                problem: "not a positive multiple of 8",
            });
        }
        let data = clamp(buf, CAPACITY_LIST_HEADER_LEN + usize::from(length));
        let blocks = be32(data, "number of blocks", 4)?;
        let b8 = u8_at(data, "descriptor type", 8)?;
        let block_length = be24(data, "block length", 9)?;
        let formattable = data
            .get(12..)
            .unwrap_or_default()
            .chunks_exact(8)
            .map(|c| {
                Ok(FormattableCapacity {
                    blocks: be32(c, "number of blocks", 0)?,
                    format_type: u8_at(c, "format type", 4)? >> 2,
                    type_dependent: be24(c, "type dependent parameter", 5)?,
                })
            })
            .collect::<Result<_, ParseError>>()?;
        Ok(FormatCapacities {
            current: CurrentCapacity {
                blocks,
                descriptor_type: CapacityDescriptorType::from_bits(b8),
                block_length,
            },
            formattable,
        })
    }

    /// Encodes the capacity list.
    ///
    /// # Errors
    ///
    /// [`EncodeError::Invalid`] for a block length or type dependent
    /// parameter above 24 bits or a format type above 63;
    /// [`EncodeError::TooLong`] for more than 30 formattable descriptors (the
    /// list length is one byte).
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        fit(
            "formattable capacity descriptors",
            self.formattable.len(),
            30,
        )?;
        let len = u8::try_from((self.formattable.len() + 1) * 8).unwrap_or(u8::MAX);
        let mut out = vec![0, 0, 0, len];
        out.extend_from_slice(&self.current.blocks.to_be_bytes());
        out.push(self.current.descriptor_type.bits());
        out.extend_from_slice(&put24("block length", self.current.block_length)?);
        for f in &self.formattable {
            crate::bytes::bits("format type", u64::from(f.format_type), 0x3F)?;
            out.extend_from_slice(&f.blocks.to_be_bytes());
            out.push(f.format_type << 2);
            out.extend_from_slice(&put24("type dependent parameter", f.type_dependent)?);
        }
        Ok(out)
    }
}

// ---------------------------------------------------------------------------
// The same CDBs, recognised (for an emulated drive)
// ---------------------------------------------------------------------------
//
// Each reader takes the fields back out of the layout its builder above writes; the
// dispatcher ([`crate::cdb`]) calls them, so each layout is written down once, here.

/// The allocation length (bytes 7-8) of a CDB laid out as the builders of this module lay
/// them out (READ DISC INFORMATION, READ TRACK INFORMATION, READ TOC, READ FORMAT
/// CAPACITIES).
///
/// # Errors
///
/// [`ParseError::Truncated`] when `cdb` is shorter than 10 bytes.
pub fn parse_allocation_length(cdb: &[u8]) -> Result<u16, ParseError> {
    slice(cdb, "CDB", 0, 10)?;
    be16(cdb, "allocation length", 7)
}

/// The Data Type field (byte 1 bits 2-0) of READ DISC INFORMATION ([`read_disc_information`];
/// 000b standard disc information).
///
/// # Errors
///
/// [`ParseError::Truncated`] when `cdb` is shorter than 10 bytes.
pub fn parse_read_disc_information(cdb: &[u8]) -> Result<u8, ParseError> {
    slice(cdb, "CDB", 0, 10)?;
    Ok(u8_at(cdb, "data type", 1)? & 0x07)
}

/// The address of a READ TRACK INFORMATION CDB ([`read_track_information`]); `None` for the
/// reserved Address/Number Type 11b.
///
/// # Errors
///
/// [`ParseError::Truncated`] when `cdb` is shorter than 10 bytes.
pub fn parse_read_track_information(cdb: &[u8]) -> Result<Option<TrackAddress>, ParseError> {
    slice(cdb, "CDB", 0, 10)?;
    let v = be32(cdb, "logical block address/track/session number", 2)?;
    Ok(match u8_at(cdb, "address/number type", 1)? & 0x03 {
        0 => Some(TrackAddress::Lba(v)),
        1 => Some(TrackAddress::Track(v)),
        2 => Some(TrackAddress::Session(v)),
        _ => None,
    })
}

/// The fields of a READ TOC/PMA/ATIP CDB ([`read_toc`]): MSF, the Format field (byte 2 bits
/// 3-0, kept raw: 0 and 1 are [`TocFormat`]s) and the track/session number.
///
/// # Errors
///
/// [`ParseError::Truncated`] when `cdb` is shorter than 10 bytes.
pub fn parse_read_toc(cdb: &[u8]) -> Result<(bool, u8, u8), ParseError> {
    slice(cdb, "CDB", 0, 10)?;
    let format = match u8_at(cdb, "format", 2)? & 0x0F {
        // The obsolete format field (SFF-8020i, MMC-1: control byte bits 7-6), which drives
        // still honour: Linux's sr asks for the session info (01b) that way at every media
        // change (sr_cd_check: READ TOC with byte 9 = 0x40) to find the last session.
        0 => u8_at(cdb, "control", 9)? >> 6,
        f => f,
    };
    Ok((
        u8_at(cdb, "msf", 1)? & 0x02 != 0,
        format,
        u8_at(cdb, "track/session number", 6)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_toc_takes_the_obsolete_format_bits_as_linux_sr_sends_them() {
        // sr_cd_check's multisession query: 43 00 00 00 00 00 00 00 0C 40
        let cdb = [0x43, 0, 0, 0, 0, 0, 0, 0, 12, 0x40];
        assert_eq!(parse_read_toc(&cdb), Ok((false, 1, 0)));
        // the MMC field wins when it is set
        let cdb = [0x43, 0, 2, 0, 0, 0, 0, 0, 12, 0x40];
        assert_eq!(parse_read_toc(&cdb), Ok((false, 2, 0)));
    }

    fn truncated_field(r: Result<impl std::fmt::Debug, ParseError>) -> &'static str {
        match r {
            Err(ParseError::Truncated { field, .. }) => field,
            other => panic!("expected Truncated, got {other:?}"),
        }
    }

    fn inconsistent_field(r: Result<impl std::fmt::Debug, ParseError>) -> &'static str {
        match r {
            Err(ParseError::Inconsistent { field, .. }) => field,
            other => panic!("expected Inconsistent, got {other:?}"),
        }
    }

    fn disc_info() -> DiscInformation {
        DiscInformation {
            erasable: true,
            last_session_state: SessionState::Incomplete,
            disc_status: DiscStatus::Incomplete,
            first_track: 1,
            sessions: 0x0102,
            first_track_in_last_session: 0x0203,
            last_track_in_last_session: 0x0304,
            flags: 0x80,
            disc_type: 0x20,
            disc_identification: 0xDEAD_BEEF,
            last_session_lead_in_start: 0x0011_2233,
            last_possible_lead_out_start: 0x0047_3B4A,
            disc_bar_code: *b"BARCODE!",
            disc_application_code: 7,
            opc_tables: vec![[1, 2, 3, 4, 5, 6, 7, 8]],
        }
    }

    #[test]
    fn cdb_layouts() {
        assert_eq!(
            read_disc_information(34).cdb,
            [0x51, 0, 0, 0, 0, 0, 0, 0, 34, 0]
        );
        assert_eq!(
            read_track_information(TrackAddress::Track(0xFF), 48).cdb,
            [0x52, 1, 0, 0, 0, 0xFF, 0, 0, 48, 0]
        );
        assert_eq!(
            read_track_information(TrackAddress::Session(2), 48).cdb[1],
            2
        );
        assert_eq!(
            read_track_information(TrackAddress::Lba(0x0102_0304), 48).cdb,
            [0x52, 0, 1, 2, 3, 4, 0, 0, 48, 0]
        );
        assert_eq!(read_capacity().cdb[0], 0x25);
        assert_eq!(read_capacity().allocation_length(), 8);
        assert_eq!(
            read_toc(TocFormat::SessionInfo, true, 0, 12).cdb,
            [0x43, 2, 1, 0, 0, 0, 0, 0, 12, 0]
        );
        assert_eq!(
            read_toc(TocFormat::Toc, false, 1, 0x0324).cdb,
            [0x43, 0, 0, 0, 0, 0, 1, 3, 0x24, 0]
        );
        assert_eq!(
            read_format_capacities(252).cdb,
            [0x23, 0, 0, 0, 0, 0, 0, 0, 252, 0]
        );
    }

    /// The CDBs libburn (`libburn/mmc.c`) sends and tgt's (`usr/mmc.c`)
    /// forged TOC answers, against this module's builders and parsers.
    #[test]
    fn cdbs_and_responses_match_libburn_and_tgt() {
        assert_eq!(
            read_disc_information(34).cdb,
            [0x51, 0, 0, 0, 0, 0, 0, 0x00, 0x22, 0]
        );
        assert_eq!(
            read_track_information(TrackAddress::Track(0xFF), 20).cdb,
            [0x52, 0x01, 0, 0, 0, 0xFF, 0, 0x00, 0x14, 0]
        );
        assert_eq!(
            read_toc(TocFormat::SessionInfo, false, 0, 12).cdb,
            [0x43, 0, 0x01, 0, 0, 0, 0, 0x00, 0x0C, 0]
        );
        assert_eq!(
            read_toc(TocFormat::Toc, false, 0, 4).cdb,
            [0x43, 0, 0x00, 0, 0, 0, 0, 0x00, 0x04, 0]
        );
        assert_eq!(read_toc(TocFormat::Toc, true, 0, 4).cdb[1], 0x02);
        assert_eq!(read_format_capacities(12).cdb.len(), 10);
        assert_eq!(read_capacity().cdb, [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        // tgt with MSF: a data track (ADR 1, CONTROL 4) and the lead-out.
        let tgt = [
            0, 0x12, 1, 1, 0, 0x14, 1, 0, 0, 0, 0, 0, 0, 0x14, 0xAA, 0, 0, 0, 0, 0,
        ];
        let t = Toc::parse(&tgt).expect("valid");
        assert_eq!(t.descriptors.len(), 2);
        assert_eq!((t.descriptors[0].adr, t.descriptors[0].control), (1, 4));
        assert_eq!(t.descriptors[1].track, LEAD_OUT_TRACK);
    }

    #[test]
    fn disc_information_round_trip_and_layout() {
        let d = disc_info();
        let b = d.encode().expect("encodes");
        assert_eq!(b.len(), 42);
        assert_eq!(&b[..12], &[0, 40, 0x15, 1, 2, 3, 4, 0x80, 0x20, 1, 2, 3]);
        assert_eq!(DiscInformation::parse(&b), Ok(d.clone()));
        // A 34-byte allocation cuts the OPC table: kept out, no error.
        let short = DiscInformation::parse(&b[..34]).expect("valid");
        assert!(short.opc_tables.is_empty());
        assert_eq!(short.sessions, d.sessions);
    }

    #[test]
    fn blank_disc_information() {
        let mut b = vec![0u8; 34];
        b[1] = 32;
        b[2] = 0x00;
        b[3] = 1;
        b[4] = 1;
        b[5] = 1;
        b[6] = 1;
        let d = DiscInformation::parse(&b).expect("valid");
        assert_eq!(d.disc_status, DiscStatus::Blank);
        assert_eq!(d.last_session_state, SessionState::Empty);
        assert!(!d.erasable);
        assert_eq!(d.encode().expect("encodes"), b);
    }

    #[test]
    fn disc_information_errors() {
        let b = disc_info().encode().expect("encodes");
        for n in 0..34 {
            assert!(DiscInformation::parse(&b[..n]).is_err(), "prefix {n}");
        }
        assert_eq!(
            truncated_field(DiscInformation::parse(&b[..20])),
            "last possible lead-out start address"
        );
        let mut short_len = b.clone();
        short_len[1] = 31;
        assert_eq!(
            inconsistent_field(DiscInformation::parse(&short_len)),
            "disc information length"
        );
        let mut opc = b.clone();
        opc[33] = 2;
        assert_eq!(
            inconsistent_field(DiscInformation::parse(&opc)),
            "number of opc tables"
        );
        let mut kind = b;
        kind[2] |= 0x20;
        assert_eq!(
            inconsistent_field(DiscInformation::parse(&kind)),
            "disc information data type"
        );
    }

    fn track() -> TrackInformation {
        TrackInformation {
            track_number: 0x0102,
            session_number: 0x0001,
            damage: false,
            copy: true,
            track_mode: 4,
            reserved_track: false,
            blank: true,
            packet: true,
            fixed_packet: true,
            data_mode: 1,
            nwa_valid: true,
            lra_valid: false,
            track_start: 0,
            next_writable_address: 0,
            free_blocks: 359_847,
            fixed_packet_size: 16,
            track_size: 359_847,
            last_recorded_address: Some(0),
            extension: Some(TrackInfoExtension {
                read_compatibility_lba: 1,
                next_layer_jump_address: 2,
                last_layer_jump_address: 3,
            }),
        }
    }

    #[test]
    fn track_information_round_trips_in_every_form() {
        let t = track();
        let b = t.encode().expect("encodes");
        assert_eq!(b.len(), 48);
        assert_eq!(&b[..8], &[0, 46, 0x02, 0x01, 0, 0x14, 0x71, 0x01]);
        assert_eq!(b[32], 1);
        assert_eq!(TrackInformation::parse(&b), Ok(t));
        assert_eq!(t.nwa(), Some(0));
        let mmc2 = TrackInformation {
            extension: None,
            ..t
        };
        let b = mmc2.encode().expect("encodes");
        assert_eq!(b.len(), 36);
        assert_eq!(TrackInformation::parse(&b), Ok(mmc2));
        let mmc1 = TrackInformation {
            track_number: 2,
            last_recorded_address: None,
            ..mmc2
        };
        let b = mmc1.encode().expect("encodes");
        assert_eq!(b.len(), 28);
        assert_eq!(TrackInformation::parse(&b), Ok(mmc1));
        assert!(TrackInformation {
            track_number: 0x100,
            ..mmc1
        }
        .encode()
        .is_err());
        assert!(TrackInformation {
            extension: t.extension,
            ..mmc1
        }
        .encode()
        .is_err());
    }

    #[test]
    fn track_information_errors() {
        let b = track().encode().expect("encodes");
        for n in 0..28 {
            assert!(TrackInformation::parse(&b[..n]).is_err(), "prefix {n}");
        }
        assert_eq!(
            truncated_field(TrackInformation::parse(&b[..20])),
            "fixed packet size"
        );
        // A 40-byte buffer keeps the MMC-2 fields and drops the extension.
        let cut = TrackInformation::parse(&b[..40]).expect("valid");
        assert_eq!(cut.extension, None);
        assert_eq!(cut.last_recorded_address, Some(0));
        let mut short = b;
        short[1] = 25;
        assert_eq!(
            inconsistent_field(TrackInformation::parse(&short)),
            "track information data length"
        );
    }

    #[test]
    fn capacity_round_trip_and_truncation() {
        let c = Capacity {
            last_lba: 359_846,
            block_length: 2048,
        };
        let b = c.encode();
        assert_eq!(b, [0, 5, 0x7D, 0xA6, 0, 0, 8, 0]);
        assert_eq!(Capacity::parse(&b), Ok(c));
        assert_eq!(truncated_field(Capacity::parse(&b[..7])), "block length");
        assert_eq!(
            truncated_field(Capacity::parse(&b[..3])),
            "logical block address"
        );
    }

    fn toc() -> Toc {
        Toc {
            first_track: 1,
            last_track: 2,
            descriptors: vec![
                TocDescriptor {
                    adr: 1,
                    control: 4,
                    track: 1,
                    start_address: 0,
                },
                TocDescriptor {
                    adr: 1,
                    control: 4,
                    track: 2,
                    start_address: 1000,
                },
                TocDescriptor {
                    adr: 1,
                    control: 4,
                    track: LEAD_OUT_TRACK,
                    start_address: 2000,
                },
            ],
        }
    }

    #[test]
    fn toc_round_trip_and_errors() {
        let t = toc();
        let b = t.encode().expect("encodes");
        assert_eq!(&b[..8], &[0, 26, 1, 2, 0, 0x14, 1, 0]);
        assert_eq!(Toc::parse(&b), Ok(t.clone()));
        // Cut inside the second descriptor: the first one is kept.
        assert_eq!(Toc::parse(&b[..15]).expect("valid").descriptors.len(), 1);
        assert_eq!(truncated_field(Toc::parse(&b[..3])), "last track number");
        assert_eq!(truncated_field(Toc::parse(&b[..1])), "toc data length");
        let mut odd = b;
        odd[1] = 25;
        assert_eq!(inconsistent_field(Toc::parse(&odd)), "toc data length");
        assert!(Toc {
            descriptors: vec![TocDescriptor {
                adr: 16,
                ..t.descriptors[0]
            }],
            ..t
        }
        .encode()
        .is_err());
    }

    #[test]
    fn session_info_round_trip_and_errors() {
        let s = SessionInfo {
            first_session: 1,
            last_session: 2,
            first_track_in_last_session: TocDescriptor {
                adr: 1,
                control: 4,
                track: 3,
                start_address: 0x0000_2E4A,
            },
        };
        let b = s.encode().expect("encodes");
        assert_eq!(b, [0, 10, 1, 2, 0, 0x14, 3, 0, 0, 0, 0x2E, 0x4A]);
        assert_eq!(SessionInfo::parse(&b), Ok(s));
        assert_eq!(
            truncated_field(SessionInfo::parse(&b[..10])),
            "track start address"
        );
        assert_eq!(
            inconsistent_field(SessionInfo::parse(&[0, 2, 1, 1])),
            "toc data length"
        );
    }

    #[test]
    fn full_toc_round_trip_and_errors() {
        let entry = |point, pmsf| FullTocDescriptor {
            session: 1,
            adr: 1,
            control: 4,
            tno: 0,
            point,
            msf: [0, 0, 0],
            zero: 0,
            pmsf,
        };
        let t = FullToc {
            first_session: 1,
            last_session: 1,
            descriptors: vec![
                entry(POINT_FIRST_TRACK, [1, 0, 0]),
                entry(POINT_LAST_TRACK, [1, 0, 0]),
                entry(POINT_LEAD_OUT, [0, 6, 0]),
                entry(1, [0, 2, 0]),
            ],
        };
        let b = t.encode().expect("encodes");
        assert_eq!(b.len(), 4 + 4 * 11);
        assert_eq!(&b[..4], &[0, 46, 1, 1]);
        assert_eq!(&b[4..15], &[1, 0x14, 0, 0xA0, 0, 0, 0, 0, 1, 0, 0]);
        assert_eq!(FullToc::parse(&b), Ok(t.clone()));
        // a cut answer keeps the whole entries
        assert_eq!(FullToc::parse(&b[..30]).map(|t| t.descriptors.len()), Ok(2));
        assert_eq!(
            inconsistent_field(FullToc::parse(&[0, 10, 1, 1])),
            "toc data length"
        );
        assert_eq!(
            truncated_field(FullToc::parse(&[0, 2, 1])),
            "last complete session number"
        );
    }

    #[test]
    fn format_capacities_round_trip_and_errors() {
        let f = FormatCapacities {
            current: CurrentCapacity {
                blocks: 2_295_104,
                descriptor_type: CapacityDescriptorType::Unformatted,
                block_length: 2048,
            },
            formattable: vec![
                FormattableCapacity {
                    blocks: 2_295_104,
                    format_type: 0x26,
                    type_dependent: 0,
                },
                FormattableCapacity {
                    blocks: 0x1000,
                    format_type: 0x10,
                    type_dependent: 16,
                },
            ],
        };
        let b = f.encode().expect("encodes");
        assert_eq!(b.len(), 28);
        assert_eq!(&b[..4], &[0, 0, 0, 24]);
        assert_eq!(b[8], 1);
        assert_eq!(b[16], 0x26 << 2);
        assert_eq!(FormatCapacities::parse(&b), Ok(f.clone()));
        assert_eq!(
            FormatCapacities::parse(&b[..20])
                .expect("valid")
                .formattable
                .len(),
            1
        );
        assert_eq!(
            truncated_field(FormatCapacities::parse(&b[..11])),
            "block length"
        );
        assert_eq!(
            truncated_field(FormatCapacities::parse(&b[..3])),
            "capacity list length"
        );
        let mut odd = b;
        odd[3] = 12;
        assert_eq!(
            inconsistent_field(FormatCapacities::parse(&odd)),
            "capacity list length"
        );
        let no_media = [0, 0, 0, 8, 0xFF, 0xFF, 0xFF, 0xFF, 3, 0, 8, 0];
        let nm = FormatCapacities::parse(&no_media).expect("valid");
        assert_eq!(nm.current.descriptor_type, CapacityDescriptorType::NoMedia);
        assert_eq!(nm.encode().expect("encodes"), no_media.to_vec());
    }
}
