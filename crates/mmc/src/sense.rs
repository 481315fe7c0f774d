//! REQUEST SENSE (SPC-4 6.29) and sense data (SPC-4 4.5: descriptor format
//! 4.5.2, fixed format 4.5.3): the sense key, additional sense code and
//! qualifier a failed command reports (SPC-4 4.5.6), and the handful of
//! conditions the recorder acts on ([`SenseCondition`]).
//!
//! Owns decoding, encoding and classifying. It must not decide what a
//! condition means: retrying, reporting and the IMAPI2 HRESULT a condition
//! maps to are the recorder library's. It imports no other command module;
//! its numbers come from [`crate::codes`].

use crate::bytes::{be32, be64, clamp, u8_at};
use crate::codes::{asc, ascq, opcode, sense_key};
use crate::{Command, DataDirection, EncodeError, ParseError};

/// Length of fixed-format sense data with the usual additional length of 10.
pub const FIXED_SENSE_LEN: usize = 18;

/// REQUEST SENSE (opcode 0x03, 6-byte CDB).
///
/// `descriptor_format` sets the DESC bit, asking for descriptor-format sense
/// data; MMC drives commonly ignore it and answer in fixed format.
pub fn request_sense(allocation_length: u8, descriptor_format: bool) -> Command<6> {
    Command {
        cdb: [
            opcode::REQUEST_SENSE,
            u8::from(descriptor_format),
            0,
            0,
            allocation_length,
            0,
        ],
        direction: DataDirection::FromDevice {
            allocation_length: u32::from(allocation_length),
        },
    }
}

/// The sense key: the broad class of a command's failure (4 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum SenseKey {
    /// 0x0: no specific sense key information.
    NoSense = sense_key::NO_SENSE,
    /// 0x1: the command completed after recovery action.
    RecoveredError = sense_key::RECOVERED_ERROR,
    /// 0x2: the logical unit is not accessible (no medium, becoming ready, ...).
    NotReady = sense_key::NOT_READY,
    /// 0x3: an unrecoverable medium flaw.
    MediumError = sense_key::MEDIUM_ERROR,
    /// 0x4: an unrecoverable hardware failure.
    HardwareError = sense_key::HARDWARE_ERROR,
    /// 0x5: the CDB or its parameters are invalid.
    IllegalRequest = sense_key::ILLEGAL_REQUEST,
    /// 0x6: a unit attention (medium changed, reset, ...).
    UnitAttention = sense_key::UNIT_ATTENTION,
    /// 0x7: the medium is protected against the operation.
    DataProtect = sense_key::DATA_PROTECT,
    /// 0x8: blank or end-of-data medium encountered.
    BlankCheck = sense_key::BLANK_CHECK,
    /// 0x9: vendor specific.
    VendorSpecific = sense_key::VENDOR_SPECIFIC,
    /// 0xA: a copy operation was aborted.
    CopyAborted = sense_key::COPY_ABORTED,
    /// 0xB: the device aborted the command.
    AbortedCommand = sense_key::ABORTED_COMMAND,
    /// 0xC: obsolete (was EQUAL).
    Obsolete0C = sense_key::OBSOLETE_0C,
    /// 0xD: the buffered device reached the end of the partition.
    VolumeOverflow = sense_key::VOLUME_OVERFLOW,
    /// 0xE: source data did not match the medium.
    Miscompare = sense_key::MISCOMPARE,
    /// 0xF: the command completed with sense data to report.
    Completed = sense_key::COMPLETED,
}

impl SenseKey {
    const ALL: [SenseKey; 16] = [
        SenseKey::NoSense,
        SenseKey::RecoveredError,
        SenseKey::NotReady,
        SenseKey::MediumError,
        SenseKey::HardwareError,
        SenseKey::IllegalRequest,
        SenseKey::UnitAttention,
        SenseKey::DataProtect,
        SenseKey::BlankCheck,
        SenseKey::VendorSpecific,
        SenseKey::CopyAborted,
        SenseKey::AbortedCommand,
        SenseKey::Obsolete0C,
        SenseKey::VolumeOverflow,
        SenseKey::Miscompare,
        SenseKey::Completed,
    ];

    /// The key held in the low 4 bits of `value`; the high bits are ignored.
    pub fn from_nibble(value: u8) -> SenseKey {
        Self::ALL
            .get(usize::from(value & 0x0F))
            .copied()
            .unwrap_or(SenseKey::NoSense)
    }

    /// The 4-bit code of this key.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// How sense data is laid out on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SenseFormat {
    /// Response codes 0x70 (current) and 0x71 (deferred).
    Fixed,
    /// Response codes 0x72 (current) and 0x73 (deferred).
    Descriptor,
}

/// The conditions the recorder distinguishes; everything else is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SenseCondition {
    /// NOT READY, ASC 0x3A (medium not present, any qualifier: tray open or closed).
    NoMedium,
    /// NOT READY, ASC/ASCQ 0x04/0x01 (logical unit is in process of becoming ready).
    BecomingReady,
    /// DATA PROTECT, ASC 0x27 (write protected, any qualifier).
    WriteProtected,
    /// ILLEGAL REQUEST, ASC 0x20 (invalid command operation code).
    InvalidCommandOperationCode,
    /// ILLEGAL REQUEST, ASC 0x24 (invalid field in CDB).
    InvalidFieldInCdb,
    /// UNIT ATTENTION, ASC 0x28 (not ready to ready change, medium may have changed).
    MediumMayHaveChanged,
    /// UNIT ATTENTION, ASC 0x29 (power on, reset or bus device reset occurred).
    PowerOnOrReset,
    /// Any other combination.
    Other,
}

impl SenseCondition {
    /// Classifies a sense key / ASC / ASCQ triple.
    pub fn classify(key: SenseKey, asc: u8, ascq: u8) -> SenseCondition {
        match (key, asc, ascq) {
            (SenseKey::NotReady, asc::MEDIUM_NOT_PRESENT, _) => SenseCondition::NoMedium,
            (SenseKey::NotReady, asc::LOGICAL_UNIT_NOT_READY, ascq::BECOMING_READY) => {
                SenseCondition::BecomingReady
            }
            (SenseKey::DataProtect, asc::WRITE_PROTECTED, _) => SenseCondition::WriteProtected,
            (SenseKey::IllegalRequest, asc::INVALID_COMMAND_OPERATION_CODE, _) => {
                SenseCondition::InvalidCommandOperationCode
            }
            (SenseKey::IllegalRequest, asc::INVALID_FIELD_IN_CDB, _) => {
                SenseCondition::InvalidFieldInCdb
            }
            (SenseKey::UnitAttention, asc::NOT_READY_TO_READY_CHANGE, _) => {
                SenseCondition::MediumMayHaveChanged
            }
            (SenseKey::UnitAttention, asc::POWER_ON_RESET_OCCURRED, _) => {
                SenseCondition::PowerOnOrReset
            }
            _ => SenseCondition::Other,
        }
    }
}

/// Decoded sense data.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SenseData {
    /// Wire layout it came in (or is to be encoded in).
    pub format: SenseFormat,
    /// True for deferred errors (response codes 0x71/0x73), false for
    /// current errors (0x70/0x72).
    pub deferred: bool,
    /// The sense key.
    pub key: SenseKey,
    /// Additional sense code. 0 when a fixed-format response's additional
    /// length says the field is absent.
    pub asc: u8,
    /// Additional sense code qualifier. 0 when absent, as for `asc`.
    pub ascq: u8,
    /// The INFORMATION field when the device marks it valid (fixed format:
    /// VALID bit and bytes 3..7; descriptor format: an information
    /// descriptor, type 0x00, with its VALID bit set).
    pub information: Option<u64>,
}

impl SenseData {
    /// Current-error, fixed-format sense data with no information field.
    pub fn new(key: SenseKey, asc: u8, ascq: u8) -> SenseData {
        SenseData {
            format: SenseFormat::Fixed,
            deferred: false,
            key,
            asc,
            ascq,
            information: None,
        }
    }

    /// Decodes fixed (0x70/0x71) or descriptor (0x72/0x73) sense data.
    ///
    /// Both formats have an 8-byte header, which must be present. Fixed
    /// format: if the additional sense length covers the ASC and ASCQ (byte
    /// 12 and 13) they must be present, otherwise they read as 0. Descriptor
    /// format: descriptors are walked within the additional sense length; one
    /// cut short by the end of the buffer ends the walk, one running past the
    /// declared length is `Inconsistent`. Other response codes (including
    /// vendor-specific 0x7F) are `Inconsistent`.
    ///
    /// # Errors
    ///
    /// [`ParseError::Truncated`] when `buf` ends before the 8-byte header, or
    /// before a fixed format's ASC and ASCQ that its additional length covers;
    /// [`ParseError::Inconsistent`] for another response code, or a descriptor
    /// (or descriptor header) running past the additional sense length.
    pub fn parse(buf: &[u8]) -> Result<SenseData, ParseError> {
        let first = u8_at(buf, "sense response code", 0)?;
        let additional = u8_at(buf, "additional sense length", 7)?;
        let data = clamp(buf, 8 + usize::from(additional));
        match first & 0x7F {
            0x70 | 0x71 => {
                let key = SenseKey::from_nibble(u8_at(data, "sense key", 2)?);
                let (asc, ascq) = if additional >= 6 {
                    (
                        u8_at(data, "additional sense code", 12)?,
                        u8_at(data, "additional sense code qualifier", 13)?,
                    )
                } else {
                    (0, 0)
                };
                let information = if first & 0x80 != 0 {
                    Some(u64::from(be32(data, "information", 3)?))
                } else {
                    None
                };
                Ok(SenseData {
                    format: SenseFormat::Fixed,
                    deferred: first & 0x7F == 0x71,
                    key,
                    asc,
                    ascq,
                    information,
                })
            }
            0x72 | 0x73 => {
                let key = SenseKey::from_nibble(u8_at(data, "sense key", 1)?);
                let asc = u8_at(data, "additional sense code", 2)?;
                let ascq = u8_at(data, "additional sense code qualifier", 3)?;
                let declared_end = 8 + usize::from(additional);
                let mut information = None;
                let mut offset = 8;
                while offset < data.len() {
                    let Some(&kind) = data.get(offset) else { break };
                    let Some(&len) = data.get(offset + 1) else {
                        if offset + 1 >= declared_end {
                            return Err(ParseError::Inconsistent {
                                field: "sense data descriptor",
                                offset,
                                value: u64::from(kind),
                                problem: "descriptor header runs past the additional sense length",
                            });
                        }
                        break;
                    };
                    let end = offset + 2 + usize::from(len);
                    if end > declared_end {
                        return Err(ParseError::Inconsistent {
                            field: "sense data descriptor",
                            offset,
                            value: u64::from(len),
                            problem: "descriptor runs past the additional sense length",
                        });
                    }
                    let Some(descriptor) = data.get(offset..end) else {
                        // Cut short by the buffer size, not by the device.
                        break;
                    };
                    if kind == 0x00 && len >= 0x0A {
                        let valid = descriptor.get(2).is_some_and(|b| b & 0x80 != 0);
                        if valid {
                            information = Some(be64(descriptor, "information", 4)?);
                        }
                    }
                    offset = end;
                }
                Ok(SenseData {
                    format: SenseFormat::Descriptor,
                    deferred: first & 0x7F == 0x73,
                    key,
                    asc,
                    ascq,
                    information,
                })
            }
            other => Err(ParseError::Inconsistent {
                field: "sense response code",
                offset: 0,
                value: u64::from(other),
                problem: "not a fixed (0x70/0x71) or descriptor (0x72/0x73) sense format",
            }),
        }
    }

    /// Encodes the sense data in its `format`: fixed gives 18 bytes
    /// (additional length 10); descriptor gives an 8-byte header plus a
    /// 12-byte information descriptor when `information` is set.
    ///
    /// Fails if fixed format is asked to carry information above `u32::MAX`.
    ///
    /// # Errors
    ///
    /// [`EncodeError::Invalid`] when fixed format is asked to carry information
    /// above `u32::MAX` (descriptor format holds 64 bits).
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        match self.format {
            SenseFormat::Fixed => {
                let (valid, [i0, i1, i2, i3]) = match self.information {
                    Some(v) => {
                        let v = u32::try_from(v).map_err(|_| EncodeError::Invalid {
                            field: "information",
                            value: v,
                            problem: "fixed-format sense holds 32 bits; use descriptor format",
                        })?;
                        (0x80, v.to_be_bytes())
                    }
                    None => (0, [0; 4]),
                };
                let code = if self.deferred { 0x71 } else { 0x70 };
                let additional = (FIXED_SENSE_LEN - 8) as u8;
                let out: [u8; FIXED_SENSE_LEN] = [
                    valid | code,
                    0,
                    self.key.code(),
                    i0,
                    i1,
                    i2,
                    i3,
                    additional,
                    0,
                    0,
                    0,
                    0,
                    self.asc,
                    self.ascq,
                    0,
                    0,
                    0,
                    0,
                ];
                Ok(out.to_vec())
            }
            SenseFormat::Descriptor => {
                let mut descriptors = Vec::new();
                if let Some(v) = self.information {
                    // Information descriptor: type 0, length 10, VALID.
                    descriptors.extend_from_slice(&[0x00, 0x0A, 0x80, 0]);
                    descriptors.extend_from_slice(&v.to_be_bytes());
                }
                let additional = descriptors.len() as u8; // 0 or 12
                let mut out = vec![
                    if self.deferred { 0x73 } else { 0x72 },
                    self.key.code(),
                    self.asc,
                    self.ascq,
                    0,
                    0,
                    0,
                    additional,
                ];
                out.extend_from_slice(&descriptors);
                Ok(out)
            }
        }
    }

    /// The condition this sense data reports.
    pub fn condition(&self) -> SenseCondition {
        SenseCondition::classify(self.key, self.asc, self.ascq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fixed-format NOT READY / MEDIUM NOT PRESENT - TRAY CLOSED, as drives send it.
    const NO_MEDIUM_FIXED: [u8; 18] = [
        0x70, 0, 0x02, 0, 0, 0, 0, 0x0A, 0, 0, 0, 0, 0x3A, 0x01, 0, 0, 0, 0,
    ];

    #[test]
    fn request_sense_cdb_layout() {
        let c = request_sense(18, false);
        assert_eq!(c.cdb, [0x03, 0, 0, 0, 18, 0]);
        assert_eq!(c.allocation_length(), 18);
        assert_eq!(request_sense(252, true).cdb, [0x03, 1, 0, 0, 252, 0]);
    }

    #[test]
    fn fixed_no_medium_parses_and_maps_to_no_media() {
        let s = SenseData::parse(&NO_MEDIUM_FIXED).expect("valid sense");
        assert_eq!(s.format, SenseFormat::Fixed);
        assert!(!s.deferred);
        assert_eq!(s.key, SenseKey::NotReady);
        assert_eq!((s.asc, s.ascq), (0x3A, 0x01));
        assert_eq!(s.information, None);
        assert_eq!(s.condition(), SenseCondition::NoMedium);
    }

    #[test]
    fn fixed_information_is_read_only_when_valid() {
        let mut b = NO_MEDIUM_FIXED;
        b[3..7].copy_from_slice(&[0x12, 0x34, 0x56, 0x78]);
        assert_eq!(SenseData::parse(&b).expect("ok").information, None);
        b[0] |= 0x80;
        assert_eq!(
            SenseData::parse(&b).expect("ok").information,
            Some(0x1234_5678)
        );
    }

    #[test]
    fn fixed_deferred_and_key_high_bits_ignored() {
        let mut b = NO_MEDIUM_FIXED;
        b[0] = 0x71;
        b[2] = 0xE6; // FILEMARK/EOM/ILI set, key 6
        let s = SenseData::parse(&b).expect("ok");
        assert!(s.deferred);
        assert_eq!(s.key, SenseKey::UnitAttention);
    }

    #[test]
    fn fixed_short_additional_length_means_no_asc() {
        let b = [0x70, 0, 0x06, 0, 0, 0, 0, 0];
        let s = SenseData::parse(&b).expect("ok");
        assert_eq!((s.key, s.asc, s.ascq), (SenseKey::UnitAttention, 0, 0));
    }

    #[test]
    fn fixed_cut_before_asc_is_truncated() {
        assert_eq!(
            SenseData::parse(&NO_MEDIUM_FIXED[..13]),
            Err(ParseError::Truncated {
                field: "additional sense code qualifier",
                offset: 13,
                needed: 14,
                got: 13
            })
        );
    }

    #[test]
    fn header_shorter_than_eight_bytes_is_truncated() {
        assert_eq!(
            SenseData::parse(&NO_MEDIUM_FIXED[..7]),
            Err(ParseError::Truncated {
                field: "additional sense length",
                offset: 7,
                needed: 8,
                got: 7
            })
        );
        assert!(SenseData::parse(&[]).is_err());
    }

    #[test]
    fn unknown_response_code_is_inconsistent() {
        let mut b = NO_MEDIUM_FIXED;
        b[0] = 0x7F;
        assert!(matches!(
            SenseData::parse(&b),
            Err(ParseError::Inconsistent { value: 0x7F, .. })
        ));
    }

    #[test]
    fn descriptor_format_with_information() {
        let b = [
            0x72, 0x03, 0x11, 0x05, 0, 0, 0, 12, // header
            0x00, 0x0A, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00,
        ];
        let s = SenseData::parse(&b).expect("ok");
        assert_eq!(s.format, SenseFormat::Descriptor);
        assert_eq!(s.key, SenseKey::MediumError);
        assert_eq!((s.asc, s.ascq), (0x11, 0x05));
        assert_eq!(s.information, Some(0x100));
        assert_eq!(s.condition(), SenseCondition::Other);
    }

    #[test]
    fn descriptor_overrunning_additional_length_is_inconsistent() {
        let b = [0x72, 0x03, 0x11, 0x05, 0, 0, 0, 4, 0x00, 0x0A, 0x80, 0];
        assert!(matches!(
            SenseData::parse(&b),
            Err(ParseError::Inconsistent { offset: 8, .. })
        ));
    }

    #[test]
    fn descriptor_cut_by_buffer_is_skipped() {
        let b = [0x72, 0x05, 0x24, 0x00, 0, 0, 0, 12, 0x00, 0x0A, 0x80];
        let s = SenseData::parse(&b).expect("ok");
        assert_eq!(s.information, None);
        assert_eq!(s.condition(), SenseCondition::InvalidFieldInCdb);
    }

    #[test]
    fn classification_table() {
        use SenseCondition as C;
        use SenseKey as K;
        let cases = [
            (K::NotReady, 0x3A, 0x00, C::NoMedium),
            (K::NotReady, 0x3A, 0x02, C::NoMedium),
            (K::NotReady, 0x04, 0x01, C::BecomingReady),
            (K::NotReady, 0x04, 0x02, C::Other),
            (K::DataProtect, 0x27, 0x00, C::WriteProtected),
            (
                K::IllegalRequest,
                0x20,
                0x00,
                C::InvalidCommandOperationCode,
            ),
            (K::IllegalRequest, 0x24, 0x00, C::InvalidFieldInCdb),
            (K::UnitAttention, 0x28, 0x00, C::MediumMayHaveChanged),
            (K::UnitAttention, 0x29, 0x00, C::PowerOnOrReset),
            (K::MediumError, 0x3A, 0x00, C::Other),
        ];
        for (key, asc, ascq, expected) in cases {
            assert_eq!(
                SenseCondition::classify(key, asc, ascq),
                expected,
                "{key:?} {asc:#x}/{ascq:#x}"
            );
        }
    }

    #[test]
    fn sense_key_nibbles_round_trip() {
        for v in 0u8..=0xFF {
            assert_eq!(SenseKey::from_nibble(v).code(), v & 0x0F);
        }
    }

    #[test]
    fn encode_fixed_matches_hand_built_bytes() {
        let s = SenseData::new(SenseKey::NotReady, 0x3A, 0x01);
        assert_eq!(s.encode().expect("ok"), NO_MEDIUM_FIXED.to_vec());
    }

    #[test]
    fn encode_fixed_rejects_wide_information() {
        let mut s = SenseData::new(SenseKey::MediumError, 0x11, 0);
        s.information = Some(1 << 32);
        assert!(s.encode().is_err());
        s.format = SenseFormat::Descriptor;
        let bytes = s.encode().expect("descriptor holds 64 bits");
        assert_eq!(SenseData::parse(&bytes), Ok(s));
    }

    #[test]
    fn round_trip_each_format_and_every_prefix_is_safe() {
        for format in [SenseFormat::Fixed, SenseFormat::Descriptor] {
            for information in [None, Some(0xABCD)] {
                for deferred in [false, true] {
                    let s = SenseData {
                        format,
                        deferred,
                        key: SenseKey::UnitAttention,
                        asc: 0x28,
                        ascq: 0,
                        information,
                    };
                    let bytes = s.encode().expect("encodes");
                    assert_eq!(SenseData::parse(&bytes).as_ref(), Ok(&s));
                    for n in 0..bytes.len() {
                        let _ = SenseData::parse(&bytes[..n]);
                    }
                }
            }
        }
    }
}
