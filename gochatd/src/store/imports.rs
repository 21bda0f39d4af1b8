//! Bulk imports (history from another client): what is already stored, and many messages
//! written in one transaction.

use std::collections::HashMap;

use sqlx::Row;

use super::messages::insert_message_on;
use super::{BEGIN_WRITE, NewMessage, Store, StoreError};

/// What identifies an imported message when it is imported again: the peer, the direction,
/// the stamp and the text. Two equal messages (same text to the same peer in the same
/// second) are told apart by counting them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MessageKey {
    /// The other user.
    pub peer: String,
    /// Sent by the local user.
    pub outgoing: bool,
    /// Unix seconds.
    pub stamp: i64,
    /// The text.
    pub text: String,
}

impl MessageKey {
    /// The key of a message about to be stored.
    pub fn of(m: &NewMessage) -> MessageKey {
        MessageKey {
            peer: m.peer.clone(),
            outgoing: m.outgoing,
            stamp: m.stamp,
            text: m.text.clone(),
        }
    }
}

impl Store {
    /// How many messages of account `account_id` have each key.
    pub async fn message_key_counts(
        &self,
        account_id: i64,
    ) -> Result<HashMap<MessageKey, usize>, StoreError> {
        let rows = sqlx::query(
            "SELECT peer, outgoing, stamp, text, COUNT(*) AS n FROM messages \
             WHERE account_id = ?1 GROUP BY peer, outgoing, stamp, text",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        let mut out = HashMap::with_capacity(rows.len());
        for row in &rows {
            let n: i64 = row.try_get("n")?;
            out.insert(
                MessageKey {
                    peer: row.try_get("peer")?,
                    outgoing: row.try_get("outgoing")?,
                    stamp: row.try_get("stamp")?,
                    text: row.try_get("text")?,
                },
                usize::try_from(n).unwrap_or(0),
            );
        }
        Ok(out)
    }

    /// Stores `messages` (indexed for search like any other) in one transaction: all or
    /// none. Returns how many were stored.
    pub async fn import_messages(&self, messages: &[NewMessage]) -> Result<usize, StoreError> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        for m in messages {
            insert_message_on(&mut *tx, m).await?;
        }
        tx.commit().await?;
        Ok(messages.len())
    }
}
