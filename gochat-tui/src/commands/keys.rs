//! Keys: `/key` and its short forms `/import`, `/export`, `/unlock`, `/lock`.

use super::{Invocation, account_for, call, need_daemon, usage};
use crate::app::{AccountKey, App, Level, PassPurpose, Popup};
use crate::msg::{Call, Effect};

/// `/import NAME FILE`: `/key import`; `/import go-client PATH`: the Go client's data.
pub(super) fn import(app: &mut App, inv: &Invocation<'_>) -> Vec<Effect> {
    if inv.arg(0) == Some("go-client") {
        return super::go_import::go_client(app, inv.text_after(1));
    }
    sub(app, "import", inv.args)
}

/// `/export [FILE]`: `/key export`.
pub(super) fn export(app: &mut App, inv: &Invocation<'_>) -> Vec<Effect> {
    sub(app, "export", inv.args)
}

/// `/unlock [NAME]`: `/key unlock`.
pub(super) fn unlock(app: &mut App, inv: &Invocation<'_>) -> Vec<Effect> {
    sub(app, "unlock", inv.args)
}

/// `/lock [NAME]`: `/key lock`.
pub(super) fn lock(app: &mut App, inv: &Invocation<'_>) -> Vec<Effect> {
    sub(app, "lock", inv.args)
}

fn sub(app: &mut App, sub: &'static str, args: &[&str]) -> Vec<Effect> {
    let mut with = vec![sub];
    with.extend(args);
    key_args(app, &with)
}

/// `/key show|export|import|unlock|lock …`.
pub(super) fn key(app: &mut App, inv: &Invocation<'_>) -> Vec<Effect> {
    key_args(app, inv.args)
}

fn key_args(app: &mut App, args: &[&str]) -> Vec<Effect> {
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
