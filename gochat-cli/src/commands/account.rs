//! `account register|login|logout|deregister|unlock|lock|passphrase|list|backup`.

use std::path::{Path, PathBuf};

use std::os::unix::fs::DirBuilderExt;

use clap::Subcommand;
use gochat_client::errors::DaemonError;
use gochat_client::files::{self, FileError, Overwrite};
use gochat_client::term;
use gochat_proto::ipc;

use crate::context::Ctx;
use crate::error::{CliError, Result};
use crate::output::{Cell, DIM, PEER, Table};
use crate::views::{self, AccountJson, account_line};
use crate::{prompt, time};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a key, register the account on the server and log in (REG).
    #[command(visible_alias = "reg")]
    Register {
        /// The username to register.
        name: String,
        /// Store the key unencrypted (for unattended use) instead of asking for a passphrase.
        #[arg(long)]
        no_passphrase: bool,
    },
    /// Log in (unlocking the key first if needed) and stay logged in (LOGIN, CONN).
    Login {
        /// The account [default: --account, or the only one].
        name: Option<String>,
    },
    /// Log out and stay offline until the next login (LOGOUT, DISCN).
    Logout {
        /// The account.
        name: Option<String>,
    },
    /// Delete the account on the server and here (DEREG); asks for confirmation unless --yes.
    #[command(visible_alias = "dereg")]
    Deregister {
        /// The account.
        name: Option<String>,
    },
    /// Unlock the account's key with its passphrase.
    Unlock {
        /// The account.
        name: Option<String>,
    },
    /// Forget the unlocked key (the account logs out).
    Lock {
        /// The account.
        name: Option<String>,
    },
    /// Change the passphrase of the stored key (an empty one stores it unencrypted).
    Passphrase {
        /// The account.
        name: Option<String>,
        /// Read the new passphrase from this file instead of the terminal
        /// (--passphrase-file then gives the current one).
        #[arg(long)]
        new_passphrase_file: Option<PathBuf>,
    },
    /// List the accounts and their connection state.
    #[command(visible_alias = "ls")]
    List,
    /// Write the private key (NAME.priv) and every conversation (NAME.msgs) to a directory (RECOVER).
    #[command(visible_alias = "recover")]
    Backup {
        /// The account.
        name: Option<String>,
        /// Where to write [default: the current directory].
        #[arg(long, short, default_value = ".")]
        dir: PathBuf,
        /// Replace NAME.priv and NAME.msgs if they exist (with new 0600 files).
        #[arg(long)]
        force: bool,
    },
}

pub async fn run(command: Command, ctx: &mut Ctx) -> Result<()> {
    match command {
        Command::Register {
            name,
            no_passphrase,
        } => {
            let account = ctx.account_named(Some(&name));
            let passphrase = if no_passphrase {
                String::new()
            } else {
                prompt::new_passphrase(
                    ctx.global.passphrase_file.as_deref(),
                    &format!("{name}'s key"),
                )?
            };
            let reply = ctx
                .client()
                .await?
                .register(ipc::RegisterRequest {
                    account: Some(account),
                    passphrase,
                })
                .await?
                .into_inner();
            show(ctx, "registered", &reply)
        }
        Command::Login { name } => {
            let account = ctx.account_named(name.as_deref());
            let reply = login(ctx, account).await?;
            show(ctx, "logged in", &reply)
        }
        Command::Logout { name } => {
            let account = ctx.account_named(name.as_deref());
            let reply = ctx.client().await?.logout(account).await?.into_inner();
            show(ctx, "logged out", &reply)
        }
        Command::Deregister { name } => {
            let account = ctx.account_named(name.as_deref());
            let label = describe(&account);
            prompt::confirm(
                &format!("Delete {label} on the server, with its key and messages here?"),
                ctx.global.yes,
            )?;
            ctx.client().await?.deregister(account).await?;
            ctx.out.done(&format!("deregistered {label}"))
        }
        Command::Unlock { name } => {
            let account = ctx.account_named(name.as_deref());
            let reply = unlock(ctx, account).await?;
            show(ctx, "unlocked", &reply)
        }
        Command::Passphrase {
            name,
            new_passphrase_file,
        } => {
            let account = ctx.account_named(name.as_deref());
            let label = describe(&account);
            let protected = resolve(ctx, &account).await?.passphrase_protected;
            let old_passphrase = if protected {
                prompt::passphrase(
                    ctx.global.passphrase_file.as_deref(),
                    &format!("Current passphrase for {label}: "),
                )?
            } else {
                String::new()
            };
            let new_passphrase =
                prompt::new_passphrase(new_passphrase_file.as_deref(), &format!("{label}'s key"))?;
            let reply = ctx
                .client()
                .await?
                .change_passphrase(ipc::ChangePassphraseRequest {
                    account: Some(account),
                    old_passphrase,
                    new_passphrase,
                })
                .await?
                .into_inner();
            show(ctx, "passphrase changed for", &reply)
        }
        Command::Lock { name } => {
            let account = ctx.account_named(name.as_deref());
            let reply = ctx.client().await?.lock(account).await?.into_inner();
            show(ctx, "locked", &reply)
        }
        Command::List => {
            let accounts = list(ctx).await?;
            let json: Vec<AccountJson> = accounts.iter().map(AccountJson::from).collect();
            ctx.out.emit(&serde_json::json!({ "accounts": json }), |w| {
                if accounts.is_empty() {
                    return writeln!(
                        w,
                        "no accounts; register one with `gochat-cli account register NAME`"
                    );
                }
                let mut table =
                    Table::new(&["SERVER", "ACCOUNT", "STATE", "KEY", "ROLE", "FINGERPRINT"]);
                for a in &accounts {
                    let r = a.r#ref.clone().unwrap_or_default();
                    let key = match (a.locked, a.passphrase_protected) {
                        (true, _) => "locked",
                        (false, true) => "unlocked",
                        (false, false) => "unencrypted",
                    };
                    table.row(vec![
                        Cell::new(r.server),
                        Cell::styled(views::user(&r.username), PEER),
                        Cell::styled(views::link_state(a.state), views::link_state_style(a.state)),
                        Cell::new(key),
                        Cell::new(views::permission_name(a.permission)),
                        Cell::styled(short_fingerprint(&a.fingerprint), DIM),
                    ]);
                }
                table.write(w)
            })
        }
        Command::Backup { name, dir, force } => {
            let account = ctx.account_named(name.as_deref());
            backup(ctx, account, &dir, force).await
        }
    }
}

fn describe(r: &ipc::AccountRef) -> String {
    match (r.username.is_empty(), r.server.is_empty()) {
        (true, true) => "the account".into(),
        (false, true) => format!("account {}", r.username),
        (true, false) => format!("the account on {}", r.server),
        (false, false) => format!("account {}@{}", r.username, r.server),
    }
}

fn show(ctx: &Ctx, what: &str, account: &ipc::Account) -> Result<()> {
    ctx.out.emit(&AccountJson::from(account), |w| {
        writeln!(w, "{what} {}", account_line(account))
    })
}

/// The first 16 hex digits, grouped.
pub fn short_fingerprint(hex: &str) -> String {
    let head: String = hex.chars().take(16).collect();
    head.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(":")
}

/// Every account.
pub async fn list(ctx: &mut Ctx) -> Result<Vec<ipc::Account>> {
    Ok(ctx
        .client()
        .await?
        .list_accounts(ipc::Empty {})
        .await?
        .into_inner()
        .accounts)
}

/// The account `r` names, resolved by the daemon (the same rules as every other RPC).
pub async fn resolve(ctx: &mut Ctx, r: &ipc::AccountRef) -> Result<ipc::Account> {
    Ok(ctx
        .client()
        .await?
        .resolve_account(r.clone())
        .await?
        .into_inner())
}

/// Logs in, asking for the passphrase when the key is locked.
pub async fn login(ctx: &mut Ctx, account: ipc::AccountRef) -> Result<ipc::Account> {
    match ctx.client().await?.login(account.clone()).await {
        Ok(reply) => Ok(reply.into_inner()),
        Err(status) => {
            let e = DaemonError::from(status);
            if !e.is_locked() {
                return Err(e.into());
            }
            unlock(ctx, account.clone()).await?;
            Ok(ctx.client().await?.login(account).await?.into_inner())
        }
    }
}

/// Unlocks with a passphrase from the terminal or --passphrase-file (none is asked for a key
/// stored unencrypted).
pub async fn unlock(ctx: &mut Ctx, account: ipc::AccountRef) -> Result<ipc::Account> {
    let protected = !matches!(resolve(ctx, &account).await, Ok(a) if !a.passphrase_protected);
    let passphrase = if protected {
        prompt::passphrase(
            ctx.global.passphrase_file.as_deref(),
            &format!("Passphrase for {}: ", describe(&account)),
        )?
    } else {
        String::new()
    };
    Ok(ctx
        .client()
        .await?
        .unlock(ipc::UnlockRequest {
            account: Some(account),
            passphrase,
        })
        .await?
        .into_inner())
}

/// Every message with `peer`, oldest first.
pub async fn all_history(
    ctx: &mut Ctx,
    account: &ipc::AccountRef,
    peer: &str,
) -> Result<Vec<ipc::Message>> {
    let mut messages = Vec::new();
    let mut before = 0;
    loop {
        let page = ctx
            .client()
            .await?
            .history(ipc::HistoryRequest {
                account: Some(account.clone()),
                peer: peer.to_owned(),
                limit: 1000,
                before,
            })
            .await?
            .into_inner();
        messages.extend(page.messages);
        if page.next_before == 0 {
            break;
        }
        before = page.next_before;
    }
    messages.sort_by_key(|m| m.id);
    Ok(messages)
}

/// Writes a new file only the user can read; an existing one only with `force` (replaced
/// by a new 0600 file, never rewritten in place).
pub fn write_private(path: &Path, data: &[u8], force: bool) -> Result<()> {
    let overwrite = if force {
        Overwrite::Replace
    } else {
        Overwrite::Refuse
    };
    files::write_private(path, data, overwrite).map_err(|e| match e {
        FileError::Exists { .. } => CliError::usage(e.to_string()),
        FileError::Io { ref source, .. } => CliError::other(format!("{e}: {source}")),
        FileError::UnsafeLog { .. } => CliError::other(e.to_string()),
    })
}

async fn backup(ctx: &mut Ctx, account: ipc::AccountRef, dir: &Path, force: bool) -> Result<()> {
    let pem = ctx
        .client()
        .await?
        .export_key(ipc::ExportKeyRequest {
            account: Some(account.clone()),
        })
        .await?
        .into_inner()
        .private_pem;
    let me = resolve(ctx, &account)
        .await?
        .r#ref
        .unwrap_or_default()
        .username;
    let conversations = ctx
        .client()
        .await?
        .conversations(account.clone())
        .await?
        .into_inner()
        .conversations;
    // The name becomes a file name: it must be a plain user name, not a path.
    if !term::is_user_name(&me) {
        return Err(CliError::other(format!(
            "the daemon reports an invalid account name {}",
            term::name(&me)
        )));
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| CliError::other(format!("cannot create {}: {e}", dir.display())))?;
    let key_path = dir.join(format!("{me}.priv"));
    let msgs_path = dir.join(format!("{me}.msgs"));
    if !force
        && let Some(existing) = [&key_path, &msgs_path]
            .into_iter()
            .find(|p| p.symlink_metadata().is_ok())
    {
        return Err(CliError::usage(format!(
            "{} already exists; pass --force to replace it",
            existing.display()
        )));
    }
    write_private(&key_path, pem.as_bytes(), force)?;
    let mut text = String::new();
    let mut count = 0;
    for c in &conversations {
        let messages = all_history(ctx, &account, &c.peer).await?;
        text.push_str("--- CONVERSATION BEGINS ---\n");
        for m in &messages {
            let (src, dst) = if m.outgoing {
                (me.as_str(), m.peer.as_str())
            } else {
                (m.peer.as_str(), me.as_str())
            };
            text.push_str(&format!(
                "{} | [{src}] -> [{dst}]: {}\n",
                time::rfc850(m.stamp),
                m.text
            ));
        }
        text.push_str("--- CONVERSATION FINISH ---\n");
        count += messages.len();
    }
    write_private(&msgs_path, text.as_bytes(), force)?;
    let json = serde_json::json!({
        "key": key_path.display().to_string(),
        "messages": msgs_path.display().to_string(),
        "conversations": conversations.len(),
        "message_count": count,
    });
    ctx.out.emit(&json, |w| {
        writeln!(w, "wrote {}", key_path.display())?;
        writeln!(
            w,
            "wrote {} ({count} messages in {} conversations)",
            msgs_path.display(),
            conversations.len()
        )
    })
}
