//! The status line: the daemon and link state, account, server, permission level and the
//! progress of a catch-up on the left; unread counts and a transient message (or key hints) on the right.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::level_color;
use crate::app::{App, DaemonState, link_state_name, permission_name};
use crate::clock;
use crate::keymap::Action;
use crate::wrap;
use gochat_proto::ipc::LinkState;

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Draws the status line.
pub fn draw(frame: &mut Frame<'_>, app: &App, area: Rect) {
    if area.height == 0 {
        return;
    }
    let t = &app.theme;
    let base = Style::default().fg(t.status_fg).bg(t.status_bg);
    let mut left: Vec<Span<'_>> = Vec::new();
    match &app.daemon {
        DaemonState::Attached { .. } => {
            let account = app.current_account();
            let (dot, color) = super::sidebar::state_dot(app, account);
            match account {
                Some(a) => {
                    let mut state = link_state_name(a.state()).to_owned();
                    if !a.online() && !a.detail.is_empty() && a.detail != "logged out" {
                        state = format!("{state}: {}", a.detail);
                    }
                    left.push(Span::styled(format!(" {dot} "), base.fg(color)));
                    left.push(Span::styled(
                        wrap::truncate(&state, 40),
                        base.add_modifier(Modifier::BOLD),
                    ));
                    left.push(Span::styled(
                        format!(" │ {}@{}", a.key.user, a.key.server),
                        base,
                    ));
                    let profile = app.server(&a.key.server).map(|s| &s.profile);
                    match profile {
                        // The link accepts any certificate: say so while it is in use.
                        Some(p) if p.tls && p.skip_verify && a.state() != LinkState::Offline => {
                            left.push(Span::styled(
                                " (TLS UNVERIFIED: any certificate accepted)",
                                base.fg(t.warning).add_modifier(Modifier::BOLD),
                            ));
                        }
                        Some(p) if p.tls => left.push(Span::styled(" (TLS)", base)),
                        _ => {}
                    }
                    if a.online() {
                        left.push(Span::styled(
                            format!(" │ {}", permission_name(a.info.permission)),
                            base,
                        ));
                    }
                    if let Some(received) = a.catch_up {
                        left.push(Span::styled(
                            format!(" │ catching up: {} received", thousands(received)),
                            base.add_modifier(Modifier::BOLD),
                        ));
                    }
                }
                None => {
                    let text = match app.current_server() {
                        Some(s) => format!(" {} │ no account", s.profile.name),
                        None if app.servers.is_empty() => " no server".to_owned(),
                        None => " no server selected".to_owned(),
                    };
                    left.push(Span::styled(text, base));
                }
            }
        }
        DaemonState::Connecting {
            starting,
            last_error,
        } => {
            let text = match (starting, last_error) {
                (true, _) => " starting gochatd…".to_owned(),
                (false, Some(e)) => format!(" gochatd unreachable: {e}"),
                (false, None) => " connecting to gochatd…".to_owned(),
            };
            left.push(Span::styled(
                text,
                base.fg(t.warning).add_modifier(Modifier::BOLD),
            ));
        }
        DaemonState::Down { reason, since_ms } => {
            let secs = (app.now_ms - since_ms).div_euclid(1000);
            left.push(Span::styled(
                format!(
                    " gochatd lost ({reason}), reconnecting… {}",
                    clock::short_duration(secs)
                ),
                base.fg(t.error).add_modifier(Modifier::BOLD),
            ));
        }
    }
    let mut right: Vec<Span<'_>> = Vec::new();
    let unread = app.unread_elsewhere();
    if unread > 0 {
        right.push(Span::styled(
            format!(" ✉ {unread} unread "),
            base.fg(t.unread).add_modifier(Modifier::BOLD),
        ));
    }
    match &app.flash {
        Some(f) => right.push(Span::styled(
            format!(" {} ", f.text),
            base.fg(level_color(app, f.level))
                .add_modifier(Modifier::BOLD),
        )),
        None => {
            let key = |a: Action| app.keymap.first_key(a).map(|k| k.to_string());
            let hints: Vec<String> = [
                (Action::Help, "help"),
                (Action::QuickSwitch, "switch"),
                (Action::Quit, "quit"),
            ]
            .iter()
            .filter_map(|(a, what)| key(*a).map(|k| format!("{k} {what}")))
            .collect();
            right.push(Span::styled(
                format!(" {} ", hints.join(" · ")),
                base.fg(t.status_fg),
            ));
        }
    }
    let width = usize::from(area.width);
    let left_w: usize = left.iter().map(|s| wrap::width(&s.content)).sum();
    let mut right_w: usize = right.iter().map(|s| wrap::width(&s.content)).sum();
    // The right side gives way first (hints, then the flash is cut).
    while left_w + right_w > width && !right.is_empty() {
        let last = right.len() - 1;
        let room = width.saturating_sub(left_w + right_w - wrap::width(&right[last].content));
        if room >= 8 && right.len() == 1 {
            let text = wrap::truncate(&right[last].content, room);
            right[last].content = text.into();
        } else {
            right.pop();
        }
        right_w = right.iter().map(|s| wrap::width(&s.content)).sum();
    }
    let mut spans = left;
    if left_w + right_w < width {
        spans.push(Span::styled(" ".repeat(width - left_w - right_w), base));
    }
    spans.extend(right);
    frame.render_widget(Paragraph::new(Line::from(spans)).style(base), area);
}
