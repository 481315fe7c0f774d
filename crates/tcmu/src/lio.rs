//! The LIO objects that make a TCMU handler a SCSI device of this machine, made and removed
//! through configfs (`/sys/kernel/config/target`): a `user_N` backstore (`core/user_HBA/NAME`,
//! its `control` string and `enable`) and a `tcm_loop` port (`loopback/WWN/tpgt_1` with a
//! nexus and `lun/lun_0` linked to the backstore), which the kernel's SCSI midlayer then scans
//! like any host adapter.
//!
//! Owns the objects' paths and their order: made backstore first, port second, removed in
//! reverse, each only if this process made it, on [`Backstore::remove`]/[`LoopbackPort::remove`]
//! or on drop. Linking the LUN and unlinking it make the kernel send SCSI commands to the
//! backstore (INQUIRY at the scan, and whatever the upper driver sends at release), so the
//! caller must be serving the ring while it calls [`LoopbackPort::create`] and
//! [`LoopbackPort::remove`]. It must not touch the ring or the UIO device.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The configfs directory of the SCSI target subsystem.
pub const CONFIGFS_TARGET: &str = "/sys/kernel/config/target";

/// The TCMU handler's attributes of a backstore.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackstoreSpec {
    /// N of the `user_N` HBA directory.
    pub hba: u32,
    /// The backstore's name (a configfs directory name).
    pub name: String,
    /// `dev_config`: `HANDLER/CONFIG`, what the UIO device's name ends with.
    pub config: String,
    /// `dev_size` in bytes.
    pub dev_size: u64,
    /// `hw_block_size` in bytes (2048 for an optical drive).
    pub block_size: u32,
    /// `attrib/cmd_time_out` in seconds: after it the kernel fails a command the handler has
    /// not completed (0: never).
    pub cmd_time_out: u32,
}

impl BackstoreSpec {
    /// The `control` string: the device's parameters, and `nl_reply_supported=-1` so that the
    /// kernel never waits for a netlink reply from a daemon (this handler is not tcmu-runner).
    pub fn control(&self) -> String {
        format!(
            "dev_config={},dev_size={},hw_block_size={},nl_reply_supported=-1",
            self.config, self.dev_size, self.block_size
        )
    }
}

fn ctx(path: &Path, what: &str, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}

fn mkdir(path: &Path) -> io::Result<bool> {
    match fs::create_dir(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(ctx(path, "mkdir", e)),
    }
}

fn write_attr(path: &Path, value: &str) -> io::Result<()> {
    fs::write(path, value).map_err(|e| ctx(path, &format!("write {value:?} to"), e))
}

fn rmdir(path: &Path) -> io::Result<()> {
    match fs::remove_dir(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(ctx(path, "rmdir", e)),
        _ => Ok(()),
    }
}

/// A TCMU backstore this process made.
#[derive(Debug)]
pub struct Backstore {
    dir: PathBuf,
    hba_dir: PathBuf,
    hba_made: bool,
    removed: bool,
}

impl Backstore {
    /// Makes `root/core/user_HBA/NAME`, writes its control string and command timeout and
    /// enables it (the kernel then creates its UIO device). A backstore of that name that
    /// exists already is an error ([`io::ErrorKind::AlreadyExists`]); it is left alone.
    pub fn create(root: &Path, spec: &BackstoreSpec) -> io::Result<Backstore> {
        let core = root.join("core");
        if !core.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "{} missing: configfs not mounted or target_core_mod not loaded \
                     (modprobe target_core_user tcm_loop)",
                    core.display()
                ),
            ));
        }
        let hba_dir = core.join(format!("user_{}", spec.hba));
        let hba_made = mkdir(&hba_dir)?;
        let dir = hba_dir.join(&spec.name);
        let mut me = Backstore {
            dir: dir.clone(),
            hba_dir,
            hba_made,
            removed: true,
        };
        if !mkdir(&dir)? {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "{} exists already (served by another process, or left by one that was killed)",
                    dir.display()
                ),
            ));
        }
        me.removed = false;
        write_attr(&dir.join("control"), &spec.control())?;
        write_attr(
            &dir.join("attrib/cmd_time_out"),
            &spec.cmd_time_out.to_string(),
        )?;
        // aborts reach the handler as TMR entries, so that a held (hung) command can be
        // completed at once instead of the abort waiting for cmd_time_out (kernels before 5.11
        // lack the attribute: then aborts wait, which is all that is lost)
        let _ = write_attr(&dir.join("attrib/tmr_notification"), "1");
        write_attr(&dir.join("enable"), "1")?;
        Ok(me)
    }

    /// The backstore's configfs directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Removes the backstore (and its HBA directory if this process made it and it is empty).
    pub fn remove(mut self) -> io::Result<()> {
        self.remove_now()
    }

    fn remove_now(&mut self) -> io::Result<()> {
        if self.removed {
            return Ok(());
        }
        self.removed = true;
        rmdir(&self.dir)?;
        if self.hba_made {
            // another backstore may live in it: then it stays
            let _ = fs::remove_dir(&self.hba_dir);
        }
        Ok(())
    }
}

impl Drop for Backstore {
    fn drop(&mut self) {
        let _ = self.remove_now();
    }
}

/// A `tcm_loop` port (target WWN, TPG 1 with a nexus, LUN 0) this process made.
#[derive(Debug)]
pub struct LoopbackPort {
    target: PathBuf,
    tpg: PathBuf,
    link: PathBuf,
    made: Vec<PathBuf>,
    linked: bool,
}

impl LoopbackPort {
    /// Makes `root/loopback/WWN/tpgt_1`, sets its nexus to `initiator`, makes `lun/lun_0` and
    /// links it to `backstore`. The link makes the kernel add the SCSI device (and scan it: the
    /// ring must be served meanwhile). On error, what was made is removed.
    pub fn create(
        root: &Path,
        wwn: &str,
        initiator: &str,
        backstore: &Backstore,
    ) -> io::Result<LoopbackPort> {
        let fabric = root.join("loopback");
        mkdir(&fabric)?;
        let target = fabric.join(wwn);
        let tpg = target.join("tpgt_1");
        let lun = tpg.join("lun/lun_0");
        let name = backstore
            .dir
            .file_name()
            .map(|n| n.to_owned())
            .unwrap_or_default();
        let mut port = LoopbackPort {
            link: lun.join(name),
            target: target.clone(),
            tpg: tpg.clone(),
            made: Vec::new(),
            linked: false,
        };
        if !mkdir(&target)? {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists already", target.display()),
            ));
        }
        port.made.push(target);
        mkdir(&tpg)?;
        port.made.push(tpg.clone());
        write_attr(&tpg.join("nexus"), initiator)?;
        mkdir(&lun)?;
        port.made.push(lun);
        std::os::unix::fs::symlink(&backstore.dir, &port.link)
            .map_err(|e| ctx(&port.link, "symlink", e))?;
        port.linked = true;
        Ok(port)
    }

    /// The SCSI address `H:C:T:L` of the LUN (from the TPG's `address`, `H:0:TPGT`, and LUN 0).
    pub fn scsi_address(&self) -> io::Result<String> {
        let path = self.tpg.join("address");
        let a = fs::read_to_string(&path).map_err(|e| ctx(&path, "read", e))?;
        Ok(format!("{}:0", a.trim()))
    }

    /// The target's configfs directory.
    pub fn path(&self) -> &Path {
        &self.target
    }

    /// Unlinks the LUN (the kernel removes the SCSI device: the ring must be served meanwhile)
    /// and removes LUN, TPG (and with it the nexus) and target.
    pub fn remove(mut self) -> io::Result<()> {
        self.remove_now()
    }

    fn remove_now(&mut self) -> io::Result<()> {
        let mut first = Ok(());
        if self.linked {
            self.linked = false;
            if let Err(e) = fs::remove_file(&self.link) {
                if e.kind() != io::ErrorKind::NotFound {
                    first = Err(ctx(&self.link, "unlink", e));
                }
            }
        }
        while let Some(dir) = self.made.pop() {
            let r = rmdir(&dir);
            if first.is_ok() {
                first = r;
            }
        }
        first
    }
}

impl Drop for LoopbackPort {
    fn drop(&mut self) {
        let _ = self.remove_now();
    }
}

/// Removes what a handler that could not clean up (killed with SIGKILL) left of the objects
/// [`Backstore::create`] and [`LoopbackPort::create`] make for `spec` and `wwn`: any link in
/// the LUN, LUN, TPG, target, backstore and (if empty) its HBA directory. Missing objects are
/// not an error. Unlinking the LUN makes the kernel remove the SCSI device, whose last
/// commands go unanswered (nobody serves the ring) and fail after the backstore's
/// `cmd_time_out`. Returns whether anything was there.
pub fn remove_leftovers(root: &Path, wwn: &str, spec: &BackstoreSpec) -> io::Result<bool> {
    let target = root.join("loopback").join(wwn);
    let tpg = target.join("tpgt_1");
    let lun = tpg.join("lun/lun_0");
    let hba = root.join("core").join(format!("user_{}", spec.hba));
    let backstore = hba.join(&spec.name);
    let found = target.exists() || backstore.exists();
    if let Ok(entries) = fs::read_dir(&lun) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_symlink()) {
                fs::remove_file(e.path()).map_err(|err| ctx(&e.path(), "unlink", err))?;
            }
        }
    }
    for dir in [&lun, &tpg, &target, &backstore] {
        rmdir(dir)?;
    }
    let _ = fs::remove_dir(&hba);
    Ok(found)
}

/// A NAA type 5 name for a `tcm_loop` target or initiator: `naa.5001405` (the IEEE company ID
/// LIO uses) and 9 hex digits from `seed`.
pub fn naa_wwn(seed: u64) -> String {
    format!("naa.5001405{:09x}", seed & 0xF_FFFF_FFFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_string_names_every_parameter_and_turns_netlink_replies_off() {
        let spec = BackstoreSpec {
            hba: 7,
            name: "discrec-bay1".into(),
            config: "discrec/bay1".into(),
            dev_size: 4096,
            block_size: 2048,
            cmd_time_out: 30,
        };
        assert_eq!(
            spec.control(),
            "dev_config=discrec/bay1,dev_size=4096,hw_block_size=2048,nl_reply_supported=-1"
        );
    }

    #[test]
    fn wwns_are_naa_with_16_hex_digits() {
        let w = naa_wwn(u64::MAX);
        assert_eq!(w, "naa.5001405fffffffff");
        assert_eq!(w.len(), 4 + 16);
    }

    #[test]
    fn backstore_without_configfs_says_which_modules_to_load() {
        let dir = std::env::temp_dir().join(format!("tcmu-noconfigfs-{}", std::process::id()));
        let spec = BackstoreSpec {
            hba: 0,
            name: "x".into(),
            config: "discrec/x".into(),
            dev_size: 0,
            block_size: 2048,
            cmd_time_out: 0,
        };
        let e = Backstore::create(&dir, &spec).expect_err("no configfs there");
        assert!(e.to_string().contains("modprobe target_core_user"), "{e}");
    }
}
