//! A Linux TCMU handler: a SCSI device served from user space. The kernel's LIO target
//! (`target_core_user`) passes each SCSI command of a `user_N` backstore to this process through
//! a shared-memory ring on a UIO device; the loopback fabric (`tcm_loop`) attaches that
//! backstore to the machine's own SCSI midlayer, so the device is a real `/dev/srN`/`/dev/sgN`
//! (or `sdN`), bound by the kernel's own upper drivers.
//!
//! Owns the handler's lifecycle ([`serve`]): LIO objects made through configfs ([`lio`]), the
//! UIO device ([`uio`]) and its map ([`shm`], the crate's only `unsafe`), the ring walk
//! ([`ring`], pure and fuzzed), one thread serving the ring while the other makes and removes
//! the LIO objects (the kernel sends commands while a LUN is linked or unlinked), and the
//! removal of everything it made on every way out. What the device answers is the caller's
//! [`Handler`]; this crate must not know SCSI beyond the CDB length and must not print.
//!
//! Needs root, configfs mounted at `/sys/kernel/config` and the `target_core_user` and
//! `tcm_loop` modules. References: the kernel's `drivers/target/target_core_user.c`,
//! `include/uapi/linux/target_core_user.h` and `Documentation/target/tcmu-design.rst`.
#![deny(unsafe_code)]

pub mod lio;
pub mod ring;
pub mod shm;
pub mod uio;

#[cfg(feature = "testing")]
pub mod fuzzing;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

pub use ring::{Command, Response};

/// What the served device does with commands.
pub trait Handler: Send {
    /// Answers one command (or holds it: a hung device).
    fn command(&mut self, cmd: &Command) -> Response;
    /// Called between commands and about every [`TICK`]: `Some((status, sense))` completes
    /// every held command with that status and sense (the hang is over).
    fn release_held(&mut self) -> Option<(u8, Vec<u8>)> {
        None
    }
    /// Whether the device is gone: the server then removes it from the machine and returns.
    fn gone(&mut self) -> bool {
        false
    }
}

/// How often the server wakes without commands (to see a stop request or a released hang).
pub const TICK: Duration = Duration::from_millis(200);

/// What to make.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// The configfs target directory (normally [`lio::CONFIGFS_TARGET`]).
    pub root: PathBuf,
    /// The backstore.
    pub backstore: lio::BackstoreSpec,
    /// The `tcm_loop` target WWN.
    pub wwn: String,
    /// The nexus's initiator WWN.
    pub initiator: String,
}

/// The device as the machine sees it, once attached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attached {
    /// N of `/dev/uioN`.
    pub uio: u32,
    /// The SCSI address `H:C:T:L`.
    pub scsi_address: String,
    /// The block device (`/dev/sr0`), if the upper driver bound one.
    pub block: Option<PathBuf>,
    /// The SCSI generic device (`/dev/sg1`), if `sg` is loaded.
    pub generic: Option<PathBuf>,
}

/// Why serving failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configfs, sysfs or device operation failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The ring broke its protocol.
    #[error("TCMU ring: {0}")]
    Ring(#[from] ring::RingError),
}

/// Stops [`serve`] from another thread or a signal handler: set it to true.
pub type StopFlag = Arc<AtomicBool>;

fn first_entry(dir: &Path) -> Option<PathBuf> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    names.sort();
    names.first().map(|n| Path::new("/dev").join(n))
}

/// The block and generic device nodes of the SCSI device at `address`, waiting up to
/// `timeout` for the block device (upper drivers bind asynchronously).
pub fn scsi_nodes(address: &str, timeout: Duration) -> (Option<PathBuf>, Option<PathBuf>) {
    let dev = Path::new("/sys/class/scsi_device")
        .join(address)
        .join("device");
    let start = Instant::now();
    loop {
        let block = first_entry(&dev.join("block"));
        if block.is_some() || start.elapsed() >= timeout {
            return (block, first_entry(&dev.join("scsi_generic")));
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// Serves `handler` as a SCSI device until `stop` is set or the handler says it is gone:
/// makes the backstore, maps its ring, starts serving it on a second thread, attaches the
/// `tcm_loop` LUN, calls `attached` with what the machine sees, waits, then detaches the LUN
/// (still serving), stops the server and removes the backstore. Everything made is removed on
/// every way out, errors included.
pub fn serve<H: Handler + 'static>(
    opts: &ServeOptions,
    handler: H,
    stop: &StopFlag,
    attached: impl FnOnce(&Attached),
) -> Result<(), Error> {
    let backstore = lio::Backstore::create(&opts.root, &opts.backstore)?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let index = loop {
        if let Some(i) = uio::find(&opts.backstore.name, &opts.backstore.config)? {
            break i;
        }
        if Instant::now() >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "no UIO device named tcm-user/*/{}/{} after enabling {}",
                    opts.backstore.name,
                    opts.backstore.config,
                    backstore.path().display()
                ),
            )
            .into());
        }
        thread::sleep(Duration::from_millis(20));
    };
    let dev = uio::UioDevice::open(index)?;
    let map = shm::UioMap::map(&dev, dev.map_size())?;
    let ring = ring::Ring::new(map)?;

    let stop_server = Arc::new(AtomicBool::new(false));
    let server = {
        let stop_server = stop_server.clone();
        let stop = stop.clone();
        thread::Builder::new()
            .name("tcmu-ring".into())
            .spawn(move || run_ring(ring, dev, handler, &stop_server, &stop))?
    };
    let result = (|| -> Result<(), Error> {
        let port = lio::LoopbackPort::create(&opts.root, &opts.wwn, &opts.initiator, &backstore)?;
        let scsi_address = port.scsi_address()?;
        let (block, generic) = scsi_nodes(&scsi_address, Duration::from_secs(10));
        attached(&Attached {
            uio: index,
            scsi_address,
            block,
            generic,
        });
        while !stop.load(Ordering::Relaxed) && !server.is_finished() {
            thread::sleep(TICK);
        }
        port.remove()?;
        Ok(())
    })();
    stop_server.store(true, Ordering::Relaxed);
    let served = server
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("the ring thread panicked").into()));
    let removed = backstore.remove();
    result?;
    served?;
    removed?;
    Ok(())
}

/// The ring thread: waits for the kernel's interrupts, serves, completes, releases held
/// commands when the handler says so; returns when `stop_server` is set. A broken ring or a
/// gone device sets `stop` (so the main thread detaches the device) and keeps completing
/// nothing until `stop_server`.
fn run_ring<H: Handler>(
    mut ring: ring::Ring<shm::UioMap>,
    dev: uio::UioDevice,
    mut handler: H,
    stop_server: &AtomicBool,
    stop: &AtomicBool,
) -> Result<(), Error> {
    let mut failed = None;
    while !stop_server.load(Ordering::Relaxed) {
        dev.wait(TICK)?;
        if failed.is_some() {
            continue;
        }
        let mut done = match ring.process(|cmd| handler.command(cmd)) {
            Ok(n) => n,
            Err(e) => {
                failed = Some(e);
                stop.store(true, Ordering::Relaxed);
                continue;
            }
        };
        if ring.held() > 0 {
            if let Some((status, sense)) = handler.release_held() {
                done += ring.release_held(status, &sense)?;
            }
        }
        if done > 0 {
            dev.kick()?;
        }
        if handler.gone() {
            stop.store(true, Ordering::Relaxed);
        }
    }
    // held commands would keep their data blocks: complete them before the device goes
    if ring.held() > 0 && ring.release_held(ring::CHECK_CONDITION, &ring::ABORTED_SENSE)? > 0 {
        let _ = dev.kick();
    }
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}
