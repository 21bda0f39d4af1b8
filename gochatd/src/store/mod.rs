//! The local store: one SQLite file holding server profiles, accounts and their keys,
//! contacts (keys pinned on first use), messages in both directions with a full-text index,
//! and the numbered event log behind `Subscribe`.
//!
//! The file is opened in WAL mode with `synchronous=FULL` (a committed message survives power
//! loss), foreign keys on and a 5 s busy timeout. Multi-statement writes start with
//! `BEGIN IMMEDIATE` so they take the write lock up front and wait in the busy handler
//! instead of failing on a lock upgrade. All queries are runtime queries with manual row
//! mapping; a value that does not fit its Rust type is reported as a decode error, never a
//! panic.

mod accounts;
mod events;
mod imports;
mod messages;
mod prefs;
mod rows;
mod servers;
mod write;

use std::io;
use std::path::Path;
use std::time::Duration;

use gochat_proto::private_file::{self, Prepared};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use imports::MessageKey;
pub use messages::received_digest;
pub use prefs::{ArrivalRule, ContactPrefs, NotifyMode, PrefsChange};
pub use rows::{
    AccountRow, ContactRow, ConversationRow, KEY_ORIGIN_GO_CLIENT, MessageRow, MessageState,
    NewMessage, RejectedCert, ServerRow,
};
pub use write::WriteTx;

/// Migrations of the schema (`gochatd/migrations/`), embedded at build time.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Connections in the pool (SQLite serialises writers anyway; readers run beside them in WAL).
const MAX_CONNECTIONS: u32 = 4;

/// How long a connection waits for another's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Starts a write transaction holding the write lock from the beginning.
const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database reported an error (or a stored value did not decode).
    #[error("database error")]
    Sqlx(#[from] sqlx::Error),
    /// Applying the schema migrations failed.
    #[error("database migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Creating the database directory or file failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// Creating the database file (private to its owner) failed.
    #[error(transparent)]
    File(#[from] private_file::PrivateFileError),
    /// The server, account or message named does not exist.
    #[error("not found")]
    NotFound,
    /// The row would duplicate an existing one (the message says which).
    #[error("conflict: {0}")]
    Conflict(String),
}

/// The local SQLite store. Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) the database file and runs the migrations. A missing parent
    /// directory is created with mode 0700 and a missing file with mode 0600; an existing file
    /// readable by group or others is tightened to 0600. The connections use WAL,
    /// `synchronous=FULL`, `foreign_keys=ON` and a 5 s busy timeout.
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        prepare_file(path)?;
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Store { pool })
    }

    /// The underlying connection pool (for tests and maintenance tools).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Closes every connection (checkpointing the WAL); later calls on any clone fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }
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

/// Whether `e` is a UNIQUE (or PRIMARY KEY) constraint violation.
fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// Whether `e` is a FOREIGN KEY constraint violation (the referenced row does not exist).
fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_foreign_key_violation())
}

/// A write's error, where a missing parent row (a foreign key violation) is `NotFound`.
fn missing_parent_is_not_found(e: sqlx::Error) -> StoreError {
    if is_foreign_key_violation(&e) {
        StoreError::NotFound
    } else {
        e.into()
    }
}

/// Converts a `u32` limit or a `u64` id to an SQLite integer, saturating at `i64::MAX`.
fn to_sql_int<T: TryInto<i64>>(v: T) -> i64 {
    v.try_into().unwrap_or(i64::MAX)
}
