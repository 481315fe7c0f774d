//! The kernel's table of file locks, `/proc/locks`.
//!
//! Owns reading and parsing that table into [`LockEntry`] values. It is how any process, of any
//! user, learns which PID holds a lock on an inode without opening the file (opening and closing
//! a device node would drop the caller's own POSIX locks on it). Parsing is pure and total: a
//! line it does not understand is skipped, never a panic.
//!
//! # References
//! - `proc_locks(5)`; `fs/locks.c` (`lock_get_status`) prints `MAJ:MIN:INO` with the superblock's
//!   major and minor in hexadecimal and the inode number in decimal.

use std::io::{self, Read};

use super::FileId;

/// Which lock family an entry belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockKind {
    /// `fcntl(F_SETLK)`: process-associated record lock (libburn's convention).
    Posix,
    /// `flock(2)`: BSD lock on an open file description (udev's and ours).
    Flock,
    /// `fcntl(F_OFD_SETLK)`: open-file-description record lock; the kernel reports no PID.
    Ofd,
    /// Leases and anything newer.
    Other,
}

/// One granted lock (lines of blocked waiters, `->`, are not entries).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockEntry {
    /// The lock family.
    pub kind: LockKind,
    /// Whether the lock is exclusive (`WRITE`).
    pub write: bool,
    /// The holder's PID in the reader's PID namespace; `-1` or `0` when the kernel gives none.
    pub pid: i32,
    /// The locked inode.
    pub file: FileId,
}

/// `field` as the kernel prints it in `radix` (10 or 16): digits only, with a leading `-` only
/// where `signed`. The standard parsers alone would also take a leading `+`, which the kernel
/// never writes.
fn digits(field: &str, radix: u32, signed: bool) -> Option<&str> {
    let unsigned = if signed {
        field.strip_prefix('-').unwrap_or(field)
    } else {
        field
    };
    let ok = !unsigned.is_empty() && unsigned.chars().all(|c| c.is_digit(radix));
    ok.then_some(field)
}

/// Parses one line of `/proc/locks`; `None` for blocked waiters and lines it cannot read.
pub fn parse_line(line: &str) -> Option<LockEntry> {
    let mut tokens = line.split_ascii_whitespace();
    let ordinal = tokens.next()?;
    if !ordinal.ends_with(':') {
        return None;
    }
    let kind = match tokens.next()? {
        "->" => return None,
        "POSIX" => LockKind::Posix,
        "FLOCK" => LockKind::Flock,
        "OFDLCK" => LockKind::Ofd,
        _ => LockKind::Other,
    };
    let _mandatory = tokens.next()?;
    let write = match tokens.next()? {
        "WRITE" => true,
        "READ" => false,
        _ => return None,
    };
    let pid: i32 = digits(tokens.next()?, 10, true)?.parse().ok()?;
    let mut dev = tokens.next()?.split(':');
    let major = u32::from_str_radix(digits(dev.next()?, 16, false)?, 16).ok()?;
    let minor = u32::from_str_radix(digits(dev.next()?, 16, false)?, 16).ok()?;
    let ino: u64 = digits(dev.next()?, 10, false)?.parse().ok()?;
    if dev.next().is_some() {
        return None;
    }
    Some(LockEntry {
        kind,
        write,
        pid,
        file: FileId {
            dev: rustix::fs::makedev(major, minor),
            ino,
        },
    })
}

/// A snapshot of `/proc/locks`.
#[derive(Clone, Debug, Default)]
pub struct LockTable {
    entries: Vec<LockEntry>,
}

impl LockTable {
    /// Reads the kernel's table now.
    pub fn read() -> io::Result<LockTable> {
        let mut text = String::with_capacity(4096);
        std::fs::File::open("/proc/locks")?.read_to_string(&mut text)?;
        Ok(LockTable::parse(&text))
    }

    /// Parses a whole table.
    pub fn parse(text: &str) -> LockTable {
        LockTable {
            entries: text.lines().filter_map(parse_line).collect(),
        }
    }

    /// The locks `pid` holds through its open descriptors, as `/proc/PID/fdinfo` lists them
    /// (`lock:` lines, in the format of `/proc/locks`): the cost is that process's descriptor
    /// count, not the size of the system's lock table. Readable for our own user's processes
    /// and, for root, everyone's; an error otherwise.
    pub fn of_process(pid: i32) -> io::Result<LockTable> {
        let mut entries = Vec::new();
        for fd in std::fs::read_dir(format!("/proc/{pid}/fdinfo"))?.flatten() {
            let Ok(info) = std::fs::read_to_string(fd.path()) else {
                continue;
            };
            entries.extend(
                info.lines()
                    .filter_map(|l| l.strip_prefix("lock:"))
                    .filter_map(|l| parse_line(l.trim_start())),
            );
        }
        Ok(LockTable { entries })
    }

    /// Every granted lock on `file`.
    pub fn on(&self, file: FileId) -> impl Iterator<Item = &LockEntry> + '_ {
        self.entries.iter().filter(move |e| e.file == file)
    }

    /// The PID holding an exclusive lock of `kind` on `file`, if any.
    #[cfg(test)]
    pub fn exclusive_holder(&self, file: FileId, kind: LockKind) -> Option<i32> {
        self.on(file)
            .find(|e| e.kind == kind && e.write)
            .map(|e| e.pid)
    }

    /// Whether `pid` holds an exclusive lock of `kind` on `file`.
    pub fn holds(&self, pid: i32, file: FileId, kind: LockKind) -> bool {
        self.on(file)
            .any(|e| e.kind == kind && e.write && e.pid == pid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
1: POSIX  ADVISORY  WRITE 1578 00:06:94 0 EOF
2: FLOCK  ADVISORY  WRITE 1579 00:06:94 0 EOF
2: -> FLOCK  ADVISORY  WRITE 1600 00:06:94 0 EOF
3: OFDLCK ADVISORY  READ  -1 fd:1a:123456 0 0
4: LEASE  ACTIVE    READ  77 00:2c:55 0 EOF
garbage line
5: FLOCK  ADVISORY  WRITE notapid 00:06:94 0 EOF
";

    #[test]
    fn parses_posix_flock_and_ofd_entries_with_hex_device_numbers() {
        let t = LockTable::parse(SAMPLE);
        let node = FileId {
            dev: rustix::fs::makedev(0, 6),
            ino: 94,
        };
        assert_eq!(t.exclusive_holder(node, LockKind::Posix), Some(1578));
        assert_eq!(t.exclusive_holder(node, LockKind::Flock), Some(1579));
        let ofd = FileId {
            dev: rustix::fs::makedev(0xfd, 0x1a),
            ino: 123456,
        };
        let e = t.on(ofd).next().expect("ofd entry");
        assert_eq!((e.kind, e.write, e.pid), (LockKind::Ofd, false, -1));
    }

    #[test]
    fn blocked_waiters_and_garbage_are_not_entries() {
        let t = LockTable::parse(SAMPLE);
        assert_eq!(t.entries.len(), 4);
        assert!(!t.entries.iter().any(|e| e.pid == 1600));
    }

    /// Fuzzing finding (fuzz/regressions/proc_locks_line): `fe:00:+0` was read as inode 0, and
    /// a `+` before the PID or a device number was taken as well.
    #[test]
    fn numbers_are_plain_digits_as_the_kernel_prints_them() {
        let line = |pid: &str, dev: &str| format!("3: FLOCK  ADVISORY  WRITE {pid} {dev} 0 EOF");
        let e = parse_line(&line("-1", "fe:0a:77")).expect("valid");
        assert_eq!((e.pid, e.file.ino), (-1, 77));
        assert_eq!(e.file.dev, rustix::fs::makedev(0xfe, 0x0a));
        for (pid, dev) in [
            ("20863", "fe:00:+0"),
            ("+5", "00:06:94"),
            ("5", "+fe:00:1"),
            ("5", "fe:+0:1"),
            ("5", "-1:00:1"),
            ("5", "fe:00:-1"),
            ("5", "fe:00:0x1"),
            ("-", "fe:00:1"),
            ("--1", "fe:00:1"),
        ] {
            assert_eq!(parse_line(&line(pid, dev)), None, "{pid} {dev}");
        }
    }

    #[test]
    fn truncated_lines_never_panic() {
        for line in SAMPLE.lines() {
            for end in 0..=line.len() {
                let _ = parse_line(&line[..end]);
            }
        }
    }
}
