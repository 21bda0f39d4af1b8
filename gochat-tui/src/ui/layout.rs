//! Where each pane goes for a given terminal size. Pure, and shared by drawing and by
//! `update` (which needs the message pane's size to scroll by rows and the panes' positions
//! to handle mouse clicks).

use ratatui::layout::{Constraint, Layout, Rect};

use crate::app::App;

/// Most banners shown at once.
pub const MAX_BANNERS: usize = 2;
/// The input's prompt.
pub const PROMPT: &str = "> ";

/// The screen split into panes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Areas {
    /// Banners across the top (height 0 when none).
    pub banner: Rect,
    /// Servers and conversations (with its border column on the right).
    pub sidebar: Option<Rect>,
    /// The conversation's title row.
    pub title: Rect,
    /// The messages.
    pub messages: Rect,
    /// Online users (with its border column on the left).
    pub users: Option<Rect>,
    /// The input, including its top border row.
    pub input: Rect,
    /// The status line.
    pub status: Rect,
}

/// Splits `area` for the state of `app`.
pub fn areas(app: &App, area: Rect) -> Areas {
    let banners = app.banners.len().min(MAX_BANNERS) as u16;
    let input_width = area.width.saturating_sub(PROMPT.len() as u16);
    let input_rows = input_rows(app, input_width);
    let [banner, body, input, status] = Layout::vertical([
        Constraint::Length(banners.min(area.height.saturating_sub(4))),
        Constraint::Min(1),
        Constraint::Length(input_rows + 1),
        Constraint::Length(1),
    ])
    .areas(area);
    let sidebar_width = if app.sidebar_visible() {
        app.ui.sidebar_width.min(body.width / 2)
    } else {
        0
    };
    let users_width = if app.users_visible() {
        app.ui.users_width.min(body.width / 3)
    } else {
        0
    };
    let [sidebar, main, users] = Layout::horizontal([
        Constraint::Length(sidebar_width),
        Constraint::Min(1),
        Constraint::Length(users_width),
    ])
    .areas(body);
    let [title, messages] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(main);
    Areas {
        banner,
        sidebar: (sidebar_width > 0).then_some(sidebar),
        title,
        messages: Rect {
            x: messages.x + 1,
            width: messages.width.saturating_sub(2),
            ..messages
        },
        users: (users_width > 0).then_some(users),
        input,
        status,
    }
}

/// How many rows the input takes at `width` columns of text.
pub fn input_rows(app: &App, width: u16) -> u16 {
    let (rows, _) = app.input.layout(width);
    (rows.len() as u16).clamp(1, app.ui.input_max_lines.max(1))
}

/// The message pane's size (columns, rows) at the current terminal size.
pub fn message_view(app: &App) -> (u16, u16) {
    let a = areas(app, Rect::new(0, 0, app.size.0, app.size.1));
    (a.messages.width, a.messages.height)
}

/// The first row shown of a list of `len` rows, `height` tall, keeping `selected` in view
/// (centred when it would otherwise sit at an edge).
pub fn list_offset(len: usize, selected: usize, height: usize) -> usize {
    if height == 0 || len <= height {
        return 0;
    }
    let max = len - height;
    selected.saturating_sub(height / 2).min(max)
}
