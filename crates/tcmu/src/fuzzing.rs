//! The fuzz target's property check ([`ring`]): arbitrary bytes as the shared memory of a TCMU
//! device, served by [`crate::ring::Ring`]. Only with the `testing` feature. Must not do I/O.

use crate::ring::{Command, Response, Ring, MAILBOX_LEN};

/// The bytes are the whole map (mailbox, ring, data); a small, valid-looking mailbox is laid
/// over the first bytes when the input asks for it (its first byte odd), so that the walk gets
/// past the mailbox checks. Properties: attaching and serving never panic; every command the
/// handler sees has a CDB of the length its opcode says and at most the map's bytes of data;
/// the tail we publish stays inside the ring and 8-byte aligned.
pub fn ring(data: &[u8]) {
    let mut mem = data.to_vec();
    if data.first().is_some_and(|b| b & 1 == 1) && mem.len() >= MAILBOX_LEN + 64 {
        let ring_size = (((mem.len() - 128) / 2) & !7).max(64) as u32;
        if 128 + ring_size as usize <= mem.len() {
            mem[0..2].copy_from_slice(&2u16.to_le_bytes());
            mem[4..8].copy_from_slice(&128u32.to_le_bytes());
            mem[8..12].copy_from_slice(&ring_size.to_le_bytes());
            let head = (u32::from_le_bytes([mem[12], mem[13], mem[14], mem[15]]) % ring_size) & !7;
            mem[12..16].copy_from_slice(&head.to_le_bytes());
            mem[64..68].copy_from_slice(&0u32.to_le_bytes());
        }
    }
    let Ok(mut r) = Ring::new(mem) else { return };
    let mut calls = 0u32;
    let _ = r.process(|cmd: &Command| {
        assert_eq!(cmd.cdb.len(), crate::ring::cdb_len(&cmd.cdb));
        assert!(cmd.data.len() as u64 <= crate::ring::MAX_DATA);
        calls += 1;
        if calls.is_multiple_of(3) {
            Response::Hold
        } else {
            Response::Complete {
                status: 0,
                data_in: cmd.cdb.clone(),
                sense: vec![0x70; 100],
            }
        }
    });
    let _ = r.release_held(2, &[0x70, 0, 5]);
    let mem = r.memory();
    if mem.len() >= MAILBOX_LEN {
        let tail = u32::from_le_bytes([mem[64], mem[65], mem[66], mem[67]]);
        let size = u32::from_le_bytes([mem[8], mem[9], mem[10], mem[11]]);
        assert!(tail.is_multiple_of(8) && (tail < size || tail == 0));
    }
}
