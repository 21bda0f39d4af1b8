//! The left pane: the system buffer, server profiles with their link state, and each
//! account's conversations with unread counts. Only the rows in view are built.

use gochat_proto::ipc::LinkState;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::layout::list_offset;
use crate::app::{AccountState, App, Focus, RowRef};
use crate::wrap;

/// The dot and colour of a link state.
pub fn state_dot(app: &App, account: Option<&AccountState>) -> (&'static str, Color) {
    let t = &app.theme;
    if !app.attached() {
        return ("○", t.dim);
    }
    match account.map(AccountState::state) {
        Some(LinkState::Online) => ("●", t.success),
        Some(LinkState::Connecting | LinkState::LoggingIn | LinkState::Backoff) => ("◌", t.warning),
        Some(LinkState::Locked) => ("●", t.warning),
        Some(_) => ("○", t.dim),
        None => (" ", t.dim),
    }
}

/// Draws the pane into `area` (its right column is the border).
pub fn draw(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let t = &app.theme;
    let focused = app.focus == Focus::Sidebar;
    let block = Block::default()
        .borders(Borders::RIGHT)
        .border_style(Style::default().fg(if focused { t.accent } else { t.border }));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let rows = app.row_refs();
    let active = app.active_row();
    let selected = match (focused, &app.sidebar_cursor) {
        (true, Some(c)) => c.clone(),
        _ => active.clone(),
    };
    let sel = rows.iter().position(|r| r.is(&selected)).unwrap_or(0);
    let height = usize::from(inner.height);
    let offset = list_offset(rows.len(), sel, height);
    let width = usize::from(inner.width);
    let lines: Vec<Line<'_>> = rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, row)| {
            let mut line = row_line(app, *row, width);
            if i == sel {
                let selected = Style::default().fg(t.selection_fg).bg(t.selection_bg);
                for span in &mut line.spans {
                    span.style = selected.add_modifier(span.style.add_modifier);
                }
                line = line.style(selected);
            } else if row.is(&active) {
                line = line
                    .style(Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED));
            }
            line
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
    if rows.len() > height {
        // Scroll hints at the edges.
        let hint = Style::default().fg(t.dim);
        if offset > 0 {
            frame.render_widget(
                Paragraph::new("↑").style(hint),
                Rect::new(inner.right() - 1, inner.y, 1, 1),
            );
        }
        if offset + height < rows.len() {
            frame.render_widget(
                Paragraph::new("↓").style(hint),
                Rect::new(inner.right() - 1, inner.bottom() - 1, 1, 1),
            );
        }
    }
}

fn padded(left: Vec<Span<'static>>, right: Vec<Span<'static>>, width: usize) -> Line<'static> {
    let lw: usize = left.iter().map(|s| wrap::width(&s.content)).sum();
    let rw: usize = right.iter().map(|s| wrap::width(&s.content)).sum();
    let mut spans = left;
    if lw + rw < width {
        spans.push(Span::raw(" ".repeat(width - lw - rw)));
    }
    spans.extend(right);
    Line::from(spans)
}

fn row_line(app: &App, row: RowRef<'_>, width: usize) -> Line<'static> {
    let t = &app.theme;
    match row {
        RowRef::System => {
            let unread = app.unread_elsewhere();
            let right = if unread > 0 {
                vec![Span::styled(
                    format!("✉{unread} "),
                    Style::default().fg(t.unread),
                )]
            } else {
                Vec::new()
            };
            padded(
                vec![Span::styled(
                    " gochat",
                    Style::default().fg(t.accent).add_modifier(Modifier::BOLD),
                )],
                right,
                width,
            )
        }
        RowRef::Server(name) => {
            let Some(server) = app.server(name) else {
                return Line::from(name.to_owned());
            };
            let one = (server.accounts.len() == 1).then(|| &server.accounts[0]);
            let (dot, color) = state_dot(app, one);
            let mut label = name.to_owned();
            let mut style = Style::default().fg(t.text).add_modifier(Modifier::BOLD);
            match server.accounts.len() {
                0 => {
                    label.push_str(" (no account)");
                    style = Style::default().fg(t.dim);
                }
                1 => label = format!("{name} · {}", server.accounts[0].key.user),
                _ => {}
            }
            let label = wrap::truncate(&label, width.saturating_sub(3));
            Line::from(vec![
                Span::styled(format!("{dot} "), Style::default().fg(color)),
                Span::styled(label, style),
            ])
        }
        RowRef::Account(key) => {
            let account = app.account(key);
            let (dot, color) = state_dot(app, account);
            let label = wrap::truncate(
                &gochat_client::term::name(&key.user),
                width.saturating_sub(4),
            );
            Line::from(vec![
                Span::styled(format!(" {dot} "), Style::default().fg(color)),
                Span::styled(label, Style::default().fg(t.text)),
            ])
        }
        RowRef::Conv(key, peer) => {
            let conv = app.conversation(key, peer);
            let unread = conv.map_or(0, |c| c.unread);
            let mut right = Vec::new();
            if conv.is_some_and(|c| c.key_changed.is_some()) {
                right.push(Span::styled(
                    "! ",
                    Style::default().fg(t.error).add_modifier(Modifier::BOLD),
                ));
            }
            if unread > 0 {
                right.push(Span::styled(
                    format!("{unread} "),
                    Style::default().fg(t.unread).add_modifier(Modifier::BOLD),
                ));
            }
            let right_w: usize = right.iter().map(|s| wrap::width(&s.content)).sum();
            let shown = app.account(key).map_or_else(
                || gochat_client::term::name(peer).into_owned(),
                |a| a.shown_name(peer),
            );
            let name = wrap::truncate(&shown, width.saturating_sub(3 + right_w));
            let style = if unread > 0 {
                Style::default().fg(t.unread).add_modifier(Modifier::BOLD)
            } else {
                Style::default().fg(t.text)
            };
            padded(
                vec![Span::raw("   "), Span::styled(name, style)],
                right,
                width,
            )
        }
    }
}
