//! The snapshot: everything the screen needs after attaching, fetched again after a change
//! to the server or account lists.

use gochat_client::errors::DaemonError;
use gochat_proto::ipc::{DaemonClient, Empty};

use super::status_error;
use crate::app::{AccountKey, App, BufferKey, Level};
use crate::msg::{Effect, Reply, Snapshot};

/// Fetches a fresh snapshot.
pub(super) async fn run(c: &mut DaemonClient) -> Reply {
    Reply::Snapshot(snapshot(c).await.map(Box::new))
}

/// Everything the screen needs after attaching.
pub async fn snapshot(client: &mut DaemonClient) -> Result<Snapshot, DaemonError> {
    let e = |s: tonic::Status| status_error(&s);
    let status = client.status(Empty {}).await.map_err(e)?.into_inner();
    let servers = client
        .list_servers(Empty {})
        .await
        .map_err(e)?
        .into_inner()
        .servers;
    let accounts = client
        .list_accounts(Empty {})
        .await
        .map_err(e)?
        .into_inner()
        .accounts;
    let mut conversations = Vec::new();
    let mut contacts = Vec::new();
    for account in &accounts {
        if let Some(r) = &account.r#ref {
            let list = client
                .conversations(r.clone())
                .await
                .map_err(e)?
                .into_inner();
            conversations.push((AccountKey::from_ref(r), list));
            let listed = client
                .list_contacts(r.clone())
                .await
                .map_err(e)?
                .into_inner();
            contacts.push((AccountKey::from_ref(r), listed.contacts));
        }
    }
    Ok(Snapshot {
        status,
        servers,
        accounts,
        conversations,
        contacts,
    })
}

/// Shows the snapshot, or says why there is none.
pub(super) fn reduce(app: &mut App, result: Result<Box<Snapshot>, DaemonError>) -> Vec<Effect> {
    match result {
        Ok(snapshot) => crate::events::apply_snapshot(app, *snapshot),
        Err(e) => {
            app.notice(
                BufferKey::System,
                Level::Error,
                format!("could not reload from gochatd: {e}"),
            );
            Vec::new()
        }
    }
}
