//! The right pane: who is online on the current account's server, with permission levels
//! (owners first).

use gochat_proto::ipc::User;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::layout::list_offset;
use crate::app::{App, Focus};
use crate::wrap;

/// The online users of the current account, owners first, then by name.
pub fn sorted(app: &App) -> Vec<&User> {
    let mut users: Vec<&User> = app
        .current_account()
        .and_then(|a| a.online_users.as_ref())
        .map(|u| u.iter().collect())
        .unwrap_or_default();
    users.sort_by(|a, b| {
        b.permission
            .cmp(&a.permission)
            .then_with(|| a.name.cmp(&b.name))
    });
    users
}

/// Draws the pane into `area` (its left column is the border).
pub fn draw(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let t = &app.theme;
    let focused = app.focus == Focus::Users;
    let block = Block::default()
        .borders(Borders::LEFT)
        .border_style(Style::default().fg(if focused { t.accent } else { t.border }));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let account = app.current_account();
    let users = sorted(app);
    let width = usize::from(inner.width);
    let title = match account {
        Some(a) if a.online_users.is_some() => format!(" Online ({})", users.len()),
        _ => " Online".to_owned(),
    };
    let mut lines = vec![Line::from(Span::styled(
        wrap::truncate(&title, width),
        Style::default()
            .fg(if focused { t.accent } else { t.text })
            .add_modifier(Modifier::BOLD),
    ))];
    let height = usize::from(inner.height).saturating_sub(1);
    match account {
        None => lines.push(Line::styled(" no account", Style::default().fg(t.dim))),
        Some(a) if a.online_users.is_none() => {
            let text = if a.users_loading {
                " loading…"
            } else if !app.attached() {
                " (daemon away)"
            } else {
                " (not online)"
            };
            lines.push(Line::styled(text, Style::default().fg(t.dim)));
        }
        Some(a) => {
            let offset = list_offset(users.len(), app.users_cursor, height);
            for (i, u) in users.iter().enumerate().skip(offset).take(height) {
                let (mark, color) = match u.permission {
                    2 => ("★", t.owner),
                    1 => ("+", t.admin),
                    _ => (" ", t.text),
                };
                let me = u.name == a.key.user;
                let name =
                    wrap::truncate(&gochat_client::term::name(&u.name), width.saturating_sub(4));
                let mut style = Style::default().fg(color);
                if me {
                    style = style.add_modifier(Modifier::BOLD);
                }
                let mut line = Line::from(vec![
                    Span::styled(format!(" {mark} "), Style::default().fg(color)),
                    Span::styled(name, style),
                ]);
                if focused && i == app.users_cursor {
                    line = line.style(Style::default().fg(t.selection_fg).bg(t.selection_bg));
                    for span in &mut line.spans {
                        span.style = Style::default().fg(t.selection_fg).bg(t.selection_bg);
                    }
                }
                lines.push(line);
            }
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
