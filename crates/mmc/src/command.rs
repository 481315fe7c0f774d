//! The value every CDB builder returns: the CDB bytes plus what the transport
//! must know about the data phase (SAM-5 5.1, data-in and data-out buffers;
//! SPC-4 4.2.5.6, allocation length).
//!
//! Owns [`Command`] and [`DataDirection`] and imports nothing from the rest of
//! the crate. It must not do I/O or know any particular command's layout.

/// Which way data moves in the command's data phase, and how much.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataDirection {
    /// No data phase (TEST UNIT READY, START STOP UNIT, ...).
    None,
    /// The device sends at most `allocation_length` bytes to the host.
    FromDevice {
        /// The allocation length written into the CDB; the transport's
        /// buffer must be at least this long.
        allocation_length: u32,
    },
    /// The host sends `parameter_length` bytes to the device.
    ToDevice {
        /// The parameter list length written into the CDB.
        parameter_length: u32,
    },
}

/// A command descriptor block of `N` bytes (6, 10 or 12) ready to send, and
/// its data direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Command<const N: usize> {
    /// The CDB bytes exactly as they go to the device.
    pub cdb: [u8; N],
    /// The expected data phase.
    pub direction: DataDirection,
}

impl<const N: usize> Command<N> {
    /// The CDB as a slice.
    pub fn as_bytes(&self) -> &[u8] {
        &self.cdb
    }

    /// The operation code (first CDB byte), or 0 for a zero-length CDB.
    pub fn opcode(&self) -> u8 {
        self.cdb.first().copied().unwrap_or(0)
    }

    /// Bytes the host should be ready to receive: the allocation length for
    /// commands that read, 0 otherwise.
    pub fn allocation_length(&self) -> u32 {
        match self.direction {
            DataDirection::FromDevice { allocation_length } => allocation_length,
            DataDirection::None | DataDirection::ToDevice { .. } => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocation_length_is_zero_without_data_in() {
        let c = Command {
            cdb: [0u8; 6],
            direction: DataDirection::None,
        };
        assert_eq!(c.allocation_length(), 0);
        let c = Command {
            cdb: [0x12u8, 0, 0, 0, 96, 0],
            direction: DataDirection::FromDevice {
                allocation_length: 96,
            },
        };
        assert_eq!(c.allocation_length(), 96);
        assert_eq!(c.opcode(), 0x12);
        assert_eq!(c.as_bytes().len(), 6);
    }
}
