//! `discrec list`, `info`, `eject`, `close-tray` and `emu set`: the IDiscRecorder2 surface on the
//! command line. Human output is aligned columns; JSON is one object per command, documented in
//! the README.

use std::process::ExitCode;

use discrecorder::mmc::configuration::{FeatureCode, Profile, RequestType};
use discrecorder::mmc::emulator::{DriveState, Fault};
use discrecorder::{emu, master, Error, HResult, Owner, Recorder};
use serde::Serialize;

/// A profile or feature: its number and name.
#[derive(Serialize)]
struct Named {
    code: String,
    name: Option<&'static str>,
    current: bool,
}

fn profile(p: Profile, current: bool) -> Named {
    Named {
        code: format!("0x{:04X}", p.0),
        name: p.name(),
        current,
    }
}

fn feature(f: FeatureCode, current: bool) -> Named {
    Named {
        code: format!("0x{:04X}", f.0),
        name: f.name(),
        current,
    }
}

fn mode_page_name(code: u8) -> Option<&'static str> {
    Some(match code {
        0x01 => "Read/Write Error Recovery",
        0x05 => "Write Parameters",
        0x08 => "Caching",
        0x0D => "CD Device Parameters",
        0x0E => "CD Audio Control",
        0x1A => "Power Condition",
        0x1C => "Fault/Failure Reporting",
        0x1D => "Timeout and Protect",
        0x2A => "MM Capabilities and Mechanical Status",
        _ => return None,
    })
}

fn label(n: &Named) -> String {
    match n.name {
        Some(name) => format!("{} {name}", n.code),
        None => n.code.clone(),
    }
}

/// One row of `discrec list`.
#[derive(Serialize)]
struct ListRow {
    id: String,
    device: String,
    sg: Option<String>,
    emulated: bool,
    vendor: Option<String>,
    product: Option<String>,
    revision: Option<String>,
    current_profile: Option<Named>,
    owner: Option<Owner>,
    error: Option<String>,
}

fn list_row(info: master::RecorderInfo) -> ListRow {
    let mut row = ListRow {
        id: info.id,
        device: info.device,
        sg: info.sg,
        emulated: info.emulated,
        vendor: None,
        product: None,
        revision: None,
        current_profile: None,
        owner: None,
        error: None,
    };
    let rec = match Recorder::open(&row.device) {
        Ok(r) => r,
        Err(e) => {
            row.error = Some(e.to_string());
            return row;
        }
    };
    // One hung drive must not stall the whole list for the default timeout per command.
    rec.set_command_timeout(std::time::Duration::from_secs(2));
    match rec.identity() {
        Ok(id) => {
            row.vendor = Some(id.vendor);
            row.product = Some(id.product);
            row.revision = Some(id.revision);
        }
        Err(e) => row.error = Some(e.to_string()),
    }
    if row.error.is_none() {
        match rec.configuration(RequestType::Current) {
            Ok(c) if c.current_profile.0 != 0 => {
                row.current_profile = Some(profile(c.current_profile, true))
            }
            Ok(_) => {}
            Err(e) => row.error = Some(e.to_string()),
        }
    }
    match rec.owner() {
        Ok(o) => row.owner = o,
        Err(e) => {
            row.error.get_or_insert_with(|| e.to_string());
        }
    }
    row
}

fn cell(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("-")
}

pub fn list(json: bool) -> Result<ExitCode, Error> {
    let recorders = master::recorders();
    let drives = recorders.iter().filter(|r| !r.emulated).count();
    let rows: Vec<ListRow> = recorders.into_iter().map(list_row).collect();
    if json {
        println!(
            "{}",
            serde_json::json!({ "optical_drives": drives, "recorders": rows })
        );
        return Ok(ExitCode::SUCCESS);
    }
    if drives == 0 {
        println!("No optical drive on this machine: showing emulated recorders only.");
    }
    if rows.is_empty() {
        println!("No recorders. Create an emulated one with `discrec emu create NAME`.");
        return Ok(ExitCode::SUCCESS);
    }
    let table: Vec<[String; 7]> = rows
        .iter()
        .map(|r| {
            [
                r.id.clone(),
                r.device.clone(),
                cell(&r.vendor).to_owned(),
                cell(&r.product).to_owned(),
                cell(&r.revision).to_owned(),
                r.current_profile.as_ref().map_or("-".to_owned(), label),
                match (&r.owner, &r.error) {
                    (Some(o), _) => o.describe(),
                    (None, Some(e)) => format!("error: {e}"),
                    (None, None) => "free".to_owned(),
                },
            ]
        })
        .collect();
    let header = [
        "ID", "DEVICE", "VENDOR", "PRODUCT", "REV", "MEDIUM", "OWNER",
    ];
    let mut widths = header.map(str::len);
    for row in &table {
        for (w, c) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let print = |cells: &[&str]| {
        let mut line = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                line.push_str(c);
            } else {
                line.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        println!("{}", line.trim_end());
    };
    print(&header);
    for row in &table {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        print(&cells);
    }
    Ok(ExitCode::SUCCESS)
}

/// Everything `discrec info` reports.
#[derive(Serialize)]
struct Info {
    id: String,
    device: String,
    volume_name: String,
    volume_path_names: Vec<String>,
    legacy_device_number: Option<u32>,
    is_mmc: bool,
    vendor: Option<String>,
    product: Option<String>,
    revision: Option<String>,
    serial: Option<String>,
    device_can_load_media: Option<bool>,
    medium: Option<String>,
    profiles: Vec<Named>,
    features: Vec<Named>,
    mode_pages: Vec<Named>,
    owner: Option<Owner>,
    errors: Vec<String>,
}

pub fn info(json: bool, device: &str) -> Result<ExitCode, Error> {
    let rec = Recorder::open(device)?;
    let mut info = Info {
        id: rec.active_recorder_id(),
        device: rec.device().spec().to_owned(),
        volume_name: rec.volume_name(),
        volume_path_names: rec
            .volume_path_names()?
            .iter()
            .map(|p| discrecorder::sanitize(&p.to_string_lossy()))
            .collect(),
        legacy_device_number: rec.legacy_device_number(),
        is_mmc: rec.is_mmc(),
        vendor: None,
        product: None,
        revision: None,
        serial: None,
        device_can_load_media: None,
        medium: None,
        profiles: Vec::new(),
        features: Vec::new(),
        mode_pages: Vec::new(),
        owner: rec.owner()?,
        errors: Vec::new(),
    };
    if info.is_mmc {
        let mut note = |e: Error| info_errors_push(&mut info.errors, e);
        match rec.identity() {
            Ok(id) => {
                info.vendor = Some(id.vendor);
                info.product = Some(id.product);
                info.revision = Some(id.revision);
            }
            Err(e) => note(e),
        }
        match rec.serial_number() {
            Ok(s) => info.serial = s,
            Err(e) => note(e),
        }
        match rec.configuration(RequestType::All) {
            Ok(config) => {
                if let Some(Ok(list)) = config.profiles() {
                    info.profiles = list.iter().map(|p| profile(p.profile, p.current)).collect();
                }
                info.features = config
                    .features
                    .iter()
                    .map(|f| feature(f.code, f.current))
                    .collect();
                info.device_can_load_media = config
                    .removable_medium()
                    .and_then(|r| r.ok())
                    .map(|r| r.can_load_media());
            }
            Err(e) => note(e),
        }
        match rec.supported_mode_pages() {
            Ok(pages) => {
                info.mode_pages = pages
                    .into_iter()
                    .map(|p| Named {
                        code: format!("0x{p:02X}"),
                        name: mode_page_name(p),
                        current: false,
                    })
                    .collect()
            }
            Err(e) => note(e),
        }
        info.medium = Some(match rec.check_medium() {
            Ok(()) => "ready".to_owned(),
            Err(e) if e.hresult() == HResult::MediaNoMedia => "none".to_owned(),
            Err(e) => format!("not ready: {}", e.name()),
        });
    }
    if json {
        println!(
            "{}",
            serde_json::to_string(&info)
                .map_err(|e| Error::new(HResult::EFail, format!("cannot encode JSON: {e}")))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut lines: Vec<(&str, String)> = vec![
        ("id", info.id.clone()),
        ("device", info.device.clone()),
        ("volume name", info.volume_name.clone()),
        (
            "mounted at",
            if info.volume_path_names.is_empty() {
                "-".to_owned()
            } else {
                info.volume_path_names.join(", ")
            },
        ),
        (
            "legacy number",
            info.legacy_device_number
                .map_or("-".to_owned(), |n| n.to_string()),
        ),
        (
            "owner",
            info.owner
                .as_ref()
                .map_or("free".to_owned(), Owner::describe),
        ),
    ];
    if !info.is_mmc {
        lines.push((
            "kind",
            "block device, not an MMC device (not an optical drive): no profiles, features or tray"
                .to_owned(),
        ));
    } else {
        lines.push(("vendor", cell(&info.vendor).to_owned()));
        lines.push(("product", cell(&info.product).to_owned()));
        lines.push(("revision", cell(&info.revision).to_owned()));
        lines.push(("serial", cell(&info.serial).to_owned()));
        lines.push(("medium", cell(&info.medium).to_owned()));
        lines.push((
            "can load media",
            info.device_can_load_media
                .map_or("-".to_owned(), |b| if b { "yes" } else { "no" }.to_owned()),
        ));
    }
    for (k, v) in &lines {
        println!("{k:<15} {v}");
    }
    let section = |title: &str, items: &[Named]| {
        if items.is_empty() {
            return;
        }
        println!("{title}:");
        for n in items {
            let mark = if n.current { "*" } else { " " };
            println!("  {mark} {}", label(n));
        }
    };
    section("profiles (* current)", &info.profiles);
    section("features (* current)", &info.features);
    section("mode pages", &info.mode_pages);
    for e in &info.errors {
        println!("error: {e}");
    }
    Ok(ExitCode::SUCCESS)
}

fn info_errors_push(errors: &mut Vec<String>, e: Error) {
    errors.push(e.to_string());
}

pub fn tray(json: bool, device: &str, name: &str, eject: bool) -> Result<ExitCode, Error> {
    let rec = Recorder::open(device)?;
    rec.set_client_name(name)?;
    if eject {
        rec.eject_media()?;
    } else {
        rec.close_tray()?;
    }
    if json {
        println!(
            "{}",
            serde_json::json!({ "device": device, "done": if eject { "eject" } else { "close_tray" } })
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_profile(s: &str) -> Result<u16, Error> {
    let t = s.trim_start_matches("0x").trim_start_matches("0X");
    u16::from_str_radix(t, 16).map_err(|_| {
        Error::new(
            HResult::EInvalidArg,
            format!("--medium {s:?}: give a profile number such as 0x0009, or none"),
        )
    })
}

pub fn emu_set(
    name: &str,
    medium: Option<&str>,
    tray: Option<&str>,
    fault: Option<&str>,
) -> Result<DriveState, Error> {
    let medium = match medium {
        None => None,
        Some("none") => Some(None),
        Some(p) => Some(Some(parse_profile(p)?)),
    };
    emu::update(name, |s| {
        match medium {
            Some(Some(p)) => s.insert_medium(p),
            Some(None) => s.remove_medium(),
            None => {}
        }
        match tray {
            Some("open") => s.tray_open = true,
            Some("closed") => s.tray_open = false,
            _ => {}
        }
        match fault {
            Some("hang") => s.fault = Fault::Hang,
            Some("vanish") => s.fault = Fault::Vanish,
            Some("garbage") => s.fault = Fault::Garbage,
            Some("none") => s.fault = Fault::None,
            _ => {}
        }
        s.clone()
    })
}
