//! `version`: the client's and (when it runs) the daemon's versions, with the protocol
//! version the daemon speaks (VER). The CLI never speaks the wire protocol itself, so it
//! learns that version from the daemon's `Status`.

use gochat_proto::ipc;

use crate::context::Ctx;
use crate::error::Result;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(_: Args, ctx: &mut Ctx) -> Result<()> {
    let daemon = match ctx.client_if_running().await? {
        Some(c) => c.status(ipc::Empty {}).await.ok().map(|s| s.into_inner()),
        None => None,
    };
    let json = serde_json::json!({
        "cli_version": env!("CARGO_PKG_VERSION"),
        "protocol_version": daemon.as_ref().map(|d| d.protocol_version),
        "daemon_version": daemon.as_ref().map(|d| d.daemon_version.clone()),
    });
    ctx.out.emit(&json, |w| {
        if let Some(d) = &daemon {
            writeln!(w, "gochat protocol version {}", d.protocol_version)?;
        }
        writeln!(w, "gochat-cli version {}", env!("CARGO_PKG_VERSION"))?;
        match &daemon {
            Some(d) => writeln!(w, "gochatd version {} (pid {})", d.daemon_version, d.pid),
            None => writeln!(
                w,
                "gochatd is not running (it reports the protocol version)"
            ),
        }
    })
}
