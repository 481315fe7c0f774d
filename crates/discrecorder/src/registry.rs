//! This process's table of the devices its recorders hold or are acquiring.
//!
//! Owns the per-process holder table: two recorders of one process must conflict like two
//! processes do, and a second descriptor opened and closed on a held node would drop this
//! process's POSIX lock on it, so commands of every recorder of the process go through the one
//! descriptor recorded here. It also knows this process's own identity as published in owner
//! records (PID, program name). It takes no claim and reads no device: [`crate::claim`] fills
//! the table, [`crate::owner`] and the SCSI layer read it.

use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use crate::client_name::ClientName;
use crate::record::{HoldMode, Job, OwnerRecord};
use crate::sys;
use crate::text::sanitize;

struct LocalHolder {
    key: String,
    client: ClientName,
    since_unix_ms: u64,
    mode: HoldMode,
    /// The job the holder published, as its record says.
    task: Option<Job>,
    /// The descriptor commands go through while held, shared so that other recorders of this
    /// process never open and close the node (which would drop our POSIX lock on it).
    io_fd: Option<Arc<OwnedFd>>,
}

/// Devices this process holds (or is acquiring), by record key.
static LOCAL: Mutex<Vec<LocalHolder>> = Mutex::new(Vec::new());

fn local() -> MutexGuard<'static, Vec<LocalHolder>> {
    // A panic elsewhere while the table was locked leaves it consistent (every change is one
    // push, one remove or one field assignment), so a poisoned lock is still usable.
    LOCAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// The owner record of `key` if a recorder of this process holds (or is acquiring) it.
pub(crate) fn local_record(key: &str) -> Option<OwnerRecord> {
    let table = local();
    let h = table.iter().find(|h| h.key == key)?;
    Some(OwnerRecord {
        client: h.client.clone(),
        pid: own_pid(),
        start: own_start(),
        job: None,
        program: own_program(),
        since_unix_ms: h.since_unix_ms,
        mode: h.mode,
        task: h.task,
    })
}

/// The descriptor a recorder of this process holds `key` with, for commands.
pub(crate) fn local_io_fd(key: &str) -> Option<Arc<OwnedFd>> {
    local()
        .iter()
        .find(|h| h.key == key)
        .and_then(|h| h.io_fd.clone())
}

/// Runs `probe` unless a recorder of this process holds (or is acquiring) `key`, with the table
/// locked so that none can begin to meanwhile: descriptors `probe` opens and closes on the
/// device cannot drop a POSIX lock of ours. `None` when a recorder of this process has it.
/// Keep `probe` short and free of calls into this module (the table is locked).
pub(crate) fn while_unheld<T>(key: &str, probe: impl FnOnce() -> T) -> Option<T> {
    let table = local();
    if table.iter().any(|h| h.key == key) {
        return None;
    }
    let out = probe();
    drop(table);
    Some(out)
}

/// A row in the table, removed when dropped.
pub(crate) struct Reservation {
    key: String,
}

impl Reservation {
    /// Takes the row for `key`, or `None` if another recorder of this process has it.
    pub(crate) fn take(
        key: &str,
        client: &ClientName,
        since_unix_ms: u64,
        mode: HoldMode,
    ) -> Option<Self> {
        let mut table = local();
        if table.iter().any(|h| h.key == key) {
            return None;
        }
        table.push(LocalHolder {
            key: key.to_owned(),
            client: client.clone(),
            since_unix_ms,
            mode,
            task: None,
            io_fd: None,
        });
        Some(Reservation {
            key: key.to_owned(),
        })
    }

    /// Records how the device is held and the descriptor commands go through.
    pub(crate) fn set_held(&self, mode: HoldMode, io_fd: Arc<OwnedFd>) {
        if let Some(h) = local().iter_mut().find(|h| h.key == self.key) {
            h.mode = mode;
            h.io_fd = Some(io_fd);
        }
    }

    /// Records the job the holder publishes (see [`crate::record::Job`]).
    pub(crate) fn set_task(&self, task: Option<Job>) {
        if let Some(h) = local().iter_mut().find(|h| h.key == self.key) {
            h.task = task;
        }
    }

    /// Forgets the shared descriptor, so that closing the claim's own descriptors really
    /// closes the device.
    pub(crate) fn forget_io_fd(&self) {
        if let Some(h) = local().iter_mut().find(|h| h.key == self.key) {
            h.io_fd = None;
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        local().retain(|h| h.key != self.key);
    }
}

/// This process's PID as published: as the initial PID namespace sees it (`NSpid`), so that
/// readers outside a container find the holder's lock under the PID the record gives. Read once.
pub(crate) fn own_pid() -> i32 {
    static PID: OnceLock<(u32, i32)> = OnceLock::new();
    // A forked child (a probe, a test helper) must not inherit its parent's answer.
    let now = std::process::id();
    match PID.get() {
        Some((pid, outer)) if *pid == now => *outer,
        _ => {
            let outer = sys::process::own_proc_pid();
            let _ = PID.set((now, outer));
            outer
        }
    }
}

/// This process's start time (`/proc/self/stat` field 22), published beside its PID.
pub(crate) fn own_start() -> u64 {
    sys::process::own_start_time().unwrap_or(0)
}

/// This process's program name, read once and sanitised.
pub(crate) fn own_program() -> String {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        sys::process::own_program_name()
            .map(|p| sanitize(&p))
            .unwrap_or_else(|| "unknown".to_owned())
    })
    .clone()
}
