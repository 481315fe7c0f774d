//! Writing a disc and the setup around it: WRITE(10)/(12), READ(10),
//! SYNCHRONIZE CACHE, CLOSE TRACK/SESSION, BLANK, FORMAT UNIT with its
//! parameter list, RESERVE TRACK, SEND CUE SHEET with its cue sheet, MODE SELECT(10) (SPC-4 6.10) with the
//! Write Parameters mode page 05h, GET PERFORMANCE type 03h write speeds, SET
//! STREAMING with its performance descriptor, SET CD SPEED, READ BUFFER
//! CAPACITY, and the progress of a long operation carried in
//! sense-key-specific bytes (SPC-4 4.5.2.4.4). Builders, parsers, encoders.
//!
//! Owns these commands' CDBs and the layouts of their data-out payloads and
//! responses, the Write Parameters page included (it is decoded here, not in
//! [`crate::mode`], which keeps pages raw). It must not do I/O, decide when
//! to write what, or import other command modules: it uses only the leaves
//! (`codes`, `bytes`, `command`, `error`). The sense progress reader works on
//! raw sense bytes for that reason; [`crate::sense::SenseData`] does not keep
//! the sense-key-specific bytes.
//!
//! # Sources
//!
//! Clause numbers: MMC-5 draft r03c where libburn's `mmc.c` cites them;
//! MMC-6 (T10/1836-D, INCITS 468-2010) where a copy of its tables confirms
//! them (MODE SENSE(10) 6.12, READ DISC INFORMATION 6.21, READ TRACK
//! INFORMATION 6.26: one lower than MMC-5); "inferred" marks an MMC-6 number
//! derived from that shift and not checked:
//!
//! | command or structure | MMC-5 r03c | MMC-6 |
//! |---|---|---|
//! | BLANK | - | 6.2 (inferred) |
//! | CLOSE TRACK/SESSION, close functions per profile | 6.3.3 | 6.3 (inferred) |
//! | FORMAT UNIT, parameter list, format types | 6.5 (6.5.3, 6.5.4.2) | 6.4 (inferred) |
//! | GET PERFORMANCE, write speed descriptor | 6.8 (6.8.3) | 6.7 (inferred) |
//! | MODE SELECT(10) (and SPC-4 6.10) | - | 6.11 (inferred) |
//! | READ(10), READ BUFFER CAPACITY | - | 6.14, 6.17 (inferred) |
//! | RESERVE TRACK, SET CD SPEED | - | - |
//! | SEND CUE SHEET, cue sheet entries | 6.33 (6.33.3) | - |
//! | SET STREAMING, performance descriptor | 6.39 | - |
//! | SYNCHRONIZE CACHE, WRITE(10), WRITE(12) | - | - |
//! | Write Parameters mode page 05h | 7.5 | 7.5 (inferred) |
//!
//! Every byte and bit position was checked against implementations that
//! write real discs: libburn `libburn/mmc.c` and `spc.c` (CLOSE with Immed
//! in byte 1 bit 0 and the function in byte 2; SYNCHRONIZE CACHE Immed 02h;
//! BLANK Immed 10h; FORMAT UNIT CDB byte 1 11h, format list header, Number
//! of Blocks, type << 2 | subtype, type dependent parameter; RESERVE TRACK
//! size in bytes 5-8; GET PERFORMANCE descriptors in bytes 8-9 and type 03h
//! in byte 10, descriptor flags and fields; SET STREAMING length in bytes
//! 9-10 and descriptor fields; WRITE(12) Streaming 80h in byte 10; SET CD
//! SPEED speeds in bytes 2-5; page 05h bytes 2-5, 8, 10-13, 14-15 and MCN
//! and ISRC at 16 and 32; READ BUFFER CAPACITY bytes 4-11; SEND CUE SHEET
//! size in bytes 6-8 and the 8-byte entries CTL/ADR, TNO, INDEX, DATA FORM,
//! SCMS, MIN, SEC, FRAME from `write.c` `add_cue`), growisofs
//! `growisofs_mmc.cpp` and `dvd+rw-format.cpp` (close functions 001b, 010b,
//! 101b for DVD+R DL and 110b for DVD+R; FOV/DCRT/Immed), Wireshark's MMC
//! dissector (close function mask 07h and names, SYNCHRONIZE CACHE Immed
//! 02h, SET STREAMING flags WRC 18h, RDD 04h, Exact 02h, RA 01h) and the
//! Linux kernel `cdrom.h` opcodes. Not confirmed by a checked source: the
//! page length 32h this module writes for page 05h (libburn and growisofs
//! send back the length MODE SENSE reported; some drives report 36h, which
//! [`WriteParameters::parse`] accepts), the Host Application Code position,
//! and the READ BUFFER CAPACITY data length value (10).
//!
//! Parsers follow the crate's rules: no panics, [`ParseError::Truncated`] for
//! a missing field, [`ParseError::Inconsistent`] for a self-contradiction.

use crate::bytes::{be16, be32, bits, clamp, slice, u8_at};
use crate::codes::opcode;
use crate::{Command, DataDirection, EncodeError, ParseError};

// ---- WRITE, READ ----

/// WRITE(10): `blocks` blocks of `block_len` bytes from `lba`.
/// The data-out length is `blocks * block_len`.
pub fn write10(lba: u32, blocks: u16, block_len: u16) -> Command<10> {
    let [a, b, c, d] = lba.to_be_bytes();
    let [h, l] = blocks.to_be_bytes();
    Command {
        cdb: [opcode::WRITE_10, 0, a, b, c, d, 0, h, l, 0],
        direction: DataDirection::ToDevice {
            parameter_length: u32::from(blocks) * u32::from(block_len),
        },
    }
}

/// WRITE(12): `blocks` blocks of `block_len` bytes from `lba`, with the
/// Streaming bit (byte 10 bit 7) for writes that favour speed over defect
/// management (as libburn sets it).
///
/// # Errors
///
/// [`EncodeError::Invalid`] when `blocks * block_len` does not fit the
/// 32-bit data-out length.
pub fn write12(
    lba: u32,
    blocks: u32,
    block_len: u16,
    streaming: bool,
) -> Result<Command<12>, EncodeError> {
    let parameter_length =
        blocks
            .checked_mul(u32::from(block_len))
            .ok_or(EncodeError::Invalid {
                field: "transfer length",
                value: u64::from(blocks),
                problem: "transfer length times block length exceeds 32 bits",
            })?;
    let [a, b, c, d] = lba.to_be_bytes();
    let [t0, t1, t2, t3] = blocks.to_be_bytes();
    Ok(Command {
        cdb: [
            opcode::WRITE_12,
            0,
            a,
            b,
            c,
            d,
            t0,
            t1,
            t2,
            t3,
            u8::from(streaming) << 7,
            0,
        ],
        direction: DataDirection::ToDevice { parameter_length },
    })
}

/// READ(10): `blocks` blocks of `block_len` bytes from `lba`.
/// The data-in length is `blocks * block_len`.
pub fn read10(lba: u32, blocks: u16, block_len: u16) -> Command<10> {
    let [a, b, c, d] = lba.to_be_bytes();
    let [h, l] = blocks.to_be_bytes();
    Command {
        cdb: [opcode::READ_10, 0, a, b, c, d, 0, h, l, 0],
        direction: DataDirection::FromDevice {
            allocation_length: u32::from(blocks) * u32::from(block_len),
        },
    }
}

// ---- SYNCHRONIZE CACHE, CLOSE TRACK/SESSION, BLANK, RESERVE TRACK ----

/// SYNCHRONIZE CACHE(10) for the whole medium (LBA and number of blocks 0);
/// `immed` (byte 1 bit 1) asks for status before the cache is written
/// (libburn and Wireshark: Immed 02h).
pub fn synchronize_cache(immed: bool) -> Command<10> {
    Command {
        cdb: [
            opcode::SYNCHRONIZE_CACHE,
            u8::from(immed) << 1,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
        ],
        direction: DataDirection::None,
    }
}

/// The Close Function field of CLOSE TRACK/SESSION (byte 2 bits 2-0). What
/// each value does depends on the medium (MMC-5 6.3.3, one table per
/// profile). Values without a variant go through [`CloseFunction::Other`]:
/// 000b stops DVD+RW background formatting (growisofs' "stop de-icing"),
/// 011b is a profile-specific close session, 101b finalizes with minimal
/// radius (growisofs uses it to finalize DVD+R DL, where some drives refuse
/// 110b).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseFunction {
    /// 001b: close the logical track numbered in the CDB.
    Track,
    /// 010b: close the session (on CD-R/RW, finalizes the disc when the
    /// Write Parameters page's multi-session field is 00b).
    Session,
    /// 110b: close the last session and finalize the disc (growisofs sends
    /// it for DVD+R, libburn's `mmc_close` for its "close disc"; profile
    /// dependent).
    Finalize,
    /// Any other 3-bit value, passed through.
    Other(u8),
}

impl CloseFunction {
    /// The 3-bit field value.
    pub fn bits(self) -> u8 {
        match self {
            CloseFunction::Track => 0b001,
            CloseFunction::Session => 0b010,
            CloseFunction::Finalize => 0b110,
            CloseFunction::Other(v) => v & 0x07,
        }
    }
}

/// CLOSE TRACK/SESSION: `function` on track or session `number` (bytes 4-5);
/// `immed` is byte 1 bit 0 (MMC-5 6.3; libburn, growisofs, Wireshark).
pub fn close_track_session(function: CloseFunction, number: u16, immed: bool) -> Command<10> {
    let [h, l] = number.to_be_bytes();
    Command {
        cdb: [
            opcode::CLOSE_TRACK_SESSION,
            u8::from(immed),
            function.bits(),
            0,
            h,
            l,
            0,
            0,
            0,
            0,
        ],
        direction: DataDirection::None,
    }
}

/// The Blanking Type field of BLANK (byte 1 bits 2-0) and the start address
/// or track number it uses (bytes 2-5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlankingType {
    /// 000b: blank the entire disc.
    Full,
    /// 001b: minimal ("quick") blank: PMA, first session's lead-in and
    /// pregap of the first track.
    Minimal,
    /// 010b: blank the track with this number.
    Track(u32),
    /// Any other 3-bit value (unreserve track, blank track tail, unclose
    /// last session, blank session) with its address field, passed through.
    Other(u8, u32),
}

/// BLANK with `kind`; `immed` is byte 1 bit 4 (libburn sends 10h).
pub fn blank(kind: BlankingType, immed: bool) -> Command<12> {
    let (code, address) = match kind {
        BlankingType::Full => (0b000, 0),
        BlankingType::Minimal => (0b001, 0),
        BlankingType::Track(n) => (0b010, n),
        BlankingType::Other(c, a) => (c & 0x07, a),
    };
    let [a, b, c, d] = address.to_be_bytes();
    Command {
        cdb: [
            opcode::BLANK,
            (u8::from(immed) << 4) | code,
            a,
            b,
            c,
            d,
            0,
            0,
            0,
            0,
            0,
            0,
        ],
        direction: DataDirection::None,
    }
}

/// RESERVE TRACK with ARSV 0: reserve the next track for `blocks` blocks
/// (Reservation Size, bytes 5-8, as libburn and Wireshark place it).
pub fn reserve_track(blocks: u32) -> Command<10> {
    let [a, b, c, d] = blocks.to_be_bytes();
    Command {
        cdb: [opcode::RESERVE_TRACK, 0, 0, 0, 0, a, b, c, d, 0],
        direction: DataDirection::None,
    }
}

// ---- FORMAT UNIT ----

/// Length of the FORMAT UNIT parameter list this module builds: a 4-byte
/// format list header and one 8-byte format descriptor.
pub const FORMAT_PARAMETER_LEN: usize = 12;

/// FORMAT UNIT with FmtData set (a parameter list follows) and Format Code
/// 001b; the list is [`FormatParameters::encode`] (MMC-5 6.5).
pub fn format_unit() -> Command<6> {
    Command {
        cdb: [opcode::FORMAT_UNIT, 0x10 | 0x01, 0, 0, 0, 0],
        direction: DataDirection::ToDevice {
            parameter_length: FORMAT_PARAMETER_LEN as u32,
        },
    }
}

/// The FORMAT UNIT parameter list: header and one format descriptor
/// (MMC-5 6.5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FormatParameters {
    /// Immed (header byte 1 bit 1). The encoder sets FOV (bit 7) with it
    /// and leaves DCRT (bit 5) clear: 82h, what growisofs sends for a full
    /// DVD-RAM or BD-RE format (it sends A2h, DCRT set, for a quick one,
    /// and libburn and growisofs send 02h, Immed alone, for DVD+RW, DVD-RW
    /// and BD-R, which drives honour too).
    pub immed: bool,
    /// Number of Blocks (descriptor bytes 0-3).
    pub number_of_blocks: u32,
    /// Format Type (6 bits, descriptor byte 4 bits 7-2), e.g. 00h full
    /// format, 26h DVD+RW full format, 30h BD-RE with spares.
    pub format_type: u8,
    /// Format Subtype (2 bits, descriptor byte 4 bits 1-0).
    pub format_subtype: u8,
    /// Type Dependent Parameter (24 bits, descriptor bytes 5-7).
    pub type_dependent: u32,
}

impl FormatParameters {
    /// The 12-byte parameter list.
    ///
    /// # Errors
    ///
    /// [`EncodeError::Invalid`] when `format_type`, `format_subtype` or
    /// `type_dependent` does not fit its bit field.
    pub fn encode(&self) -> Result<[u8; FORMAT_PARAMETER_LEN], EncodeError> {
        bits("format type", u64::from(self.format_type), 0x3F)?;
        bits("format subtype", u64::from(self.format_subtype), 0x03)?;
        bits(
            "type dependent parameter",
            u64::from(self.type_dependent),
            0xFF_FFFF,
        )?;
        let [n0, n1, n2, n3] = self.number_of_blocks.to_be_bytes();
        let [_, t0, t1, t2] = self.type_dependent.to_be_bytes();
        let flags = if self.immed { 0x82 } else { 0x00 };
        Ok([
            0,
            flags,
            0,
            8,
            n0,
            n1,
            n2,
            n3,
            (self.format_type << 2) | self.format_subtype,
            t0,
            t1,
            t2,
        ])
    }

    /// Decodes a parameter list (the first format descriptor).
    ///
    /// # Errors
    ///
    /// [`ParseError::Truncated`] when `buf` ends before the header or the
    /// first descriptor; [`ParseError::Inconsistent`] when the format
    /// descriptor length is not 8.
    pub fn parse(buf: &[u8]) -> Result<FormatParameters, ParseError> {
        let flags = u8_at(buf, "format list header flags", 1)?;
        let len = be16(buf, "format descriptor length", 2)?;
        if len != 8 {
            return Err(ParseError::Inconsistent {
                field: "format descriptor length",
                offset: 2,
                value: u64::from(len),
                problem: "a format descriptor is 8 bytes",
            });
        }
        let number_of_blocks = be32(buf, "number of blocks", 4)?;
        let ft = u8_at(buf, "format type", 8)?;
        let t = slice(buf, "type dependent parameter", 9, 3)?;
        let type_dependent = t.iter().fold(0u32, |acc, &x| (acc << 8) | u32::from(x));
        Ok(FormatParameters {
            immed: flags & 0x02 != 0,
            number_of_blocks,
            format_type: ft >> 2,
            format_subtype: ft & 0x03,
            type_dependent,
        })
    }
}

// ---- SEND CUE SHEET ----

/// Length of one cue sheet entry (MMC-5 6.33.3).
pub const CUE_ENTRY_LEN: usize = 8;

/// Largest Cue Sheet Size SEND CUE SHEET can carry (24 bits).
pub const MAX_CUE_SHEET_LEN: u32 = 0xFF_FFFF;

/// SEND CUE SHEET announcing `parameter_length` bytes of cue sheet (Cue Sheet Size in
/// bytes 6-8, where libburn's `mmc_send_cue_sheet` puts it) (MMC-5 6.33): the layout of a
/// session written at once (write type 2 in the Write Parameters page).
///
/// # Errors
///
/// [`EncodeError::Invalid`] when `parameter_length` exceeds [`MAX_CUE_SHEET_LEN`].
pub fn send_cue_sheet(parameter_length: u32) -> Result<Command<10>, EncodeError> {
    bits(
        "cue sheet size",
        u64::from(parameter_length),
        u64::from(MAX_CUE_SHEET_LEN),
    )?;
    let [_, a, b, c] = parameter_length.to_be_bytes();
    Ok(Command {
        cdb: [opcode::SEND_CUE_SHEET, 0, 0, 0, 0, 0, a, b, c, 0],
        direction: DataDirection::ToDevice { parameter_length },
    })
}

/// The Cue Sheet Size (bytes 6-8) of a SEND CUE SHEET CDB ([`send_cue_sheet`]).
///
/// # Errors
///
/// [`ParseError::Truncated`] when `cdb` is shorter than 10 bytes.
pub fn parse_send_cue_sheet(cdb: &[u8]) -> Result<u32, ParseError> {
    slice(cdb, "CDB", 0, 10)?;
    let b = slice(cdb, "cue sheet size", 6, 3)?;
    Ok(b.iter().fold(0u32, |acc, &x| (acc << 8) | u32::from(x)))
}

/// One 8-byte entry of a cue sheet (MMC-5 6.33.3): where a track, an index, the lead-in or
/// the lead-out starts and what its sectors hold. Entries with ADR 2 (media catalog number)
/// or 3 (ISRC) carry text in bytes 1-7 instead; their fields then hold those bytes as they
/// are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CueEntry {
    /// CTL/ADR (byte 0): the control nibble (bits 7-4; 4h a data track, 2h copy permitted,
    /// 1h pre-emphasis, 8h four channels) and ADR (bits 3-0; 1 a position, 2 the media
    /// catalog number, 3 an ISRC).
    pub ctl_adr: u8,
    /// TNO (byte 1): track number 1-99, 0 for the lead-in, AAh for the lead-out.
    pub tno: u8,
    /// INDEX (byte 2): 0 the pregap, 1 the track's start, 2-99 further indexes.
    pub index: u8,
    /// DATA FORM (byte 3): the sub-channel form (bits 7-6) and the main data form (bits
    /// 5-0), e.g. 10h CD-ROM Mode 1 with 2,048 bytes a sector from the host, 14h Mode 1
    /// generated by the drive (libburn's form for a data disc's lead-in and lead-out), 01h
    /// (older libburn's lead-in and lead-out), 00h CD-DA.
    pub data_form: u8,
    /// SCMS (byte 4): serial copy management (80h: copy protection alternates).
    pub scms: u8,
    /// Absolute time (bytes 5-7): minute, second, frame; 00:00:00 is 150 blocks before LBA
    /// 0.
    pub msf: [u8; 3],
}

impl CueEntry {
    /// The 8 bytes.
    pub fn encode(&self) -> [u8; CUE_ENTRY_LEN] {
        let [m, s, f] = self.msf;
        [
            self.ctl_adr,
            self.tno,
            self.index,
            self.data_form,
            self.scms,
            m,
            s,
            f,
        ]
    }

    /// Decodes the first 8 bytes of `buf`.
    ///
    /// # Errors
    ///
    /// [`ParseError::Truncated`] when `buf` is shorter than 8 bytes.
    pub fn parse(buf: &[u8]) -> Result<CueEntry, ParseError> {
        let b = slice(buf, "cue sheet entry", 0, CUE_ENTRY_LEN)?;
        Ok(CueEntry {
            ctl_adr: u8_at(b, "CTL/ADR", 0)?,
            tno: u8_at(b, "TNO", 1)?,
            index: u8_at(b, "INDEX", 2)?,
            data_form: u8_at(b, "DATA FORM", 3)?,
            scms: u8_at(b, "SCMS", 4)?,
            msf: [
                u8_at(b, "MIN", 5)?,
                u8_at(b, "SEC", 6)?,
                u8_at(b, "FRAME", 7)?,
            ],
        })
    }

    /// The ADR nibble.
    pub fn adr(&self) -> u8 {
        self.ctl_adr & 0x0F
    }

    /// The control nibble.
    pub fn control(&self) -> u8 {
        self.ctl_adr >> 4
    }

    /// The absolute time as an LBA (00:02:00 is LBA 0, 00:00:00 is -150); `None` when it is
    /// no time (seconds of 60 or more, frames of 75 or more).
    pub fn lba(&self) -> Option<i32> {
        let [m, s, f] = self.msf;
        if s >= 60 || f >= 75 {
            return None;
        }
        Some((i32::from(m) * 60 + i32::from(s)) * 75 + i32::from(f) - 150)
    }
}

/// Decodes a cue sheet: its entries in order.
///
/// # Errors
///
/// [`ParseError::Inconsistent`] when the length is not a multiple of 8.
pub fn parse_cue_sheet(buf: &[u8]) -> Result<Vec<CueEntry>, ParseError> {
    if !buf.len().is_multiple_of(CUE_ENTRY_LEN) {
        return Err(ParseError::Inconsistent {
            field: "cue sheet size",
            offset: 0,
            value: buf.len() as u64,
            problem: "not a whole number of 8-byte entries",
        });
    }
    buf.chunks(CUE_ENTRY_LEN).map(CueEntry::parse).collect()
}

/// Encodes `entries` as a cue sheet.
pub fn encode_cue_sheet(entries: &[CueEntry]) -> Vec<u8> {
    entries.iter().flat_map(|e| e.encode()).collect()
}

// ---- MODE SELECT(10) and the Write Parameters page ----

/// Page code of the Write Parameters mode page.
pub const WRITE_PARAMETERS_PAGE: u8 = 0x05;

/// Page Length this module writes for the Write Parameters page (0x32: 50
/// bytes after the 2-byte page header, through the subheader).
pub const WRITE_PARAMETERS_PAGE_LEN: u8 = 0x32;

const MODE_HEADER10_LEN: usize = 8;

/// MODE SELECT(10) sending `parameter_length` bytes; `page_format` is PF
/// (byte 1 bit 4, set for MMC pages), `save_pages` is SP (bit 0)
/// (SPC-4 6.10, MMC-6 6.11).
pub fn mode_select10(parameter_length: u16, page_format: bool, save_pages: bool) -> Command<10> {
    let [h, l] = parameter_length.to_be_bytes();
    Command {
        cdb: [
            opcode::MODE_SELECT_10,
            (u8::from(page_format) << 4) | u8::from(save_pages),
            0,
            0,
            0,
            0,
            0,
            h,
            l,
            0,
        ],
        direction: DataDirection::ToDevice {
            parameter_length: u32::from(parameter_length),
        },
    }
}

/// The Write Type field (byte 2 bits 3-0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WriteType {
    /// 0h: packet / incremental.
    Packet,
    /// 1h: track at once.
    TrackAtOnce,
    /// 2h: session at once (disc at once).
    SessionAtOnce,
    /// 3h: raw.
    Raw,
    /// 4h: layer jump recording.
    LayerJump,
    /// Any other 4-bit value, kept.
    Other(u8),
}

impl WriteType {
    /// The 4-bit field value.
    pub fn bits(self) -> u8 {
        match self {
            WriteType::Packet => 0,
            WriteType::TrackAtOnce => 1,
            WriteType::SessionAtOnce => 2,
            WriteType::Raw => 3,
            WriteType::LayerJump => 4,
            WriteType::Other(v) => v,
        }
    }

    /// The write type in the low four bits of `v`.
    pub fn from_bits(v: u8) -> WriteType {
        match v & 0x0F {
            0 => WriteType::Packet,
            1 => WriteType::TrackAtOnce,
            2 => WriteType::SessionAtOnce,
            3 => WriteType::Raw,
            4 => WriteType::LayerJump,
            o => WriteType::Other(o),
        }
    }
}

/// The Multi-session field (byte 3 bits 7-6): whether a next session may
/// follow the one being closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MultiSession {
    /// 00b: no next session; closing the session finalizes the disc.
    NoNextSession,
    /// 01b: next session not allowed (CD: B0 pointer FF:FF:FF).
    NextSessionNotAllowed,
    /// 10b: reserved.
    Reserved,
    /// 11b: next session allowed.
    NextSessionAllowed,
}

impl MultiSession {
    /// The 2-bit field value.
    pub fn bits(self) -> u8 {
        match self {
            MultiSession::NoNextSession => 0,
            MultiSession::NextSessionNotAllowed => 1,
            MultiSession::Reserved => 2,
            MultiSession::NextSessionAllowed => 3,
        }
    }

    /// The field in the low two bits of `v`.
    pub fn from_bits(v: u8) -> MultiSession {
        match v & 0x03 {
            0 => MultiSession::NoNextSession,
            1 => MultiSession::NextSessionNotAllowed,
            2 => MultiSession::Reserved,
            _ => MultiSession::NextSessionAllowed,
        }
    }
}

/// The Write Parameters mode page 05h (MMC-5 7.5), all fields through the
/// subheader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WriteParameters {
    /// PS (byte 0 bit 7); must be 0 in MODE SELECT.
    pub parameters_saveable: bool,
    /// BUFE: buffer under-run free recording (byte 2 bit 6).
    pub buffer_underrun_free: bool,
    /// LS_V: `link_size` is valid (byte 2 bit 5).
    pub link_size_valid: bool,
    /// Test Write: simulate, laser off (byte 2 bit 4).
    pub test_write: bool,
    /// Write Type (byte 2 bits 3-0).
    pub write_type: WriteType,
    /// Multi-session (byte 3 bits 7-6).
    pub multi_session: MultiSession,
    /// FP: fixed packets (byte 3 bit 5).
    pub fixed_packet: bool,
    /// Copy (byte 3 bit 4).
    pub copy: bool,
    /// Track Mode (byte 3 bits 3-0; CD: 4 data uncopyable, 5 data, 0/2 audio).
    pub track_mode: u8,
    /// Data Block Type (byte 4 bits 3-0; 8 Mode 1 2048 bytes, 10 Mode 2
    /// Form 1, 0 raw 2352).
    pub data_block_type: u8,
    /// Link Size (byte 5).
    pub link_size: u8,
    /// Host Application Code (byte 7 bits 5-0).
    pub host_application_code: u8,
    /// Session Format (byte 8; 00h CD-DA/CD-ROM, 10h CD-I, 20h CD-ROM XA).
    pub session_format: u8,
    /// Packet Size in blocks (bytes 10-13), for fixed packets.
    pub packet_size: u32,
    /// Audio Pause Length in blocks (bytes 14-15).
    pub audio_pause_length: u16,
    /// Media Catalog Number bytes (16-31).
    pub media_catalog_number: [u8; 16],
    /// International Standard Recording Code bytes (32-47).
    pub isrc: [u8; 16],
    /// Subheader bytes 0-3 (48-51).
    pub subheader: [u8; 4],
}

impl Default for WriteParameters {
    /// Track at once, multi-session closed, data track (mode 4), Mode 1
    /// 2048-byte blocks, BUFE on: the usual setup for a data CD track.
    fn default() -> WriteParameters {
        WriteParameters {
            parameters_saveable: false,
            buffer_underrun_free: true,
            link_size_valid: false,
            test_write: false,
            write_type: WriteType::TrackAtOnce,
            multi_session: MultiSession::NoNextSession,
            fixed_packet: false,
            copy: false,
            track_mode: 4,
            data_block_type: 8,
            link_size: 0,
            host_application_code: 0,
            session_format: 0,
            packet_size: 0,
            audio_pause_length: 150,
            media_catalog_number: [0; 16],
            isrc: [0; 16],
            subheader: [0; 4],
        }
    }
}

/// Bytes in the Write Parameters page this module writes (header included).
pub const WRITE_PARAMETERS_LEN: usize = 2 + WRITE_PARAMETERS_PAGE_LEN as usize;

impl WriteParameters {
    /// The page, 2-byte header included (52 bytes, page length 0x32).
    ///
    /// # Errors
    ///
    /// [`EncodeError::Invalid`] when the write type, track mode or data
    /// block type exceeds 4 bits or the host application code 6 bits.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        bits("write type", u64::from(self.write_type.bits()), 0x0F)?;
        bits("track mode", u64::from(self.track_mode), 0x0F)?;
        bits("data block type", u64::from(self.data_block_type), 0x0F)?;
        bits(
            "host application code",
            u64::from(self.host_application_code),
            0x3F,
        )?;
        let mut out = Vec::with_capacity(WRITE_PARAMETERS_LEN);
        out.push((u8::from(self.parameters_saveable) << 7) | WRITE_PARAMETERS_PAGE);
        out.push(WRITE_PARAMETERS_PAGE_LEN);
        out.push(
            (u8::from(self.buffer_underrun_free) << 6)
                | (u8::from(self.link_size_valid) << 5)
                | (u8::from(self.test_write) << 4)
                | self.write_type.bits(),
        );
        out.push(
            (self.multi_session.bits() << 6)
                | (u8::from(self.fixed_packet) << 5)
                | (u8::from(self.copy) << 4)
                | self.track_mode,
        );
        out.push(self.data_block_type);
        out.push(self.link_size);
        out.push(0);
        out.push(self.host_application_code);
        out.push(self.session_format);
        out.push(0);
        out.extend_from_slice(&self.packet_size.to_be_bytes());
        out.extend_from_slice(&self.audio_pause_length.to_be_bytes());
        out.extend_from_slice(&self.media_catalog_number);
        out.extend_from_slice(&self.isrc);
        out.extend_from_slice(&self.subheader);
        Ok(out)
    }

    /// Decodes the page from `page`, which starts at its page code byte.
    /// Pages longer than 0x32 (older drives send 0x36 with vendor bytes)
    /// are accepted; the extra bytes are ignored.
    ///
    /// # Errors
    ///
    /// [`ParseError::Inconsistent`] when the page code is not 05h (or the
    /// SPF bit is set) or the page length is below 0x32;
    /// [`ParseError::Truncated`] when `page` ends before byte 52.
    pub fn parse(page: &[u8]) -> Result<WriteParameters, ParseError> {
        let b0 = u8_at(page, "page code", 0)?;
        if b0 & 0x7F != WRITE_PARAMETERS_PAGE {
            return Err(ParseError::Inconsistent {
                field: "page code",
                offset: 0,
                value: u64::from(b0),
                problem: "not the Write Parameters page 05h",
            });
        }
        let len = u8_at(page, "page length", 1)?;
        if len < WRITE_PARAMETERS_PAGE_LEN {
            return Err(ParseError::Inconsistent {
                field: "page length",
                offset: 1,
                value: u64::from(len),
                problem: "shorter than the 0x32 bytes of the Write Parameters page",
            });
        }
        let body = slice(page, "write parameters", 0, WRITE_PARAMETERS_LEN)?;
        let b2 = u8_at(body, "write type", 2)?;
        let b3 = u8_at(body, "track mode", 3)?;
        let mut media_catalog_number = [0u8; 16];
        media_catalog_number.copy_from_slice(slice(body, "media catalog number", 16, 16)?);
        let mut isrc = [0u8; 16];
        isrc.copy_from_slice(slice(body, "isrc", 32, 16)?);
        let mut subheader = [0u8; 4];
        subheader.copy_from_slice(slice(body, "subheader", 48, 4)?);
        Ok(WriteParameters {
            parameters_saveable: b0 & 0x80 != 0,
            buffer_underrun_free: b2 & 0x40 != 0,
            link_size_valid: b2 & 0x20 != 0,
            test_write: b2 & 0x10 != 0,
            write_type: WriteType::from_bits(b2),
            multi_session: MultiSession::from_bits(b3 >> 6),
            fixed_packet: b3 & 0x20 != 0,
            copy: b3 & 0x10 != 0,
            track_mode: b3 & 0x0F,
            data_block_type: u8_at(body, "data block type", 4)? & 0x0F,
            link_size: u8_at(body, "link size", 5)?,
            host_application_code: u8_at(body, "host application code", 7)? & 0x3F,
            session_format: u8_at(body, "session format", 8)?,
            packet_size: be32(body, "packet size", 10)?,
            audio_pause_length: be16(body, "audio pause length", 14)?,
            media_catalog_number,
            isrc,
            subheader,
        })
    }

    /// The MODE SELECT(10) parameter list: an 8-byte mode parameter header
    /// (all zero: mode data length is reserved in MODE SELECT, no block
    /// descriptors) followed by the page, PS cleared. Send it with
    /// [`mode_select10`] and its length.
    ///
    /// # Errors
    ///
    /// As [`WriteParameters::encode`].
    pub fn encode_mode_select10(&self) -> Result<Vec<u8>, EncodeError> {
        let page = WriteParameters {
            parameters_saveable: false,
            ..*self
        }
        .encode()?;
        let mut out = vec![0u8; MODE_HEADER10_LEN];
        out.extend_from_slice(&page);
        Ok(out)
    }

    /// Decodes a MODE SELECT(10) parameter list (or a MODE SENSE(10)
    /// response) whose first page is the Write Parameters page.
    ///
    /// # Errors
    ///
    /// [`ParseError::Truncated`] when `buf` ends before the header, block
    /// descriptors or page; otherwise as [`WriteParameters::parse`].
    pub fn parse_mode_parameters(buf: &[u8]) -> Result<WriteParameters, ParseError> {
        let bd_len = usize::from(be16(buf, "block descriptor length", 6)?);
        let start = MODE_HEADER10_LEN + bd_len;
        let page = buf.get(start..).ok_or(ParseError::Truncated {
            field: "block descriptors",
            offset: MODE_HEADER10_LEN,
            needed: start,
            got: buf.len(),
        })?;
        WriteParameters::parse(page)
    }
}

// ---- GET PERFORMANCE, write speeds ----

/// Bytes of one write speed descriptor.
pub const WRITE_SPEED_DESCRIPTOR_LEN: usize = 16;

/// Bytes of the performance response header.
pub const PERFORMANCE_HEADER_LEN: usize = 8;

/// GET PERFORMANCE with Type 03h (write speed descriptors), room for
/// `max_descriptors` descriptors (MMC-5 6.8). The allocation length is the
/// 8-byte header plus 16 bytes per descriptor.
pub fn get_performance_write_speed(max_descriptors: u16) -> Command<12> {
    let [h, l] = max_descriptors.to_be_bytes();
    Command {
        cdb: [opcode::GET_PERFORMANCE, 0, 0, 0, 0, 0, 0, 0, h, l, 0x03, 0],
        direction: DataDirection::FromDevice {
            allocation_length: PERFORMANCE_HEADER_LEN as u32
                + u32::from(max_descriptors) * WRITE_SPEED_DESCRIPTOR_LEN as u32,
        },
    }
}

/// One write speed descriptor (MMC-5 6.8.3, type 03h).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WriteSpeedDescriptor {
    /// WRC: write rotation control (byte 0 bits 4-3).
    pub rotation_control: u8,
    /// RDD: restore drive defaults (byte 0 bit 2).
    pub restore_defaults: bool,
    /// Exact (byte 0 bit 1).
    pub exact: bool,
    /// MRW (byte 0 bit 0).
    pub mrw: bool,
    /// End LBA: the medium capacity this speed applies to (bytes 4-7).
    pub end_lba: u32,
    /// Read speed in kB/s (1000 bytes/s; bytes 8-11).
    pub read_speed: u32,
    /// Write speed in kB/s (bytes 12-15).
    pub write_speed: u32,
}

/// A decoded GET PERFORMANCE type 03h response.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WriteSpeeds {
    /// The descriptors that arrived whole, in device order.
    pub descriptors: Vec<WriteSpeedDescriptor>,
    /// False when the drive had more descriptors than arrived.
    pub complete: bool,
}

impl WriteSpeeds {
    /// The write speeds in kB/s, in device order.
    pub fn speeds(&self) -> Vec<u32> {
        self.descriptors.iter().map(|d| d.write_speed).collect()
    }

    /// Decodes the response. A descriptor cut by the end of `buf` is dropped
    /// and `complete` is false.
    ///
    /// # Errors
    ///
    /// [`ParseError::Truncated`] when `buf` ends before the 8-byte header;
    /// [`ParseError::Inconsistent`] when the performance data length is
    /// below 4 or does not leave whole 16-byte descriptors.
    pub fn parse(buf: &[u8]) -> Result<WriteSpeeds, ParseError> {
        let len = be32(buf, "performance data length", 0)?;
        slice(buf, "performance header", 0, PERFORMANCE_HEADER_LEN)?;
        let declared_end = usize::try_from(len)
            .ok()
            .and_then(|l| l.checked_add(4))
            .unwrap_or(usize::MAX);
        if declared_end < PERFORMANCE_HEADER_LEN
            || !(declared_end - PERFORMANCE_HEADER_LEN).is_multiple_of(WRITE_SPEED_DESCRIPTOR_LEN)
        {
            return Err(ParseError::Inconsistent {
                field: "performance data length",
                offset: 0,
                value: u64::from(len),
                problem: "not the 4 header bytes plus whole 16-byte descriptors",
            });
        }
        let data = clamp(buf, declared_end);
        let mut descriptors = Vec::new();
        let mut pos = PERFORMANCE_HEADER_LEN;
        while let Some(d) = data.get(pos..pos + WRITE_SPEED_DESCRIPTOR_LEN) {
            let b0 = u8_at(d, "write speed descriptor flags", 0)?;
            descriptors.push(WriteSpeedDescriptor {
                rotation_control: (b0 >> 3) & 0x03,
                restore_defaults: b0 & 0x04 != 0,
                exact: b0 & 0x02 != 0,
                mrw: b0 & 0x01 != 0,
                end_lba: be32(d, "end lba", 4)?,
                read_speed: be32(d, "read speed", 8)?,
                write_speed: be32(d, "write speed", 12)?,
            });
            pos += WRITE_SPEED_DESCRIPTOR_LEN;
        }
        Ok(WriteSpeeds {
            descriptors,
            complete: pos == declared_end,
        })
    }

    /// Encodes the response (header with Write bit 0, Except 0, then the
    /// descriptors), as a drive sends it.
    ///
    /// # Errors
    ///
    /// [`EncodeError::Invalid`] when a rotation control exceeds 2 bits;
    /// [`EncodeError::TooLong`] when the descriptors overflow the 32-bit
    /// length field.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let body = self
            .descriptors
            .len()
            .saturating_mul(WRITE_SPEED_DESCRIPTOR_LEN);
        crate::bytes::fit("write speed descriptors", body, u32::MAX as usize - 4)?;
        let mut out = Vec::with_capacity(PERFORMANCE_HEADER_LEN + body);
        out.extend_from_slice(&((body + 4) as u32).to_be_bytes());
        out.extend_from_slice(&[0; 4]);
        for d in &self.descriptors {
            bits("rotation control", u64::from(d.rotation_control), 0x03)?;
            out.push(
                (d.rotation_control << 3)
                    | (u8::from(d.restore_defaults) << 2)
                    | (u8::from(d.exact) << 1)
                    | u8::from(d.mrw),
            );
            out.extend_from_slice(&[0; 3]);
            out.extend_from_slice(&d.end_lba.to_be_bytes());
            out.extend_from_slice(&d.read_speed.to_be_bytes());
            out.extend_from_slice(&d.write_speed.to_be_bytes());
        }
        Ok(out)
    }
}

// ---- SET STREAMING, SET CD SPEED ----

/// Bytes of a SET STREAMING performance descriptor.
pub const PERFORMANCE_DESCRIPTOR_LEN: usize = 28;

/// SET STREAMING with Type 00h and a performance descriptor as data-out
/// (parameter list length 28, bytes 9-10; MMC-5 6.39, as libburn sends it).
pub fn set_streaming() -> Command<12> {
    Command {
        cdb: [
            opcode::SET_STREAMING,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            PERFORMANCE_DESCRIPTOR_LEN as u8,
            0,
        ],
        direction: DataDirection::ToDevice {
            parameter_length: PERFORMANCE_DESCRIPTOR_LEN as u32,
        },
    }
}

/// The SET STREAMING performance descriptor (MMC-5 6.39, type 00h). Speeds are
/// given as sizes in kB over times in ms (so size/time is kB/ms = MB/s, or
/// with time 1000, kB/s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PerformanceDescriptor {
    /// WRC: write rotation control (byte 0 bits 4-3).
    pub rotation_control: u8,
    /// RDD: restore drive defaults (byte 0 bit 2).
    pub restore_defaults: bool,
    /// Exact (byte 0 bit 1).
    pub exact: bool,
    /// RA: random access (byte 0 bit 0).
    pub random_access: bool,
    /// Start LBA (bytes 4-7).
    pub start_lba: u32,
    /// End LBA (bytes 8-11).
    pub end_lba: u32,
    /// Read Size in kB (bytes 12-15).
    pub read_size: u32,
    /// Read Time in ms (bytes 16-19).
    pub read_time: u32,
    /// Write Size in kB (bytes 20-23).
    pub write_size: u32,
    /// Write Time in ms (bytes 24-27).
    pub write_time: u32,
}

impl PerformanceDescriptor {
    /// The 28-byte descriptor.
    ///
    /// # Errors
    ///
    /// [`EncodeError::Invalid`] when the rotation control exceeds 2 bits.
    pub fn encode(&self) -> Result<[u8; PERFORMANCE_DESCRIPTOR_LEN], EncodeError> {
        bits("rotation control", u64::from(self.rotation_control), 0x03)?;
        let mut out = [0u8; PERFORMANCE_DESCRIPTOR_LEN];
        let fields = [
            self.start_lba,
            self.end_lba,
            self.read_size,
            self.read_time,
            self.write_size,
            self.write_time,
        ];
        let mut bytes = Vec::with_capacity(PERFORMANCE_DESCRIPTOR_LEN);
        bytes.push(
            (self.rotation_control << 3)
                | (u8::from(self.restore_defaults) << 2)
                | (u8::from(self.exact) << 1)
                | u8::from(self.random_access),
        );
        bytes.extend_from_slice(&[0; 3]);
        for f in fields {
            bytes.extend_from_slice(&f.to_be_bytes());
        }
        for (o, b) in out.iter_mut().zip(bytes) {
            *o = b;
        }
        Ok(out)
    }

    /// Decodes a descriptor.
    ///
    /// # Errors
    ///
    /// [`ParseError::Truncated`] when `buf` is shorter than 28 bytes.
    pub fn parse(buf: &[u8]) -> Result<PerformanceDescriptor, ParseError> {
        let d = slice(buf, "performance descriptor", 0, PERFORMANCE_DESCRIPTOR_LEN)?;
        let b0 = u8_at(d, "performance descriptor flags", 0)?;
        Ok(PerformanceDescriptor {
            rotation_control: (b0 >> 3) & 0x03,
            restore_defaults: b0 & 0x04 != 0,
            exact: b0 & 0x02 != 0,
            random_access: b0 & 0x01 != 0,
            start_lba: be32(d, "start lba", 4)?,
            end_lba: be32(d, "end lba", 8)?,
            read_size: be32(d, "read size", 12)?,
            read_time: be32(d, "read time", 16)?,
            write_size: be32(d, "write size", 20)?,
            write_time: be32(d, "write time", 24)?,
        })
    }
}

/// Speed value meaning "the drive's maximum" for [`set_cd_speed`].
pub const MAX_SPEED: u16 = 0xFFFF;

/// SET CD SPEED: read and write speeds in kB/s ([`MAX_SPEED`] for the
/// fastest), `rotation_control` in byte 1 bits 1-0 (00b CLV, 01b CAV)
/// (speeds as libburn places them).
pub fn set_cd_speed(read_speed: u16, write_speed: u16, rotation_control: u8) -> Command<12> {
    let [rh, rl] = read_speed.to_be_bytes();
    let [wh, wl] = write_speed.to_be_bytes();
    Command {
        cdb: [
            opcode::SET_CD_SPEED,
            rotation_control & 0x03,
            rh,
            rl,
            wh,
            wl,
            0,
            0,
            0,
            0,
            0,
            0,
        ],
        direction: DataDirection::None,
    }
}

// ---- READ BUFFER CAPACITY ----

/// Bytes of the READ BUFFER CAPACITY response (Block 0).
pub const BUFFER_CAPACITY_LEN: usize = 12;

/// READ BUFFER CAPACITY with Block 0 (answer in bytes).
pub fn read_buffer_capacity(allocation_length: u16) -> Command<10> {
    let [h, l] = allocation_length.to_be_bytes();
    Command {
        cdb: [opcode::READ_BUFFER_CAPACITY, 0, 0, 0, 0, 0, 0, h, l, 0],
        direction: DataDirection::FromDevice {
            allocation_length: u32::from(allocation_length),
        },
    }
}

/// A decoded READ BUFFER CAPACITY response (Block 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BufferCapacity {
    /// Length of Buffer in bytes (bytes 4-7).
    pub length: u32,
    /// Blank Length of Buffer in bytes: free space (bytes 8-11).
    pub blank_length: u32,
}

impl BufferCapacity {
    /// Decodes the response.
    ///
    /// # Errors
    ///
    /// [`ParseError::Inconsistent`] when the data length (bytes 0-1) is
    /// below 10 or the blank length exceeds the buffer length;
    /// [`ParseError::Truncated`] when `buf` ends before byte 12.
    pub fn parse(buf: &[u8]) -> Result<BufferCapacity, ParseError> {
        let len = be16(buf, "data length", 0)?;
        if len < 10 {
            return Err(ParseError::Inconsistent {
                field: "data length",
                offset: 0,
                value: u64::from(len),
                problem: "shorter than the 10 bytes of buffer capacity data",
            });
        }
        let length = be32(buf, "length of buffer", 4)?;
        let blank_length = be32(buf, "blank length of buffer", 8)?;
        if blank_length > length {
            return Err(ParseError::Inconsistent {
                field: "blank length of buffer",
                offset: 8,
                value: u64::from(blank_length),
                problem: "larger than the buffer",
            });
        }
        Ok(BufferCapacity {
            length,
            blank_length,
        })
    }

    /// The 12-byte response.
    ///
    /// # Errors
    ///
    /// [`EncodeError::Invalid`] when the blank length exceeds the length.
    pub fn encode(&self) -> Result<[u8; BUFFER_CAPACITY_LEN], EncodeError> {
        if self.blank_length > self.length {
            return Err(EncodeError::Invalid {
                field: "blank length of buffer",
                value: u64::from(self.blank_length),
                problem: "larger than the buffer",
            });
        }
        let [a, b, c, d] = self.length.to_be_bytes();
        let [e, f, g, h] = self.blank_length.to_be_bytes();
        Ok([0, 10, 0, 0, a, b, c, d, e, f, g, h])
    }
}

// ---- progress of long operations ----

/// The progress indication of a long operation (FORMAT UNIT, BLANK, CLOSE
/// TRACK/SESSION or SYNCHRONIZE CACHE with Immed) from raw sense bytes: the
/// numerator of a fraction of 65536 (SPC-4 4.5.2.4.4).
///
/// Fixed format (0x70/0x71): SKSV is byte 15 bit 7 and the indication bytes
/// 16-17, present only if the additional sense length reaches byte 17.
/// Descriptor format (0x72/0x73): the sense key specific descriptor (type
/// 02h), bytes 4-6, which must lie inside that descriptor's own additional
/// length as well. `None` unless the sense key is NO SENSE or NOT READY, SKSV is set
/// and the bytes are present; never panics.
pub fn sense_progress(sense: &[u8]) -> Option<u16> {
    let code = sense.first()? & 0x7F;
    let additional = usize::from(*sense.get(7)?);
    let data = clamp(sense, 8 + additional);
    let (key, sks) = match code {
        0x70 | 0x71 => (*data.get(2)? & 0x0F, data.get(15..18)?),
        0x72 | 0x73 => {
            let key = *data.get(1)? & 0x0F;
            let mut pos = 8;
            let mut found = None;
            while let (Some(&t), Some(&l)) = (data.get(pos), data.get(pos + 1)) {
                if t == 0x02 {
                    // Bytes 4-6 of the descriptor (SPC-4 4.5.2.4.1, additional length
                    // 06h); a shorter descriptor does not carry them, whatever follows it.
                    if usize::from(l) >= 5 {
                        found = data.get(pos + 4..pos + 7);
                    }
                    break;
                }
                pos += 2 + usize::from(l);
            }
            (key, found?)
        }
        _ => return None,
    };
    // NO SENSE (0h) or NOT READY (2h) carry progress; other keys use these
    // bytes for field pointers or retry counts.
    if key != 0x0 && key != 0x2 {
        return None;
    }
    match sks {
        [b0, hi, lo] if b0 & 0x80 != 0 => Some(u16::from_be_bytes([*hi, *lo])),
        _ => None,
    }
}

// ---- the same CDBs, recognised (for an emulated drive) ----
//
// Each reader below takes the fields back out of the layout its builder above writes; the
// dispatcher ([`crate::cdb`]) calls them, so each layout is written down once, here.

/// A transfer CDB's fields: starting LBA and number of blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Transfer {
    /// Logical Block Address (bytes 2-5).
    pub lba: u32,
    /// Transfer Length in blocks.
    pub blocks: u32,
}

/// The fields of a WRITE(10) or READ(10) CDB (transfer length in bytes 7-8), as
/// [`write10`] and [`read10`] lay them out.
///
/// # Errors
///
/// [`ParseError::Truncated`] when `cdb` is shorter than 10 bytes.
pub fn parse_transfer10(cdb: &[u8]) -> Result<Transfer, ParseError> {
    slice(cdb, "CDB", 0, 10)?;
    Ok(Transfer {
        lba: be32(cdb, "logical block address", 2)?,
        blocks: u32::from(be16(cdb, "transfer length", 7)?),
    })
}

/// The fields of a WRITE(12) CDB as [`write12`] lays them out, and its Streaming bit.
///
/// # Errors
///
/// [`ParseError::Truncated`] when `cdb` is shorter than 12 bytes.
pub fn parse_write12(cdb: &[u8]) -> Result<(Transfer, bool), ParseError> {
    slice(cdb, "CDB", 0, 12)?;
    Ok((
        Transfer {
            lba: be32(cdb, "logical block address", 2)?,
            blocks: be32(cdb, "transfer length", 6)?,
        },
        u8_at(cdb, "streaming", 10)? & 0x80 != 0,
    ))
}

/// The Immed bit of a SYNCHRONIZE CACHE CDB ([`synchronize_cache`]).
///
/// # Errors
///
/// [`ParseError::Truncated`] when `cdb` is shorter than 10 bytes.
pub fn parse_synchronize_cache(cdb: &[u8]) -> Result<bool, ParseError> {
    slice(cdb, "CDB", 0, 10)?;
    Ok(u8_at(cdb, "immed", 1)? & 0x02 != 0)
}

impl CloseFunction {
    /// The function in the low three bits of `v`.
    pub fn from_bits(v: u8) -> CloseFunction {
        match v & 0x07 {
            0b001 => CloseFunction::Track,
            0b010 => CloseFunction::Session,
            0b110 => CloseFunction::Finalize,
            o => CloseFunction::Other(o),
        }
    }
}

/// The fields of a CLOSE TRACK/SESSION CDB ([`close_track_session`]): function, track or
/// session number, Immed.
///
/// # Errors
///
/// [`ParseError::Truncated`] when `cdb` is shorter than 10 bytes.
pub fn parse_close_track_session(cdb: &[u8]) -> Result<(CloseFunction, u16, bool), ParseError> {
    slice(cdb, "CDB", 0, 10)?;
    Ok((
        CloseFunction::from_bits(u8_at(cdb, "close function", 2)?),
        be16(cdb, "track/session number", 4)?,
        u8_at(cdb, "immed", 1)? & 0x01 != 0,
    ))
}

/// The fields of a BLANK CDB ([`blank`]): blanking type with its address, Immed.
///
/// # Errors
///
/// [`ParseError::Truncated`] when `cdb` is shorter than 12 bytes.
pub fn parse_blank(cdb: &[u8]) -> Result<(BlankingType, bool), ParseError> {
    slice(cdb, "CDB", 0, 12)?;
    let b1 = u8_at(cdb, "blanking type", 1)?;
    let address = be32(cdb, "start address/track number", 2)?;
    let kind = match b1 & 0x07 {
        0b000 => BlankingType::Full,
        0b001 => BlankingType::Minimal,
        0b010 => BlankingType::Track(address),
        c => BlankingType::Other(c, address),
    };
    Ok((kind, b1 & 0x10 != 0))
}

/// The fields of a FORMAT UNIT CDB ([`format_unit`]): FmtData and the Format Code.
///
/// # Errors
///
/// [`ParseError::Truncated`] when `cdb` is shorter than 6 bytes.
pub fn parse_format_unit(cdb: &[u8]) -> Result<(bool, u8), ParseError> {
    slice(cdb, "CDB", 0, 6)?;
    let b1 = u8_at(cdb, "fmtdata", 1)?;
    Ok((b1 & 0x10 != 0, b1 & 0x07))
}

/// The Reservation Size of a RESERVE TRACK CDB with ARSV 0 ([`reserve_track`]), or `None`
/// when ARSV (byte 1 bit 0) asks for an address-based reservation instead.
///
/// # Errors
///
/// [`ParseError::Truncated`] when `cdb` is shorter than 10 bytes.
pub fn parse_reserve_track(cdb: &[u8]) -> Result<Option<u32>, ParseError> {
    slice(cdb, "CDB", 0, 10)?;
    if u8_at(cdb, "arsv", 1)? & 0x01 != 0 {
        return Ok(None);
    }
    Ok(Some(be32(cdb, "reservation size", 5)?))
}

/// The fields of a MODE SELECT(10) CDB ([`mode_select10`]): PF, SP, parameter list length.
///
/// # Errors
///
/// [`ParseError::Truncated`] when `cdb` is shorter than 10 bytes.
pub fn parse_mode_select10(cdb: &[u8]) -> Result<(bool, bool, u16), ParseError> {
    slice(cdb, "CDB", 0, 10)?;
    let b1 = u8_at(cdb, "pf/sp", 1)?;
    Ok((
        b1 & 0x10 != 0,
        b1 & 0x01 != 0,
        be16(cdb, "parameter list length", 7)?,
    ))
}

/// The fields of a GET PERFORMANCE CDB ([`get_performance_write_speed`]): Type (byte 10)
/// and Maximum Number of Descriptors (bytes 8-9).
///
/// # Errors
///
/// [`ParseError::Truncated`] when `cdb` is shorter than 12 bytes.
pub fn parse_get_performance(cdb: &[u8]) -> Result<(u8, u16), ParseError> {
    slice(cdb, "CDB", 0, 12)?;
    Ok((
        u8_at(cdb, "type", 10)?,
        be16(cdb, "maximum number of descriptors", 8)?,
    ))
}

/// The fields of a SET STREAMING CDB ([`set_streaming`]): Type (byte 8) and the parameter
/// list length (bytes 9-10).
///
/// # Errors
///
/// [`ParseError::Truncated`] when `cdb` is shorter than 12 bytes.
pub fn parse_set_streaming(cdb: &[u8]) -> Result<(u8, u16), ParseError> {
    slice(cdb, "CDB", 0, 12)?;
    Ok((
        u8_at(cdb, "type", 8)?,
        be16(cdb, "parameter list length", 9)?,
    ))
}

/// The fields of a SET CD SPEED CDB ([`set_cd_speed`]): read speed, write speed.
///
/// # Errors
///
/// [`ParseError::Truncated`] when `cdb` is shorter than 12 bytes.
pub fn parse_set_cd_speed(cdb: &[u8]) -> Result<(u16, u16), ParseError> {
    slice(cdb, "CDB", 0, 12)?;
    Ok((be16(cdb, "read speed", 2)?, be16(cdb, "write speed", 4)?))
}

/// The fields of a READ BUFFER CAPACITY CDB ([`read_buffer_capacity`]): the Block bit
/// (byte 1 bit 0) and the allocation length.
///
/// # Errors
///
/// [`ParseError::Truncated`] when `cdb` is shorter than 10 bytes.
pub fn parse_read_buffer_capacity(cdb: &[u8]) -> Result<(bool, u16), ParseError> {
    slice(cdb, "CDB", 0, 10)?;
    Ok((
        u8_at(cdb, "block", 1)? & 0x01 != 0,
        be16(cdb, "allocation length", 7)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_cue_sheet_cdb_round_trips() {
        let c = send_cue_sheet(32).expect("fits");
        assert_eq!(c.cdb, [0x5D, 0, 0, 0, 0, 0, 0, 0, 32, 0]);
        assert_eq!(
            c.direction,
            DataDirection::ToDevice {
                parameter_length: 32
            }
        );
        assert_eq!(parse_send_cue_sheet(&c.cdb), Ok(32));
        let c = send_cue_sheet(0x12_3456).expect("fits");
        assert_eq!(parse_send_cue_sheet(&c.cdb), Ok(0x12_3456));
        assert!(send_cue_sheet(0x100_0000).is_err());
        assert!(parse_send_cue_sheet(&c.cdb[..9]).is_err());
    }

    #[test]
    fn cue_sheet_round_trips_and_times_are_lbas() {
        // libburn's sheet for one Mode 1 track of 300 blocks.
        let bytes = [
            0x41, 0, 0, 0x14, 0, 0, 0, 0, 0x41, 1, 0, 0x10, 0, 0, 0, 0, 0x41, 1, 1, 0x10, 0, 0, 2,
            0, 0x41, 0xAA, 1, 0x14, 0, 0, 6, 0,
        ];
        let entries = parse_cue_sheet(&bytes).expect("decodes");
        assert_eq!(entries.len(), 4);
        assert_eq!(encode_cue_sheet(&entries), bytes);
        let lbas: Vec<Option<i32>> = entries.iter().map(CueEntry::lba).collect();
        assert_eq!(lbas, vec![Some(-150), Some(-150), Some(0), Some(300)]);
        let e = entries.get(3).copied().expect("lead-out");
        assert_eq!((e.adr(), e.control(), e.tno, e.index), (1, 4, 0xAA, 1));
        let bad_time = CueEntry {
            msf: [0, 60, 0],
            ..e
        };
        assert_eq!(bad_time.lba(), None);
        assert!(parse_cue_sheet(&bytes[..30]).is_err());
        assert_eq!(parse_cue_sheet(&[]), Ok(Vec::new()));
    }

    #[test]
    fn write10_cdb() {
        let c = write10(0x0001_0203, 16, 2048);
        assert_eq!(c.cdb, [0x2A, 0, 0, 1, 2, 3, 0, 0, 16, 0]);
        assert_eq!(
            c.direction,
            DataDirection::ToDevice {
                parameter_length: 32768
            }
        );
    }

    #[test]
    fn write12_cdb_with_streaming() {
        let c = write12(0x10, 0x0102_0304, 1, true).expect("fits");
        assert_eq!(c.cdb, [0xAA, 0, 0, 0, 0, 0x10, 1, 2, 3, 4, 0x80, 0]);
        assert!(write12(0, u32::MAX, 2048, false).is_err());
        let c = write12(0, 32, 2048, false).expect("fits");
        assert_eq!(c.cdb[10], 0);
        assert_eq!(
            c.direction,
            DataDirection::ToDevice {
                parameter_length: 65536
            }
        );
    }

    #[test]
    fn read10_cdb() {
        let c = read10(0xAABB_CCDD, 2, 2048);
        assert_eq!(c.cdb, [0x28, 0, 0xAA, 0xBB, 0xCC, 0xDD, 0, 0, 2, 0]);
        assert_eq!(c.allocation_length(), 4096);
    }

    #[test]
    fn synchronize_cache_cdb() {
        assert_eq!(
            synchronize_cache(true).cdb,
            [0x35, 2, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(synchronize_cache(false).cdb[1], 0);
    }

    #[test]
    fn close_track_session_cdb() {
        assert_eq!(
            close_track_session(CloseFunction::Track, 0x0102, true).cdb,
            [0x5B, 1, 1, 0, 1, 2, 0, 0, 0, 0]
        );
        assert_eq!(
            close_track_session(CloseFunction::Session, 0, false).cdb,
            [0x5B, 0, 2, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            close_track_session(CloseFunction::Finalize, 0, false).cdb[2],
            6
        );
        assert_eq!(
            close_track_session(CloseFunction::Other(0xFD), 0, false).cdb[2],
            5
        );
    }

    #[test]
    fn blank_cdb() {
        assert_eq!(
            blank(BlankingType::Minimal, true).cdb,
            [0xA1, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(blank(BlankingType::Full, false).cdb[1], 0);
        assert_eq!(
            blank(BlankingType::Track(3), false).cdb,
            [0xA1, 0x02, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn reserve_track_cdb() {
        assert_eq!(
            reserve_track(0x0001_0000).cdb,
            [0x53, 0, 0, 0, 0, 0, 1, 0, 0, 0]
        );
    }

    #[test]
    fn format_unit_cdb_and_parameter_list() {
        let c = format_unit();
        assert_eq!(c.cdb, [0x04, 0x11, 0, 0, 0, 0]);
        let p = FormatParameters {
            immed: true,
            number_of_blocks: 0x0023_0540,
            format_type: 0x26,
            format_subtype: 0,
            type_dependent: 0,
        };
        let bytes = p.encode().expect("encodes");
        assert_eq!(bytes, [0, 0x82, 0, 8, 0, 0x23, 0x05, 0x40, 0x98, 0, 0, 0]);
        assert_eq!(FormatParameters::parse(&bytes), Ok(p));
        assert!(matches!(
            FormatParameters::parse(&bytes[..11]),
            Err(ParseError::Truncated { .. })
        ));
        let mut bad = bytes;
        bad[3] = 16;
        assert!(matches!(
            FormatParameters::parse(&bad),
            Err(ParseError::Inconsistent { .. })
        ));
        assert!(FormatParameters {
            format_type: 0x40,
            ..p
        }
        .encode()
        .is_err());
    }

    #[test]
    fn mode_select10_cdb_and_write_parameters() {
        assert_eq!(
            mode_select10(60, true, false).cdb,
            [0x55, 0x10, 0, 0, 0, 0, 0, 0, 60, 0]
        );
        let w = WriteParameters {
            test_write: true,
            write_type: WriteType::SessionAtOnce,
            multi_session: MultiSession::NextSessionAllowed,
            packet_size: 16,
            ..WriteParameters::default()
        };
        let page = w.encode().expect("encodes");
        assert_eq!(page.len(), WRITE_PARAMETERS_LEN);
        assert_eq!(&page[..6], &[0x05, 0x32, 0x52, 0xC4, 0x08, 0]);
        assert_eq!(&page[10..16], &[0, 0, 0, 16, 0, 150]);
        assert_eq!(WriteParameters::parse(&page), Ok(w));
        let list = w.encode_mode_select10().expect("encodes");
        assert_eq!(list.len(), 60);
        assert_eq!(WriteParameters::parse_mode_parameters(&list), Ok(w));
        assert!(matches!(
            WriteParameters::parse(&page[..51]),
            Err(ParseError::Truncated { .. })
        ));
        let mut bad = page.clone();
        bad[0] = 0x2A;
        assert!(matches!(
            WriteParameters::parse(&bad),
            Err(ParseError::Inconsistent { .. })
        ));
        let mut bad = page;
        bad[1] = 0x10;
        assert!(matches!(
            WriteParameters::parse(&bad),
            Err(ParseError::Inconsistent { .. })
        ));
        assert!(WriteParameters {
            track_mode: 0x10,
            ..w
        }
        .encode()
        .is_err());
    }

    #[test]
    fn get_performance_cdb_and_write_speeds() {
        let c = get_performance_write_speed(4);
        assert_eq!(c.cdb, [0xAC, 0, 0, 0, 0, 0, 0, 0, 0, 4, 3, 0]);
        assert_eq!(c.allocation_length(), 72);
        let mut r = vec![0, 0, 0, 36, 0, 0, 0, 0];
        r.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x23, 0x05, 0x3F]);
        r.extend_from_slice(&[0, 0, 0x2B, 0x11, 0, 0, 0x2B, 0x11]); // 11025 kB/s = 8x DVD
        r.extend_from_slice(&[0, 0, 0, 0, 0, 0x23, 0x05, 0x3F]);
        r.extend_from_slice(&[0, 0, 0x2B, 0x11, 0, 0, 0x15, 0x88]); // 5512 = 4x DVD
        let s = WriteSpeeds::parse(&r).expect("parses");
        assert_eq!(s.speeds(), vec![11025, 5512]);
        assert!(s.complete);
        assert!(s.descriptors[0].exact);
        assert_eq!(s.descriptors[0].end_lba, 0x0023_053F);
        assert_eq!(WriteSpeeds::parse(&s.encode().expect("encodes")), Ok(s));
        let cut = WriteSpeeds::parse(&r[..30]).expect("parses");
        assert_eq!(cut.speeds(), vec![11025]);
        assert!(!cut.complete);
        assert!(matches!(
            WriteSpeeds::parse(&r[..7]),
            Err(ParseError::Truncated { .. })
        ));
        let mut bad = r.clone();
        bad[3] = 30;
        assert!(matches!(
            WriteSpeeds::parse(&bad),
            Err(ParseError::Inconsistent { .. })
        ));
        bad[3] = 2;
        assert!(matches!(
            WriteSpeeds::parse(&bad),
            Err(ParseError::Inconsistent { .. })
        ));
    }

    #[test]
    fn set_streaming_cdb_and_descriptor() {
        assert_eq!(
            set_streaming().cdb,
            [0xB6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 28, 0]
        );
        let d = PerformanceDescriptor {
            rotation_control: 0,
            restore_defaults: false,
            exact: true,
            random_access: false,
            start_lba: 0,
            end_lba: 0x0023_053F,
            read_size: 11080,
            read_time: 1000,
            write_size: 5540,
            write_time: 1000,
        };
        let b = d.encode().expect("encodes");
        assert_eq!(&b[..12], &[2, 0, 0, 0, 0, 0, 0, 0, 0, 0x23, 0x05, 0x3F]);
        assert_eq!(&b[20..28], &[0, 0, 0x15, 0xA4, 0, 0, 0x03, 0xE8]);
        assert_eq!(PerformanceDescriptor::parse(&b), Ok(d));
        assert!(PerformanceDescriptor::parse(&b[..27]).is_err());
    }

    #[test]
    fn set_cd_speed_cdb() {
        assert_eq!(
            set_cd_speed(MAX_SPEED, 1764, 0).cdb,
            [0xBB, 0, 0xFF, 0xFF, 0x06, 0xE4, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn read_buffer_capacity_cdb_and_response() {
        assert_eq!(
            read_buffer_capacity(12).cdb,
            [0x5C, 0, 0, 0, 0, 0, 0, 0, 12, 0]
        );
        let b = BufferCapacity {
            length: 0x0020_0000,
            blank_length: 0x0010_0000,
        };
        let bytes = b.encode().expect("encodes");
        assert_eq!(bytes, [0, 10, 0, 0, 0, 0x20, 0, 0, 0, 0x10, 0, 0]);
        assert_eq!(BufferCapacity::parse(&bytes), Ok(b));
        assert!(matches!(
            BufferCapacity::parse(&bytes[..11]),
            Err(ParseError::Truncated { .. })
        ));
        let mut bad = bytes;
        bad[1] = 6;
        assert!(matches!(
            BufferCapacity::parse(&bad),
            Err(ParseError::Inconsistent { .. })
        ));
        let mut bad = bytes;
        bad[9] = 0x30;
        assert!(matches!(
            BufferCapacity::parse(&bad),
            Err(ParseError::Inconsistent { .. })
        ));
    }

    #[test]
    fn progress_from_fixed_and_descriptor_sense() {
        // NOT READY, 04/04 FORMAT IN PROGRESS, SKSV, 0x8000 = half done.
        let mut fixed = [0u8; 18];
        fixed[0] = 0x70;
        fixed[2] = 0x02;
        fixed[7] = 10;
        fixed[12] = 0x04;
        fixed[13] = 0x04;
        fixed[15] = 0x80;
        fixed[16] = 0x80;
        assert_eq!(sense_progress(&fixed), Some(0x8000));
        assert_eq!(sense_progress(&fixed[..17]), None);
        let mut no_sksv = fixed;
        no_sksv[15] = 0;
        assert_eq!(sense_progress(&no_sksv), None);
        let mut illegal = fixed;
        illegal[2] = 0x05;
        assert_eq!(sense_progress(&illegal), None);
        let mut short = fixed;
        short[7] = 6;
        assert_eq!(sense_progress(&short), None);
        let desc = [
            0x72, 0x02, 0x04, 0x04, 0, 0, 0, 8, 0x02, 0x06, 0, 0, 0x80, 0x40, 0x00, 0,
        ];
        assert_eq!(sense_progress(&desc), Some(0x4000));
        assert_eq!(sense_progress(&desc[..14]), None);
        assert_eq!(sense_progress(&[]), None);
    }

    /// The bytes other implementations send to real drives for the same
    /// requests (libburn `libburn/mmc.c`, growisofs `growisofs_mmc.cpp` and
    /// `dvd+rw-format.cpp`), rebuilt with this module's builders.
    #[test]
    fn cdbs_and_payloads_match_libburn_and_growisofs() {
        // growisofs: DVD+R close track N (Immed), then finalize (110b), or
        // with DVD+R DL finalize with minimal radius (101b); close session.
        assert_eq!(
            close_track_session(CloseFunction::Track, 0x0003, true).cdb,
            [0x5B, 0x01, 0x01, 0, 0x00, 0x03, 0, 0, 0, 0]
        );
        assert_eq!(
            close_track_session(CloseFunction::Finalize, 0, true).cdb,
            [0x5B, 0x01, 0x06, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            close_track_session(CloseFunction::Other(0b101), 0, true).cdb[2],
            0x05
        );
        assert_eq!(
            close_track_session(CloseFunction::Session, 0, true).cdb,
            [0x5B, 0x01, 0x02, 0, 0, 0, 0, 0, 0, 0]
        );
        // libburn: SYNCHRONIZE CACHE with Immed; BLANK fast with Immed.
        assert_eq!(
            synchronize_cache(true).cdb,
            [0x35, 0x02, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(blank(BlankingType::Minimal, true).cdb[..2], [0xA1, 0x11]);
        assert_eq!(blank(BlankingType::Full, true).cdb[..2], [0xA1, 0x10]);
        // libburn and growisofs: FORMAT UNIT with FmtData and format code 001b.
        assert_eq!(format_unit().cdb, [0x04, 0x11, 0, 0, 0, 0]);
        // libburn's DVD+RW list (Immed alone, all blocks, type 26h) parses;
        // growisofs' BD-RE full format with certification is what we encode.
        let plus_rw = [0, 0x02, 0, 8, 0xFF, 0xFF, 0xFF, 0xFF, 0x26 << 2, 0, 0, 0];
        assert_eq!(
            FormatParameters::parse(&plus_rw),
            Ok(FormatParameters {
                immed: true,
                number_of_blocks: u32::MAX,
                format_type: 0x26,
                format_subtype: 0,
                type_dependent: 0,
            })
        );
        let bd_re = FormatParameters {
            immed: true,
            number_of_blocks: 11_826_176,
            format_type: 0x30,
            format_subtype: 2,
            type_dependent: 0x3000,
        };
        assert_eq!(
            bd_re.encode(),
            Ok([0, 0x82, 0, 8, 0, 0xB4, 0x74, 0, 0xC2, 0, 0x30, 0])
        );
        // libburn: RESERVE TRACK size in bytes 5-8.
        assert_eq!(
            reserve_track(0x0001_0203).cdb,
            [0x53, 0, 0, 0, 0, 0x00, 0x01, 0x02, 0x03, 0]
        );
        // libburn: GET PERFORMANCE, descriptors in bytes 8-9, type 03h in 10.
        assert_eq!(
            get_performance_write_speed(0x0102).cdb,
            [0xAC, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x02, 0x03, 0]
        );
        // libburn: SET STREAMING parameter list length in bytes 9-10; its
        // descriptor: end LBA at 8, read size/time at 12/16, write at 20/24.
        assert_eq!(set_streaming().cdb[9..11], [0, 28]);
        let d = PerformanceDescriptor {
            rotation_control: 0,
            restore_defaults: false,
            exact: false,
            random_access: false,
            start_lba: 0,
            end_lba: 2_294_920,
            read_size: 0x1000_0000,
            read_time: 1000,
            write_size: 177,
            write_time: 1000,
        }
        .encode()
        .expect("encodes");
        assert_eq!(d[8..12], 2_294_920u32.to_be_bytes());
        assert_eq!(d[12..16], [0x10, 0, 0, 0]);
        assert_eq!(d[16..20], [0, 0, 0x03, 0xE8]);
        assert_eq!(d[20..24], [0, 0, 0, 177]);
        // libburn: WRITE(12) Streaming bit, SET CD SPEED speeds in 2-5.
        assert_eq!(write12(0, 16, 2048, true).expect("fits").cdb[10], 0x80);
        assert_eq!(
            set_cd_speed(0xFFFF, 1764, 0).cdb[..6],
            [0xBB, 0, 0xFF, 0xFF, 0x06, 0xE4]
        );
        // libburn's page 05h for DVD-R incremental: BUFE and LS_V, write type
        // 0; multi-session 11b, FP, track mode 5; data block type 8; link
        // size 16; packet size 16 (byte 13).
        let page = WriteParameters {
            link_size_valid: true,
            write_type: WriteType::Packet,
            multi_session: MultiSession::NextSessionAllowed,
            fixed_packet: true,
            track_mode: 5,
            link_size: 16,
            packet_size: 16,
            audio_pause_length: 0,
            ..WriteParameters::default()
        }
        .encode()
        .expect("encodes");
        assert_eq!(page[2..6], [0x60, 0xE5, 0x08, 16]);
        assert_eq!(page[10..14], [0, 0, 0, 16]);
        // Its CD TAO page: audio pause 150 in bytes 14-15.
        let tao = WriteParameters::default().encode().expect("encodes");
        assert_eq!(tao[14..16], [0, 150]);
    }

    #[test]
    fn progress_needs_the_whole_sense_key_specific_descriptor() {
        // Fuzz finding (fuzz/regressions/sense_progress/): a type 02h descriptor with
        // additional length 3 ends after its byte 4, so "progress" 0x0004 was read from
        // the type and length bytes of the descriptor after it. SPC-4 4.5.2.4.1 gives
        // the sense key specific descriptor additional length 06h.
        let cut = [
            0x72, 0x02, 0x04, 0x04, 0, 0, 0, 13, 0x02, 0x03, 0, 0, 0x80, 0x00, 0x04, 0x80, 0, 0,
            0x11, 0x22, 0x33,
        ];
        assert_eq!(sense_progress(&cut), None);
        let mut whole = cut;
        whole[9] = 0x06;
        assert_eq!(sense_progress(&whole), Some(0x0004));
        let mut five = cut;
        five[9] = 0x05;
        assert_eq!(sense_progress(&five), Some(0x0004));
    }
}
