//! The friendly name a recorder publishes while it holds exclusive access.
//!
//! Owns the validation rules: the Windows driver's rules for the caller name of
//! `IOCTL_CDROM_EXCLUSIVE_ACCESS` (1 to 63 bytes of `0-9 A-Z a-z`, space and `.,:;_-`). Pure: no I/O.

use std::fmt;

use crate::error::{Error, HResult, Result};

/// The longest valid client name, in bytes.
pub const MAX_CLIENT_NAME_LEN: usize = 63;

/// A validated client name: 1..=63 bytes of `0-9 A-Z a-z`, space, `.` `,` `:` `;` `_` `-`.
///
/// Because the alphabet excludes every control byte, escape byte and path separator, a
/// `ClientName` is always safe to print on a terminal and to embed in a file name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientName(String);

/// Whether `b` may appear in a client name.
pub const fn is_client_name_byte(b: u8) -> bool {
    matches!(b, b'0'..=b'9' | b'A'..=b'Z' | b'a'..=b'z' | b' ' | b'.' | b',' | b':' | b';' | b'_' | b'-')
}

impl ClientName {
    /// Validates `name`; on failure the error is `E_INVALIDARG` and says which byte and where.
    ///
    /// # Errors
    /// - `E_INVALIDARG`: empty, over 63 bytes, or a byte outside the alphabet.
    pub fn new(name: &str) -> Result<ClientName> {
        Self::check(name.as_bytes())?;
        Ok(ClientName(name.to_owned()))
    }

    /// Validates raw bytes without allocating (the hot path of a nested acquire).
    ///
    /// # Errors
    /// - `E_INVALIDARG`: as [`ClientName::new`].
    pub fn check(bytes: &[u8]) -> Result<()> {
        if bytes.is_empty() {
            return Err(Error::new(
                HResult::EInvalidArg,
                "client name is empty: it must be 1 to 63 bytes",
            ));
        }
        if bytes.len() > MAX_CLIENT_NAME_LEN {
            return Err(Error::new(
                HResult::EInvalidArg,
                format!(
                    "client name is {} bytes long: it must be 1 to {MAX_CLIENT_NAME_LEN} bytes",
                    bytes.len()
                ),
            ));
        }
        if let Some(pos) = bytes.iter().position(|&b| !is_client_name_byte(b)) {
            return Err(Error::new(
                HResult::EInvalidArg,
                format!(
                    "client name has byte 0x{:02X} at offset {pos}: only 0-9 A-Z a-z, space and . , : ; _ - are allowed",
                    bytes[pos]
                ),
            ));
        }
        Ok(())
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ClientName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid(name: &str) {
        let err = ClientName::new(name).expect_err(name);
        assert_eq!(err.hresult(), HResult::EInvalidArg, "{name:?}");
    }

    #[test]
    fn empty_name_is_invalid() {
        invalid("");
    }

    #[test]
    fn sixty_three_bytes_are_valid_and_sixty_four_are_not() {
        assert!(ClientName::new(&"a".repeat(63)).is_ok());
        invalid(&"a".repeat(64));
    }

    #[test]
    fn each_of_the_seven_punctuation_bytes_is_valid() {
        for p in [" ", ".", ",", ":", ";", "_", "-"] {
            let name = format!("A{p}b");
            assert!(ClientName::new(&name).is_ok(), "{name:?}");
        }
    }

    #[test]
    fn at_slash_accent_tab_nul_are_invalid() {
        for bad in ["a@b", "a/b", "caf\u{e9}", "a\tb", "a\0b", "\u{1b}[31m"] {
            invalid(bad);
        }
    }

    #[test]
    fn every_byte_outside_the_alphabet_is_rejected() {
        for b in 0u8..=255 {
            let ok = b.is_ascii_alphanumeric() || b" .,:;_-".contains(&b);
            assert_eq!(ClientName::check(&[b]).is_ok(), ok, "byte {b:#x}");
        }
    }
}
