//! Bounds-checked big-endian field readers and length checks shared by the
//! parsers and encoders (SPC-4 3.5, conventions: multi-byte fields are big-endian).
//!
//! Owns the only byte indexing in the crate: every read goes through `get`,
//! so no parser can index out of bounds. It must not know any command's
//! layout and imports only the error types.

use crate::ParseError;

/// `len` bytes at `offset`, or `Truncated` naming `field`.
pub(crate) fn slice<'a>(
    buf: &'a [u8],
    field: &'static str,
    offset: usize,
    len: usize,
) -> Result<&'a [u8], ParseError> {
    let end = offset.saturating_add(len);
    buf.get(offset..end).ok_or(ParseError::Truncated {
        field,
        offset,
        needed: end,
        got: buf.len(),
    })
}

pub(crate) fn u8_at(buf: &[u8], field: &'static str, offset: usize) -> Result<u8, ParseError> {
    buf.get(offset).copied().ok_or(ParseError::Truncated {
        field,
        offset,
        needed: offset.saturating_add(1),
        got: buf.len(),
    })
}

pub(crate) fn be16(buf: &[u8], field: &'static str, offset: usize) -> Result<u16, ParseError> {
    let b = slice(buf, field, offset, 2)?;
    Ok(b.iter().fold(0u16, |acc, &x| (acc << 8) | u16::from(x)))
}

pub(crate) fn be32(buf: &[u8], field: &'static str, offset: usize) -> Result<u32, ParseError> {
    let b = slice(buf, field, offset, 4)?;
    Ok(b.iter().fold(0u32, |acc, &x| (acc << 8) | u32::from(x)))
}

pub(crate) fn be64(buf: &[u8], field: &'static str, offset: usize) -> Result<u64, ParseError> {
    let b = slice(buf, field, offset, 8)?;
    Ok(b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
}

/// The prefix of `buf` a response's length field declares, clamped to what is
/// present: `min(buf.len(), declared_end)`.
pub(crate) fn clamp(buf: &[u8], declared_end: usize) -> &[u8] {
    buf.get(..declared_end).unwrap_or(buf)
}

/// Checks that `len` fits in a length field holding at most `max`.
pub(crate) fn fit(field: &'static str, len: usize, max: usize) -> Result<(), crate::EncodeError> {
    if len > max {
        Err(crate::EncodeError::TooLong {
            field,
            max,
            got: len,
        })
    } else {
        Ok(())
    }
}

/// Checks that `value` fits in a bit field whose largest value is `max`.
pub(crate) fn bits(field: &'static str, value: u64, max: u64) -> Result<(), crate::EncodeError> {
    if value > max {
        Err(crate::EncodeError::Invalid {
            field,
            value,
            problem: "does not fit its bit field",
        })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_decode_big_endian() {
        let b = [1, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(be16(&b, "f", 0), Ok(0x0102));
        assert_eq!(be32(&b, "f", 4), Ok(0x0506_0708));
        assert_eq!(be64(&b, "f", 0), Ok(0x0102_0304_0506_0708));
    }

    #[test]
    fn readers_report_truncation_with_lengths() {
        let b = [1, 2, 3];
        assert_eq!(
            be32(&b, "f", 1),
            Err(ParseError::Truncated {
                field: "f",
                offset: 1,
                needed: 5,
                got: 3
            })
        );
        assert!(u8_at(&b, "f", usize::MAX).is_err());
        assert!(slice(&b, "f", usize::MAX, 2).is_err());
    }

    #[test]
    fn clamp_never_extends() {
        assert_eq!(clamp(&[1, 2, 3], 2), &[1, 2]);
        assert_eq!(clamp(&[1, 2, 3], 9), &[1, 2, 3]);
    }
}
