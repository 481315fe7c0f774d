//! What the benches share: a scratch directory, the runtime directory in it, a loop device and
//! an emulated device, each cleaned up when dropped.

#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A fresh temporary directory, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        // Default: under /dev/shm, the file system the library's default runtime directory is on
        // (a runtime directory on a disk file system makes every release far slower, see
        // BENCHMARKS.md).
        let base = std::env::var_os("DISCRECORDER_BENCH_TMPDIR")
            .map(PathBuf::from)
            .or_else(|| Some(PathBuf::from("/dev/shm")).filter(|p| p.is_dir()))
            .unwrap_or_else(std::env::temp_dir);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = base.join(format!("discrecorder-bench-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).expect("create the bench's temporary directory");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A loop device attached to a sparse image; detached when dropped (panics included).
pub struct LoopDevice {
    /// The device node, `/dev/loopN`.
    pub node: String,
}

impl LoopDevice {
    pub fn attach(dir: &Path) -> Result<LoopDevice, String> {
        let image = dir.join("disc.img");
        let file = std::fs::File::create(&image).map_err(|e| format!("create {image:?}: {e}"))?;
        file.set_len(64 << 20)
            .map_err(|e| format!("size {image:?}: {e}"))?;
        drop(file);
        let out = Command::new("losetup")
            .args(["-f", "--show"])
            .arg(&image)
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| format!("cannot run losetup: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "losetup -f --show failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let node = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if !node.starts_with("/dev/loop") {
            return Err(format!("losetup printed {node:?}, not a loop device"));
        }
        Ok(LoopDevice { node })
    }
}

impl Drop for LoopDevice {
    fn drop(&mut self) {
        match Command::new("losetup").arg("-d").arg(&self.node).status() {
            Ok(s) if s.success() => eprintln!("bench: detached {}", self.node),
            other => eprintln!(
                "bench: WARNING: could not detach {} ({other:?}); run: losetup -d {}",
                self.node, self.node
            ),
        }
    }
}

/// An emulated device, removed when dropped.
pub struct EmuDevice {
    /// NAME in `emu:NAME`.
    pub name: String,
}

impl EmuDevice {
    /// Creates `emu:NAME` (resolving a name never creates a device).
    pub fn create(name: &str) -> EmuDevice {
        discrecorder::emu::create(name).expect("create the emulated device");
        EmuDevice {
            name: name.to_owned(),
        }
    }
}

impl Drop for EmuDevice {
    fn drop(&mut self) {
        let _ = discrecorder::emu::remove(&self.name, discrecorder::emu::Removal::EvenIfHeld);
    }
}

/// A runtime directory, mode 1777 like `/dev/shm`, inside `tmp`.
pub fn make_runtime_dir(tmp: &TempDir) -> PathBuf {
    let dir = tmp.path().join("runtime");
    std::fs::create_dir(&dir).expect("create the runtime directory");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777))
        .expect("chmod 1777 the runtime directory");
    dir
}
