//! Server profiles: `/server`, `/servers`, and the `Server.*` fields `/set` also changes.

use gochat_proto::ipc::ServerProfile;

use super::{Invocation, call, need_daemon, parse_bool, usage};
use crate::app::{App, BufferKey, Confirm, Level, Popup};
use crate::msg::{Call, Effect};

/// `/servers`: the same as `/server list`.
pub(super) fn servers(app: &mut App, _: &Invocation<'_>) -> Vec<Effect> {
    list(app)
}

/// `/server add|list|remove|default|set …`.
pub(super) fn server(app: &mut App, inv: &Invocation<'_>) -> Vec<Effect> {
    let args = inv.args;
    let sub = args.first().copied().unwrap_or("list");
    match sub {
        "list" | "ls" => list(app),
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
            call(Call::AddServer(Box::new(ServerProfile {
                name,
                host,
                port,
                tls,
                skip_verify: !verify,
                ca_file: ca,
                is_default: default,
                ..Default::default()
            })))
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
        "trust" => {
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
            call(Call::ProbeCertificate((*name).to_owned()))
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
            call(Call::UpdateServer(Box::new(profile)))
        }
        "set" => {
            // /server set [NAME] FIELD VALUE
            let (name, field, value) = match args.len() {
                3 => (None, args[1], args[2]),
                n if n >= 4 => (Some(args[1]), args[2], args[3]),
                _ => return usage(app, "server"),
            };
            set_field(app, name, field, value)
        }
        _ => usage(app, "server"),
    }
}

fn list(app: &mut App) -> Vec<Effect> {
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
            let accounts: Vec<String> = s.accounts.iter().map(|a| a.key.user.clone()).collect();
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

/// Changes one field of the profile `name` (the current one by default).
pub(super) fn set_field(
    app: &mut App,
    name: Option<&str>,
    field: &str,
    value: &str,
) -> Vec<Effect> {
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
    call(Call::UpdateServer(Box::new(profile)))
}
