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
use crate::mode::PageControl;
use crate::unit::{MediumRemoval, StartStop};
use crate::ParseError;

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
            } => usize::from(allocation_length),
            Cdb::TestUnitReady
            | Cdb::StartStopUnit { .. }
            | Cdb::PreventAllowMediumRemoval { .. }
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
            Cdb::Unsupported { opcode } => *opcode,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{configuration, event, inquiry, mode, sense, unit};

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
        for (bytes, expected) in cases {
            let got = Cdb::parse(&bytes).expect("recognised");
            assert_eq!(got, expected);
            assert_eq!(got.opcode(), bytes[0]);
        }
    }

    #[test]
    fn unknown_opcode_is_unsupported_not_an_error() {
        assert_eq!(Cdb::parse(&[0xBB]), Ok(Cdb::Unsupported { opcode: 0xBB }));
        assert_eq!(Cdb::Unsupported { opcode: 0xBB }.opcode(), 0xBB);
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
