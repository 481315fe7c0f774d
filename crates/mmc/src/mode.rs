//! MODE SENSE(10) (SPC-4 6.12, opcode 0x5A): the mode parameter header(10),
//! block descriptors, and the walk over mode pages (SPC-4 7.5, mode
//! parameters; the MM device pages of MMC-6 7) that tells which pages a drive
//! has (IMAPI2's `SupportedModePages`). Builder, parser, encoder.
//!
//! Owns the mode parameter list's framing. It must not do I/O, decode any
//! one page's fields, or import other command modules; its operation code
//! comes from [`crate::codes`].
//!
//! Pages are kept as raw bytes: decoding any one page's fields is left to
//! whoever needs that page.
//!
//! # Responses cut by the allocation length
//!
//! As for GET CONFIGURATION: pages that arrived whole are kept, one cut by
//! the end of the buffer is dropped and `complete` is false; a page running
//! past the end the mode data length declares is `Inconsistent`.

use crate::bytes::{be16, bits, clamp, slice, u8_at};
use crate::codes::opcode;
use crate::{Command, DataDirection, EncodeError, ParseError};

/// Length of the mode parameter header for MODE SENSE(10).
pub const MODE_HEADER10_LEN: usize = 8;

/// Page code that asks for every page.
pub const ALL_PAGES: u8 = 0x3F;

/// The PC field: which values of the parameters to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PageControl {
    /// 00b: current values.
    Current,
    /// 01b: mask of changeable values.
    Changeable,
    /// 10b: default values.
    Default,
    /// 11b: saved values.
    Saved,
}

impl PageControl {
    /// The two-bit PC value.
    pub fn bits(self) -> u8 {
        match self {
            PageControl::Current => 0,
            PageControl::Changeable => 1,
            PageControl::Default => 2,
            PageControl::Saved => 3,
        }
    }

    /// The page control in the low two bits of `v`.
    pub fn from_bits(v: u8) -> PageControl {
        match v & 0x03 {
            0 => PageControl::Current,
            1 => PageControl::Changeable,
            2 => PageControl::Default,
            _ => PageControl::Saved,
        }
    }
}

/// MODE SENSE(10). `page_code` is 6 bits (values above 0x3F are masked);
/// `disable_block_descriptors` sets DBD (MMC drives return none anyway).
pub fn mode_sense10(
    page_control: PageControl,
    page_code: u8,
    subpage_code: u8,
    allocation_length: u16,
    disable_block_descriptors: bool,
) -> Command<10> {
    let [hi, lo] = allocation_length.to_be_bytes();
    Command {
        cdb: [
            opcode::MODE_SENSE_10,
            u8::from(disable_block_descriptors) << 3,
            (page_control.bits() << 6) | (page_code & 0x3F),
            subpage_code,
            0,
            0,
            0,
            hi,
            lo,
            0,
        ],
        direction: DataDirection::FromDevice {
            allocation_length: u32::from(allocation_length),
        },
    }
}

/// MODE SENSE(10) for all pages, subpage 0, current values: the request
/// behind a drive's list of supported mode pages.
pub fn mode_sense10_all_pages(allocation_length: u16) -> Command<10> {
    mode_sense10(PageControl::Current, ALL_PAGES, 0, allocation_length, false)
}

/// One mode page, header decoded, parameters raw.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ModePage {
    /// Page code (6 bits).
    pub page_code: u8,
    /// `Some(subpage)` for the sub_page format (SPF bit set, 4-byte page
    /// header, 16-bit length); `None` for the page_0 format (2-byte header).
    pub subpage_code: Option<u8>,
    /// PS: the page can be saved.
    pub parameters_saveable: bool,
    /// The parameter bytes after the page header.
    pub data: Vec<u8>,
}

/// A decoded MODE SENSE(10) response.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ModeParameters {
    /// Medium type byte of the header.
    pub medium_type: u8,
    /// Device-specific parameter byte of the header.
    pub device_specific_parameter: u8,
    /// LONGLBA bit of the header.
    pub long_lba: bool,
    /// The block descriptor bytes, raw (MMC drives send none).
    pub block_descriptors: Vec<u8>,
    /// The pages that arrived whole, in device order.
    pub pages: Vec<ModePage>,
    /// False when the drive had more data than arrived.
    pub complete: bool,
}

impl ModeParameters {
    /// Decodes a MODE SENSE(10) response (see the module doc).
    ///
    /// The 8-byte header must be present. The block descriptors must fit
    /// inside the declared mode data length (`Inconsistent` otherwise) and
    /// inside the buffer (`Truncated` otherwise).
    ///
    /// # Errors
    ///
    /// [`ParseError::Truncated`] when `buf` ends before the 8-byte header or the
    /// block descriptors end; [`ParseError::Inconsistent`] when the mode data
    /// length is shorter than the header and block descriptors, or a page (or
    /// page header) runs past the end it declares.
    pub fn parse(buf: &[u8]) -> Result<ModeParameters, ParseError> {
        let mode_data_length = be16(buf, "mode data length", 0)?;
        let medium_type = u8_at(buf, "medium type", 2)?;
        let device_specific_parameter = u8_at(buf, "device-specific parameter", 3)?;
        let long_lba = u8_at(buf, "longlba", 4)? & 0x01 != 0;
        let bd_len = usize::from(be16(buf, "block descriptor length", 6)?);
        let declared_end = usize::from(mode_data_length) + 2;
        if declared_end < MODE_HEADER10_LEN + bd_len {
            return Err(ParseError::Inconsistent {
                field: "mode data length",
                offset: 0,
                value: u64::from(mode_data_length),
                problem: "shorter than the header and block descriptors",
            });
        }
        let data = clamp(buf, declared_end);
        let complete = data.len() == declared_end;
        let block_descriptors =
            slice(data, "block descriptors", MODE_HEADER10_LEN, bd_len)?.to_vec();
        let mut pages = Vec::new();
        let mut pos = MODE_HEADER10_LEN + bd_len;
        while pos < data.len() {
            let b0 = u8_at(data, "page code", pos)?;
            let spf = b0 & 0x40 != 0;
            let header_len = if spf { 4 } else { 2 };
            let Some(header) = data.get(pos..pos + header_len) else {
                if pos + header_len > declared_end {
                    return Err(ParseError::Inconsistent {
                        field: "mode page header",
                        offset: pos,
                        value: u64::from(b0),
                        problem: "page header runs past the end the mode data length declares",
                    });
                }
                break;
            };
            let (subpage_code, page_len) = match header {
                [_, sub, hi, lo] => (Some(*sub), usize::from(u16::from_be_bytes([*hi, *lo]))),
                [_, len] => (None, usize::from(*len)),
                _ => break,
            };
            let end = pos + header_len + page_len;
            if end > declared_end {
                return Err(ParseError::Inconsistent {
                    field: "page length",
                    offset: pos + 1,
                    value: page_len as u64,
                    problem: "page runs past the end the mode data length declares",
                });
            }
            let Some(payload) = data.get(pos + header_len..end) else {
                break;
            };
            pages.push(ModePage {
                page_code: b0 & 0x3F,
                subpage_code,
                parameters_saveable: b0 & 0x80 != 0,
                data: payload.to_vec(),
            });
            pos = end;
        }
        Ok(ModeParameters {
            medium_type,
            device_specific_parameter,
            long_lba,
            block_descriptors,
            pages,
            complete,
        })
    }

    /// The page codes present, in device order (subpages included, so a
    /// code may repeat).
    pub fn page_codes(&self) -> Vec<u8> {
        self.pages.iter().map(|p| p.page_code).collect()
    }

    /// The first page with `page_code` and no subpage (or subpage 0).
    pub fn page(&self, page_code: u8) -> Option<&ModePage> {
        self.pages
            .iter()
            .find(|p| p.page_code == page_code && p.subpage_code.unwrap_or(0) == 0)
    }
}

/// Encodes a MODE SENSE(10) response (LONGLBA clear): header, block
/// descriptors, then `pages` in order. The caller truncates to the
/// allocation length.
///
/// # Errors
///
/// [`EncodeError::Invalid`] for a page code above 0x3F;
/// [`EncodeError::TooLong`] for block descriptors or a subpage over 65535
/// bytes, a page over 255, or a response whose mode data length does not fit
/// 16 bits.
pub fn encode_mode_sense10(
    medium_type: u8,
    device_specific_parameter: u8,
    block_descriptors: &[u8],
    pages: &[ModePage],
) -> Result<Vec<u8>, EncodeError> {
    let bd_len = u16::try_from(block_descriptors.len()).map_err(|_| EncodeError::TooLong {
        field: "block descriptors",
        max: usize::from(u16::MAX),
        got: block_descriptors.len(),
    })?;
    let mut body = block_descriptors.to_vec();
    for p in pages {
        bits("page code", u64::from(p.page_code), 0x3F)?;
        let ps = u8::from(p.parameters_saveable) << 7;
        match p.subpage_code {
            None => {
                let len = u8::try_from(p.data.len()).map_err(|_| EncodeError::TooLong {
                    field: "mode page parameters",
                    max: 255,
                    got: p.data.len(),
                })?;
                body.extend_from_slice(&[ps | p.page_code, len]);
            }
            Some(sub) => {
                let len = u16::try_from(p.data.len()).map_err(|_| EncodeError::TooLong {
                    field: "mode subpage parameters",
                    max: usize::from(u16::MAX),
                    got: p.data.len(),
                })?;
                let [hi, lo] = len.to_be_bytes();
                body.extend_from_slice(&[ps | 0x40 | p.page_code, sub, hi, lo]);
            }
        }
        body.extend_from_slice(&p.data);
    }
    // The mode data length counts the 6 header bytes after itself.
    let mode_data_length =
        u16::try_from(body.len() + MODE_HEADER10_LEN - 2).map_err(|_| EncodeError::TooLong {
            field: "mode data",
            max: usize::from(u16::MAX) + 2 - MODE_HEADER10_LEN,
            got: body.len(),
        })?;
    let [ml_hi, ml_lo] = mode_data_length.to_be_bytes();
    let [bd_hi, bd_lo] = bd_len.to_be_bytes();
    let mut out = vec![
        ml_hi,
        ml_lo,
        medium_type,
        device_specific_parameter,
        0,
        0,
        bd_hi,
        bd_lo,
    ];
    out.extend_from_slice(&body);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Modelled on QEMU's scsi-cd answer to MODE SENSE(10) 0x3F: no block
    /// descriptor, pages 0x01, 0x08, 0x0E, 0x2A.
    fn qemu_like() -> Vec<u8> {
        let mut b = vec![0u8, 0, 0, 0, 0, 0, 0, 0];
        for (code, len) in [(0x01u8, 10usize), (0x08, 0x12), (0x0E, 14), (0x2A, 0x14)] {
            b.push(code);
            b.push(len as u8);
            b.extend_from_slice(&vec![code; len]);
        }
        let mdl = (b.len() - 2) as u16;
        b[0..2].copy_from_slice(&mdl.to_be_bytes());
        b
    }

    #[test]
    fn cdb_layout() {
        assert_eq!(
            mode_sense10_all_pages(65530).cdb,
            [0x5A, 0, 0x3F, 0, 0, 0, 0, 0xFF, 0xFA, 0]
        );
        assert_eq!(
            mode_sense10(PageControl::Changeable, 0x2A, 0, 64, true).cdb,
            [0x5A, 0x08, 0x6A, 0, 0, 0, 0, 0, 64, 0]
        );
        assert_eq!(
            mode_sense10(PageControl::Saved, 0xFF, 0xFF, 1, false).cdb[2],
            0xFF
        );
        for v in 0..4 {
            assert_eq!(PageControl::from_bits(v).bits(), v);
        }
    }

    #[test]
    fn walks_pages_in_order() {
        let m = ModeParameters::parse(&qemu_like()).expect("valid");
        assert!(m.complete);
        assert_eq!(m.page_codes(), vec![0x01, 0x08, 0x0E, 0x2A]);
        assert!(m.block_descriptors.is_empty());
        let caps = m.page(0x2A).expect("present");
        assert_eq!(caps.data.len(), 0x14);
        assert_eq!(caps.subpage_code, None);
        assert!(m.page(0x05).is_none());
    }

    #[test]
    fn block_descriptors_and_subpages() {
        let b = [
            0, 20, 0x05, 0x80, 1, 0, 0,
            8, // header: 22 bytes total, 8 bytes of block descriptor
            0, 0, 0, 0, 0, 0, 8, 0, // block descriptor
            0xC1, 0x02, 0, 2, 0xAA, 0xBB, // saveable, SPF page 0x01 subpage 2
        ];
        let m = ModeParameters::parse(&b).expect("valid");
        assert_eq!(m.medium_type, 5);
        assert_eq!(m.device_specific_parameter, 0x80);
        assert!(m.long_lba);
        assert_eq!(m.block_descriptors, vec![0, 0, 0, 0, 0, 0, 8, 0]);
        assert_eq!(
            m.pages,
            vec![ModePage {
                page_code: 0x01,
                subpage_code: Some(2),
                parameters_saveable: true,
                data: vec![0xAA, 0xBB]
            }]
        );
        assert!(m.page(0x01).is_none(), "subpage 2 is not the page itself");
    }

    #[test]
    fn page_overrunning_mode_data_length_is_rejected() {
        let mut b = qemu_like();
        let last_len_at = b.len() - 0x14 - 1;
        b[last_len_at] = 0x15;
        assert!(matches!(
            ModeParameters::parse(&b),
            Err(ParseError::Inconsistent {
                field: "page length",
                ..
            })
        ));
        let mut b = qemu_like();
        b.push(0x30);
        let mdl = (b.len() - 2) as u16;
        b[0..2].copy_from_slice(&mdl.to_be_bytes());
        assert!(matches!(
            ModeParameters::parse(&b),
            Err(ParseError::Inconsistent {
                field: "mode page header",
                ..
            })
        ));
    }

    #[test]
    fn block_descriptor_length_beyond_data_is_inconsistent() {
        let b = [0, 6, 0, 0, 0, 0, 0, 8];
        assert!(matches!(
            ModeParameters::parse(&b),
            Err(ParseError::Inconsistent {
                field: "mode data length",
                ..
            })
        ));
    }

    #[test]
    fn cut_by_allocation_keeps_whole_pages() {
        let b = qemu_like();
        let m = ModeParameters::parse(&b[..8 + 12 + 5]).expect("valid");
        assert!(!m.complete);
        assert_eq!(m.page_codes(), vec![0x01]);
    }

    #[test]
    fn every_prefix_is_ok_or_err() {
        let b = qemu_like();
        for n in 0..=b.len() {
            assert_eq!(ModeParameters::parse(&b[..n]).is_ok(), n >= 8, "prefix {n}");
        }
    }

    #[test]
    fn encoder_round_trip_and_exact_bytes() {
        let m = ModeParameters::parse(&qemu_like()).expect("valid");
        let bytes = encode_mode_sense10(0, 0, &[], &m.pages).expect("fits");
        assert_eq!(bytes, qemu_like());
        let pages = vec![ModePage {
            page_code: 0x2A,
            subpage_code: Some(1),
            parameters_saveable: false,
            data: vec![1; 300],
        }];
        let bytes = encode_mode_sense10(1, 2, &[9; 8], &pages).expect("fits");
        let m = ModeParameters::parse(&bytes).expect("valid");
        assert_eq!(m.pages, pages);
        assert_eq!(m.block_descriptors, vec![9; 8]);
        assert_eq!((m.medium_type, m.device_specific_parameter), (1, 2));
    }

    #[test]
    fn encoder_rejects_oversized_pages() {
        let page = ModePage {
            page_code: 0x40,
            subpage_code: None,
            parameters_saveable: false,
            data: vec![],
        };
        assert!(encode_mode_sense10(0, 0, &[], std::slice::from_ref(&page)).is_err());
        let page = ModePage {
            page_code: 1,
            data: vec![0; 256],
            ..page
        };
        assert!(matches!(
            encode_mode_sense10(0, 0, &[], &[page]),
            Err(EncodeError::TooLong { max: 255, .. })
        ));
    }
}
