//! Property tests for the `disc` module: no parser panics on arbitrary bytes,
//! and encode-then-parse gives back every encodable value.

use discrecorder_mmc::disc::{
    Capacity, CapacityDescriptorType, CurrentCapacity, DiscInformation, DiscStatus,
    FormatCapacities, FormattableCapacity, SessionInfo, SessionState, Toc, TocDescriptor,
    TrackInfoExtension, TrackInformation,
};
use proptest::prelude::*;

fn parse_everything(bytes: &[u8]) {
    let _ = DiscInformation::parse(bytes);
    let _ = TrackInformation::parse(bytes);
    let _ = Capacity::parse(bytes);
    let _ = Toc::parse(bytes);
    let _ = SessionInfo::parse(bytes);
    let _ = FormatCapacities::parse(bytes);
}

fn toc_descriptor() -> impl Strategy<Value = TocDescriptor> {
    (0u8..16, 0u8..16, any::<u8>(), any::<u32>()).prop_map(
        |(adr, control, track, start_address)| TocDescriptor {
            adr,
            control,
            track,
            start_address,
        },
    )
}

fn disc_information() -> impl Strategy<Value = DiscInformation> {
    (
        (
            any::<bool>(),
            0u8..4,
            0u8..4,
            any::<u8>(),
            any::<u16>(),
            any::<u16>(),
            any::<u16>(),
        ),
        (
            any::<u8>(),
            any::<u8>(),
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            any::<[u8; 8]>(),
            any::<u8>(),
        ),
        prop::collection::vec(any::<[u8; 8]>(), 0..4),
    )
        .prop_map(
            |(
                (erasable, st, ds, first_track, sessions, ftl, ltl),
                (flags, disc_type, id, lead_in, lead_out, bar, app),
                opc_tables,
            )| DiscInformation {
                erasable,
                last_session_state: SessionState::from_bits(st),
                disc_status: DiscStatus::from_bits(ds),
                first_track,
                sessions,
                first_track_in_last_session: ftl,
                last_track_in_last_session: ltl,
                flags,
                disc_type,
                disc_identification: id,
                last_session_lead_in_start: lead_in,
                last_possible_lead_out_start: lead_out,
                disc_bar_code: bar,
                disc_application_code: app,
                opc_tables,
            },
        )
}

fn track_information() -> impl Strategy<Value = TrackInformation> {
    (
        (any::<u16>(), any::<u16>(), 0u8..16, 0u8..16, any::<[bool; 8]>()),
        any::<[u32; 5]>(),
        0u8..3,
        any::<u32>(),
        any::<[u32; 3]>(),
    )
        .prop_map(|((track, session, track_mode, data_mode, f), v, form, lra, x)| {
            let [damage, copy, reserved_track, blank, packet, fixed_packet, nwa_valid, lra_valid] = f;
            let [track_start, next_writable_address, free_blocks, fixed_packet_size, track_size] = v;
            let short = form == 0;
            TrackInformation {
                track_number: if short { track & 0xFF } else { track },
                session_number: if short { session & 0xFF } else { session },
                damage,
                copy,
                track_mode,
                reserved_track,
                blank,
                packet,
                fixed_packet,
                data_mode,
                nwa_valid,
                lra_valid,
                track_start,
                next_writable_address,
                free_blocks,
                fixed_packet_size,
                track_size,
                last_recorded_address: (!short).then_some(lra),
                extension: (form == 2).then_some(TrackInfoExtension {
                    read_compatibility_lba: x[0],
                    next_layer_jump_address: x[1],
                    last_layer_jump_address: x[2],
                }),
            }
        })
}

fn format_capacities() -> impl Strategy<Value = FormatCapacities> {
    (
        any::<u32>(),
        0u8..4,
        0u32..0x0100_0000,
        prop::collection::vec((any::<u32>(), 0u8..64, 0u32..0x0100_0000), 0..31),
    )
        .prop_map(|(blocks, t, block_length, list)| FormatCapacities {
            current: CurrentCapacity {
                blocks,
                descriptor_type: CapacityDescriptorType::from_bits(t),
                block_length,
            },
            formattable: list
                .into_iter()
                .map(
                    |(blocks, format_type, type_dependent)| FormattableCapacity {
                        blocks,
                        format_type,
                        type_dependent,
                    },
                )
                .collect(),
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_disc_parser_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        parse_everything(&bytes);
    }

    #[test]
    fn no_disc_parser_panics_on_length_consistent_bytes(
        mut bytes in prop::collection::vec(any::<u8>(), 4..120),
        cut in 0usize..120,
    ) {
        // Make the 16-bit length field (and the capacity list length) agree
        // with the buffer, so the parsers get past their header checks.
        let len = u16::try_from(bytes.len() - 2).unwrap_or(u16::MAX).to_be_bytes();
        bytes[..2].copy_from_slice(&len);
        bytes[2] &= 0x1F;
        bytes[3] = u8::try_from((bytes.len() - 4) / 8 * 8).unwrap_or(0);
        parse_everything(&bytes);
        parse_everything(&bytes[..cut.min(bytes.len())]);
    }

    #[test]
    fn disc_information_round_trips(d in disc_information()) {
        let b = d.encode().expect("encodes");
        for n in 0..b.len() {
            parse_everything(&b[..n]);
        }
        prop_assert_eq!(DiscInformation::parse(&b), Ok(d));
    }

    #[test]
    fn track_information_round_trips(t in track_information()) {
        let b = t.encode().expect("encodes");
        for n in 0..b.len() {
            parse_everything(&b[..n]);
        }
        prop_assert_eq!(TrackInformation::parse(&b), Ok(t));
    }

    #[test]
    fn capacity_round_trips(last_lba in any::<u32>(), block_length in any::<u32>()) {
        let c = Capacity { last_lba, block_length };
        prop_assert_eq!(Capacity::parse(&c.encode()), Ok(c));
    }

    #[test]
    fn toc_round_trips(
        first_track in any::<u8>(),
        last_track in any::<u8>(),
        descriptors in prop::collection::vec(toc_descriptor(), 0..20),
    ) {
        let t = Toc { first_track, last_track, descriptors };
        let b = t.encode().expect("encodes");
        for n in 0..b.len() {
            parse_everything(&b[..n]);
        }
        prop_assert_eq!(Toc::parse(&b), Ok(t));
    }

    #[test]
    fn session_info_round_trips(first_session in any::<u8>(), last_session in any::<u8>(), d in toc_descriptor()) {
        let s = SessionInfo { first_session, last_session, first_track_in_last_session: d };
        prop_assert_eq!(SessionInfo::parse(&s.encode().expect("encodes")), Ok(s));
    }

    #[test]
    fn format_capacities_round_trip(f in format_capacities()) {
        let b = f.encode().expect("encodes");
        for n in 0..b.len() {
            parse_everything(&b[..n]);
        }
        prop_assert_eq!(FormatCapacities::parse(&b), Ok(f));
    }
}
