//! Drawing: pure functions from `&App` to the frame. Nothing here changes the model or
//! touches the terminal beyond the frame it is given.

pub mod certificate;
pub mod help;
pub mod layout;
pub mod messages;
pub mod popup;
pub mod sidebar;
pub mod status;
pub mod users;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::{App, BufferKey, Focus, Level, Scroll};
use crate::clock;
use crate::wrap;

/// Draws the whole screen.
pub fn draw(frame: &mut Frame<'_>, app: &App) {
    let area = frame.area();
    let a = layout::areas(app, area);
    draw_banners(frame, app, a.banner);
    if let Some(side) = a.sidebar {
        sidebar::draw(frame, app, side);
    }
    draw_title(frame, app, a.title);
    messages::draw(frame, app, a.messages);
    if let Some(users) = a.users {
        users::draw(frame, app, users);
    }
    draw_input(frame, app, a.input);
    status::draw(frame, app, a.status);
    if let Some(p) = &app.popup {
        popup::draw(frame, app, p, area);
    }
}

/// The colour of a level.
pub fn level_color(app: &App, level: Level) -> ratatui::style::Color {
    let t = &app.theme;
    match level {
        Level::Info => t.system,
        Level::Success => t.success,
        Level::Warning => t.warning,
        Level::Error => t.error,
    }
}

fn draw_banners(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let t = &app.theme;
    for (i, banner) in app
        .banners
        .iter()
        .take(usize::from(area.height))
        .enumerate()
    {
        let mut text = banner.text.clone();
        if let Some(at) = banner.countdown_to {
            let left = at - app.now_ms.div_euclid(1000);
            if left > 0 {
                text.push_str(&format!(" (in {})", clock::short_duration(left)));
            } else {
                text.push_str(" (now)");
            }
        }
        let bg = match banner.level {
            Level::Error => t.error,
            _ => t.banner_bg,
        };
        let row = Rect {
            y: area.y + i as u16,
            height: 1,
            ..area
        };
        let text = wrap::truncate(&format!(" {text}"), usize::from(row.width));
        frame.render_widget(
            Paragraph::new(text).style(
                Style::default()
                    .fg(t.banner_fg)
                    .bg(bg)
                    .add_modifier(Modifier::BOLD),
            ),
            row,
        );
    }
}

fn draw_title(frame: &mut Frame<'_>, app: &App, area: Rect) {
    if area.width == 0 {
        return;
    }
    let t = &app.theme;
    let mut title = app.title(&app.active);
    if let BufferKey::Conv(account, peer) = &app.active
        && let Some(conv) = app.conversation(account, peer)
        && conv.key_changed.is_some()
    {
        title.push_str(" — key changed!");
    }
    let right = if app.active_buffer().scroll != Scroll::Bottom {
        let key = app
            .keymap
            .first_key(crate::keymap::Action::ScrollBottom)
            .map_or_else(|| "End".to_owned(), |k| k.to_string());
        format!("more below ({key}) ")
    } else {
        String::new()
    };
    let width = usize::from(area.width);
    let right_w = wrap::width(&right);
    let title = wrap::truncate(
        &format!(" {title} "),
        width.saturating_sub(right_w + 2).max(1),
    );
    let fill = width.saturating_sub(wrap::width(&title) + right_w);
    let focused = app.focus == Focus::Messages;
    let line = Line::from(vec![
        Span::styled(
            title,
            Style::default()
                .fg(if focused { t.accent } else { t.text })
                .add_modifier(Modifier::BOLD),
        ),
        Span::styled(
            "─".repeat(fill),
            Style::default().fg(if focused { t.accent } else { t.border }),
        ),
        Span::styled(right, Style::default().fg(t.warning)),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}

fn draw_input(frame: &mut Frame<'_>, app: &App, area: Rect) {
    if area.height < 2 {
        return;
    }
    let t = &app.theme;
    let focused = app.focus == Focus::Input && app.popup.is_none();
    let border = Style::default().fg(if focused { t.accent } else { t.border });
    frame.render_widget(
        Paragraph::new("─".repeat(usize::from(area.width))).style(border),
        Rect { height: 1, ..area },
    );
    let body = Rect {
        y: area.y + 1,
        height: area.height - 1,
        ..area
    };
    let prompt_w = layout::PROMPT.len() as u16;
    let text_w = body.width.saturating_sub(prompt_w);
    let prompt = Span::styled(
        layout::PROMPT,
        Style::default().fg(t.accent).add_modifier(Modifier::BOLD),
    );
    if app.input.is_empty() {
        let hint = placeholder(app);
        let hint = wrap::truncate(&hint, usize::from(text_w));
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                prompt,
                Span::styled(hint, Style::default().fg(t.dim)),
            ])),
            body,
        );
        if focused {
            frame.set_cursor_position((body.x + prompt_w, body.y));
        }
        return;
    }
    let (rows, (crow, ccol)) = app.input.layout(text_w);
    let height = usize::from(body.height);
    let first = crow.saturating_sub(height.saturating_sub(1));
    let lines: Vec<Line<'_>> = rows
        .iter()
        .enumerate()
        .skip(first)
        .take(height)
        .map(|(i, (s, e))| {
            let lead = if i == 0 {
                prompt.clone()
            } else {
                Span::raw("  ")
            };
            let text: String = app.input.text[*s..*e]
                .chars()
                .map(|c| if c.is_control() { '\u{fffd}' } else { c })
                .collect();
            Line::from(vec![lead, Span::styled(text, Style::default().fg(t.text))])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), body);
    if focused {
        frame.set_cursor_position((body.x + prompt_w + ccol, body.y + (crow - first) as u16));
    }
}

fn placeholder(app: &App) -> String {
    if !app.attached() {
        return "waiting for gochatd…".into();
    }
    match &app.active {
        BufferKey::Conv(_, peer) => {
            let newline = app
                .keymap
                .first_key(crate::keymap::Action::Newline)
                .map_or_else(String::new, |k| format!(", {k} new line"));
            format!("Message {peer} (Enter sends{newline})")
        }
        _ if app.servers.is_empty() => "/server add NAME HOST [PORT] to begin, F1 for help".into(),
        _ if app.current_account().is_none() => {
            "/register NAME to create an account, /login NAME to use one".into()
        }
        _ => "/msg USER opens a conversation, Ctrl-K jumps to one, F1 for help".into(),
    }
}

/// The first 16 digits of a fingerprint, in groups of four.
pub fn short_fp(fp: &str) -> String {
    let fp: String = fp.chars().take(16).collect();
    fp.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(":")
}
