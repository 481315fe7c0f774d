//! Writing a data image to a disc: IMAPI2's `IDiscFormat2Data`.
//!
//! Owns the write job: its options, the exclusive access it takes for itself (nesting under
//! its caller's) and media change notification it stops, the command sequence each kind of
//! medium needs, progress, cancellation and verification. Reading ahead and hashing the image
//! is `format::stream`'s, the medium's state [`crate::format::media`]'s, waiting on a
//! busy drive `format::channel`'s. It never prints.
//!
//! The sequences follow what libburn (`libburn/write.c`, `mmc.c`) and growisofs
//! (`growisofs_mmc.cpp`) send:
//!
//! | medium | sequence |
//! |---|---|
//! | CD-R, CD-RW | MODE SELECT page 05h (track at once, mode 1, next session allowed unless closing), WRITE(10) at the NWA, SYNCHRONIZE CACHE, CLOSE TRACK, CLOSE SESSION |
//! | DVD-R, DVD-RW sequential | MODE SELECT page 05h (incremental, fixed packets of 16), WRITE(10) at the NWA in 32 KiB, SYNCHRONIZE CACHE, CLOSE TRACK, CLOSE SESSION |
//! | DVD+R, BD-R | WRITE(10) at the NWA in 32 KiB (BD: 64 KiB), SYNCHRONIZE CACHE, CLOSE TRACK, CLOSE SESSION (appendable) or finalize |
//! | DVD+RW, BD-RE, DVD-RW restricted overwrite | FORMAT UNIT when unformatted, WRITE(10) from sector 0, SYNCHRONIZE CACHE |
//!
//! A requested speed is SET CD SPEED on CD and SET STREAMING elsewhere. Long operations (format,
//! close) are sent with Immed and polled with TEST UNIT READY and REQUEST SENSE; a command
//! refused with "long write in progress" (2/04/08) is sent again once the drive is ready.

use std::io::Read;
use std::time::{Duration, Instant};

use discrecorder_mmc::configuration::Profile;
use discrecorder_mmc::write::{
    close_track_session, format_unit, mode_select10, read10, read_buffer_capacity, set_cd_speed,
    set_streaming, synchronize_cache, write10, BufferCapacity, CloseFunction, FormatParameters,
    MultiSession, PerformanceDescriptor, WriteParameters, WriteType, BUFFER_CAPACITY_LEN,
    MAX_SPEED,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::claim::AcquireOptions;
use crate::client_name::ClientName;
use crate::error::{Error, HResult, Result};
use crate::format::channel::{self, Channel};
use crate::format::media::{Kind, Media, MediaStatus};
use crate::format::progress::{CancelToken, JobAction, Progress};
use crate::format::stream::{self, fingerprint, Ledger, Piece, CHUNK_BYTES, SECTOR};
use crate::recorder::Recorder;

/// Whether the medium is closed after the write (`ForceMediaToBeClosed`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Closing {
    /// The session is closed and the medium left appendable (multi-session).
    #[default]
    LeaveAppendable,
    /// The medium is closed (finalized): nothing more can be added.
    CloseMedium,
}

/// What to do with a medium that already holds data (`ForceOverwrite`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Overwrite {
    /// Sequential media get a new session; overwritable media are written from sector 0.
    #[default]
    Allow,
    /// Only a blank medium is written (`E_IMAPI_DF2DATA_MEDIA_NOT_BLANK` otherwise).
    BlankOnly,
}

/// The write speed asked of the drive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Speed {
    /// The drive's choice (its fastest for the medium).
    #[default]
    Fastest,
    /// At most this many kB/s (1000 bytes per second; 1x is 150 on CD, 1385 on DVD, 4495 on BD).
    KilobytesPerSecond(u32),
}

/// How the written data is checked (IMAPI2's `IMAPI_BURN_VERIFICATION_LEVEL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Verification {
    /// Only the medium's layout: the new session is where it was written and as long.
    None,
    /// The layout, plus the first, the last and evenly spaced chunks read back and compared.
    #[default]
    Quick,
    /// Every written sector read back and compared.
    Full,
}

/// Options of a write (builder; every field has a default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct WriteOptions {
    /// Close the medium, or leave it appendable.
    pub closing: Closing,
    /// Write over a medium that holds data, or refuse.
    pub overwrite: Overwrite,
    /// The write speed.
    pub speed: Speed,
    /// How the result is checked.
    pub verification: Verification,
}

impl WriteOptions {
    /// Defaults: leave appendable, allow overwriting, fastest, quick verification.
    pub fn new() -> WriteOptions {
        WriteOptions::default()
    }
    /// Sets [`WriteOptions::closing`].
    pub fn closing(mut self, c: Closing) -> Self {
        self.closing = c;
        self
    }
    /// Sets [`WriteOptions::overwrite`].
    pub fn overwrite(mut self, o: Overwrite) -> Self {
        self.overwrite = o;
        self
    }
    /// Sets [`WriteOptions::speed`].
    pub fn speed(mut self, s: Speed) -> Self {
        self.speed = s;
        self
    }
    /// Sets [`WriteOptions::verification`].
    pub fn verification(mut self, v: Verification) -> Self {
        self.verification = v;
        self
    }
}

/// What a successful write did.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct WriteReport {
    /// The first sector written.
    pub start_lba: u32,
    /// Sectors written.
    pub sectors: u32,
    /// SHA-256 of the image, lowercase hex.
    pub sha256: String,
    /// How the medium was checked.
    pub verification: Verification,
    /// Sectors read back and compared.
    pub verified_sectors: u64,
    /// The medium afterwards.
    pub media: Media,
    /// How long the whole job took, in seconds.
    pub elapsed_s: f64,
}

type ProgressFn<'a> = Box<dyn FnMut(&Progress) + 'a>;

/// Writes data images to the medium of one recorder (`IDiscFormat2Data`).
///
/// ```no_run
/// use discrecorder::format::{DataWriter, Verification, WriteOptions};
/// use discrecorder::Recorder;
/// let rec = Recorder::open("/dev/sr0")?;
/// let image = std::fs::File::open("backup.iso").map_err(|e| {
///     discrecorder::Error::new(discrecorder::HResult::EInvalidArg, e.to_string())
/// })?;
/// let size = image.metadata().map(|m| m.len()).unwrap_or(0);
/// let mut writer = DataWriter::new(&rec, "Nightly Backup")?
///     .options(WriteOptions::new().verification(Verification::Full))
///     .on_progress(|p| eprintln!("{} {} %", p.action.describe(), p.percent()));
/// let report = writer.write(image, size)?;
/// # Ok::<(), discrecorder::Error>(())
/// ```
pub struct DataWriter<'a> {
    recorder: &'a Recorder,
    client: ClientName,
    options: WriteOptions,
    progress: Option<ProgressFn<'a>>,
    cancel: CancelToken,
}

impl std::fmt::Debug for DataWriter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataWriter")
            .field("device", &self.recorder.device().spec())
            .field("client", &self.client.as_str())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<'a> DataWriter<'a> {
    /// A writer on `recorder` that takes exclusive access as `client_name` (`ClientName`).
    ///
    /// # Errors
    /// - `E_IMAPI_DF2DATA_CLIENT_NAME_IS_NOT_VALID`: the name is not a valid client name.
    pub fn new(recorder: &'a Recorder, client_name: &str) -> Result<DataWriter<'a>> {
        let client = ClientName::new(client_name).map_err(|e| {
            Error::new(HResult::Df2DataClientNameIsNotValid, e.context().to_owned())
        })?;
        Ok(DataWriter {
            recorder,
            client,
            options: WriteOptions::default(),
            progress: None,
            cancel: CancelToken::new(),
        })
    }

    /// Sets the options.
    pub fn options(mut self, options: WriteOptions) -> Self {
        self.options = options;
        self
    }

    /// Calls `f` with each progress report (on the writing thread; keep it short).
    pub fn on_progress(mut self, f: impl FnMut(&Progress) + 'a) -> Self {
        self.progress = Some(Box::new(f));
        self
    }

    /// Uses `token` to cancel (instead of the writer's own).
    pub fn cancel_with(mut self, token: CancelToken) -> Self {
        self.cancel = token;
        self
    }

    /// A token that cancels this writer's write from any thread.
    pub fn cancel_token(&self) -> CancelToken {
        self.cancel.clone()
    }

    /// The medium now (see [`Media::query`]).
    ///
    /// # Errors
    /// As [`Media::query`].
    pub fn media(&self) -> Result<Media> {
        Media::query(self.recorder)
    }

    /// Reads `sectors` sectors from `start_lba` back from the medium into `out` (READ(10), 64 KiB
    /// at a time). Takes no lock: reading works while another client holds the drive.
    ///
    /// # Errors
    /// The drive's errors (an unwritten sector of a sequential medium is
    /// `E_IMAPI_DF2DATA_INVALID_MEDIA_STATE`, ILLEGAL REQUEST 21/00); `E_FAIL` when `out`
    /// fails.
    pub fn read_back(
        &self,
        start_lba: u32,
        sectors: u32,
        mut out: impl std::io::Write,
    ) -> Result<()> {
        let spec = self.recorder.device().spec().to_owned();
        let (t, timeout) = self.recorder.command_transport(crate::scsi::Access::Read)?;
        let mut ch = Channel::new(t, timeout, &spec, !self.recorder.device().is_block());
        let end = start_lba.saturating_add(sectors);
        let mut lba = start_lba;
        while lba < end {
            let k = 32u32.min(end - lba) as u16;
            let data = ch
                .send(&read10(lba, k, SECTOR as u16), &[], "READ(10)", None)
                .map_err(|e| e.add_context(&format!("reading LBA {lba}")))?;
            out.write_all(&data).map_err(|e| {
                Error::new(
                    HResult::EFail,
                    format!("{spec}: cannot store the sectors read: {e}"),
                )
                .with_source(e)
            })?;
            lba += u32::from(k);
        }
        Ok(())
    }

    /// `Write(stream)`: writes `size` bytes from `source` (a multiple of 2048) as a new session
    /// on sequential media, from sector 0 on overwritable media, then verifies.
    ///
    /// Takes exclusive access as this writer's client name (one more level if this recorder
    /// holds it already) and stops media change notification while it runs; both are given
    /// back on every path out, panics included. Memory stays bounded: the image is read ahead
    /// in a few 1 MiB chunks on a reader thread that hashes them.
    ///
    /// # Errors
    /// - `E_INVALIDARG`: `size` is 0 or not a multiple of 2048, or the source ends early.
    /// - `E_IMAPI_RECORDER_LOCKED`: another client holds the device.
    /// - `E_IMAPI_RECORDER_MEDIA_NO_MEDIA`, `E_IMAPI_RECORDER_MEDIA_WRITE_PROTECTED`,
    ///   `E_IMAPI_DF2DATA_MEDIA_IS_NOT_SUPPORTED`, `E_IMAPI_DF2DATA_RECORDER_NOT_SUPPORTED`,
    ///   `E_IMAPI_DF2DATA_INVALID_MEDIA_STATE` (closed or damaged), `E_IMAPI_DF2DATA_MEDIA_NOT_BLANK`,
    ///   `E_IMAPI_DF2DATA_STREAM_TOO_LARGE_FOR_CURRENT_MEDIA`: refused before a sector is written.
    /// - `E_IMAPI_REQUEST_CANCELLED`: cancelled; the context says what the medium holds now.
    /// - `E_IMAPI_BURN_VERIFICATION_FAILED`: the medium does not read back as written (the
    ///   first bad LBA in the context).
    /// - The drive's errors (sense mapped as [`crate::HResult`] documents), with the LBA.
    pub fn write(&mut self, source: impl Read + Send + 'static, size: u64) -> Result<WriteReport> {
        let spec = self.recorder.device().spec().to_owned();
        if size == 0 || !size.is_multiple_of(SECTOR as u64) {
            return Err(Error::new(
                HResult::EInvalidArg,
                format!("{spec}: the image is {size} bytes, not a positive multiple of 2048"),
            ));
        }
        let sectors = u32::try_from(size / SECTOR as u64).map_err(|_| {
            Error::new(
                HResult::Df2DataStreamTooLargeForCurrentMedia,
                format!("{spec}: the image ({size} bytes) is larger than any medium"),
            )
        })?;
        let (result, wrote_any) = {
            let _access = LockLevel::take(self.recorder, self.client.as_str())?;
            let _mcn = McnOff::take(self.recorder)?;
            let written = self.write_held(source, sectors);
            if written.1 && written.0.is_ok() {
                self.recorder.reload_for_kernel();
            }
            written
        };
        // After the lock levels are given back, so that the kernel may be asked to look again.
        if wrote_any {
            self.recorder.announce_medium_change();
        }
        result
    }

    /// The write, under exclusive access; also says whether any sector may have changed.
    fn write_held(
        &mut self,
        source: impl Read + Send + 'static,
        sectors: u32,
    ) -> (Result<WriteReport>, bool) {
        let spec = self.recorder.device().spec().to_owned();
        let (t, timeout) = match self.recorder.command_transport(crate::scsi::Access::Change) {
            Ok(v) => v,
            Err(e) => return (Err(e), false),
        };
        let emulated = !self.recorder.device().is_block();
        let mut ch = Channel::new(t, timeout, &spec, emulated);
        let supported = self.recorder.supported_profiles().unwrap_or_default();
        burn(
            &mut ch,
            Publisher::new(Some(self.recorder)),
            self.options,
            self.progress.as_mut(),
            &self.cancel,
            source,
            sectors,
            &supported,
        )
    }
}

/// The write job over `ch` (exclusive access is the caller's); also says whether any sector
/// may have changed. A cancelled or failed write whose drive still answers has what the medium
/// holds now added to its error's context.
// Each argument is one of the job's inputs, as the unit tests and the bench pass them without
// a recorder; a struct of them would only be unpacked again here.
#[allow(clippy::too_many_arguments)]
fn burn(
    ch: &mut Channel,
    publisher: Publisher<'_>,
    options: WriteOptions,
    progress: Option<&mut ProgressFn<'_>>,
    cancel: &CancelToken,
    source: impl Read + Send + 'static,
    sectors: u32,
    supported: &[Profile],
) -> (Result<WriteReport>, bool) {
    let mut job = Job {
        ch,
        publisher,
        started: Instant::now(),
        progress,
        cancel,
        options,
        start_lba: 0,
        sectors,
        wrote_any: false,
        last_buffer_sample: None,
        buffer_percent: None,
    };
    let result = job.run(source, supported);
    let wrote_any = job.wrote_any;
    job.publisher.publish(None);
    let result = match result {
        Err(e) if e.hresult() == HResult::RequestCancelled || (wrote_any && !fatal(&e)) => {
            if wrote_any && e.hresult() == HResult::RequestCancelled {
                // What the drive holds in its cache goes to the medium, as after any write.
                let _ = ch.once(&synchronize_cache(false), &[], "SYNCHRONIZE CACHE");
            }
            // Say honestly what the medium holds now.
            match Media::read(ch, supported) {
                Ok(m) => Err(e.add_context(&format!(
                    "the medium is now: {} (status 0x{:04X}: {}), next writable address {}",
                    m.profile_name,
                    m.status.0,
                    m.status.names().join(", "),
                    m.next_writable_address
                        .map_or("none".to_owned(), |a| a.to_string())
                ))),
                Err(_) => Err(e.add_context("the medium's state could not be read afterwards")),
            }
        }
        other => other,
    };
    (result, wrote_any)
}

/// Whether the drive is beyond asking anything (gone or hung): no state can be read back.
fn fatal(e: &Error) -> bool {
    crate::format::media::unreachable(e)
}

/// The owner record's job for a progress report (`None`: the job is over).
pub(crate) fn job_of(p: &Progress, since: u64) -> crate::record::Job {
    let mut job = crate::record::Job::new(p.action, u64::from(p.sector_count), since);
    job.percent = p.percent();
    job.lba = u64::from(p.last_written_lba);
    job.eta_s = p.remaining.map(|d| d.as_secs());
    job
}

/// Publishes a write job to other processes through the recorder's owner record: every
/// change of action, and progress at most four times a second.
pub(crate) struct Publisher<'r> {
    recorder: Option<&'r Recorder>,
    since: u64,
    last: Option<(Instant, JobAction)>,
}

impl<'r> Publisher<'r> {
    pub(crate) fn new(recorder: Option<&'r Recorder>) -> Publisher<'r> {
        Publisher {
            recorder,
            since: crate::sys::now_unix_ms(),
            last: None,
        }
    }

    /// Publishes `p` (or the end of the job, `None`). Best effort: a record that cannot be
    /// rewritten does not stop the burn.
    pub(crate) fn publish(&mut self, p: Option<&Progress>) {
        let Some(rec) = self.recorder else {
            return;
        };
        match p {
            None => {
                let _ = rec.publish_job(None);
            }
            Some(p) => {
                let due = match self.last {
                    Some((at, action)) => {
                        action != p.action || at.elapsed() >= Duration::from_millis(250)
                    }
                    None => true,
                };
                if due {
                    self.last = Some((Instant::now(), p.action));
                    let _ = rec.publish_job(Some(job_of(p, self.since)));
                }
            }
        }
    }
}

/// One level of exclusive access taken for the write, given back when dropped.
struct LockLevel<'r>(&'r Recorder);

impl<'r> LockLevel<'r> {
    fn take(recorder: &'r Recorder, client: &str) -> Result<LockLevel<'r>> {
        recorder.acquire_as(client, "write to", AcquireOptions::default())?;
        Ok(LockLevel(recorder))
    }
}

impl Drop for LockLevel<'_> {
    fn drop(&mut self) {
        let _ = self.0.release_exclusive_access();
    }
}

/// Media change notification disabled for the write, enabled again when dropped.
pub(crate) struct McnOff<'r>(&'r Recorder);

impl<'r> McnOff<'r> {
    pub(crate) fn take(recorder: &'r Recorder) -> Result<McnOff<'r>> {
        recorder.disable_mcn()?;
        Ok(McnOff(recorder))
    }
}

impl Drop for McnOff<'_> {
    fn drop(&mut self) {
        let _ = self.0.enable_mcn();
    }
}

/// One write in progress.
struct Job<'j, 'a> {
    ch: &'j mut Channel,
    publisher: Publisher<'j>,
    started: Instant,
    progress: Option<&'j mut ProgressFn<'a>>,
    cancel: &'j CancelToken,
    options: WriteOptions,
    start_lba: u32,
    sectors: u32,
    /// Whether a WRITE (or FORMAT) reached the drive: the medium may have changed.
    wrote_any: bool,
    last_buffer_sample: Option<Instant>,
    buffer_percent: Option<u8>,
}

impl Job<'_, '_> {
    fn spec(&self) -> String {
        self.ch.device().to_owned()
    }

    fn report(
        &mut self,
        action: JobAction,
        done: u64,
        last_lba: u32,
        total: u64,
        action_start: Instant,
    ) {
        let elapsed = self.started.elapsed();
        let remaining = if done > 0 && total > done {
            let spent = action_start.elapsed().as_secs_f64();
            Some(Duration::from_secs_f64(
                spent / done as f64 * (total - done) as f64,
            ))
        } else if total > 0 && done >= total {
            Some(Duration::ZERO)
        } else {
            None
        };
        let p = Progress {
            action,
            start_lba: self.start_lba,
            sector_count: self.sectors,
            last_written_lba: last_lba,
            done: (done * u64::from(self.sectors))
                .checked_div(total)
                .unwrap_or(0),
            elapsed,
            remaining,
            buffer_percent: self.buffer_percent,
        };
        self.publisher.publish(Some(&p));
        if let Some(f) = self.progress.as_mut() {
            f(&p);
        }
    }

    fn step(&mut self, action: JobAction) {
        let now = Instant::now();
        let last = self.start_lba.wrapping_sub(1);
        self.report(action, 0, last, 0, now);
    }

    fn check_cancel(&self, at: &str) -> Result<()> {
        if self.cancel.is_cancelled() {
            Err(channel::cancelled(self.ch.device(), at))
        } else {
            Ok(())
        }
    }

    fn run(
        &mut self,
        source: impl Read + Send + 'static,
        supported: &[Profile],
    ) -> Result<WriteReport> {
        let spec = self.spec();
        self.step(JobAction::ValidatingMedia);
        let media = Media::read(self.ch, supported)?;
        let kind = self.validate(&media, supported)?;
        self.check_cancel("validating the medium")?;
        if kind == Kind::Overwrite && media.needs_format {
            self.format(&media)?;
        }
        self.start_lba = media.next_writable_address.unwrap_or(0);
        self.step(JobAction::InitializingHardware);
        self.set_up(kind, &media)?;
        self.check_cancel("setting the drive up")?;

        // Start reading only now: a refusal above reads nothing from the source.
        let stream = stream::start(source, u64::from(self.sectors) * SECTOR as u64)?;
        let unit = kind.unit_blocks(Profile(media.profile));
        let mut ledger = Ledger::default();
        self.write_all(&stream, unit, &mut ledger)?;
        drop(stream);

        self.step(JobAction::Finalization);
        self.finish(kind, &media)?;

        let after = Media::read(self.ch, supported)?;
        let verified = self.verify(kind, &after, &ledger)?;
        let sha = ledger.image_sha256.unwrap_or_default();
        let now = Instant::now();
        let last = self.start_lba + self.sectors - 1;
        self.report(JobAction::Completed, 1, last, 1, now);
        let _ = spec;
        Ok(WriteReport {
            start_lba: self.start_lba,
            sectors: self.sectors,
            sha256: hex(&sha),
            verification: self.options.verification,
            verified_sectors: verified,
            media: after,
            elapsed_s: self.started.elapsed().as_secs_f64(),
        })
    }

    /// Refusals before a sector is written.
    fn validate(&self, media: &Media, supported: &[Profile]) -> Result<Kind> {
        let spec = self.spec();
        let fail = |h, what: String| Err(Error::new(h, format!("{spec}: {what}")));
        if !media.recorder_supported && !supported.is_empty() {
            return fail(
                HResult::Df2DataRecorderNotSupported,
                "the drive cannot write CD, DVD or BD media".to_owned(),
            );
        }
        let Some(kind) = media.kind() else {
            return fail(
                HResult::Df2DataMediaIsNotSupported,
                format!(
                    "the medium ({}, profile 0x{:04X}) cannot be written",
                    media.profile_name, media.profile
                ),
            );
        };
        if media.write_protected {
            return fail(
                HResult::MediaWriteProtected,
                format!("the {} is write protected", media.profile_name),
            );
        }
        let s = media.status;
        let blank = s.has(MediaStatus::BLANK);
        if kind != Kind::Overwrite {
            if s.has(MediaStatus::FINALIZED) {
                let h = if media.erasable {
                    HResult::Df2DataMediaNotBlank
                } else {
                    HResult::Df2DataInvalidMediaState
                };
                return fail(
                    h,
                    format!(
                        "the {} is closed (finalized): nothing more can be written to it{}",
                        media.profile_name,
                        if media.erasable {
                            "; blank it first"
                        } else {
                            ""
                        }
                    ),
                );
            }
            if s.has(MediaStatus::DAMAGED) || media.next_writable_address.is_none() {
                return fail(
                    HResult::Df2DataInvalidMediaState,
                    format!(
                        "the {}'s last session is damaged or open (status: {}): it cannot be appended to",
                        media.profile_name,
                        s.names().join(", ")
                    ),
                );
            }
        }
        if !blank && self.options.overwrite == Overwrite::BlankOnly {
            return fail(
                HResult::Df2DataMediaNotBlank,
                format!(
                    "the {} is not blank (status: {}) and overwriting was not allowed",
                    media.profile_name,
                    s.names().join(", ")
                ),
            );
        }
        if self.sectors > media.free_sectors {
            return fail(
                HResult::Df2DataStreamTooLargeForCurrentMedia,
                format!(
                    "the image needs {} sectors, the {} has {} free",
                    self.sectors, media.profile_name, media.free_sectors
                ),
            );
        }
        Ok(kind)
    }

    /// FORMAT UNIT for an unformatted DVD+RW or BD-RE, polled to the end.
    fn format(&mut self, media: &Media) -> Result<()> {
        let spec = self.spec();
        let Some((blocks, format_type)) = media.format else {
            return Err(Error::new(
                HResult::MediaNotFormatted,
                format!(
                    "{spec}: the {} is not formatted and the drive offers no format for it",
                    media.profile_name
                ),
            ));
        };
        self.step(JobAction::FormattingMedia);
        format_medium(self.ch, blocks, format_type, self.cancel)?;
        self.wrote_any = true;
        let limit = self.ch.busy_limit;
        let (start_lba, sectors, job_started) = (self.start_lba, self.sectors, self.started);
        let format_started = Instant::now();
        let progress = &mut self.progress;
        let publisher = &mut self.publisher;
        // The drive's progress indication (65536ths) scaled to the write's sectors.
        self.ch.wait_ready(limit, |p| {
            let Some(p) = p else {
                return;
            };
            let p = u64::from(p);
            let spent = format_started.elapsed();
            let report = Progress {
                action: JobAction::FormattingMedia,
                start_lba,
                sector_count: sectors,
                last_written_lba: start_lba.wrapping_sub(1),
                done: p * u64::from(sectors) / 65536,
                elapsed: job_started.elapsed(),
                remaining: (p > 0).then(|| spent.mul_f64((65536 - p.min(65536)) as f64 / p as f64)),
                buffer_percent: None,
            };
            publisher.publish(Some(&report));
            if let Some(f) = progress.as_mut() {
                f(&report);
            }
        })?;
        let total = u64::from(self.sectors);
        self.report(
            JobAction::FormattingMedia,
            total,
            start_lba.wrapping_sub(1),
            total,
            format_started,
        );
        Ok(())
    }

    /// Write parameters and speed.
    fn set_up(&mut self, kind: Kind, media: &Media) -> Result<()> {
        let close = self.options.closing == Closing::CloseMedium;
        let multi = if close {
            MultiSession::NoNextSession
        } else {
            MultiSession::NextSessionAllowed
        };
        let page = match kind {
            Kind::Cd => Some(WriteParameters {
                write_type: WriteType::TrackAtOnce,
                multi_session: multi,
                track_mode: 4,
                data_block_type: 8,
                session_format: 0,
                ..WriteParameters::default()
            }),
            Kind::DvdDash => Some(WriteParameters {
                write_type: WriteType::Packet,
                multi_session: multi,
                fixed_packet: true,
                packet_size: 16,
                track_mode: 5,
                data_block_type: 8,
                audio_pause_length: 0,
                ..WriteParameters::default()
            }),
            _ => None,
        };
        if let Some(page) = page {
            let spec = self.spec();
            let payload = page.encode_mode_select10().map_err(|e| {
                Error::new(
                    HResult::InvalidModeParameters,
                    format!("{spec}: cannot encode the write parameters: {e}"),
                )
            })?;
            let cmd = mode_select10(payload.len() as u16, true, false);
            self.ch
                .send(
                    &cmd,
                    &payload,
                    "MODE SELECT(10) page 05h",
                    Some(self.cancel),
                )
                .map_err(|e| match e.hresult() {
                    HResult::EFail => {
                        Error::new(HResult::InvalidModeParameters, e.context().to_owned())
                    }
                    _ => e,
                })?;
        }
        if let Speed::KilobytesPerSecond(kbps) = self.options.speed {
            // Drives clamp or ignore speeds they do not have; like libburn, a refusal here is
            // not a reason to stop.
            let _ = match kind {
                Kind::Cd => self
                    .ch
                    .once(
                        &set_cd_speed(MAX_SPEED, kbps.min(u32::from(MAX_SPEED - 1)) as u16, 0),
                        &[],
                        "SET CD SPEED",
                    )
                    .map(drop),
                _ => PerformanceDescriptor {
                    rotation_control: 0,
                    restore_defaults: false,
                    exact: false,
                    random_access: false,
                    start_lba: 0,
                    end_lba: media.total_sectors.saturating_sub(1),
                    read_size: kbps,
                    read_time: 1000,
                    write_size: kbps,
                    write_time: 1000,
                }
                .encode()
                .ok()
                .map_or(Ok(()), |d| {
                    self.ch
                        .once(&set_streaming(), &d, "SET STREAMING")
                        .map(drop)
                }),
            };
        }
        Ok(())
    }

    /// WRITE(10) of every chunk, in units of `unit` sectors, from the start LBA.
    fn write_all(&mut self, stream: &stream::Stream, unit: u32, ledger: &mut Ledger) -> Result<()> {
        let started = Instant::now();
        let mut lba = self.start_lba;
        let mut last_report = Instant::now();
        let total = u64::from(self.sectors);
        self.report(
            JobAction::WritingData,
            0,
            lba.wrapping_sub(1),
            total,
            started,
        );
        loop {
            self.check_cancel("writing")?;
            let piece = stream.pieces.recv().map_err(|_| {
                Error::new(
                    HResult::EFail,
                    format!("{}: the image reader stopped unexpectedly", self.spec()),
                )
            })?;
            let chunk = match piece {
                Piece::Chunk(c) => c,
                Piece::End(sha) => {
                    ledger.image_sha256 = Some(sha);
                    break;
                }
                Piece::Failed(e) => return Err(e),
            };
            for part in chunk.data.chunks(unit as usize * SECTOR) {
                let blocks = (part.len() / SECTOR) as u16;
                let cmd = write10(lba, blocks, SECTOR as u16);
                self.wrote_any = true;
                self.ch
                    .send(&cmd, part, "WRITE(10)", Some(self.cancel))
                    .map_err(|e| {
                        e.add_context(&format!(
                            "writing LBA {lba} to {} ({} of {} sectors written)",
                            lba + u32::from(blocks) - 1,
                            lba - self.start_lba,
                            self.sectors
                        ))
                    })?;
                lba += u32::from(blocks);
            }
            ledger.chunk_checks.push(chunk.check);
            ledger.sector_tags.extend_from_slice(&chunk.tags);
            let _ = stream.spent.try_send(chunk.data);
            if last_report.elapsed() >= Duration::from_millis(100)
                || lba == self.start_lba + self.sectors
            {
                self.sample_buffer();
                last_report = Instant::now();
                let done = u64::from(lba - self.start_lba);
                self.report(JobAction::WritingData, done, lba - 1, total, started);
            }
        }
        if lba != self.start_lba + self.sectors {
            return Err(Error::new(
                HResult::EFail,
                format!(
                    "{}: the image gave {} sectors, {} were expected",
                    self.spec(),
                    lba - self.start_lba,
                    self.sectors
                ),
            ));
        }
        Ok(())
    }

    /// READ BUFFER CAPACITY, at most once a second.
    fn sample_buffer(&mut self) {
        if self
            .last_buffer_sample
            .is_some_and(|t| t.elapsed() < Duration::from_secs(1))
        {
            return;
        }
        self.last_buffer_sample = Some(Instant::now());
        self.buffer_percent = self
            .ch
            .once(
                &read_buffer_capacity(BUFFER_CAPACITY_LEN as u16),
                &[],
                "READ BUFFER CAPACITY",
            )
            .ok()
            .and_then(|raw| BufferCapacity::parse(&raw).ok())
            .filter(|b| b.length > 0)
            .map(|b| (u64::from(b.length - b.blank_length) * 100 / u64::from(b.length)) as u8);
    }

    /// SYNCHRONIZE CACHE, then close the track and the session (or finalize).
    fn finish(&mut self, kind: Kind, media: &Media) -> Result<()> {
        self.ch
            .send(&synchronize_cache(false), &[], "SYNCHRONIZE CACHE", None)
            .map_err(|e| {
                e.add_context(&format!(
                    "flushing LBA {} to {}",
                    self.start_lba,
                    self.start_lba + self.sectors - 1
                ))
            })?;
        let close = self.options.closing == Closing::CloseMedium;
        let session = match (kind, close) {
            (Kind::Overwrite, _) => return Ok(()),
            (Kind::DvdPlusR | Kind::BdR, true) => CloseFunction::Finalize,
            _ => CloseFunction::Session,
        };
        let limit = self.ch.busy_limit;
        for (function, what) in [
            (CloseFunction::Track, "CLOSE TRACK"),
            (session, "CLOSE SESSION"),
        ] {
            self.ch.send(
                &close_track_session(function, media.track, true),
                &[],
                what,
                None,
            )?;
            self.ch.wait_ready(limit, |_| {})?;
        }
        Ok(())
    }

    /// Checks the medium against what was written: the layout always, sectors as asked.
    fn verify(&mut self, kind: Kind, after: &Media, ledger: &Ledger) -> Result<u64> {
        let spec = self.spec();
        let start = self.start_lba;
        let end = start + self.sectors; // one past the last
        let short = |what: String| {
            Err(Error::new(
                HResult::BurnVerificationFailed,
                format!("{spec}: {what}"),
            ))
        };
        if kind != Kind::Overwrite {
            match after.previous_session {
                Some(s) if s.start_lba == start && s.last_written_lba + 1 >= end => {}
                Some(s) => {
                    return short(format!(
                    "the new session reads back as LBA {} to {}, but LBA {start} to {} was written",
                    s.start_lba,
                    s.last_written_lba,
                    end - 1
                ))
                }
                None => {
                    return short(format!(
                    "the medium reads back blank (status: {}) after LBA {start} to {} was written",
                    after.status.names().join(", "),
                    end - 1
                ))
                }
            }
        }
        let chunk_sectors = (CHUNK_BYTES / SECTOR) as u32;
        let chunks = ledger.chunk_checks.len();
        let picks: Vec<usize> = match self.options.verification {
            Verification::None => return Ok(0),
            Verification::Full => (0..chunks).collect(),
            Verification::Quick => {
                let mut v: Vec<usize> = (0..8).map(|i| i * chunks / 8).collect();
                v.push(chunks.saturating_sub(1));
                v.sort_unstable();
                v.dedup();
                v.retain(|&i| i < chunks);
                v
            }
        };
        let started = Instant::now();
        let total: u64 = picks
            .iter()
            .map(|&i| u64::from(chunk_len(i, self.sectors, chunk_sectors)))
            .sum();
        let mut image = Sha256::new();
        let mut done = 0u64;
        let mut last_report = Instant::now();
        self.report(
            JobAction::Verifying,
            0,
            start.wrapping_sub(1),
            total,
            started,
        );
        for &i in &picks {
            self.check_cancel("verifying")?;
            let first = start + i as u32 * chunk_sectors;
            let n = chunk_len(i, self.sectors, chunk_sectors);
            let mut data = Vec::with_capacity(n as usize * SECTOR);
            let unit = 32u32;
            let mut lba = first;
            while lba < first + n {
                let k = unit.min(first + n - lba) as u16;
                let got = self
                    .ch
                    .send(
                        &read10(lba, k, SECTOR as u16),
                        &[],
                        "READ(10)",
                        Some(self.cancel),
                    )
                    .map_err(|e| {
                        if channel::is_busy(&e) || fatal(&e) {
                            return e;
                        }
                        Error::new(
                            HResult::BurnVerificationFailed,
                            format!(
                                "{spec}: LBA {lba} cannot be read back ({}): first bad LBA {lba}",
                                e.context()
                            ),
                        )
                    })?;
                if got.len() != usize::from(k) * SECTOR {
                    return short(format!(
                        "LBA {lba} reads back short ({} of {} bytes): first bad LBA {lba}",
                        got.len(),
                        usize::from(k) * SECTOR
                    ));
                }
                data.extend_from_slice(&got);
                lba += u32::from(k);
            }
            let (check, tags) = fingerprint(&data);
            if check != ledger.chunk_checks[i] {
                let base = i * chunk_sectors as usize;
                let bad = tags
                    .iter()
                    .zip(&ledger.sector_tags[base..])
                    .position(|(a, b)| a != b)
                    .unwrap_or(0) as u32;
                return short(format!(
                    "the data read back differs from the data written: first bad LBA {}",
                    first + bad
                ));
            }
            if self.options.verification == Verification::Full {
                image.update(&data);
            }
            done += u64::from(n);
            if last_report.elapsed() >= Duration::from_millis(100) {
                last_report = Instant::now();
                self.report(JobAction::Verifying, done, first + n - 1, total, started);
            }
        }
        if self.options.verification == Verification::Full {
            let read: [u8; 32] = image.finalize().into();
            if Some(read) != ledger.image_sha256 {
                return short("the image read back has a different SHA-256".to_owned());
            }
        }
        self.report(JobAction::Verifying, total, end - 1, total, started);
        Ok(done)
    }
}

/// The write bench's two sides on the in-memory emulated recorder (feature `testing`).
#[cfg(feature = "testing")]
#[doc(hidden)]
pub mod bench {
    use super::*;
    use crate::format::testdrive::TestDrive;

    /// A source of `size` bytes of a repeating pattern, cheap to produce.
    struct Pattern {
        left: u64,
        block: Vec<u8>,
        at: usize,
    }

    impl Read for Pattern {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf
                .len()
                .min(self.block.len() - self.at)
                .min(usize::try_from(self.left).unwrap_or(usize::MAX));
            buf[..n].copy_from_slice(&self.block[self.at..self.at + n]);
            self.at = (self.at + n) % self.block.len();
            self.left -= n as u64;
            Ok(n)
        }
    }

    fn pattern(size: u64) -> Pattern {
        Pattern {
            left: size,
            block: (0..CHUNK_BYTES + 7)
                .map(|i| (i * 131 % 251) as u8)
                .collect(),
            at: 0,
        }
    }

    /// `DataWriter`'s job writing `size` bytes to a blank medium of `profile` whose sectors are
    /// dropped (verification: layout only). Returns the wall time.
    pub fn write(profile: u16, size: u64) -> Result<Duration> {
        let d = TestDrive::dropping(profile, 0);
        let mut ch = d.channel(Duration::from_secs(10));
        let sectors = u32::try_from(size / SECTOR as u64).unwrap_or(u32::MAX);
        let opts = WriteOptions::new().verification(Verification::None);
        let t = Instant::now();
        let (r, _) = burn(
            &mut ch,
            Publisher::new(None),
            opts,
            None,
            &CancelToken::new(),
            pattern(size),
            sectors,
            &[Profile(profile)],
        );
        r.map(|_| t.elapsed())
    }

    /// `DataWriter::write` of `size` bytes to the blank medium of `recorder` (verification:
    /// layout only). Returns the wall time.
    pub fn write_device(recorder: &Recorder, size: u64) -> Result<Duration> {
        let t = Instant::now();
        DataWriter::new(recorder, "Write Bench")?
            .options(WriteOptions::new().verification(Verification::None))
            .write(pattern(size), size)
            .map(|_| t.elapsed())
    }

    /// [`floor`] through `recorder`'s own transport (an `emu:NAME` drive: its state file and
    /// sector image), under exclusive access as the writer takes it.
    pub fn floor_device(recorder: &Recorder, size: u64) -> Result<Duration> {
        let _access = LockLevel::take(recorder, "Write Bench")?;
        let (t, timeout) = recorder.command_transport(crate::scsi::Access::Change)?;
        let profile = Media::query(recorder)?.profile;
        let mut ch = Channel::new(t, timeout, recorder.device().spec(), true);
        floor_on(&mut ch, profile, size)
    }

    /// The floor: the same WRITE(10) commands (same units, same addresses) and the same
    /// SYNCHRONIZE CACHE and CLOSE commands sent straight through the same transport from one
    /// thread, the image read from the same source into one buffer, nothing hashed.
    pub fn floor(profile: u16, size: u64) -> Result<Duration> {
        let d = TestDrive::dropping(profile, 0);
        let mut ch = d.channel(Duration::from_secs(10));
        floor_on(&mut ch, profile, size)
    }

    fn floor_on(ch: &mut Channel, profile: u16, size: u64) -> Result<Duration> {
        let kind = Kind::of(Profile(profile)).unwrap_or(Kind::DvdPlusR);
        let unit = kind.unit_blocks(Profile(profile)) as usize * SECTOR;
        let mut source = pattern(size);
        let mut buf = vec![0u8; CHUNK_BYTES];
        let t = Instant::now();
        if kind == Kind::Overwrite {
            format_medium(
                ch,
                0,
                if profile == 0x43 { 0x30 } else { 0x26 },
                &CancelToken::new(),
            )?;
            ch.wait_ready(Duration::from_secs(60), |_| {})?;
        }
        let mut lba = 0u32;
        let mut left = size;
        while left > 0 {
            let n = usize::try_from(left.min(CHUNK_BYTES as u64)).unwrap_or(CHUNK_BYTES);
            source
                .read_exact(&mut buf[..n])
                .map_err(|e| Error::new(HResult::EFail, e.to_string()))?;
            for part in buf[..n].chunks(unit) {
                let blocks = (part.len() / SECTOR) as u16;
                ch.once(&write10(lba, blocks, SECTOR as u16), part, "WRITE(10)")?;
                lba += u32::from(blocks);
            }
            left -= n as u64;
        }
        ch.once(&synchronize_cache(false), &[], "SYNCHRONIZE CACHE")?;
        if kind != Kind::Overwrite {
            // With Immed and polled, as the writer closes.
            for f in [CloseFunction::Track, CloseFunction::Session] {
                ch.once(&close_track_session(f, 1, true), &[], "CLOSE")?;
                ch.wait_ready(Duration::from_secs(60), |_| {})?;
            }
        }
        Ok(t.elapsed())
    }

    /// The image's SHA-256 and the chunk checks and sector tags of `size` bytes, as the reader
    /// thread computes them.
    pub fn fingerprint_only(size: u64) -> Duration {
        let mut source = pattern(size);
        let mut buf = vec![0u8; CHUNK_BYTES];
        let mut image = Sha256::new();
        let t = Instant::now();
        let mut left = size;
        while left > 0 {
            let n = usize::try_from(left.min(CHUNK_BYTES as u64)).unwrap_or(CHUNK_BYTES);
            let _ = source.read_exact(&mut buf[..n]);
            image.update(&buf[..n]);
            std::hint::black_box(fingerprint(&buf[..n]));
            left -= n as u64;
        }
        std::hint::black_box(image.finalize());
        t.elapsed()
    }
}

/// Sectors of chunk `i` of a write of `sectors`.
fn chunk_len(i: usize, sectors: u32, chunk_sectors: u32) -> u32 {
    let first = i as u32 * chunk_sectors;
    chunk_sectors.min(sectors - first)
}

/// FORMAT UNIT with Immed (the caller polls).
pub(crate) fn format_medium(
    ch: &mut Channel,
    blocks: u32,
    format_type: u8,
    cancel: &CancelToken,
) -> Result<()> {
    let spec = ch.device().to_owned();
    let params = FormatParameters {
        immed: true,
        number_of_blocks: blocks,
        format_type,
        format_subtype: 0,
        type_dependent: if format_type == 0x26 {
            0
        } else {
            SECTOR as u32
        },
    }
    .encode()
    .map_err(|e| {
        Error::new(
            HResult::InvalidModeParameters,
            format!("{spec}: cannot encode the format: {e}"),
        )
    })?;
    ch.send(&format_unit(), &params, "FORMAT UNIT", Some(cancel))
        .map(drop)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::testdrive::TestDrive;
    use discrecorder_mmc::emulator::{Fault, Trigger, TriggerAt};

    const ALL: [Profile; 14] = [
        Profile(0x43),
        Profile(0x42),
        Profile(0x41),
        Profile(0x2B),
        Profile(0x1B),
        Profile(0x1A),
        Profile(0x15),
        Profile(0x14),
        Profile(0x13),
        Profile(0x11),
        Profile(0x10),
        Profile(0x0A),
        Profile(0x09),
        Profile(0x08),
    ];

    /// An image of `sectors` sectors whose every sector differs (the LBA-in-image and a seed).
    fn image(sectors: u32, seed: u8) -> Vec<u8> {
        let mut v = vec![0u8; sectors as usize * SECTOR];
        for (i, s) in v.chunks_mut(SECTOR).enumerate() {
            s[..4].copy_from_slice(&(i as u32).to_be_bytes());
            for (j, b) in s[4..].iter_mut().enumerate() {
                *b = (j as u8)
                    .wrapping_mul(31)
                    .wrapping_add(seed)
                    .wrapping_add(i as u8);
            }
        }
        v
    }

    fn run(
        d: &TestDrive,
        options: WriteOptions,
        data: Vec<u8>,
        cancel: &CancelToken,
        mut progress: Option<&mut ProgressFn<'_>>,
    ) -> (Result<WriteReport>, bool) {
        let mut ch = d.channel(Duration::from_millis(300));
        let sectors = (data.len() / SECTOR) as u32;
        burn(
            &mut ch,
            Publisher::new(None),
            options,
            progress.take(),
            cancel,
            std::io::Cursor::new(data),
            sectors,
            &ALL,
        )
    }

    fn burn_ok(d: &TestDrive, options: WriteOptions, data: &[u8]) -> WriteReport {
        let (r, _) = run(d, options, data.to_vec(), &CancelToken::new(), None);
        r.unwrap_or_else(|e| panic!("{e}"))
    }

    const SECTORS: u32 = 1100; // more than two chunks, not a whole number of units

    #[test]
    fn every_writable_profile_burns_and_reads_back_identical() {
        for profile in [
            0x09u16, 0x0A, 0x11, 0x14, 0x15, 0x1B, 0x2B, 0x41, 0x1A, 0x43, 0x13,
        ] {
            // A restricted-overwrite DVD-RW (0x13) comes unformatted here: the writer formats it.
            let d = TestDrive::new(profile, 0);
            let data = image(SECTORS, profile as u8);
            let opts = WriteOptions::new().verification(Verification::Full);
            let r = burn_ok(&d, opts, &data);
            assert_eq!(r.sectors, SECTORS, "{profile:#x}");
            assert_eq!(r.verified_sectors, u64::from(SECTORS), "{profile:#x}");
            assert_eq!(
                d.sectors(r.start_lba, SECTORS),
                data,
                "profile {profile:#x}: the medium holds the image"
            );
            assert_eq!(r.sha256, hex(&Sha256::digest(&data)), "{profile:#x}");
        }
    }

    #[test]
    fn a_second_write_on_sequential_media_is_a_new_session_after_the_first() {
        for profile in [0x09u16, 0x11, 0x1B, 0x41] {
            let d = TestDrive::new(profile, 0);
            let a = image(100, 1);
            let b = image(200, 2);
            let ra = burn_ok(&d, WriteOptions::new(), &a);
            assert!(
                ra.media.status.has(MediaStatus::APPENDABLE),
                "{profile:#x}: {:?}",
                ra.media.status.names()
            );
            let rb = burn_ok(&d, WriteOptions::new().verification(Verification::Full), &b);
            assert!(
                rb.start_lba > ra.start_lba + 99,
                "{profile:#x}: {} after {}",
                rb.start_lba,
                ra.start_lba
            );
            assert_eq!(rb.media.sessions, 2, "{profile:#x}");
            assert_eq!(
                rb.media.previous_session.map(|s| s.start_lba),
                Some(rb.start_lba)
            );
            assert_eq!(
                d.sectors(ra.start_lba, 100),
                a,
                "{profile:#x}: the first session is intact"
            );
            assert_eq!(d.sectors(rb.start_lba, 200), b, "{profile:#x}");
        }
    }

    #[test]
    fn a_write_on_rewritable_media_overwrites_from_sector_zero() {
        for profile in [0x1Au16, 0x43] {
            let d = TestDrive::new(profile, 0);
            burn_ok(&d, WriteOptions::new(), &image(300, 1));
            let b = image(200, 9);
            let r = burn_ok(&d, WriteOptions::new().verification(Verification::Full), &b);
            assert_eq!(r.start_lba, 0, "{profile:#x}");
            assert_eq!(d.sectors(0, 200), b, "{profile:#x}");
            assert_eq!(
                d.count(0x04),
                1,
                "{profile:#x}: formatted once, when it was blank"
            );
        }
    }

    #[test]
    fn closing_the_medium_finalizes_it_and_a_later_write_is_refused_before_writing() {
        for profile in [0x1Bu16, 0x41, 0x11, 0x09] {
            let d = TestDrive::new(profile, 0);
            let r = burn_ok(
                &d,
                WriteOptions::new().closing(Closing::CloseMedium),
                &image(64, 3),
            );
            assert!(
                r.media.status.has(MediaStatus::FINALIZED),
                "{profile:#x}: {:?}",
                r.media.status.names()
            );
            let writes = d.count(0x2A);
            let (e, wrote) = run(
                &d,
                WriteOptions::new(),
                image(64, 4),
                &CancelToken::new(),
                None,
            );
            let e = e.expect_err("a closed disc");
            assert_eq!(
                e.hresult(),
                HResult::Df2DataInvalidMediaState,
                "{profile:#x}: {e}"
            );
            assert!(!wrote);
            assert_eq!(d.count(0x2A), writes, "no WRITE reached the drive");
        }
    }

    #[test]
    fn an_image_larger_than_the_free_space_is_refused_before_a_sector_is_written() {
        let d = TestDrive::new(0x1B, 1000);
        let (e, wrote) = run(
            &d,
            WriteOptions::new(),
            image(1001, 0),
            &CancelToken::new(),
            None,
        );
        let e = e.expect_err("too large");
        assert_eq!(e.code(), 0xC0AA_0404, "{e}");
        assert!(e.context().contains("1001"), "{e}");
        assert!(!wrote);
        assert_eq!(d.count(0x2A), 0);
    }

    #[test]
    fn a_write_protected_medium_is_refused() {
        // BD-R: the emulated drive reports the BD Write feature, not current when protected.
        let d = TestDrive::new(0x41, 0);
        d.with_state(|s| s.write_protected = true);
        let (e, _) = run(
            &d,
            WriteOptions::new(),
            image(16, 0),
            &CancelToken::new(),
            None,
        );
        assert_eq!(e.expect_err("protected").code(), 0xC0AA_0209);
        assert_eq!(d.count(0x2A), 0);
    }

    #[test]
    fn no_medium_is_no_media() {
        let d = TestDrive::new(0x1B, 0);
        d.with_state(|s| s.remove_medium());
        let (e, _) = run(
            &d,
            WriteOptions::new(),
            image(16, 0),
            &CancelToken::new(),
            None,
        );
        assert_eq!(e.expect_err("no medium").code(), 0xC0AA_0202);
    }

    #[test]
    fn blank_only_refuses_a_medium_with_data() {
        let d = TestDrive::new(0x1B, 0);
        burn_ok(&d, WriteOptions::new(), &image(16, 0));
        let (e, _) = run(
            &d,
            WriteOptions::new().overwrite(Overwrite::BlankOnly),
            image(16, 0),
            &CancelToken::new(),
            None,
        );
        assert_eq!(e.expect_err("not blank").code(), 0xC0AA_0405);
    }

    #[test]
    fn a_medium_error_fails_with_its_hresult_and_the_lba() {
        let d = TestDrive::new(0x1B, 0);
        d.with_state(|s| s.faults.medium_error_lba = Some(700));
        let (e, wrote) = run(
            &d,
            WriteOptions::new(),
            image(SECTORS, 0),
            &CancelToken::new(),
            None,
        );
        let e = e.expect_err("medium error");
        assert_eq!(e.hresult(), HResult::UnexpectedResponseFromDevice, "{e}");
        assert!(
            e.context().contains("LBA 688"),
            "the failing WRITE's range: {e}"
        );
        assert!(e.context().contains("the medium is now"), "{e}");
        assert!(wrote);
    }

    #[test]
    fn verification_names_the_first_corrupted_sector() {
        for level in [Verification::Full, Verification::Quick] {
            let d = TestDrive::new(0x41, 0);
            // LBA 5 lies in the first chunk, which quick verification reads too.
            d.with_state(|s| s.faults.corrupt_lba = Some(5));
            let (e, _) = run(
                &d,
                WriteOptions::new().verification(level),
                image(SECTORS, 0),
                &CancelToken::new(),
                None,
            );
            let e = e.expect_err("corrupted");
            assert_eq!(e.code(), 0xC0AA_0007, "{e}");
            assert!(e.context().contains("first bad LBA 5"), "{level:?}: {e}");
        }
    }

    #[test]
    fn a_long_write_in_progress_is_waited_for() {
        let d = TestDrive::new(0x1B, 0);
        d.with_state(|s| s.faults.long_write_polls = 5);
        let r = burn_ok(
            &d,
            WriteOptions::new().verification(Verification::Full),
            &image(64, 1),
        );
        assert_eq!(r.sectors, 64);
    }

    #[test]
    fn a_cancel_from_another_thread_stops_the_write_and_reports_the_medium() {
        let d = TestDrive::new(0x1B, 0);
        let cancel = CancelToken::new();
        let c2 = cancel.clone();
        let mut seen = 0;
        let mut cb: ProgressFn<'_> = Box::new(|p: &Progress| {
            if p.action == JobAction::WritingData && p.done > 0 {
                seen += 1;
                let c3 = c2.clone();
                std::thread::spawn(move || c3.cancel())
                    .join()
                    .expect("join");
            }
        });
        let (e, wrote) = run(
            &d,
            WriteOptions::new(),
            image(4000, 0),
            &cancel,
            Some(&mut cb),
        );
        drop(cb);
        let e = e.expect_err("cancelled");
        assert_eq!(e.code(), 0xC0AA_0002, "{e}");
        assert!(e.context().contains("the medium is now"), "{e}");
        assert!(wrote);
        assert!(seen >= 1);
    }

    #[test]
    fn a_hang_or_vanish_at_any_command_of_a_burn_gives_its_hresult() {
        // Count the commands of a whole burn first.
        let d = TestDrive::new(0x1B, 0);
        burn_ok(&d, WriteOptions::new(), &image(40, 0));
        let n = d.lock().opcodes.len() as u32;
        for (fault, code) in [(Fault::Vanish, 0x8007_0037u32), (Fault::Hang, 0xC0AA_020D)] {
            for at in (1..=n).step_by(if fault == Fault::Hang { 7 } else { 1 }) {
                let d = TestDrive::new(0x1B, 0);
                d.with_state(|s| {
                    s.faults.trigger = Some(Trigger {
                        fault,
                        at: TriggerAt::Command(at),
                    })
                });
                let (e, _) = run(
                    &d,
                    WriteOptions::new(),
                    image(40, 0),
                    &CancelToken::new(),
                    None,
                );
                let e = e.expect_err("faulted");
                assert_eq!(e.code(), code, "{fault:?} at command {at}: {e}");
            }
        }
    }

    #[test]
    fn progress_goes_through_the_imapi_actions_in_order() {
        let d = TestDrive::new(0x1A, 0);
        let mut actions = Vec::new();
        let mut cb: ProgressFn<'_> = Box::new(|p: &Progress| {
            if actions.last() != Some(&p.action) {
                actions.push(p.action);
            }
        });
        let opts = WriteOptions::new().verification(Verification::Full);
        let (r, _) = run(
            &d,
            opts,
            image(SECTORS, 0),
            &CancelToken::new(),
            Some(&mut cb),
        );
        drop(cb);
        r.expect("burn");
        assert_eq!(
            actions,
            vec![
                JobAction::ValidatingMedia,
                JobAction::FormattingMedia,
                JobAction::InitializingHardware,
                JobAction::WritingData,
                JobAction::Finalization,
                JobAction::Verifying,
                JobAction::Completed
            ]
        );
    }

    #[test]
    fn chunk_lengths_cover_the_write_exactly() {
        let cs = (CHUNK_BYTES / SECTOR) as u32;
        let sectors = cs * 3 + 7;
        let n = (sectors as usize).div_ceil(cs as usize);
        let sum: u32 = (0..n).map(|i| chunk_len(i, sectors, cs)).sum();
        assert_eq!(sum, sectors);
        assert_eq!(chunk_len(n - 1, sectors, cs), 7);
    }

    #[test]
    fn options_default_to_appendable_overwrite_fastest_quick() {
        let o = WriteOptions::new();
        assert_eq!(o.closing, Closing::LeaveAppendable);
        assert_eq!(o.overwrite, Overwrite::Allow);
        assert_eq!(o.speed, Speed::Fastest);
        assert_eq!(o.verification, Verification::Quick);
        let o = o
            .verification(Verification::Full)
            .closing(Closing::CloseMedium);
        assert_eq!(o.verification, Verification::Full);
        assert_eq!(o.closing, Closing::CloseMedium);
    }
}
