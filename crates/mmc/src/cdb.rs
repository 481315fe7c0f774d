//! Recognising an incoming CDB: the operation code plus the fields an
//! emulated drive needs to answer it. The inverse of the builders in the
//! command modules (SPC-4 4.2 "The command descriptor block", with each
//! command's layout from SPC-4 6.4, 6.12, 6.29, 6.37, SBC-3 5.25, SPC-3 6.13
//! and MMC-6 6.6, 6.7).
//!
//! Owns [`Cdb`], the dispatcher's view of a command. It is the one module
//! that imports the command modules (for their field types), so it must not
//! be imported by them: a command module that needs an operation code takes
//! it from [`crate::codes::opcode`]. No I/O, and no answering: what the drive
//! does with a CDB is [`crate::emulator`]'s.

use crate::bytes::{be16, slice, u8_at};
use crate::codes::opcode;
use crate::configuration::{FeatureCode, RequestType};
use crate::disc::{self, TrackAddress};
use crate::mode::PageControl;
use crate::unit::{MediumRemoval, StartStop};
use crate::write::{self, BlankingType, CloseFunction, Transfer};
use crate::ParseError;

/// Bytes of a block read or written by READ(10) and WRITE(10)/(12): the drive's block length.
pub const BLOCK_LEN: usize = 2048;

/// A recognised CDB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cdb {
    /// TEST UNIT READY.
    TestUnitReady,
    /// REQUEST SENSE.
    RequestSense {
        /// DESC bit: descriptor-format sense wanted.
        descriptor_format: bool,
        /// Allocation length.
        allocation_length: u8,
    },
    /// INQUIRY.
    Inquiry {
        /// EVPD bit: a VPD page is asked for.
        vpd: bool,
        /// Page code (must be 0 when `vpd` is false; the drive answers
        /// INVALID FIELD IN CDB otherwise).
        page_code: u8,
        /// Allocation length.
        allocation_length: u16,
    },
    /// START STOP UNIT.
    StartStopUnit {
        /// IMMED bit.
        immediate: bool,
        /// Power condition (4 bits); eject and load happen only when it is 0.
        power_condition: u8,
        /// The LoEj/Start action.
        action: StartStop,
    },
    /// PREVENT ALLOW MEDIUM REMOVAL.
    PreventAllowMediumRemoval {
        /// The request.
        request: MediumRemoval,
    },
    /// GET CONFIGURATION.
    GetConfiguration {
        /// RT field.
        request_type: RequestType,
        /// Starting feature number.
        starting_feature: FeatureCode,
        /// Allocation length.
        allocation_length: u16,
    },
    /// GET EVENT STATUS NOTIFICATION.
    GetEventStatusNotification {
        /// Polled bit (asynchronous mode is not supported by MMC drives).
        polled: bool,
        /// Notification class request bits.
        class_request: u8,
        /// Allocation length.
        allocation_length: u16,
    },
    /// MODE SENSE(10).
    ModeSense10 {
        /// DBD bit.
        disable_block_descriptors: bool,
        /// LLBAA bit.
        long_lba_accepted: bool,
        /// PC field.
        page_control: PageControl,
        /// Page code (6 bits).
        page_code: u8,
        /// Subpage code.
        subpage_code: u8,
        /// Allocation length.
        allocation_length: u16,
    },
    /// READ DISC INFORMATION.
    ReadDiscInformation {
        /// Data Type (3 bits; 000b standard disc information).
        data_type: u8,
        /// Allocation length.
        allocation_length: u16,
    },
    /// READ TRACK INFORMATION.
    ReadTrackInformation {
        /// The track asked for.
        address: TrackAddress,
        /// Allocation length.
        allocation_length: u16,
    },
    /// READ CAPACITY (8 bytes of data-in).
    ReadCapacity,
    /// READ TOC/PMA/ATIP.
    ReadToc {
        /// MSF bit: addresses as minute/second/frame.
        msf: bool,
        /// Format field (4 bits; 0 TOC, 1 session information).
        format: u8,
        /// Starting track (format 0) or session number.
        track_or_session: u8,
        /// Allocation length.
        allocation_length: u16,
    },
    /// READ FORMAT CAPACITIES.
    ReadFormatCapacities {
        /// Allocation length.
        allocation_length: u16,
    },
    /// WRITE(10).
    Write10 {
        /// Where and how many blocks.
        transfer: Transfer,
    },
    /// WRITE(12).
    Write12 {
        /// Where and how many blocks.
        transfer: Transfer,
        /// Streaming bit.
        streaming: bool,
    },
    /// READ(10).
    Read10 {
        /// Where and how many blocks.
        transfer: Transfer,
    },
    /// SYNCHRONIZE CACHE(10).
    SynchronizeCache {
        /// Immed bit.
        immed: bool,
    },
    /// CLOSE TRACK/SESSION.
    CloseTrackSession {
        /// Close Function.
        function: CloseFunction,
        /// Track or session number.
        number: u16,
        /// Immed bit.
        immed: bool,
    },
    /// BLANK.
    Blank {
        /// Blanking Type with its address.
        kind: BlankingType,
        /// Immed bit.
        immed: bool,
    },
    /// FORMAT UNIT.
    FormatUnit {
        /// FmtData: a parameter list follows.
        fmt_data: bool,
        /// Format Code (3 bits; 001b for MMC).
        format_code: u8,
    },
    /// RESERVE TRACK.
    ReserveTrack {
        /// Reservation Size in blocks; `None` for an ARSV (address) reservation.
        blocks: Option<u32>,
    },
    /// MODE SELECT(10).
    ModeSelect10 {
        /// PF bit.
        page_format: bool,
        /// SP bit.
        save_pages: bool,
        /// Parameter list length.
        parameter_length: u16,
    },
    /// GET PERFORMANCE.
    GetPerformance {
        /// Type (03h write speed).
        data_type: u8,
        /// Maximum Number of Descriptors.
        max_descriptors: u16,
    },
    /// SET STREAMING.
    SetStreaming {
        /// Type (00h performance descriptor).
        data_type: u8,
        /// Parameter list length.
        parameter_length: u16,
    },
    /// SET CD SPEED.
    SetCdSpeed {
        /// Read speed, kB/s.
        read_speed: u16,
        /// Write speed, kB/s.
        write_speed: u16,
    },
    /// SEND CUE SHEET.
    SendCueSheet {
        /// Cue Sheet Size in bytes (24 bits).
        parameter_length: u32,
    },
    /// READ BUFFER CAPACITY.
    ReadBufferCapacity {
        /// Block bit: answer in blocks.
        block: bool,
        /// Allocation length.
        allocation_length: u16,
    },
    /// Any other operation code; an emulated drive answers INVALID COMMAND
    /// OPERATION CODE.
    Unsupported {
        /// The operation code.
        opcode: u8,
    },
}

impl Cdb {
    /// The most data-in bytes the command allows the device to send: its allocation length, or
    /// 0 for commands without data-in (and for unrecognised ones).
    pub fn allocation_length(&self) -> usize {
        match *self {
            Cdb::RequestSense {
                allocation_length, ..
            } => usize::from(allocation_length),
            Cdb::Inquiry {
                allocation_length, ..
            }
            | Cdb::GetConfiguration {
                allocation_length, ..
            }
            | Cdb::GetEventStatusNotification {
                allocation_length, ..
            }
            | Cdb::ModeSense10 {
                allocation_length, ..
            }
            | Cdb::ReadDiscInformation {
                allocation_length, ..
            }
            | Cdb::ReadTrackInformation {
                allocation_length, ..
            }
            | Cdb::ReadToc {
                allocation_length, ..
            }
            | Cdb::ReadFormatCapacities { allocation_length }
            | Cdb::ReadBufferCapacity {
                allocation_length, ..
            } => usize::from(allocation_length),
            Cdb::ReadCapacity => disc::CAPACITY_LEN,
            Cdb::Read10 { transfer } => usize::try_from(transfer.blocks)
                .unwrap_or(usize::MAX)
                .saturating_mul(BLOCK_LEN),
            Cdb::GetPerformance {
                max_descriptors, ..
            } => {
                write::PERFORMANCE_HEADER_LEN
                    + usize::from(max_descriptors) * write::WRITE_SPEED_DESCRIPTOR_LEN
            }
            Cdb::TestUnitReady
            | Cdb::StartStopUnit { .. }
            | Cdb::PreventAllowMediumRemoval { .. }
            | Cdb::Write10 { .. }
            | Cdb::Write12 { .. }
            | Cdb::SynchronizeCache { .. }
            | Cdb::CloseTrackSession { .. }
            | Cdb::Blank { .. }
            | Cdb::FormatUnit { .. }
            | Cdb::ReserveTrack { .. }
            | Cdb::ModeSelect10 { .. }
            | Cdb::SetStreaming { .. }
            | Cdb::SetCdSpeed { .. }
            | Cdb::SendCueSheet { .. }
            | Cdb::Unsupported { .. } => 0,
        }
    }

    /// Recognises a CDB. Known commands need their full CDB length (6 or
    /// 10 bytes; longer input is accepted, the rest ignored); an unknown
    /// opcode needs one byte. GET CONFIGURATION with the reserved RT value 3
    /// is `Inconsistent`.
    ///
    /// # Errors
    ///
    /// [`ParseError::Truncated`] when `cdb` is empty or shorter than its known
    /// operation code's CDB; [`ParseError::Inconsistent`] for GET CONFIGURATION
    /// with RT 3.
    pub fn parse(cdb: &[u8]) -> Result<Cdb, ParseError> {
        let op = u8_at(cdb, "operation code", 0)?;
        let need = |len: usize| slice(cdb, "CDB", 0, len).map(|_| ());
        Ok(match op {
            opcode::TEST_UNIT_READY => {
                need(6)?;
                Cdb::TestUnitReady
            }
            opcode::REQUEST_SENSE => {
                need(6)?;
                Cdb::RequestSense {
                    descriptor_format: u8_at(cdb, "DESC", 1)? & 0x01 != 0,
                    allocation_length: u8_at(cdb, "allocation length", 4)?,
                }
            }
            opcode::INQUIRY => {
                need(6)?;
                Cdb::Inquiry {
                    vpd: u8_at(cdb, "EVPD", 1)? & 0x01 != 0,
                    page_code: u8_at(cdb, "page code", 2)?,
                    allocation_length: be16(cdb, "allocation length", 3)?,
                }
            }
            opcode::START_STOP_UNIT => {
                need(6)?;
                let b4 = u8_at(cdb, "LoEj/Start", 4)?;
                Cdb::StartStopUnit {
                    immediate: u8_at(cdb, "IMMED", 1)? & 0x01 != 0,
                    power_condition: b4 >> 4,
                    action: StartStop::from_bits(b4 & 0x02 != 0, b4 & 0x01 != 0),
                }
            }
            opcode::PREVENT_ALLOW_MEDIUM_REMOVAL => {
                need(6)?;
                Cdb::PreventAllowMediumRemoval {
                    request: MediumRemoval::from_bits(u8_at(cdb, "prevent", 4)?),
                }
            }
            opcode::GET_CONFIGURATION => {
                need(10)?;
                let rt = u8_at(cdb, "RT", 1)? & 0x03;
                let request_type = RequestType::from_bits(rt).ok_or(ParseError::Inconsistent {
                    field: "RT",
                    offset: 1,
                    value: u64::from(rt),
                    problem: "reserved request type",
                })?;
                Cdb::GetConfiguration {
                    request_type,
                    starting_feature: FeatureCode(be16(cdb, "starting feature number", 2)?),
                    allocation_length: be16(cdb, "allocation length", 7)?,
                }
            }
            opcode::GET_EVENT_STATUS_NOTIFICATION => {
                need(10)?;
                Cdb::GetEventStatusNotification {
                    polled: u8_at(cdb, "polled", 1)? & 0x01 != 0,
                    class_request: u8_at(cdb, "notification class request", 4)?,
                    allocation_length: be16(cdb, "allocation length", 7)?,
                }
            }
            opcode::MODE_SENSE_10 => {
                need(10)?;
                let b1 = u8_at(cdb, "DBD/LLBAA", 1)?;
                let b2 = u8_at(cdb, "page code", 2)?;
                Cdb::ModeSense10 {
                    disable_block_descriptors: b1 & 0x08 != 0,
                    long_lba_accepted: b1 & 0x10 != 0,
                    page_control: PageControl::from_bits(b2 >> 6),
                    page_code: b2 & 0x3F,
                    subpage_code: u8_at(cdb, "subpage code", 3)?,
                    allocation_length: be16(cdb, "allocation length", 7)?,
                }
            }
            opcode::READ_DISC_INFORMATION => Cdb::ReadDiscInformation {
                data_type: disc::parse_read_disc_information(cdb)?,
                allocation_length: disc::parse_allocation_length(cdb)?,
            },
            opcode::READ_TRACK_INFORMATION => Cdb::ReadTrackInformation {
                address: disc::parse_read_track_information(cdb)?.ok_or(
                    ParseError::Inconsistent {
                        field: "address/number type",
                        offset: 1,
                        value: 3,
                        problem: "reserved address/number type",
                    },
                )?,
                allocation_length: disc::parse_allocation_length(cdb)?,
            },
            opcode::READ_CAPACITY => {
                need(10)?;
                Cdb::ReadCapacity
            }
            opcode::READ_TOC_PMA_ATIP => {
                let (msf, format, track_or_session) = disc::parse_read_toc(cdb)?;
                Cdb::ReadToc {
                    msf,
                    format,
                    track_or_session,
                    allocation_length: disc::parse_allocation_length(cdb)?,
                }
            }
            opcode::READ_FORMAT_CAPACITIES => Cdb::ReadFormatCapacities {
                allocation_length: disc::parse_allocation_length(cdb)?,
            },
            opcode::WRITE_10 => Cdb::Write10 {
                transfer: write::parse_transfer10(cdb)?,
            },
            opcode::WRITE_12 => {
                let (transfer, streaming) = write::parse_write12(cdb)?;
                Cdb::Write12 {
                    transfer,
                    streaming,
                }
            }
            opcode::READ_10 => Cdb::Read10 {
                transfer: write::parse_transfer10(cdb)?,
            },
            opcode::SYNCHRONIZE_CACHE => Cdb::SynchronizeCache {
                immed: write::parse_synchronize_cache(cdb)?,
            },
            opcode::CLOSE_TRACK_SESSION => {
                let (function, number, immed) = write::parse_close_track_session(cdb)?;
                Cdb::CloseTrackSession {
                    function,
                    number,
                    immed,
                }
            }
            opcode::BLANK => {
                let (kind, immed) = write::parse_blank(cdb)?;
                Cdb::Blank { kind, immed }
            }
            opcode::FORMAT_UNIT => {
                let (fmt_data, format_code) = write::parse_format_unit(cdb)?;
                Cdb::FormatUnit {
                    fmt_data,
                    format_code,
                }
            }
            opcode::RESERVE_TRACK => Cdb::ReserveTrack {
                blocks: write::parse_reserve_track(cdb)?,
            },
            opcode::MODE_SELECT_10 => {
                let (page_format, save_pages, parameter_length) = write::parse_mode_select10(cdb)?;
                Cdb::ModeSelect10 {
                    page_format,
                    save_pages,
                    parameter_length,
                }
            }
            opcode::GET_PERFORMANCE => {
                let (data_type, max_descriptors) = write::parse_get_performance(cdb)?;
                Cdb::GetPerformance {
                    data_type,
                    max_descriptors,
                }
            }
            opcode::SET_STREAMING => {
                let (data_type, parameter_length) = write::parse_set_streaming(cdb)?;
                Cdb::SetStreaming {
                    data_type,
                    parameter_length,
                }
            }
            opcode::SET_CD_SPEED => {
                let (read_speed, write_speed) = write::parse_set_cd_speed(cdb)?;
                Cdb::SetCdSpeed {
                    read_speed,
                    write_speed,
                }
            }
            opcode::READ_BUFFER_CAPACITY => {
                let (block, allocation_length) = write::parse_read_buffer_capacity(cdb)?;
                Cdb::ReadBufferCapacity {
                    block,
                    allocation_length,
                }
            }
            opcode::SEND_CUE_SHEET => Cdb::SendCueSheet {
                parameter_length: write::parse_send_cue_sheet(cdb)?,
            },
            other => Cdb::Unsupported { opcode: other },
        })
    }

    /// The operation code.
    pub fn opcode(&self) -> u8 {
        match self {
            Cdb::TestUnitReady => opcode::TEST_UNIT_READY,
            Cdb::RequestSense { .. } => opcode::REQUEST_SENSE,
            Cdb::Inquiry { .. } => opcode::INQUIRY,
            Cdb::StartStopUnit { .. } => opcode::START_STOP_UNIT,
            Cdb::PreventAllowMediumRemoval { .. } => opcode::PREVENT_ALLOW_MEDIUM_REMOVAL,
            Cdb::GetConfiguration { .. } => opcode::GET_CONFIGURATION,
            Cdb::GetEventStatusNotification { .. } => opcode::GET_EVENT_STATUS_NOTIFICATION,
            Cdb::ModeSense10 { .. } => opcode::MODE_SENSE_10,
            Cdb::ReadDiscInformation { .. } => opcode::READ_DISC_INFORMATION,
            Cdb::ReadTrackInformation { .. } => opcode::READ_TRACK_INFORMATION,
            Cdb::ReadCapacity => opcode::READ_CAPACITY,
            Cdb::ReadToc { .. } => opcode::READ_TOC_PMA_ATIP,
            Cdb::ReadFormatCapacities { .. } => opcode::READ_FORMAT_CAPACITIES,
            Cdb::Write10 { .. } => opcode::WRITE_10,
            Cdb::Write12 { .. } => opcode::WRITE_12,
            Cdb::Read10 { .. } => opcode::READ_10,
            Cdb::SynchronizeCache { .. } => opcode::SYNCHRONIZE_CACHE,
            Cdb::CloseTrackSession { .. } => opcode::CLOSE_TRACK_SESSION,
            Cdb::Blank { .. } => opcode::BLANK,
            Cdb::FormatUnit { .. } => opcode::FORMAT_UNIT,
            Cdb::ReserveTrack { .. } => opcode::RESERVE_TRACK,
            Cdb::ModeSelect10 { .. } => opcode::MODE_SELECT_10,
            Cdb::GetPerformance { .. } => opcode::GET_PERFORMANCE,
            Cdb::SetStreaming { .. } => opcode::SET_STREAMING,
            Cdb::SetCdSpeed { .. } => opcode::SET_CD_SPEED,
            Cdb::ReadBufferCapacity { .. } => opcode::READ_BUFFER_CAPACITY,
            Cdb::SendCueSheet { .. } => opcode::SEND_CUE_SHEET,
            Cdb::Unsupported { opcode } => *opcode,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{configuration, disc, event, inquiry, mode, sense, unit, write};

    #[test]
    fn builders_are_recognised_with_their_fields() {
        let cases: Vec<(Vec<u8>, Cdb)> = vec![
            (unit::test_unit_ready().cdb.to_vec(), Cdb::TestUnitReady),
            (
                sense::request_sense(18, true).cdb.to_vec(),
                Cdb::RequestSense {
                    descriptor_format: true,
                    allocation_length: 18,
                },
            ),
            (
                inquiry::inquiry(96).cdb.to_vec(),
                Cdb::Inquiry {
                    vpd: false,
                    page_code: 0,
                    allocation_length: 96,
                },
            ),
            (
                inquiry::inquiry_vpd(0x83, 300).cdb.to_vec(),
                Cdb::Inquiry {
                    vpd: true,
                    page_code: 0x83,
                    allocation_length: 300,
                },
            ),
            (
                unit::start_stop_unit(StartStop::Eject, true).cdb.to_vec(),
                Cdb::StartStopUnit {
                    immediate: true,
                    power_condition: 0,
                    action: StartStop::Eject,
                },
            ),
            (
                unit::prevent_allow_medium_removal(MediumRemoval::Prevent)
                    .cdb
                    .to_vec(),
                Cdb::PreventAllowMediumRemoval {
                    request: MediumRemoval::Prevent,
                },
            ),
            (
                configuration::get_configuration(RequestType::One, FeatureCode(3), 16)
                    .cdb
                    .to_vec(),
                Cdb::GetConfiguration {
                    request_type: RequestType::One,
                    starting_feature: FeatureCode(3),
                    allocation_length: 16,
                },
            ),
            (
                event::get_media_event_status().cdb.to_vec(),
                Cdb::GetEventStatusNotification {
                    polled: true,
                    class_request: 0x10,
                    allocation_length: 8,
                },
            ),
            (
                mode::mode_sense10_all_pages(65530).cdb.to_vec(),
                Cdb::ModeSense10 {
                    disable_block_descriptors: false,
                    long_lba_accepted: false,
                    page_control: PageControl::Current,
                    page_code: 0x3F,
                    subpage_code: 0,
                    allocation_length: 65530,
                },
            ),
        ];
        for (bytes, expected) in cases.into_iter().chain(recording_cases()) {
            let got = Cdb::parse(&bytes).expect("recognised");
            assert_eq!(got, expected);
            assert_eq!(got.opcode(), bytes[0]);
        }
    }

    /// Every recording builder of `disc` and `write`, with the fields it must come back as.
    fn recording_cases() -> Vec<(Vec<u8>, Cdb)> {
        use crate::disc::{TocFormat, TrackAddress};
        use crate::write::{BlankingType, CloseFunction, Transfer};
        let t = |lba, blocks| Transfer { lba, blocks };
        vec![
            (
                disc::read_disc_information(34).cdb.to_vec(),
                Cdb::ReadDiscInformation {
                    data_type: 0,
                    allocation_length: 34,
                },
            ),
            (
                disc::read_track_information(TrackAddress::Track(0xFF), 48)
                    .cdb
                    .to_vec(),
                Cdb::ReadTrackInformation {
                    address: TrackAddress::Track(0xFF),
                    allocation_length: 48,
                },
            ),
            (disc::read_capacity().cdb.to_vec(), Cdb::ReadCapacity),
            (
                disc::read_toc(TocFormat::SessionInfo, true, 2, 12)
                    .cdb
                    .to_vec(),
                Cdb::ReadToc {
                    msf: true,
                    format: 1,
                    track_or_session: 2,
                    allocation_length: 12,
                },
            ),
            (
                disc::read_format_capacities(252).cdb.to_vec(),
                Cdb::ReadFormatCapacities {
                    allocation_length: 252,
                },
            ),
            (
                write::write10(7, 16, 2048).cdb.to_vec(),
                Cdb::Write10 { transfer: t(7, 16) },
            ),
            (
                write::write12(9, 70_000, 2048, true)
                    .expect("fits")
                    .cdb
                    .to_vec(),
                Cdb::Write12 {
                    transfer: t(9, 70_000),
                    streaming: true,
                },
            ),
            (
                write::read10(5, 2, 2048).cdb.to_vec(),
                Cdb::Read10 { transfer: t(5, 2) },
            ),
            (
                write::synchronize_cache(true).cdb.to_vec(),
                Cdb::SynchronizeCache { immed: true },
            ),
            (
                write::close_track_session(CloseFunction::Finalize, 3, true)
                    .cdb
                    .to_vec(),
                Cdb::CloseTrackSession {
                    function: CloseFunction::Finalize,
                    number: 3,
                    immed: true,
                },
            ),
            (
                write::blank(BlankingType::Track(4), true).cdb.to_vec(),
                Cdb::Blank {
                    kind: BlankingType::Track(4),
                    immed: true,
                },
            ),
            (
                write::format_unit().cdb.to_vec(),
                Cdb::FormatUnit {
                    fmt_data: true,
                    format_code: 1,
                },
            ),
            (
                write::reserve_track(1000).cdb.to_vec(),
                Cdb::ReserveTrack { blocks: Some(1000) },
            ),
            (
                write::mode_select10(60, true, false).cdb.to_vec(),
                Cdb::ModeSelect10 {
                    page_format: true,
                    save_pages: false,
                    parameter_length: 60,
                },
            ),
            (
                write::get_performance_write_speed(4).cdb.to_vec(),
                Cdb::GetPerformance {
                    data_type: 3,
                    max_descriptors: 4,
                },
            ),
            (
                write::set_streaming().cdb.to_vec(),
                Cdb::SetStreaming {
                    data_type: 0,
                    parameter_length: 28,
                },
            ),
            (
                write::set_cd_speed(0xFFFF, 1764, 0).cdb.to_vec(),
                Cdb::SetCdSpeed {
                    read_speed: 0xFFFF,
                    write_speed: 1764,
                },
            ),
            (
                write::read_buffer_capacity(12).cdb.to_vec(),
                Cdb::ReadBufferCapacity {
                    block: false,
                    allocation_length: 12,
                },
            ),
            (
                write::send_cue_sheet(32).expect("fits").cdb.to_vec(),
                Cdb::SendCueSheet {
                    parameter_length: 32,
                },
            ),
        ]
    }

    #[test]
    fn data_in_commands_allow_their_allocation_length() {
        let read = Cdb::parse(&write::read10(0, 16, 2048).cdb).expect("recognised");
        assert_eq!(read.allocation_length(), 16 * BLOCK_LEN);
        let perf = Cdb::parse(&write::get_performance_write_speed(4).cdb).expect("recognised");
        assert_eq!(perf.allocation_length(), 8 + 4 * 16);
        assert_eq!(Cdb::ReadCapacity.allocation_length(), 8);
        let w = Cdb::parse(&write::write10(0, 16, 2048).cdb).expect("recognised");
        assert_eq!(w.allocation_length(), 0);
    }

    #[test]
    fn reserved_track_address_type_is_inconsistent() {
        assert!(matches!(
            Cdb::parse(&[0x52, 3, 0, 0, 0, 1, 0, 0, 48, 0]),
            Err(ParseError::Inconsistent {
                field: "address/number type",
                ..
            })
        ));
    }

    #[test]
    fn unknown_opcode_is_unsupported_not_an_error() {
        assert_eq!(Cdb::parse(&[0xBF]), Ok(Cdb::Unsupported { opcode: 0xBF }));
        assert_eq!(Cdb::Unsupported { opcode: 0xBF }.opcode(), 0xBF);
    }

    #[test]
    fn short_cdbs_are_truncated() {
        assert_eq!(
            Cdb::parse(&[0x46, 0, 0, 0, 0, 0, 0, 0, 8]),
            Err(ParseError::Truncated {
                field: "CDB",
                offset: 0,
                needed: 10,
                got: 9
            })
        );
        assert!(Cdb::parse(&[]).is_err());
        assert!(Cdb::parse(&[0x12, 0, 0, 0, 96]).is_err());
    }

    #[test]
    fn reserved_request_type_is_inconsistent() {
        assert!(matches!(
            Cdb::parse(&[0x46, 3, 0, 0, 0, 0, 0, 0, 8, 0]),
            Err(ParseError::Inconsistent {
                field: "RT",
                value: 3,
                ..
            })
        ));
    }

    #[test]
    fn start_stop_power_condition_is_reported() {
        assert_eq!(
            Cdb::parse(&[0x1B, 0, 0, 0, 0x32, 0]),
            Ok(Cdb::StartStopUnit {
                immediate: false,
                power_condition: 3,
                action: StartStop::Eject
            })
        );
    }
}
