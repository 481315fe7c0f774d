//! Wait tickets: the queue of processes waiting for a device, served in arrival order.
//!
//! Owns the ticket's text format, publishing it and reading the queue. The rules follow the
//! owner records' ([`crate::record`]):
//!
//! - **Where.** A waiter publishes `discrecorder.wait.KEY.PID` (or `.1` .. `.7` when that name
//!   is taken, by another thread of ours or a squatter) in the runtime directory, created with
//!   `O_CREAT|O_EXCL|O_NOFOLLOW`, mode 0644, relative to a checked directory descriptor.
//! - **Liveness is the kernel's.** The waiter holds `flock(LOCK_EX)` on its ticket for as long
//!   as it waits; a reader counts a ticket only while that lock is held (a shared lock of its own
//!   is refused), so a waiter killed with SIGKILL counts for nothing at once. A reader that gets
//!   the lock on a complete ticket, i.e. finds it dead, removes it (if it may) while still
//!   holding that lock; a writer checks after locking that its file is still linked.
//! - **Order.** The ticket says when its waiter arrived: `CLOCK_MONOTONIC` nanoseconds read
//!   after the lock was taken (so a ticket a reader cannot see yet is younger than the reader's
//!   own), ties broken by PID. A waiter tries to claim the device only when no live ticket older
//!   than its own is in the queue.
//! - **Not a denial of service.** A ticket counts only if the process it names (PID and start
//!   time, from `/proc`, readable by all) runs with credentials that may open the device node
//!   read-write by its mode bits (or is root, or is us): another local user cannot hold up a
//!   device it cannot use.

use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::Path;

use rustix::fs::{FlockOperation, Mode, OFlags};
use serde::Serialize;

use crate::client_name::ClientName;

const MAGIC: &str = "discrecorder-wait v1";
const MAX_TICKET_LEN: usize = 512;

/// A process waiting for a device, as its ticket says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Waiter {
    /// The client name it will hold the device under.
    pub client: String,
    /// Its PID.
    pub pid: i32,
    /// When it started waiting, milliseconds since the Unix epoch.
    pub since_unix_ms: u64,
}

/// A ticket's content.
#[derive(Clone, Debug, PartialEq, Eq)]
struct TicketText {
    seq: u64,
    client: ClientName,
    pid: i32,
    start: u64,
    since_unix_ms: u64,
}

impl TicketText {
    fn encode(&self) -> String {
        format!(
            "{MAGIC}\nseq={}\nclient={}\npid={}\nstart={}\nsince_unix_ms={}\n",
            self.seq, self.client, self.pid, self.start, self.since_unix_ms
        )
    }

    fn decode(bytes: &[u8]) -> Option<TicketText> {
        if bytes.len() > MAX_TICKET_LEN {
            return None;
        }
        let text = std::str::from_utf8(bytes).ok()?;
        let mut lines = text.lines();
        if lines.next()? != MAGIC {
            return None;
        }
        let (mut seq, mut client, mut pid, mut start, mut since) = (None, None, None, None, None);
        for line in lines {
            let (k, v) = line.split_once('=')?;
            match k {
                "seq" => seq = Some(v.parse().ok()?),
                "client" => client = Some(ClientName::new(v).ok()?),
                "pid" => pid = Some(v.parse::<i32>().ok().filter(|p| *p > 0)?),
                "start" => start = Some(v.parse().ok()?),
                "since_unix_ms" => since = Some(v.parse().ok()?),
                _ => return None,
            }
        }
        Some(TicketText {
            seq: seq?,
            client: client?,
            pid: pid?,
            start: start?,
            since_unix_ms: since?,
        })
    }
}

fn prefix(key: &str) -> String {
    format!("discrecorder.wait.{key}.")
}

fn monotonic_ns() -> u64 {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

/// A published ticket: locked until dropped, then removed.
#[derive(Debug)]
pub struct Ticket {
    /// Holds the ticket's `flock` until dropped.
    _lock: OwnedFd,
    dir: OwnedFd,
    name: String,
    seq: u64,
    pid: i32,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        // Remove, then close (which unlocks): a reader never finds our name unlocked but
        // complete while we live.
        let _ = rustix::fs::unlinkat(&self.dir, self.name.as_str(), rustix::fs::AtFlags::empty());
    }
}

/// Publishes a ticket for `key` in `dir`. Errors are sentences: a waiter that cannot queue
/// still waits, unordered.
pub fn publish(
    dir: &Path,
    key: &str,
    client: &ClientName,
    pid: i32,
    start: u64,
    since_unix_ms: u64,
) -> Result<Ticket, String> {
    let dirfd = crate::sys::open_shared_dir(dir)?;
    let stem = format!("{}{pid}", prefix(key));
    let (fd, name) = crate::record::claim_name(&dirfd, dir, &stem, "wait ticket")?;
    let text = TicketText {
        seq: monotonic_ns(),
        client: client.clone(),
        pid,
        start,
        since_unix_ms,
    };
    let encoded = text.encode();
    let written =
        rustix::fs::ftruncate(&fd, 0).and_then(|()| rustix::io::pwrite(&fd, encoded.as_bytes(), 0));
    if written.ok() != Some(encoded.len()) {
        let _ = rustix::fs::unlinkat(&dirfd, name.as_str(), rustix::fs::AtFlags::empty());
        return Err(format!("cannot write wait ticket in {}", dir.display()));
    }
    Ok(Ticket {
        _lock: fd,
        dir: dirfd,
        name,
        seq: text.seq,
        pid,
    })
}

/// One live ticket found in the queue.
struct Entry {
    seq: u64,
    pid: i32,
    waiter: Waiter,
}

/// The live tickets for `key` in `dir` whose waiters may open `node`, oldest first. With
/// `first_older_than`, only tickets older than that (sequence, PID) are checked for liveness,
/// and the search stops at the first live one: what a waiter asks after every wake-up.
fn entries(dir: &Path, key: &str, node: &Path, first_older_than: Option<(u64, i32)>) -> Vec<Entry> {
    let prefix = prefix(key);
    let Ok(dirfd) = rustix::fs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return Vec::new();
    };
    let node_st = rustix::fs::stat(node).ok();
    let euid = rustix::process::geteuid().as_raw();
    let mut out = Vec::new();
    for (name, fd, st) in crate::record::regular_files(dir, &dirfd, &prefix) {
        let name = name.as_str();
        let mut buf = Vec::with_capacity(256);
        let mut file = std::fs::File::from(fd);
        if (&mut file)
            .take(MAX_TICKET_LEN as u64 + 1)
            .read_to_end(&mut buf)
            .is_err()
        {
            continue;
        }
        let text = TicketText::decode(&buf);
        if let (Some(limit), Some(t)) = (first_older_than, &text) {
            if (t.seq, t.pid) >= limit {
                continue;
            }
        }
        // Live while its waiter holds the lock: our shared lock is refused.
        if rustix::fs::flock(&file, FlockOperation::NonBlockingLockShared).is_ok() {
            if text.is_some() && (st.st_uid == euid || euid == 0) {
                let _ = rustix::fs::unlinkat(&dirfd, name, rustix::fs::AtFlags::empty());
            }
            continue;
        }
        let Some(text) = text else { continue };
        let named = name[prefix.len()..].split('.').next();
        if named.and_then(|p| p.parse::<i32>().ok()) != Some(text.pid) {
            continue;
        }
        if !may_wait(&text, st.st_uid, euid, node_st.as_ref()) {
            continue;
        }
        out.push(Entry {
            seq: text.seq,
            pid: text.pid,
            waiter: Waiter {
                client: text.client.as_str().to_owned(),
                pid: text.pid,
                since_unix_ms: text.since_unix_ms,
            },
        });
        if first_older_than.is_some() {
            break;
        }
    }
    out.sort_by_key(|e| (e.seq, e.pid));
    out
}

/// Whether a ticket counts: its file is ours or root's, or the process it names (by PID and
/// start time) runs as the file's owner with credentials that may open `node` read-write.
fn may_wait(text: &TicketText, file_uid: u32, euid: u32, node: Option<&rustix::fs::Stat>) -> bool {
    if crate::sys::process::start_time(text.pid) != Some(text.start) {
        return false;
    }
    if file_uid == euid || file_uid == 0 {
        return true;
    }
    let Some(node) = node else { return false };
    let Some((uid, gids)) = credentials(text.pid) else {
        return false;
    };
    if uid != file_uid {
        return false;
    }
    let mode = node.st_mode;
    if uid == 0 || (uid == node.st_uid && mode & 0o600 == 0o600) {
        return true;
    }
    if gids.contains(&node.st_gid) && mode & 0o060 == 0o060 {
        return true;
    }
    mode & 0o006 == 0o006
}

/// The effective UID and every group of process `pid`, from `/proc/PID/status`.
fn credentials(pid: i32) -> Option<(u32, Vec<u32>)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let (mut uid, mut gids) = (None, Vec::new());
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("Uid:") {
            uid = v.split_whitespace().nth(1)?.parse().ok();
        } else if let Some(v) = line.strip_prefix("Gid:") {
            gids.extend(
                v.split_whitespace()
                    .nth(1)
                    .and_then(|g| g.parse::<u32>().ok()),
            );
        } else if let Some(v) = line.strip_prefix("Groups:") {
            gids.extend(v.split_whitespace().filter_map(|g| g.parse::<u32>().ok()));
        }
    }
    Some((uid?, gids))
}

/// The waiting queue for `key` in `dir`, oldest first.
pub fn waiting(dir: &Path, key: &str, node: &Path) -> Vec<Waiter> {
    entries(dir, key, node, None)
        .into_iter()
        .map(|e| e.waiter)
        .collect()
}

impl Ticket {
    /// Whether a live ticket in the queue is older than this one.
    pub fn anyone_ahead(&self, dir: &Path, key: &str, node: &Path) -> bool {
        !entries(dir, key, node, Some((self.seq, self.pid))).is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_round_trips_and_rejects_junk() {
        let t = TicketText {
            seq: 12,
            client: ClientName::new("Job 1").expect("name"),
            pid: 7,
            start: 99,
            since_unix_ms: 1000,
        };
        assert_eq!(TicketText::decode(t.encode().as_bytes()), Some(t.clone()));
        let bad = t.encode().replace("Job 1", "x\u{1b}");
        assert_eq!(TicketText::decode(bad.as_bytes()), None);
        let text = t.encode();
        // A prefix that lacks a whole field is rejected; none panics.
        let last_field = text.rfind("since_unix_ms=").expect("field");
        for end in 0..text.len() {
            let got = TicketText::decode(&text.as_bytes()[..end]);
            if end <= last_field + "since_unix_ms=".len() {
                assert_eq!(got, None, "{end}");
            }
        }
    }
}
