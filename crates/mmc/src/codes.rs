//! The numbers the SCSI standards assign, by name: operation codes, status
//! bytes, sense keys and the additional sense codes (ASC) and qualifiers
//! (ASCQ) this crate builds, recognises or classifies.
//!
//! Owns the numbers only. It must not import any other module of this crate
//! and holds no logic: every other module may use it, so it is the bottom of
//! the crate's dependency graph. Types that give the numbers meaning live
//! with their commands ([`crate::sense::SenseKey`],
//! [`crate::sense::SenseCondition`], [`crate::Cdb`]).
//!
//! # References
//!
//! - operation codes: SPC-4 (T10/1731-D) Annex D.3 "Operation codes", and
//!   MMC-6 (T10/1836-D) 6.1 "Commands for multi-media devices";
//! - status: SAM-5 (T10/2104-D) 5.3.1 "Status codes";
//! - sense keys: SPC-4 4.5.6, Table 27 "Sense key descriptions";
//! - ASC/ASCQ: SPC-4 4.5.6, Table 28 and Annex D.2 "Additional sense codes",
//!   with the MM device uses of MMC-6 Annex F "Error reporting".

/// Operation codes (byte 0 of a CDB) of the commands this crate builds and
/// recognises.
pub mod opcode {
    /// TEST UNIT READY (SPC-4 6.37).
    pub const TEST_UNIT_READY: u8 = 0x00;
    /// REQUEST SENSE (SPC-4 6.29).
    pub const REQUEST_SENSE: u8 = 0x03;
    /// INQUIRY (SPC-4 6.4).
    pub const INQUIRY: u8 = 0x12;
    /// START STOP UNIT (SBC-3 5.25, with the MM device semantics of MMC-6).
    pub const START_STOP_UNIT: u8 = 0x1B;
    /// PREVENT ALLOW MEDIUM REMOVAL (SPC-3 6.13, with the MM device
    /// semantics of MMC-6).
    pub const PREVENT_ALLOW_MEDIUM_REMOVAL: u8 = 0x1E;
    /// GET CONFIGURATION (MMC-6 6.6).
    pub const GET_CONFIGURATION: u8 = 0x46;
    /// GET EVENT STATUS NOTIFICATION (MMC-6 6.7).
    pub const GET_EVENT_STATUS_NOTIFICATION: u8 = 0x4A;
    /// MODE SENSE(10) (SPC-4 6.12).
    pub const MODE_SENSE_10: u8 = 0x5A;

    // --- disc and track structure (crate::disc) ---
    /// READ FORMAT CAPACITIES (MMC-6 6.24).
    pub const READ_FORMAT_CAPACITIES: u8 = 0x23;
    /// READ CAPACITY (MMC-6 6.23).
    pub const READ_CAPACITY: u8 = 0x25;
    /// READ TOC/PMA/ATIP (MMC-6 6.26).
    pub const READ_TOC_PMA_ATIP: u8 = 0x43;
    /// READ DISC INFORMATION (MMC-6 6.22).
    pub const READ_DISC_INFORMATION: u8 = 0x51;
    /// READ TRACK INFORMATION (MMC-6 6.27).
    pub const READ_TRACK_INFORMATION: u8 = 0x52;
    // --- end disc ---

    // ---- writing, reading and the write setup (crate::write) ----

    /// FORMAT UNIT (MMC-6 6.5).
    pub const FORMAT_UNIT: u8 = 0x04;
    /// READ(10) (MMC-6 6.17).
    pub const READ_10: u8 = 0x28;
    /// WRITE(10) (MMC-6 6.44).
    pub const WRITE_10: u8 = 0x2A;
    /// SYNCHRONIZE CACHE(10) (MMC-6 6.42).
    pub const SYNCHRONIZE_CACHE: u8 = 0x35;
    /// RESERVE TRACK (MMC-6 6.31).
    pub const RESERVE_TRACK: u8 = 0x53;
    /// MODE SELECT(10) (SPC-4 6.10, MMC-6 6.11).
    pub const MODE_SELECT_10: u8 = 0x55;
    /// CLOSE TRACK/SESSION (MMC-6 6.3).
    pub const CLOSE_TRACK_SESSION: u8 = 0x5B;
    /// READ BUFFER CAPACITY (MMC-6 6.20).
    pub const READ_BUFFER_CAPACITY: u8 = 0x5C;
    /// SEND CUE SHEET (MMC-5 6.33).
    pub const SEND_CUE_SHEET: u8 = 0x5D;
    /// BLANK (MMC-6 6.2).
    pub const BLANK: u8 = 0xA1;
    /// WRITE(12) (MMC-6 6.45).
    pub const WRITE_12: u8 = 0xAA;
    /// GET PERFORMANCE (MMC-6 6.8).
    pub const GET_PERFORMANCE: u8 = 0xAC;
    /// SET STREAMING (MMC-6 6.39).
    pub const SET_STREAMING: u8 = 0xB6;
    /// SET CD SPEED (MMC-6 6.37).
    pub const SET_CD_SPEED: u8 = 0xBB;
}

/// SCSI status bytes a command ends with (SAM-5 5.3.1).
pub mod status {
    /// GOOD: the command completed; data-in, if any, is valid.
    pub const GOOD: u8 = 0x00;
    /// CHECK CONDITION: the command failed and the reply carries sense data.
    pub const CHECK_CONDITION: u8 = 0x02;
    /// BUSY: the logical unit cannot accept the command now.
    pub const BUSY: u8 = 0x08;
}

/// Sense key values (4 bits; SPC-4 4.5.6, Table 27).
pub mod sense_key {
    /// NO SENSE.
    pub const NO_SENSE: u8 = 0x0;
    /// RECOVERED ERROR.
    pub const RECOVERED_ERROR: u8 = 0x1;
    /// NOT READY.
    pub const NOT_READY: u8 = 0x2;
    /// MEDIUM ERROR.
    pub const MEDIUM_ERROR: u8 = 0x3;
    /// HARDWARE ERROR.
    pub const HARDWARE_ERROR: u8 = 0x4;
    /// ILLEGAL REQUEST.
    pub const ILLEGAL_REQUEST: u8 = 0x5;
    /// UNIT ATTENTION.
    pub const UNIT_ATTENTION: u8 = 0x6;
    /// DATA PROTECT.
    pub const DATA_PROTECT: u8 = 0x7;
    /// BLANK CHECK.
    pub const BLANK_CHECK: u8 = 0x8;
    /// VENDOR SPECIFIC.
    pub const VENDOR_SPECIFIC: u8 = 0x9;
    /// COPY ABORTED.
    pub const COPY_ABORTED: u8 = 0xA;
    /// ABORTED COMMAND.
    pub const ABORTED_COMMAND: u8 = 0xB;
    /// Obsolete (was EQUAL).
    pub const OBSOLETE_0C: u8 = 0xC;
    /// VOLUME OVERFLOW.
    pub const VOLUME_OVERFLOW: u8 = 0xD;
    /// MISCOMPARE.
    pub const MISCOMPARE: u8 = 0xE;
    /// COMPLETED.
    pub const COMPLETED: u8 = 0xF;
}

/// Additional sense codes (byte 12 of fixed-format sense; SPC-4 Annex D.2).
/// The qualifiers that refine them are in [`ascq`].
pub mod asc {
    /// 0x00: no additional sense information (with ASCQ 0x00).
    pub const NO_ADDITIONAL_SENSE_INFORMATION: u8 = 0x00;
    /// 0x04: LOGICAL UNIT NOT READY, ... (the qualifier says why).
    pub const LOGICAL_UNIT_NOT_READY: u8 = 0x04;
    /// 0x20: INVALID COMMAND OPERATION CODE.
    pub const INVALID_COMMAND_OPERATION_CODE: u8 = 0x20;
    /// 0x24: INVALID FIELD IN CDB.
    pub const INVALID_FIELD_IN_CDB: u8 = 0x24;
    /// 0x27: WRITE PROTECTED (any qualifier).
    pub const WRITE_PROTECTED: u8 = 0x27;
    /// 0x28: NOT READY TO READY CHANGE, MEDIUM MAY HAVE CHANGED.
    pub const NOT_READY_TO_READY_CHANGE: u8 = 0x28;
    /// 0x29: POWER ON, RESET, OR BUS DEVICE RESET OCCURRED.
    pub const POWER_ON_RESET_OCCURRED: u8 = 0x29;
    /// 0x30: INCOMPATIBLE MEDIUM INSTALLED (with ASCQ 0x00).
    pub const INCOMPATIBLE_MEDIUM_INSTALLED: u8 = 0x30;
    /// 0x39: SAVING PARAMETERS NOT SUPPORTED (with ASCQ 0x00).
    pub const SAVING_PARAMETERS_NOT_SUPPORTED: u8 = 0x39;
    /// 0x3A: MEDIUM NOT PRESENT (the qualifier tells the tray's state).
    pub const MEDIUM_NOT_PRESENT: u8 = 0x3A;
    /// 0x44: INTERNAL TARGET FAILURE (with ASCQ 0x00).
    pub const INTERNAL_TARGET_FAILURE: u8 = 0x44;
    /// 0x53: MEDIA LOAD OR EJECT FAILED and related (the qualifier says which).
    pub const MEDIA_LOAD_OR_EJECT: u8 = 0x53;
}

/// Additional sense code qualifiers (byte 13 of fixed-format sense; SPC-4
/// Annex D.2), each named after the ASC it refines.
pub mod ascq {
    /// 0x00: the ASC alone says it all.
    pub const NONE: u8 = 0x00;
    /// 0x01 with [`super::asc::LOGICAL_UNIT_NOT_READY`]: LOGICAL UNIT IS IN
    /// PROCESS OF BECOMING READY.
    pub const BECOMING_READY: u8 = 0x01;
    /// 0x01 with [`super::asc::MEDIUM_NOT_PRESENT`]: MEDIUM NOT PRESENT -
    /// TRAY CLOSED.
    pub const TRAY_CLOSED: u8 = 0x01;
    /// 0x02 with [`super::asc::MEDIUM_NOT_PRESENT`]: MEDIUM NOT PRESENT -
    /// TRAY OPEN.
    pub const TRAY_OPEN: u8 = 0x02;
    /// 0x02 with [`super::asc::MEDIA_LOAD_OR_EJECT`]: MEDIUM REMOVAL
    /// PREVENTED.
    pub const MEDIUM_REMOVAL_PREVENTED: u8 = 0x02;
}
