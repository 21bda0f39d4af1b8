//! The MariaDB/MySQL backend (production).
//!
//! Every name and key column is binary, so comparisons are exact bytes whatever the server's
//! default collation. The database named in the URL must already exist.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use gochat_proto::wire::Permission;
use sqlx::mysql::{MySqlConnectOptions, MySqlDatabaseError, MySqlPool, MySqlPoolOptions};

use std::collections::HashMap;

use futures::TryStreamExt;

use super::mailbox::{Mailbox, admit, recipients};
use super::rows::{
    ListedUserRow, MailboxRow, MeasureRow, StoredMessageRow, UsageRow, UserRow, count_from_db,
    count_to_db, permission_to_db,
};
use super::sql::{self, CHUNK, Dialect, MySql};
use super::{
    MailboxUsage, NewMessage, Quota, RegisterError, Store, StoreError, StoreOutcome, StoredMessage,
    UserRecord, is_unique_violation, register_conflict,
};

/// Migrations of the MariaDB schema, embedded at build time.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/mysql");

/// Connections in the pool.
const MAX_CONNECTIONS: u32 = 16;

/// How long a caller waits for a free connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// How often a transaction chosen as a deadlock victim is run again.
const DEADLOCK_RETRIES: u32 = 3;

/// `ER_LOCK_DEADLOCK`: the transaction was rolled back to break a deadlock.
const ER_LOCK_DEADLOCK: u16 = 1213;

/// The store on a MariaDB (or MySQL) database.
#[derive(Debug, Clone)]
pub struct MySqlStore {
    pool: MySqlPool,
}

impl MySqlStore {
    /// Connects to the database named by `url` (`mysql://USER:PASS@HOST:PORT/DB`; the
    /// database must exist) and runs the migrations.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = MySqlConnectOptions::from_str(url)?;
        if options.get_database().is_none_or(str::is_empty) {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        }
        // No ping before each query: a dead connection fails that one request (ERR_SERVER)
        // and is dropped, instead of every request paying an extra round trip.
        let pool = MySqlPoolOptions::new()
            .test_before_acquire(false)
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        super::import::refuse_go_schema(&pool).await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    /// The underlying pool (for tests and offline tools).
    pub fn pool(&self) -> &MySqlPool {
        &self.pool
    }

    /// One attempt of [`Store::store_messages`]. The recipients' rows are locked first
    /// (ascending id), so a concurrent store, delete or deregistration of the same recipient
    /// waits for this one: the quota and the recipient check cannot be raced.
    async fn try_store_messages(
        &self,
        messages: &[NewMessage],
        quota: Quota,
    ) -> Result<Vec<StoreOutcome>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let mut mailboxes = HashMap::new();
        for chunk in recipients(messages).chunks(CHUNK) {
            let sql = sql::mailboxes::<MySql>(chunk.len());
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
            insert_messages(&sql, chunk).execute(&mut *tx).await?;
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

    /// One attempt of [`Store::delete_messages`]: locks the recipient's row first (the same
    /// order as storing), then measures, deletes and releases the counters.
    async fn try_delete_messages(&self, recipient_id: i64, ids: &[i64]) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT id FROM users WHERE id = ? FOR UPDATE")
            .bind(recipient_id)
            .fetch_optional(&mut *tx)
            .await?;
        let (mut count, mut bytes) = (0i64, 0i64);
        for chunk in ids.chunks(CHUNK) {
            let sql = sql::measure_messages::<MySql>(chunk.len());
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
        sqlx::query(MySql::RELEASE_MAILBOX)
            .bind(count)
            .bind(bytes)
            .bind(recipient_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    /// One attempt of [`Store::deregister`].
    async fn try_deregister(&self, username: &[u8]) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        // FOUND_ROWS is set by sqlx, so this counts matched rows, changed or not.
        let updated = sqlx::query(sql::CLEAR_KEY)
            .bind(username)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if updated == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(MySql::DELETE_MAILBOX_OF_NAME)
            .bind(username)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// `sql` (from [`sql::insert_messages`] for `chunk.len()` rows) with `chunk` bound.
fn insert_messages<'q>(
    sql: &'q str,
    chunk: &'q [&'q NewMessage],
) -> sqlx::query::Query<'q, sqlx::MySql, sqlx::mysql::MySqlArguments> {
    let mut query = sqlx::query(sql);
    for m in chunk {
        query = query
            .bind(m.sender_id)
            .bind(m.recipient_id)
            .bind(m.stamp)
            .bind(&m.ciphertext[..]);
    }
    query
}

/// Whether `e` says the transaction was rolled back as a deadlock victim (safe to rerun).
fn is_deadlock(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => db
            .try_downcast_ref::<MySqlDatabaseError>()
            .is_some_and(|e| e.number() == ER_LOCK_DEADLOCK),
        _ => false,
    }
}

/// Runs `attempt` again (up to [`DEADLOCK_RETRIES`] times) when it was a deadlock victim;
/// the transactions it runs are all-or-nothing, so a rerun is safe.
macro_rules! retry_deadlock {
    ($attempt:expr) => {{
        let mut tries = 0;
        loop {
            match $attempt.await {
                Err(e) if is_deadlock(&e) && tries < DEADLOCK_RETRIES => {
                    tries += 1;
                    tracing::debug!(tries, "database deadlock, retrying the transaction");
                }
                other => break other,
            }
        }
    }};
}

#[async_trait]
impl Store for MySqlStore {
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
        Ok(retry_deadlock!(self.try_deregister(username))?)
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
        Ok(retry_deadlock!(self.try_store_messages(messages, quota))?)
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
        Ok(retry_deadlock!(
            self.try_delete_messages(recipient_id, ids)
        )?)
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
        super::import::all_users_mysql(&self.pool).await
    }

    async fn imported_go_messages(
        &self,
    ) -> Result<std::collections::HashSet<super::MessageDigest>, StoreError> {
        super::import::imported_mysql(&self.pool).await
    }

    async fn apply_import(&self, batch: &super::ImportBatch) -> Result<(), StoreError> {
        super::import::apply_mysql(&self.pool, batch).await
    }
}
