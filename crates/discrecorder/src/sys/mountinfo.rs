//! Mounted file systems, from `/proc/self/mountinfo`.
//!
//! Owns parsing mountinfo lines (pure, total, fuzzable) and finding the mounts of a set of block
//! devices by `major:minor`, which is what the kernel reports for a block-backed file system.
//! Paths are never compared: a device has many names, its number has one.
//!
//! # References
//! - `proc_pid_mountinfo(5)`: fields, the ` - ` separator, and octal escapes (`\040` for space).

use std::ffi::OsString;
use std::io::{self, Read};
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

/// One mount.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountEntry {
    /// The device number `st_dev` of the file system (major, minor).
    pub major: u32,
    /// Minor half of the device number.
    pub minor: u32,
    /// Where it is mounted, unescaped.
    pub mount_point: PathBuf,
    /// The file system type, for example `iso9660`.
    pub fs_type: String,
    /// The mount source, for example `/dev/sr0`, unescaped.
    pub source: PathBuf,
}

/// Undoes mountinfo's octal escapes (`\040` space, `\011` tab, `\012` newline, `\134` backslash).
fn unescape(field: &str) -> PathBuf {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            if let Some(oct) = bytes.get(i + 1..i + 4) {
                if oct.iter().all(|b| (b'0'..=b'7').contains(b)) {
                    let v = oct
                        .iter()
                        .fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0'));
                    if let Ok(v) = u8::try_from(v) {
                        out.push(v);
                        i += 4;
                        continue;
                    }
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    PathBuf::from(OsString::from_vec(out))
}

/// A number the kernel prints with `%u`: ASCII digits only. (`str::parse` alone would also take
/// a leading `+`, which the kernel never writes.)
fn decimal_u32(field: &str) -> Option<u32> {
    if field.is_empty() || !field.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    field.parse().ok()
}

/// Parses one mountinfo line; `None` when it is malformed.
pub fn parse_line(line: &str) -> Option<MountEntry> {
    let mut fields = line.split(' ');
    let _mount_id = fields.next()?;
    let _parent_id = fields.next()?;
    let (major, minor) = fields.next()?.split_once(':')?;
    let major = decimal_u32(major)?;
    let minor = decimal_u32(minor)?;
    let _root = fields.next()?;
    let mount_point = unescape(fields.next()?);
    let _options = fields.next()?;
    // Optional fields end at a lone "-".
    for f in fields.by_ref() {
        if f == "-" {
            let fs_type = fields.next()?.to_owned();
            let source = unescape(fields.next()?);
            return Some(MountEntry {
                major,
                minor,
                mount_point,
                fs_type,
                source,
            });
        }
    }
    None
}

/// Parses a whole mountinfo table, skipping malformed lines.
pub fn parse(text: &str) -> Vec<MountEntry> {
    text.lines().filter_map(parse_line).collect()
}

/// Reads this process's mount table now.
pub fn read() -> io::Result<Vec<MountEntry>> {
    let mut text = String::with_capacity(8192);
    std::fs::File::open("/proc/self/mountinfo")?.read_to_string(&mut text)?;
    Ok(parse(&text))
}

/// Mount points of any of `devices` (each a `(major, minor)`), innermost first, so that
/// unmounting in this order never trips over a mount stacked on another.
pub fn mount_points_of(mounts: &[MountEntry], devices: &[(u32, u32)]) -> Vec<PathBuf> {
    let mut points: Vec<PathBuf> = mounts
        .iter()
        .filter(|m| devices.contains(&(m.major, m.minor)))
        .map(|m| m.mount_point.clone())
        .collect();
    points.reverse();
    points.dedup();
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
22 1 253:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
36 22 7:0 / /mnt/with\\040space rw,noatime shared:7 master:1 - ext2 /dev/loop0 rw
37 22 7:1 / /mnt/p1 rw - ext2 /dev/loop0p1 rw
38 22 11:0 / /media/cd ro - iso9660 /dev/sr0 ro
bad line without separator
";

    #[test]
    fn parses_device_numbers_mount_points_and_optional_fields() {
        let m = parse(SAMPLE);
        assert_eq!(m.len(), 4);
        assert_eq!((m[1].major, m[1].minor), (7, 0));
        assert_eq!(m[1].mount_point, PathBuf::from("/mnt/with space"));
        assert_eq!(m[1].fs_type, "ext2");
        assert_eq!(m[3].source, PathBuf::from("/dev/sr0"));
    }

    #[test]
    fn finds_mounts_of_a_device_and_its_partitions_innermost_first() {
        let m = parse(SAMPLE);
        let points = mount_points_of(&m, &[(7, 0), (7, 1)]);
        assert_eq!(
            points,
            vec![PathBuf::from("/mnt/p1"), PathBuf::from("/mnt/with space")]
        );
        assert!(mount_points_of(&m, &[(8, 0)]).is_empty());
    }

    /// Fuzzing finding (fuzz/regressions/mountinfo_line): `0:+9` was read as device 0:9.
    #[test]
    fn device_numbers_are_plain_decimal_digits() {
        let line = |dev: &str| format!("32 31 {dev} / /mnt rw - ext4 /dev/vda rw");
        assert_eq!(
            parse_line(&line("0:9")).map(|m| (m.major, m.minor)),
            Some((0, 9))
        );
        for bad in ["0:+9", "+8:0", "-8:0", "8:", ":0", "8: 0", "0x8:0", "8:0:1"] {
            assert_eq!(parse_line(&line(bad)), None, "{bad:?}");
        }
    }

    #[test]
    fn bad_escapes_are_kept_literally_and_never_panic() {
        assert_eq!(unescape("a\\9zz\\"), PathBuf::from("a\\9zz\\"));
        assert_eq!(unescape("\\777"), PathBuf::from("\\777"));
        for line in SAMPLE.lines() {
            for end in 0..=line.len() {
                if line.is_char_boundary(end) {
                    let _ = parse_line(&line[..end]);
                }
            }
        }
    }
}
