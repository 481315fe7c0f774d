//! Shared test support: an isolated runtime directory, helper processes ("probes") and loop
//! devices.
//!
//! A probe is this very test binary run again with `--ignored --exact zz_probe_entry`, with
//! `PROBE_MODE` saying what to do. It talks over stdout lines starting with `PROBE:` and is
//! steered over stdin, so tests can drive several real processes in lock step.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use discrecorder::{AcquireOptions, ClaimScope, Recorder, Wait};
use rustix::fs::{FlockOperation, Mode, OFlags};

/// The `discrec` binary under test.
pub const DISCREC: &str = env!("CARGO_BIN_EXE_discrec");

static RUNTIME: OnceLock<tempfile::TempDir> = OnceLock::new();

/// Gives this test process (and the processes it starts) a private runtime directory, mode 1777
/// like `/dev/shm`, so tests never see each other's records or the machine's.
pub fn init() -> &'static Path {
    RUNTIME
        .get_or_init(|| {
            let dir = tempfile::Builder::new()
                .prefix("discrec-test-rt-")
                .tempdir()
                .expect("create runtime dir");
            rustix::fs::chmod(dir.path(), Mode::from_raw_mode(0o1777)).expect("chmod 1777");
            // Set once, before any test thread reads it (all tests call init() first).
            std::env::set_var("DISCRECORDER_RUNTIME_DIR", dir.path());
            dir
        })
        .path()
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A fresh emulated device for one test, created (resolving `emu:NAME` never creates one);
/// returns its `emu:NAME`.
pub fn unique_emu(tag: &str) -> String {
    let spec = unique_emu_name(tag);
    let name = spec.strip_prefix("emu:").expect("emu spec");
    assert!(discrecorder::emu::create(name).expect("create emulated device"));
    spec
}

/// A fresh emulated device in the shared directory ([`enable_shared_emu`]), created by this
/// (root) process so that other users can use it too; returns its `emu:NAME`.
pub fn unique_shared_emu(tag: &str) -> String {
    let spec = unique_emu_name(tag);
    enable_shared_emu();
    let name = spec.strip_prefix("emu:").expect("emu spec");
    assert!(discrecorder::emu::create_shared(name).expect("create shared emulated device"));
    spec
}

/// A fresh emulated device name for one test, not created.
pub fn unique_emu_name(tag: &str) -> String {
    init();
    format!(
        "emu:{tag}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Whether this process is root (tier T2 needs it).
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Tier T2 gate: under CI=true a missing privilege fails the test instead of skipping it.
pub fn require_root(test: &str) -> bool {
    if is_root() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{test}: tier T2 needs root, and CI=true requires every tier");
    }
    eprintln!("{test}: skipped (tier T2 needs root; run the suite as root)");
    false
}

/// A copy of the executable `src`, named `name`, in a fresh world-readable directory, so that a
/// process started as another user (uid 65534) can run it wherever the checkout lives.
fn runnable_by_others(src: &Path, name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::Builder::new()
        .prefix("discrec-test-exe-")
        .tempdir()
        .expect("tempdir");
    rustix::fs::chmod(dir.path(), Mode::from_raw_mode(0o755)).expect("chmod 755");
    let path = dir.path().join(name);
    std::fs::copy(src, &path).expect("copy executable");
    rustix::fs::chmod(&path, Mode::from_raw_mode(0o755)).expect("chmod 755");
    (dir, path)
}

/// Spawns `cmd`, whose program is a copy made by [`runnable_by_others`], retrying while the
/// kernel says "text file busy": a child that another thread forked while the copy was being
/// written holds its write descriptor until that child execs.
pub fn spawn_fresh_copy(cmd: &mut Command) -> std::io::Result<Child> {
    let mut tries = 0;
    loop {
        match cmd.spawn() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && tries < 100 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

/// The executable probes run: a copy of this test binary that other users can run.
fn probe_exe() -> &'static Path {
    static EXE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &EXE.get_or_init(|| {
        runnable_by_others(&std::env::current_exe().expect("own executable"), "probe")
    })
    .1
}

/// The `discrec` binary under test, copied where other users can run it.
pub fn discrec_for_others() -> &'static Path {
    static EXE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &EXE.get_or_init(|| runnable_by_others(Path::new(DISCREC), "discrec"))
        .1
}

/// A helper process.
pub struct Probe {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

/// Starts a probe in `mode` with `args`.
pub fn probe(mode: &str, args: &[&str]) -> Probe {
    probe_with(mode, args, |_| {})
}

/// Starts a probe, letting the caller adjust the command (for example its uid).
pub fn probe_with(mode: &str, args: &[&str], adjust: impl FnOnce(&mut Command)) -> Probe {
    init();
    let mut cmd = Command::new(probe_exe());
    cmd.args([
        "--ignored",
        "--exact",
        "zz_probe_entry",
        "--nocapture",
        "--test-threads=1",
        "-q",
    ])
    .env("PROBE_MODE", mode)
    .env("PROBE_ARGS", args.join("\u{1f}"))
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    adjust(&mut cmd);
    let mut child = spawn_fresh_copy(&mut cmd).expect("spawn probe");
    let stdin = child.stdin.take();
    let stdout = BufReader::new(child.stdout.take().expect("probe stdout"));
    Probe {
        child,
        stdin,
        stdout,
    }
}

impl Probe {
    /// The probe's PID.
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// The next `PROBE:` line (without the prefix); panics if the probe ends first.
    pub fn line(&mut self) -> String {
        loop {
            let mut l = String::new();
            let n = self.stdout.read_line(&mut l).expect("read probe");
            assert!(n > 0, "probe {} ended without answering", self.pid());
            if let Some(rest) = l.trim_end().strip_prefix("PROBE: ") {
                return rest.to_owned();
            }
        }
    }

    /// Sends one line to the probe.
    pub fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("probe stdin open");
        writeln!(stdin, "{line}").expect("write probe");
        stdin.flush().expect("flush probe");
    }

    /// Closes the probe's stdin (its cue to release and exit) and waits for it.
    pub fn finish(mut self) -> std::process::ExitStatus {
        self.stdin = None;
        self.child.wait().expect("wait probe")
    }

    /// SIGKILL and reap.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn args() -> Vec<String> {
    std::env::var("PROBE_ARGS")
        .unwrap_or_default()
        .split('\u{1f}')
        .map(str::to_owned)
        .collect()
}

fn say(s: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "PROBE: {s}");
    let _ = out.flush();
}

fn wait_stdin_eof() {
    let mut sink = String::new();
    while std::io::stdin().read_line(&mut sink).is_ok_and(|n| n > 0) {
        sink.clear();
    }
}

fn err_line(e: &discrecorder::Error) -> String {
    format!("err 0x{:08X} {e}", e.code())
}

/// The probe side: dispatches on `PROBE_MODE`. Called from each test binary's ignored
/// `zz_probe_entry` test.
pub fn probe_entry() {
    let Ok(mode) = std::env::var("PROBE_MODE") else {
        panic!("zz_probe_entry is a helper-process entry point, started by other tests");
    };
    let a = args();
    match mode.as_str() {
        // Acquire (optionally hand-off; optionally only after a line on stdin), report `held`
        // (with any warnings), hold until stdin closes, release.
        "hold" => {
            let rec = match Recorder::open(&a[0]) {
                Ok(r) => r,
                Err(e) => return say(&err_line(&e)),
            };
            let opts = AcquireOptions::new().scope(if a.get(2).is_some_and(|h| h == "handoff") {
                ClaimScope::Handoff
            } else {
                ClaimScope::Full
            });
            if a.get(3).is_some_and(|g| g == "go") {
                let mut go = String::new();
                let _ = std::io::stdin().read_line(&mut go);
            }
            match rec.acquire_with(&a[1], opts) {
                Ok(acq) if acq.warnings.is_empty() => say("held"),
                Ok(acq) => {
                    let w: Vec<String> = acq.warnings.iter().map(|w| w.to_string()).collect();
                    say(&format!("held; warning: {}", w.join("; ")))
                }
                Err(e) => return say(&err_line(&e)),
            }
            // While held, a line `close-tray` runs a drive command and says `ok` or the error;
            // `job LBA` publishes a burn job at LBA of 1000 sectors, `job none` clears it.
            let mut line = String::new();
            while std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {
                let words: Vec<&str> = line.split_whitespace().collect();
                match words.as_slice() {
                    ["close-tray"] => match rec.close_tray() {
                        Ok(()) => say("ok"),
                        Err(e) => say(&err_line(&e)),
                    },
                    ["job", "none"] => match rec.publish_job(None) {
                        Ok(()) => say("ok"),
                        Err(e) => say(&err_line(&e)),
                    },
                    ["job", lba] => {
                        let lba: u64 = lba.parse().expect("job LBA");
                        let job = discrecorder::Job::new(
                            discrecorder::JobAction::WritingData,
                            1000,
                            1_780_000_000_000,
                        )
                        .at(
                            discrecorder::JobAction::WritingData,
                            lba,
                            (lba / 10) as u8,
                            Some(180),
                        );
                        match rec.publish_job(Some(job)) {
                            Ok(()) => say("ok"),
                            Err(e) => say(&err_line(&e)),
                        }
                    }
                    _ => {}
                }
                line.clear();
            }
            let _ = rec.release_exclusive_access();
            say("released");
        }
        // Acquire once and report.
        "try" => match Recorder::open(&a[0]).and_then(|r| {
            r.acquire_exclusive_access(false, &a[1])?;
            r.owner()
        }) {
            Ok(o) => say(&format!("ok {}", o.map(|o| o.name).unwrap_or_default())),
            Err(e) => say(&err_line(&e)),
        },
        // Ask the owner.
        "owner" => match Recorder::open(&a[0]).and_then(|r| r.owner()) {
            Ok(o) => say(&format!("owner {}", o.map(|o| o.name).unwrap_or_default())),
            Err(e) => say(&err_line(&e)),
        },
        // A foreign holder: O_EXCL and a POSIX write lock, as libburn takes them.
        "foreign" => {
            let fd = rustix::fs::open(
                a[0].as_str(),
                OFlags::RDWR | OFlags::NONBLOCK | OFlags::EXCL | OFlags::CLOEXEC,
                Mode::empty(),
            );
            let fd = match fd {
                Ok(fd) => fd,
                Err(e) => return say(&format!("err open {e}")),
            };
            if let Err(e) = rustix::fs::fcntl_lock(&fd, FlockOperation::NonBlockingLockExclusive) {
                return say(&format!("err lock {e}"));
            }
            say("ready");
            wait_stdin_eof();
            drop(fd);
        }
        // A foreign holder with nothing but the kernel's claim: an `O_EXCL` read-only open of
        // every node given, no lock of any kind, no mount (issue 11 A1).
        "excl-only" => {
            let mut fds = Vec::new();
            for path in &a {
                match rustix::fs::open(
                    path.as_str(),
                    OFlags::RDONLY | OFlags::NONBLOCK | OFlags::EXCL | OFlags::CLOEXEC,
                    Mode::empty(),
                ) {
                    Ok(fd) => fds.push(fd),
                    Err(e) => return say(&format!("err open {path} {e}")),
                }
            }
            say("ready");
            wait_stdin_eof();
            drop(fds);
        }
        // A neighbour flooding the kernel's lock table: COUNT one-byte POSIX write locks on
        // every other byte (adjacent ones would merge) of files of its own in DIR, 1000 a file.
        "posix-flood" => {
            let count: usize = a[1].parse().expect("count");
            let mut files = Vec::new();
            for i in 0..count {
                if i % 1000 == 0 {
                    let path = Path::new(&a[0]).join(format!("flood{}", i / 1000));
                    files.push(std::fs::File::create(path).expect("flood file"));
                }
                let lock = format!("{}", 2 * (i % 1000));
                posix_lock_byte(files.last().expect("a file"), lock.parse().expect("offset"));
            }
            say("ready");
            wait_stdin_eof();
        }
        // A foreign program that takes a BSD lock on a node, under a chosen process name.
        "foreign-flock" => {
            // The process name is the main thread's; any thread of the group may set it.
            std::fs::write("/proc/self/comm", a[1].as_bytes()).expect("set comm");
            let fd = rustix::fs::open(
                a[0].as_str(),
                OFlags::RDWR | OFlags::NONBLOCK | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .expect("open node");
            rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive).expect("flock");
            say("ready");
            wait_stdin_eof();
        }
        // A forger that learns what to forge (PATH, TEXT, NODE joined by U+001F, the text's
        // newlines sent as U+001E) from its first stdin line, so that the test can name the
        // file after the forger's PID.
        "forge-wait" => {
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
            let f: Vec<&str> = line.trim_end_matches('\n').split('\u{1f}').collect();
            forge(
                Path::new(f[0]),
                &f[1].replace('\u{1e}', "\n"),
                Path::new(f[2]),
            );
        }
        // A hostile neighbour: a POSIX read lock on a file (an emulated drive's state), held
        // until stdin closes. Says `ready`, or `err open ERRNO` if the file cannot be opened.
        "posix-lock" => {
            let fd = match rustix::fs::open(
                a[0].as_str(),
                OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
                Mode::empty(),
            ) {
                Ok(fd) => fd,
                Err(e) => return say(&format!("err open {e:?}")),
            };
            if let Err(e) = rustix::fs::fcntl_lock(&fd, FlockOperation::NonBlockingLockShared) {
                return say(&format!("err lock {e:?}"));
            }
            say("ready");
            wait_stdin_eof();
            drop(fd);
        }
        // A hostile neighbour racing the name PATH between a regular file and a symlink to
        // TARGET (renames of prepared entries), until stdin closes. Says `ready`, or
        // `err ...` if it may not write the directory.
        "flip" => flip(Path::new(&a[0]), &a[1]),
        // From a separate process: which of the foreign claims would succeed now?
        "check" => say(&check_foreign_claims(Path::new(&a[0]))),
        // Race protocol: "go N" -> try once; "release N" -> release.
        "racer" => racer(&a[0], &a[1], Path::new(&a[2])),
        // Chaos: acquire/nest/release in a loop until killed, checking the marker invariant.
        "contend" => contend(&a[0], &a[1], Path::new(&a[2]), Path::new(&a[3])),
        // Load: waiting acquire, short critical section, release, until the deadline.
        "load" => load(&a[0], &a[1], Path::new(&a[2]), &a[3]),
        other => panic!("unknown probe mode {other}"),
    }
}

/// The "flip" probe: alternately renames a symlink to `target` and a regular file onto `path`.
fn flip(path: &Path, target: &str) {
    let dir = path.parent().expect("parent");
    let me = std::process::id();
    let link = dir.join(format!(".flip-link-{me}"));
    let file = dir.join(format!(".flip-file-{me}"));
    if let Err(e) = std::fs::write(&file, b"") {
        return say(&format!("err write {e}"));
    }
    let _ = std::fs::remove_file(&file);
    say("ready");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopper = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            wait_stdin_eof();
            stop.store(true, Ordering::Relaxed);
        })
    };
    while !stop.load(Ordering::Relaxed) {
        let _ = std::os::unix::fs::symlink(target, &link);
        let _ = std::fs::rename(&link, path);
        let _ = std::fs::write(&file, b"");
        let _ = std::fs::rename(&file, path);
    }
    let _ = stopper.join();
    let _ = std::fs::remove_file(&link);
    let _ = std::fs::remove_file(&file);
}

/// Takes a POSIX write lock on one byte of `file` at `offset` (`fcntl(F_SETLK)`).
fn posix_lock_byte(file: &std::fs::File, offset: i64) {
    use std::os::fd::AsRawFd;
    // SAFETY: `struct flock` is plain integers; F_SETLK reads the one passed and keeps no
    // pointer to it; the descriptor is open for the call.
    let rc = unsafe {
        let mut fl: libc::flock = std::mem::zeroed();
        fl.l_type = libc::F_WRLCK as _;
        fl.l_whence = libc::SEEK_SET as _;
        fl.l_start = offset;
        fl.l_len = 1;
        libc::fcntl(file.as_raw_fd(), libc::F_SETLK, &fl)
    };
    assert_eq!(rc, 0, "F_SETLK: {}", std::io::Error::last_os_error());
}

/// Tries the claims a foreign program would take: `flock(LOCK_SH|LOCK_NB)`, a POSIX write
/// lock, an `O_EXCL` open. Returns `flock=ok|busy posix=ok|busy excl=ok|busy`.
pub fn check_foreign_claims(path: &Path) -> String {
    let plain = rustix::fs::open(
        path,
        OFlags::RDWR | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .expect("open node");
    let flock = rustix::fs::flock(&plain, FlockOperation::NonBlockingLockShared).is_ok();
    let posix = rustix::fs::fcntl_lock(&plain, FlockOperation::NonBlockingLockExclusive).is_ok();
    let excl = rustix::fs::open(
        path,
        OFlags::RDWR | OFlags::NONBLOCK | OFlags::EXCL | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .is_ok();
    let w = |b: bool| if b { "ok" } else { "busy" };
    format!("flock={} posix={} excl={}", w(flock), w(posix), w(excl))
}

/// A forger: writes `text` at `path` and keeps it flocked, as a holder would, then tries to
/// open the device `node` read-write (and flock it); reports `forged open=ok|ERRNO` and keeps
/// everything until stdin closes.
fn forge(path: &Path, text: &str, node: &Path) {
    let fd = rustix::fs::open(
        path,
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o644),
    )
    .expect("create forged record");
    rustix::io::write(&fd, text.as_bytes()).expect("write forged record");
    rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive).expect("flock");
    let opened = rustix::fs::open(
        node,
        OFlags::RDWR | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    );
    match &opened {
        Ok(n) => {
            let _ = rustix::fs::flock(n, FlockOperation::NonBlockingLockExclusive);
            say("forged open=ok");
        }
        Err(e) => say(&format!("forged open={e:?}")),
    }
    wait_stdin_eof();
}

/// The text of a well-formed owner record (for forging one), with `pid`'s real start time, so
/// that the forgery is as good as a forger can make it.
pub fn record_text(client: &str, pid: i32) -> String {
    let start = start_time(pid).unwrap_or(0);
    format!(
        "discrecorder-owner v2\nclient={client}\npid={pid}\nstart={start}\nprogram=discrec\nsince_unix_ms=1\nmode=exclusive\njob={:010}@{:020}\n",
        0, 0
    )
}

/// `/proc/PID/stat` field 22 (start time in clock ticks after boot).
pub fn start_time(pid: i32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    rest.split_ascii_whitespace().nth(19)?.parse().ok()
}

/// The name of the owner record `pid` publishes first for `key` (`blk-M-m` or `emu-NAME`);
/// `alternative` 1..=7 are the names it falls back to.
pub fn record_name(key: &str, pid: i32, alternative: u32) -> String {
    match alternative {
        0 => format!("discrecorder.owner.{key}.{pid}"),
        n => format!("discrecorder.owner.{key}.{pid}.{n}"),
    }
}

/// The independent invariant "one holder at a time": a holder creates `holder` in `dir` with
/// `O_CREAT|O_EXCL` (the kernel arbitrates, not the code under test). A marker left by a dead
/// process (killed while holding) is stale and replaced, and so is one of a process that is
/// exiting: its locks go as its files close, before it is a zombie. Returns false on a violation.
pub fn enter_marker(dir: &Path) -> bool {
    let path = dir.join("holder");
    for _ in 0..3 {
        match rustix::fs::open(
            &path,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o644),
        ) {
            Ok(fd) => {
                let _ = rustix::io::write(&fd, std::process::id().to_string().as_bytes());
                return true;
            }
            Err(rustix::io::Errno::EXIST) => {
                let other: i32 = std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                    .unwrap_or(0);
                if other != 0 && process_alive(other) && !process_exiting(other) {
                    return false;
                }
                let _ = std::fs::remove_file(&path);
            }
            Err(e) => panic!("marker: {e}"),
        }
    }
    false
}

/// Leaves the marker (before releasing).
pub fn leave_marker(dir: &Path) {
    let _ = std::fs::remove_file(dir.join("holder"));
}

/// Whether `pid` has begun to exit (`PF_EXITING` in the flags of `/proc/PID/stat`). A process
/// killed while holding loses its locks as its files close during exit, before it is a zombie:
/// from then on another process may hold the device while this one still shows as alive.
pub fn process_exiting(pid: i32) -> bool {
    const PF_EXITING: u64 = 0x4;
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let (_, rest) = stat.rsplit_once(") ")?;
            rest.split_whitespace().nth(6)?.parse::<u64>().ok()
        })
        .is_none_or(|flags| flags & PF_EXITING != 0)
}

/// Whether `pid` is a live, non-zombie process (from `/proc`, not from the library).
pub fn process_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z') && !rest.starts_with('X')),
        Err(_) => false,
    }
}

fn racer(device: &str, name: &str, dir: &Path) {
    let rec = Recorder::open(device).expect("open recorder");
    say("up");
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let (cmd, round) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        match cmd {
            "go" => match rec.acquire_exclusive_access(false, name) {
                Ok(_) => {
                    if enter_marker(dir) {
                        say(&format!("won {round}"));
                    } else {
                        say(&format!("violation {round}"));
                    }
                }
                Err(e) => say(&format!("lost {round} 0x{:08X}", e.code())),
            },
            "release" => {
                leave_marker(dir);
                let _ = rec.release_exclusive_access();
                say(&format!("released {round}"));
            }
            _ => {}
        }
    }
}

/// What a chaos contender is doing, as one byte in its phase file (see [`contend`]).
pub const PHASES: [(u8, &str); 6] = [
    (b'A', "acquire"),
    (b'H', "hand-off acquire"),
    (b'C', "hand-off child open"),
    (b'N', "nested acquire"),
    (b'n', "nested release"),
    (b'R', "release"),
];

/// The phase file of contender `pid` in `dir`.
pub fn phase_path(dir: &Path, pid: i32) -> PathBuf {
    dir.join(format!("phase.{pid}"))
}

/// Chaos contender: loops acquire (plain or hand-off, at random), nest 1 to 32 deep, unnest,
/// release,
/// until killed. Before each step it writes the step's byte to its phase file with one
/// `pwrite`, so the test can tell which step a SIGKILL interrupted. In hand-off mode it then
/// opens the node with `O_EXCL` itself, as the child program would. Two holders at once (seen by
/// the marker file) is recorded in `dir/violation`.
fn contend(device: &str, name: &str, dir: &Path, node: &Path) {
    use rand::Rng;
    let rec = Recorder::open(device).expect("open recorder");
    let phase_file = std::fs::File::create(phase_path(dir, std::process::id() as i32))
        .expect("create phase file");
    let phase = |b: u8| {
        let _ = rustix::io::pwrite(&phase_file, &[b], 0);
    };
    let mut rng = rand::rng();
    say("up");
    loop {
        let handoff = rng.random_bool(0.5);
        phase(if handoff { b'H' } else { b'A' });
        let opts = AcquireOptions::new()
            .wait(Wait::Timeout(Duration::from_millis(50)))
            .scope(if handoff {
                ClaimScope::Handoff
            } else {
                ClaimScope::Full
            });
        if rec.acquire_with(name, opts).is_err() {
            continue;
        }
        if !enter_marker(dir) {
            let _ = std::fs::write(dir.join("violation"), std::process::id().to_string());
            std::process::exit(99);
        }
        let child = handoff.then(|| {
            phase(b'C');
            rustix::fs::open(
                node,
                OFlags::RDWR | OFlags::NONBLOCK | OFlags::EXCL | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .expect("hand-off child's O_EXCL open")
        });
        let depth = rng.random_range(1..=32);
        phase(b'N');
        for _ in 0..depth {
            let _ = rec.acquire_exclusive_access(false, name);
        }
        phase(b'n');
        for _ in 0..depth {
            let _ = rec.release_exclusive_access();
        }
        drop(child);
        leave_marker(dir);
        phase(b'R');
        let _ = rec.release_exclusive_access();
    }
}

/// Load worker: for `secs` seconds, a waiting acquire (up to 30 s: a deadlock turns into a
/// failure, not a hang), 100 us holding the device (checked by the marker file), release.
/// Ends with `done SERVED MAX_WAIT_US FAILURES` and exits 99 on two holders at once.
fn load(device: &str, name: &str, dir: &Path, secs: &str) {
    let rec = Recorder::open(device).expect("open recorder");
    let secs: f64 = secs.parse().expect("seconds");
    let opts = AcquireOptions::new().wait(Wait::Timeout(Duration::from_secs(30)));
    say("up");
    let mut go = String::new();
    let _ = std::io::stdin().read_line(&mut go);
    let start = std::time::Instant::now();
    let (mut served, mut max_wait, mut failures) = (0u64, Duration::ZERO, 0u64);
    while start.elapsed().as_secs_f64() < secs {
        let asked = std::time::Instant::now();
        if rec.acquire_with(name, opts).is_err() {
            failures += 1;
            continue;
        }
        max_wait = max_wait.max(asked.elapsed());
        if !enter_marker(dir) {
            let _ = std::fs::write(dir.join("violation"), std::process::id().to_string());
            std::process::exit(99);
        }
        std::thread::sleep(Duration::from_micros(100));
        leave_marker(dir);
        let _ = rec.release_exclusive_access();
        served += 1;
    }
    say(&format!(
        "done {served} {} {failures}",
        max_wait.as_micros()
    ));
}

/// How long the load test runs: `DISCREC_LOAD_SECS` if set (60 in the long run of
/// `tests/reliability/run.sh`), else `default`.
pub fn load_secs(default: f64) -> f64 {
    std::env::var("DISCREC_LOAD_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Load: `procs` processes, spread evenly over `devices`, each looping waiting acquire, a short
/// critical section and release for `secs` seconds, all started at once. Asserts that no device
/// ever had two holders (marker file per device), that every process finished (no deadlock:
/// each waits at most 30 s per acquire) and was served at least once (no starvation), and that
/// no acquire failed. Prints one `load:` summary line with handoffs per second, the longest
/// wait and the least-served process.
pub fn load_run(devices: &[String], procs: usize, secs: f64) {
    let markers: Vec<tempfile::TempDir> = devices
        .iter()
        .map(|_| tempfile::tempdir().expect("tempdir"))
        .collect();
    let secs_arg = secs.to_string();
    let mut workers: Vec<(usize, Probe)> = (0..procs)
        .map(|i| {
            let d = i % devices.len();
            let dir = markers[d].path().to_str().expect("utf8");
            let name = format!("Load {i}");
            (d, probe("load", &[&devices[d], &name, dir, &secs_arg]))
        })
        .collect();
    for (_, w) in &mut workers {
        assert_eq!(w.line(), "up");
    }
    let start = std::time::Instant::now();
    for (_, w) in &mut workers {
        w.send("go");
    }
    let mut served = vec![0u64; devices.len()];
    let (mut least, mut max_wait_us, mut failures) = (u64::MAX, 0u64, 0u64);
    for (d, w) in &mut workers {
        let line = w.line();
        let f: Vec<u64> = line
            .strip_prefix("done ")
            .unwrap_or_else(|| panic!("worker on {}: {line}", devices[*d]))
            .split(' ')
            .map(|x| x.parse().expect("number"))
            .collect();
        served[*d] += f[0];
        least = least.min(f[0]);
        max_wait_us = max_wait_us.max(f[1]);
        failures += f[2];
    }
    let elapsed = start.elapsed().as_secs_f64();
    for (i, m) in markers.iter().enumerate() {
        assert!(
            !m.path().join("violation").exists(),
            "two holders at once on {}",
            devices[i]
        );
    }
    let total: u64 = served.iter().sum();
    println!(
        "load: {procs} processes on {} devices for {elapsed:.1} s: {total} handoffs \
         ({:.0}/s; per device {served:?}), longest wait {:.1} ms, least-served process {least}, \
         {failures} failed acquires",
        devices.len(),
        total as f64 / elapsed,
        max_wait_us as f64 / 1000.0
    );
    assert_eq!(failures, 0, "acquires gave up after waiting 30 s");
    assert!(least > 0, "a process was never served (starvation)");
}

/// What `/proc/locks` holds on the inode of `path`, read here without the library's parser:
/// the lines whose `MAJ:MIN:INO` field names it.
pub fn kernel_locks_on(path: &Path) -> Vec<String> {
    let st = rustix::fs::stat(path).expect("stat node");
    let field = format!(
        "{:02x}:{:02x}:{}",
        rustix::fs::major(st.st_dev),
        rustix::fs::minor(st.st_dev),
        st.st_ino
    );
    std::fs::read_to_string("/proc/locks")
        .expect("read /proc/locks")
        .lines()
        .filter(|l| l.split_whitespace().any(|f| f == field))
        .map(str::to_owned)
        .collect()
}

/// Starts `discrec lock DEVICE --name NAME -- sh -c SCRIPT` and returns it with the first line
/// the script prints (printed once the device is held).
pub fn lock_running_sh(device: &str, name: &str, script: &str) -> (Child, String) {
    lock_running_sh_with(Path::new(DISCREC), device, name, &[], script, |_| {})
}

/// [`lock_running_sh`] with the `discrec` executable `exe`, lock `options` (such as `-o`), and
/// `adjust` applied to the command
/// (its user, environment, stderr) before it starts.
pub fn lock_running_sh_with(
    exe: &Path,
    device: &str,
    name: &str,
    options: &[&str],
    script: &str,
    adjust: impl FnOnce(&mut Command),
) -> (Child, String) {
    let mut cmd = Command::new(exe);
    cmd.args(["lock", device, "--name", name])
        .args(options)
        .args(["--", "sh", "-c", script])
        .stdout(Stdio::piped());
    adjust(&mut cmd);
    let mut lock = cmd.spawn().expect("spawn discrec lock");
    let mut line = String::new();
    BufReader::new(lock.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read");
    (lock, line)
}

/// Loop devices, mounts and device-node ownership are machine-wide: tests of a binary that
/// change them take this, one at a time.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// The backing file of an emulated device of this (root or test) user.
pub fn emu_backing(spec: &str) -> PathBuf {
    init();
    discrecorder::testing::backing_path(spec.strip_prefix("emu:").expect("emu spec"))
}

/// The backing file of a shared emulated device.
pub fn emu_shared_backing(spec: &str) -> PathBuf {
    init();
    discrecorder::testing::shared_backing_path(spec.strip_prefix("emu:").expect("emu spec"))
}

/// Sets up the shared directory of emulated devices in the test runtime directory, as an
/// administrator would (root's, mode 1777: every user may share); needs root.
pub fn enable_shared_emu() -> PathBuf {
    let dir = init().join(discrecorder::emu::SHARED_DIR);
    match std::fs::create_dir(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => panic!("create {}: {e}", dir.display()),
    }
    rustix::fs::chmod(&dir, Mode::from_raw_mode(0o1777)).expect("chmod 1777");
    dir
}

/// Runs `discrec ARGS`; returns (status code, stdout, stderr).
pub fn discrec(args: &[&str]) -> (i32, String, String) {
    discrec_in(init(), args)
}

/// Runs `discrec ARGS` with `runtime` as its runtime directory.
pub fn discrec_in(runtime: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(DISCREC)
        .args(args)
        .env("DISCRECORDER_RUNTIME_DIR", runtime)
        .output()
        .expect("run discrec");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A loop device backed by a sparse image, detached (and its mounts undone) when dropped.
pub struct LoopDev {
    pub path: PathBuf,
    _dir: tempfile::TempDir,
    pub mount_dirs: Vec<PathBuf>,
}

fn run(cmd: &str, args: &[&str]) -> std::process::Output {
    Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"))
}

fn run_ok(cmd: &str, args: &[&str]) -> String {
    let out = run(cmd, args);
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

impl LoopDev {
    /// A 16 MiB loop device, with an ext2 file system when `mkfs`.
    pub fn new(mkfs: bool) -> LoopDev {
        let dir = tempfile::tempdir().expect("tempdir");
        let img = dir.path().join("disk.img");
        let f = std::fs::File::create(&img).expect("image");
        f.set_len(16 << 20).expect("size image");
        drop(f);
        if mkfs {
            run_ok("mkfs.ext2", &["-q", "-F", img.to_str().expect("utf8")]);
        }
        let path = PathBuf::from(run_ok(
            "losetup",
            &["-f", "--show", img.to_str().expect("utf8")],
        ));
        LoopDev {
            path,
            _dir: dir,
            mount_dirs: Vec::new(),
        }
    }

    /// A 16 MiB loop device with an MBR partition table of one partition (sectors 2048 to the
    /// end), attached with `losetup -P` so the kernel makes `/dev/loopNp1`.
    pub fn partitioned() -> LoopDev {
        let dir = tempfile::tempdir().expect("tempdir");
        let img = dir.path().join("disk.img");
        let sectors: u32 = (16 << 20) / 512;
        let mut mbr = vec![0u8; 512];
        let entry = &mut mbr[446..462];
        entry[4] = 0x83; // Linux
        entry[8..12].copy_from_slice(&2048u32.to_le_bytes());
        entry[12..16].copy_from_slice(&(sectors - 2048).to_le_bytes());
        mbr[510] = 0x55;
        mbr[511] = 0xAA;
        std::fs::write(&img, &mbr).expect("image");
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&img)
            .expect("image");
        f.set_len(16 << 20).expect("size image");
        drop(f);
        let path = PathBuf::from(run_ok(
            "losetup",
            &["-P", "-f", "--show", img.to_str().expect("utf8")],
        ));
        LoopDev {
            path,
            _dir: dir,
            mount_dirs: Vec::new(),
        }
    }

    /// The first partition's node (`/dev/loopNp1`). Kernels built without the MBR parser do
    /// not scan the table themselves: then `partx -a` reads it and adds the partition (BLKPG).
    pub fn partition1(&self) -> String {
        let p = format!("{}p1", self.dev());
        for attempt in 0..100 {
            if Path::new(&p).exists() {
                break;
            }
            if attempt == 10 {
                run_ok("partx", &["-a", self.dev()]);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        p
    }

    /// The device path as a string.
    pub fn dev(&self) -> &str {
        self.path.to_str().expect("utf8 path")
    }

    /// Mounts the file system on a fresh directory and returns it.
    pub fn mount(&mut self) -> PathBuf {
        let point = self
            ._dir
            .path()
            .join(format!("mnt{}", self.mount_dirs.len()));
        std::fs::create_dir_all(&point).expect("mount point");
        run_ok("mount", &[self.dev(), point.to_str().expect("utf8")]);
        self.mount_dirs.push(point.clone());
        point
    }

    /// Whether `point` is mounted now (from mountinfo, read here).
    pub fn is_mounted(point: &Path) -> bool {
        let text = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
        let p = point.to_str().expect("utf8");
        text.lines()
            .any(|l| l.split(' ').nth(4).is_some_and(|m| m == p))
    }

    /// Detaches the loop device now (the device disappears).
    pub fn detach(&self) {
        run_ok("losetup", &["-d", self.dev()]);
    }
}

impl Drop for LoopDev {
    fn drop(&mut self) {
        for point in self.mount_dirs.iter().rev() {
            if LoopDev::is_mounted(point) {
                let out = run("umount", &[point.to_str().unwrap_or("")]);
                if !out.status.success() {
                    let _ = run("umount", &["-l", point.to_str().unwrap_or("")]);
                }
            }
        }
        let _ = run("losetup", &["-d", self.dev()]);
    }
}

/// Opens a plain descriptor (for tests that need one).
pub fn open_plain(path: &Path) -> OwnedFd {
    rustix::fs::open(
        path,
        OFlags::RDWR | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .expect("open")
}

/// Starts 16 racer processes on `device` and runs `rounds` rounds: each round every racer tries
/// once, at once; exactly one must win (checked by the racers' replies and by the independent
/// marker file), losers must get `E_ACCESSDENIED`, and the winner then releases.
pub fn race_rounds(device: &str, rounds: u32) {
    let markers = tempfile::tempdir().expect("tempdir");
    let dir = markers.path().to_str().expect("utf8").to_owned();
    let mut racers: Vec<Probe> = (0..16)
        .map(|i| probe("racer", &[device, &format!("Racer {i}"), &dir]))
        .collect();
    for r in &mut racers {
        assert_eq!(r.line(), "up");
    }
    for round in 0..rounds {
        for r in &mut racers {
            r.send(&format!("go {round}"));
        }
        let mut winners = Vec::new();
        for (i, r) in racers.iter_mut().enumerate() {
            let line = r.line();
            assert!(!line.starts_with("violation"), "round {round}: {line}");
            if line.starts_with("won") {
                winners.push(i);
            } else {
                assert!(
                    line.starts_with(&format!("lost {round} 0x80070005")),
                    "round {round}: {line}"
                );
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}");
        let w = winners[0];
        racers[w].send(&format!("release {round}"));
        assert_eq!(racers[w].line(), format!("released {round}"));
    }
    println!("race: {device}: {rounds} rounds of 16 processes, one winner each, 0 failures");
}

/// How many chaos rounds to run: `DISCREC_CHAOS_ROUNDS` if set (the long run of
/// `tests/reliability/run.sh`), else `default`.
pub fn chaos_rounds(default: u32) -> u32 {
    std::env::var("DISCREC_CHAOS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Chaos: for `rounds` rounds, two contender processes loop acquire (plain or hand-off), nested
/// acquire, release on `device` (node `node`) and are both killed with SIGKILL at random
/// instants (the first aimed at a phase picked at random). After each round, checks that do not rely on the code under test: the kernel lists
/// no lock on the node, a foreign process could take every claim, the marker file saw no double
/// holding; then the library sees no owner and re-acquires at once. Across the rounds, kills must
/// have landed in each phase of [`PHASES`] (nesting's two counted as one, the child's open
/// not required), and while a holder held the
/// device. Prints one `chaos:` summary line.
pub fn crash_rounds(device: &str, node: &Path, rounds: u32) {
    use rand::Rng;
    let markers = tempfile::tempdir().expect("tempdir");
    let dir = markers.path().to_str().expect("utf8");
    let node_arg = node.to_str().expect("utf8 node");
    let checker = Recorder::open(device).expect("open recorder");
    let mut rng = rand::rng();
    let mut killed_holding = 0;
    let mut by_phase = [0u32; PHASES.len()];
    let mut count_phase = |pid: i32| {
        let byte = std::fs::read(phase_path(markers.path(), pid)).unwrap_or_default();
        if let Some(i) = PHASES.iter().position(|(b, _)| byte.first() == Some(b)) {
            by_phase[i] += 1;
        }
    };
    for round in 0..rounds {
        let mut a = probe("contend", &[device, "Chaos A", dir, node_arg]);
        let mut b = probe("contend", &[device, "Chaos B", dir, node_arg]);
        assert_eq!(a.line(), "up");
        assert_eq!(b.line(), "up");
        std::thread::sleep(Duration::from_micros(rng.random_range(0..2000)));
        let (victim, survivor) = if rng.random_bool(0.5) { (a, b) } else { (b, a) };
        let (vpid, spid) = (victim.pid(), survivor.pid());
        // Aim the first kill at a phase picked at random, so that short phases get their share:
        // watch the victim's phase byte for up to 20 ms and kill as soon as it shows the target.
        let target = PHASES[rng.random_range(0..PHASES.len())].0;
        let watch = std::fs::File::open(phase_path(markers.path(), vpid)).expect("phase file");
        let deadline = std::time::Instant::now() + Duration::from_millis(20);
        let mut byte = [0u8];
        while std::time::Instant::now() < deadline {
            if rustix::io::pread(&watch, &mut byte, 0).is_ok_and(|n| n == 1) && byte[0] == target {
                break;
            }
        }
        victim.kill();
        if markers.path().join("holder").exists() {
            killed_holding += 1;
        }
        count_phase(vpid);
        std::thread::sleep(Duration::from_micros(rng.random_range(0..2000)));
        survivor.kill();
        count_phase(spid);
        assert!(
            kernel_locks_on(node).is_empty(),
            "round {round}: locks left: {:?}",
            kernel_locks_on(node)
        );
        assert_eq!(
            check_foreign_claims(node),
            "flock=ok posix=ok excl=ok",
            "round {round}"
        );
        assert!(
            !markers.path().join("violation").exists(),
            "round {round}: two holders at once"
        );
        assert_eq!(
            checker.owner().expect("owner"),
            None,
            "round {round}: stale owner"
        );
        checker
            .acquire_exclusive_access(false, "Checker")
            .unwrap_or_else(|e| panic!("round {round}: re-acquire failed: {e}"));
        checker.release_exclusive_access().expect("release");
        leave_marker(markers.path());
    }
    let phases: Vec<String> = PHASES
        .iter()
        .zip(by_phase)
        .map(|((_, name), n)| format!("{name} {n}"))
        .collect();
    println!(
        "chaos: {device}: {rounds} rounds, {} kills, {killed_holding} while holding, 0 failures; \
         kills by phase: {}",
        2 * rounds,
        phases.join(", ")
    );
    assert!(
        killed_holding > 0,
        "no kill landed while a holder held the device"
    );
    // Nesting is a count in memory (nanoseconds): kills landing in it are counted together.
    let phase = |b: u8| by_phase[PHASES.iter().position(|p| p.0 == b).expect("phase")];
    for (name, n) in [
        ("acquire", phase(b'A')),
        ("hand-off acquire", phase(b'H')),
        ("nested acquire or release", phase(b'N') + phase(b'n')),
        ("release", phase(b'R')),
    ] {
        assert!(n > 0, "no kill landed in the {name} phase: {phases:?}");
    }
}
