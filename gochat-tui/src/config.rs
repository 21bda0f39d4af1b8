//! The TUI's settings: `$XDG_CONFIG_HOME/gochat/tui.toml` (layout, behaviour, colours and key
//! bindings). Every field has a default, so the file is optional and may set only what it
//! changes. The defaults are documented in `docs/TUI.md` and by [`Config::default`].
//!
//! This module only parses and validates; the key bindings are resolved in [`crate::keymap`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ratatui::style::Color;
use serde::Deserialize;

use crate::keymap::KeyList;

/// Errors reading the configuration file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but cannot be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema.
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the position.
        message: String,
    },
    /// A setting has an unusable value.
    #[error("invalid config file {path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// Everything the TUI can be configured with.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Layout and behaviour.
    pub ui: UiConfig,
    /// Colours.
    pub theme: Theme,
    /// Key bindings: action name → one key or a list of keys (replacing the defaults of that
    /// action). See [`crate::keymap::Action`] for the names.
    pub keys: BTreeMap<String, KeyList>,
    /// Where the log goes.
    pub log: LogConfig,
}

/// Layout and behaviour.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct UiConfig {
    /// Width of the left pane (servers and conversations), in columns.
    pub sidebar_width: u16,
    /// Width of the right pane (online users), in columns.
    pub users_width: u16,
    /// Show the left pane at start.
    pub show_sidebar: bool,
    /// Show the online users at start.
    pub show_users: bool,
    /// Below this terminal width the user list is hidden (unless toggled on).
    pub users_min_width: u16,
    /// Below this terminal width the left pane is hidden (unless toggled on).
    pub sidebar_min_width: u16,
    /// strftime format of the time in front of each message.
    pub time_format: String,
    /// strftime format of the day separators.
    pub date_format: String,
    /// Ring the terminal bell when a message arrives in a conversation you are not looking at.
    pub bell: bool,
    /// Capture the mouse (wheel scrolling, clicks on the panes). Turn off to select text with
    /// the mouse the way the terminal does it.
    pub mouse: bool,
    /// Messages fetched from the daemon per page of scrollback.
    pub history_page: u32,
    /// Most lines the input grows to before it scrolls.
    pub input_max_lines: u16,
    /// Start gochatd when no daemon answers on the socket.
    pub autostart: bool,
    /// Order of conversations in the left pane: `"recent"` (newest activity first) or `"name"`.
    pub sort_conversations: String,
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            sidebar_width: 22,
            users_width: 18,
            show_sidebar: true,
            show_users: true,
            users_min_width: 70,
            sidebar_min_width: 50,
            time_format: "%H:%M".into(),
            date_format: "%a %d %b %Y".into(),
            bell: true,
            mouse: true,
            history_page: 100,
            input_max_lines: 5,
            autostart: true,
            sort_conversations: "recent".into(),
        }
    }
}

/// Where the log goes: a file (default) or the systemd journal. Never the terminal.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `"file"` or `"journald"`.
    pub target: String,
    /// The log file; default `$XDG_STATE_HOME/gochat/gochat-tui.log`.
    pub file: Option<PathBuf>,
    /// tracing filter, e.g. `info` or `gochat_tui=debug`.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            target: "file".into(),
            file: None,
            level: "info".into(),
        }
    }
}

/// Colours, by role. Values are names (`red`, `light-blue`, `dark-gray`, `reset`…), indexes
/// (`0`–`255`) or `#rrggbb`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Theme {
    /// Ordinary text.
    #[serde(with = "color")]
    pub text: Color,
    /// Secondary text: times, hints, read conversations.
    #[serde(with = "color")]
    pub dim: Color,
    /// Titles and the focused pane's border.
    #[serde(with = "color")]
    pub accent: Color,
    /// Borders of unfocused panes.
    #[serde(with = "color")]
    pub border: Color,
    /// Your own name in conversations.
    #[serde(with = "color")]
    pub own_name: Color,
    /// The other person's name in conversations.
    #[serde(with = "color")]
    pub peer_name: Color,
    /// Notices from the TUI and the daemon.
    #[serde(with = "color")]
    pub system: Color,
    /// Errors and failed messages.
    #[serde(with = "color")]
    pub error: Color,
    /// Warnings (key changes, queued messages).
    #[serde(with = "color")]
    pub warning: Color,
    /// Good news (online, sent).
    #[serde(with = "color")]
    pub success: Color,
    /// Unread counts and conversations with news.
    #[serde(with = "color")]
    pub unread: Color,
    /// Day separators and the "new messages" marker.
    #[serde(with = "color")]
    pub separator: Color,
    /// Selected row text.
    #[serde(with = "color")]
    pub selection_fg: Color,
    /// Selected row background.
    #[serde(with = "color")]
    pub selection_bg: Color,
    /// Status line text.
    #[serde(with = "color")]
    pub status_fg: Color,
    /// Status line background.
    #[serde(with = "color")]
    pub status_bg: Color,
    /// Banner text (server shutdown, key change, daemon gone).
    #[serde(with = "color")]
    pub banner_fg: Color,
    /// Banner background.
    #[serde(with = "color")]
    pub banner_bg: Color,
    /// Owners in the user list.
    #[serde(with = "color")]
    pub owner: Color,
    /// Admins in the user list.
    #[serde(with = "color")]
    pub admin: Color,
}

impl Default for Theme {
    fn default() -> Self {
        Theme {
            text: Color::Reset,
            dim: Color::DarkGray,
            accent: Color::Cyan,
            border: Color::DarkGray,
            own_name: Color::Yellow,
            peer_name: Color::LightBlue,
            system: Color::Magenta,
            error: Color::LightRed,
            warning: Color::Yellow,
            success: Color::Green,
            unread: Color::LightYellow,
            separator: Color::DarkGray,
            selection_fg: Color::Black,
            selection_bg: Color::Cyan,
            status_fg: Color::White,
            status_bg: Color::Blue,
            banner_fg: Color::Black,
            banner_bg: Color::Yellow,
            owner: Color::LightRed,
            admin: Color::LightGreen,
        }
    }
}

mod color {
    use ratatui::style::Color;
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Color, D::Error> {
        let text = String::deserialize(d)?;
        text.parse::<Color>().map_err(|_| {
            serde::de::Error::custom(format!(
                "unknown colour {text:?} (use a name like \"light-blue\", an index 0-255 or \"#rrggbb\")"
            ))
        })
    }
}

impl Config {
    /// `$XDG_CONFIG_HOME/gochat/tui.toml` (or `~/.config/gochat/tui.toml`).
    pub fn default_path() -> PathBuf {
        directories::ProjectDirs::from("", "", "gochat")
            .map(|d| d.config_dir().join("tui.toml"))
            .unwrap_or_else(|| PathBuf::from("tui.toml"))
    }

    /// Reads `path`; a missing file gives the defaults.
    ///
    /// # Errors
    ///
    /// When the file cannot be read, is not valid TOML, or names an unknown action or key.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        Config::parse(&text).map_err(|e| match e {
            ParseError::Toml(message) => ConfigError::Parse {
                path: path.to_owned(),
                message,
            },
            ParseError::Invalid(message) => ConfigError::Invalid {
                path: path.to_owned(),
                message,
            },
        })
    }

    /// Parses the text of a config file and checks it.
    ///
    /// # Errors
    ///
    /// When the text is not valid for the schema or names an unknown action or key.
    pub fn parse(text: &str) -> Result<Config, ParseError> {
        let config: Config = toml::from_str(text).map_err(|e| ParseError::Toml(e.to_string()))?;
        crate::keymap::Keymap::from_config(&config.keys).map_err(ParseError::Invalid)?;
        if config.ui.history_page == 0 {
            return Err(ParseError::Invalid(
                "ui.history_page must be at least 1".into(),
            ));
        }
        if !matches!(config.ui.sort_conversations.as_str(), "recent" | "name") {
            return Err(ParseError::Invalid(format!(
                "ui.sort_conversations must be \"recent\" or \"name\", not {:?}",
                config.ui.sort_conversations
            )));
        }
        for (name, format) in [
            ("ui.time_format", &config.ui.time_format),
            ("ui.date_format", &config.ui.date_format),
        ] {
            crate::clock::check_format(format)
                .map_err(|e| ParseError::Invalid(format!("{name}: {e}")))?;
        }
        if !matches!(config.log.target.as_str(), "file" | "journald") {
            return Err(ParseError::Invalid(format!(
                "log.target must be \"file\" or \"journald\", not {:?}",
                config.log.target
            )));
        }
        Ok(config)
    }

    /// The log file in force.
    pub fn log_file(&self) -> PathBuf {
        self.log.file.clone().unwrap_or_else(default_state_dir_file)
    }
}

/// Why a config text was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// TOML or schema error.
    Toml(String),
    /// A value is unusable.
    Invalid(String),
}

/// The directory for the TUI's log (and the autostarted daemon's output): `$XDG_STATE_HOME/gochat`,
/// else the local data directory.
pub fn state_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "gochat")
        .map(|d| {
            d.state_dir()
                .map_or_else(|| d.data_local_dir().to_owned(), Path::to_owned)
        })
        .unwrap_or_else(std::env::temp_dir)
}

fn default_state_dir_file() -> PathBuf {
    state_dir().join("gochat-tui.log")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_the_defaults() {
        let c = Config::parse("").expect("parses");
        assert_eq!(c.ui, UiConfig::default());
        assert_eq!(c.theme, Theme::default());
    }

    #[test]
    fn colours_and_keys() {
        let c = Config::parse(
            "[theme]\naccent = \"#ff8800\"\nerror = \"light-red\"\nborder = \"240\"\n\
             [keys]\nquit = \"ctrl-x\"\nhelp = [\"f1\", \"f2\"]\n",
        )
        .expect("parses");
        assert_eq!(c.theme.accent, Color::Rgb(0xff, 0x88, 0));
        assert_eq!(c.theme.border, Color::Indexed(240));
        assert_eq!(
            c.keys["help"],
            KeyList::Many(vec!["f1".into(), "f2".into()])
        );
    }

    #[test]
    fn errors_are_reported() {
        assert!(matches!(
            Config::parse("[theme]\naccent = \"blurple\""),
            Err(ParseError::Toml(_))
        ));
        assert!(matches!(
            Config::parse("[ui]\nnope = 1"),
            Err(ParseError::Toml(_))
        ));
        assert!(matches!(
            Config::parse("[keys]\nfly = \"f1\""),
            Err(ParseError::Invalid(_))
        ));
        assert!(matches!(
            Config::parse("[keys]\nquit = \"ctrl-\""),
            Err(ParseError::Invalid(_))
        ));
    }
}
