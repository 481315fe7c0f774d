//! The recorder: one client's handle on one device, with IMAPI2's counted exclusive access.
//!
//! Owns the lock count and its rules (SPEC section 2): validation first, nesting without system
//! calls, the claim taken at 0 -> 1 and dropped at 1 -> 0, `E_FAIL` for a release at 0. The
//! claims themselves are [`crate::claim`]'s; finding owners is [`crate::owner`]'s.

use std::sync::{Mutex, MutexGuard};

use crate::claim::{self, AcquireOptions, Acquired, Claim};
use crate::client_name::ClientName;
use crate::device::Device;
use crate::error::{Error, HResult, Result};
use crate::owner::{self, Owner};
use crate::record::HoldMode;

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) count: u32,
    client: Option<ClientName>,
    since_unix_ms: u64,
    pub(crate) claim: Option<Claim>,
    /// How long a SCSI command may take.
    pub(crate) timeout: std::time::Duration,
    /// The client name operations that take the lock for themselves use.
    pub(crate) ops_client: ClientName,
    /// Media change notification disable count.
    pub(crate) mcn_disabled: u32,
    /// This recorder's owner record file, kept (unlocked) between acquisitions and removed when
    /// the recorder is dropped. Declared after `claim`, so it outlives it when dropped.
    record: Option<crate::record::PublishedRecord>,
    /// This recorder's watcher for waiting acquires, kept once made (see `claim::acquire`).
    waiter: Option<crate::sys::ChangeWaiter>,
}

impl Default for State {
    fn default() -> State {
        State {
            count: 0,
            client: None,
            since_unix_ms: 0,
            claim: None,
            timeout: crate::drive::DEFAULT_COMMAND_TIMEOUT,
            ops_client: ClientName::new("discrecorder").expect("a valid literal name"),
            mcn_disabled: 0,
            record: None,
            waiter: None,
        }
    }
}

/// One client's handle on one device (IMAPI2's `IDiscRecorder2`).
///
/// All methods take `&self`; a recorder may be shared between threads. Two recorders on the
/// same device conflict exactly like two processes do, in the same process too. Dropping a
/// recorder releases whatever it holds, whatever its count.
///
/// ```no_run
/// use discrecorder::Recorder;
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
}

impl Recorder {
    /// Opens a recorder on a block device path or `emu:NAME` (created on first use). Opening
    /// takes no claim and does not open the device node.
    ///
    /// A recorder id from [`crate::master`] (`wwid:...`, `path:...`, `dev:...`) is accepted too.
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
        })
    }

    /// The device this recorder is on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        // Every state change is a single assignment under the lock, so a poisoned lock still
        // holds a consistent state.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `AcquireExclusiveAccess(force, client_name)`: see [`Recorder::acquire_with`].
    pub fn acquire_exclusive_access(&self, force: bool, client_name: &str) -> Result<Acquired> {
        self.acquire_with(
            client_name,
            AcquireOptions {
                force,
                ..AcquireOptions::default()
            },
        )
    }

    /// Acquires exclusive access, or nests one more level if this recorder already holds it.
    ///
    /// - An invalid client name gives `E_INVALIDARG` and changes nothing.
    /// - Count > 0: the count grows by one; the published name stays the first one.
    /// - Count 0: every claim is taken (see [`crate::claim`]); a device held by anyone else, or
    ///   mounted without `force`, gives `E_ACCESSDENIED` naming the owner, unless `opts.wait`
    ///   says to wait for it.
    pub fn acquire_with(&self, client_name: &str, opts: AcquireOptions) -> Result<Acquired> {
        ClientName::check(client_name.as_bytes())?;
        let mut state = self.state();
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
        let client = ClientName::new(client_name)?;
        let st = &mut *state;
        let (claim, acquired) =
            claim::acquire(&self.device, &client, opts, &mut st.record, &mut st.waiter)?;
        if self.is_mmc() {
            // IMAPI2 also checks that the drive answers; a hung drive is not worth holding.
            if let Err(e) = crate::drive::probe_answers(&self.device, &claim, state.timeout) {
                drop(claim);
                if let Some(r) = state.record.as_ref() {
                    r.suspend();
                }
                return Err(e);
            }
        }
        state.count = 1;
        state.since_unix_ms = claim::now_unix_ms();
        state.client = Some(client);
        state.claim = Some(claim);
        Ok(acquired)
    }

    /// `ReleaseExclusiveAccess`: the count drops by one; at zero every claim is dropped and the
    /// device is free. At count 0 it fails with `E_FAIL` and changes nothing. Returns the count
    /// left. Releasing succeeds even if the device vanished meanwhile.
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
                state.claim = None;
                state.mcn_disabled = 0;
                if let Some(r) = state.record.as_ref() {
                    r.suspend();
                }
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
    pub fn exclusive_access_owner(&self) -> Result<String> {
        Ok(self.owner()?.map(|o| o.name).unwrap_or_default())
    }

    /// Who holds the device, with PID, program, since and kind; `None` when it is free.
    pub fn owner(&self) -> Result<Option<Owner>> {
        if self.state().count > 0 {
            return Ok(claim::local_owner(self.device.key()));
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

    /// Where this recorder's owner record is published, while it holds the device.
    pub fn owner_record_path(&self) -> Option<std::path::PathBuf> {
        let state = self.state();
        state
            .claim
            .as_ref()
            .and(state.record.as_ref())
            .map(|r| r.path().to_path_buf())
    }

    /// Whether this recorder holds the kernel's exclusive (`O_EXCL`) claim now.
    pub fn holds_kernel_claim(&self) -> bool {
        self.state()
            .claim
            .as_ref()
            .is_some_and(|c| c.exclusive_fd().is_some())
    }

    /// Acquires and returns a guard that releases once when dropped.
    pub fn lock(&self, force: bool, client_name: &str) -> Result<ExclusiveAccess<'_>> {
        self.lock_with(
            client_name,
            AcquireOptions {
                force,
                ..AcquireOptions::default()
            },
        )
    }

    /// [`Recorder::lock`] with every option.
    pub fn lock_with(
        &self,
        client_name: &str,
        opts: AcquireOptions,
    ) -> Result<ExclusiveAccess<'_>> {
        let acquired = self.acquire_with(client_name, opts)?;
        Ok(ExclusiveAccess {
            recorder: self,
            acquired,
            released: false,
        })
    }
}

/// One level of exclusive access, released when dropped (RAII over the counted API).
#[derive(Debug)]
#[must_use = "exclusive access is released as soon as the guard is dropped"]
pub struct ExclusiveAccess<'a> {
    recorder: &'a Recorder,
    acquired: Acquired,
    released: bool,
}

impl ExclusiveAccess<'_> {
    /// What the acquire did (count, mode, unmounted volumes, warnings).
    pub fn acquired(&self) -> &Acquired {
        &self.acquired
    }

    /// The recorder this guard is on.
    pub fn recorder(&self) -> &Recorder {
        self.recorder
    }

    /// Releases now, returning the count left.
    pub fn release(mut self) -> Result<u32> {
        self.released = true;
        self.recorder.release_exclusive_access()
    }
}

impl Drop for ExclusiveAccess<'_> {
    fn drop(&mut self) {
        if !self.released {
            let _ = self.recorder.release_exclusive_access();
        }
    }
}
