//! Who a process is, and whether it holds a lock: the facts an owner record is checked against.
//!
//! Owns reading `/proc/PID/stat` (start time), `/proc/self/status` (`NSpid`),
//! `/proc/PID/fdinfo/*` (the locks each open file holds) and the user and group databases for
//! "may this user open that node for writing". Returns plain values; what they mean for an owner
//! is the caller's business.
//!
//! # References
//! - proc(5): `/proc/pid/stat` field 22 `starttime` (clock ticks after boot), `/proc/pid/status`
//!   `NSpid`, `/proc/pid/fdinfo` (`lock:` lines, one per lock the open file holds, in
//!   `/proc/locks`'s format; readable only with ptrace read access: same user or root).

use std::fs;
use std::io::Read;

use super::proc_locks::{parse_line, LockKind};
use super::FileId;

/// A process's start time in clock ticks after boot (`/proc/PID/stat` field 22): with the PID,
/// it names one process for the life of the system, even when the PID is reused.
pub fn start_time(pid: i32) -> Option<u64> {
    if pid <= 0 {
        return None;
    }
    let mut text = String::new();
    fs::File::open(format!("/proc/{pid}/stat"))
        .ok()?
        .take(4096)
        .read_to_string(&mut text)
        .ok()?;
    stat_start_time(&text)
}

/// This process's PID as the mounted `/proc` numbers it: the first `NSpid` value of
/// `/proc/self/status`, else `getpid()`. Every PID in `/proc` (the lock table, fdinfo, process
/// directories) is in that numbering, which is the initial PID namespace's unless a container
/// mounted its own `/proc`.
///
/// A holder inside a PID namespace has PID 1 or so in its own namespace; readers outside see its
/// lock under the outer PID, and the record must say that one.
pub fn own_proc_pid() -> i32 {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| first_nspid(&status))
        .unwrap_or_else(|| rustix::process::getpid().as_raw_nonzero().get())
}

/// This process's start time (`/proc/self/stat` field 22).
pub fn own_start_time() -> Option<u64> {
    stat_start_time(&fs::read_to_string("/proc/self/stat").ok()?)
}

/// This process's program name (`/proc/self/comm`), unsanitised.
pub fn own_program_name() -> Option<String> {
    let comm = fs::read("/proc/self/comm").ok()?;
    Some(String::from_utf8_lossy(comm.strip_suffix(b"\n").unwrap_or(&comm)).into_owned())
}

/// A child's PID (as `fork` returned it, in our namespace) as the mounted `/proc` numbers it,
/// through a pidfd's `/proc/self/fdinfo` `Pid:` line; `None` if the kernel cannot say.
pub fn proc_pid_of_child(pid: i32) -> Option<i32> {
    use std::os::fd::AsRawFd;
    let fd = rustix::process::pidfd_open(
        rustix::process::Pid::from_raw(pid)?,
        rustix::process::PidfdFlags::empty(),
    )
    .ok()?;
    let info = fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd())).ok()?;
    info.lines()
        .find_map(|l| l.strip_prefix("Pid:"))?
        .trim()
        .parse()
        .ok()
        .filter(|p: &i32| *p > 0)
}

fn first_nspid(status: &str) -> Option<i32> {
    let line = status.lines().find(|l| l.starts_with("NSpid:"))?;
    line["NSpid:".len()..]
        .split_ascii_whitespace()
        .next()?
        .parse()
        .ok()
}

fn stat_start_time(text: &str) -> Option<u64> {
    // The command name (field 2) is in parentheses and may hold spaces or ')': the fields that
    // follow start after the last ')'. Field 3 is the first after it, so field 22 is the 20th.
    let rest = &text[text.rfind(')')? + 1..];
    rest.split_ascii_whitespace().nth(19)?.parse().ok()
}

/// What `/proc/PID/fdinfo` says about whether `pid` holds, through one of its open files, an
/// exclusive `flock` on `file` that the lock table lists under `lock_pid`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holds {
    /// One of its open files holds that lock.
    Yes,
    /// None of its open files holds it.
    No,
    /// Its descriptors cannot be inspected (another user's process, and we are not root).
    Unknown,
}

/// Whether `pid` holds an exclusive `flock` on `file` (taken by `lock_pid`, which is `pid`
/// unless the lock was inherited) through one of its open files. At most `MAX_FDS` descriptors
/// are read.
pub fn holds_flock(pid: i32, file: FileId, lock_pid: i32) -> Holds {
    const MAX_FDS: usize = 4096;
    let dir = format!("/proc/{pid}/fdinfo");
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        // No such process: it holds nothing.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Holds::No,
        Err(_) => return Holds::Unknown,
    };
    let mut text = String::new();
    let mut readable = false;
    for entry in entries.flatten().take(MAX_FDS) {
        text.clear();
        let Ok(f) = fs::File::open(entry.path()) else {
            continue;
        };
        if f.take(64 * 1024).read_to_string(&mut text).is_err() {
            continue;
        }
        readable = true;
        let holds = text
            .lines()
            .filter_map(|l| l.strip_prefix("lock:"))
            .filter_map(parse_line)
            .any(|e| e.kind == LockKind::Flock && e.write && e.file == file && e.pid == lock_pid);
        if holds {
            return Holds::Yes;
        }
    }
    if readable {
        Holds::No
    } else {
        Holds::Unknown
    }
}

/// A live process that holds, through one of its open files, the exclusive `flock` on `file`
/// that the lock table lists under `lock_pid` (a process that took it and is gone, whose open
/// file a child inherited). Scans `/proc/*/fdinfo`: only processes whose descriptors this
/// process may read, at most `MAX_PROCS` of them.
pub fn find_flock_holder(file: FileId, lock_pid: i32) -> Option<i32> {
    const MAX_PROCS: usize = 32768;
    fs::read_dir("/proc")
        .ok()?
        .flatten()
        .take(MAX_PROCS)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .find(|&pid| holds_flock(pid, file, lock_pid) == Holds::Yes)
}

/// Whether process `pid` may open a node of mode `mode`, owner `owner` and group `group` for
/// reading and writing, by its effective user and groups as `/proc/PID/status` gives them
/// (readable by every user), and the mode bits. `None` if the process is gone.
pub fn process_may_write(pid: i32, mode: u32, owner: u32, group: u32) -> Option<bool> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Vec<u32> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|rest| {
                rest.split_ascii_whitespace()
                    .filter_map(|v| v.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    };
    // Uid: real, effective, saved, filesystem; the filesystem IDs decide file access.
    let uid = *field("Uid:").get(3)?;
    let gid = *field("Gid:").get(3)?;
    let groups = field("Groups:");
    Some(if uid == 0 {
        true
    } else if uid == owner {
        mode & 0o600 == 0o600
    } else if gid == group || groups.contains(&group) {
        mode & 0o060 == 0o060
    } else {
        mode & 0o006 == 0o006
    })
}

/// Whether user `uid` may open a node of mode `mode`, owner `owner` and group `group` for
/// reading and writing, by its mode bits and the user's groups (`/etc/passwd`, `/etc/group`).
/// Access control lists are not read, so this may say no where an ACL says yes.
pub fn uid_may_write(uid: u32, mode: u32, owner: u32, group: u32) -> bool {
    if uid == 0 {
        return true;
    }
    if uid == owner {
        return mode & 0o600 == 0o600;
    }
    if user_in_group(uid, group) {
        return mode & 0o060 == 0o060;
    }
    mode & 0o006 == 0o006
}

fn user_in_group(uid: u32, gid: u32) -> bool {
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    let user = passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 3 && f[2].parse() == Ok(uid)).then(|| (f[0].to_owned(), f[3].parse().ok()))
    });
    let Some((name, primary)) = user else {
        return false;
    };
    if primary == Some(gid) {
        return true;
    }
    fs::read_to_string("/etc/group")
        .unwrap_or_default()
        .lines()
        .any(|l| {
            let f: Vec<&str> = l.split(':').collect();
            f.len() > 3 && f[2].parse() == Ok(gid) && f[3].split(',').any(|m| m == name)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_start_time_is_read_and_stable() {
        let me = rustix::process::getpid().as_raw_nonzero().get();
        let t = start_time(me).expect("own start time");
        assert_eq!(start_time(me), Some(t));
        assert_eq!(start_time(-1), None);
    }

    #[test]
    fn proc_pid_is_our_pid_outside_namespaces() {
        // The test suite runs in the initial PID namespace (or one whose /proc says so).
        let me = rustix::process::getpid().as_raw_nonzero().get();
        assert_eq!(own_proc_pid(), me);
        assert_eq!(own_start_time(), start_time(me));
        let child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .expect("sleep");
        let pid = child.id() as i32;
        assert_eq!(proc_pid_of_child(pid), Some(pid));
        let mut child = child;
        let _ = child.kill();
        let _ = child.wait();
    }

    #[test]
    fn mode_bits_decide_write_access() {
        assert!(uid_may_write(0, 0o000, 5, 5));
        assert!(uid_may_write(7, 0o600, 7, 0));
        assert!(!uid_may_write(7, 0o400, 7, 0));
        assert!(uid_may_write(7, 0o666, 0, 0));
        assert!(!uid_may_write(65534, 0o660, 0, 6));
    }
}
