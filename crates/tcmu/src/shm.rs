//! The one place that touches the TCMU shared memory: `mmap` of a `/dev/uioN` device's map 0
//! and bounds-checked copies in and out of it, as a [`Memory`] for [`crate::ring::Ring`].
//!
//! Owns the mapping's lifetime (unmapped on drop) and the only `unsafe` code of the crate. It
//! must not interpret what it copies (that is [`crate::ring`]'s job) and must not hand out
//! references into the map: the kernel writes the map concurrently, so Rust references to it
//! would be unsound. Every access is a raw copy (`ptr::copy_nonoverlapping`) of a range checked
//! against the map's length, and the two mailbox words are atomics.
//!
//! Ordering: the kernel fills an entry, then advances `cmd_head` (and flushes the page); we
//! read `cmd_head` with acquire ordering before copying the entry. We write a response, then
//! store `cmd_tail` with release ordering, then write to the UIO device, which makes the kernel
//! read the tail and the responses.
#![allow(unsafe_code)]

use std::os::fd::AsFd;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

use rustix::mm::{mmap, munmap, MapFlags, ProtFlags};

use crate::ring::Memory;

/// A shared, read-write mapping of a UIO device's map 0.
#[derive(Debug)]
pub struct UioMap {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is plain shared memory, not tied to a thread; all access goes through
// `&self`/`&mut self` methods that copy, so moving it to another thread is sound.
unsafe impl Send for UioMap {}

impl UioMap {
    /// Maps `len` bytes of map 0 of the open UIO device `fd` (UIO maps map N at offset N pages;
    /// map 0 at offset 0), shared and read-write.
    ///
    /// # References
    /// - [`mmap(2)`](https://man7.org/linux/man-pages/man2/mmap.2.html)
    /// - the kernel's `Documentation/driver-api/uio-howto.rst`
    pub fn map(fd: impl AsFd, len: usize) -> std::io::Result<UioMap> {
        if len == 0 {
            return Err(std::io::Error::other("UIO map 0 has size 0"));
        }
        // SAFETY: a new mapping at an address the kernel chooses (null hint), so no existing
        // memory is affected; the fd is open for the duration of the call. The result is only
        // accessed within `len` bytes and unmapped exactly once, in Drop.
        let p = unsafe {
            mmap(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED,
                fd.as_fd(),
                0,
            )
        }?;
        let ptr =
            NonNull::new(p.cast::<u8>()).ok_or_else(|| std::io::Error::other("mmap gave null"))?;
        Ok(UioMap { ptr, len })
    }

    fn in_bounds(&self, offset: usize, len: usize) -> bool {
        offset.checked_add(len).is_some_and(|end| end <= self.len)
    }

    fn atomic(&self, offset: usize) -> Option<&AtomicU32> {
        if !self.in_bounds(offset, 4) || !offset.is_multiple_of(4) {
            return None;
        }
        // SAFETY: in bounds (checked above) and 4-byte aligned (the map is page aligned and the
        // offset a multiple of 4); the kernel accesses this word only as a whole u32
        // (READ_ONCE/WRITE_ONCE), so viewing it as an atomic is sound for the map's lifetime,
        // which the returned reference's borrow of `self` does not outlive.
        Some(unsafe { &*self.ptr.as_ptr().add(offset).cast::<AtomicU32>() })
    }
}

impl Memory for UioMap {
    fn len(&self) -> usize {
        self.len
    }

    fn read(&self, offset: usize, buf: &mut [u8]) -> bool {
        if !self.in_bounds(offset, buf.len()) {
            return false;
        }
        // SAFETY: the source range lies inside the mapping (checked above); `buf` is ours and
        // cannot overlap a mapping we never hand out. Bytes the kernel writes concurrently may
        // be torn, which the ring parser tolerates (it checks everything it reads).
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.ptr.as_ptr().add(offset),
                buf.as_mut_ptr(),
                buf.len(),
            );
        }
        true
    }

    fn write(&mut self, offset: usize, data: &[u8]) -> bool {
        if !self.in_bounds(offset, data.len()) {
            return false;
        }
        // SAFETY: the destination range lies inside the mapping (checked above) and does not
        // overlap `data`, which is ours.
        unsafe {
            std::ptr::copy_nonoverlapping(data.as_ptr(), self.ptr.as_ptr().add(offset), data.len());
        }
        true
    }

    fn load_u32(&self, offset: usize) -> Option<u32> {
        self.atomic(offset).map(|a| a.load(Ordering::Acquire))
    }

    fn store_u32(&mut self, offset: usize, value: u32) -> bool {
        self.atomic(offset)
            .map(|a| a.store(value, Ordering::Release))
            .is_some()
    }
}

impl Drop for UioMap {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly what mmap returned, unmapped once; no reference into
        // the mapping outlives `self` (atomics borrow `self`).
        let _ = unsafe { munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}
