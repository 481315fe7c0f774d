//! The ring walk against a fake kernel that queues entries the way `target_core_user.c`'s
//! `queue_cmd_ring` does (header, request, iovecs, then the CDB in the same entry; a PAD entry
//! when the next one would not fit before the ring's end) and reads completions the way
//! `tcmu_handle_completions` does (from its last cleaned position up to our tail, by cmd_id).

use discrecorder_tcmu::ring::{
    Command, Response, Ring, RingError, HEAD_OFFSET, OP_CMD, OP_PAD, OP_TMR, TAIL_OFFSET,
    UFLAG_READ_LEN,
};

const CMDR_OFF: u32 = 128;
const CMDR_SIZE: u32 = 512;
const DATA_OFF: usize = (CMDR_OFF + CMDR_SIZE) as usize;
const MAP_LEN: usize = DATA_OFF + 8192;

/// The kernel's side: where it writes next, where it has cleaned up to, its next data offset.
struct Kernel {
    head: u32,
    cleaned: u32,
    next_data: usize,
    next_id: u16,
}

fn new_map() -> Vec<u8> {
    let mut m = vec![0u8; MAP_LEN];
    m[0..2].copy_from_slice(&2u16.to_le_bytes());
    m[4..8].copy_from_slice(&CMDR_OFF.to_le_bytes());
    m[8..12].copy_from_slice(&CMDR_SIZE.to_le_bytes());
    m
}

impl Kernel {
    fn new() -> Kernel {
        Kernel {
            head: 0,
            cleaned: 0,
            next_data: DATA_OFF,
            next_id: 1,
        }
    }

    /// Queues `cdb` with one data buffer holding `data` (`len` bytes); returns its cmd_id.
    fn queue(&mut self, m: &mut [u8], cdb: &[u8], data: &[u8], len: usize) -> u16 {
        let iovs = usize::from(len > 0);
        let base = 48 + 16 * iovs;
        let size = ((base + cdb.len() + 7) & !7).max(112) as u32;
        if self.head + size > CMDR_SIZE {
            let pad = CMDR_SIZE - self.head;
            let at = (CMDR_OFF + self.head) as usize;
            m[at..at + 4].copy_from_slice(&(pad | u32::from(OP_PAD)).to_le_bytes());
            self.head = 0;
        }
        let at = (CMDR_OFF + self.head) as usize;
        let id = self.next_id;
        self.next_id += 1;
        m[at..at + size as usize].fill(0);
        m[at..at + 4].copy_from_slice(&(size | u32::from(OP_CMD)).to_le_bytes());
        m[at + 4..at + 6].copy_from_slice(&id.to_le_bytes());
        m[at + 8..at + 12].copy_from_slice(&(iovs as u32).to_le_bytes());
        let cdb_off = (at + base) as u64;
        m[at + 24..at + 32].copy_from_slice(&cdb_off.to_le_bytes());
        if len > 0 {
            m[at + 48..at + 56].copy_from_slice(&(self.next_data as u64).to_le_bytes());
            m[at + 56..at + 64].copy_from_slice(&(len as u64).to_le_bytes());
            m[self.next_data..self.next_data + data.len()].copy_from_slice(data);
            self.next_data += len;
        }
        m[at + base..at + base + cdb.len()].copy_from_slice(cdb);
        self.head = (self.head + size) % CMDR_SIZE;
        m[HEAD_OFFSET..HEAD_OFFSET + 4].copy_from_slice(&self.head.to_le_bytes());
        id
    }

    /// Queues an ABORT_TASK notification naming `ids`.
    fn queue_tmr(&mut self, m: &mut [u8], ids: &[u16]) {
        let size = ((32 + 2 * ids.len() + 7) & !7) as u32;
        assert!(
            self.head + size <= CMDR_SIZE,
            "keep the test simple: no PAD here"
        );
        let at = (CMDR_OFF + self.head) as usize;
        m[at..at + size as usize].fill(0);
        m[at..at + 4].copy_from_slice(&(size | u32::from(OP_TMR)).to_le_bytes());
        m[at + 8] = 1;
        m[at + 12..at + 16].copy_from_slice(&(ids.len() as u32).to_le_bytes());
        for (i, id) in ids.iter().enumerate() {
            m[at + 32 + 2 * i..at + 34 + 2 * i].copy_from_slice(&id.to_le_bytes());
        }
        self.head = (self.head + size) % CMDR_SIZE;
        m[HEAD_OFFSET..HEAD_OFFSET + 4].copy_from_slice(&self.head.to_le_bytes());
    }

    /// Completions from the last cleaned entry up to our tail: (cmd_id, status, read_len if
    /// flagged, first sense bytes), padding skipped.
    fn completions(&mut self, m: &[u8]) -> Vec<(u16, u8, Option<u32>, [u8; 3])> {
        let tail = u32::from_le_bytes(m[TAIL_OFFSET..TAIL_OFFSET + 4].try_into().expect("4 bytes"));
        let mut out = Vec::new();
        while self.cleaned != tail {
            let at = (CMDR_OFF + self.cleaned) as usize;
            let len_op = u32::from_le_bytes(m[at..at + 4].try_into().expect("4 bytes"));
            if len_op & 7 == u32::from(OP_CMD) {
                let id = u16::from_le_bytes([m[at + 4], m[at + 5]]);
                let read_len = (m[at + 7] & UFLAG_READ_LEN != 0)
                    .then(|| u32::from_le_bytes(m[at + 12..at + 16].try_into().expect("4 bytes")));
                out.push((
                    id,
                    m[at + 8],
                    read_len,
                    [m[at + 16], m[at + 17], m[at + 18]],
                ));
            }
            self.cleaned = (self.cleaned + (len_op & !7)) % CMDR_SIZE;
        }
        out
    }
}

fn good(data: &[u8]) -> Response {
    Response::Complete {
        status: 0,
        data_in: data.to_vec(),
        sense: Vec::new(),
    }
}

#[test]
fn a_command_is_answered_in_its_own_slot_with_data_and_read_length() {
    let mut k = Kernel::new();
    let mut m = new_map();
    let id = k.queue(&mut m, &[0x12, 0, 0, 0, 96, 0], &[], 96);
    let mut ring = Ring::new(m).expect("valid mailbox");
    let mut seen = Vec::new();
    let n = ring
        .process(|c: &Command| {
            seen.push(c.clone());
            good(b"inquiry data")
        })
        .expect("served");
    assert_eq!(n, 1);
    assert_eq!(seen[0].cdb, vec![0x12, 0, 0, 0, 96, 0]);
    assert_eq!(seen[0].data.len(), 96);
    let m = ring.memory();
    assert_eq!(k.completions(m), vec![(id, 0, Some(12), [0, 0, 0])]);
    assert_eq!(&m[DATA_OFF..DATA_OFF + 12], b"inquiry data");
}

#[test]
fn write_data_reaches_the_handler_and_sense_reaches_the_kernel() {
    let mut k = Kernel::new();
    let mut m = new_map();
    let payload: Vec<u8> = (0..=255u8).cycle().take(2048).collect();
    let id = k.queue(&mut m, &[0x2A, 0, 0, 0, 0, 0, 0, 0, 1, 0], &payload, 2048);
    let mut ring = Ring::new(m).expect("valid mailbox");
    ring.process(|c: &Command| {
        assert_eq!(c.cdb.len(), 10);
        assert_eq!(c.data, payload);
        Response::Complete {
            status: 2,
            data_in: Vec::new(),
            sense: vec![0x70, 0, 3],
        }
    })
    .expect("served");
    assert_eq!(
        k.completions(ring.memory()),
        vec![(id, 2, None, [0x70, 0, 3])]
    );
}

#[test]
fn padding_at_the_ring_end_is_passed_over_and_positions_wrap() {
    let mut k = Kernel::new();
    let mut ring = Ring::new(new_map()).expect("valid mailbox");
    let mut ids = Vec::new();
    // 112-byte entries (the minimum) in a 512-byte ring: the fifth needs a PAD; round twice
    for round in 0..10u8 {
        let id = k.queue(ring.memory_mut(), &[0x00, 0, 0, 0, 0, round], &[], 0);
        ids.push(id);
        ring.process(|c: &Command| {
            assert_eq!(c.cdb[5], round);
            good(&[])
        })
        .expect("served");
        let done = k.completions(ring.memory());
        assert_eq!(done, vec![(id, 0, None, [0, 0, 0])], "round {round}");
    }
}

#[test]
fn a_held_command_keeps_its_slot_and_later_ones_complete_out_of_order() {
    let mut k = Kernel::new();
    let mut ring = Ring::new(new_map()).expect("valid mailbox");
    let hung = k.queue(ring.memory_mut(), &[0x00, 0, 0, 0, 0, 1], &[], 0);
    ring.process(|_: &Command| Response::Hold).expect("served");
    assert_eq!(ring.held(), 1);
    assert!(k.completions(ring.memory()).is_empty());
    let next = k.queue(ring.memory_mut(), &[0x00, 0, 0, 0, 0, 2], &[], 0);
    ring.process(|_: &Command| good(&[])).expect("served");
    // the second command completes in the first one's slot, named by its id
    assert_eq!(
        k.completions(ring.memory()),
        vec![(next, 0, None, [0, 0, 0])]
    );
    assert_eq!(ring.release_held(2, &[0x70, 0, 0x0B]).expect("released"), 1);
    assert_eq!(
        k.completions(ring.memory()),
        vec![(hung, 2, None, [0x70, 0, 0x0B])]
    );
    assert_eq!(ring.held(), 0);
}

#[test]
fn an_abort_of_a_held_command_completes_it_as_aborted() {
    let mut k = Kernel::new();
    let mut ring = Ring::new(new_map()).expect("valid mailbox");
    let first = k.queue(ring.memory_mut(), &[0x00, 0, 0, 0, 0, 1], &[], 0);
    let second = k.queue(ring.memory_mut(), &[0x00, 0, 0, 0, 0, 2], &[], 0);
    ring.process(|_: &Command| Response::Hold).expect("served");
    assert_eq!(ring.held(), 2);
    k.queue_tmr(ring.memory_mut(), &[second, 999]);
    assert_eq!(ring.process(|_: &Command| good(&[])).expect("served"), 1);
    // the aborted one completes (in the first slot, named by its id); the other stays held
    assert_eq!(
        k.completions(ring.memory()),
        vec![(second, 2, None, [0x70, 0, 0x0B])]
    );
    assert_eq!(ring.held(), 1);
    ring.release_held(2, &[0x70, 0, 0x0B]).expect("released");
    assert_eq!(
        k.completions(ring.memory()),
        vec![(first, 2, None, [0x70, 0, 0x0B])]
    );
}

#[test]
fn a_buffer_outside_the_map_is_an_error_not_an_access() {
    let mut k = Kernel::new();
    let mut m = new_map();
    k.queue(&mut m, &[0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0], &[], 16);
    let at = CMDR_OFF as usize;
    m[at + 48..at + 56].copy_from_slice(&(MAP_LEN as u64 - 8).to_le_bytes());
    let mut ring = Ring::new(m).expect("valid mailbox");
    let e = ring
        .process(|_: &Command| good(&[]))
        .expect_err("iovec out of the map");
    assert!(matches!(e, RingError::Request { .. }), "{e:?}");
}

#[test]
fn a_mailbox_of_another_version_or_too_big_a_ring_is_refused() {
    let mut m = new_map();
    m[0] = 1;
    assert_eq!(Ring::new(m).err(), Some(RingError::Version(1)));
    let mut m = new_map();
    m[8..12].copy_from_slice(&(MAP_LEN as u32).to_le_bytes());
    assert!(matches!(Ring::new(m).err(), Some(RingError::Mailbox(_))));
    assert!(Ring::new(vec![0u8; 10]).is_err());
}

#[test]
fn an_entry_running_past_the_ring_end_is_an_error() {
    let mut k = Kernel::new();
    let mut m = new_map();
    k.queue(&mut m, &[0, 0, 0, 0, 0, 0], &[], 0);
    let at = CMDR_OFF as usize;
    m[at..at + 4].copy_from_slice(&(1024 | u32::from(OP_CMD)).to_le_bytes());
    let mut ring = Ring::new(m).expect("valid mailbox");
    let e = ring
        .process(|_: &Command| good(&[]))
        .expect_err("entry too long");
    assert!(matches!(e, RingError::EntryLength { .. }), "{e:?}");
    let _ = ring.memory().len();
}

proptest::proptest! {
    #[test]
    fn any_bytes_as_the_map_never_panic(data in proptest::collection::vec(proptest::num::u8::ANY, 0..2048)) {
        discrecorder_tcmu::fuzzing::ring(&data);
    }
}
