//! The help screen's text: every bound key (as configured), the fixed keys of each pane, and
//! every command.

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use crate::app::App;
use crate::commands::COMMANDS;
use crate::keymap::Action;

/// Keys that are not configurable, per pane.
const FIXED: &[(&str, &str, &str)] = &[
    ("Input", "Enter", "send the message, or run the /command"),
    (
        "Input",
        "Up / Down",
        "earlier / later lines you entered (or move between lines)",
    ),
    (
        "Input",
        "Esc",
        "clear the input; when empty, back to the newest message or hide a banner",
    ),
    (
        "Input",
        "Ctrl-A / Ctrl-E, Home / End",
        "start / end of the line",
    ),
    (
        "Input",
        "Ctrl-W, Alt-Backspace",
        "delete the word before the cursor",
    ),
    ("Input", "Ctrl-Left / Ctrl-Right", "previous / next word"),
    ("Input", "//text", "send a message that starts with /"),
    ("Messages", "Up / Down, j / k", "scroll a line"),
    ("Messages", "Home / End, g / G", "oldest / newest message"),
    (
        "Messages",
        "Esc",
        "back to the newest message and the input",
    ),
    ("Messages", "mouse wheel", "scroll (anywhere)"),
    ("Lists", "Up / Down, j / k", "move"),
    ("Lists", "Enter", "open the conversation (users: start one)"),
    ("Lists", "w / Delete", "close the conversation (left pane)"),
    ("Lists", "n", "new conversation (left pane)"),
    ("Lists", "Esc", "back to the input"),
    ("Lists", "mouse click", "open / select"),
    (
        "Dialogs",
        "Enter / Esc",
        "confirm / cancel (y / n in questions)",
    ),
    (
        "Switcher",
        "type, Up / Down, Tab",
        "filter, choose, complete the name",
    ),
];

/// Width of the key column.
pub const KEY_COLUMN: usize = 24;

/// The lines of the help screen.
pub fn lines(app: &App) -> Vec<Line<'static>> {
    let t = &app.theme;
    let head = Style::default().fg(t.accent).add_modifier(Modifier::BOLD);
    let key_style = Style::default().fg(t.own_name).add_modifier(Modifier::BOLD);
    let mut out = vec![
        Line::styled("gochat — keys and commands", head),
        Line::styled(
            "Messages are kept by gochatd; quitting the TUI loses nothing. Keys marked (config) can be changed in tui.toml.",
            Style::default().fg(t.dim),
        ),
        Line::raw(""),
        Line::styled("Keys (config)", head),
    ];
    let key_width = KEY_COLUMN;
    for action in Action::ALL {
        let keys = app.keymap.describe_keys(action);
        out.push(Line::from(vec![
            Span::styled(format!("  {keys:<key_width$} "), key_style),
            Span::raw(format!("{} ", action.describe())),
            Span::styled(format!("[{}]", action.name()), Style::default().fg(t.dim)),
        ]));
    }
    let mut pane = "";
    for (p, keys, what) in FIXED {
        if *p != pane {
            pane = p;
            out.push(Line::raw(""));
            out.push(Line::styled(format!("Keys in {p}"), head));
        }
        out.push(Line::from(vec![
            Span::styled(format!("  {keys:<key_width$} "), key_style),
            Span::raw((*what).to_owned()),
        ]));
    }
    out.push(Line::raw(""));
    out.push(Line::styled("Commands", head));
    for c in COMMANDS {
        let names: Vec<String> = c.names().map(|n| format!("/{n}")).collect();
        let names = names.join(", ");
        for f in c.forms {
            out.push(Line::from(vec![
                Span::styled(format!("  {names} "), key_style),
                Span::styled(f.usage.to_owned(), Style::default().fg(t.peer_name)),
            ]));
            out.push(Line::styled(
                format!("      {}", f.help),
                Style::default().fg(t.text),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Help lists every name and alias of the command table, `/h`, `/?` and `/q` included.
    #[test]
    fn help_lists_every_command_name() {
        let config = crate::config::Config::default();
        let app = App::new(&config, jiff::tz::TimeZone::UTC, (80, 24), 0);
        let text: Vec<String> = lines(&app).iter().map(ToString::to_string).collect();
        for c in COMMANDS {
            for name in c.names() {
                let listed = format!("/{name}");
                assert!(
                    text.iter()
                        .any(|l| l.trim_start().split(", ").any(
                            |w| w.trim_end() == listed || w.starts_with(&format!("{listed} "))
                        )),
                    "{listed} is missing from help"
                );
            }
        }
        assert!(text.iter().any(|l| l.contains("/help, /h, /? [COMMAND]")));
        assert!(text.iter().any(|l| l.contains("/quit, /exit, /q ")));
    }
}
