//! `discrec info`: everything about one recorder (the IDiscRecorder2 surface). It owns the
//! names of profiles, features and mode pages as printed (shared with `list`); it must not
//! change anything on the device.

use std::process::ExitCode;

use discrecorder::mmc::configuration::{FeatureCode, Profile, RequestType};
use discrecorder::{Error, HResult, Owner, Recorder};
use serde::Serialize;

use crate::output::{self, outln, Failure, Outcome};

/// Show everything about one recorder: identity, profiles, features, mode pages, tray,
/// medium, mounts and owner.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  discrec info /dev/sr0
  discrec info emu:bay1 --json
  discrec info wwid:naa.5000c500a1b2c3d4

Partial failures (a command the drive did not answer) are printed on stderr (listed under
\"errors\" with --json) after everything that could be read; the exit status is then the
first failure's (66 the device vanished, 74 it did not answer or answered garbage). After a
command timeout the remaining queries are not attempted (each would wait as long again).")]
pub struct Args {
    /// The device: /dev/srN, emu:NAME, or a recorder id from `discrec list`.
    device: String,
    /// Give up on a drive command after SECS seconds (E_IMAPI_RECORDER_COMMAND_TIMEOUT); after
    /// the first timeout the remaining queries are not attempted.
    #[arg(long, value_name = "SECS", value_parser = output::parse_timeout)]
    timeout: Option<std::time::Duration>,
}

/// A profile or feature: its number and name.
#[derive(Serialize)]
pub struct Named {
    code: String,
    name: Option<&'static str>,
    current: bool,
}

pub fn profile(p: Profile, current: bool) -> Named {
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

pub fn label(n: &Named) -> String {
    match n.name {
        Some(name) => format!("{} {name}", n.code),
        None => n.code.clone(),
    }
}

/// Success, or the status of the first partial failure.
fn status(failed: Option<u8>) -> ExitCode {
    failed.map_or(ExitCode::SUCCESS, ExitCode::from)
}

/// A cell of a table: the value, or `-` when unknown.
pub fn cell(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("-")
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

/// The drive queries of `info`: each failure is noted (the first one's exit status kept), and
/// after a command timeout the rest are not attempted, since each would wait as long again.
struct Queries<'a> {
    failed: &'a mut Option<u8>,
    errors: &'a mut Vec<String>,
    /// Whether a command timed out.
    hung: bool,
    /// The queries skipped after a timeout.
    skipped: Vec<&'static str>,
}

impl Queries<'_> {
    /// Runs `query` unless the drive timed out already; `None` if it failed or was skipped.
    fn run<T>(
        &mut self,
        what: &'static str,
        query: impl FnOnce() -> Result<T, Error>,
    ) -> Option<T> {
        match self.run_raw(what, query)? {
            Ok(v) => Some(v),
            Err(e) => {
                self.note(e);
                None
            }
        }
    }

    /// Runs `query` unless the drive timed out already, leaving its error to the caller except
    /// for a timeout, which is noted; `None` if it was skipped or timed out.
    fn run_raw<T>(
        &mut self,
        what: &'static str,
        query: impl FnOnce() -> Result<T, Error>,
    ) -> Option<Result<T, Error>> {
        if self.hung {
            self.skipped.push(what);
            return None;
        }
        match query() {
            Err(e) if e.hresult() == HResult::RecorderCommandTimeout => {
                self.hung = true;
                self.note(e);
                None
            }
            other => Some(other),
        }
    }

    fn note(&mut self, e: Error) {
        self.failed
            .get_or_insert(output::exit_status(&e, output::status::CONFLICT));
        self.errors.push(e.to_string());
    }

    /// Adds one line for the queries skipped after a timeout.
    fn finish(self) {
        if !self.skipped.is_empty() {
            self.errors.push(format!(
                "not attempted after the drive timed out: {}",
                self.skipped.join(", ")
            ));
        }
    }
}

pub fn run(json: bool, args: Args) -> Outcome {
    let device = args.device.as_str();
    // The exit status of the first query that failed: everything else is still reported.
    let mut failed: Option<u8> = None;
    let rec = Recorder::open(device)?;
    if let Some(t) = args.timeout {
        rec.set_command_timeout(t);
    }
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
        let mut queries = Queries {
            failed: &mut failed,
            errors: &mut info.errors,
            hung: false,
            skipped: Vec::new(),
        };
        if let Some(id) = queries.run("identity", || rec.identity()) {
            info.vendor = Some(id.vendor);
            info.product = Some(id.product);
            info.revision = Some(id.revision);
        }
        if let Some(s) = queries.run("serial number", || rec.serial_number()) {
            info.serial = s;
        }
        if let Some(config) = queries.run("configuration", || rec.configuration(RequestType::All)) {
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
        if let Some(pages) = queries.run("mode pages", || rec.supported_mode_pages()) {
            info.mode_pages = pages
                .into_iter()
                .map(|p| Named {
                    code: format!("0x{p:02X}"),
                    name: mode_page_name(p),
                    current: false,
                })
                .collect();
        }
        info.medium = match queries.run_raw("medium", || rec.check_medium()) {
            Some(Ok(())) => Some("ready".to_owned()),
            Some(Err(e)) if e.hresult() == HResult::MediaNoMedia => Some("none".to_owned()),
            Some(Err(e)) => Some(format!("not ready: {}", e.name())),
            None => None,
        };
        queries.finish();
    }
    if json {
        output::print_json(&info)?;
        return Ok(status(failed));
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
                .map_or(crate::output::FREE.to_owned(), Owner::describe),
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
        outln!("{k:<15} {v}")?;
    }
    let section = |title: &str, items: &[Named]| -> Result<(), Failure> {
        if items.is_empty() {
            return Ok(());
        }
        outln!("{title}:")?;
        for n in items {
            let mark = if n.current { "*" } else { " " };
            outln!("  {mark} {}", label(n))?;
        }
        Ok(())
    };
    section("profiles (* current)", &info.profiles)?;
    section("features (* current)", &info.features)?;
    section("mode pages", &info.mode_pages)?;
    for e in &info.errors {
        output::notice(format_args!("{e}"));
    }
    Ok(status(failed))
}
