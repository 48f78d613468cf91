//! The one output sanitiser: control characters, escape sequences and bidi overrides made visible.

use std::borrow::Cow;
use std::fmt::Write;

/// `s` with every character that could steer a terminal or reorder text replaced by a visible
/// escape: C0/C1 controls and DEL as `\xNN` (so `ESC [ 2 J` prints as `\x1b[2J`), bidi
/// embeddings/overrides/isolates (U+202A–E, U+2066–9) and other invisible format characters as
/// `\u202e`. Newlines and tabs are escaped too: one record is one line on screen.
pub fn visible(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if needs_escape(c) {
            let code = c as u32;
            if code < 0x100 {
                let _ = write!(out, "\\x{code:02x}");
            } else {
                let _ = write!(out, "\\u{code:04x}");
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c as u32, 0x202A..=0x202E | 0x2066..=0x2069 | 0x200E | 0x200F | 0x061C | 0xFEFF)
}

/// `visible`, then cut to at most `max` bytes on a character boundary (with a marker).
pub fn visible_prefix(s: &str, max: usize) -> String {
    let v = visible(s);
    if v.len() <= max {
        return v.into_owned();
    }
    let mut end = max;
    while !v.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &v[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn escapes_are_made_visible() {
        assert_eq!(visible("a\x1b[2Jb"), "a\\x1b[2Jb");
        assert_eq!(visible("x\u{202e}y"), "x\\u202ey");
        assert_eq!(visible("tab\there"), "tab\\x09here");
        assert_eq!(visible("\u{9b}31m"), "\\x9b31m");
        assert!(matches!(visible("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn prefix_respects_char_boundaries() {
        assert_eq!(visible_prefix("ééé", 3), "é…");
    }

    proptest! {
        #[test]
        fn output_never_contains_controls_or_bidi(s in "\\PC*|[\\x00-\\x1f\\u{202a}-\\u{202e}\\u{2066}-\\u{2069}a-z]*") {
            let v = visible(&s);
            prop_assert!(!v.chars().any(needs_escape));
        }
    }
}
