//! Account operations: login, logout, unlock, lock, registration, deregistration. Each
//! reply (and the import's, from `keys`) carries the account as it is afterwards.

use gochat_client::errors::DaemonError;
use gochat_proto::ipc::{self, DaemonClient, RegisterRequest, UnlockRequest};

use super::{some_ref, status_error};
use crate::app::{AccountKey, App, BufferKey, Level, PassPurpose, Popup, permission_name};
use crate::msg::{AccountOp, Call, Effect, Reply};
use crate::secret::Secret;
use crate::ui::short_fp;

fn reply(
    account: AccountKey,
    op: AccountOp,
    result: Result<tonic::Response<ipc::Account>, tonic::Status>,
) -> Reply {
    Reply::Account {
        account,
        op,
        result: result
            .map(tonic::Response::into_inner)
            .map_err(|s| status_error(&s)),
    }
}

/// Logs the account in.
pub(super) async fn login(c: &mut DaemonClient, account: AccountKey) -> Reply {
    let result = c.login(account.to_ref()).await;
    reply(account, AccountOp::Login, result)
}

/// Logs the account out.
pub(super) async fn logout(c: &mut DaemonClient, account: AccountKey) -> Reply {
    let result = c.logout(account.to_ref()).await;
    reply(account, AccountOp::Logout, result)
}

/// Unlocks the key with `passphrase`; a login follows when `login`.
pub(super) async fn unlock(
    c: &mut DaemonClient,
    account: AccountKey,
    passphrase: &Secret,
    login: bool,
) -> Reply {
    let result = c
        .unlock(UnlockRequest {
            account: some_ref(&account),
            passphrase: passphrase.expose().to_owned(),
        })
        .await;
    reply(account, AccountOp::Unlock { login }, result)
}

/// Drops the key from the daemon's memory.
pub(super) async fn lock(c: &mut DaemonClient, account: AccountKey) -> Reply {
    let result = c.lock(account.to_ref()).await;
    reply(account, AccountOp::Lock, result)
}

/// Creates the account (key, registration, login).
pub(super) async fn register(
    c: &mut DaemonClient,
    account: AccountKey,
    passphrase: &Secret,
) -> Reply {
    let result = c
        .register(RegisterRequest {
            account: some_ref(&account),
            passphrase: passphrase.expose().to_owned(),
        })
        .await;
    reply(account, AccountOp::Register, result)
}

/// Deletes the account on the server and locally.
pub(super) async fn deregister(
    c: &mut DaemonClient,
    account: &AccountKey,
) -> Result<(), DaemonError> {
    c.deregister(account.to_ref())
        .await
        .map(|_| ())
        .map_err(|s| status_error(&s))
}

/// Stores the account as it is now and says what happened (or asks again for a passphrase).
pub(super) fn reduce(
    app: &mut App,
    account: AccountKey,
    op: AccountOp,
    result: Result<ipc::Account, DaemonError>,
) -> Vec<Effect> {
    let server = BufferKey::Server(account.server.clone());
    match result {
        Ok(info) => {
            if let Some(acc) = app.account_mut(&account) {
                acc.info = info.clone();
            }
            let label = account.label();
            let mut effects = Vec::new();
            let text = match op {
                AccountOp::Login => format!(
                    "logged in as {label} ({})",
                    permission_name(info.permission)
                ),
                AccountOp::Logout => format!("logged out {label}"),
                AccountOp::Unlock { login } => {
                    if login {
                        effects.push(Effect::Call(Call::Login(account.clone())));
                    }
                    format!("unlocked {label}")
                }
                AccountOp::Lock => format!("locked {label}: its key is no longer in memory"),
                AccountOp::Register => {
                    effects.push(Effect::Call(Call::Reload));
                    app.pending_open = Some(server.clone());
                    format!(
                        "registered {label}. Open a conversation with /msg USER (or Ctrl-N); fingerprint {}",
                        short_fp(&info.fingerprint)
                    )
                }
                AccountOp::Import => {
                    effects.push(Effect::Call(Call::Reload));
                    app.pending_open = Some(server.clone());
                    format!("imported {label}")
                }
            };
            app.notice(server.clone(), Level::Success, text.clone());
            if app.active != server {
                app.notice_here(Level::Success, text);
            }
            effects
        }
        Err(e) => {
            let what = match op {
                AccountOp::Login => "login",
                AccountOp::Logout => "logout",
                AccountOp::Unlock { .. } => "unlock",
                AccountOp::Lock => "lock",
                AccountOp::Register => "registration",
                AccountOp::Import => "import",
            };
            match op {
                // A wrong passphrase: ask again, saying why.
                AccountOp::Unlock { login } if e.is_bad_passphrase() => {
                    ask_passphrase(app, &account, login, Some(e.to_string()));
                }
                // The key was locked meanwhile (by another frontend, say): unlock, then
                // log in, instead of failing.
                AccountOp::Login if e.is_locked() => return unlock_and_log_in(app, account),
                _ => {}
            }
            let text = format!("{what} of {} failed: {e}", account.label());
            if app.buffer(&server).is_some() && app.active != server {
                app.notice(server, Level::Error, text.clone());
            }
            app.notice_here(Level::Error, text.clone());
            app.flash(Level::Error, text);
            Vec::new()
        }
    }
}

/// Unlocks `account` and logs it in: with a passphrase from the dialog, or directly for a
/// key stored without one.
fn unlock_and_log_in(app: &mut App, account: AccountKey) -> Vec<Effect> {
    let protected = app
        .account(&account)
        .is_none_or(|a| a.info.passphrase_protected);
    if protected {
        ask_passphrase(app, &account, true, None);
        return Vec::new();
    }
    vec![Effect::Call(Call::Unlock {
        account,
        passphrase: Default::default(),
        login: true,
    })]
}

/// Opens the passphrase dialog to unlock `account` (and log it in after, when `login`).
fn ask_passphrase(app: &mut App, account: &AccountKey, login: bool, error: Option<String>) {
    app.popup = Some(Popup::Passphrase {
        purpose: PassPurpose::Unlock {
            account: account.clone(),
            login,
        },
        field: Default::default(),
        first: None,
        error,
    });
}
