//! Who has a block device open: a bounded scan of `/proc/*/fd`, as K3b does with lsof.
//!
//! Owns the scan's two rules against a hostile neighbour. Only a descriptor whose link target
//! names a device node (a path under `/dev/`) is ever stat'ed: `stat` follows a descriptor into
//! its file system, and a FUSE file held open by another user stalls it for as long as the
//! FUSE daemon likes, while reading the link only prints the path the kernel keeps. And the
//! whole scan has a deadline ([`SCAN_DEADLINE`]), past which it stops and says so. It returns
//! PIDs and counts; what they mean is the owner module's business.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::time::{Duration, Instant};

/// How long a scan of `/proc/*/fd` may take before it gives up.
pub const SCAN_DEADLINE: Duration = Duration::from_millis(500);

/// What a scan found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Openers {
    /// Processes with a matching descriptor, in `/proc` order.
    pub pids: Vec<i32>,
    /// Processes whose descriptors could not be listed (other users', unless we are root).
    pub hidden: usize,
    /// `Some(deadline)` when the scan stopped at its deadline before looking at every process.
    pub gave_up_after: Option<Duration>,
}

/// Processes other than this one with a descriptor open on one of the block devices `rdevs`.
/// With `writers_only`, only descriptors opened for writing count. Best effort: other users'
/// descriptors are visible only to root, and the scan stops after [`SCAN_DEADLINE`].
pub fn openers_of(rdevs: &[u64], writers_only: bool) -> Openers {
    scan(&ProcFs, rdevs, writers_only, SCAN_DEADLINE)
}

/// Whether a descriptor's link target names a device node, the only kind the scan stats.
/// Pipes, sockets and anonymous files read as `pipe:[N]`, `socket:[N]`, `anon_inode:...`;
/// files as their path, which for a device node is under `/dev/` (devtmpfs, never FUSE: only
/// root can mount there).
pub fn names_device_node(target: &[u8]) -> bool {
    target.starts_with(b"/dev/")
}

/// Where the scan reads descriptors from: `/proc`, or a double in tests.
trait FdSource {
    fn now(&self) -> Instant;
    /// Every PID.
    fn pids(&self) -> Vec<i32>;
    /// The descriptor numbers of `pid`; an error when they cannot be listed.
    fn fds(&self, pid: i32) -> std::io::Result<Vec<String>>;
    /// The link target of a descriptor (`readlink`, which never enters the file's file system).
    fn link(&self, pid: i32, fd: &str) -> Option<Vec<u8>>;
    /// The device number of the block device a descriptor is open on (`stat`).
    fn block_rdev(&self, pid: i32, fd: &str) -> Option<u64>;
    /// Whether a descriptor was opened for writing.
    fn writable(&self, pid: i32, fd: &str) -> bool;
}

fn scan(src: &dyn FdSource, rdevs: &[u64], writers_only: bool, deadline: Duration) -> Openers {
    let me = rustix::process::getpid().as_raw_nonzero().get();
    let start = src.now();
    let mut out = Openers::default();
    let late = |src: &dyn FdSource| src.now().saturating_duration_since(start) >= deadline;
    for pid in src.pids() {
        if pid == me {
            continue;
        }
        if late(src) {
            out.gave_up_after = Some(deadline);
            return out;
        }
        let Ok(fds) = src.fds(pid) else {
            out.hidden += 1;
            continue;
        };
        for fd in fds {
            if late(src) {
                out.gave_up_after = Some(deadline);
                return out;
            }
            if !src.link(pid, &fd).is_some_and(|t| names_device_node(&t)) {
                continue;
            }
            let on_device = src.block_rdev(pid, &fd).is_some_and(|r| rdevs.contains(&r));
            if on_device && (!writers_only || src.writable(pid, &fd)) {
                out.pids.push(pid);
                break;
            }
        }
    }
    out
}

/// The real `/proc`.
struct ProcFs;

impl FdSource for ProcFs {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn pids(&self) -> Vec<i32> {
        let Ok(procs) = fs::read_dir("/proc") else {
            return Vec::new();
        };
        procs
            .flatten()
            .filter_map(|p| p.file_name().to_str().and_then(|s| s.parse().ok()))
            .collect()
    }

    fn fds(&self, pid: i32) -> std::io::Result<Vec<String>> {
        Ok(fs::read_dir(format!("/proc/{pid}/fd"))?
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .collect())
    }

    fn link(&self, pid: i32, fd: &str) -> Option<Vec<u8>> {
        rustix::fs::readlink(format!("/proc/{pid}/fd/{fd}"), Vec::new())
            .ok()
            .map(|t| t.into_bytes())
    }

    fn block_rdev(&self, pid: i32, fd: &str) -> Option<u64> {
        fs::metadata(format!("/proc/{pid}/fd/{fd}"))
            .ok()
            .filter(|m| m.file_type().is_block_device())
            .map(|m| m.rdev())
    }

    fn writable(&self, pid: i32, fd: &str) -> bool {
        fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}"))
            .ok()
            .and_then(|info| {
                info.lines()
                    .find_map(|l| l.strip_prefix("flags:"))
                    .and_then(|f| u32::from_str_radix(f.trim(), 8).ok())
            })
            .is_some_and(|flags| flags & 0o3 != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::{Cell, RefCell};

    /// One descriptor: its number, its link target and the block device it is open on.
    type FakeFd = (&'static str, &'static str, Option<u64>);

    /// A process table of `(pid, [(fd, link target, block rdev)])`, a clock that advances by
    /// `tick` on every reading, and a log of the descriptors stat'ed.
    struct Fake {
        procs: Vec<(i32, Vec<FakeFd>)>,
        clock: Cell<Instant>,
        tick: Duration,
        stated: RefCell<Vec<(i32, String)>>,
    }

    impl Fake {
        fn new(procs: Vec<(i32, Vec<FakeFd>)>, tick: Duration) -> Fake {
            Fake {
                procs,
                clock: Cell::new(Instant::now()),
                tick,
                stated: RefCell::new(Vec::new()),
            }
        }

        fn fd(&self, pid: i32, fd: &str) -> Option<&FakeFd> {
            self.procs
                .iter()
                .find(|p| p.0 == pid)
                .and_then(|p| p.1.iter().find(|f| f.0 == fd))
        }
    }

    impl FdSource for Fake {
        fn now(&self) -> Instant {
            let t = self.clock.get() + self.tick;
            self.clock.set(t);
            t
        }
        fn pids(&self) -> Vec<i32> {
            self.procs.iter().map(|p| p.0).collect()
        }
        fn fds(&self, pid: i32) -> std::io::Result<Vec<String>> {
            let p = self.procs.iter().find(|p| p.0 == pid).expect("pid");
            Ok(p.1.iter().map(|f| f.0.to_owned()).collect())
        }
        fn link(&self, pid: i32, fd: &str) -> Option<Vec<u8>> {
            self.fd(pid, fd).map(|f| f.1.as_bytes().to_vec())
        }
        fn block_rdev(&self, pid: i32, fd: &str) -> Option<u64> {
            self.stated.borrow_mut().push((pid, fd.to_owned()));
            self.fd(pid, fd).and_then(|f| f.2)
        }
        fn writable(&self, _pid: i32, _fd: &str) -> bool {
            false
        }
    }

    const LOOP3: u64 = (7 << 8) | 3;

    /// Issue 11 D: a FUSE file held open by another user stalled the scan, which stat'ed every
    /// descriptor. Only descriptors whose link names a device node are stat'ed now.
    #[test]
    fn fd_scan_stats_only_descriptors_whose_link_names_a_device_node() {
        let fake = Fake::new(
            vec![
                (
                    10,
                    vec![
                        ("0", "/home/eve/fuse/slow-file", None),
                        ("1", "pipe:[4242]", None),
                        ("2", "socket:[77]", None),
                        ("3", "anon_inode:[eventfd]", None),
                        ("4", "/tmp/dev/loop3", Some(LOOP3)),
                    ],
                ),
                (
                    11,
                    vec![("5", "/dev/null", None), ("6", "/dev/loop3", Some(LOOP3))],
                ),
            ],
            Duration::ZERO,
        );
        let found = scan(&fake, &[LOOP3], false, SCAN_DEADLINE);
        assert_eq!(found.pids, vec![11]);
        assert_eq!(found.gave_up_after, None);
        assert_eq!(
            *fake.stated.borrow(),
            vec![(11, "5".to_owned()), (11, "6".to_owned())],
            "only /dev/ targets may be stat'ed"
        );
    }

    #[test]
    fn device_node_paths_are_those_under_dev() {
        assert!(names_device_node(b"/dev/sr0"));
        assert!(names_device_node(b"/dev/loop0p1 (deleted)"));
        for other in [
            &b"/devices/x"[..],
            b"/home/dev/sr0",
            b"pipe:[1]",
            b"dev/sr0",
            b"",
        ] {
            assert!(!names_device_node(other), "{other:?}");
        }
    }

    /// Issue 11 D: the scan has a deadline and says it gave up, keeping what it found.
    #[test]
    fn fd_scan_gives_up_at_its_deadline_and_says_so() {
        let procs = (100..200)
            .map(|pid| (pid, vec![("3", "/dev/loop3", Some(LOOP3))]))
            .collect();
        // Every clock reading is 100 ms later: the deadline passes after a few processes.
        let fake = Fake::new(procs, Duration::from_millis(100));
        let found = scan(&fake, &[LOOP3], false, Duration::from_millis(500));
        assert_eq!(found.gave_up_after, Some(Duration::from_millis(500)));
        assert!(!found.pids.is_empty() && found.pids.len() < 10, "{found:?}");
        assert_eq!(found.pids[0], 100);
        assert!(fake.stated.borrow().len() < 10);
    }
}
