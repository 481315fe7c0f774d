//! Hold a recorder under a client name, show the owner, release it.
//!
//! Run: cargo run -p discrecorder --example lock -- /dev/sr0   (default: emu:bay1, no drive needed)

use discrecorder::{emu, AcquireOptions, Recorder, Wait};
use std::time::Duration;

fn main() -> Result<(), discrecorder::Error> {
    let device = match std::env::args().nth(1) {
        Some(device) => device, // "/dev/sr0", "emu:bay1", a recorder id from `discrec list`
        None => {
            emu::create("bay1")?; // an emulated recorder your processes can open (no drive, no root)
            "emu:bay1".to_owned()
        }
    };
    let rec = Recorder::open(&device)?;
    let access = rec.lock_with(
        "Disc Robot",
        AcquireOptions::new().wait(Wait::Timeout(Duration::from_secs(30))), // woken by the kernel
    )?;
    println!("{}", rec.exclusive_access_owner()?); // "Disc Robot", as every process sees it
    drop(access); // released; a crash or SIGKILL would release it too
    Ok(())
}
