//! Errors as IMAPI2 HRESULTs with context.
//!
//! Owns the table of IMAPI2 HRESULTs the library returns (values from `imapi2error.h` and
//! `winerror.h`), the mapping of MMC sense conditions to them, and the [`Error`] value every fallible call of the
//! library returns. It never prints: the CLI decides how an error is shown.

use std::fmt;
use std::io;

use discrecorder_mmc::sense::{SenseCondition, SenseData};
use discrecorder_mmc::ParseError;

/// An IMAPI2 / COM result code, with its exact 32-bit value.
///
/// Each variant's value is the one Windows returns; the reference page's `6` and `55` are the
/// Win32 codes, not HRESULTs, and are corrected here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HResult {
    /// Unspecified failure; also release without holding.
    EFail,
    /// The device is in use by another client, a foreign program or a mount; or no permission.
    EAccessDenied,
    /// An argument (for example a client name) is not valid.
    EInvalidArg,
    /// The system ran out of memory.
    EOutOfMemory,
    /// The device did not complete a command within the recorder's timeout.
    RecorderCommandTimeout,
    /// `HRESULT_FROM_WIN32(ERROR_INVALID_HANDLE)`: the recorder's handle is no longer valid.
    InvalidHandle,
    /// `HRESULT_FROM_WIN32(ERROR_DEV_NOT_EXIST)`: the device is gone.
    DevNotExist,
    /// Another client holds exclusive access, so this operation failed.
    RecorderLocked,
    /// There is no medium in the drive.
    MediaNoMedia,
    /// The medium is becoming ready.
    MediaBecomingReady,
    /// The device answered with data that could not be understood.
    InvalidResponseFromDevice,
    /// The request was cancelled.
    RequestCancelled,
    /// The client name is not valid.
    ClientNameIsNotValid,
    /// The medium is write protected.
    MediaWriteProtected,
    /// The mode page is not supported by the device.
    NoSuchModePage,
    /// The feature is not supported by the device.
    NoSuchFeature,
    /// The device does not support GET CONFIGURATION.
    GetConfigurationNotSupported,
    /// The medium does not read back as written (verification failed).
    BurnVerificationFailed,
    /// The medium is not compatible with the recorder or the operation.
    MediaIncompatible,
    /// The medium is inserted upside down.
    MediaUpsideDown,
    /// The medium is being formatted.
    MediaFormatInProgress,
    /// The drive is busy with a long operation (write, close, format).
    MediaBusy,
    /// The drive refused the mode parameters (write parameters page).
    InvalidModeParameters,
    /// The medium cannot be written at the requested speed.
    MediaSpeedMismatch,
    /// The medium is not formatted.
    MediaNotFormatted,
    /// The drive ran out of data while writing.
    LossOfStreaming,
    /// The drive failed a command in a way that has no more specific code (medium or hardware error).
    UnexpectedResponseFromDevice,
    /// A write is already running on this writer.
    Df2DataWriteInProgress,
    /// No write is running.
    Df2DataWriteNotInProgress,
    /// The medium is in a state that cannot be written (closed, damaged, or not where it was expected).
    Df2DataInvalidMediaState,
    /// The data stream cannot be written.
    Df2DataStreamNotSupported,
    /// The image is larger than the free space of the medium.
    Df2DataStreamTooLargeForCurrentMedia,
    /// The medium is not blank and overwriting was not allowed.
    Df2DataMediaNotBlank,
    /// The medium is not one this writer supports.
    Df2DataMediaIsNotSupported,
    /// The recorder cannot write any supported medium.
    Df2DataRecorderNotSupported,
    /// The writer's client name is not valid.
    Df2DataClientNameIsNotValid,
    /// Another client holds the recorder, so it cannot be erased.
    EraseRecorderInUse,
    /// The medium cannot be erased (not rewritable).
    EraseMediaIsNotErasable,
    /// The drive failed the BLANK or FORMAT UNIT command.
    EraseDriveFailedEraseCommand,
    /// The erase did not complete within an hour.
    EraseTookLongerThanOneHour,
    /// The drive answered unexpectedly while erasing.
    EraseUnexpectedDriveResponseDuringErase,
    /// The medium is not one the eraser supports.
    EraseMediaIsNotSupported,
    /// The recorder cannot erase any medium.
    EraseRecorderNotSupported,
    /// The eraser's client name is not valid.
    EraseClientNameIsNotValid,
}

impl HResult {
    /// Every code, for tables and tests.
    pub const ALL: [HResult; 44] = [
        HResult::EFail,
        HResult::EAccessDenied,
        HResult::EInvalidArg,
        HResult::EOutOfMemory,
        HResult::RecorderCommandTimeout,
        HResult::InvalidHandle,
        HResult::DevNotExist,
        HResult::RecorderLocked,
        HResult::MediaNoMedia,
        HResult::MediaBecomingReady,
        HResult::InvalidResponseFromDevice,
        HResult::RequestCancelled,
        HResult::ClientNameIsNotValid,
        HResult::MediaWriteProtected,
        HResult::NoSuchModePage,
        HResult::NoSuchFeature,
        HResult::GetConfigurationNotSupported,
        HResult::BurnVerificationFailed,
        HResult::MediaIncompatible,
        HResult::MediaUpsideDown,
        HResult::MediaFormatInProgress,
        HResult::MediaBusy,
        HResult::InvalidModeParameters,
        HResult::MediaSpeedMismatch,
        HResult::MediaNotFormatted,
        HResult::LossOfStreaming,
        HResult::UnexpectedResponseFromDevice,
        HResult::Df2DataWriteInProgress,
        HResult::Df2DataWriteNotInProgress,
        HResult::Df2DataInvalidMediaState,
        HResult::Df2DataStreamNotSupported,
        HResult::Df2DataStreamTooLargeForCurrentMedia,
        HResult::Df2DataMediaNotBlank,
        HResult::Df2DataMediaIsNotSupported,
        HResult::Df2DataRecorderNotSupported,
        HResult::Df2DataClientNameIsNotValid,
        HResult::EraseRecorderInUse,
        HResult::EraseMediaIsNotErasable,
        HResult::EraseDriveFailedEraseCommand,
        HResult::EraseTookLongerThanOneHour,
        HResult::EraseUnexpectedDriveResponseDuringErase,
        HResult::EraseMediaIsNotSupported,
        HResult::EraseRecorderNotSupported,
        HResult::EraseClientNameIsNotValid,
    ];

    /// The exact 32-bit HRESULT value.
    pub const fn code(self) -> u32 {
        match self {
            HResult::EFail => 0x8000_4005,
            HResult::EAccessDenied => 0x8007_0005,
            HResult::EInvalidArg => 0x8007_0057,
            HResult::EOutOfMemory => 0x8007_000E,
            HResult::RecorderCommandTimeout => 0xC0AA_020D,
            HResult::InvalidHandle => 0x8007_0006,
            HResult::DevNotExist => 0x8007_0037,
            HResult::RecorderLocked => 0xC0AA_0210,
            HResult::MediaNoMedia => 0xC0AA_0202,
            HResult::MediaBecomingReady => 0xC0AA_0205,
            HResult::InvalidResponseFromDevice => 0xC0AA_02FF,
            HResult::RequestCancelled => 0xC0AA_0002,
            HResult::ClientNameIsNotValid => 0xC0AA_0211,
            HResult::MediaWriteProtected => 0xC0AA_0209,
            HResult::NoSuchModePage => 0xC0AA_0201,
            HResult::NoSuchFeature => 0xC0AA_020A,
            HResult::GetConfigurationNotSupported => 0xC0AA_020C,
            HResult::BurnVerificationFailed => 0xC0AA_0007,
            HResult::MediaIncompatible => 0xC0AA_0203,
            HResult::MediaUpsideDown => 0xC0AA_0204,
            HResult::MediaFormatInProgress => 0xC0AA_0206,
            HResult::MediaBusy => 0xC0AA_0207,
            HResult::InvalidModeParameters => 0xC0AA_0208,
            HResult::MediaSpeedMismatch => 0xC0AA_020F,
            HResult::MediaNotFormatted => 0xC0AA_0212,
            HResult::LossOfStreaming => 0xC0AA_0300,
            HResult::UnexpectedResponseFromDevice => 0xC0AA_0301,
            HResult::Df2DataWriteInProgress => 0xC0AA_0400,
            HResult::Df2DataWriteNotInProgress => 0xC0AA_0401,
            HResult::Df2DataInvalidMediaState => 0xC0AA_0402,
            HResult::Df2DataStreamNotSupported => 0xC0AA_0403,
            HResult::Df2DataStreamTooLargeForCurrentMedia => 0xC0AA_0404,
            HResult::Df2DataMediaNotBlank => 0xC0AA_0405,
            HResult::Df2DataMediaIsNotSupported => 0xC0AA_0406,
            HResult::Df2DataRecorderNotSupported => 0xC0AA_0407,
            HResult::Df2DataClientNameIsNotValid => 0xC0AA_0408,
            HResult::EraseRecorderInUse => 0x80AA_0900,
            HResult::EraseMediaIsNotErasable => 0x80AA_0904,
            HResult::EraseDriveFailedEraseCommand => 0x80AA_0905,
            HResult::EraseTookLongerThanOneHour => 0x80AA_0906,
            HResult::EraseUnexpectedDriveResponseDuringErase => 0x80AA_0907,
            HResult::EraseMediaIsNotSupported => 0xC0AA_0909,
            HResult::EraseRecorderNotSupported => 0xC0AA_090A,
            HResult::EraseClientNameIsNotValid => 0xC0AA_090B,
        }
    }

    /// The symbolic name as IMAPI2's headers spell it.
    pub const fn name(self) -> &'static str {
        match self {
            HResult::EFail => "E_FAIL",
            HResult::EAccessDenied => "E_ACCESSDENIED",
            HResult::EInvalidArg => "E_INVALIDARG",
            HResult::EOutOfMemory => "E_OUTOFMEMORY",
            HResult::RecorderCommandTimeout => "E_IMAPI_RECORDER_COMMAND_TIMEOUT",
            HResult::InvalidHandle => "HRESULT_FROM_WIN32(ERROR_INVALID_HANDLE)",
            HResult::DevNotExist => "HRESULT_FROM_WIN32(ERROR_DEV_NOT_EXIST)",
            HResult::RecorderLocked => "E_IMAPI_RECORDER_LOCKED",
            HResult::MediaNoMedia => "E_IMAPI_RECORDER_MEDIA_NO_MEDIA",
            HResult::MediaBecomingReady => "E_IMAPI_RECORDER_MEDIA_BECOMING_READY",
            HResult::InvalidResponseFromDevice => "E_IMAPI_RECORDER_INVALID_RESPONSE_FROM_DEVICE",
            HResult::RequestCancelled => "E_IMAPI_REQUEST_CANCELLED",
            HResult::ClientNameIsNotValid => "E_IMAPI_RECORDER_CLIENT_NAME_IS_NOT_VALID",
            HResult::MediaWriteProtected => "E_IMAPI_RECORDER_MEDIA_WRITE_PROTECTED",
            HResult::NoSuchModePage => "E_IMAPI_RECORDER_NO_SUCH_MODE_PAGE",
            HResult::NoSuchFeature => "E_IMAPI_RECORDER_NO_SUCH_FEATURE",
            HResult::GetConfigurationNotSupported => {
                "E_IMAPI_RECORDER_GET_CONFIGURATION_NOT_SUPPORTED"
            }
            HResult::BurnVerificationFailed => "E_IMAPI_BURN_VERIFICATION_FAILED",
            HResult::MediaIncompatible => "E_IMAPI_RECORDER_MEDIA_INCOMPATIBLE",
            HResult::MediaUpsideDown => "E_IMAPI_RECORDER_MEDIA_UPSIDE_DOWN",
            HResult::MediaFormatInProgress => "E_IMAPI_RECORDER_MEDIA_FORMAT_IN_PROGRESS",
            HResult::MediaBusy => "E_IMAPI_RECORDER_MEDIA_BUSY",
            HResult::InvalidModeParameters => "E_IMAPI_RECORDER_INVALID_MODE_PARAMETERS",
            HResult::MediaSpeedMismatch => "E_IMAPI_RECORDER_MEDIA_SPEED_MISMATCH",
            HResult::MediaNotFormatted => "E_IMAPI_RECORDER_MEDIA_NOT_FORMATTED",
            HResult::LossOfStreaming => "E_IMAPI_LOSS_OF_STREAMING",
            HResult::UnexpectedResponseFromDevice => "E_IMAPI_UNEXPECTED_RESPONSE_FROM_DEVICE",
            HResult::Df2DataWriteInProgress => "E_IMAPI_DF2DATA_WRITE_IN_PROGRESS",
            HResult::Df2DataWriteNotInProgress => "E_IMAPI_DF2DATA_WRITE_NOT_IN_PROGRESS",
            HResult::Df2DataInvalidMediaState => "E_IMAPI_DF2DATA_INVALID_MEDIA_STATE",
            HResult::Df2DataStreamNotSupported => "E_IMAPI_DF2DATA_STREAM_NOT_SUPPORTED",
            HResult::Df2DataStreamTooLargeForCurrentMedia => {
                "E_IMAPI_DF2DATA_STREAM_TOO_LARGE_FOR_CURRENT_MEDIA"
            }
            HResult::Df2DataMediaNotBlank => "E_IMAPI_DF2DATA_MEDIA_NOT_BLANK",
            HResult::Df2DataMediaIsNotSupported => "E_IMAPI_DF2DATA_MEDIA_IS_NOT_SUPPORTED",
            HResult::Df2DataRecorderNotSupported => "E_IMAPI_DF2DATA_RECORDER_NOT_SUPPORTED",
            HResult::Df2DataClientNameIsNotValid => "E_IMAPI_DF2DATA_CLIENT_NAME_IS_NOT_VALID",
            HResult::EraseRecorderInUse => "E_IMAPI_ERASE_RECORDER_IN_USE",
            HResult::EraseMediaIsNotErasable => "E_IMAPI_ERASE_MEDIA_IS_NOT_ERASABLE",
            HResult::EraseDriveFailedEraseCommand => "E_IMAPI_ERASE_DRIVE_FAILED_ERASE_COMMAND",
            HResult::EraseTookLongerThanOneHour => "E_IMAPI_ERASE_TOOK_LONGER_THAN_ONE_HOUR",
            HResult::EraseUnexpectedDriveResponseDuringErase => {
                "E_IMAPI_ERASE_UNEXPECTED_DRIVE_RESPONSE_DURING_ERASE"
            }
            HResult::EraseMediaIsNotSupported => "E_IMAPI_ERASE_MEDIA_IS_NOT_SUPPORTED",
            HResult::EraseRecorderNotSupported => "E_IMAPI_ERASE_RECORDER_NOT_SUPPORTED",
            HResult::EraseClientNameIsNotValid => "E_IMAPI_ERASE_CLIENT_NAME_IS_NOT_VALID",
        }
    }

    /// The documented meaning, in one sentence.
    pub const fn meaning(self) -> &'static str {
        match self {
            HResult::EFail => "unspecified failure",
            HResult::EAccessDenied => "the device is currently being used by another application",
            HResult::EInvalidArg => "one or more arguments are not valid",
            HResult::EOutOfMemory => "failed to allocate the required memory",
            HResult::RecorderCommandTimeout => {
                "the device failed to accept the command within the timeout period"
            }
            HResult::InvalidHandle => "the specified handle is invalid",
            HResult::DevNotExist => "the specified device is no longer available",
            HResult::RecorderLocked => {
                "the device has been exclusively locked by another client, causing this operation to fail"
            }
            HResult::MediaNoMedia => "there is no media in the device",
            HResult::MediaBecomingReady => "the media is becoming ready",
            HResult::InvalidResponseFromDevice => "the device returned an invalid response",
            HResult::RequestCancelled => "the request was cancelled",
            HResult::ClientNameIsNotValid => "the client name is not valid",
            HResult::MediaWriteProtected => "the media is write protected",
            HResult::NoSuchModePage => "the device reported that the requested mode page does not exist",
            HResult::NoSuchFeature => "the feature page requested is not supported by the device",
            HResult::GetConfigurationNotSupported => {
                "the device does not support the GET CONFIGURATION command"
            }
            HResult::BurnVerificationFailed => "the data on the media does not match the data written: verification failed",
            HResult::MediaIncompatible => "the media is incompatible or of unknown physical format",
            HResult::MediaUpsideDown => "the media is inserted upside down",
            HResult::MediaFormatInProgress => "the media is currently being formatted; wait for the format to complete",
            HResult::MediaBusy => "the drive reported that it is performing a long-running operation, such as finishing a write",
            HResult::InvalidModeParameters => "the write failed because the drive refused the write parameters",
            HResult::MediaSpeedMismatch => "the media is not rated for the requested write speed",
            HResult::MediaNotFormatted => "the media is not formatted",
            HResult::LossOfStreaming => "the write failed because the drive did not receive data quickly enough to continue writing",
            HResult::UnexpectedResponseFromDevice => "the write failed because the drive returned error information that could not be recovered from",
            HResult::Df2DataWriteInProgress => "there is currently a write operation in progress",
            HResult::Df2DataWriteNotInProgress => "there is no write operation currently in progress",
            HResult::Df2DataInvalidMediaState => "the requested operation is only valid with supported media",
            HResult::Df2DataStreamNotSupported => "the provided stream to write is not supported",
            HResult::Df2DataStreamTooLargeForCurrentMedia => "the provided stream to write is too large for the currently inserted media",
            HResult::Df2DataMediaNotBlank => "overwriting non-blank media is not allowed without the force overwrite option",
            HResult::Df2DataMediaIsNotSupported => "the current media type is unsupported",
            HResult::Df2DataRecorderNotSupported => "this device does not support the operations required by this disc format",
            HResult::Df2DataClientNameIsNotValid => "the client name is not valid",
            HResult::EraseRecorderInUse => "the media cannot be erased because the recorder is in use by another application",
            HResult::EraseMediaIsNotErasable => "the current media cannot be erased",
            HResult::EraseDriveFailedEraseCommand => "the drive did not accept the erase command",
            HResult::EraseTookLongerThanOneHour => "the erase operation did not complete within one hour",
            HResult::EraseUnexpectedDriveResponseDuringErase => "the drive returned an unexpected response during the erase",
            HResult::EraseMediaIsNotSupported => "the current media type is not supported for erasing",
            HResult::EraseRecorderNotSupported => "the device does not support erasing",
            HResult::EraseClientNameIsNotValid => "the client name is not valid",
        }
    }

    /// Looks a code up by its 32-bit value.
    pub fn from_code(code: u32) -> Option<HResult> {
        HResult::ALL.into_iter().find(|h| h.code() == code)
    }
}

/// What a device's answer that cannot be decoded means: always
/// `E_IMAPI_RECORDER_INVALID_RESPONSE_FROM_DEVICE`, whatever the field.
impl From<&ParseError> for HResult {
    fn from(_: &ParseError) -> HResult {
        HResult::InvalidResponseFromDevice
    }
}

impl HResult {
    /// The HRESULT a sense condition means whatever command failed, or `None` when its meaning
    /// depends on the command (see [`HResult::for_get_configuration_sense`] and
    /// [`HResult::for_mode_sense_sense`]) or IMAPI2 has no specific code for it.
    pub(crate) fn for_condition(condition: SenseCondition) -> Option<HResult> {
        match condition {
            SenseCondition::NoMedium => Some(HResult::MediaNoMedia),
            SenseCondition::BecomingReady => Some(HResult::MediaBecomingReady),
            SenseCondition::WriteProtected => Some(HResult::MediaWriteProtected),
            SenseCondition::InvalidCommandOperationCode
            | SenseCondition::InvalidFieldInCdb
            | SenseCondition::MediumMayHaveChanged
            | SenseCondition::PowerOnOrReset
            | SenseCondition::Other => None,
        }
    }

    /// The HRESULT `sense` means whatever command failed, or `None` (see
    /// [`HResult::for_condition`]).
    pub(crate) fn for_sense(sense: &SenseData) -> Option<HResult> {
        HResult::for_condition(sense.condition())
    }

    /// The HRESULT when `sense` answers GET CONFIGURATION: an invalid operation code means the
    /// drive predates MMC-3 (`E_IMAPI_RECORDER_GET_CONFIGURATION_NOT_SUPPORTED`); otherwise as
    /// [`HResult::for_sense`].
    pub(crate) fn for_get_configuration_sense(sense: &SenseData) -> Option<HResult> {
        match sense.condition() {
            SenseCondition::InvalidCommandOperationCode => {
                Some(HResult::GetConfigurationNotSupported)
            }
            other => HResult::for_condition(other),
        }
    }

    /// The HRESULT when `sense` answers MODE SENSE for one page: an invalid field in the CDB
    /// (the page code) means `E_IMAPI_RECORDER_NO_SUCH_MODE_PAGE`; otherwise as
    /// [`HResult::for_sense`].
    pub(crate) fn for_mode_sense_sense(sense: &SenseData) -> Option<HResult> {
        match sense.condition() {
            SenseCondition::InvalidFieldInCdb => Some(HResult::NoSuchModePage),
            other => HResult::for_condition(other),
        }
    }
}

impl HResult {
    /// The HRESULT when `sense` answers a command of writing or erasing (WRITE, SYNCHRONIZE
    /// CACHE, CLOSE TRACK/SESSION, MODE SELECT, BLANK, FORMAT UNIT, RESERVE TRACK, READ while
    /// verifying):
    ///
    /// | sense | HRESULT |
    /// |---|---|
    /// | 2/3A/xx no medium | `E_IMAPI_RECORDER_MEDIA_NO_MEDIA` |
    /// | 2/04/01 becoming ready | `E_IMAPI_RECORDER_MEDIA_BECOMING_READY` |
    /// | 2/04/04 format in progress | `E_IMAPI_RECORDER_MEDIA_FORMAT_IN_PROGRESS` |
    /// | 2/04/07, 2/04/08 operation or long write in progress | `E_IMAPI_RECORDER_MEDIA_BUSY` (the writer polls and retries) |
    /// | 2/30/xx, 5/30/xx incompatible medium, cannot write this format | `E_IMAPI_RECORDER_MEDIA_INCOMPATIBLE` |
    /// | 7/27/xx write protected | `E_IMAPI_RECORDER_MEDIA_WRITE_PROTECTED` |
    /// | 5/21/xx LBA out of range, invalid address for write | `E_IMAPI_DF2DATA_INVALID_MEDIA_STATE` (the medium is not where the writer found it) |
    /// | 5/26/xx, 5/64/xx bad parameter list, illegal mode for this track | `E_IMAPI_RECORDER_INVALID_MODE_PARAMETERS` |
    /// | 3/0C/09, 5/2C/xx loss of streaming, command sequence error | `E_IMAPI_LOSS_OF_STREAMING` |
    /// | 3/xx/xx, 4/xx/xx medium or hardware error | `E_IMAPI_UNEXPECTED_RESPONSE_FROM_DEVICE` |
    /// | anything else | as [`HResult::for_sense`] |
    pub(crate) fn for_write_sense(sense: &SenseData) -> Option<HResult> {
        use discrecorder_mmc::sense::SenseKey;
        match (sense.key, sense.asc, sense.ascq) {
            (SenseKey::NotReady, 0x04, 0x04) => Some(HResult::MediaFormatInProgress),
            (SenseKey::NotReady, 0x04, 0x07 | 0x08) => Some(HResult::MediaBusy),
            (SenseKey::NotReady | SenseKey::IllegalRequest | SenseKey::MediumError, 0x30, _) => {
                Some(HResult::MediaIncompatible)
            }
            (SenseKey::IllegalRequest, 0x21, _) => Some(HResult::Df2DataInvalidMediaState),
            (SenseKey::IllegalRequest, 0x26 | 0x64, _) => Some(HResult::InvalidModeParameters),
            (SenseKey::MediumError, 0x0C, 0x09) | (SenseKey::IllegalRequest, 0x2C, _) => {
                Some(HResult::LossOfStreaming)
            }
            (SenseKey::MediumError | SenseKey::HardwareError, _, _) => {
                Some(HResult::UnexpectedResponseFromDevice)
            }
            _ => HResult::for_sense(sense),
        }
    }
}

impl fmt::Display for HResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (0x{:08X})", self.name(), self.code())
    }
}

/// A failed operation: its HRESULT plus what a user needs to act on it.
///
/// `Display` gives the one-line form `NAME (0xXXXXXXXX): meaning: context`.
#[derive(Debug)]
pub struct Error {
    hresult: HResult,
    context: String,
    source: Option<io::Error>,
    sense: Option<Sense>,
    denial: Option<Denial>,
}

/// Why an `E_ACCESSDENIED` was not "in use by another client": its meaning then says so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Denial {
    /// This user may not open or command the device (or a file of ours) as needed.
    Permission,
    /// The runtime directory, or a directory or file of emulated recorders in it, is unsafe
    /// or unusable, and was refused.
    UnsafeDirectory,
}

/// The raw sense the device returned, kept with the error it caused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Sense {
    /// Sense key (4 bits).
    pub key: u8,
    /// Additional sense code.
    pub asc: u8,
    /// Additional sense code qualifier.
    pub ascq: u8,
}

impl Error {
    /// A new error with its context sentence.
    ///
    /// The context is escaped here, once for every error (control and invisible format
    /// characters, see [`crate::sanitize`]): it quotes paths, names and device answers that
    /// other users may have chosen, and is shown on terminals.
    pub fn new(hresult: HResult, context: impl Into<String>) -> Error {
        Error {
            hresult,
            context: crate::text::sanitize(&context.into()),
            source: None,
            sense: None,
            denial: None,
        }
    }

    /// `E_ACCESSDENIED` for lack of permission (not a holder): its meaning says so.
    pub(crate) fn permission_denied(context: impl Into<String>) -> Error {
        Error {
            denial: Some(Denial::Permission),
            ..Error::new(HResult::EAccessDenied, context)
        }
    }

    /// `E_ACCESSDENIED` for a runtime directory (or a file of emulated recorders in it) that is
    /// unsafe or unusable (not a holder): its meaning says so.
    pub(crate) fn unsafe_directory(context: impl Into<String>) -> Error {
        Error {
            denial: Some(Denial::UnsafeDirectory),
            ..Error::new(HResult::EAccessDenied, context)
        }
    }

    /// Whether this is an `E_ACCESSDENIED` that no holder caused: no permission, or a runtime
    /// directory that is unsafe or unusable. Waiting does not help; fixing permissions does.
    pub fn is_permission_problem(&self) -> bool {
        self.hresult == HResult::EAccessDenied
            && (self.denial.is_some()
                || matches!(
                    self.raw_os_error(),
                    Some(libc_errno::EACCES) | Some(libc_errno::EPERM)
                ))
    }

    /// The same error with `more` added to its context (escaped like the rest).
    pub(crate) fn add_context(mut self, more: &str) -> Error {
        let more = crate::text::sanitize(more);
        if self.context.is_empty() {
            self.context = more;
        } else {
            self.context = format!("{}; {more}", self.context);
        }
        self
    }

    /// Attaches the device's sense data.
    pub fn with_sense(mut self, sense: Sense) -> Error {
        self.sense = Some(sense);
        self
    }

    /// The device's sense data, for errors a SCSI command caused.
    pub fn sense(&self) -> Option<Sense> {
        self.sense
    }

    /// Attaches the system error that caused this one (its errno is shown in the context).
    pub fn with_source(mut self, source: io::Error) -> Error {
        self.source = Some(source);
        self
    }

    /// The HRESULT.
    pub fn hresult(&self) -> HResult {
        self.hresult
    }

    /// The exact 32-bit value of the HRESULT.
    pub fn code(&self) -> u32 {
        self.hresult.code()
    }

    /// The symbolic name, for example `E_ACCESSDENIED`.
    pub fn name(&self) -> &'static str {
        self.hresult.name()
    }

    /// The documented meaning of the HRESULT, or for an `E_ACCESSDENIED` no holder caused,
    /// a meaning that fits its cause (see [`Error::is_permission_problem`]).
    pub fn meaning(&self) -> &'static str {
        match self.denial {
            Some(Denial::Permission) => "access denied: this user lacks the permission needed",
            Some(Denial::UnsafeDirectory) => {
                "access denied: the runtime directory is unsafe or unusable, so it was refused"
            }
            None if self.is_permission_problem() => {
                "access denied: this user lacks the permission needed"
            }
            None => self.hresult.meaning(),
        }
    }

    /// The context: device, owner, mount points, errno.
    pub fn context(&self) -> &str {
        &self.context
    }

    /// The errno behind this error, where there is one.
    pub fn raw_os_error(&self) -> Option<i32> {
        self.source.as_ref().and_then(io::Error::raw_os_error)
    }

    /// Maps a system error met while doing `what` on `device` to its HRESULT
    /// (ENOMEM: `E_OUTOFMEMORY`; EACCES, EPERM, EBUSY: `E_ACCESSDENIED`; ENOENT, ENXIO, ENODEV:
    /// `ERROR_DEV_NOT_EXIST`; EBADF: `ERROR_INVALID_HANDLE`; ETIMEDOUT: command timeout).
    pub(crate) fn from_io(err: io::Error, device: &str, what: &str) -> Error {
        let hresult = match err.raw_os_error() {
            Some(libc_errno::ENOMEM) => HResult::EOutOfMemory,
            Some(libc_errno::EACCES) | Some(libc_errno::EPERM) => HResult::EAccessDenied,
            Some(libc_errno::EBUSY) => HResult::EAccessDenied,
            Some(libc_errno::ENOENT) | Some(libc_errno::ENXIO) | Some(libc_errno::ENODEV) => {
                HResult::DevNotExist
            }
            Some(libc_errno::EBADF) => HResult::InvalidHandle,
            Some(libc_errno::ETIMEDOUT) => HResult::RecorderCommandTimeout,
            _ => HResult::EFail,
        };
        Error::new(hresult, format!("{what} {device}: {}", errno_text(&err))).with_source(err)
    }
}

/// `strerror` text plus the symbolic errno, for example `Device or resource busy (EBUSY)`.
pub(crate) fn errno_text(err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(code) => {
            let text = rustix::io::Errno::from_raw_os_error(code);
            let name = libc_errno::name(code);
            let mut s = io::Error::from(text).to_string();
            if let Some(idx) = s.find(" (os error") {
                s.truncate(idx);
            }
            match name {
                Some(name) => format!("{s} ({name})"),
                None => format!("{s} (errno {code})"),
            }
        }
        None => err.to_string(),
    }
}

/// The few errno values the library reasons about, by name (no libc dependency).
pub(crate) mod libc_errno {
    pub const EPERM: i32 = 1;
    pub const ENOENT: i32 = 2;
    pub const ENXIO: i32 = 6;
    pub const EBADF: i32 = 9;
    pub const ENOMEM: i32 = 12;
    pub const EACCES: i32 = 13;
    pub const EBUSY: i32 = 16;
    pub const ENODEV: i32 = 19;
    pub const EINVAL: i32 = 22;
    pub const EROFS: i32 = 30;
    pub const ENOSPC: i32 = 28;
    pub const EAGAIN: i32 = 11;
    pub const ETIMEDOUT: i32 = 110;

    /// The symbolic name of an errno the library is likely to meet.
    pub fn name(code: i32) -> Option<&'static str> {
        Some(match code {
            EPERM => "EPERM",
            ENOENT => "ENOENT",
            ENXIO => "ENXIO",
            EBADF => "EBADF",
            ENOMEM => "ENOMEM",
            EACCES => "EACCES",
            EBUSY => "EBUSY",
            ENODEV => "ENODEV",
            EINVAL => "EINVAL",
            EROFS => "EROFS",
            ENOSPC => "ENOSPC",
            EAGAIN => "EAGAIN",
            ETIMEDOUT => "ETIMEDOUT",
            _ => return None,
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (0x{:08X}): {}",
            self.hresult.name(),
            self.hresult.code(),
            self.meaning()
        )?;
        if !self.context.is_empty() {
            write!(f, ": {}", self.context)?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// The library's result type.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {

    #[test]
    fn access_denied_meanings_fit_their_cause() {
        let busy = Error::new(HResult::EAccessDenied, "held");
        assert!(busy.meaning().contains("another application"));
        assert!(!busy.is_permission_problem());
        for e in [
            Error::permission_denied("no"),
            Error::unsafe_directory("no"),
            Error::from_io(
                io::Error::from_raw_os_error(libc_errno::EACCES),
                "d",
                "open",
            ),
        ] {
            assert!(e.is_permission_problem(), "{e}");
            assert_eq!(e.code(), 0x8007_0005);
            assert!(!e.meaning().contains("another application"), "{e}");
            assert!(!e.to_string().contains("another application"), "{e}");
        }
        assert!(Error::unsafe_directory("x").meaning().contains("directory"));
    }

    use super::*;
    use discrecorder_mmc::sense::SenseKey;

    #[test]
    fn hresult_values_match_spec_table_exactly() {
        let table: [(&str, u32); 9] = [
            ("E_FAIL", 0x80004005),
            ("E_ACCESSDENIED", 0x80070005),
            ("E_INVALIDARG", 0x80070057),
            ("E_OUTOFMEMORY", 0x8007000E),
            ("E_IMAPI_RECORDER_COMMAND_TIMEOUT", 0xC0AA020D),
            ("HRESULT_FROM_WIN32(ERROR_INVALID_HANDLE)", 0x80070006),
            ("HRESULT_FROM_WIN32(ERROR_DEV_NOT_EXIST)", 0x80070037),
            ("E_IMAPI_RECORDER_LOCKED", 0xC0AA0210),
            ("E_IMAPI_RECORDER_MEDIA_NO_MEDIA", 0xC0AA0202),
        ];
        for (name, code) in table {
            let h = HResult::ALL
                .into_iter()
                .find(|h| h.name() == name)
                .unwrap_or_else(|| panic!("{name} missing"));
            assert_eq!(h.code(), code, "{name}");
            assert_eq!(HResult::from_code(code), Some(h));
        }
    }

    /// The IMAPI2 codes device answers map to, by the names and values of `imapi2error.h`.
    #[test]
    fn device_answer_codes_match_imapi2error_h() {
        for (value, expected) in [
            (0xC0AA_0202, "E_IMAPI_RECORDER_MEDIA_NO_MEDIA"),
            (0xC0AA_0205, "E_IMAPI_RECORDER_MEDIA_BECOMING_READY"),
            (0xC0AA_0209, "E_IMAPI_RECORDER_MEDIA_WRITE_PROTECTED"),
            (0xC0AA_0201, "E_IMAPI_RECORDER_NO_SUCH_MODE_PAGE"),
            (0xC0AA_020A, "E_IMAPI_RECORDER_NO_SUCH_FEATURE"),
            (
                0xC0AA_020C,
                "E_IMAPI_RECORDER_GET_CONFIGURATION_NOT_SUPPORTED",
            ),
            (0xC0AA_02FF, "E_IMAPI_RECORDER_INVALID_RESPONSE_FROM_DEVICE"),
        ] {
            let h = HResult::from_code(value).unwrap_or_else(|| panic!("{expected} missing"));
            assert_eq!(h.name(), expected);
        }
    }

    #[test]
    fn every_parse_error_maps_to_invalid_response_from_device() {
        let truncated = ParseError::Truncated {
            field: "x",
            offset: 0,
            needed: 1,
            got: 0,
        };
        let inconsistent = ParseError::Inconsistent {
            field: "x",
            offset: 0,
            value: 0,
            problem: "p",
        };
        assert_eq!(HResult::from(&truncated).code(), 0xC0AA_02FF);
        assert_eq!(HResult::from(&inconsistent).code(), 0xC0AA_02FF);
    }

    /// Fixed-format NOT READY / MEDIUM NOT PRESENT - TRAY CLOSED, as drives send it.
    const NO_MEDIUM_FIXED: [u8; 18] = [
        0x70, 0, 0x02, 0, 0, 0, 0, 0x0A, 0, 0, 0, 0, 0x3A, 0x01, 0, 0, 0, 0,
    ];

    #[test]
    fn fixed_no_medium_sense_maps_to_no_media() {
        let s = SenseData::parse(&NO_MEDIUM_FIXED).expect("valid sense");
        assert_eq!(HResult::for_sense(&s).map(HResult::code), Some(0xC0AA_0202));
    }

    #[test]
    fn sense_without_a_specific_condition_maps_to_nothing() {
        let s = SenseData::new(SenseKey::MediumError, 0x11, 0x05);
        assert_eq!(s.condition(), SenseCondition::Other);
        assert_eq!(HResult::for_sense(&s), None);
    }

    #[test]
    fn sense_hresult_mapping() {
        let s = |k, a, q| SenseData::new(k, a, q);
        let code = |h: Option<HResult>| h.map(HResult::code);
        assert_eq!(
            code(HResult::for_sense(&s(SenseKey::NotReady, 0x04, 0x01))),
            Some(0xC0AA_0205)
        );
        assert_eq!(
            code(HResult::for_sense(&s(SenseKey::DataProtect, 0x27, 0))),
            Some(0xC0AA_0209)
        );
        let bad_opcode = s(SenseKey::IllegalRequest, 0x20, 0);
        assert_eq!(HResult::for_sense(&bad_opcode), None);
        assert_eq!(
            code(HResult::for_get_configuration_sense(&bad_opcode)),
            Some(0xC0AA_020C)
        );
        assert_eq!(HResult::for_mode_sense_sense(&bad_opcode), None);
        let bad_field = s(SenseKey::IllegalRequest, 0x24, 0);
        assert_eq!(
            code(HResult::for_mode_sense_sense(&bad_field)),
            Some(0xC0AA_0201)
        );
        assert_eq!(HResult::for_get_configuration_sense(&bad_field), None);
        let no_medium = s(SenseKey::NotReady, 0x3A, 0);
        assert_eq!(
            code(HResult::for_get_configuration_sense(&no_medium)),
            Some(0xC0AA_0202)
        );
        assert_eq!(
            code(HResult::for_mode_sense_sense(&no_medium)),
            Some(0xC0AA_0202)
        );
    }

    /// SPEC section 6's table, name for name and value for value (the ERASE_ codes
    /// 0x0900-0x0907 have severity 0x80, not 0xC0).
    #[test]
    fn writing_hresults_match_spec_section_6_exactly() {
        let table: [(&str, u32); 31] = [
            ("E_IMAPI_REQUEST_CANCELLED", 0xC0AA0002),
            ("E_IMAPI_BURN_VERIFICATION_FAILED", 0xC0AA0007),
            ("E_IMAPI_RECORDER_MEDIA_NO_MEDIA", 0xC0AA0202),
            ("E_IMAPI_RECORDER_MEDIA_INCOMPATIBLE", 0xC0AA0203),
            ("E_IMAPI_RECORDER_MEDIA_UPSIDE_DOWN", 0xC0AA0204),
            ("E_IMAPI_RECORDER_MEDIA_BECOMING_READY", 0xC0AA0205),
            ("E_IMAPI_RECORDER_MEDIA_FORMAT_IN_PROGRESS", 0xC0AA0206),
            ("E_IMAPI_RECORDER_MEDIA_BUSY", 0xC0AA0207),
            ("E_IMAPI_RECORDER_INVALID_MODE_PARAMETERS", 0xC0AA0208),
            ("E_IMAPI_RECORDER_MEDIA_WRITE_PROTECTED", 0xC0AA0209),
            ("E_IMAPI_RECORDER_MEDIA_SPEED_MISMATCH", 0xC0AA020F),
            ("E_IMAPI_RECORDER_MEDIA_NOT_FORMATTED", 0xC0AA0212),
            ("E_IMAPI_LOSS_OF_STREAMING", 0xC0AA0300),
            ("E_IMAPI_UNEXPECTED_RESPONSE_FROM_DEVICE", 0xC0AA0301),
            ("E_IMAPI_DF2DATA_WRITE_IN_PROGRESS", 0xC0AA0400),
            ("E_IMAPI_DF2DATA_WRITE_NOT_IN_PROGRESS", 0xC0AA0401),
            ("E_IMAPI_DF2DATA_INVALID_MEDIA_STATE", 0xC0AA0402),
            ("E_IMAPI_DF2DATA_STREAM_NOT_SUPPORTED", 0xC0AA0403),
            (
                "E_IMAPI_DF2DATA_STREAM_TOO_LARGE_FOR_CURRENT_MEDIA",
                0xC0AA0404,
            ),
            ("E_IMAPI_DF2DATA_MEDIA_NOT_BLANK", 0xC0AA0405),
            ("E_IMAPI_DF2DATA_MEDIA_IS_NOT_SUPPORTED", 0xC0AA0406),
            ("E_IMAPI_DF2DATA_RECORDER_NOT_SUPPORTED", 0xC0AA0407),
            ("E_IMAPI_DF2DATA_CLIENT_NAME_IS_NOT_VALID", 0xC0AA0408),
            ("E_IMAPI_ERASE_RECORDER_IN_USE", 0x80AA0900),
            ("E_IMAPI_ERASE_MEDIA_IS_NOT_ERASABLE", 0x80AA0904),
            ("E_IMAPI_ERASE_DRIVE_FAILED_ERASE_COMMAND", 0x80AA0905),
            ("E_IMAPI_ERASE_TOOK_LONGER_THAN_ONE_HOUR", 0x80AA0906),
            (
                "E_IMAPI_ERASE_UNEXPECTED_DRIVE_RESPONSE_DURING_ERASE",
                0x80AA0907,
            ),
            ("E_IMAPI_ERASE_MEDIA_IS_NOT_SUPPORTED", 0xC0AA0909),
            ("E_IMAPI_ERASE_RECORDER_NOT_SUPPORTED", 0xC0AA090A),
            ("E_IMAPI_ERASE_CLIENT_NAME_IS_NOT_VALID", 0xC0AA090B),
        ];
        for (name, code) in table {
            let h = HResult::ALL
                .into_iter()
                .find(|h| h.name() == name)
                .unwrap_or_else(|| panic!("{name} missing"));
            assert_eq!(h.code(), code, "{name}");
            assert_eq!(HResult::from_code(code), Some(h), "{name}");
        }
        let mut codes: Vec<u32> = HResult::ALL.iter().map(|h| h.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), HResult::ALL.len(), "every code once");
    }

    #[test]
    fn write_sense_conditions_map_to_their_imapi_codes() {
        let w = |k, a, q| HResult::for_write_sense(&SenseData::new(k, a, q)).map(HResult::code);
        assert_eq!(w(SenseKey::NotReady, 0x3A, 0x00), Some(0xC0AA_0202));
        assert_eq!(w(SenseKey::NotReady, 0x04, 0x08), Some(0xC0AA_0207));
        assert_eq!(w(SenseKey::NotReady, 0x04, 0x07), Some(0xC0AA_0207));
        assert_eq!(w(SenseKey::NotReady, 0x04, 0x04), Some(0xC0AA_0206));
        assert_eq!(w(SenseKey::NotReady, 0x30, 0x00), Some(0xC0AA_0203));
        assert_eq!(w(SenseKey::DataProtect, 0x27, 0x00), Some(0xC0AA_0209));
        assert_eq!(w(SenseKey::IllegalRequest, 0x21, 0x02), Some(0xC0AA_0402));
        assert_eq!(w(SenseKey::IllegalRequest, 0x64, 0x00), Some(0xC0AA_0208));
        assert_eq!(w(SenseKey::MediumError, 0x0C, 0x09), Some(0xC0AA_0300));
        assert_eq!(w(SenseKey::MediumError, 0x0C, 0x00), Some(0xC0AA_0301));
        assert_eq!(w(SenseKey::HardwareError, 0x08, 0x01), Some(0xC0AA_0301));
        assert_eq!(w(SenseKey::IllegalRequest, 0x24, 0x00), None);
    }

    #[test]
    fn win32_wrapped_codes_are_hresults_not_win32_numbers() {
        assert_ne!(HResult::InvalidHandle.code(), 6);
        assert_ne!(HResult::DevNotExist.code(), 55);
        assert_eq!(HResult::InvalidHandle.code() & 0xFFFF, 6);
        assert_eq!(HResult::DevNotExist.code() & 0xFFFF, 55);
    }

    #[test]
    fn display_is_name_code_meaning_context_on_one_line() {
        let e = Error::new(HResult::EAccessDenied, "/dev/sr0 is held by \"Burner\"");
        let s = e.to_string();
        assert_eq!(
            s,
            "E_ACCESSDENIED (0x80070005): the device is currently being used by another application: /dev/sr0 is held by \"Burner\""
        );
        assert!(!s.contains('\n'));
    }

    #[test]
    fn errno_mapping_follows_spec() {
        let busy = Error::from_io(io::Error::from_raw_os_error(16), "/dev/x", "opening");
        assert_eq!(busy.hresult(), HResult::EAccessDenied);
        assert!(busy.context().contains("EBUSY"), "{}", busy.context());
        let gone = Error::from_io(io::Error::from_raw_os_error(2), "/dev/x", "opening");
        assert_eq!(gone.hresult(), HResult::DevNotExist);
        let nomem = Error::from_io(io::Error::from_raw_os_error(12), "/dev/x", "opening");
        assert_eq!(nomem.hresult(), HResult::EOutOfMemory);
        assert_eq!(nomem.raw_os_error(), Some(12));
    }
}
