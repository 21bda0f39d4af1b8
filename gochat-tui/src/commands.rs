//! The `/commands` typed in the input: parsing, checks that need no daemon, and the calls
//! they make. The table [`COMMANDS`] also feeds the help screen and Tab completion.

use gochat_proto::ipc::{self, Hook, ServerProfile, admin_request};

use crate::app::{AccountKey, App, BufferKey, Confirm, Level, PassPurpose, Popup, permission_name};
use crate::msg::{Call, Effect};
use crate::update::{close_conversation, open_conversation};

/// A command as the help screen lists it.
#[derive(Debug, Clone, Copy)]
pub struct Command {
    /// Its name, without the slash.
    pub name: &'static str,
    /// Other names.
    pub aliases: &'static [&'static str],
    /// Arguments.
    pub usage: &'static str,
    /// What it does.
    pub help: &'static str,
}

/// Every command.
pub const COMMANDS: &[Command] = &[
    Command {
        name: "help",
        aliases: &[],
        usage: "[COMMAND]",
        help: "every key and command (F1)",
    },
    Command {
        name: "server",
        aliases: &[],
        usage: "add NAME HOST [PORT] [-tls] [-noverify] [-ca FILE] [-default]",
        help: "add a server profile",
    },
    Command {
        name: "server",
        aliases: &[],
        usage: "list | remove NAME | default NAME",
        help: "list, remove, or pick the default profile",
    },
    Command {
        name: "server",
        aliases: &[],
        usage: "set [NAME] host|port|tls|verify|ca VALUE",
        help: "change a profile (also /set Server.Address…)",
    },
    Command {
        name: "servers",
        aliases: &[],
        usage: "",
        help: "list server profiles",
    },
    Command {
        name: "connect",
        aliases: &[],
        usage: "[SERVER]",
        help: "log in every account of the server (stays logged in)",
    },
    Command {
        name: "disconnect",
        aliases: &[],
        usage: "[SERVER]",
        help: "log out every account of the server",
    },
    Command {
        name: "register",
        aliases: &[],
        usage: "NAME",
        help: "create an account on the current server (asks for a passphrase)",
    },
    Command {
        name: "login",
        aliases: &[],
        usage: "[NAME]",
        help: "log in (asks for the passphrase if the key is locked)",
    },
    Command {
        name: "logout",
        aliases: &[],
        usage: "[NAME]",
        help: "log out (stays offline until /login)",
    },
    Command {
        name: "deregister",
        aliases: &[],
        usage: "[NAME]",
        help: "delete the account on the server (asks to confirm)",
    },
    Command {
        name: "msg",
        aliases: &["query"],
        usage: "USER [TEXT]",
        help: "open a conversation (and send TEXT)",
    },
    Command {
        name: "close",
        aliases: &[],
        usage: "",
        help: "close this conversation (history is kept)",
    },
    Command {
        name: "users",
        aliases: &[],
        usage: "[online|all] [-perms] | local [all|server]",
        help: "list users of the server, or local accounts",
    },
    Command {
        name: "request",
        aliases: &["req", "perms"],
        usage: "USER",
        help: "fetch a user's key and permission level",
    },
    Command {
        name: "accept",
        aliases: &[],
        usage: "USER",
        help: "trust a user's new key after a key change",
    },
    Command {
        name: "subscribe",
        aliases: &["sub"],
        usage: "HOOK",
        help: "hooks: all new_login new_logout duplicated_session permissions_change",
    },
    Command {
        name: "unsubscribe",
        aliases: &["unsub"],
        usage: "HOOK",
        help: "stop a hook",
    },
    Command {
        name: "admin",
        aliases: &[],
        usage: "shutdown MINUTES | broadcast TEXT | motd TEXT",
        help: "server administration (admins and owners)",
    },
    Command {
        name: "admin",
        aliases: &[],
        usage: "kick USER | ban USER | setperms USER 0|1|2",
        help: "ban deregisters USER; levels: 0 user, 1 admin, 2 owner",
    },
    Command {
        name: "search",
        aliases: &[],
        usage: "TEXT [-from USER]",
        help: "search your messages",
    },
    Command {
        name: "key",
        aliases: &[],
        usage: "show | export [FILE] | import NAME FILE",
        help: "your key; import/export the Go client's PEM format",
    },
    Command {
        name: "key",
        aliases: &[],
        usage: "unlock [NAME] | lock [NAME]",
        help: "type the passphrase / drop the key from memory",
    },
    Command {
        name: "import",
        aliases: &[],
        usage: "NAME FILE",
        help: "same as /key import",
    },
    Command {
        name: "export",
        aliases: &[],
        usage: "[FILE]",
        help: "same as /key export",
    },
    Command {
        name: "unlock",
        aliases: &[],
        usage: "[NAME]",
        help: "same as /key unlock",
    },
    Command {
        name: "lock",
        aliases: &[],
        usage: "[NAME]",
        help: "same as /key lock",
    },
    Command {
        name: "buffers",
        aliases: &[],
        usage: "",
        help: "list conversations of this server, closed ones too",
    },
    Command {
        name: "clear",
        aliases: &[],
        usage: "",
        help: "remove notices from this buffer",
    },
    Command {
        name: "status",
        aliases: &["version"],
        usage: "",
        help: "versions, daemon and links",
    },
    Command {
        name: "config",
        aliases: &[],
        usage: "",
        help: "show the settings in force",
    },
    Command {
        name: "set",
        aliases: &[],
        usage: "users|sidebar|bell|mouse on|off",
        help: "change a setting for this session",
    },
    Command {
        name: "set",
        aliases: &[],
        usage: "Server.Address|Server.Port|Server.TLS VALUE",
        help: "change the current server profile",
    },
    Command {
        name: "recover",
        aliases: &[],
        usage: "",
        help: "(Go client) not needed: gochatd keeps accounts with their server",
    },
    Command {
        name: "quit",
        aliases: &["exit"],
        usage: "",
        help: "leave (the daemon keeps running)",
    },
];

fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
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

fn usage(app: &mut App, name: &str) -> Vec<Effect> {
    let lines: Vec<String> = COMMANDS
        .iter()
        .filter(|c| c.name == name || c.aliases.contains(&name))
        .map(|c| format!("usage: /{} {} — {}", c.name, c.usage, c.help))
        .collect();
    app.notice_here(Level::Warning, lines.join("\n"));
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

/// Runs a command line (starting with `/`).
pub fn run(app: &mut App, line: &str) -> Vec<Effect> {
    let w = words(line);
    let name = w[0].trim_start_matches('/').to_owned();
    let args: Vec<&str> = w[1..].to_vec();
    let arg = |i: usize| args.get(i).copied();
    match name.as_str() {
        "help" | "h" | "?" => {
            if let Some(topic) = arg(0) {
                let topic = topic.trim_start_matches('/');
                if COMMANDS
                    .iter()
                    .any(|c| c.name == topic || c.aliases.contains(&topic))
                {
                    let lines: Vec<String> = COMMANDS
                        .iter()
                        .filter(|c| c.name == topic || c.aliases.contains(&topic))
                        .map(|c| format!("/{} {} — {}", c.name, c.usage, c.help))
                        .collect();
                    app.notice_here(Level::Info, lines.join("\n"));
                    return Vec::new();
                }
            }
            app.popup = Some(Popup::Help { scroll: 0 });
            Vec::new()
        }
        "quit" | "exit" | "q" => {
            app.should_quit = true;
            Vec::new()
        }
        "server" => server(app, &args),
        "servers" => server(app, &["list"]),
        "connect" | "disconnect" => {
            if !need_daemon(app) {
                return Vec::new();
            }
            let server = match arg(0) {
                Some(s) => match app.server(s) {
                    Some(s) => s.profile.name.clone(),
                    None => {
                        app.notice_here(
                            Level::Error,
                            format!("no server profile called {s} (/servers lists them)"),
                        );
                        return Vec::new();
                    }
                },
                None => match app.current_server() {
                    Some(s) => s.profile.name.clone(),
                    None => {
                        app.notice_here(Level::Error, "which server? /connect SERVER");
                        return Vec::new();
                    }
                },
            };
            let accounts: Vec<(AccountKey, bool)> = app
                .server(&server)
                .map(|s| {
                    s.accounts
                        .iter()
                        .map(|a| (a.key.clone(), a.info.locked))
                        .collect()
                })
                .unwrap_or_default();
            if accounts.is_empty() {
                app.notice_here(
                    Level::Error,
                    format!("no account on {server}: /register NAME first"),
                );
                return Vec::new();
            }
            let mut effects = Vec::new();
            for (account, locked) in accounts {
                if name == "connect" {
                    effects.extend(login(app, account, locked));
                } else {
                    effects.push(Effect::Call(Call::Logout(account)));
                }
            }
            effects
        }
        "register" => {
            let Some(user) = arg(0) else {
                return usage(app, "register");
            };
            if !need_daemon(app) {
                return Vec::new();
            }
            let Some(server) = app.current_server().map(|s| s.profile.name.clone()) else {
                let text = if app.servers.is_empty() {
                    "add a server first: /server add NAME HOST [PORT]"
                } else {
                    "which server? select it on the left (Ctrl-S) first"
                };
                app.notice_here(Level::Error, text);
                return Vec::new();
            };
            let account = AccountKey {
                server,
                user: user.to_owned(),
            };
            if app.account(&account).is_some() {
                app.notice_here(
                    Level::Error,
                    format!("{} exists already: /login {user}", account.label()),
                );
                return Vec::new();
            }
            app.popup = Some(Popup::Passphrase {
                purpose: PassPurpose::Register(account),
                field: Default::default(),
                first: None,
                error: None,
            });
            Vec::new()
        }
        "login" => {
            if !need_daemon(app) {
                return Vec::new();
            }
            let Some(account) = account_for(app, arg(0)) else {
                return Vec::new();
            };
            let locked = app.account(&account).is_some_and(|a| a.info.locked);
            if let Some(server) = app.server_mut(&account.server)
                && let Some(i) = server.accounts.iter().position(|a| a.key == account)
            {
                server.current = i;
            }
            login(app, account, locked)
        }
        "logout" => {
            if !need_daemon(app) {
                return Vec::new();
            }
            let Some(account) = account_for(app, arg(0)) else {
                return Vec::new();
            };
            call(Call::Logout(account))
        }
        "deregister" => {
            if !need_daemon(app) {
                return Vec::new();
            }
            let Some(account) = account_for(app, arg(0)) else {
                return Vec::new();
            };
            app.popup = Some(Popup::Confirm {
                text: format!(
                    "Delete the account {} on the server? Nobody can log in as {} with this key again, and the \
                     local copy of its messages is removed.",
                    account.label(),
                    account.user
                ),
                what: Confirm::Deregister(account),
            });
            Vec::new()
        }
        "msg" | "query" => {
            let Some(peer) = arg(0) else {
                return usage(app, "msg");
            };
            let Some(account) = account_for(app, None) else {
                return Vec::new();
            };
            if peer == account.user {
                app.notice_here(Level::Error, "you cannot message yourself");
                return Vec::new();
            }
            let mut effects = open_conversation(app, &account, peer, true);
            let text = rest(line, 2);
            if !text.is_empty() && need_daemon(app) {
                effects.push(Effect::Call(Call::Send {
                    account,
                    to: peer.to_owned(),
                    text: text.to_owned(),
                }));
            }
            effects
        }
        "close" => close_conversation(app, None),
        "users" => users(app, &args),
        "request" | "req" | "perms" => {
            let Some(user) = arg(0) else {
                return usage(app, "request");
            };
            if !need_daemon(app) {
                return Vec::new();
            }
            let Some(account) = account_for(app, None) else {
                return Vec::new();
            };
            call(Call::RequestKey {
                account,
                user: user.to_owned(),
                print: true,
            })
        }
        "accept" => {
            let Some(user) = arg(0) else {
                return usage(app, "accept");
            };
            if !need_daemon(app) {
                return Vec::new();
            }
            let Some(account) = account_for(app, None) else {
                return Vec::new();
            };
            call(Call::AcceptKey {
                account,
                user: user.to_owned(),
            })
        }
        "subscribe" | "sub" | "unsubscribe" | "unsub" => {
            let subscribe = name.starts_with("sub");
            let Some(hook) = arg(0).and_then(hook_by_name) else {
                return usage(
                    app,
                    if subscribe {
                        "subscribe"
                    } else {
                        "unsubscribe"
                    },
                );
            };
            if !need_daemon(app) {
                return Vec::new();
            }
            let Some(account) = account_for(app, None) else {
                return Vec::new();
            };
            call(Call::Hook {
                account,
                hook: hook as i32,
                subscribe,
            })
        }
        "admin" => admin(app, &args, line),
        "search" => {
            let mut text = rest(line, 1).to_owned();
            let mut from = String::new();
            if let Some(pos) = text.find("-from ") {
                let after = text[pos + 6..].trim().to_owned();
                let who = after.split_whitespace().next().unwrap_or("").to_owned();
                let remaining = after[who.len()..].trim().to_owned();
                text = format!("{} {}", text[..pos].trim(), remaining)
                    .trim()
                    .to_owned();
                from = who;
            }
            if text.is_empty() {
                return usage(app, "search");
            }
            if !need_daemon(app) {
                return Vec::new();
            }
            let Some(account) = account_for(app, None) else {
                return Vec::new();
            };
            call(Call::Search {
                account,
                query: text,
                from,
            })
        }
        "key" => key(app, &args),
        "import" => {
            let mut a = vec!["import"];
            a.extend(&args);
            key(app, &a)
        }
        "export" => {
            let mut a = vec!["export"];
            a.extend(&args);
            key(app, &a)
        }
        "unlock" | "lock" => {
            let mut a = vec![name.as_str()];
            a.extend(&args);
            key(app, &a)
        }
        "buffers" => {
            let Some(account) = account_for(app, None) else {
                return Vec::new();
            };
            let Some(acc) = app.account(&account) else {
                return Vec::new();
            };
            let mut convs: Vec<_> = acc.conversations.values().collect();
            convs.sort_by(|a, b| a.peer.cmp(&b.peer));
            let lines: Vec<String> = convs
                .iter()
                .map(|c| {
                    format!(
                        "  {}{}{}",
                        c.peer,
                        if c.unread > 0 {
                            format!(" ({} unread)", c.unread)
                        } else {
                            String::new()
                        },
                        if c.hidden { " [closed]" } else { "" }
                    )
                })
                .collect();
            let text = format!(
                "{} conversations of {}:\n{}",
                convs.len(),
                account.label(),
                lines.join("\n")
            );
            app.notice_here(Level::Info, text);
            Vec::new()
        }
        "clear" => {
            let key = app.active.clone();
            if let Some(b) = app.buffer_mut(&key) {
                b.clear_notices();
            }
            Vec::new()
        }
        "status" | "version" => {
            if !need_daemon(app) {
                app.notice_here(
                    Level::Info,
                    format!("gochat-tui {}", env!("CARGO_PKG_VERSION")),
                );
                return Vec::new();
            }
            call(Call::Status)
        }
        "config" => {
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
        "set" => set(app, &args),
        "recover" => {
            app.notice_here(
                Level::Info,
                "gochatd never leaves accounts behind when a server profile goes away (a profile with \
                 accounts cannot be removed), so there is nothing to recover. To move a Go client's key \
                 here: /key import NAME FILE.",
            );
            Vec::new()
        }
        _ => {
            app.notice_here(
                Level::Error,
                format!("unknown command /{name}: F1 or /help lists them"),
            );
            Vec::new()
        }
    }
}

fn on_off(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

fn login(app: &mut App, account: AccountKey, locked: bool) -> Vec<Effect> {
    let protected = app
        .account(&account)
        .is_some_and(|a| a.info.passphrase_protected);
    if locked && protected {
        let popup = Popup::Passphrase {
            purpose: PassPurpose::Unlock {
                account,
                login: true,
            },
            field: Default::default(),
            first: None,
            error: None,
        };
        // `/connect` may ask for several accounts: one dialog after the other.
        if app.popup.is_some() {
            app.popup_queue.push_back(popup);
        } else {
            app.popup = Some(popup);
        }
        return Vec::new();
    }
    if locked {
        // A key stored without a passphrase that was locked by hand: no question to ask.
        return call(Call::Unlock {
            account,
            passphrase: Default::default(),
            login: true,
        });
    }
    app.notice_here(Level::Info, format!("logging in {}…", account.label()));
    call(Call::Login(account))
}

fn hook_by_name(name: &str) -> Option<Hook> {
    Some(match name.to_ascii_lowercase().as_str() {
        "all" => Hook::All,
        "new_login" | "newlogin" | "login" => Hook::NewLogin,
        "new_logout" | "newlogout" | "logout" => Hook::NewLogout,
        "duplicated_session" | "duplicate_session" | "dupsess" | "dup_session" => {
            Hook::DuplicateSession
        }
        "permissions_change" | "permissions_changed" | "permschg" | "perms_change" => {
            Hook::PermissionsChanged
        }
        _ => return None,
    })
}

fn server(app: &mut App, args: &[&str]) -> Vec<Effect> {
    let sub = args.first().copied().unwrap_or("list");
    match sub {
        "list" | "ls" => {
            if app.servers.is_empty() {
                app.notice_here(
                    Level::Info,
                    "no server profiles: /server add NAME HOST [PORT]",
                );
                return Vec::new();
            }
            let lines: Vec<String> = app
                .servers
                .iter()
                .map(|s| {
                    let p = &s.profile;
                    let accounts: Vec<String> =
                        s.accounts.iter().map(|a| a.key.user.clone()).collect();
                    format!(
                        "{}: {}:{}{}{}{}, accounts: {}",
                        p.name,
                        p.host,
                        p.port,
                        if p.is_default { " (default)" } else { "" },
                        if p.tls { ", TLS" } else { "" },
                        if p.tls && p.skip_verify {
                            " (not verified)"
                        } else {
                            ""
                        },
                        if accounts.is_empty() {
                            "none".to_owned()
                        } else {
                            accounts.join(", ")
                        }
                    )
                })
                .collect();
            app.notice_here(
                Level::Info,
                format!("server profiles:\n{}", lines.join("\n")),
            );
            Vec::new()
        }
        "add" => {
            let mut positional = Vec::new();
            let mut tls = false;
            let mut verify = true;
            let mut ca = String::new();
            let mut default = false;
            let mut i = 1;
            while i < args.len() {
                match args[i].trim_start_matches('-') {
                    a if !args[i].starts_with('-') => positional.push(a.to_owned()),
                    "tls" => tls = true,
                    "noverify" | "no-verify" | "insecure" => verify = false,
                    "default" => default = true,
                    "ca" | "ca-file" => {
                        i += 1;
                        ca = args.get(i).copied().unwrap_or_default().to_owned();
                    }
                    other => {
                        app.notice_here(Level::Error, format!("unknown option -{other}"));
                        return usage(app, "server");
                    }
                }
                i += 1;
            }
            let (name, host, port) = match positional.as_slice() {
                [name, host] => match host.rsplit_once(':') {
                    Some((h, p)) if p.parse::<u16>().is_ok() => {
                        (name.clone(), h.to_owned(), p.to_owned())
                    }
                    _ => (name.clone(), host.clone(), String::new()),
                },
                [name, host, port] => (name.clone(), host.clone(), port.clone()),
                _ => return usage(app, "server"),
            };
            let port = if port.is_empty() {
                0
            } else {
                match port.parse::<u16>() {
                    Ok(p) if p > 0 => u32::from(p),
                    _ => {
                        app.notice_here(Level::Error, format!("{port} is not a port (1-65535)"));
                        return Vec::new();
                    }
                }
            };
            if !need_daemon(app) {
                return Vec::new();
            }
            app.pending_open = Some(BufferKey::Server(name.clone()));
            call(Call::AddServer(ServerProfile {
                name,
                host,
                port,
                tls,
                skip_verify: !verify,
                ca_file: ca,
                is_default: default,
            }))
        }
        "remove" | "rm" | "delete" => {
            let Some(name) = args.get(1) else {
                return usage(app, "server");
            };
            if app.server(name).is_none() {
                app.notice_here(Level::Error, format!("no server profile called {name}"));
                return Vec::new();
            }
            if !need_daemon(app) {
                return Vec::new();
            }
            app.popup = Some(Popup::Confirm {
                what: Confirm::RemoveServer((*name).to_owned()),
                text: format!(
                    "Remove the server profile {name}? (Its accounts must be deregistered first.)"
                ),
            });
            Vec::new()
        }
        "default" => {
            let Some(name) = args.get(1) else {
                return usage(app, "server");
            };
            let Some(mut profile) = app.server(name).map(|s| s.profile.clone()) else {
                app.notice_here(Level::Error, format!("no server profile called {name}"));
                return Vec::new();
            };
            if !need_daemon(app) {
                return Vec::new();
            }
            profile.is_default = true;
            call(Call::UpdateServer(profile))
        }
        "set" => {
            // /server set [NAME] FIELD VALUE
            let (name, field, value) = match args.len() {
                3 => (None, args[1], args[2]),
                n if n >= 4 => (Some(args[1]), args[2], args[3]),
                _ => return usage(app, "server"),
            };
            set_server_field(app, name, field, value)
        }
        _ => usage(app, "server"),
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Some(true),
        "off" | "false" | "no" | "0" => Some(false),
        _ => None,
    }
}

fn set_server_field(app: &mut App, name: Option<&str>, field: &str, value: &str) -> Vec<Effect> {
    let profile = match name {
        Some(n) => app.server(n).map(|s| s.profile.clone()),
        None => app.current_server().map(|s| s.profile.clone()),
    };
    let Some(mut profile) = profile else {
        app.notice_here(Level::Error, "which server? /server set NAME FIELD VALUE");
        return Vec::new();
    };
    let field = field.to_ascii_lowercase();
    let field = field.trim_start_matches("server.");
    let bad = |app: &mut App| {
        app.notice_here(
            Level::Error,
            format!("{value:?} is not a valid value for {field}"),
        );
        Vec::new()
    };
    match field {
        "host" | "address" => profile.host = value.to_owned(),
        "port" => match value.parse::<u16>() {
            Ok(p) if p > 0 => profile.port = u32::from(p),
            _ => return bad(app),
        },
        "tls" => match parse_bool(value) {
            Some(b) => profile.tls = b,
            None => return bad(app),
        },
        "verify" => match parse_bool(value) {
            Some(b) => profile.skip_verify = !b,
            None => return bad(app),
        },
        "ca" | "ca_file" => profile.ca_file = value.to_owned(),
        "default" => match parse_bool(value) {
            Some(b) => profile.is_default = b,
            None => return bad(app),
        },
        _ => {
            app.notice_here(
                Level::Error,
                format!("unknown server field {field}: host, port, tls, verify, ca, default"),
            );
            return Vec::new();
        }
    }
    if !need_daemon(app) {
        return Vec::new();
    }
    call(Call::UpdateServer(profile))
}

fn set(app: &mut App, args: &[&str]) -> Vec<Effect> {
    let (Some(option), Some(value)) = (args.first(), args.get(1)) else {
        return usage(app, "set");
    };
    if option.to_ascii_lowercase().starts_with("server.") {
        return set_server_field(app, None, option, value);
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

fn users(app: &mut App, args: &[&str]) -> Vec<Effect> {
    let mut online_only = true;
    let mut perms = false;
    let mut local = false;
    let mut local_all = false;
    for a in args {
        match a.trim_start_matches('-') {
            "online" => online_only = true,
            "all" => {
                online_only = false;
                local_all = true;
            }
            "perms" | "p" => perms = true,
            "remote" => local = false,
            "local" => local = true,
            "server" => local_all = false,
            "requested" | "contacts" => {
                app.notice_here(
                    Level::Info,
                    "contacts are kept by gochatd: /request USER shows one",
                );
                return Vec::new();
            }
            other => {
                app.notice_here(Level::Error, format!("unknown option {other}"));
                return usage(app, "users");
            }
        }
    }
    if local {
        let server = app.current_server().map(|s| s.profile.name.clone());
        let lines: Vec<String> = app
            .servers
            .iter()
            .filter(|s| local_all || Some(&s.profile.name) == server.as_ref())
            .flat_map(|s| s.accounts.iter())
            .map(|a| {
                format!(
                    "  {} ({}, {}{})",
                    a.key.label(),
                    crate::app::link_state_name(a.state()),
                    permission_name(a.info.permission),
                    if a.info.locked { ", locked" } else { "" }
                )
            })
            .collect();
        app.notice_here(
            Level::Info,
            format!("local accounts:\n{}", lines.join("\n")),
        );
        return Vec::new();
    }
    if !need_daemon(app) {
        return Vec::new();
    }
    let Some(account) = account_for(app, None) else {
        return Vec::new();
    };
    call(Call::ListUsers {
        account,
        online_only,
        perms: perms || online_only,
        print: true,
    })
}

fn admin(app: &mut App, args: &[&str], line: &str) -> Vec<Effect> {
    let Some(op) = args.first() else {
        return usage(app, "admin");
    };
    let arg = args.get(1).copied();
    let text = rest(line, 2).to_owned();
    let op = match op.to_ascii_lowercase().as_str() {
        "shutdown" | "shtdwn" => {
            let Some(minutes) = arg.and_then(|m| m.parse::<i64>().ok()).filter(|m| *m >= 0) else {
                return usage(app, "admin");
            };
            admin_request::Op::ShutdownAt(app.now_ms / 1000 + minutes * 60)
        }
        "broadcast" | "brdcast" if !text.is_empty() => admin_request::Op::Broadcast(text),
        "motd" => admin_request::Op::Motd(text),
        "kick" if arg.is_some() => admin_request::Op::Kick(arg.unwrap_or_default().to_owned()),
        "ban" | "deregister" | "dereg" if arg.is_some() => {
            admin_request::Op::Deregister(arg.unwrap_or_default().to_owned())
        }
        "setperms" | "chperms" | "perms" => {
            let (Some(user), Some(level)) = (arg, args.get(2).and_then(|l| l.parse::<u32>().ok()))
            else {
                return usage(app, "admin");
            };
            if level > 2 {
                app.notice_here(
                    Level::Error,
                    "permission levels are 0 (user), 1 (admin) and 2 (owner)",
                );
                return Vec::new();
            }
            admin_request::Op::SetPermission(ipc::SetPermission {
                user: user.to_owned(),
                level,
            })
        }
        _ => return usage(app, "admin"),
    };
    if !need_daemon(app) {
        return Vec::new();
    }
    let Some(account) = account_for(app, None) else {
        return Vec::new();
    };
    call(Call::Admin { account, op })
}

fn key(app: &mut App, args: &[&str]) -> Vec<Effect> {
    let sub = args.first().copied().unwrap_or("show");
    if !need_daemon(app) {
        return Vec::new();
    }
    match sub {
        "show" => {
            let Some(account) = account_for(app, args.get(1).copied()) else {
                return Vec::new();
            };
            call(Call::ShowKey(account))
        }
        "export" => {
            let Some(account) = account_for(app, None) else {
                return Vec::new();
            };
            let path = args
                .get(1)
                .map_or_else(|| format!("{}.priv", account.user), |p| (*p).to_owned());
            call(Call::ExportKey { account, path })
        }
        "import" => {
            let (Some(user), Some(path)) = (args.get(1), args.get(2)) else {
                return usage(app, "import");
            };
            let Some(server) = app.current_server().map(|s| s.profile.name.clone()) else {
                app.notice_here(
                    Level::Error,
                    "select the server of the account first (Ctrl-S)",
                );
                return Vec::new();
            };
            app.popup = Some(Popup::Passphrase {
                purpose: PassPurpose::Import {
                    account: AccountKey {
                        server,
                        user: (*user).to_owned(),
                    },
                    path: (*path).to_owned(),
                },
                field: Default::default(),
                first: None,
                error: None,
            });
            Vec::new()
        }
        "unlock" => {
            let Some(account) = account_for(app, args.get(1).copied()) else {
                return Vec::new();
            };
            app.popup = Some(Popup::Passphrase {
                purpose: PassPurpose::Unlock {
                    account,
                    login: false,
                },
                field: Default::default(),
                first: None,
                error: None,
            });
            Vec::new()
        }
        "lock" => {
            let Some(account) = account_for(app, args.get(1).copied()) else {
                return Vec::new();
            };
            call(Call::Lock(account))
        }
        _ => usage(app, "key"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_skips_words() {
        assert_eq!(rest("/msg bob hello  there", 2), "hello  there");
        assert_eq!(rest("/msg bob", 2), "");
        assert_eq!(rest("  /admin   broadcast hi all", 2), "hi all");
    }

    #[test]
    fn hooks() {
        assert_eq!(hook_by_name("all"), Some(Hook::All));
        assert_eq!(
            hook_by_name("duplicated_session"),
            Some(Hook::DuplicateSession)
        );
        assert_eq!(hook_by_name("nope"), None);
    }

    #[test]
    fn every_command_is_handled() {
        let config = crate::config::Config::default();
        for c in COMMANDS {
            let mut app = App::new(&config, jiff::tz::TimeZone::UTC, (80, 24), 0);
            let _ = run(&mut app, &format!("/{}", c.name));
            let unknown = app.system.entries.iter().any(|e| match e {
                crate::app::Entry::Notice(_, n) => n.text.starts_with("unknown command"),
                _ => false,
            });
            assert!(!unknown, "/{} is listed but not handled", c.name);
        }
    }
}
