//! Importing a Go client's client.db (`/import go-client PATH`): the call, and a notice
//! saying what was imported.

use gochat_client::errors::DaemonError;
use gochat_proto::ipc::{DaemonClient, ImportGoClientReply, ImportGoClientRequest};

use super::status_error;
use crate::app::{App, Level};
use crate::msg::{Call, Effect, Reply};
use crate::secret::Secret;

/// Asks the daemon to import every local user of the database at `path`.
pub(super) async fn run(
    c: &mut DaemonClient,
    path: String,
    go_password: &Secret,
    passphrase: &Secret,
) -> Reply {
    let result = c
        .import_go_client(ImportGoClientRequest {
            db_path: path.clone(),
            users: Vec::new(),
            go_password: go_password.expose().to_owned(),
            passphrase: passphrase.expose().to_owned(),
        })
        .await
        .map(tonic::Response::into_inner)
        .map_err(|s| status_error(&s));
    Reply::GoImported { path, result }
}

/// The report, one line per server and account.
pub fn summary(path: &str, reply: &ImportGoClientReply) -> String {
    let mut lines = vec![format!("imported from the Go client's {path}:")];
    for s in &reply.servers {
        let p = s.profile.clone().unwrap_or_default();
        let how = if s.created {
            "added".to_owned()
        } else if p.name == s.go_name {
            "already there".to_owned()
        } else {
            format!("already there as {}", p.name)
        };
        lines.push(format!(
            "  server {} ({}:{}{}): {how}",
            s.go_name,
            p.host,
            p.port,
            if p.tls { ", tls" } else { "" }
        ));
    }
    for a in &reply.accounts {
        let r = a
            .account
            .as_ref()
            .and_then(|a| a.r#ref.clone())
            .unwrap_or_default();
        lines.push(format!(
            "  account {}@{}: {}; {} contacts pinned, {} already; {} messages imported, {} already there",
            r.username,
            r.server,
            if a.created { "imported" } else { "already there" },
            a.contacts_pinned.len(),
            a.contacts_unchanged,
            a.messages_imported,
            a.messages_unchanged,
        ));
        for skipped in &a.contacts_skipped {
            lines.push(format!("    skipped {skipped}"));
        }
    }
    lines.join("\n")
}

/// Reports the outcome, and reloads the profiles, accounts and conversations.
pub(super) fn reduce(
    app: &mut App,
    path: String,
    result: Result<ImportGoClientReply, DaemonError>,
) -> Vec<Effect> {
    match result {
        Ok(reply) => {
            app.notice_here(Level::Success, summary(&path, &reply));
            vec![Effect::Call(Call::Reload)]
        }
        Err(e) => {
            let text = format!("import of {path} failed: {e}");
            app.notice_here(Level::Error, text.clone());
            app.flash(Level::Error, text);
            Vec::new()
        }
    }
}
