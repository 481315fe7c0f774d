//! Hold a recorder under a client name, show the owner, release it.
//!
//! Run: cargo run -p discrecorder --example lock -- /dev/sr0   (default: emu:bay1, no drive needed)

use discrecorder::{AcquireOptions, Recorder, Wait};
use std::time::Duration;

fn main() -> Result<(), discrecorder::Error> {
    let device = std::env::args().nth(1).unwrap_or_else(|| "emu:bay1".into());
    let rec = Recorder::open(&device)?; // "/dev/sr0", "emu:bay1", ...
    let access = rec.lock_with(
        "Disc Robot",
        AcquireOptions {
            force: false,
            wait: Wait::Timeout(Duration::from_secs(30)), // woken by the kernel when the holder goes
            handoff: false,
        },
    )?;
    println!("{}", rec.exclusive_access_owner()?); // "Disc Robot", as every process sees it
    drop(access); // released; a crash or SIGKILL would release it too
    Ok(())
}
