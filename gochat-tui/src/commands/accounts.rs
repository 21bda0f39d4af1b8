//! Accounts: `/connect`, `/disconnect`, `/register`, `/login`, `/logout`, `/deregister`.

use super::{Invocation, account_for, call, need_daemon, usage};
use crate::app::{AccountKey, App, Confirm, Level, PassPurpose, Popup};
use crate::msg::{Call, Effect};

/// `/connect [SERVER]`: logs in every account of the server.
pub(super) fn connect(app: &mut App, inv: &Invocation<'_>) -> Vec<Effect> {
    let Some(accounts) = server_accounts(app, inv.arg(0)) else {
        return Vec::new();
    };
    let mut effects = Vec::new();
    for (account, locked) in accounts {
        effects.extend(log_in(app, account, locked));
    }
    effects
}

/// `/disconnect [SERVER]`: logs out every account of the server.
pub(super) fn disconnect(app: &mut App, inv: &Invocation<'_>) -> Vec<Effect> {
    let Some(accounts) = server_accounts(app, inv.arg(0)) else {
        return Vec::new();
    };
    accounts
        .into_iter()
        .map(|(account, _)| Effect::Call(Call::Logout(account)))
        .collect()
}

/// The accounts of the server `name` (the current one by default) and whether each is locked;
/// `None` after telling why there are none to act on.
fn server_accounts(app: &mut App, name: Option<&str>) -> Option<Vec<(AccountKey, bool)>> {
    if !need_daemon(app) {
        return None;
    }
    let server = match name {
        Some(s) => match app.server(s) {
            Some(s) => s.profile.name.clone(),
            None => {
                app.notice_here(
                    Level::Error,
                    format!("no server profile called {s} (/servers lists them)"),
                );
                return None;
            }
        },
        None => match app.current_server() {
            Some(s) => s.profile.name.clone(),
            None => {
                app.notice_here(Level::Error, "which server? /connect SERVER");
                return None;
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
        return None;
    }
    Some(accounts)
}

/// `/register NAME`: asks for the new account's passphrase.
pub(super) fn register(app: &mut App, inv: &Invocation<'_>) -> Vec<Effect> {
    let Some(user) = inv.arg(0) else {
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

/// `/login [NAME]`: makes the account current and logs it in.
pub(super) fn login(app: &mut App, inv: &Invocation<'_>) -> Vec<Effect> {
    if !need_daemon(app) {
        return Vec::new();
    }
    let Some(account) = account_for(app, inv.arg(0)) else {
        return Vec::new();
    };
    let locked = app.account(&account).is_some_and(|a| a.info.locked);
    if let Some(server) = app.server_mut(&account.server)
        && let Some(i) = server.accounts.iter().position(|a| a.key == account)
    {
        server.current = i;
    }
    log_in(app, account, locked)
}

/// `/logout [NAME]`.
pub(super) fn logout(app: &mut App, inv: &Invocation<'_>) -> Vec<Effect> {
    if !need_daemon(app) {
        return Vec::new();
    }
    let Some(account) = account_for(app, inv.arg(0)) else {
        return Vec::new();
    };
    call(Call::Logout(account))
}

/// `/deregister [NAME]`: asks to confirm first.
pub(super) fn deregister(app: &mut App, inv: &Invocation<'_>) -> Vec<Effect> {
    if !need_daemon(app) {
        return Vec::new();
    }
    let Some(account) = account_for(app, inv.arg(0)) else {
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

/// Logs `account` in, asking for its passphrase first when its key is locked.
fn log_in(app: &mut App, account: AccountKey, locked: bool) -> Vec<Effect> {
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
        app.offer_popup(popup);
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
