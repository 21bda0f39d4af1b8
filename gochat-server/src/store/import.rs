//! Bulk writes for `gochat-server import-go`: users created in the state they had on the Go
//! server (deregistered ones included) and their stored messages, in one transaction per
//! backend, with a digest per imported message so a second run never stores it again.

use std::collections::{HashMap, HashSet};

use gochat_proto::wire::Permission;
use sqlx::Row;
use sqlx::mysql::MySqlPool;
use sqlx::sqlite::SqlitePool;

use super::rows::{UserRow, permission_to_db};
use super::sql::{self, CHUNK};
use super::{StoreError, UserRecord};

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

/// `INSERT INTO go_imported_messages (digest) VALUES (?),...` for `n` digests.
fn insert_digests_sql(n: usize) -> String {
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
fn resolve(ids: &HashMap<Vec<u8>, i64>, name: &[u8]) -> Result<i64, StoreError> {
    ids.get(name)
        .copied()
        .ok_or_else(|| StoreError::ImportUnknownUser(String::from_utf8_lossy(name).into_owned()))
}

/// Digests read back from the table (rows of another length are ignored).
fn digests(rows: Vec<Vec<u8>>) -> HashSet<MessageDigest> {
    rows.into_iter()
        .filter_map(|d| MessageDigest::try_from(d.as_slice()).ok())
        .collect()
}

/// Writes the batch with one backend's transaction type; the bodies are the same SQL.
macro_rules! apply_batch {
    ($tx:expr, $batch:expr) => {{
        let tx = $tx;
        let batch: &ImportBatch = $batch;
        for user in &batch.users {
            sqlx::query(
                "INSERT INTO users (username, public_key, key_fingerprint, permission) \
                 VALUES (?, ?, ?, ?)",
            )
            .bind(&user.username[..])
            .bind(user.key.as_ref().map(|(pem, _)| &pem[..]))
            .bind(user.key.as_ref().map(|(_, fp)| &fp[..]))
            .bind(permission_to_db(user.permission))
            .execute(&mut **tx)
            .await?;
        }
        let mut ids = HashMap::new();
        if !batch.messages.is_empty() {
            for row in sqlx::query("SELECT id, username FROM users")
                .fetch_all(&mut **tx)
                .await?
            {
                let id: i64 = row.try_get("id")?;
                let name: Vec<u8> = row.try_get("username")?;
                ids.insert(name, id);
            }
        }
        for chunk in batch.messages.chunks(CHUNK) {
            let sql = sql::insert_messages(chunk.len());
            let mut query = sqlx::query(&sql);
            for m in chunk {
                query = query
                    .bind(resolve(&ids, &m.sender)?)
                    .bind(resolve(&ids, &m.recipient)?)
                    .bind(m.stamp)
                    .bind(&m.ciphertext[..]);
            }
            query.execute(&mut **tx).await?;
            let sql = insert_digests_sql(chunk.len());
            let mut query = sqlx::query(&sql);
            for m in chunk {
                query = query.bind(&m.digest[..]);
            }
            query.execute(&mut **tx).await?;
        }
        Ok::<(), StoreError>(())
    }};
}

/// Every user, oldest first (SQLite).
pub(super) async fn all_users_sqlite(pool: &SqlitePool) -> Result<Vec<UserRecord>, StoreError> {
    let rows: Vec<UserRow> = sqlx::query_as(sql::ALL_USERS).fetch_all(pool).await?;
    Ok(rows.into_iter().map(UserRecord::from).collect())
}

/// Every user, oldest first (MariaDB).
pub(super) async fn all_users_mysql(pool: &MySqlPool) -> Result<Vec<UserRecord>, StoreError> {
    let rows: Vec<UserRow> = sqlx::query_as(sql::ALL_USERS).fetch_all(pool).await?;
    Ok(rows.into_iter().map(UserRecord::from).collect())
}

/// The imported digests (SQLite).
pub(super) async fn imported_sqlite(
    pool: &SqlitePool,
) -> Result<HashSet<MessageDigest>, StoreError> {
    let rows: Vec<Vec<u8>> = sqlx::query_scalar("SELECT digest FROM go_imported_messages")
        .fetch_all(pool)
        .await?;
    Ok(digests(rows))
}

/// The imported digests (MariaDB).
pub(super) async fn imported_mysql(pool: &MySqlPool) -> Result<HashSet<MessageDigest>, StoreError> {
    let rows: Vec<Vec<u8>> = sqlx::query_scalar("SELECT digest FROM go_imported_messages")
        .fetch_all(pool)
        .await?;
    Ok(digests(rows))
}

/// Sets every mailbox's quota counters from the rows themselves (SQLite). An import is rare
/// and writes messages outside the quota path, so a full recount in its transaction keeps the
/// counters exact.
const RECOUNT_MAILBOXES_SQLITE: &str = "UPDATE users SET \
     stored_messages = (SELECT COUNT(*) FROM messages m WHERE m.recipient_id = users.id), \
     stored_bytes = (SELECT COALESCE(SUM(length(m.ciphertext)), 0) FROM messages m \
                     WHERE m.recipient_id = users.id)";

/// [`RECOUNT_MAILBOXES_SQLITE`] for MariaDB.
const RECOUNT_MAILBOXES_MYSQL: &str = "UPDATE users u LEFT JOIN \
     (SELECT recipient_id, COUNT(*) AS n, SUM(LENGTH(ciphertext)) AS b \
      FROM messages GROUP BY recipient_id) m ON m.recipient_id = u.id \
     SET u.stored_messages = COALESCE(m.n, 0), u.stored_bytes = COALESCE(m.b, 0)";

/// Writes the batch in one `BEGIN IMMEDIATE` transaction (SQLite).
pub(super) async fn apply_sqlite(pool: &SqlitePool, batch: &ImportBatch) -> Result<(), StoreError> {
    if batch.is_empty() {
        return Ok(());
    }
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    apply_batch!(&mut tx, batch)?;
    sqlx::query(RECOUNT_MAILBOXES_SQLITE)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Writes the batch in one transaction (MariaDB).
pub(super) async fn apply_mysql(pool: &MySqlPool, batch: &ImportBatch) -> Result<(), StoreError> {
    if batch.is_empty() {
        return Ok(());
    }
    let mut tx = pool.begin().await?;
    apply_batch!(&mut tx, batch)?;
    sqlx::query(RECOUNT_MAILBOXES_MYSQL)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
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
