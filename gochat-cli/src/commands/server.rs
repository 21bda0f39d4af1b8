//! `server add|list|show|remove|set`: the daemon's server profiles.

use clap::Subcommand;
use gochat_proto::ipc;

use crate::context::Ctx;
use crate::error::{CliError, Result};
use crate::output::{Cell, PEER, Table, paint};
use crate::views::ServerJson;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Add a server profile (REGSERVER).
    Add {
        /// A name for the profile.
        name: String,
        /// Host name or address.
        host: String,
        /// Port [default: 9037, or 8037 with --tls].
        #[arg(long, short)]
        port: Option<u16>,
        /// Connect with TLS.
        #[arg(long)]
        tls: bool,
        /// Do not verify the server's certificate (TLS only; unsafe).
        #[arg(long, requires = "tls")]
        no_verify: bool,
        /// Trust this PEM file (CA or self-signed certificate) instead of the system roots.
        #[arg(long, value_name = "FILE", requires = "tls")]
        ca_file: Option<std::path::PathBuf>,
        /// Make it the default profile.
        #[arg(long)]
        default: bool,
    },
    /// List the server profiles (SERVERS).
    #[command(visible_alias = "ls")]
    List,
    /// Show one profile (SERVERCONFIG).
    Show {
        /// The profile.
        name: String,
    },
    /// Remove a profile that has no accounts left (DELSERVER).
    #[command(visible_alias = "rm")]
    Remove {
        /// The profile.
        name: String,
    },
    /// Change a profile (SETSERVER).
    Set {
        /// The profile.
        name: String,
        /// New host.
        #[arg(long)]
        host: Option<String>,
        /// New port.
        #[arg(long, short)]
        port: Option<u16>,
        /// Use TLS (true/false).
        #[arg(long, value_name = "BOOL")]
        tls: Option<bool>,
        /// Verify the certificate (true/false).
        #[arg(long, value_name = "BOOL")]
        verify: Option<bool>,
        /// PEM file to trust ("" for the system roots).
        #[arg(long, value_name = "FILE")]
        ca_file: Option<String>,
        /// Make it the default profile (true/false).
        #[arg(long, value_name = "BOOL")]
        default: Option<bool>,
    },
}

pub async fn run(command: Command, ctx: &mut Ctx) -> Result<()> {
    match command {
        Command::Add {
            name,
            host,
            port,
            tls,
            no_verify,
            ca_file,
            default,
        } => {
            let ca_file = match ca_file {
                Some(path) => std::path::absolute(&path)
                    .map_err(|e| CliError::usage(format!("bad --ca-file {}: {e}", path.display())))?
                    .display()
                    .to_string(),
                None => String::new(),
            };
            let profile = ipc::ServerProfile {
                name,
                host,
                port: port.map_or(0, u32::from),
                tls,
                skip_verify: no_verify,
                ca_file,
                is_default: default,
            };
            let added = ctx.client().await?.add_server(profile).await?.into_inner();
            ctx.out.emit(&ServerJson::from(&added), |w| {
                writeln!(
                    w,
                    "added server {} ({})",
                    paint(PEER, &added.name),
                    address(&added)
                )
            })
        }
        Command::List => {
            let servers = list(ctx).await?;
            let json: Vec<ServerJson> = servers.iter().map(ServerJson::from).collect();
            ctx.out.emit(&serde_json::json!({ "servers": json }), |w| {
                if servers.is_empty() {
                    return writeln!(
                        w,
                        "no server profiles; add one with `gochat-cli server add NAME HOST`"
                    );
                }
                let mut table = Table::new(&["NAME", "ADDRESS", "SECURITY", "DEFAULT"]);
                for s in &servers {
                    table.row(vec![
                        Cell::styled(s.name.clone(), PEER),
                        Cell::new(address(s)),
                        Cell::new(security(s)),
                        Cell::new(if s.is_default { "yes" } else { "" }),
                    ]);
                }
                table.write(w)
            })
        }
        Command::Show { name } => {
            let s = find(ctx, &name).await?;
            ctx.out.emit(&ServerJson::from(&s), |w| {
                writeln!(w, "name:     {}", s.name)?;
                writeln!(w, "host:     {}", s.host)?;
                writeln!(w, "port:     {}", s.port)?;
                writeln!(w, "security: {}", security(&s))?;
                if !s.ca_file.is_empty() {
                    writeln!(w, "ca file:  {}", s.ca_file)?;
                }
                writeln!(w, "default:  {}", if s.is_default { "yes" } else { "no" })
            })
        }
        Command::Remove { name } => {
            ctx.client()
                .await?
                .remove_server(ipc::ServerRef { name: name.clone() })
                .await?;
            ctx.out.done(&format!("removed server {name}"))
        }
        Command::Set {
            name,
            host,
            port,
            tls,
            verify,
            ca_file,
            default,
        } => {
            let mut s = find(ctx, &name).await?;
            if let Some(h) = host {
                s.host = h;
            }
            if let Some(p) = port {
                s.port = u32::from(p);
            }
            if let Some(t) = tls {
                s.tls = t;
            }
            if let Some(v) = verify {
                s.skip_verify = !v;
            }
            if let Some(c) = ca_file {
                s.ca_file = c;
            }
            if let Some(d) = default {
                s.is_default = d;
            }
            let updated = ctx.client().await?.update_server(s).await?.into_inner();
            ctx.out.emit(&ServerJson::from(&updated), |w| {
                writeln!(
                    w,
                    "updated server {} ({}, {})",
                    paint(PEER, &updated.name),
                    address(&updated),
                    security(&updated)
                )
            })
        }
    }
}

/// Every profile.
pub async fn list(ctx: &mut Ctx) -> Result<Vec<ipc::ServerProfile>> {
    Ok(ctx
        .client()
        .await?
        .list_servers(ipc::Empty {})
        .await?
        .into_inner()
        .servers)
}

async fn find(ctx: &mut Ctx, name: &str) -> Result<ipc::ServerProfile> {
    list(ctx)
        .await?
        .into_iter()
        .find(|s| s.name == name)
        .ok_or_else(|| {
            CliError::not_found(format!(
                "no server profile called {name:?} (see `gochat-cli server list`)"
            ))
        })
}

fn address(s: &ipc::ServerProfile) -> String {
    if s.host.contains(':') {
        format!("[{}]:{}", s.host, s.port)
    } else {
        format!("{}:{}", s.host, s.port)
    }
}

fn security(s: &ipc::ServerProfile) -> &'static str {
    match (s.tls, !s.skip_verify) {
        (false, _) => "plain",
        (true, true) => "tls",
        (true, false) => "tls (unverified)",
    }
}
