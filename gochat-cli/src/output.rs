//! Output: human text (tables, local times, colors only on a terminal and never with
//! `NO_COLOR`) or one JSON document on stdout. Diagnostics go to stderr.
//!
//! Human text never reaches the terminal raw: fields from the network are escaped where
//! they are formatted ([`paint`], [`Table`], the views), and everything printed passes
//! [`term::styled`] last, which lets through only our own colors.

use std::io::{self, Write};

use anstream::{AutoStream, ColorChoice};
use anstyle::{AnsiColor, Style};
use gochat_client::term;
use serde::Serialize;

use crate::error::Result;
use crate::global::ColorWhen;

/// Bold.
pub const BOLD: Style = Style::new().bold();
/// Less important text.
pub const DIM: Style = Style::new().dimmed();
/// Good news (online, sent).
pub const GOOD: Style = AnsiColor::Green.on_default();
/// Bad news (failed, offline).
pub const BAD: Style = AnsiColor::Red.on_default();
/// Attention (queued, changed keys).
pub const WARN: Style = AnsiColor::Yellow.on_default();
/// Names of people.
pub const PEER: Style = AnsiColor::Cyan.on_default().bold();
/// No styling.
pub const PLAIN: Style = Style::new();

/// Where and how a command prints.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub json: bool,
    choice: ColorChoice,
}

impl Output {
    pub fn new(json: bool, color: Option<ColorWhen>) -> Output {
        let choice = match color {
            Some(ColorWhen::Always) => ColorChoice::Always,
            Some(ColorWhen::Never) => ColorChoice::Never,
            Some(ColorWhen::Auto) | None => ColorChoice::Auto,
        };
        Output { json, choice }
    }

    /// Whether stdout gets colors.
    pub fn colored(&self) -> bool {
        AutoStream::new(io::stdout(), self.choice).current_choice() != ColorChoice::Never
    }

    /// Runs `f`, then prints what it wrote, made terminal-safe, on a locked, color-aware
    /// stdout and flushes.
    pub fn print(&self, f: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<()> {
        let mut buffer = Vec::new();
        f(&mut buffer)?;
        let text = String::from_utf8_lossy(&buffer);
        let mut stream = AutoStream::new(io::stdout().lock(), self.choice);
        stream.write_all(term::styled(&text).as_bytes())?;
        stream.flush()?;
        Ok(())
    }

    /// Bytes as they are (no color handling), e.g. generated scripts.
    pub fn raw(&self, bytes: &[u8]) -> Result<()> {
        let mut stdout = io::stdout().lock();
        stdout.write_all(bytes)?;
        stdout.flush()?;
        Ok(())
    }

    /// One JSON document (a single line) on stdout.
    pub fn json<T: Serialize + ?Sized>(&self, value: &T) -> Result<()> {
        let mut stdout = io::stdout().lock();
        serde_json::to_writer(&mut stdout, value).map_err(io::Error::from)?;
        stdout.write_all(b"\n")?;
        stdout.flush()?;
        Ok(())
    }

    /// JSON when --json, else the human form.
    pub fn emit<T: Serialize + ?Sized>(
        &self,
        value: &T,
        human: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<()> {
        if self.json {
            self.json(value)
        } else {
            self.print(human)
        }
    }

    /// `{"ok":true}` with --json, else a line of text.
    pub fn done(&self, text: &str) -> Result<()> {
        self.emit(&serde_json::json!({ "ok": true }), |w| {
            writeln!(w, "{text}")
        })
    }

    /// A note on stderr (not with --json, where stdout carries the data anyway).
    pub fn note(&self, text: &str) {
        let _ = writeln!(
            io::stderr().lock(),
            "gochat-cli: {}",
            term::text(text, "  ")
        );
    }
}

/// Text with a style, on one line with its unsafe characters made visible
/// ([`term::line`]).
pub fn paint(style: Style, text: impl std::fmt::Display) -> String {
    let text = text.to_string();
    let text = term::line(&text);
    if style == PLAIN {
        text.into_owned()
    } else {
        format!("{style}{text}{style:#}")
    }
}

/// A cell of a table.
pub struct Cell {
    text: String,
    style: Style,
}

impl Cell {
    pub fn new(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            style: PLAIN,
        }
    }

    pub fn styled(text: impl Into<String>, style: Style) -> Cell {
        Cell {
            text: text.into(),
            style,
        }
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::new(s)
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::new(s)
    }
}

/// Columns aligned on the widest cell; the header is bold.
pub struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn new(headers: &[&'static str]) -> Table {
        Table {
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<Cell>) {
        self.rows.push(cells);
    }

    pub fn write(&self, w: &mut dyn Write) -> io::Result<()> {
        let width = |s: &str| term::line(s).chars().count();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| width(h)).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if i < widths.len() {
                    widths[i] = widths[i].max(width(&cell.text));
                }
            }
        }
        let last = self.headers.len().saturating_sub(1);
        let mut line = |cells: &mut dyn Iterator<Item = (String, Style)>| -> io::Result<()> {
            let mut out = String::new();
            for (i, (text, style)) in cells.enumerate() {
                if i > 0 {
                    out.push_str("  ");
                }
                let pad = if i >= last {
                    0
                } else {
                    widths[i].saturating_sub(width(&text))
                };
                out.push_str(&paint(style, &text));
                out.extend(std::iter::repeat_n(' ', pad));
            }
            writeln!(w, "{}", out.trim_end())
        };
        line(&mut self.headers.iter().map(|h| (h.to_string(), BOLD)))?;
        for row in &self.rows {
            line(&mut row.iter().map(|c| (c.text.clone(), c.style)))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let mut t = Table::new(&["NAME", "STATE"]);
        t.row(vec!["alice".into(), "online".into()]);
        t.row(vec!["b".into(), "offline".into()]);
        let mut buf = Vec::new();
        t.write(&mut buf).expect("write");
        let text = anstream::adapter::strip_str(&String::from_utf8(buf).expect("utf8")).to_string();
        assert_eq!(text, "NAME   STATE\nalice  online\nb      offline\n");
    }
}
