//! `discrec list`: every recorder on the machine, one row each. It owns the table and the list
//! JSON; identity and owner of each row come from the library, one recorder at a time, and one
//! hung drive must not stall the rest.

use std::process::ExitCode;

use clap::ValueEnum;
use discrecorder::mmc::configuration::RequestType;
use discrecorder::{master, Owner, Recorder};
use serde::Serialize;

use crate::info::{cell, label, profile, Named};
use crate::output::{self, outln, Outcome};

/// List every recorder on the machine: optical drives and emulated recorders.
///
/// A device nobody holds shows as `free` in the OWNER column (and `"owner": null` in JSON).
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  discrec list
  discrec list -n -o id,owner
  discrec list --output device,vendor,product
  discrec list --json")]
pub struct Args {
    /// Print no header line.
    #[arg(long, short = 'n')]
    noheadings: bool,
    /// The columns to print, comma-separated, in this order (text output only).
    #[arg(
        long,
        short = 'o',
        value_name = "COLUMNS",
        value_delimiter = ',',
        ignore_case = true,
        default_value = "id,device,vendor,product,rev,medium,owner"
    )]
    output: Vec<Column>,
    /// Give up on a drive command after SECS seconds (default 2: one hung drive must not stall
    /// the whole list).
    #[arg(long, value_name = "SECS", value_parser = output::parse_timeout)]
    timeout: Option<std::time::Duration>,
}

/// A column of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Column {
    /// The recorder id (`wwid:…`, `path:…`, `dev:…` or `emu:NAME`).
    Id,
    /// The block device.
    Device,
    /// The SCSI generic node, where there is one.
    Sg,
    /// INQUIRY vendor.
    Vendor,
    /// INQUIRY product.
    Product,
    /// INQUIRY product revision.
    Rev,
    /// The current profile (the medium in the drive).
    Medium,
    /// Who holds the device, or `free`.
    Owner,
}

impl Column {
    fn header(self) -> &'static str {
        match self {
            Column::Id => "ID",
            Column::Device => "DEVICE",
            Column::Sg => "SG",
            Column::Vendor => "VENDOR",
            Column::Product => "PRODUCT",
            Column::Rev => "REV",
            Column::Medium => "MEDIUM",
            Column::Owner => "OWNER",
        }
    }

    fn cell(self, r: &ListRow) -> String {
        match self {
            Column::Id => r.id.clone(),
            Column::Device => r.device.clone(),
            Column::Sg => cell(&r.sg).to_owned(),
            Column::Vendor => cell(&r.vendor).to_owned(),
            Column::Product => cell(&r.product).to_owned(),
            Column::Rev => cell(&r.revision).to_owned(),
            Column::Medium => r.current_profile.as_ref().map_or("-".to_owned(), label),
            Column::Owner => match (&r.owner, &r.error) {
                (Some(o), _) => o.describe(),
                (None, Some(e)) => format!("error: {e}"),
                (None, None) => output::FREE.to_owned(),
            },
        }
    }
}

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

fn list_row(info: master::RecorderInfo, timeout: std::time::Duration) -> ListRow {
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
    rec.set_command_timeout(timeout);
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

pub fn run(json: bool, args: Args) -> Outcome {
    let recorders = master::recorders();
    let drives = recorders.iter().filter(|r| !r.emulated).count();
    let timeout = args.timeout.unwrap_or(std::time::Duration::from_secs(2));
    let rows: Vec<ListRow> = recorders
        .into_iter()
        .map(|r| list_row(r, timeout))
        .collect();
    if json {
        output::print_json(&ListOutput {
            optical_drives: drives,
            recorders: rows,
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    if drives == 0 {
        output::notice(format_args!(
            "No optical drive on this machine: showing emulated recorders only."
        ));
    }
    if rows.is_empty() {
        output::notice(format_args!(
            "No recorders. Create an emulated one with `discrec emu create NAME`."
        ));
        return Ok(ExitCode::SUCCESS);
    }
    let columns = &args.output;
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| columns.iter().map(|c| c.cell(r)).collect())
        .collect();
    let header: Vec<String> = columns.iter().map(|c| c.header().to_owned()).collect();
    let mut widths: Vec<usize> = header.iter().map(String::len).collect();
    for row in &table {
        for (w, c) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let print = |cells: &[String]| {
        let mut line = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                line.push_str(c);
            } else {
                line.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        outln!("{}", line.trim_end())
    };
    if !args.noheadings {
        print(&header)?;
    }
    for row in &table {
        print(row)?;
    }
    Ok(ExitCode::SUCCESS)
}
