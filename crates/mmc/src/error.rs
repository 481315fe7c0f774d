//! The error values of this crate: what went wrong reading or writing bytes.
//!
//! Owns [`ParseError`] and [`EncodeError`] and nothing else: it describes the
//! problem (field, offset, lengths, value) and must not decide what it means
//! to a caller. In particular it knows no HRESULTs: the recorder library maps
//! a `ParseError` to IMAPI2's `E_IMAPI_RECORDER_INVALID_RESPONSE_FROM_DEVICE`.
//! It imports nothing from the rest of the crate.

/// A response (or CDB) could not be decoded.
///
/// Offsets are byte offsets from the start of the buffer handed to the
/// parser. `needed` is the buffer length required to hold the field in full;
/// `got` is the length actually usable (the buffer length, or less when the
/// response's own length field ends the data earlier).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The bytes end before a field that must be present.
    #[error("{field} at offset {offset} is cut off: needed {needed} bytes, got {got}")]
    Truncated {
        /// The field that could not be read.
        field: &'static str,
        /// Where the field starts.
        offset: usize,
        /// Bytes required up to the end of the field.
        needed: usize,
        /// Bytes available.
        got: usize,
    },
    /// A field holds a value that contradicts the rest of the response or the
    /// request it answers.
    #[error("{field} at offset {offset} is inconsistent: {problem} (value {value:#x})")]
    Inconsistent {
        /// The field that holds the bad value.
        field: &'static str,
        /// Where the field starts.
        offset: usize,
        /// The value found.
        value: u64,
        /// What is wrong with it.
        problem: &'static str,
    },
}

/// A typed value could not be written as bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A variable-length field does not fit the size its length field or
    /// the format allows.
    #[error("{field} is {got} bytes long, at most {max} fit")]
    TooLong {
        /// The field being written.
        field: &'static str,
        /// The largest length the format allows.
        max: usize,
        /// The length given.
        got: usize,
    },
    /// A value is outside the range its bit field can carry, or breaks a
    /// rule of the format.
    #[error("{field} cannot be encoded: {problem} (value {value:#x})")]
    Invalid {
        /// The field being written.
        field: &'static str,
        /// The value given.
        value: u64,
        /// Why it cannot be written.
        problem: &'static str,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_field_offset_and_lengths() {
        let e = ParseError::Truncated {
            field: "vendor identification",
            offset: 8,
            needed: 16,
            got: 10,
        };
        assert_eq!(
            e.to_string(),
            "vendor identification at offset 8 is cut off: needed 16 bytes, got 10"
        );
    }
}
