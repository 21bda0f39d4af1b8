//! The daemon operations, one module each: the module builds its call, makes the RPC (on the
//! daemon task, through [`execute`]) and reduces the reply into the model (in `update`,
//! through [`reduce`]). Adding an operation means a [`Call`] and a [`Reply`] variant, one
//! module here and one arm in each of the two dispatchers below.

mod accounts;
pub mod certificates;
mod contacts;
mod go_import;
mod history;
mod hooks;
mod keys;
mod prefs;
pub mod reload;
mod search;
mod send;
mod servers;
mod status;
mod users;

use gochat_client::errors::DaemonError;
use gochat_proto::ipc::{self, AccountRef, DaemonClient};

use crate::app::{AccountKey, App, BufferKey, Level};
use crate::msg::{Call, Effect, Reply};

/// Runs one call against the daemon; `None` for calls with nothing to report.
pub async fn execute(mut c: DaemonClient, call: Call) -> Option<Reply> {
    let what = describe(&call);
    let done = |account: Option<AccountKey>, reload: bool, quiet: bool, result| Reply::Done {
        what: what.clone(),
        account,
        reload,
        quiet,
        result,
    };
    let c = &mut c;
    Some(match call {
        Call::Reload => reload::run(c).await,
        Call::ProbeCertificate(server) => certificates::probe(c, server).await,
        Call::TrustServer { server, sha256 } => done(
            None,
            true,
            false,
            certificates::trust(c, server, sha256).await,
        ),
        Call::Send { account, to, text } => send::run(c, account, to, text).await,
        Call::History {
            account,
            peer,
            before,
            limit,
        } => history::page(c, account, peer, before, limit).await,
        Call::MarkRead {
            account,
            peer,
            up_to,
        } => {
            let result = history::mark_read(c, &account, peer, up_to).await;
            done(Some(account), false, true, result)
        }
        Call::ListUsers {
            account,
            online_only,
            perms,
            print,
        } => users::run(c, account, online_only, perms, print).await,
        Call::RequestKey {
            account,
            user,
            print,
        } => contacts::request(c, account, user, print).await,
        Call::AcceptKey { account, user } => contacts::accept(c, account, user).await,
        Call::Login(account) => accounts::login(c, account).await,
        Call::Logout(account) => accounts::logout(c, account).await,
        Call::Unlock {
            account,
            passphrase,
            login,
        } => accounts::unlock(c, account, &passphrase, login).await,
        Call::Lock(account) => accounts::lock(c, account).await,
        Call::Register {
            account,
            passphrase,
        } => accounts::register(c, account, &passphrase).await,
        Call::Deregister(account) => {
            let result = accounts::deregister(c, &account).await;
            done(Some(account), true, false, result)
        }
        Call::AddServer(profile) => done(None, true, false, servers::add(c, *profile).await),
        Call::UpdateServer(profile) => done(None, true, false, servers::update(c, *profile).await),
        Call::RemoveServer(name) => done(None, true, false, servers::remove(c, name).await),
        Call::Hook {
            account,
            hook,
            subscribe,
        } => {
            let result = hooks::hook(c, &account, hook, subscribe).await;
            done(Some(account), false, false, result)
        }
        Call::Admin { account, op } => {
            let result = hooks::admin(c, &account, op).await;
            done(Some(account), false, false, result)
        }
        Call::Search {
            account,
            query,
            from,
        } => search::run(c, account, query, from).await,
        Call::ShowKey(account) => keys::show(c, account).await,
        Call::ExportKey { account, path } => keys::export(c, account, path).await,
        Call::ImportKey {
            account,
            path,
            passphrase,
        } => keys::import(c, account, path, &passphrase).await,
        Call::ImportGoClient {
            path,
            go_password,
            passphrase,
        } => go_import::run(c, path, &go_password, &passphrase).await,
        Call::Status => status::run(c).await,
        // The daemon task keeps the focus stream itself.
        Call::Focus(_) => return None,
        Call::ContactPrefs(request) => {
            let account = request.account.as_ref().map(AccountKey::from_ref);
            done(account, false, false, prefs::contact(c, *request).await)
        }
        Call::DeleteConversation { account, peer } => {
            let result = prefs::delete(c, &account, peer).await;
            done(Some(account), false, true, result)
        }
        Call::Settings { name } => prefs::settings(c, name, None).await,
        Call::SetSetting { name, value } => prefs::settings(c, name, Some(value)).await,
    })
}

/// Mirrors the reply to a call into the model.
pub fn reduce(app: &mut App, reply: Reply) -> Vec<Effect> {
    match reply {
        Reply::Snapshot(result) => reload::reduce(app, result),
        Reply::Certificate { server, result } => certificates::reduce(app, server, result),
        Reply::Sent {
            account,
            to,
            result,
        } => send::reduce(app, account, to, result),
        Reply::History {
            account,
            peer,
            before,
            result,
        } => history::reduce(app, account, peer, before, result),
        Reply::Users {
            account,
            online_only,
            print,
            result,
        } => users::reduce(app, account, online_only, print, result),
        Reply::Contact {
            account,
            user,
            print,
            accepted,
            result,
        } => contacts::reduce(app, account, user, print, accepted, result),
        Reply::Account {
            account,
            op,
            result,
        } => accounts::reduce(app, account, op, result),
        Reply::Done {
            what,
            account,
            reload,
            quiet,
            result,
        } => reduce_done(app, what, account, reload, quiet, result),
        Reply::Search {
            account,
            query,
            result,
        } => search::reduce(app, account, query, result),
        Reply::Key { account, result } => keys::reduce_show(app, account, result),
        Reply::Exported {
            account,
            path,
            result,
        } => keys::reduce_export(app, account, path, result),
        Reply::Status(result) => status::reduce(app, result),
        Reply::GoImported { path, result } => go_import::reduce(app, path, result),
        Reply::Settings { name, result } => prefs::reduce(app, name, result),
    }
}

/// The reply to a call with nothing to return: a notice where it belongs.
fn reduce_done(
    app: &mut App,
    what: String,
    account: Option<AccountKey>,
    reload: bool,
    quiet: bool,
    result: Result<(), DaemonError>,
) -> Vec<Effect> {
    let target = account.map_or(app.active.clone(), |a| {
        if matches!(&app.active, BufferKey::Conv(k, _) if *k == a) {
            app.active.clone()
        } else {
            BufferKey::Server(a.server)
        }
    });
    match result {
        Ok(()) if !quiet => app.notice(target, Level::Success, what),
        Ok(()) => {}
        Err(e) => {
            app.notice(target, Level::Error, format!("{what} failed: {e}"));
            app.flash(Level::Error, format!("{what} failed: {e}"));
        }
    }
    if reload {
        vec![Effect::Call(Call::Reload)]
    } else {
        Vec::new()
    }
}

/// What a call does, for its notice ("deregistered alice@local").
pub fn describe(call: &Call) -> String {
    match call {
        Call::Reload => "reload".into(),
        Call::ProbeCertificate(s) => format!("certificate of {s}"),
        Call::TrustServer { server, .. } => format!("pinned the certificate of {server}"),
        Call::Send { to, .. } => format!("message to {to}"),
        Call::History { peer, .. } => format!("history with {peer}"),
        Call::MarkRead { .. } => "read marker".into(),
        Call::ListUsers { .. } => "user list".into(),
        Call::RequestKey { user, .. } => format!("key of {user}"),
        Call::AcceptKey { user, .. } => format!("accepting {user}'s key"),
        Call::Login(a) => format!("login of {}", a.label()),
        Call::Logout(a) => format!("logout of {}", a.label()),
        Call::Unlock { account, .. } => format!("unlocking {}", account.label()),
        Call::Lock(a) => format!("locking {}", a.label()),
        Call::Register { account, .. } => format!("registration of {}", account.label()),
        Call::Deregister(a) => format!("deregistered {}", a.label()),
        Call::AddServer(p) => format!(
            "added server {} ({}:{})",
            p.name,
            p.host,
            if p.port == 0 {
                "default port".to_owned()
            } else {
                p.port.to_string()
            }
        ),
        Call::UpdateServer(p) => format!("updated server {}", p.name),
        Call::RemoveServer(n) => format!("removed server {n}"),
        Call::Hook {
            hook, subscribe, ..
        } => {
            let name = ipc::Hook::try_from(*hook)
                .map_or_else(|_| hook.to_string(), |h| h.as_str_name().to_owned());
            format!(
                "{} {name}",
                if *subscribe {
                    "subscribed to"
                } else {
                    "unsubscribed from"
                }
            )
        }
        Call::Admin { op, .. } => match op {
            ipc::admin_request::Op::ShutdownAt(at) => {
                format!("scheduled a server shutdown (at unix time {at})")
            }
            ipc::admin_request::Op::Deregister(u) => format!("deregistered (banned) {u}"),
            ipc::admin_request::Op::Broadcast(_) => "broadcast sent".into(),
            ipc::admin_request::Op::SetPermission(p) => {
                format!("set {}'s permission level to {}", p.user, p.level)
            }
            ipc::admin_request::Op::Kick(u) => format!("kicked {u}"),
            ipc::admin_request::Op::Motd(_) => "message of the day changed".into(),
        },
        Call::Search { query, .. } => format!("search for {query:?}"),
        Call::ShowKey(_) => "showing the key".into(),
        Call::ExportKey { path, .. } => format!("export to {path}"),
        Call::ImportKey { path, .. } => format!("import of {path}"),
        Call::ImportGoClient { path, .. } => format!("import of the Go client's {path}"),
        Call::Status => "status".into(),
        Call::Focus(_) => "focus".into(),
        Call::ContactPrefs(r) => {
            let who = &r.user;
            match (&r.alias, r.muted, r.blocked, r.notify) {
                (Some(a), ..) if a.is_empty() => format!("removed {who}'s alias"),
                (Some(a), ..) => format!("{who} is shown as {a}"),
                (_, Some(true), ..) => format!("muted {who}"),
                (_, Some(false), ..) => format!("unmuted {who}"),
                (_, _, Some(true), _) => format!("blocked {who}"),
                (_, _, Some(false), _) => format!("unblocked {who}"),
                _ => format!("notification setting for {who} changed"),
            }
        }
        Call::DeleteConversation { peer, .. } => format!("deleting the conversation with {peer}"),
        Call::Settings { .. } | Call::SetSetting { .. } => "settings".into(),
    }
}

/// A daemon error with its reason (which the reducers branch on) and its text.
pub fn status_error(s: &tonic::Status) -> DaemonError {
    DaemonError::from(s)
}

fn some_ref(a: &AccountKey) -> Option<AccountRef> {
    Some(a.to_ref())
}
