//! The recorder: one client's handle on one device, with IMAPI2's counted exclusive access, and
//! the public face of everything else a recorder does.
//!
//! Owns the lock count and its rules: validation first, nesting without system calls, the claim
//! taken at 0 -> 1 and dropped at 1 -> 0, `E_FAIL` for a release at 0; the guards over it; and
//! the rule that state-changing drive operations run under exclusive access (this recorder's own,
//! else one taken for the operation, `E_IMAPI_RECORDER_LOCKED` when another client holds the
//! device). The claims themselves are [`crate::claim`]'s, finding owners is [`crate::owner`]'s,
//! and the MMC commands are [`crate::drive`]'s.
//!
//! Threads: the state mutex is only ever held for a few assignments. An acquire that has to
//! wait for the device waits with the mutex released, so queries and releases from other
//! threads answer at once; a second acquire of the same recorder meanwhile waits for the first
//! one's outcome (within its own wait option) and then nests or tries itself.
//!
//! Media change notification on Linux: the kernel stops polling an sr drive for media events
//! while a descriptor holds it open exclusively for writing (`DISK_EVENT_FLAG_BLOCK_ON_EXCL_WRITE`,
//! which the sr driver sets; see `drivers/scsi/sr.c` and `block/disk-events.c`), and resumes when
//! that descriptor is closed, including when its process dies. [`Recorder::disable_mcn`]
//! therefore holds exclusive access (one level of the lock count) while the notification is
//! disabled; the kernel restores it if the process dies.

use std::ops::Deref;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use discrecorder_mmc::configuration::{Configuration, FeatureCode, Profile, RequestType};

use crate::claim::{self, AcquireOptions, Acquired, Claim, Wait};
use crate::client_name::ClientName;
use crate::device::{Device, DeviceKind};
use crate::drive::{Drive, Identity};
use crate::error::{Error, HResult, Result};
use crate::owner::{self, Owner};
use crate::record::{HoldMode, Job, ProcessId, PublishedRecord};
use crate::scsi::{self, DEFAULT_COMMAND_TIMEOUT};
use crate::sys::{self, ChangeWaiter};

#[derive(Debug)]
struct State {
    count: u32,
    client: Option<ClientName>,
    since_unix_ms: u64,
    claim: Option<Claim>,
    /// How long a SCSI command may take.
    timeout: Duration,
    /// The client name operations that take the lock for themselves use.
    ops_client: ClientName,
    /// Media change notification disable count.
    mcn_disabled: u32,
    /// Whether a thread is taking the claim now (with this mutex released).
    acquiring: bool,
    /// This recorder's owner record file, kept (unlocked) between acquisitions and removed when
    /// the recorder is dropped. Declared after `claim`, so it outlives it when dropped. Lent to
    /// the acquiring thread while `acquiring`.
    record: Option<PublishedRecord>,
    /// This recorder's watcher for waiting acquires, kept once made (see `claim::acquire`).
    waiter: Option<ChangeWaiter>,
}

impl Default for State {
    fn default() -> State {
        State {
            count: 0,
            client: None,
            since_unix_ms: 0,
            claim: None,
            timeout: DEFAULT_COMMAND_TIMEOUT,
            ops_client: ClientName::new("discrecorder").expect("a valid literal name"),
            mcn_disabled: 0,
            acquiring: false,
            record: None,
            waiter: None,
        }
    }
}

/// One client's handle on one device (IMAPI2's `IDiscRecorder2`).
///
/// All methods take `&self`; a recorder may be shared between threads (wrap it in an [`Arc`] to
/// move exclusive access into another thread with [`Recorder::lock_owned`]). Two recorders on
/// the same device conflict exactly like two processes do, in the same process too. Dropping a
/// recorder releases whatever it holds, whatever its count.
///
/// ```no_run
/// use discrecorder::{emu, Recorder};
/// emu::create("doc")?;
/// let rec = Recorder::open("emu:doc")?;
/// rec.acquire_exclusive_access(false, "My Burner")?;
/// assert_eq!(rec.exclusive_access_owner()?, "My Burner");
/// rec.release_exclusive_access()?;
/// # Ok::<(), discrecorder::Error>(())
/// ```
#[derive(Debug)]
pub struct Recorder {
    device: Device,
    state: Mutex<State>,
    /// Signalled when an acquire in progress ends, whatever its outcome.
    acquired_or_not: Condvar,
    /// Serialises `disable_mcn`/`enable_mcn`, so that checking the count and taking (or giving
    /// back) the lock level it stands for are one step. Taken before `state`, never after.
    mcn_op: Mutex<()>,
}

/// Drops the claim. A claim shared with a job's command is only closed here (the command holds
/// it on), and its record is given up rather than kept for the next acquire.
fn end_claim(state: &mut State) {
    let shared = state.claim.as_ref().is_some_and(Claim::is_shared);
    state.claim = None;
    if shared {
        if let Some(r) = state.record.take() {
            r.abandon_shared();
        }
    } else if let Some(r) = state.record.as_ref() {
        r.suspend();
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(|p| p.into_inner());
        end_claim(state);
    }
}

/// Resets `acquiring` and wakes the other threads when an acquire ends, by return or by panic.
struct AcquireTurn<'a> {
    recorder: &'a Recorder,
}

impl Drop for AcquireTurn<'_> {
    fn drop(&mut self) {
        self.recorder.state().acquiring = false;
        self.recorder.acquired_or_not.notify_all();
    }
}

impl Recorder {
    /// Opens a recorder on a block device path, `emu:NAME` of an existing emulated recorder, or
    /// a recorder id from [`crate::master`] (`wwid:...`, `path:...`, `dev:...`). Opening takes
    /// no claim and does not open the device node.
    ///
    /// # Errors
    /// - `HRESULT_FROM_WIN32(ERROR_DEV_NOT_EXIST)`: no such device, emulated recorder or id.
    /// - `E_INVALIDARG`: the path is not a block device, or the name is not valid.
    /// - `E_ACCESSDENIED`: the node cannot be examined.
    pub fn open(device: &str) -> Result<Recorder> {
        let by_id = ["wwid:", "path:", "dev:"]
            .iter()
            .any(|p| device.starts_with(p));
        let spec = if by_id {
            crate::master::find(device)?.device
        } else {
            device.to_owned()
        };
        Ok(Recorder {
            device: Device::resolve(&spec)?,
            state: Mutex::new(State::default()),
            acquired_or_not: Condvar::new(),
            mcn_op: Mutex::new(()),
        })
    }

    /// The device this recorder is on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every state change is a few assignments that cannot panic halfway, so a poisoned lock
        // still holds a consistent state.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `AcquireExclusiveAccess(force, client_name)`, with IMAPI2's shape: `force` unmounts the
    /// device's file systems ([`crate::Mounted::Unmount`]). See [`Recorder::acquire_with`].
    ///
    /// # Errors
    /// As [`Recorder::acquire_with`].
    pub fn acquire_exclusive_access(&self, force: bool, client_name: &str) -> Result<Acquired> {
        self.acquire_with(client_name, AcquireOptions::from_imapi_force(force))
    }

    /// Acquires exclusive access, or nests one more level if this recorder already holds it.
    ///
    /// - Count > 0: the count grows by one; the published name stays the first one.
    /// - Count 0: every claim is taken, waiting as `opts.wait` says: this process's table, the
    ///   owner record, `flock(LOCK_EX)` on the node, an `O_EXCL` read-write open of a block
    ///   device and a whole-file POSIX write lock on it (the last two left to a child program
    ///   with [`crate::ClaimScope::Handoff`]).
    ///
    /// # Errors
    /// - `E_INVALIDARG`: the client name is not valid (nothing changes).
    /// - `E_ACCESSDENIED`: the device is held by anyone else (named in the context), mounted
    ///   without [`crate::Mounted::Unmount`], or may not be opened read-write by this user.
    /// - `HRESULT_FROM_WIN32(ERROR_DEV_NOT_EXIST)`: the device is gone.
    /// - `HRESULT_FROM_WIN32(ERROR_INVALID_HANDLE)`: the node now names another device.
    /// - `E_IMAPI_RECORDER_COMMAND_TIMEOUT`: an optical drive does not answer.
    pub fn acquire_with(&self, client_name: &str, opts: AcquireOptions) -> Result<Acquired> {
        let client = ClientName::new(client_name)?;
        let deadline = opts.wait.deadline();
        let mut opts = opts;
        let mut state = self.state();
        loop {
            if state.count > 0 {
                state.count += 1;
                return Ok(Acquired {
                    lock_count: state.count,
                    mode: state
                        .claim
                        .as_ref()
                        .map_or(HoldMode::Exclusive, Claim::mode),
                    unmounted: Vec::new(),
                    warnings: Vec::new(),
                });
            }
            if !state.acquiring {
                break;
            }
            // Another thread of this recorder is taking the device: its outcome decides ours.
            state = match deadline {
                None => return Err(self.acquire_in_progress()),
                Some(None) => self
                    .acquired_or_not
                    .wait(state)
                    .unwrap_or_else(|p| p.into_inner()),
                Some(Some(end)) => {
                    let left = end.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(self.acquire_in_progress());
                    }
                    opts.wait = Wait::Timeout(left);
                    self.acquired_or_not
                        .wait_timeout(state, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
            };
        }
        state.acquiring = true;
        let turn = AcquireTurn { recorder: self };
        let mut record = state.record.take();
        let mut waiter = state.waiter.take();
        let timeout = state.timeout;
        drop(state);

        let result = claim::acquire(&self.device, &client, opts, &mut record, &mut waiter)
            .and_then(|(claim, acquired)| {
                if self.is_mmc() {
                    // IMAPI2 also checks that the drive answers; a hung drive is not worth
                    // holding.
                    if let Err(e) = scsi::probe_answers(&self.device, claim.io_fd(), timeout) {
                        drop(claim);
                        if let Some(r) = record.as_ref() {
                            r.suspend();
                        }
                        return Err(e);
                    }
                }
                Ok((claim, acquired))
            });

        let mut state = self.state();
        state.record = record;
        state.waiter = waiter;
        let (claim, acquired) = match result {
            Ok(v) => v,
            Err(e) => {
                drop(state);
                drop(turn);
                return Err(e);
            }
        };
        state.count = 1;
        state.since_unix_ms = sys::now_unix_ms();
        state.client = Some(client);
        state.claim = Some(claim);
        drop(state);
        drop(turn);
        Ok(acquired)
    }

    fn acquire_in_progress(&self) -> Error {
        Error::new(
            HResult::EAccessDenied,
            format!(
                "{} is being acquired by another thread of this recorder",
                self.device.spec()
            ),
        )
    }

    /// `ReleaseExclusiveAccess`: the count drops by one; at zero every claim is dropped and the
    /// device is free. Returns the count left. Releasing succeeds even if the device vanished
    /// meanwhile.
    ///
    /// # Errors
    /// - `E_FAIL`: this recorder does not hold exclusive access (count 0); nothing changes.
    pub fn release_exclusive_access(&self) -> Result<u32> {
        let mut state = self.state();
        match state.count {
            0 => Err(Error::new(
                HResult::EFail,
                format!(
                    "exclusive access is not held by this recorder on {}",
                    self.device.spec()
                ),
            )),
            1 => {
                state.count = 0;
                state.client = None;
                state.mcn_disabled = 0;
                end_claim(&mut state);
                Ok(0)
            }
            n => {
                state.count = n - 1;
                Ok(n - 1)
            }
        }
    }

    /// This recorder's lock count.
    pub fn lock_count(&self) -> u32 {
        self.state().count
    }

    /// `ExclusiveAccessOwner`: the owner's name, or `""` when nobody holds the device.
    ///
    /// # Errors
    /// As [`Recorder::owner`].
    pub fn exclusive_access_owner(&self) -> Result<String> {
        Ok(self.owner()?.map(|o| o.name).unwrap_or_default())
    }

    /// The processes waiting for the device, oldest first: the order they will be served in.
    /// Only live waiters count (a killed one drops out at once), and only those whose
    /// credentials may open the device.
    pub fn waiting(&self) -> Vec<crate::queue::Waiter> {
        crate::queue::waiting(&sys::runtime_dir(), self.device.key(), self.device.path())
    }

    /// Who holds the device, with PID, program, since and kind; `None` when it is free.
    ///
    /// # Errors
    /// - `HRESULT_FROM_WIN32(ERROR_DEV_NOT_EXIST)`: the device is gone.
    /// - `HRESULT_FROM_WIN32(ERROR_INVALID_HANDLE)`: the node now names another device.
    /// - `E_FAIL` and others from reading the kernel's lock and mount tables.
    pub fn owner(&self) -> Result<Option<Owner>> {
        if self.state().count > 0 {
            return Ok(owner::local(self.device.key()));
        }
        self.device.check_present()?;
        owner::find(&self.device)
    }

    /// Whether the device this recorder holds was removed while held (the next operation
    /// would fail with `ERROR_DEV_NOT_EXIST`).
    pub fn device_vanished(&self) -> bool {
        let state = self.state();
        match &state.claim {
            Some(c) => c.device_vanished(&self.device),
            None => self.device.check_present().is_err(),
        }
    }

    /// Where this recorder's owner record is published, while it holds the device. A test hook.
    #[cfg(feature = "testing")]
    pub fn owner_record_path(&self) -> Option<PathBuf> {
        let state = self.state();
        state
            .claim
            .as_ref()
            .and(state.record.as_ref())
            .map(|r| r.path().to_path_buf())
    }

    /// Whether this recorder holds the kernel's exclusive (`O_EXCL`) claim now. A test hook.
    #[cfg(feature = "testing")]
    pub fn holds_kernel_claim(&self) -> bool {
        self.state()
            .claim
            .as_ref()
            .is_some_and(|c| c.exclusive_fd().is_some())
    }

    /// Acquires with the default options and returns a guard that releases once when dropped.
    ///
    /// # Errors
    /// As [`Recorder::acquire_with`].
    pub fn lock(&self, client_name: &str) -> Result<ExclusiveAccess<'_>> {
        self.lock_with(client_name, AcquireOptions::default())
    }

    /// [`Recorder::lock`] with every option.
    ///
    /// # Errors
    /// As [`Recorder::acquire_with`].
    pub fn lock_with(
        &self,
        client_name: &str,
        opts: AcquireOptions,
    ) -> Result<ExclusiveAccess<'_>> {
        let acquired = self.acquire_with(client_name, opts)?;
        Ok(AccessGuard::new(self, acquired))
    }

    /// [`Recorder::lock_with`] with a guard that owns its recorder, so that it can be moved into
    /// another thread or stored in a job's struct.
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use discrecorder::{AcquireOptions, Recorder};
    /// let rec = Arc::new(Recorder::open("/dev/sr0")?);
    /// let access = rec.lock_owned("Burn Job", AcquireOptions::default())?;
    /// std::thread::spawn(move || {
    ///     // ... write, holding `access` ...
    ///     drop(access);
    /// });
    /// # Ok::<(), discrecorder::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Recorder::acquire_with`].
    pub fn lock_owned(
        self: &Arc<Self>,
        client_name: &str,
        opts: AcquireOptions,
    ) -> Result<OwnedExclusiveAccess> {
        let acquired = self.acquire_with(client_name, opts)?;
        Ok(AccessGuard::new(Arc::clone(self), acquired))
    }

    /// Starts `cmd` as this claim's job: the program inherits the claim (the `flock`ed and the
    /// `O_EXCL` descriptors and the owner record's lock), so the device stays held while any
    /// process of the job holds them, even after this process dies, and is free the instant
    /// the last one exits, as with `flock(1)`. The owner record names the command, so `owner`
    /// keeps naming the client, with the PID of a process that still holds the claim. POSIX
    /// record locks are not inherited (fork(2)): the job's command keeps the `O_EXCL` claim,
    /// which libburn tools meet first.
    ///
    /// # Errors
    /// - `E_FAIL`: this recorder does not hold exclusive access.
    /// - The error of spawning the command, as an `io::Error` inside `E_FAIL`.
    pub fn spawn_job(&self, cmd: &mut std::process::Command) -> Result<std::process::Child> {
        let mut state = self.state();
        let st = &mut *state;
        let Some(claim) = st.claim.as_mut() else {
            return Err(Error::new(
                HResult::EFail,
                format!(
                    "exclusive access is not held by this recorder on {}",
                    self.device.spec()
                ),
            ));
        };
        let mut fds = claim.share();
        fds.extend(st.record.as_ref().map(PublishedRecord::raw_fd));
        sys::exec::keep_across_exec(cmd, fds);
        // The descriptors stay open (the state lock is held) until the child has them.
        let child = cmd.spawn().map_err(|e| {
            Error::new(HResult::EFail, format!("cannot start the job: {e}")).with_source(e)
        })?;
        // The child's PID as /proc numbers it (ours may be a namespace's), then its start time.
        let job = sys::process::proc_pid_of_child(child.id() as i32)
            .and_then(|pid| sys::process::start_time(pid).map(|start| ProcessId { pid, start }));
        if let Some(claim) = st.claim.as_mut() {
            claim.published.job = job;
            if let Some(r) = st.record.as_ref() {
                r.rewrite(&claim.published);
            }
        }
        Ok(child)
    }

    /// Publishes the job this recorder's holder is doing on the device (a burn, a blank), or
    /// `None` when it is done: every process sees it in [`Owner::job`] (`discrec owner`, `info`,
    /// `list`). The record is rewritten in place, so call it as often as progress is worth
    /// showing (a few times a second at most).
    ///
    /// # Errors
    /// - `E_FAIL`: this recorder does not hold exclusive access.
    pub fn publish_job(&self, job: Option<Job>) -> Result<()> {
        let mut state = self.state();
        let st = &mut *state;
        let Some(claim) = st.claim.as_mut() else {
            return Err(Error::new(
                HResult::EFail,
                format!(
                    "exclusive access is not held by this recorder on {}",
                    self.device.spec()
                ),
            ));
        };
        claim.set_task(job, st.record.as_ref());
        Ok(())
    }

    /// How long one SCSI command may take before `E_IMAPI_RECORDER_COMMAND_TIMEOUT`.
    pub fn set_command_timeout(&self, timeout: Duration) {
        self.state().timeout = timeout;
    }

    /// The client name that operations taking the lock for themselves publish
    /// (default `discrecorder`).
    ///
    /// # Errors
    /// - `E_INVALIDARG`: the name is not a valid client name.
    pub fn set_client_name(&self, name: &str) -> Result<()> {
        self.state().ops_client = ClientName::new(name)?;
        Ok(())
    }

    /// Whether the device speaks MMC: an sr drive (SCSI type 5) or an emulated recorder.
    pub fn is_mmc(&self) -> bool {
        self.device.is_mmc()
    }

    /// A view of the drive over the descriptor this recorder holds, if any.
    fn drive(&self) -> Drive<'_> {
        let state = self.state();
        Drive::new(
            &self.device,
            state.claim.as_ref().map(Claim::io_fd),
            state.timeout,
        )
    }

    /// INQUIRY: vendor, product, revision.
    ///
    /// # Errors
    /// - `E_FAIL`: not an MMC device.
    /// - `E_IMAPI_RECORDER_COMMAND_TIMEOUT`, `HRESULT_FROM_WIN32(ERROR_DEV_NOT_EXIST)`: the drive
    ///   does not answer or is gone.
    /// - `E_IMAPI_RECORDER_INVALID_RESPONSE_FROM_DEVICE`: the answer cannot be decoded.
    pub fn identity(&self) -> Result<Identity> {
        self.drive().identity()
    }

    /// `VendorId`.
    ///
    /// # Errors
    /// As [`Recorder::identity`].
    pub fn vendor_id(&self) -> Result<String> {
        Ok(self.identity()?.vendor)
    }

    /// `ProductId`.
    ///
    /// # Errors
    /// As [`Recorder::identity`].
    pub fn product_id(&self) -> Result<String> {
        Ok(self.identity()?.product)
    }

    /// `ProductRevision`.
    ///
    /// # Errors
    /// As [`Recorder::identity`].
    pub fn product_revision(&self) -> Result<String> {
        Ok(self.identity()?.revision)
    }

    /// The unit serial number (VPD page 0x80), where the drive has one.
    ///
    /// # Errors
    /// As [`Recorder::identity`].
    pub fn serial_number(&self) -> Result<Option<String>> {
        self.drive().serial_number()
    }

    /// GET CONFIGURATION with `request_type`, from feature 0.
    ///
    /// # Errors
    /// As [`Recorder::identity`], and `E_IMAPI_RECORDER_GET_CONFIGURATION_NOT_SUPPORTED` for a
    /// drive older than MMC-3.
    pub fn configuration(&self, request_type: RequestType) -> Result<Configuration> {
        self.drive().configuration(request_type)
    }

    /// `SupportedProfiles`: every profile the drive supports.
    ///
    /// # Errors
    /// As [`Recorder::configuration`].
    pub fn supported_profiles(&self) -> Result<Vec<Profile>> {
        self.drive().profiles(false)
    }

    /// `CurrentProfiles`: the profiles current for the loaded medium (empty without one).
    ///
    /// # Errors
    /// As [`Recorder::configuration`].
    pub fn current_profiles(&self) -> Result<Vec<Profile>> {
        self.drive().profiles(true)
    }

    /// `SupportedFeaturePages`: every feature the drive reports.
    ///
    /// # Errors
    /// As [`Recorder::configuration`].
    pub fn supported_feature_pages(&self) -> Result<Vec<FeatureCode>> {
        self.drive().feature_pages(false)
    }

    /// `CurrentFeaturePages`: the features current now.
    ///
    /// # Errors
    /// As [`Recorder::configuration`].
    pub fn current_feature_pages(&self) -> Result<Vec<FeatureCode>> {
        self.drive().feature_pages(true)
    }

    /// `SupportedModePages`: MODE SENSE(10) with page 0x3F.
    ///
    /// # Errors
    /// As [`Recorder::identity`], and `E_IMAPI_RECORDER_NO_SUCH_MODE_PAGE`.
    pub fn supported_mode_pages(&self) -> Result<Vec<u8>> {
        self.drive().mode_pages()
    }

    /// `DeviceCanLoadMedia`: from the Removable Medium feature.
    ///
    /// # Errors
    /// As [`Recorder::configuration`].
    pub fn device_can_load_media(&self) -> Result<bool> {
        self.drive().can_load_media()
    }

    /// TEST UNIT READY: `Ok` with a medium ready.
    ///
    /// # Errors
    /// - `E_IMAPI_RECORDER_MEDIA_NO_MEDIA`, `E_IMAPI_RECORDER_MEDIA_BECOMING_READY` and the
    ///   other medium conditions; otherwise as [`Recorder::identity`].
    pub fn check_medium(&self) -> Result<()> {
        self.drive().check_medium()
    }

    /// `VolumeName`: the kernel's device node (`/dev/srN`) or `emu:NAME`.
    pub fn volume_name(&self) -> String {
        match self.device.kind() {
            DeviceKind::Emulated { .. } => self.device.spec().to_owned(),
            DeviceKind::Block { .. } => self.device.path().display().to_string(),
        }
    }

    /// `VolumePathNames`: where file systems of the device are mounted.
    ///
    /// # Errors
    /// - `E_FAIL` (or the errno's HRESULT): the mount table cannot be read.
    pub fn volume_path_names(&self) -> Result<Vec<PathBuf>> {
        if self.device.is_block() {
            owner::mounts_of(&self.device)
        } else {
            Ok(Vec::new())
        }
    }

    /// `LegacyDeviceNumber`: N of `/dev/srN` (the minor number for other block devices).
    pub fn legacy_device_number(&self) -> Option<u32> {
        match self.device.kind() {
            DeviceKind::Block { minor, .. } => {
                let name = self.device.path().file_name()?.to_str()?.to_owned();
                name.strip_prefix("sr")
                    .and_then(|n| n.parse().ok())
                    .or(Some(*minor))
            }
            DeviceKind::Emulated { .. } => None,
        }
    }

    /// `ActiveRecorderId`: the stable id of this recorder (see [`crate::master`]).
    pub fn active_recorder_id(&self) -> String {
        crate::master::recorder_id(&self.device)
    }

    /// Takes one level of exclusive access under the operation client name. A device held by
    /// someone else gives `E_IMAPI_RECORDER_LOCKED` naming them; the owner is looked up only
    /// when the acquire was refused, not before every operation.
    fn acquire_for(&self, what: &str) -> Result<()> {
        let name = self.state().ops_client.clone();
        self.acquire_as(name.as_str(), what, AcquireOptions::default())
    }

    /// Takes one level of exclusive access as `client` for an operation that changes the
    /// medium (`what`, for the error): nests under this recorder's own access, else acquires;
    /// a device held by someone else gives `E_IMAPI_RECORDER_LOCKED` naming them.
    pub(crate) fn acquire_as(&self, client: &str, what: &str, opts: AcquireOptions) -> Result<()> {
        match self.acquire_with(client, opts) {
            Ok(_) => Ok(()),
            Err(e) if e.hresult() == HResult::EAccessDenied && self.lock_count() == 0 => {
                match owner::find(&self.device)? {
                    Some(o) => Err(Error::new(
                        HResult::RecorderLocked,
                        format!(
                            "cannot {what} {}: it is held by {}",
                            self.device.spec(),
                            o.describe()
                        ),
                    )),
                    None => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// A transport for commands to the drive over the descriptor this recorder holds (or a
    /// fresh one: read-only for queries, read-write for commands that change the medium), and
    /// the command timeout: for the writing layer above.
    pub(crate) fn command_transport(
        &self,
        access: scsi::Access,
    ) -> Result<(Box<dyn crate::transport::Transport>, Duration)> {
        if !self.is_mmc() {
            return Err(Drive::not_mmc(&self.device));
        }
        let (fd, timeout) = {
            let state = self.state();
            (state.claim.as_ref().map(Claim::io_fd), state.timeout)
        };
        let t = scsi::transport_for(&self.device, fd, access)?;
        Ok((t, timeout))
    }

    /// Tells the kernel and udev that the medium changed (after a write or an erase), so that
    /// the block device's size and the udev database are refreshed without an eject. Best
    /// effort: see [`crate::sys::announce_medium_change`].
    /// After a write or an erase on a real drive, while this recorder still holds it: makes
    /// the kernel see the new medium, as growisofs does, by reloading the tray (eject, then
    /// load) and telling the cdrom layer after each move (`CDROM_MEDIA_CHANGED` on the held
    /// descriptor), so that the next open of the device re-reads its size. The sr driver only
    /// re-reads the capacity when it sees the medium change, and a drive that writes a disc
    /// reports no change by itself. Only for a drive whose Removable Medium feature says it
    /// loads media by command; a slot-loading drive keeps the old size until its next eject.
    /// Best effort: returns whether the tray was reloaded.
    pub(crate) fn reload_for_kernel(&self) -> bool {
        if !matches!(self.device.kind(), DeviceKind::Block { .. }) || self.lock_count() == 0 {
            return false;
        }
        let drive = self.drive();
        if !drive.can_load_media().unwrap_or(false) || drive.eject().is_err() {
            return false;
        }
        let fd = self.state().claim.as_ref().map(Claim::io_fd);
        if let Some(fd) = &fd {
            let _ = sys::cdrom::media_changed(&**fd);
        }
        let closed = drive.close_tray().is_ok();
        // The drive spins the disc up again: TEST UNIT READY until it is ready (a unit
        // attention first, then not ready, becoming ready), for at most 30 s.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while closed && drive.check_medium().is_err() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        if let Some(fd) = &fd {
            let _ = sys::cdrom::media_changed(&**fd);
        }
        closed
    }

    pub(crate) fn announce_medium_change(&self) {
        if let DeviceKind::Block { major, minor } = self.device.kind() {
            // Reopening the node is safe only when no recorder of this process holds it.
            let reopen = crate::registry::local_io_fd(self.device.key()).is_none();
            let _ = sys::announce_medium_change(*major, *minor, self.device.path(), reopen);
        }
    }

    /// Runs `f` while holding exclusive access: this recorder's own, else one level taken for
    /// the operation and given back after it.
    fn with_exclusive<T>(&self, what: &str, f: impl FnOnce(&Drive<'_>) -> Result<T>) -> Result<T> {
        if !self.is_mmc() {
            return Err(Drive::not_mmc(&self.device));
        }
        let held = self.lock_count() > 0;
        if !held {
            self.acquire_for(what)?;
        }
        let result = f(&self.drive());
        if !held {
            let _ = self.release_exclusive_access();
        }
        result
    }

    /// `EjectMedia`: unlocks the tray and opens it.
    ///
    /// # Errors
    /// - `E_IMAPI_RECORDER_LOCKED`: another client holds the device.
    /// - `E_FAIL`: not an MMC device; otherwise as [`Recorder::identity`].
    pub fn eject_media(&self) -> Result<()> {
        self.with_exclusive("eject", |d| d.eject())
    }

    /// `CloseTray`: loads the medium.
    ///
    /// # Errors
    /// As [`Recorder::eject_media`].
    pub fn close_tray(&self) -> Result<()> {
        self.with_exclusive("close the tray of", |d| d.close_tray())
    }

    /// `DisableMcn`: stops media change notification, counted. Holds exclusive access while
    /// disabled (see the module documentation for why that is how Linux does it).
    ///
    /// # Errors
    /// - `E_IMAPI_RECORDER_LOCKED`: another client holds the device; otherwise as
    ///   [`Recorder::acquire_with`].
    pub fn disable_mcn(&self) -> Result<u32> {
        let _op = self.mcn_op.lock().unwrap_or_else(|p| p.into_inner());
        if self.state().mcn_disabled == 0 {
            self.acquire_for("disable media change notification of")?;
        }
        let mut state = self.state();
        state.mcn_disabled += 1;
        Ok(state.mcn_disabled)
    }

    /// `EnableMcn`: undoes one `disable_mcn`; at zero the kernel polls for media again.
    ///
    /// # Errors
    /// As [`Recorder::release_exclusive_access`] (only if the lock level was released behind
    /// its back).
    pub fn enable_mcn(&self) -> Result<u32> {
        let _op = self.mcn_op.lock().unwrap_or_else(|p| p.into_inner());
        let left = {
            let mut state = self.state();
            if state.mcn_disabled == 0 {
                return Ok(0);
            }
            state.mcn_disabled -= 1;
            state.mcn_disabled
        };
        if left == 0 {
            self.release_exclusive_access()?;
        }
        Ok(left)
    }

    /// The media change notification disable count.
    pub fn mcn_disabled_count(&self) -> u32 {
        self.state().mcn_disabled
    }
}

/// One level of exclusive access, released when dropped (RAII over the counted API). `R` is how
/// the guard reaches its recorder: borrowed ([`ExclusiveAccess`]) or shared ownership
/// ([`OwnedExclusiveAccess`]).
#[derive(Debug)]
#[must_use = "exclusive access is released as soon as the guard is dropped"]
pub struct AccessGuard<R: Deref<Target = Recorder>> {
    recorder: R,
    acquired: Acquired,
    released: bool,
}

/// A guard that borrows its recorder: [`Recorder::lock`], [`Recorder::lock_with`].
pub type ExclusiveAccess<'a> = AccessGuard<&'a Recorder>;

/// A guard that owns its recorder (through an [`Arc`]), to move into a thread or a struct:
/// [`Recorder::lock_owned`].
pub type OwnedExclusiveAccess = AccessGuard<Arc<Recorder>>;

impl<R: Deref<Target = Recorder>> AccessGuard<R> {
    fn new(recorder: R, acquired: Acquired) -> Self {
        AccessGuard {
            recorder,
            acquired,
            released: false,
        }
    }

    /// What the acquire did (count, mode, unmounted volumes, warnings).
    pub fn acquired(&self) -> &Acquired {
        &self.acquired
    }

    /// The recorder this guard is on.
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    /// Starts `cmd` as the job of this exclusive access: see [`Recorder::spawn_job`].
    ///
    /// # Errors
    /// As [`Recorder::spawn_job`].
    pub fn spawn_job(&self, cmd: &mut std::process::Command) -> Result<std::process::Child> {
        self.recorder.spawn_job(cmd)
    }

    /// Publishes the job done under this exclusive access: see [`Recorder::publish_job`].
    ///
    /// # Errors
    /// As [`Recorder::publish_job`].
    pub fn publish_job(&self, job: Option<Job>) -> Result<()> {
        self.recorder.publish_job(job)
    }

    /// Releases now, returning the count left.
    ///
    /// # Errors
    /// As [`Recorder::release_exclusive_access`] (only if the level was released behind the
    /// guard's back).
    pub fn release(mut self) -> Result<u32> {
        self.released = true;
        self.recorder.release_exclusive_access()
    }
}

impl<R: Deref<Target = Recorder>> Drop for AccessGuard<R> {
    fn drop(&mut self) {
        if !self.released {
            let _ = self.recorder.release_exclusive_access();
        }
    }
}
