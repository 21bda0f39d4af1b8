//! `daemon status|start|stop`.

use clap::Subcommand;
use gochat_proto::ipc;

use crate::connection;
use crate::context::Ctx;
use crate::error::{CliError, Result};
use crate::output::{Cell, PEER, Table};
use crate::views::{self, LinkJson};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Versions, process and the state of every account's connection (never starts it).
    Status,
    /// Start the daemon in the background unless it runs.
    Start,
    /// Stop the daemon (accounts log out first).
    Stop,
}

pub async fn run(command: Command, ctx: &mut Ctx) -> Result<()> {
    let socket = ctx.socket();
    match command {
        Command::Status => {
            let Some(client) = ctx.client_if_running().await? else {
                return Err(CliError::unreachable(format!(
                    "gochatd is not running (socket {}); start it with `gochat-cli daemon start`",
                    socket.display()
                )));
            };
            let status = client.status(ipc::Empty {}).await?.into_inner();
            let links: Vec<LinkJson> = status.links.iter().map(LinkJson::from).collect();
            let json = serde_json::json!({
                "running": true,
                "socket": socket.display().to_string(),
                "daemon_version": status.daemon_version,
                "protocol_version": status.protocol_version,
                "instance_id": status.instance_id,
                "pid": status.pid,
                "last_event_id": status.last_event_id,
                "links": links,
            });
            ctx.out.emit(&json, |w| {
                writeln!(
                    w,
                    "gochatd {} running (pid {}) on {}",
                    status.daemon_version,
                    status.pid,
                    socket.display()
                )?;
                writeln!(
                    w,
                    "protocol version {}, instance {}",
                    status.protocol_version, status.instance_id
                )?;
                if status.daemon_version != env!("CARGO_PKG_VERSION") {
                    writeln!(
                        w,
                        "note: gochat-cli is version {}; restart the daemon (`gochat-cli daemon stop`) to run the installed one",
                        env!("CARGO_PKG_VERSION")
                    )?;
                }
                if status.links.is_empty() {
                    return writeln!(w, "no accounts");
                }
                let mut table = Table::new(&["ACCOUNT", "STATE", "SECURITY", "ROLE", "DETAIL"]);
                for l in &status.links {
                    table.row(vec![
                        Cell::styled(views::account_label(l.account.as_ref()), PEER),
                        Cell::styled(views::link_state(l.state), views::link_state_style(l.state)),
                        Cell::new(if l.secure { "tls" } else { "plain" }),
                        Cell::new(views::permission_name(l.permission)),
                        Cell::new(l.detail.clone()),
                    ]);
                }
                table.write(w)
            })
        }
        Command::Start => {
            if let Some(client) = ctx.client_if_running().await? {
                let status = client.status(ipc::Empty {}).await?.into_inner();
                return ctx.out.emit(
                    &serde_json::json!({ "started": false, "pid": status.pid, "socket": socket.display().to_string() }),
                    |w| writeln!(w, "gochatd is already running (pid {})", status.pid),
                );
            }
            let mut client = connection::start(&socket, ctx.global.socket.is_some())
                .await
                .map_err(|e| e.context("could not start gochatd"))?;
            let status = client.status(ipc::Empty {}).await?.into_inner();
            ctx.set_client(Some(client));
            ctx.out.emit(
                &serde_json::json!({ "started": true, "pid": status.pid, "socket": socket.display().to_string() }),
                |w| writeln!(w, "gochatd started (pid {}) on {}", status.pid, socket.display()),
            )
        }
        Command::Stop => {
            if ctx.client_if_running().await?.is_none() {
                return ctx.out.emit(&serde_json::json!({ "stopped": false }), |w| {
                    writeln!(w, "gochatd is not running")
                });
            }
            let client = ctx
                .take_client()
                .ok_or_else(|| CliError::other("lost the connection"))?;
            connection::stop(client, &socket).await?;
            ctx.out.emit(&serde_json::json!({ "stopped": true }), |w| {
                writeln!(w, "gochatd stopped")
            })
        }
    }
}
