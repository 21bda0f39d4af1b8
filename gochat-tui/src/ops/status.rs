//! The daemon's status: versions and every link.

use gochat_client::errors::DaemonError;
use gochat_proto::ipc::{DaemonClient, Empty, LinkState, StatusReply};

use super::status_error;
use crate::app::{AccountKey, App, Level, link_state_name, permission_name};
use crate::msg::{Effect, Reply};

/// Fetches the status.
pub(super) async fn run(c: &mut DaemonClient) -> Reply {
    Reply::Status(
        c.status(Empty {})
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| status_error(&s)),
    )
}

/// Prints versions and links.
pub(super) fn reduce(app: &mut App, result: Result<StatusReply, DaemonError>) -> Vec<Effect> {
    match result {
        Ok(s) => {
            let mut lines = vec![format!(
                "gochat-tui {}, gochatd {} (pid {}), protocol v{}",
                env!("CARGO_PKG_VERSION"),
                s.daemon_version,
                s.pid,
                s.protocol_version
            )];
            for l in &s.links {
                let who = l
                    .account
                    .as_ref()
                    .map(AccountKey::from_ref)
                    .map(|a| a.label())
                    .unwrap_or_default();
                let state =
                    link_state_name(LinkState::try_from(l.state).unwrap_or(LinkState::Unspecified));
                let detail = if l.detail.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", l.detail)
                };
                lines.push(format!(
                    "  {who}: {state}{detail}, {}, {}",
                    permission_name(l.permission),
                    if l.secure { "TLS" } else { "plain TCP" }
                ));
            }
            app.notice_here(Level::Info, lines.join("\n"));
        }
        Err(e) => app.notice_here(Level::Error, format!("status failed: {e}")),
    }
    Vec::new()
}
