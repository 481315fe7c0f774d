//! The IMAPI2 HRESULT numbers this crate maps device answers to.
//!
//! Values are those of Windows' `imapi2error.h`; names are kept verbatim so a
//! reader can look them up. The recorder crate owns the full error surface;
//! this module only holds the numbers that sense data and malformed responses
//! translate into.

/// The drive has no medium (sense NOT READY, ASC 0x3A).
pub const E_IMAPI_RECORDER_MEDIA_NO_MEDIA: u32 = 0xC0AA_0202;

/// The medium is becoming ready; retry later (sense NOT READY, ASC/ASCQ 0x04/0x01).
pub const E_IMAPI_RECORDER_MEDIA_BECOMING_READY: u32 = 0xC0AA_0205;

/// The medium is write protected (sense DATA PROTECT, ASC 0x27).
pub const E_IMAPI_RECORDER_MEDIA_WRITE_PROTECTED: u32 = 0xC0AA_0209;

/// The drive does not have the requested mode page.
pub const E_IMAPI_RECORDER_NO_SUCH_MODE_PAGE: u32 = 0xC0AA_0201;

/// The drive does not report the requested feature.
pub const E_IMAPI_RECORDER_NO_SUCH_FEATURE: u32 = 0xC0AA_020A;

/// The drive rejects GET CONFIGURATION (it is not an MMC-3 or later drive).
pub const E_IMAPI_RECORDER_GET_CONFIGURATION_NOT_SUPPORTED: u32 = 0xC0AA_020C;

/// The drive answered with data that cannot be decoded.
pub const E_IMAPI_RECORDER_INVALID_RESPONSE_FROM_DEVICE: u32 = 0xC0AA_02FF;

/// The symbolic name of one of the HRESULTs above, or `None` for any other value.
pub fn name(hresult: u32) -> Option<&'static str> {
    Some(match hresult {
        E_IMAPI_RECORDER_MEDIA_NO_MEDIA => "E_IMAPI_RECORDER_MEDIA_NO_MEDIA",
        E_IMAPI_RECORDER_MEDIA_BECOMING_READY => "E_IMAPI_RECORDER_MEDIA_BECOMING_READY",
        E_IMAPI_RECORDER_MEDIA_WRITE_PROTECTED => "E_IMAPI_RECORDER_MEDIA_WRITE_PROTECTED",
        E_IMAPI_RECORDER_NO_SUCH_MODE_PAGE => "E_IMAPI_RECORDER_NO_SUCH_MODE_PAGE",
        E_IMAPI_RECORDER_NO_SUCH_FEATURE => "E_IMAPI_RECORDER_NO_SUCH_FEATURE",
        E_IMAPI_RECORDER_GET_CONFIGURATION_NOT_SUPPORTED => {
            "E_IMAPI_RECORDER_GET_CONFIGURATION_NOT_SUPPORTED"
        }
        E_IMAPI_RECORDER_INVALID_RESPONSE_FROM_DEVICE => {
            "E_IMAPI_RECORDER_INVALID_RESPONSE_FROM_DEVICE"
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_for_every_constant() {
        for (value, expected) in [
            (0xC0AA_0202, "E_IMAPI_RECORDER_MEDIA_NO_MEDIA"),
            (0xC0AA_0205, "E_IMAPI_RECORDER_MEDIA_BECOMING_READY"),
            (0xC0AA_0209, "E_IMAPI_RECORDER_MEDIA_WRITE_PROTECTED"),
            (0xC0AA_0201, "E_IMAPI_RECORDER_NO_SUCH_MODE_PAGE"),
            (0xC0AA_020A, "E_IMAPI_RECORDER_NO_SUCH_FEATURE"),
            (
                0xC0AA_020C,
                "E_IMAPI_RECORDER_GET_CONFIGURATION_NOT_SUPPORTED",
            ),
            (0xC0AA_02FF, "E_IMAPI_RECORDER_INVALID_RESPONSE_FROM_DEVICE"),
        ] {
            assert_eq!(name(value), Some(expected));
        }
        assert_eq!(name(0x8000_4005), None);
    }
}
