//! The session's own commands: help, status, settings, quitting.

use super::{Invocation, need_daemon, on_off, parse_bool, servers, usage, usage_lines};
use crate::app::{App, Level, Popup};
use crate::msg::{Call, Effect};

/// `/help [COMMAND]`: one command's usage, or the help screen.
pub(super) fn help(app: &mut App, inv: &Invocation<'_>) -> Vec<Effect> {
    if let Some(topic) = inv.arg(0)
        && let Some(text) = usage_lines(topic.trim_start_matches('/'), "")
    {
        app.notice_here(Level::Info, text);
        return Vec::new();
    }
    app.popup = Some(Popup::Help { scroll: 0 });
    Vec::new()
}

/// `/quit`.
pub(super) fn quit(app: &mut App, _: &Invocation<'_>) -> Vec<Effect> {
    app.should_quit = true;
    Vec::new()
}

/// `/status`: the daemon's, or only the TUI's version while detached.
pub(super) fn status(app: &mut App, _: &Invocation<'_>) -> Vec<Effect> {
    if !need_daemon(app) {
        app.notice_here(
            Level::Info,
            format!("gochat-tui {}", env!("CARGO_PKG_VERSION")),
        );
        return Vec::new();
    }
    vec![Effect::Call(Call::Status)]
}

/// `/config`: the settings in force.
pub(super) fn config(app: &mut App, _: &Invocation<'_>) -> Vec<Effect> {
    let ui = app.ui.clone();
    let text = format!(
        "config file: {}\n  sidebar: {} (width {}), users: {} (width {}), bell: {}, mouse: {}\n  \
         time format {:?}, date format {:?}, history page {}, conversations by {}\n  \
         keys: F1 lists the bindings in force",
        if app.config_path.is_empty() {
            "(defaults)"
        } else {
            &app.config_path
        },
        on_off(app.sidebar_visible()),
        ui.sidebar_width,
        on_off(app.users_visible()),
        ui.users_width,
        on_off(ui.bell),
        on_off(ui.mouse),
        ui.time_format,
        ui.date_format,
        ui.history_page,
        ui.sort_conversations
    );
    app.notice_here(Level::Info, text);
    Vec::new()
}

/// `/set OPTION VALUE`: a session setting, or `Server.*` of the current profile.
pub(super) fn set(app: &mut App, inv: &Invocation<'_>) -> Vec<Effect> {
    if super::housekeeping::is_daemon_setting(inv) {
        return super::housekeeping::daemon_setting(app, inv);
    }
    let (Some(option), Some(value)) = (inv.arg(0), inv.arg(1)) else {
        return usage(app, "set");
    };
    if option.to_ascii_lowercase().starts_with("server.") {
        return servers::set_field(app, None, option, value);
    }
    let Some(on) = parse_bool(value) else {
        app.notice_here(Level::Error, format!("{value:?}: use on or off"));
        return Vec::new();
    };
    match option.to_ascii_lowercase().as_str() {
        "users" | "userlist" => app.show_users = Some(on),
        "sidebar" | "buflist" => app.show_sidebar = Some(on),
        "bell" => app.ui.bell = on,
        "mouse" => {
            app.ui.mouse = on;
            return vec![Effect::Mouse(on)];
        }
        other => {
            app.notice_here(
                Level::Error,
                format!("unknown option {other}: users, sidebar, bell, mouse, Server.*"),
            );
            return Vec::new();
        }
    }
    app.notice_here(Level::Info, format!("{option} is {}", on_off(on)));
    Vec::new()
}

/// `/recover`: the Go client's command, explained away.
pub(super) fn recover(app: &mut App, _: &Invocation<'_>) -> Vec<Effect> {
    app.notice_here(
        Level::Info,
        "gochatd never leaves accounts behind when a server profile goes away (a profile with \
         accounts cannot be removed), so there is nothing to recover. To move a Go client's key \
         here: /key import NAME FILE.",
    );
    Vec::new()
}
