//! A conversation's history: pages of older messages, and the read marker.

use gochat_client::errors::DaemonError;
use gochat_proto::ipc::{DaemonClient, HistoryRequest, MarkReadRequest, MessageList};

use super::{some_ref, status_error};
use crate::app::{AccountKey, App, BufferKey, History, Level};
use crate::msg::{Effect, Reply};

/// Fetches the page of `limit` messages older than `before` (0: the newest).
pub(super) async fn page(
    c: &mut DaemonClient,
    account: AccountKey,
    peer: String,
    before: i64,
    limit: u32,
) -> Reply {
    let result = c
        .history(HistoryRequest {
            account: some_ref(&account),
            peer: peer.clone(),
            limit,
            before,
        })
        .await
        .map(tonic::Response::into_inner)
        .map_err(|s| status_error(&s));
    Reply::History {
        account,
        peer,
        before,
        result,
    }
}

/// Moves the read marker up to `up_to` (0: all).
pub(super) async fn mark_read(
    c: &mut DaemonClient,
    account: &AccountKey,
    peer: String,
    up_to: i64,
) -> Result<(), DaemonError> {
    c.mark_read(MarkReadRequest {
        account: some_ref(account),
        peer,
        up_to,
    })
    .await
    .map(|_| ())
    .map_err(|s| status_error(&s))
}

/// Merges a page into the conversation and moves its cursor.
pub(super) fn reduce(
    app: &mut App,
    account: AccountKey,
    peer: String,
    before: i64,
    result: Result<MessageList, DaemonError>,
) -> Vec<Effect> {
    let Some(conv) = app.conversation_mut(&account, &peer) else {
        return Vec::new();
    };
    match result {
        Ok(list) => {
            if let Some(newest) = list.messages.iter().max_by_key(|m| m.id)
                && newest.id > conv.last_id
            {
                conv.last_id = newest.id;
                conv.last_time = newest.local_time;
            }
            conv.buffer.merge(list.messages);
            // A refresh of the newest page keeps the older cursor.
            conv.history = match conv.history {
                History::Loaded { next_before }
                    if before == 0 && conv.buffer.first_message_id() < Some(list.next_before) =>
                {
                    History::Loaded { next_before }
                }
                _ => History::Loaded {
                    next_before: list.next_before,
                },
            };
            if conv.marker_on_load {
                conv.marker_on_load = false;
                conv.unread_marker = conv
                    .buffer
                    .messages()
                    .find(|m| !m.read && !m.outgoing)
                    .map(|m| m.id);
            }
            Vec::new()
        }
        Err(e) => {
            conv.history = if before == 0 {
                History::NotLoaded
            } else {
                History::Loaded {
                    next_before: before,
                }
            };
            app.notice(
                BufferKey::Conv(account, peer),
                Level::Error,
                format!("could not load history: {e}"),
            );
            Vec::new()
        }
    }
}
