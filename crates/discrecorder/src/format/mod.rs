//! Writing and erasing media: IMAPI2's `IDiscFormat2Data` ([`DataWriter`]) and
//! `IDiscFormat2Erase` ([`Eraser`]), with the medium's state as they see it ([`Media`]).
//!
//! The layer above [`crate::Recorder`]: every operation that changes the medium takes exclusive
//! access for itself under its own client name (nesting under a lock its caller holds), stops
//! media change notification while it runs, and gives both back on every path out. Commands
//! reach the drive through the recorder's transport (one command at a time); byte
//! layouts are `discrecorder_mmc`'s. Nothing here prints.
//!
//! - [`media`]: the media status bitmask, physical type, free space, sessions, speeds.
//! - [`data`]: the write job and its options.
//! - [`erase`]: blanking and formatting.
//! - [`progress`]: progress reports and the cancel token.

mod channel;
pub mod data;
pub mod erase;
pub mod media;
pub mod progress;
mod stream;

pub use data::{Closing, DataWriter, Overwrite, Speed, Verification, WriteOptions, WriteReport};
pub use erase::{EraseKind, Eraser};
pub use media::{Media, MediaStatus, PhysicalMediaType, SessionSpan};
pub use progress::{CancelToken, JobAction, Progress};

/// A drive for unit tests and the write bench: the pure emulated recorder of `discrecorder_mmc`
/// with its sectors in memory (or dropped), behind the transport the writing layer uses, and a
/// log of the operation codes it was sent.
#[cfg(any(test, feature = "testing"))]
pub(crate) mod testdrive {
    use std::sync::{Arc, Mutex, MutexGuard};
    use std::time::Duration;

    use discrecorder_mmc::emulator::{DriveState, Outcome};
    use discrecorder_mmc::medium::{MemoryStore, SectorStore};

    use crate::error::{Error, HResult, Result};
    use crate::format::channel::Channel;
    use crate::transport::{Data, Reply, Transport};

    /// Where the test drive keeps sectors: in memory, or nowhere (benches of the write path).
    #[derive(Debug)]
    pub(crate) enum Store {
        Memory(MemoryStore),
        Dropped(discrecorder_mmc::medium::NoSectors),
    }

    impl Store {
        fn get(&mut self) -> &mut dyn SectorStore {
            match self {
                Store::Memory(m) => m,
                Store::Dropped(n) => n,
            }
        }
    }

    #[derive(Debug)]
    pub(crate) struct Inner {
        pub(crate) state: Option<DriveState>,
        pub(crate) store: Store,
        pub(crate) opcodes: Vec<u8>,
    }

    #[derive(Debug, Clone)]
    pub(crate) struct TestDrive(pub(crate) Arc<Mutex<Inner>>);

    impl TestDrive {
        /// A recorder of every writable profile with a blank `profile` medium of `capacity`
        /// blocks (0: the profile's default).
        pub(crate) fn new(profile: u16, capacity: u32) -> TestDrive {
            let mut s = DriveState::new_recorder();
            s.profiles = vec![
                0x43, 0x42, 0x41, 0x2B, 0x1B, 0x1A, 0x15, 0x14, 0x13, 0x11, 0x10, 0x0A, 0x09, 0x08,
            ];
            s.disc.capacity = capacity;
            s.insert_medium(profile);
            TestDrive(Arc::new(Mutex::new(Inner {
                state: Some(s),
                store: Store::Memory(MemoryStore::default()),
                opcodes: Vec::new(),
            })))
        }

        /// As [`TestDrive::new`], with written sectors dropped (reads give zeros).
        pub(crate) fn dropping(profile: u16, capacity: u32) -> TestDrive {
            let d = TestDrive::new(profile, capacity);
            d.lock().store = Store::Dropped(discrecorder_mmc::medium::NoSectors);
            d
        }

        pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
            self.0.lock().unwrap_or_else(|p| p.into_inner())
        }

        #[cfg(test)]
        pub(crate) fn with_state(&self, f: impl FnOnce(&mut DriveState)) {
            let mut g = self.lock();
            if let Some(s) = g.state.as_mut() {
                f(s);
            }
        }

        pub(crate) fn channel(&self, timeout: Duration) -> Channel {
            Channel::new(Box::new(self.clone()), timeout, "test:drive", true)
        }

        /// The bytes of `blocks` blocks from `lba`, as stored.
        #[cfg(test)]
        pub(crate) fn sectors(&self, lba: u32, blocks: u32) -> Vec<u8> {
            let mut buf = vec![0u8; blocks as usize * 2048];
            let _ = self.lock().store.get().read(lba, &mut buf);
            buf
        }

        #[cfg(test)]
        pub(crate) fn count(&self, opcode: u8) -> usize {
            self.lock().opcodes.iter().filter(|&&o| o == opcode).count()
        }
    }

    impl Transport for TestDrive {
        fn execute(&mut self, cdb: &[u8], data: Data<'_>, timeout: Duration) -> Result<Reply> {
            let out: &[u8] = match &data {
                Data::Out(b) => b,
                _ => &[],
            };
            let outcome = {
                let mut g = self.lock();
                let inner = &mut *g;
                inner.opcodes.push(cdb.first().copied().unwrap_or(0));
                let Some(state) = inner.state.as_mut() else {
                    return Err(Error::new(HResult::DevNotExist, "no state"));
                };
                state.execute_with(cdb, out, inner.store.get())
            };
            match outcome {
                Outcome::Hang => {
                    std::thread::sleep(timeout);
                    Err(Error::new(HResult::RecorderCommandTimeout, "test: hung"))
                }
                Outcome::Vanished => Err(Error::new(HResult::DevNotExist, "test: gone")),
                Outcome::Reply(r) => {
                    let transferred = match data {
                        Data::In(buf) => {
                            let n = r.data.len().min(buf.len());
                            buf[..n].copy_from_slice(&r.data[..n]);
                            n
                        }
                        Data::Out(b) => b.len(),
                        Data::None => 0,
                    };
                    Ok(Reply {
                        status: r.status,
                        sense: r.sense,
                        transferred,
                    })
                }
            }
        }
    }
}
