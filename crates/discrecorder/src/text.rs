//! Text that other users chose, made safe to show.
//!
//! Owns [`sanitize`], the one escaping rule every name, path and string read from another
//! process, a state file or a device passes through before it reaches a terminal. A leaf: it
//! imports nothing from the crate, and nothing here reads or writes a file.

/// Escapes every control character (C0, DEL, C1) as `\xNN` and every invisible Unicode format
/// character (bidirectional overrides, embeddings and isolates such as U+202E, zero-width
/// characters, the byte order mark, interlinear annotation and tag characters) as `\u{NNNN}`,
/// so that names chosen by other users can neither drive the terminal that prints them nor make
/// it show text other than what is there ("Trojan Source", CVE-2021-42574).
///
/// Idempotent: text without control characters comes back unchanged, backslashes included. A
/// name is often sanitized twice (a writer stores its sanitized program name in its owner
/// record, every reader sanitizes what it reads), and escaping the backslash of an escape again
/// would show `\x1b` as `\\x1b`. The price is that a literal `\x1b` in a name looks like an
/// escaped ESC; the output is for display, never parsed back.
pub fn sanitize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() || is_invisible_format(c) {
            if (c as u32) < 0x100 && c.is_control() {
                out.push_str(&format!("\\x{:02x}", c as u32));
            } else {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Unicode format characters (general category Cf) and the other invisible code points that
/// change how the text around them is shown. The list follows Unicode 15's Cf set.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c as u32,
        0x00AD                // soft hyphen
        | 0x034F              // combining grapheme joiner
        | 0x061C              // Arabic letter mark
        | 0x115F | 0x1160     // Hangul fillers
        | 0x17B4 | 0x17B5
        | 0x180B..=0x180F     // Mongolian variation selectors, vowel separator
        | 0x200B..=0x200F     // zero-width space/joiners, LRM, RLM
        | 0x202A..=0x202E     // bidi embeddings and overrides
        | 0x2060..=0x206F     // word joiner, invisible operators, bidi isolates
        | 0x3164              // Hangul filler
        | 0xFE00..=0xFE0F     // variation selectors
        | 0xFEFF              // zero-width no-break space (BOM)
        | 0xFFA0
        | 0xFFF9..=0xFFFB     // interlinear annotation
        | 0x110BD | 0x110CD
        | 0x13430..=0x1343F
        | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A
        | 0xE0001 | 0xE0020..=0xE007F // tags
        | 0xE0100..=0xE01EF   // variation selectors supplement
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_escapes_terminal_control_bytes() {
        assert_eq!(sanitize("x\u{1b}[2Jy"), "x\\x1b[2Jy");
        assert_eq!(sanitize("bell\u{7}"), "bell\\x07");
        assert_eq!(sanitize("c1\u{9b}31m"), "c1\\x9b31m");
        assert_eq!(sanitize("plain name"), "plain name");
    }

    /// Fuzzing finding (fuzz/regressions/sanitize, fuzz/regressions/owner_record): backslashes
    /// were doubled, so sanitizing twice (writer, then reader of an owner record) showed a
    /// program name `a\b` as `a\\\\b` and an escaped ESC as `\\x1b`.
    #[test]
    fn sanitize_is_idempotent_and_keeps_backslashes() {
        for raw in [
            "x\u{1b}[2Jy",
            "back\\slash",
            "\\x1b",
            "c1\u{9b}",
            "\u{7f}\n",
        ] {
            let once = sanitize(raw);
            assert_eq!(sanitize(&once), once, "{raw:?}");
        }
        assert_eq!(sanitize("a\\b"), "a\\b");
        assert_eq!(sanitize(&sanitize("x\u{1b}")), "x\\x1b");
    }

    /// Issue 11 C: bidi overrides and zero-width characters in names, paths and vendor strings
    /// were printed raw, so another user's name could show as something else.
    #[test]
    fn sanitize_escapes_bidi_overrides_isolates_and_zero_width_characters() {
        assert_eq!(sanitize("evil\u{202e}gpj.exe"), "evil\\u{202e}gpj.exe");
        assert_eq!(sanitize("a\u{2066}b\u{2069}"), "a\\u{2066}b\\u{2069}");
        assert_eq!(sanitize("zero\u{200b}width"), "zero\\u{200b}width");
        assert_eq!(sanitize("\u{feff}bom"), "\\u{feff}bom");
        assert_eq!(sanitize("tag\u{e0041}"), "tag\\u{e0041}");
        assert_eq!(
            sanitize("caf\u{e9} \u{65e5}\u{672c}"),
            "caf\u{e9} \u{65e5}\u{672c}"
        );
        let once = sanitize("x\u{202e}y");
        assert_eq!(sanitize(&once), once);
    }
}
