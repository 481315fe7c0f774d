//! `discrec list`: every recorder on the machine, one row each. It owns the table and the list
//! JSON; identity and owner of each row come from the library, one recorder at a time, and one
//! hung drive must not stall the rest.

use std::process::ExitCode;

use discrecorder::mmc::configuration::RequestType;
use discrecorder::{master, Error, Owner, Recorder};
use serde::Serialize;

use crate::info::{cell, label, profile, Named};
use crate::output;

/// List every recorder on the machine: optical drives and emulated recorders.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  discrec list
  discrec list --json")]
pub struct Args {}

/// What `list --json` prints.
#[derive(Serialize)]
struct ListOutput {
    optical_drives: usize,
    recorders: Vec<ListRow>,
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

pub fn run(json: bool, _args: Args) -> Result<ExitCode, Error> {
    let recorders = master::recorders();
    let drives = recorders.iter().filter(|r| !r.emulated).count();
    let rows: Vec<ListRow> = recorders.into_iter().map(list_row).collect();
    if json {
        output::print_json(&ListOutput {
            optical_drives: drives,
            recorders: rows,
        });
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
