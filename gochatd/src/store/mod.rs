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
mod messages;
mod rows;
mod servers;
mod write;

use std::fs::{DirBuilder, OpenOptions, Permissions};
use std::io::{self, ErrorKind};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use messages::received_digest;
pub use rows::{
    AccountRow, ContactRow, ConversationRow, MessageRow, MessageState, NewMessage, ServerRow,
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

/// Creates the parent directory (0700) and the database file (0600) if they are missing, so
/// the file never exists with looser permissions. SQLite gives the `-wal` and `-shm` files
/// the mode of the database file.
fn prepare_file(path: &Path) -> Result<(), StoreError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.exists()
    {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(|e| with_context(e, "creating database directory", parent))?;
        // The umask may have narrowed the mode; make sure it is exactly 0700.
        std::fs::set_permissions(parent, Permissions::from_mode(0o700))
            .map_err(|e| with_context(e, "setting the mode of", parent))?;
    }
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(e) => return Err(with_context(e, "creating database file", path).into()),
    }
    let mode = std::fs::metadata(path)
        .map_err(|e| with_context(e, "reading the mode of", path))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        tracing::warn!(
            path = %path.display(),
            mode = format_args!("{:o}", mode & 0o777),
            "database file was accessible by group or others; setting mode 0600"
        );
        std::fs::set_permissions(path, Permissions::from_mode(0o600))
            .map_err(|e| with_context(e, "setting the mode of", path))?;
    }
    Ok(())
}

/// The same I/O error (same kind) with what was being done and on which path.
fn with_context(e: io::Error, what: &str, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}

/// Whether `e` is a UNIQUE (or PRIMARY KEY) constraint violation.
fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// Whether `e` is a FOREIGN KEY constraint violation (the referenced row does not exist).
fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_foreign_key_violation())
}

/// Converts a `u32` limit or a `u64` id to an SQLite integer, saturating at `i64::MAX`.
fn to_sql_int<T: TryInto<i64>>(v: T) -> i64 {
    v.try_into().unwrap_or(i64::MAX)
}
