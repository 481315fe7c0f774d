//! Parsing throughput of the responses a recorder parses most: sense data, GET CONFIGURATION and
//! MODE SENSE(10), each on a response captured from a real (QEMU scsi-cd, Linux sr) drive, in
//! `tests/fixtures/qemu`. Beside each, its floor in the same run: one pass over the bytes the
//! response declares (summing them), the least any parser of them must do.
//!
//!     cargo bench -p discrecorder-mmc --bench parsing
//!
//! Criterion reports time per response and bytes per second.

// criterion_group! and criterion_main! generate functions without docs.
#![allow(missing_docs)]

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use discrecorder_mmc::configuration::Configuration;
use discrecorder_mmc::mode::ModeParameters;
use discrecorder_mmc::sense::SenseData;

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/qemu")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn floor(bytes: &[u8]) -> u64 {
    bytes.iter().map(|&b| u64::from(b)).sum()
}

/// The bytes a response declares (its length field plus the bytes before it): the captures are
/// whole allocation buffers, of which a parser reads only these.
fn declared(name: &str, buf: &[u8]) -> usize {
    let be = |i: usize, n: usize| {
        buf[i..i + n]
            .iter()
            .fold(0usize, |a, &b| a << 8 | b as usize)
    };
    let len = match name {
        "sense" => 8 + buf[7] as usize,
        "get_configuration" => 4 + be(0, 4),
        _ => 2 + be(0, 2),
    };
    len.min(buf.len())
}

/// A bench case: name, fixture file, and the parse reduced to a number.
type Case = (&'static str, &'static str, fn(&[u8]) -> usize);

fn parsing(c: &mut Criterion) {
    // Each parser's result is reduced to a number that depends on all of it, so no part of the
    // parse can be optimised away.
    let cases: [Case; 3] = [
        ("sense", "sense_no_medium.bin", |b| {
            SenseData::parse(b).map_or(0, |s| s.condition() as usize + 1)
        }),
        ("get_configuration", "get_configuration_rt0.bin", |b| {
            Configuration::parse(b).map_or(0, |c| {
                c.features.iter().map(|f| f.data.len() + 1).sum::<usize>()
                    + c.current_profile.0 as usize
            })
        }),
        ("mode_sense10", "mode_sense10_3f.bin", |b| {
            ModeParameters::parse(b).map_or(0, |m| {
                m.pages.iter().map(|p| p.data.len() + 1).sum::<usize>() + m.block_descriptors.len()
            })
        }),
    ];
    for (name, file, parse) in cases {
        let bytes = fixture(file);
        let n = declared(name, &bytes);
        assert!(parse(&bytes) > 0, "{file} must parse");
        let mut g = c.benchmark_group(format!("parse_{name}"));
        g.throughput(Throughput::Bytes(n as u64));
        g.bench_function("parse", |b| b.iter(|| parse(black_box(&bytes))));
        g.bench_function("floor", |b| b.iter(|| floor(black_box(&bytes[..n]))));
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(50)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = parsing
}
criterion_main!(benches);
