//! Messages, conversations, read markers and full-text search.

use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::Row;

use super::rows::{MESSAGE_COLUMNS, message_from_row};
use super::{
    BEGIN_WRITE, ConversationRow, MessageRow, MessageState, NewMessage, Store, StoreError,
    missing_parent_is_not_found, to_sql_int,
};
use crate::reason::Reason;

/// [`MESSAGE_COLUMNS`] qualified with the table alias `m`.
fn message_columns_m() -> String {
    MESSAGE_COLUMNS
        .split(", ")
        .map(|c| format!("m.{c} AS {c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Unix milliseconds now (0 if the clock is before 1970).
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| to_sql_int(d.as_millis()))
        .unwrap_or(0)
}

/// Turns user input into an FTS5 query that matches messages containing every word, with no
/// FTS syntax: each whitespace-separated term becomes a quoted string (inner quotes doubled),
/// so `"hi" OR (` is three plain terms. Terms without any letter or digit are dropped (the
/// tokenizer would find no token in them). `None` when nothing searchable is left.
pub(super) fn fts_query(input: &str) -> Option<String> {
    let terms: Vec<String> = input
        .split_whitespace()
        .filter(|t| t.chars().any(char::is_alphanumeric))
        .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
        .collect();
    if terms.is_empty() {
        None
    } else {
        Some(terms.join(" "))
    }
}

impl Store {
    /// Stores a message (indexing its text for [`search`](Store::search) in the same
    /// statement) and returns it with its id and local time. Outgoing messages are stored as
    /// read. [`StoreError::NotFound`] if there is no account `m.account_id`.
    pub async fn insert_message(&self, m: &NewMessage) -> Result<MessageRow, StoreError> {
        insert_message_on(&self.pool, m).await
    }

    /// Sets the state and error (why it failed, and the text for humans) of message `id`
    /// and returns the updated message. [`StoreError::NotFound`] if there is no such message.
    pub async fn set_message_state(
        &self,
        id: i64,
        state: MessageState,
        error: Option<(Reason, &str)>,
    ) -> Result<MessageRow, StoreError> {
        set_message_state_on(&self.pool, id, state, error).await
    }

    /// How many bytes of outgoing message `id`'s text the server has acknowledged (0 if
    /// nothing yet). [`StoreError::NotFound`] if there is no such message.
    pub async fn sent_bytes(&self, id: i64) -> Result<usize, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT sent_bytes FROM messages WHERE id = ?1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// Records that the server acknowledged the first `bytes` bytes of message `id`'s text.
    /// This is delivery bookkeeping, invisible in the API, so it has no event.
    pub async fn set_sent_bytes(&self, id: i64, bytes: usize) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE messages SET sent_bytes = ?2 WHERE id = ?1")
            .bind(id)
            .bind(to_sql_int(bytes))
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// The message with id `id`.
    pub async fn message(&self, id: i64) -> Result<Option<MessageRow>, StoreError> {
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(message_from_row).transpose()?)
    }

    /// The outbox of account `account_id`: outgoing messages still queued, oldest first.
    pub async fn queued_messages(&self, account_id: i64) -> Result<Vec<MessageRow>, StoreError> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages \
             WHERE account_id = ?1 AND outgoing = 1 AND state = ?2 ORDER BY id"
        );
        let rows = sqlx::query(&sql)
            .bind(account_id)
            .bind(MessageState::Queued.as_i64())
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(message_from_row)
            .collect::<Result<_, _>>()?)
    }

    /// Up to `limit` messages exchanged with `peer`, newest first, only those with an id
    /// below `before` when given (pass the last id of a page to get the next, older one).
    pub async fn history(
        &self,
        account_id: i64,
        peer: &str,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<MessageRow>, StoreError> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages \
             WHERE account_id = ?1 AND peer = ?2 AND id < ?3 ORDER BY id DESC LIMIT ?4"
        );
        let rows = sqlx::query(&sql)
            .bind(account_id)
            .bind(peer)
            .bind(before.unwrap_or(i64::MAX))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(message_from_row)
            .collect::<Result<_, _>>()?)
    }

    /// One entry per peer of account `account_id`: the newest message and the number of
    /// unread incoming messages; the most recently active conversation first.
    pub async fn conversations(&self, account_id: i64) -> Result<Vec<ConversationRow>, StoreError> {
        let sql = format!(
            "WITH per_peer AS ( \
                 SELECT MAX(id) AS last_id, \
                        SUM(CASE WHEN outgoing = 0 AND read = 0 THEN 1 ELSE 0 END) AS unread \
                 FROM messages WHERE account_id = ?1 GROUP BY peer) \
             SELECT {}, per_peer.unread AS unread \
             FROM per_peer JOIN messages m ON m.id = per_peer.last_id \
             ORDER BY m.id DESC",
            message_columns_m()
        );
        let rows = sqlx::query(&sql)
            .bind(account_id)
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let last = message_from_row(row)?;
            let unread: i64 = row.try_get("unread")?;
            out.push(ConversationRow {
                peer: last.peer.clone(),
                unread: u32::try_from(unread).unwrap_or(u32::MAX),
                last,
            });
        }
        Ok(out)
    }

    /// Marks incoming messages from `peer` read: those with an id up to `up_to`, or all when
    /// `None`. Returns the highest id that was newly marked (0 if none was).
    pub async fn mark_read(
        &self,
        account_id: i64,
        peer: &str,
        up_to: Option<i64>,
    ) -> Result<i64, StoreError> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let highest = mark_read_on(&mut tx, account_id, peer, up_to).await?;
        tx.commit().await?;
        Ok(highest)
    }

    /// Full-text search in the messages of account `account_id`, newest first: messages
    /// containing every word of `query` (taken as plain words, never FTS syntax), optionally
    /// only those exchanged with `from` and those stamped at or after `since` (unix
    /// seconds). A query with no searchable word finds nothing.
    pub async fn search(
        &self,
        account_id: i64,
        query: &str,
        from: Option<&str>,
        since: Option<i64>,
        limit: u32,
    ) -> Result<Vec<MessageRow>, StoreError> {
        let Some(fts) = fts_query(query) else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "SELECT {} FROM messages_fts f JOIN messages m ON m.id = f.rowid \
             WHERE f.messages_fts MATCH ?1 AND m.account_id = ?2 \
               AND (?3 IS NULL OR m.peer = ?3) AND (?4 IS NULL OR m.stamp >= ?4) \
             ORDER BY m.id DESC LIMIT ?5",
            message_columns_m()
        );
        let rows = sqlx::query(&sql)
            .bind(fts)
            .bind(account_id)
            .bind(from)
            .bind(since)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(message_from_row)
            .collect::<Result<_, _>>()?)
    }
}

/// [`Store::insert_message`] on any connection (the pool, or a write transaction).
pub(super) async fn insert_message_on<'e, E>(
    exec: E,
    m: &NewMessage,
) -> Result<MessageRow, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Sqlite>,
{
    let sql = format!(
        "INSERT INTO messages (account_id, peer, outgoing, text, stamp, state, error, read, \
         local_time_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7, ?8) \
         RETURNING {MESSAGE_COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(m.account_id)
        .bind(&m.peer)
        .bind(m.outgoing)
        .bind(&m.text)
        .bind(m.stamp)
        .bind(m.state.as_i64())
        .bind(m.read || m.outgoing)
        .bind(now_ms())
        .fetch_one(exec)
        .await
        .map_err(missing_parent_is_not_found)?;
    Ok(message_from_row(&row)?)
}

/// Stores a received message identified by `digest` (see [`received_digest`]) unless a
/// message with the same digest is already stored for the account: `None` then.
pub(super) async fn insert_received_on<'e, E>(
    exec: E,
    m: &NewMessage,
    digest: &[u8],
) -> Result<Option<MessageRow>, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Sqlite>,
{
    let sql = format!(
        "INSERT INTO messages (account_id, peer, outgoing, text, stamp, state, error, read, \
         local_time_ms, digest) VALUES (?1, ?2, 0, ?3, ?4, ?5, NULL, ?6, ?7, ?8) \
         ON CONFLICT DO NOTHING RETURNING {MESSAGE_COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(m.account_id)
        .bind(&m.peer)
        .bind(&m.text)
        .bind(m.stamp)
        .bind(m.state.as_i64())
        .bind(m.read)
        .bind(now_ms())
        .bind(digest)
        .fetch_optional(exec)
        .await
        .map_err(missing_parent_is_not_found)?;
    row.as_ref()
        .map(message_from_row)
        .transpose()
        .map_err(Into::into)
}

/// The identity of a received message: SHA-256 over the sender, a zero byte and the
/// ciphertext. OAEP ciphertexts are randomised, so equal digests mean one message delivered
/// twice.
pub fn received_digest(sender: &str, ciphertext: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    hash.update(sender.as_bytes());
    hash.update([0]);
    hash.update(ciphertext);
    hash.finalize().into()
}

/// [`Store::set_message_state`] on any connection.
pub(super) async fn set_message_state_on<'e, E>(
    exec: E,
    id: i64,
    state: MessageState,
    error: Option<(Reason, &str)>,
) -> Result<MessageRow, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Sqlite>,
{
    let sql = format!(
        "UPDATE messages SET state = ?2, error = ?3, failure_reason = ?4, failure_code = ?5 \
         WHERE id = ?1 RETURNING {MESSAGE_COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(id)
        .bind(state.as_i64())
        .bind(error.map(|(_, text)| text))
        .bind(error.map(|(reason, _)| reason.name()))
        .bind(
            error
                .and_then(|(reason, _)| reason.server_code())
                .map(|c| i64::from(c.code())),
        )
        .fetch_optional(exec)
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(message_from_row(&row)?)
}

/// [`Store::mark_read`] inside a write transaction.
pub(super) async fn mark_read_on(
    conn: &mut sqlx::SqliteConnection,
    account_id: i64,
    peer: &str,
    up_to: Option<i64>,
) -> Result<i64, StoreError> {
    let highest: Option<i64> = sqlx::query_scalar(
        "SELECT MAX(id) FROM messages \
         WHERE account_id = ?1 AND peer = ?2 AND outgoing = 0 AND read = 0 AND id <= ?3",
    )
    .bind(account_id)
    .bind(peer)
    .bind(up_to.unwrap_or(i64::MAX))
    .fetch_one(&mut *conn)
    .await?;
    let Some(highest) = highest else {
        return Ok(0);
    };
    sqlx::query(
        "UPDATE messages SET read = 1 \
         WHERE account_id = ?1 AND peer = ?2 AND outgoing = 0 AND read = 0 AND id <= ?3",
    )
    .bind(account_id)
    .bind(peer)
    .bind(highest)
    .execute(&mut *conn)
    .await?;
    Ok(highest)
}
