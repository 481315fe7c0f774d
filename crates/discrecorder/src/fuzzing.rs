//! Property checks shared by the fuzz targets and the test suite; not a stable API.
//!
//! Owns one `pub fn TARGET(data: &[u8])` per fuzz target in `fuzz/fuzz_targets/`. Each runs
//! one parser or validator of the workspace on arbitrary bytes and asserts properties of what
//! it returns, not only that it returns: what a parser accepts agrees with the bytes and the
//! lengths their headers declare, decode-encode-decode gives back the value, a validator agrees
//! with an independent statement of its rule. A broken property panics, which libFuzzer records
//! as a crash and proptest shrinks. The same functions replay the committed corpora in
//! `tests/fuzz_corpus.rs` and take generated inputs in `tests/properties.rs`.
//!
//! What it must not do: copy parser logic. Where a property needs the rule itself (the
//! client-name alphabet, the HRESULT table, the kernel's octal escapes, the emulated drive's
//! documented answers) it is written here from the contract (the Windows driver's caller-name rule, IMAPI2's HRESULT table, the
//! man pages, the emulator's module doc), never from the parser's code. Its functions only read
//! and compute: no I/O.
//!
//! The checks of the recording path's parsers (disc structure, write setup) live in the
//! `recording` submodule and are re-exported here under their target names.

use discrecorder_mmc::cdb::Cdb;
use discrecorder_mmc::codes::status::{CHECK_CONDITION, GOOD};
use discrecorder_mmc::configuration::{
    encode_configuration, get_configuration as get_configuration_cdb, Configuration, FeatureCode,
    FeatureHeader, LoadingMechanism, Profile, ProfileDescriptor, RemovableMedium, RequestType,
};
use discrecorder_mmc::emulator::{DriveState, Fault, Outcome, Reply};
use discrecorder_mmc::event::{
    class_mask, get_event_status_notification, Event, EventStatus, MEDIA_CLASS,
};
use discrecorder_mmc::inquiry::{
    inquiry as inquiry_cdb, inquiry_vpd, CodeSet, DesignatorType, DeviceIdentification, Peripheral,
    StandardInquiry, SupportedVpdPages, UnitSerialNumber,
};
use discrecorder_mmc::medium::MemoryStore;
use discrecorder_mmc::mode::{encode_mode_sense10, mode_sense10_all_pages, ModeParameters};
use discrecorder_mmc::sense::{request_sense, SenseData, SenseFormat, SenseKey};
use discrecorder_mmc::unit::test_unit_ready;

use crate::client_name::ClientName;
use crate::error::HResult;
use crate::record::{HoldMode, OwnerRecord};
use crate::sys::{mountinfo, proc_locks};

mod recording;
pub use recording::{
    buffer_capacity, capacity, cue_sheet, disc_information, format_capacities, format_parameters,
    full_toc, performance_descriptor, sense_progress, session_info, toc, track_information,
    write_parameters, write_parameters_mode, write_speeds,
};

// ---- independent statements of the rules ----

/// The Windows driver's rule for `IOCTL_CDROM_EXCLUSIVE_ACCESS` caller names: the bytes a client name may hold (`0-9 A-Z a-z`, space and `.` `,` `:` `;`
/// `_` `-`), spelled out rather than derived from `client_name::is_client_name_byte`.
const CLIENT_NAME_ALPHABET: &[u8] =
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz .,:;_-";

/// `emu::check_name`'s documented rule: 1 to 32 of `A-Z a-z 0-9 _ -`.
const EMU_NAME_ALPHABET: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

/// IMAPI2's HRESULTs of exclusive access (imapi2error.h, winerror.h) and the other IMAPI2
/// recorder codes the library reuses.
const KNOWN_HRESULTS: [u32; 17] = [
    0x0000_0000, // S_OK
    0x8000_4005, // E_FAIL
    0x8007_0005, // E_ACCESSDENIED
    0x8007_0057, // E_INVALIDARG
    0x8007_000E, // E_OUTOFMEMORY
    0xC0AA_020D, // E_IMAPI_RECORDER_COMMAND_TIMEOUT
    0x8007_0006, // HRESULT_FROM_WIN32(ERROR_INVALID_HANDLE)
    0x8007_0037, // HRESULT_FROM_WIN32(ERROR_DEV_NOT_EXIST)
    0xC0AA_0210, // E_IMAPI_RECORDER_LOCKED
    0xC0AA_0202, // E_IMAPI_RECORDER_MEDIA_NO_MEDIA
    0xC0AA_0205, // E_IMAPI_RECORDER_MEDIA_BECOMING_READY
    0xC0AA_0201, // E_IMAPI_RECORDER_NO_SUCH_MODE_PAGE
    0xC0AA_020A, // E_IMAPI_RECORDER_NO_SUCH_FEATURE
    0xC0AA_020C, // E_IMAPI_RECORDER_GET_CONFIGURATION_NOT_SUPPORTED
    0xC0AA_02FF, // E_IMAPI_RECORDER_INVALID_RESPONSE_FROM_DEVICE
    0xC0AA_0002, // E_IMAPI_REQUEST_CANCELLED
    0xC0AA_0211, // E_IMAPI_RECORDER_CLIENT_NAME_IS_NOT_VALID
];

/// `E_IMAPI_RECORDER_MEDIA_WRITE_PROTECTED` (imapi2error.h): the library maps sense DATA
/// PROTECT / ASC 0x27 to it, and `HResult` has it, but the exclusive-access table above does not list it.
/// Allowed here by name so that the gap stays visible.
const IMAPI2_OUTSIDE_TABLE: [u32; 1] = [0xC0AA_0209];

/// A C0 control, DEL or a C1 control: what can drive a terminal (ESC 0x1B, CSI U+009B, ...).
fn is_terminal_control(c: char) -> bool {
    matches!(u32::from(c), 0x00..=0x1F | 0x7F..=0x9F)
}

/// Invisible characters that change how text is shown (bidi embeddings, overrides and isolates,
/// zero-width characters, BOM), from Unicode's Cf category: a sample of the set that the
/// sanitiser must escape, written here from the standard, not from `text.rs`.
fn is_bidi_or_zero_width(c: char) -> bool {
    matches!(
        u32::from(c),
        0x200B..=0x200F | 0x202A..=0x202E | 0x2066..=0x2069 | 0xFEFF | 0x061C
    )
}

fn has_terminal_control(text: &str) -> bool {
    text.chars().any(is_terminal_control)
}

fn is_graphic_ascii_text(text: &str) -> bool {
    text.bytes().all(|b| (0x20..=0x7E).contains(&b))
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// `proc_pid_mountinfo(5)`: the kernel writes space, tab, newline and backslash in a path
/// field as a backslash and three octal digits.
fn kernel_mountinfo_escape(path: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(path.len());
    for &b in path {
        if matches!(b, b' ' | b'\t' | b'\n' | b'\\') {
            out.extend_from_slice(format!("\\{b:03o}").as_bytes());
        } else {
            out.push(b);
        }
    }
    out
}

/// A run of ASCII decimal digits (what the kernel prints with `%u`).
fn is_decimal(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// A run of ASCII hexadecimal digits (what the kernel prints with `%x`).
fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

// ---- validators ----

/// `ClientName::check` and `ClientName::new` accept exactly the names the caller-name rule allows,
/// reject the rest with `E_INVALIDARG` and a terminal-safe message, and an accepted name is
/// kept byte for byte and is printable as is.
pub fn client_name(data: &[u8]) {
    let spec_ok =
        (1..=63).contains(&data.len()) && data.iter().all(|b| CLIENT_NAME_ALPHABET.contains(b));
    let checked = ClientName::check(data);
    assert_eq!(
        checked.is_ok(),
        spec_ok,
        "ClientName::check and the caller-name rule disagree on {data:?}"
    );
    if let Err(e) = &checked {
        assert_eq!(e.hresult(), HResult::EInvalidArg);
        assert!(!has_terminal_control(&e.to_string()), "{e}");
    }
    let Ok(text) = std::str::from_utf8(data) else {
        assert!(!spec_ok, "a valid client name is ASCII");
        return;
    };
    match ClientName::new(text) {
        Ok(name) => {
            assert!(spec_ok);
            assert_eq!(name.as_str(), text);
            assert_eq!(name.to_string(), text);
            // Safe on a terminal and in a file name without any escaping.
            assert_eq!(crate::text::sanitize(text), text);
            assert!(!text.contains('/'));
        }
        Err(e) => {
            assert!(!spec_ok);
            assert_eq!(e.hresult(), HResult::EInvalidArg);
        }
    }
}

/// `emu::check_name` accepts exactly 1 to 32 of `A-Z a-z 0-9 _ -`, and its error message,
/// which quotes the rejected name, is terminal-safe.
pub fn emu_name(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let rule_ok =
        (1..=32).contains(&text.len()) && text.bytes().all(|b| EMU_NAME_ALPHABET.contains(&b));
    match crate::emu::check_name(&text) {
        Ok(()) => assert!(rule_ok, "emu::check_name accepted {text:?}"),
        Err(e) => {
            assert!(!rule_ok, "emu::check_name rejected {text:?}");
            assert_eq!(e.hresult(), HResult::EInvalidArg);
            assert!(!has_terminal_control(&e.to_string()), "{e}");
        }
    }
}

/// `crate::text::sanitize` leaves no C0/DEL/C1 control character and no bidi or zero-width
/// character, writes each control it escapes as `\xNN` of its own value and each other escaped
/// character as `\u{N}`, changes nothing printable (ASCII and letters), and is idempotent (it is
/// applied both when a record is written and when it is shown).
pub fn sanitize(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let out = crate::text::sanitize(&text);
    assert!(!has_terminal_control(&out), "{out:?}");
    assert!(!out.chars().any(is_bidi_or_zero_width), "{out:?}");
    assert_eq!(
        crate::text::sanitize(&out),
        out,
        "sanitize is not idempotent"
    );
    if text
        .chars()
        .all(|c| c.is_alphanumeric() || c.is_ascii_graphic() || c == ' ')
    {
        assert_eq!(out, text);
    }
    let mut rest = out.as_str();
    for c in text.chars() {
        if is_terminal_control(c) {
            let escape = format!("\\x{:02x}", u32::from(c));
            rest = rest
                .strip_prefix(escape.as_str())
                .unwrap_or_else(|| panic!("{c:?} not escaped as {escape} in {out:?}"));
        } else if let Some(after) = rest.strip_prefix(format!("\\u{{{:x}}}", u32::from(c)).as_str())
        {
            // An escaped format character; a bidi or zero-width one must be escaped.
            rest = after;
        } else if is_bidi_or_zero_width(c) {
            panic!("{c:?} not escaped in {out:?}");
        } else {
            rest = rest
                .strip_prefix(c)
                .unwrap_or_else(|| panic!("{c:?} changed in {out:?}"));
        }
    }
    assert!(rest.is_empty(), "{out:?} has more than {text:?} escaped");
}

// ---- MMC response parsers ----

/// Sense data: what `SenseData::parse` accepts is what the header bytes say, re-encodes to
/// bytes that parse to the same value, and maps, for every command, to no HRESULT or to the
/// one its condition calls for, which is in the HRESULT table (or is
/// `E_IMAPI_RECORDER_MEDIA_WRITE_PROTECTED`, which that table does not list).
pub fn sense(data: &[u8]) {
    let Ok(s) = SenseData::parse(data) else {
        return;
    };
    assert!(data.len() >= 8, "sense header is 8 bytes");
    let code = data[0] & 0x7F;
    let additional = usize::from(data[7]);
    let declared_end = 8 + additional;
    assert_eq!(s.deferred, code == 0x71 || code == 0x73);
    match s.format {
        SenseFormat::Fixed => {
            assert!(code == 0x70 || code == 0x71);
            assert_eq!(s.key, SenseKey::from_nibble(data[2]));
            if additional >= 6 {
                assert_eq!((s.asc, s.ascq), (data[12], data[13]));
            } else {
                assert_eq!((s.asc, s.ascq), (0, 0));
            }
            let valid = data[0] & 0x80 != 0;
            assert_eq!(s.information, valid.then(|| u64::from(be32(data, 3))));
        }
        SenseFormat::Descriptor => {
            assert!(code == 0x72 || code == 0x73);
            assert_eq!(s.key, SenseKey::from_nibble(data[1]));
            assert_eq!((s.asc, s.ascq), (data[2], data[3]));
            if let Some(v) = s.information {
                // An information descriptor (type 0, length >= 10, VALID) carrying v, inside
                // both the buffer and the additional sense length.
                let end = data.len().min(declared_end);
                let found = (8..end.saturating_sub(11)).any(|i| {
                    data[i] == 0
                        && data[i + 1] >= 0x0A
                        && data[i + 2] & 0x80 != 0
                        && data[i + 4..i + 12] == v.to_be_bytes()
                });
                assert!(
                    found,
                    "information {v:#x} is not in an information descriptor"
                );
            }
        }
    }
    let bytes = s
        .encode()
        .expect("parsed sense data encodes in its own format");
    assert_eq!(SenseData::parse(&bytes), Ok(s.clone()));

    // The HRESULTs, against the HRESULT table and the conditions the recorder acts on.
    let (key, asc, ascq) = (s.key.code(), s.asc, s.ascq);
    let any_command = match (key, asc, ascq) {
        (0x2, 0x3A, _) => Some(0xC0AA_0202),
        (0x2, 0x04, 0x01) => Some(0xC0AA_0205),
        (0x7, 0x27, _) => Some(0xC0AA_0209),
        _ => None,
    };
    let get_configuration = match (key, asc) {
        (0x5, 0x20) => Some(0xC0AA_020C),
        _ => any_command,
    };
    let mode_sense = match (key, asc) {
        (0x5, 0x24) => Some(0xC0AA_0201),
        _ => any_command,
    };
    for (what, got, want) in [
        ("any command", HResult::for_sense(&s), any_command),
        (
            "GET CONFIGURATION",
            HResult::for_get_configuration_sense(&s),
            get_configuration,
        ),
        ("MODE SENSE", HResult::for_mode_sense_sense(&s), mode_sense),
    ] {
        let got = got.map(HResult::code);
        assert_eq!(got, want, "{what}: sense {key:X}/{asc:02X}/{ascq:02X}");
        if let Some(h) = got {
            assert!(
                KNOWN_HRESULTS.contains(&h) || IMAPI2_OUTSIDE_TABLE.contains(&h),
                "{what}: {h:#010X} is not in the HRESULT table"
            );
            assert!(HResult::from_code(h).is_some(), "{h:#010X} has no HResult");
        }
    }
}

/// GET CONFIGURATION: the header agrees with `FeatureHeader::parse`, the descriptors lie end to
/// end from byte 8 exactly where their headers put them, inside both the buffer and the data
/// length; only a descriptor cut by the end of the buffer is dropped; encode-parse gives back
/// the value, and so do the Profile List and Removable Medium features.
pub fn get_configuration(data: &[u8]) {
    let header = FeatureHeader::parse(data);
    let Ok(c) = Configuration::parse(data) else {
        return;
    };
    let header = header.expect("Configuration::parse accepted a header FeatureHeader rejects");
    assert_eq!(header.data_length, be32(data, 0));
    assert_eq!(header.current_profile, Profile(be16(data, 6)));
    assert_eq!(c.current_profile, header.current_profile);
    let declared_end = usize::try_from(header.data_length)
        .unwrap_or(usize::MAX)
        .saturating_add(4);
    let available = data.len().min(declared_end);
    assert_eq!(c.complete, data.len() >= declared_end);
    let mut pos = 8;
    for f in &c.features {
        assert!(pos + 4 <= available);
        assert_eq!(f.code, FeatureCode(be16(data, pos)));
        let flags = data[pos + 2];
        assert_eq!(f.version, (flags >> 2) & 0x0F);
        assert_eq!(f.persistent, flags & 0x02 != 0);
        assert_eq!(f.current, flags & 0x01 != 0);
        let len = usize::from(data[pos + 3]);
        assert_eq!(f.data.len(), len);
        assert!(pos + 4 + len <= available, "descriptor past the data");
        assert_eq!(f.data[..], data[pos + 4..pos + 4 + len]);
        pos += 4 + len;
    }
    if c.complete {
        assert_eq!(pos, declared_end, "complete, but bytes left unread");
    } else if pos < available {
        let rest = &data[pos..available];
        assert!(
            rest.len() < 4 || 4 + usize::from(rest[3]) > rest.len(),
            "a whole descriptor was dropped"
        );
    }
    let bytes =
        encode_configuration(c.current_profile, &c.features).expect("parsed features re-encode");
    let again = Configuration::parse(&bytes).expect("encoded configuration parses");
    assert_eq!(
        again,
        Configuration {
            complete: true,
            ..c.clone()
        }
    );
    if let Some(Ok(list)) = c.profiles() {
        let f = ProfileDescriptor::encode_list(&list).expect("a parsed profile list fits");
        assert_eq!(ProfileDescriptor::parse_list(&f), Ok(list));
    }
    if let Some(Ok(rm)) = c.removable_medium() {
        let f = rm
            .encode()
            .expect("a parsed removable medium feature encodes");
        assert_eq!(RemovableMedium::parse(&f), Ok(rm));
        let _ = (rm.can_load_media(), rm.prevent_jumper_present());
    }
}

/// MODE SENSE(10): header fields are the header bytes, the block descriptors are the bytes the
/// block descriptor length declares, pages lie end to end after them where their headers put
/// them, inside both the buffer and the mode data length; only a page cut by the end of the
/// buffer is dropped; encode-parse gives back the value.
pub fn mode_sense(data: &[u8]) {
    let Ok(m) = ModeParameters::parse(data) else {
        return;
    };
    assert!(data.len() >= 8);
    let declared_end = usize::from(be16(data, 0)) + 2;
    let bd_len = usize::from(be16(data, 6));
    let available = data.len().min(declared_end);
    assert_eq!(m.medium_type, data[2]);
    assert_eq!(m.device_specific_parameter, data[3]);
    assert_eq!(m.long_lba, data[4] & 0x01 != 0);
    assert_eq!(m.complete, data.len() >= declared_end);
    assert!(8 + bd_len <= available);
    assert_eq!(m.block_descriptors[..], data[8..8 + bd_len]);
    let mut pos = 8 + bd_len;
    for p in &m.pages {
        let b0 = data[pos];
        assert_eq!(p.page_code, b0 & 0x3F);
        assert_eq!(p.parameters_saveable, b0 & 0x80 != 0);
        let (header, len) = if b0 & 0x40 != 0 {
            assert_eq!(p.subpage_code, Some(data[pos + 1]));
            (4, usize::from(be16(data, pos + 2)))
        } else {
            assert_eq!(p.subpage_code, None);
            (2, usize::from(data[pos + 1]))
        };
        assert!(pos + header + len <= available, "page past the data");
        assert_eq!(p.data[..], data[pos + header..pos + header + len]);
        pos += header + len;
    }
    if m.complete {
        assert_eq!(pos, declared_end, "complete, but bytes left unread");
    } else if pos < available {
        let rest = &data[pos..available];
        let header = if rest[0] & 0x40 != 0 { 4 } else { 2 };
        let whole = rest.len() >= header && {
            let len = if header == 4 {
                usize::from(be16(rest, 2))
            } else {
                usize::from(rest[1])
            };
            header + len <= rest.len()
        };
        assert!(!whole, "a whole page was dropped");
    }
    assert_eq!(m.page_codes().len(), m.pages.len());
    let bytes = encode_mode_sense10(
        m.medium_type,
        m.device_specific_parameter,
        &m.block_descriptors,
        &m.pages,
    )
    .expect("parsed pages re-encode");
    let again = ModeParameters::parse(&bytes).expect("encoded mode data parses");
    assert_eq!(
        again,
        ModeParameters {
            long_lba: false,
            complete: true,
            ..m.clone()
        }
    );
}

/// `text` is what the module doc of `inquiry` says a fixed ASCII field `raw` becomes: its
/// bytes, with non-graphic ones as `?`, then only padding (spaces and NULs) in `raw`.
fn assert_ascii_field(what: &str, text: &str, raw: &[u8], trim_leading: bool) {
    assert!(is_graphic_ascii_text(text), "{what}: {text:?}");
    assert!(!text.ends_with(' '), "{what}: {text:?}");
    let pad = |b: &u8| *b == b' ' || *b == 0;
    let start = if trim_leading {
        assert!(!text.starts_with(' '), "{what}: {text:?}");
        raw.iter().position(|b| !pad(b)).unwrap_or(raw.len())
    } else {
        0
    };
    let body = &raw[start.min(raw.len())..];
    assert!(text.len() <= body.len(), "{what}: longer than its field");
    for (t, r) in text.bytes().zip(body) {
        assert!(
            t == *r || (t == b'?' && !(0x20..=0x7E).contains(r)),
            "{what}: {text:?} from {raw:?}"
        );
    }
    assert!(body[text.len()..].iter().all(pad), "{what}: text dropped");
}

/// INQUIRY standard data and VPD pages 0x00, 0x80 and 0x83: header fields are the header
/// bytes, payloads are exactly the page length, text fields follow the module doc's rule,
/// encode-parse gives back the value, and one buffer is at most one of the three VPD pages.
pub fn inquiry(data: &[u8]) {
    if let Ok(i) = StandardInquiry::parse(data) {
        assert!(data.len() >= 36);
        assert_eq!(i.available_length, usize::from(data[4]) + 5);
        assert!(i.available_length >= 36);
        assert_eq!(i.peripheral.qualifier, data[0] >> 5);
        assert_eq!(i.peripheral.device_type.0, data[0] & 0x1F);
        assert_eq!(i.removable, data[1] & 0x80 != 0);
        assert_eq!(i.version, data[2]);
        assert_eq!(i.response_data_format, data[3] & 0x0F);
        assert_ascii_field("vendor", &i.vendor, &data[8..16], false);
        assert_ascii_field("product", &i.product, &data[16..32], false);
        assert_ascii_field("revision", &i.revision, &data[32..36], false);
        let bytes = i.encode().expect("parsed inquiry data re-encodes");
        assert_eq!(bytes.len(), i.available_length);
        assert_eq!(StandardInquiry::parse(&bytes), Ok(i));
    }
    let payload = |page: u8| {
        assert!(data.len() >= 4);
        assert_eq!(data[1], page);
        let len = usize::from(be16(data, 2));
        assert!(4 + len <= data.len(), "payload past the buffer");
        &data[4..4 + len]
    };
    let mut vpd_pages = 0;
    if let Ok(p) = SupportedVpdPages::parse(data) {
        vpd_pages += 1;
        let bytes = payload(0x00);
        assert_eq!(p.pages[..], *bytes);
        assert_eq!(p.peripheral.qualifier, data[0] >> 5);
        let again = p.encode().expect("parsed page 0x00 re-encodes");
        assert_eq!(SupportedVpdPages::parse(&again), Ok(p));
    }
    if let Ok(s) = UnitSerialNumber::parse(data) {
        vpd_pages += 1;
        let bytes = payload(0x80);
        assert_ascii_field("serial", &s.serial, bytes, true);
        let again = s.encode().expect("parsed page 0x80 re-encodes");
        assert_eq!(UnitSerialNumber::parse(&again), Ok(s));
    }
    if let Ok(d) = DeviceIdentification::parse(data) {
        vpd_pages += 1;
        let bytes = payload(0x83);
        let mut pos = 0;
        for des in &d.designators {
            let len = usize::from(bytes[pos + 3]);
            assert_eq!(des.identifier[..], bytes[pos + 4..pos + 4 + len]);
            assert_eq!(des.code_set, CodeSet(bytes[pos] & 0x0F));
            assert_eq!(des.protocol_identifier, bytes[pos] >> 4);
            assert_eq!(des.designator_type, DesignatorType(bytes[pos + 1] & 0x0F));
            if let Some(text) = des.text() {
                assert!(des.code_set == CodeSet::ASCII || des.code_set == CodeSet::UTF8);
                assert!(text.len() <= des.identifier.len());
            }
            pos += 4 + len;
        }
        assert_eq!(pos, bytes.len(), "designators do not fill the page");
        let again = d.encode().expect("parsed page 0x83 re-encodes");
        assert_eq!(DeviceIdentification::parse(&again), Ok(d));
    }
    assert!(vpd_pages <= 1, "one buffer parsed as {vpd_pages} VPD pages");
}

/// GET EVENT STATUS NOTIFICATION: the header fields are the header bytes, a media event is the
/// 4 bytes after the header within the descriptor length, another class keeps the descriptor
/// bytes that arrived, and encode-parse gives back the value.
pub fn event_status(data: &[u8]) {
    let Ok(s) = EventStatus::parse(data) else {
        return;
    };
    assert!(data.len() >= 4);
    let declared = usize::from(be16(data, 0));
    assert_eq!(s.supported_classes, data[3]);
    match &s.event {
        Event::NotAvailable => assert!(data[2] & 0x80 != 0),
        Event::Media(m) => {
            assert_eq!(data[2] & 0x87, MEDIA_CLASS);
            assert!(declared >= 4 && data.len() >= 8);
            assert_eq!(m.event.0, data[4] & 0x0F);
            assert_eq!(m.media_present, data[5] & 0x02 != 0);
            assert_eq!(m.tray_open, data[5] & 0x01 != 0);
            assert_eq!((m.start_slot, m.end_slot), (data[6], data[7]));
        }
        Event::Other { class, descriptor } => {
            assert_eq!(data[2] & 0x80, 0);
            assert_eq!(*class, data[2] & 0x07);
            assert_ne!(*class, MEDIA_CLASS);
            assert_eq!(descriptor[..], data[4..data.len().min(4 + declared)]);
        }
    }
    let bytes = s.encode().expect("a parsed event re-encodes");
    assert_eq!(EventStatus::parse(&bytes), Ok(s.clone()));
    assert_eq!(s.media().is_some(), matches!(s.event, Event::Media(_)));
}

// ---- kernel tables ----

/// One `/proc/self/mountinfo` line: the device number is the third field, written in decimal;
/// the file system type and source are the two fields after the first lone `-` from the
/// seventh field on; the mount point and source, escaped again as the kernel escapes paths,
/// parse back to themselves; and the entry is found by its device number.
pub fn mountinfo_line(data: &[u8]) {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = mountinfo::parse_line(line);
    let table = mountinfo::parse(line);
    assert_eq!(
        table.len(),
        line.lines()
            .filter(|l| mountinfo::parse_line(l).is_some())
            .count()
    );
    let Some(e) = parsed else {
        return;
    };
    let fields: Vec<&str> = line.split(' ').collect();
    assert!(fields.len() >= 9);
    let (major, minor) = fields[2]
        .split_once(':')
        .expect("the device number field has a colon");
    assert!(is_decimal(major) && is_decimal(minor), "{:?}", fields[2]);
    assert_eq!((major.parse(), minor.parse()), (Ok(e.major), Ok(e.minor)));
    let dash = (6..fields.len())
        .find(|&i| fields[i] == "-")
        .expect("a separator field");
    assert_eq!(fields[dash + 1], e.fs_type);
    for (field, path) in [(fields[4], &e.mount_point), (fields[dash + 2], &e.source)] {
        let bytes = path.as_os_str().as_encoded_bytes();
        assert!(bytes.len() <= field.len());
        if !field.contains('\\') {
            assert_eq!(bytes, field.as_bytes());
        }
    }
    // The kernel's own escaping of what was parsed reads back the same (for paths that are
    // text: the parser takes a `&str`).
    let escaped = |p: &std::path::Path| {
        String::from_utf8(kernel_mountinfo_escape(p.as_os_str().as_encoded_bytes())).ok()
    };
    if let (Some(mount_point), Some(source)) = (escaped(&e.mount_point), escaped(&e.source)) {
        let again = format!(
            "{} {} {}:{} {} {} {} - {} {} rw",
            fields[0],
            fields[1],
            e.major,
            e.minor,
            fields[3],
            mount_point,
            fields[5],
            e.fs_type,
            source
        );
        assert_eq!(mountinfo::parse_line(&again), Some(e.clone()), "{again:?}");
    }
    let points = mountinfo::mount_points_of(std::slice::from_ref(&e), &[(e.major, e.minor)]);
    assert_eq!(points, vec![e.mount_point.clone()]);
}

/// One `/proc/locks` line: a blocked waiter (`->`) is never an entry; an entry's kind, access,
/// PID and `MAJ:MIN:INO` are the line's tokens (hexadecimal device numbers, decimal inode and
/// PID, as `fs/locks.c` prints them); and the table finds the entry on its inode.
pub fn proc_locks_line(data: &[u8]) {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = proc_locks::parse_line(line);
    let tokens: Vec<&str> = line.split_ascii_whitespace().collect();
    if tokens.get(1) == Some(&"->") {
        assert_eq!(parsed, None, "a blocked waiter became an entry");
    }
    let Some(e) = parsed else {
        return;
    };
    assert!(tokens.len() >= 6);
    assert!(tokens[0].ends_with(':'));
    let kind = match tokens[1] {
        "POSIX" => proc_locks::LockKind::Posix,
        "FLOCK" => proc_locks::LockKind::Flock,
        "OFDLCK" => proc_locks::LockKind::Ofd,
        _ => proc_locks::LockKind::Other,
    };
    assert_eq!(e.kind, kind);
    assert!(tokens[3] == "WRITE" || tokens[3] == "READ");
    assert_eq!(e.write, tokens[3] == "WRITE");
    let pid = tokens[4];
    assert!(
        is_decimal(pid.strip_prefix('-').unwrap_or(pid)),
        "pid {pid:?}"
    );
    assert_eq!(pid.parse::<i32>(), Ok(e.pid));
    let dev: Vec<&str> = tokens[5].split(':').collect();
    assert_eq!(dev.len(), 3, "{:?}", tokens[5]);
    assert!(
        is_hex(dev[0]) && is_hex(dev[1]) && is_decimal(dev[2]),
        "{:?}",
        tokens[5]
    );
    assert_eq!(
        u32::from_str_radix(dev[0], 16),
        Ok(rustix::fs::major(e.file.dev))
    );
    assert_eq!(
        u32::from_str_radix(dev[1], 16),
        Ok(rustix::fs::minor(e.file.dev))
    );
    assert_eq!(dev[2].parse::<u64>(), Ok(e.file.ino));
    if !line.contains('\n') {
        let table = proc_locks::LockTable::parse(line);
        assert_eq!(table.on(e.file).collect::<Vec<_>>(), vec![&e]);
        assert_eq!(table.holds(e.pid, e.file, e.kind), e.write);
    }
}

// ---- owner records ----

/// A decoded owner record is small, UTF-8 and starts with the magic line; its fields are
/// valid (a valid client name, PID > 0, printable program of at most 64 bytes shown as is);
/// it re-encodes to text that decodes to the same value; and the record's length does not
/// depend on the hold mode, the job or the task (`PublishedRecord::rewrite` relies on a same-length
/// write).
pub fn owner_record(data: &[u8]) {
    let Some(r) = OwnerRecord::decode(data) else {
        return;
    };
    assert!(data.len() <= 1024);
    let text = std::str::from_utf8(data).expect("a decoded record is UTF-8");
    assert!(text.starts_with("discrecorder-owner v2"));
    assert!(ClientName::check(r.client.as_str().as_bytes()).is_ok());
    assert!(r.pid > 0);
    assert!(r.program.len() <= 64);
    assert!(!has_terminal_control(&r.program), "{:?}", r.program);
    assert_eq!(crate::text::sanitize(&r.program), r.program);
    let encoded = r.encode();
    assert!(encoded.len() <= 1024);
    assert_eq!(OwnerRecord::decode(encoded.as_bytes()), Some(r.clone()));
    for mode in [HoldMode::Exclusive, HoldMode::Weak, HoldMode::Handoff] {
        let other = OwnerRecord { mode, ..r.clone() };
        assert_eq!(other.encode().len(), encoded.len(), "{mode:?}");
    }
    for job in [
        None,
        Some(crate::record::ProcessId {
            pid: i32::MAX,
            start: u64::MAX,
        }),
    ] {
        let other = OwnerRecord { job, ..r.clone() };
        assert_eq!(other.encode().len(), encoded.len(), "{job:?}");
    }
    let widest = crate::record::Job::new(
        crate::record::JobAction::InitializingHardware,
        u64::MAX,
        u64::MAX,
    )
    .at(
        crate::record::JobAction::InitializingHardware,
        u64::MAX,
        100,
        None,
    );
    for task in [None, Some(widest)] {
        let other = OwnerRecord { task, ..r.clone() };
        assert_eq!(other.encode().len(), encoded.len(), "{task:?}");
    }
}

// ---- emulated drive state ----

/// What the emulated drive's REQUEST SENSE reports for `s` (its module doc): a pending unit
/// attention, else the not-ready condition, else NO SENSE.
fn expected_condition(s: &DriveState, with_unit_attention: bool) -> (u8, u8, u8) {
    let supported: Vec<u16> = s.profiles.iter().take(63).copied().collect();
    if with_unit_attention && s.unit_attention {
        (0x6, 0x28, 0x00)
    } else if s.tray_open {
        (0x2, 0x3A, 0x02)
    } else if let Some(m) = s.medium {
        if supported.contains(&m) {
            (0x0, 0x00, 0x00)
        } else {
            (0x2, 0x30, 0x00)
        }
    } else {
        (0x2, 0x3A, 0x01)
    }
}

fn reply_of(outcome: Outcome) -> Reply {
    match outcome {
        Outcome::Reply(r) => r,
        other => panic!("a working drive answered {other:?}"),
    }
}

fn good_data(outcome: Outcome, what: &str) -> Vec<u8> {
    let r = reply_of(outcome);
    assert_eq!(r.status, GOOD, "{what}: sense {:02X?}", r.sense);
    assert!(r.sense.is_empty(), "{what}");
    r.data
}

fn condition_of(sense: &[u8]) -> (u8, u8, u8) {
    let s = SenseData::parse(sense).expect("the drive's sense data parses");
    assert_eq!(s.format, SenseFormat::Fixed);
    (s.key.code(), s.asc, s.ascq)
}

/// A state the emulator's documented answers can be checked against; see the module doc of
/// `discrecorder_mmc::emulator`.
fn check_working_drive(drive: &mut DriveState) {
    let before = drive.clone();
    let supported: Vec<u16> = before.profiles.iter().take(63).copied().collect();
    let current = match (before.tray_open, before.medium) {
        (false, Some(m)) if supported.contains(&m) => Some(m),
        _ => None,
    };

    let i = StandardInquiry::parse(&good_data(
        drive.execute(&inquiry_cdb(0xFFFF).cdb, &[]),
        "INQUIRY",
    ))
    .expect("the drive's INQUIRY data parses");
    assert_eq!(i.peripheral, Peripheral::MMC);
    assert!(i.removable);
    for (shown, set, max) in [
        (&i.vendor, &before.vendor, 8),
        (&i.product, &before.product, 16),
        (&i.revision, &before.revision, 4),
    ] {
        assert!(shown.len() <= max);
        if set.len() <= max && is_graphic_ascii_text(set) && !set.ends_with(' ') {
            assert_eq!(shown, set);
        }
    }
    let pages = SupportedVpdPages::parse(&good_data(
        drive.execute(&inquiry_vpd(0x00, 0xFFFF).cdb, &[]),
        "VPD 0x00",
    ))
    .expect("VPD 0x00 parses");
    assert_eq!(pages.pages, vec![0x00, 0x80, 0x83]);
    let serial = UnitSerialNumber::parse(&good_data(
        drive.execute(&inquiry_vpd(0x80, 0xFFFF).cdb, &[]),
        "VPD 0x80",
    ))
    .expect("VPD 0x80 parses");
    let set = &before.serial;
    if set.len() <= 64 && is_graphic_ascii_text(set) && set.trim() == set {
        assert_eq!(&serial.serial, set);
    }
    let ids = DeviceIdentification::parse(&good_data(
        drive.execute(&inquiry_vpd(0x83, 0xFFFF).cdb, &[]),
        "VPD 0x83",
    ))
    .expect("VPD 0x83 parses");
    assert_eq!(ids.designators.len(), 1);
    assert_eq!(
        ids.designators[0].designator_type,
        DesignatorType::T10_VENDOR_ID
    );

    let event = EventStatus::parse(&good_data(
        drive.execute(
            &get_event_status_notification(class_mask::MEDIA, 0xFFFF).cdb,
            &[],
        ),
        "GET EVENT STATUS NOTIFICATION",
    ))
    .expect("the drive's event status parses");
    let media = *event.media().expect("a media event");
    assert_eq!(
        media.event.0,
        before.pending_media_event.map_or(0, |c| c & 0x0F)
    );
    assert_eq!(media.tray_open, before.tray_open);
    assert_eq!(
        media.media_present,
        !before.tray_open && before.medium.is_some()
    );
    assert_eq!(
        drive.pending_media_event, None,
        "the event was not consumed"
    );

    let sense = good_data(
        drive.execute(&request_sense(255, false).cdb, &[]),
        "REQUEST SENSE",
    );
    assert_eq!(condition_of(&sense), expected_condition(&before, true));
    assert!(
        !drive.unit_attention,
        "REQUEST SENSE did not clear the unit attention"
    );

    let tur = reply_of(drive.execute(&test_unit_ready().cdb, &[]));
    match expected_condition(&before, false) {
        (0, 0, 0) => assert_eq!(tur.status, GOOD),
        want => {
            assert_eq!(tur.status, CHECK_CONDITION);
            assert_eq!(condition_of(&tur.sense), want);
        }
    }

    let c = Configuration::parse(&good_data(
        drive.execute(
            &get_configuration_cdb(RequestType::All, FeatureCode::PROFILE_LIST, 0xFFFF).cdb,
            &[],
        ),
        "GET CONFIGURATION",
    ))
    .expect("the drive's configuration parses");
    assert!(c.complete);
    assert_eq!(c.current_profile, Profile(current.unwrap_or(0)));
    assert!(
        c.features.windows(2).all(|w| w[0].code < w[1].code),
        "features not in ascending order"
    );
    let profiles = c
        .profiles()
        .expect("a profile list")
        .expect("the profile list parses");
    let listed: Vec<(u16, bool)> = profiles.iter().map(|p| (p.profile.0, p.current)).collect();
    let want: Vec<(u16, bool)> = supported.iter().map(|&p| (p, Some(p) == current)).collect();
    assert_eq!(listed, want);
    let rm = c
        .removable_medium()
        .expect("a removable medium feature")
        .expect("it parses");
    assert_eq!(rm.loading_mechanism, LoadingMechanism::TRAY);
    assert!(rm.eject && rm.load && rm.lock && rm.can_load_media());

    let m = ModeParameters::parse(&good_data(
        drive.execute(&mode_sense10_all_pages(0xFFFF).cdb, &[]),
        "MODE SENSE",
    ))
    .expect("the drive's mode data parses");
    assert!(m.complete && m.block_descriptors.is_empty());
    assert_eq!(m.page_codes(), vec![0x01, 0x05, 0x1A, 0x2A]);
    let caps = m.page(0x2A).expect("page 0x2A");
    assert_eq!(
        caps.data.get(4).map(|b| b & 0x02 != 0),
        Some(before.prevent_removal),
        "Lock State bit"
    );

    // Only what these commands consume has changed.
    assert_eq!(
        *drive,
        DriveState {
            pending_media_event: None,
            unit_attention: false,
            ..before
        }
    );
}

/// Under `Fault::Garbage` every data-in answer is GOOD and rejected by its parser, and a
/// command without data fails with sense no parser can read; nothing changes.
fn check_garbage_drive(drive: &mut DriveState) {
    let before = drive.clone();
    let data = |d: &mut DriveState, cdb: &[u8], what: &str| good_data(d.execute(cdb, &[]), what);
    let b = data(drive, &inquiry_cdb(0xFFFF).cdb, "INQUIRY");
    assert!(StandardInquiry::parse(&b).is_err());
    let b = data(drive, &inquiry_vpd(0x00, 0xFFFF).cdb, "VPD 0x00");
    assert!(SupportedVpdPages::parse(&b).is_err());
    let b = data(drive, &inquiry_vpd(0x80, 0xFFFF).cdb, "VPD 0x80");
    assert!(UnitSerialNumber::parse(&b).is_err());
    let b = data(drive, &inquiry_vpd(0x83, 0xFFFF).cdb, "VPD 0x83");
    assert!(DeviceIdentification::parse(&b).is_err());
    let b = data(
        drive,
        &get_event_status_notification(class_mask::MEDIA, 0xFFFF).cdb,
        "GESN",
    );
    assert!(EventStatus::parse(&b).is_err());
    let b = data(drive, &request_sense(255, false).cdb, "REQUEST SENSE");
    assert!(SenseData::parse(&b).is_err());
    let b = data(
        drive,
        &get_configuration_cdb(RequestType::All, FeatureCode::PROFILE_LIST, 0xFFFF).cdb,
        "GET CONFIGURATION",
    );
    assert!(Configuration::parse(&b).is_err());
    let b = data(drive, &mode_sense10_all_pages(0xFFFF).cdb, "MODE SENSE");
    assert!(ModeParameters::parse(&b).is_err());
    let tur = reply_of(drive.execute(&test_unit_ready().cdb, &[]));
    assert_eq!(tur.status, CHECK_CONDITION);
    assert!(SenseData::parse(&tur.sense).is_err());
    assert_eq!(*drive, before);
}

/// Runs one arbitrary CDB and checks what any answer must be.
fn check_any_command(drive: &mut DriveState, store: &mut MemoryStore, cdb: &[u8], data_out: &[u8]) {
    let recognised = Cdb::parse(cdb);
    if let Ok(c) = &recognised {
        assert_eq!(Some(c.opcode()), cdb.first().copied());
    }
    let outcome = drive.execute_with(cdb, data_out, store);
    // A fault armed to trigger at this command is in effect from this command on.
    let fault = drive.fault;
    match (fault, outcome) {
        (Fault::Hang, Outcome::Hang) | (Fault::Vanish, Outcome::Vanished) => {}
        (Fault::None | Fault::Garbage, Outcome::Reply(r)) => match r.status {
            GOOD => {
                assert!(r.sense.is_empty());
                let limit = recognised.as_ref().map_or(0, Cdb::allocation_length);
                assert!(r.data.len() <= limit, "{} bytes for {limit}", r.data.len());
            }
            CHECK_CONDITION => {
                assert!(r.data.is_empty());
                let parsed = SenseData::parse(&r.sense);
                assert_eq!(parsed.is_ok(), fault == Fault::None, "{:02X?}", r.sense);
            }
            other => panic!("status {other:#04x}"),
        },
        (fault, outcome) => panic!("{fault:?} gave {outcome:?}"),
    }
}

/// Persists `state` as the library does and reads it back.
fn assert_persists(state: &DriveState) {
    let json = serde_json::to_vec_pretty(state).expect("a drive state serialises");
    let again = crate::emu::parse_state(&json, "emu:fuzz").expect("and parses back");
    assert_eq!(&again, state);
}

/// The emulated drive's state file (JSON, writable by every local user), then after a NUL byte
/// a script of CDBs (each one length byte, modulo 17, then that many bytes). A state the
/// library accepts persists unchanged; the drive answers the commands of its module doc as
/// documented (or, under `Fault::Garbage`, with data no parser accepts); any CDB gets a
/// well-formed answer within its allocation length; and the state still persists after.
pub fn emu_state(data: &[u8]) {
    let (text, script) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &data[data.len()..]),
    };
    let Ok(state) = crate::emu::parse_state(text, "emu:fuzz") else {
        return;
    };
    if text.iter().all(u8::is_ascii_whitespace) {
        assert_eq!(state.serial, "EMU-fuzz");
    }
    assert_persists(&state);
    let mut drive = state.clone();
    match drive.fault {
        Fault::None => check_working_drive(&mut drive),
        Fault::Garbage => check_garbage_drive(&mut drive),
        Fault::Hang | Fault::Vanish => {}
    }
    // The script: commands, each a length byte L and L % 17 CDB bytes; L / 17 blocks of
    // data-out (2048 bytes each, filled with the byte after the CDB) go with it, so that
    // WRITE, MODE SELECT and FORMAT UNIT reach the recording paths with the disc's sectors in
    // memory.
    let mut drive = state;
    let mut store = MemoryStore::default();
    let mut rest = script;
    while let Some((&len, tail)) = rest.split_first() {
        let n = usize::from(len % 17).min(tail.len());
        let (cdb, tail) = tail.split_at(n);
        let (fill, tail) = tail.split_first().map_or((0, tail), |(&f, t)| (f, t));
        let data_out = vec![fill; usize::from(len / 17) * 2048];
        check_any_command(&mut drive, &mut store, cdb, &data_out);
        rest = tail;
    }
    assert_persists(&drive);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn independent_alphabet_is_the_spec_one() {
        assert_eq!(CLIENT_NAME_ALPHABET.len(), 10 + 26 + 26 + 7);
        assert_eq!(EMU_NAME_ALPHABET.len(), 26 + 26 + 10 + 2);
    }

    #[test]
    fn kernel_escape_writes_three_octal_digits() {
        assert_eq!(
            kernel_mountinfo_escape(b"a b\\c\n"),
            b"a\\040b\\134c\\012".to_vec()
        );
    }
}
