//! INQUIRY (SPC-4 6.4): standard inquiry data (SPC-4 6.4.2: device type,
//! removable bit, vendor, product, revision) and the vital product data pages
//! a recorder needs (SPC-4 7.8): 0x00 supported pages (7.8.14), 0x80 unit
//! serial number (7.8.15), 0x83 device identification (7.8.6). Builders,
//! parsers and encoders.
//!
//! Owns the byte layout of those answers. It must not do I/O, decide whether
//! a device is a recorder (the library does, from the peripheral type), or
//! import other command modules; its operation code comes from
//! [`crate::codes`].
//!
//! # ASCII fields
//!
//! SPC allows only graphic ASCII (0x20..=0x7E) in the vendor, product,
//! revision and serial number fields, padded with spaces. Real drives also
//! pad with NUL bytes or leave stray bytes. The parsers here therefore:
//! 1. drop trailing spaces and NUL bytes (serial number: leading ones too,
//!    since SPC right-aligns it);
//! 2. replace every remaining byte outside 0x20..=0x7E with `?`.
//!
//! The result is always printable ASCII and never fails; the encoders refuse
//! strings that are not graphic ASCII so that encode-then-parse is exact.

use crate::bytes::{be16, bits, fit, slice, u8_at};
use crate::codes::opcode;
use crate::{Command, DataDirection, EncodeError, ParseError};

/// Length of standard inquiry data up to the end of the product revision level.
pub const STANDARD_INQUIRY_LEN: usize = 36;

/// VPD page code: supported VPD pages.
pub const VPD_SUPPORTED_PAGES: u8 = 0x00;
/// VPD page code: unit serial number.
pub const VPD_UNIT_SERIAL_NUMBER: u8 = 0x80;
/// VPD page code: device identification.
pub const VPD_DEVICE_IDENTIFICATION: u8 = 0x83;

/// INQUIRY for standard data (opcode 0x12, EVPD=0, page 0).
pub fn inquiry(allocation_length: u16) -> Command<6> {
    build(false, 0, allocation_length)
}

/// INQUIRY for vital product data page `page` (EVPD=1).
pub fn inquiry_vpd(page: u8, allocation_length: u16) -> Command<6> {
    build(true, page, allocation_length)
}

fn build(evpd: bool, page: u8, allocation_length: u16) -> Command<6> {
    let [hi, lo] = allocation_length.to_be_bytes();
    Command {
        cdb: [opcode::INQUIRY, u8::from(evpd), page, hi, lo, 0],
        direction: DataDirection::FromDevice {
            allocation_length: u32::from(allocation_length),
        },
    }
}

/// The peripheral device type (5 bits of byte 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceType(pub u8);

impl DeviceType {
    /// 0x00: direct access block device (disk).
    pub const DIRECT_ACCESS: DeviceType = DeviceType(0x00);
    /// 0x05: CD/DVD/BD device, the MMC command set.
    pub const MMC: DeviceType = DeviceType(0x05);
    /// 0x07: optical memory device.
    pub const OPTICAL_MEMORY: DeviceType = DeviceType(0x07);
    /// 0x1F: unknown or no device type.
    pub const UNKNOWN: DeviceType = DeviceType(0x1F);

    /// True for the MMC (CD/DVD/BD) device type.
    pub fn is_mmc(self) -> bool {
        self == DeviceType::MMC
    }
}

/// Byte 0 of every INQUIRY response: qualifier and device type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peripheral {
    /// Peripheral qualifier (3 bits): 0 = a device of this type is connected,
    /// 1 = supported but not connected, 3 = not supported.
    pub qualifier: u8,
    /// Peripheral device type (5 bits).
    pub device_type: DeviceType,
}

impl Peripheral {
    /// A connected MMC device (qualifier 0, type 5).
    pub const MMC: Peripheral = Peripheral {
        qualifier: 0,
        device_type: DeviceType::MMC,
    };

    fn from_byte(b: u8) -> Peripheral {
        Peripheral {
            qualifier: b >> 5,
            device_type: DeviceType(b & 0x1F),
        }
    }

    fn to_byte(self) -> Result<u8, EncodeError> {
        bits("peripheral qualifier", u64::from(self.qualifier), 7)?;
        bits(
            "peripheral device type",
            u64::from(self.device_type.0),
            0x1F,
        )?;
        Ok((self.qualifier << 5) | self.device_type.0)
    }
}

/// Standard inquiry data.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StandardInquiry {
    /// Qualifier and device type.
    pub peripheral: Peripheral,
    /// RMB: the medium is removable.
    pub removable: bool,
    /// The SPC version the device claims (5 = SPC-3, 6 = SPC-4, 0 = none).
    pub version: u8,
    /// Response data format (4 bits; 2 for every current device).
    pub response_data_format: u8,
    /// T10 vendor identification (8 bytes on the wire), see the module doc
    /// for how bytes become text.
    pub vendor: String,
    /// Product identification (16 bytes on the wire).
    pub product: String,
    /// Product revision level (4 bytes on the wire).
    pub revision: String,
    /// Total response length the device reports (additional length + 5),
    /// at least [`STANDARD_INQUIRY_LEN`]. The encoder zero-fills bytes past 36.
    pub available_length: usize,
}

impl StandardInquiry {
    /// Decodes standard inquiry data. The response must reach byte 36 (end
    /// of the revision level) both in the buffer and by its additional
    /// length; bytes after 36 are not interpreted.
    ///
    /// # Errors
    ///
    /// [`ParseError::Inconsistent`] when the additional length ends the data
    /// before byte 36; [`ParseError::Truncated`] when `buf` does.
    pub fn parse(buf: &[u8]) -> Result<StandardInquiry, ParseError> {
        let b0 = u8_at(buf, "peripheral device type", 0)?;
        let b1 = u8_at(buf, "removable medium bit", 1)?;
        let version = u8_at(buf, "version", 2)?;
        let b3 = u8_at(buf, "response data format", 3)?;
        let additional = u8_at(buf, "additional length", 4)?;
        let available_length = usize::from(additional) + 5;
        if available_length < STANDARD_INQUIRY_LEN {
            return Err(ParseError::Inconsistent {
                field: "additional length",
                offset: 4,
                value: u64::from(additional),
                problem: "ends the data before the product revision level (byte 36)",
            });
        }
        let vendor = slice(buf, "vendor identification", 8, 8)?;
        let product = slice(buf, "product identification", 16, 16)?;
        let revision = slice(buf, "product revision level", 32, 4)?;
        Ok(StandardInquiry {
            peripheral: Peripheral::from_byte(b0),
            removable: b1 & 0x80 != 0,
            version,
            response_data_format: b3 & 0x0F,
            vendor: ascii_field(vendor, false),
            product: ascii_field(product, false),
            revision: ascii_field(revision, false),
            available_length,
        })
    }

    /// Encodes standard inquiry data of `available_length` bytes (at least
    /// 36, at most 260), strings space-padded. Fails on strings that are too
    /// long, not graphic ASCII or end in a space (they would not survive a
    /// parse), and on values too wide for their bit fields.
    ///
    /// # Errors
    ///
    /// [`EncodeError::Invalid`] for an available length below 36, a field too
    /// wide for its bits, or a string that is not graphic ASCII or ends in a
    /// space; [`EncodeError::TooLong`] for an available length above 260 or a
    /// string longer than its field.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        if self.available_length < STANDARD_INQUIRY_LEN {
            return Err(EncodeError::Invalid {
                field: "available length",
                value: self.available_length as u64,
                problem: "standard inquiry data is at least 36 bytes",
            });
        }
        bits(
            "response data format",
            u64::from(self.response_data_format),
            0x0F,
        )?;
        let additional =
            u8::try_from(self.available_length - 5).map_err(|_| EncodeError::TooLong {
                field: "available length",
                max: 260,
                got: self.available_length,
            })?;
        let mut out = vec![
            self.peripheral.to_byte()?,
            if self.removable { 0x80 } else { 0 },
            self.version,
            self.response_data_format,
            additional,
            0,
            0,
            0,
        ];
        out.extend_from_slice(&padded::<8>("vendor identification", &self.vendor)?);
        out.extend_from_slice(&padded::<16>("product identification", &self.product)?);
        out.extend_from_slice(&padded::<4>("product revision level", &self.revision)?);
        out.resize(self.available_length, 0);
        Ok(out)
    }
}

/// Turns a fixed-width ASCII field into text as the module doc describes.
fn ascii_field(raw: &[u8], trim_leading: bool) -> String {
    let pad = |b: &u8| *b == b' ' || *b == 0;
    let end = raw.iter().rposition(|b| !pad(b)).map_or(0, |i| i + 1);
    let start = if trim_leading {
        raw.iter().position(|b| !pad(b)).unwrap_or(end)
    } else {
        0
    };
    raw.get(start..end)
        .unwrap_or_default()
        .iter()
        .map(|&b| {
            if (0x20..=0x7E).contains(&b) {
                char::from(b)
            } else {
                '?'
            }
        })
        .collect()
}

fn check_ascii(field: &'static str, text: &str) -> Result<(), EncodeError> {
    if let Some(b) = text.bytes().find(|b| !(0x20..=0x7E).contains(b)) {
        return Err(EncodeError::Invalid {
            field,
            value: u64::from(b),
            problem: "not a graphic ASCII byte (0x20..=0x7E)",
        });
    }
    if text.ends_with(' ') {
        return Err(EncodeError::Invalid {
            field,
            value: u64::from(b' '),
            problem: "trailing spaces are padding and would be lost",
        });
    }
    Ok(())
}

/// `text` left-aligned and space-padded to `N` bytes.
fn padded<const N: usize>(field: &'static str, text: &str) -> Result<[u8; N], EncodeError> {
    check_ascii(field, text)?;
    fit(field, text.len(), N)?;
    let mut out = [b' '; N];
    for (d, s) in out.iter_mut().zip(text.bytes()) {
        *d = s;
    }
    Ok(out)
}

/// Checks a VPD page header and returns (peripheral, page payload).
///
/// The payload is exactly the page length's worth of bytes; a buffer
/// shorter than the page length declares is `Truncated` (ask again with a
/// larger allocation length).
fn vpd_payload(buf: &[u8], page: u8) -> Result<(Peripheral, &[u8]), ParseError> {
    let b0 = u8_at(buf, "peripheral device type", 0)?;
    let code = u8_at(buf, "page code", 1)?;
    if code != page {
        return Err(ParseError::Inconsistent {
            field: "page code",
            offset: 1,
            value: u64::from(code),
            problem: "not the VPD page requested",
        });
    }
    let len = be16(buf, "page length", 2)?;
    let payload = slice(buf, "VPD page payload", 4, usize::from(len))?;
    Ok((Peripheral::from_byte(b0), payload))
}

fn vpd_encode(peripheral: Peripheral, page: u8, payload: &[u8]) -> Result<Vec<u8>, EncodeError> {
    fit("VPD page payload", payload.len(), usize::from(u16::MAX))?;
    let mut out = vec![peripheral.to_byte()?, page];
    out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    out.extend_from_slice(payload);
    Ok(out)
}

/// VPD page 0x00: the VPD page codes the device supports.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SupportedVpdPages {
    /// Qualifier and device type.
    pub peripheral: Peripheral,
    /// Supported page codes, in the device's order (SPC: ascending).
    pub pages: Vec<u8>,
}

impl SupportedVpdPages {
    /// Decodes VPD page 0x00.
    ///
    /// # Errors
    ///
    /// [`ParseError::Inconsistent`] when the page code is not 0x00;
    /// [`ParseError::Truncated`] when `buf` ends before the page length says.
    pub fn parse(buf: &[u8]) -> Result<SupportedVpdPages, ParseError> {
        let (peripheral, payload) = vpd_payload(buf, VPD_SUPPORTED_PAGES)?;
        Ok(SupportedVpdPages {
            peripheral,
            pages: payload.to_vec(),
        })
    }

    /// Encodes VPD page 0x00.
    ///
    /// # Errors
    ///
    /// [`EncodeError::Invalid`] for a peripheral qualifier or type too wide for
    /// its bits; [`EncodeError::TooLong`] for more than 65535 pages.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        vpd_encode(self.peripheral, VPD_SUPPORTED_PAGES, &self.pages)
    }

    /// True if `page` is listed.
    pub fn supports(&self, page: u8) -> bool {
        self.pages.contains(&page)
    }
}

/// VPD page 0x80: the unit serial number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnitSerialNumber {
    /// Qualifier and device type.
    pub peripheral: Peripheral,
    /// The product serial number, leading and trailing spaces and NULs
    /// removed, non-graphic bytes replaced by `?` (see the module doc).
    pub serial: String,
}

impl UnitSerialNumber {
    /// Decodes VPD page 0x80.
    ///
    /// # Errors
    ///
    /// [`ParseError::Inconsistent`] when the page code is not 0x80;
    /// [`ParseError::Truncated`] when `buf` ends before the page length says.
    pub fn parse(buf: &[u8]) -> Result<UnitSerialNumber, ParseError> {
        let (peripheral, payload) = vpd_payload(buf, VPD_UNIT_SERIAL_NUMBER)?;
        Ok(UnitSerialNumber {
            peripheral,
            serial: ascii_field(payload, true),
        })
    }

    /// Encodes VPD page 0x80 with the serial as is (no padding). Fails on a
    /// serial that is not graphic ASCII or has leading or trailing spaces.
    ///
    /// # Errors
    ///
    /// [`EncodeError::Invalid`] for a serial that is not graphic ASCII or has
    /// leading or trailing spaces, or a peripheral field too wide for its bits;
    /// [`EncodeError::TooLong`] for a serial over 65535 bytes.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        check_ascii("product serial number", &self.serial)?;
        if self.serial.starts_with(' ') {
            return Err(EncodeError::Invalid {
                field: "product serial number",
                value: u64::from(b' '),
                problem: "leading spaces are padding and would be lost",
            });
        }
        vpd_encode(
            self.peripheral,
            VPD_UNIT_SERIAL_NUMBER,
            self.serial.as_bytes(),
        )
    }
}

/// Code set of a designator: how its identifier bytes are to be read (4 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CodeSet(pub u8);

impl CodeSet {
    /// 1: binary.
    pub const BINARY: CodeSet = CodeSet(1);
    /// 2: ASCII printable characters.
    pub const ASCII: CodeSet = CodeSet(2);
    /// 3: UTF-8.
    pub const UTF8: CodeSet = CodeSet(3);
}

/// What a designator identifies (2 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Association {
    /// 0: the addressed logical unit.
    LogicalUnit,
    /// 1: the target port that received the command.
    TargetPort,
    /// 2: the SCSI target device containing the logical unit.
    TargetDevice,
    /// 3: reserved.
    Reserved,
}

impl Association {
    /// The association in the low two bits of `v`.
    pub fn from_bits(v: u8) -> Association {
        match v & 0x03 {
            0 => Association::LogicalUnit,
            1 => Association::TargetPort,
            2 => Association::TargetDevice,
            _ => Association::Reserved,
        }
    }

    /// The two-bit field value.
    pub fn bits(self) -> u8 {
        match self {
            Association::LogicalUnit => 0,
            Association::TargetPort => 1,
            Association::TargetDevice => 2,
            Association::Reserved => 3,
        }
    }
}

/// Designator type (4 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DesignatorType(pub u8);

impl DesignatorType {
    /// 0: vendor specific.
    pub const VENDOR_SPECIFIC: DesignatorType = DesignatorType(0x0);
    /// 1: T10 vendor ID based.
    pub const T10_VENDOR_ID: DesignatorType = DesignatorType(0x1);
    /// 2: EUI-64 based.
    pub const EUI64: DesignatorType = DesignatorType(0x2);
    /// 3: NAA.
    pub const NAA: DesignatorType = DesignatorType(0x3);
    /// 4: relative target port identifier.
    pub const RELATIVE_TARGET_PORT: DesignatorType = DesignatorType(0x4);
    /// 5: target port group.
    pub const TARGET_PORT_GROUP: DesignatorType = DesignatorType(0x5);
    /// 6: logical unit group.
    pub const LOGICAL_UNIT_GROUP: DesignatorType = DesignatorType(0x6);
    /// 7: MD5 logical unit identifier.
    pub const MD5_LOGICAL_UNIT: DesignatorType = DesignatorType(0x7);
    /// 8: SCSI name string.
    pub const SCSI_NAME_STRING: DesignatorType = DesignatorType(0x8);
    /// 9: protocol specific port identifier.
    pub const PROTOCOL_SPECIFIC_PORT: DesignatorType = DesignatorType(0x9);
    /// 0xA: UUID.
    pub const UUID: DesignatorType = DesignatorType(0xA);
}

/// One designation descriptor of VPD page 0x83.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Designator {
    /// Protocol identifier (4 bits); meaningful only when `protocol_identifier_valid`.
    pub protocol_identifier: u8,
    /// How to read `identifier`.
    pub code_set: CodeSet,
    /// PIV: `protocol_identifier` is meaningful.
    pub protocol_identifier_valid: bool,
    /// What the designator identifies.
    pub association: Association,
    /// The kind of identifier.
    pub designator_type: DesignatorType,
    /// The identifier bytes, verbatim.
    pub identifier: Vec<u8>,
}

impl Designator {
    /// The identifier as text when the code set is ASCII or UTF-8 and the
    /// bytes decode; trailing NULs and spaces are dropped.
    pub fn text(&self) -> Option<String> {
        if self.code_set != CodeSet::ASCII && self.code_set != CodeSet::UTF8 {
            return None;
        }
        let s = std::str::from_utf8(&self.identifier).ok()?;
        Some(s.trim_end_matches([' ', '\0']).to_owned())
    }
}

/// VPD page 0x83: device identification.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeviceIdentification {
    /// Qualifier and device type.
    pub peripheral: Peripheral,
    /// The designation descriptors in device order.
    pub designators: Vec<Designator>,
}

impl DeviceIdentification {
    /// Decodes VPD page 0x83. A descriptor running past the page length is
    /// `Inconsistent`.
    ///
    /// # Errors
    ///
    /// [`ParseError::Inconsistent`] when the page code is not 0x83 or a
    /// designation descriptor runs past the page length;
    /// [`ParseError::Truncated`] when `buf` ends before the page length says.
    pub fn parse(buf: &[u8]) -> Result<DeviceIdentification, ParseError> {
        let (peripheral, payload) = vpd_payload(buf, VPD_DEVICE_IDENTIFICATION)?;
        let mut designators = Vec::new();
        let mut pos = 0usize;
        while pos < payload.len() {
            let offset = pos + 4;
            let header = slice(payload, "designation descriptor header", pos, 4).map_err(|_| {
                ParseError::Inconsistent {
                    field: "designation descriptor header",
                    offset,
                    value: (payload.len() - pos) as u64,
                    problem: "fewer than 4 bytes left in the page",
                }
            })?;
            let (b0, b1, len) = match header {
                [b0, b1, _, len] => (*b0, *b1, *len),
                _ => break,
            };
            let identifier =
                slice(payload, "designator", pos + 4, usize::from(len)).map_err(|_| {
                    ParseError::Inconsistent {
                        field: "designator length",
                        offset: offset + 3,
                        value: u64::from(len),
                        problem: "designator runs past the page length",
                    }
                })?;
            designators.push(Designator {
                protocol_identifier: b0 >> 4,
                code_set: CodeSet(b0 & 0x0F),
                protocol_identifier_valid: b1 & 0x80 != 0,
                association: Association::from_bits(b1 >> 4),
                designator_type: DesignatorType(b1 & 0x0F),
                identifier: identifier.to_vec(),
            });
            pos += 4 + usize::from(len);
        }
        Ok(DeviceIdentification {
            peripheral,
            designators,
        })
    }

    /// Encodes VPD page 0x83.
    ///
    /// # Errors
    ///
    /// [`EncodeError::Invalid`] for a protocol identifier, code set, designator
    /// type or peripheral field too wide for its bits; [`EncodeError::TooLong`]
    /// for a designator over 255 bytes or a page over 65535.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut payload = Vec::new();
        for d in &self.designators {
            bits(
                "protocol identifier",
                u64::from(d.protocol_identifier),
                0x0F,
            )?;
            bits("code set", u64::from(d.code_set.0), 0x0F)?;
            bits("designator type", u64::from(d.designator_type.0), 0x0F)?;
            fit("designator", d.identifier.len(), 255)?;
            payload.push((d.protocol_identifier << 4) | d.code_set.0);
            payload.push(
                (u8::from(d.protocol_identifier_valid) << 7)
                    | (d.association.bits() << 4)
                    | d.designator_type.0,
            );
            payload.push(0);
            payload.push(d.identifier.len() as u8);
            payload.extend_from_slice(&d.identifier);
        }
        vpd_encode(self.peripheral, VPD_DEVICE_IDENTIFICATION, &payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// QEMU's scsi-cd answer to INQUIRY with allocation length 96.
    fn qemu_like_inquiry() -> Vec<u8> {
        let mut b = vec![0u8; 96];
        b[0] = 0x05;
        b[1] = 0x80;
        b[2] = 0x05;
        b[3] = 0x12;
        b[4] = 91;
        b[7] = 0x10;
        b[8..16].copy_from_slice(b"QEMU    ");
        b[16..32].copy_from_slice(b"QEMU CD-ROM     ");
        b[32..36].copy_from_slice(b"2.5+");
        b
    }

    #[test]
    fn inquiry_cdbs() {
        assert_eq!(inquiry(96).cdb, [0x12, 0, 0, 0, 96, 0]);
        assert_eq!(inquiry(96).allocation_length(), 96);
        assert_eq!(
            inquiry_vpd(0x83, 0x1234).cdb,
            [0x12, 1, 0x83, 0x12, 0x34, 0]
        );
    }

    #[test]
    fn standard_inquiry_exact_values() {
        let i = StandardInquiry::parse(&qemu_like_inquiry()).expect("valid");
        assert_eq!(i.peripheral, Peripheral::MMC);
        assert!(i.peripheral.device_type.is_mmc());
        assert!(i.removable);
        assert_eq!(i.version, 5);
        assert_eq!(i.response_data_format, 2);
        assert_eq!(i.vendor, "QEMU");
        assert_eq!(i.product, "QEMU CD-ROM");
        assert_eq!(i.revision, "2.5+");
        assert_eq!(i.available_length, 96);
    }

    #[test]
    fn ascii_nul_padding_trimmed_and_control_bytes_replaced() {
        let mut b = qemu_like_inquiry();
        b[8..16].copy_from_slice(b"AB\x01C\0\0  ");
        b[32..36].copy_from_slice(b"\xff1\0\0");
        let i = StandardInquiry::parse(&b).expect("valid");
        assert_eq!(i.vendor, "AB?C");
        assert_eq!(i.revision, "?1");
    }

    #[test]
    fn short_additional_length_is_inconsistent() {
        let mut b = qemu_like_inquiry();
        b[4] = 30;
        assert!(matches!(
            StandardInquiry::parse(&b),
            Err(ParseError::Inconsistent {
                offset: 4,
                value: 30,
                ..
            })
        ));
    }

    #[test]
    fn cut_inside_revision_is_truncated_naming_the_field() {
        let b = qemu_like_inquiry();
        assert_eq!(
            StandardInquiry::parse(&b[..34]),
            Err(ParseError::Truncated {
                field: "product revision level",
                offset: 32,
                needed: 36,
                got: 34
            })
        );
    }

    #[test]
    fn every_prefix_of_inquiry_is_ok_or_err() {
        let b = qemu_like_inquiry();
        for n in 0..=b.len() {
            let r = StandardInquiry::parse(&b[..n]);
            assert_eq!(r.is_ok(), n >= 36, "prefix {n}");
        }
    }

    #[test]
    fn inquiry_round_trip_and_exact_bytes() {
        let i = StandardInquiry::parse(&qemu_like_inquiry()).expect("valid");
        let mut expected = qemu_like_inquiry();
        expected[3] = 0x02; // HiSup (byte 3 bit 4) is not modelled
        expected[7] = 0; // nor are the byte 7 flags
        assert_eq!(i.encode().expect("encodes"), expected);
        assert_eq!(StandardInquiry::parse(&i.encode().expect("encodes")), Ok(i));
    }

    #[test]
    fn inquiry_encoder_rejects_what_would_not_round_trip() {
        let base = StandardInquiry::parse(&qemu_like_inquiry()).expect("valid");
        let mut i = base.clone();
        i.vendor = "TOO LONG!".into();
        assert!(matches!(
            i.encode(),
            Err(EncodeError::TooLong { max: 8, got: 9, .. })
        ));
        let mut i = base.clone();
        i.product = "tab\there".into();
        assert!(i.encode().is_err());
        let mut i = base.clone();
        i.revision = "1 ".into();
        assert!(i.encode().is_err());
        let mut i = base;
        i.available_length = 35;
        assert!(i.encode().is_err());
    }

    #[test]
    fn vpd_supported_pages() {
        let b = [0x05, 0x00, 0x00, 0x03, 0x00, 0x80, 0x83];
        let p = SupportedVpdPages::parse(&b).expect("valid");
        assert_eq!(p.peripheral, Peripheral::MMC);
        assert_eq!(p.pages, vec![0x00, 0x80, 0x83]);
        assert!(p.supports(0x83) && !p.supports(0xB0));
        assert_eq!(p.encode().expect("encodes"), b.to_vec());
        for n in 0..b.len() {
            assert!(SupportedVpdPages::parse(&b[..n]).is_err());
        }
    }

    #[test]
    fn vpd_wrong_page_code_is_inconsistent() {
        let b = [0x05, 0x80, 0x00, 0x00];
        assert!(matches!(
            SupportedVpdPages::parse(&b),
            Err(ParseError::Inconsistent {
                field: "page code",
                value: 0x80,
                ..
            })
        ));
    }

    #[test]
    fn vpd_serial_trims_both_ends() {
        let b = [
            0x05, 0x80, 0x00, 0x08, b' ', b' ', b'S', b'N', b'1', 0, b' ', 0,
        ];
        let s = UnitSerialNumber::parse(&b).expect("valid");
        assert_eq!(s.serial, "SN1");
        let again = UnitSerialNumber::parse(&s.encode().expect("encodes")).expect("valid");
        assert_eq!(again, s);
        assert!(UnitSerialNumber {
            peripheral: Peripheral::MMC,
            serial: " X".into()
        }
        .encode()
        .is_err());
    }

    #[test]
    fn vpd_device_identification_designators() {
        let b = [
            0x05, 0x83, 0x00, 0x14, // header, 20 bytes
            0x02, 0x00, 0x00, 0x04, b'c', b'd', b'0', 0, // ASCII vendor specific
            0x61, 0x93, 0x00, 0x08, 0x50, 1, 2, 3, 4, 5, 6, 7, // SAS binary NAA target port
        ];
        let d = DeviceIdentification::parse(&b).expect("valid");
        assert_eq!(d.designators.len(), 2);
        let a = &d.designators[0];
        assert_eq!(a.code_set, CodeSet::ASCII);
        assert_eq!(a.association, Association::LogicalUnit);
        assert_eq!(a.designator_type, DesignatorType::VENDOR_SPECIFIC);
        assert!(!a.protocol_identifier_valid);
        assert_eq!(a.identifier, b"cd0\0".to_vec());
        assert_eq!(a.text().as_deref(), Some("cd0"));
        let n = &d.designators[1];
        assert_eq!(n.protocol_identifier, 6);
        assert_eq!(n.code_set, CodeSet::BINARY);
        assert!(n.protocol_identifier_valid);
        assert_eq!(n.association, Association::TargetPort);
        assert_eq!(n.designator_type, DesignatorType::NAA);
        assert_eq!(n.identifier, vec![0x50, 1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(n.text(), None);
        assert_eq!(d.encode().expect("encodes"), b.to_vec());
    }

    #[test]
    fn vpd_designator_overrunning_page_is_inconsistent() {
        let b = [0x05, 0x83, 0x00, 0x06, 0x02, 0x00, 0x00, 0x04, b'a', b'b'];
        assert!(matches!(
            DeviceIdentification::parse(&b),
            Err(ParseError::Inconsistent {
                field: "designator length",
                ..
            })
        ));
        let b = [0x05, 0x83, 0x00, 0x02, 0x02, 0x00];
        assert!(matches!(
            DeviceIdentification::parse(&b),
            Err(ParseError::Inconsistent {
                field: "designation descriptor header",
                ..
            })
        ));
    }
}
