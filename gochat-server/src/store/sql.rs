//! The SQL text of the store: the statements both backends share, and the [`Dialect`] trait
//! through which a backend supplies the few that differ (its impls live in `sqlite.rs` and
//! `mysql.rs`).
//!
//! Both backends use `?` placeholders. Integer columns are read as signed `i64` (see
//! [`super::rows`]), so MariaDB's one unsigned column, `permission`, is cast in the select
//! lists.

use sqlx::{Database, Pool, Transaction};

/// Rows per multi-row `INSERT` and ids per `IN (...)` list: 500 × 4 placeholders stays far
/// below both MySQL's (65,535) and SQLite's (32,766) limits.
pub(super) const CHUNK: usize = 500;

/// What differs between the backends: the driver, how a write transaction starts and when
/// a failed one is run again, and the few statements whose SQL is not the same.
/// [`super::SqlStore`] runs everything else the same way on both.
pub trait Dialect: Send + Sync + 'static {
    /// The sqlx driver.
    type Db: Database;

    /// Appended to the reads that lock the rows they read for the rest of the transaction
    /// (`""` where the transaction already holds the whole database's write lock).
    const LOCK: &'static str;
    /// Lowers a mailbox's counters, never below zero: binds count, bytes, user id.
    const RELEASE_MAILBOX: &'static str;
    /// Deletes every message stored for the user with the bound name.
    const DELETE_MAILBOX_OF_NAME: &'static str;
    /// Sets every mailbox's quota counters from the rows themselves (used by an import,
    /// which writes messages outside the quota path).
    const RECOUNT_MAILBOXES: &'static str;
    /// How often a write transaction that [`Dialect::retry`] accepts is run again.
    const WRITE_RETRIES: u32 = 0;

    /// Starts a write transaction.
    fn begin_write(
        pool: &Pool<Self::Db>,
    ) -> impl Future<Output = Result<Transaction<'static, Self::Db>, sqlx::Error>> + Send + '_;

    /// Whether a write transaction that failed with `e` was rolled back as a whole and may
    /// simply run again (a deadlock victim).
    fn retry(e: &sqlx::Error) -> bool {
        let _ = e;
        false
    }

    /// Rows an `UPDATE` matched (the drivers report it in their own result types).
    fn rows_affected(result: &<Self::Db as Database>::QueryResult) -> u64;
}

/// Columns of a [`super::rows::UserRow`].
macro_rules! user_columns {
    () => {
        "id, username, public_key, CAST(permission AS SIGNED) AS permission"
    };
}

/// A new user with permission 0: binds name, PEM key, key fingerprint.
pub(super) const REGISTER: &str = "INSERT INTO users (username, public_key, key_fingerprint, \
     permission) VALUES (?, ?, ?, 0)";

/// One user by exact name (a [`super::rows::UserRow`]).
pub(super) const USER_BY_NAME: &str =
    concat!("SELECT ", user_columns!(), " FROM users WHERE username = ?");

/// Every user row, deregistered ones included, oldest first.
pub(super) const ALL_USERS: &str = concat!("SELECT ", user_columns!(), " FROM users ORDER BY id");

/// Drops the key (the name stays taken) and zeroes the mailbox counters of the bound name.
pub(super) const CLEAR_KEY: &str = "UPDATE users SET public_key = NULL, key_fingerprint = NULL, \
     stored_messages = 0, stored_bytes = 0 WHERE username = ?";

/// Binds the level ([`super::rows::permission_to_db`]) and the name.
pub(super) const SET_PERMISSION: &str = "UPDATE users SET permission = ? WHERE username = ?";

/// Registered users above a row id, in registration order: binds after, limit.
pub(super) const VISIT_USERS: &str = "SELECT id, username, CAST(permission AS SIGNED) AS permission \
     FROM users WHERE id > ? AND public_key IS NOT NULL ORDER BY id LIMIT ?";

/// A recipient's messages above an id, oldest first: binds recipient, after, limit.
pub(super) const PENDING_BATCH: &str = "SELECT m.id, u.username, m.stamp, m.ciphertext \
     FROM messages m JOIN users u ON u.id = m.sender_id \
     WHERE m.recipient_id = ? AND m.id > ? ORDER BY m.id ASC LIMIT ?";

/// Whether one row of a recipient is still stored: binds id, recipient.
pub(super) const MESSAGE_EXISTS: &str =
    "SELECT COUNT(*) FROM messages WHERE id = ? AND recipient_id = ?";

/// The highest message row id (0 if none).
pub(super) const LAST_MESSAGE_ID: &str =
    "SELECT CAST(COALESCE(MAX(id), 0) AS SIGNED) FROM messages";

/// A recipient's mailbox counters.
pub(super) const MAILBOX_USAGE: &str =
    "SELECT stored_messages, stored_bytes FROM users WHERE id = ?";

/// Messages waiting for a recipient.
pub(super) const COUNT_PENDING: &str = "SELECT COUNT(*) FROM messages WHERE recipient_id = ?";

/// Liveness check.
pub(super) const PING: &str = "SELECT 1";

/// `INSERT INTO messages (...) VALUES (?,?,?,?),...` for `rows` rows.
pub(super) fn insert_messages(rows: usize) -> String {
    const HEAD: &str = "INSERT INTO messages (sender_id, recipient_id, stamp, ciphertext) VALUES ";
    let mut sql = String::with_capacity(HEAD.len() + rows * 10);
    sql.push_str(HEAD);
    for i in 0..rows {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str("(?,?,?,?)");
    }
    sql
}

/// `head` followed by `(?,?,...)` with `n` placeholders and then `tail`.
pub(super) fn in_list(head: &str, n: usize, tail: &str) -> String {
    let mut sql = String::with_capacity(head.len() + n * 2 + 1 + tail.len());
    sql.push_str(head);
    sql.push('(');
    for i in 0..n {
        if i > 0 {
            sql.push(',');
        }
        sql.push('?');
    }
    sql.push(')');
    sql.push_str(tail);
    sql
}

/// `DELETE FROM messages WHERE recipient_id = ? AND id IN (?,...)` for `n` ids.
pub(super) fn delete_messages(n: usize) -> String {
    in_list(
        "DELETE FROM messages WHERE recipient_id = ? AND id IN ",
        n,
        "",
    )
}

/// Count and total ciphertext bytes (a [`super::rows::MeasureRow`]) of the rows
/// [`delete_messages`] would delete, locked as the dialect locks.
pub(super) fn measure_messages<D: Dialect>(n: usize) -> String {
    in_list(
        "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(LENGTH(ciphertext)), 0) AS SIGNED) AS b \
         FROM messages WHERE recipient_id = ? AND id IN ",
        n,
        D::LOCK,
    )
}

/// Raises the counters of `n` mailboxes by per-mailbox amounts, in one statement:
/// binds `id, count` × n, `id, bytes` × n, then the n ids.
pub(super) fn charge_mailboxes(n: usize) -> String {
    let mut sql = String::from("UPDATE users SET stored_messages = stored_messages + CASE id");
    for _ in 0..n {
        sql.push_str(" WHEN ? THEN ?");
    }
    sql.push_str(" ELSE 0 END, stored_bytes = stored_bytes + CASE id");
    for _ in 0..n {
        sql.push_str(" WHEN ? THEN ?");
    }
    sql.push_str(" ELSE 0 END WHERE id IN ");
    in_list(&sql, n, "")
}

/// Locks one recipient's mailbox row (binds the id), as [`mailboxes`] does: a delete takes it
/// before the message rows, in the order a store takes them, so the two never deadlock.
pub(super) fn lock_mailbox<D: Dialect>() -> String {
    format!("SELECT id FROM users WHERE id = ?{}", D::LOCK)
}

/// Liveness and mailbox counters (a [`super::rows::MailboxRow`]) of `n` users, locked as
/// the dialect locks.
pub(super) fn mailboxes<D: Dialect>(n: usize) -> String {
    in_list(
        "SELECT id, CAST(public_key IS NOT NULL AS SIGNED) AS live, stored_messages, stored_bytes \
         FROM users WHERE id IN ",
        n,
        &format!(" ORDER BY id{}", D::LOCK),
    )
}
