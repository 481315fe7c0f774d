//! Tier T1: the IDiscRecorder2 surface end to end on the emulated MMC drive (through the same
//! transport trait as a real drive), and `list` / `info` / `eject` / `close-tray`.

mod common;

use std::time::{Duration, Instant};

use common::*;
use discrecorder::mmc::configuration::{FeatureCode, Profile};
use discrecorder::{emu, HResult, Recorder};

#[test]
#[ignore = "helper-process entry point, started by the other tests"]
fn zz_probe_entry() {
    probe_entry();
}

fn name_of(spec: &str) -> &str {
    spec.strip_prefix("emu:").expect("emu spec")
}

fn open(spec: &str) -> Recorder {
    Recorder::open(spec).expect("open")
}

#[test]
fn identity_comes_from_inquiry() {
    let dev = unique_emu("mmc-id");
    let rec = open(&dev);
    let id = rec.identity().expect("identity");
    assert_eq!(
        (
            id.vendor.as_str(),
            id.product.as_str(),
            id.revision.as_str()
        ),
        ("DISCREC", "EMULATED BURNER", "1.0")
    );
    assert!(id.is_mmc && id.removable);
    assert_eq!(rec.vendor_id().expect("vendor"), "DISCREC");
    let serial = format!("EMU-{}", name_of(&dev));
    assert_eq!(
        rec.serial_number().expect("serial").as_deref(),
        Some(&serial[..serial.len().min(32)])
    );
}

#[test]
fn profiles_features_and_mode_pages_come_from_the_drive() {
    let dev = unique_emu("mmc-prof");
    let rec = open(&dev);
    let supported = rec.supported_profiles().expect("profiles");
    for p in [0x0041, 0x001A, 0x0010, 0x0009, 0x0008] {
        assert!(supported.contains(&Profile(p)), "{p:#06x} in {supported:?}");
    }
    assert_eq!(
        rec.current_profiles().expect("current"),
        vec![Profile(0x0009)]
    );
    let features = rec.supported_feature_pages().expect("features");
    for f in [0x0000, 0x0001, 0x0003] {
        assert!(features.contains(&FeatureCode(f)), "{f:#06x}");
    }
    let current = rec.current_feature_pages().expect("current features");
    assert!(current.iter().all(|f| features.contains(f)));
    assert!(
        current.contains(&FeatureCode(0x001E)),
        "CD Read is current with a CD-R"
    );
    assert!(
        !current.contains(&FeatureCode(0x0040)),
        "BD Read is not current with a CD-R"
    );
    let pages = rec.supported_mode_pages().expect("mode pages");
    assert!(pages.contains(&0x2A), "{pages:?}");
    assert!(rec.device_can_load_media().expect("load"));
}

#[test]
fn eject_then_no_medium_then_close_tray_then_ready() {
    let dev = unique_emu("mmc-tray");
    let rec = open(&dev);
    rec.check_medium().expect("a blank CD-R is loaded");
    rec.eject_media().expect("eject");
    let err = rec.check_medium().expect_err("tray open");
    assert_eq!(err.hresult(), HResult::MediaNoMedia);
    assert_eq!(err.code(), 0xC0AA_0202);
    let sense = err.sense().expect("raw sense kept");
    assert_eq!((sense.key, sense.asc), (0x2, 0x3A));
    rec.close_tray().expect("close");
    rec.check_medium().expect("ready again");
    // Ejecting took and released the lock by itself.
    assert_eq!(rec.lock_count(), 0);
    assert_eq!(rec.owner().expect("owner"), None);
}

#[test]
fn empty_drive_gives_no_media_and_no_current_profile() {
    let dev = unique_emu("mmc-empty");
    let rec = open(&dev);
    emu::update(name_of(&dev), |s| s.remove_medium()).expect("remove");
    let err = rec.check_medium().expect_err("empty");
    assert_eq!(err.hresult(), HResult::MediaNoMedia);
    assert!(rec.current_profiles().expect("profiles").is_empty());
}

#[test]
fn media_change_switches_the_current_profile() {
    let dev = unique_emu("mmc-change");
    let rec = open(&dev);
    emu::update(name_of(&dev), |s| s.insert_medium(0x001A)).expect("insert DVD+RW");
    assert_eq!(
        rec.current_profiles().expect("current"),
        vec![Profile(0x001A)]
    );
    rec.check_medium()
        .expect("ready after the unit attention is consumed");
}

#[test]
fn hung_drive_gives_command_timeout_and_the_recorder_stays_usable() {
    let dev = unique_emu("mmc-hang");
    let rec = open(&dev);
    rec.set_command_timeout(Duration::from_millis(200));
    emu::update(name_of(&dev), |s| {
        s.fault = discrecorder::mmc::emulator::Fault::Hang
    })
    .expect("hang");
    let start = Instant::now();
    let err = rec.identity().expect_err("hung");
    assert_eq!(err.hresult(), HResult::RecorderCommandTimeout);
    assert_eq!(err.code(), 0xC0AA_020D);
    assert!(start.elapsed() >= Duration::from_millis(200));
    let err = rec
        .acquire_exclusive_access(false, "Hopeful")
        .expect_err("acquire checks that the drive answers");
    assert_eq!(err.hresult(), HResult::RecorderCommandTimeout);
    assert_eq!(rec.lock_count(), 0);
    assert_eq!(rec.owner().expect("owner"), None, "nothing left held");
    emu::update(name_of(&dev), |s| {
        s.fault = discrecorder::mmc::emulator::Fault::None
    })
    .expect("heal");
    rec.identity().expect("usable again");
    rec.acquire_exclusive_access(false, "Hopeful")
        .expect("acquire");
}

#[test]
fn vanished_drive_gives_dev_not_exist() {
    let dev = unique_emu("mmc-vanish");
    let rec = open(&dev);
    emu::update(name_of(&dev), |s| {
        s.fault = discrecorder::mmc::emulator::Fault::Vanish
    })
    .expect("vanish");
    let err = rec.identity().expect_err("gone");
    assert_eq!(err.hresult(), HResult::DevNotExist);
    assert_eq!(err.code(), 0x8007_0037);
}

#[test]
fn malformed_responses_give_invalid_response_from_device() {
    let dev = unique_emu("mmc-garbage");
    let rec = open(&dev);
    emu::update(name_of(&dev), |s| {
        s.fault = discrecorder::mmc::emulator::Fault::Garbage
    })
    .expect("garbage");
    for err in [
        rec.identity().expect_err("inquiry"),
        rec.configuration(discrecorder::mmc::configuration::RequestType::All)
            .expect_err("config"),
        rec.supported_mode_pages().expect_err("mode"),
    ] {
        assert_eq!(err.hresult(), HResult::InvalidResponseFromDevice, "{err}");
        assert_eq!(err.code(), 0xC0AA_02FF);
    }
}

#[test]
fn second_clients_eject_is_refused_with_recorder_locked_while_identity_still_works() {
    let dev = unique_emu("mmc-locked");
    let mut holder = probe("hold", &[&dev, "Burning Now"]);
    assert_eq!(holder.line(), "held");
    let rec = open(&dev);
    let err = rec.eject_media().expect_err("held by another");
    assert_eq!(err.hresult(), HResult::RecorderLocked);
    assert_eq!(err.code(), 0xC0AA_0210);
    assert!(err.context().contains("Burning Now"), "{err}");
    let err = rec.close_tray().expect_err("held by another");
    assert_eq!(err.hresult(), HResult::RecorderLocked);
    assert_eq!(rec.vendor_id().expect("identity works"), "DISCREC");
    rec.check_medium().expect("medium untouched");
    let (code, _, stderr) = discrec(&["eject", &dev]);
    assert_eq!(code, 1);
    assert!(
        stderr.starts_with("discrec: E_IMAPI_RECORDER_LOCKED (0xC0AA0210): "),
        "{stderr}"
    );
    holder.finish();
    rec.eject_media().expect("free now");
}

#[test]
fn disable_mcn_is_counted_and_holds_the_device_until_enabled() {
    let dev = unique_emu("mmc-mcn");
    let rec = open(&dev);
    assert_eq!(rec.disable_mcn().expect("disable"), 1);
    assert_eq!(rec.disable_mcn().expect("disable"), 2);
    let mut p = probe("try", &[&dev, "Other"]);
    assert!(p.line().starts_with("err 0x80070005"));
    assert_eq!(rec.enable_mcn().expect("enable"), 1);
    assert_eq!(rec.lock_count(), 1);
    assert_eq!(rec.enable_mcn().expect("enable"), 0);
    assert_eq!(rec.lock_count(), 0);
    assert_eq!(rec.owner().expect("owner"), None);
}

#[test]
fn list_without_optical_drives_shows_emulated_recorders_and_says_so() {
    let dev = unique_emu("mmc-list");
    open(&dev);
    let (code, out, err) = discrec(&["list"]);
    assert_eq!(code, 0, "{err}");
    let drives = std::fs::read_dir("/sys/class/block")
        .expect("sysfs")
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with("sr"));
    if !drives {
        assert!(
            err.starts_with("discrec: No optical drive on this machine"),
            "{err}"
        );
    }
    let row = out.lines().find(|l| l.contains(&dev)).expect("listed");
    assert!(
        row.contains("DISCREC") && row.contains("EMULATED BURNER") && row.contains("0x0009 CD-R"),
        "{row}"
    );
    let (code, out, _) = discrec(&["list", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let r = v["recorders"]
        .as_array()
        .expect("array")
        .iter()
        .find(|r| r["device"] == dev.as_str())
        .expect("listed");
    assert_eq!(r["emulated"], true);
    assert_eq!(r["id"], dev.as_str());
    assert_eq!(r["current_profile"]["code"], "0x0009");
    assert!(r["owner"].is_null());
}

#[test]
fn info_reports_profiles_features_and_mode_pages_by_name() {
    let dev = unique_emu("mmc-info");
    let (code, out, err) = discrec(&["info", &dev]);
    assert_eq!(code, 0, "{err}");
    for needle in [
        "DISCREC",
        "0x0009 CD-R",
        "0x0041 BD-R",
        "0x0003 Removable Medium",
        "0x2A MM Capabilities",
    ] {
        assert!(out.contains(needle), "{needle} missing from:\n{out}");
    }
    let (code, out, _) = discrec(&["info", &dev, "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["is_mmc"], true);
    assert_eq!(v["medium"], "ready");
    assert!(v["profiles"].as_array().is_some_and(|p| p
        .iter()
        .any(|p| p["code"] == "0x0009" && p["current"] == true)));
}
