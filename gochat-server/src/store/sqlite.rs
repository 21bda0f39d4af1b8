//! The embedded SQLite backend (the default when no database URL is configured).
//!
//! One file, WAL journal, `synchronous=FULL` (a committed message survives power loss),
//! foreign keys on, a 5 s busy timeout and a small pool. Write transactions start with
//! `BEGIN IMMEDIATE` so they take the write lock up front and wait in the busy handler
//! instead of failing on a lock upgrade.

use std::fs::{DirBuilder, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use gochat_proto::wire::Permission;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use std::collections::HashMap;

use futures::TryStreamExt;

use super::mailbox::{Mailbox, admit, recipients};
use super::rows::{
    ListedUserRow, MailboxRow, MeasureRow, StoredMessageRow, UsageRow, UserRow, count_from_db,
    count_to_db, permission_to_db,
};
use super::sql::{self, CHUNK, Dialect, Sqlite};
use super::{
    MailboxUsage, NewMessage, Quota, RegisterError, Store, StoreError, StoreOutcome, StoredMessage,
    UserRecord, is_unique_violation, register_conflict,
};

/// Migrations of the SQLite schema, embedded at build time.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Connections in the pool (SQLite serialises writers anyway; readers run beside them in WAL).
const MAX_CONNECTIONS: u32 = 4;

/// How long a connection waits for another's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Starts a write transaction holding the write lock from the beginning.
const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

/// The store on an SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
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
        let pool = pool.connect_with(options).await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    /// The underlying pool (for tests and offline tools).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
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
            .map_err(|source| StoreError::Io {
                context: format!("creating database directory {}", parent.display()),
                source,
            })?;
    }
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            if let Ok(meta) = std::fs::metadata(path)
                && meta.permissions().mode() & 0o077 != 0
            {
                tracing::warn!(
                    path = %path.display(),
                    mode = format_args!("{:o}", meta.permissions().mode() & 0o777),
                    "database file is accessible by group or others"
                );
            }
        }
        Err(source) => {
            return Err(StoreError::Io {
                context: format!("creating database file {}", path.display()),
                source,
            });
        }
    }
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    async fn register(
        &self,
        username: &[u8],
        public_key: &[u8],
        key_fingerprint: &[u8; 32],
    ) -> Result<(), RegisterError> {
        let result = sqlx::query(sql::REGISTER)
            .bind(username)
            .bind(public_key)
            .bind(&key_fingerprint[..])
            .execute(&self.pool)
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(register_conflict(self.user(username).await?)),
            Err(e) => Err(StoreError::from(e).into()),
        }
    }

    async fn user(&self, username: &[u8]) -> Result<Option<UserRecord>, StoreError> {
        let row: Option<UserRow> = sqlx::query_as(sql::USER_BY_NAME)
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(UserRecord::from))
    }

    async fn deregister(&self, username: &[u8]) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let updated = sqlx::query(sql::CLEAR_KEY)
            .bind(username)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if updated == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(Sqlite::DELETE_MAILBOX_OF_NAME)
            .bind(username)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn set_permission(&self, username: &[u8], level: Permission) -> Result<bool, StoreError> {
        let updated = sqlx::query(sql::SET_PERMISSION)
            .bind(permission_to_db(level))
            .bind(username)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(updated > 0)
    }

    async fn visit_users(
        &self,
        after: i64,
        limit: u32,
        visit: &mut (dyn for<'n> FnMut(i64, &'n [u8], u8) -> bool + Send),
    ) -> Result<(), StoreError> {
        let mut rows = sqlx::query_as::<_, ListedUserRow>(sql::VISIT_USERS)
            .bind(after)
            .bind(i64::from(limit))
            .fetch(&self.pool);
        while let Some(row) = rows.try_next().await? {
            if !visit(row.id, &row.username, row.level()) {
                break;
            }
        }
        Ok(())
    }

    async fn store_messages(
        &self,
        messages: &[NewMessage],
        quota: Quota,
    ) -> Result<Vec<StoreOutcome>, StoreError> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        // BEGIN IMMEDIATE: no other writer runs until commit, so the counters read here
        // cannot change before the rows and the new counters are written.
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let mut mailboxes = HashMap::new();
        for chunk in recipients(messages).chunks(CHUNK) {
            let sql = sql::mailboxes::<Sqlite>(chunk.len());
            let mut query = sqlx::query_as::<_, MailboxRow>(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&mut *tx).await? {
                mailboxes.insert(row.id, Mailbox::from(row));
            }
        }
        let admission = admit(messages, &mailboxes, quota);
        for chunk in admission.admitted(messages).chunks(CHUNK) {
            let sql = sql::insert_messages(chunk.len());
            let mut query = sqlx::query(&sql);
            for m in chunk {
                query = query
                    .bind(m.sender_id)
                    .bind(m.recipient_id)
                    .bind(m.stamp)
                    .bind(&m.ciphertext[..]);
            }
            query.execute(&mut *tx).await?;
        }
        for chunk in admission.charges.chunks(CHUNK) {
            let sql = sql::charge_mailboxes(chunk.len());
            let mut query = sqlx::query(&sql);
            for (id, usage) in chunk {
                query = query.bind(*id).bind(count_to_db(usage.messages));
            }
            for (id, usage) in chunk {
                query = query.bind(*id).bind(count_to_db(usage.bytes));
            }
            for (id, _) in chunk {
                query = query.bind(*id);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(admission.outcomes)
    }

    async fn pending_batch(
        &self,
        recipient_id: i64,
        after: i64,
        max_rows: u32,
        max_bytes: usize,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let mut rows = sqlx::query_as::<_, StoredMessageRow>(sql::PENDING_BATCH)
            .bind(recipient_id)
            .bind(after)
            .bind(i64::from(max_rows))
            .fetch(&self.pool);
        let mut batch = Vec::new();
        let mut bytes = 0usize;
        while bytes < max_bytes {
            let Some(row) = rows.try_next().await? else {
                break;
            };
            let message = StoredMessage::from(row);
            bytes = bytes.saturating_add(message.wire_size());
            batch.push(message);
        }
        Ok(batch)
    }

    async fn delete_messages(&self, recipient_id: i64, ids: &[i64]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let (mut count, mut bytes) = (0i64, 0i64);
        for chunk in ids.chunks(CHUNK) {
            let sql = sql::measure_messages::<Sqlite>(chunk.len());
            let mut query = sqlx::query_as::<_, MeasureRow>(&sql).bind(recipient_id);
            for id in chunk {
                query = query.bind(*id);
            }
            let measured = query.fetch_one(&mut *tx).await?;
            count += measured.n;
            bytes += measured.b;
            let sql = sql::delete_messages(chunk.len());
            let mut query = sqlx::query(&sql).bind(recipient_id);
            for id in chunk {
                query = query.bind(*id);
            }
            query.execute(&mut *tx).await?;
        }
        sqlx::query(Sqlite::RELEASE_MAILBOX)
            .bind(count)
            .bind(bytes)
            .bind(recipient_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn mailbox_usage(&self, recipient_id: i64) -> Result<MailboxUsage, StoreError> {
        let row: Option<UsageRow> = sqlx::query_as(sql::MAILBOX_USAGE)
            .bind(recipient_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(MailboxUsage::from).unwrap_or_default())
    }

    async fn count_pending(&self, recipient_id: i64) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(sql::COUNT_PENDING)
            .bind(recipient_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(count_from_db(n))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query(sql::PING).execute(&self.pool).await?;
        Ok(())
    }

    async fn all_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        super::import::all_users_sqlite(&self.pool).await
    }

    async fn imported_go_messages(
        &self,
    ) -> Result<std::collections::HashSet<super::MessageDigest>, StoreError> {
        super::import::imported_sqlite(&self.pool).await
    }

    async fn apply_import(&self, batch: &super::ImportBatch) -> Result<(), StoreError> {
        super::import::apply_sqlite(&self.pool, batch).await
    }
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
