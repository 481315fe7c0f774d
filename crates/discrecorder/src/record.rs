//! Owner records: how a holder's client name reaches every process on the machine.
//!
//! Owns the record's text format, publishing it and finding the one that counts. The design
//! (requirements R1-R6: visible to every user, never stale, atomic, not spoofable, safe in
//! shared directories, usable without root):
//!
//! - **Where.** One small file per holding process in the runtime directory (`/dev/shm` unless
//!   `DISCRECORDER_RUNTIME_DIR` says otherwise), named `discrecorder.owner.KEY.PID`, where KEY is
//!   `blk-MAJ-MIN` or `emu-NAME`. Every user can read it (R1) and nobody needs root (R6).
//! - **Liveness and authenticity come from kernel locks, never from the file.** The writer holds
//!   `flock(LOCK_EX)` on its record *and* on the device node for as long as it holds the device.
//!   A reader takes one snapshot of `/proc/locks` (readable by every user, no device open needed)
//!   and counts a record only if the PID the kernel names as the device's `flock` holder also
//!   holds the `flock` on that very record inode, and the record says that PID. A crashed
//!   writer's locks are gone, so its leftover file counts for nothing (R2); a forged file is not
//!   locked by the device's holder, so it counts for nothing either (R4).
//! - **Atomicity** is the kernel's: `flock(LOCK_EX|LOCK_NB)` on the device node, then
//!   `O_EXCL` on block devices; exactly one contender wins each (R3). The record is written and
//!   locked *before* the device lock is taken, so whoever sees the holder sees its record.
//! - **Shared-directory safety (R5).** Files are created with `O_CREAT|O_EXCL|O_NOFOLLOW`, mode
//!   0644, relative to a directory descriptor that was checked (real directory, owned by root or
//!   us, sticky if others may write). An existing file is reused only if it is a regular file we
//!   own with one link; a name squatted by someone else is skipped for `NAME.1` .. `NAME.7`,
//!   which readers also try. Readers open with `O_NOFOLLOW|O_NONBLOCK` (no symlink, no FIFO
//!   hang), read at most 1 KiB and validate every field.
//! - **Why `flock` and not POSIX locks on the record:** a reader in the holder's own process
//!   opens and closes the record, which would silently drop the holder's POSIX locks on it.

use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{FlockOperation, Mode, OFlags};

use crate::client_name::ClientName;
use crate::sys::proc_locks::{LockKind, LockTable};
use crate::sys::FileId;

const MAGIC: &str = "discrecorder-owner v2";
const MAX_RECORD_LEN: usize = 1024;
/// How many alternative names (`.1` ..) a writer may use when the plain one is squatted.
pub(crate) const ALTERNATIVES: u32 = 7;

/// How a holder holds the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum HoldMode {
    /// Every claim held: `O_EXCL` (block devices), `flock`, POSIX lock.
    Exclusive,
    /// `force` met a volume that could not be unmounted: no `O_EXCL` claim is possible.
    Weak,
    /// Hand-off: `flock` held by us, `O_EXCL` and the POSIX lock left to a child program.
    Handoff,
}

impl HoldMode {
    /// The mode's word in a record, padded to one width so that a record can be rewritten in
    /// place with a single same-length write when the mode changes.
    fn as_padded_str(self) -> &'static str {
        match self {
            HoldMode::Exclusive => "exclusive",
            HoldMode::Weak => "weak     ",
            HoldMode::Handoff => "handoff  ",
        }
    }
}

/// What a holder is doing with the device, as every process sees it (`owner`, `info`, `list`):
/// IMAPI2's `IMAPI_FORMAT2_DATA_WRITE_ACTION` values, plus erasing (`IDiscFormat2Erase` has
/// no actions of its own).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum JobAction {
    /// `IMAPI_FORMAT2_DATA_WRITE_ACTION_VALIDATING_MEDIA` (0).
    ValidatingMedia,
    /// `IMAPI_FORMAT2_DATA_WRITE_ACTION_FORMATTING_MEDIA` (1).
    FormattingMedia,
    /// `IMAPI_FORMAT2_DATA_WRITE_ACTION_INITIALIZING_HARDWARE` (2).
    InitializingHardware,
    /// `IMAPI_FORMAT2_DATA_WRITE_ACTION_CALIBRATING_POWER` (3).
    CalibratingPower,
    /// `IMAPI_FORMAT2_DATA_WRITE_ACTION_WRITING_DATA` (4).
    WritingData,
    /// `IMAPI_FORMAT2_DATA_WRITE_ACTION_FINALIZATION` (5).
    Finalization,
    /// `IMAPI_FORMAT2_DATA_WRITE_ACTION_COMPLETED` (6).
    Completed,
    /// `IMAPI_FORMAT2_DATA_WRITE_ACTION_VERIFYING` (7).
    Verifying,
    /// Blanking or formatting a rewritable medium (`IDiscFormat2Erase`; no IMAPI value).
    Erasing,
}

impl JobAction {
    /// Every action, in IMAPI order.
    pub const ALL: [JobAction; 9] = [
        JobAction::ValidatingMedia,
        JobAction::FormattingMedia,
        JobAction::InitializingHardware,
        JobAction::CalibratingPower,
        JobAction::WritingData,
        JobAction::Finalization,
        JobAction::Completed,
        JobAction::Verifying,
        JobAction::Erasing,
    ];

    /// The `IMAPI_FORMAT2_DATA_WRITE_ACTION` value; `None` for [`JobAction::Erasing`].
    pub fn imapi_value(self) -> Option<u32> {
        match self {
            JobAction::ValidatingMedia => Some(0),
            JobAction::FormattingMedia => Some(1),
            JobAction::InitializingHardware => Some(2),
            JobAction::CalibratingPower => Some(3),
            JobAction::WritingData => Some(4),
            JobAction::Finalization => Some(5),
            JobAction::Completed => Some(6),
            JobAction::Verifying => Some(7),
            JobAction::Erasing => None,
        }
    }

    /// IMAPI2's name, for example `IMAPI_FORMAT2_DATA_WRITE_ACTION_WRITING_DATA`; `None` for
    /// [`JobAction::Erasing`].
    pub fn imapi_name(self) -> Option<&'static str> {
        Some(match self {
            JobAction::ValidatingMedia => "IMAPI_FORMAT2_DATA_WRITE_ACTION_VALIDATING_MEDIA",
            JobAction::FormattingMedia => "IMAPI_FORMAT2_DATA_WRITE_ACTION_FORMATTING_MEDIA",
            JobAction::InitializingHardware => {
                "IMAPI_FORMAT2_DATA_WRITE_ACTION_INITIALIZING_HARDWARE"
            }
            JobAction::CalibratingPower => "IMAPI_FORMAT2_DATA_WRITE_ACTION_CALIBRATING_POWER",
            JobAction::WritingData => "IMAPI_FORMAT2_DATA_WRITE_ACTION_WRITING_DATA",
            JobAction::Finalization => "IMAPI_FORMAT2_DATA_WRITE_ACTION_FINALIZATION",
            JobAction::Completed => "IMAPI_FORMAT2_DATA_WRITE_ACTION_COMPLETED",
            JobAction::Verifying => "IMAPI_FORMAT2_DATA_WRITE_ACTION_VERIFYING",
            JobAction::Erasing => return None,
        })
    }

    /// The action's name in JSON and in owner records (`writing_data`).
    pub fn as_str(self) -> &'static str {
        match self {
            JobAction::ValidatingMedia => "validating_media",
            JobAction::FormattingMedia => "formatting_media",
            JobAction::InitializingHardware => "initializing_hardware",
            JobAction::CalibratingPower => "calibrating_power",
            JobAction::WritingData => "writing_data",
            JobAction::Finalization => "finalization",
            JobAction::Completed => "completed",
            JobAction::Verifying => "verifying",
            JobAction::Erasing => "erasing",
        }
    }

    /// The action as a word for people (`writing`).
    pub fn describe(self) -> &'static str {
        match self {
            JobAction::ValidatingMedia => "checking the medium",
            JobAction::FormattingMedia => "formatting",
            JobAction::InitializingHardware => "preparing the drive",
            JobAction::CalibratingPower => "calibrating",
            JobAction::WritingData => "writing",
            JobAction::Finalization => "closing the disc",
            JobAction::Completed => "done",
            JobAction::Verifying => "verifying",
            JobAction::Erasing => "erasing",
        }
    }

    fn parse(word: &str) -> Option<JobAction> {
        JobAction::ALL.into_iter().find(|a| a.as_str() == word)
    }
}

/// The job a holder publishes while it works on the device (a burn, a blank): what it is doing
/// and how far it is. Other processes read it from the owner record, so a second program can
/// tell a user what a drive is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Job {
    /// What the job is doing now.
    pub action: JobAction,
    /// How far the action is, 0 to 100.
    pub percent: u8,
    /// The last sector written (or verified, or erased) so far.
    pub lba: u64,
    /// The sectors the action covers.
    pub total: u64,
    /// Estimated seconds left, when the holder can tell.
    pub eta_s: Option<u64>,
    /// When the job started, milliseconds since the Unix epoch.
    pub since: u64,
}

impl Job {
    /// A job doing `action`, at 0 % of `total` sectors, started at `since` (ms since the Unix
    /// epoch).
    pub fn new(action: JobAction, total: u64, since: u64) -> Job {
        Job {
            action,
            percent: 0,
            lba: 0,
            total,
            eta_s: None,
            since,
        }
    }

    /// The same job at `lba` of its total, `percent` (capped at 100), `eta_s` seconds left.
    pub fn at(self, action: JobAction, lba: u64, percent: u8, eta_s: Option<u64>) -> Job {
        Job {
            action,
            lba,
            percent: percent.min(100),
            eta_s,
            ..self
        }
    }

    /// The job as a short sentence: `writing 43 %, 3 min left`.
    pub fn describe(&self) -> String {
        let left = match self.eta_s {
            Some(s) if s >= 120 => format!(", {} min left", s.div_ceil(60)),
            Some(s) => format!(", {s} s left"),
            None => String::new(),
        };
        format!("{} {} %{left}", self.action.describe(), self.percent)
    }

    /// The fixed-width text of the record's `task=` line (`none` padded when there is no job),
    /// so that progress is rewritten in place with one same-length write.
    fn encode(job: Option<&Job>) -> String {
        const NO_ETA: u64 = u64::MAX;
        match job {
            Some(j) => format!(
                "{:<22}|{:03}|{:020}|{:020}|{:020}|{:020}",
                j.action.as_str(),
                j.percent.min(100),
                j.lba,
                j.total,
                j.eta_s.unwrap_or(NO_ETA),
                j.since
            ),
            None => format!(
                "{:<22}|{:03}|{:020}|{:020}|{:020}|{:020}",
                "none", 0, 0, 0, 0, 0
            ),
        }
    }

    /// Parses a `task=` value; `Some(None)` for no job, `None` for anything malformed.
    fn decode(v: &str) -> Option<Option<Job>> {
        let f: Vec<&str> = v.split('|').collect();
        let [action, percent, lba, total, eta, since] = f.as_slice() else {
            return None;
        };
        let widths = [22, 3, 20, 20, 20, 20];
        let fields = [action, percent, lba, total, eta, since];
        if fields.iter().zip(widths).any(|(f, w)| f.len() != w) {
            return None;
        }
        let digits = |s: &str| {
            if s.bytes().all(|b| b.is_ascii_digit()) {
                s.parse::<u64>().ok()
            } else {
                None
            }
        };
        let word = action.trim_end_matches(' ');
        if word == "none" {
            return Some(None);
        }
        let percent = u8::try_from(digits(percent)?).ok().filter(|p| *p <= 100)?;
        let eta = digits(eta)?;
        Some(Some(Job {
            action: JobAction::parse(word)?,
            percent,
            lba: digits(lba)?,
            total: digits(total)?,
            eta_s: (eta != u64::MAX).then_some(eta),
            since: digits(since)?,
        }))
    }
}

/// A process for the life of the system: its PID (as the initial PID namespace sees it) and its
/// start time in clock ticks after boot, which a reused PID does not share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessId {
    /// The PID.
    pub pid: i32,
    /// `/proc/PID/stat` field 22.
    pub start: u64,
}

/// What a record says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnerRecord {
    /// The client name.
    pub client: ClientName,
    /// The writer's PID.
    pub pid: i32,
    /// The writer's start time (`/proc/PID/stat` field 22), so that a reused PID cannot pass for
    /// the writer.
    pub start: u64,
    /// The job's command, when the writer shares its claim with the program it runs (`discrec
    /// lock`): it holds the claim on after the writer is gone.
    pub job: Option<ProcessId>,
    /// The writer's program name, printable.
    pub program: String,
    /// When access was gained, milliseconds since the Unix epoch.
    pub since_unix_ms: u64,
    /// How the device is held.
    pub mode: HoldMode,
    /// What the holder is doing with the device, while it works on it.
    pub task: Option<Job>,
}

impl OwnerRecord {
    /// The record's text.
    ///
    /// The mode, the job and the task are written at a fixed width, so that any of them can
    /// change with one same-length write (see [`PublishedRecord::rewrite`]).
    pub fn encode(&self) -> String {
        let job = self.job.unwrap_or(ProcessId { pid: 0, start: 0 });
        format!(
            "{MAGIC}\nclient={}\npid={}\nstart={}\nprogram={}\nsince_unix_ms={}\nmode={}\njob={:010}@{:020}\ntask={}\n",
            self.client,
            self.pid,
            self.start,
            self.program,
            self.since_unix_ms,
            self.mode.as_padded_str(),
            job.pid.max(0),
            job.start,
            Job::encode(self.task.as_ref())
        )
    }

    /// Parses and validates a record; `None` for anything malformed, oversized or unsafe.
    pub fn decode(bytes: &[u8]) -> Option<OwnerRecord> {
        if bytes.len() > MAX_RECORD_LEN {
            return None;
        }
        let text = std::str::from_utf8(bytes).ok()?;
        let mut lines = text.lines();
        if lines.next()? != MAGIC {
            return None;
        }
        let (mut client, mut pid, mut program, mut since, mut mode) =
            (None, None, None, None, None);
        let (mut start, mut job) = (None, None);
        // Records of writers before the task line have none: no task.
        let mut task = None;
        for line in lines {
            let (k, v) = line.split_once('=')?;
            match k {
                "client" => client = Some(ClientName::new(v).ok()?),
                "pid" => pid = Some(v.parse::<i32>().ok().filter(|p| *p > 0)?),
                "program" => {
                    // Stored sanitised by its writer: anything the sanitiser would change (a
                    // control or an invisible format character) is a forgery.
                    if v.len() > 64 || crate::text::sanitize(v) != v {
                        return None;
                    }
                    program = Some(v.to_owned());
                }
                "since_unix_ms" => since = Some(v.parse().ok()?),
                "start" => start = Some(v.parse::<u64>().ok()?),
                "job" => {
                    let (p, t) = v.split_once('@')?;
                    if p.len() != 10 || t.len() != 20 {
                        return None;
                    }
                    let (p, t) = (p.parse::<i32>().ok()?, t.parse::<u64>().ok()?);
                    job = Some((p > 0).then_some(ProcessId { pid: p, start: t }));
                }
                "task" => task = Some(Job::decode(v)?),
                "mode" => {
                    mode = Some(match v.trim_end_matches(' ') {
                        "exclusive" => HoldMode::Exclusive,
                        "weak" => HoldMode::Weak,
                        "handoff" => HoldMode::Handoff,
                        _ => return None,
                    })
                }
                _ => return None,
            }
        }
        Some(OwnerRecord {
            client: client?,
            pid: pid?,
            start: start?,
            job: job?,
            program: program?,
            since_unix_ms: since?,
            mode: mode?,
            task: task.flatten(),
        })
    }
}

fn file_name(key: &str, pid: i32, alternative: u32) -> String {
    candidate_name(&format!("discrecorder.owner.{key}.{pid}"), alternative)
}

/// The name a writer tries `alternative`-th: `STEM`, then `STEM.1` .. `STEM.7`.
pub(crate) fn candidate_name(stem: &str, alternative: u32) -> String {
    if alternative == 0 {
        stem.to_owned()
    } else {
        format!("{stem}.{alternative}")
    }
}

/// A published record: its file stays `flock`ed until this is dropped, then it is removed.
#[derive(Debug)]
pub struct PublishedRecord {
    /// Holds the record's `flock` until dropped.
    fd: OwnedFd,
    dir: OwnedFd,
    name: String,
    path: PathBuf,
    /// Leave the file when dropped (a job still vouches for it).
    keep_file: bool,
}

impl PublishedRecord {
    /// Where the record is.
    #[cfg(any(test, feature = "testing"))]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes a new record into this file and locks it again: a recorder reuses its record file
    /// for every acquisition instead of creating and removing one each time.
    pub fn republish(&self, record: &OwnerRecord) -> Result<(), String> {
        let text = record.encode();
        let written = rustix::fs::ftruncate(&self.fd, 0)
            .and_then(|()| rustix::io::pwrite(&self.fd, text.as_bytes(), 0));
        match written {
            Ok(n) if n == text.len() => {}
            Ok(_) => {
                return Err(format!(
                    "short write of owner record {}",
                    self.path.display()
                ))
            }
            Err(e) => {
                return Err(format!(
                    "cannot write owner record {}: {}",
                    self.path.display(),
                    crate::error::errno_text(&e.into())
                ))
            }
        }
        rustix::fs::flock(&self.fd, FlockOperation::NonBlockingLockExclusive).map_err(|e| {
            format!(
                "cannot lock owner record {}: {}",
                self.path.display(),
                crate::error::errno_text(&e.into())
            )
        })
    }

    /// Whether the file is still in the directory (a clean-up of unlocked records may have
    /// removed it between two acquisitions).
    pub fn is_linked(&self) -> bool {
        rustix::fs::fstat(&self.fd).is_ok_and(|st| st.st_nlink > 0)
    }

    /// The descriptor that holds the record's `flock`, to hand to a program this process starts
    /// together with the claim.
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        self.fd.as_raw_fd()
    }

    /// Gives up a record whose `flock` a program this process started shares: closes ours
    /// without unlocking (the program's copy keeps vouching for the record while it holds the
    /// claim), and removes the file only if nobody holds its lock any more. A file still locked
    /// stays for the job; once the job is gone it counts for nothing, and its writer's next
    /// acquire reaps it.
    pub fn abandon_shared(mut self) {
        let dir = self.dir.try_clone();
        let name = std::mem::take(&mut self.name);
        self.keep_file = true;
        drop(self);
        let Ok(dir) = dir else { return };
        let Ok(probe) = rustix::fs::openat(
            &dir,
            name.as_str(),
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        ) else {
            return;
        };
        if rustix::fs::flock(&probe, FlockOperation::NonBlockingLockExclusive).is_ok() {
            let _ = rustix::fs::unlinkat(&dir, name.as_str(), rustix::fs::AtFlags::empty());
        }
    }

    /// Unlocks the record: from now on it counts for nothing, whatever it says.
    pub fn suspend(&self) {
        let _ = rustix::fs::flock(&self.fd, FlockOperation::Unlock);
    }

    /// Rewrites the record in place. Only the padded mode word and the fixed-width job may
    /// differ, so the write has the record's exact length and a reader sees the old or the new
    /// text.
    pub fn rewrite(&self, record: &OwnerRecord) -> bool {
        let text = record.encode();
        rustix::io::pwrite(&self.fd, text.as_bytes(), 0).is_ok_and(|n| n == text.len())
    }
}

impl Drop for PublishedRecord {
    fn drop(&mut self) {
        if self.keep_file {
            return;
        }
        // Remove first, then close: a reader never sees our name on a file whose lock is gone
        // except after a crash, and then the missing lock tells it so.
        let _ = rustix::fs::unlinkat(&self.dir, self.name.as_str(), rustix::fs::AtFlags::empty());
    }
}

/// Writes and locks a record for `key` in `dir`. Errors are sentences for a warning: a record
/// that cannot be published never stops a device from being acquired.
pub fn publish(dir: &Path, key: &str, record: &OwnerRecord) -> Result<PublishedRecord, String> {
    // Each new record first clears away this user's leftovers (killed holders and waiters).
    reap_own_stale(dir);
    let dirfd = crate::sys::open_shared_dir(dir)?;
    let text = record.encode();
    let stem = format!("discrecorder.owner.{key}.{}", record.pid);
    let (fd, name) = claim_name(&dirfd, dir, &stem, "owner record")?;
    let written =
        rustix::fs::ftruncate(&fd, 0).and_then(|()| rustix::io::pwrite(&fd, text.as_bytes(), 0));
    match written {
        Ok(n) if n == text.len() => {}
        Ok(_) => {
            let _ = rustix::fs::unlinkat(&dirfd, name.as_str(), rustix::fs::AtFlags::empty());
            return Err(format!("short write of owner record in {}", dir.display()));
        }
        Err(e) => {
            let _ = rustix::fs::unlinkat(&dirfd, name.as_str(), rustix::fs::AtFlags::empty());
            return Err(format!(
                "cannot write owner record in {}: {}",
                dir.display(),
                crate::error::errno_text(&e.into())
            ));
        }
    }
    let path = dir.join(&name);
    Ok(PublishedRecord {
        fd,
        dir: dirfd,
        name,
        path,
        keep_file: false,
    })
}

/// Removes records for `key` in `dir` that nobody holds the lock of (crash leftovers). Only
/// files the caller may remove go: in a sticky directory, its own.
pub fn remove_stale(dir: &Path, key: &str) {
    reap(
        dir,
        &format!("discrecorder.owner.{key}."),
        std::time::Duration::ZERO,
    );
}

/// Removes this user's records in `dir`, for any device, that nobody holds the lock of and
/// that are older than [`STALE_AFTER`]: what holders and waiters killed with SIGKILL leave
/// behind. They count for nothing (a reader needs the lock), but they should not pile up.
pub fn reap_own_stale(dir: &Path) {
    reap(dir, "discrecorder.owner.", STALE_AFTER);
}

/// How old an unlocked record must be before it is reaped: a writer locks its record right
/// after creating it, so a younger unlocked one may be on its way.
pub const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(10);

/// Removes the files in `dir` whose names start with `prefix`, owned by us, regular with one
/// link, last modified over `min_age` ago, and whose `flock` we can take: nobody holds it. The
/// file is removed while we hold the lock, so a writer reusing it meanwhile is not possible
/// (its lock attempt would fail). No read of `/proc/locks`, which another user can make huge.
fn reap(dir: &Path, prefix: &str, min_age: std::time::Duration) {
    let Ok(dirfd) = crate::sys::open_shared_dir(dir) else {
        return;
    };
    let euid = rustix::process::geteuid().as_raw();
    let now = std::time::SystemTime::now();
    for (name, fd, st) in regular_files(dir, &dirfd, prefix) {
        let modified = std::time::UNIX_EPOCH
            + std::time::Duration::new(st.st_mtime.max(0) as u64, st.st_mtime_nsec as u32);
        let old_enough = now.duration_since(modified).is_ok_and(|d| d >= min_age);
        if st.st_uid != euid || st.st_nlink != 1 || !old_enough {
            continue;
        }
        if rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive).is_ok() {
            let _ = rustix::fs::unlinkat(&dirfd, name.as_str(), rustix::fs::AtFlags::empty());
        }
    }
}

/// The regular files of `dir` whose names start with `prefix`, each opened through `dirfd`
/// (the checked descriptor of `dir`) read-only with `O_NOFOLLOW|O_NONBLOCK`, so that a planted
/// symlink is never followed and a FIFO never waited on, with its `fstat`. Entries that vanish
/// meanwhile or are not regular files are skipped. Lazy: one descriptor open at a time, however
/// many files another user plants.
pub(crate) fn regular_files<'a>(
    dir: &Path,
    dirfd: &'a OwnedFd,
    prefix: &'a str,
) -> impl Iterator<Item = (String, OwnedFd, rustix::fs::Stat)> + 'a {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(move |entry| {
            let name = entry.file_name().into_string().ok()?;
            if !name.starts_with(prefix) {
                return None;
            }
            let fd = rustix::fs::openat(
                dirfd,
                name.as_str(),
                OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .ok()?;
            let st = rustix::fs::fstat(&fd).ok()?;
            (rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::RegularFile)
                .then_some((name, fd, st))
        })
}

/// The PIDs that records for `key` in `dir` are named after: candidates for the device's
/// holder, each still to be verified against the kernel's locks (a name proves nothing).
pub fn named_pids(dir: &Path, key: &str) -> Vec<i32> {
    let prefix = format!("discrecorder.owner.{key}.");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut pids: Vec<i32> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let rest = name.strip_prefix(&prefix)?;
            rest.split('.').next()?.parse().ok()
        })
        .filter(|&pid| pid > 0)
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// What [`open_own_name`] found under a name.
pub(crate) enum OwnName {
    /// A new file, or a leftover of ours (a regular file we own with one link), opened
    /// read-write and set to mode 0644.
    Opened(OwnedFd),
    /// Someone else's file, or something other than a regular file: skip the name.
    Squatted(String),
}

/// Creates `name` in the checked directory `dirfd` (`O_CREAT|O_EXCL|O_NOFOLLOW`, mode 0644), or
/// reuses it if it is a leftover of ours. The one way owner records and wait tickets claim a
/// name in the shared runtime directory.
pub(crate) fn open_own_name(dirfd: &OwnedFd, name: &str) -> rustix::io::Result<OwnName> {
    let flags = OFlags::RDWR | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
    match rustix::fs::openat(
        dirfd,
        name,
        flags | OFlags::CREATE | OFlags::EXCL,
        Mode::from_raw_mode(0o644),
    ) {
        Ok(fd) => Ok(OwnName::Opened(fd)),
        Err(rustix::io::Errno::EXIST) => {
            let fd = match rustix::fs::openat(dirfd, name, flags, Mode::empty()) {
                Ok(fd) => fd,
                Err(e) => {
                    return Ok(OwnName::Squatted(format!(
                        "{name} is squatted by another user: {}",
                        crate::error::errno_text(&e.into())
                    )))
                }
            };
            let euid = rustix::process::geteuid().as_raw();
            let ours = rustix::fs::fstat(&fd).is_ok_and(|st| {
                rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::RegularFile
                    && st.st_uid == euid
                    && st.st_nlink == 1
            });
            if !ours || rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o644)).is_err() {
                return Ok(OwnName::Squatted(format!(
                    "{name} is squatted by another user"
                )));
            }
            Ok(OwnName::Opened(fd))
        }
        Err(e) => Err(e),
    }
}

/// Claims the first usable name among `stem`'s candidates in the checked directory `dirfd`:
/// created, or a leftover of ours reused ([`open_own_name`]), then `flock`ed exclusively and
/// found still linked after the lock (a reaper that saw it unlocked may have removed it just
/// before). The one way owner records and wait tickets take a name; `what` names the kind of
/// file in errors, which are sentences.
pub(crate) fn claim_name(
    dirfd: &OwnedFd,
    dir: &Path,
    stem: &str,
    what: &str,
) -> Result<(OwnedFd, String), String> {
    let mut last_err = String::from("every name taken");
    for alternative in 0..=ALTERNATIVES {
        let name = candidate_name(stem, alternative);
        let fd = match open_own_name(dirfd, &name) {
            Ok(OwnName::Opened(fd)) => fd,
            Ok(OwnName::Squatted(why)) => {
                last_err = why;
                continue;
            }
            Err(e) => {
                return Err(format!(
                    "cannot create {what} in {}: {}",
                    dir.display(),
                    crate::error::errno_text(&e.into())
                ))
            }
        };
        if rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive).is_err() {
            last_err = format!("{name} is locked by another process");
            continue;
        }
        if !rustix::fs::fstat(&fd).is_ok_and(|st| st.st_nlink == 1) {
            continue;
        }
        return Ok((fd, name));
    }
    Err(format!(
        "no {what} name free in {} ({last_err})",
        dir.display()
    ))
}

/// A record found for a lock holder: what it says, the inode it is in and who owns that file
/// (the kernel sets the owner; a writer cannot choose it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The record.
    pub record: OwnerRecord,
    /// The record file's inode.
    pub file: FileId,
    /// The record file's owner.
    pub uid: u32,
}

/// The records for `key` under `pid`'s names that the lock snapshot shows `pid` holding a
/// `flock` on, and that say `pid`. Every candidate name is read: a missing one proves nothing (a
/// squatter may have deleted its file under a name the writer skipped). Whether a candidate is
/// the holder's is for the caller to verify.
pub fn lookup(dir: &Path, key: &str, pid: i32, locks: &LockTable) -> Vec<Candidate> {
    let mut out = Vec::new();
    for alternative in 0..=ALTERNATIVES {
        let path = dir.join(file_name(key, pid, alternative));
        let Ok(fd) = rustix::fs::open(
            &path,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        ) else {
            continue;
        };
        let Ok(st) = rustix::fs::fstat(&fd) else {
            continue;
        };
        if rustix::fs::FileType::from_raw_mode(st.st_mode) != rustix::fs::FileType::RegularFile
            || !locks.holds(pid, FileId::of(&st), LockKind::Flock)
        {
            continue;
        }
        let mut buf = Vec::with_capacity(256);
        let mut file = std::fs::File::from(fd);
        if (&mut file)
            .take(MAX_RECORD_LEN as u64 + 1)
            .read_to_end(&mut buf)
            .is_err()
        {
            continue;
        }
        if let Some(record) = OwnerRecord::decode(&buf).filter(|r| r.pid == pid) {
            out.push(Candidate {
                record,
                file: FileId::of(&st),
                uid: st.st_uid,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> OwnerRecord {
        OwnerRecord {
            client: ClientName::new("Disc Robot 2: bay 1").expect("valid"),
            pid: 4242,
            start: 123_456,
            job: Some(ProcessId {
                pid: 4243,
                start: 123_460,
            }),
            program: "discrec".into(),
            since_unix_ms: 1_780_000_000_123,
            mode: HoldMode::Handoff,
            task: Some(Job {
                action: JobAction::WritingData,
                percent: 43,
                lba: 123_456,
                total: 2_295_104,
                eta_s: Some(180),
                since: 1_780_000_001_000,
            }),
        }
    }

    #[test]
    fn a_task_is_rewritten_in_place_with_the_records_length() {
        let r = sample();
        let none = OwnerRecord {
            task: None,
            ..r.clone()
        };
        let max = OwnerRecord {
            task: Some(Job {
                action: JobAction::InitializingHardware,
                percent: 100,
                lba: u64::MAX,
                total: u64::MAX,
                eta_s: None,
                since: u64::MAX,
            }),
            ..r.clone()
        };
        assert_eq!(none.encode().len(), r.encode().len());
        assert_eq!(max.encode().len(), r.encode().len());
        assert_eq!(OwnerRecord::decode(none.encode().as_bytes()), Some(none));
        assert_eq!(OwnerRecord::decode(max.encode().as_bytes()), Some(max));
    }

    #[test]
    fn a_record_without_a_task_line_still_decodes_and_a_bad_task_is_rejected() {
        let text = sample().encode();
        let task_line = text
            .lines()
            .find(|l| l.starts_with("task="))
            .expect("task line");
        let old = text.replace(&format!("{task_line}\n"), "");
        assert_eq!(
            OwnerRecord::decode(old.as_bytes()).map(|r| r.task),
            Some(None)
        );
        let bad_pct = text.replace("|043|", "|143|");
        assert_eq!(OwnerRecord::decode(bad_pct.as_bytes()), None);
        let bad_action = text.replace("writing_data", "writing_dat?");
        assert_eq!(OwnerRecord::decode(bad_action.as_bytes()), None);
    }

    #[test]
    fn a_job_describes_itself_for_people() {
        let j = sample().task.expect("task");
        assert_eq!(j.describe(), "writing 43 %, 3 min left");
        assert_eq!(
            Job {
                eta_s: Some(42),
                ..j
            }
            .describe(),
            "writing 43 %, 42 s left"
        );
    }

    #[test]
    fn record_round_trips_through_its_text() {
        let r = sample();
        assert_eq!(OwnerRecord::decode(r.encode().as_bytes()), Some(r));
    }

    #[test]
    fn record_with_bad_client_name_or_escape_bytes_is_rejected() {
        let text = sample().encode();
        let bad_client = text.replace("Disc Robot 2: bay 1", "evil\u{1b}[2J");
        assert_eq!(OwnerRecord::decode(bad_client.as_bytes()), None);
        let bad_prog = text.replace("program=discrec", "program=x\u{7}");
        assert_eq!(OwnerRecord::decode(bad_prog.as_bytes()), None);
        let unknown_key = format!("{text}extra=1\n");
        assert_eq!(OwnerRecord::decode(unknown_key.as_bytes()), None);
        let oversized = format!("{text}{}", "x".repeat(2000));
        assert_eq!(OwnerRecord::decode(oversized.as_bytes()), None);
    }

    #[test]
    fn every_prefix_of_a_record_decodes_or_is_rejected_without_panic() {
        let text = sample().encode();
        for end in 0..text.len() {
            let _ = OwnerRecord::decode(&text.as_bytes()[..end]);
        }
    }

    /// Issue 11 A5: a squatter takes the plain record name, the writer publishes under `.1`,
    /// then the squatter deletes its file. The lookup must still find the writer's record: it
    /// used to stop at the first missing candidate name.
    #[test]
    fn lookup_looks_at_every_candidate_name_after_a_missing_one() {
        let dir = std::env::temp_dir().join(format!("discrecorder-a5-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).expect("mkdir");
        let me = rustix::process::getpid().as_raw_nonzero().get();
        let key = "emu-a5";
        let squat = dir.join(file_name(key, me, 0));
        // A file with a second link is not a leftover of ours: the writer skips the name, as it
        // skips another user's file.
        std::fs::write(dir.join("other"), "squatted").expect("squat");
        std::fs::hard_link(dir.join("other"), &squat).expect("link");
        let rec = OwnerRecord {
            pid: me,
            ..sample()
        };
        let published = publish(&dir, key, &rec).expect("publish");
        assert_eq!(published.path(), dir.join(file_name(key, me, 1)));
        std::fs::remove_file(&squat).expect("unsquat");
        let locks = LockTable::read().expect("/proc/locks");
        let found: Vec<OwnerRecord> = lookup(&dir, key, me, &locks)
            .into_iter()
            .map(|c| c.record)
            .collect();
        assert_eq!(found, vec![rec]);
        drop(published);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
