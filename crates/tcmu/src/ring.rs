//! The TCMU command ring: the layout of `struct tcmu_mailbox` and `struct tcmu_cmd_entry`
//! (`include/uapi/linux/target_core_user.h`), and the walk over the ring that turns the
//! kernel's entries into [`Command`]s and writes their completions back.
//!
//! Owns the ring protocol: where the mailbox's head and tail are, how entries (commands,
//! padding, anything else) are skipped and wrapped, where the CDB and the data iovecs are, how a
//! response (status, sense, read length) is written and in which slot (completions may be out of
//! order: a command the drive holds, a hang, keeps its slot until it is released). It reaches
//! the shared memory only through the [`Memory`] trait and must not do I/O, map memory or use
//! `unsafe`: every offset and length read from the ring is checked against the ring and the map
//! before use (the kernel's side is trusted no more than any other input), so arbitrary bytes
//! give an error, never a panic or an access outside the map. The real map is
//! [`crate::shm::UioMap`]; tests and the fuzz target use a [`Vec<u8>`].
//!
//! # Layout (all fields little-endian on x86; the kernel's native order)
//!
//! Mailbox at offset 0: `version` u16 @0 (2), `flags` u16 @2, `cmdr_off` u32 @4, `cmdr_size`
//! u32 @8, `cmd_head` u32 @12 (the kernel's), `cmd_tail` u32 @64 (ours, its own cache line).
//! Entries sit at `cmdr_off + position`, 8-byte aligned, never wrapping (the kernel pads to the
//! ring's end). Header: `len_op` u32 @0 (length | opcode in the low 3 bits: 0 PAD, 1 CMD, 2
//! TMR), `cmd_id` u16 @4, `kflags` u8 @6, `uflags` u8 @7. A request: `iov_cnt` u32 @8,
//! `iov_bidi_cnt` u32 @12, `iov_dif_cnt` u32 @16, `cdb_off` u64 @24, iovecs (`base` u64,
//! `len` u64, offsets into the map) from @48. (The header's `__packed` applies to the outer
//! struct only: the request and response structs inside the union keep their natural
//! alignment, hence the 4 bytes of padding before `cdb_off`.) The response overwrites the request in place:
//! `scsi_status` u8 @8, `read_len` u32 @12 (with `uflags` READ_LEN), sense (96 bytes) @16.

use thiserror::Error;

/// The mailbox version this module speaks.
pub const MAILBOX_VERSION: u16 = 2;
/// Offset of the kernel's `cmd_head` in the mailbox.
pub const HEAD_OFFSET: usize = 12;
/// Offset of our `cmd_tail` in the mailbox.
pub const TAIL_OFFSET: usize = 64;
/// Bytes of the mailbox this module reads.
pub const MAILBOX_LEN: usize = TAIL_OFFSET + 4;
/// Entry opcode: padding up to the ring's end.
pub const OP_PAD: u8 = 0;
/// Entry opcode: a SCSI command.
pub const OP_CMD: u8 = 1;
/// Entry opcode: a task management notification (only with `tmr_notification`).
pub const OP_TMR: u8 = 2;
/// `uflags`: the handler did not know the entry's opcode.
pub const UFLAG_UNKNOWN_OP: u8 = 0x1;
/// `uflags`: `read_len` holds the data-in length (the rest is residual).
pub const UFLAG_READ_LEN: u8 = 0x2;
/// Size of the sense buffer in a response.
pub const SENSE_LEN: usize = 96;
/// Size of an entry header.
pub const HEADER_LEN: usize = 8;
/// Offset of the first iovec in a request.
pub const IOV_OFFSET: usize = 48;
/// Offset of `cdb_off` in a request.
pub const CDB_OFF_OFFSET: usize = 24;
/// Size of one iovec.
pub const IOV_LEN: usize = 16;
/// Bytes a response occupies in its entry (header, status, read_len, sense).
pub const RESPONSE_LEN: usize = 16 + SENSE_LEN;
/// Offset of `cmd_cnt` in a TMR entry (`struct tcmu_tmr_entry`: `tmr_type` u8 @8, `cmd_cnt`
/// u32 @12, `cmd_ids` u16 each from @32).
pub const TMR_CMD_CNT_OFFSET: usize = 12;
/// Offset of the first aborted command id in a TMR entry.
pub const TMR_IDS_OFFSET: usize = 32;
/// SCSI status CHECK CONDITION.
pub const CHECK_CONDITION: u8 = 0x02;
/// Fixed-format sense ABORTED COMMAND, no additional sense: what a held command is completed
/// with when the kernel aborts it (a TMR entry names it) or the server stops.
pub const ABORTED_SENSE: [u8; 18] = [0x70, 0, 0x0B, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
/// The most data-out bytes gathered for one command (a real MMC write is at most a few MiB).
pub const MAX_DATA: u64 = 64 << 20;

/// Why the ring cannot be served.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RingError {
    /// The map is smaller than the mailbox, or an access fell outside it.
    #[error("access outside the map: {len} bytes at offset {offset}")]
    OutOfMap {
        /// Offset of the access.
        offset: u64,
        /// Its length.
        len: u64,
    },
    /// The mailbox's version is not [`MAILBOX_VERSION`].
    #[error("mailbox version {0}, expected {MAILBOX_VERSION}")]
    Version(u16),
    /// The mailbox's ring does not fit the map, or head or tail lie outside it.
    #[error("mailbox: {0}")]
    Mailbox(&'static str),
    /// An entry's length is not a positive multiple of 8 that fits before the ring's end.
    #[error("entry at {position}: length {len}")]
    EntryLength {
        /// Ring position of the entry.
        position: u32,
        /// Its length field.
        len: u32,
    },
    /// A request's iovec count, CDB offset or iovec does not fit.
    #[error("entry at {position}: {what}")]
    Request {
        /// Ring position of the entry.
        position: u32,
        /// What is wrong.
        what: &'static str,
    },
    /// A completion was asked for, but no slot is free (no command is outstanding).
    #[error("no ring slot to complete into")]
    NoSlot,
}

/// The shared memory the ring lives in: bounds-checked copies in and out, and the two mailbox
/// words with acquire/release ordering. Out-of-bounds accesses fail.
pub trait Memory {
    /// Length of the map in bytes.
    fn len(&self) -> usize;
    /// Whether the map is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Copies `buf.len()` bytes from `offset`; false (and `buf` unspecified) if out of bounds.
    fn read(&self, offset: usize, buf: &mut [u8]) -> bool;
    /// Copies `data` to `offset`; false (nothing written) if out of bounds.
    fn write(&mut self, offset: usize, data: &[u8]) -> bool;
    /// Reads a u32 the other side writes (acquire: what it wrote before is visible after).
    fn load_u32(&self, offset: usize) -> Option<u32> {
        let mut b = [0u8; 4];
        self.read(offset, &mut b).then(|| u32::from_le_bytes(b))
    }
    /// Writes a u32 the other side reads (release: what we wrote before is visible to it first).
    fn store_u32(&mut self, offset: usize, value: u32) -> bool {
        self.write(offset, &value.to_le_bytes())
    }
}

impl Memory for Vec<u8> {
    fn len(&self) -> usize {
        <[u8]>::len(self)
    }
    fn read(&self, offset: usize, buf: &mut [u8]) -> bool {
        match offset
            .checked_add(buf.len())
            .and_then(|end| self.get(offset..end))
        {
            Some(src) => {
                buf.copy_from_slice(src);
                true
            }
            None => false,
        }
    }
    fn write(&mut self, offset: usize, data: &[u8]) -> bool {
        match offset
            .checked_add(data.len())
            .and_then(|end| self.get_mut(offset..end))
        {
            Some(dst) => {
                dst.copy_from_slice(data);
                true
            }
            None => false,
        }
    }
}

/// The mailbox's fixed fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mailbox {
    /// Mailbox version.
    pub version: u16,
    /// Kernel capability flags (`TCMU_MAILBOX_FLAG_CAP_*`).
    pub flags: u16,
    /// Offset of the command ring in the map.
    pub cmdr_off: u32,
    /// Size of the command ring.
    pub cmdr_size: u32,
    /// The kernel's head (next entry it will write).
    pub cmd_head: u32,
    /// Our tail (next entry to complete).
    pub cmd_tail: u32,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

impl Mailbox {
    /// Decodes and checks the first [`MAILBOX_LEN`] bytes of a map of `map_len` bytes: version
    /// 2, the ring inside the map, head and tail inside the ring and 8-byte aligned.
    pub fn parse(b: &[u8; MAILBOX_LEN], map_len: usize) -> Result<Mailbox, RingError> {
        let mb = Mailbox {
            version: u16_at(b, 0),
            flags: u16_at(b, 2),
            cmdr_off: u32_at(b, 4),
            cmdr_size: u32_at(b, 8),
            cmd_head: u32_at(b, HEAD_OFFSET),
            cmd_tail: u32_at(b, TAIL_OFFSET),
        };
        if mb.version != MAILBOX_VERSION {
            return Err(RingError::Version(mb.version));
        }
        mb.check(map_len)?;
        Ok(mb)
    }

    fn check(&self, map_len: usize) -> Result<(), RingError> {
        let end = u64::from(self.cmdr_off) + u64::from(self.cmdr_size);
        if (self.cmdr_off as usize) < MAILBOX_LEN || end > map_len as u64 {
            return Err(RingError::Mailbox("command ring outside the map"));
        }
        if self.cmdr_size < 64 || !self.cmdr_size.is_multiple_of(8) {
            return Err(RingError::Mailbox("command ring size"));
        }
        for pos in [self.cmd_head, self.cmd_tail] {
            if pos >= self.cmdr_size || !pos.is_multiple_of(8) {
                return Err(RingError::Mailbox("head or tail outside the ring"));
            }
        }
        Ok(())
    }
}

/// An entry's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryHeader {
    /// Entry length in bytes (a multiple of 8).
    pub len: u32,
    /// Opcode ([`OP_PAD`], [`OP_CMD`], [`OP_TMR`], or unknown).
    pub op: u8,
    /// The command's id (what the kernel finds the completion by).
    pub cmd_id: u16,
    /// Kernel flags.
    pub kflags: u8,
    /// User flags.
    pub uflags: u8,
}

impl EntryHeader {
    /// Decodes a header found at ring `position` of a ring of `cmdr_size` bytes: the length
    /// must be at least a header, a multiple of 8 and end at or before the ring's end.
    pub fn parse(b: &[u8; HEADER_LEN], position: u32, cmdr_size: u32) -> Result<Self, RingError> {
        let len_op = u32_at(b, 0);
        let h = EntryHeader {
            len: len_op & !7,
            op: (len_op & 7) as u8,
            cmd_id: u16_at(b, 4),
            kflags: b[6],
            uflags: b[7],
        };
        if (h.len as usize) < HEADER_LEN
            || u64::from(position) + u64::from(h.len) > cmdr_size.into()
        {
            return Err(RingError::EntryLength {
                position,
                len: h.len,
            });
        }
        Ok(h)
    }
}

/// One data buffer of a request: `len` bytes at `offset` in the map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Iovec {
    /// Offset in the map.
    pub offset: u64,
    /// Length in bytes.
    pub len: u64,
}

/// A SCSI command request, decoded from its entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The command's id.
    pub cmd_id: u16,
    /// Offset of the CDB in the map.
    pub cdb_off: u64,
    /// The data buffers (data-out to read, data-in to fill), in order.
    pub iovs: Vec<Iovec>,
}

impl Request {
    /// Decodes a CMD entry (all `len` bytes of it, header included) found at ring `position`,
    /// checking that its iovecs fit the entry and that the CDB offset and every buffer lie in a
    /// map of `map_len` bytes. Bidirectional and DIF buffers are not supported (MMC has none).
    pub fn parse(entry: &[u8], position: u32, map_len: usize) -> Result<Request, RingError> {
        let bad = |what| RingError::Request { position, what };
        if entry.len() < IOV_OFFSET {
            return Err(bad("shorter than a request"));
        }
        let iov_cnt = u32_at(entry, 8);
        if u32_at(entry, 12) != 0 || u32_at(entry, 16) != 0 {
            return Err(bad("bidirectional or DIF buffers"));
        }
        let cdb_off = u64_at(entry, CDB_OFF_OFFSET);
        let need = (iov_cnt as usize)
            .checked_mul(IOV_LEN)
            .and_then(|n| n.checked_add(IOV_OFFSET));
        if need.is_none_or(|n| n > entry.len()) {
            return Err(bad("iovecs beyond the entry"));
        }
        if cdb_off >= map_len as u64 {
            return Err(bad("CDB outside the map"));
        }
        let mut iovs = Vec::with_capacity(iov_cnt as usize);
        let mut total: u64 = 0;
        for i in 0..iov_cnt as usize {
            let at = IOV_OFFSET + i * IOV_LEN;
            let iov = Iovec {
                offset: u64_at(entry, at),
                len: u64_at(entry, at + 8),
            };
            if iov
                .offset
                .checked_add(iov.len)
                .is_none_or(|e| e > map_len as u64)
            {
                return Err(bad("iovec outside the map"));
            }
            total = total.saturating_add(iov.len);
            iovs.push(iov);
        }
        // the buffers are disjoint parts of the data area: together no larger than the map
        if total > MAX_DATA || total > map_len as u64 {
            return Err(bad("more data than a command may carry"));
        }
        Ok(Request {
            cmd_id: u16_at(entry, 4),
            cdb_off,
            iovs,
        })
    }

    /// Total length of the data buffers.
    pub fn data_len(&self) -> usize {
        self.iovs.iter().map(|v| v.len as usize).sum()
    }
}

/// The command ids a TMR entry (all its bytes) names: aborted or reset commands. Ids beyond
/// the entry are ignored.
pub fn tmr_command_ids(entry: &[u8]) -> Vec<u16> {
    if entry.len() < TMR_IDS_OFFSET {
        return Vec::new();
    }
    let count = u32_at(entry, TMR_CMD_CNT_OFFSET) as usize;
    entry[TMR_IDS_OFFSET..]
        .chunks_exact(2)
        .take(count)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect()
}

/// Length of a CDB from its operation code's group (SPC-4 4.2.5.1; 0x7E/0x7F variable length
/// from byte 7), as the kernel's `scsi_command_size`.
pub fn cdb_len(cdb_start: &[u8]) -> usize {
    match cdb_start.first() {
        None => 0,
        Some(0x7F) => cdb_start.get(7).map_or(8, |&n| 8 + usize::from(n)),
        Some(&op) => [6, 10, 10, 12, 16, 12, 10, 10][usize::from(op >> 5)],
    }
}

/// The response bytes written into an entry at offset 8: status, padding, read length and the
/// sense buffer (cut or zero-filled to [`SENSE_LEN`]).
pub fn encode_response(status: u8, read_len: u32, sense: &[u8]) -> [u8; RESPONSE_LEN - 8] {
    let mut r = [0u8; RESPONSE_LEN - 8];
    r[0] = status;
    r[4..8].copy_from_slice(&read_len.to_le_bytes());
    let n = sense.len().min(SENSE_LEN);
    r[8..8 + n].copy_from_slice(&sense[..n]);
    r
}

/// A command as the handler sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// The CDB, as long as its operation code says.
    pub cdb: Vec<u8>,
    /// All bytes of the data buffers: the data-out of a write (for a read, whatever the
    /// buffers held).
    pub data: Vec<u8>,
}

/// What the handler made of a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// Complete it now with this status, data-in (cut to the buffers) and sense.
    Complete {
        /// SCSI status.
        status: u8,
        /// Data-in (empty for a command without one).
        data_in: Vec<u8>,
        /// Sense data (for CHECK CONDITION).
        sense: Vec<u8>,
    },
    /// Keep it outstanding (a hung drive); [`Ring::release_held`] completes it later.
    Hold,
}

/// The user side of one device's ring: where we have read up to (`next`) and where our
/// completions go (`tail`); the entries in between are held commands and padding.
#[derive(Debug)]
pub struct Ring<M> {
    mem: M,
    mb: Mailbox,
    next: u32,
    tail: u32,
    held: Vec<Request>,
}

impl<M: Memory> Ring<M> {
    /// Attaches to the ring in `mem`: reads and checks the mailbox; nothing outstanding.
    pub fn new(mem: M) -> Result<Ring<M>, RingError> {
        let mut b = [0u8; MAILBOX_LEN];
        if !mem.read(0, &mut b) {
            return Err(RingError::OutOfMap {
                offset: 0,
                len: MAILBOX_LEN as u64,
            });
        }
        let mb = Mailbox::parse(&b, mem.len())?;
        Ok(Ring {
            mem,
            mb,
            next: mb.cmd_tail,
            tail: mb.cmd_tail,
            held: Vec::new(),
        })
    }

    /// The memory (for tests: what the kernel would see).
    pub fn memory(&self) -> &M {
        &self.mem
    }

    /// The memory, mutably (for tests: to play the kernel).
    pub fn memory_mut(&mut self) -> &mut M {
        &mut self.mem
    }

    /// Number of held commands.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    fn read(&self, offset: u64, buf: &mut [u8]) -> Result<(), RingError> {
        let err = RingError::OutOfMap {
            offset,
            len: buf.len() as u64,
        };
        let off = usize::try_from(offset).map_err(|_| err.clone())?;
        if self.mem.read(off, buf) {
            Ok(())
        } else {
            Err(err)
        }
    }

    fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), RingError> {
        let err = RingError::OutOfMap {
            offset,
            len: data.len() as u64,
        };
        let off = usize::try_from(offset).map_err(|_| err.clone())?;
        if self.mem.write(off, data) {
            Ok(())
        } else {
            Err(err)
        }
    }

    fn entry_offset(&self, position: u32) -> u64 {
        u64::from(self.mb.cmdr_off) + u64::from(position)
    }

    fn header(&self, position: u32) -> Result<EntryHeader, RingError> {
        let mut b = [0u8; HEADER_LEN];
        self.read(self.entry_offset(position), &mut b)?;
        EntryHeader::parse(&b, position, self.mb.cmdr_size)
    }

    fn advance(&self, position: u32, len: u32) -> u32 {
        // parse() checked position + len <= cmdr_size
        (position + len) % self.mb.cmdr_size
    }

    fn head(&self) -> Result<u32, RingError> {
        let head = self.mem.load_u32(HEAD_OFFSET).ok_or(RingError::OutOfMap {
            offset: HEAD_OFFSET as u64,
            len: 4,
        })?;
        if head >= self.mb.cmdr_size || !head.is_multiple_of(8) {
            return Err(RingError::Mailbox("head outside the ring"));
        }
        Ok(head)
    }

    fn publish_tail(&mut self) -> Result<(), RingError> {
        if self.mem.store_u32(TAIL_OFFSET, self.tail) {
            Ok(())
        } else {
            Err(RingError::OutOfMap {
                offset: TAIL_OFFSET as u64,
                len: 4,
            })
        }
    }

    /// Serves every entry the kernel has queued since the last call: each command goes to
    /// `handler` and is completed (or held); padding and other entries are passed over.
    /// Returns how many commands were completed; the caller then tells the kernel (a write to
    /// the UIO device) if that is not zero.
    pub fn process(
        &mut self,
        mut handler: impl FnMut(&Command) -> Response,
    ) -> Result<usize, RingError> {
        let head = self.head()?;
        let mut completed = 0;
        while self.next != head {
            let pos = self.next;
            let h = self.header(pos)?;
            self.next = self.advance(pos, h.len);
            if h.op == OP_TMR {
                // the kernel aborts or resets these: a held one is completed (the kernel
                // waits for that before the abort itself completes)
                let mut entry = vec![0u8; h.len as usize];
                self.read(self.entry_offset(pos), &mut entry)?;
                for id in tmr_command_ids(&entry) {
                    if let Some(i) = self.held.iter().position(|r| r.cmd_id == id) {
                        let req = self.held.remove(i);
                        // the TMR entry itself is not a slot: complete() passes over it
                        self.complete(&req, CHECK_CONDITION, &[], &ABORTED_SENSE)?;
                        completed += 1;
                    }
                }
            }
            if h.op != OP_CMD {
                if h.op != OP_PAD && h.op != OP_TMR {
                    // tell the kernel we did not understand it (it only logs)
                    self.write(self.entry_offset(pos) + 7, &[h.uflags | UFLAG_UNKNOWN_OP])?;
                }
                if self.tail == pos {
                    self.tail = self.next;
                    self.publish_tail()?;
                }
                continue;
            }
            let mut entry = vec![0u8; h.len as usize];
            self.read(self.entry_offset(pos), &mut entry)?;
            let req = Request::parse(&entry, pos, self.mem.len())?;
            let cmd = self.command(&req)?;
            match handler(&cmd) {
                Response::Hold => self.held.push(req),
                Response::Complete {
                    status,
                    data_in,
                    sense,
                } => {
                    self.complete(&req, status, &data_in, &sense)?;
                    completed += 1;
                }
            }
        }
        Ok(completed)
    }

    /// Completes every held command with `status` and `sense` (no data); returns how many.
    pub fn release_held(&mut self, status: u8, sense: &[u8]) -> Result<usize, RingError> {
        let held = std::mem::take(&mut self.held);
        for req in &held {
            self.complete(req, status, &[], sense)?;
        }
        Ok(held.len())
    }

    fn command(&self, req: &Request) -> Result<Command, RingError> {
        let mut start = [0u8; 16];
        let avail = (self.mem.len() as u64 - req.cdb_off).min(16) as usize;
        self.read(req.cdb_off, &mut start[..avail])?;
        let n = cdb_len(&start[..avail]);
        let mut cdb = vec![0u8; n];
        self.read(req.cdb_off, &mut cdb)?;
        let mut data = vec![0u8; req.data_len()];
        let mut at = 0;
        for iov in &req.iovs {
            let len = iov.len as usize;
            self.read(iov.offset, &mut data[at..at + len])?;
            at += len;
        }
        Ok(Command { cdb, data })
    }

    /// Writes `req`'s data-in into its buffers and its response into the slot at the tail
    /// (its own, or an older held command's: out-of-order completion names the command by
    /// id), then moves the tail past it and any padding.
    fn complete(
        &mut self,
        req: &Request,
        status: u8,
        data_in: &[u8],
        sense: &[u8],
    ) -> Result<(), RingError> {
        let mut left = data_in;
        for iov in &req.iovs {
            if left.is_empty() {
                break;
            }
            let n = left.len().min(iov.len as usize);
            self.write(iov.offset, &left[..n])?;
            left = &left[n..];
        }
        let read_len = (data_in.len() - left.len()) as u32;
        // the slot: the first CMD entry from the tail on
        let slot = loop {
            if self.tail == self.next {
                return Err(RingError::NoSlot);
            }
            let h = self.header(self.tail)?;
            if h.op == OP_CMD {
                break h;
            }
            self.tail = self.advance(self.tail, h.len);
        };
        let at = self.entry_offset(self.tail);
        let uflags = if read_len > 0 {
            slot.uflags | UFLAG_READ_LEN
        } else {
            slot.uflags & !UFLAG_READ_LEN
        };
        self.write(at + 4, &req.cmd_id.to_le_bytes())?;
        self.write(at + 7, &[uflags])?;
        self.write(at + 8, &encode_response(status, read_len, sense))?;
        self.tail = self.advance(self.tail, slot.len);
        // padding right after the slot belongs to nobody: pass it too
        while self.tail != self.next {
            let h = self.header(self.tail)?;
            if h.op == OP_CMD {
                break;
            }
            self.tail = self.advance(self.tail, h.len);
        }
        self.publish_tail()
    }
}
