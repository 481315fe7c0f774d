//! The kernel claims behind exclusive access, taken and dropped as one unit.
//!
//! Owns the order in which claims are taken, how a failed step is undone, and the per-process
//! table of devices this process holds. A `Claim` is what a recorder holds while its lock count
//! is above zero; dropping it releases the device. Every claim is a kernel object (an open file
//! description with its locks), so a process that dies releases the device with no cleanup step.
//!
//! Order of acquisition, for a block device:
//! 1. this process's table (two recorders in one process conflict like two processes, and a
//!    second descriptor opened and closed on the node would drop our POSIX lock on it);
//! 2. the owner record, written and `flock`ed (see [`crate::record`]);
//! 3. `flock(LOCK_EX|LOCK_NB)` on a plain descriptor of the node: the arbiter among our clients
//!    (hand-off holders included) and udev's "do not probe" convention;
//! 4. `open(O_RDWR|O_NONBLOCK|O_EXCL|O_CLOEXEC)`: the kernel's claim against every other opener
//!    and against mounts; an exclusive writer also stops the kernel's media polling of sr devices;
//! 5. a whole-file POSIX write lock on it, for libburn-based tools (xorriso, cdrskin).
//!
//! An emulated device stops after step 3: its `flock` is its claim.
//!
//! Jobs: when step 3 finds the `flock` held, and this process has a descriptor open on the
//! node whose open file holds that `flock` (its parent passed the claim down to it, as
//! `discrec lock` does to its command), the process is part of the holder's job: the acquire
//! nests under the job's claim through that descriptor instead of failing. A descriptor is
//! proof no other process can forge (an environment variable would be): only the holder or a
//! process it gave the open file to has one.

use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::fs::{FlockOperation, Mode, OFlags};
use serde::Serialize;

use crate::client_name::ClientName;
use crate::device::Device;
use crate::error::{errno_text, libc_errno, Error, HResult, Result};
use crate::owner::{self, Owner};
use crate::queue;
use crate::record::{self, HoldMode, Job, OwnerRecord, PublishedRecord};
use crate::registry::{self, Reservation};
use crate::sys::{self, ChangeWaiter};

/// Something the caller should know about an acquire that nevertheless succeeded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Warning {
    /// `force` could not unmount this volume: access was gained anyway, but without the
    /// kernel's exclusive claim (it is impossible while a file system is mounted).
    StillMounted {
        /// The mount point that stayed.
        mount_point: PathBuf,
        /// Why unmounting failed.
        reason: String,
    },
    /// `force` left no visible volume mounted, yet the kernel's exclusive claim stayed
    /// impossible: a file system of the device is mounted where this process cannot see it
    /// (another mount namespace: a container, a service with a private /tmp) or another program
    /// opened it exclusively meanwhile. Access was gained without the exclusive claim.
    NoExclusiveClaim {
        /// What is known of why.
        reason: String,
    },
    /// The owner record could not be published: other processes see our PID and program name
    /// instead of the client name.
    OwnerNotPublished {
        /// Why.
        reason: String,
    },
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Warning::StillMounted {
                mount_point,
                reason,
            } => write!(
                f,
                "{} stayed mounted ({reason}): access gained without the kernel's exclusive claim",
                crate::text::sanitize(&mount_point.to_string_lossy())
            ),
            Warning::OwnerNotPublished { reason } => {
                write!(f, "client name not published to other processes: {reason}")
            }
            Warning::NoExclusiveClaim { reason } => write!(
                f,
                "access gained without the kernel's exclusive claim: {reason}"
            ),
        }
    }
}

/// How long to wait for a device that is busy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Wait {
    /// Fail at once with `E_ACCESSDENIED`.
    #[default]
    Immediately,
    /// Wait up to this long, woken by the kernel when a holder closes the device (release or
    /// death) or the mount table changes; never polling faster than every 100 ms otherwise.
    Timeout(Duration),
    /// Wait until the device is free.
    Forever,
}

impl Wait {
    /// When to give up: `None` for not waiting at all, `Some(None)` for never.
    pub(crate) fn deadline(self) -> Option<Option<Instant>> {
        match self {
            Wait::Immediately => None,
            Wait::Timeout(d) => Some(Instant::now().checked_add(d)),
            Wait::Forever => Some(None),
        }
    }
}

/// What an acquire does about file systems of the device that are mounted (IMAPI2's `force`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mounted {
    /// Refuse with `E_ACCESSDENIED`, naming the mount points; nothing is unmounted.
    #[default]
    Refuse,
    /// Unmount them; gain access even where that fails ("whether the file system volume can or
    /// cannot be dismounted"), reporting each volume that stayed as a [`Warning`].
    Unmount,
}

/// Which claims the acquirer keeps for itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClaimScope {
    /// Every claim: the kernel's `O_EXCL`, the `flock` and the POSIX lock.
    #[default]
    Full,
    /// Hand-off: publish the client name and keep our clients and udev off the device (the
    /// `flock`), but leave the kernel's `O_EXCL` claim and the POSIX lock free for a child
    /// program (a burner that opens the drive exclusively itself) to take.
    Handoff,
}

/// The options of an acquire. Build with [`AcquireOptions::new`] (or `default()`) and the
/// setters; fields may be added in later versions.
///
/// ```
/// use discrecorder::{AcquireOptions, Mounted, Wait};
/// use std::time::Duration;
/// let opts = AcquireOptions::new()
///     .mounted(Mounted::Unmount)
///     .wait(Wait::Timeout(Duration::from_secs(30)));
/// assert_eq!(opts.wait, Wait::Timeout(Duration::from_secs(30)));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AcquireOptions {
    /// Mounted file systems: refuse (default) or unmount (IMAPI2's `force`).
    pub mounted: Mounted,
    /// Whether and how long to wait for a busy device.
    pub wait: Wait,
    /// Which claims to keep: all of them (default) or hand them off to a child program.
    pub scope: ClaimScope,
}

impl AcquireOptions {
    /// The defaults: refuse mounted volumes, do not wait, keep every claim.
    pub fn new() -> AcquireOptions {
        AcquireOptions::default()
    }

    /// Sets what to do about mounted file systems.
    #[must_use]
    pub fn mounted(mut self, mounted: Mounted) -> AcquireOptions {
        self.mounted = mounted;
        self
    }

    /// Sets whether and how long to wait for a busy device.
    #[must_use]
    pub fn wait(mut self, wait: Wait) -> AcquireOptions {
        self.wait = wait;
        self
    }

    /// Sets which claims the acquirer keeps.
    #[must_use]
    pub fn scope(mut self, scope: ClaimScope) -> AcquireOptions {
        self.scope = scope;
        self
    }

    /// IMAPI2's `force` flag as options: `true` is [`Mounted::Unmount`].
    pub fn from_imapi_force(force: bool) -> AcquireOptions {
        AcquireOptions::new().mounted(if force {
            Mounted::Unmount
        } else {
            Mounted::Refuse
        })
    }
}

/// What a successful acquire did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Acquired {
    /// The recorder's lock count after this call.
    pub lock_count: u32,
    /// How the device is held.
    pub mode: HoldMode,
    /// Volumes `force` unmounted.
    pub unmounted: Vec<PathBuf>,
    /// What the caller should know.
    pub warnings: Vec<Warning>,
}

/// The claims of one holder. The recorder unlocks its owner record only after this is dropped,
/// so no reader ever sees our device lock without our record.
pub(crate) struct Claim {
    excl_fd: Option<Arc<OwnedFd>>,
    lock_fd: Arc<OwnedFd>,
    /// Whether a program this process started shares the claim's open files (a job's
    /// command): then releasing must not unlock them, only close ours.
    shared: bool,
    /// The owner record as published for this claim.
    pub(crate) published: OwnerRecord,
    reservation: Reservation,
    mode: HoldMode,
}

impl Claim {
    /// How the device is held.
    pub(crate) fn mode(&self) -> HoldMode {
        self.mode
    }

    /// The descriptor holding the kernel's exclusive claim, if any.
    #[cfg(feature = "testing")]
    pub(crate) fn exclusive_fd(&self) -> Option<&Arc<OwnedFd>> {
        self.excl_fd.as_ref()
    }

    /// Whether [`Claim::share`] was called.
    pub(crate) fn is_shared(&self) -> bool {
        self.shared
    }

    /// Publishes `task` as what the holder is doing: in this process's table and, rewritten
    /// in place, in `record` (the claim's owner record, when it has one).
    pub(crate) fn set_task(&mut self, task: Option<Job>, record: Option<&PublishedRecord>) {
        self.published.task = task;
        self.reservation.set_task(task);
        if let Some(r) = record {
            r.rewrite(&self.published);
        }
    }

    /// The descriptors that carry the claim (the `flock`ed one and the `O_EXCL` one), to hand
    /// to a program this process starts; from now on, releasing only closes ours.
    pub(crate) fn share(&mut self) -> Vec<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd;
        self.shared = true;
        let mut fds = vec![self.lock_fd.as_raw_fd()];
        fds.extend(self.excl_fd.as_ref().map(|fd| fd.as_raw_fd()));
        fds
    }

    /// The descriptor commands go through: the exclusive one, else the locked plain one.
    pub(crate) fn io_fd(&self) -> Arc<OwnedFd> {
        self.excl_fd.clone().unwrap_or_else(|| self.lock_fd.clone())
    }

    /// Whether the device this claim is on has been removed behind our back.
    pub(crate) fn device_vanished(&self, device: &Device) -> bool {
        match device.kind() {
            crate::device::DeviceKind::Emulated { .. } => {
                rustix::fs::fstat(&self.lock_fd).map_or(true, |st| st.st_nlink == 0)
                    || device.check_present().is_err()
            }
            crate::device::DeviceKind::Block { .. } => device.check_present().is_err(),
        }
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        // Forget the shared descriptor first, so the fields below really close the device.
        self.reservation.forget_io_fd();
        // The kernel claim first, then the flock, unlocked before its descriptor closes: the
        // close is what wakes waiters (inotify), and the kernel reports a close before it drops
        // the file's locks, so a waiter woken by it must find the flock already gone.
        drop(self.excl_fd.take());
        if !self.shared {
            let _ = rustix::fs::flock(&*self.lock_fd, FlockOperation::Unlock);
        }
    }
}

impl std::fmt::Debug for Claim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Claim")
            .field("mode", &self.mode)
            .field("exclusive", &self.excl_fd.is_some())
            .finish()
    }
}

/// The outcome of one attempt: busy (worth waiting for) or final.
enum Attempt {
    Busy(Error),
    Fatal(Error),
}

/// Takes every claim on `device` for `client`, waiting as `opts` says.
///
/// `record` is the recorder's owner record file, kept across acquisitions: published here on
/// first use, rewritten and locked on later ones, and unlocked again if the acquire fails.
/// `waiter` is the recorder's change watcher, made on its first wait and kept: closing an
/// inotify instance waits for an SRCU grace period in the kernel (milliseconds), which would
/// otherwise land between a waiter getting the device and its caller hearing of it.
pub(crate) fn acquire(
    device: &Device,
    client: &ClientName,
    opts: AcquireOptions,
    record: &mut Option<PublishedRecord>,
    waiter: &mut Option<ChangeWaiter>,
) -> Result<(Claim, Acquired)> {
    let result = acquire_inner(device, client, opts, record, waiter);
    if result.is_err() {
        if let Some(r) = record.as_ref() {
            r.suspend();
        }
    }
    result
}

fn acquire_inner(
    device: &Device,
    client: &ClientName,
    opts: AcquireOptions,
    record: &mut Option<PublishedRecord>,
    waiter: &mut Option<ChangeWaiter>,
) -> Result<(Claim, Acquired)> {
    device.check_not_detached()?;
    let deadline = opts.wait.deadline();
    // Sleeps until the node or the mount table changes, the fallback tick or `cap`. `None` when
    // the deadline has passed, else whether a kernel event (not a timeout) ended the sleep. Only
    // called when waiting is allowed.
    let wait_for_change =
        |waiter: &mut Option<ChangeWaiter>, cap: Duration| -> Result<Option<bool>> {
            let remaining = match deadline {
                Some(Some(d)) => d.saturating_duration_since(Instant::now()),
                _ => ChangeWaiter::FALLBACK_PERIOD,
            }
            .min(cap);
            if remaining.is_zero() {
                return Ok(None);
            }
            let w = match waiter {
                Some(w) => w,
                None => waiter.insert(
                    ChangeWaiter::new(device.path(), device.is_block())
                        .map_err(|e| Error::from_io(e, device.spec(), "cannot watch"))?,
                ),
            };
            let event = w
                .wait(remaining)
                .map_err(|e| Error::from_io(e, device.spec(), "cannot wait for"))?;
            device.check_present()?;
            Ok(Some(event))
        };
    let wait_or = |err: Error, waiter: &mut Option<ChangeWaiter>| -> Result<()> {
        if deadline.is_none() {
            return Err(err);
        }
        if wait_for_change(waiter, ChangeWaiter::FALLBACK_PERIOD)?.is_some() {
            return Ok(());
        }
        Err(Error::new(
            err.hresult(),
            format!("{} (gave up waiting)", err.context()),
        ))
    };
    let since = sys::now_unix_ms();
    // A waiter queues: it tries to claim the device only when no live waiter that arrived
    // before it is still waiting (see `crate::queue`). Held until the claim is taken.
    let ticket = deadline.and_then(|_| {
        queue::publish(
            &sys::runtime_dir(),
            device.key(),
            client,
            registry::own_pid(),
            registry::own_start(),
            since,
        )
        .ok()
    });
    let handoff = opts.scope == ClaimScope::Handoff;
    let first_mode = if handoff {
        HoldMode::Handoff
    } else {
        HoldMode::Exclusive
    };
    let reservation = loop {
        match Reservation::take(device.key(), client, since, first_mode) {
            Some(r) => break r,
            None => {
                let err = match owner::local(device.key()) {
                    Some(o) => owner::denied(device, &o),
                    None => continue,
                };
                wait_or(err, waiter)?;
            }
        }
    };

    let mut warnings = Vec::new();
    let rec = OwnerRecord {
        client: client.clone(),
        pid: registry::own_pid(),
        start: registry::own_start(),
        job: None,
        program: registry::own_program(),
        since_unix_ms: since,
        mode: first_mode,
        task: None,
    };
    let reuse = record.as_ref().is_some_and(PublishedRecord::is_linked);
    let published = match record.as_ref() {
        Some(r) if reuse => r.republish(&rec),
        _ => record::publish(&sys::runtime_dir(), device.key(), &rec).map(|r| {
            *record = Some(r);
        }),
    };
    if let Err(reason) = published {
        warnings.push(Warning::OwnerNotPublished { reason });
    }

    let lock_fd = open_node(device, false)?;
    device.verify_fd(&lock_fd)?;
    let mut state = AttemptState {
        unmount_tried: false,
        unmounted: Vec::new(),
        still_mounted: Vec::new(),
    };
    let mut looked_for_job = false;
    let (excl_fd, mode) = loop {
        if let Some(t) = &ticket {
            if t.anyone_ahead(&sys::runtime_dir(), device.key(), device.path()) {
                // Not ours to try: hold nothing the ones ahead need, and look again when the
                // device is free (a holder's close wakes us; the queue is read only then).
                let _ = rustix::fs::flock(&lock_fd, FlockOperation::Unlock);
                let gave_up = || {
                    Error::new(
                        HResult::EAccessDenied,
                        format!(
                            "{} is busy: waiters that arrived before us are still waiting (gave up waiting)",
                            device.spec()
                        ),
                    )
                };
                if wait_for_change(waiter, ChangeWaiter::FALLBACK_PERIOD)?.is_none() {
                    return Err(gave_up());
                }
                let mut cap = QUICK_RECHECK;
                while flock_is_taken(&lock_fd) {
                    match wait_for_change(waiter, cap)? {
                        None => return Err(gave_up()),
                        Some(true) => cap = QUICK_RECHECK,
                        Some(false) => cap = ChangeWaiter::FALLBACK_PERIOD,
                    }
                }
                continue;
            }
        }
        match attempt(device, &lock_fd, opts, &mut state) {
            Ok(v) => break v,
            Err(Attempt::Fatal(e)) => return Err(e),
            Err(Attempt::Busy(e)) => {
                if !looked_for_job {
                    looked_for_job = true;
                    if let Some(fd) = sys::node::inherited_flock(device.node()) {
                        // Our job's own claim: the job's record names the client; ours goes.
                        *record = None;
                        return Ok(adopt(fd, rec, reservation));
                    }
                }
                wait_or(e, waiter)?;
                // While another process holds the flock nothing can have changed for us, so
                // keep waiting on a single flock call per wake-up. A full attempt reads
                // /proc/locks and the holder's record to name it, which adds up when every
                // release wakes many waiters. The attempt that follows, when the lock looks
                // free or the deadline has passed, names the current holder if it fails.
                //
                // The kernel reports a file's close to inotify before it drops that file's locks
                // (`__fput`: `fsnotify_close`, then `locks_remove_file`), so the close of a dying
                // holder's last descriptor can wake us a moment before its lock goes. After an
                // event, look once more within 1 ms rather than sleeping a whole tick.
                let mut cap = QUICK_RECHECK;
                while flock_is_taken(&lock_fd) {
                    match wait_for_change(waiter, cap)? {
                        None => break,
                        Some(true) => cap = QUICK_RECHECK,
                        Some(false) => cap = ChangeWaiter::FALLBACK_PERIOD,
                    }
                }
            }
        }
    };
    drop(ticket);
    let (excl_fd, mode) = if handoff {
        // Closing our exclusive descriptor also drops our POSIX lock: both are the child's now.
        drop(excl_fd);
        (None, HoldMode::Handoff)
    } else {
        (excl_fd, mode)
    };
    let excl_fd = excl_fd.map(Arc::new);
    let lock_fd = Arc::new(lock_fd);
    reservation.set_held(mode, excl_fd.clone().unwrap_or_else(|| lock_fd.clone()));
    let rec = OwnerRecord { mode, ..rec };
    if mode != first_mode {
        if let Some(r) = record.as_ref() {
            r.rewrite(&rec);
        }
    }
    warnings.extend(state.still_mounted);
    let acquired = Acquired {
        lock_count: 1,
        mode,
        unmounted: state.unmounted,
        warnings,
    };
    Ok((
        Claim {
            excl_fd,
            lock_fd,
            shared: false,
            published: rec,
            reservation,
            mode,
        },
        acquired,
    ))
}

/// A claim on the `flock`ed open file `fd` that a parent passed down to this process (see
/// [`sys::node::inherited_flock`]): this process runs inside a job that holds the device, and
/// nests under it. Releasing only closes our duplicate: the lock stays with the job.
fn adopt(fd: OwnedFd, rec: OwnerRecord, reservation: Reservation) -> (Claim, Acquired) {
    let lock_fd = Arc::new(fd);
    let mode = HoldMode::Exclusive;
    reservation.set_held(mode, lock_fd.clone());
    let acquired = Acquired {
        lock_count: 1,
        mode,
        unmounted: Vec::new(),
        warnings: Vec::new(),
    };
    let claim = Claim {
        excl_fd: None,
        lock_fd,
        shared: true,
        published: OwnerRecord { mode, ..rec },
        reservation,
        mode,
    };
    (claim, acquired)
}

struct AttemptState {
    unmount_tried: bool,
    unmounted: Vec<PathBuf>,
    still_mounted: Vec<Warning>,
}

/// One try at steps 3-5; undoes what it took when it fails.
fn attempt(
    device: &Device,
    lock_fd: &OwnedFd,
    opts: AcquireOptions,
    state: &mut AttemptState,
) -> std::result::Result<(Option<OwnedFd>, HoldMode), Attempt> {
    take_flock(device, lock_fd)?;
    let unlock = || {
        let _ = rustix::fs::flock(lock_fd, FlockOperation::Unlock);
    };
    if !device.is_block() {
        // The flock is on the inode resolved: make sure the name still names it, so that a
        // rename cannot give the name a second holder.
        if let Err(e) = device.check_present() {
            unlock();
            return Err(Attempt::Fatal(e));
        }
        return Ok((None, HoldMode::Exclusive));
    }
    let excl = match open_node(device, true) {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc_errno::EBUSY) => {
            let points = owner::mounts_of(device).map_err(Attempt::Fatal)?;
            if points.is_empty() {
                unlock();
                return Err(Attempt::Busy(busy_without_mount(device)));
            }
            if opts.mounted == Mounted::Refuse {
                unlock();
                let o = Owner::mount(points);
                return Err(Attempt::Busy(Error::new(
                    HResult::EAccessDenied,
                    format!(
                        "{} is held by {}: unmount it or acquire with force",
                        device.spec(),
                        o.describe()
                    ),
                )));
            }
            if !state.unmount_tried {
                state.unmount_tried = true;
                for point in &points {
                    match rustix::mount::unmount(point, rustix::mount::UnmountFlags::empty()) {
                        Ok(()) => state.unmounted.push(point.clone()),
                        Err(e) => {
                            let mut reason = errno_text(&e.into());
                            if e == rustix::io::Errno::PERM {
                                reason.push_str(": unmounting needs CAP_SYS_ADMIN");
                            }
                            state.still_mounted.push(Warning::StillMounted {
                                mount_point: point.clone(),
                                reason,
                            });
                        }
                    }
                }
                if let Ok(fd) = open_node(device, true) {
                    state.still_mounted.clear();
                    return lock_posix(device, fd).map(|fd| (Some(fd), HoldMode::Exclusive));
                }
            }
            // The page: access is gained "whether the file system volume can or cannot be
            // dismounted". Without O_EXCL, the flock and a POSIX lock are all we can hold.
            if rustix::fs::fcntl_lock(lock_fd, FlockOperation::NonBlockingLockExclusive).is_err()
                && rustix::fs::fcntl_lock(lock_fd, FlockOperation::NonBlockingLockShared).is_err()
            {
                unlock();
                return Err(Attempt::Busy(busy_without_mount(device)));
            }
            let remaining = owner::mounts_of(device).map_err(Attempt::Fatal)?;
            state.still_mounted.retain(|w| match w {
                Warning::StillMounted { mount_point, .. } => remaining.contains(mount_point),
                Warning::OwnerNotPublished { .. } | Warning::NoExclusiveClaim { .. } => true,
            });
            for point in remaining {
                let known = state.still_mounted.iter().any(|w| {
                    matches!(w, Warning::StillMounted { mount_point, .. } if *mount_point == point)
                });
                if !known {
                    state.still_mounted.push(Warning::StillMounted {
                        mount_point: point,
                        reason: "mounted again or busy".to_owned(),
                    });
                }
            }
            let explained = state.still_mounted.iter().any(|w| {
                matches!(
                    w,
                    Warning::StillMounted { .. } | Warning::NoExclusiveClaim { .. }
                )
            });
            if !explained {
                state.still_mounted.push(Warning::NoExclusiveClaim {
                    reason: format!(
                        "{} is still busy after its visible volumes were unmounted: it is mounted in another mount namespace, or open exclusively",
                        device.spec()
                    ),
                });
            }
            return Ok((None, HoldMode::Weak));
        }
        Err(e) => {
            unlock();
            return Err(Attempt::Fatal(e));
        }
    };
    match lock_posix(device, excl) {
        Ok(fd) => Ok((Some(fd), HoldMode::Exclusive)),
        Err(e) => {
            unlock();
            Err(e)
        }
    }
}

/// How soon a waiter looks at the lock again after a close event that did not free it.
const QUICK_RECHECK: Duration = Duration::from_millis(1);

/// Whether another open file holds an exclusive `flock` on the node. Probes with a shared lock,
/// dropped at once: a waiter that found the device free must not hold it while the waiter ahead
/// of it in the queue tries (the one ahead would find it taken and sleep).
fn flock_is_taken(lock_fd: &OwnedFd) -> bool {
    match sys::node::try_shared_flock(lock_fd) {
        Ok(true) => {
            let _ = rustix::fs::flock(lock_fd, FlockOperation::Unlock);
            false
        }
        Ok(false) => true,
        Err(_) => false,
    }
}

/// Step 5 on the exclusive descriptor; a foreign POSIX lock means a foreign holder.
fn lock_posix(device: &Device, fd: OwnedFd) -> std::result::Result<OwnedFd, Attempt> {
    let locked = rustix::fs::fcntl_lock(&fd, FlockOperation::NonBlockingLockExclusive)
        .or_else(|_| rustix::fs::fcntl_lock(&fd, FlockOperation::NonBlockingLockShared));
    match locked {
        Ok(()) => Ok(fd),
        Err(_) => {
            drop(fd);
            Err(Attempt::Busy(busy_without_mount(device)))
        }
    }
}

/// Step 3. A shared `flock` (udev probing the device) is waited out for a moment; an exclusive
/// one is a holder.
fn take_flock(device: &Device, lock_fd: &OwnedFd) -> std::result::Result<(), Attempt> {
    for _ in 0..25 {
        match rustix::fs::flock(lock_fd, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return Ok(()),
            Err(rustix::io::Errno::WOULDBLOCK) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => {
                return Err(Attempt::Fatal(Error::from_io(
                    e.into(),
                    device.spec(),
                    "cannot lock",
                )))
            }
        }
        // Worth a short wait: a shared lock (systemd-udevd probing), or a lock of our own PID.
        // The table of this process says no recorder of ours holds the device, so ours is a
        // released one that outlives its close() while another process (lsof, a /proc/PID/fd
        // scan) still holds a reference to the open file. An exclusive lock of another process
        // is a holder. A shared lock of our own tells the kinds apart (granted: only shared
        // ones), and F_GETLK and the candidates' fdinfo name the holder, without reading the
        // whole of /proc/locks, which another user can make huge.
        match sys::node::try_shared_flock(lock_fd) {
            Ok(true) => {
                let _ = rustix::fs::flock(lock_fd, FlockOperation::Unlock);
            }
            Ok(false) => {
                let posix = sys::node::posix_lock_holder(lock_fd).ok().flatten();
                if let Some(o) = owner::flock_holder(device, posix) {
                    return Err(Attempt::Busy(owner::denied(device, &o)));
                }
            }
            Err(_) => {}
        }
        std::thread::sleep(Duration::from_millis(4));
    }
    Err(Attempt::Busy(Error::new(
        HResult::EAccessDenied,
        format!(
            "{} is locked by a shared flock (usually systemd-udevd probing it) that lasted over 100 ms",
            device.spec()
        ),
    )))
}

/// `E_ACCESSDENIED` for a device whose `O_EXCL` open or POSIX lock failed with no mount to
/// explain it, while our `flock` was held (so no other process holds one): name the POSIX lock
/// holder (`F_GETLK`), else the processes that have it open. Every caller holds no POSIX lock on
/// the node (its exclusive descriptor is closed), so the probe's descriptor may be closed.
fn busy_without_mount(device: &Device) -> Error {
    if !device.is_block() {
        return Error::new(HResult::EAccessDenied, format!("{} is busy", device.spec()));
    }
    if let Some(o) = owner::posix_holder(device) {
        return owner::denied(device, &o);
    }
    let (o, others) = owner::exclusive_holder(device);
    let err = owner::denied(device, &o);
    if others.is_empty() {
        return err;
    }
    let others: Vec<String> = others.iter().map(Owner::describe).collect();
    Error::new(
        HResult::EAccessDenied,
        format!("{} (also open in {})", err.context(), others.join(", ")),
    )
}

/// Opens the node: plain (for the `flock`) or exclusive (the kernel claim). Read-write, falling
/// back to read-only for read-only devices.
fn open_node(device: &Device, exclusive: bool) -> Result<OwnedFd> {
    if let Some(fd) = device.open_emulated() {
        return fd;
    }
    let base = OFlags::NONBLOCK
        | OFlags::CLOEXEC
        | if exclusive {
            OFlags::EXCL
        } else {
            OFlags::empty()
        };
    let rw = rustix::fs::open(device.path(), base | OFlags::RDWR, Mode::empty());
    let res = match rw {
        Err(rustix::io::Errno::ROFS) => {
            rustix::fs::open(device.path(), base | OFlags::RDONLY, Mode::empty())
        }
        Err(rustix::io::Errno::BUSY) if !exclusive => {
            rustix::fs::open(device.path(), base | OFlags::RDONLY, Mode::empty())
        }
        other => other,
    };
    res.map_err(|e| open_error(device, e.into()))
}

/// A clear error for a failed open: permission problems say what access is needed.
fn open_error(device: &Device, err: std::io::Error) -> Error {
    let path = device.path().display().to_string();
    match err.raw_os_error() {
        Some(libc_errno::EACCES) | Some(libc_errno::EPERM) => {
            let detail = rustix::fs::stat(device.path())
                .map(|st| {
                    format!(
                        " (node is mode {:o}, uid {}, group {}); exclusive access needs read-write access to it, for example membership of that group",
                        st.st_mode & 0o7777,
                        st.st_uid,
                        sys_group_name(st.st_gid)
                    )
                })
                .unwrap_or_default();
            Error::permission_denied(format!(
                "permission denied opening {path}: {}{detail}",
                errno_text(&err)
            ))
            .with_source(err)
        }
        Some(libc_errno::EBUSY) => Error::new(
            HResult::EAccessDenied,
            format!("{path} is busy: {}", errno_text(&err)),
        )
        .with_source(err),
        _ => Error::from_io(err, &path, "cannot open"),
    }
}

/// The name of group `gid` from `/etc/group`, else the number.
fn sys_group_name(gid: u32) -> String {
    std::fs::read_to_string("/etc/group")
        .ok()
        .and_then(|text| {
            text.lines().find_map(|l| {
                let mut f = l.split(':');
                let name = f.next()?;
                let _pw = f.next()?;
                (f.next()?.parse::<u32>().ok()? == gid).then(|| crate::text::sanitize(name))
            })
        })
        .unwrap_or_else(|| gid.to_string())
}
