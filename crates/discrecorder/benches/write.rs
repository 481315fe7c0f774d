//! Write throughput: `DataWriter`'s job against the floor, on the in-memory emulated recorder.
//!
//! Rows, per profile (DVD+R, BD-R, DVD+RW):
//!
//! - `write`: the library's write job (reader thread reading and fingerprinting 1 MiB chunks:
//!   SHA-256 of each chunk and of the image, a 16-bit tag per sector; WRITE(10) in the
//!   medium's units; SYNCHRONIZE CACHE; CLOSE TRACK and SESSION; layout verification);
//! - `floor`: the same WRITE(10) commands (same units, same LBAs) and the same closing
//!   commands sent straight through the same transport by one thread, nothing hashed;
//! - `fingerprint`: the reader thread's hashing alone, on one thread.
//!
//! The emulated drive drops the sectors (its layout still moves), so the rows measure the host
//! side. Prints, per row, the median of `WRITE_BENCH_ROUNDS` (default 5) runs of
//! `WRITE_BENCH_MIB` MiB (default 512): throughput, CPU seconds per GiB (user + system of the
//! whole process, all threads, from /proc/self/stat), and write / floor.
//!
//!     cargo bench -p discrecorder --bench write

use std::time::Duration;

use discrecorder::testing::write_bench;

/// User + system CPU time of this process (every thread), from /proc/self/stat.
fn cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, a)| a);
    let f: Vec<u64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // Fields 14 and 15 of proc(5) are the 12th and 13th after the command name.
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn measure(rounds: usize, mut f: impl FnMut() -> Duration) -> (f64, f64) {
    let mut wall = Vec::new();
    let mut cpus = Vec::new();
    for _ in 0..rounds {
        let c0 = cpu();
        let w = f();
        let c = cpu().saturating_sub(c0);
        wall.push(w.as_secs_f64());
        cpus.push(c.as_secs_f64());
    }
    (median(wall), median(cpus))
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing: run a tiny round then.
    let quick = !std::env::args().any(|a| a == "--bench");
    let mib: u64 = std::env::var("WRITE_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 8 } else { 512 });
    let rounds: usize = std::env::var("WRITE_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 1 } else { 5 });
    let size = mib << 20;
    let gib = size as f64 / f64::from(1u32 << 30);
    println!("write bench: {mib} MiB per run, median of {rounds} runs");
    println!(
        "{:<8} {:<12} {:>10} {:>12} {:>14}",
        "profile", "row", "MiB/s", "CPU s/GiB", "write/floor"
    );
    for (name, profile) in [("DVD+R", 0x1Bu16), ("BD-R", 0x41), ("DVD+RW", 0x1A)] {
        let (fw, fc) = measure(rounds, || {
            write_bench::floor(profile, size).unwrap_or_else(|e| panic!("floor: {e}"))
        });
        let (ww, wc) = measure(rounds, || {
            write_bench::write(profile, size).unwrap_or_else(|e| panic!("write: {e}"))
        });
        let mibs = |w: f64| mib as f64 / w;
        println!(
            "{name:<8} {:<12} {:>10.0} {:>12.3} {:>14}",
            "floor",
            mibs(fw),
            fc / gib,
            ""
        );
        println!(
            "{name:<8} {:<12} {:>10.0} {:>12.3} {:>13.0}%",
            "write",
            mibs(ww),
            wc / gib,
            fw / ww * 100.0
        );
    }
    // Through the emulated recorder's own transport (state file and sector image on tmpfs).
    let emu_mib: u64 = std::env::var("WRITE_BENCH_EMU_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 4 } else { 256 });
    let emu_size = emu_mib << 20;
    let emu_gib = emu_size as f64 / f64::from(1u32 << 30);
    let shm = std::path::Path::new("/dev/shm");
    let rt = std::env::temp_dir().join(format!("write-bench-{}", std::process::id()));
    let rt = if shm.is_dir() {
        shm.join(format!("write-bench-{}", std::process::id()))
    } else {
        rt
    };
    std::fs::create_dir_all(&rt).expect("runtime dir");
    rustix::fs::chmod(&rt, rustix::fs::Mode::from_raw_mode(0o1777)).expect("chmod");
    std::env::set_var("DISCRECORDER_RUNTIME_DIR", &rt);
    discrecorder::emu::create("bench").expect("emu");
    let rec = discrecorder::Recorder::open("emu:bench").expect("open");
    let fresh = || {
        discrecorder::emu::update("bench", |s| s.insert_medium(0x41)).expect("medium");
    };
    println!(
        "through emu:NAME's transport (state and image on {}), {emu_mib} MiB:",
        rt.display()
    );
    let (fw, fc) = measure(rounds, || {
        fresh();
        write_bench::floor_device(&rec, emu_size).unwrap_or_else(|e| panic!("floor: {e}"))
    });
    let (ww, wc) = measure(rounds, || {
        fresh();
        write_bench::write_device(&rec, emu_size).unwrap_or_else(|e| panic!("write: {e}"))
    });
    println!(
        "{:<8} {:<12} {:>10.0} {:>12.3} {:>14}",
        "BD-R",
        "emu floor",
        emu_mib as f64 / fw,
        fc / emu_gib,
        ""
    );
    println!(
        "{:<8} {:<12} {:>10.0} {:>12.3} {:>13.0}%",
        "BD-R",
        "emu write",
        emu_mib as f64 / ww,
        wc / emu_gib,
        fw / ww * 100.0
    );
    drop(rec);
    let _ = discrecorder::emu::remove("bench", discrecorder::emu::Removal::IfFree);
    let _ = std::fs::remove_dir_all(&rt);
    let (hw, hc) = measure(rounds, || write_bench::fingerprint_only(size));
    println!(
        "{:<8} {:<12} {:>10.0} {:>12.3}",
        "-",
        "fingerprint",
        mib as f64 / hw,
        hc / gib
    );
}
