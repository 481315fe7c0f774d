//! Handoff latency: a waiter blocked on a held device; the holder (another process) releases, or
//! is killed with SIGKILL; the time from that instant until the waiter holds the device.
//!
//! Rows, per device (an emulated recorder always; a loop device when run as root):
//!
//! - `release`: the holder calls `release_exclusive_access`; T0 is read by the holder just
//!   before the call;
//! - `sigkill`: the bench sends SIGKILL to the holder; T0 is read just before `kill(2)`;
//! - `floor release` / `floor sigkill`: the same with no library at all: the holder has a bare
//!   `flock(LOCK_EX)` on the node and the waiter sleeps in a *blocking* `flock(LOCK_EX)`, so the
//!   kernel itself wakes it. This is the fastest handoff Linux offers between processes.
//!
//! In every row the waiter is a thread of this process that waits (library: `acquire_with` with
//! `Wait::Forever`; floor: blocking `flock`); the holder lets go only once the waiter sleeps in
//! the kernel (`/proc/self/task/TID/syscall`); T1 is read as soon as the waiter holds the device. T0 and T1 are
//! `CLOCK_MONOTONIC`, one clock for every process. Holders are this same executable run again
//! with `HANDOFF_ROLE` set.
//!
//! `HANDOFF_ROUNDS` (default 1000) handoffs per row. Prints, per row, the median, the 10th and
//! 99th percentiles and the maximum, and the median's ratio to the floor's.
//!
//!     cargo bench -p discrecorder --bench handoff            # as root for the loop rows

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use discrecorder::{AcquireOptions, Recorder, Wait};
use rustix::fs::{FlockOperation, Mode, OFlags};
use support::{make_runtime_dir, EmuDevice, LoopDevice, TempDir};

/// `CLOCK_MONOTONIC` in nanoseconds: comparable between processes.
fn now_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// Returns once thread `tid` of this process sleeps in `ppoll`/`poll` (the library waiting for
/// a change) or `flock` (the floor), read from `/proc/self/task/TID/syscall`.
fn wait_until_blocked(tid: i32) {
    const POLL: u64 = 7;
    const FLOCK: u64 = 73;
    const PPOLL: u64 = 271;
    let path = format!("/proc/self/task/{tid}/syscall");
    let start = std::time::Instant::now();
    loop {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let nr = text
            .split(' ')
            .next()
            .and_then(|n| n.trim().parse::<u64>().ok());
        if matches!(nr, Some(POLL | FLOCK | PPOLL)) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "waiter thread {tid} never blocked (syscall: {text:?})"
        );
        std::thread::sleep(Duration::from_micros(50));
    }
}

fn open_node(node: &str) -> std::os::fd::OwnedFd {
    rustix::fs::open(
        node,
        OFlags::RDWR | OFlags::CLOEXEC | OFlags::NONBLOCK,
        Mode::empty(),
    )
    .expect("open the device node")
}

/// The holder side, in a child process. Roles:
/// `lib-cycle`: acquire (waiting), say `held`; on a `go` line read T0, release, print T0; on a
/// `take` line start over; `lib-hold`: acquire, say `held`, sleep until killed; `floor-cycle` and
/// `floor-hold`: the same with a bare blocking `flock` on the node.
fn holder(role: &str, device: &str) {
    let wait_forever = AcquireOptions::new().wait(Wait::Forever);
    match role {
        "lib-cycle" | "lib-hold" => {
            let rec = Recorder::open(device).expect("holder opens the recorder");
            hold(
                role == "lib-hold",
                || {
                    rec.acquire_with("Holder", wait_forever)
                        .expect("holder acquires");
                },
                || {
                    rec.release_exclusive_access().expect("holder releases");
                },
            );
        }
        "floor-cycle" | "floor-hold" => {
            let fd = open_node(device);
            hold(
                role == "floor-hold",
                || rustix::fs::flock(&fd, FlockOperation::LockExclusive).expect("holder flock"),
                || rustix::fs::flock(&fd, FlockOperation::Unlock).expect("holder unlock"),
            );
        }
        other => panic!("unknown HANDOFF_ROLE {other}"),
    }
}

/// The holder's protocol around `take` and `give`: take, say `held`; then either sleep until
/// killed (`until_killed`), or on a `go` line read T0, give, print T0, and on a `take` line
/// start over. It takes the device again only when told, so the waiter wins each handoff.
fn hold(until_killed: bool, take: impl Fn(), give: impl Fn()) {
    let mut out = std::io::stdout().lock();
    let mut lines = std::io::stdin().lock().lines();
    loop {
        take();
        writeln!(out, "held")
            .and_then(|()| out.flush())
            .expect("say");
        if until_killed {
            loop {
                std::thread::sleep(Duration::from_secs(1000));
            }
        }
        let Some(Ok(_go)) = lines.next() else { return };
        let t0 = now_ns();
        give();
        writeln!(out, "{t0}")
            .and_then(|()| out.flush())
            .expect("say");
        let Some(Ok(_take)) = lines.next() else {
            return;
        };
    }
}

struct Holder {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Holder {
    fn spawn(role: &str, device: &str) -> Holder {
        let mut child = Command::new(std::env::current_exe().expect("own executable"))
            .env("HANDOFF_ROLE", role)
            .env("HANDOFF_DEVICE", device)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn holder");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Holder {
            child,
            stdin,
            stdout,
        }
    }

    fn line(&mut self) -> String {
        let mut l = String::new();
        self.stdout.read_line(&mut l).expect("read holder");
        assert!(!l.is_empty(), "holder ended");
        l.trim().to_owned()
    }

    /// Lets go (release) and returns the holder's T0.
    fn release(&mut self) -> u64 {
        writeln!(self.stdin, "go").expect("send go");
        self.line().parse().expect("T0")
    }

    /// SIGKILLs the holder and returns T0, read just before `kill(2)`.
    fn kill(mut self) -> u64 {
        let pid = rustix::process::Pid::from_child(&self.child);
        let t0 = now_ns();
        rustix::process::kill_process(pid, rustix::process::Signal::KILL).expect("SIGKILL");
        let _ = self.child.wait();
        t0
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One row on recorder `spec` (node `node`): `rounds` handoffs; returns the latencies in ns.
fn row(spec: &str, node: &str, library: bool, sigkill: bool, rounds: usize) -> Vec<u64> {
    let role = match (library, sigkill) {
        (true, false) => "lib-cycle",
        (true, true) => "lib-hold",
        (false, false) => "floor-cycle",
        (false, true) => "floor-hold",
    };
    let rec = Recorder::open(spec).expect("waiter opens the recorder");
    let floor_fd = open_node(node);
    let device = if library { spec } else { node };
    let wait_forever = AcquireOptions::new().wait(Wait::Forever);
    let mut cycling = (!sigkill).then(|| Holder::spawn(role, device));
    let mut out = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let mut holder = match cycling.take() {
            Some(h) => h,
            None => Holder::spawn(role, device),
        };
        assert_eq!(holder.line(), "held");
        let (t0, t1) = std::thread::scope(|s| {
            let (tid_tx, tid_rx) = std::sync::mpsc::channel();
            let (rec, floor_fd) = (&rec, &floor_fd);
            let waiter = s.spawn(move || {
                let _ = tid_tx.send(rustix::thread::gettid().as_raw_nonzero().get());
                if library {
                    rec.acquire_with("Waiter", wait_forever)
                        .expect("waiter acquires");
                } else {
                    rustix::fs::flock(floor_fd, FlockOperation::LockExclusive)
                        .expect("waiter flock");
                }
                now_ns()
            });
            wait_until_blocked(tid_rx.recv().expect("waiter's tid"));
            let t0 = if sigkill {
                holder.kill()
            } else {
                let t0 = holder.release();
                cycling = Some(holder);
                t0
            };
            (t0, waiter.join().expect("waiter thread"))
        });
        out.push(t1.saturating_sub(t0));
        // Give the device back, and let a cycling holder take it again for the next round.
        if library {
            rec.release_exclusive_access().expect("waiter releases");
        } else {
            rustix::fs::flock(&floor_fd, FlockOperation::Unlock).expect("waiter unlock");
        }
        if let Some(h) = cycling.as_mut() {
            writeln!(h.stdin, "take").expect("send take");
        }
    }
    out
}

fn fmt(ns: u64) -> String {
    if ns >= 1_000_000 {
        format!("{:.2} ms", ns as f64 / 1e6)
    } else {
        format!("{:.1} us", ns as f64 / 1e3)
    }
}

fn pct(sorted: &[u64], p: f64) -> u64 {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn bench_device(spec: &str, node: &str, label: &str, rounds: usize) {
    println!("\n{label} ({spec}), {rounds} handoffs per row");
    println!(
        "{:<16} {:>10} {:>10} {:>10} {:>10} {:>9}",
        "row", "median", "p10", "p99", "max", "x floor"
    );
    for sigkill in [false, true] {
        let mut floor = row(spec, node, false, sigkill, rounds);
        let mut lib = row(spec, node, true, sigkill, rounds);
        floor.sort_unstable();
        lib.sort_unstable();
        let what = if sigkill { "sigkill" } else { "release" };
        let floor_median = pct(&floor, 0.5);
        for (name, v) in [(what.to_owned(), &lib), (format!("floor {what}"), &floor)] {
            println!(
                "{:<16} {:>10} {:>10} {:>10} {:>10} {:>8.1}x",
                name,
                fmt(pct(v, 0.5)),
                fmt(pct(v, 0.1)),
                fmt(pct(v, 0.99)),
                fmt(*v.last().expect("rounds > 0")),
                pct(v, 0.5) as f64 / floor_median as f64
            );
        }
    }
}

fn main() {
    if let Ok(role) = std::env::var("HANDOFF_ROLE") {
        let device = std::env::var("HANDOFF_DEVICE").expect("HANDOFF_DEVICE");
        return holder(&role, &device);
    }
    // `cargo bench` passes --bench; `cargo test --benches` would pass nothing: run a few rounds.
    let benching = std::env::args().any(|a| a == "--bench");
    let rounds: usize = std::env::var("HANDOFF_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if benching { 1000 } else { 5 })
        .max(1);
    let tmp = TempDir::new();
    let runtime = make_runtime_dir(&tmp);
    // Single-threaded still: nothing has read the environment yet.
    std::env::set_var("DISCRECORDER_RUNTIME_DIR", &runtime);

    {
        let name = format!("handoff-{}", std::process::id());
        let _emu = EmuDevice::create(&name);
        let spec = format!("emu:{name}");
        Recorder::open(&spec).expect("create the emulated recorder");
        let node = discrecorder::testing::backing_path(&name);
        // The floor on an emulated device is a flock on its backing file, as the library's.
        let node = node.to_str().expect("utf-8 path").to_owned();
        bench_device(&spec, &node, "emulated recorder", rounds);
    }
    if rustix::process::geteuid().is_root() {
        match LoopDevice::attach(tmp.path()) {
            Ok(lo) => bench_device(&lo.node, &lo.node, "loop device", rounds),
            Err(why) => eprintln!("handoff: SKIPPING the loop device: {why}"),
        }
    } else {
        eprintln!("handoff: SKIPPING the loop device: attaching one needs root");
    }
}
