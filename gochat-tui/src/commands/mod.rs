//! The `/commands` typed in the input. [`COMMANDS`] is the one table: each entry carries its
//! names, its usage lines and its handler, so the dispatcher ([`run`]), the help screen and
//! Tab completion all read the same list and cannot drift apart.
//!
//! The handlers live by subject: `accounts`, `servers`, `conversations`, `users`, `admin`,
//! `keys` and `session` (help, settings, quitting).

mod accounts;
mod admin;
mod conversations;
mod go_import;
mod housekeeping;
mod keys;
mod servers;
mod session;
mod users;

use crate::app::{AccountKey, App, Level};
use crate::msg::{Call, Effect};

/// What a handler gets: the words after the command name, and the whole line for commands
/// whose last argument is free text.
#[derive(Debug, Clone, Copy)]
pub struct Invocation<'a> {
    /// The words after the command name.
    pub args: &'a [&'a str],
    /// The whole line as typed, command name included.
    pub line: &'a str,
}

impl<'a> Invocation<'a> {
    /// The `i`-th argument.
    pub fn arg(&self, i: usize) -> Option<&'a str> {
        self.args.get(i).copied()
    }

    /// The text after the command name and the first `n` arguments, spacing kept.
    pub fn text_after(&self, n: usize) -> &'a str {
        rest(self.line, n + 1)
    }
}

/// A command's handler: checks what needs no daemon, changes the model, and returns the calls.
pub type Handler = fn(&mut App, &Invocation<'_>) -> Vec<Effect>;

/// One usage line of a command.
#[derive(Debug, Clone, Copy)]
pub struct Form {
    /// Arguments.
    pub usage: &'static str,
    /// What it does.
    pub help: &'static str,
}

/// A command: its names, its usage lines and its handler.
#[derive(Clone, Copy)]
pub struct Command {
    /// Its name, without the slash.
    pub name: &'static str,
    /// Other names.
    pub aliases: &'static [&'static str],
    /// Usage lines, as help lists them.
    pub forms: &'static [Form],
    /// What runs it.
    pub run: Handler,
}

impl Command {
    /// Whether `name` (without the slash) calls this command.
    pub fn answers_to(&self, name: &str) -> bool {
        self.name == name || self.aliases.contains(&name)
    }

    /// Its name and its aliases.
    pub fn names(&self) -> impl Iterator<Item = &'static str> {
        std::iter::once(self.name).chain(self.aliases.iter().copied())
    }
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Command")
            .field("name", &self.name)
            .field("aliases", &self.aliases)
            .field("forms", &self.forms)
            .finish_non_exhaustive()
    }
}

const fn form(usage: &'static str, help: &'static str) -> Form {
    Form { usage, help }
}

/// Every command, in the order help lists them.
pub const COMMANDS: &[Command] = &[
    Command {
        name: "help",
        aliases: &["h", "?"],
        forms: &[form("[COMMAND]", "every key and command (F1)")],
        run: session::help,
    },
    Command {
        name: "server",
        aliases: &[],
        forms: &[
            form(
                "add NAME HOST [PORT] [-tls] [-noverify] [-ca FILE] [-default]",
                "add a server profile",
            ),
            form(
                "list | remove NAME | default NAME",
                "list, remove, or pick the default profile",
            ),
            form(
                "trust NAME",
                "show the certificate NAME presents and pin it if you confirm",
            ),
            form(
                "set [NAME] host|port|tls|verify|ca VALUE",
                "change a profile (also /set Server.Address…)",
            ),
        ],
        run: servers::server,
    },
    Command {
        name: "servers",
        aliases: &[],
        forms: &[form("", "list server profiles")],
        run: servers::servers,
    },
    Command {
        name: "connect",
        aliases: &[],
        forms: &[form(
            "[SERVER]",
            "log in every account of the server (stays logged in)",
        )],
        run: accounts::connect,
    },
    Command {
        name: "disconnect",
        aliases: &[],
        forms: &[form("[SERVER]", "log out every account of the server")],
        run: accounts::disconnect,
    },
    Command {
        name: "register",
        aliases: &[],
        forms: &[form(
            "NAME",
            "create an account on the current server (asks for a passphrase)",
        )],
        run: accounts::register,
    },
    Command {
        name: "login",
        aliases: &[],
        forms: &[form(
            "[NAME]",
            "log in (asks for the passphrase if the key is locked)",
        )],
        run: accounts::login,
    },
    Command {
        name: "logout",
        aliases: &[],
        forms: &[form("[NAME]", "log out (stays offline until /login)")],
        run: accounts::logout,
    },
    Command {
        name: "deregister",
        aliases: &[],
        forms: &[form(
            "[NAME]",
            "delete the account on the server (asks to confirm)",
        )],
        run: accounts::deregister,
    },
    Command {
        name: "msg",
        aliases: &["query"],
        forms: &[form("USER [TEXT]", "open a conversation (and send TEXT)")],
        run: conversations::msg,
    },
    Command {
        name: "close",
        aliases: &[],
        forms: &[form("", "close this conversation (history is kept)")],
        run: conversations::close,
    },
    Command {
        name: "users",
        aliases: &[],
        forms: &[form(
            "[online|all] [-perms] | local [all|server]",
            "list users of the server, or local accounts",
        )],
        run: users::users,
    },
    Command {
        name: "request",
        aliases: &["req", "perms"],
        forms: &[form("USER", "fetch a user's key and permission level")],
        run: users::request,
    },
    Command {
        name: "accept",
        aliases: &[],
        forms: &[form("USER", "trust a user's new key after a key change")],
        run: users::accept,
    },
    Command {
        name: "subscribe",
        aliases: &["sub"],
        forms: &[form(
            "HOOK",
            "hooks: all new_login new_logout duplicated_session permissions_change",
        )],
        run: users::subscribe,
    },
    Command {
        name: "unsubscribe",
        aliases: &["unsub"],
        forms: &[form("HOOK", "stop a hook")],
        run: users::unsubscribe,
    },
    Command {
        name: "admin",
        aliases: &[],
        forms: &[
            form(
                "shutdown MINUTES | broadcast TEXT | motd TEXT",
                "server administration (admins and owners)",
            ),
            form(
                "kick USER | ban USER | setperms USER 0|1|2",
                "ban deregisters USER; levels: 0 user, 1 admin, 2 owner",
            ),
        ],
        run: admin::admin,
    },
    Command {
        name: "search",
        aliases: &[],
        forms: &[form("TEXT [-from USER]", "search your messages")],
        run: conversations::search,
    },
    Command {
        name: "key",
        aliases: &[],
        forms: &[
            form(
                "show | export [FILE] | import NAME FILE",
                "your key; import/export the Go client's PEM format",
            ),
            form(
                "unlock [NAME] | lock [NAME]",
                "type the passphrase / drop the key from memory",
            ),
        ],
        run: keys::key,
    },
    Command {
        name: "import",
        aliases: &[],
        forms: &[
            form("NAME FILE", "same as /key import"),
            form(
                "go-client PATH",
                "import the Go client's client.db: servers, accounts, contacts' keys, history",
            ),
        ],
        run: keys::import,
    },
    Command {
        name: "export",
        aliases: &[],
        forms: &[form("[FILE]", "same as /key export")],
        run: keys::export,
    },
    Command {
        name: "unlock",
        aliases: &[],
        forms: &[form("[NAME]", "same as /key unlock")],
        run: keys::unlock,
    },
    Command {
        name: "lock",
        aliases: &[],
        forms: &[form("[NAME]", "same as /key lock")],
        run: keys::lock,
    },
    Command {
        name: "buffers",
        aliases: &[],
        forms: &[form(
            "",
            "list conversations of this server, closed ones too",
        )],
        run: conversations::buffers,
    },
    Command {
        name: "clear",
        aliases: &[],
        forms: &[form("", "remove notices from this buffer")],
        run: conversations::clear,
    },
    Command {
        name: "status",
        aliases: &["version"],
        forms: &[form("", "versions, daemon and links")],
        run: session::status,
    },
    Command {
        name: "config",
        aliases: &[],
        forms: &[form("", "show the settings in force")],
        run: session::config,
    },
    Command {
        name: "set",
        aliases: &[],
        forms: &[
            form(
                "users|sidebar|bell|mouse on|off",
                "change a setting for this session",
            ),
            form(
                "Server.Address|Server.Port|Server.TLS VALUE",
                "change the current server profile",
            ),
            form(
                "[notify.…|hooks.… [VALUE]] | -reset NAME",
                "gochatd's notification and hook settings (none: list them)",
            ),
        ],
        run: session::set,
    },
    Command {
        name: "alias",
        aliases: &[],
        forms: &[form(
            "USER [NAME]",
            "show NAME for USER (no NAME: remove it)",
        )],
        run: housekeeping::alias,
    },
    Command {
        name: "mute",
        aliases: &[],
        forms: &[form(
            "[USER]",
            "no notification or hook for USER (still stored)",
        )],
        run: housekeeping::mute,
    },
    Command {
        name: "unmute",
        aliases: &[],
        forms: &[form("[USER]", "undo /mute")],
        run: housekeeping::unmute,
    },
    Command {
        name: "block",
        aliases: &[],
        forms: &[form("USER", "drop USER's messages on arrival (counted)")],
        run: housekeeping::block,
    },
    Command {
        name: "unblock",
        aliases: &[],
        forms: &[form("USER", "deliver USER's messages again")],
        run: housekeeping::unblock,
    },
    Command {
        name: "notify",
        aliases: &[],
        forms: &[form(
            "USER on|off|mentions|default",
            "desktop notifications for USER",
        )],
        run: housekeeping::notify,
    },
    Command {
        name: "delete",
        aliases: &[],
        forms: &[form("USER", "delete the conversation's local history")],
        run: housekeeping::delete,
    },
    Command {
        name: "recover",
        aliases: &[],
        forms: &[form(
            "",
            "(Go client) not needed: gochatd keeps accounts with their server",
        )],
        run: session::recover,
    },
    Command {
        name: "quit",
        aliases: &["exit", "q"],
        forms: &[form("", "leave (the daemon keeps running)")],
        run: session::quit,
    },
];

/// The command `name` (without the slash) calls, if any.
pub fn find(name: &str) -> Option<&'static Command> {
    COMMANDS.iter().find(|c| c.answers_to(name))
}

/// Every name and alias with its slash, in table order: what Tab completes.
pub fn completions() -> impl Iterator<Item = String> {
    COMMANDS
        .iter()
        .flat_map(Command::names)
        .map(|n| format!("/{n}"))
}

/// Runs a command line (starting with `/`).
pub fn run(app: &mut App, line: &str) -> Vec<Effect> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some((first, args)) = words.split_first() else {
        return Vec::new();
    };
    let name = first.trim_start_matches('/');
    match find(name) {
        Some(command) => (command.run)(app, &Invocation { args, line }),
        None => {
            app.notice_here(
                Level::Error,
                format!("unknown command /{name}: F1 or /help lists them"),
            );
            Vec::new()
        }
    }
}

/// The usage lines of the command `name`, one per form, each prefixed with `prefix`.
pub fn usage_lines(name: &str, prefix: &str) -> Option<String> {
    let command = find(name)?;
    let lines: Vec<String> = command
        .forms
        .iter()
        .map(|f| format!("{prefix}/{} {} — {}", command.name, f.usage, f.help))
        .collect();
    Some(lines.join("\n"))
}

/// The text after the first `n` words.
fn rest(line: &str, n: usize) -> &str {
    let mut s = line.trim_start();
    for _ in 0..n {
        let end = s.find(char::is_whitespace).unwrap_or(s.len());
        s = s[end..].trim_start();
    }
    s
}

/// Shows how to use the command `name` and does nothing else.
fn usage(app: &mut App, name: &str) -> Vec<Effect> {
    let text = usage_lines(name, "usage: ").unwrap_or_default();
    app.notice_here(Level::Warning, text);
    Vec::new()
}

fn need_daemon(app: &mut App) -> bool {
    if app.attached() {
        return true;
    }
    app.notice_here(
        Level::Error,
        "gochatd is not reachable yet; try again once it is back",
    );
    false
}

/// The account a command acts for: `name` on the current server, else the current account.
fn account_for(app: &mut App, name: Option<&str>) -> Option<AccountKey> {
    let server = app.current_server().map(|s| s.profile.name.clone());
    let found = match (name, &server) {
        (Some(user), Some(server)) => {
            let key = AccountKey {
                server: server.clone(),
                user: user.to_owned(),
            };
            app.account(&key).map(|a| a.key.clone()).or_else(|| {
                // A unique account of that name on another server.
                let all: Vec<AccountKey> = app
                    .servers
                    .iter()
                    .flat_map(|s| s.accounts.iter())
                    .filter(|a| a.key.user == user)
                    .map(|a| a.key.clone())
                    .collect();
                (all.len() == 1).then(|| all[0].clone())
            })
        }
        (Some(_), None) => None,
        (None, _) => app.current_account().map(|a| a.key.clone()),
    };
    if found.is_none() {
        let text = match (name, server) {
            (Some(user), Some(server)) => {
                format!(
                    "no account {user} on {server}: /register {user} to create it, or /key import {user} FILE"
                )
            }
            (_, None) if app.servers.is_empty() => {
                "no server yet: /server add NAME HOST [PORT] first".to_owned()
            }
            (_, None) => {
                "which server? select one in the list on the left (Ctrl-S) first".to_owned()
            }
            (None, Some(server)) => format!("no account on {server} yet: /register NAME"),
        };
        app.notice_here(Level::Error, text);
    }
    found
}

fn call(c: Call) -> Vec<Effect> {
    vec![Effect::Call(c)]
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Some(true),
        "off" | "false" | "no" | "0" => Some(false),
        _ => None,
    }
}

fn on_off(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn app() -> App {
        let config = crate::config::Config::default();
        App::new(&config, jiff::tz::TimeZone::UTC, (80, 24), 0)
    }

    fn said_unknown(app: &App) -> bool {
        app.system.entries.iter().any(|e| match e {
            crate::app::Entry::Notice(_, n) => n.text.starts_with("unknown command"),
            _ => false,
        })
    }

    #[test]
    fn rest_skips_words() {
        assert_eq!(rest("/msg bob hello  there", 2), "hello  there");
        assert_eq!(rest("/msg bob", 2), "");
        assert_eq!(rest("  /admin   broadcast hi all", 2), "hi all");
    }

    #[test]
    fn names_are_unique() {
        let mut seen = HashSet::new();
        for name in COMMANDS.iter().flat_map(Command::names) {
            assert!(seen.insert(name), "/{name} is in the table twice");
        }
    }

    /// Every name in the table runs its handler; the dispatcher knows no name outside it.
    #[test]
    fn the_dispatcher_accepts_exactly_the_table() {
        for name in COMMANDS.iter().flat_map(Command::names) {
            let mut app = app();
            let _ = run(&mut app, &format!("/{name}"));
            assert!(!said_unknown(&app), "/{name} is listed but not handled");
        }
        for name in ["nope", "hel", "quitt", "x", ""] {
            let mut app = app();
            let _ = run(&mut app, &format!("/{name}"));
            assert!(said_unknown(&app), "/{name} is handled but not listed");
        }
    }

    /// The short forms that once worked without being listed are in help and completion.
    #[test]
    fn short_forms_are_listed() {
        let completions: Vec<String> = completions().collect();
        for short in ["h", "?", "q"] {
            assert!(find(short).is_some(), "/{short}");
            assert!(completions.contains(&format!("/{short}")), "/{short}");
        }
        assert_eq!(find("?").map(|c| c.name), Some("help"));
        assert_eq!(find("q").map(|c| c.name), Some("quit"));
        let mut app = app();
        let _ = run(&mut app, "/q");
        assert!(app.should_quit);
    }

    #[test]
    fn every_form_has_usage_and_help() {
        for c in COMMANDS {
            assert!(!c.forms.is_empty(), "/{} has no usage line", c.name);
            for f in c.forms {
                assert!(!f.help.is_empty(), "/{} {} has no help", c.name, f.usage);
            }
        }
    }
}
