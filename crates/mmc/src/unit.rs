//! CDB builders for the commands that act on the unit or its medium and
//! carry no data: TEST UNIT READY (SPC-4 6.37), START STOP UNIT (SBC-3 5.25,
//! eject and load as the Removable Medium feature, MMC-6 5.3.4, describes) and PREVENT ALLOW
//! MEDIUM REMOVAL (SPC-3 6.13, the tray lock).
//!
//! Owns the CDB layout only. It must not do I/O or interpret the answer
//! (failure comes back as sense data, see [`crate::sense`]), and imports no
//! other command module; its operation codes come from [`crate::codes`].

use crate::codes::opcode;
use crate::{Command, DataDirection};

/// TEST UNIT READY (opcode 0x00): asks whether the medium is ready. Failure
/// comes back as sense data (see [`crate::sense`]).
pub fn test_unit_ready() -> Command<6> {
    Command {
        cdb: [opcode::TEST_UNIT_READY, 0, 0, 0, 0, 0],
        direction: DataDirection::None,
    }
}

/// What START STOP UNIT should do (the LoEj and Start bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StartStop {
    /// LoEj=0 Start=0: stop the disc spinning.
    Stop,
    /// LoEj=0 Start=1: spin the disc up.
    Start,
    /// LoEj=1 Start=0: eject the medium (open the tray).
    Eject,
    /// LoEj=1 Start=1: load the medium (close the tray).
    Load,
}

impl StartStop {
    /// The action a (LoEj, Start) bit pair asks for.
    pub fn from_bits(load_eject: bool, start: bool) -> StartStop {
        match (load_eject, start) {
            (false, false) => StartStop::Stop,
            (false, true) => StartStop::Start,
            (true, false) => StartStop::Eject,
            (true, true) => StartStop::Load,
        }
    }

    /// The (LoEj, Start) bit pair.
    pub fn bits(self) -> (bool, bool) {
        match self {
            StartStop::Stop => (false, false),
            StartStop::Start => (false, true),
            StartStop::Eject => (true, false),
            StartStop::Load => (true, true),
        }
    }
}

/// START STOP UNIT (opcode 0x1B). `immediate` sets the IMMED bit: the device
/// reports status before the mechanism has finished moving. The power
/// condition field is left 0, which eject and load require.
pub fn start_stop_unit(action: StartStop, immediate: bool) -> Command<6> {
    let (load_eject, start) = action.bits();
    Command {
        cdb: [
            opcode::START_STOP_UNIT,
            u8::from(immediate),
            0,
            0,
            (u8::from(load_eject) << 1) | u8::from(start),
            0,
        ],
        direction: DataDirection::None,
    }
}

/// The PREVENT ALLOW MEDIUM REMOVAL request (MMC's Persistent and Prevent bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediumRemoval {
    /// 00b: unlock the tray.
    Allow,
    /// 01b: lock the tray.
    Prevent,
    /// 10b: release a persistent prevent.
    PersistentAllow,
    /// 11b: set a persistent prevent (survives eject by LoEj).
    PersistentPrevent,
}

impl MediumRemoval {
    /// The request held in the low two bits of `value`.
    pub fn from_bits(value: u8) -> MediumRemoval {
        match value & 0x03 {
            0 => MediumRemoval::Allow,
            1 => MediumRemoval::Prevent,
            2 => MediumRemoval::PersistentAllow,
            _ => MediumRemoval::PersistentPrevent,
        }
    }

    /// The two-bit field value.
    pub fn bits(self) -> u8 {
        match self {
            MediumRemoval::Allow => 0,
            MediumRemoval::Prevent => 1,
            MediumRemoval::PersistentAllow => 2,
            MediumRemoval::PersistentPrevent => 3,
        }
    }
}

/// PREVENT ALLOW MEDIUM REMOVAL (opcode 0x1E).
pub fn prevent_allow_medium_removal(request: MediumRemoval) -> Command<6> {
    Command {
        cdb: [
            opcode::PREVENT_ALLOW_MEDIUM_REMOVAL,
            0,
            0,
            0,
            request.bits(),
            0,
        ],
        direction: DataDirection::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_unit_ready_is_six_zero_bytes_without_data() {
        let c = test_unit_ready();
        assert_eq!(c.cdb, [0; 6]);
        assert_eq!(c.direction, DataDirection::None);
    }

    #[test]
    fn eject_sets_loej_only_and_load_sets_both() {
        assert_eq!(
            start_stop_unit(StartStop::Eject, false).cdb,
            [0x1B, 0, 0, 0, 0x02, 0]
        );
        assert_eq!(
            start_stop_unit(StartStop::Load, false).cdb,
            [0x1B, 0, 0, 0, 0x03, 0]
        );
        assert_eq!(
            start_stop_unit(StartStop::Start, true).cdb,
            [0x1B, 1, 0, 0, 0x01, 0]
        );
        assert_eq!(
            start_stop_unit(StartStop::Stop, false).cdb,
            [0x1B, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn start_stop_bits_round_trip() {
        for a in [
            StartStop::Stop,
            StartStop::Start,
            StartStop::Eject,
            StartStop::Load,
        ] {
            let (l, s) = a.bits();
            assert_eq!(StartStop::from_bits(l, s), a);
        }
    }

    #[test]
    fn prevent_allow_layout() {
        assert_eq!(
            prevent_allow_medium_removal(MediumRemoval::Prevent).cdb,
            [0x1E, 0, 0, 0, 1, 0]
        );
        assert_eq!(
            prevent_allow_medium_removal(MediumRemoval::Allow).cdb,
            [0x1E, 0, 0, 0, 0, 0]
        );
        for v in 0..4u8 {
            assert_eq!(MediumRemoval::from_bits(v).bits(), v);
        }
    }
}
