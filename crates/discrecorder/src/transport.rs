//! Moving SCSI commands to a device: the kernel's `SG_IO`, or the emulated MMC drive.
//!
//! Owns the [`Transport`] trait and its two implementations. A transport only moves bytes and
//! turns transport-level failures into HRESULTs (timeout, vanished device, no permission, not a
//! SCSI device); what the bytes mean is [`crate::mmc`]'s business.

use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::Duration;

use discrecorder_mmc::emulator::Outcome;

use crate::emu;
use crate::error::{errno_text, libc_errno, Error, HResult, Result};
pub(crate) use crate::sys::sg::Data;

/// What the device answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// SCSI status: 0 GOOD, 2 CHECK CONDITION.
    pub status: u8,
    /// Sense bytes, when the status is CHECK CONDITION.
    pub sense: Vec<u8>,
    /// Data bytes transferred.
    pub transferred: usize,
}

/// Sends one command and returns the device's answer.
pub trait Transport: Send + std::fmt::Debug {
    /// Executes `cdb` with its data phase, giving up after `timeout`.
    fn execute(&mut self, cdb: &[u8], data: Data<'_>, timeout: Duration) -> Result<Reply>;
}

/// `SG_IO` on a descriptor of the block device (the one holding the claim when there is one).
#[derive(Debug)]
pub struct SgTransport {
    fd: Arc<OwnedFd>,
    device: String,
}

impl SgTransport {
    /// A transport over `fd`, a descriptor of `device`.
    pub fn new(fd: Arc<OwnedFd>, device: &str) -> SgTransport {
        SgTransport {
            fd,
            device: device.to_owned(),
        }
    }
}

impl Transport for SgTransport {
    fn execute(&mut self, cdb: &[u8], data: Data<'_>, timeout: Duration) -> Result<Reply> {
        let reply = crate::sys::sg::execute(&*self.fd, cdb, data, timeout).map_err(|e| {
            let text = errno_text(&e);
            match e.raw_os_error() {
                Some(25) | Some(libc_errno::EINVAL) => Error::new(
                    HResult::EFail,
                    format!(
                        "{} is not an MMC device: it does not accept SCSI commands (SG_IO: {text})",
                        self.device
                    ),
                ),
                Some(libc_errno::EACCES) | Some(libc_errno::EPERM) => Error::permission_denied(
                    format!(
                        "{} refused the command (SG_IO: {text}): commands that change the drive need it opened read-write",
                        self.device
                    ),
                ),
                Some(libc_errno::ETIMEDOUT) => Error::new(
                    HResult::RecorderCommandTimeout,
                    format!("{}: command 0x{:02X} timed out", self.device, cdb[0]),
                ),
                _ => Error::from_io(e, &self.device, "SG_IO on"),
            }
        })?;
        if reply.timed_out() {
            return Err(Error::new(
                HResult::RecorderCommandTimeout,
                format!(
                    "{}: command 0x{:02X} did not complete within {} ms",
                    self.device,
                    cdb[0],
                    timeout.as_millis()
                ),
            ));
        }
        if reply.host_status != 0 && reply.status == 0 {
            // DID_NO_CONNECT (1), DID_BAD_TARGET (4): the device went away under us.
            if matches!(reply.host_status, 0x01 | 0x04) {
                return Err(Error::new(
                    HResult::DevNotExist,
                    format!("{} is no longer connected", self.device),
                ));
            }
            return Err(Error::new(
                HResult::EFail,
                format!(
                    "{}: command 0x{:02X} failed in the host adapter (host status 0x{:02X})",
                    self.device, cdb[0], reply.host_status
                ),
            ));
        }
        Ok(Reply {
            status: reply.status,
            sense: reply.sense,
            transferred: reply.transferred,
        })
    }
}

/// The emulated MMC drive of `emu:NAME`: its state lives in the backing file (JSON) and its
/// disc's sectors in the image beside it, so every process sees the same tray, medium, events
/// and data; commands run here, in the caller's process. WRITE's `Data::Out` goes to the
/// image, READ's blocks come back in `Data::In`.
///
/// Cost: every command reads the JSON state under its lock, and one that changes it (a WRITE
/// does) writes it back. Measured on a 2-core machine with the state on tmpfs: about 60-90 µs
/// per 32 KiB WRITE in a release build (8-12 s of emulator overhead for the 131,072 WRITEs of
/// a 4 GiB burn), about 270 µs in a debug build; a TEST UNIT READY about 15-40 µs
/// (`measure_write_cycle` in this module's tests).
#[derive(Debug)]
pub struct EmuTransport {
    backing: emu::Backing,
    device: String,
}

impl EmuTransport {
    /// The drive whose state is in `backing`.
    pub(crate) fn new(backing: emu::Backing, device: &str) -> EmuTransport {
        EmuTransport {
            backing,
            device: device.to_owned(),
        }
    }
}

impl Transport for EmuTransport {
    fn execute(&mut self, cdb: &[u8], data: Data<'_>, timeout: Duration) -> Result<Reply> {
        let data_out: &[u8] = match &data {
            Data::Out(buf) => buf,
            _ => &[],
        };
        // The state lock is held for microseconds by a well-behaved process: wait for it no
        // longer than the command's timeout, and no longer than emu::STATE_LOCK_WAIT.
        let wait = timeout.min(emu::STATE_LOCK_WAIT);
        let outcome = emu::with_state_and_image(&self.backing, &self.device, wait, |s, store| {
            s.execute_with(cdb, data_out, store)
        })?;
        match outcome {
            Outcome::Hang => {
                // A command that never completes: the host gives up after its timeout.
                std::thread::sleep(timeout);
                Err(Error::new(
                    HResult::RecorderCommandTimeout,
                    format!(
                        "{}: command 0x{:02X} did not complete within {} ms",
                        self.device,
                        cdb.first().copied().unwrap_or(0),
                        timeout.as_millis()
                    ),
                ))
            }
            Outcome::Vanished => Err(Error::new(
                HResult::DevNotExist,
                format!("{} stopped answering: the device is gone", self.device),
            )),
            Outcome::Reply(r) => {
                let transferred = match data {
                    Data::In(buf) => {
                        let n = r.data.len().min(buf.len());
                        buf[..n].copy_from_slice(&r.data[..n]);
                        n
                    }
                    Data::Out(buf) => buf.len(),
                    Data::None => 0,
                };
                Ok(Reply {
                    status: r.status,
                    sense: r.sense,
                    transferred,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicU32, Ordering};

    use discrecorder_mmc::disc::{read_disc_information, DiscInformation, DiscStatus};
    use discrecorder_mmc::write::{read10, synchronize_cache, write10};

    use super::*;

    /// A fresh private directory under the system's temporary directory (0700), removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> TempDir {
            static N: AtomicU32 = AtomicU32::new(0);
            let p = Self::base().join(format!(
                "discrec-emu-image-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir(&p).expect("mkdir");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o700)).expect("chmod");
            TempDir(p)
        }
    }

    impl TempDir {
        /// Where emulated devices live by default (tmpfs), else the temporary directory.
        fn base() -> PathBuf {
            let shm = PathBuf::from("/dev/shm");
            if shm.is_dir() {
                shm
            } else {
                std::env::temp_dir()
            }
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    const T: Duration = Duration::from_secs(5);

    /// An emulated drive in `dir` with a blank disc of `profile` (unit attention consumed).
    fn drive(dir: &TempDir, profile: u16) -> (EmuTransport, emu::Backing) {
        let b = emu::Backing::in_dir(&dir.0, "bay").expect("backing");
        emu::with_state(&b, "emu:bay", T, |s| {
            s.profiles.push(profile);
            s.insert_medium(profile);
            s.unit_attention = false;
        })
        .expect("state");
        (EmuTransport::new(b.clone(), "emu:bay"), b)
    }

    fn write(t: &mut EmuTransport, lba: u32, data: &[u8]) -> Result<Reply> {
        let blocks = u16::try_from(data.len() / 2048).expect("small");
        t.execute(&write10(lba, blocks, 2048).cdb, Data::Out(data), T)
    }

    #[test]
    fn written_sectors_go_to_the_image_and_read_back() {
        let dir = TempDir::new();
        let (mut t, b) = drive(&dir, 0x001B);
        let data: Vec<u8> = (0..32 * 2048).map(|i| (i % 251) as u8).collect();
        for (i, chunk) in data.chunks(16 * 2048).enumerate() {
            let r = write(&mut t, i as u32 * 16, chunk).expect("writes");
            assert_eq!((r.status, r.transferred), (0, chunk.len()));
        }
        assert_eq!(
            t.execute(&synchronize_cache(false).cdb, Data::None, T)
                .expect("syncs")
                .status,
            0
        );
        let mut back = vec![0u8; data.len()];
        let r = t
            .execute(&read10(0, 32, 2048).cdb, Data::In(&mut back), T)
            .expect("reads");
        assert_eq!((r.status, r.transferred), (0, data.len()));
        assert_eq!(back, data);
        let meta = std::fs::symlink_metadata(b.image_path()).expect("image exists");
        assert!(meta.file_type().is_file());
        assert_eq!(meta.mode() & 0o7777, 0o600, "the state file's mode");
        let mut info = [0u8; 34];
        t.execute(&read_disc_information(34).cdb, Data::In(&mut info), T)
            .expect("disc info");
        let info = DiscInformation::parse(&info).expect("decodes");
        assert_eq!(info.disc_status, DiscStatus::Incomplete);
    }

    #[test]
    fn a_symlink_planted_under_the_image_name_is_refused_not_followed() {
        let dir = TempDir::new();
        let (mut t, b) = drive(&dir, 0x001B);
        let target = dir.0.join("target");
        // The image made with the device, replaced by a symlink.
        std::fs::remove_file(b.image_path()).expect("made with the device");
        std::os::unix::fs::symlink(&target, b.image_path()).expect("plant");
        let err = write(&mut t, 0, &[7u8; 2048]).expect_err("refused");
        assert_eq!(err.hresult(), HResult::EAccessDenied, "{err}");
        assert!(!target.exists(), "the symlink was not followed");
        let nwa_unchanged =
            emu::with_state(&b, "emu:bay", T, |s| s.disc.tracks.is_empty()).expect("state");
        assert!(nwa_unchanged, "nothing was recorded");
    }

    #[test]
    fn a_burn_of_zeros_leaves_the_image_sparse() {
        let dir = TempDir::new();
        let (mut t, b) = drive(&dir, 0x001B);
        let zeros = vec![0u8; 16 * 2048];
        for i in 0..128u32 {
            write(&mut t, i * 16, &zeros).expect("writes");
        }
        write(&mut t, 128 * 16, &[1u8; 2048]).expect("writes");
        let meta = std::fs::metadata(b.image_path()).expect("image");
        assert!(
            meta.len() > 4 * 1024 * 1024,
            "4 MiB of zeros then one block"
        );
        assert!(meta.blocks() <= 64, "{} blocks allocated", meta.blocks());
        let mut back = vec![9u8; 2048];
        t.execute(&read10(5, 1, 2048).cdb, Data::In(&mut back), T)
            .expect("reads");
        assert!(back.iter().all(|&x| x == 0));
    }

    #[test]
    fn a_new_disc_truncates_the_image() {
        let dir = TempDir::new();
        let (mut t, b) = drive(&dir, 0x001B);
        write(&mut t, 0, &[5u8; 4 * 2048]).expect("writes");
        emu::with_state(&b, "emu:bay", T, |s| {
            s.blank_medium();
            s.unit_attention = false;
        })
        .expect("state");
        // The next command lets the drive forget the old disc.
        t.execute(&[0, 0, 0, 0, 0, 0], Data::None, T).expect("tur");
        assert_eq!(std::fs::metadata(b.image_path()).expect("image").len(), 0);
    }

    #[test]
    fn a_medium_error_reaches_the_host_with_its_lba() {
        let dir = TempDir::new();
        let (mut t, b) = drive(&dir, 0x001B);
        emu::with_state(&b, "emu:bay", T, |s| s.faults.medium_error_lba = Some(3)).expect("set");
        let r = write(&mut t, 0, &[1u8; 16 * 2048]).expect("a reply");
        assert_eq!(r.status, 2);
        let s = discrecorder_mmc::sense::SenseData::parse(&r.sense).expect("sense");
        assert_eq!((s.key.code(), s.asc, s.ascq), (3, 0x0C, 0));
        assert_eq!(s.information, Some(3));
    }

    #[test]
    fn a_power_loss_takes_the_unsynchronized_sectors_out_of_the_image() {
        let dir = TempDir::new();
        let (mut t, b) = drive(&dir, 0x001B);
        write(&mut t, 0, &[1u8; 16 * 2048]).expect("writes");
        t.execute(&synchronize_cache(false).cdb, Data::None, T)
            .expect("syncs");
        write(&mut t, 16, &[2u8; 16 * 2048]).expect("writes");
        emu::with_state(&b, "emu:bay", T, |s| s.power_loss()).expect("power loss");
        let r = t.execute(&[0, 0, 0, 0, 0, 0], Data::None, T).expect("tur");
        let s = discrecorder_mmc::sense::SenseData::parse(&r.sense).expect("sense");
        assert_eq!((s.key.code(), s.asc), (6, 0x29), "power on occurred");
        let meta = std::fs::metadata(b.image_path()).expect("image");
        assert!(
            meta.blocks() <= 80,
            "{} blocks: the lost 32 KiB were punched",
            meta.blocks()
        );
        let mut back = vec![9u8; 2048];
        t.execute(&read10(0, 1, 2048).cdb, Data::In(&mut back), T)
            .expect("reads");
        assert!(
            back.iter().all(|&x| x == 1),
            "the synchronized sectors stay"
        );
    }

    /// Not a test of behaviour: the per-command cost of a 32 KiB WRITE through the JSON state
    /// lock and the image (`cargo test -p discrecorder --lib measure_write -- --ignored
    /// --nocapture`).
    #[test]
    #[ignore = "measurement, run by hand"]
    fn measure_write_cycle() {
        let dir = TempDir::new();
        let (mut t, _b) = drive(&dir, 0x001B);
        let data: Vec<u8> = (0..16 * 2048).map(|i| (i % 253) as u8 + 1).collect();
        let n = 4096u32;
        let start = std::time::Instant::now();
        for i in 0..n {
            write(&mut t, i * 16, &data).expect("writes");
        }
        let per = start.elapsed() / n;
        eprintln!(
            "32 KiB WRITE: {per:?} per command; a 4 GiB burn (131072 commands) ~ {:?}",
            per * 131_072
        );
        let start = std::time::Instant::now();
        for _ in 0..n {
            t.execute(&[0, 0, 0, 0, 0, 0], Data::None, T).expect("tur");
        }
        eprintln!(
            "TEST UNIT READY (state read, not rewritten): {:?} per command",
            start.elapsed() / n
        );
    }
}
