//! Replays the committed fuzz corpora through the fuzz targets' property checks, on the stable
//! toolchain and without a fuzzer: every file of `fuzz/corpus/TARGET/` and of
//! `fuzz/regressions/TARGET/` goes through `discrecorder::fuzzing::TARGET`. A target without a
//! corpus, or a corpus directory that is missing or empty, fails: nothing is skipped.
//!
//! The seed inputs the corpora were grown from are built here too, and checked in memory:
//! captured drive responses (`crates/mmc/tests/fixtures/qemu`), this machine's
//! `/proc/self/mountinfo` and `/proc/locks`, and values made by the library's own encoders.
//! `write_seed_corpora` (ignored) writes them into `fuzz/corpus/TARGET/seed-*`; run it with
//! `cargo test -p discrecorder --test fuzz_corpus -- --ignored` before `fuzz/run.sh` to grow a
//! corpus from scratch.

use std::fs;
use std::path::{Path, PathBuf};

use discrecorder::fuzzing;
use discrecorder::mmc::configuration::{get_configuration, FeatureCode, RequestType};
use discrecorder::mmc::disc::{
    Capacity, CapacityDescriptorType, CurrentCapacity, DiscInformation, DiscStatus,
    FormatCapacities, FormattableCapacity, FullToc, FullTocDescriptor, SessionInfo, SessionState,
    Toc, TocDescriptor, TrackInfoExtension, TrackInformation, LEAD_OUT_TRACK,
};
use discrecorder::mmc::emulator::{DriveState, Fault, Outcome};
use discrecorder::mmc::event::{
    class_mask, get_event_status_notification, Event, EventStatus, MediaEvent, MediaEventCode,
};
use discrecorder::mmc::inquiry::{inquiry, inquiry_vpd};
use discrecorder::mmc::mode::{
    encode_mode_sense10, mode_sense10, mode_sense10_all_pages, ModePage, PageControl,
};
use discrecorder::mmc::sense::{request_sense, SenseData, SenseFormat, SenseKey};
use discrecorder::mmc::unit::{
    prevent_allow_medium_removal, start_stop_unit, test_unit_ready, MediumRemoval, StartStop,
};
use discrecorder::mmc::write::{
    BufferCapacity, MultiSession, PerformanceDescriptor, WriteParameters, WriteSpeedDescriptor,
    WriteSpeeds, WriteType,
};
use discrecorder::testing::{OwnerRecord, ProcessId};
use discrecorder::{ClientName, HoldMode};

type Check = fn(&[u8]);

/// Every fuzz target, by the name of its file in `fuzz/fuzz_targets/`.
const TARGETS: [(&str, Check); 28] = [
    ("client_name", fuzzing::client_name),
    ("emu_name", fuzzing::emu_name),
    ("sanitize", fuzzing::sanitize),
    ("sense", fuzzing::sense),
    ("get_configuration", fuzzing::get_configuration),
    ("mode_sense", fuzzing::mode_sense),
    ("inquiry", fuzzing::inquiry),
    ("event_status", fuzzing::event_status),
    ("mountinfo_line", fuzzing::mountinfo_line),
    ("proc_locks_line", fuzzing::proc_locks_line),
    ("owner_record", fuzzing::owner_record),
    ("emu_state", fuzzing::emu_state),
    ("disc_information", fuzzing::disc_information),
    ("track_information", fuzzing::track_information),
    ("capacity", fuzzing::capacity),
    ("toc", fuzzing::toc),
    ("session_info", fuzzing::session_info),
    ("full_toc", fuzzing::full_toc),
    ("cue_sheet", fuzzing::cue_sheet),
    ("format_capacities", fuzzing::format_capacities),
    ("format_parameters", fuzzing::format_parameters),
    ("write_parameters", fuzzing::write_parameters),
    ("write_parameters_mode", fuzzing::write_parameters_mode),
    ("write_speeds", fuzzing::write_speeds),
    ("performance_descriptor", fuzzing::performance_descriptor),
    ("buffer_capacity", fuzzing::buffer_capacity),
    ("sense_progress", fuzzing::sense_progress),
    ("tcmu_ring", discrecorder_tcmu::fuzzing::ring),
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The files of `dir`, sorted; `None` when the directory does not exist.
fn files_in(dir: &Path) -> Option<Vec<PathBuf>> {
    let entries = fs::read_dir(dir).ok()?;
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    Some(files)
}

/// Runs `check` on `file`; a broken property is returned as a line for the failure report.
fn replay(target: &str, check: Check, file: &Path) -> Option<String> {
    let data = fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    std::panic::catch_unwind(|| check(&data))
        .err()
        .map(|_| format!("{target}: {} ({} bytes)", file.display(), data.len()))
}

fn assert_none_broken(broken: &[String]) {
    assert!(
        broken.is_empty(),
        "{} inputs break a property:\n{}",
        broken.len(),
        broken.join("\n")
    );
}

#[test]
fn every_fuzz_target_has_an_entry_here() {
    let targets = files_in(&fuzz_dir().join("fuzz_targets")).expect("fuzz/fuzz_targets exists");
    let mut names: Vec<String> = targets
        .iter()
        .filter_map(|p| Some(p.file_stem()?.to_str()?.to_owned()))
        .collect();
    names.sort();
    let mut known: Vec<String> = TARGETS.iter().map(|(n, _)| (*n).to_owned()).collect();
    known.sort();
    assert_eq!(names, known);
}

#[test]
fn every_corpus_file_satisfies_its_targets_properties() {
    let mut broken = Vec::new();
    for (target, check) in TARGETS {
        let dir = fuzz_dir().join("corpus").join(target);
        let files = files_in(&dir).unwrap_or_else(|| panic!("corpus {} is missing", dir.display()));
        assert!(!files.is_empty(), "corpus {} is empty", dir.display());
        broken.extend(files.iter().filter_map(|f| replay(target, check, f)));
    }
    assert_none_broken(&broken);
}

#[test]
fn every_saved_finding_stays_fixed() {
    let root = fuzz_dir().join("regressions");
    let dirs = fs::read_dir(&root).unwrap_or_else(|e| panic!("{}: {e}", root.display()));
    for dir in dirs {
        let name = dir.expect("readable directory entry").file_name();
        assert!(
            TARGETS.iter().any(|(t, _)| name.to_str() == Some(*t)),
            "fuzz/regressions/{name:?} is not a fuzz target: its inputs would never be replayed"
        );
    }
    let mut broken = Vec::new();
    let mut total = 0;
    for (target, check) in TARGETS {
        let files = files_in(&root.join(target)).unwrap_or_default();
        total += files.len();
        broken.extend(files.iter().filter_map(|f| replay(target, check, f)));
    }
    assert!(total > 0, "fuzz/regressions holds no input");
    assert_none_broken(&broken);
}

// ---- seeds ----

#[test]
fn every_seed_satisfies_its_targets_properties() {
    let mut broken = Vec::new();
    for (target, seeds) in seeds() {
        let check = TARGETS
            .iter()
            .find(|(t, _)| *t == target)
            .map(|(_, c)| *c)
            .unwrap_or_else(|| panic!("seeds for unknown target {target}"));
        assert!(!seeds.is_empty(), "{target} has no seeds");
        for (name, bytes) in &seeds {
            if std::panic::catch_unwind(|| check(bytes)).is_err() {
                broken.push(format!("{target}: seed {name} ({} bytes)", bytes.len()));
            }
        }
    }
    assert_none_broken(&broken);
}

#[test]
#[ignore = "writes seed files into fuzz/corpus; run by hand before growing the corpora"]
fn write_seed_corpora() {
    for (target, seeds) in seeds() {
        let dir = fuzz_dir().join("corpus").join(target);
        fs::create_dir_all(&dir).expect("create corpus directory");
        for (name, bytes) in seeds {
            fs::write(dir.join(format!("seed-{name}")), bytes).expect("write seed");
        }
    }
}

/// Seed inputs of one target: (name, bytes).
type Seeds = Vec<(String, Vec<u8>)>;

fn named(list: &[(&str, &[u8])]) -> Seeds {
    list.iter()
        .map(|(n, b)| ((*n).to_owned(), b.to_vec()))
        .collect()
}

/// A captured QEMU response, cut to the length its own header declares (QEMU pads the 65530
/// bytes asked for with zeros) plus four bytes of that padding.
fn fixture(name: &str, declared: impl Fn(&[u8]) -> usize) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../mmc/tests/fixtures/qemu")
        .join(name);
    let mut bytes = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let end = declared(&bytes).saturating_add(4).min(bytes.len());
    bytes.truncate(end);
    bytes
}

fn whole(_: &[u8]) -> usize {
    usize::MAX
}

/// Lines of a kernel table, distinct, at most `max`.
fn proc_lines(path: &str, max: usize) -> Seeds {
    let text = fs::read_to_string(path).unwrap_or_default();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.dedup();
    lines
        .into_iter()
        .take(max)
        .enumerate()
        .map(|(i, l)| (format!("proc-{i}"), l.as_bytes().to_vec()))
        .collect()
}

/// Every command the emulated drive answers, as an `emu_state` script (length byte, CDB).
fn command_script() -> Vec<u8> {
    let cdbs: Vec<Vec<u8>> = vec![
        inquiry(96).cdb.to_vec(),
        inquiry_vpd(0x00, 255).cdb.to_vec(),
        inquiry_vpd(0x80, 255).cdb.to_vec(),
        inquiry_vpd(0x83, 255).cdb.to_vec(),
        inquiry_vpd(0xB0, 255).cdb.to_vec(),
        test_unit_ready().cdb.to_vec(),
        request_sense(18, false).cdb.to_vec(),
        get_configuration(RequestType::All, FeatureCode::PROFILE_LIST, 65530)
            .cdb
            .to_vec(),
        get_configuration(RequestType::Current, FeatureCode::PROFILE_LIST, 8)
            .cdb
            .to_vec(),
        get_configuration(RequestType::One, FeatureCode::REMOVABLE_MEDIUM, 16)
            .cdb
            .to_vec(),
        mode_sense10_all_pages(65530).cdb.to_vec(),
        mode_sense10(PageControl::Changeable, 0x2A, 0, 64, true)
            .cdb
            .to_vec(),
        mode_sense10(PageControl::Saved, 0x2A, 0, 64, true)
            .cdb
            .to_vec(),
        get_event_status_notification(class_mask::MEDIA, 8)
            .cdb
            .to_vec(),
        prevent_allow_medium_removal(MediumRemoval::Prevent)
            .cdb
            .to_vec(),
        start_stop_unit(StartStop::Eject, false).cdb.to_vec(),
        prevent_allow_medium_removal(MediumRemoval::Allow)
            .cdb
            .to_vec(),
        start_stop_unit(StartStop::Eject, false).cdb.to_vec(),
        start_stop_unit(StartStop::Load, true).cdb.to_vec(),
        vec![0xA8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        vec![],
    ];
    let mut script = Vec::new();
    for cdb in cdbs {
        script.push(u8::try_from(cdb.len()).expect("short CDB"));
        script.extend_from_slice(&cdb);
    }
    script
}

fn emu_seed(state: &DriveState) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(state).expect("serialises");
    bytes.push(0);
    bytes.extend_from_slice(&command_script());
    bytes
}

fn emulator_answer(cdb: &[u8]) -> Vec<u8> {
    match DriveState::new_recorder().execute(cdb, &[]) {
        Outcome::Reply(r) => r.data,
        other => panic!("{other:?}"),
    }
}

/// Every target's seeds.
fn seeds() -> Vec<(&'static str, Seeds)> {
    let mut all = Vec::new();
    all.push((
        "client_name",
        named(&[
            ("valid-plain", b"Disc Robot"),
            ("valid-punctuation", b"Disc Robot 2: bay 1, slot_3; v.2-b"),
            ("valid-63", &[b'a'; 63]),
            ("valid-one", b"x"),
            ("invalid-empty", b""),
            ("invalid-64", &[b'a'; 64]),
            ("invalid-at", b"a@b"),
            ("invalid-slash", b"a/b"),
            ("invalid-accent", "caf\u{e9}".as_bytes()),
            ("invalid-tab", b"a\tb"),
            ("invalid-nul", b"a\0b"),
            ("invalid-escape", b"\x1b[31m"),
            ("invalid-utf8", b"a\xffb"),
        ]),
    ));
    all.push((
        "emu_name",
        named(&[
            ("valid", b"burner-1"),
            ("valid-32", &[b'z'; 32]),
            ("invalid-33", &[b'z'; 33]),
            ("invalid-space", b"my burner"),
            ("invalid-escape", b"x\x1b[2J"),
            ("invalid-empty", b""),
        ]),
    ));
    all.push((
        "sanitize",
        named(&[
            ("plain", b"plain name"),
            ("escape", b"x\x1b[2Jy"),
            ("bell", b"bell\x07"),
            ("c1", "c1\u{9b}31m".as_bytes()),
            ("backslash", b"back\\slash \\x1b"),
            ("invalid-utf8", b"\xff\x1b\xc2"),
            ("del-newline", b"a\x7fb\nc\rd"),
        ]),
    ));

    let sense_seeds = {
        let mut seeds = vec![
            (
                "qemu-tur-no-medium".to_owned(),
                fixture("tur_no_medium.bin.sense", whole),
            ),
            (
                "qemu-read-track-information".to_owned(),
                fixture("read_track_information_1.bin.sense", whole),
            ),
            ("qemu-vpd80".to_owned(), fixture("vpd80.bin.sense", whole)),
            (
                "qemu-request-sense".to_owned(),
                fixture("sense_no_medium.bin", whole),
            ),
        ];
        let samples = [
            (SenseFormat::Fixed, SenseKey::DataProtect, 0x27, 0, Some(7)),
            (SenseFormat::Fixed, SenseKey::NotReady, 0x04, 0x01, None),
            (
                SenseFormat::Descriptor,
                SenseKey::IllegalRequest,
                0x24,
                0,
                Some(u64::MAX),
            ),
            (
                SenseFormat::Descriptor,
                SenseKey::UnitAttention,
                0x28,
                0,
                None,
            ),
        ];
        for (i, (format, key, asc, ascq, information)) in samples.into_iter().enumerate() {
            let s = SenseData {
                format,
                deferred: i % 2 == 1,
                key,
                asc,
                ascq,
                information,
            };
            seeds.push((format!("encoded-{i}"), s.encode().expect("encodes")));
        }
        seeds
    };
    all.push(("sense", sense_seeds));

    let config_len = |b: &[u8]| {
        b.get(..4).map_or(0, |l| {
            u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize + 4
        })
    };
    all.push((
        "get_configuration",
        vec![
            (
                "qemu-rt0".to_owned(),
                fixture("get_configuration_rt0.bin", config_len),
            ),
            (
                "qemu-rt0-empty".to_owned(),
                fixture("get_configuration_rt0_empty.bin", config_len),
            ),
            (
                "qemu-rt1".to_owned(),
                fixture("get_configuration_rt1.bin", config_len),
            ),
            (
                "emulator-rt0".to_owned(),
                emulator_answer(
                    &get_configuration(RequestType::All, FeatureCode::PROFILE_LIST, 65530).cdb,
                ),
            ),
        ],
    ));

    let mode_len = |b: &[u8]| {
        b.get(..2)
            .map_or(0, |l| usize::from(u16::from_be_bytes([l[0], l[1]])) + 2)
    };
    let with_block_descriptors = encode_mode_sense10(
        5,
        0x80,
        &[0, 0, 0, 0, 0, 0, 8, 0],
        &[
            ModePage {
                page_code: 0x01,
                subpage_code: Some(2),
                parameters_saveable: true,
                data: vec![0xAA, 0xBB],
            },
            ModePage {
                page_code: 0x2A,
                subpage_code: None,
                parameters_saveable: false,
                data: vec![0; 20],
            },
        ],
    )
    .expect("encodes");
    all.push((
        "mode_sense",
        vec![
            (
                "qemu-3f".to_owned(),
                fixture("mode_sense10_3f.bin", mode_len),
            ),
            (
                "emulator-3f".to_owned(),
                emulator_answer(&mode_sense10_all_pages(65530).cdb),
            ),
            ("encoded-subpage".to_owned(), with_block_descriptors),
        ],
    ));

    all.push((
        "inquiry",
        vec![
            ("qemu-standard".to_owned(), fixture("inquiry.bin", whole)),
            ("qemu-vpd00".to_owned(), fixture("vpd00.bin", whole)),
            ("qemu-vpd83".to_owned(), fixture("vpd83.bin", whole)),
            (
                "emulator-vpd80".to_owned(),
                emulator_answer(&inquiry_vpd(0x80, 255).cdb),
            ),
            (
                "emulator-vpd83".to_owned(),
                emulator_answer(&inquiry_vpd(0x83, 255).cdb),
            ),
        ],
    ));

    let other = EventStatus {
        supported_classes: 0x5E,
        event: Event::Other {
            class: 6,
            descriptor: vec![1, 2, 3, 4],
        },
    };
    let media = EventStatus {
        supported_classes: class_mask::MEDIA,
        event: Event::Media(MediaEvent {
            event: MediaEventCode::EJECT_REQUEST,
            media_present: true,
            tray_open: true,
            start_slot: 1,
            end_slot: 2,
        }),
    };
    all.push((
        "event_status",
        vec![
            ("qemu-media".to_owned(), fixture("gesn_media.bin", whole)),
            (
                "qemu-media-empty".to_owned(),
                fixture("gesn_media_empty.bin", whole),
            ),
            ("encoded-other".to_owned(), other.encode().expect("encodes")),
            ("encoded-media".to_owned(), media.encode().expect("encodes")),
            ("not-available".to_owned(), vec![0, 0, 0x80, 0x10]),
        ],
    ));

    let mut mountinfo = proc_lines("/proc/self/mountinfo", 40);
    mountinfo.extend(named(&[
        (
            "escaped",
            b"36 22 7:0 / /mnt/with\\040space rw,noatime shared:7 master:1 - ext2 /dev/loop0 rw",
        ),
        (
            "optical",
            b"38 22 11:0 / /media/cd ro - iso9660 /dev/sr0 ro",
        ),
        ("no-separator", b"bad line without separator"),
    ]));
    all.push(("mountinfo_line", mountinfo));

    let mut locks = proc_lines("/proc/locks", 20);
    locks.extend(named(&[
        ("posix", b"1: POSIX  ADVISORY  WRITE 1578 00:06:94 0 EOF"),
        ("flock", b"2: FLOCK  ADVISORY  WRITE 1579 00:06:94 0 EOF"),
        (
            "waiter",
            b"2: -> FLOCK  ADVISORY  WRITE 1600 00:06:94 0 EOF",
        ),
        ("ofd", b"3: OFDLCK ADVISORY  READ  -1 fd:1a:123456 0 0"),
        ("lease", b"4: LEASE  ACTIVE    READ  77 00:2c:55 0 EOF"),
    ]));
    all.push(("proc_locks_line", locks));

    let records: Vec<(String, Vec<u8>)> = [
        ("Disc Robot 2: bay 1", 4242, "discrec", HoldMode::Handoff),
        ("discrecorder", 1, "", HoldMode::Exclusive),
        ("x", i32::MAX, "burn=it \\x1b", HoldMode::Weak),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (client, pid, program, mode))| {
        let r = OwnerRecord {
            client: ClientName::new(client).expect("valid"),
            pid,
            start: 4_000_000 + i as u64,
            job: (i == 0).then_some(ProcessId {
                pid: 4243,
                start: 4_000_100,
            }),
            program: program.to_owned(),
            since_unix_ms: 1_780_000_000_123 * i as u64,
            mode,
            task: None,
        };
        (format!("encoded-{i}"), r.encode().into_bytes())
    })
    .collect();
    all.push(("owner_record", records));

    let fresh = DriveState::new_recorder();
    let mut tray_open = fresh.clone();
    tray_open.tray_open = true;
    tray_open.prevent_removal = true;
    tray_open.pending_media_event = Some(1);
    let mut changed = fresh.clone();
    changed.insert_medium(0x0041);
    changed.write_protected = true;
    let mut empty = fresh.clone();
    empty.remove_medium();
    let mut odd = fresh.clone();
    odd.vendor = "V\u{e9}ndor with a long name".into();
    odd.serial = "  \u{1b}[2J  ".into();
    odd.profiles = (0..70).collect();
    odd.medium = Some(0x9999);
    let mut garbage = fresh.clone();
    garbage.fault = Fault::Garbage;
    let mut hang = fresh.clone();
    hang.fault = Fault::Hang;
    let mut seeds = vec![("blank".to_owned(), b"\n\0".to_vec())];
    for (name, state) in [
        ("fresh", &fresh),
        ("tray-open", &tray_open),
        ("medium-changed", &changed),
        ("medium-removed", &empty),
        ("odd-identity", &odd),
        ("garbage", &garbage),
        ("hang", &hang),
    ] {
        seeds.push((name.to_owned(), emu_seed(state)));
    }
    all.push(("emu_state", seeds));
    all.extend(recording_seeds());
    all
}

// ---- seeds of the recording path's parsers ----

/// A data track descriptor (ADR 1, CONTROL 4) of a formatted TOC.
fn data_track(track: u8, start_address: u32) -> TocDescriptor {
    TocDescriptor {
        adr: 1,
        control: 4,
        track,
        start_address,
    }
}

/// A blank track as a drive reports it before writing (NWA valid, nothing recorded).
fn blank_track(number: u16, session: u16, free_blocks: u32) -> TrackInformation {
    TrackInformation {
        track_number: number,
        session_number: session,
        damage: false,
        copy: false,
        track_mode: 4,
        reserved_track: false,
        blank: true,
        packet: false,
        fixed_packet: false,
        data_mode: 1,
        nwa_valid: true,
        lra_valid: false,
        track_start: 0,
        next_writable_address: 0,
        free_blocks,
        fixed_packet_size: 0,
        track_size: free_blocks,
        last_recorded_address: Some(0),
        extension: Some(TrackInfoExtension {
            read_compatibility_lba: 0,
            next_layer_jump_address: 0,
            last_layer_jump_address: 0,
        }),
    }
}

/// Fixed-format sense data (SPC-4 4.5.3) with the sense-key-specific bytes 15-17.
fn fixed_sense(key: u8, asc: u8, ascq: u8, sks: [u8; 3]) -> Vec<u8> {
    let mut s = vec![0x70, 0, key, 0, 0, 0, 0, 10, 0, 0, 0, 0, asc, ascq, 0];
    s.extend_from_slice(&sks);
    s
}

/// Descriptor-format sense data (SPC-4 4.5.2) carrying `descriptors`.
fn descriptor_sense(key: u8, asc: u8, ascq: u8, descriptors: &[u8]) -> Vec<u8> {
    let additional = u8::try_from(descriptors.len()).expect("short descriptors");
    let mut s = vec![0x72, key, asc, ascq, 0, 0, 0, additional];
    s.extend_from_slice(descriptors);
    s
}

fn encoded<T, E: std::fmt::Debug>(r: Result<T, E>) -> T {
    r.expect("seed encodes")
}

/// Seeds of the disc-structure and write-setup targets: the captured QEMU responses, byte
/// patterns other implementations document (tgt's forged TOC, libburn's notes on drive
/// quirks and its logged BD-RE format list, growisofs' and libburn's FORMAT UNIT and page 05h
/// setups), and encoder output.
fn recording_seeds() -> Vec<(&'static str, Seeds)> {
    let mut all = Vec::new();
    let disc_len = |b: &[u8]| {
        b.get(..2)
            .map_or(0, |l| usize::from(u16::from_be_bytes([l[0], l[1]])) + 2)
    };

    // READ DISC INFORMATION.
    let blank_cd = DiscInformation {
        erasable: false,
        last_session_state: SessionState::Empty,
        disc_status: DiscStatus::Blank,
        first_track: 1,
        sessions: 1,
        first_track_in_last_session: 1,
        last_track_in_last_session: 1,
        flags: 0x20,
        disc_type: 0x00,
        disc_identification: 0,
        last_session_lead_in_start: 0x0061_1A00,
        last_possible_lead_out_start: 0x004F_3B47,
        disc_bar_code: [0; 8],
        disc_application_code: 0,
        opc_tables: vec![],
    };
    let appendable_dvd = DiscInformation {
        erasable: false,
        last_session_state: SessionState::Incomplete,
        disc_status: DiscStatus::Incomplete,
        sessions: 0x0102,
        first_track_in_last_session: 0x0103,
        last_track_in_last_session: 0x0104,
        flags: 0x80,
        disc_identification: 0x1234_5678,
        last_session_lead_in_start: 0x0003_0000,
        last_possible_lead_out_start: 0x0023_0540,
        opc_tables: vec![
            [0, 0x2B, 0x5C, 0, 0, 0, 0, 0],
            [0, 0x56, 0xB8, 1, 2, 3, 4, 5],
        ],
        ..blank_cd.clone()
    };
    let formatted_plus_rw = DiscInformation {
        erasable: true,
        last_session_state: SessionState::Complete,
        disc_status: DiscStatus::Other,
        flags: 0x03,
        ..blank_cd.clone()
    };
    let with_opc = encoded(appendable_dvd.encode());
    all.push((
        "disc_information",
        vec![
            (
                "qemu-cd-rom".to_owned(),
                fixture("read_disc_information.bin", disc_len),
            ),
            ("encoded-blank-cd-r".to_owned(), encoded(blank_cd.encode())),
            (
                "encoded-dvd+rw-formatted".to_owned(),
                encoded(formatted_plus_rw.encode()),
            ),
            ("encoded-appendable-opc".to_owned(), with_opc.clone()),
            ("cut-in-opc-table".to_owned(), with_opc[..40].to_vec()),
            ("cut-at-34".to_owned(), with_opc[..34].to_vec()),
        ],
    ));

    // READ TRACK INFORMATION.
    let blank = blank_track(1, 1, 359_847);
    let packet = TrackInformation {
        track_number: 0x0102,
        session_number: 0x0003,
        blank: false,
        packet: true,
        fixed_packet: true,
        lra_valid: true,
        track_start: 0x0001_0000,
        next_writable_address: 0x0001_2000,
        fixed_packet_size: 16,
        last_recorded_address: Some(0x0001_1FFF),
        ..blank
    };
    // libburn (mmc.c, mmc_get_nwa) notes that some drives report an NWA of -150 on blank media.
    let minus_150 = TrackInformation {
        next_writable_address: (-150i32) as u32,
        ..blank
    };
    let damaged = TrackInformation {
        damage: true,
        nwa_valid: false,
        ..blank
    };
    let mmc1 = TrackInformation {
        last_recorded_address: None,
        extension: None,
        ..blank
    };
    let mmc2 = TrackInformation {
        extension: None,
        ..blank
    };
    all.push((
        "track_information",
        vec![
            ("encoded-blank-48".to_owned(), encoded(blank.encode())),
            ("encoded-packet".to_owned(), encoded(packet.encode())),
            (
                "encoded-nwa-minus-150".to_owned(),
                encoded(minus_150.encode()),
            ),
            ("encoded-damaged".to_owned(), encoded(damaged.encode())),
            ("encoded-mmc1-28".to_owned(), encoded(mmc1.encode())),
            ("encoded-mmc2-36".to_owned(), encoded(mmc2.encode())),
            (
                "cut-at-40".to_owned(),
                encoded(packet.encode())[..40].to_vec(),
            ),
        ],
    ));

    // READ CAPACITY.
    let capacity = |last_lba, block_length| {
        Capacity {
            last_lba,
            block_length,
        }
        .encode()
    };
    all.push((
        "capacity",
        vec![
            (
                "qemu-cd-rom".to_owned(),
                fixture("read_capacity.bin", whole),
            ),
            ("encoded-dvd".to_owned(), capacity(2_295_103, 2048)),
            ("encoded-over-2tb".to_owned(), capacity(u32::MAX, 2048)),
            ("short".to_owned(), vec![0, 0, 0x0B, 0x7F, 0, 0]),
        ],
    ));

    // READ TOC/PMA/ATIP format 0000b. tgt (usr/mmc.c) forges a single-session data CD: one
    // track and the lead-out with MSF, only the track without.
    let toc_len = disc_len;
    let tgt_msf = vec![
        0, 0x12, 1, 1, 0, 0x14, 1, 0, 0, 0, 0, 0, 0, 0x14, 0xAA, 0, 0, 0, 0, 0,
    ];
    let tgt_lba = vec![0, 0x0A, 1, 1, 0, 0x14, 1, 0, 0, 0, 0, 0];
    let three = Toc {
        first_track: 1,
        last_track: 3,
        descriptors: vec![
            data_track(1, 0),
            data_track(2, 0x0000_2E4A),
            data_track(3, 0x0001_0000),
            data_track(LEAD_OUT_TRACK, 0x0002_0000),
        ],
    };
    let three_bytes = encoded(three.encode());
    all.push((
        "toc",
        vec![
            (
                "qemu-cd-rom".to_owned(),
                fixture("read_toc_f0.bin", toc_len),
            ),
            ("tgt-msf".to_owned(), tgt_msf),
            ("tgt-lba".to_owned(), tgt_lba),
            ("encoded-three-tracks".to_owned(), three_bytes.clone()),
            ("cut-in-descriptor".to_owned(), three_bytes[..23].to_vec()),
        ],
    ));

    // READ TOC/PMA/ATIP format 0001b.
    let single = SessionInfo {
        first_session: 1,
        last_session: 1,
        first_track_in_last_session: data_track(1, 0),
    };
    let multi = SessionInfo {
        first_session: 1,
        last_session: 3,
        first_track_in_last_session: data_track(5, 0x0003_1A2B),
    };
    let msf = SessionInfo {
        first_track_in_last_session: data_track(2, 0x0012_3A40),
        ..multi
    };
    all.push((
        "session_info",
        vec![
            ("encoded-single".to_owned(), encoded(single.encode())),
            ("encoded-multi".to_owned(), encoded(multi.encode())),
            ("encoded-msf".to_owned(), encoded(msf.encode())),
            ("header-only".to_owned(), vec![0, 2, 1, 1]),
        ],
    ));

    // READ TOC/PMA/ATIP format 0010b, as the emulated CD-R answers libburn after a TAO
    // session with the next one allowed (A0, A1, A2, track 1, B0), and a second closed
    // session; and a cut one.
    let entry = |session, adr, point, msf: [u8; 3], zero, pmsf: [u8; 3]| FullTocDescriptor {
        session,
        adr,
        control: 4,
        tno: 0,
        point,
        msf,
        zero,
        pmsf,
    };
    let one_session = FullToc {
        first_session: 1,
        last_session: 1,
        descriptors: vec![
            entry(1, 1, 0xA0, [0; 3], 0, [1, 0, 0]),
            entry(1, 1, 0xA1, [0; 3], 0, [1, 0, 0]),
            entry(1, 1, 0xA2, [0; 3], 0, [0, 2, 20]),
            entry(1, 1, 1, [0; 3], 0, [0, 2, 0]),
            entry(1, 5, 0xB0, [2, 32, 20], 1, [79, 59, 72]),
        ],
    };
    let mut two_sessions = one_session.clone();
    two_sessions.last_session = 2;
    two_sessions.descriptors.extend([
        entry(2, 1, 0xA0, [0; 3], 0, [2, 0, 0]),
        entry(2, 1, 0xA1, [0; 3], 0, [2, 0, 0]),
        entry(2, 1, 0xA2, [0; 3], 0, [2, 34, 30]),
        entry(2, 1, 2, [0; 3], 0, [2, 34, 20]),
    ]);
    let two_bytes = encoded(two_sessions.encode());
    all.push((
        "full_toc",
        vec![
            (
                "encoded-one-session".to_owned(),
                encoded(one_session.encode()),
            ),
            ("encoded-two-sessions".to_owned(), two_bytes.clone()),
            ("cut-in-entry".to_owned(), two_bytes[..30].to_vec()),
            ("header-only".to_owned(), vec![0, 2, 1, 1]),
        ],
    ));

    // SEND CUE SHEET: libburn's sheet for one Mode 1 data track of 1,208 blocks (lead-in
    // 14h, pregap and track 10h, lead-out at 00:18:08 + 2 s), and older libburn's 01h forms.
    let libburn = vec![
        0x41, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, //
        0x41, 0x01, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, //
        0x41, 0x01, 0x01, 0x10, 0x00, 0x00, 0x02, 0x00, //
        0x41, 0xAA, 0x01, 0x14, 0x00, 0x00, 0x18, 0x08, //
    ];
    let mut older = libburn.clone();
    older[3] = 0x01;
    older[27] = 0x01;
    all.push((
        "cue_sheet",
        vec![
            ("libburn-one-track".to_owned(), libburn.clone()),
            ("libburn-older-forms".to_owned(), older),
            ("cut-in-entry".to_owned(), libburn[..13].to_vec()),
        ],
    ));

    // READ FORMAT CAPACITIES. The BD-RE list is the one libburn (mmc.c) logged from
    // dvd+rw-mediainfo for a real disc.
    let formattable = |blocks, format_type, type_dependent| FormattableCapacity {
        blocks,
        format_type,
        type_dependent,
    };
    let bd_re = FormatCapacities {
        current: CurrentCapacity {
            blocks: 11_826_176,
            descriptor_type: CapacityDescriptorType::Formatted,
            block_length: 2048,
        },
        formattable: vec![
            formattable(11_826_176, 0x00, 0x3000),
            formattable(11_826_176, 0x30, 0x3000),
            formattable(11_564_032, 0x30, 0x5000),
            formattable(12_088_320, 0x30, 0x1000),
            formattable(12_219_392, 0x31, 0x800),
        ],
    };
    let blank_plus_rw = FormatCapacities {
        current: CurrentCapacity {
            blocks: 2_295_104,
            descriptor_type: CapacityDescriptorType::Unformatted,
            block_length: 2048,
        },
        formattable: vec![formattable(2_295_104, 0x26, 0)],
    };
    let minus_rw = FormatCapacities {
        current: CurrentCapacity {
            blocks: 2_297_888,
            descriptor_type: CapacityDescriptorType::Formatted,
            block_length: 2048,
        },
        formattable: vec![
            formattable(2_297_888, 0x00, 16),
            formattable(2_297_888, 0x10, 16),
            formattable(0, 0x15, 16),
        ],
    };
    let bd_re_bytes = encoded(bd_re.encode());
    all.push((
        "format_capacities",
        vec![
            ("libburn-bd-re".to_owned(), bd_re_bytes.clone()),
            (
                "encoded-blank-dvd+rw".to_owned(),
                encoded(blank_plus_rw.encode()),
            ),
            ("encoded-dvd-rw".to_owned(), encoded(minus_rw.encode())),
            ("cut-in-descriptor".to_owned(), bd_re_bytes[..30].to_vec()),
            (
                "no-media".to_owned(),
                vec![0, 0, 0, 8, 0xFF, 0xFF, 0xFF, 0xFF, 3, 0, 8, 0],
            ),
        ],
    ));

    // FORMAT UNIT parameter lists as growisofs (dvd+rw-format.cpp) and libburn (mmc.c,
    // mmc_format_unit) send them.
    all.push((
        "format_parameters",
        named(&[
            (
                "dvd+rw-immed",
                &[0, 0x02, 0, 8, 0xFF, 0xFF, 0xFF, 0xFF, 0x26 << 2, 0, 0, 0],
            ),
            (
                "dvd+rw-restart",
                &[0, 0x02, 0, 8, 0, 0, 0, 0, 0x26 << 2, 0, 0, 1],
            ),
            (
                "dvd-ram-fov-dcrt-immed",
                &[0, 0xA2, 0, 8, 0, 0x22, 0x7D, 0x00, 0, 0, 0x08, 0],
            ),
            (
                "bd-re-full-certification",
                &[0, 0x82, 0, 8, 0, 0xB4, 0x74, 0, (0x30 << 2) | 2, 0, 0x30, 0],
            ),
            (
                "dvd-rw-quick-grow",
                &[0, 0x02, 0, 8, 0, 0, 0x10, 0, 0x13 << 2, 0, 0, 16],
            ),
            ("bad-descriptor-length", &[0, 0x02, 0, 16, 0, 0, 0, 0]),
        ]),
    ));

    // The Write Parameters page: libburn's (mmc.c, mmc_compose_mode_page_5) setups for CD TAO,
    // DVD-R incremental, DVD-R DAO and DVD-RW restricted overwrite, one with MCN and ISRC, and
    // an older drive's 36h-long page.
    let cd_tao = WriteParameters::default();
    let dvd_r_incremental = WriteParameters {
        link_size_valid: true,
        write_type: WriteType::Packet,
        multi_session: MultiSession::NextSessionAllowed,
        fixed_packet: true,
        track_mode: 5,
        link_size: 16,
        packet_size: 16,
        audio_pause_length: 0,
        ..cd_tao
    };
    let dvd_r_dao = WriteParameters {
        write_type: WriteType::SessionAtOnce,
        track_mode: 5,
        audio_pause_length: 0,
        ..cd_tao
    };
    let restricted_overwrite = WriteParameters {
        write_type: WriteType::Packet,
        fixed_packet: true,
        track_mode: 5,
        audio_pause_length: 0,
        ..cd_tao
    };
    let mut mcn = [0u8; 16];
    mcn[0] = 0x80;
    mcn[1..14].copy_from_slice(b"0123456789012");
    let mut isrc = [0u8; 16];
    isrc[0] = 0x80;
    isrc[1..13].copy_from_slice(b"USABC2600001");
    let audio_sao = WriteParameters {
        write_type: WriteType::SessionAtOnce,
        track_mode: 0,
        data_block_type: 0,
        test_write: true,
        copy: true,
        media_catalog_number: mcn,
        isrc,
        ..cd_tao
    };
    let pages: Vec<(&str, WriteParameters)> = vec![
        ("cd-tao", cd_tao),
        ("dvd-r-incremental", dvd_r_incremental),
        ("dvd-r-dao", dvd_r_dao),
        ("dvd-rw-restricted-overwrite", restricted_overwrite),
        ("cd-sao-audio-mcn-isrc", audio_sao),
    ];
    let mut long_page = encoded(cd_tao.encode());
    long_page[1] = 0x36;
    long_page.extend_from_slice(&[0xAA, 0xBB, 0xCC, 0xDD]);
    let mut page_seeds: Seeds = pages
        .iter()
        .map(|(n, w)| (format!("encoded-{n}"), encoded(w.encode())))
        .collect();
    page_seeds.push(("length-36h".to_owned(), long_page.clone()));
    page_seeds.push(("length-30h".to_owned(), {
        let mut p = encoded(cd_tao.encode());
        p[1] = 0x30;
        p
    }));
    all.push(("write_parameters", page_seeds));

    let mut list_seeds: Seeds = pages
        .iter()
        .map(|(n, w)| {
            (
                format!("mode-select-{n}"),
                encoded(w.encode_mode_select10()),
            )
        })
        .collect();
    let mut sensed = vec![0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 8, 0];
    sensed.extend_from_slice(&long_page);
    let sensed_len = u16::try_from(sensed.len() - 2)
        .expect("short")
        .to_be_bytes();
    sensed[..2].copy_from_slice(&sensed_len);
    list_seeds.push(("mode-sense-block-descriptor-36h".to_owned(), sensed));
    list_seeds.push((
        "emulator-page-05".to_owned(),
        emulator_answer(&mode_sense10(PageControl::Current, 0x05, 0, 0xFFFF, true).cdb),
    ));
    list_seeds.push((
        "qemu-all-pages".to_owned(),
        fixture("mode_sense10_3f.bin", |b: &[u8]| {
            b.get(..2)
                .map_or(0, |l| usize::from(u16::from_be_bytes([l[0], l[1]])) + 2)
        }),
    ));
    all.push(("write_parameters_mode", list_seeds));

    // GET PERFORMANCE type 03h.
    let speed = |end_lba, kbps, exact| WriteSpeedDescriptor {
        rotation_control: 0,
        restore_defaults: false,
        exact,
        mrw: false,
        end_lba,
        read_speed: 22_160,
        write_speed: kbps,
    };
    let dvd = WriteSpeeds {
        descriptors: vec![
            speed(2_295_103, 22_160, true),
            speed(2_295_103, 11_080, true),
            speed(2_295_103, 5_540, false),
        ],
        complete: true,
    };
    let cd = WriteSpeeds {
        descriptors: vec![WriteSpeedDescriptor {
            rotation_control: 1,
            mrw: true,
            ..speed(359_846, 7_056, false)
        }],
        complete: true,
    };
    let dvd_bytes = encoded(dvd.encode());
    let mut cut = dvd_bytes[..8 + 16 + 5].to_vec();
    cut[..4].copy_from_slice(&(4 + 3 * 16u32).to_be_bytes());
    all.push((
        "write_speeds",
        vec![
            ("encoded-dvd".to_owned(), dvd_bytes),
            ("encoded-cd-cav-mrw".to_owned(), encoded(cd.encode())),
            ("empty".to_owned(), vec![0, 0, 0, 4, 0, 0, 0, 0]),
            ("cut-in-second".to_owned(), cut),
        ],
    ));

    // SET STREAMING. libburn (mmc.c, mmc_set_streaming) sends start 0, its default end LBA,
    // and speeds as kB per 1000 ms.
    let libburn_default = PerformanceDescriptor {
        rotation_control: 0,
        restore_defaults: false,
        exact: false,
        random_access: false,
        start_lba: 0,
        end_lba: 2_294_920,
        read_size: 0x1000_0000,
        read_time: 1000,
        write_size: 0x1000_0000,
        write_time: 1000,
    };
    let one_x_cd = PerformanceDescriptor {
        write_size: 177,
        read_size: 177,
        ..libburn_default
    };
    let restore = PerformanceDescriptor {
        rotation_control: 1,
        restore_defaults: true,
        exact: true,
        random_access: true,
        ..libburn_default
    };
    all.push((
        "performance_descriptor",
        vec![
            (
                "libburn-default".to_owned(),
                encoded(libburn_default.encode()).to_vec(),
            ),
            (
                "encoded-1x-cd".to_owned(),
                encoded(one_x_cd.encode()).to_vec(),
            ),
            (
                "encoded-flags".to_owned(),
                encoded(restore.encode()).to_vec(),
            ),
            ("short".to_owned(), vec![0x18, 0, 0, 0, 0, 0, 0, 0]),
        ],
    ));

    // READ BUFFER CAPACITY.
    let buffer = |length, blank_length| BufferCapacity {
        length,
        blank_length,
    };
    all.push((
        "buffer_capacity",
        vec![
            (
                "encoded-half-full".to_owned(),
                encoded(buffer(2 << 20, 1 << 20).encode()).to_vec(),
            ),
            (
                "encoded-empty".to_owned(),
                encoded(buffer(4096, 4096).encode()).to_vec(),
            ),
            (
                "encoded-full".to_owned(),
                encoded(buffer(4096, 0).encode()).to_vec(),
            ),
            (
                "blank-larger".to_owned(),
                vec![0, 10, 0, 0, 0, 0, 0x10, 0, 0, 0, 0x20, 0],
            ),
        ],
    ));

    // Sense data with and without a progress indication (SPC-4 4.5.2.4.4): growisofs
    // (dvd+rw-format.cpp) polls it during FORMAT UNIT with Immed.
    let sks_descriptor = [0x02, 0x06, 0, 0, 0x80, 0x40, 0x00, 0];
    let mut info_then_sks = vec![0x00, 0x0A, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 7];
    info_then_sks.extend_from_slice(&sks_descriptor);
    let mut short_sks = vec![0x02, 0x03, 0, 0, 0x80];
    short_sks.extend_from_slice(&[0x00, 0x04, 0x80, 0, 0, 0x11, 0x22, 0x33]);
    all.push((
        "sense_progress",
        vec![
            (
                "fixed-format-in-progress".to_owned(),
                fixed_sense(0x2, 0x04, 0x04, [0x80, 0x80, 0x00]),
            ),
            (
                "fixed-no-sense-progress".to_owned(),
                fixed_sense(0x0, 0x00, 0x16, [0x80, 0x12, 0x34]),
            ),
            (
                "fixed-field-pointer".to_owned(),
                fixed_sense(0x5, 0x24, 0x00, [0xC0, 0x00, 0x02]),
            ),
            (
                "fixed-sksv-clear".to_owned(),
                fixed_sense(0x2, 0x04, 0x07, [0x00, 0xFF, 0xFF]),
            ),
            (
                "descriptor-sks".to_owned(),
                descriptor_sense(0x2, 0x04, 0x04, &sks_descriptor),
            ),
            (
                "descriptor-info-then-sks".to_owned(),
                descriptor_sense(0x0, 0x00, 0x16, &info_then_sks),
            ),
            (
                "descriptor-sks-too-short".to_owned(),
                descriptor_sense(0x2, 0x04, 0x04, &short_sks),
            ),
            (
                "qemu-tur-no-medium".to_owned(),
                fixture("tur_no_medium.bin.sense", whole),
            ),
        ],
    ));
    all
}
