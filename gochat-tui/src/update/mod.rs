//! `update`: the only function that changes the model. It takes one [`Msg`], changes the
//! [`App`], and returns the [`Effect`]s for the loop to carry out. It never waits, never does
//! I/O and never reads the clock (time arrives in `Msg::Tick`), so tests drive it directly.

mod popup;
pub mod scroll;

use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Position, Rect};

use crate::app::{App, Ask, BufferKey, Focus, Level, Popup, Row, Scroll};
use crate::keymap::Action;
use crate::msg::{Call, Effect, Msg};
use crate::ui::layout::{areas, list_offset};

use crate::nav::refresh_users;
pub use crate::nav::{
    close_conversation, mark_read_if_viewing, open_buffer, open_conversation, open_row,
};

/// Applies `msg` to `app` and returns what must be done outside.
pub fn update(app: &mut App, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Tick(now) => {
            tick(app, now);
            Vec::new()
        }
        other => {
            app.dirty = true;
            let mut effects = match other {
                Msg::Key(key) => on_key(app, key),
                Msg::Paste(text) => on_paste(app, &text),
                Msg::Mouse(mouse) => on_mouse(app, mouse),
                Msg::Resize(w, h) => {
                    app.size = (w, h);
                    Vec::new()
                }
                Msg::Focus(focused) => {
                    app.terminal_focused = focused;
                    if !focused || !app.attached() {
                        Vec::new()
                    } else {
                        // Profiles and accounts changed by other frontends raise no event:
                        // look again when the user comes back.
                        let mut effects = mark_read_if_viewing(app);
                        effects.push(Effect::Call(Call::Reload));
                        effects
                    }
                }
                Msg::Quit => {
                    app.should_quit = true;
                    Vec::new()
                }
                Msg::Daemon(crate::msg::DaemonMsg::Reply(reply)) => crate::ops::reduce(app, *reply),
                Msg::Daemon(d) => crate::events::on_daemon(app, d),
                Msg::Tick(_) => Vec::new(),
            };
            effects.extend(crate::local_events::focus_report(app));
            effects
        }
    }
}

fn tick(app: &mut App, now: i64) {
    app.now_ms = now;
    if app.flash.as_ref().is_some_and(|f| f.until_ms <= now) {
        app.flash = None;
        app.dirty = true;
    }
    let before = app.banners.len();
    app.banners.retain(|b| b.until_ms.is_none_or(|u| u > now));
    if app.banners.len() != before {
        app.dirty = true;
    }
    // Countdowns and "reconnecting since" change every second.
    if app.banners.iter().any(|b| b.countdown_to.is_some()) || !app.attached() {
        app.dirty = true;
    }
}

fn on_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    if key.kind == KeyEventKind::Release {
        app.dirty = false;
        return Vec::new();
    }
    if app.popup.is_some() {
        return popup::on_key(app, key);
    }
    if let Some(action) = app.keymap.action(&key) {
        let in_input = app.focus == Focus::Input;
        match action {
            Action::Newline if !in_input => {}
            Action::Complete if !in_input => return on_action(app, Action::FocusNext),
            _ => return on_action(app, action),
        }
    }
    match app.focus {
        Focus::Input => input_key(app, key),
        Focus::Messages => messages_key(app, key),
        Focus::Sidebar => sidebar_key(app, key),
        Focus::Users => users_key(app, key),
    }
}

/// Runs a bound action.
pub fn on_action(app: &mut App, action: Action) -> Vec<Effect> {
    match action {
        Action::Quit => app.should_quit = true,
        Action::Help => app.popup = Some(Popup::Help { scroll: 0 }),
        Action::ToggleUsers => {
            let show = !app.users_visible();
            app.show_users = Some(show);
            if !show && app.focus == Focus::Users {
                app.focus = Focus::Input;
            }
            if show {
                return refresh_users(app);
            }
        }
        Action::ToggleSidebar => {
            let show = !app.sidebar_visible();
            app.show_sidebar = Some(show);
            if !show && app.focus == Focus::Sidebar {
                app.focus = Focus::Input;
            }
        }
        Action::FocusNext => {
            let mut order = vec![Focus::Input, Focus::Messages];
            if app.sidebar_visible() {
                order.push(Focus::Sidebar);
            }
            if app.users_visible() {
                order.push(Focus::Users);
            }
            let i = order.iter().position(|f| *f == app.focus).unwrap_or(0);
            set_focus(app, order[(i + 1) % order.len()]);
        }
        Action::FocusSidebar => {
            if !app.sidebar_visible() {
                app.show_sidebar = Some(true);
            }
            set_focus(app, Focus::Sidebar);
        }
        Action::FocusInput => set_focus(app, Focus::Input),
        Action::QuickSwitch => {
            app.popup = Some(Popup::Switcher {
                query: String::new(),
                selected: 0,
            });
        }
        Action::NewConversation => match app.current_account() {
            Some(a) => {
                app.popup = Some(Popup::Prompt {
                    ask: Ask::NewConversation(a.key.clone()),
                    field: String::new(),
                });
            }
            None => app.flash(
                Level::Error,
                "no account here: /register NAME or /login NAME first",
            ),
        },
        Action::CloseConversation => return close_conversation(app, None),
        Action::PrevConversation => return step_row(app, -1, |_| true),
        Action::NextConversation => return step_row(app, 1, |_| true),
        Action::PrevServer => {
            return step_row(app, -1, |r| matches!(r, Row::Server(_) | Row::System));
        }
        Action::NextServer => {
            return step_row(app, 1, |r| matches!(r, Row::Server(_) | Row::System));
        }
        Action::NextUnread => return next_unread(app),
        Action::ScrollUp => return scroll::up(app, 1),
        Action::ScrollDown => scroll::down(app, 1),
        Action::PageUp => return scroll::page_up(app),
        Action::PageDown => {
            scroll::page_down(app);
            return mark_read_if_viewing(app);
        }
        Action::ScrollTop => return scroll::top(app),
        Action::ScrollBottom => {
            scroll::bottom(app);
            return mark_read_if_viewing(app);
        }
        Action::Redraw => return vec![Effect::Redraw],
        Action::Newline => app.input.insert('\n'),
        Action::Complete => complete(app),
    }
    Vec::new()
}

fn set_focus(app: &mut App, focus: Focus) {
    app.focus = focus;
    if focus == Focus::Sidebar {
        app.sidebar_cursor = Some(app.active_row());
    }
}

fn input_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    let input = &mut app.input;
    match key.code {
        KeyCode::Enter => return submit(app),
        KeyCode::Char('a') if ctrl => input.home(),
        KeyCode::Char('e') if ctrl => input.end(),
        KeyCode::Char('w') if ctrl => input.delete_word(),
        KeyCode::Char('d') if ctrl => input.delete(),
        KeyCode::Char('b') if alt => input.word_left(),
        KeyCode::Char('f') if alt => input.word_right(),
        KeyCode::Backspace if alt || ctrl => input.delete_word(),
        KeyCode::Char(c) if !ctrl && !alt => {
            input.insert(c);
        }
        KeyCode::Backspace => input.backspace(),
        KeyCode::Delete => input.delete(),
        KeyCode::Left if ctrl => input.word_left(),
        KeyCode::Right if ctrl => input.word_right(),
        KeyCode::Left => input.left(),
        KeyCode::Right => input.right(),
        KeyCode::Home => input.home(),
        KeyCode::End => input.end(),
        KeyCode::Up => {
            if input.is_empty() || input.browsing() {
                input.history_prev();
            } else if !input.on_first_line() {
                input.up();
            } else {
                input.history_prev();
            }
        }
        KeyCode::Down => {
            if input.browsing() {
                input.history_next();
            } else if !input.on_last_line() {
                input.down();
            }
        }
        KeyCode::Esc => {
            if !input.is_empty() || input.browsing() {
                input.clear();
            } else if app.active_buffer().scroll != Scroll::Bottom {
                scroll::bottom(app);
                return mark_read_if_viewing(app);
            } else if let Some(i) = app.banners.iter().position(|b| b.countdown_to.is_none()) {
                app.banners.remove(i);
            } else if !app.banners.is_empty() {
                app.banners.remove(0);
            }
        }
        _ => app.dirty = false,
    }
    Vec::new()
}

fn typed_char(key: &KeyEvent) -> Option<char> {
    match key.code {
        KeyCode::Char(c)
            if !key
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
        {
            Some(c)
        }
        _ => None,
    }
}

fn type_into_input(app: &mut App, c: char) -> Vec<Effect> {
    app.focus = Focus::Input;
    app.input.insert(c);
    Vec::new()
}

fn messages_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    match key.code {
        KeyCode::Up | KeyCode::Char('k') => scroll::up(app, 1),
        KeyCode::Down | KeyCode::Char('j') => {
            scroll::down(app, 1);
            mark_read_if_viewing(app)
        }
        KeyCode::Home | KeyCode::Char('g') => scroll::top(app),
        KeyCode::End | KeyCode::Char('G') => {
            scroll::bottom(app);
            mark_read_if_viewing(app)
        }
        KeyCode::Esc => {
            scroll::bottom(app);
            app.focus = Focus::Input;
            mark_read_if_viewing(app)
        }
        KeyCode::Enter => {
            app.focus = Focus::Input;
            Vec::new()
        }
        _ => match typed_char(&key) {
            Some(c) => type_into_input(app, c),
            None => Vec::new(),
        },
    }
}

fn sidebar_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let rows = app.rows();
    let cursor = app
        .sidebar_cursor
        .clone()
        .unwrap_or_else(|| app.active_row());
    let i = rows.iter().position(|r| *r == cursor).unwrap_or(0);
    let move_to = |app: &mut App, j: usize| {
        app.sidebar_cursor = rows.get(j).cloned();
    };
    match key.code {
        KeyCode::Up | KeyCode::Char('k') => move_to(app, i.saturating_sub(1)),
        KeyCode::Down | KeyCode::Char('j') => {
            move_to(app, (i + 1).min(rows.len().saturating_sub(1)))
        }
        KeyCode::Home | KeyCode::Char('g') => move_to(app, 0),
        KeyCode::End | KeyCode::Char('G') => move_to(app, rows.len().saturating_sub(1)),
        KeyCode::Enter | KeyCode::Right | KeyCode::Char('l') => {
            if let Some(row) = rows.get(i) {
                let effects = open_row(app, row);
                app.focus = Focus::Input;
                return effects;
            }
        }
        KeyCode::Esc | KeyCode::Left | KeyCode::Char('h') => app.focus = Focus::Input,
        KeyCode::Delete | KeyCode::Char('w' | 'd') => {
            if let Some(Row::Conv(a, p)) = rows.get(i) {
                let key = BufferKey::Conv(a.clone(), p.clone());
                let effects = close_conversation(app, Some(key));
                app.sidebar_cursor = rows.get(i.saturating_sub(1)).cloned();
                return effects;
            }
        }
        KeyCode::Char('n') => return on_action(app, Action::NewConversation),
        _ => {
            if let Some(c) = typed_char(&key) {
                return type_into_input(app, c);
            }
        }
    }
    Vec::new()
}

fn users_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let count = app
        .current_account()
        .and_then(|a| a.online_users.as_ref())
        .map_or(0, Vec::len);
    match key.code {
        KeyCode::Up | KeyCode::Char('k') => app.users_cursor = app.users_cursor.saturating_sub(1),
        KeyCode::Down | KeyCode::Char('j') => {
            app.users_cursor = (app.users_cursor + 1).min(count.saturating_sub(1))
        }
        KeyCode::Enter => {
            let user = crate::ui::users::sorted(app)
                .get(app.users_cursor)
                .map(|u| u.name.clone());
            if let (Some(user), Some(account)) =
                (user, app.current_account().map(|a| a.key.clone()))
            {
                app.focus = Focus::Input;
                return open_conversation(app, &account, &user, true);
            }
        }
        KeyCode::Esc | KeyCode::Left => app.focus = Focus::Input,
        _ => {
            if let Some(c) = typed_char(&key) {
                return type_into_input(app, c);
            }
        }
    }
    Vec::new()
}

fn on_paste(app: &mut App, text: &str) -> Vec<Effect> {
    if app.popup.is_some() {
        return popup::on_paste(app, text);
    }
    app.focus = Focus::Input;
    if !app.input.paste(text) {
        app.flash(Level::Warning, "the paste was too long and was cut");
    }
    Vec::new()
}

fn on_mouse(app: &mut App, mouse: MouseEvent) -> Vec<Effect> {
    let a = areas(app, Rect::new(0, 0, app.size.0, app.size.1));
    let at = Position::new(mouse.column, mouse.row);
    if let Some(Popup::Help { scroll }) = &mut app.popup {
        match mouse.kind {
            MouseEventKind::ScrollUp => *scroll = scroll.saturating_sub(3),
            MouseEventKind::ScrollDown => *scroll = scroll.saturating_add(3),
            _ => app.dirty = false,
        }
        return Vec::new();
    }
    if app.popup.is_some() {
        app.dirty = false;
        return Vec::new();
    }
    match mouse.kind {
        MouseEventKind::ScrollUp => scroll::up(app, 3),
        MouseEventKind::ScrollDown => {
            scroll::down(app, 3);
            mark_read_if_viewing(app)
        }
        MouseEventKind::Down(MouseButton::Left) => {
            if let Some(side) = a.sidebar
                && side.contains(at)
            {
                let rows = app.rows();
                let selected = match (&app.focus, &app.sidebar_cursor) {
                    (Focus::Sidebar, Some(c)) => c.clone(),
                    _ => app.active_row(),
                };
                let sel = rows.iter().position(|r| *r == selected).unwrap_or(0);
                let offset = list_offset(rows.len(), sel, usize::from(side.height));
                let i = offset + usize::from(at.y - side.y);
                if let Some(row) = rows.get(i) {
                    return open_row(app, row);
                }
            } else if let Some(users) = a.users
                && users.contains(at)
            {
                app.focus = Focus::Users;
                if at.y > users.y {
                    let count = crate::ui::users::sorted(app).len();
                    let offset = list_offset(
                        count,
                        app.users_cursor,
                        usize::from(users.height.saturating_sub(1)),
                    );
                    app.users_cursor =
                        (offset + usize::from(at.y - users.y - 1)).min(count.saturating_sub(1));
                }
            } else if a.input.contains(at) {
                app.focus = Focus::Input;
            } else if a.messages.contains(at) || a.title.contains(at) {
                app.focus = Focus::Messages;
            }
            Vec::new()
        }
        _ => {
            app.dirty = false;
            Vec::new()
        }
    }
}

/// Enter in the input: a command, or a message for the active conversation.
fn submit(app: &mut App) -> Vec<Effect> {
    let text = app.input.take();
    let trimmed = text.trim_end_matches(['\n', ' ']);
    if trimmed.trim().is_empty() {
        return Vec::new();
    }
    if let Some(rest) = trimmed.strip_prefix('/')
        && !rest.starts_with('/')
    {
        return crate::commands::run(app, trimmed);
    }
    // "//text" sends "/text".
    let body = trimmed
        .strip_prefix('/')
        .filter(|r| r.starts_with('/'))
        .unwrap_or(trimmed);
    send_text(app, body, &text)
}

fn send_text(app: &mut App, body: &str, original: &str) -> Vec<Effect> {
    let BufferKey::Conv(account, peer) = app.active.clone() else {
        app.input.set(original);
        app.notice_here(
            Level::Warning,
            "This is not a conversation: open one with /msg USER (or Ctrl-N), or type /help.",
        );
        return Vec::new();
    };
    if !app.attached() {
        app.input.set(original);
        app.flash(
            Level::Error,
            "gochatd is not reachable; the text is kept, send it again once it is back",
        );
        return Vec::new();
    }
    if let Some(new) = app
        .conversation(&account, &peer)
        .and_then(|c| c.key_changed.clone())
    {
        app.notice_here(
            Level::Warning,
            format!("{peer}'s key changed (new fingerprint {new}); the message stays queued until you /accept {peer}."),
        );
    }
    if let Some(a) = app.account(&account)
        && a.info.locked
    {
        app.notice_here(
            Level::Warning,
            format!(
                "{} is locked: the message is queued until you /unlock.",
                account.label()
            ),
        );
    }
    scroll::bottom(app);
    vec![Effect::Call(Call::Send {
        account,
        to: peer,
        text: body.to_owned(),
    })]
}

fn step_row(app: &mut App, step: isize, wanted: impl Fn(&Row) -> bool) -> Vec<Effect> {
    let rows = app.rows();
    if rows.is_empty() {
        return Vec::new();
    }
    let current = app.active_row();
    let i = rows.iter().position(|r| *r == current).unwrap_or(0) as isize;
    let n = rows.len() as isize;
    let mut j = i;
    for _ in 0..n {
        j = (j + step).rem_euclid(n);
        if wanted(&rows[j as usize]) {
            let row = rows[j as usize].clone();
            if app.focus == Focus::Sidebar {
                app.sidebar_cursor = Some(row.clone());
            }
            return open_row(app, &row);
        }
    }
    Vec::new()
}

fn next_unread(app: &mut App) -> Vec<Effect> {
    let has_unread = |app: &App, r: &Row| match r {
        Row::Conv(a, p) => app.conversation(a, p).is_some_and(|c| c.unread > 0),
        _ => false,
    };
    let rows = app.rows();
    let current = app.active_row();
    let i = rows.iter().position(|r| *r == current).unwrap_or(0);
    let found = rows[i + 1..]
        .iter()
        .chain(rows[..=i.min(rows.len().saturating_sub(1))].iter())
        .find(|r| has_unread(app, r))
        .cloned();
    match found {
        Some(row) => open_row(app, &row),
        None => {
            app.flash(Level::Info, "no unread messages");
            Vec::new()
        }
    }
}

/// Tab in the input: completes a command name, or a user name from the online list and the
/// conversations.
fn complete(app: &mut App) {
    let (start, word) = app.input.current_word();
    let word = word.to_owned();
    let at_start = start == 0;
    let candidates: Vec<String> = if at_start && word.starts_with('/') {
        crate::commands::completions()
            .filter(|n| n.starts_with(&word))
            .collect()
    } else {
        let mut names: Vec<String> = Vec::new();
        if let Some(a) = app.current_account() {
            if let Some(users) = &a.online_users {
                names.extend(users.iter().map(|u| u.name.clone()));
            }
            names.extend(a.conversations.keys().cloned());
        }
        names.sort();
        names.dedup();
        names
            .into_iter()
            .filter(|n| n.starts_with(&word) && *n != word)
            .collect()
    };
    match candidates.len() {
        0 => app.dirty = false,
        1 => {
            let mut with = candidates[0].clone();
            with.push(' ');
            app.input.replace_word(start, &with);
        }
        _ => {
            let prefix = common_prefix(&candidates);
            if prefix.len() > word.len() {
                app.input.replace_word(start, &prefix);
            } else {
                let mut shown = candidates.clone();
                shown.truncate(12);
                app.flash(Level::Info, shown.join("  "));
            }
        }
    }
}

/// The longest common prefix of some strings.
pub fn common_prefix(items: &[String]) -> String {
    let Some(first) = items.first() else {
        return String::new();
    };
    let mut end = first.len();
    for item in &items[1..] {
        end = end.min(
            first
                .char_indices()
                .zip(item.chars())
                .find(|((_, a), b)| a != b)
                .map_or(first.len().min(item.len()), |((i, _), _)| i),
        );
    }
    while !first.is_char_boundary(end) {
        end -= 1;
    }
    first[..end].to_owned()
}
