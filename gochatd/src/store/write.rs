//! Write transactions: several changes (typically a message row and the event that
//! announces it) committed together or not at all.

use sqlx::{Sqlite, Transaction};

use super::events::append_event_on;
use super::messages::{insert_message_on, insert_received_on, mark_read_on, set_message_state_on};
use super::{BEGIN_WRITE, MessageRow, MessageState, NewMessage, Store, StoreError};
use crate::reason::Reason;

/// An open write transaction (it holds SQLite's write lock). Dropping it without
/// [`commit`](WriteTx::commit) rolls every change back.
#[derive(Debug)]
pub struct WriteTx {
    tx: Transaction<'static, Sqlite>,
}

impl Store {
    /// Starts a write transaction (`BEGIN IMMEDIATE`).
    pub async fn begin_write(&self) -> Result<WriteTx, StoreError> {
        Ok(WriteTx {
            tx: self.pool.begin_with(BEGIN_WRITE).await?,
        })
    }
}

impl WriteTx {
    /// [`Store::insert_message`] inside this transaction.
    pub async fn insert_message(&mut self, m: &NewMessage) -> Result<MessageRow, StoreError> {
        insert_message_on(&mut *self.tx, m).await
    }

    /// Stores a received message unless one with the same `digest` is stored already
    /// (`None`: a repeated delivery).
    pub async fn insert_received(
        &mut self,
        m: &NewMessage,
        digest: &[u8],
    ) -> Result<Option<MessageRow>, StoreError> {
        insert_received_on(&mut *self.tx, m, digest).await
    }

    /// [`Store::set_message_state`] inside this transaction.
    pub async fn set_message_state(
        &mut self,
        id: i64,
        state: MessageState,
        error: Option<(Reason, &str)>,
    ) -> Result<MessageRow, StoreError> {
        set_message_state_on(&mut *self.tx, id, state, error).await
    }

    /// [`Store::mark_read`] inside this transaction.
    pub async fn mark_read(
        &mut self,
        account_id: i64,
        peer: &str,
        up_to: Option<i64>,
    ) -> Result<i64, StoreError> {
        mark_read_on(&mut self.tx, account_id, peer, up_to).await
    }

    /// [`Store::append_event`] inside this transaction.
    pub async fn append_event(&mut self, payload: &[u8]) -> Result<u64, StoreError> {
        append_event_on(&mut *self.tx, payload).await
    }

    /// The transaction's connection, for statements kept in other store modules.
    pub(super) fn conn(&mut self) -> &mut sqlx::SqliteConnection {
        &mut self.tx
    }

    /// Makes every change of the transaction durable at once.
    pub async fn commit(self) -> Result<(), StoreError> {
        Ok(self.tx.commit().await?)
    }
}
