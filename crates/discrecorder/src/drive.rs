//! What an MMC drive says about itself, and the commands that move its tray: the MMC half of
//! `IDiscRecorder2`, below the public recorder API.
//!
//! Owns the command sequences and their interpretation: INQUIRY and VPD page 0x80 (SPC-4 6.4
//! "INQUIRY", 7.8.15 "Unit Serial Number VPD page"), GET CONFIGURATION with its profile list and
//! Removable Medium feature (MMC-6 6.6, 5.3.1, 5.3.4), MODE SENSE(10) with page code 0x3F
//! (SPC-4 6.14), TEST UNIT READY (SPC-4 6.47), PREVENT ALLOW MEDIUM REMOVAL (MMC-6 6.21) and
//! START STOP UNIT (MMC-6 6.38). A [`Drive`] is a short-lived view: a device, the descriptor to
//! send through, and a timeout. It takes no claim and keeps no count: [`crate::recorder`] decides
//! when a command may run and under whose exclusive access; running one command is
//! [`crate::scsi`]'s.

use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::Duration;

use discrecorder_mmc::codes::sense_key;
use discrecorder_mmc::configuration::{
    get_configuration, Configuration, FeatureCode, Profile, ProfileDescriptor, RequestType,
};
use discrecorder_mmc::inquiry::{inquiry, inquiry_vpd, StandardInquiry, UnitSerialNumber};
use discrecorder_mmc::mode::{mode_sense10_all_pages, ModeParameters};
use discrecorder_mmc::sense::SenseData;
use discrecorder_mmc::unit::{prevent_allow_medium_removal, start_stop_unit, test_unit_ready};
use discrecorder_mmc::unit::{MediumRemoval, StartStop};
use discrecorder_mmc::Command;
use serde::Serialize;

use crate::device::Device;
use crate::error::{Error, HResult, Result};
use crate::scsi::{self, parse_error, Access};

/// What INQUIRY says of a drive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
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

/// One device, the descriptor its commands go through (`None`: the scsi layer finds one) and
/// how long each command may take.
pub(crate) struct Drive<'a> {
    device: &'a Device,
    fd: Option<Arc<OwnedFd>>,
    timeout: Duration,
}

impl<'a> Drive<'a> {
    pub(crate) fn new(device: &'a Device, fd: Option<Arc<OwnedFd>>, timeout: Duration) -> Self {
        Drive {
            device,
            fd,
            timeout,
        }
    }

    fn spec(&self) -> &str {
        self.device.spec()
    }

    /// `E_FAIL` for a device that is not an optical drive.
    pub(crate) fn not_mmc(device: &Device) -> Error {
        Error::new(
            HResult::EFail,
            format!(
                "{} is not an MMC device (not an optical drive): it has no profiles, features or tray to ask about",
                device.spec()
            ),
        )
    }

    fn require_mmc(&self) -> Result<()> {
        if self.device.is_mmc() {
            Ok(())
        } else {
            Err(Self::not_mmc(self.device))
        }
    }

    /// Runs `cmd` with `access`; `map` turns sense data into an HRESULT.
    fn run<const N: usize>(
        &self,
        access: Access,
        cmd: &Command<N>,
        what: &str,
        map: fn(&SenseData) -> Option<HResult>,
    ) -> Result<Vec<u8>> {
        let mut t = scsi::transport_for(self.device, self.fd.clone(), access)?;
        scsi::run(t.as_mut(), cmd, self.timeout, self.spec(), what, map)
    }

    fn query<const N: usize>(
        &self,
        cmd: &Command<N>,
        what: &str,
        map: fn(&SenseData) -> Option<HResult>,
    ) -> Result<Vec<u8>> {
        self.run(Access::Read, cmd, what, map)
    }

    /// INQUIRY: vendor, product, revision.
    pub(crate) fn identity(&self) -> Result<Identity> {
        self.require_mmc()?;
        let data = self.query(&inquiry(96), "INQUIRY", HResult::for_sense)?;
        let inq =
            StandardInquiry::parse(&data).map_err(|e| parse_error(self.spec(), "INQUIRY", e))?;
        Ok(Identity {
            vendor: inq.vendor,
            product: inq.product,
            revision: inq.revision,
            is_mmc: inq.peripheral.device_type.is_mmc(),
            removable: inq.removable,
        })
    }

    /// The unit serial number (VPD page 0x80), `None` where the drive has none.
    pub(crate) fn serial_number(&self) -> Result<Option<String>> {
        match self.query(
            &inquiry_vpd(0x80, 255),
            "INQUIRY VPD 0x80",
            HResult::for_sense,
        ) {
            Ok(data) => Ok(Some(
                UnitSerialNumber::parse(&data)
                    .map_err(|e| parse_error(self.spec(), "VPD 0x80", e))?
                    .serial,
            )),
            Err(e)
                if e.sense()
                    .is_some_and(|s| s.key == sense_key::ILLEGAL_REQUEST) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// GET CONFIGURATION with `request_type`, from feature 0.
    pub(crate) fn configuration(&self, request_type: RequestType) -> Result<Configuration> {
        self.require_mmc()?;
        let data = self.query(
            &get_configuration(request_type, FeatureCode(0), 65530),
            "GET CONFIGURATION",
            HResult::for_get_configuration_sense,
        )?;
        Configuration::parse(&data).map_err(|e| parse_error(self.spec(), "GET CONFIGURATION", e))
    }

    /// The Profile List feature's descriptors (empty if the drive reports none).
    pub(crate) fn profile_list(&self) -> Result<Vec<ProfileDescriptor>> {
        let config = self.configuration(RequestType::All)?;
        match config.profiles() {
            Some(list) => list.map_err(|e| parse_error(self.spec(), "Profile List", e)),
            None => Ok(Vec::new()),
        }
    }

    /// Profiles, all of them or only the current ones.
    pub(crate) fn profiles(&self, current_only: bool) -> Result<Vec<Profile>> {
        Ok(self
            .profile_list()?
            .into_iter()
            .filter(|p| p.current || !current_only)
            .map(|p| p.profile)
            .collect())
    }

    /// Feature codes, all of them or only the current ones.
    pub(crate) fn feature_pages(&self, current_only: bool) -> Result<Vec<FeatureCode>> {
        let request = if current_only {
            RequestType::Current
        } else {
            RequestType::All
        };
        Ok(self
            .configuration(request)?
            .features
            .iter()
            .filter(|f| f.current || !current_only)
            .map(|f| f.code)
            .collect())
    }

    /// MODE SENSE(10) with page 0x3F: the page codes the drive has.
    pub(crate) fn mode_pages(&self) -> Result<Vec<u8>> {
        self.require_mmc()?;
        let data = self.query(
            &mode_sense10_all_pages(65530),
            "MODE SENSE(10)",
            HResult::for_mode_sense_sense,
        )?;
        Ok(ModeParameters::parse(&data)
            .map_err(|e| parse_error(self.spec(), "MODE SENSE(10)", e))?
            .page_codes())
    }

    /// From the Removable Medium feature: whether the drive can load media itself.
    pub(crate) fn can_load_media(&self) -> Result<bool> {
        let config = self.configuration(RequestType::All)?;
        match config.removable_medium() {
            Some(rm) => Ok(rm
                .map_err(|e| parse_error(self.spec(), "Removable Medium feature", e))?
                .can_load_media()),
            None => Ok(false),
        }
    }

    /// TEST UNIT READY.
    pub(crate) fn check_medium(&self) -> Result<()> {
        self.require_mmc()?;
        self.query(&test_unit_ready(), "TEST UNIT READY", HResult::for_sense)
            .map(drop)
    }

    /// Unlocks the tray, then opens it.
    pub(crate) fn eject(&self) -> Result<()> {
        self.require_mmc()?;
        let mut t = scsi::transport_for(self.device, self.fd.clone(), Access::Change)?;
        scsi::run(
            t.as_mut(),
            &prevent_allow_medium_removal(MediumRemoval::Allow),
            self.timeout,
            self.spec(),
            "PREVENT ALLOW MEDIUM REMOVAL",
            HResult::for_sense,
        )?;
        scsi::run(
            t.as_mut(),
            &start_stop_unit(StartStop::Eject, false),
            self.timeout,
            self.spec(),
            "START STOP UNIT (eject)",
            HResult::for_sense,
        )
        .map(drop)
    }

    /// Closes the tray, loading the medium.
    pub(crate) fn close_tray(&self) -> Result<()> {
        self.require_mmc()?;
        self.run(
            Access::Change,
            &start_stop_unit(StartStop::Load, false),
            "START STOP UNIT (load)",
            HResult::for_sense,
        )
        .map(drop)
    }
}
