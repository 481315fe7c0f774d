//! What is in the drive, as a writer sees it: IMAPI2's media status bitmask
//! (`IMAPI_FORMAT2_DATA_MEDIA_STATE`), physical media type (`IMAPI_MEDIA_PHYSICAL_TYPE`),
//! write protection, next writable address, free and total sectors, the previous session, and
//! write speeds.
//!
//! Owns reading them (TEST UNIT READY, GET CONFIGURATION, READ DISC INFORMATION, READ TRACK
//! INFORMATION, READ FORMAT CAPACITIES, READ CAPACITY, GET PERFORMANCE) and what they mean for
//! writing: which kind of medium a profile is (sequential or overwritable, and which command
//! sequence writes it), where the next session starts and how much fits. It must not write.

use discrecorder_mmc::configuration::{
    get_configuration, Configuration, FeatureCode, Profile, RequestType,
};
use discrecorder_mmc::disc::{
    read_capacity, read_disc_information, read_format_capacities, read_track_information, Capacity,
    CapacityDescriptorType, DiscInformation, DiscStatus, FormatCapacities, SessionState,
    TrackAddress, TrackInformation, DISC_INFORMATION_LEN, TRACK_INFORMATION_LEN,
};
use discrecorder_mmc::write::{get_performance_write_speed, WriteSpeeds};
use serde::Serialize;

use crate::error::Result;
use crate::format::channel::Channel;
use crate::recorder::Recorder;
use crate::scsi::parse_error;

/// IMAPI2's media status bitmask (`IMAPI_FORMAT2_DATA_MEDIA_STATE`), same bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(into = "MediaStatusJson")]
pub struct MediaStatus(pub u32);

impl MediaStatus {
    /// The medium can only be overwritten (DVD+RW, BD-RE, DVD-RW restricted overwrite, DVD-RAM).
    pub const OVERWRITE_ONLY: u32 = 0x1;
    /// Blank.
    pub const BLANK: u32 = 0x2;
    /// Appendable: a new session can be written.
    pub const APPENDABLE: u32 = 0x4;
    /// Only one more session fits.
    pub const FINAL_SESSION: u32 = 0x8;
    /// The last session is damaged.
    pub const DAMAGED: u32 = 0x400;
    /// A rewritable medium that has to be erased before it can be written.
    pub const ERASE_REQUIRED: u32 = 0x800;
    /// The last session is open and not empty.
    pub const NON_EMPTY_SESSION: u32 = 0x1000;
    /// Write protected.
    pub const WRITE_PROTECTED: u32 = 0x2000;
    /// Closed: nothing more can be written.
    pub const FINALIZED: u32 = 0x4000;
    /// Not a medium a data writer supports.
    pub const UNSUPPORTED_MEDIA: u32 = 0x8000;

    const NAMES: [(u32, &'static str); 10] = [
        (Self::OVERWRITE_ONLY, "overwrite_only"),
        (Self::BLANK, "blank"),
        (Self::APPENDABLE, "appendable"),
        (Self::FINAL_SESSION, "final_session"),
        (Self::DAMAGED, "damaged"),
        (Self::ERASE_REQUIRED, "erase_required"),
        (Self::NON_EMPTY_SESSION, "non_empty_session"),
        (Self::WRITE_PROTECTED, "write_protected"),
        (Self::FINALIZED, "finalized"),
        (Self::UNSUPPORTED_MEDIA, "unsupported_media"),
    ];

    /// Whether every bit of `bits` is set.
    pub fn has(self, bits: u32) -> bool {
        self.0 & bits == bits
    }

    /// The names of the bits set, lowest first (`blank`, `appendable`, ...).
    pub fn names(self) -> Vec<&'static str> {
        Self::NAMES
            .iter()
            .filter(|(b, _)| self.0 & b != 0)
            .map(|(_, n)| *n)
            .collect()
    }
}

#[derive(Serialize)]
struct MediaStatusJson {
    value: u32,
    flags: Vec<&'static str>,
}

impl From<MediaStatus> for MediaStatusJson {
    fn from(s: MediaStatus) -> Self {
        MediaStatusJson {
            value: s.0,
            flags: s.names(),
        }
    }
}

/// IMAPI2's physical media type (`IMAPI_MEDIA_PHYSICAL_TYPE`), same values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum PhysicalMediaType {
    /// 0.
    Unknown,
    /// 1.
    CdRom,
    /// 2.
    CdR,
    /// 3.
    CdRw,
    /// 4.
    DvdRom,
    /// 5.
    DvdRam,
    /// 6.
    DvdPlusR,
    /// 7.
    DvdPlusRw,
    /// 8.
    DvdPlusRDualLayer,
    /// 9.
    DvdDashR,
    /// 10.
    DvdDashRw,
    /// 11.
    DvdDashRDualLayer,
    /// 12.
    Disk,
    /// 13.
    DvdPlusRwDualLayer,
    /// 14.
    HdDvdRom,
    /// 15.
    HdDvdR,
    /// 16.
    HdDvdRam,
    /// 17.
    BdRom,
    /// 18.
    BdR,
    /// 19.
    BdRe,
}

impl PhysicalMediaType {
    /// The type of a medium of `profile`.
    pub fn of(profile: Profile) -> PhysicalMediaType {
        use PhysicalMediaType as T;
        match profile.0 {
            0x08 => T::CdRom,
            0x09 => T::CdR,
            0x0A => T::CdRw,
            0x10 => T::DvdRom,
            0x11 => T::DvdDashR,
            0x12 => T::DvdRam,
            0x13 | 0x14 => T::DvdDashRw,
            0x15 | 0x16 => T::DvdDashRDualLayer,
            0x1A => T::DvdPlusRw,
            0x1B => T::DvdPlusR,
            0x2A => T::DvdPlusRwDualLayer,
            0x2B => T::DvdPlusRDualLayer,
            0x01 | 0x02 => T::Disk,
            0x40 => T::BdRom,
            0x41 | 0x42 => T::BdR,
            0x43 => T::BdRe,
            0x50 => T::HdDvdRom,
            0x51 => T::HdDvdR,
            0x52 => T::HdDvdRam,
            _ => T::Unknown,
        }
    }

    /// The IMAPI2 value.
    pub fn code(self) -> u32 {
        self as u32
    }
}

/// How a medium is written: which command sequence, chosen from its profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// CD-R, CD-RW: track at once, Write Parameters page 05h, CLOSE TRACK/SESSION.
    Cd,
    /// DVD-R, DVD-R DL, DVD-RW sequential: incremental (page 05h write type packet, fixed
    /// packets of 16), CLOSE TRACK/SESSION.
    DvdDash,
    /// DVD+R, DVD+R DL: writes at the NWA, CLOSE TRACK, CLOSE SESSION or finalize.
    DvdPlusR,
    /// BD-R in sequential recording mode: as DVD+R, 64 KiB clusters.
    BdR,
    /// DVD+RW, BD-RE, DVD-RW restricted overwrite, DVD-RAM, BD-R RRM: format when needed,
    /// written from sector 0.
    Overwrite,
}

impl Kind {
    pub(crate) fn of(profile: Profile) -> Option<Kind> {
        Some(match profile.0 {
            0x09 | 0x0A => Kind::Cd,
            0x11 | 0x14 | 0x15 => Kind::DvdDash,
            0x1B | 0x2B => Kind::DvdPlusR,
            0x41 => Kind::BdR,
            0x12 | 0x13 | 0x1A | 0x2A | 0x42 | 0x43 => Kind::Overwrite,
            _ => return None,
        })
    }

    /// Sectors per WRITE: an ECC block (16 sectors, 32 KiB) on DVD, a cluster (32 sectors,
    /// 64 KiB) on BD, 32 KiB on CD as libburn and growisofs send them.
    pub(crate) fn unit_blocks(self, profile: Profile) -> u32 {
        match (self, profile.0) {
            (Kind::BdR, _) | (Kind::Overwrite, 0x42 | 0x43) => 32,
            _ => 16,
        }
    }
}

/// Where the previous session lies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SessionSpan {
    /// `StartAddressOfPreviousSession`.
    pub start_lba: u32,
    /// `LastWrittenAddressOfPreviousSession`.
    pub last_written_lba: u32,
}

/// The medium in a recorder, as `IDiscFormat2Data`'s media properties describe it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Media {
    /// The current profile (MMC), for example 0x001B for DVD+R.
    pub profile: u16,
    /// The profile's name, for example `DVD+R`.
    pub profile_name: String,
    /// `CurrentPhysicalMediaType`.
    pub physical_type: PhysicalMediaType,
    /// `CurrentMediaStatus`.
    pub status: MediaStatus,
    /// `WriteProtectStatus`.
    pub write_protected: bool,
    /// Whether the medium is rewritable (the disc information's Erasable bit).
    pub erasable: bool,
    /// Recorded sessions (an empty or open last session not counted).
    pub sessions: u16,
    /// `NextWritableAddress`, where a write would start.
    pub next_writable_address: Option<u32>,
    /// `FreeSectorsOnMedia`.
    pub free_sectors: u32,
    /// `TotalSectorsOnMedia`.
    pub total_sectors: u32,
    /// `StartAddressOfPreviousSession` and `LastWrittenAddressOfPreviousSession`.
    pub previous_session: Option<SessionSpan>,
    /// `IsRecorderSupported`: the drive can write some medium this writer supports.
    pub recorder_supported: bool,
    /// `IsCurrentMediaSupported`.
    pub media_supported: bool,
    /// `SupportedWriteSpeeds`, in kB/s (1000 bytes per second), fastest first.
    pub write_speeds: Vec<u32>,
    /// Whether a DVD+RW or BD-RE must be formatted before it is written.
    pub needs_format: bool,
    /// The number of the track a write would go to (sequential media).
    #[serde(skip)]
    pub(crate) track: u16,
    /// The format to give an unformatted medium: (blocks, format type).
    #[serde(skip)]
    pub(crate) format: Option<(u32, u8)>,
}

impl Media {
    /// Reads the medium's state. Takes no lock: read-only queries work while another client
    /// holds the device, as on Windows.
    ///
    /// # Errors
    /// - `E_IMAPI_RECORDER_MEDIA_NO_MEDIA`, `..._BECOMING_READY`: nothing to describe yet.
    /// - `E_FAIL`: not an optical drive; the transport's errors.
    pub fn query(recorder: &Recorder) -> Result<Media> {
        let (t, timeout) = recorder.command_transport(crate::scsi::Access::Read)?;
        let mut ch = Channel::new(
            t,
            timeout,
            recorder.device().spec(),
            !recorder.device().is_block(),
        );
        let supported = recorder.supported_profiles().unwrap_or_default();
        Media::read(&mut ch, &supported)
    }

    pub(crate) fn kind(&self) -> Option<Kind> {
        Kind::of(Profile(self.profile))
    }

    pub(crate) fn read(ch: &mut Channel, supported_profiles: &[Profile]) -> Result<Media> {
        let spec = ch.device().to_owned();
        // A drive still finishing a write or a format says so to TEST UNIT READY: wait.
        let limit = ch.busy_limit;
        ch.wait_ready(limit, |_| {})?;
        let config_raw = ch.query(
            &get_configuration(RequestType::All, FeatureCode(0), 65530),
            "GET CONFIGURATION",
        )?;
        let config = Configuration::parse(&config_raw)
            .map_err(|e| parse_error(&spec, "GET CONFIGURATION", e))?;
        let profile = config.current_profile;
        let kind = Kind::of(profile);
        let recorder_supported = supported_profiles.iter().any(|p| Kind::of(*p).is_some());
        let disc_raw = ch.query(
            &read_disc_information(DISC_INFORMATION_LEN as u16),
            "READ DISC INFORMATION",
        )?;
        let disc = DiscInformation::parse(&disc_raw)
            .map_err(|e| parse_error(&spec, "READ DISC INFORMATION", e))?;
        let write_protected = kind.is_some() && write_protected(&config, profile);
        let write_speeds = ch
            .query(&get_performance_write_speed(32), "GET PERFORMANCE")
            .ok()
            .and_then(|raw| WriteSpeeds::parse(&raw).ok())
            .map(|w| {
                let mut v = w.speeds();
                v.sort_unstable_by(|a, b| b.cmp(a));
                v.dedup();
                v
            })
            .unwrap_or_default();

        let mut media = Media {
            profile: profile.0,
            profile_name: profile.name().unwrap_or("unknown").to_owned(),
            physical_type: PhysicalMediaType::of(profile),
            status: MediaStatus(0),
            write_protected,
            erasable: disc.erasable,
            sessions: 0,
            next_writable_address: None,
            free_sectors: 0,
            total_sectors: 0,
            previous_session: None,
            recorder_supported,
            media_supported: kind.is_some(),
            write_speeds,
            needs_format: false,
            track: disc.last_track_in_last_session,
            format: None,
        };
        let mut status = 0;
        if write_protected {
            status |= MediaStatus::WRITE_PROTECTED;
        }
        match kind {
            None => {
                status |= MediaStatus::UNSUPPORTED_MEDIA;
                media.sessions = disc.sessions;
                if disc.disc_status != DiscStatus::Blank {
                    // A disc this drive can only read (a pressed disc, or one the drive
                    // reports as read-only after it was written, as tgt's DVD+R becomes a
                    // DVD-ROM once its backing file holds data): closed, and readable up to
                    // the last sector READ CAPACITY reports. That span is what a verification
                    // of the write just done compares and reads back.
                    status |= MediaStatus::FINALIZED;
                    let used = readable_sectors(ch);
                    media.total_sectors = used;
                    if used > 0 {
                        media.previous_session = Some(SessionSpan {
                            start_lba: 0,
                            last_written_lba: used - 1,
                        });
                    }
                }
            }
            Some(Kind::Overwrite) => {
                status |= MediaStatus::OVERWRITE_ONLY;
                media.sessions = u16::from(disc.disc_status != DiscStatus::Blank);
                let caps = ch
                    .query(&read_format_capacities(252), "READ FORMAT CAPACITIES")
                    .and_then(|raw| {
                        FormatCapacities::parse(&raw)
                            .map_err(|e| parse_error(&spec, "READ FORMAT CAPACITIES", e))
                    })?;
                let formatted = caps.current.descriptor_type == CapacityDescriptorType::Formatted;
                media.needs_format = !formatted;
                media.format = format_for(profile, &caps);
                media.total_sectors = if formatted {
                    caps.current.blocks
                } else {
                    media.format.map_or(caps.current.blocks, |(b, _)| b)
                };
                media.free_sectors = media.total_sectors;
                media.next_writable_address = Some(0);
                if disc.disc_status == DiscStatus::Blank || !formatted {
                    status |= MediaStatus::BLANK;
                } else if let Some(track) = match read_track(ch, TrackAddress::Track(1)) {
                    Ok(t) => Some(t),
                    Err(e) if unreachable(&e) => return Err(e),
                    Err(_) => None,
                } {
                    let last = track.last_recorded_address.filter(|_| track.lra_valid);
                    if let Some(last) = last {
                        media.previous_session = Some(SessionSpan {
                            start_lba: 0,
                            last_written_lba: last,
                        });
                    }
                }
            }
            Some(_) => {
                let complete = disc.last_session_state == SessionState::Complete
                    || disc.disc_status == DiscStatus::Complete;
                media.sessions = if complete {
                    disc.sessions
                } else {
                    disc.sessions.saturating_sub(1)
                };
                match disc.disc_status {
                    DiscStatus::Blank => status |= MediaStatus::BLANK,
                    DiscStatus::Incomplete => status |= MediaStatus::APPENDABLE,
                    DiscStatus::Complete => {
                        status |= MediaStatus::FINALIZED;
                        if disc.erasable {
                            status |= MediaStatus::ERASE_REQUIRED;
                        }
                    }
                    DiscStatus::Other => {}
                }
                match disc.last_session_state {
                    SessionState::Incomplete => status |= MediaStatus::NON_EMPTY_SESSION,
                    SessionState::Damaged => status |= MediaStatus::DAMAGED,
                    SessionState::Empty | SessionState::Complete => {}
                }
                if disc.disc_status == DiscStatus::Complete {
                    let used = readable_sectors(ch);
                    media.total_sectors = used;
                } else {
                    let track = read_track(
                        ch,
                        TrackAddress::Track(u32::from(disc.last_track_in_last_session)),
                    )?;
                    media.track = track.track_number;
                    media.next_writable_address = track.nwa();
                    media.free_sectors = if track.nwa_valid {
                        track.free_blocks
                    } else {
                        0
                    };
                    media.total_sectors = track
                        .next_writable_address
                        .saturating_add(media.free_sectors);
                    if media.next_writable_address.is_none() {
                        status |= MediaStatus::NON_EMPTY_SESSION;
                    }
                }
                if media.sessions > 0 {
                    media.previous_session = previous_session(ch, &disc, complete)?;
                }
            }
        }
        media.status = MediaStatus(status);
        Ok(media)
    }
}

/// The sectors READ CAPACITY says can be read (0 when the drive does not say).
fn readable_sectors(ch: &mut Channel) -> u32 {
    ch.query(&read_capacity(), "READ CAPACITY")
        .ok()
        .and_then(|raw| Capacity::parse(&raw).ok())
        .map_or(0, |c| c.last_lba.saturating_add(1))
}

fn read_track(ch: &mut Channel, address: TrackAddress) -> Result<TrackInformation> {
    let spec = ch.device().to_owned();
    let raw = ch.query(
        &read_track_information(address, TRACK_INFORMATION_LEN as u16),
        "READ TRACK INFORMATION",
    )?;
    TrackInformation::parse(&raw).map_err(|e| parse_error(&spec, "READ TRACK INFORMATION", e))
}

/// The last recorded session: its first track's start and its last track's last sector.
/// `None` when the drive cannot say (a track it does not describe); a drive that is gone or
/// hung is an error.
fn previous_session(
    ch: &mut Channel,
    disc: &DiscInformation,
    last_is_complete: bool,
) -> Result<Option<SessionSpan>> {
    let track = |ch: &mut Channel, a| match read_track(ch, a) {
        Ok(t) => Ok(Some(t)),
        Err(e) if unreachable(&e) => Err(e),
        Err(_) => Ok(None),
    };
    let (first, last) = if last_is_complete {
        (
            disc.first_track_in_last_session,
            disc.last_track_in_last_session,
        )
    } else {
        // The last session is the empty (or open) one after the recorded ones: the recorded
        // one ends with the track before it and starts with the first track of its number.
        let Some(last) = disc.first_track_in_last_session.checked_sub(1) else {
            return Ok(None);
        };
        let first = track(
            ch,
            TrackAddress::Session(u32::from(disc.sessions.saturating_sub(1))),
        )?
        .map_or(last, |t| t.track_number);
        (first, last)
    };
    let Some(first) = track(ch, TrackAddress::Track(u32::from(first)))? else {
        return Ok(None);
    };
    let Some(last) = track(ch, TrackAddress::Track(u32::from(last)))? else {
        return Ok(None);
    };
    let last_written = match last.last_recorded_address {
        Some(lra) if last.lra_valid => lra,
        _ => last
            .track_start
            .saturating_add(last.track_size)
            .saturating_sub(1),
    };
    Ok(Some(SessionSpan {
        start_lba: first.track_start,
        last_written_lba: last_written,
    }))
}

/// Whether the drive is beyond answering (gone, hung, the handle invalid).
pub(crate) fn unreachable(e: &crate::error::Error) -> bool {
    matches!(
        e.hresult(),
        crate::error::HResult::DevNotExist
            | crate::error::HResult::RecorderCommandTimeout
            | crate::error::HResult::InvalidHandle
    )
}

/// Whether the drive reports the medium's writing features but none of them is current: a
/// write-protected medium (MMC-6 5.3: a feature is current when the medium allows it). A drive
/// that does not report them says nothing about protection; the first WRITE will (DATA
/// PROTECT 7/27).
fn write_protected(config: &Configuration, profile: Profile) -> bool {
    let writing: &[u16] = match profile.0 {
        0x09 | 0x0A => &[0x002D, 0x0021],
        0x11 | 0x14 | 0x15 => &[0x002F, 0x0021],
        0x13 => &[0x0026],
        0x12 => &[0x0020],
        0x1A => &[0x002A],
        0x2A => &[0x003A],
        0x1B => &[0x002B],
        0x2B => &[0x003B],
        0x41..=0x43 => &[0x0041],
        _ => &[],
    };
    let mut reported = config
        .features
        .iter()
        .filter(|f| writing.contains(&f.code.0))
        .peekable();
    reported.peek().is_some() && reported.all(|f| !f.current)
}

/// The FORMAT UNIT format for an unformatted overwritable medium, as growisofs and libburn
/// choose it: DVD+RW full format (26h), BD-RE with default spares (30h), DVD-RW quick
/// (15h, restricted overwrite), DVD-RAM full (00h); the blocks from the drive's list.
fn format_for(profile: Profile, caps: &FormatCapacities) -> Option<(u32, u8)> {
    let wanted: &[u8] = match profile.0 {
        0x1A | 0x2A => &[0x26],
        0x43 => &[0x30, 0x31, 0x00],
        0x13 | 0x14 => &[0x15, 0x13, 0x10],
        _ => &[0x00, 0x01],
    };
    wanted.iter().find_map(|t| {
        caps.formattable
            .iter()
            .find(|f| f.format_type == *t)
            .map(|f| (f.blocks, f.format_type))
    })
}
