//! The emulated drive records (`discrecorder_mmc::emulator` with `discrecorder_mmc::medium`):
//! for each writable profile a burn sequence like a real burner's (growisofs for DVD+R/+RW and
//! BD, libburn/cdrskin TAO for CD and DVD-R), read back and compared; a second session on
//! sequential media; overwrite on rewritable media; blank/format and reuse; refusals; each
//! fault; and a property that no bytes and no state make `execute_with` panic.

use discrecorder_mmc::codes::status::{CHECK_CONDITION, GOOD};
use discrecorder_mmc::disc::{
    read_capacity, read_disc_information, read_format_capacities, read_toc, read_track_information,
    Capacity, CapacityDescriptorType, DiscInformation, DiscStatus, FormatCapacities, FullToc,
    SessionInfo, SessionState, Toc, TocFormat, TrackAddress, TrackInformation, POINT_FIRST_TRACK,
    POINT_LAST_TRACK, POINT_LEAD_OUT, POINT_NEXT_PROGRAM_AREA,
};
use discrecorder_mmc::emulator::{
    DriveState, Fault, Outcome, Reply, Trigger, TriggerAt, OPERATION_POLLS,
};
use discrecorder_mmc::medium::{
    Disc, Extent, MemoryStore, SessionAtOnce, Track, BD_CAPACITY, BLOCK_LEN, CD_CAPACITY,
    DVD_CAPACITY, DVD_DL_CAPACITY,
};
use discrecorder_mmc::sense::{request_sense, SenseData, SenseKey};
use discrecorder_mmc::unit::test_unit_ready;
use discrecorder_mmc::write::{
    blank, close_track_session, format_unit, get_performance_write_speed, mode_select10, read10,
    read_buffer_capacity, reserve_track, sense_progress, set_cd_speed, set_streaming,
    synchronize_cache, write10, write12, BlankingType, BufferCapacity, CloseFunction,
    FormatParameters, MultiSession, PerformanceDescriptor, WriteParameters, WriteSpeeds, WriteType,
};
use proptest::prelude::*;

// ---- a drive with a disc and its sectors ----

struct Drive {
    state: DriveState,
    store: MemoryStore,
}

type Sense = (SenseKey, u8, u8);

const INVALID_ADDRESS: Sense = (SenseKey::IllegalRequest, 0x21, 0x02);
const OUT_OF_RANGE: Sense = (SenseKey::IllegalRequest, 0x21, 0x00);
const WRITE_PROTECTED: Sense = (SenseKey::DataProtect, 0x27, 0x00);
const NOT_FORMATTED: Sense = (SenseKey::NotReady, 0x30, 0x10);
const CANNOT_WRITE: Sense = (SenseKey::IllegalRequest, 0x30, 0x05);
const POWER_ON: Sense = (SenseKey::UnitAttention, 0x29, 0x00);

impl Drive {
    /// A drive supporting every profile, with a blank disc of `profile` that has been
    /// noticed (no unit attention pending).
    fn with(profile: u16) -> Drive {
        let mut state = DriveState::new_recorder();
        state.profiles = vec![
            0x0043, 0x0041, 0x0040, 0x002B, 0x001B, 0x001A, 0x0014, 0x0013, 0x0011, 0x0010, 0x000A,
            0x0009, 0x0008,
        ];
        state.insert_medium(profile);
        state.unit_attention = false;
        state.pending_media_event = None;
        Drive {
            state,
            store: MemoryStore::default(),
        }
    }

    fn run(&mut self, cdb: &[u8], data: &[u8]) -> Reply {
        match self.state.execute_with(cdb, data, &mut self.store) {
            Outcome::Reply(r) => r,
            other => panic!("expected a reply to {cdb:02x?}, got {other:?}"),
        }
    }

    fn good(&mut self, cdb: &[u8], data: &[u8]) -> Vec<u8> {
        let r = self.run(cdb, data);
        assert_eq!(r.status, GOOD, "{cdb:02x?} -> {r:?}");
        r.data
    }

    fn check(&mut self, cdb: &[u8], data: &[u8]) -> Sense {
        let s = self.sense(cdb, data);
        (s.key, s.asc, s.ascq)
    }

    fn sense(&mut self, cdb: &[u8], data: &[u8]) -> SenseData {
        let r = self.run(cdb, data);
        assert_eq!(r.status, CHECK_CONDITION, "{cdb:02x?} -> {r:?}");
        SenseData::parse(&r.sense).expect("sense decodes")
    }

    fn disc_info(&mut self) -> DiscInformation {
        DiscInformation::parse(&self.good(&read_disc_information(34).cdb, &[])).expect("decodes")
    }

    fn track(&mut self, address: TrackAddress) -> TrackInformation {
        TrackInformation::parse(&self.good(&read_track_information(address, 48).cdb, &[]))
            .expect("decodes")
    }

    /// The NWA of the invisible track, as burners ask for it.
    fn nwa(&mut self) -> u32 {
        let t = self.track(TrackAddress::Track(0xFF));
        assert!(t.nwa_valid, "{t:?}");
        t.next_writable_address
    }

    /// Writes `data` in 16-block (32 KiB) WRITE(10)s from `lba` on.
    fn write_all(&mut self, lba: u32, data: &[u8]) {
        for (i, chunk) in data.chunks(16 * BLOCK_LEN).enumerate() {
            let blocks = u16::try_from(chunk.len() / BLOCK_LEN).expect("small");
            let at = lba + u32::try_from(i * 16).expect("small");
            self.good(&write10(at, blocks, 2048).cdb, chunk);
        }
    }

    fn read_all(&mut self, lba: u32, blocks: u16) -> Vec<u8> {
        self.good(&read10(lba, blocks, 2048).cdb, &[])
    }

    fn mode_select(&mut self, write_type: WriteType, multi_session: MultiSession) {
        let list = WriteParameters {
            write_type,
            multi_session,
            ..WriteParameters::default()
        }
        .encode_mode_select10()
        .expect("encodes");
        let len = u16::try_from(list.len()).expect("small");
        self.good(&mode_select10(len, true, false).cdb, &list);
    }

    fn format(&mut self, format_type: u8, immed: bool) {
        let p = FormatParameters {
            immed,
            number_of_blocks: 0,
            format_type,
            format_subtype: 0,
            type_dependent: 0,
        }
        .encode()
        .expect("encodes");
        self.good(&format_unit().cdb, &p);
    }

    fn close(&mut self, function: CloseFunction, number: u16) {
        self.good(&close_track_session(function, number, false).cdb, &[]);
    }

    fn sync(&mut self) {
        self.good(&synchronize_cache(false).cdb, &[]);
    }
}

/// `blocks` blocks of bytes that differ from block to block and from `seed` to `seed`.
fn image(blocks: usize, seed: u8) -> Vec<u8> {
    (0..blocks * BLOCK_LEN)
        .map(|i| (i / 7) as u8 ^ seed.wrapping_mul(31) ^ (i / BLOCK_LEN) as u8)
        .collect()
}

// ---- burn sequences per profile ----

/// growisofs -Z on DVD+R, BD-R: disc info, track info of the invisible track, RESERVE TRACK,
/// WRITE at the NWA, SYNCHRONIZE CACHE, CLOSE TRACK, CLOSE SESSION (or finalize).
fn plus_r_style_burn(profile: u16, data: &[u8], finalize: bool) -> Drive {
    let mut d = Drive::with(profile);
    let info = d.disc_info();
    assert_eq!(info.disc_status, DiscStatus::Blank);
    assert_eq!(info.last_track_in_last_session, 1);
    let nwa = d.nwa();
    assert_eq!(nwa, 0);
    let blocks = u32::try_from(data.len() / BLOCK_LEN).expect("small");
    d.good(&reserve_track(blocks).cdb, &[]);
    let t = d.track(TrackAddress::Track(1));
    assert!(t.reserved_track && t.blank && t.nwa_valid);
    assert_eq!((t.track_size, t.free_blocks), (blocks, blocks));
    d.write_all(nwa, data);
    d.sync();
    d.close(CloseFunction::Track, 1);
    d.close(
        if finalize {
            CloseFunction::Finalize
        } else {
            CloseFunction::Session
        },
        0,
    );
    d
}

#[test]
fn dvd_plus_r_burn_reads_back_and_leaves_the_disc_appendable() {
    let data = image(40, 1);
    let mut d = plus_r_style_burn(0x001B, &data, false);
    assert_eq!(d.read_all(0, 40), data);
    let info = d.disc_info();
    assert_eq!(
        (info.disc_status, info.last_session_state, info.sessions),
        (DiscStatus::Incomplete, SessionState::Empty, 2)
    );
    let cap = Capacity::parse(&d.good(&read_capacity().cdb, &[])).expect("decodes");
    assert_eq!(cap.last_lba, 39);
    let toc = Toc::parse(&d.good(&read_toc(TocFormat::Toc, false, 1, 100).cdb, &[])).expect("toc");
    assert_eq!((toc.first_track, toc.last_track), (1, 1));
    assert_eq!(toc.descriptors.last().map(|t| t.start_address), Some(40));
}

#[test]
fn dvd_plus_r_second_session_starts_at_the_new_nwa() {
    let first = image(32, 1);
    let mut d = plus_r_style_burn(0x001B, &first, false);
    let nwa = d.nwa();
    assert!(nwa > 32, "a gap for lead-out and lead-in: {nwa}");
    let t = d.track(TrackAddress::Track(0xFF));
    assert_eq!((t.track_number, t.session_number), (2, 2));
    let second = image(16, 2);
    d.write_all(nwa, &second);
    d.sync();
    d.close(CloseFunction::Track, 2);
    d.close(CloseFunction::Finalize, 0);
    assert_eq!(d.read_all(0, 32), first);
    assert_eq!(d.read_all(nwa, 16), second);
    let info = d.disc_info();
    assert_eq!((info.disc_status, info.sessions), (DiscStatus::Complete, 2));
    let s = SessionInfo::parse(&d.good(&read_toc(TocFormat::SessionInfo, false, 0, 12).cdb, &[]))
        .expect("decodes");
    assert_eq!(s.last_session, 2);
    assert_eq!(s.first_track_in_last_session.start_address, nwa);
    // Complete: no more writing.
    assert_eq!(
        d.check(&write10(nwa + 16, 1, 2048).cdb, &image(1, 3)),
        INVALID_ADDRESS
    );
}

#[test]
fn bd_r_takes_spare_areas_while_blank_and_stays_sequential() {
    let mut d = Drive::with(0x0041);
    let caps =
        FormatCapacities::parse(&d.good(&read_format_capacities(252).cdb, &[])).expect("decodes");
    assert_eq!(caps.formattable.first().map(|f| f.format_type), Some(0x32));
    d.format(0x32, false);
    assert_eq!(d.state.medium, Some(0x0041));
    d.write_all(0, &image(32, 24));
    assert_eq!(
        d.check(&write10(0, 1, 2048).cdb, &image(1, 0)),
        INVALID_ADDRESS,
        "still written in order"
    );
}

#[test]
fn session_information_names_the_last_complete_session() {
    let mut d = Drive::with(0x001B);
    d.write_all(0, &image(16, 25));
    d.sync();
    d.close(CloseFunction::Track, 1);
    d.close(CloseFunction::Session, 0);
    let nwa = d.nwa();
    d.write_all(nwa, &image(16, 26));
    let s = SessionInfo::parse(&d.good(&read_toc(TocFormat::SessionInfo, false, 0, 12).cdb, &[]))
        .expect("decodes");
    assert_eq!(s.last_session, 1, "session 2 is still open");
    assert_eq!(s.first_track_in_last_session.start_address, 0);
}

#[test]
fn bd_r_burn_finalized_in_one_go() {
    let data = image(64, 4);
    let mut d = plus_r_style_burn(0x0041, &data, true);
    assert_eq!(d.read_all(0, 64), data);
    assert_eq!(d.disc_info().disc_status, DiscStatus::Complete);
    let t = d.track(TrackAddress::Track(1));
    assert!(!t.nwa_valid && !t.blank);
    assert_eq!(t.last_recorded_address, Some(63));
}

/// libburn/cdrskin -tao on CD-R, CD-RW, DVD-R, DVD-RW: MODE SELECT page 05h, WRITE at the
/// invisible track's NWA, SYNCHRONIZE CACHE, CLOSE TRACK, CLOSE SESSION.
fn tao_burn(d: &mut Drive, data: &[u8], multi: MultiSession) -> u32 {
    d.mode_select(WriteType::TrackAtOnce, multi);
    let nwa = d.nwa();
    let number = d.track(TrackAddress::Track(0xFF)).track_number;
    d.write_all(nwa, data);
    d.sync();
    d.close(CloseFunction::Track, number);
    d.close(CloseFunction::Session, 0);
    nwa
}

#[test]
fn cd_r_tao_burn_without_next_session_finalizes() {
    let mut d = Drive::with(0x0009);
    let data = image(20, 5);
    assert_eq!(tao_burn(&mut d, &data, MultiSession::NoNextSession), 0);
    assert_eq!(d.read_all(0, 20), data);
    let info = d.disc_info();
    assert_eq!(info.disc_status, DiscStatus::Complete);
    assert!(!info.erasable);
    assert_eq!(
        d.check(&write10(20, 1, 2048).cdb, &image(1, 0)),
        INVALID_ADDRESS
    );
}

#[test]
fn cd_r_multisession_appends_a_second_session_after_the_cd_gap() {
    let mut d = Drive::with(0x0009);
    let first = image(20, 6);
    tao_burn(&mut d, &first, MultiSession::NextSessionAllowed);
    let info = d.disc_info();
    assert_eq!(
        (info.disc_status, info.last_session_state),
        (DiscStatus::Incomplete, SessionState::Empty)
    );
    let second = image(10, 7);
    let nwa = tao_burn(&mut d, &second, MultiSession::NextSessionAllowed);
    assert_eq!(nwa, 20 + 11_400);
    assert_eq!(d.read_all(0, 20), first);
    assert_eq!(d.read_all(nwa, 10), second);
    assert_eq!(d.disc_info().sessions, 3, "two closed, one empty");
}

/// A full TOC entry as (session, point, pmin/psec/pframe).
type TocEntry = (u8, u8, [u8; 3]);

/// Each full TOC entry, and B0's next program area.
fn full_toc(d: &mut Drive) -> (Vec<TocEntry>, Option<[u8; 3]>) {
    // libburn asks for the length first, then for all of it, in MSF
    let head = d.good(&read_toc(TocFormat::FullToc, true, 0, 4).cdb, &[]);
    let len = u16::from_be_bytes([head[0], head[1]]) + 2;
    let t = FullToc::parse(&d.good(&read_toc(TocFormat::FullToc, true, 0, len).cdb, &[]))
        .expect("full toc decodes");
    let b0 = t
        .descriptors
        .iter()
        .rfind(|e| e.point == POINT_NEXT_PROGRAM_AREA)
        .map(|e| e.msf);
    let entries = t
        .descriptors
        .iter()
        .map(|e| (e.session, e.point, e.pmsf))
        .collect();
    (entries, b0)
}

#[test]
fn cd_r_full_toc_lists_closed_sessions_and_b0_while_appendable() {
    // libburn reads a CD's sessions from the full TOC (format 2); when that failed, xorriso
    // called the appendable CD-R "unsuitable" and refused a second session.
    let mut d = Drive::with(0x0009);
    assert_eq!(
        d.check(&read_toc(TocFormat::FullToc, true, 0, 4).cdb, &[]),
        (SenseKey::IllegalRequest, 0x24, 0x00),
        "a blank CD has no TOC"
    );
    tao_burn(&mut d, &image(20, 6), MultiSession::NextSessionAllowed);
    let (entries, b0) = full_toc(&mut d);
    assert_eq!(
        entries,
        vec![
            (1, POINT_FIRST_TRACK, [1, 0, 0]),
            (1, POINT_LAST_TRACK, [1, 0, 0]),
            (1, POINT_LEAD_OUT, [0, 2, 20]),
            (1, 1, [0, 2, 0]),
            (1, POINT_NEXT_PROGRAM_AREA, [79, 59, 72]),
        ]
    );
    // 20 + 11_400 blocks on, less the next track's pregap: 00:02:00 + 11_270 blocks
    assert_eq!(b0, Some([2, 32, 20]));
    // B0's last possible lead-out is the disc information's (the capacity, as MSF)
    let info = d.disc_info();
    assert_eq!(info.last_possible_lead_out_start, 0x004F_3B48);
    tao_burn(&mut d, &image(10, 7), MultiSession::NoNextSession);
    let (entries, b0) = full_toc(&mut d);
    let sessions: Vec<u8> = entries.iter().map(|e| e.0).collect();
    assert_eq!(sessions, [1, 1, 1, 1, 1, 2, 2, 2, 2]);
    assert!(entries.contains(&(2, 2, [2, 34, 20])), "{entries:?}");
    assert_eq!(
        b0,
        Some([2, 32, 20]),
        "only session 1 points on: the disc is closed"
    );
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.1 == POINT_NEXT_PROGRAM_AREA)
            .count(),
        1
    );
}

#[test]
fn full_toc_is_a_cd_format() {
    let mut d = Drive::with(0x0011);
    tao_burn(&mut d, &image(20, 6), MultiSession::NextSessionAllowed);
    assert_eq!(
        d.check(&read_toc(TocFormat::FullToc, true, 0, 4).cdb, &[]),
        (SenseKey::IllegalRequest, 0x24, 0x00)
    );
}

#[test]
fn dvd_r_incremental_burn_and_second_session() {
    let mut d = Drive::with(0x0011);
    let first = image(32, 8);
    d.mode_select(WriteType::Packet, MultiSession::NextSessionAllowed);
    d.write_all(0, &first);
    let info = d.disc_info();
    assert_eq!(
        (info.disc_status, info.last_session_state),
        (DiscStatus::Incomplete, SessionState::Incomplete)
    );
    assert_eq!(
        d.nwa(),
        32,
        "the incomplete track's NWA moves with each write"
    );
    d.sync();
    d.close(CloseFunction::Track, 1);
    d.close(CloseFunction::Session, 0);
    let second = image(16, 9);
    let nwa = tao_burn(&mut d, &second, MultiSession::NoNextSession);
    assert_eq!(d.read_all(0, 32), first);
    assert_eq!(d.read_all(nwa, 16), second);
    assert_eq!(d.disc_info().disc_status, DiscStatus::Complete);
}

#[test]
fn cd_rw_blank_and_reuse() {
    let mut d = Drive::with(0x000A);
    tao_burn(&mut d, &image(8, 10), MultiSession::NoNextSession);
    assert!(d.disc_info().erasable);
    assert_eq!(d.disc_info().disc_status, DiscStatus::Complete);
    d.good(&blank(BlankingType::Minimal, false).cdb, &[]);
    assert_eq!(d.disc_info().disc_status, DiscStatus::Blank);
    assert_eq!(d.check(&read10(0, 1, 2048).cdb, &[]), OUT_OF_RANGE);
    let again = image(8, 11);
    assert_eq!(tao_burn(&mut d, &again, MultiSession::NoNextSession), 0);
    assert_eq!(d.read_all(0, 8), again);
}

#[test]
fn dvd_rw_sequential_blank_then_format_to_restricted_overwrite() {
    let mut d = Drive::with(0x0014);
    tao_burn(&mut d, &image(16, 12), MultiSession::NoNextSession);
    d.good(&blank(BlankingType::Full, false).cdb, &[]);
    assert_eq!(d.disc_info().disc_status, DiscStatus::Blank);
    let caps =
        FormatCapacities::parse(&d.good(&read_format_capacities(252).cdb, &[])).expect("decodes");
    assert!(caps.formattable.iter().any(|f| f.format_type == 0x15));
    d.format(0x15, false);
    assert_eq!(d.state.medium, Some(0x0013), "now restricted overwrite");
    let data = image(16, 13);
    d.write_all(160, &data);
    d.write_all(0, &image(16, 14));
    assert_eq!(d.read_all(160, 16), data);
    // BLANK makes it sequential again.
    d.good(&blank(BlankingType::Minimal, false).cdb, &[]);
    assert_eq!(d.state.medium, Some(0x0014));
}

#[test]
fn restricted_overwrite_dvd_rw_is_one_fixed_packet_track() {
    // growisofs checks Packet/Inc and FP (track information byte 6) before writing
    let mut d = Drive::with(0x0013);
    let t = d.track(TrackAddress::Track(1));
    assert!(t.packet && t.fixed_packet, "{t:?}");
    assert_eq!(t.fixed_packet_size, 16);
    assert!(!t.blank && t.nwa_valid);
}

#[test]
fn dvd_plus_rw_needs_formatting_then_overwrites_anywhere() {
    let mut d = Drive::with(0x001A);
    assert_eq!(d.disc_info().disc_status, DiscStatus::Blank);
    let caps =
        FormatCapacities::parse(&d.good(&read_format_capacities(252).cdb, &[])).expect("decodes");
    assert_eq!(
        caps.current.descriptor_type,
        CapacityDescriptorType::Unformatted
    );
    assert_eq!(caps.formattable[0].format_type, 0x26);
    assert_eq!(
        d.check(&write10(0, 1, 2048).cdb, &image(1, 0)),
        NOT_FORMATTED
    );
    d.format(0x26, false);
    let caps =
        FormatCapacities::parse(&d.good(&read_format_capacities(252).cdb, &[])).expect("decodes");
    assert_eq!(
        caps.current.descriptor_type,
        CapacityDescriptorType::Formatted
    );
    assert_eq!(caps.current.blocks, DVD_CAPACITY);
    let info = d.disc_info();
    assert_eq!((info.disc_status, info.flags & 3), (DiscStatus::Other, 3));
    d.write_all(0, &image(32, 15));
    let over = image(16, 16);
    d.write_all(16, &over);
    assert_eq!(d.read_all(16, 16), over, "overwritten in place");
    assert_eq!(d.read_all(0, 16), image(32, 15)[..16 * BLOCK_LEN]);
    let cap = Capacity::parse(&d.good(&read_capacity().cdb, &[])).expect("decodes");
    assert_eq!(cap.last_lba, DVD_CAPACITY - 1);
}

#[test]
fn bd_re_format_with_immed_reports_progress_until_done() {
    let mut d = Drive::with(0x0043);
    d.format(0x30, true);
    let mut progress = Vec::new();
    for _ in 0..OPERATION_POLLS {
        let r = d.run(&test_unit_ready().cdb, &[]);
        assert_eq!(r.status, CHECK_CONDITION);
        let s = SenseData::parse(&r.sense).expect("decodes");
        assert_eq!((s.key, s.asc, s.ascq), (SenseKey::NotReady, 0x04, 0x04));
        progress.push(sense_progress(&r.sense).expect("progress"));
    }
    assert_eq!(progress, vec![0, 0x4000, 0x8000, 0xC000]);
    d.good(&test_unit_ready().cdb, &[]);
    let data = image(32, 17);
    d.write_all(1000, &data);
    assert_eq!(d.read_all(1000, 32), data);
    assert_eq!(BD_CAPACITY, 12_219_392);
}

#[test]
fn bd_re_offers_the_full_format_first_as_libburn_requires() {
    // libburn (xorriso's automatic "-format fast" of a blank BD-RE) gives up with "No suitable
    // formatting type offered by drive" unless the first formattable descriptor is type 00h.
    let mut d = Drive::with(0x0043);
    let f =
        FormatCapacities::parse(&d.good(&read_format_capacities(0xFC).cdb, &[])).expect("decodes");
    let types: Vec<u8> = f.formattable.iter().map(|c| c.format_type).collect();
    assert_eq!(types, [0x00, 0x30, 0x31]);
    d.format(0x00, false);
    assert_eq!(
        FormatCapacities::parse(&d.good(&read_format_capacities(0xFC).cdb, &[]))
            .expect("decodes")
            .current
            .descriptor_type,
        CapacityDescriptorType::Formatted
    );
}

#[test]
fn blank_with_immed_reports_operation_in_progress_through_request_sense() {
    let mut d = Drive::with(0x000A);
    tao_burn(&mut d, &image(4, 18), MultiSession::NoNextSession);
    d.good(&blank(BlankingType::Minimal, true).cdb, &[]);
    let b = d.good(&request_sense(18, false).cdb, &[]);
    let s = SenseData::parse(&b).expect("decodes");
    assert_eq!((s.key, s.asc, s.ascq), (SenseKey::NotReady, 0x04, 0x07));
    assert_eq!(sense_progress(&b), Some(0));
    // Other medium commands are refused without counting a poll.
    let s = d.check(&read_disc_information(34).cdb, &[]);
    assert_eq!(s, (SenseKey::NotReady, 0x04, 0x07));
    for _ in 1..OPERATION_POLLS {
        d.good(&request_sense(18, false).cdb, &[]);
    }
    d.good(&test_unit_ready().cdb, &[]);
    assert_eq!(d.disc_info().disc_status, DiscStatus::Blank);
}

#[test]
fn read_only_media_refuse_writing_and_read_zeros() {
    for profile in [0x0008u16, 0x0010, 0x0040] {
        let mut d = Drive::with(profile);
        assert_eq!(
            d.check(&write10(0, 1, 2048).cdb, &image(1, 0)),
            CANNOT_WRITE,
            "{profile:#x}"
        );
        assert_eq!(
            d.check(&blank(BlankingType::Full, false).cdb, &[]),
            CANNOT_WRITE
        );
        assert_eq!(d.read_all(5, 1), vec![0; BLOCK_LEN]);
        assert_eq!(d.disc_info().disc_status, DiscStatus::Complete);
    }
    assert_eq!(
        Drive::with(0x0008).disc_info().last_possible_lead_out_start,
        u32::MAX
    );
}

#[test]
fn get_configuration_makes_each_mediums_writing_feature_current() {
    use discrecorder_mmc::configuration::{
        get_configuration, Configuration, FeatureCode, RequestType,
    };
    for (profile, feature) in [
        (0x001Bu16, 0x002Bu16),
        (0x002B, 0x002B),
        (0x002B, 0x003B),
        (0x0043, 0x0020),
        (0x0043, 0x0023),
        (0x0013, 0x0026),
        (0x001A, 0x0023),
        (0x0014, 0x002F),
    ] {
        let mut d = Drive::with(profile);
        let cdb = get_configuration(RequestType::Current, FeatureCode(0), 65535).cdb;
        let c = Configuration::parse(&d.good(&cdb, &[])).expect("decodes");
        assert_eq!(c.current_profile.0, profile);
        assert!(
            c.features.iter().any(|f| f.code == FeatureCode(feature)),
            "{profile:#x}: feature {feature:#06x} not current"
        );
    }
}

// ---- refusals ----

#[test]
fn sequential_write_away_from_the_nwa_is_invalid_address() {
    let mut d = Drive::with(0x001B);
    d.write_all(0, &image(16, 0));
    assert_eq!(
        d.check(&write10(32, 16, 2048).cdb, &image(16, 0)),
        INVALID_ADDRESS
    );
    assert_eq!(
        d.check(&write10(0, 16, 2048).cdb, &image(16, 0)),
        INVALID_ADDRESS
    );
    assert_eq!(d.nwa(), 16);
}

#[test]
fn write_beyond_the_capacity_is_out_of_range() {
    let mut d = Drive::with(0x001B);
    d.state.disc.capacity = 40;
    d.write_all(0, &image(32, 0));
    assert_eq!(
        d.check(&write10(32, 16, 2048).cdb, &image(16, 0)),
        OUT_OF_RANGE
    );
    assert_eq!(d.track(TrackAddress::Track(1)).free_blocks, 8);
    d.write_all(32, &image(8, 0));
}

#[test]
fn default_capacities_are_real_discs() {
    for (profile, blocks) in [
        (0x0009u16, CD_CAPACITY),
        (0x001B, DVD_CAPACITY),
        (0x0011, DVD_CAPACITY),
        (0x0041, BD_CAPACITY),
        (0x002B, DVD_DL_CAPACITY),
    ] {
        let mut d = Drive::with(profile);
        assert_eq!(d.track(TrackAddress::Track(0xFF)).free_blocks, blocks);
    }
    assert_eq!((CD_CAPACITY, DVD_CAPACITY), (359_847, 2_295_104));
}

#[test]
fn write_protect_refuses_write_blank_and_format() {
    let mut d = Drive::with(0x000A);
    d.state.write_protected = true;
    assert_eq!(
        d.check(&write10(0, 1, 2048).cdb, &image(1, 0)),
        WRITE_PROTECTED
    );
    assert_eq!(
        d.check(&blank(BlankingType::Full, false).cdb, &[]),
        WRITE_PROTECTED
    );
    let mut d = Drive::with(0x001A);
    d.state.write_protected = true;
    let p = [0, 0, 0, 8, 0, 0, 0, 0, 0x26 << 2, 0, 0, 0];
    assert_eq!(d.check(&format_unit().cdb, &p), WRITE_PROTECTED);
}

#[test]
fn reading_unwritten_blocks_of_sequential_media_is_out_of_range() {
    let mut d = Drive::with(0x0041);
    d.write_all(0, &image(16, 0));
    assert_eq!(d.check(&read10(16, 1, 2048).cdb, &[]), OUT_OF_RANGE);
    assert_eq!(d.check(&read10(8, 16, 2048).cdb, &[]), OUT_OF_RANGE);
    d.read_all(8, 8);
}

#[test]
fn mode_select_sets_the_write_parameters_page() {
    let mut d = Drive::with(0x0009);
    d.mode_select(WriteType::SessionAtOnce, MultiSession::NextSessionAllowed);
    assert_eq!(d.state.write_mode.write_type, 2);
    assert_eq!(d.state.write_mode.multi_session, 3);
    let bad = vec![0u8; 20];
    assert_eq!(
        d.check(&mode_select10(20, true, false).cdb, &bad),
        (SenseKey::IllegalRequest, 0x26, 0x00)
    );
}

#[test]
fn mode_select_refuses_the_write_types_this_drive_cannot_record() {
    // wodim probes each write type with MODE SELECT and lists the ones a drive takes: raw
    // (2,352-byte sectors) and layer jump must not be among them.
    let mut d = Drive::with(0x0009);
    for refused in [WriteType::Raw, WriteType::LayerJump] {
        let list = WriteParameters {
            write_type: refused,
            ..WriteParameters::default()
        }
        .encode_mode_select10()
        .expect("encodes");
        let len = u16::try_from(list.len()).expect("short");
        assert_eq!(
            d.check(&mode_select10(len, true, false).cdb, &list),
            (SenseKey::IllegalRequest, 0x26, 0x00),
            "{refused:?}"
        );
        assert_eq!(
            d.state.write_mode.write_type, 1,
            "{refused:?} changed nothing"
        );
    }
}

#[test]
fn speeds_streaming_and_buffer_are_answered() {
    let mut d = Drive::with(0x001B);
    let s = WriteSpeeds::parse(&d.good(&get_performance_write_speed(8).cdb, &[])).expect("ok");
    assert_eq!(s.speeds(), vec![22160, 11080, 5540]);
    assert!(s.descriptors.iter().all(|x| x.end_lba == DVD_CAPACITY - 1));
    let perf = PerformanceDescriptor {
        rotation_control: 0,
        restore_defaults: false,
        exact: false,
        random_access: false,
        start_lba: 0,
        end_lba: DVD_CAPACITY - 1,
        read_size: 22160,
        read_time: 1000,
        write_size: 22160,
        write_time: 1000,
    }
    .encode()
    .expect("encodes");
    d.good(&set_streaming().cdb, &perf);
    d.good(&set_cd_speed(0xFFFF, 0xFFFF, 0).cdb, &[]);
    let b = BufferCapacity::parse(&d.good(&read_buffer_capacity(12).cdb, &[])).expect("ok");
    assert_eq!(b.length, b.blank_length);
}

#[test]
fn write12_with_streaming_records_like_write10() {
    let mut d = Drive::with(0x0041);
    let data = image(32, 19);
    d.good(&write12(0, 32, 2048, true).expect("fits").cdb, &data);
    assert_eq!(d.read_all(0, 32), data);
}

// ---- faults ----

#[test]
fn medium_error_names_the_lba_and_writes_nothing() {
    let mut d = Drive::with(0x001B);
    d.state.faults.medium_error_lba = Some(20);
    d.write_all(0, &image(16, 0));
    let s = d.sense(&write10(16, 16, 2048).cdb, &image(16, 0));
    assert_eq!((s.key, s.asc, s.ascq), (SenseKey::MediumError, 0x0C, 0x00));
    assert_eq!(s.information, Some(20));
    assert_eq!(d.nwa(), 16);
}

#[test]
fn long_write_in_progress_holds_synchronize_cache_for_k_polls() {
    let mut d = Drive::with(0x001B);
    d.write_all(0, &image(16, 0));
    d.state.faults.long_write_polls = 3;
    for _ in 0..2 {
        assert_eq!(
            d.check(&synchronize_cache(false).cdb, &[]),
            (SenseKey::NotReady, 0x04, 0x08)
        );
    }
    assert_eq!(
        d.check(&test_unit_ready().cdb, &[]),
        (SenseKey::NotReady, 0x04, 0x08)
    );
    assert!(!d.state.disc.unsynced.is_empty(), "not synchronized yet");
    d.sync();
    assert!(d.state.disc.unsynced.is_empty());
}

#[test]
fn corrupt_sector_reads_back_different() {
    let mut d = Drive::with(0x001B);
    let data = image(16, 20);
    d.write_all(0, &data);
    d.state.faults.corrupt_lba = Some(3);
    let back = d.read_all(0, 16);
    assert_ne!(back, data);
    let first_bad = back
        .chunks(BLOCK_LEN)
        .zip(data.chunks(BLOCK_LEN))
        .position(|(a, b)| a != b);
    assert_eq!(first_bad, Some(3));
}

#[test]
fn power_loss_drops_unsynced_sectors_and_reports_power_on() {
    let mut d = Drive::with(0x001B);
    let kept = image(16, 21);
    d.write_all(0, &kept);
    d.sync();
    d.write_all(16, &image(16, 22));
    d.state.power_loss();
    assert_eq!(d.check(&test_unit_ready().cdb, &[]), POWER_ON);
    assert_eq!(d.nwa(), 16, "the NWA fell back to the sync point");
    assert_eq!(d.read_all(0, 16), kept);
    assert_eq!(d.check(&read10(16, 1, 2048).cdb, &[]), OUT_OF_RANGE);
    assert!(
        d.store.blocks.keys().all(|&k| k < 16),
        "the store forgot them"
    );
}

#[test]
fn power_loss_on_rewritable_media_loses_the_unsynced_blocks() {
    let mut d = Drive::with(0x001A);
    d.format(0x26, false);
    d.write_all(0, &image(16, 23));
    d.state.power_loss();
    assert_eq!(d.check(&test_unit_ready().cdb, &[]), POWER_ON);
    assert_eq!(d.read_all(0, 16), vec![0; 16 * BLOCK_LEN]);
}

#[test]
fn hang_armed_at_the_nth_command_fires_there() {
    let mut d = Drive::with(0x001B);
    d.state.faults.trigger = Some(Trigger {
        fault: Fault::Hang,
        at: TriggerAt::Command(3),
    });
    d.good(&test_unit_ready().cdb, &[]);
    d.good(&test_unit_ready().cdb, &[]);
    assert_eq!(
        d.state
            .execute_with(&test_unit_ready().cdb, &[], &mut d.store),
        Outcome::Hang
    );
    assert_eq!(d.state.fault, Fault::Hang);
    assert_eq!(d.state.faults.trigger, None);
}

#[test]
fn vanish_armed_at_an_opcode_fires_at_the_first_such_command() {
    let mut d = Drive::with(0x001B);
    d.state.faults.trigger = Some(Trigger {
        fault: Fault::Vanish,
        at: TriggerAt::Opcode(0x35),
    });
    d.write_all(0, &image(16, 0));
    assert_eq!(
        d.state
            .execute_with(&synchronize_cache(false).cdb, &[], &mut d.store),
        Outcome::Vanished
    );
}

#[test]
fn a_new_disc_makes_the_store_forget_the_old_one() {
    let mut d = Drive::with(0x001B);
    d.write_all(0, &image(16, 0));
    d.state.blank_medium();
    d.state.unit_attention = false;
    d.good(&test_unit_ready().cdb, &[]);
    assert!(d.store.blocks.is_empty());
    assert_eq!(d.disc_info().disc_status, DiscStatus::Blank);
}

// ---- no panics ----

fn any_disc() -> impl Strategy<Value = Disc> {
    (
        prop_oneof![Just(0u32), 0u32..100, any::<u32>()],
        prop::collection::vec(
            (
                any::<u16>(),
                prop_oneof![0u32..200, any::<u32>()],
                prop_oneof![0u32..50, any::<u32>()],
                prop::option::of(prop_oneof![0u32..50, any::<u32>()]),
                any::<bool>(),
            ),
            0..6,
        ),
        any::<u16>(),
        any::<[bool; 2]>(),
        prop::collection::vec((any::<u32>(), any::<u32>()), 0..3),
        prop::option::of((
            prop_oneof![Just(-150i32), any::<i32>()],
            prop::collection::vec(prop_oneof![0u32..400, any::<u32>()], 0..4),
            prop_oneof![0u32..400, any::<u32>()],
            prop_oneof![0u32..400, any::<u32>()],
            any::<bool>(),
        )),
    )
        .prop_map(
            |(capacity, tracks, closed_sessions, flags, extents, sao)| Disc {
                capacity,
                tracks: tracks
                    .into_iter()
                    .map(|(session, start, written, reserved, closed)| Track {
                        session,
                        start,
                        written,
                        reserved,
                        closed,
                    })
                    .collect(),
                closed_sessions: closed_sessions % 4,
                finalized: flags[0],
                formatted: flags[1],
                unsynced: extents
                    .iter()
                    .map(|&(start, blocks)| Extent { start, blocks })
                    .collect(),
                pending_discards: Vec::new(),
                session_at_once: sao.map(
                    |(first, track_starts, lead_out, received, next_session_allowed)| {
                        SessionAtOnce {
                            first,
                            track_starts,
                            lead_out,
                            received,
                            next_session_allowed,
                        }
                    },
                ),
            },
        )
}

fn recording_cdb() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..13),
        (
            prop::sample::select(vec![
                0x04u8, 0x23, 0x25, 0x28, 0x2A, 0x35, 0x43, 0x51, 0x52, 0x53, 0x55, 0x5B, 0x5C,
                0x5D, 0xA1, 0xAA, 0xAC, 0xB6, 0xBB, 0x00, 0x03
            ]),
            prop::collection::vec(any::<u8>(), 0..12),
        )
            .prop_map(|(op, rest)| {
                let mut v = vec![op];
                v.extend(rest);
                // Keep READ(10) transfers small: the host's allocation is its own business.
                if op == 0x28 && v.len() > 7 {
                    v[7] = 0;
                }
                v
            }),
        // Negative LBAs too: a session at once starts at the pregap, -150.
        (-160i32..300, 0u16..40).prop_map(|(lba, n)| write10(lba as u32, n, 2048).cdb.to_vec()),
        (0u32..300, 0u16..40).prop_map(|(lba, n)| read10(lba, n, 2048).cdb.to_vec()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn execute_with_never_panics(
        profile in prop_oneof![
            prop::sample::select(vec![
                0x08u16, 0x09, 0x0A, 0x10, 0x11, 0x13, 0x14, 0x1A, 0x1B, 0x40, 0x41, 0x43,
            ]),
            any::<u16>(),
        ],
        disc in any_disc(),
        write_protected in any::<bool>(),
        power_loss in any::<bool>(),
        medium_error in prop::option::of(0u32..300),
        corrupt in prop::option::of(0u32..300),
        long_write in 0u32..3,
        cdbs in prop::collection::vec((recording_cdb(), prop::collection::vec(any::<u8>(), 0..80)), 1..8),
    ) {
        let mut d = Drive::with(profile);
        d.state.profiles.push(profile);
        d.state.disc = disc;
        d.state.write_protected = write_protected;
        d.state.faults.medium_error_lba = medium_error;
        d.state.faults.corrupt_lba = corrupt;
        d.state.faults.long_write_polls = long_write;
        if power_loss {
            d.state.power_loss();
        }
        for (cdb, data) in cdbs {
            let mut out = data.clone();
            // Whole blocks for WRITEs now and then.
            if matches!(cdb.first(), Some(0x2A | 0xAA)) {
                out.resize(BLOCK_LEN * usize::from(cdb.get(8).copied().unwrap_or(0) % 4), 0x5A);
            }
            let _ = d.state.execute_with(&cdb, &out, &mut d.store);
        }
    }
}

// ---- session at once (cdrskin -sao) ----

const SEQUENCE_ERROR: Sense = (SenseKey::IllegalRequest, 0x2C, 0x00);
const INVALID_PARAMETER: Sense = (SenseKey::IllegalRequest, 0x26, 0x00);

/// An 8-byte cue sheet entry with its address as the MSF of `lba` (150 blocks before LBA 0).
fn cue_entry(ctl_adr: u8, tno: u8, index: u8, form: u8, lba: i32) -> [u8; 8] {
    let a = u32::try_from(lba + 150).expect("not before the lead-in");
    let (m, s, f) = (a / 4500, (a / 75) % 60, a % 75);
    [
        ctl_adr,
        tno,
        index,
        form,
        0,
        u8::try_from(m).expect("small"),
        u8::try_from(s).expect("small"),
        u8::try_from(f).expect("small"),
    ]
}

/// The cue sheet libburn 1.x builds (write.c burn_create_toc_entries) for one Mode 1 data
/// track of `blocks` blocks: lead-in (TNO 0, data form 14h), track 1 index 0 at 00:00:00 and
/// index 1 at 00:02:00 (data form 10h), lead-out (TNO AAh, data form 14h) after the track.
fn libburn_cue_sheet(blocks: i32) -> Vec<u8> {
    [
        cue_entry(0x41, 0, 0, 0x14, -150),
        cue_entry(0x41, 1, 0, 0x10, -150),
        cue_entry(0x41, 1, 1, 0x10, 0),
        cue_entry(0x41, 0xAA, 1, 0x14, blocks),
    ]
    .concat()
}

/// SEND CUE SHEET (5Dh) as libburn's mmc_send_cue_sheet sends it: the length in bytes 6-8.
fn send_cue_sheet_cdb(len: usize) -> [u8; 10] {
    let [_, a, b, c] = u32::try_from(len).expect("small").to_be_bytes();
    [0x5D, 0, 0, 0, 0, 0, a, b, c, 0]
}

/// WRITE(10) at a signed LBA, as libburn sends the pregap's -150 (0xFFFFFF6A).
fn write_at(lba: i32, blocks: u16) -> [u8; 10] {
    write10(lba as u32, blocks, 2048).cdb
}

/// libburn/cdrskin -sao on a blank CD (write.c burn_disc_write_sync): MODE SELECT page 05h
/// with write type 2, the invisible track's NWA, SEND CUE SHEET, then the 150-block pregap
/// and the track in 16-block WRITEs from LBA -150 on (one WRITE straddles LBA 0), then
/// SYNCHRONIZE CACHE; no CLOSE TRACK/SESSION.
fn sao_burn(d: &mut Drive, data: &[u8], multi: MultiSession) {
    d.mode_select(WriteType::SessionAtOnce, multi);
    assert_eq!(d.nwa(), 0);
    let blocks = i32::try_from(data.len() / BLOCK_LEN).expect("small");
    let sheet = libburn_cue_sheet(blocks);
    d.good(&send_cue_sheet_cdb(sheet.len()), &sheet);
    let mut all = vec![0u8; 150 * BLOCK_LEN];
    all.extend_from_slice(data);
    for (i, chunk) in all.chunks(16 * BLOCK_LEN).enumerate() {
        let n = u16::try_from(chunk.len() / BLOCK_LEN).expect("small");
        let lba = -150 + i32::try_from(i * 16).expect("small");
        d.good(&write_at(lba, n), chunk);
    }
    d.sync();
}

fn assert_one_sao_track(d: &mut Drive, data: &[u8]) {
    let blocks = u32::try_from(data.len() / BLOCK_LEN).expect("small");
    let t = d.track(TrackAddress::Track(1));
    assert_eq!(
        (t.track_start, t.track_size, t.session_number),
        (0, blocks, 1),
        "{t:?}"
    );
    assert!(!t.blank && !t.nwa_valid, "{t:?}");
    assert_eq!(t.last_recorded_address, Some(blocks - 1));
    let cap = Capacity::parse(&d.good(&read_capacity().cdb, &[])).expect("capacity");
    assert_eq!(cap.last_lba, blocks - 1);
    let toc = Toc::parse(&d.good(&read_toc(TocFormat::Toc, false, 1, 100).cdb, &[])).expect("toc");
    assert_eq!((toc.first_track, toc.last_track), (1, 1));
    let starts: Vec<(u8, u32)> = toc
        .descriptors
        .iter()
        .map(|x| (x.track, x.start_address))
        .collect();
    assert_eq!(starts, vec![(1, 0), (0xAA, blocks)]);
    assert_eq!(d.read_all(0, u16::try_from(blocks).expect("small")), data);
}

#[test]
fn cd_r_sao_burn_as_libburn_sends_it_completes_the_disc() {
    let mut d = Drive::with(0x0009);
    let data = image(300, 11);
    sao_burn(&mut d, &data, MultiSession::NoNextSession);
    let info = d.disc_info();
    assert_eq!(
        (info.disc_status, info.last_session_state, info.sessions),
        (DiscStatus::Complete, SessionState::Complete, 1)
    );
    assert_eq!(
        (
            info.first_track_in_last_session,
            info.last_track_in_last_session
        ),
        (1, 1)
    );
    assert_one_sao_track(&mut d, &data);
    // Nothing more goes on a complete disc, in either write type.
    assert_eq!(d.check(&write_at(300, 1), &image(1, 0)), INVALID_ADDRESS);
    let sheet = libburn_cue_sheet(300);
    assert_eq!(
        d.check(&send_cue_sheet_cdb(sheet.len()), &sheet),
        SEQUENCE_ERROR
    );
}

#[test]
fn cd_rw_sao_burn_with_next_session_allowed_leaves_it_appendable() {
    let mut d = Drive::with(0x000A);
    let data = image(333, 12);
    sao_burn(&mut d, &data, MultiSession::NextSessionAllowed);
    let info = d.disc_info();
    assert_eq!(
        (info.disc_status, info.last_session_state, info.sessions),
        (DiscStatus::Incomplete, SessionState::Empty, 2)
    );
    assert_one_sao_track(&mut d, &data);
    // The next session (TAO, as libburn appends) starts after the CD session gap.
    assert_eq!(d.nwa(), 333 + 11_400);
    // libburn does not try SAO on an appendable CD (Libburn_sao_can_appenD is off); a
    // cue sheet for it is out of sequence.
    let sheet = libburn_cue_sheet(300);
    assert_eq!(
        d.check(&send_cue_sheet_cdb(sheet.len()), &sheet),
        SEQUENCE_ERROR
    );
}

#[test]
fn sao_of_two_tracks_closes_the_session_when_the_last_block_before_the_lead_out_arrives() {
    let mut d = Drive::with(0x0009);
    d.mode_select(WriteType::SessionAtOnce, MultiSession::NoNextSession);
    let sheet = [
        cue_entry(0x41, 0, 0, 0x14, -150),
        cue_entry(0x41, 1, 0, 0x10, -150),
        cue_entry(0x41, 1, 1, 0x10, 0),
        cue_entry(0x41, 2, 1, 0x10, 300),
        cue_entry(0x41, 0xAA, 1, 0x14, 620),
    ]
    .concat();
    d.good(&send_cue_sheet_cdb(sheet.len()), &sheet);
    d.good(&write_at(-150, 150), &vec![0u8; 150 * BLOCK_LEN]);
    let data = image(620, 13);
    d.write_all(0, &data);
    // Closed when the last block before the lead-out arrived.
    assert_eq!(d.disc_info().disc_status, DiscStatus::Complete);
    let t2 = d.track(TrackAddress::Track(2));
    assert_eq!((t2.track_start, t2.track_size), (300, 320));
    assert_eq!(d.read_all(0, 620), data);
}

#[test]
fn send_cue_sheet_outside_session_at_once_is_a_sequence_error() {
    let mut d = Drive::with(0x0009);
    let sheet = libburn_cue_sheet(300);
    d.mode_select(WriteType::TrackAtOnce, MultiSession::NoNextSession);
    assert_eq!(
        d.check(&send_cue_sheet_cdb(sheet.len()), &sheet),
        SEQUENCE_ERROR
    );
    // Not a CD: no cue sheet either.
    let mut dvd = Drive::with(0x0011);
    dvd.mode_select(WriteType::SessionAtOnce, MultiSession::NoNextSession);
    assert_eq!(
        dvd.check(&send_cue_sheet_cdb(sheet.len()), &sheet),
        SEQUENCE_ERROR
    );
}

#[test]
fn bad_cue_sheets_are_invalid_parameter_lists() {
    let good = libburn_cue_sheet(300);
    let entries: Vec<[u8; 8]> = good
        .chunks(8)
        .map(|c| c.try_into().expect("8 bytes"))
        .collect();
    let without = |skip: usize| -> Vec<u8> {
        entries
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != skip)
            .flat_map(|(_, e)| e.to_vec())
            .collect()
    };
    let mut audio = good.clone();
    for e in audio.chunks_mut(8) {
        e[0] = 0x01;
        e[3] = 0x00;
    }
    let mut mode2 = good.clone();
    mode2[8 + 3] = 0x30;
    mode2[16 + 3] = 0x30;
    let mut backwards = good.clone();
    backwards[24 + 5..24 + 8].copy_from_slice(&[0, 1, 0]);
    let mut late_start = good.clone();
    late_start[16 + 6] = 3;
    let bad: Vec<(&str, Vec<u8>)> = vec![
        ("not a multiple of 8", good[..30].to_vec()),
        ("empty", Vec::new()),
        ("no lead-in", without(0)),
        ("no track", [entries[0], entries[3]].concat()),
        ("no lead-out", without(3)),
        ("audio", audio),
        ("mode 2", mode2),
        ("lead-out before the track", backwards),
        ("track 1 not at LBA 0", late_start),
    ];
    for (what, sheet) in bad {
        let mut d = Drive::with(0x0009);
        d.mode_select(WriteType::SessionAtOnce, MultiSession::NoNextSession);
        assert_eq!(
            d.check(&send_cue_sheet_cdb(sheet.len()), &sheet),
            INVALID_PARAMETER,
            "{what}"
        );
        // Nothing was planned: the disc is still blank and the pregap has nowhere to go.
        assert_eq!(d.disc_info().disc_status, DiscStatus::Blank, "{what}");
        assert_eq!(
            d.check(&write_at(-150, 1), &image(1, 0)),
            OUT_OF_RANGE,
            "{what}"
        );
    }
}

#[test]
fn sao_writes_outside_the_cue_sheet_are_invalid_addresses() {
    let mut d = Drive::with(0x0009);
    d.mode_select(WriteType::SessionAtOnce, MultiSession::NoNextSession);
    let sheet = libburn_cue_sheet(300);
    d.good(&send_cue_sheet_cdb(sheet.len()), &sheet);
    // The host must start at the cue sheet's first address (the pregap at -150).
    assert_eq!(d.check(&write_at(0, 1), &image(1, 0)), INVALID_ADDRESS);
    assert_eq!(d.check(&write_at(-149, 1), &image(1, 0)), INVALID_ADDRESS);
    // Not past the lead-out's start.
    assert_eq!(
        d.check(&write_at(-150, 451), &vec![0u8; 451 * BLOCK_LEN]),
        INVALID_ADDRESS
    );
    d.good(&write_at(-150, 150), &vec![0u8; 150 * BLOCK_LEN]);
    // Nor out of order once begun.
    assert_eq!(d.check(&write_at(10, 1), &image(1, 0)), INVALID_ADDRESS);
    assert_eq!(
        d.disc_info().disc_status,
        DiscStatus::Blank,
        "only the pregap so far"
    );
    d.write_all(0, &image(300, 14));
    assert_eq!(d.disc_info().disc_status, DiscStatus::Complete);
}
