//! Property tests for `discrecorder_mmc::write`: no parser (nor the sense
//! progress reader) panics on arbitrary bytes or on any prefix of a valid
//! response, and encode-then-parse gives back every encodable value.

use discrecorder_mmc::write::{
    sense_progress, BufferCapacity, FormatParameters, MultiSession, PerformanceDescriptor,
    WriteParameters, WriteSpeedDescriptor, WriteSpeeds, WriteType,
};
use proptest::prelude::*;

/// Runs every parser of the module on `bytes`; any panic fails the property.
fn parse_everything(bytes: &[u8]) {
    let _ = FormatParameters::parse(bytes);
    let _ = WriteParameters::parse(bytes);
    let _ = WriteParameters::parse_mode_parameters(bytes);
    if let Ok(s) = WriteSpeeds::parse(bytes) {
        let _ = s.speeds();
    }
    let _ = PerformanceDescriptor::parse(bytes);
    let _ = BufferCapacity::parse(bytes);
    let _ = sense_progress(bytes);
}

fn write_type() -> impl Strategy<Value = WriteType> {
    prop_oneof![
        Just(WriteType::Packet),
        Just(WriteType::TrackAtOnce),
        Just(WriteType::SessionAtOnce),
        Just(WriteType::Raw),
        Just(WriteType::LayerJump),
        (5u8..=15).prop_map(WriteType::Other),
    ]
}

fn write_parameters() -> impl Strategy<Value = WriteParameters> {
    (
        (
            any::<[bool; 6]>(),
            write_type(),
            (0u8..4).prop_map(MultiSession::from_bits),
            0u8..16,
            0u8..16,
            any::<u8>(),
            0u8..64,
            any::<u8>(),
        ),
        (
            any::<u32>(),
            any::<u16>(),
            any::<[u8; 16]>(),
            any::<[u8; 16]>(),
            any::<[u8; 4]>(),
        ),
    )
        .prop_map(
            |(
                (flags, write_type, multi_session, track_mode, dbt, link, hac, sf),
                (packet_size, pause, mcn, isrc, subheader),
            )| {
                let [ps, bufe, lsv, test, fp, copy] = flags;
                WriteParameters {
                    parameters_saveable: ps,
                    buffer_underrun_free: bufe,
                    link_size_valid: lsv,
                    test_write: test,
                    write_type,
                    multi_session,
                    fixed_packet: fp,
                    copy,
                    track_mode,
                    data_block_type: dbt,
                    link_size: link,
                    host_application_code: hac,
                    session_format: sf,
                    packet_size,
                    audio_pause_length: pause,
                    media_catalog_number: mcn,
                    isrc,
                    subheader,
                }
            },
        )
}

fn write_speed_descriptor() -> impl Strategy<Value = WriteSpeedDescriptor> {
    (
        0u8..4,
        any::<[bool; 3]>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(|(wrc, [rdd, exact, mrw], end, r, w)| WriteSpeedDescriptor {
            rotation_control: wrc,
            restore_defaults: rdd,
            exact,
            mrw,
            end_lba: end,
            read_speed: r,
            write_speed: w,
        })
}

fn performance_descriptor() -> impl Strategy<Value = PerformanceDescriptor> {
    (0u8..4, any::<[bool; 3]>(), any::<[u32; 6]>()).prop_map(
        |(wrc, [rdd, exact, ra], [s, e, rs, rt, ws, wt])| PerformanceDescriptor {
            rotation_control: wrc,
            restore_defaults: rdd,
            exact,
            random_access: ra,
            start_lba: s,
            end_lba: e,
            read_size: rs,
            read_time: rt,
            write_size: ws,
            write_time: wt,
        },
    )
}

proptest! {
    #[test]
    fn no_parser_panics_on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        parse_everything(&bytes);
    }

    #[test]
    fn no_parser_panics_on_prefixes_of_valid_responses(
        w in write_parameters(),
        speeds in proptest::collection::vec(write_speed_descriptor(), 0..6),
        cut in 0usize..200,
    ) {
        let page = w.encode().expect("encodes");
        parse_everything(page.get(..cut).unwrap_or(&page));
        let list = w.encode_mode_select10().expect("encodes");
        parse_everything(list.get(..cut).unwrap_or(&list));
        let s = WriteSpeeds { descriptors: speeds, complete: true }.encode().expect("encodes");
        parse_everything(s.get(..cut).unwrap_or(&s));
    }

    #[test]
    fn write_parameters_round_trip(w in write_parameters()) {
        let page = w.encode().expect("encodes");
        prop_assert_eq!(WriteParameters::parse(&page), Ok(w));
        let list = w.encode_mode_select10().expect("encodes");
        let back = WriteParameters::parse_mode_parameters(&list).expect("parses");
        prop_assert_eq!(back, WriteParameters { parameters_saveable: false, ..w });
    }

    #[test]
    fn format_parameters_round_trip(
        immed in any::<bool>(),
        number_of_blocks in any::<u32>(),
        format_type in 0u8..64,
        format_subtype in 0u8..4,
        type_dependent in 0u32..0x100_0000,
    ) {
        let p = FormatParameters { immed, number_of_blocks, format_type, format_subtype, type_dependent };
        prop_assert_eq!(FormatParameters::parse(&p.encode().expect("encodes")), Ok(p));
    }

    #[test]
    fn write_speeds_round_trip(d in proptest::collection::vec(write_speed_descriptor(), 0..8)) {
        let s = WriteSpeeds { descriptors: d, complete: true };
        prop_assert_eq!(WriteSpeeds::parse(&s.encode().expect("encodes")), Ok(s));
    }

    #[test]
    fn performance_descriptor_round_trip(d in performance_descriptor()) {
        prop_assert_eq!(PerformanceDescriptor::parse(&d.encode().expect("encodes")), Ok(d));
    }

    #[test]
    fn buffer_capacity_round_trip(a in any::<u32>(), b in any::<u32>()) {
        let b = BufferCapacity { length: a.max(b), blank_length: a.min(b) };
        prop_assert_eq!(BufferCapacity::parse(&b.encode().expect("encodes")), Ok(b));
    }

    #[test]
    fn sense_progress_reads_what_fixed_sense_carries(p in any::<u16>(), not_ready in any::<bool>()) {
        let [hi, lo] = p.to_be_bytes();
        let key = if not_ready { 0x02 } else { 0x00 };
        let s = [0x70, 0, key, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x04, 0x04, 0, 0x80, hi, lo];
        prop_assert_eq!(sense_progress(&s), Some(p));
    }
}
