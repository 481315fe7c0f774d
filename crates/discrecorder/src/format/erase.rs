//! Erasing a rewritable disc: IMAPI2's `IDiscFormat2Erase`, and formatting overwritable media.
//!
//! Owns the erase job: BLANK (minimal or full) for CD-RW and DVD-RW, FORMAT UNIT for DVD+RW and
//! BD-RE (and DVD-RW to restricted overwrite when asked to format), sent with Immed and polled
//! to the end with progress, under exclusive access it takes for itself. It never prints.

use std::time::Instant;

use discrecorder_mmc::configuration::Profile;
use discrecorder_mmc::write::{blank, BlankingType};
use serde::Serialize;

use crate::claim::AcquireOptions;
use crate::client_name::ClientName;
use crate::error::{Error, HResult, Result};
use crate::format::channel::{self, Channel, LONG_OPERATION};
use crate::format::data::{format_medium, McnOff};
use crate::format::media::Media;
use crate::format::progress::{CancelToken, Progress};
use crate::record::{Job, JobAction};
use crate::recorder::Recorder;

/// How thoroughly to erase (`FullErase`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EraseKind {
    /// Minimal blank: the table of contents only (a minute or two on a real drive).
    #[default]
    Quick,
    /// Every sector (as long as writing the whole disc).
    Full,
}

type ProgressFn<'a> = Box<dyn FnMut(&Progress) + 'a>;

/// Erases or formats the medium of one recorder (`IDiscFormat2Erase`).
pub struct Eraser<'a> {
    recorder: &'a Recorder,
    client: ClientName,
    kind: EraseKind,
    progress: Option<ProgressFn<'a>>,
    cancel: CancelToken,
}

impl std::fmt::Debug for Eraser<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Eraser")
            .field("device", &self.recorder.device().spec())
            .field("client", &self.client.as_str())
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// What the eraser does to a medium of a profile.
enum Plan {
    Blank,
    Format,
}

impl<'a> Eraser<'a> {
    /// An eraser on `recorder` that takes exclusive access as `client_name`.
    ///
    /// # Errors
    /// - `E_IMAPI_ERASE_CLIENT_NAME_IS_NOT_VALID`.
    pub fn new(recorder: &'a Recorder, client_name: &str) -> Result<Eraser<'a>> {
        let client = ClientName::new(client_name)
            .map_err(|e| Error::new(HResult::EraseClientNameIsNotValid, e.context().to_owned()))?;
        Ok(Eraser {
            recorder,
            client,
            kind: EraseKind::Quick,
            progress: None,
            cancel: CancelToken::new(),
        })
    }

    /// Quick or full.
    pub fn kind(mut self, kind: EraseKind) -> Self {
        self.kind = kind;
        self
    }

    /// Calls `f` with progress reports (action `Erasing`, then `Completed`).
    pub fn on_progress(mut self, f: impl FnMut(&Progress) + 'a) -> Self {
        self.progress = Some(Box::new(f));
        self
    }

    /// Uses `token`: a cancel before the drive starts erasing stops the job (a drive cannot be
    /// stopped once erasing, as with IMAPI2).
    pub fn cancel_with(mut self, token: CancelToken) -> Self {
        self.cancel = token;
        self
    }

    /// `EraseMedia`: blanks a CD-RW or DVD-RW, formats a DVD+RW or BD-RE.
    ///
    /// # Errors
    /// - `E_IMAPI_ERASE_RECORDER_IN_USE`: another client holds the device.
    /// - `E_IMAPI_RECORDER_MEDIA_NO_MEDIA`, `E_IMAPI_RECORDER_MEDIA_WRITE_PROTECTED`.
    /// - `E_IMAPI_ERASE_MEDIA_IS_NOT_ERASABLE` (write-once media),
    ///   `E_IMAPI_ERASE_MEDIA_IS_NOT_SUPPORTED`.
    /// - `E_IMAPI_ERASE_DRIVE_FAILED_ERASE_COMMAND`, `..._UNEXPECTED_DRIVE_RESPONSE_DURING_ERASE`,
    ///   `..._TOOK_LONGER_THAN_ONE_HOUR`.
    pub fn erase(&mut self) -> Result<Media> {
        self.run(false)
    }

    /// Formats the medium for random writing: DVD+RW, BD-RE, DVD-RW (to restricted overwrite).
    ///
    /// # Errors
    /// As [`Eraser::erase`], and `E_IMAPI_RECORDER_MEDIA_NOT_FORMATTED` when the drive offers no
    /// format for the medium.
    pub fn format(&mut self) -> Result<Media> {
        self.run(true)
    }

    fn run(&mut self, format: bool) -> Result<Media> {
        let (result, started) = {
            self.recorder
                .acquire_as(self.client.as_str(), "erase", AcquireOptions::default())
                .map_err(|e| match e.hresult() {
                    HResult::RecorderLocked => {
                        Error::new(HResult::EraseRecorderInUse, e.context().to_owned())
                    }
                    _ => e,
                })?;
            let _release = Release(self.recorder);
            let _mcn = McnOff::take(self.recorder)?;
            let mut started = false;
            let result = self.run_held(format, &mut started);
            let _ = self.recorder.publish_job(None);
            (result, started)
        };
        // After the lock levels are given back, so that the kernel may be asked to look again.
        if started {
            self.recorder.announce_medium_change();
        }
        result
    }

    /// The erase under exclusive access; `erasing` is set once the drive was told to erase.
    fn run_held(&mut self, format: bool, erasing: &mut bool) -> Result<Media> {
        let spec = self.recorder.device().spec().to_owned();
        let (t, timeout) = self
            .recorder
            .command_transport(crate::scsi::Access::Change)?;
        let mut ch = Channel::new(t, timeout, &spec, !self.recorder.device().is_block());
        let supported = self.recorder.supported_profiles().unwrap_or_default();
        let media = Media::read(&mut ch, &supported)?;
        if media.write_protected {
            return Err(Error::new(
                HResult::MediaWriteProtected,
                format!("{spec}: the {} is write protected", media.profile_name),
            ));
        }
        let plan = match (media.profile, format) {
            (0x0A, false) | (0x13 | 0x14, false) => Plan::Blank,
            (0x13 | 0x14, true) | (0x1A | 0x2A | 0x43 | 0x12, _) => Plan::Format,
            (0x09 | 0x11 | 0x15 | 0x16 | 0x1B | 0x2B | 0x41 | 0x42, _) => {
                return Err(Error::new(
                    HResult::EraseMediaIsNotErasable,
                    format!(
                        "{spec}: a {} is write-once: it cannot be {}",
                        media.profile_name,
                        if format { "formatted" } else { "erased" }
                    ),
                ))
            }
            _ => {
                return Err(Error::new(
                    HResult::EraseMediaIsNotSupported,
                    format!(
                        "{spec}: the medium ({}, profile 0x{:04X}) cannot be {}",
                        media.profile_name,
                        media.profile,
                        if format { "formatted" } else { "erased" }
                    ),
                ))
            }
        };
        if self.cancel.is_cancelled() {
            return Err(channel::cancelled(&spec, "the start of the erase"));
        }
        let started = Instant::now();
        let since = crate::sys::now_unix_ms();
        let recorder = self.recorder;
        let total = u64::from(media.total_sectors.max(1));
        let report = |progress: &mut Option<ProgressFn<'a>>, done: u64| {
            let mut job = Job::new(JobAction::Erasing, total, since);
            job.percent = (done.min(65536) * 100 / 65536) as u8;
            job.lba = done.min(65536) * total / 65536;
            let _ = recorder.publish_job(Some(job));
            if let Some(f) = progress.as_mut() {
                let p = Progress {
                    action: if done >= 65536 {
                        JobAction::Completed
                    } else {
                        JobAction::Erasing
                    },
                    start_lba: 0,
                    sector_count: media.total_sectors.max(1),
                    last_written_lba: 0,
                    done: done * u64::from(media.total_sectors.max(1)) / 65536,
                    elapsed: started.elapsed(),
                    remaining: (done > 0 && done < 65536).then(|| {
                        started
                            .elapsed()
                            .mul_f64((65536 - done) as f64 / done as f64)
                    }),
                    buffer_percent: None,
                };
                f(&p);
            }
        };
        report(&mut self.progress, 0);
        let sent = match plan {
            Plan::Blank => {
                let how = match self.kind {
                    EraseKind::Quick => BlankingType::Minimal,
                    EraseKind::Full => BlankingType::Full,
                };
                ch.send(&blank(how, true), &[], "BLANK", None).map(drop)
            }
            Plan::Format => {
                let (blocks, format_type) = media
                    .format
                    .or(match Profile(media.profile).0 {
                        0x1A | 0x2A => Some((media.total_sectors, 0x26)),
                        0x43 => Some((media.total_sectors, 0x30)),
                        _ => None,
                    })
                    .ok_or_else(|| {
                        Error::new(
                            HResult::MediaNotFormatted,
                            format!(
                                "{spec}: the drive offers no format for the {}",
                                media.profile_name
                            ),
                        )
                    })?;
                format_medium(&mut ch, blocks, format_type, &self.cancel)
            }
        };
        *erasing = true;
        sent.map_err(|e| match e.hresult() {
            HResult::MediaNoMedia
            | HResult::MediaWriteProtected
            | HResult::DevNotExist
            | HResult::RecorderCommandTimeout
            | HResult::RequestCancelled => e,
            _ => Error::new(
                HResult::EraseDriveFailedEraseCommand,
                e.context().to_owned(),
            ),
        })?;
        let progress = &mut self.progress;
        ch.wait_ready(LONG_OPERATION, |p| {
            if let Some(p) = p {
                report(progress, u64::from(p));
            }
        })
        .map_err(|e| match e.hresult() {
            HResult::MediaBusy => {
                Error::new(HResult::EraseTookLongerThanOneHour, e.context().to_owned())
            }
            HResult::DevNotExist | HResult::RecorderCommandTimeout => e,
            _ => Error::new(
                HResult::EraseUnexpectedDriveResponseDuringErase,
                e.context().to_owned(),
            ),
        })?;
        report(&mut self.progress, 65536);
        Media::read(&mut ch, &supported)
    }
}

/// Gives back the level of exclusive access the eraser took.
struct Release<'r>(&'r Recorder);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        let _ = self.0.release_exclusive_access();
    }
}
