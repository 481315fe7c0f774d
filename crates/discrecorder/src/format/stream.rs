//! The image, read ahead and fingerprinted on its own thread while the drive is written.
//!
//! Owns the bounded pipeline between the caller's `Read` and the writer: a reader thread fills
//! chunks of [`CHUNK_BYTES`], hashes the image with SHA-256 (one pass), gives each chunk a
//! 64-bit check and each sector a 16-bit tag (one cheaper pass), and hands the chunk over a
//! channel of [`AHEAD`] slots; the writer gives written buffers back for reuse. Memory stays at
//! a few chunks whatever the image size, plus the fingerprints verification needs ([`Ledger`]:
//! 8 bytes per chunk and 2 bytes per sector, 4 MiB for a 4 GiB image).
//! It must not talk to the drive.

use std::io::Read;
use std::sync::mpsc::{self, Receiver, SyncSender};

use sha2::{Digest, Sha256};

use crate::error::{Error, HResult, Result};

/// Bytes a chunk holds: 1 MiB, a whole number of every medium's write unit.
pub(crate) const CHUNK_BYTES: usize = 1 << 20;
/// Chunks read ahead of the one being written.
pub(crate) const AHEAD: usize = 2;
/// Bytes of a sector.
pub(crate) const SECTOR: usize = 2048;

/// One chunk of the image, with its fingerprints.
pub(crate) struct Chunk {
    pub(crate) data: Vec<u8>,
    pub(crate) check: u64,
    pub(crate) tags: Vec<u16>,
}

/// What the reader thread sends: a chunk, the end (with the image's SHA-256), or a failure.
pub(crate) enum Piece {
    Chunk(Chunk),
    End([u8; 32]),
    Failed(Error),
}

/// The fingerprints of what was written, for verification: the image's SHA-256 (decides a
/// full verification), a 64-bit check per chunk (decides a sampled one) and a 16-bit tag per
/// sector (points at the first bad sector of a chunk that differs).
#[derive(Default)]
pub(crate) struct Ledger {
    pub(crate) chunk_checks: Vec<u64>,
    pub(crate) sector_tags: Vec<u16>,
    pub(crate) image_sha256: Option<[u8; 32]>,
}

/// A fast 64-bit hash of one sector (four independent multiply-rotate lanes over its 64-bit
/// words, so that the CPU runs them side by side). Not cryptographic: it finds corruption, the
/// image's SHA-256 is the proof.
pub(crate) fn sector_hash(sector: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut lanes = [K, K ^ 1, K ^ 2, K ^ 3];
    for block in sector.chunks_exact(32) {
        for (lane, w) in lanes.iter_mut().zip(block.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(w);
            *lane = (*lane ^ u64::from_le_bytes(b))
                .wrapping_mul(0x0000_0100_0000_01B3)
                .rotate_left(29);
        }
    }
    let mut h = sector.len() as u64;
    for lane in lanes {
        h = (h ^ lane).wrapping_mul(K).rotate_left(31);
    }
    h ^ (h >> 29)
}

/// The 16-bit tag of a sector hash.
fn tag(h: u64) -> u16 {
    (h ^ (h >> 16) ^ (h >> 32) ^ (h >> 48)) as u16
}

/// The chunk check and sector tags of `data`.
pub(crate) fn fingerprint(data: &[u8]) -> (u64, Vec<u16>) {
    let mut check = 0u64;
    let tags = data
        .chunks(SECTOR)
        .map(|s| {
            let h = sector_hash(s);
            check = (check ^ h)
                .wrapping_mul(0x0000_0100_0000_01B3)
                .rotate_left(17);
            tag(h)
        })
        .collect();
    (check, tags)
}

/// The reader's ends: pieces in, spent buffers back.
pub(crate) struct Stream {
    pub(crate) pieces: Receiver<Piece>,
    pub(crate) spent: SyncSender<Vec<u8>>,
}

/// Starts the reader thread over `source`, which must give exactly `size` bytes. The thread
/// ends when the image is read, on a read error, or as soon as the writer drops its ends (it
/// is detached: a source blocked in `read` never holds the writer up).
pub(crate) fn start(mut source: impl Read + Send + 'static, size: u64) -> Result<Stream> {
    let (tx, pieces) = mpsc::sync_channel::<Piece>(AHEAD);
    let (spent, spent_rx) = mpsc::sync_channel::<Vec<u8>>(AHEAD + 2);
    std::thread::Builder::new()
        .name("discrecorder-image-reader".into())
        .spawn(move || {
            let mut image = Sha256::new();
            let mut left = size;
            while left > 0 {
                let want = usize::try_from(left.min(CHUNK_BYTES as u64)).unwrap_or(CHUNK_BYTES);
                let mut buf = spent_rx.try_recv().unwrap_or_default();
                buf.resize(want, 0);
                if let Err(e) = read_full(&mut source, &mut buf, size - left) {
                    let _ = tx.send(Piece::Failed(e));
                    return;
                }
                image.update(&buf);
                let (check, tags) = fingerprint(&buf);
                left -= want as u64;
                if tx
                    .send(Piece::Chunk(Chunk {
                        data: buf,
                        check,
                        tags,
                    }))
                    .is_err()
                {
                    return;
                }
            }
            let _ = tx.send(Piece::End(image.finalize().into()));
        })
        .map_err(|e| {
            Error::new(
                HResult::EOutOfMemory,
                format!("cannot start the image reader thread: {e}"),
            )
            .with_source(e)
        })?;
    Ok(Stream { pieces, spent })
}

/// Fills `buf` from `source`; a source that ends early is `E_INVALIDARG` (the size given was
/// wrong), a read error `E_FAIL` with its errno.
fn read_full(source: &mut impl Read, buf: &mut [u8], offset: u64) -> Result<()> {
    let mut got = 0;
    while got < buf.len() {
        match source.read(&mut buf[got..]) {
            Ok(0) => {
                return Err(Error::new(
                    HResult::EInvalidArg,
                    format!(
                        "the image ended after {} bytes, before the size given for it",
                        offset + got as u64
                    ),
                ))
            }
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(Error::new(
                    HResult::EFail,
                    format!("cannot read the image at byte {}: {e}", offset + got as u64),
                )
                .with_source(e))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_delivers_every_byte_in_chunks_and_the_image_hash() {
        let size = (CHUNK_BYTES * 2 + SECTOR * 3) as u64;
        let data: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
        let s = start(std::io::Cursor::new(data.clone()), size).expect("start");
        let mut got = Vec::new();
        let end = loop {
            match s.pieces.recv().expect("piece") {
                Piece::Chunk(c) => {
                    assert_eq!(c.tags.len(), c.data.len() / SECTOR);
                    assert_eq!(c.check, fingerprint(&c.data).0);
                    got.extend_from_slice(&c.data);
                }
                Piece::End(h) => break h,
                Piece::Failed(e) => panic!("{e}"),
            }
        };
        assert_eq!(got, data);
        assert_eq!(end, <[u8; 32]>::from(Sha256::digest(&data)));
    }

    #[test]
    fn a_short_source_is_invalid_arg_naming_where_it_ended() {
        let s = start(std::io::Cursor::new(vec![0u8; 4096]), 8192).expect("start");
        let e = loop {
            match s.pieces.recv().expect("piece") {
                Piece::Failed(e) => break e,
                Piece::Chunk(_) => {}
                Piece::End(_) => panic!("a short source ended well"),
            }
        };
        assert_eq!(e.hresult(), HResult::EInvalidArg);
        assert!(e.context().contains("4096"), "{e}");
    }

    #[test]
    fn one_changed_byte_changes_the_chunk_check_and_its_sector_tag() {
        let a = vec![0u8; SECTOR * 4];
        for at in [0, 1000, SECTOR * 2 + 7, SECTOR * 4 - 1] {
            let mut b = a.clone();
            b[at] ^= 1;
            let (ca, ta) = fingerprint(&a);
            let (cb, tb) = fingerprint(&b);
            assert_ne!(ca, cb, "byte {at}");
            let first = ta.iter().zip(&tb).position(|(x, y)| x != y);
            assert_eq!(first, Some(at / SECTOR), "byte {at}");
        }
    }
}
