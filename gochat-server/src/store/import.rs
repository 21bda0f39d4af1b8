//! Bulk writes for `gochat-server import-go`: users created in the state they had on the Go
//! server (deregistered ones included) and their stored messages, in one transaction
//! ([`super::SqlStore`] runs it), with a digest per imported message so a second run never stores it again.

use std::collections::{HashMap, HashSet};

use gochat_proto::wire::Permission;
use sqlx::mysql::MySqlPool;

use super::StoreError;

/// SHA-256 identity of one imported source message.
pub type MessageDigest = [u8; 32];

/// A user row to create as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportUser {
    /// Exact username bytes.
    pub username: Vec<u8>,
    /// PEM text and its SPKI fingerprint; `None` creates the user deregistered (name reserved).
    pub key: Option<(Vec<u8>, [u8; 32])>,
    /// Permission level.
    pub permission: Permission,
}

/// A message to store for a user, by usernames (users in the batch or already in the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportMessage {
    /// Sender's username.
    pub sender: Vec<u8>,
    /// Recipient's username.
    pub recipient: Vec<u8>,
    /// Unix seconds.
    pub stamp: i64,
    /// Ciphertext bytes.
    pub ciphertext: Vec<u8>,
    /// Identity of the source row, recorded with the message.
    pub digest: MessageDigest,
}

/// Everything one import writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportBatch {
    /// Users to create, in this order.
    pub users: Vec<ImportUser>,
    /// Messages to store, in delivery order.
    pub messages: Vec<ImportMessage>,
}

impl ImportBatch {
    /// Whether the batch writes nothing.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.messages.is_empty()
    }
}

/// A user as it was on the Go server: binds name, PEM key or NULL, fingerprint or NULL,
/// level.
pub(super) const INSERT_USER: &str =
    "INSERT INTO users (username, public_key, key_fingerprint, permission) VALUES (?, ?, ?, ?)";

/// The digests of the messages imported so far.
pub(super) const IMPORTED_DIGESTS: &str = "SELECT digest FROM go_imported_messages";

/// `INSERT INTO go_imported_messages (digest) VALUES (?),...` for `n` digests.
pub(super) fn insert_digests_sql(n: usize) -> String {
    let mut sql = String::from("INSERT INTO go_imported_messages (digest) VALUES ");
    for i in 0..n {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str("(?)");
    }
    sql
}

/// The user id of every name, after the batch's users were inserted.
pub(super) fn resolve(ids: &HashMap<Vec<u8>, i64>, name: &[u8]) -> Result<i64, StoreError> {
    ids.get(name)
        .copied()
        .ok_or_else(|| StoreError::ImportUnknownUser(String::from_utf8_lossy(name).into_owned()))
}

/// Digests read back from the table (rows of another length are ignored).
pub(super) fn digests(rows: Vec<Vec<u8>>) -> HashSet<MessageDigest> {
    rows.into_iter()
        .filter_map(|d| MessageDigest::try_from(d.as_slice()).ok())
        .collect()
}

/// Fails with [`StoreError::GoSchema`] when the MariaDB database holds the Go server's tables,
/// before any migration could write to it.
pub(super) async fn refuse_go_schema(pool: &MySqlPool) -> Result<(), StoreError> {
    let go_columns: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'users' AND COLUMN_NAME = 'user_id'",
    )
    .fetch_one(pool)
    .await?;
    if go_columns > 0 {
        return Err(StoreError::GoSchema);
    }
    Ok(())
}
