//! Sending a message: the stored messages come back and show like live ones.

use gochat_client::errors::DaemonError;
use gochat_proto::ipc::{DaemonClient, Message, SendRequest};

use super::{some_ref, status_error};
use crate::app::{AccountKey, App, BufferKey, Level};
use crate::msg::{Effect, Reply};

/// Asks the daemon to send `text` to `to`.
pub(super) async fn run(
    c: &mut DaemonClient,
    account: AccountKey,
    to: String,
    text: String,
) -> Reply {
    let result = c
        .send(SendRequest {
            account: some_ref(&account),
            to: to.clone(),
            text,
            wait: false,
        })
        .await
        .map(|r| r.into_inner().messages)
        .map_err(|s| status_error(&s));
    Reply::Sent {
        account,
        to,
        result,
    }
}

/// Shows the stored messages, or says in the conversation why nothing was sent.
pub(super) fn reduce(
    app: &mut App,
    account: AccountKey,
    to: String,
    result: Result<Vec<Message>, DaemonError>,
) -> Vec<Effect> {
    match result {
        Ok(messages) => {
            let mut effects = Vec::new();
            for m in messages {
                effects.extend(crate::events::on_message(app, m));
            }
            effects
        }
        Err(e) => {
            app.notice(
                BufferKey::Conv(account, to.clone()),
                Level::Error,
                format!("could not send to {to}: {e}"),
            );
            app.flash(Level::Error, format!("not sent: {e}"));
            Vec::new()
        }
    }
}
