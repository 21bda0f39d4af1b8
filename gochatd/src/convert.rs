//! Conversions from store rows to API messages.

use gochat_proto::ipc::{self, AccountRef};

use crate::store::{MessageRow, MessageState};

/// The API form of a stored message.
pub fn message(row: &MessageRow, account: &AccountRef) -> ipc::Message {
    ipc::Message {
        id: row.id,
        account: Some(account.clone()),
        peer: row.peer.clone(),
        outgoing: row.outgoing,
        text: row.text.clone(),
        stamp: row.stamp,
        state: message_state(row.state) as i32,
        error: row.error.clone().unwrap_or_default(),
        read: row.read,
        local_time: row.local_time_ms,
    }
}

/// The API form of a message state.
pub fn message_state(state: MessageState) -> ipc::MessageState {
    match state {
        MessageState::Queued => ipc::MessageState::Queued,
        MessageState::Sent => ipc::MessageState::Sent,
        MessageState::Failed => ipc::MessageState::Failed,
        MessageState::Received => ipc::MessageState::Received,
    }
}
