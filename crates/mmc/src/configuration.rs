//! GET CONFIGURATION (MMC-6 6.6, opcode 0x46): the drive's profiles (what
//! kinds of disc it handles, and which one is mounted now; MMC-6 5.3.1 and
//! the profile list of MMC-6 5.4) and feature descriptors (what it can do;
//! MMC-6 5.2, 5.3). Builder, parser, encoder, and decoders for the Profile
//! List (0x0000, MMC-6 5.3.1) and Removable Medium (0x0003, MMC-6 5.3.4)
//! features.
//!
//! Owns the byte layout of the feature header and feature descriptors. It
//! must not do I/O, decide what a profile or feature means for the recorder
//! (that is the library's), or import other command modules; it takes its
//! operation code from [`crate::codes`].
//!
//! # Responses cut by the allocation length
//!
//! The header's data length counts every byte the drive has, even when the
//! allocation length let it send fewer. [`Configuration::parse`] therefore
//! keeps the descriptors that arrived whole, drops one cut by the end of the
//! buffer, and reports `complete == false`. A descriptor running past the end
//! the data length declares is `Inconsistent`.

use std::fmt;

use crate::bytes::{be16, be32, bits, clamp, fit, u8_at};
use crate::codes::opcode;
use crate::{Command, DataDirection, EncodeError, ParseError};

/// Length of the feature header.
pub const FEATURE_HEADER_LEN: usize = 8;

/// The RT field: which feature descriptors to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestType {
    /// RT=0: every feature with a code at or above the starting feature.
    All,
    /// RT=1: every *current* feature at or above the starting feature.
    Current,
    /// RT=2: only the starting feature.
    One,
}

impl RequestType {
    /// The two-bit RT value.
    pub fn bits(self) -> u8 {
        match self {
            RequestType::All => 0,
            RequestType::Current => 1,
            RequestType::One => 2,
        }
    }

    /// The request type for an RT value; `None` for the reserved value 3.
    pub fn from_bits(v: u8) -> Option<RequestType> {
        match v & 0x03 {
            0 => Some(RequestType::All),
            1 => Some(RequestType::Current),
            2 => Some(RequestType::One),
            _ => None,
        }
    }

    /// Whether a drive answering this request with `starting` should include
    /// `feature` (for an emulated drive building its response).
    pub fn selects(self, starting: FeatureCode, feature: &FeatureDescriptor) -> bool {
        match self {
            RequestType::All => feature.code >= starting,
            RequestType::Current => feature.code >= starting && feature.current,
            RequestType::One => feature.code == starting,
        }
    }
}

/// GET CONFIGURATION (10-byte CDB).
pub fn get_configuration(
    request_type: RequestType,
    starting_feature: FeatureCode,
    allocation_length: u16,
) -> Command<10> {
    let [sf_hi, sf_lo] = starting_feature.0.to_be_bytes();
    let [al_hi, al_lo] = allocation_length.to_be_bytes();
    Command {
        cdb: [
            opcode::GET_CONFIGURATION,
            request_type.bits(),
            sf_hi,
            sf_lo,
            0,
            0,
            0,
            al_hi,
            al_lo,
            0,
        ],
        direction: DataDirection::FromDevice {
            allocation_length: u32::from(allocation_length),
        },
    }
}

/// An MMC profile number: a kind of medium (and drive behaviour for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Profile(pub u16);

impl Profile {
    /// 0x0000: no current profile (no medium, or not reported).
    pub const NONE: Profile = Profile(0x0000);
    /// 0x0001: non-removable disk.
    pub const NON_REMOVABLE_DISK: Profile = Profile(0x0001);
    /// 0x0002: removable disk.
    pub const REMOVABLE_DISK: Profile = Profile(0x0002);
    /// 0x0003: magneto-optical erasable.
    pub const MO_ERASABLE: Profile = Profile(0x0003);
    /// 0x0004: optical write once.
    pub const OPTICAL_WRITE_ONCE: Profile = Profile(0x0004);
    /// 0x0005: AS-MO.
    pub const AS_MO: Profile = Profile(0x0005);
    /// 0x0008: CD-ROM.
    pub const CD_ROM: Profile = Profile(0x0008);
    /// 0x0009: CD-R.
    pub const CD_R: Profile = Profile(0x0009);
    /// 0x000A: CD-RW.
    pub const CD_RW: Profile = Profile(0x000A);
    /// 0x0010: DVD-ROM.
    pub const DVD_ROM: Profile = Profile(0x0010);
    /// 0x0011: DVD-R sequential recording.
    pub const DVD_R_SEQUENTIAL: Profile = Profile(0x0011);
    /// 0x0012: DVD-RAM.
    pub const DVD_RAM: Profile = Profile(0x0012);
    /// 0x0013: DVD-RW restricted overwrite.
    pub const DVD_RW_RESTRICTED_OVERWRITE: Profile = Profile(0x0013);
    /// 0x0014: DVD-RW sequential recording.
    pub const DVD_RW_SEQUENTIAL: Profile = Profile(0x0014);
    /// 0x0015: DVD-R dual layer sequential recording.
    pub const DVD_R_DL_SEQUENTIAL: Profile = Profile(0x0015);
    /// 0x0016: DVD-R dual layer jump recording.
    pub const DVD_R_DL_LAYER_JUMP: Profile = Profile(0x0016);
    /// 0x001A: DVD+RW.
    pub const DVD_PLUS_RW: Profile = Profile(0x001A);
    /// 0x001B: DVD+R.
    pub const DVD_PLUS_R: Profile = Profile(0x001B);
    /// 0x002A: DVD+RW dual layer.
    pub const DVD_PLUS_RW_DL: Profile = Profile(0x002A);
    /// 0x002B: DVD+R dual layer.
    pub const DVD_PLUS_R_DL: Profile = Profile(0x002B);
    /// 0x0040: BD-ROM.
    pub const BD_ROM: Profile = Profile(0x0040);
    /// 0x0041: BD-R sequential recording mode.
    pub const BD_R_SEQUENTIAL: Profile = Profile(0x0041);
    /// 0x0042: BD-R random recording mode.
    pub const BD_R_RANDOM: Profile = Profile(0x0042);
    /// 0x0043: BD-RE.
    pub const BD_RE: Profile = Profile(0x0043);
    /// 0x0050: HD DVD-ROM.
    pub const HD_DVD_ROM: Profile = Profile(0x0050);
    /// 0x0051: HD DVD-R.
    pub const HD_DVD_R: Profile = Profile(0x0051);
    /// 0x0052: HD DVD-RAM.
    pub const HD_DVD_RAM: Profile = Profile(0x0052);
    /// 0xFFFF: drive does not conform to any profile.
    pub const NONSTANDARD: Profile = Profile(0xFFFF);

    /// A human-readable name for a known profile.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x0000 => "none",
            0x0001 => "non-removable disk",
            0x0002 => "removable disk",
            0x0003 => "MO erasable",
            0x0004 => "optical write once",
            0x0005 => "AS-MO",
            0x0008 => "CD-ROM",
            0x0009 => "CD-R",
            0x000A => "CD-RW",
            0x0010 => "DVD-ROM",
            0x0011 => "DVD-R sequential recording",
            0x0012 => "DVD-RAM",
            0x0013 => "DVD-RW restricted overwrite",
            0x0014 => "DVD-RW sequential recording",
            0x0015 => "DVD-R dual layer sequential recording",
            0x0016 => "DVD-R dual layer jump recording",
            0x001A => "DVD+RW",
            0x001B => "DVD+R",
            0x002A => "DVD+RW dual layer",
            0x002B => "DVD+R dual layer",
            0x0040 => "BD-ROM",
            0x0041 => "BD-R sequential recording",
            0x0042 => "BD-R random recording",
            0x0043 => "BD-RE",
            0x0050 => "HD DVD-ROM",
            0x0051 => "HD DVD-R",
            0x0052 => "HD DVD-RAM",
            0xFFFF => "nonstandard",
            _ => return None,
        })
    }
}

impl fmt::Display for Profile {
    /// `0x0008 (CD-ROM)`, or just the number when the profile is unknown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{:#06x} ({name})", self.0),
            None => write!(f, "{:#06x}", self.0),
        }
    }
}

/// An MMC feature code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FeatureCode(pub u16);

impl FeatureCode {
    /// 0x0000: Profile List.
    pub const PROFILE_LIST: FeatureCode = FeatureCode(0x0000);
    /// 0x0001: Core.
    pub const CORE: FeatureCode = FeatureCode(0x0001);
    /// 0x0002: Morphing.
    pub const MORPHING: FeatureCode = FeatureCode(0x0002);
    /// 0x0003: Removable Medium.
    pub const REMOVABLE_MEDIUM: FeatureCode = FeatureCode(0x0003);
    /// 0x0004: Write Protect.
    pub const WRITE_PROTECT: FeatureCode = FeatureCode(0x0004);
    /// 0x0010: Random Readable.
    pub const RANDOM_READABLE: FeatureCode = FeatureCode(0x0010);
    /// 0x001D: Multi-Read.
    pub const MULTI_READ: FeatureCode = FeatureCode(0x001D);
    /// 0x001E: CD Read.
    pub const CD_READ: FeatureCode = FeatureCode(0x001E);
    /// 0x001F: DVD Read.
    pub const DVD_READ: FeatureCode = FeatureCode(0x001F);
    /// 0x0020: Random Writable.
    pub const RANDOM_WRITABLE: FeatureCode = FeatureCode(0x0020);
    /// 0x0021: Incremental Streaming Writable.
    pub const INCREMENTAL_STREAMING_WRITABLE: FeatureCode = FeatureCode(0x0021);
    /// 0x0022: Sector Erasable.
    pub const SECTOR_ERASABLE: FeatureCode = FeatureCode(0x0022);
    /// 0x0023: Formattable.
    pub const FORMATTABLE: FeatureCode = FeatureCode(0x0023);
    /// 0x0024: Hardware Defect Management.
    pub const HARDWARE_DEFECT_MANAGEMENT: FeatureCode = FeatureCode(0x0024);
    /// 0x0025: Write Once.
    pub const WRITE_ONCE: FeatureCode = FeatureCode(0x0025);
    /// 0x0026: Restricted Overwrite.
    pub const RESTRICTED_OVERWRITE: FeatureCode = FeatureCode(0x0026);
    /// 0x0027: CD-RW CAV Write.
    pub const CD_RW_CAV_WRITE: FeatureCode = FeatureCode(0x0027);
    /// 0x0028: MRW.
    pub const MRW: FeatureCode = FeatureCode(0x0028);
    /// 0x0029: Enhanced Defect Reporting.
    pub const ENHANCED_DEFECT_REPORTING: FeatureCode = FeatureCode(0x0029);
    /// 0x002A: DVD+RW.
    pub const DVD_PLUS_RW: FeatureCode = FeatureCode(0x002A);
    /// 0x002B: DVD+R.
    pub const DVD_PLUS_R: FeatureCode = FeatureCode(0x002B);
    /// 0x002C: Rigid Restricted Overwrite.
    pub const RIGID_RESTRICTED_OVERWRITE: FeatureCode = FeatureCode(0x002C);
    /// 0x002D: CD Track at Once.
    pub const CD_TRACK_AT_ONCE: FeatureCode = FeatureCode(0x002D);
    /// 0x002E: CD Mastering (session at once / raw).
    pub const CD_MASTERING: FeatureCode = FeatureCode(0x002E);
    /// 0x002F: DVD-R/-RW Write.
    pub const DVD_DASH_WRITE: FeatureCode = FeatureCode(0x002F);
    /// 0x0033: Layer Jump Recording.
    pub const LAYER_JUMP_RECORDING: FeatureCode = FeatureCode(0x0033);
    /// 0x0037: CD-RW Media Write Support.
    pub const CD_RW_MEDIA_WRITE_SUPPORT: FeatureCode = FeatureCode(0x0037);
    /// 0x0038: BD-R Pseudo-Overwrite.
    pub const BD_R_PSEUDO_OVERWRITE: FeatureCode = FeatureCode(0x0038);
    /// 0x003A: DVD+RW Dual Layer.
    pub const DVD_PLUS_RW_DUAL_LAYER: FeatureCode = FeatureCode(0x003A);
    /// 0x003B: DVD+R Dual Layer.
    pub const DVD_PLUS_R_DUAL_LAYER: FeatureCode = FeatureCode(0x003B);
    /// 0x0040: BD Read.
    pub const BD_READ: FeatureCode = FeatureCode(0x0040);
    /// 0x0041: BD Write.
    pub const BD_WRITE: FeatureCode = FeatureCode(0x0041);
    /// 0x0042: Timely Safe Recording.
    pub const TSR: FeatureCode = FeatureCode(0x0042);
    /// 0x0050: HD DVD Read.
    pub const HD_DVD_READ: FeatureCode = FeatureCode(0x0050);
    /// 0x0051: HD DVD Write.
    pub const HD_DVD_WRITE: FeatureCode = FeatureCode(0x0051);
    /// 0x0080: Hybrid Disc.
    pub const HYBRID_DISC: FeatureCode = FeatureCode(0x0080);
    /// 0x0100: Power Management.
    pub const POWER_MANAGEMENT: FeatureCode = FeatureCode(0x0100);
    /// 0x0101: S.M.A.R.T.
    pub const SMART: FeatureCode = FeatureCode(0x0101);
    /// 0x0102: Embedded Changer.
    pub const EMBEDDED_CHANGER: FeatureCode = FeatureCode(0x0102);
    /// 0x0103: CD External Audio Play.
    pub const CD_EXTERNAL_AUDIO_PLAY: FeatureCode = FeatureCode(0x0103);
    /// 0x0104: Microcode Upgrade.
    pub const MICROCODE_UPGRADE: FeatureCode = FeatureCode(0x0104);
    /// 0x0105: Timeout.
    pub const TIMEOUT: FeatureCode = FeatureCode(0x0105);
    /// 0x0106: DVD CSS.
    pub const DVD_CSS: FeatureCode = FeatureCode(0x0106);
    /// 0x0107: Real Time Streaming.
    pub const REAL_TIME_STREAMING: FeatureCode = FeatureCode(0x0107);
    /// 0x0108: Drive Serial Number.
    pub const DRIVE_SERIAL_NUMBER: FeatureCode = FeatureCode(0x0108);
    /// 0x0109: Media Serial Number.
    pub const MEDIA_SERIAL_NUMBER: FeatureCode = FeatureCode(0x0109);
    /// 0x010A: Disc Control Blocks.
    pub const DISC_CONTROL_BLOCKS: FeatureCode = FeatureCode(0x010A);
    /// 0x010B: DVD CPRM.
    pub const DVD_CPRM: FeatureCode = FeatureCode(0x010B);
    /// 0x010C: Firmware Information.
    pub const FIRMWARE_INFORMATION: FeatureCode = FeatureCode(0x010C);
    /// 0x010D: AACS.
    pub const AACS: FeatureCode = FeatureCode(0x010D);
    /// 0x0110: VCPS.
    pub const VCPS: FeatureCode = FeatureCode(0x0110);

    /// A human-readable name for a known feature.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x0000 => "Profile List",
            0x0001 => "Core",
            0x0002 => "Morphing",
            0x0003 => "Removable Medium",
            0x0004 => "Write Protect",
            0x0010 => "Random Readable",
            0x001D => "Multi-Read",
            0x001E => "CD Read",
            0x001F => "DVD Read",
            0x0020 => "Random Writable",
            0x0021 => "Incremental Streaming Writable",
            0x0022 => "Sector Erasable",
            0x0023 => "Formattable",
            0x0024 => "Hardware Defect Management",
            0x0025 => "Write Once",
            0x0026 => "Restricted Overwrite",
            0x0027 => "CD-RW CAV Write",
            0x0028 => "MRW",
            0x0029 => "Enhanced Defect Reporting",
            0x002A => "DVD+RW",
            0x002B => "DVD+R",
            0x002C => "Rigid Restricted Overwrite",
            0x002D => "CD Track at Once",
            0x002E => "CD Mastering",
            0x002F => "DVD-R/-RW Write",
            0x0033 => "Layer Jump Recording",
            0x0037 => "CD-RW Media Write Support",
            0x0038 => "BD-R Pseudo-Overwrite",
            0x003A => "DVD+RW Dual Layer",
            0x003B => "DVD+R Dual Layer",
            0x0040 => "BD Read",
            0x0041 => "BD Write",
            0x0042 => "Timely Safe Recording",
            0x0050 => "HD DVD Read",
            0x0051 => "HD DVD Write",
            0x0080 => "Hybrid Disc",
            0x0100 => "Power Management",
            0x0101 => "S.M.A.R.T.",
            0x0102 => "Embedded Changer",
            0x0103 => "CD External Audio Play",
            0x0104 => "Microcode Upgrade",
            0x0105 => "Timeout",
            0x0106 => "DVD CSS",
            0x0107 => "Real Time Streaming",
            0x0108 => "Drive Serial Number",
            0x0109 => "Media Serial Number",
            0x010A => "Disc Control Blocks",
            0x010B => "DVD CPRM",
            0x010C => "Firmware Information",
            0x010D => "AACS",
            0x0110 => "VCPS",
            _ => return None,
        })
    }
}

impl fmt::Display for FeatureCode {
    /// `0x0003 (Removable Medium)`, or just the number when unknown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{:#06x} ({name})", self.0),
            None => write!(f, "{:#06x}", self.0),
        }
    }
}

/// The 8-byte feature header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FeatureHeader {
    /// Bytes the drive has after the data length field itself (so the full
    /// response is `data_length + 4` bytes).
    pub data_length: u32,
    /// The profile of the mounted medium ([`Profile::NONE`] when empty).
    pub current_profile: Profile,
}

impl FeatureHeader {
    /// Decodes the header alone (for example from an 8-byte GET CONFIGURATION
    /// asking only for the current profile).
    ///
    /// # Errors
    ///
    /// [`ParseError::Truncated`] when `buf` ends before the current profile
    /// (byte 8); [`ParseError::Inconsistent`] when the data length is below 4.
    pub fn parse(buf: &[u8]) -> Result<FeatureHeader, ParseError> {
        let data_length = be32(buf, "data length", 0)?;
        if data_length < 4 {
            return Err(ParseError::Inconsistent {
                field: "data length",
                offset: 0,
                value: u64::from(data_length),
                problem: "shorter than the rest of the 8-byte feature header",
            });
        }
        let current_profile = Profile(be16(buf, "current profile", 6)?);
        Ok(FeatureHeader {
            data_length,
            current_profile,
        })
    }
}

/// One feature descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FeatureDescriptor {
    /// Feature code.
    pub code: FeatureCode,
    /// Version (4 bits).
    pub version: u8,
    /// The feature is always current.
    pub persistent: bool,
    /// The feature is usable now (with the mounted medium).
    pub current: bool,
    /// The feature-dependent data after the 4-byte descriptor header.
    pub data: Vec<u8>,
}

impl FeatureDescriptor {
    fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        bits("feature version", u64::from(self.version), 0x0F)?;
        fit("feature additional data", self.data.len(), 255)?;
        out.extend_from_slice(&self.code.0.to_be_bytes());
        out.push((self.version << 2) | (u8::from(self.persistent) << 1) | u8::from(self.current));
        out.push(self.data.len() as u8);
        out.extend_from_slice(&self.data);
        Ok(())
    }
}

/// A decoded GET CONFIGURATION response.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Configuration {
    /// The profile of the mounted medium.
    pub current_profile: Profile,
    /// The descriptors that arrived whole, in device order.
    pub features: Vec<FeatureDescriptor>,
    /// False when the drive has more data than arrived (the allocation
    /// length cut it); ask again with a larger one or a later starting feature.
    pub complete: bool,
}

impl Configuration {
    /// Decodes a GET CONFIGURATION response (see the module doc for
    /// responses cut by the allocation length).
    ///
    /// # Errors
    ///
    /// As [`FeatureHeader::parse`]; and [`ParseError::Inconsistent`] when a
    /// descriptor runs past the end the data length declares, or fewer than 4
    /// bytes of a descriptor header are left before that end in a complete
    /// response.
    pub fn parse(buf: &[u8]) -> Result<Configuration, ParseError> {
        let header = FeatureHeader::parse(buf)?;
        let declared_end = usize::try_from(header.data_length)
            .unwrap_or(usize::MAX)
            .saturating_add(4);
        let data = clamp(buf, declared_end);
        let complete = data.len() == declared_end;
        let mut features = Vec::new();
        let mut pos = FEATURE_HEADER_LEN;
        while pos < data.len() {
            let Some(rest) = data.get(pos..) else { break };
            let (code_hi, code_lo, flags, len) = match rest {
                [a, b, c, d, ..] => (*a, *b, *c, *d),
                _ => {
                    if complete {
                        return Err(ParseError::Inconsistent {
                            field: "feature descriptor header",
                            offset: pos,
                            value: rest.len() as u64,
                            problem: "fewer than 4 bytes left before the declared end",
                        });
                    }
                    break;
                }
            };
            let end = pos + 4 + usize::from(len);
            if end > declared_end {
                return Err(ParseError::Inconsistent {
                    field: "feature additional length",
                    offset: pos + 3,
                    value: u64::from(len),
                    problem: "descriptor runs past the end the data length declares",
                });
            }
            let Some(payload) = data.get(pos + 4..end) else {
                // Cut by the allocation length; `complete` is already false.
                break;
            };
            features.push(FeatureDescriptor {
                code: FeatureCode(u16::from_be_bytes([code_hi, code_lo])),
                version: (flags >> 2) & 0x0F,
                persistent: flags & 0x02 != 0,
                current: flags & 0x01 != 0,
                data: payload.to_vec(),
            });
            pos = end;
        }
        Ok(Configuration {
            current_profile: header.current_profile,
            features,
            complete,
        })
    }

    /// The descriptor for `code`, if the drive reported it.
    pub fn feature(&self, code: FeatureCode) -> Option<&FeatureDescriptor> {
        self.features.iter().find(|f| f.code == code)
    }

    /// The decoded Profile List feature, or `None` if absent.
    ///
    /// # Errors
    ///
    /// The inner result fails as [`ProfileDescriptor::parse_list`].
    pub fn profiles(&self) -> Option<Result<Vec<ProfileDescriptor>, ParseError>> {
        self.feature(FeatureCode::PROFILE_LIST)
            .map(ProfileDescriptor::parse_list)
    }

    /// The decoded Removable Medium feature, or `None` if absent.
    ///
    /// # Errors
    ///
    /// The inner result fails as [`RemovableMedium::parse`].
    pub fn removable_medium(&self) -> Option<Result<RemovableMedium, ParseError>> {
        self.feature(FeatureCode::REMOVABLE_MEDIUM)
            .map(RemovableMedium::parse)
    }
}

/// Encodes a GET CONFIGURATION response: header with `current_profile` and
/// a data length covering `features`, then the descriptors in order. The
/// caller applies [`RequestType::selects`] and truncates to the allocation
/// length.
///
/// # Errors
///
/// [`EncodeError::Invalid`] for a feature version above 15;
/// [`EncodeError::TooLong`] for feature data over 255 bytes or a response
/// whose data length does not fit 32 bits.
pub fn encode_configuration(
    current_profile: Profile,
    features: &[FeatureDescriptor],
) -> Result<Vec<u8>, EncodeError> {
    let mut body = Vec::new();
    for f in features {
        f.encode_into(&mut body)?;
    }
    // The data length counts the 4 header bytes after itself.
    let data_length = u32::try_from(body.len() + 4).map_err(|_| EncodeError::TooLong {
        field: "feature data",
        max: u32::MAX as usize - 4,
        got: body.len(),
    })?;
    let mut out = Vec::with_capacity(FEATURE_HEADER_LEN + body.len());
    out.extend_from_slice(&data_length.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&current_profile.0.to_be_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// One entry of the Profile List feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProfileDescriptor {
    /// The profile the drive supports.
    pub profile: Profile,
    /// CurrentP: this is the profile of the mounted medium.
    pub current: bool,
}

impl ProfileDescriptor {
    /// Decodes the Profile List feature's data: 4-byte entries. A length
    /// that is not a multiple of 4 is `Inconsistent`; so is a descriptor
    /// whose code is not 0x0000.
    ///
    /// # Errors
    ///
    /// [`ParseError::Inconsistent`] when `feature` is not the Profile List or its
    /// data length is not a multiple of 4.
    pub fn parse_list(feature: &FeatureDescriptor) -> Result<Vec<ProfileDescriptor>, ParseError> {
        expect_code(feature, FeatureCode::PROFILE_LIST)?;
        if !feature.data.len().is_multiple_of(4) {
            return Err(ParseError::Inconsistent {
                field: "profile list additional length",
                offset: 3,
                value: feature.data.len() as u64,
                problem: "not a multiple of the 4-byte profile descriptor",
            });
        }
        Ok(feature
            .data
            .chunks_exact(4)
            .map(|c| match c {
                [hi, lo, flags, _] => ProfileDescriptor {
                    profile: Profile(u16::from_be_bytes([*hi, *lo])),
                    current: flags & 0x01 != 0,
                },
                _ => ProfileDescriptor {
                    profile: Profile::NONE,
                    current: false,
                },
            })
            .collect())
    }

    /// Builds a Profile List feature descriptor (version 0, persistent,
    /// current, as MMC requires).
    ///
    /// # Errors
    ///
    /// [`EncodeError::TooLong`] for more than 63 profiles (255 data bytes).
    pub fn encode_list(profiles: &[ProfileDescriptor]) -> Result<FeatureDescriptor, EncodeError> {
        fit("profile list", profiles.len() * 4, 255)?;
        let mut data = Vec::with_capacity(profiles.len() * 4);
        for p in profiles {
            data.extend_from_slice(&p.profile.0.to_be_bytes());
            data.push(u8::from(p.current));
            data.push(0);
        }
        Ok(FeatureDescriptor {
            code: FeatureCode::PROFILE_LIST,
            version: 0,
            persistent: true,
            current: true,
            data,
        })
    }
}

fn expect_code(feature: &FeatureDescriptor, code: FeatureCode) -> Result<(), ParseError> {
    if feature.code == code {
        Ok(())
    } else {
        Err(ParseError::Inconsistent {
            field: "feature code",
            offset: 0,
            value: u64::from(feature.code.0),
            problem: "descriptor is not the feature being decoded",
        })
    }
}

/// Loading mechanism type of the Removable Medium feature (3 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LoadingMechanism(pub u8);

impl LoadingMechanism {
    /// 000b: caddy or slot.
    pub const CADDY_SLOT: LoadingMechanism = LoadingMechanism(0);
    /// 001b: tray.
    pub const TRAY: LoadingMechanism = LoadingMechanism(1);
    /// 010b: pop-up.
    pub const POP_UP: LoadingMechanism = LoadingMechanism(2);
    /// 100b: embedded changer with individually changeable discs.
    pub const CHANGER_INDIVIDUAL: LoadingMechanism = LoadingMechanism(4);
    /// 101b: embedded changer using a magazine.
    pub const CHANGER_MAGAZINE: LoadingMechanism = LoadingMechanism(5);

    /// A human-readable name for a known mechanism.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "caddy/slot",
            1 => "tray",
            2 => "pop-up",
            4 => "changer (individual discs)",
            5 => "changer (magazine)",
            _ => return None,
        })
    }
}

/// The Removable Medium feature (0x0003): how the drive takes discs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RemovableMedium {
    /// Feature version (the Load and DBML bits exist from version 2 on).
    pub version: u8,
    /// Whether the feature is current.
    pub current: bool,
    /// Loading mechanism type.
    pub loading_mechanism: LoadingMechanism,
    /// Load (version 2): the drive can load the medium (close the tray) by command.
    pub load: bool,
    /// Eject: the drive can eject the medium by command.
    pub eject: bool,
    /// The raw Pvnt Jmpr bit. MMC defines 0 as "the prevent jumper is
    /// present"; see [`RemovableMedium::prevent_jumper_present`].
    pub pvnt_jmpr: bool,
    /// DBML (version 2): the Device Busy event reports medium lock state.
    pub dbml: bool,
    /// Lock: the drive can lock the medium in (PREVENT ALLOW MEDIUM REMOVAL works).
    pub lock: bool,
}

impl RemovableMedium {
    /// Decodes the feature's data (at least 1 byte; MMC sends 4).
    ///
    /// # Errors
    ///
    /// [`ParseError::Inconsistent`] when `feature` is not the Removable Medium
    /// feature; [`ParseError::Truncated`] when it has no data byte.
    pub fn parse(feature: &FeatureDescriptor) -> Result<RemovableMedium, ParseError> {
        expect_code(feature, FeatureCode::REMOVABLE_MEDIUM)?;
        let b = u8_at(&feature.data, "removable medium flags", 0).map_err(|_| {
            ParseError::Truncated {
                field: "removable medium flags",
                offset: 4,
                needed: 5,
                got: 4,
            }
        })?;
        Ok(RemovableMedium {
            version: feature.version,
            current: feature.current,
            loading_mechanism: LoadingMechanism(b >> 5),
            load: b & 0x10 != 0,
            eject: b & 0x08 != 0,
            pvnt_jmpr: b & 0x04 != 0,
            dbml: b & 0x02 != 0,
            lock: b & 0x01 != 0,
        })
    }

    /// Builds the feature descriptor (persistent, 4 data bytes).
    ///
    /// # Errors
    ///
    /// [`EncodeError::Invalid`] for a version above 15 or a loading mechanism
    /// above 7.
    pub fn encode(&self) -> Result<FeatureDescriptor, EncodeError> {
        bits("feature version", u64::from(self.version), 0x0F)?;
        bits("loading mechanism", u64::from(self.loading_mechanism.0), 7)?;
        let flags = (self.loading_mechanism.0 << 5)
            | (u8::from(self.load) << 4)
            | (u8::from(self.eject) << 3)
            | (u8::from(self.pvnt_jmpr) << 2)
            | (u8::from(self.dbml) << 1)
            | u8::from(self.lock);
        Ok(FeatureDescriptor {
            code: FeatureCode::REMOVABLE_MEDIUM,
            version: self.version,
            persistent: true,
            current: self.current,
            data: vec![flags, 0, 0, 0],
        })
    }

    /// True when MMC's prevent jumper is fitted (Pvnt Jmpr bit 0).
    pub fn prevent_jumper_present(&self) -> bool {
        !self.pvnt_jmpr
    }

    /// Whether the drive can load media by command (IMAPI2's
    /// `DeviceCanLoadMedia`): the Load bit from feature version 2 on; for
    /// older versions, where that bit is reserved, a tray mechanism that can
    /// eject is taken to be able to close again.
    pub fn can_load_media(&self) -> bool {
        if self.version >= 2 {
            self.load
        } else {
            self.eject && self.loading_mechanism == LoadingMechanism::TRAY
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What QEMU's scsi-cd returns with a CD-sized image inserted.
    const QEMU_CD: [u8; 40] = [
        0, 0, 0, 36, 0, 0, 0x00, 0x08, // header: 36 bytes follow, current CD-ROM
        0x00, 0x00, 0x03, 8, 0x00, 0x10, 0, 0, 0x00, 0x08, 1, 0, // profile list
        0x00, 0x01, 0x0B, 8, 0, 0, 0, 1, 1, 0, 0, 0, // core: SCSI, DBE
        0x00, 0x03, 0x0B, 4, 0x39, 0, 0, 0, // removable medium: tray, load, eject, lock
    ];

    #[test]
    fn cdb_layout_for_each_request_type() {
        let c = get_configuration(RequestType::All, FeatureCode::PROFILE_LIST, 65530);
        assert_eq!(c.cdb, [0x46, 0, 0, 0, 0, 0, 0, 0xFF, 0xFA, 0]);
        assert_eq!(c.allocation_length(), 65530);
        let c = get_configuration(RequestType::Current, FeatureCode(0x0102), 8);
        assert_eq!(c.cdb, [0x46, 1, 0x01, 0x02, 0, 0, 0, 0, 8, 0]);
        let c = get_configuration(RequestType::One, FeatureCode::REMOVABLE_MEDIUM, 16);
        assert_eq!(c.cdb, [0x46, 2, 0, 3, 0, 0, 0, 0, 16, 0]);
    }

    #[test]
    fn qemu_response_exact_values() {
        let c = Configuration::parse(&QEMU_CD).expect("valid");
        assert!(c.complete);
        assert_eq!(c.current_profile, Profile::CD_ROM);
        let codes: Vec<u16> = c.features.iter().map(|f| f.code.0).collect();
        assert_eq!(codes, vec![0x0000, 0x0001, 0x0003]);
        let core = c.feature(FeatureCode::CORE).expect("core");
        assert_eq!(
            (core.version, core.persistent, core.current),
            (2, true, true)
        );
        assert_eq!(core.data, vec![0, 0, 0, 1, 1, 0, 0, 0]);
        let profiles = c.profiles().expect("present").expect("valid");
        assert_eq!(
            profiles,
            vec![
                ProfileDescriptor {
                    profile: Profile::DVD_ROM,
                    current: false
                },
                ProfileDescriptor {
                    profile: Profile::CD_ROM,
                    current: true
                },
            ]
        );
        let rm = c.removable_medium().expect("present").expect("valid");
        assert_eq!(rm.loading_mechanism, LoadingMechanism::TRAY);
        assert!(rm.load && rm.eject && rm.lock && !rm.dbml);
        assert!(!rm.pvnt_jmpr && rm.prevent_jumper_present());
        assert!(rm.can_load_media());
    }

    #[test]
    fn header_alone_gives_current_profile() {
        let h = FeatureHeader::parse(&QEMU_CD[..8]).expect("valid");
        assert_eq!(
            h,
            FeatureHeader {
                data_length: 36,
                current_profile: Profile::CD_ROM
            }
        );
        assert!(matches!(
            FeatureHeader::parse(&[0, 0, 0, 3, 0, 0, 0, 0]),
            Err(ParseError::Inconsistent {
                field: "data length",
                value: 3,
                ..
            })
        ));
    }

    #[test]
    fn cut_by_allocation_keeps_whole_descriptors() {
        let c = Configuration::parse(&QEMU_CD[..30]).expect("valid prefix");
        assert!(!c.complete);
        assert_eq!(c.features.len(), 1);
        assert_eq!(c.features[0].code, FeatureCode::PROFILE_LIST);
        let c = Configuration::parse(&QEMU_CD[..8]).expect("header only");
        assert!(!c.complete && c.features.is_empty());
    }

    #[test]
    fn every_prefix_is_ok_or_err_and_short_headers_are_truncated() {
        for n in 0..=QEMU_CD.len() {
            let r = Configuration::parse(&QEMU_CD[..n]);
            assert_eq!(r.is_ok(), n >= 8, "prefix {n}");
        }
        assert_eq!(
            Configuration::parse(&QEMU_CD[..7]),
            Err(ParseError::Truncated {
                field: "current profile",
                offset: 6,
                needed: 8,
                got: 7
            })
        );
    }

    #[test]
    fn descriptor_overrunning_data_length_is_inconsistent() {
        let mut b = QEMU_CD;
        b[35] = 8; // removable medium claims 8 bytes, only 4 declared
        assert!(matches!(
            Configuration::parse(&b),
            Err(ParseError::Inconsistent {
                field: "feature additional length",
                offset: 35,
                ..
            })
        ));
        let mut b = QEMU_CD.to_vec();
        b[3] = 38; // two stray bytes inside the declared length
        b.extend_from_slice(&[0, 0]);
        assert!(matches!(
            Configuration::parse(&b),
            Err(ParseError::Inconsistent {
                field: "feature descriptor header",
                ..
            })
        ));
    }

    #[test]
    fn bytes_past_data_length_are_ignored() {
        let mut b = QEMU_CD.to_vec();
        b.extend_from_slice(&[0xFF; 12]);
        let c = Configuration::parse(&b).expect("valid");
        assert_eq!(c.features.len(), 3);
        assert!(c.complete);
    }

    #[test]
    fn profile_list_length_must_be_multiple_of_four() {
        let f = FeatureDescriptor {
            code: FeatureCode::PROFILE_LIST,
            version: 0,
            persistent: true,
            current: true,
            data: vec![0, 8, 1],
        };
        assert!(ProfileDescriptor::parse_list(&f).is_err());
        let wrong = FeatureDescriptor {
            code: FeatureCode::CORE,
            data: vec![],
            ..f
        };
        assert!(ProfileDescriptor::parse_list(&wrong).is_err());
    }

    #[test]
    fn removable_medium_without_data_is_truncated() {
        let f = FeatureDescriptor {
            code: FeatureCode::REMOVABLE_MEDIUM,
            version: 0,
            persistent: true,
            current: true,
            data: vec![],
        };
        assert!(matches!(
            RemovableMedium::parse(&f),
            Err(ParseError::Truncated { .. })
        ));
    }

    #[test]
    fn can_load_media_by_version() {
        let base = RemovableMedium {
            version: 0,
            current: true,
            loading_mechanism: LoadingMechanism::TRAY,
            load: false,
            eject: true,
            pvnt_jmpr: false,
            dbml: false,
            lock: true,
        };
        assert!(base.can_load_media());
        assert!(!RemovableMedium {
            loading_mechanism: LoadingMechanism::CADDY_SLOT,
            ..base
        }
        .can_load_media());
        assert!(!RemovableMedium { version: 2, ..base }.can_load_media());
        assert!(RemovableMedium {
            version: 2,
            load: true,
            ..base
        }
        .can_load_media());
    }

    #[test]
    fn encoder_reproduces_qemu_bytes() {
        let profiles = ProfileDescriptor::encode_list(&[
            ProfileDescriptor {
                profile: Profile::DVD_ROM,
                current: false,
            },
            ProfileDescriptor {
                profile: Profile::CD_ROM,
                current: true,
            },
        ])
        .expect("fits");
        let core = FeatureDescriptor {
            code: FeatureCode::CORE,
            version: 2,
            persistent: true,
            current: true,
            data: vec![0, 0, 0, 1, 1, 0, 0, 0],
        };
        let rm = RemovableMedium {
            version: 2,
            current: true,
            loading_mechanism: LoadingMechanism::TRAY,
            load: true,
            eject: true,
            pvnt_jmpr: false,
            dbml: false,
            lock: true,
        }
        .encode()
        .expect("fits");
        let bytes = encode_configuration(Profile::CD_ROM, &[profiles, core, rm]).expect("fits");
        assert_eq!(bytes, QEMU_CD.to_vec());
    }

    #[test]
    fn encoder_rejects_oversized_parts() {
        let f = FeatureDescriptor {
            code: FeatureCode::CORE,
            version: 16,
            persistent: false,
            current: false,
            data: vec![],
        };
        assert!(encode_configuration(Profile::NONE, std::slice::from_ref(&f)).is_err());
        let f = FeatureDescriptor {
            version: 0,
            data: vec![0; 256],
            ..f
        };
        assert!(matches!(
            encode_configuration(Profile::NONE, &[f]),
            Err(EncodeError::TooLong {
                max: 255,
                got: 256,
                ..
            })
        ));
    }

    #[test]
    fn request_type_selection() {
        let f = |code, current| FeatureDescriptor {
            code: FeatureCode(code),
            version: 0,
            persistent: false,
            current,
            data: vec![],
        };
        let start = FeatureCode(3);
        assert!(RequestType::All.selects(start, &f(3, false)));
        assert!(!RequestType::All.selects(start, &f(2, true)));
        assert!(RequestType::Current.selects(start, &f(0x10, true)));
        assert!(!RequestType::Current.selects(start, &f(0x10, false)));
        assert!(RequestType::One.selects(start, &f(3, false)));
        assert!(!RequestType::One.selects(start, &f(4, true)));
        assert_eq!(RequestType::from_bits(3), None);
        for rt in [RequestType::All, RequestType::Current, RequestType::One] {
            assert_eq!(RequestType::from_bits(rt.bits()), Some(rt));
        }
    }

    #[test]
    fn names_and_display() {
        assert_eq!(Profile::CD_ROM.to_string(), "0x0008 (CD-ROM)");
        assert_eq!(Profile(0x1234).to_string(), "0x1234");
        assert_eq!(Profile::DVD_PLUS_R_DL.name(), Some("DVD+R dual layer"));
        assert_eq!(Profile::NONSTANDARD.name(), Some("nonstandard"));
        assert_eq!(
            FeatureCode::REMOVABLE_MEDIUM.to_string(),
            "0x0003 (Removable Medium)"
        );
        assert_eq!(
            FeatureCode::DISC_CONTROL_BLOCKS.name(),
            Some("Disc Control Blocks")
        );
        assert_eq!(FeatureCode(0x7777).name(), None);
        assert_eq!(LoadingMechanism::TRAY.name(), Some("tray"));
    }
}
