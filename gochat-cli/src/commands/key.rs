//! `key show|fingerprint|export|import|accept`: your key, contacts' keys, and moving keys to
//! and from the Go client (PKCS#1 PEM, EXPORT/IMPORT).

use std::io::Read;
use std::path::PathBuf;

use clap::Subcommand;
use gochat_proto::ipc;

use crate::commands::account::write_private;
use crate::commands::request;
use crate::context::Ctx;
use crate::error::{CliError, Result};
use crate::output::{PEER, paint};
use crate::prompt;
use crate::views::{AccountJson, ContactJson, account_line};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show your public key and its fingerprint.
    Show,
    /// Print the SHA-256 fingerprint of your key, or of USER's key as the server reports it.
    #[command(visible_alias = "fp")]
    Fingerprint {
        /// A contact (fetches their key from the server).
        user: Option<String>,
    },
    /// Print (or write) your private key as PKCS#1 PEM, the Go client's format (EXPORT).
    Export {
        /// Write it to a new file (mode 0600) instead of stdout.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Replace FILE if it exists (with a new 0600 file).
        #[arg(long, requires = "output")]
        force: bool,
    },
    /// Add an account from a private key file, e.g. one the Go client exported (IMPORT).
    Import {
        /// The username the key is registered under on the server.
        user: String,
        /// The PEM file ("-": stdin).
        file: PathBuf,
        /// Store the key unencrypted instead of asking for a passphrase.
        #[arg(long)]
        no_passphrase: bool,
    },
    /// Trust a contact's changed key (after checking its fingerprint).
    Accept {
        /// The contact.
        user: String,
    },
}

pub async fn run(command: Command, ctx: &mut Ctx) -> Result<()> {
    match command {
        Command::Show => {
            let account = ctx.account();
            let key = ctx.client().await?.show_key(account).await?.into_inner();
            let json = serde_json::json!({ "fingerprint": key.fingerprint, "bits": key.bits, "public_pem": key.public_pem });
            ctx.out.emit(&json, |w| {
                writeln!(w, "fingerprint: {}", key.fingerprint)?;
                writeln!(w, "bits: {}", key.bits)?;
                write!(w, "{}", key.public_pem)
            })
        }
        Command::Fingerprint { user: None } => {
            let account = ctx.account();
            let key = ctx.client().await?.show_key(account).await?.into_inner();
            ctx.out.emit(
                &serde_json::json!({ "fingerprint": key.fingerprint }),
                |w| writeln!(w, "{}", key.fingerprint),
            )
        }
        Command::Fingerprint { user: Some(user) } => {
            let contact = request::fetch(ctx, &user).await?;
            ctx.out.emit(&ContactJson::from(&contact), |w| {
                if contact.key_state == ipc::KeyState::Changed as i32 {
                    writeln!(w, "pinned:  {}", contact.fingerprint)?;
                    writeln!(w, "changed: {}", contact.pending_fingerprint)
                } else {
                    writeln!(w, "{}", contact.fingerprint)
                }
            })
        }
        Command::Export { output, force } => {
            let account = ctx.account();
            let pem = ctx
                .client()
                .await?
                .export_key(ipc::ExportKeyRequest {
                    account: Some(account),
                })
                .await?
                .into_inner()
                .private_pem;
            match output {
                Some(path) => {
                    write_private(&path, pem.as_bytes(), force)?;
                    ctx.out.emit(
                        &serde_json::json!({ "path": path.display().to_string() }),
                        |w| writeln!(w, "wrote {}", path.display()),
                    )
                }
                None => ctx
                    .out
                    .emit(&serde_json::json!({ "private_pem": pem }), |w| {
                        write!(w, "{pem}")
                    }),
            }
        }
        Command::Import {
            user,
            file,
            no_passphrase,
        } => {
            let mut pem = String::new();
            if file.as_os_str() == "-" {
                std::io::stdin()
                    .read_to_string(&mut pem)
                    .map_err(|e| CliError::other(format!("cannot read the key from stdin: {e}")))?;
            } else {
                pem = std::fs::read_to_string(&file)
                    .map_err(|e| CliError::other(format!("cannot read {}: {e}", file.display())))?;
            }
            let passphrase = if no_passphrase {
                String::new()
            } else {
                prompt::new_passphrase(
                    ctx.global.passphrase_file.as_deref(),
                    &format!("{user}'s key"),
                )?
            };
            let request = ipc::ImportKeyRequest {
                account: Some(ctx.account_named(Some(&user))),
                private_pem: pem,
                passphrase,
            };
            let account = ctx.client().await?.import_key(request).await?.into_inner();
            ctx.out.emit(&AccountJson::from(&account), |w| {
                writeln!(w, "imported {}", account_line(&account))
            })
        }
        Command::Accept { user } => {
            let request = ipc::UserRef {
                account: Some(ctx.account()),
                user: user.clone(),
            };
            let contact = ctx.client().await?.accept_key(request).await?.into_inner();
            ctx.out.emit(&ContactJson::from(&contact), |w| {
                writeln!(
                    w,
                    "now trusting {}'s key {}",
                    paint(PEER, &contact.user),
                    contact.fingerprint
                )
            })
        }
    }
}
