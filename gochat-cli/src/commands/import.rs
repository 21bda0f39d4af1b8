//! `import go-client`: moves a Go client user's data (servers, account and key, contacts'
//! keys, history) into gochatd. The daemon reads the Go client's database and does the work.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use gochat_proto::ipc;
use serde::Serialize;

use crate::context::Ctx;
use crate::error::{CliError, Result};
use crate::output::{DIM, PEER, paint};
use crate::prompt;
use gochat_client::term::line;

use crate::views::{AccountJson, ServerJson, account_line, user};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import the Go client's client.db: servers, accounts, contacts' keys and history.
    ///
    /// With --passphrase-file, its first line is the Go password and its second line the new
    /// passphrase for the imported keys (empty line: unencrypted; no second line: the Go
    /// password). Running it again imports nothing new.
    GoClient(GoClientArgs),
}

#[derive(Debug, clap::Args)]
pub struct GoClientArgs {
    /// The Go client's SQLite database (client.db).
    #[arg(long, value_name = "PATH")]
    pub db: PathBuf,
    /// Import only this local user (repeatable) [default: every local user].
    #[arg(long = "user", value_name = "NAME")]
    pub users: Vec<String>,
    /// Store the imported keys unencrypted instead of asking for a new passphrase.
    #[arg(long)]
    pub no_passphrase: bool,
}

pub async fn run(command: Command, ctx: &mut Ctx) -> Result<()> {
    match command {
        Command::GoClient(args) => go_client(args, ctx).await,
    }
}

/// The Go password and the new passphrase, from --passphrase-file or the terminal.
fn secrets(file: Option<&Path>, no_passphrase: bool) -> Result<(String, String)> {
    match file {
        Some(f) => {
            let text = prompt::passphrase(Some(f), "")?;
            let mut lines = text.splitn(2, '\n');
            let go = lines
                .next()
                .unwrap_or_default()
                .trim_end_matches('\r')
                .to_owned();
            let new = match lines.next() {
                _ if no_passphrase => String::new(),
                Some(line) => line.lines().next().unwrap_or_default().to_owned(),
                None => go.clone(),
            };
            Ok((go, new))
        }
        None => {
            let go = prompt::passphrase(None, "Go client password: ")?;
            let new = if no_passphrase {
                String::new()
            } else {
                prompt::new_passphrase(None, "the imported keys")?
            };
            Ok((go, new))
        }
    }
}

#[derive(Debug, Serialize)]
struct ServerOut {
    go_name: String,
    created: bool,
    profile: ServerJson,
}

#[derive(Debug, Serialize)]
struct AccountOut {
    created: bool,
    account: AccountJson,
    contacts_pinned: Vec<String>,
    contacts_unchanged: u32,
    contacts_skipped: Vec<String>,
    messages_imported: u32,
    messages_unchanged: u32,
    messages_skipped: u32,
}

async fn go_client(args: GoClientArgs, ctx: &mut Ctx) -> Result<()> {
    // The daemon resolves nothing relative to our directory: send an absolute path.
    let db = std::path::absolute(&args.db)
        .map_err(|e| CliError::usage(format!("{}: {e}", args.db.display())))?;
    if !db.is_file() {
        return Err(CliError::not_found(format!(
            "{}: no such file (the Go client's client.db)",
            db.display()
        )));
    }
    let (go_password, passphrase) =
        secrets(ctx.global.passphrase_file.as_deref(), args.no_passphrase)?;
    let request = ipc::ImportGoClientRequest {
        db_path: db.to_string_lossy().into_owned(),
        users: args.users,
        go_password,
        passphrase,
    };
    let reply = ctx
        .client()
        .await?
        .import_go_client(request)
        .await
        .map_err(|s| CliError::from(s).context("import failed"))?
        .into_inner();
    let json = serde_json::json!({
        "servers": reply.servers.iter().map(|s| ServerOut {
            go_name: s.go_name.clone(),
            created: s.created,
            profile: ServerJson::from(&s.profile.clone().unwrap_or_default()),
        }).collect::<Vec<_>>(),
        "accounts": reply.accounts.iter().map(|a| AccountOut {
            created: a.created,
            account: AccountJson::from(&a.account.clone().unwrap_or_default()),
            contacts_pinned: a.contacts_pinned.clone(),
            contacts_unchanged: a.contacts_unchanged,
            contacts_skipped: a.contacts_skipped.clone(),
            messages_imported: a.messages_imported,
            messages_unchanged: a.messages_unchanged,
            messages_skipped: a.messages_skipped,
        }).collect::<Vec<_>>(),
    });
    ctx.out.emit(&json, |w| {
        writeln!(w, "from {}:", line(&db.display().to_string()))?;
        for s in &reply.servers {
            let p = s.profile.clone().unwrap_or_default();
            let how = if s.created {
                "added".to_owned()
            } else if p.name == s.go_name {
                "already there".to_owned()
            } else {
                format!("already there as {}", line(&p.name))
            };
            writeln!(
                w,
                "server {} ({}:{}{}): {how}",
                paint(PEER, &s.go_name),
                line(&p.host),
                p.port,
                if p.tls { ", tls" } else { "" },
            )?;
        }
        for a in &reply.accounts {
            let account = a.account.clone().unwrap_or_default();
            let how = if a.created {
                "imported"
            } else {
                "already there"
            };
            writeln!(w, "account {}, {how}", account_line(&account))?;
            let pinned: Vec<String> = a.contacts_pinned.iter().map(|c| user(c)).collect();
            writeln!(
                w,
                "  contacts: {} pinned{}, {} already pinned",
                pinned.len(),
                if pinned.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", pinned.join(", "))
                },
                a.contacts_unchanged
            )?;
            for skipped in &a.contacts_skipped {
                writeln!(w, "  {}", paint(DIM, format!("skipped {skipped}")))?;
            }
            write!(
                w,
                "  messages: {} imported, {} already there",
                a.messages_imported, a.messages_unchanged
            )?;
            if a.messages_skipped > 0 {
                write!(w, ", {} left out (unreadable stamp)", a.messages_skipped)?;
            }
            writeln!(w)?;
        }
        Ok(())
    })
}
