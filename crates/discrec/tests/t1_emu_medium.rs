//! Tier T1: `discrec emu set` puts media and recording faults into an emulated drive, and
//! `discrec emu show` reports the disc's layout. No root needed.

mod common;

use common::*;

/// A fresh emulated device, created as `discrec emu create` does.
fn created(tag: &str) -> String {
    let dev = unique_emu_name(tag);
    let (code, _, err) = discrec(&["emu", "create", &dev]);
    assert_eq!(code, 0, "{err}");
    dev
}

fn set(dev: &str, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["--json", "emu", "set", dev];
    all.extend_from_slice(args);
    discrec(&all)
}

/// `emu show --json` of `dev`.
fn show(dev: &str) -> serde_json::Value {
    let (code, out, err) = discrec(&["emu", "show", dev, "--json"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(out.trim()).expect("one JSON object")
}

#[test]
fn medium_by_printed_name_is_a_blank_disc_with_its_layout_shown() {
    let dev = created("em-name");
    let (code, _, err) = set(&dev, &["--medium", "DVD+R", "--blank"]);
    assert_eq!(code, 0, "{err}");
    let v = show(&dev);
    let m = &v["medium"];
    assert_eq!(m["profile"], "0x001B", "{v}");
    assert_eq!(m["name"], "DVD+R");
    assert_eq!(m["status"], "blank");
    assert_eq!(m["nwa"], 0);
    assert_eq!(m["capacity"], 2_295_104);
    assert_eq!(m["free"], 2_295_104);
    assert_eq!(m["tracks"].as_array().map(Vec::len), Some(0));
}

#[test]
fn a_modeled_medium_makes_the_drive_support_it_and_answer_ready() {
    let dev = created("em-ready");
    let (code, _, err) = set(&dev, &["--medium", "BD-RE"]);
    assert_eq!(code, 0, "{err}");
    let profiles = show(&dev)["state"]["profiles"].clone();
    assert!(
        profiles
            .as_array()
            .is_some_and(|p| p.iter().any(|x| x == 0x43)),
        "{profiles}"
    );
    let (code, out, err) = discrec(&["info", &dev, "--json"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("BD-RE"), "{out}");
}

#[test]
fn medium_by_number_short_name_and_case() {
    let dev = created("em-codes");
    for (arg, profile, status) in [
        ("0x43", "0x0043", "unformatted"),
        ("bd-r", "0x0041", "blank"),
        ("DVD-RW-RO", "0x0013", "formatted"),
        ("dvd-rom", "0x0010", "read-only"),
        ("0A", "0x000A", "blank"),
        ("DVD+R-DL", "0x002B", "blank"),
        ("dvd+r dl", "0x002B", "blank"),
    ] {
        let (code, _, err) = set(&dev, &["--medium", arg]);
        assert_eq!(code, 0, "{arg}: {err}");
        let v = show(&dev);
        assert_eq!(v["medium"]["profile"], profile, "{arg}");
        assert_eq!(v["medium"]["status"], status, "{arg}");
    }
    let (code, _, err) = set(&dev, &["--medium", "HD-BLU"]);
    assert_eq!(code, 64, "{err}");
    assert!(err.contains("E_INVALIDARG"), "{err}");
}

#[test]
fn capacity_and_write_protect_are_set() {
    let dev = created("em-cap");
    let (code, _, err) = set(
        &dev,
        &[
            "--medium",
            "BD-R",
            "--capacity",
            "1000",
            "--write-protect",
            "on",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let v = show(&dev);
    assert_eq!(v["medium"]["capacity"], 1000, "{v}");
    assert_eq!(v["medium"]["write_protected"], true);
    let (code, _, _) = set(&dev, &["--write-protect", "off"]);
    assert_eq!(code, 0);
    assert_eq!(show(&dev)["state"]["write_protected"], false);
    let (code, _, _) = set(&dev, &["--write-protect", "maybe"]);
    assert_eq!(code, 64);
}

#[test]
fn recording_faults_are_set_and_cleared() {
    let dev = created("em-faults");
    for args in [
        &["--fault", "medium-error", "--lba", "7"][..],
        &["--fault", "corrupt", "--lba", "9"],
        &["--fault", "long-write", "--count", "3"],
        &["--fault", "hang", "--at-opcode", "0x2A"],
    ] {
        let (code, _, err) = set(&dev, args);
        assert_eq!(code, 0, "{args:?}: {err}");
    }
    let f = &show(&dev)["state"]["faults"];
    assert_eq!(f["medium_error_lba"], 7, "{f}");
    assert_eq!(f["corrupt_lba"], 9);
    assert_eq!(f["long_write_polls"], 3);
    assert_eq!(f["trigger"]["fault"], "hang");
    assert_eq!(f["trigger"]["at"]["opcode"], 0x2A);
    let (code, _, err) = set(&dev, &["--fault", "vanish", "--at-command", "5"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(show(&dev)["state"]["faults"]["trigger"]["at"]["command"], 5);
    let (code, _, _) = set(&dev, &["--fault", "power-loss"]);
    assert_eq!(code, 0);
    assert_eq!(show(&dev)["state"]["power_on_reset"], true);
    let (code, _, _) = set(&dev, &["--fault", "none"]);
    assert_eq!(code, 0);
    let s = &show(&dev)["state"];
    assert_eq!(s["fault"], "none");
    assert_eq!(s["faults"]["medium_error_lba"], serde_json::Value::Null);
    assert_eq!(s["faults"]["trigger"], serde_json::Value::Null);
}

#[test]
fn fault_options_that_do_not_go_together_are_usage_errors() {
    let dev = created("em-usage");
    for args in [
        &["--fault", "medium-error"][..],
        &["--fault", "corrupt"],
        &["--fault", "long-write"],
        &["--lba", "5"],
        &["--fault", "power-loss", "--at-command", "2"],
        &["--fault", "hang", "--at-command", "0"],
        &["--fault", "hang", "--at-opcode", "zz"],
        &[
            "--fault",
            "hang",
            "--at-command",
            "1",
            "--at-opcode",
            "0x2A",
        ],
    ] {
        let (code, out, err) = set(&dev, args);
        assert_eq!(code, 64, "{args:?}: {out}{err}");
    }
    assert_eq!(
        show(&dev)["state"]["faults"]["trigger"],
        serde_json::Value::Null
    );
}

#[test]
fn the_disc_image_is_created_and_removed_with_the_device() {
    let dev = created("em-image");
    let name = dev.strip_prefix("emu:").expect("emu spec");
    let dir = init().join(format!(
        "discrecorder-emu-{}",
        rustix::process::geteuid().as_raw()
    ));
    let image = dir.join(format!("{name}.img"));
    let meta = std::fs::symlink_metadata(&image).expect("created with the device");
    assert!(meta.file_type().is_file());
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o7777,
        0o600
    );
    std::fs::write(&image, b"sectors").expect("image");
    let (code, _, err) = discrec(&["emu", "remove", &dev]);
    assert_eq!(code, 0, "{err}");
    assert!(!image.exists(), "the image went with the device");
    assert!(!dir.join(name).exists());
}

#[test]
fn show_prints_the_layout_as_text() {
    let dev = created("em-text");
    set(&dev, &["--medium", "CD-R"]);
    let (code, out, err) = discrec(&["emu", "show", &dev]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("0x0009 CD-R (blank)"), "{out}");
    assert!(
        out.contains("next writable address: 0, free: 359847 sectors"),
        "{out}"
    );
}

#[test]
fn set_help_shows_the_burning_examples() {
    let (code, out, _) = discrec(&["emu", "set", "--help"]);
    assert_eq!(code, 0);
    for example in [
        "--medium DVD+R --blank",
        "--fault medium-error --lba 1000",
        "--fault hang --at-opcode 0x2A",
    ] {
        assert!(out.contains(example), "{example}: {out}");
    }
}
