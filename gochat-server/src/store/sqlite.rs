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
use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};

use std::collections::HashMap;

use futures::TryStreamExt;

use super::mailbox::{Mailbox, admit, recipients};
use super::{
    CHUNK, MailboxUsage, NewMessage, Quota, RELEASE_MAILBOX_SQL_SQLITE, RegisterError, Store,
    StoreError, StoreOutcome, StoredMessage, UserRecord, charge_mailboxes_sql, count_to_u64,
    delete_messages_sql, insert_messages_sql, is_unique_violation, mailboxes_sql,
    measure_messages_sql, register_conflict,
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

/// A `users` row as selected by [`USER_COLUMNS`].
fn user_from_row(row: &SqliteRow) -> Result<UserRecord, sqlx::Error> {
    let permission: i64 = row.try_get("permission")?;
    Ok(UserRecord {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        public_key: row.try_get("public_key")?,
        // Out-of-range values are kept invalid (`UserRecord::permission` returns `None`).
        permission: u8::try_from(permission).unwrap_or(u8::MAX),
    })
}

/// A row of [`mailboxes_sql`].
fn mailbox_from_row(row: &SqliteRow) -> Result<Mailbox, sqlx::Error> {
    Ok(Mailbox {
        live: row.try_get::<i64, _>("live")? != 0,
        usage: MailboxUsage {
            messages: count_to_u64(row.try_get("stored_messages")?),
            bytes: count_to_u64(row.try_get("stored_bytes")?),
        },
    })
}

/// A counter delta as a database integer.
fn clamp_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Columns read by [`user_from_row`].
const USER_COLUMNS: &str = "id, username, public_key, permission";

#[async_trait]
impl Store for SqliteStore {
    async fn register(
        &self,
        username: &[u8],
        public_key: &[u8],
        key_fingerprint: &[u8; 32],
    ) -> Result<(), RegisterError> {
        let result = sqlx::query(
            "INSERT INTO users (username, public_key, key_fingerprint, permission) \
             VALUES (?, ?, ?, 0)",
        )
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
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username = ?");
        let row = sqlx::query(&sql)
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
    }

    async fn deregister(&self, username: &[u8]) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let updated = sqlx::query(
            "UPDATE users SET public_key = NULL, key_fingerprint = NULL, \
             stored_messages = 0, stored_bytes = 0 WHERE username = ?",
        )
        .bind(username)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(
            "DELETE FROM messages WHERE recipient_id IN (SELECT id FROM users WHERE username = ?)",
        )
        .bind(username)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn set_permission(&self, username: &[u8], level: Permission) -> Result<bool, StoreError> {
        let updated = sqlx::query("UPDATE users SET permission = ? WHERE username = ?")
            .bind(i64::from(level.code()))
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
        let mut rows = sqlx::query(
            "SELECT id, username, permission FROM users \
             WHERE id > ? AND public_key IS NOT NULL ORDER BY id LIMIT ?",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch(&self.pool);
        while let Some(row) = rows.try_next().await? {
            let name: Vec<u8> = row.try_get("username")?;
            let level: i64 = row.try_get("permission")?;
            if !visit(
                row.try_get("id")?,
                &name,
                u8::try_from(level).unwrap_or(u8::MAX),
            ) {
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
            let sql = mailboxes_sql(chunk.len(), "");
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&mut *tx).await? {
                mailboxes.insert(row.try_get::<i64, _>("id")?, mailbox_from_row(&row)?);
            }
        }
        let admission = admit(messages, &mailboxes, quota);
        for chunk in admission.admitted(messages).chunks(CHUNK) {
            let sql = insert_messages_sql(chunk.len());
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
            let sql = charge_mailboxes_sql(chunk.len());
            let mut query = sqlx::query(&sql);
            for (id, usage) in chunk {
                query = query.bind(*id).bind(clamp_i64(usage.messages));
            }
            for (id, usage) in chunk {
                query = query.bind(*id).bind(clamp_i64(usage.bytes));
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
        let mut rows = sqlx::query(
            "SELECT m.id, u.username, m.stamp, m.ciphertext \
             FROM messages m JOIN users u ON u.id = m.sender_id \
             WHERE m.recipient_id = ? AND m.id > ? ORDER BY m.id ASC LIMIT ?",
        )
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
            let message = StoredMessage {
                id: row.try_get("id")?,
                sender: row.try_get("username")?,
                stamp: row.try_get("stamp")?,
                ciphertext: row.try_get("ciphertext")?,
            };
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
            let sql = measure_messages_sql(chunk.len(), "");
            let mut query = sqlx::query(&sql).bind(recipient_id);
            for id in chunk {
                query = query.bind(*id);
            }
            let row = query.fetch_one(&mut *tx).await?;
            count += row.try_get::<i64, _>("n")?;
            bytes += row.try_get::<i64, _>("b")?;
            let sql = delete_messages_sql(chunk.len());
            let mut query = sqlx::query(&sql).bind(recipient_id);
            for id in chunk {
                query = query.bind(*id);
            }
            query.execute(&mut *tx).await?;
        }
        sqlx::query(RELEASE_MAILBOX_SQL_SQLITE)
            .bind(count)
            .bind(bytes)
            .bind(recipient_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn mailbox_usage(&self, recipient_id: i64) -> Result<MailboxUsage, StoreError> {
        let row = sqlx::query("SELECT stored_messages, stored_bytes FROM users WHERE id = ?")
            .bind(recipient_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => MailboxUsage {
                messages: count_to_u64(row.try_get("stored_messages")?),
                bytes: count_to_u64(row.try_get("stored_bytes")?),
            },
            None => MailboxUsage::default(),
        })
    }

    async fn count_pending(&self, recipient_id: i64) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE recipient_id = ?")
            .bind(recipient_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(count_to_u64(n))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
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
