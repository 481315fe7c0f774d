//! Text that other users chose, made safe to show.
//!
//! Owns [`sanitize`], the one escaping rule every name, path and string read from another
//! process, a state file or a device passes through before it reaches a terminal. A leaf: it
//! imports nothing from the crate, and nothing here reads or writes a file.

/// Escapes every control character (C0, DEL, C1) as `\xNN` / `\u{NN}` so that names chosen by
/// other users cannot drive the terminal that prints them.
///
/// Idempotent: text without control characters comes back unchanged, backslashes included. A
/// name is often sanitized twice (a writer stores its sanitized program name in its owner
/// record, every reader sanitizes what it reads), and escaping the backslash of an escape again
/// would show `\x1b` as `\\x1b`. The price is that a literal `\x1b` in a name looks like an
/// escaped ESC; the output is for display, never parsed back.
pub fn sanitize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            if (c as u32) < 0x100 {
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
}
