//! Property checks for the parsers of the recording path: the disc structure
//! (`discrecorder_mmc::disc`) and the write setup (`discrecorder_mmc::write`).
//!
//! Each check states the byte layout it expects from the standard (clause given per
//! function, numbered as in the module docs of `disc` and `write`; bit positions cross-checked against Linux `include/uapi/linux/cdrom.h`, libburn's
//! `mmc.c` and Wireshark's MMC dissector), not from the parser's code: what a parser accepts
//! must be exactly those bytes, and encode-then-parse must give the value back.

use discrecorder_mmc::disc::{
    Capacity, CapacityDescriptorType, DiscInformation, DiscStatus, FormatCapacities, FullToc,
    SessionInfo, SessionState, Toc, TrackInformation,
};
use discrecorder_mmc::write::{
    encode_cue_sheet, parse_cue_sheet, sense_progress as progress_of, BufferCapacity,
    FormatParameters, MultiSession, PerformanceDescriptor, WriteParameters, WriteSpeeds, WriteType,
};

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be24(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([0, b[at], b[at + 1], b[at + 2]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// `min(data.len(), end)`: what of a response its length field declares is present.
fn available(data: &[u8], declared_end: usize) -> usize {
    data.len().min(declared_end)
}

// ---- disc structure ----

/// READ DISC INFORMATION, standard disc information block (MMC-6 6.21.3.1): data type 000b
/// in byte 2 bits 7-5, Erasable bit 4, State of Last Session bits 3-2, Disc Status bits 1-0;
/// the 16-bit counts split LSB (bytes 4-6) and MSB (bytes 9-11); 34 bytes before the OPC
/// tables, whose count (byte 33) must fit the declared length; only whole tables are kept.
pub fn disc_information(data: &[u8]) {
    let Ok(d) = DiscInformation::parse(data) else {
        return;
    };
    assert!(data.len() >= 34, "accepted {} bytes", data.len());
    let declared_end = usize::from(be16(data, 0)) + 2;
    assert!(declared_end >= 34);
    assert_eq!(data[2] >> 5, 0, "disc information data type");
    assert_eq!(d.erasable, data[2] & 0x10 != 0);
    assert_eq!(d.last_session_state.bits(), (data[2] >> 2) & 0x03);
    assert_eq!(d.disc_status.bits(), data[2] & 0x03);
    assert_eq!(d.first_track, data[3]);
    assert_eq!(d.sessions, u16::from_be_bytes([data[9], data[4]]));
    assert_eq!(
        d.first_track_in_last_session,
        u16::from_be_bytes([data[10], data[5]])
    );
    assert_eq!(
        d.last_track_in_last_session,
        u16::from_be_bytes([data[11], data[6]])
    );
    assert_eq!(d.flags, data[7]);
    assert_eq!(d.disc_type, data[8]);
    assert_eq!(d.disc_identification, be32(data, 12));
    assert_eq!(d.last_session_lead_in_start, be32(data, 16));
    assert_eq!(d.last_possible_lead_out_start, be32(data, 20));
    assert_eq!(d.disc_bar_code[..], data[24..32]);
    assert_eq!(d.disc_application_code, data[32]);
    let count = usize::from(data[33]);
    assert!(34 + 8 * count <= declared_end, "OPC tables past the data");
    let whole = ((available(data, declared_end) - 34) / 8).min(count);
    assert_eq!(d.opc_tables.len(), whole, "OPC tables kept");
    for (i, t) in d.opc_tables.iter().enumerate() {
        assert_eq!(t[..], data[34 + 8 * i..42 + 8 * i]);
    }
    assert_eq!(DiscStatus::from_bits(d.disc_status.bits()), d.disc_status);
    assert_eq!(
        SessionState::from_bits(d.last_session_state.bits()),
        d.last_session_state
    );
    let bytes = d.encode().expect("parsed disc information encodes");
    assert_eq!(bytes.len(), 34 + 8 * d.opc_tables.len());
    assert_eq!(DiscInformation::parse(&bytes), Ok(d));
}

/// READ TRACK INFORMATION (MMC-6 6.26): at least 28 bytes declared and present; Damage,
/// Copy and Track Mode in byte 5 (bits 5, 4, 3-0), RT, Blank, Packet/Inc, FP and Data Mode
/// in byte 6 (bits 7, 6, 5, 4, 3-0), LRA_V and NWA_V in byte 7 (bits 1, 0); addresses and
/// sizes in bytes 8-27; from 36 bytes the Last Recorded Address and the MSBs of the track
/// and session numbers (bytes 32, 33), from 48 bytes bytes 36-47.
pub fn track_information(data: &[u8]) {
    let Ok(t) = TrackInformation::parse(data) else {
        return;
    };
    let declared_end = usize::from(be16(data, 0)) + 2;
    assert!(declared_end >= 28);
    let got = available(data, declared_end);
    assert!(got >= 28, "accepted {got} bytes");
    let (track_msb, session_msb) = if got >= 36 {
        (data[32], data[33])
    } else {
        (0, 0)
    };
    assert_eq!(t.track_number, u16::from_be_bytes([track_msb, data[2]]));
    assert_eq!(t.session_number, u16::from_be_bytes([session_msb, data[3]]));
    let (b5, b6, b7) = (data[5], data[6], data[7]);
    assert_eq!(t.damage, b5 & 0x20 != 0);
    assert_eq!(t.copy, b5 & 0x10 != 0);
    assert_eq!(t.track_mode, b5 & 0x0F);
    assert_eq!(t.reserved_track, b6 & 0x80 != 0);
    assert_eq!(t.blank, b6 & 0x40 != 0);
    assert_eq!(t.packet, b6 & 0x20 != 0);
    assert_eq!(t.fixed_packet, b6 & 0x10 != 0);
    assert_eq!(t.data_mode, b6 & 0x0F);
    assert_eq!(t.lra_valid, b7 & 0x02 != 0);
    assert_eq!(t.nwa_valid, b7 & 0x01 != 0);
    assert_eq!(t.track_start, be32(data, 8));
    assert_eq!(t.next_writable_address, be32(data, 12));
    assert_eq!(t.free_blocks, be32(data, 16));
    assert_eq!(t.fixed_packet_size, be32(data, 20));
    assert_eq!(t.track_size, be32(data, 24));
    assert_eq!(t.last_recorded_address, (got >= 36).then(|| be32(data, 28)));
    match t.extension {
        Some(x) => {
            assert!(got >= 48);
            assert_eq!(x.read_compatibility_lba, be32(data, 36));
            assert_eq!(x.next_layer_jump_address, be32(data, 40));
            assert_eq!(x.last_layer_jump_address, be32(data, 44));
        }
        None => assert!(got < 48),
    }
    assert_eq!(t.nwa(), (b7 & 0x01 != 0).then(|| be32(data, 12)));
    let bytes = t.encode().expect("parsed track information encodes");
    assert_eq!(TrackInformation::parse(&bytes), Ok(t));
}

/// READ CAPACITY: 8 bytes, last LBA then block length; no length field.
pub fn capacity(data: &[u8]) {
    let Ok(c) = Capacity::parse(data) else {
        assert!(data.len() < 8);
        return;
    };
    assert_eq!(c.last_lba, be32(data, 0));
    assert_eq!(c.block_length, be32(data, 4));
    assert_eq!(c.encode()[..], data[..8]);
}

/// TOC data length (bytes 0-1): 2 plus a whole number of 8-byte descriptors.
fn assert_toc_length(data: &[u8]) -> usize {
    let length = usize::from(be16(data, 0));
    assert!(
        length >= 2 && (length - 2) % 8 == 0,
        "TOC data length {length}"
    );
    length + 2
}

/// One 8-byte TOC track descriptor at `at` (MMC-6 6.25.3.2): ADR bits 7-4 and CONTROL bits
/// 3-0 of byte 1, Track Number byte 2, Track Start Address bytes 4-7.
fn assert_toc_descriptor(d: &discrecorder_mmc::disc::TocDescriptor, data: &[u8], at: usize) {
    assert_eq!(d.adr, data[at + 1] >> 4);
    assert_eq!(d.control, data[at + 1] & 0x0F);
    assert_eq!(d.track, data[at + 2]);
    assert_eq!(d.start_address, be32(data, at + 4));
}

/// READ TOC/PMA/ATIP format 0000b (MMC-6 6.25.3.2.1): header, then the descriptors that arrived
/// whole, in order.
pub fn toc(data: &[u8]) {
    let Ok(t) = Toc::parse(data) else {
        return;
    };
    let declared_end = assert_toc_length(data);
    assert!(data.len() >= 4);
    assert_eq!((t.first_track, t.last_track), (data[2], data[3]));
    let got = available(data, declared_end);
    assert_eq!(t.descriptors.len(), (got - 4) / 8, "descriptors kept");
    for (i, d) in t.descriptors.iter().enumerate() {
        assert_toc_descriptor(d, data, 4 + 8 * i);
    }
    let bytes = t.encode().expect("a parsed TOC encodes");
    assert_eq!(Toc::parse(&bytes), Ok(t));
}

/// READ TOC/PMA/ATIP format 0001b (MMC-6 6.25.3): header plus exactly one descriptor, so at
/// least 12 bytes declared and present.
pub fn session_info(data: &[u8]) {
    let Ok(s) = SessionInfo::parse(data) else {
        return;
    };
    let declared_end = assert_toc_length(data);
    assert!(declared_end >= 12 && data.len() >= 12);
    assert_eq!((s.first_session, s.last_session), (data[2], data[3]));
    assert_toc_descriptor(&s.first_track_in_last_session, data, 4);
    let bytes = s.encode().expect("parsed session information encodes");
    assert_eq!(bytes.len(), 12);
    assert_eq!(be16(&bytes, 0), 10);
    assert_eq!(SessionInfo::parse(&bytes), Ok(s));
}

/// READ TOC/PMA/ATIP format 0010b, the full TOC of a CD (MMC-6 6.25.3.4): a 16-bit data
/// length of 2 plus a whole number of 11-byte entries; first and last complete session in
/// bytes 2-3; each entry is Session, ADR (bits 7-4) / CONTROL (bits 3-0), TNO, POINT,
/// MIN/SEC/FRAME, ZERO, PMIN/PSEC/PFRAME; only whole entries are kept.
pub fn full_toc(data: &[u8]) {
    let Ok(t) = FullToc::parse(data) else {
        return;
    };
    assert!(data.len() >= 4);
    let length = usize::from(be16(data, 0));
    assert!(
        length >= 2 && (length - 2) % 11 == 0,
        "toc data length {length}"
    );
    assert_eq!((t.first_session, t.last_session), (data[2], data[3]));
    let got = available(data, length + 2);
    assert_eq!(t.descriptors.len(), (got - 4) / 11, "entries kept");
    for (i, e) in t.descriptors.iter().enumerate() {
        let at = 4 + 11 * i;
        assert_eq!(e.session, data[at]);
        assert_eq!((e.adr, e.control), (data[at + 1] >> 4, data[at + 1] & 0x0F));
        assert_eq!((e.tno, e.point), (data[at + 2], data[at + 3]));
        assert_eq!(e.msf, [data[at + 4], data[at + 5], data[at + 6]]);
        assert_eq!(e.zero, data[at + 7]);
        assert_eq!(e.pmsf, [data[at + 8], data[at + 9], data[at + 10]]);
    }
    let bytes = t.encode().expect("a parsed full TOC encodes");
    assert_eq!(FullToc::parse(&bytes), Ok(t));
}

/// SEND CUE SHEET's parameter list (MMC-5 6.33.3): a whole number of 8-byte entries, each
/// CTL/ADR, TNO, INDEX, DATA FORM, SCMS, MIN, SEC, FRAME; any such bytes decode, and encode
/// back to themselves. An entry's time is an LBA (00:02:00 = 0) only when SEC < 60 and
/// FRAME < 75.
pub fn cue_sheet(data: &[u8]) {
    let parsed = parse_cue_sheet(data);
    assert_eq!(
        parsed.is_ok(),
        data.len().is_multiple_of(8),
        "{} bytes",
        data.len()
    );
    let Ok(entries) = parsed else {
        return;
    };
    assert_eq!(entries.len(), data.len() / 8);
    for (e, b) in entries.iter().zip(data.chunks_exact(8)) {
        assert_eq!((e.control(), e.adr()), (b[0] >> 4, b[0] & 0x0F));
        assert_eq!(
            (e.tno, e.index, e.data_form, e.scms),
            (b[1], b[2], b[3], b[4])
        );
        let time = (b[6] < 60 && b[7] < 75)
            .then(|| (i32::from(b[5]) * 60 + i32::from(b[6])) * 75 + i32::from(b[7]) - 150);
        assert_eq!(e.lba(), time);
    }
    assert_eq!(encode_cue_sheet(&entries), data);
}

/// READ FORMAT CAPACITIES (MMC-5 r03c 6.24.3): capacity list length (byte 3) a positive multiple of
/// 8; the current/maximum descriptor at bytes 4-11 (Descriptor Type in byte 8 bits 1-0, block
/// length bytes 9-11); formattable descriptors after it, Format Type in byte 4 bits 7-2 and a
/// 24-bit Type Dependent Parameter; only whole ones are kept.
pub fn format_capacities(data: &[u8]) {
    let Ok(f) = FormatCapacities::parse(data) else {
        return;
    };
    let length = usize::from(data[3]);
    assert!(
        length >= 8 && length % 8 == 0,
        "capacity list length {length}"
    );
    assert!(data.len() >= 12);
    assert_eq!(f.current.blocks, be32(data, 4));
    assert_eq!(f.current.descriptor_type.bits(), data[8] & 0x03);
    assert_eq!(
        CapacityDescriptorType::from_bits(data[8]),
        f.current.descriptor_type
    );
    assert_eq!(f.current.block_length, be24(data, 9));
    let got = available(data, 4 + length);
    assert_eq!(f.formattable.len(), (got - 12) / 8, "descriptors kept");
    for (i, d) in f.formattable.iter().enumerate() {
        let at = 12 + 8 * i;
        assert_eq!(d.blocks, be32(data, at));
        assert_eq!(d.format_type, data[at + 4] >> 2);
        assert_eq!(d.type_dependent, be24(data, at + 5));
    }
    let bytes = f.encode().expect("a parsed capacity list encodes");
    assert_eq!(FormatCapacities::parse(&bytes), Ok(f));
}

// ---- write setup ----

/// FORMAT UNIT parameter list (MMC-5 r03c 6.5.3): format list header (Immed in byte 1 bit 1, format
/// descriptor length 8 in bytes 2-3), then Number of Blocks, Format Type (bits 7-2) and
/// subtype (bits 1-0) of byte 8, Type Dependent Parameter bytes 9-11. The encoder sets FOV
/// (bit 7) exactly when it sets Immed.
pub fn format_parameters(data: &[u8]) {
    let Ok(p) = FormatParameters::parse(data) else {
        return;
    };
    assert!(data.len() >= 12);
    assert_eq!(be16(data, 2), 8, "format descriptor length");
    assert_eq!(p.immed, data[1] & 0x02 != 0);
    assert_eq!(p.number_of_blocks, be32(data, 4));
    assert_eq!(p.format_type, data[8] >> 2);
    assert_eq!(p.format_subtype, data[8] & 0x03);
    assert_eq!(p.type_dependent, be24(data, 9));
    let bytes = p.encode().expect("parsed format parameters encode");
    assert_eq!(bytes[1], if p.immed { 0x82 } else { 0 });
    assert_eq!(bytes[4..], data[4..12]);
    assert_eq!(FormatParameters::parse(&bytes), Ok(p));
}

/// The Write Parameters page as laid out by MMC-5 r03c 7.5 (page code 05h, page length at least
/// 32h, 52 bytes through the subheader): BUFE, LS_V, Test Write and Write Type in byte 2
/// (bits 6, 5, 4, 3-0); Multi-session, FP, Copy and Track Mode in byte 3 (bits 7-6, 5, 4,
/// 3-0); Data Block Type byte 4 bits 3-0; Link Size byte 5; Host Application Code byte 7 bits
/// 5-0; Session Format byte 8; Packet Size bytes 10-13; Audio Pause Length bytes 14-15; MCN
/// bytes 16-31; ISRC bytes 32-47; subheader bytes 48-51.
fn assert_write_parameters_page(w: &WriteParameters, page: &[u8]) {
    assert!(page.len() >= 52, "accepted a {}-byte page", page.len());
    assert_eq!(page[0] & 0x7F, 0x05, "page code (SPF clear)");
    assert!(page[1] >= 0x32, "page length {:#x}", page[1]);
    assert_eq!(w.parameters_saveable, page[0] & 0x80 != 0);
    assert_eq!(w.buffer_underrun_free, page[2] & 0x40 != 0);
    assert_eq!(w.link_size_valid, page[2] & 0x20 != 0);
    assert_eq!(w.test_write, page[2] & 0x10 != 0);
    assert_eq!(w.write_type.bits(), page[2] & 0x0F);
    assert_eq!(WriteType::from_bits(page[2]), w.write_type);
    assert_eq!(w.multi_session.bits(), page[3] >> 6);
    assert_eq!(MultiSession::from_bits(page[3] >> 6), w.multi_session);
    assert_eq!(w.fixed_packet, page[3] & 0x20 != 0);
    assert_eq!(w.copy, page[3] & 0x10 != 0);
    assert_eq!(w.track_mode, page[3] & 0x0F);
    assert_eq!(w.data_block_type, page[4] & 0x0F);
    assert_eq!(w.link_size, page[5]);
    assert_eq!(w.host_application_code, page[7] & 0x3F);
    assert_eq!(w.session_format, page[8]);
    assert_eq!(w.packet_size, be32(page, 10));
    assert_eq!(w.audio_pause_length, be16(page, 14));
    assert_eq!(w.media_catalog_number[..], page[16..32]);
    assert_eq!(w.isrc[..], page[32..48]);
    assert_eq!(w.subheader[..], page[48..52]);
}

/// The encoder writes the 52-byte page with page length 32h, and both it and the MODE SELECT
/// parameter list (8 zero header bytes, PS cleared) parse back to the value.
fn assert_write_parameters_round_trip(w: &WriteParameters) {
    let page = w.encode().expect("parsed write parameters encode");
    assert_eq!(page.len(), 52);
    assert_eq!(
        (page[0], page[1]),
        ((u8::from(w.parameters_saveable) << 7) | 0x05, 0x32)
    );
    assert_eq!(WriteParameters::parse(&page), Ok(*w));
    let list = w
        .encode_mode_select10()
        .expect("parsed write parameters encode");
    assert_eq!(list.len(), 60);
    assert!(list[..8].iter().all(|&b| b == 0), "mode parameter header");
    assert_eq!(list[8] & 0x80, 0, "PS set in MODE SELECT data");
    assert_eq!(
        WriteParameters::parse_mode_parameters(&list),
        Ok(WriteParameters {
            parameters_saveable: false,
            ..*w
        })
    );
}

/// The Write Parameters page 05h on its own (MMC-5 r03c 7.5).
pub fn write_parameters(data: &[u8]) {
    let Ok(w) = WriteParameters::parse(data) else {
        return;
    };
    assert_write_parameters_page(&w, data);
    assert_write_parameters_round_trip(&w);
}

/// A mode parameter list (SPC-4 7.5.5: 8-byte header, block descriptor length in bytes 6-7)
/// whose first page is the Write Parameters page: what is parsed is the page right after the
/// block descriptors.
pub fn write_parameters_mode(data: &[u8]) {
    let Ok(w) = WriteParameters::parse_mode_parameters(data) else {
        return;
    };
    assert!(data.len() >= 8);
    let start = 8 + usize::from(be16(data, 6));
    assert!(start <= data.len());
    assert_write_parameters_page(&w, &data[start..]);
    assert_eq!(WriteParameters::parse(&data[start..]), Ok(w));
    assert_write_parameters_round_trip(&w);
}

/// GET PERFORMANCE, Type 03h (MMC-5 r03c 6.8.3): 8-byte header whose data length (bytes 0-3)
/// counts 4 header bytes plus whole 16-byte write speed descriptors; WRC bits 4-3, RDD bit 2,
/// Exact bit 1, MRW bit 0 of byte 0, End LBA, Read Speed and Write Speed in bytes 4-15; only
/// whole descriptors are kept and `complete` says whether all declared ones arrived.
pub fn write_speeds(data: &[u8]) {
    let Ok(s) = WriteSpeeds::parse(data) else {
        return;
    };
    assert!(data.len() >= 8);
    let length = u64::from(be32(data, 0));
    assert!(
        length >= 4 && (length - 4) % 16 == 0,
        "data length {length}"
    );
    let declared_end = usize::try_from(length + 4).unwrap_or(usize::MAX);
    let got = available(data, declared_end);
    assert_eq!(s.descriptors.len(), (got - 8) / 16, "descriptors kept");
    assert_eq!(s.complete, data.len() >= declared_end);
    for (i, d) in s.descriptors.iter().enumerate() {
        let at = 8 + 16 * i;
        let b0 = data[at];
        assert_eq!(d.rotation_control, (b0 >> 3) & 0x03);
        assert_eq!(d.restore_defaults, b0 & 0x04 != 0);
        assert_eq!(d.exact, b0 & 0x02 != 0);
        assert_eq!(d.mrw, b0 & 0x01 != 0);
        assert_eq!(d.end_lba, be32(data, at + 4));
        assert_eq!(d.read_speed, be32(data, at + 8));
        assert_eq!(d.write_speed, be32(data, at + 12));
    }
    let speeds: Vec<u32> = s.descriptors.iter().map(|d| d.write_speed).collect();
    assert_eq!(s.speeds(), speeds);
    let bytes = s.encode().expect("parsed write speeds encode");
    assert_eq!(
        WriteSpeeds::parse(&bytes),
        Ok(WriteSpeeds {
            complete: true,
            ..s
        })
    );
}

/// The SET STREAMING performance descriptor (MMC-5 r03c 6.39): 28 bytes, WRC bits 4-3, RDD bit
/// 2, Exact bit 1, RA bit 0 of byte 0, then Start LBA, End LBA, Read Size, Read Time, Write
/// Size and Write Time as six 32-bit fields from byte 4.
pub fn performance_descriptor(data: &[u8]) {
    let Ok(p) = PerformanceDescriptor::parse(data) else {
        assert!(data.len() < 28);
        return;
    };
    let b0 = data[0];
    assert_eq!(p.rotation_control, (b0 >> 3) & 0x03);
    assert_eq!(p.restore_defaults, b0 & 0x04 != 0);
    assert_eq!(p.exact, b0 & 0x02 != 0);
    assert_eq!(p.random_access, b0 & 0x01 != 0);
    let fields = [
        p.start_lba,
        p.end_lba,
        p.read_size,
        p.read_time,
        p.write_size,
        p.write_time,
    ];
    for (i, v) in fields.into_iter().enumerate() {
        assert_eq!(v, be32(data, 4 + 4 * i), "field at byte {}", 4 + 4 * i);
    }
    let bytes = p.encode().expect("a parsed descriptor encodes");
    assert_eq!(bytes[0], b0 & 0x1F);
    assert_eq!(bytes[1..4], [0, 0, 0]);
    assert_eq!(bytes[4..], data[4..28]);
    assert_eq!(PerformanceDescriptor::parse(&bytes), Ok(p));
}

/// READ BUFFER CAPACITY with Block 0: data length (bytes 0-1) at least 10,
/// Length of Buffer bytes 4-7 and Blank Length of Buffer bytes 8-11, the free space never more
/// than the buffer.
pub fn buffer_capacity(data: &[u8]) {
    let Ok(b) = BufferCapacity::parse(data) else {
        return;
    };
    assert!(data.len() >= 12);
    assert!(be16(data, 0) >= 10);
    assert_eq!(b.length, be32(data, 4));
    assert_eq!(b.blank_length, be32(data, 8));
    assert!(b.blank_length <= b.length);
    let bytes = b.encode().expect("a parsed buffer capacity encodes");
    assert_eq!(bytes[..4], [0, 10, 0, 0]);
    assert_eq!(bytes[4..], data[4..12]);
    assert_eq!(BufferCapacity::parse(&bytes), Ok(b));
}

/// The progress indication SPC-4 4.5.2.4.4 defines, read from the standard rather than from
/// `sense_progress`: only with sense key NO SENSE (0h) or NOT READY (2h) and SKSV set, inside
/// the additional sense length; fixed format (70h/71h) in bytes 15-17, descriptor format
/// (72h/73h) in the sense key specific descriptor (type 02h), bytes 4-6 of which must lie
/// inside that descriptor's own additional length.
fn progress_by_the_standard(sense: &[u8]) -> Option<u16> {
    let response_code = sense.first()? & 0x7F;
    let end = sense.len().min(8 + usize::from(*sense.get(7)?));
    let within = &sense[..end];
    let (key, sks) = match response_code {
        0x70 | 0x71 => (within.get(2)? & 0x0F, within.get(15..18)?),
        0x72 | 0x73 => {
            let key = within.get(1)? & 0x0F;
            let mut at = 8;
            loop {
                let kind = *within.get(at)?;
                let additional = usize::from(*within.get(at + 1)?);
                let descriptor_end = at + 2 + additional;
                if kind == 0x02 {
                    if descriptor_end < at + 7 {
                        return None;
                    }
                    break (key, within.get(at + 4..at + 7)?);
                }
                at = descriptor_end;
            }
        }
        _ => return None,
    };
    (matches!(key, 0x0 | 0x2) && sks[0] & 0x80 != 0).then(|| be16(sks, 1))
}

/// `sense_progress` reports exactly the progress indication the standard puts in the sense
/// bytes, and never panics.
pub fn sense_progress(data: &[u8]) {
    assert_eq!(
        progress_of(data),
        progress_by_the_standard(data),
        "sense {data:02X?}"
    );
}
