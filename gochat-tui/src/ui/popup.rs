//! Dialogs drawn over the screen: the masked passphrase field, confirmations, the one-line
//! prompt, the quick switcher and the help screen.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph};

use crate::app::{App, Ask, PassPurpose, Popup};
use crate::app::{SwitchItem, switcher_items};
use crate::wrap::{self, Piece};

/// A rectangle of at most `w`×`h` centred in `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn frame_block<'a>(app: &App, title: &'a str) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(Style::default().fg(app.theme.accent))
        .title(Span::styled(
            format!(" {title} "),
            Style::default()
                .fg(app.theme.accent)
                .add_modifier(Modifier::BOLD),
        ))
}

fn wrapped(text: &str, style: Style, width: u16) -> Vec<Line<'static>> {
    wrap::wrap(&[Piece::new(text, style)], width, 0)
}

/// Draws `popup` over `area`.
pub fn draw(frame: &mut Frame<'_>, app: &App, popup: &Popup, area: Rect) {
    let t = &app.theme;
    let dim = Style::default().fg(t.dim);
    match popup {
        Popup::Passphrase {
            purpose,
            field,
            first,
            error,
        } => {
            let rect = centered(area, 64, 9);
            let inner_w = rect.width.saturating_sub(4);
            let (title, text) = match purpose {
                PassPurpose::Register(a) => (
                    "New account",
                    if first.is_none() {
                        format!(
                            "Choose a passphrase for {}'s key. Leave it empty to keep the key unencrypted (it then logs in unattended).",
                            a.label()
                        )
                    } else {
                        "Type the passphrase again.".to_owned()
                    },
                ),
                PassPurpose::Unlock { account, .. } => {
                    ("Unlock", format!("Passphrase of {}:", account.label()))
                }
                PassPurpose::GoImport { path, go_password } => (
                    "Import from the Go client",
                    match (go_password, first) {
                        (None, _) => format!("The Go client's password (for {path}):"),
                        (Some(_), None) => {
                            "New passphrase for the imported keys; empty: unencrypted.".to_owned()
                        }
                        (Some(_), Some(_)) => "Type the passphrase again.".to_owned(),
                    },
                ),
                PassPurpose::Import { account, path } => (
                    "Import key",
                    if first.is_none() {
                        format!(
                            "Passphrase to protect {} (from {path}); empty: unencrypted.",
                            account.label()
                        )
                    } else {
                        "Type the passphrase again.".to_owned()
                    },
                ),
            };
            let mut lines = wrapped(&text, Style::default().fg(t.text), inner_w);
            lines.truncate(3);
            lines.push(Line::raw(""));
            let mask = "*".repeat(field.len().min(usize::from(inner_w).saturating_sub(4)));
            lines.push(Line::from(vec![
                Span::styled("> ", Style::default().fg(t.accent)),
                Span::styled(mask.clone(), Style::default().fg(t.text)),
            ]));
            match error {
                Some(e) => lines.push(Line::styled(
                    wrap::truncate(e, usize::from(inner_w)),
                    Style::default().fg(t.error),
                )),
                None => lines.push(Line::styled("Enter confirms · Esc cancels", dim)),
            }
            render(frame, app, rect, title, lines);
            let field_row = rect.y + 1 + (lines_before_field(&text, inner_w) as u16);
            frame.set_cursor_position((rect.x + 2 + 2 + mask.len() as u16, field_row));
        }
        Popup::Confirm { text, .. } => {
            let rect = centered(area, 60, 9);
            let inner_w = rect.width.saturating_sub(4);
            let mut lines = wrapped(text, Style::default().fg(t.text), inner_w);
            lines.truncate(5);
            lines.push(Line::raw(""));
            lines.push(Line::from(vec![
                Span::styled(
                    "[y] ",
                    Style::default().fg(t.error).add_modifier(Modifier::BOLD),
                ),
                Span::raw("yes    "),
                Span::styled(
                    "[n] ",
                    Style::default().fg(t.success).add_modifier(Modifier::BOLD),
                ),
                Span::raw("no"),
            ]));
            render(frame, app, rect, "Are you sure?", lines);
        }
        Popup::TrustCertificate { server, cert } => {
            let rect = centered(area, 64, 16);
            let (title, lines) = super::certificate::lines(app, server, cert, rect.width);
            render(frame, app, rect, title, lines);
        }
        Popup::Prompt { ask, field } => {
            let rect = centered(area, 50, 6);
            let (title, label) = match ask {
                Ask::NewConversation(a) => (
                    "New conversation",
                    format!("Open a conversation ({}) with:", a.label()),
                ),
            };
            let inner_w = usize::from(rect.width.saturating_sub(4));
            let shown = wrap::truncate(field, inner_w.saturating_sub(3));
            let lines = vec![
                Line::raw(wrap::truncate(&label, inner_w)),
                Line::from(vec![
                    Span::styled("> ", Style::default().fg(t.accent)),
                    Span::raw(shown.clone()),
                ]),
                Line::styled("Enter opens · Tab completes · Esc cancels", dim),
            ];
            render(frame, app, rect, title, lines);
            frame.set_cursor_position((rect.x + 4 + wrap::width(&shown) as u16, rect.y + 2));
        }
        Popup::Switcher { query, selected } => {
            let items = switcher_items(app, query);
            let wanted = u16::try_from(items.len() + 4)
                .unwrap_or(u16::MAX)
                .clamp(6, 18);
            let rect = centered(area, 50, wanted.min(area.height.saturating_sub(2)));
            let inner_w = usize::from(rect.width.saturating_sub(4));
            let list_h = usize::from(rect.height.saturating_sub(4));
            let offset = super::layout::list_offset(items.len(), *selected, list_h);
            let shown_query = wrap::truncate(query, inner_w.saturating_sub(3));
            let mut lines = vec![Line::from(vec![
                Span::styled("> ", Style::default().fg(t.accent)),
                Span::raw(shown_query.clone()),
            ])];
            if items.is_empty() {
                lines.push(Line::styled("no match", dim));
            }
            for (i, item) in items.iter().enumerate().skip(offset).take(list_h) {
                let (label, unread) = match item {
                    SwitchItem::Row(row, label) => {
                        let unread = match row {
                            crate::app::Row::Conv(a, p) => {
                                app.conversation(a, p).map_or(0, |c| c.unread)
                            }
                            _ => 0,
                        };
                        (label.clone(), unread)
                    }
                    SwitchItem::New(_, peer) => (format!("new conversation with {peer}"), 0),
                };
                let right = if unread > 0 {
                    format!(" {unread}")
                } else {
                    String::new()
                };
                let label = wrap::truncate(&label, inner_w.saturating_sub(wrap::width(&right) + 1));
                let pad = inner_w.saturating_sub(wrap::width(&label) + wrap::width(&right));
                let mut style = Style::default().fg(t.text);
                if matches!(item, SwitchItem::New(..)) {
                    style = style.fg(t.dim).add_modifier(Modifier::ITALIC);
                }
                if i == *selected {
                    style = Style::default().fg(t.selection_fg).bg(t.selection_bg);
                }
                lines.push(Line::from(vec![
                    Span::styled(format!("{label}{}", " ".repeat(pad)), style),
                    Span::styled(
                        right,
                        if i == *selected {
                            style
                        } else {
                            Style::default().fg(t.unread)
                        },
                    ),
                ]));
            }
            render(frame, app, rect, "Go to", lines);
            frame.set_cursor_position((rect.x + 4 + wrap::width(&shown_query) as u16, rect.y + 1));
        }
        Popup::Help { scroll } => {
            let rect = centered(
                area,
                area.width.saturating_sub(4).min(100),
                area.height.saturating_sub(2),
            );
            let inner_w = rect.width.saturating_sub(4);
            let inner_h = usize::from(rect.height.saturating_sub(2));
            let mut rows: Vec<Line<'static>> = Vec::new();
            for line in super::help::lines(app) {
                let pieces: Vec<Piece<'_>> = line
                    .spans
                    .iter()
                    .map(|s| Piece::new(&s.content, s.style))
                    .collect();
                // Descriptions continue under themselves, commands' help under its start.
                let first = line.spans.first().map_or(0, |s| wrap::width(&s.content));
                let indent = if line.spans.len() > 1 && first == super::help::KEY_COLUMN + 3 {
                    first
                } else {
                    6
                };
                let mut w = wrap::wrap(&pieces, inner_w, indent as u16);
                if line.spans.is_empty() {
                    w = vec![Line::raw("")];
                }
                rows.extend(w.into_iter().map(|l| l.style(line.style)));
            }
            let max = rows.len().saturating_sub(inner_h);
            let first = usize::from(*scroll).min(max);
            let shown: Vec<Line<'static>> = rows.into_iter().skip(first).take(inner_h).collect();
            let title = match (first * 100).checked_div(max) {
                Some(percent) => {
                    format!("Help ({percent}%) — Up/Down/PgUp/PgDn scroll, Esc closes")
                }
                None => "Help — Esc closes".to_owned(),
            };
            render(frame, app, rect, &title, shown);
        }
    }
}

fn lines_before_field(text: &str, width: u16) -> usize {
    wrap::count(&[Piece::new(text, Style::default())], width, 0).min(3) + 1
}

fn render(frame: &mut Frame<'_>, app: &App, rect: Rect, title: &str, lines: Vec<Line<'_>>) {
    frame.render_widget(Clear, rect);
    let block = frame_block(app, title);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let padded = Rect {
        x: inner.x + 1,
        width: inner.width.saturating_sub(2),
        ..inner
    };
    frame.render_widget(Paragraph::new(lines), padded);
}
