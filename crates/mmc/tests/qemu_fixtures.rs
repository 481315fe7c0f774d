//! Parses responses captured from QEMU's SCSI CD drive (see
//! `tests/fixtures/qemu/README.md` for how each was captured) and checks the
//! facts known about that drive.
//!
//! A missing fixture fails its test with a message naming the file: these
//! tests never pass without having checked real bytes.

use std::path::PathBuf;

use discrecorder_mmc::configuration::{
    Configuration, FeatureCode, LoadingMechanism, Profile, ProfileDescriptor,
};
use discrecorder_mmc::event::{class_mask, EventStatus, MediaEventCode};
use discrecorder_mmc::inquiry::{
    Association, CodeSet, DesignatorType, DeviceIdentification, DeviceType, StandardInquiry,
    SupportedVpdPages, UnitSerialNumber,
};
use discrecorder_mmc::mode::ModeParameters;
use discrecorder_mmc::sense::{SenseCondition, SenseData, SenseKey};

/// The bytes of fixture `name`; panics (fails the test) when it is missing.
fn fixture(name: &str) -> Vec<u8> {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "fixtures",
        "qemu",
        name,
    ]
    .iter()
    .collect();
    match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) => panic!(
            "QEMU fixture {} is not available ({e}); capture it as \
             tests/fixtures/qemu/README.md describes",
            path.display()
        ),
    }
}

fn check_qemu_configuration(c: &Configuration) {
    assert_eq!(
        c.current_profile,
        Profile::CD_ROM,
        "a small image mounts as CD-ROM"
    );
    assert!(c.complete);
    for code in [
        FeatureCode::PROFILE_LIST,
        FeatureCode::CORE,
        FeatureCode::REMOVABLE_MEDIUM,
    ] {
        assert!(c.feature(code).is_some(), "feature {code} missing");
    }
    let codes: Vec<u16> = c.features.iter().map(|f| f.code.0).collect();
    assert_eq!(
        codes,
        vec![0x0000, 0x0001, 0x0003],
        "QEMU reports these three only"
    );
    let profiles = c
        .profiles()
        .expect("profile list present")
        .expect("profile list decodes");
    assert_eq!(
        profiles,
        vec![
            ProfileDescriptor {
                profile: Profile::DVD_ROM,
                current: false
            },
            ProfileDescriptor {
                profile: Profile::CD_ROM,
                current: true
            },
        ]
    );
    check_qemu_removable_medium(c);
}

fn check_qemu_removable_medium(c: &Configuration) {
    let rm = c
        .removable_medium()
        .expect("removable medium present")
        .expect("removable medium decodes");
    assert_eq!(rm.loading_mechanism, LoadingMechanism::TRAY);
    assert!(rm.eject && rm.load && rm.lock);
    assert!(rm.can_load_media());
}

#[test]
fn inquiry_identifies_qemu_cd_rom() {
    let bytes = fixture("inquiry.bin");
    let i = StandardInquiry::parse(&bytes).expect("standard inquiry decodes");
    assert_eq!(i.peripheral.device_type, DeviceType::MMC);
    assert_eq!(i.peripheral.qualifier, 0);
    assert!(i.removable);
    assert_eq!(i.vendor, "QEMU");
    assert_eq!(i.product, "QEMU CD-ROM");
    assert_eq!(i.revision, "2.5+");
    assert_eq!(i.version, 5, "QEMU claims SPC-3");
    assert_eq!(i.response_data_format, 2);
    assert_eq!(bytes.len(), 96, "allocation length 96");
    assert_eq!(i.available_length, 96);
}

/// True when the drive was captured with a serial number, i.e. when
/// `vpd80.bin` holds page data rather than `vpd80.bin.sense` holding the
/// CHECK CONDITION QEMU answers without `serial=`. Exactly one must exist.
fn captured_with_serial() -> bool {
    let dir: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "fixtures", "qemu"]
        .iter()
        .collect();
    match (
        dir.join("vpd80.bin").exists(),
        dir.join("vpd80.bin.sense").exists(),
    ) {
        (true, false) => true,
        (false, true) => false,
        (data, sense) => panic!(
            "expected exactly one of vpd80.bin (page data) and vpd80.bin.sense (its CHECK \
             CONDITION sense) in {}, found data={data} sense={sense}",
            dir.display()
        ),
    }
}

#[test]
fn vpd00_lists_mandatory_pages() {
    let p = SupportedVpdPages::parse(&fixture("vpd00.bin")).expect("VPD 0x00 decodes");
    assert_eq!(p.peripheral.device_type, DeviceType::MMC);
    let expected: Vec<u8> = if captured_with_serial() {
        vec![0x00, 0x80, 0x83]
    } else {
        vec![0x00, 0x83]
    };
    assert_eq!(
        p.pages, expected,
        "QEMU lists 0x80 only when serial= is set; no disk pages for a CD"
    );
}

#[test]
fn vpd80_has_a_serial_or_is_rejected_without_one() {
    if captured_with_serial() {
        let s = UnitSerialNumber::parse(&fixture("vpd80.bin")).expect("VPD 0x80 decodes");
        assert_eq!(s.peripheral.device_type, DeviceType::MMC);
        assert!(!s.serial.is_empty());
    } else {
        let s = SenseData::parse(&fixture("vpd80.bin.sense")).expect("sense decodes");
        assert_eq!(s.key, SenseKey::IllegalRequest);
        assert_eq!(s.condition(), SenseCondition::InvalidFieldInCdb);
    }
}

#[test]
fn vpd83_has_an_ascii_logical_unit_designator() {
    let d = DeviceIdentification::parse(&fixture("vpd83.bin")).expect("VPD 0x83 decodes");
    assert_eq!(d.peripheral.device_type, DeviceType::MMC);
    let first = d.designators.first().expect("at least one designator");
    assert_eq!(first.code_set, CodeSet::ASCII);
    assert_eq!(first.association, Association::LogicalUnit);
    assert_eq!(first.designator_type, DesignatorType::VENDOR_SPECIFIC);
    assert!(!first.text().expect("ASCII").is_empty());
    if !captured_with_serial() {
        // Without serial= QEMU uses the drive id: the README's setup names it cd0.
        assert_eq!(d.designators.len(), 1);
        assert_eq!(first.text().as_deref(), Some("cd0"));
    }
}

#[test]
fn get_configuration_rt0_reports_cd_rom_current() {
    let c = Configuration::parse(&fixture("get_configuration_rt0.bin")).expect("decodes");
    check_qemu_configuration(&c);
}

#[test]
fn get_configuration_rt1_reports_only_current_features() {
    let c = Configuration::parse(&fixture("get_configuration_rt1.bin")).expect("decodes");
    check_qemu_configuration(&c);
    assert!(
        c.features.iter().all(|f| f.current),
        "RT=1 returns current features only"
    );
}

#[test]
fn get_configuration_rt2_reports_removable_medium() {
    let c = Configuration::parse(&fixture("get_configuration_rt2_0003.bin")).expect("decodes");
    assert_eq!(c.current_profile, Profile::CD_ROM);
    check_qemu_removable_medium(&c);
}

#[test]
fn mode_sense_lists_cd_pages() {
    let m = ModeParameters::parse(&fixture("mode_sense10_3f.bin")).expect("decodes");
    assert!(m.complete);
    assert!(
        m.block_descriptors.is_empty(),
        "captured with DBD=1; MMC drives send none"
    );
    assert_eq!(m.page_codes(), vec![0x01, 0x08, 0x0E, 0x2A]);
    let capabilities = m.page(0x2A).expect("CD capabilities page");
    assert_eq!(capabilities.data.len(), 0x14);
}

#[test]
fn gesn_reports_medium_present_tray_closed() {
    let bytes = fixture("gesn_media.bin");
    assert_eq!(bytes.len(), 8);
    let s = EventStatus::parse(&bytes).expect("decodes");
    assert_ne!(s.supported_classes & class_mask::MEDIA, 0);
    let m = s.media().expect("media event");
    assert!(m.media_present);
    assert!(!m.tray_open);
    assert!(
        m.event == MediaEventCode::NO_CHANGE || m.event == MediaEventCode::NEW_MEDIA,
        "event {:?}",
        m.event
    );
}

#[test]
fn sense_on_empty_drive_is_no_medium() {
    let bytes = fixture("sense_no_medium.bin");
    let s = SenseData::parse(&bytes).expect("decodes");
    assert_eq!(s.key, SenseKey::NotReady);
    assert_eq!(s.asc, 0x3A);
    assert_eq!(s.condition(), SenseCondition::NoMedium);
}

#[test]
fn gesn_on_empty_drive_reports_no_medium_tray_closed() {
    let s = EventStatus::parse(&fixture("gesn_media_empty.bin")).expect("decodes");
    let m = s.media().expect("media event");
    assert!(!m.media_present);
    assert!(!m.tray_open);
}

#[test]
fn get_configuration_on_empty_drive_has_no_current_profile() {
    let c = Configuration::parse(&fixture("get_configuration_rt0_empty.bin")).expect("decodes");
    assert_eq!(c.current_profile, Profile::NONE);
    let profiles = c
        .profiles()
        .expect("profile list present")
        .expect("decodes");
    assert_eq!(profiles.len(), 2);
    assert!(profiles.iter().all(|p| !p.current), "{profiles:?}");
    check_qemu_removable_medium(&c);
}

#[test]
fn failed_test_unit_ready_on_empty_drive_senses_no_medium() {
    let s = SenseData::parse(&fixture("tur_no_medium.bin.sense")).expect("decodes");
    assert_eq!(s.condition(), SenseCondition::NoMedium);
}

#[test]
fn unsupported_opcode_sense_is_invalid_command_operation_code() {
    // QEMU does not implement READ TRACK INFORMATION; the drive's answer is
    // the same sense an old drive gives for GET CONFIGURATION (which the
    // library reports as E_IMAPI_RECORDER_GET_CONFIGURATION_NOT_SUPPORTED).
    let s = SenseData::parse(&fixture("read_track_information_1.bin.sense")).expect("decodes");
    assert_eq!(s.key, SenseKey::IllegalRequest);
    assert_eq!(s.asc, 0x20);
    assert_eq!(s.condition(), SenseCondition::InvalidCommandOperationCode);
}

#[test]
fn every_prefix_of_every_captured_response_parses_without_panic() {
    let files = [
        "inquiry.bin",
        "vpd00.bin",
        "vpd83.bin",
        "get_configuration_rt0.bin",
        "get_configuration_rt1.bin",
        "get_configuration_rt2_0003.bin",
        "get_configuration_rt0_empty.bin",
        "mode_sense10_3f.bin",
        "gesn_media.bin",
        "gesn_media_empty.bin",
        "sense_no_medium.bin",
    ];
    for name in files {
        let bytes = fixture(name);
        // The responses end well before 512 bytes; the rest is zero padding.
        for n in (0..bytes.len().min(512)).chain([bytes.len()]) {
            let b = &bytes[..n];
            let _ = StandardInquiry::parse(b);
            let _ = SupportedVpdPages::parse(b);
            let _ = DeviceIdentification::parse(b);
            let _ = Configuration::parse(b);
            let _ = ModeParameters::parse(b);
            let _ = EventStatus::parse(b);
            let _ = SenseData::parse(b);
        }
    }
}
