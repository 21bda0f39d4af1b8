//! The embedded SQLite backend (the default when no database URL is configured).
//!
//! One file, WAL journal, `synchronous=FULL` (a committed message survives power loss),
//! foreign keys on, a 5 s busy timeout and a small pool. Write transactions start with
//! `BEGIN IMMEDIATE` so they take the write lock up front and wait in the busy handler
//! instead of failing on a lock upgrade.

use std::path::{Path, PathBuf};
use std::time::Duration;

use gochat_proto::private_file::{self, Prepared};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteQueryResult,
    SqliteSynchronous,
};
use sqlx::{Pool, Sqlite, Transaction};

use super::sql::Dialect;
use super::{SqlStore, StoreError};

/// Migrations of the SQLite schema, embedded at build time.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Connections in the pool (SQLite serialises writers anyway; readers run beside them in WAL).
const MAX_CONNECTIONS: u32 = 4;

/// How long a connection waits for another's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The store on an SQLite file.
pub type SqliteStore = SqlStore<SqliteDialect>;

/// SQLite: writers take the database's write lock with `BEGIN IMMEDIATE`, so reads inside
/// a write transaction need no row locks and no transaction is ever a deadlock victim.
#[derive(Debug)]
pub enum SqliteDialect {}

impl Dialect for SqliteDialect {
    type Db = Sqlite;

    const LOCK: &'static str = "";
    const RELEASE_MAILBOX: &'static str = "UPDATE users SET \
         stored_messages = max(stored_messages - ?, 0), \
         stored_bytes = max(stored_bytes - ?, 0) WHERE id = ?";
    const DELETE_MAILBOX_OF_NAME: &'static str =
        "DELETE FROM messages WHERE recipient_id IN (SELECT id FROM users WHERE username = ?)";
    const RECOUNT_MAILBOXES: &'static str = "UPDATE users SET \
         stored_messages = (SELECT COUNT(*) FROM messages m WHERE m.recipient_id = users.id), \
         stored_bytes = (SELECT COALESCE(SUM(length(m.ciphertext)), 0) FROM messages m \
                         WHERE m.recipient_id = users.id)";

    /// `BEGIN IMMEDIATE`: the write lock is taken up front, waiting in the busy handler,
    /// instead of failing later on a lock upgrade.
    async fn begin_write(pool: &Pool<Sqlite>) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        pool.begin_with("BEGIN IMMEDIATE").await
    }

    fn rows_affected(result: &SqliteQueryResult) -> u64 {
        result.rows_affected()
    }
}

impl SqliteStore {
    /// Opens (creating it if missing) the database named by `url` (`sqlite://PATH` or
    /// `sqlite:PATH`; `sqlite::memory:` for a throw-away in-memory database) and runs the
    /// migrations. A missing parent directory is created with mode 0700, a missing file with
    /// mode 0600.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let path = parse_url(url)?;
        let memory = path.as_os_str() == ":memory:";
        let mut options = SqliteConnectOptions::new()
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let mut pool = SqlitePoolOptions::new().test_before_acquire(false);
        if memory {
            // Every connection would get its own empty database: keep exactly one, forever.
            options = options.in_memory(true);
            pool = pool
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        } else {
            prepare_file(&path)?;
            options = options.filename(&path).create_if_missing(true);
            pool = pool.max_connections(MAX_CONNECTIONS);
        }
        let pool: SqlitePool = pool.connect_with(options).await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self::from_pool(pool))
    }
}

/// The file path in an `sqlite:` URL (any `?query` part is ignored).
fn parse_url(url: &str) -> Result<PathBuf, StoreError> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| StoreError::UnsupportedUrl(url.to_owned()))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() {
        return Err(StoreError::UnsupportedUrl(url.to_owned()));
    }
    Ok(PathBuf::from(path))
}

/// Creates the database file private to its owner (see [`private_file::prepare`]), and says so
/// in the log when an existing one had been reachable by group or others.
fn prepare_file(path: &Path) -> Result<(), StoreError> {
    if let Prepared::Narrowed { old_mode } = private_file::prepare(path)? {
        tracing::warn!(
            path = %path.display(),
            mode = format_args!("{old_mode:o}"),
            "database file was accessible by group or others; set its mode to 0600"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_forms() {
        assert_eq!(
            parse_url("sqlite:///var/lib/gochat/db.sqlite").ok(),
            Some(PathBuf::from("/var/lib/gochat/db.sqlite"))
        );
        assert_eq!(
            parse_url("sqlite://rel/db.sqlite?mode=rwc").ok(),
            Some(PathBuf::from("rel/db.sqlite"))
        );
        assert_eq!(parse_url("sqlite:x.db").ok(), Some(PathBuf::from("x.db")));
        assert!(parse_url("sqlite://").is_err());
        assert!(parse_url("mysql://x").is_err());
    }
}
