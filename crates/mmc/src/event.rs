//! GET EVENT STATUS NOTIFICATION (MMC-6 6.7, opcode 0x4A), polled, with the
//! media event class decoded (MMC-6 6.7.2.5, media status): whether a medium
//! is present, whether the tray is open, and what just happened (new medium,
//! eject request, ...). Builder, parser, encoder.
//!
//! Owns the byte layout of the event status header and the media event
//! descriptor. It must not do I/O, poll, or decide what an event means for
//! exclusive access (that is the library's), and imports no other command
//! module; its operation code comes from [`crate::codes`].

use crate::bytes::{be16, bits, clamp, slice, u8_at};
use crate::codes::opcode;
use crate::{Command, DataDirection, EncodeError, ParseError};

/// Length of the event status header.
pub const EVENT_HEADER_LEN: usize = 4;

/// Notification class number of the media class.
pub const MEDIA_CLASS: u8 = 4;

/// Notification class request bits (byte 4 of the CDB; also the layout of
/// the header's supported event classes byte).
pub mod class_mask {
    /// Operational change.
    pub const OPERATIONAL_CHANGE: u8 = 1 << 1;
    /// Power management.
    pub const POWER_MANAGEMENT: u8 = 1 << 2;
    /// External request.
    pub const EXTERNAL_REQUEST: u8 = 1 << 3;
    /// Media.
    pub const MEDIA: u8 = 1 << super::MEDIA_CLASS;
    /// Multi-host.
    pub const MULTI_HOST: u8 = 1 << 5;
    /// Device busy.
    pub const DEVICE_BUSY: u8 = 1 << 6;
}

/// GET EVENT STATUS NOTIFICATION, polled (the only mode MMC drives must
/// support), asking for the classes set in `class_request`.
pub fn get_event_status_notification(class_request: u8, allocation_length: u16) -> Command<10> {
    let [hi, lo] = allocation_length.to_be_bytes();
    Command {
        cdb: [
            opcode::GET_EVENT_STATUS_NOTIFICATION,
            0x01,
            0,
            0,
            class_request,
            0,
            0,
            hi,
            lo,
            0,
        ],
        direction: DataDirection::FromDevice {
            allocation_length: u32::from(allocation_length),
        },
    }
}

/// GET EVENT STATUS NOTIFICATION for the media class, allocation length 8
/// (header plus one media event descriptor).
pub fn get_media_event_status() -> Command<10> {
    get_event_status_notification(class_mask::MEDIA, 8)
}

/// A media event code (4 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MediaEventCode(pub u8);

impl MediaEventCode {
    /// 0: no change.
    pub const NO_CHANGE: MediaEventCode = MediaEventCode(0);
    /// 1: the user asked to eject (pressed the button).
    pub const EJECT_REQUEST: MediaEventCode = MediaEventCode(1);
    /// 2: a medium was inserted.
    pub const NEW_MEDIA: MediaEventCode = MediaEventCode(2);
    /// 3: the medium was removed.
    pub const MEDIA_REMOVAL: MediaEventCode = MediaEventCode(3);
    /// 4: the medium was changed.
    pub const MEDIA_CHANGED: MediaEventCode = MediaEventCode(4);
    /// 5: background format completed.
    pub const BG_FORMAT_COMPLETED: MediaEventCode = MediaEventCode(5);
    /// 6: background format restarted.
    pub const BG_FORMAT_RESTARTED: MediaEventCode = MediaEventCode(6);

    /// A human-readable name for a known code.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "no change",
            1 => "eject request",
            2 => "new media",
            3 => "media removal",
            4 => "media changed",
            5 => "background format completed",
            6 => "background format restarted",
            _ => return None,
        })
    }
}

/// The media event descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MediaEvent {
    /// What happened since the last poll.
    pub event: MediaEventCode,
    /// Media Present bit.
    pub media_present: bool,
    /// Door or Tray Open bit.
    pub tray_open: bool,
    /// Start slot (changers).
    pub start_slot: u8,
    /// End slot (changers).
    pub end_slot: u8,
}

/// The event a GET EVENT STATUS NOTIFICATION response carries.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Event {
    /// NEA set: none of the requested classes is supported (no descriptor).
    NotAvailable,
    /// A media class event.
    Media(MediaEvent),
    /// An event of another class, descriptor kept raw.
    Other {
        /// Notification class (3 bits), not [`MEDIA_CLASS`].
        class: u8,
        /// The event descriptor bytes.
        descriptor: Vec<u8>,
    },
}

/// A decoded GET EVENT STATUS NOTIFICATION response.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventStatus {
    /// Classes the drive supports, as [`class_mask`] bits.
    pub supported_classes: u8,
    /// The event reported.
    pub event: Event,
}

impl EventStatus {
    /// Decodes a response. The media class needs its 4-byte descriptor,
    /// both within the event descriptor length (`Inconsistent` otherwise)
    /// and in the buffer (`Truncated` otherwise); bytes past 4 are ignored.
    /// Other classes keep the descriptor bytes that arrived.
    ///
    /// # Errors
    ///
    /// [`ParseError::Truncated`] when `buf` ends before the 4-byte header ends or,
    /// for the media class, before the media event descriptor ends;
    /// [`ParseError::Inconsistent`] for a media class event whose descriptor
    /// length is below 4.
    pub fn parse(buf: &[u8]) -> Result<EventStatus, ParseError> {
        let descriptor_length = be16(buf, "event descriptor length", 0)?;
        let b2 = u8_at(buf, "notification class", 2)?;
        let supported_classes = u8_at(buf, "supported event classes", 3)?;
        let declared_end = EVENT_HEADER_LEN + usize::from(descriptor_length);
        let data = clamp(buf, declared_end);
        let class = b2 & 0x07;
        let event = if b2 & 0x80 != 0 {
            Event::NotAvailable
        } else if class == MEDIA_CLASS {
            if descriptor_length < 4 {
                return Err(ParseError::Inconsistent {
                    field: "event descriptor length",
                    offset: 0,
                    value: u64::from(descriptor_length),
                    problem: "a media event descriptor is 4 bytes",
                });
            }
            let d = slice(data, "media event descriptor", EVENT_HEADER_LEN, 4)?;
            match d {
                [code, status, start, end] => Event::Media(MediaEvent {
                    event: MediaEventCode(code & 0x0F),
                    media_present: status & 0x02 != 0,
                    tray_open: status & 0x01 != 0,
                    start_slot: *start,
                    end_slot: *end,
                }),
                _ => Event::NotAvailable,
            }
        } else {
            Event::Other {
                class,
                descriptor: data.get(EVENT_HEADER_LEN..).unwrap_or_default().to_vec(),
            }
        };
        Ok(EventStatus {
            supported_classes,
            event,
        })
    }

    /// Encodes the response. Fails for `Event::Other` with the media class
    /// or a class above 7, and for a media event code above 15.
    ///
    /// # Errors
    ///
    /// [`EncodeError::Invalid`] for a media event code above 15, a class above 7,
    /// or `Event::Other` carrying the media class; [`EncodeError::TooLong`] for a
    /// descriptor over 65535 bytes.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let (class_byte, descriptor) = match &self.event {
            Event::NotAvailable => (0x80, Vec::new()),
            Event::Media(m) => {
                bits("media event code", u64::from(m.event.0), 0x0F)?;
                let status = (u8::from(m.media_present) << 1) | u8::from(m.tray_open);
                (
                    MEDIA_CLASS,
                    vec![m.event.0, status, m.start_slot, m.end_slot],
                )
            }
            Event::Other { class, descriptor } => {
                bits("notification class", u64::from(*class), 7)?;
                if *class == MEDIA_CLASS {
                    return Err(EncodeError::Invalid {
                        field: "notification class",
                        value: u64::from(*class),
                        problem: "media events are encoded from Event::Media",
                    });
                }
                (*class, descriptor.clone())
            }
        };
        let len = u16::try_from(descriptor.len()).map_err(|_| EncodeError::TooLong {
            field: "event descriptor",
            max: usize::from(u16::MAX),
            got: descriptor.len(),
        })?;
        let [hi, lo] = len.to_be_bytes();
        let mut out = vec![hi, lo, class_byte, self.supported_classes];
        out.extend_from_slice(&descriptor);
        Ok(out)
    }

    /// The media event, if that is what the response carries.
    pub fn media(&self) -> Option<&MediaEvent> {
        match &self.event {
            Event::Media(m) => Some(m),
            Event::NotAvailable | Event::Other { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdb_layout() {
        assert_eq!(
            get_media_event_status().cdb,
            [0x4A, 0x01, 0, 0, 0x10, 0, 0, 0, 8, 0]
        );
        assert_eq!(get_media_event_status().allocation_length(), 8);
    }

    #[test]
    fn media_present_new_media() {
        let b = [0, 4, 0x04, 0x10, 0x02, 0x02, 0, 0];
        let s = EventStatus::parse(&b).expect("valid");
        assert_eq!(s.supported_classes, class_mask::MEDIA);
        assert_eq!(
            s.media(),
            Some(&MediaEvent {
                event: MediaEventCode::NEW_MEDIA,
                media_present: true,
                tray_open: false,
                start_slot: 0,
                end_slot: 0
            })
        );
        assert_eq!(s.encode().expect("encodes"), b.to_vec());
    }

    #[test]
    fn tray_open_no_medium() {
        let b = [0, 6, 0x04, 0x10, 0x03, 0x01, 0, 0, 0xEE, 0xEE];
        let m = *EventStatus::parse(&b)
            .expect("valid")
            .media()
            .expect("media");
        assert_eq!(m.event, MediaEventCode::MEDIA_REMOVAL);
        assert!(m.tray_open && !m.media_present);
    }

    #[test]
    fn no_event_available() {
        let b = [0, 0, 0x80, 0x10];
        let s = EventStatus::parse(&b).expect("valid");
        assert_eq!(s.event, Event::NotAvailable);
        assert_eq!(s.encode().expect("encodes"), b.to_vec());
    }

    #[test]
    fn other_class_kept_raw() {
        let b = [0, 4, 0x06, 0x50, 1, 2, 3, 4];
        let s = EventStatus::parse(&b).expect("valid");
        assert_eq!(
            s.event,
            Event::Other {
                class: 6,
                descriptor: vec![1, 2, 3, 4]
            }
        );
        assert_eq!(s.encode().expect("encodes"), b.to_vec());
    }

    #[test]
    fn short_media_descriptor_length_is_inconsistent() {
        let b = [0, 2, 0x04, 0x10, 0x02, 0x02];
        assert!(matches!(
            EventStatus::parse(&b),
            Err(ParseError::Inconsistent {
                field: "event descriptor length",
                ..
            })
        ));
    }

    #[test]
    fn every_prefix_is_ok_or_err() {
        let b = [0, 4, 0x04, 0x10, 0x02, 0x02, 0, 0];
        for n in 0..b.len() {
            assert!(EventStatus::parse(&b[..n]).is_err(), "prefix {n}");
        }
        assert_eq!(
            EventStatus::parse(&b[..6]),
            Err(ParseError::Truncated {
                field: "media event descriptor",
                offset: 4,
                needed: 8,
                got: 6
            })
        );
    }

    #[test]
    fn encoder_rejects_media_as_other() {
        let s = EventStatus {
            supported_classes: 0,
            event: Event::Other {
                class: MEDIA_CLASS,
                descriptor: vec![],
            },
        };
        assert!(s.encode().is_err());
        assert_eq!(MediaEventCode::EJECT_REQUEST.name(), Some("eject request"));
    }
}
