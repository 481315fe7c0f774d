//! Who holds a device: one of our recorders, a foreign program, or a mounted file system.
//!
//! Owns the [`Owner`] value and the discovery order: this process's own recorders, then the
//! kernel's lock table (our `flock` with a record that the locks vouch for; a foreign `flock` or
//! POSIX lock), then the mount table. It never opens the device node, so asking never disturbs a
//! holder, and any user may ask.

use std::path::PathBuf;

use serde::Serialize;

use crate::device::Device;
use crate::error::{Error, HResult, Result};
use crate::record::{self, HoldMode};
use crate::registry;
use crate::sys::{self, mountinfo, proc_locks::LockKind, proc_locks::LockTable};
use crate::text::sanitize;

/// What kind of owner holds the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OwnerKind {
    /// A discrecorder recorder, in this or another process.
    Client,
    /// A program that is not ours (xorriso, cdrskin, wodim, `flock(1)`, ...).
    ForeignProgram,
    /// A mounted file system of the device or of a partition of it.
    Mount,
}

/// Who holds a device, with everything known about them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Owner {
    /// The kind of owner.
    pub kind: OwnerKind,
    /// What `ExclusiveAccessOwner` returns: the client name, the program name or the mount
    /// point. Always printable: control bytes are escaped as `\xNN`.
    pub name: String,
    /// The holder's PID, where the kernel names one.
    pub pid: Option<i32>,
    /// The holder's program name as the kernel reports it, escaped like `name`.
    pub program: Option<String>,
    /// When access was gained, milliseconds since the Unix epoch (our clients only).
    pub since_unix_ms: Option<u64>,
    /// How a client of ours holds the device.
    pub mode: Option<HoldMode>,
    /// The mount points, for a mount owner.
    pub mount_points: Vec<PathBuf>,
}

impl Owner {
    pub(crate) fn client(rec: record::OwnerRecord) -> Owner {
        let pid = rec.pid;
        Owner::client_held_by(rec, Some(pid))
    }

    /// A client whose claim `holder` holds now: the record's writer, or the job it shares its
    /// claim with once the writer is gone (`None`: only descendants of the job hold it).
    pub(crate) fn client_held_by(rec: record::OwnerRecord, holder: Option<i32>) -> Owner {
        Owner {
            kind: OwnerKind::Client,
            name: rec.client.to_string(),
            pid: holder,
            program: Some(sanitize(&rec.program)),
            since_unix_ms: Some(rec.since_unix_ms),
            mode: Some(rec.mode),
            mount_points: Vec::new(),
        }
    }

    pub(crate) fn foreign(pid: i32) -> Owner {
        let program = (pid > 0).then(|| sys::program_name(pid)).flatten();
        let name = match &program {
            Some(p) => sanitize(p),
            None if pid > 0 => format!("pid {pid}"),
            None => "an unidentified program (lock without PID)".to_owned(),
        };
        Owner {
            kind: OwnerKind::ForeignProgram,
            name,
            pid: (pid > 0).then_some(pid),
            program: program.map(|p| sanitize(&p)),
            since_unix_ms: None,
            mode: None,
            mount_points: Vec::new(),
        }
    }

    pub(crate) fn mount(points: Vec<PathBuf>) -> Owner {
        let name = points
            .first()
            .map(|p| sanitize(&p.to_string_lossy()))
            .unwrap_or_default();
        Owner {
            kind: OwnerKind::Mount,
            name,
            pid: None,
            program: None,
            since_unix_ms: None,
            mode: None,
            mount_points: points,
        }
    }

    /// A one-line description for error messages, for example
    /// `"Disc Robot" (pid 4242, discrec)` or `program xorriso (pid 77)`.
    pub fn describe(&self) -> String {
        match self.kind {
            OwnerKind::Client => {
                let mut s = format!("client \"{}\"", self.name);
                if let (Some(pid), Some(prog)) = (self.pid, &self.program) {
                    s.push_str(&format!(" (pid {pid}, {prog}"));
                    if self.mode == Some(HoldMode::Handoff) {
                        s.push_str(", hand-off");
                    }
                    s.push(')');
                }
                s
            }
            OwnerKind::ForeignProgram => match self.pid {
                Some(pid) => format!("program {} (pid {pid})", self.name),
                None => self.name.clone(),
            },
            OwnerKind::Mount => {
                let points: Vec<String> = self
                    .mount_points
                    .iter()
                    .map(|p| sanitize(&p.to_string_lossy()))
                    .collect();
                format!("a mounted file system at {}", points.join(", "))
            }
        }
    }
}

/// The owner of `key` if a recorder of this process holds it.
pub(crate) fn local(key: &str) -> Option<Owner> {
    registry::local_record(key).map(Owner::client)
}

/// Finds who holds `device` now, or `None` when it is free of every claim we can see.
pub fn find(device: &Device) -> Result<Option<Owner>> {
    if let Some(owner) = local(device.key()) {
        return Ok(Some(owner));
    }
    let locks = LockTable::read()
        .map_err(|e| Error::from_io(e, "/proc/locks", "cannot read the kernel lock table"))?;
    if let Some(owner) = find_in_locks(device, &locks) {
        return Ok(Some(owner));
    }
    if device.is_block() {
        let points = mounts_of(device)?;
        if !points.is_empty() {
            return Ok(Some(Owner::mount(points)));
        }
        // A burner that holds the drive with O_EXCL and no lock (xorriso 1.5 does so): the
        // kernel shows no claim to anyone else, so look for writers among open descriptors,
        // as K3b does with lsof. Optical drives only: a disk has writers that own nothing.
        if device.is_mmc() {
            if let crate::device::DeviceKind::Block { major, minor } = device.kind() {
                let (pids, _) = sys::openers_of(rustix::fs::makedev(*major, *minor), true);
                if let Some(&pid) = pids.first() {
                    return Ok(Some(Owner::foreign(pid)));
                }
            }
        }
    }
    Ok(None)
}

/// The owner the lock table shows: our record-backed `flock`, else any foreign lock.
pub(crate) fn find_in_locks(device: &Device, locks: &LockTable) -> Option<Owner> {
    // Locks in our own PID that this process's table does not account for are released ones
    // still alive for a moment: a forked child (another thread's spawn) or a /proc/PID/fd reader
    // briefly holds a reference to the open file. They are nobody's.
    let me = registry::own_local_pid();
    let node = device.node();
    let flock_holder = locks
        .on(node)
        .find(|e| e.kind == LockKind::Flock && e.write && e.pid != me)
        .map(|e| e.pid);
    if let Some(pid) = flock_holder {
        if pid > 0 {
            let candidates = record::lookup(&sys::runtime_dir(), device.key(), pid, locks);
            if let Some(owner) = candidates.into_iter().find_map(|c| verify(device, pid, c)) {
                return Some(owner);
            }
            // No record of ours: a foreign holder. The lock table's PID is the process that
            // took the lock, which may be gone (its child holds the open file) and its PID
            // reused: name the process that holds the lock now where /proc lets us see it.
            use sys::process::{find_flock_holder, holds_flock, Holds};
            let holder = match holds_flock(pid, node, pid) {
                Holds::No => find_flock_holder(node, pid).unwrap_or(pid),
                Holds::Yes | Holds::Unknown => pid,
            };
            return Some(Owner::foreign(holder));
        }
        return Some(Owner::foreign(pid));
    }
    locks
        .on(node)
        .find(|e| e.write && e.pid != me && matches!(e.kind, LockKind::Posix | LockKind::Ofd))
        .map(|e| Owner::foreign(e.pid))
}

/// Whether a record found under the device lock's PID is really the holder's, and who holds the
/// claim now.
///
/// `/proc/locks` keeps the PID of the process that took a lock after that process is gone while
/// another one (a job's command, a forked child) still holds the open file; the PID may then be
/// reused by anyone, who could publish a record under it. So a record counts only when:
/// - a process it names (its writer, else its job's command) is alive with the start time the
///   record gives, and that process holds the device's lock now, as its own `/proc/PID/fdinfo`
///   shows (readable by root and by the holder's own user);
/// - where those descriptors cannot be read (another user's process, a reader without root),
///   the record file's owner (set by the kernel) may open the device for writing: a user without
///   access to the device cannot pass for its holder; one with access could, to such readers
///   only;
/// - when neither named process is alive, the claim is held by descendants of the job: the
///   record counts if its owner may open the device for writing, with the PID of a process
///   that holds the lock where `/proc` lets us find one.
fn verify(device: &Device, lock_pid: i32, c: record::Candidate) -> Option<Owner> {
    use sys::process::{holds_flock, start_time, uid_may_write, Holds};
    let writer_may_write = || {
        rustix::fs::stat(device.path())
            .is_ok_and(|st| uid_may_write(c.uid, st.st_mode & 0o7777, st.st_uid, st.st_gid))
    };
    let writer = (start_time(c.record.pid) == Some(c.record.start)).then_some(c.record.pid);
    let job = c
        .record
        .job
        .filter(|j| start_time(j.pid) == Some(j.start))
        .map(|j| j.pid);
    let alive: Vec<i32> = writer.into_iter().chain(job).collect();
    for pid in &alive {
        match holds_flock(*pid, device.node(), lock_pid) {
            Holds::Yes => return Some(Owner::client_held_by(c.record, Some(*pid))),
            Holds::No => {}
            Holds::Unknown if writer_may_write() => {
                return Some(Owner::client_held_by(c.record, Some(*pid)))
            }
            Holds::Unknown => {}
        }
    }
    if alive.is_empty() && writer_may_write() {
        // Both named processes are gone: the job's descendants (or a command whose PID the
        // writer had no time to record) hold the claim; name one where we may look.
        let holder = sys::process::find_flock_holder(device.node(), lock_pid);
        return Some(Owner::client_held_by(c.record, holder));
    }
    None
}

/// Mount points of the device and its partitions, innermost first.
pub(crate) fn mounts_of(device: &Device) -> Result<Vec<PathBuf>> {
    let mounts = mountinfo::read()
        .map_err(|e| Error::from_io(e, "/proc/self/mountinfo", "cannot read the mount table"))?;
    Ok(mountinfo::mount_points_of(&mounts, &device.block_numbers()))
}

/// An `E_ACCESSDENIED` error naming `owner`.
pub(crate) fn denied(device: &Device, owner: &Owner) -> Error {
    Error::new(
        HResult::EAccessDenied,
        format!("{} is held by {}", device.spec(), owner.describe()),
    )
}
