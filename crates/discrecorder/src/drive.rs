//! The rest of `IDiscRecorder2`: identity, profiles, features, mode pages, tray and media
//! change notification, over MMC commands.
//!
//! Owns running one MMC command through a [`Transport`] and turning its status and sense into
//! the library's errors (sense mapped to the IMAPI2 codes, raw key/ASC/ASCQ kept), and the
//! recorder methods built on that. Byte layouts are `discrecorder_mmc`'s; claims are
//! [`crate::claim`]'s.
//!
//! State-changing operations (eject, close tray, disabling media change notification) take
//! exclusive access for themselves when the recorder does not hold it, under the recorder's
//! operation client name, and fail with `E_IMAPI_RECORDER_LOCKED` when another client holds the
//! device. Identity queries work whoever holds it.
//!
//! Media change notification on Linux: the kernel stops polling an sr drive for media events
//! while a descriptor holds it open exclusively for writing (`DISK_EVENT_FLAG_BLOCK_ON_EXCL_WRITE`,
//! which the sr driver sets), and resumes when that descriptor is closed, including when its
//! process dies. [`Recorder::disable_mcn`] therefore holds exclusive access (one level of the
//! lock count) while the notification is disabled; the kernel restores it if the process dies.

use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use discrecorder_mmc::configuration::{
    get_configuration, Configuration, FeatureCode, Profile, ProfileDescriptor, RequestType,
};
use discrecorder_mmc::inquiry::{inquiry, inquiry_vpd, StandardInquiry, UnitSerialNumber};
use discrecorder_mmc::mode::{mode_sense10_all_pages, ModeParameters};
use discrecorder_mmc::sense::SenseData;
use discrecorder_mmc::unit::{prevent_allow_medium_removal, start_stop_unit, test_unit_ready};
use discrecorder_mmc::unit::{MediumRemoval, StartStop};
use discrecorder_mmc::{Command, DataDirection};
use rustix::fs::{Mode, OFlags};
use serde::Serialize;

use crate::claim::{self, Claim};
use crate::device::{Device, DeviceKind};
use crate::error::{Error, HResult, Result, Sense};
use crate::owner;
use crate::recorder::Recorder;
use crate::transport::{Data, EmuTransport, SgTransport, Transport};

/// How long one SCSI command may take unless [`Recorder::set_command_timeout`] says otherwise.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// What INQUIRY says of a drive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// Vendor identification (`VendorId`).
    pub vendor: String,
    /// Product identification (`ProductId`).
    pub product: String,
    /// Product revision (`ProductRevision`).
    pub revision: String,
    /// Whether the peripheral type is MMC (5).
    pub is_mmc: bool,
    /// Whether the medium is removable.
    pub removable: bool,
}

/// Which bytes a command needs the transport for: reading only, or changing the drive.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Change,
}

fn transport_for(
    device: &Device,
    fd: Option<Arc<OwnedFd>>,
    access: Access,
) -> Result<Box<dyn Transport>> {
    match device.kind() {
        DeviceKind::Emulated { .. } => Ok(Box::new(EmuTransport::new(
            device.path().to_path_buf(),
            device.spec(),
        ))),
        DeviceKind::Block { .. } => {
            let fd = match fd.or_else(|| claim::local_io_fd(device.key())) {
                Some(fd) => fd,
                None => {
                    // Nobody in this process holds the device, so opening and closing a
                    // descriptor here cannot drop a POSIX lock of ours.
                    let base = OFlags::NONBLOCK | OFlags::CLOEXEC;
                    let first = if access == Access::Change {
                        OFlags::RDWR
                    } else {
                        OFlags::RDONLY
                    };
                    Arc::new(
                        rustix::fs::open(device.path(), base | first, Mode::empty())
                            .map_err(|e| Error::from_io(e.into(), device.spec(), "cannot open"))?,
                    )
                }
            };
            Ok(Box::new(SgTransport::new(fd, device.spec())))
        }
    }
}

/// Runs `cmd`; GOOD gives the data, CHECK CONDITION an error from the sense (mapped by `map`).
fn run<const N: usize>(
    t: &mut dyn Transport,
    cmd: &Command<N>,
    timeout: Duration,
    device: &str,
    what: &str,
    map: fn(&SenseData) -> Option<HResult>,
) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; cmd.allocation_length() as usize];
    // A unit attention (medium changed, reset) reports an event, not a failure of this
    // command: like the kernel's own drivers, send the command again, a bounded number of times.
    let mut attempts = 0;
    let reply = loop {
        let data = match cmd.direction {
            DataDirection::FromDevice { .. } => Data::In(&mut buf),
            DataDirection::None | DataDirection::ToDevice { .. } => Data::None,
        };
        let reply = t.execute(cmd.as_bytes(), data, timeout)?;
        attempts += 1;
        let unit_attention = reply.status == 0x02
            && SenseData::parse(&reply.sense).is_ok_and(|s| s.key.code() == 0x6);
        if !unit_attention || attempts >= 4 {
            break reply;
        }
    };
    match reply.status {
        0x00 => {
            buf.truncate(reply.transferred.min(buf.len()));
            Ok(buf)
        }
        0x02 => Err(sense_error(&reply.sense, device, what, map)),
        0x08 => Err(Error::new(
            HResult::MediaBecomingReady,
            format!("{device}: {what}: the drive is busy (SCSI status BUSY)"),
        )),
        other => Err(Error::new(
            HResult::InvalidResponseFromDevice,
            format!("{device}: {what}: unexpected SCSI status 0x{other:02X}"),
        )),
    }
}

fn sense_error(
    raw: &[u8],
    device: &str,
    what: &str,
    map: fn(&SenseData) -> Option<HResult>,
) -> Error {
    let Ok(sense) = SenseData::parse(raw) else {
        return Error::new(
            HResult::InvalidResponseFromDevice,
            format!(
                "{device}: {what} failed and its sense data ({} bytes) could not be read",
                raw.len()
            ),
        );
    };
    let hresult = map(&sense).unwrap_or(HResult::EFail);
    Error::new(
        hresult,
        format!(
            "{device}: {what} failed: sense key 0x{:X}, ASC 0x{:02X}, ASCQ 0x{:02X} ({:?})",
            sense.key.code(),
            sense.asc,
            sense.ascq,
            sense.condition()
        ),
    )
    .with_sense(Sense {
        key: sense.key.code(),
        asc: sense.asc,
        ascq: sense.ascq,
    })
}

fn parse_error(device: &str, what: &str, e: discrecorder_mmc::ParseError) -> Error {
    Error::new(HResult::from(&e), format!("{device}: {what}: {e}"))
}

/// After an acquire: does the drive answer at all within the timeout? Any status will do.
pub(crate) fn probe_answers(device: &Device, claim: &Claim, timeout: Duration) -> Result<()> {
    let mut t = transport_for(device, Some(claim.io_fd()), Access::Read)?;
    t.execute(test_unit_ready().as_bytes(), Data::None, timeout)
        .map(drop)
}

impl Recorder {
    /// How long one SCSI command may take before `E_IMAPI_RECORDER_COMMAND_TIMEOUT`.
    pub fn set_command_timeout(&self, timeout: Duration) {
        self.state().timeout = timeout;
    }

    /// The client name that operations taking the lock for themselves publish
    /// (default `discrecorder`).
    pub fn set_client_name(&self, name: &str) -> Result<()> {
        self.state().ops_client = crate::ClientName::new(name)?;
        Ok(())
    }

    /// Whether the device speaks MMC: an sr drive (SCSI type 5) or an emulated recorder.
    pub fn is_mmc(&self) -> bool {
        self.device().is_mmc()
    }

    fn query<const N: usize>(
        &self,
        cmd: &Command<N>,
        what: &str,
        map: fn(&SenseData) -> Option<HResult>,
    ) -> Result<Vec<u8>> {
        let (fd, timeout) = {
            let state = self.state();
            (state.claim.as_ref().map(Claim::io_fd), state.timeout)
        };
        let mut t = transport_for(self.device(), fd, Access::Read)?;
        run(t.as_mut(), cmd, timeout, self.device().spec(), what, map)
    }

    fn not_mmc(&self) -> Error {
        Error::new(
            HResult::EFail,
            format!(
                "{} is not an MMC device (not an optical drive): it has no profiles, features or tray to ask about",
                self.device().spec()
            ),
        )
    }

    /// INQUIRY: vendor, product, revision.
    pub fn identity(&self) -> Result<Identity> {
        if !self.is_mmc() {
            return Err(self.not_mmc());
        }
        let data = self.query(&inquiry(96), "INQUIRY", HResult::for_sense)?;
        let inq = StandardInquiry::parse(&data)
            .map_err(|e| parse_error(self.device().spec(), "INQUIRY", e))?;
        Ok(Identity {
            vendor: inq.vendor,
            product: inq.product,
            revision: inq.revision,
            is_mmc: inq.peripheral.device_type.is_mmc(),
            removable: inq.removable,
        })
    }

    /// `VendorId`.
    pub fn vendor_id(&self) -> Result<String> {
        Ok(self.identity()?.vendor)
    }

    /// `ProductId`.
    pub fn product_id(&self) -> Result<String> {
        Ok(self.identity()?.product)
    }

    /// `ProductRevision`.
    pub fn product_revision(&self) -> Result<String> {
        Ok(self.identity()?.revision)
    }

    /// The unit serial number (VPD page 0x80), where the drive has one.
    pub fn serial_number(&self) -> Result<Option<String>> {
        match self.query(
            &inquiry_vpd(0x80, 255),
            "INQUIRY VPD 0x80",
            HResult::for_sense,
        ) {
            Ok(data) => Ok(Some(
                UnitSerialNumber::parse(&data)
                    .map_err(|e| parse_error(self.device().spec(), "VPD 0x80", e))?
                    .serial,
            )),
            Err(e) if e.sense().is_some_and(|s| s.key == 5) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// GET CONFIGURATION with `request_type`, from feature 0.
    pub fn configuration(&self, request_type: RequestType) -> Result<Configuration> {
        if !self.is_mmc() {
            return Err(self.not_mmc());
        }
        let data = self.query(
            &get_configuration(request_type, FeatureCode(0), 65530),
            "GET CONFIGURATION",
            HResult::for_get_configuration_sense,
        )?;
        Configuration::parse(&data)
            .map_err(|e| parse_error(self.device().spec(), "GET CONFIGURATION", e))
    }

    fn profile_list(&self) -> Result<Vec<ProfileDescriptor>> {
        let config = self.configuration(RequestType::All)?;
        match config.profiles() {
            Some(list) => list.map_err(|e| parse_error(self.device().spec(), "Profile List", e)),
            None => Ok(Vec::new()),
        }
    }

    /// `SupportedProfiles`: every profile the drive supports.
    pub fn supported_profiles(&self) -> Result<Vec<Profile>> {
        Ok(self
            .profile_list()?
            .into_iter()
            .map(|p| p.profile)
            .collect())
    }

    /// `CurrentProfiles`: the profiles current for the loaded medium (empty without one).
    pub fn current_profiles(&self) -> Result<Vec<Profile>> {
        Ok(self
            .profile_list()?
            .into_iter()
            .filter(|p| p.current)
            .map(|p| p.profile)
            .collect())
    }

    /// `SupportedFeaturePages`: every feature the drive reports.
    pub fn supported_feature_pages(&self) -> Result<Vec<FeatureCode>> {
        Ok(self
            .configuration(RequestType::All)?
            .features
            .iter()
            .map(|f| f.code)
            .collect())
    }

    /// `CurrentFeaturePages`: the features current now.
    pub fn current_feature_pages(&self) -> Result<Vec<FeatureCode>> {
        Ok(self
            .configuration(RequestType::Current)?
            .features
            .iter()
            .filter(|f| f.current)
            .map(|f| f.code)
            .collect())
    }

    /// `SupportedModePages`: MODE SENSE(10) with page 0x3F.
    pub fn supported_mode_pages(&self) -> Result<Vec<u8>> {
        if !self.is_mmc() {
            return Err(self.not_mmc());
        }
        let data = self.query(
            &mode_sense10_all_pages(65530),
            "MODE SENSE(10)",
            HResult::for_mode_sense_sense,
        )?;
        Ok(ModeParameters::parse(&data)
            .map_err(|e| parse_error(self.device().spec(), "MODE SENSE(10)", e))?
            .page_codes())
    }

    /// `DeviceCanLoadMedia`: from the Removable Medium feature.
    pub fn device_can_load_media(&self) -> Result<bool> {
        let config = self.configuration(RequestType::All)?;
        match config.removable_medium() {
            Some(rm) => Ok(rm
                .map_err(|e| parse_error(self.device().spec(), "Removable Medium feature", e))?
                .can_load_media()),
            None => Ok(false),
        }
    }

    /// `VolumeName`: the kernel's device node (`/dev/srN`) or `emu:NAME`.
    pub fn volume_name(&self) -> String {
        match self.device().kind() {
            DeviceKind::Emulated { .. } => self.device().spec().to_owned(),
            DeviceKind::Block { .. } => self.device().path().display().to_string(),
        }
    }

    /// `VolumePathNames`: where file systems of the device are mounted.
    pub fn volume_path_names(&self) -> Result<Vec<PathBuf>> {
        if self.device().is_block() {
            owner::mounts_of(self.device())
        } else {
            Ok(Vec::new())
        }
    }

    /// `LegacyDeviceNumber`: N of `/dev/srN` (the minor number for other block devices).
    pub fn legacy_device_number(&self) -> Option<u32> {
        match self.device().kind() {
            DeviceKind::Block { minor, .. } => {
                let name = self.device().path().file_name()?.to_str()?.to_owned();
                name.strip_prefix("sr")
                    .and_then(|n| n.parse().ok())
                    .or(Some(*minor))
            }
            DeviceKind::Emulated { .. } => None,
        }
    }

    /// `ActiveRecorderId`: the stable id of this recorder (see [`crate::master`]).
    pub fn active_recorder_id(&self) -> String {
        crate::master::recorder_id(self.device())
    }

    /// TEST UNIT READY: `Ok` with a medium ready, else `E_IMAPI_RECORDER_MEDIA_NO_MEDIA`,
    /// `..._BECOMING_READY` and so on.
    pub fn check_medium(&self) -> Result<()> {
        if !self.is_mmc() {
            return Err(self.not_mmc());
        }
        self.query(&test_unit_ready(), "TEST UNIT READY", HResult::for_sense)
            .map(drop)
    }

    /// Takes one level of exclusive access under the operation client name. A device held by
    /// someone else gives `E_IMAPI_RECORDER_LOCKED` naming them; the owner is looked up only
    /// when the acquire was refused, not before every operation.
    fn acquire_for(&self, what: &str) -> Result<()> {
        let name = self.state().ops_client.clone();
        match self.acquire_exclusive_access(false, name.as_str()) {
            Ok(_) => Ok(()),
            Err(e) if e.hresult() == HResult::EAccessDenied && self.lock_count() == 0 => {
                match owner::find(self.device())? {
                    Some(o) => Err(locked(self.device(), what, &o)),
                    None => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Runs `f` while holding exclusive access: this recorder's own, else one taken for the
    /// operation. Another holder gives `E_IMAPI_RECORDER_LOCKED`.
    fn with_exclusive<T>(
        &self,
        what: &str,
        f: impl FnOnce(&mut dyn Transport, Duration) -> Result<T>,
    ) -> Result<T> {
        if !self.is_mmc() {
            return Err(self.not_mmc());
        }
        let held = self.lock_count() > 0;
        if !held {
            self.acquire_for(what)?;
        }
        let result = (|| {
            let (fd, timeout) = {
                let state = self.state();
                (state.claim.as_ref().map(Claim::io_fd), state.timeout)
            };
            let mut t = transport_for(self.device(), fd, Access::Change)?;
            f(t.as_mut(), timeout)
        })();
        if !held {
            let _ = self.release_exclusive_access();
        }
        result
    }

    /// `EjectMedia`: unlocks the tray and opens it.
    pub fn eject_media(&self) -> Result<()> {
        let spec = self.device().spec().to_owned();
        self.with_exclusive("eject", |t, timeout| {
            run(
                t,
                &prevent_allow_medium_removal(MediumRemoval::Allow),
                timeout,
                &spec,
                "PREVENT ALLOW MEDIUM REMOVAL",
                HResult::for_sense,
            )?;
            run(
                t,
                &start_stop_unit(StartStop::Eject, false),
                timeout,
                &spec,
                "START STOP UNIT (eject)",
                HResult::for_sense,
            )
            .map(drop)
        })
    }

    /// `CloseTray`: loads the medium.
    pub fn close_tray(&self) -> Result<()> {
        let spec = self.device().spec().to_owned();
        self.with_exclusive("close the tray of", |t, timeout| {
            run(
                t,
                &start_stop_unit(StartStop::Load, false),
                timeout,
                &spec,
                "START STOP UNIT (load)",
                HResult::for_sense,
            )
            .map(drop)
        })
    }

    /// `DisableMcn`: stops media change notification, counted. Holds exclusive access while
    /// disabled (see the module documentation for why that is how Linux does it).
    pub fn disable_mcn(&self) -> Result<u32> {
        if self.state().mcn_disabled == 0 {
            self.acquire_for("disable media change notification of")?;
        }
        let mut state = self.state();
        state.mcn_disabled += 1;
        Ok(state.mcn_disabled)
    }

    /// `EnableMcn`: undoes one `disable_mcn`; at zero the kernel polls for media again.
    pub fn enable_mcn(&self) -> Result<u32> {
        let left = {
            let mut state = self.state();
            if state.mcn_disabled == 0 {
                return Ok(0);
            }
            state.mcn_disabled -= 1;
            state.mcn_disabled
        };
        if left == 0 {
            self.release_exclusive_access()?;
        }
        Ok(left)
    }

    /// The media change notification disable count.
    pub fn mcn_disabled_count(&self) -> u32 {
        self.state().mcn_disabled
    }
}

fn locked(device: &Device, what: &str, owner: &crate::Owner) -> Error {
    Error::new(
        HResult::RecorderLocked,
        format!(
            "cannot {what} {}: it is held by {}",
            device.spec(),
            owner.describe()
        ),
    )
}
