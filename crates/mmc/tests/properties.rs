//! Property tests over all inputs: no parser panics on arbitrary bytes (or on
//! any prefix of a valid response), and encode-then-parse gives back the
//! value for every encodable value.

use discrecorder_mmc::cdb::Cdb;
use discrecorder_mmc::configuration::{
    encode_configuration, get_configuration, Configuration, FeatureCode, FeatureDescriptor,
    FeatureHeader, LoadingMechanism, Profile, ProfileDescriptor, RemovableMedium, RequestType,
};
use discrecorder_mmc::event::{
    get_event_status_notification, Event, EventStatus, MediaEvent, MediaEventCode, MEDIA_CLASS,
};
use discrecorder_mmc::inquiry::{
    inquiry, inquiry_vpd, Association, CodeSet, Designator, DesignatorType, DeviceIdentification,
    DeviceType, Peripheral, StandardInquiry, SupportedVpdPages, UnitSerialNumber,
};
use discrecorder_mmc::mode::{
    encode_mode_sense10, mode_sense10, ModePage, ModeParameters, PageControl,
};
use discrecorder_mmc::sense::{request_sense, SenseData, SenseFormat, SenseKey};
use discrecorder_mmc::unit::{
    prevent_allow_medium_removal, start_stop_unit, MediumRemoval, StartStop,
};
use proptest::prelude::*;

/// Runs every parser of the crate on `bytes`; any panic fails the property.
fn parse_everything(bytes: &[u8]) {
    let _ = StandardInquiry::parse(bytes);
    let _ = SupportedVpdPages::parse(bytes);
    let _ = UnitSerialNumber::parse(bytes);
    let _ = DeviceIdentification::parse(bytes);
    if let Ok(s) = SenseData::parse(bytes) {
        let _ = s.condition();
    }
    let _ = FeatureHeader::parse(bytes);
    if let Ok(c) = Configuration::parse(bytes) {
        for f in &c.features {
            let _ = ProfileDescriptor::parse_list(f);
            let _ = RemovableMedium::parse(f);
        }
        let _ = c.profiles();
        let _ = c.removable_medium();
    }
    if let Ok(m) = ModeParameters::parse(bytes) {
        let _ = m.page_codes();
    }
    let _ = EventStatus::parse(bytes);
    let _ = Cdb::parse(bytes);
}

fn graphic_ascii(max: usize) -> impl Strategy<Value = String> {
    // Empty, or printable ASCII that neither starts nor ends with a space.
    prop_oneof![
        Just(String::new()),
        proptest::string::string_regex(&format!(
            "[!-~]([ -~]{{0,{}}}[!-~])?",
            max.saturating_sub(2)
        ))
        .expect("valid regex"),
    ]
}

fn peripheral() -> impl Strategy<Value = Peripheral> {
    (0u8..8, 0u8..0x20).prop_map(|(qualifier, t)| Peripheral {
        qualifier,
        device_type: DeviceType(t),
    })
}

fn feature() -> impl Strategy<Value = FeatureDescriptor> {
    (
        any::<u16>(),
        0u8..16,
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 0..40),
    )
        .prop_map(
            |(code, version, persistent, current, data)| FeatureDescriptor {
                code: FeatureCode(code),
                version,
                persistent,
                current,
                data,
            },
        )
}

fn mode_page() -> impl Strategy<Value = ModePage> {
    (
        0u8..0x40,
        prop::option::of(any::<u8>()),
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(|(page_code, subpage_code, parameters_saveable, mut data)| {
            if subpage_code.is_none() {
                data.truncate(255);
            }
            ModePage {
                page_code,
                subpage_code,
                parameters_saveable,
                data,
            }
        })
}

/// A buffer whose leading length field is consistent with its body, so the
/// walks get past the header checks.
fn with_length_prefix(header_len: usize, len_bytes: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), header_len..header_len + 400).prop_map(move |mut b| {
        let declared = (b.len() - len_bytes) as u64;
        let be = declared.to_be_bytes();
        let field = &be[be.len() - len_bytes..];
        b[..len_bytes].copy_from_slice(field);
        b
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_parser_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        parse_everything(&bytes);
    }

    #[test]
    fn no_parser_panics_on_length_consistent_bytes(
        config in with_length_prefix(8, 4),
        mode in with_length_prefix(8, 2),
        gesn in with_length_prefix(4, 2),
        cut in 0usize..400,
    ) {
        for b in [&config, &mode, &gesn] {
            parse_everything(b);
            parse_everything(&b[..cut.min(b.len())]);
        }
    }

    #[test]
    fn sense_round_trips(
        descriptor in any::<bool>(),
        deferred in any::<bool>(),
        key in 0u8..16,
        asc in any::<u8>(),
        ascq in any::<u8>(),
        information in prop::option::of(any::<u64>()),
    ) {
        let format = if descriptor { SenseFormat::Descriptor } else { SenseFormat::Fixed };
        let information = match format {
            SenseFormat::Fixed => information.map(|v| v & 0xFFFF_FFFF),
            SenseFormat::Descriptor => information,
        };
        let s = SenseData { format, deferred, key: SenseKey::from_nibble(key), asc, ascq, information };
        let bytes = s.encode().expect("encodable");
        prop_assert_eq!(SenseData::parse(&bytes), Ok(s));
        for n in 0..bytes.len() {
            let _ = SenseData::parse(&bytes[..n]);
        }
    }

    #[test]
    fn standard_inquiry_round_trips(
        peripheral in peripheral(),
        removable in any::<bool>(),
        version in any::<u8>(),
        response_data_format in 0u8..16,
        vendor in graphic_ascii(8),
        product in graphic_ascii(16),
        revision in graphic_ascii(4),
        available_length in 36usize..=260,
    ) {
        let i = StandardInquiry {
            peripheral, removable, version, response_data_format, vendor, product, revision, available_length,
        };
        let bytes = i.encode().expect("encodable");
        prop_assert_eq!(bytes.len(), available_length);
        prop_assert_eq!(StandardInquiry::parse(&bytes), Ok(i));
        for n in 0..bytes.len() {
            prop_assert_eq!(StandardInquiry::parse(&bytes[..n]).is_ok(), n >= 36);
        }
    }

    #[test]
    fn vpd_pages_round_trip(
        peripheral in peripheral(),
        pages in prop::collection::vec(any::<u8>(), 0..64),
        serial in graphic_ascii(40),
        designators in prop::collection::vec(
            (0u8..16, 0u8..16, any::<bool>(), 0u8..4, 0u8..16, prop::collection::vec(any::<u8>(), 0..40)),
            0..6,
        ),
    ) {
        let p = SupportedVpdPages { peripheral, pages };
        prop_assert_eq!(SupportedVpdPages::parse(&p.encode().expect("encodable")), Ok(p));
        let s = UnitSerialNumber { peripheral, serial };
        prop_assert_eq!(UnitSerialNumber::parse(&s.encode().expect("encodable")), Ok(s));
        let d = DeviceIdentification {
            peripheral,
            designators: designators
                .into_iter()
                .map(|(pi, cs, piv, assoc, ty, identifier)| Designator {
                    protocol_identifier: pi,
                    code_set: CodeSet(cs),
                    protocol_identifier_valid: piv,
                    association: Association::from_bits(assoc),
                    designator_type: DesignatorType(ty),
                    identifier,
                })
                .collect(),
        };
        let bytes = d.encode().expect("encodable");
        prop_assert_eq!(DeviceIdentification::parse(&bytes), Ok(d));
        for n in 0..bytes.len() {
            prop_assert!(DeviceIdentification::parse(&bytes[..n]).is_err());
        }
    }

    #[test]
    fn configuration_round_trips(
        current in any::<u16>(),
        features in prop::collection::vec(feature(), 0..12),
        cut in any::<prop::sample::Index>(),
    ) {
        let bytes = encode_configuration(Profile(current), &features).expect("encodable");
        let parsed = Configuration::parse(&bytes).expect("parses");
        prop_assert_eq!(&parsed, &Configuration { current_profile: Profile(current), features: features.clone(), complete: true });
        // A response cut anywhere past the header keeps a prefix of the features.
        let n = cut.index(bytes.len() + 1);
        match Configuration::parse(&bytes[..n]) {
            Ok(c) => {
                prop_assert!(n >= 8);
                prop_assert_eq!(c.complete, n == bytes.len());
                prop_assert_eq!(&c.features[..], &features[..c.features.len()]);
            }
            Err(_) => prop_assert!(n < 8),
        }
    }

    #[test]
    fn profile_list_and_removable_medium_round_trip(
        profiles in prop::collection::vec((any::<u16>(), any::<bool>()), 0..63),
        version in 0u8..16,
        current in any::<bool>(),
        mechanism in 0u8..8,
        flags in any::<[bool; 5]>(),
    ) {
        let list: Vec<ProfileDescriptor> = profiles
            .into_iter()
            .map(|(p, current)| ProfileDescriptor { profile: Profile(p), current })
            .collect();
        let f = ProfileDescriptor::encode_list(&list).expect("fits");
        prop_assert_eq!(ProfileDescriptor::parse_list(&f), Ok(list));
        let rm = RemovableMedium {
            version,
            current,
            loading_mechanism: LoadingMechanism(mechanism),
            load: flags[0],
            eject: flags[1],
            pvnt_jmpr: flags[2],
            dbml: flags[3],
            lock: flags[4],
        };
        prop_assert_eq!(RemovableMedium::parse(&rm.encode().expect("fits")), Ok(rm));
    }

    #[test]
    fn mode_sense_round_trips(
        medium_type in any::<u8>(),
        dsp in any::<u8>(),
        block_descriptors in prop::collection::vec(any::<u8>(), 0..24),
        pages in prop::collection::vec(mode_page(), 0..10),
        cut in any::<prop::sample::Index>(),
    ) {
        let bytes = encode_mode_sense10(medium_type, dsp, &block_descriptors, &pages).expect("fits");
        let m = ModeParameters::parse(&bytes).expect("parses");
        prop_assert_eq!(&m, &ModeParameters {
            medium_type,
            device_specific_parameter: dsp,
            long_lba: false,
            block_descriptors: block_descriptors.clone(),
            pages: pages.clone(),
            complete: true,
        });
        let n = cut.index(bytes.len() + 1);
        if let Ok(c) = ModeParameters::parse(&bytes[..n]) {
            prop_assert_eq!(c.complete, n == bytes.len());
            prop_assert_eq!(&c.pages[..], &pages[..c.pages.len()]);
        }
    }

    #[test]
    fn event_status_round_trips(
        supported in any::<u8>(),
        kind in 0u8..3,
        code in 0u8..16,
        present in any::<bool>(),
        open in any::<bool>(),
        slots in any::<(u8, u8)>(),
        class in (0u8..8).prop_filter("not media", |c| *c != MEDIA_CLASS),
        descriptor in prop::collection::vec(any::<u8>(), 0..16),
    ) {
        let event = match kind {
            0 => Event::NotAvailable,
            1 => Event::Media(MediaEvent {
                event: MediaEventCode(code),
                media_present: present,
                tray_open: open,
                start_slot: slots.0,
                end_slot: slots.1,
            }),
            _ => Event::Other { class, descriptor },
        };
        let s = EventStatus { supported_classes: supported, event };
        let bytes = s.encode().expect("encodable");
        prop_assert_eq!(EventStatus::parse(&bytes), Ok(s));
        for n in 0..bytes.len() {
            let _ = EventStatus::parse(&bytes[..n]);
        }
    }

    #[test]
    fn builders_are_recognised(
        alloc in any::<u16>(),
        small in any::<u8>(),
        page in any::<u8>(),
        flag in any::<bool>(),
        rt in 0u8..3,
        feature in any::<u16>(),
        pc in 0u8..4,
        action in 0u8..4,
        removal in 0u8..4,
    ) {
        prop_assert_eq!(Cdb::parse(&inquiry(alloc).cdb), Ok(Cdb::Inquiry { vpd: false, page_code: 0, allocation_length: alloc }));
        prop_assert_eq!(Cdb::parse(&inquiry_vpd(page, alloc).cdb), Ok(Cdb::Inquiry { vpd: true, page_code: page, allocation_length: alloc }));
        prop_assert_eq!(Cdb::parse(&request_sense(small, flag).cdb), Ok(Cdb::RequestSense { descriptor_format: flag, allocation_length: small }));
        let request_type = RequestType::from_bits(rt).expect("0..3");
        prop_assert_eq!(
            Cdb::parse(&get_configuration(request_type, FeatureCode(feature), alloc).cdb),
            Ok(Cdb::GetConfiguration { request_type, starting_feature: FeatureCode(feature), allocation_length: alloc })
        );
        let page_control = PageControl::from_bits(pc);
        prop_assert_eq!(
            Cdb::parse(&mode_sense10(page_control, page, small, alloc, flag).cdb),
            Ok(Cdb::ModeSense10 {
                disable_block_descriptors: flag,
                long_lba_accepted: false,
                page_control,
                page_code: page & 0x3F,
                subpage_code: small,
                allocation_length: alloc,
            })
        );
        prop_assert_eq!(
            Cdb::parse(&get_event_status_notification(small, alloc).cdb),
            Ok(Cdb::GetEventStatusNotification { polled: true, class_request: small, allocation_length: alloc })
        );
        let action = StartStop::from_bits(action & 2 != 0, action & 1 != 0);
        prop_assert_eq!(
            Cdb::parse(&start_stop_unit(action, flag).cdb),
            Ok(Cdb::StartStopUnit { immediate: flag, power_condition: 0, action })
        );
        let request = MediumRemoval::from_bits(removal);
        prop_assert_eq!(
            Cdb::parse(&prevent_allow_medium_removal(request).cdb),
            Ok(Cdb::PreventAllowMediumRemoval { request })
        );
    }
}
