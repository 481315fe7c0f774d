//! Enumeration of recorders (IMAPI2's `IDiscMaster2`): every optical drive the kernel knows,
//! plus the emulated recorders, each with a stable unique id.
//!
//! Owns reading `/sys/class/block/sr*` and building ids. It never opens a device.
//!
//! An id must survive reboots and renumbering (`sr0` becoming `sr1`). In order of preference:
//! - `wwid:...`: the SCSI world-wide id the kernel derives from VPD page 0x83, when it is a
//!   globally unique designator (NAA, EUI-64) or a T10 vendor id that carries a serial number;
//! - `path:...`: the drive's physical path (PCI function, SCSI host:channel:target:lun), which is
//!   stable for a drive that stays on its port (what udev's `by-path` links use);
//! - `dev:MAJ:MIN` as a last resort.
//!
//! Emulated recorders are `emu:NAME`.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::device::{Device, DeviceKind};
use crate::emu;
use crate::error::{Error, HResult, Result};

/// One recorder found on the machine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecorderInfo {
    /// The stable unique id (`ActiveRecorderId`).
    pub id: String,
    /// The device to open: `/dev/srN` or `emu:NAME`.
    pub device: String,
    /// The SCSI generic sibling (`/dev/sgN`), where there is one.
    pub sg: Option<String>,
    /// Whether this is an emulated recorder.
    pub emulated: bool,
}

fn read_trim(path: &Path) -> Option<String> {
    fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// Turns anything into an id fragment: printable ASCII without spaces or slashes.
fn id_fragment(s: &str) -> String {
    let mut out = String::new();
    let mut last_sep = false;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '-') {
            out.push(c);
            last_sep = false;
        } else if !last_sep && !out.is_empty() {
            out.push('_');
            last_sep = true;
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    out
}

/// The physical path of a block device's hardware, like udev's `by-path`.
fn physical_path(sys_device: &Path) -> Option<String> {
    let real = fs::canonicalize(sys_device).ok()?;
    let mut parts = Vec::new();
    for comp in real.components() {
        let c = comp.as_os_str().to_str()?;
        let is_pci = c.len() == 12 && c.as_bytes().get(4) == Some(&b':') && c.contains('.');
        let is_scsi = c.split(':').count() == 4 && c.split(':').all(|p| p.parse::<u32>().is_ok());
        if is_pci {
            parts.push(format!("pci-{c}"));
        } else if is_scsi {
            parts.push(format!("scsi-{c}"));
        } else if c.starts_with("usb")
            || c.contains('-')
                && c.chars().next().is_some_and(|ch| ch.is_ascii_digit())
                && !c.contains(':')
        {
            parts.push(format!("usb-{c}"));
        }
    }
    (!parts.is_empty()).then(|| parts.join("-"))
}

/// The stable id of a block device with sysfs directory `sys` (`/sys/dev/block/M:m`).
fn block_id(major: u32, minor: u32) -> String {
    let sys = PathBuf::from(format!("/sys/dev/block/{major}:{minor}/device"));
    if let Some(wwid) = read_trim(&sys.join("wwid")) {
        let unique = wwid.starts_with("naa.")
            || wwid.starts_with("eui.")
            || (wwid.starts_with("t10.") && {
                // A T10 vendor id with only vendor and product is shared by identical drives.
                let vendor = read_trim(&sys.join("vendor")).unwrap_or_default();
                let model = read_trim(&sys.join("model")).unwrap_or_default();
                let rest = wwid
                    .trim_start_matches("t10.")
                    .replace(&vendor, "")
                    .replace(&model, "");
                !rest.trim().is_empty()
            });
        if unique {
            return format!("wwid:{}", id_fragment(&wwid));
        }
    }
    if let Some(path) = physical_path(&sys) {
        return format!("path:{path}");
    }
    format!("dev:{major}:{minor}")
}

/// The stable id of a resolved device.
pub fn recorder_id(device: &Device) -> String {
    match device.kind() {
        DeviceKind::Emulated { name } => format!("{}{name}", emu::PREFIX),
        DeviceKind::Block { major, minor } => block_id(*major, *minor),
    }
}

/// Every optical recorder the kernel knows (sr devices), then the emulated ones.
pub fn recorders() -> Vec<RecorderInfo> {
    let mut out = Vec::new();
    let mut names: Vec<String> = fs::read_dir("/sys/class/block")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter(|n| n.starts_with("sr") && n[2..].parse::<u32>().is_ok())
        .collect();
    names.sort_by_key(|n| n[2..].parse::<u32>().unwrap_or(u32::MAX));
    for name in names {
        let sys = PathBuf::from("/sys/class/block").join(&name);
        let Some(dev) = read_trim(&sys.join("dev")) else {
            continue;
        };
        let Some((major, minor)) = dev
            .split_once(':')
            .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
        else {
            continue;
        };
        let sg = fs::read_dir(sys.join("device/scsi_generic"))
            .into_iter()
            .flatten()
            .flatten()
            .find_map(|e| e.file_name().to_str().map(|s| format!("/dev/{s}")));
        out.push(RecorderInfo {
            id: block_id(major, minor),
            device: format!("/dev/{name}"),
            sg,
            emulated: false,
        });
    }
    for name in emu::list() {
        out.push(RecorderInfo {
            id: format!("{}{name}", emu::PREFIX),
            device: format!("{}{name}", emu::PREFIX),
            sg: None,
            emulated: true,
        });
    }
    out
}

/// The device of the recorder with unique id `id`.
///
/// # Errors
/// - `HRESULT_FROM_WIN32(ERROR_DEV_NOT_EXIST)`: no recorder on this machine has that id.
pub fn find(id: &str) -> Result<RecorderInfo> {
    recorders().into_iter().find(|r| r.id == id).ok_or_else(|| {
        Error::new(
            HResult::DevNotExist,
            format!(
                "no recorder with id \"{}\" on this machine",
                crate::text::sanitize(id)
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_fragments_are_printable_without_spaces_or_slashes() {
        assert_eq!(
            id_fragment("t10.QEMU    QEMU CD-ROM  SN/1"),
            "t10.QEMU_QEMU_CD-ROM_SN_1"
        );
        assert_eq!(id_fragment("  \u{1b}x "), "x");
    }
}
