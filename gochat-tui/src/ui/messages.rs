//! The middle pane: the active buffer's messages and notices, wrapped, with day separators,
//! the "new messages" line and the scrollback header; drawn bottom-up from the scroll anchor
//! so a frame costs what is visible, not the length of the history.

use gochat_proto::ipc::{Message, MessageState};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::{App, BufferKey, Entry, History, Level, Notice, Scroll};
use crate::clock;
use crate::wrap::{self, Piece};

/// Most columns a sender's name takes.
const NAME_MAX: usize = 16;

/// What a buffer's entries need to be laid out.
pub struct View<'a> {
    app: &'a App,
    key: &'a BufferKey,
    buffer: &'a crate::app::Buffer,
    /// Text width.
    pub width: u16,
}

impl<'a> View<'a> {
    /// The active buffer at `width` columns.
    pub fn active(app: &'a App, width: u16) -> View<'a> {
        let key = &app.active;
        let buffer = app.buffer(key).unwrap_or(&app.system);
        View {
            app,
            key,
            buffer,
            width,
        }
    }

    /// Entries.
    pub fn len(&self) -> usize {
        self.buffer.entries.len()
    }

    /// The key of entry `i`.
    pub fn key_at(&self, i: usize) -> crate::app::EntryKey {
        self.buffer.key_at(i)
    }

    /// Whether there is nothing.
    pub fn is_empty(&self) -> bool {
        self.buffer.entries.is_empty()
    }

    fn conversation(&self) -> Option<&crate::app::Conversation> {
        match self.key {
            BufferKey::Conv(a, p) => self.app.conversation(a, p),
            _ => None,
        }
    }

    /// The line above everything loaded (scrollback state), if any.
    fn header(&self) -> Option<Line<'static>> {
        let conv = self.conversation()?;
        let t = &self.app.theme;
        let text = match conv.history {
            History::NotLoaded => return None,
            History::Loading => "loading older messages…".to_owned(),
            History::Loaded { next_before: 0 } => {
                let long = format!("beginning of your conversation with {}", conv.peer);
                if wrap::width(&long) + 4 <= usize::from(self.width) {
                    long
                } else {
                    "beginning of the conversation".to_owned()
                }
            }
            History::Loaded { .. } => "older messages: PgUp".to_owned(),
        };
        Some(centered(
            &text,
            self.width,
            Style::default().fg(t.separator),
        ))
    }

    /// The previous message before entry `i`, skipping notices.
    fn previous_message(&self, i: usize) -> Option<&Message> {
        self.buffer.entries[..i].iter().rev().find_map(|e| match e {
            Entry::Message(m) => Some(m.as_ref()),
            Entry::Notice(..) => None,
        })
    }

    /// Rows of entry `i`.
    pub fn height(&self, i: usize) -> usize {
        let mut rows = usize::from(i == 0 && self.header().is_some());
        match &self.buffer.entries[i] {
            Entry::Message(m) => {
                rows += usize::from(self.day_changes(i, m));
                rows += usize::from(self.marker_before(m));
                let (pieces, indent) = self.message_pieces(m);
                let pieces: Vec<Piece<'_>> =
                    pieces.iter().map(|(t, s)| Piece::new(t, *s)).collect();
                rows += wrap::count(&pieces, self.width, indent);
            }
            Entry::Notice(_, n) => {
                let (pieces, indent) = self.notice_pieces(n);
                let pieces: Vec<Piece<'_>> =
                    pieces.iter().map(|(t, s)| Piece::new(t, *s)).collect();
                rows += wrap::count(&pieces, self.width, indent);
            }
        }
        rows
    }

    /// The rows of entry `i`.
    pub fn lines(&self, i: usize) -> Vec<Line<'static>> {
        let mut out = Vec::new();
        if i == 0
            && let Some(h) = self.header()
        {
            out.push(h);
        }
        let t = &self.app.theme;
        match &self.buffer.entries[i] {
            Entry::Message(m) => {
                if self.day_changes(i, m) {
                    let day = clock::format(m.stamp, &self.app.tz, &self.app.ui.date_format);
                    out.push(centered(&day, self.width, Style::default().fg(t.separator)));
                }
                if self.marker_before(m) {
                    out.push(centered(
                        "new messages",
                        self.width,
                        Style::default().fg(t.unread).add_modifier(Modifier::BOLD),
                    ));
                }
                let (pieces, indent) = self.message_pieces(m);
                let pieces: Vec<Piece<'_>> =
                    pieces.iter().map(|(t, s)| Piece::new(t, *s)).collect();
                out.extend(wrap::wrap(&pieces, self.width, indent));
            }
            Entry::Notice(_, n) => {
                let (pieces, indent) = self.notice_pieces(n);
                let pieces: Vec<Piece<'_>> =
                    pieces.iter().map(|(t, s)| Piece::new(t, *s)).collect();
                out.extend(wrap::wrap(&pieces, self.width, indent));
            }
        }
        out
    }

    fn day_changes(&self, i: usize, m: &Message) -> bool {
        let tz = &self.app.tz;
        match self.previous_message(i) {
            None => true,
            Some(prev) => clock::day(prev.stamp, tz) != clock::day(m.stamp, tz),
        }
    }

    fn marker_before(&self, m: &Message) -> bool {
        self.conversation().and_then(|c| c.unread_marker) == Some(m.id)
    }

    fn message_pieces(&self, m: &Message) -> (Vec<(String, Style)>, u16) {
        let t = &self.app.theme;
        let time = clock::format(m.stamp, &self.app.tz, &self.app.ui.time_format);
        let (name, name_style) = if m.outgoing {
            let me = m.account.as_ref().map_or("you", |a| a.username.as_str());
            (
                me.to_owned(),
                Style::default().fg(t.own_name).add_modifier(Modifier::BOLD),
            )
        } else {
            // The sender's alias when the user gave one.
            let account = m
                .account
                .as_ref()
                .and_then(|r| self.app.account(&crate::app::AccountKey::from_ref(r)));
            (
                account.map_or_else(
                    || gochat_client::term::name(&m.peer).into_owned(),
                    |a| a.shown_name(&m.peer),
                ),
                Style::default()
                    .fg(t.peer_name)
                    .add_modifier(Modifier::BOLD),
            )
        };
        let name = wrap::truncate(&name, NAME_MAX);
        let prefix_width = wrap::width(&time) + 1 + wrap::width(&name) + 2;
        let mut pieces = vec![
            (time, Style::default().fg(t.dim)),
            (" ".to_owned(), Style::default()),
            (name, name_style),
            (": ".to_owned(), Style::default().fg(t.dim)),
        ];
        let state = MessageState::try_from(m.state).unwrap_or(MessageState::Unspecified);
        if m.text.is_empty() && !m.error.is_empty() {
            pieces.push((format!("[{}]", m.error), Style::default().fg(t.error)));
        } else {
            pieces.push((m.text.clone(), Style::default().fg(t.text)));
        }
        match state {
            MessageState::Queued => {
                pieces.push((" (queued)".into(), Style::default().fg(t.warning)))
            }
            MessageState::Failed => {
                let why = if m.error.is_empty() {
                    "failed".to_owned()
                } else {
                    format!("failed: {}", m.error)
                };
                pieces.push((format!(" ✗ {why}"), Style::default().fg(t.error)));
            }
            MessageState::Sent => pieces.push((" ✓".into(), Style::default().fg(t.dim))),
            MessageState::Received | MessageState::Unspecified => {}
        }
        (pieces, prefix_width as u16)
    }

    fn notice_pieces(&self, n: &Notice) -> (Vec<(String, Style)>, u16) {
        let t = &self.app.theme;
        let time = clock::format(
            n.time_ms.div_euclid(1000),
            &self.app.tz,
            &self.app.ui.time_format,
        );
        let color = match n.level {
            Level::Info => t.system,
            Level::Success => t.success,
            Level::Warning => t.warning,
            Level::Error => t.error,
        };
        let mut style = Style::default().fg(color);
        if matches!(n.level, Level::Error | Level::Warning) {
            style = style.add_modifier(Modifier::BOLD);
        }
        let indent = wrap::width(&time) + 3;
        (
            vec![
                (time, Style::default().fg(t.dim)),
                (" * ".to_owned(), Style::default().fg(color)),
                (n.text.clone(), style),
            ],
            indent as u16,
        )
    }
}

fn centered(text: &str, width: u16, style: Style) -> Line<'static> {
    let text = wrap::truncate(text, usize::from(width).saturating_sub(2));
    let inner = wrap::width(&text) + 2;
    let side = usize::from(width).saturating_sub(inner) / 2;
    let left = "─".repeat(side);
    let right = "─".repeat(usize::from(width).saturating_sub(inner + side));
    Line::from(vec![Span::styled(format!("{left} {text} {right}"), style)])
}

/// The index of the bottom entry and its hidden rows for the buffer's scroll state.
pub fn bottom_of(view: &View<'_>, scroll: Scroll) -> Option<(usize, usize)> {
    if view.is_empty() {
        return None;
    }
    match scroll {
        Scroll::Bottom => Some((view.len() - 1, 0)),
        Scroll::At { key, hidden } => {
            let i = match view.buffer.search(key) {
                Ok(i) => i,
                Err(i) => i.min(view.len() - 1),
            };
            Some((i, usize::from(hidden)))
        }
    }
}

/// The rows visible in a view `height` rows tall, top to bottom (fewer when the buffer is
/// short).
pub fn visible_lines(view: &View<'_>, height: usize) -> Vec<Line<'static>> {
    let Some((mut i, hidden)) = bottom_of(view, view.buffer.scroll) else {
        return Vec::new();
    };
    let mut rev: Vec<Line<'static>> = Vec::with_capacity(height + 8);
    let mut lines = view.lines(i);
    let keep = lines.len().saturating_sub(hidden);
    lines.truncate(keep);
    rev.extend(lines.into_iter().rev());
    while rev.len() < height && i > 0 {
        i -= 1;
        rev.extend(view.lines(i).into_iter().rev());
    }
    rev.truncate(height);
    rev.reverse();
    rev
}

/// Draws the messages of the active buffer into `area`.
pub fn draw(frame: &mut Frame<'_>, app: &App, area: Rect) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    let view = View::active(app, area.width);
    let lines = visible_lines(&view, usize::from(area.height));
    let pad = usize::from(area.height).saturating_sub(lines.len()) as u16;
    let target = Rect {
        y: area.y + pad,
        height: area.height - pad,
        ..area
    };
    frame.render_widget(Paragraph::new(lines), target);
}
