//! Text from the network, made safe to print on a terminal.
//!
//! Message text, user names, hook details, server answers and error texts come from peers
//! and servers nobody vouches for. Printed raw, `ESC ] 0 ; … BEL` retitles the window,
//! `ESC ] 52 ; c ; … BEL` writes the clipboard, `ESC [ 2 K` + `\r` erases a line to fake
//! another sender, and bidi overrides reorder what the reader sees. Every human-readable
//! output of the frontends goes through this module.
//!
//! **Notation.** Each unsafe character is shown as `\u{HEX}` (Rust's escape form: lowercase
//! hexadecimal, no padding), e.g. ESC as `\u{1b}`, the CSI byte 0x9b as `\u{9b}`, a
//! right-to-left override as `\u{202e}`. A tab becomes a space. The unsafe characters
//! ([`is_unsafe`]) are the C0 and C1 controls and DEL, the bidi embeddings, overrides,
//! isolates and marks (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069), the line and
//! paragraph separators U+2028 and U+2029, and other invisible characters that can hide or
//! fake text (zero-width space, word joiner and invisible operators, deprecated format
//! characters, the byte-order mark, interlinear annotations, Hangul fillers, tag
//! characters). Zero-width joiners stay: emoji and several scripts need them.

use std::borrow::Cow;
use std::fmt::Write as _;

/// The longest user name the protocol allows.
pub const NAME_MAX: usize = 32;

/// Whether `c` must not reach a terminal as it is.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{115f}'
                | '\u{1160}'
                | '\u{180e}'
                | '\u{200b}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206f}'
                | '\u{3164}'
                | '\u{feff}'
                | '\u{ffa0}'
                | '\u{fff9}'..='\u{fffb}'
                | '\u{e0001}'
                | '\u{e0020}'..='\u{e007f}'
        )
}

fn push_escaped(out: &mut String, c: char) {
    if c == '\t' {
        out.push(' ');
    } else {
        // Writing to a String cannot fail.
        let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
    }
}

/// `text` on one line: every unsafe character, line breaks included, in its visible form.
pub fn line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_unsafe(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `text` over several lines: each line break (`\n` or `\r\n`) stays a real line break
/// followed by `indent`; every other unsafe character (a lone `\r` too) is shown in its
/// visible form.
pub fn text<'a>(text: &'a str, indent: &str) -> Cow<'a, str> {
    let breaks_only = |c: char| c != '\n' && is_unsafe(c);
    if !text.chars().any(breaks_only) && (indent.is_empty() || !text.contains('\n')) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => {
                out.push('\n');
                out.push_str(indent);
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            c if is_unsafe(c) => push_escaped(&mut out, c),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Output a frontend has already painted: like [`text`] with no indent, except that
/// well-formed SGR sequences (`ESC [` digits and `;` `m`: colors and weights, which can
/// neither move the cursor nor talk to the terminal) are kept. The last guard before a
/// terminal, for text whose fields were escaped one by one.
pub fn styled(painted: &str) -> Cow<'_, str> {
    if !painted.chars().any(|c| c != '\n' && is_unsafe(c)) {
        return Cow::Borrowed(painted);
    }
    let mut out = String::with_capacity(painted.len() + 16);
    let mut rest = painted;
    while let Some(c) = rest.chars().next() {
        if c == '\u{1b}'
            && let Some(len) = sgr_len(rest)
        {
            out.push_str(&rest[..len]);
            rest = &rest[len..];
            continue;
        }
        match c {
            '\n' => out.push('\n'),
            '\r' if rest[1..].starts_with('\n') => {}
            c if is_unsafe(c) => push_escaped(&mut out, c),
            c => out.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(out)
}

/// The length of the SGR sequence `ESC [ [0-9;]* m` at the start of `s`, if there is one.
fn sgr_len(s: &str) -> Option<usize> {
    let body = s.strip_prefix("\u{1b}[")?;
    let params = body
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b';')
        .count();
    (body.as_bytes().get(params) == Some(&b'm')).then_some(2 + params + 1)
}

/// Whether `name` is a valid user name: 1 to 32 of `0-9` and `a-z`.
pub fn is_user_name(name: &str) -> bool {
    (1..=NAME_MAX).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
}

/// A user name for display: a valid name as it is; any other (a server may send anything)
/// with every character outside `0-9a-z` in its `\u{HEX}` form, so that it can pass neither
/// for another user nor for a control sequence. An empty name shows as `""`.
pub fn name(name: &str) -> Cow<'_, str> {
    if is_user_name(name) {
        return Cow::Borrowed(name);
    }
    if name.is_empty() {
        return Cow::Borrowed("\"\"");
    }
    let mut out = String::with_capacity(name.len() + 16);
    for c in name.chars() {
        if c.is_ascii_digit() || c.is_ascii_lowercase() {
            out.push(c);
        } else {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "a\u{1b}]0;title\u{7}b\u{1b}]52;c;Zm9v\u{7}c\u{1b}[2K\r[12:00] admin: hi\u{9b}31m\u{202e}evil\u{2066}x\u{2069}\u{2028}y\u{7f}\u{200f}";

    fn assert_clean(s: &str) {
        for c in s.chars() {
            assert!(!is_unsafe(c) || c == '\n', "{c:?} left in {s:?}");
        }
    }

    #[test]
    fn line_makes_every_control_visible() {
        let shown = line(HOSTILE);
        assert_clean(&shown);
        assert!(!shown.contains('\n'));
        assert_eq!(
            shown,
            "a\\u{1b}]0;title\\u{7}b\\u{1b}]52;c;Zm9v\\u{7}c\\u{1b}[2K\\u{d}[12:00] admin: hi\\u{9b}31m\\u{202e}evil\\u{2066}x\\u{2069}\\u{2028}y\\u{7f}\\u{200f}"
        );
        assert_eq!(line("two\nlines"), "two\\u{a}lines");
    }

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(line("héllo 日本 👨‍👩‍👧"), Cow::Borrowed(_)));
        assert!(matches!(text("one line", "  "), Cow::Borrowed(_)));
        assert!(matches!(text("a\nb", ""), Cow::Borrowed(_)));
    }

    #[test]
    fn text_keeps_line_breaks_with_an_indent() {
        assert_eq!(text("one\ntwo\r\nthree", "    "), "one\n    two\n    three");
        // A lone carriage return cannot move the cursor back over the line.
        assert_eq!(text("real\rfake", "  "), "real\\u{d}fake");
        assert_eq!(text("tab\there", ""), "tab here");
        let shown = text(HOSTILE, "  ");
        assert_clean(&shown);
        assert!(shown.contains("admin: hi"), "still readable: {shown}");
    }

    #[test]
    fn every_unsafe_class_is_caught() {
        for c in [
            '\0', '\u{1f}', '\u{7f}', '\u{80}', '\u{9f}', '\u{61c}', '\u{200e}',
        ] {
            assert!(is_unsafe(c), "{c:?}");
        }
        for c in '\u{202a}'..='\u{202e}' {
            assert!(is_unsafe(c), "{c:?}");
        }
        for c in '\u{2066}'..='\u{2069}' {
            assert!(is_unsafe(c), "{c:?}");
        }
        for c in ['\u{2028}', '\u{2029}', '\u{feff}', '\u{e0041}'] {
            assert!(is_unsafe(c), "{c:?}");
        }
        for c in ['a', ' ', 'é', '日', '\u{200d}', '\u{a0}', '👍'] {
            assert!(!is_unsafe(c), "{c:?}");
        }
    }

    #[test]
    fn styled_keeps_only_colors() {
        let painted = "\u{1b}[1;36mbob\u{1b}[0m: hi\u{1b}]0;x\u{7}\u{1b}[2K\r\n";
        assert_eq!(
            styled(painted),
            "\u{1b}[1;36mbob\u{1b}[0m: hi\\u{1b}]0;x\\u{7}\\u{1b}[2K\n"
        );
        assert_eq!(styled("\u{1b}[31"), "\\u{1b}[31");
        assert!(matches!(styled("plain\nlines"), Cow::Borrowed(_)));
    }

    #[test]
    fn names_outside_the_protocol_alphabet_are_escaped() {
        assert_eq!(name("alice42"), "alice42");
        assert_eq!(name("Admin"), "\\u{41}dmin");
        assert_eq!(name("bob\u{1b}[31m"), "bob\\u{1b}\\u{5b}31m");
        assert_eq!(name("ad\u{202e}nim"), "ad\\u{202e}nim");
        assert_eq!(name(""), "\"\"");
        assert!(!is_user_name(&"a".repeat(33)));
        assert!(is_user_name(&"a".repeat(32)));
        assert_clean(&name("x\u{9b}y"));
    }
}
