//! Key bindings: the global [`Action`]s, their default keys, parsing of key names such as
//! `ctrl-k` or `alt-enter`, and lookup of a pressed key. Keys that edit the input or move
//! within the focused pane (arrows, Enter, Backspace…) are fixed and handled in
//! [`crate::update`]; everything here can be rebound in the config file.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;

/// One key or several, as written in the file.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum KeyList {
    /// `quit = "ctrl-q"`.
    One(String),
    /// `quit = ["ctrl-q", "ctrl-c"]`; an empty list unbinds the action.
    Many(Vec<String>),
}

impl KeyList {
    /// The keys as a slice-like list.
    pub fn keys(&self) -> Vec<&str> {
        match self {
            KeyList::One(k) => vec![k.as_str()],
            KeyList::Many(ks) => ks.iter().map(String::as_str).collect(),
        }
    }
}

/// Something a key can be bound to, in every pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Leave the TUI (the daemon keeps running).
    Quit,
    /// Show or hide the help screen.
    Help,
    /// Show or hide the online users.
    ToggleUsers,
    /// Show or hide the servers and conversations.
    ToggleSidebar,
    /// Move the focus to the next pane.
    FocusNext,
    /// Move the focus to the servers and conversations.
    FocusSidebar,
    /// Move the focus to the input line.
    FocusInput,
    /// Open the quick switcher (jump to a conversation by name).
    QuickSwitch,
    /// Open a conversation with someone new.
    NewConversation,
    /// Close the conversation (hide it until a message arrives; history is kept).
    CloseConversation,
    /// Previous conversation in the list.
    PrevConversation,
    /// Next conversation in the list.
    NextConversation,
    /// Previous server.
    PrevServer,
    /// Next server.
    NextServer,
    /// The next conversation with unread messages.
    NextUnread,
    /// Scroll the messages up a line.
    ScrollUp,
    /// Scroll the messages down a line.
    ScrollDown,
    /// Scroll the messages up a page (loading older ones from the daemon).
    PageUp,
    /// Scroll the messages down a page.
    PageDown,
    /// Scroll to the oldest message.
    ScrollTop,
    /// Scroll to the newest message.
    ScrollBottom,
    /// Redraw the whole screen.
    Redraw,
    /// Insert a line break in the input.
    Newline,
    /// Complete a command or user name in the input.
    Complete,
}

impl Action {
    /// Every action, in the order the help screen lists them.
    pub const ALL: [Action; 24] = [
        Action::Help,
        Action::Quit,
        Action::QuickSwitch,
        Action::NewConversation,
        Action::CloseConversation,
        Action::PrevConversation,
        Action::NextConversation,
        Action::NextUnread,
        Action::PrevServer,
        Action::NextServer,
        Action::FocusNext,
        Action::FocusSidebar,
        Action::FocusInput,
        Action::ToggleSidebar,
        Action::ToggleUsers,
        Action::ScrollUp,
        Action::ScrollDown,
        Action::PageUp,
        Action::PageDown,
        Action::ScrollTop,
        Action::ScrollBottom,
        Action::Newline,
        Action::Complete,
        Action::Redraw,
    ];

    /// The name used in the config file.
    pub fn name(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::Help => "help",
            Action::ToggleUsers => "toggle_users",
            Action::ToggleSidebar => "toggle_sidebar",
            Action::FocusNext => "focus_next",
            Action::FocusSidebar => "focus_sidebar",
            Action::FocusInput => "focus_input",
            Action::QuickSwitch => "quick_switch",
            Action::NewConversation => "new_conversation",
            Action::CloseConversation => "close_conversation",
            Action::PrevConversation => "prev_conversation",
            Action::NextConversation => "next_conversation",
            Action::PrevServer => "prev_server",
            Action::NextServer => "next_server",
            Action::NextUnread => "next_unread",
            Action::ScrollUp => "scroll_up",
            Action::ScrollDown => "scroll_down",
            Action::PageUp => "page_up",
            Action::PageDown => "page_down",
            Action::ScrollTop => "scroll_top",
            Action::ScrollBottom => "scroll_bottom",
            Action::Redraw => "redraw",
            Action::Newline => "newline",
            Action::Complete => "complete",
        }
    }

    /// What it does, for the help screen.
    pub fn describe(self) -> &'static str {
        match self {
            Action::Quit => "quit (the daemon keeps running)",
            Action::Help => "this help",
            Action::ToggleUsers => "show/hide online users",
            Action::ToggleSidebar => "show/hide servers and conversations",
            Action::FocusNext => "focus the next pane",
            Action::FocusSidebar => "focus servers and conversations",
            Action::FocusInput => "focus the input line",
            Action::QuickSwitch => "quick switcher: jump to a conversation by name",
            Action::NewConversation => "open a conversation with someone",
            Action::CloseConversation => "close the conversation (history is kept)",
            Action::PrevConversation => "previous conversation",
            Action::NextConversation => "next conversation",
            Action::PrevServer => "previous server",
            Action::NextServer => "next server",
            Action::NextUnread => "next conversation with unread messages",
            Action::ScrollUp => "scroll messages up a line",
            Action::ScrollDown => "scroll messages down a line",
            Action::PageUp => "scroll messages up a page (loads older ones)",
            Action::PageDown => "scroll messages down a page",
            Action::ScrollTop => "scroll to the oldest message",
            Action::ScrollBottom => "scroll to the newest message",
            Action::Redraw => "redraw the screen",
            Action::Newline => "line break in the input",
            Action::Complete => "complete a command or name",
        }
    }

    /// The default keys.
    pub fn default_keys(self) -> &'static [&'static str] {
        match self {
            Action::Quit => &["ctrl-q", "ctrl-c"],
            Action::Help => &["f1", "ctrl-alt-l"],
            Action::ToggleUsers => &["ctrl-u"],
            Action::ToggleSidebar => &["ctrl-b"],
            Action::FocusNext => &["ctrl-t", "f6"],
            Action::FocusSidebar => &["ctrl-s"],
            Action::FocusInput => &["alt-i"],
            Action::QuickSwitch => &["ctrl-k", "ctrl-g"],
            Action::NewConversation => &["ctrl-n"],
            Action::CloseConversation => &["alt-w"],
            Action::PrevConversation => &["alt-up", "ctrl-p"],
            Action::NextConversation => &["alt-down"],
            Action::PrevServer => &["shift-up"],
            Action::NextServer => &["shift-down"],
            Action::NextUnread => &["alt-a"],
            Action::ScrollUp => &["ctrl-up"],
            Action::ScrollDown => &["ctrl-down"],
            Action::PageUp => &["pageup"],
            Action::PageDown => &["pagedown"],
            Action::ScrollTop => &["alt-home", "alt-esc"],
            Action::ScrollBottom => &["alt-end"],
            Action::Redraw => &["ctrl-r", "ctrl-l"],
            Action::Newline => &["alt-enter", "shift-enter", "ctrl-j"],
            Action::Complete => &["tab"],
        }
    }

    /// The action called `name` in the config file.
    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// A key with its modifiers, normalised so that the same key always compares equal (a shifted
/// letter is its capital without SHIFT; Tab is never confused with Ctrl-I's code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    /// The key.
    pub code: KeyCode,
    /// Ctrl, Alt and Shift only.
    pub modifiers: KeyModifiers,
}

impl Key {
    /// The normal form of a key event.
    pub fn from_event(event: &KeyEvent) -> Key {
        let mut modifiers =
            event.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        let mut code = event.code;
        match code {
            KeyCode::Char(c)
                if modifiers.contains(KeyModifiers::SHIFT) && !c.is_ascii_lowercase() =>
            {
                modifiers.remove(KeyModifiers::SHIFT);
            }
            KeyCode::Char(c)
                if modifiers.contains(KeyModifiers::CONTROL) && c.is_ascii_uppercase() =>
            {
                code = KeyCode::Char(c.to_ascii_lowercase());
            }
            KeyCode::BackTab => modifiers.remove(KeyModifiers::SHIFT),
            _ => {}
        }
        Key { code, modifiers }
    }

    /// Parses `ctrl-k`, `alt-enter`, `shift-up`, `f1`, `pageup`, `?`…
    ///
    /// # Errors
    ///
    /// A description of what is wrong with the name.
    pub fn parse(text: &str) -> Result<Key, String> {
        let lower = text.trim().to_ascii_lowercase();
        if lower.is_empty() {
            return Err("empty key name".into());
        }
        let mut modifiers = KeyModifiers::NONE;
        let mut rest = lower.as_str();
        // A single "-" is the minus key, not a separator.
        while rest.len() > 1 {
            let Some((prefix, tail)) = rest.split_once('-') else {
                break;
            };
            let m = match prefix {
                "ctrl" | "control" | "c" => KeyModifiers::CONTROL,
                "alt" | "meta" | "m" | "a" => KeyModifiers::ALT,
                "shift" | "s" => KeyModifiers::SHIFT,
                _ => break,
            };
            if tail.is_empty() {
                return Err(format!("{text:?} has a modifier but no key"));
            }
            modifiers |= m;
            rest = tail;
        }
        let code = match rest {
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "backspace" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            "insert" | "ins" => KeyCode::Insert,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "pageup" | "pgup" => KeyCode::PageUp,
            "pagedown" | "pgdn" => KeyCode::PageDown,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "space" => KeyCode::Char(' '),
            f if f.starts_with('f')
                && f.len() > 1
                && f[1..].chars().all(|c| c.is_ascii_digit()) =>
            {
                let n: u8 = f[1..]
                    .parse()
                    .map_err(|_| format!("unknown key {text:?}"))?;
                if !(1..=24).contains(&n) {
                    return Err(format!("unknown key {text:?}"));
                }
                KeyCode::F(n)
            }
            other => {
                let mut chars = other.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => {
                        // Keep the case the user wrote for plain characters ("?" or "G").
                        let original = text.trim().chars().last().unwrap_or(c);
                        KeyCode::Char(if modifiers.contains(KeyModifiers::CONTROL) {
                            c
                        } else {
                            original
                        })
                    }
                    _ => return Err(format!("unknown key {text:?}")),
                }
            }
        };
        Ok(Key::from_event(&KeyEvent::new(code, modifiers)))
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            f.write_str("Ctrl-")?;
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            f.write_str("Alt-")?;
        }
        if self.modifiers.contains(KeyModifiers::SHIFT) {
            f.write_str("Shift-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) if self.modifiers.contains(KeyModifiers::CONTROL) => {
                write!(f, "{}", c.to_ascii_uppercase())
            }
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::F(n) => write!(f, "F{n}"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            KeyCode::BackTab => f.write_str("Shift-Tab"),
            other => write!(f, "{other}"),
        }
    }
}

/// The resolved bindings.
#[derive(Debug, Clone)]
pub struct Keymap {
    by_key: HashMap<Key, Action>,
    by_action: BTreeMap<Action, Vec<Key>>,
}

impl Default for Keymap {
    fn default() -> Self {
        // The defaults are known to parse (a unit test checks).
        Keymap::from_config(&BTreeMap::new()).unwrap_or_else(|_| Keymap {
            by_key: HashMap::new(),
            by_action: BTreeMap::new(),
        })
    }
}

impl Keymap {
    /// The defaults with the overrides of the config file.
    ///
    /// # Errors
    ///
    /// An unknown action or key name.
    pub fn from_config(overrides: &BTreeMap<String, KeyList>) -> Result<Keymap, String> {
        let mut by_action: BTreeMap<Action, Vec<Key>> = BTreeMap::new();
        for action in Action::ALL {
            let keys = action
                .default_keys()
                .iter()
                .map(|k| Key::parse(k))
                .collect::<Result<Vec<_>, _>>()?;
            by_action.insert(action, keys);
        }
        for (name, keys) in overrides {
            let action = Action::from_name(name).ok_or_else(|| {
                format!(
                    "unknown action {name:?} in [keys] (known: {})",
                    Action::ALL.map(Action::name).join(", ")
                )
            })?;
            let keys = keys
                .keys()
                .into_iter()
                .map(|k| Key::parse(k).map_err(|e| format!("[keys] {name}: {e}")))
                .collect::<Result<Vec<_>, _>>()?;
            // A key given to this action is taken away from whichever action had it.
            for other in by_action.values_mut() {
                other.retain(|k| !keys.contains(k));
            }
            by_action.insert(action, keys);
        }
        let mut by_key = HashMap::new();
        for (action, keys) in &by_action {
            for key in keys {
                by_key.insert(*key, *action);
            }
        }
        Ok(Keymap { by_key, by_action })
    }

    /// The action bound to a key press.
    pub fn action(&self, event: &KeyEvent) -> Option<Action> {
        self.by_key.get(&Key::from_event(event)).copied()
    }

    /// The keys of an action.
    pub fn keys(&self, action: Action) -> &[Key] {
        self.by_action.get(&action).map_or(&[], Vec::as_slice)
    }

    /// The keys of an action as text, e.g. `Ctrl-K, Ctrl-G`.
    pub fn describe_keys(&self, action: Action) -> String {
        let keys = self.keys(action);
        if keys.is_empty() {
            return "(unbound)".into();
        }
        keys.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The first key of an action, for hints.
    pub fn first_key(&self, action: Action) -> Option<Key> {
        self.keys(action).first().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, m: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, m)
    }

    #[test]
    fn defaults_parse_and_do_not_collide() {
        let map = Keymap::from_config(&BTreeMap::new()).expect("defaults parse");
        let total: usize = Action::ALL.iter().map(|a| map.keys(*a).len()).sum();
        assert_eq!(total, map.by_key.len(), "two actions share a default key");
    }

    #[test]
    fn names() {
        assert_eq!(
            Key::parse("ctrl-k"),
            Ok(Key {
                code: KeyCode::Char('k'),
                modifiers: KeyModifiers::CONTROL
            })
        );
        assert_eq!(
            Key::parse("Ctrl-Alt-L"),
            Ok(Key {
                code: KeyCode::Char('l'),
                modifiers: KeyModifiers::CONTROL | KeyModifiers::ALT
            })
        );
        assert_eq!(
            Key::parse("alt-enter"),
            Ok(Key {
                code: KeyCode::Enter,
                modifiers: KeyModifiers::ALT
            })
        );
        assert_eq!(
            Key::parse("f12"),
            Ok(Key {
                code: KeyCode::F(12),
                modifiers: KeyModifiers::NONE
            })
        );
        assert_eq!(
            Key::parse("-"),
            Ok(Key {
                code: KeyCode::Char('-'),
                modifiers: KeyModifiers::NONE
            })
        );
        assert_eq!(
            Key::parse("?"),
            Ok(Key {
                code: KeyCode::Char('?'),
                modifiers: KeyModifiers::NONE
            })
        );
        assert!(Key::parse("ctrl-").is_err());
        assert!(Key::parse("hyper-x").is_err());
        assert!(Key::parse("f99").is_err());
        assert_eq!(
            Key::parse("ctrl-alt-l").map(|k| k.to_string()),
            Ok("Ctrl-Alt-L".to_owned())
        );
    }

    #[test]
    fn lookup_normalises_events() {
        let map = Keymap::default();
        assert_eq!(
            map.action(&ev(
                KeyCode::Char('K'),
                KeyModifiers::CONTROL | KeyModifiers::SHIFT
            )),
            None
        );
        assert_eq!(
            map.action(&ev(KeyCode::Char('k'), KeyModifiers::CONTROL)),
            Some(Action::QuickSwitch)
        );
        assert_eq!(
            map.action(&ev(KeyCode::Enter, KeyModifiers::ALT)),
            Some(Action::Newline)
        );
        assert_eq!(
            map.action(&ev(KeyCode::Char('a'), KeyModifiers::NONE)),
            None
        );
    }

    #[test]
    fn overrides_replace_and_steal() {
        let mut o = BTreeMap::new();
        o.insert("help".to_owned(), KeyList::One("ctrl-k".into()));
        let map = Keymap::from_config(&o).expect("valid");
        assert_eq!(
            map.action(&ev(KeyCode::Char('k'), KeyModifiers::CONTROL)),
            Some(Action::Help)
        );
        assert_eq!(map.action(&ev(KeyCode::F(1), KeyModifiers::NONE)), None);
        assert_eq!(map.describe_keys(Action::QuickSwitch), "Ctrl-G");
        o.insert("quit".to_owned(), KeyList::Many(vec![]));
        let map = Keymap::from_config(&o).expect("valid");
        assert_eq!(map.describe_keys(Action::Quit), "(unbound)");
    }
}
