//! Who holds a device: one of our recorders, a foreign program, or a mounted file system.
//!
//! Owns the [`Owner`] value and the discovery order: this process's own recorders, then the
//! kernel's locks (our `flock` with a record that the locks vouch for; a foreign `flock` or
//! POSIX lock), then the mount table, then (block devices) an exclusive opener. Any user may
//! ask. For a block device no recorder of this process holds, asking opens the node read-only
//! for a moment: a shared `flock`, `F_GETLK` and, under that shared lock, an `O_EXCL` open
//! closed at once. Our contenders wait out the shared lock as they do udev's; a foreign program
//! opening the device with `O_EXCL` in that moment gets `EBUSY`. An emulated recorder's file is
//! never opened here.

use std::path::PathBuf;

use serde::Serialize;

use crate::device::{Device, DeviceKind};
use crate::error::{Error, HResult, Result};
use crate::record::{self, HoldMode, Job};
use crate::registry;
use crate::sys::{self, mountinfo, node, proc_locks::LockKind, proc_locks::LockTable};
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
    /// What a client of ours is doing with the device (a burn's action and progress), as it
    /// publishes it.
    pub job: Option<Job>,
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
            job: rec.task,
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
            job: None,
        }
    }

    /// A holder the kernel shows but does not name, described by `name` (a sentence).
    pub(crate) fn unidentified(name: String) -> Owner {
        Owner {
            kind: OwnerKind::ForeignProgram,
            name,
            pid: None,
            program: None,
            since_unix_ms: None,
            mode: None,
            mount_points: Vec::new(),
            job: None,
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
            job: None,
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
                if let Some(job) = &self.job {
                    s.push_str(": ");
                    s.push_str(&job.describe());
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
///
/// A block device is asked through descriptors of our own, so the cost does not grow with the
/// rest of the system's locks: `F_GETLK` names a POSIX lock's holder, a shared `flock` tells
/// whether an exclusive one is held (whose holder the `fdinfo` of a few candidate processes
/// names), and an `O_EXCL` open tells whether an exclusive opener holds it. Only when those
/// cannot name a holder is the whole lock table read.
pub fn find(device: &Device) -> Result<Option<Owner>> {
    if let Some(owner) = local(device.key()) {
        return Ok(Some(owner));
    }
    if !device.is_block() {
        // An emulated recorder's claims are locks on its state file: the lock table has them.
        let locks = read_lock_table()?;
        return Ok(find_in_locks(device, &locks));
    }
    // No recorder of this process holds the device, and none can begin to while the probe
    // runs, so closing the probe's descriptor cannot drop a POSIX lock of ours.
    let probe = registry::while_unheld(device.key(), || {
        let fd = node::open_probe(device.path())?;
        if !node::try_shared_flock(&fd)? {
            return Ok::<_, std::io::Error>((true, node::posix_lock_holder(&fd)?, false));
        }
        // Under our shared flock no client of ours is between taking its flock and its O_EXCL
        // open, so the O_EXCL probe cannot make one of them fail. Closing drops the flock.
        let posix = node::posix_lock_holder(&fd)?;
        let exclusive = posix.is_none() && node::held_exclusively(device.path()).unwrap_or(false);
        Ok((false, posix, exclusive))
    });
    let (flocked, posix, exclusive) = match probe {
        None => return Ok(local(device.key())),
        Some(Ok(answers)) => answers,
        // No read access to the node: the lock table names holders to anyone.
        Some(Err(_)) => return find_without_probe(device),
    };
    if flocked {
        if let Some(owner) = flock_holder(device, posix) {
            return Ok(Some(owner));
        }
    }
    if let Some(pid) = posix {
        return Ok(Some(Owner::foreign(pid)));
    }
    let points = mounts_of(device)?;
    if !points.is_empty() {
        return Ok(Some(Owner::mount(points)));
    }
    // A holder with nothing but the kernel's claim (xorriso 1.5 opens with O_EXCL and takes no
    // lock): `lock` would be refused, so name it too.
    Ok(exclusive.then(|| exclusive_holder(device).0))
}

/// [`find`] for a block device this process cannot open: the lock table, the mount table,
/// then (optical drives only, since a disk has writers that own nothing) writers among the
/// open descriptors.
fn find_without_probe(device: &Device) -> Result<Option<Owner>> {
    let locks = read_lock_table()?;
    if let Some(owner) = find_in_locks(device, &locks) {
        return Ok(Some(owner));
    }
    let points = mounts_of(device)?;
    if !points.is_empty() {
        return Ok(Some(Owner::mount(points)));
    }
    if device.is_mmc() {
        if let DeviceKind::Block { major, minor } = device.kind() {
            let found = sys::openers_of(&[rustix::fs::makedev(*major, *minor)], true);
            if let Some(&pid) = found.pids.first() {
                return Ok(Some(Owner::foreign(pid)));
            }
        }
    }
    Ok(None)
}

fn read_lock_table() -> Result<LockTable> {
    LockTable::read()
        .map_err(|e| Error::from_io(e, "/proc/locks", "cannot read the kernel lock table"))
}

/// The holder of the exclusive `flock` on a block device that another open file is known to
/// hold, and `posix` the holder `F_GETLK` named, if any. The candidates (that PID, the PIDs
/// owner records are named after, then the processes with the node open) are asked through
/// their `/proc/PID/fdinfo`, which costs their descriptor count; only when none of them can be
/// read and shown to hold it (other users' processes, unless we are root) is the whole lock
/// table read. `None` when nobody else holds it after all (a lock of our own PID outliving its
/// close for a moment, or one released meanwhile).
pub(crate) fn flock_holder(device: &Device, posix: Option<i32>) -> Option<Owner> {
    let me = registry::own_pid();
    let node = device.node();
    let named_by = |pids: &[i32]| {
        pids.iter().filter(|&&p| p > 0 && p != me).find_map(|&pid| {
            let locks = LockTable::of_process(pid).ok()?;
            let holder = locks
                .on(node)
                .find(|e| e.kind == LockKind::Flock && e.write && e.pid != me)?
                .pid;
            Some(flock_owner(device, holder, &locks))
        })
    };
    let mut candidates: Vec<i32> = posix.into_iter().collect();
    candidates.extend(record::named_pids(&sys::runtime_dir(), device.key()));
    if let Some(owner) = named_by(&candidates) {
        return Some(owner);
    }
    if let DeviceKind::Block { major, minor } = device.kind() {
        let openers = sys::openers_of(&[rustix::fs::makedev(*major, *minor)], false);
        if let Some(owner) = named_by(&openers.pids) {
            return Some(owner);
        }
    }
    find_in_locks(device, &LockTable::read().ok()?)
}

/// The owner behind the exclusive `flock` that `locks` lists under `pid`: our client if a
/// record under `pid`'s names is vouched for by `locks` and verified (see [`verify`]), else a
/// foreign program: the process that holds the lock now where `/proc` shows it (the lock
/// table's PID is the process that took the lock, which may be gone while a child holds the
/// open file, and its PID reused).
fn flock_owner(device: &Device, pid: i32, locks: &LockTable) -> Owner {
    if pid <= 0 {
        return Owner::foreign(pid);
    }
    let candidates = record::lookup(&sys::runtime_dir(), device.key(), pid, locks);
    if let Some(owner) = candidates.into_iter().find_map(|c| verify(device, pid, c)) {
        return owner;
    }
    use sys::process::{find_flock_holder, holds_flock, Holds};
    let holder = match holds_flock(pid, device.node(), pid) {
        Holds::No => find_flock_holder(device.node(), pid).unwrap_or(pid),
        Holds::Yes | Holds::Unknown => pid,
    };
    Owner::foreign(holder)
}

/// The holder of a POSIX or OFD lock on a block device's node, as `F_GETLK` names it. Only for
/// a device this process holds no POSIX lock on (the probe's descriptor is closed again).
pub(crate) fn posix_holder(device: &Device) -> Option<Owner> {
    let fd = node::open_probe(device.path()).ok()?;
    node::posix_lock_holder(&fd).ok()?.map(Owner::foreign)
}

/// Who holds a block device exclusively (an `O_EXCL` open fails) when no lock and no mount
/// explains it: the first process with a descriptor on the device, one of its partitions or its
/// disk (the kernel's claim on either excludes the other), with the others that have one; else
/// the kernel's own holder (a device-mapper or md device built on it); else an unidentified
/// exclusive opener, saying why it is unidentified.
pub(crate) fn exclusive_holder(device: &Device) -> (Owner, Vec<Owner>) {
    let mut numbers = device.block_numbers();
    if let DeviceKind::Block { major, minor } = device.kind() {
        numbers.extend(sys::block_disk_of(*major, *minor));
    }
    let rdevs: Vec<u64> = numbers
        .iter()
        .map(|&(major, minor)| rustix::fs::makedev(major, minor))
        .collect();
    let found = sys::openers_of(&rdevs, false);
    if let Some((&first, rest)) = found.pids.split_first() {
        return (
            Owner::foreign(first),
            rest.iter().map(|&p| Owner::foreign(p)).collect(),
        );
    }
    let kernel: Vec<String> = numbers
        .iter()
        .flat_map(|&(major, minor)| sys::block_holders(major, minor))
        .map(|n| sanitize(&n))
        .collect();
    if !kernel.is_empty() {
        return (
            Owner::unidentified(format!("the kernel ({} built on it)", kernel.join(", "))),
            Vec::new(),
        );
    }
    let mut why = Vec::new();
    if found.hidden > 0 {
        why.push(format!(
            "{} processes of other users could not be inspected: run as root to name it",
            found.hidden
        ));
    }
    if let Some(after) = found.gave_up_after {
        why.push(format!(
            "the scan of /proc/*/fd gave up after {} ms",
            after.as_millis()
        ));
    }
    let mut name = "an unidentified exclusive opener (O_EXCL".to_owned();
    for w in why {
        name.push_str("; ");
        name.push_str(&w);
    }
    name.push(')');
    (Owner::unidentified(name), Vec::new())
}

/// The owner the lock table shows: our record-backed `flock`, else any foreign lock.
pub(crate) fn find_in_locks(device: &Device, locks: &LockTable) -> Option<Owner> {
    // Locks in our own PID that this process's table does not account for are released ones
    // still alive for a moment: a forked child (another thread's spawn) or a /proc/PID/fd reader
    // briefly holds a reference to the open file. They are nobody's.
    let me = registry::own_pid();
    let node = device.node();
    let flock_holder = locks
        .on(node)
        .find(|e| e.kind == LockKind::Flock && e.write && e.pid != me)
        .map(|e| e.pid);
    if let Some(pid) = flock_holder {
        return Some(flock_owner(device, pid, locks));
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
///   that process may open the device for writing by its credentials (`/proc/PID/status`,
///   readable by all), else by the record file's owner (set by the kernel): a user without access
///   to the device cannot pass for its holder; one with access could, to such readers only;
/// - when neither named process is alive, the claim is held by descendants of the job: the
///   record counts if its owner may open the device for writing, with the PID of a process
///   that holds the lock where `/proc` lets us find one.
fn verify(device: &Device, lock_pid: i32, c: record::Candidate) -> Option<Owner> {
    use sys::process::{holds_flock, process_may_write, start_time, uid_may_write, Holds};
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
    // Whether `pid`, by its credentials (world-readable in /proc/PID/status), may open the
    // device read-write; the record file's owner stands in when that cannot be read.
    let may_write = |pid: i32| {
        rustix::fs::stat(device.path()).is_ok_and(|st| {
            process_may_write(pid, st.st_mode & 0o7777, st.st_uid, st.st_gid)
                .unwrap_or_else(writer_may_write)
        })
    };
    for pid in &alive {
        match holds_flock(*pid, device.node(), lock_pid) {
            Holds::Yes => return Some(Owner::client_held_by(c.record, Some(*pid))),
            Holds::No => {}
            Holds::Unknown if may_write(*pid) => {
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
