//! Word wrapping of styled text into rows of a given width, by display width (wide
//! characters count two columns). Used by the message pane to draw and, with the same
//! result, by `update` to scroll by rows. Text is made terminal-safe first
//! ([`gochat_client::term`], the same escaping as the CLI's): control characters, bidi
//! controls and other dangerous invisibles are shown as `\u{HEX}`, and only `\n` breaks
//! a row.

use std::borrow::Cow;

use gochat_client::term;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthChar;

/// A piece of text in one style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece<'a> {
    /// Text (may contain `\n`).
    pub text: &'a str,
    /// Its style.
    pub style: Style,
}

impl<'a> Piece<'a> {
    /// A styled piece.
    pub fn new(text: &'a str, style: Style) -> Self {
        Piece { text, style }
    }
}

fn char_width(c: char) -> usize {
    if c.is_control() {
        1
    } else {
        c.width().unwrap_or(0)
    }
}

/// Receives the rows as they are made.
trait Sink {
    fn push(&mut self, text: &str, style: Style, width: usize);
    fn newline(&mut self, indent: usize);
}

struct Counter(usize);

impl Sink for Counter {
    fn push(&mut self, _: &str, _: Style, _: usize) {}
    fn newline(&mut self, _: usize) {
        self.0 += 1;
    }
}

struct Builder {
    lines: Vec<Line<'static>>,
    current: Vec<Span<'static>>,
}

impl Sink for Builder {
    fn push(&mut self, text: &str, style: Style, _: usize) {
        // `run` only passes escaped text.
        match self.current.last_mut() {
            Some(last) if last.style == style => last.content.to_mut().push_str(text),
            _ => self.current.push(Span::styled(text.to_owned(), style)),
        }
    }
    fn newline(&mut self, indent: usize) {
        let spans = std::mem::take(&mut self.current);
        self.lines.push(Line::from(spans));
        if indent > 0 {
            self.current.push(Span::raw(" ".repeat(indent)));
        }
    }
}

/// Wraps `pieces` into rows of `width` columns; rows after the first start with `indent`
/// spaces. Returns the rows.
pub fn wrap(pieces: &[Piece<'_>], width: u16, indent: u16) -> Vec<Line<'static>> {
    let mut b = Builder {
        lines: Vec::new(),
        current: Vec::new(),
    };
    run(pieces, width, indent, &mut b);
    let spans = std::mem::take(&mut b.current);
    b.lines.push(Line::from(spans));
    b.lines
}

/// How many rows [`wrap`] would make.
pub fn count(pieces: &[Piece<'_>], width: u16, indent: u16) -> usize {
    let mut c = Counter(1);
    run(pieces, width, indent, &mut c);
    c.0
}

fn run(pieces: &[Piece<'_>], width: u16, indent: u16, sink: &mut impl Sink) {
    let width = usize::from(width.max(1));
    let indent = if usize::from(indent) * 2 > width {
        0
    } else {
        usize::from(indent)
    };
    // Escaped once, here: every width below is that of what the terminal will show.
    let safe: Vec<(Cow<'_, str>, Style)> = pieces
        .iter()
        .map(|p| (term::text(p.text, ""), p.style))
        .collect();
    let mut col = 0usize;
    // Spaces are held back until a word follows them on the same row, so rows never end in
    // spaces and wrapped rows never start with them.
    let mut pending: Option<(&str, Style, usize)> = None;
    for (text, style) in &safe {
        let piece = Piece::new(text, *style);
        let mut rest = piece.text;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('\n') {
                pending = None;
                sink.newline(indent);
                col = indent;
                rest = after;
                continue;
            }
            let first = rest.chars().next().unwrap_or(' ');
            let is_space = first == ' ';
            let len = rest
                .find(|c: char| c == '\n' || (c == ' ') != is_space)
                .unwrap_or(rest.len());
            let token = &rest[..len];
            rest = &rest[len..];
            let token_width: usize = token.chars().map(char_width).sum();
            if is_space {
                pending = Some((token, piece.style, token_width));
                continue;
            }
            let space = pending.map_or(0, |(_, _, w)| w);
            if col + space + token_width <= width {
                if let Some((text, style, w)) = pending.take() {
                    sink.push(text, style, w);
                    col += w;
                }
                sink.push(token, piece.style, token_width);
                col += token_width;
                continue;
            }
            pending = None;
            // Does not fit: a new row if it fits there, else break it by characters.
            if token_width <= width - indent && col > indent {
                sink.newline(indent);
                col = indent;
                sink.push(token, piece.style, token_width);
                col += token_width;
                continue;
            }
            if col > indent && col + 1 > width {
                sink.newline(indent);
                col = indent;
            } else if space > 0 && col > 0 {
                sink.push(" ", piece.style, 1);
                col += 1;
            }
            let mut start = 0;
            for (i, c) in token.char_indices() {
                let w = char_width(c);
                if col + w > width && col > indent {
                    sink.push(&token[start..i], piece.style, 0);
                    sink.newline(indent);
                    col = indent;
                    start = i;
                }
                col += w;
            }
            sink.push(&token[start..], piece.style, 0);
        }
    }
    // Trailing spaces at the very end are kept only on an otherwise empty text.
    if let Some((text, style, w)) = pending
        && col == 0
    {
        sink.push(text, style, w);
    }
}

/// The display width of a text once made terminal-safe on one line.
pub fn width(text: &str) -> usize {
    term::line(text).chars().map(char_width).sum()
}

/// `text` on one line, terminal-safe ([`term::line`]), cut to at most `max` columns, with
/// `…` when cut.
pub fn truncate(text: &str, max: usize) -> String {
    let text = term::line(text);
    if width(&text) <= max {
        return text.into_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = char_width(c);
        if used + w + 1 > max {
            break;
        }
        out.push(c);
        used += w;
    }
    if max > 0 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(lines: &[Line<'_>]) -> Vec<String> {
        lines
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect()
    }

    #[test]
    fn wraps_words_with_a_hanging_indent() {
        let p = [
            Piece::new("12:00 bob: ", Style::default()),
            Piece::new("the quick brown fox jumps", Style::default()),
        ];
        let lines = wrap(&p, 24, 11);
        assert_eq!(
            plain(&lines),
            vec![
                "12:00 bob: the quick",
                "           brown fox",
                "           jumps"
            ]
        );
        assert_eq!(count(&p, 24, 11), 3);
        // Too deep an indent for the width is dropped.
        assert_eq!(
            plain(&wrap(&p, 20, 11)),
            vec!["12:00 bob: the quick", "brown fox jumps"]
        );
    }

    #[test]
    fn breaks_long_words_and_keeps_newlines() {
        let p = [Piece::new("abcdefghijkl\nxy", Style::default())];
        assert_eq!(plain(&wrap(&p, 5, 0)), vec!["abcde", "fghij", "kl", "xy"]);
        assert_eq!(count(&p, 5, 0), 4);
    }

    #[test]
    fn wide_characters_and_controls() {
        let p = [Piece::new("日本語のテキスト\u{1b}[2J", Style::default())];
        let lines = wrap(&p, 8, 0);
        assert_eq!(
            plain(&lines),
            vec!["日本語の", "テキスト", "\\u{1b}[2", "J"]
        );
        assert_eq!(count(&p, 8, 0), lines.len());
        // A carriage return cannot send the cursor back; bidi controls are shown.
        let p = [Piece::new("ok\r\u{202e}x", Style::default())];
        assert_eq!(plain(&wrap(&p, 40, 0)), vec!["ok\\u{d}\\u{202e}x"]);
        assert_eq!(truncate("a\u{1b}]0;t\u{7}", 40), "a\\u{1b}]0;t\\u{7}");
        assert_eq!(width("\u{1b}"), 6);
        let p = [Piece::new("日本語のテキスト\u{1b}[2J", Style::default())];
        assert_eq!(count(&p, 6, 0), wrap(&p, 6, 0).len());
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
    }

    #[test]
    fn count_agrees_with_wrap() {
        let texts = [
            "",
            " ",
            "a b c d e f g h i j k l m n o p",
            "   leading",
            "x\n\n\ny",
            "supercalifragilistic word",
            "esc\u{1b}[2J and\r\u{202e} bidi\u{2028}sep",
        ];
        for t in texts {
            for w in 1..12 {
                let p = [
                    Piece::new("> ", Style::default()),
                    Piece::new(t, Style::default()),
                ];
                assert_eq!(count(&p, w, 2), wrap(&p, w, 2).len(), "{t:?} at {w}");
            }
        }
    }
}
