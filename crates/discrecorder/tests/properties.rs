//! Property tests of the library's parsers and validators of untrusted input: the same checks
//! as the fuzz targets (`discrecorder::fuzzing`), fed by proptest instead of libFuzzer, on the
//! stable toolchain. Besides arbitrary bytes, structured generators build what the real
//! producers write (valid owner records with random fields, kernel-escaped mountinfo lines,
//! `/proc/locks` lines in the kernel's layout, emulated drive states with command scripts), so
//! the checks reach past the first validation; for those, the parse must also succeed and give
//! back the generated fields.

use discrecorder::fuzzing;
use discrecorder::mmc::configuration::{get_configuration, FeatureCode, RequestType};
use discrecorder::mmc::emulator::{DriveState, Fault};
use discrecorder::mmc::event::get_event_status_notification;
use discrecorder::mmc::inquiry::{inquiry, inquiry_vpd};
use discrecorder::mmc::mode::{mode_sense10, PageControl};
use discrecorder::mmc::sense::request_sense;
use discrecorder::mmc::unit::{
    prevent_allow_medium_removal, start_stop_unit, test_unit_ready, MediumRemoval, StartStop,
};
use discrecorder::testing::{parse_emu_state, parse_mountinfo_line, parse_proc_locks_line};
use discrecorder::testing::{OwnerRecord, ProcessId};
use discrecorder::{ClientName, HoldMode};
use proptest::prelude::*;

/// The caller-name alphabet (the Windows driver's rule), as a regex class.
const NAME_CLASS: &str = "[0-9A-Za-z .,:;_-]";

fn valid_client_name() -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("{NAME_CLASS}{{1,63}}")).expect("regex")
}

/// Text with what makes escaping interesting: controls (C0, DEL, C1), backslashes, non-ASCII.
fn hostile_text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => proptest::char::range('a', 'z'),
            1 => Just('\\'),
            1 => Just('\u{1b}'),
            1 => Just('\u{9b}'),
            1 => Just('\u{7f}'),
            1 => Just('\n'),
            1 => any::<char>(),
        ],
        0..max,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

// ---- client names ----

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn client_name_agrees_with_the_spec_on_arbitrary_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..80),
    ) {
        fuzzing::client_name(&bytes);
    }

    #[test]
    fn every_name_of_the_spec_alphabet_and_length_is_valid(name in valid_client_name()) {
        fuzzing::client_name(name.as_bytes());
        prop_assert_eq!(ClientName::new(&name).map(|n| n.as_str().to_owned()).ok(), Some(name));
    }

    #[test]
    fn one_byte_changed_or_added_decides_validity_as_the_spec_says(
        name in valid_client_name(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        extra in proptest::string::string_regex(&format!("{NAME_CLASS}{{0,3}}")).expect("regex"),
    ) {
        let mut bytes = name.into_bytes();
        let i = at.index(bytes.len());
        bytes[i] = byte;
        fuzzing::client_name(&bytes);
        bytes.extend_from_slice(extra.as_bytes());
        fuzzing::client_name(&bytes);
    }

    #[test]
    fn emulated_device_names_agree_with_their_rule(
        name in prop_oneof![
            proptest::string::string_regex("[A-Za-z0-9_-]{0,34}").expect("regex"),
            hostile_text(40),
        ],
    ) {
        fuzzing::emu_name(name.as_bytes());
    }

    #[test]
    fn sanitize_escapes_controls_only_and_is_idempotent(text in hostile_text(64)) {
        fuzzing::sanitize(text.as_bytes());
    }

    #[test]
    fn sanitize_handles_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        fuzzing::sanitize(&bytes);
    }
}

// ---- /proc/self/mountinfo ----

/// The kernel's escaping of a path field (`proc_pid_mountinfo(5)`).
fn kernel_escape(path: &str) -> String {
    let mut out = String::new();
    for c in path.chars() {
        match c {
            ' ' => out.push_str("\\040"),
            '\t' => out.push_str("\\011"),
            '\n' => out.push_str("\\012"),
            '\\' => out.push_str("\\134"),
            c => out.push(c),
        }
    }
    out
}

/// A path as a user may name one: any characters but NUL, spaces and backslashes included.
fn path() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => proptest::char::range('a', 'z'),
            1 => Just(' '),
            1 => Just('\t'),
            1 => Just('\n'),
            1 => Just('\\'),
            1 => Just('-'),
            1 => Just('7'),
            1 => any::<char>().prop_filter("no NUL", |c| *c != '\0'),
        ],
        0..24,
    )
    .prop_map(|chars| format!("/{}", chars.into_iter().collect::<String>()))
}

/// A token the kernel prints without escaping (file system type, options).
fn word() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a-z0-9_.,=:-]{1,12}").expect("regex")
}

fn optional_fields() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        prop_oneof![
            (1u32..999).prop_map(|n| format!("shared:{n}")),
            (1u32..999).prop_map(|n| format!("master:{n}")),
            (1u32..999).prop_map(|n| format!("propagate_from:{n}")),
            Just("unbindable".to_owned()),
        ],
        0..4,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn mountinfo_lines_as_the_kernel_writes_them_parse_back(
        ids in any::<(u32, u32)>(),
        (major, minor) in any::<(u32, u32)>(),
        root in path(),
        mount_point in path(),
        options in word(),
        optional in optional_fields(),
        fs_type in word(),
        source in prop_oneof![path(), word()],
        super_options in word(),
        plus in prop::sample::select(vec![None, None, None, Some(0usize), Some(1)]),
    ) {
        // A `+` the kernel never writes before a device number makes the line invalid.
        let sign = |i: usize| if plus == Some(i) { "+" } else { "" };
        let mut fields = vec![
            ids.0.to_string(),
            ids.1.to_string(),
            format!("{}{major}:{}{minor}", sign(0), sign(1)),
            kernel_escape(&root),
            kernel_escape(&mount_point),
            options,
        ];
        fields.extend(optional);
        fields.extend(["-".to_owned(), fs_type.clone(), kernel_escape(&source), super_options]);
        let line = fields.join(" ");
        fuzzing::mountinfo_line(line.as_bytes());
        if plus.is_some() {
            prop_assert!(parse_mountinfo_line(&line).is_none(), "{:?}", line);
            return Ok(());
        }
        let e = parse_mountinfo_line(&line).expect("a kernel-written line parses");
        prop_assert_eq!((e.major, e.minor), (major, minor));
        prop_assert_eq!(e.mount_point.to_str(), Some(mount_point.as_str()));
        prop_assert_eq!(e.fs_type, fs_type);
        prop_assert_eq!(e.source.to_str(), Some(source.as_str()));
        for end in (0..=line.len()).filter(|&n| line.is_char_boundary(n)) {
            fuzzing::mountinfo_line(&line.as_bytes()[..end]);
        }
    }

    #[test]
    fn mountinfo_parser_holds_its_properties_on_arbitrary_text(
        text in prop_oneof![
            any::<String>(),
            prop::collection::vec(
                prop_oneof![word(), Just("-".to_owned()), Just("\\040".to_owned()), path()],
                0..12,
            )
            .prop_map(|w| w.join(" ")),
        ],
    ) {
        fuzzing::mountinfo_line(text.as_bytes());
    }
}

// ---- /proc/locks ----

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn proc_locks_lines_as_the_kernel_writes_them_parse_back(
        ordinal in 1u32..10_000,
        kind in prop::sample::select(vec!["POSIX", "FLOCK", "OFDLCK", "LEASE", "DELEG"]),
        waiter in any::<bool>(),
        mandatory in prop::sample::select(vec!["ADVISORY", "MANDATORY", "ACTIVE", "BREAKING"]),
        write in any::<bool>(),
        pid in prop_oneof![Just(-1i32), 0i32..=i32::MAX],
        (major, minor) in any::<(u32, u32)>(),
        ino in any::<u64>(),
        gap in prop::sample::select(vec![" ", "  ", "\t"]),
        plus in prop::sample::select(vec![None, None, None, Some(0usize), Some(1), Some(2), Some(3)]),
    ) {
        // A `+` the kernel never writes before the PID, a device number or the inode makes the
        // line invalid.
        let sign = |i: usize| if plus == Some(i) { "+" } else { "" };
        let access = if write { "WRITE" } else { "READ" };
        let arrow = if waiter { "-> " } else { "" };
        let line = format!(
            "{ordinal}: {arrow}{kind}{gap}{mandatory}{gap}{access}{gap}{}{pid} {}{major:02x}:{}{minor:02x}:{}{ino} 0 EOF",
            sign(0), sign(1), sign(2), sign(3)
        );
        fuzzing::proc_locks_line(line.as_bytes());
        let parsed = parse_proc_locks_line(&line);
        if waiter || plus.is_some() {
            prop_assert!(parsed.is_none());
        } else {
            let e = parsed.expect("a kernel-written line parses");
            prop_assert_eq!((e.write, e.pid, e.file.ino), (write, pid, ino));
            prop_assert_eq!(e.file.dev, rustix::fs::makedev(major, minor));
        }
        for end in 0..=line.len() {
            fuzzing::proc_locks_line(&line.as_bytes()[..end]);
        }
    }

    #[test]
    fn proc_locks_parser_holds_its_properties_on_arbitrary_text(
        text in prop_oneof![
            any::<String>(),
            prop::collection::vec(
                prop_oneof![
                    prop::sample::select(vec!["1:", "->", "FLOCK", "POSIX", "WRITE", "READ", "ADVISORY"])
                        .prop_map(str::to_owned),
                    any::<i64>().prop_map(|n| n.to_string()),
                    any::<(u32, u32, u64)>().prop_map(|(a, b, c)| format!("{a:x}:{b:x}:{c}")),
                    "[+-]?[0-9a-fA-F:]{0,8}",
                ],
                0..10,
            )
            .prop_map(|w| w.join(" ")),
        ],
    ) {
        fuzzing::proc_locks_line(text.as_bytes());
    }
}

// ---- owner records ----

fn hold_mode() -> impl Strategy<Value = HoldMode> {
    prop::sample::select(vec![HoldMode::Exclusive, HoldMode::Weak, HoldMode::Handoff])
}

/// A program name a record may carry: sanitised as its writer stores it (no control or
/// invisible format character), at most 64 bytes.
fn program() -> impl Strategy<Value = String> {
    hostile_text(40).prop_map(|text| {
        let mut program: String = discrecorder::sanitize(&text);
        while program.len() > 64 {
            program.pop();
        }
        program
    })
}

fn owner_record() -> impl Strategy<Value = OwnerRecord> {
    (
        valid_client_name(),
        1..=i32::MAX,
        program(),
        any::<u64>(),
        hold_mode(),
    )
        .prop_map(|(client, pid, program, since_unix_ms, mode)| OwnerRecord {
            client: ClientName::new(&client).expect("generated from the alphabet"),
            pid,
            start: since_unix_ms / 7,
            job: (since_unix_ms % 3 == 0).then_some(ProcessId {
                pid: pid.saturating_sub(1).max(1),
                start: since_unix_ms / 5,
            }),
            program,
            since_unix_ms,
            mode,
            task: None,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn every_valid_record_round_trips_through_its_text(r in owner_record()) {
        let text = r.encode();
        fuzzing::owner_record(text.as_bytes());
        prop_assert_eq!(OwnerRecord::decode(text.as_bytes()), Some(r));
    }

    #[test]
    fn damaged_records_decode_to_valid_values_or_nothing(
        r in owner_record(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<prop::sample::Index>(),
        crlf in any::<bool>(),
        extra_line in prop::sample::select(vec!["", "pid=7\n", "mode=weak\n", "client=\n", "x\n"]),
    ) {
        let mut text = r.encode();
        if crlf {
            text = text.replace('\n', "\r\n");
        }
        text.push_str(extra_line);
        let mut bytes = text.into_bytes();
        fuzzing::owner_record(&bytes);
        let i = at.index(bytes.len());
        bytes[i] = byte;
        fuzzing::owner_record(&bytes);
        bytes.truncate(cut.index(bytes.len() + 1));
        fuzzing::owner_record(&bytes);
    }

    #[test]
    fn owner_record_decoder_holds_its_properties_on_arbitrary_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut with_magic = b"discrecorder-owner v2\n".to_vec();
        with_magic.extend_from_slice(&bytes);
        fuzzing::owner_record(&bytes);
        fuzzing::owner_record(&with_magic);
    }
}

// ---- the emulated drive's state file ----

fn profile() -> impl Strategy<Value = u16> {
    prop_oneof![
        prop::sample::select(vec![
            0x0000u16, 0x0008, 0x0009, 0x000A, 0x0010, 0x0011, 0x0012, 0x0013, 0x0014, 0x0015,
            0x0016, 0x001A, 0x001B, 0x002A, 0x002B, 0x0040, 0x0041, 0x0042, 0x0043, 0xFFFF,
        ]),
        any::<u16>(),
    ]
}

fn drive_state() -> impl Strategy<Value = DriveState> {
    (
        (
            hostile_text(20),
            hostile_text(24),
            hostile_text(8),
            hostile_text(80),
        ),
        prop::collection::vec(profile(), 0..70),
        prop::option::of(profile()),
        any::<[bool; 4]>(),
        prop::option::of(any::<u8>()),
        prop::sample::select(vec![
            Fault::None,
            Fault::None,
            Fault::Garbage,
            Fault::Hang,
            Fault::Vanish,
        ]),
    )
        .prop_map(
            |((vendor, product, revision, serial), profiles, medium, flags, event, fault)| {
                DriveState {
                    vendor,
                    product,
                    revision,
                    serial,
                    profiles,
                    medium,
                    tray_open: flags[0],
                    prevent_removal: flags[1],
                    write_protected: flags[2],
                    pending_media_event: event,
                    unit_attention: flags[3],
                    fault,
                    ..DriveState::new_recorder()
                }
            },
        )
}

/// A CDB the drive knows, with random fields, or random bytes.
fn cdb() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (any::<u8>(), any::<u16>()).prop_map(|(page, alloc)| inquiry_vpd(page, alloc).cdb.to_vec()),
        any::<u16>().prop_map(|alloc| inquiry(alloc).cdb.to_vec()),
        Just(test_unit_ready().cdb.to_vec()),
        any::<(u8, bool)>().prop_map(|(alloc, desc)| request_sense(alloc, desc).cdb.to_vec()),
        (0u8..3, any::<u16>(), any::<u16>()).prop_map(|(rt, feature, alloc)| {
            let rt = RequestType::from_bits(rt).expect("0..3");
            get_configuration(rt, FeatureCode(feature), alloc)
                .cdb
                .to_vec()
        }),
        (
            0u8..4,
            any::<u8>(),
            any::<u8>(),
            any::<u16>(),
            any::<bool>()
        )
            .prop_map(|(pc, page, sub, alloc, dbd)| {
                mode_sense10(PageControl::from_bits(pc), page, sub, alloc, dbd)
                    .cdb
                    .to_vec()
            }),
        any::<(u8, u16)>()
            .prop_map(|(class, alloc)| get_event_status_notification(class, alloc).cdb.to_vec()),
        (0u8..4, any::<bool>()).prop_map(|(action, immed)| {
            start_stop_unit(
                StartStop::from_bits(action & 2 != 0, action & 1 != 0),
                immed,
            )
            .cdb
            .to_vec()
        }),
        (0u8..4).prop_map(
            |r| prevent_allow_medium_removal(MediumRemoval::from_bits(r))
                .cdb
                .to_vec()
        ),
        prop::collection::vec(any::<u8>(), 0..16),
    ]
}

/// The `emu_state` target's input: state text, NUL, then length-prefixed CDBs.
fn emu_input(json: &[u8], cdbs: &[Vec<u8>]) -> Vec<u8> {
    let mut input = json.to_vec();
    input.push(0);
    for c in cdbs {
        input.push(u8::try_from(c.len()).expect("CDBs are short"));
        input.extend_from_slice(c);
    }
    input
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_drive_state_persists_and_answers_as_documented(
        state in drive_state(),
        pretty in any::<bool>(),
        script in prop::collection::vec(cdb(), 0..24),
    ) {
        let json = if pretty {
            serde_json::to_vec_pretty(&state)
        } else {
            serde_json::to_vec(&state)
        }
        .expect("serialises");
        // A state is accepted exactly when its strings are printable ASCII of at most 64 bytes
        // (what reaches output must be harmless); the rest is E_FAIL, never a panic.
        let printable = [&state.vendor, &state.product, &state.revision, &state.serial]
            .iter()
            .all(|s| s.len() <= 64 && s.bytes().all(|b| (0x20..0x7f).contains(&b)));
        prop_assert_eq!(
            parse_emu_state(&json, "emu:prop").ok(),
            printable.then_some(state)
        );
        fuzzing::emu_state(&emu_input(&json, &script));
    }

    #[test]
    fn damaged_state_files_are_rejected_or_hold_the_properties(
        state in drive_state(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<prop::sample::Index>(),
        script in prop::collection::vec(cdb(), 0..6),
    ) {
        let mut json = serde_json::to_vec(&state).expect("serialises");
        let i = at.index(json.len());
        json[i] = byte;
        fuzzing::emu_state(&emu_input(&json, &script));
        json.truncate(cut.index(json.len() + 1));
        fuzzing::emu_state(&emu_input(&json, &script));
    }

    #[test]
    fn emu_state_target_holds_its_properties_on_arbitrary_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        fuzzing::emu_state(&bytes);
    }
}

#[test]
fn a_blank_state_file_is_a_fresh_drive_named_after_the_device() {
    let state = parse_emu_state(b" \n\t", "emu:bay-1").expect("blank is a new drive");
    assert_eq!(state.serial, "EMU-bay-1");
    assert!(parse_emu_state(b"{", "emu:bay-1").is_err());
    fuzzing::emu_state(b"\n\0\x06\x12\x00\x00\x00\x60\x00");
}

/// A fuzz check and a valid input for it.
type Template = (fn(&[u8]), Vec<u8>);

/// The recording path's checks with a valid response of each kind (encoder output) as the
/// starting point: one byte changed, then cut anywhere, so that most inputs pass the length
/// checks and reach the field checks.
fn recording_templates() -> Vec<Template> {
    use discrecorder::mmc::disc::{
        Capacity, CapacityDescriptorType, CurrentCapacity, DiscInformation, DiscStatus,
        FormatCapacities, FormattableCapacity, SessionInfo, SessionState, Toc, TocDescriptor,
        TrackInfoExtension, TrackInformation,
    };
    use discrecorder::mmc::write::{
        BufferCapacity, FormatParameters, PerformanceDescriptor, WriteParameters,
        WriteSpeedDescriptor, WriteSpeeds,
    };
    let d = TocDescriptor {
        adr: 1,
        control: 4,
        track: 1,
        start_address: 0x1234,
    };
    let track = TrackInformation {
        track_number: 0x0102,
        session_number: 3,
        damage: false,
        copy: true,
        track_mode: 4,
        reserved_track: false,
        blank: true,
        packet: true,
        fixed_packet: true,
        data_mode: 1,
        nwa_valid: true,
        lra_valid: true,
        track_start: 1,
        next_writable_address: 2,
        free_blocks: 3,
        fixed_packet_size: 16,
        track_size: 5,
        last_recorded_address: Some(6),
        extension: Some(TrackInfoExtension {
            read_compatibility_lba: 7,
            next_layer_jump_address: 8,
            last_layer_jump_address: 9,
        }),
    };
    let disc = DiscInformation {
        erasable: true,
        last_session_state: SessionState::Incomplete,
        disc_status: DiscStatus::Incomplete,
        first_track: 1,
        sessions: 0x0102,
        first_track_in_last_session: 0x0203,
        last_track_in_last_session: 0x0304,
        flags: 0xF7,
        disc_type: 0x20,
        disc_identification: 1,
        last_session_lead_in_start: 2,
        last_possible_lead_out_start: 3,
        disc_bar_code: *b"12345678",
        disc_application_code: 4,
        opc_tables: vec![[1; 8], [2; 8]],
    };
    let capacities = FormatCapacities {
        current: CurrentCapacity {
            blocks: 100,
            descriptor_type: CapacityDescriptorType::Formatted,
            block_length: 2048,
        },
        formattable: vec![
            FormattableCapacity {
                blocks: 100,
                format_type: 0x30,
                type_dependent: 0x3000,
            };
            3
        ],
    };
    let speeds = WriteSpeeds {
        descriptors: vec![
            WriteSpeedDescriptor {
                rotation_control: 1,
                restore_defaults: true,
                exact: true,
                mrw: true,
                end_lba: 1,
                read_speed: 2,
                write_speed: 3,
            };
            2
        ],
        complete: true,
    };
    let performance = PerformanceDescriptor {
        rotation_control: 1,
        restore_defaults: true,
        exact: true,
        random_access: true,
        start_lba: 1,
        end_lba: 2,
        read_size: 3,
        read_time: 4,
        write_size: 5,
        write_time: 6,
    };
    let format = FormatParameters {
        immed: true,
        number_of_blocks: 7,
        format_type: 0x26,
        format_subtype: 1,
        type_dependent: 16,
    };
    let page = WriteParameters::default();
    let mut fixed_sense = vec![
        0x70, 0, 2, 0, 0, 0, 0, 10, 0, 0, 0, 0, 4, 4, 0, 0x80, 0x40, 0,
    ];
    fixed_sense.extend_from_slice(&[0; 4]);
    let descriptor_sense = vec![
        0x72, 2, 4, 4, 0, 0, 0, 16, 0, 6, 0x80, 0, 0, 0, 0, 0, 2, 6, 0, 0, 0x80, 0x10, 0, 0,
    ];
    vec![
        (fuzzing::disc_information, disc.encode().expect("encodes")),
        (fuzzing::track_information, track.encode().expect("encodes")),
        (
            fuzzing::capacity,
            Capacity {
                last_lba: 1,
                block_length: 2048,
            }
            .encode(),
        ),
        (
            fuzzing::toc,
            Toc {
                first_track: 1,
                last_track: 2,
                descriptors: vec![d; 3],
            }
            .encode()
            .expect("encodes"),
        ),
        (
            fuzzing::session_info,
            SessionInfo {
                first_session: 1,
                last_session: 2,
                first_track_in_last_session: d,
            }
            .encode()
            .expect("encodes"),
        ),
        (
            fuzzing::format_capacities,
            capacities.encode().expect("encodes"),
        ),
        (
            fuzzing::format_parameters,
            format.encode().expect("encodes").to_vec(),
        ),
        (fuzzing::write_parameters, page.encode().expect("encodes")),
        (
            fuzzing::write_parameters_mode,
            page.encode_mode_select10().expect("encodes"),
        ),
        (fuzzing::write_speeds, speeds.encode().expect("encodes")),
        (
            fuzzing::performance_descriptor,
            performance.encode().expect("encodes").to_vec(),
        ),
        (
            fuzzing::buffer_capacity,
            BufferCapacity {
                length: 10,
                blank_length: 5,
            }
            .encode()
            .expect("encodes")
            .to_vec(),
        ),
        (fuzzing::sense_progress, fixed_sense),
        (fuzzing::sense_progress, descriptor_sense),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn recording_parsers_keep_their_properties_on_damaged_responses(
        which in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let templates = recording_templates();
        let (check, mut bytes) = templates[which.index(templates.len())].clone();
        check(&bytes);
        let i = at.index(bytes.len());
        bytes[i] = byte;
        check(&bytes);
        let end = cut.index(bytes.len() + 1);
        check(&bytes[..end]);
    }

    #[test]
    fn recording_parsers_keep_their_properties_on_arbitrary_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..80),
    ) {
        for (check, _) in recording_templates() {
            check(&bytes);
        }
    }
}
