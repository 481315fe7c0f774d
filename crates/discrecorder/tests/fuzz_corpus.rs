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
use discrecorder::testing::{OwnerRecord, ProcessId};
use discrecorder::{ClientName, HoldMode};

type Check = fn(&[u8]);

/// Every fuzz target, by the name of its file in `fuzz/fuzz_targets/`.
const TARGETS: [(&str, Check); 13] = [
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
    all
}
