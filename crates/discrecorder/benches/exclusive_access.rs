//! Exclusive-access latency against the raw system-call floor, in one run.
//!
//! Two groups, one per device, each with the same rows:
//!
//! - `excl_emu`: an emulated recorder, `emu:bench-PID`, always;
//! - `excl_loop`: a loop device over a 64 MiB sparse image, attached by the bench itself when it
//!   runs as root (detached by a guard on every exit path, panics included), skipped otherwise.
//!
//! Rows:
//!
//! - `cycle`: `acquire_exclusive_access` + `release_exclusive_access` through a [`Recorder`],
//!   lock count 0 -> 1 -> 0;
//! - `nested_acquire`: only the acquire of count 1 -> 2 (goal < 100 ns); the matching releases
//!   run untimed after each batch;
//! - `nested_pair`: nested acquire + release, count 1 -> 2 -> 1;
//! - `owner_query_other_process` (or `owner_query_same_process`, see below):
//!   `exclusive_access_owner()` from a recorder that does not hold the device while another
//!   holds it (goal < 50 us);
//! - `owner_query_free`: the same query on a free device;
//! - `floor`: `open(O_RDWR|O_NONBLOCK|O_EXCL|O_CLOEXEC)` + `flock(LOCK_EX|LOCK_NB)` + `close`
//!   with rustix directly (emulated device: its backing file, opened the way the library opens
//!   it, without `O_EXCL`, which means nothing for a regular file without `O_CREAT`);
//! - `floor_posix`: `floor` plus a whole-file POSIX write lock (`fcntl(F_SETLK)`) before close;
//! - `floor_claims` (loop only): every kernel claim the library takes on a block device and
//!   nothing else: plain open + `flock`, `O_EXCL` open + POSIX lock, two closes.
//!
//! The owner query's holder is another process when a `discrec` binary is found
//! (`$CARGO_TARGET_DIR/release/discrec`, else the workspace's `target/release/discrec`): it runs
//! `discrec lock DEVICE --name Holder -- sleep 1000` in its own process group, killed by a guard.
//! Without the binary a second recorder of this process holds the device, and the row is named
//! `owner_query_same_process` (that query is answered from the process's own table).
//!
//! Owner records and emulated devices go to a fresh runtime directory (mode 1777) under
//! `$DISCRECORDER_BENCH_TMPDIR` (default: `/dev/shm`, the library's own default), exported as
//! `DISCRECORDER_RUNTIME_DIR` before the library is first used. `benches/run.sh` runs this and
//! prints the ratios to the floor.

mod support;

use std::hint::black_box;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::Criterion;
use discrecorder::Recorder;
use rustix::fs::{FlockOperation, Mode, OFlags};
use support::{make_runtime_dir, EmuDevice, LoopDevice, TempDir};

/// The client name every benchmark acquires with.
const NAME: &str = "Bench";
/// The holder's client name in the owner-query rows.
const HOLDER: &str = "Holder";

/// Who holds the device during the owner-query rows.
enum Holder {
    /// `discrec lock` in its own process group.
    Process(Child),
    /// A recorder of this process (boxed: a recorder is much larger than a child handle).
    Local(Box<Recorder>),
}

impl Holder {
    fn start(device: &str) -> Holder {
        if let Some(discrec) = find_discrec() {
            match Self::spawn(&discrec, device) {
                Ok(h) => return h,
                Err(why) => eprintln!(
                    "bench: {}: holder process failed ({why}); falling back to a holder in this process",
                    discrec.display()
                ),
            }
        } else {
            eprintln!(
                "bench: no discrec binary (build it: cargo build --release -p discrec); \
                 the owner query is measured with a holder in this process"
            );
        }
        let rec = Recorder::open(device).expect("open the holder's recorder");
        rec.acquire_exclusive_access(false, HOLDER)
            .expect("holder acquires");
        Holder::Local(Box::new(rec))
    }

    fn spawn(discrec: &Path, device: &str) -> Result<Holder, String> {
        let child = Command::new(discrec)
            .args(["lock", device, "--name", HOLDER, "--", "sleep", "1000"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| e.to_string())?;
        let holder = Holder::Process(child);
        let probe = Recorder::open(device).map_err(|e| e.to_string())?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(o)) = probe.owner() {
                if o.name == HOLDER && o.pid != Some(std::process::id() as i32) {
                    eprintln!(
                        "bench: {device} held by {} for the owner query",
                        o.describe()
                    );
                    return Ok(holder);
                }
            }
            if Instant::now() > deadline {
                return Err(format!("{device} not held by {HOLDER} after 10 s"));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn row(&self) -> &'static str {
        match self {
            Holder::Process(_) => "owner_query_other_process",
            Holder::Local(_) => "owner_query_same_process",
        }
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        match self {
            Holder::Process(child) => {
                // The holder and its `sleep` are the only members of the group we created.
                if let Some(pgid) = i32::try_from(child.id())
                    .ok()
                    .and_then(rustix::process::Pid::from_raw)
                {
                    let _ =
                        rustix::process::kill_process_group(pgid, rustix::process::Signal::KILL);
                }
                let _ = child.wait();
            }
            Holder::Local(rec) => {
                let _ = rec.release_exclusive_access();
            }
        }
    }
}

/// The `discrec` binary of this workspace, if built in release mode.
fn find_discrec() -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        candidates.push(PathBuf::from(dir).join("release/discrec"));
    }
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/release/discrec"));
    candidates.into_iter().find(|p| p.is_file())
}

/// How often a floor's `flock` met `EWOULDBLOCK` and was retried.
static FLOCK_RETRIES: AtomicU64 = AtomicU64::new(0);

/// `flock(LOCK_EX|LOCK_NB)`, retried on `EWOULDBLOCK`. A closed descriptor's `flock` lives on
/// while another process holds a reference to the same open file, which anyone scanning
/// `/proc/PID/fd` (lsof, or `discrec` naming the openers of a device) takes for a moment; the
/// library retries for that reason too. Retries are counted and reported.
fn flock_retrying(fd: &OwnedFd) {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        match rustix::fs::flock(fd, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return,
            Err(rustix::io::Errno::WOULDBLOCK) if Instant::now() < deadline => {
                FLOCK_RETRIES.fetch_add(1, Ordering::Relaxed);
                std::thread::yield_now();
            }
            Err(e) => panic!("floor: flock: {e}"),
        }
    }
}

/// `floor`: the kernel's exclusive open, a `flock`, and close.
fn floor(path: &Path, flags: OFlags) {
    let fd = rustix::fs::open(path, flags, Mode::empty()).expect("floor: open");
    flock_retrying(&fd);
    drop(black_box(fd));
}

/// `floor_posix`: `floor` plus a whole-file POSIX write lock, dropped by the close.
fn floor_posix(path: &Path, flags: OFlags) {
    let fd = rustix::fs::open(path, flags, Mode::empty()).expect("floor: open");
    flock_retrying(&fd);
    rustix::fs::fcntl_lock(&fd, FlockOperation::NonBlockingLockExclusive).expect("floor: F_SETLK");
    drop(black_box(fd));
}

/// `floor_claims`: exactly the kernel claims the library holds on a block device.
fn floor_claims(path: &Path) {
    let plain = OFlags::RDWR | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let lock_fd = rustix::fs::open(path, plain, Mode::empty()).expect("claims: open");
    flock_retrying(&lock_fd);
    let excl = rustix::fs::open(path, plain | OFlags::EXCL, Mode::empty()).expect("claims: excl");
    rustix::fs::fcntl_lock(&excl, FlockOperation::NonBlockingLockExclusive)
        .expect("claims: F_SETLK");
    drop(black_box(excl));
    drop(black_box(lock_fd));
}

/// Every row on one device. `node` is what the floors open; `block` says whether it is a block
/// device (`O_EXCL` applies).
fn bench_device(c: &mut Criterion, group_name: &str, device: &str, node: &Path, block: bool) {
    let mut g = c.benchmark_group(group_name);
    let rec = Recorder::open(device).expect("open the recorder");

    g.bench_function("cycle", |b| {
        b.iter(|| {
            let acquired = rec
                .acquire_exclusive_access(false, NAME)
                .expect("acquire 0 -> 1");
            black_box(acquired);
            rec.release_exclusive_access().expect("release 1 -> 0")
        })
    });

    rec.acquire_exclusive_access(false, NAME)
        .expect("acquire for the nested rows");
    g.bench_function("nested_acquire", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(
                    rec.acquire_exclusive_access(false, black_box(NAME))
                        .expect("nested acquire"),
                );
            }
            let elapsed = start.elapsed();
            for _ in 0..iters {
                rec.release_exclusive_access().expect("nested release");
            }
            elapsed
        })
    });
    g.bench_function("nested_pair", |b| {
        b.iter(|| {
            black_box(
                rec.acquire_exclusive_access(false, black_box(NAME))
                    .expect("acquire 1 -> 2"),
            );
            rec.release_exclusive_access().expect("release 2 -> 1")
        })
    });
    assert_eq!(rec.release_exclusive_access().expect("release 1 -> 0"), 0);

    let flags = if block {
        OFlags::RDWR | OFlags::NONBLOCK | OFlags::EXCL | OFlags::CLOEXEC
    } else {
        OFlags::RDWR | OFlags::NONBLOCK | OFlags::CLOEXEC
    };
    g.bench_function("floor", |b| b.iter(|| floor(node, flags)));
    g.bench_function("floor_posix", |b| b.iter(|| floor_posix(node, flags)));
    if block {
        g.bench_function("floor_claims", |b| b.iter(|| floor_claims(node)));
    }

    g.bench_function("owner_query_free", |b| {
        b.iter(|| {
            let name = rec.exclusive_access_owner().expect("owner query");
            assert!(name.is_empty(), "device should be free, owner is {name:?}");
            name
        })
    });

    let holder = Holder::start(device);
    let query = Recorder::open(device).expect("open the querying recorder");
    assert_eq!(
        query.exclusive_access_owner().expect("owner query"),
        HOLDER,
        "the holder should be visible"
    );
    g.bench_function(holder.row(), |b| {
        b.iter(|| query.exclusive_access_owner().expect("owner query"))
    });
    drop(holder);
    g.finish();
}

fn main() {
    let tmp = TempDir::new();
    let runtime = make_runtime_dir(&tmp);
    // Single-threaded still: nothing has read the environment yet.
    std::env::set_var("DISCRECORDER_RUNTIME_DIR", &runtime);
    eprintln!("bench: DISCRECORDER_RUNTIME_DIR={}", runtime.display());

    let mut c = Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_millis(800))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();

    {
        let name = format!("bench-{}", std::process::id());
        let spec = format!("emu:{name}");
        let _emu = EmuDevice::create(&name);
        Recorder::open(&spec).expect("create the emulated recorder");
        let node = discrecorder::testing::backing_path(&name);
        bench_device(&mut c, "excl_emu", &spec, &node, false);
    }

    if rustix::process::geteuid().is_root() {
        match LoopDevice::attach(tmp.path()) {
            Ok(lo) => {
                eprintln!("bench: attached {}", lo.node);
                bench_device(&mut c, "excl_loop", &lo.node, Path::new(&lo.node), true);
            }
            Err(why) => eprintln!("bench: SKIPPING the loop-device group: {why}"),
        }
    } else {
        eprintln!(
            "bench: SKIPPING the loop-device group: attaching a loop device needs root \
             (run as root, e.g. sudo -E benches/run.sh)"
        );
    }

    let retries = FLOCK_RETRIES.load(Ordering::Relaxed);
    if retries > 0 {
        eprintln!("bench: the floors' flock met EWOULDBLOCK and retried {retries} times");
    }
    c.final_summary();
}
