//! Notification and hook settings: defaults, then `[notify]` and `[hooks]` of gochatd.toml,
//! then the values set live through the API (kept in the store until reset). Each setting has
//! a name (`notify.mode`, `hooks.on_message`, `notify.accounts.home/alice`) and a value in
//! TOML syntax, which is how the API and the frontends show and change it.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use crate::store::NotifyMode;

/// The `[notify]` table of gochatd.toml.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyConfig {
    /// Desktop notifications at all.
    pub enabled: bool,
    /// `on`, `off` or `mentions`, for accounts without their own.
    pub mode: String,
    /// Per account (`"SERVER/USER"`): `on`, `off` or `mentions`.
    pub accounts: BTreeMap<String, String>,
    /// Show "new message from bob" instead of the text.
    pub hide_body: bool,
    /// Longest body shown, in characters.
    pub max_body: u32,
    /// Messages from one sender within this many milliseconds make one notification.
    pub coalesce_ms: u32,
    /// D-Bus address of the session bus; empty: `$DBUS_SESSION_BUS_ADDRESS`.
    pub bus: String,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            enabled: true,
            mode: "on".into(),
            accounts: BTreeMap::new(),
            hide_body: false,
            max_body: 200,
            coalesce_ms: 1000,
            bus: String::new(),
        }
    }
}

/// The `[hooks]` table of gochatd.toml.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HooksConfig {
    /// Program and arguments run for each incoming message (empty: none).
    pub on_message: Vec<String>,
    /// Run when a contact's key changes.
    pub on_key_change: Vec<String>,
    /// Run when an account's link changes state.
    pub on_link_state: Vec<String>,
    /// Seconds a hook may run before it is killed.
    pub timeout_secs: u32,
    /// Hooks running at once.
    pub max_running: u32,
    /// Hooks waiting for a free slot; more are dropped (with a log line and an event).
    pub max_queued: u32,
}

impl Default for HooksConfig {
    fn default() -> Self {
        HooksConfig {
            on_message: Vec::new(),
            on_key_change: Vec::new(),
            on_link_state: Vec::new(),
            timeout_secs: 10,
            max_running: 4,
            max_queued: 32,
        }
    }
}

/// The settings in force.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// `[notify]`.
    pub notify: NotifyConfig,
    /// `[hooks]`.
    pub hooks: HooksConfig,
}

/// Why a setting cannot be changed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingError {
    /// No setting has that name.
    #[error("no setting called {0:?} (see `gochat-cli config`)")]
    Unknown(String),
    /// The value does not fit the setting.
    #[error("{name} takes {expected}")]
    Invalid {
        /// The setting.
        name: String,
        /// What it takes.
        expected: &'static str,
    },
}

impl SettingError {
    /// No setting called `name` (cut to 64 characters in the message).
    pub fn unknown(name: &str) -> SettingError {
        SettingError::Unknown(name.chars().take(64).collect())
    }
}

/// One setting as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// Its name.
    pub name: String,
    /// Its value, TOML syntax.
    pub value: String,
    /// "default", "file" or "api".
    pub source: &'static str,
    /// What it does.
    pub help: &'static str,
}

/// Name and help of each fixed setting.
const SETTINGS: &[(&str, &str)] = &[
    (
        "notify.enabled",
        "desktop notifications at all (true/false)",
    ),
    (
        "notify.mode",
        "on, off or mentions: accounts without their own mode",
    ),
    (
        "notify.hide_body",
        "show \"new message from bob\" instead of the text",
    ),
    ("notify.max_body", "longest body shown, in characters"),
    (
        "notify.coalesce_ms",
        "messages from one sender within this window make one notification",
    ),
    (
        "notify.bus",
        "D-Bus address of the session bus (empty: $DBUS_SESSION_BUS_ADDRESS)",
    ),
    (
        "hooks.on_message",
        "program and arguments run for each incoming message",
    ),
    (
        "hooks.on_key_change",
        "program and arguments run when a contact's key changes",
    ),
    (
        "hooks.on_link_state",
        "program and arguments run when a link changes state",
    ),
    (
        "hooks.timeout_secs",
        "seconds a hook may run before it is killed",
    ),
    ("hooks.max_running", "hooks running at once"),
    (
        "hooks.max_queued",
        "hooks waiting for a slot; more are dropped",
    ),
];

/// The prefix of per-account modes.
const ACCOUNT_PREFIX: &str = "notify.accounts.";

/// Parses a value in TOML syntax; a bare word (`mentions`) is taken as a string.
pub fn parse_value(text: &str) -> toml::Value {
    let text = text.trim();
    match toml::from_str::<toml::Table>(&format!("v = {text}")) {
        Ok(mut table) => table
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(text.to_owned())),
        Err(_) => toml::Value::String(text.to_owned()),
    }
}

fn boolean(name: &str, v: &toml::Value) -> Result<bool, SettingError> {
    v.as_bool().ok_or_else(|| SettingError::Invalid {
        name: name.to_owned(),
        expected: "true or false",
    })
}

fn number(name: &str, v: &toml::Value, min: i64, max: u32) -> Result<u32, SettingError> {
    v.as_integer()
        .filter(|&n| n >= min && n <= i64::from(max))
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| SettingError::Invalid {
            name: name.to_owned(),
            expected: match (min > 0, name) {
                (_, "notify.max_body") => "a whole number from 1 to 4096",
                (_, "notify.coalesce_ms") => "a whole number from 0 to 600000",
                (_, "hooks.timeout_secs") => "a whole number from 1 to 3600",
                (_, "hooks.max_running") => "a whole number from 1 to 64",
                (_, "hooks.max_queued") => "a whole number from 0 to 10000",
                (true, _) => "a positive whole number",
                (false, _) => "a whole number, 0 or more",
            },
        })
}

/// Longest text of one setting's value (a hook command with its arguments included).
pub const VALUE_MAX: usize = 16 * 1024;
/// Most words in a hook command, program included.
const COMMAND_WORDS_MAX: usize = 64;
/// Longest setting name (a per-account mode's name holds a profile and a user name).
pub const NAME_MAX: usize = 256;

/// Whether `text` is one line of safe text (no NUL, controls, bidi or invisible characters).
fn plain(text: &str) -> bool {
    !text.chars().any(gochat_client::term::is_unsafe)
}

/// Whether `account` is `PROFILE/USER` as a per-account mode names it.
fn account_key(account: &str) -> bool {
    account.split_once('/').is_some_and(|(server, user)| {
        !server.is_empty() && plain(server) && gochat_client::term::is_user_name(user)
    })
}

fn mode(name: &str, v: &toml::Value) -> Result<String, SettingError> {
    v.as_str()
        .filter(|s| NotifyMode::from_name(s).is_some())
        .map(str::to_owned)
        .ok_or_else(|| SettingError::Invalid {
            name: name.to_owned(),
            expected: "\"on\", \"off\" or \"mentions\"",
        })
}

fn command(name: &str, v: &toml::Value) -> Result<Vec<String>, SettingError> {
    let invalid = || SettingError::Invalid {
        name: name.to_owned(),
        expected: "a list of strings: [\"/path/to/program\", \"arg\"] ([] for none)",
    };
    let list = v.as_array().ok_or_else(invalid)?;
    let out: Option<Vec<String>> = list.iter().map(|s| s.as_str().map(str::to_owned)).collect();
    let out = out.ok_or_else(invalid)?;
    if out.first().is_some_and(String::is_empty) {
        return Err(invalid());
    }
    // A NUL cannot reach exec; the program's own name should be plain text.
    if out.len() > COMMAND_WORDS_MAX
        || out.iter().any(|w| w.contains('\0'))
        || out.first().is_some_and(|p| !plain(p))
    {
        return Err(SettingError::Invalid {
            name: name.to_owned(),
            expected: "at most 64 words without NUL bytes, the program's name free of control characters",
        });
    }
    Ok(out)
}

fn list_value(items: &[String]) -> toml::Value {
    toml::Value::Array(items.iter().cloned().map(toml::Value::String).collect())
}

impl Settings {
    /// The mode of an account (`server`/`user`): its own, else `notify.mode`.
    pub fn account_mode(&self, server: &str, user: &str) -> NotifyMode {
        self.notify
            .accounts
            .get(&format!("{server}/{user}"))
            .and_then(|m| NotifyMode::from_name(m))
            .or_else(|| NotifyMode::from_name(&self.notify.mode))
            .unwrap_or(NotifyMode::On)
    }

    /// Checks every value read from the file.
    pub fn validate(&self) -> Result<(), SettingError> {
        let mut check = self.clone();
        for (name, value) in self.values() {
            check.set(&name, &value)?;
        }
        Ok(())
    }

    /// Changes one setting (`None` removes a per-account mode).
    pub fn set(&mut self, name: &str, value: &toml::Value) -> Result<(), SettingError> {
        let n = &mut self.notify;
        let h = &mut self.hooks;
        match name {
            "notify.enabled" => n.enabled = boolean(name, value)?,
            "notify.mode" => n.mode = mode(name, value)?,
            "notify.hide_body" => n.hide_body = boolean(name, value)?,
            "notify.max_body" => n.max_body = number(name, value, 1, 4096)?,
            "notify.coalesce_ms" => n.coalesce_ms = number(name, value, 0, 600_000)?,
            "notify.bus" => {
                n.bus = value
                    .as_str()
                    .filter(|b| b.len() <= 1024 && plain(b))
                    .ok_or_else(|| SettingError::Invalid {
                        name: name.to_owned(),
                        expected: "a D-Bus address string",
                    })?
                    .to_owned();
            }
            "hooks.on_message" => h.on_message = command(name, value)?,
            "hooks.on_key_change" => h.on_key_change = command(name, value)?,
            "hooks.on_link_state" => h.on_link_state = command(name, value)?,
            "hooks.timeout_secs" => h.timeout_secs = number(name, value, 1, 3600)?,
            "hooks.max_running" => h.max_running = number(name, value, 1, 64)?,
            "hooks.max_queued" => h.max_queued = number(name, value, 0, 10_000)?,
            other => match other.strip_prefix(ACCOUNT_PREFIX) {
                Some(account) if account_key(account) => {
                    n.accounts.insert(account.to_owned(), mode(name, value)?);
                }
                _ => return Err(SettingError::unknown(other)),
            },
        }
        Ok(())
    }

    /// Puts `name` back to its value in `base`.
    pub fn reset(&mut self, name: &str, base: &Settings) -> Result<(), SettingError> {
        if let Some(account) = name.strip_prefix(ACCOUNT_PREFIX) {
            match base.notify.accounts.get(account) {
                Some(m) => self.notify.accounts.insert(account.to_owned(), m.clone()),
                None => self.notify.accounts.remove(account),
            };
            return Ok(());
        }
        let value = base
            .value(name)
            .ok_or_else(|| SettingError::unknown(name))?;
        self.set(name, &value)
    }

    /// The value of `name`, if it is a setting.
    pub fn value(&self, name: &str) -> Option<toml::Value> {
        let n = &self.notify;
        let h = &self.hooks;
        let int = |v: u32| toml::Value::Integer(i64::from(v));
        Some(match name {
            "notify.enabled" => toml::Value::Boolean(n.enabled),
            "notify.mode" => toml::Value::String(n.mode.clone()),
            "notify.hide_body" => toml::Value::Boolean(n.hide_body),
            "notify.max_body" => int(n.max_body),
            "notify.coalesce_ms" => int(n.coalesce_ms),
            "notify.bus" => toml::Value::String(n.bus.clone()),
            "hooks.on_message" => list_value(&h.on_message),
            "hooks.on_key_change" => list_value(&h.on_key_change),
            "hooks.on_link_state" => list_value(&h.on_link_state),
            "hooks.timeout_secs" => int(h.timeout_secs),
            "hooks.max_running" => int(h.max_running),
            "hooks.max_queued" => int(h.max_queued),
            other => {
                toml::Value::String(n.accounts.get(other.strip_prefix(ACCOUNT_PREFIX)?)?.clone())
            }
        })
    }

    /// Every setting with its value, fixed ones first, then per-account modes.
    pub fn values(&self) -> Vec<(String, toml::Value)> {
        let mut out: Vec<(String, toml::Value)> = SETTINGS
            .iter()
            .filter_map(|(name, _)| Some(((*name).to_owned(), self.value(name)?)))
            .collect();
        for (account, m) in &self.notify.accounts {
            out.push((
                format!("{ACCOUNT_PREFIX}{account}"),
                toml::Value::String(m.clone()),
            ));
        }
        out
    }

    /// Every setting as shown: `file` is gochatd.toml's, `live` the names set through the API.
    pub fn shown(&self, file: &Settings, live: &HashMap<String, String>) -> Vec<Shown> {
        let defaults = Settings::default();
        self.values()
            .into_iter()
            .map(|(name, value)| {
                let source = if live.contains_key(&name) {
                    "api"
                } else if file.value(&name) != defaults.value(&name) {
                    "file"
                } else {
                    "default"
                };
                let help = SETTINGS
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map_or("on, off or mentions for this account", |(_, h)| h);
                Shown {
                    name,
                    value: value.to_string(),
                    source,
                    help,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_their_text() {
        let mut s = Settings::default();
        s.set("hooks.on_message", &parse_value(r#"["/bin/prog", "a b"]"#))
            .expect("a command");
        s.set("notify.mode", &parse_value("mentions"))
            .expect("a bare word");
        s.set("notify.accounts.home/alice", &parse_value("off"))
            .expect("an account's mode");
        let mut again = Settings::default();
        for (name, value) in s.values() {
            again
                .set(&name, &parse_value(&value.to_string()))
                .expect("its own text");
        }
        assert_eq!(again, s);
        assert_eq!(s.account_mode("home", "alice"), NotifyMode::Off);
        assert_eq!(s.account_mode("home", "bob"), NotifyMode::Mentions);
    }

    #[test]
    fn wrong_values_say_what_they_take() {
        let mut s = Settings::default();
        assert!(matches!(
            s.set("notify.mode", &parse_value("loud")),
            Err(SettingError::Invalid { .. })
        ));
        assert!(matches!(
            s.set("hooks.on_message", &parse_value("/bin/prog")),
            Err(SettingError::Invalid { .. })
        ));
        assert!(matches!(
            s.set("hooks.max_running", &parse_value("0")),
            Err(SettingError::Invalid { .. })
        ));
        assert!(matches!(
            s.set("notify.colour", &parse_value("1")),
            Err(SettingError::Unknown(_))
        ));
        assert_eq!(s, Settings::default(), "nothing changed");
    }

    #[test]
    fn hostile_values_are_typed_errors_not_stored() {
        let mut s = Settings::default();
        let invalid = |r: Result<(), SettingError>| matches!(r, Err(SettingError::Invalid { .. }));
        // exec would refuse them later, or a huge queue would grow without bound.
        assert!(invalid(
            s.set("hooks.on_message", &parse_value(r#"["/bin/a\u0000b"]"#))
        ));
        assert!(invalid(s.set(
            "hooks.on_message",
            &parse_value(r#"["/bin/x", "a\u0000"]"#)
        )));
        assert!(invalid(s.set(
            "hooks.on_message",
            &parse_value(r#"["/bin/\u001b[2Jx"]"#)
        )));
        let many = format!("[{}]", vec!["\"a\""; 65].join(","));
        assert!(invalid(s.set("hooks.on_message", &parse_value(&many))));
        assert!(invalid(s.set("hooks.max_running", &parse_value("100000"))));
        assert!(invalid(
            s.set("hooks.max_queued", &parse_value("4294967295"))
        ));
        assert!(invalid(s.set("hooks.timeout_secs", &parse_value("86400"))));
        assert!(invalid(s.set("notify.max_body", &parse_value("1000000"))));
        assert!(invalid(
            s.set("notify.coalesce_ms", &parse_value("4294967295"))
        ));
        assert!(invalid(
            s.set("notify.bus", &parse_value(r#""unix:path=/x\u0000""#))
        ));
        for account in [
            "home",
            "home/",
            "/alice",
            "home/Alice",
            "ho\u{1b}me/alice",
            "home/a.b",
        ] {
            assert!(
                matches!(
                    s.set(&format!("notify.accounts.{account}"), &parse_value("off")),
                    Err(SettingError::Unknown(_))
                ),
                "{account:?}"
            );
        }
        let long = format!("notify.{}", "x".repeat(10_000));
        match s.set(&long, &parse_value("1")) {
            Err(e @ SettingError::Unknown(_)) => assert!(e.to_string().len() < 200),
            other => panic!("{other:?}"),
        }
        assert_eq!(s, Settings::default(), "nothing changed");
        s.set("hooks.max_running", &parse_value("64"))
            .expect("the most");
        s.set("notify.accounts.home/alice", &parse_value("off"))
            .expect("a plain account");
    }
}
