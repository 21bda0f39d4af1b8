//! [`SqlStore`]: the one implementation of [`Store`], generic over the [`Dialect`] of its
//! database. Every query is the shared text of [`super::sql`], read into the row types of
//! [`super::rows`]; the dialect only starts the write transactions, says when a failed one
//! runs again, and supplies the statements that differ.

use std::collections::{HashMap, HashSet};
use std::marker::PhantomData;

use async_trait::async_trait;
use futures::TryStreamExt;
use gochat_proto::wire::Permission;
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, FromRow, IntoArguments, Pool, Type};

use super::import::{self, ImportBatch, MessageDigest};
use super::mailbox::{Mailbox, admit, recipients};
use super::rows::{
    ListedUserRow, MailboxRow, MeasureRow, StoredMessageRow, UsageRow, UserRow, count_from_db,
    count_to_db, permission_to_db,
};
use super::sql::{self, CHUNK, Dialect};
use super::{
    MailboxUsage, NewMessage, Quota, RegisterError, Store, StoreError, StoreOutcome, StoredMessage,
    UserRecord, is_unique_violation, register_conflict,
};

/// The store on a database of dialect `D` (see [`super::SqliteStore`] and
/// [`super::MySqlStore`] for opening one).
#[derive(Debug)]
pub struct SqlStore<D: Dialect> {
    pool: Pool<D::Db>,
    dialect: PhantomData<D>,
}

impl<D: Dialect> Clone for SqlStore<D> {
    fn clone(&self) -> Self {
        Self::from_pool(self.pool.clone())
    }
}

impl<D: Dialect> SqlStore<D> {
    /// A store on an open, migrated pool.
    pub(super) fn from_pool(pool: Pool<D::Db>) -> Self {
        Self {
            pool,
            dialect: PhantomData,
        }
    }

    /// The underlying pool (for tests and offline tools).
    pub fn pool(&self) -> &Pool<D::Db> {
        &self.pool
    }
}

/// Runs `attempt` (one whole write transaction) again, up to [`Dialect::WRITE_RETRIES`]
/// times, while it fails in a way [`Dialect::retry`] accepts; each attempt is all-or-nothing,
/// so a rerun is safe.
pub(super) async fn write<D, T, F, Fut>(mut attempt: F) -> Result<T, sqlx::Error>
where
    D: Dialect,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, sqlx::Error>>,
{
    let mut tries = 0;
    loop {
        match attempt().await {
            Err(e) if tries < D::WRITE_RETRIES && D::retry(&e) => {
                tries += 1;
                tracing::debug!(tries, error = %e, "retrying the write transaction");
            }
            other => return other,
        }
    }
}

#[async_trait]
impl<D> Store for SqlStore<D>
where
    D: Dialect,
    D::Db: sqlx::database::HasStatementCache,
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    for<'q> <D::Db as Database>::Arguments<'q>: IntoArguments<'q, D::Db>,
    for<'q> i64: Encode<'q, D::Db> + Decode<'q, D::Db> + Type<D::Db>,
    for<'q> &'q [u8]: Encode<'q, D::Db> + Type<D::Db>,
    for<'q> Option<&'q [u8]>: Encode<'q, D::Db> + Type<D::Db>,
    for<'r> Vec<u8>: Decode<'r, D::Db> + Type<D::Db>,
    usize: ColumnIndex<<D::Db as Database>::Row>,
    for<'r> UserRow: FromRow<'r, <D::Db as Database>::Row>,
    for<'r> ListedUserRow: FromRow<'r, <D::Db as Database>::Row>,
    for<'r> MailboxRow: FromRow<'r, <D::Db as Database>::Row>,
    for<'r> UsageRow: FromRow<'r, <D::Db as Database>::Row>,
    for<'r> StoredMessageRow: FromRow<'r, <D::Db as Database>::Row>,
    for<'r> MeasureRow: FromRow<'r, <D::Db as Database>::Row>,
{
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
        let pool = &self.pool;
        let found = write::<D, _, _, _>(|| async move {
            let mut tx = D::begin_write(pool).await?;
            let cleared = sqlx::query(sql::CLEAR_KEY)
                .bind(username)
                .execute(&mut *tx)
                .await?;
            if D::rows_affected(&cleared) == 0 {
                tx.rollback().await?;
                return Ok(false);
            }
            sqlx::query(D::DELETE_MAILBOX_OF_NAME)
                .bind(username)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(true)
        })
        .await?;
        Ok(found)
    }

    async fn set_permission(&self, username: &[u8], level: Permission) -> Result<bool, StoreError> {
        let updated = sqlx::query(sql::SET_PERMISSION)
            .bind(permission_to_db(level))
            .bind(username)
            .execute(&self.pool)
            .await?;
        Ok(D::rows_affected(&updated) > 0)
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

    /// One transaction: the recipients' mailboxes are read first (locked in ascending id
    /// order where the dialect locks rows, under the write lock on SQLite), so a concurrent
    /// store, delete or deregistration of the same recipient waits for this one and the
    /// quota and the recipient check cannot be raced.
    async fn store_messages_with_ids(
        &self,
        messages: &[NewMessage],
        quota: Quota,
    ) -> Result<(Vec<StoreOutcome>, Vec<i64>), StoreError> {
        if messages.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let pool = &self.pool;
        let outcomes = write::<D, _, _, _>(|| async move {
            let mut tx = D::begin_write(pool).await?;
            let mut mailboxes = HashMap::new();
            for chunk in recipients(messages).chunks(CHUNK) {
                let sql = sql::mailboxes::<D>(chunk.len());
                let mut query = sqlx::query_as::<_, MailboxRow>(&sql);
                for id in chunk {
                    query = query.bind(*id);
                }
                for row in query.fetch_all(&mut *tx).await? {
                    mailboxes.insert(row.id, Mailbox::from(row));
                }
            }
            let admission = admit(messages, &mailboxes, quota);
            let mut ids = Vec::with_capacity(messages.len());
            for chunk in admission.admitted(messages).chunks(CHUNK) {
                let sql = sql::insert_messages(chunk.len()) + " RETURNING id";
                let mut query = sqlx::query_as::<_, (i64,)>(&sql);
                for m in chunk {
                    query = query
                        .bind(m.sender_id)
                        .bind(m.recipient_id)
                        .bind(m.stamp)
                        .bind(&m.ciphertext[..]);
                }
                // One statement numbers its rows in the order of its VALUES (ascending ids,
                // consecutive or not); the order RETURNING lists them in is not promised.
                let mut chunk_ids: Vec<i64> = query
                    .fetch_all(&mut *tx)
                    .await?
                    .into_iter()
                    .map(|(id,)| id)
                    .collect();
                chunk_ids.sort_unstable();
                ids.extend(chunk_ids);
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
            Ok((admission.outcomes, ids))
        })
        .await?;
        Ok(outcomes)
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

    async fn message_exists(&self, recipient_id: i64, id: i64) -> Result<bool, StoreError> {
        let (n,): (i64,) = sqlx::query_as(sql::MESSAGE_EXISTS)
            .bind(id)
            .bind(recipient_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }

    async fn last_message_id(&self) -> Result<i64, StoreError> {
        let (id,): (i64,) = sqlx::query_as(sql::LAST_MESSAGE_ID)
            .fetch_one(&self.pool)
            .await?;
        Ok(id)
    }

    /// One transaction: measures the rows (locking them where the dialect locks rows),
    /// deletes them and releases the counters.
    async fn delete_messages(&self, recipient_id: i64, ids: &[i64]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let pool = &self.pool;
        write::<D, _, _, _>(|| async move {
            let mut tx = D::begin_write(pool).await?;
            sqlx::query(&sql::lock_mailbox::<D>())
                .bind(recipient_id)
                .execute(&mut *tx)
                .await?;
            let (mut count, mut bytes) = (0i64, 0i64);
            for chunk in ids.chunks(CHUNK) {
                let sql = sql::measure_messages::<D>(chunk.len());
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
            sqlx::query(D::RELEASE_MAILBOX)
                .bind(count)
                .bind(bytes)
                .bind(recipient_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        })
        .await?;
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
        let rows: Vec<UserRow> = sqlx::query_as(sql::ALL_USERS).fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(UserRecord::from).collect())
    }

    async fn imported_go_messages(&self) -> Result<HashSet<MessageDigest>, StoreError> {
        let rows: Vec<Vec<u8>> = sqlx::query_scalar(import::IMPORTED_DIGESTS)
            .fetch_all(&self.pool)
            .await?;
        Ok(import::digests(rows))
    }

    /// One write transaction (not retried): the users, the messages with their digests,
    /// then a recount of every mailbox.
    async fn apply_import(&self, batch: &ImportBatch) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut tx = D::begin_write(&self.pool).await?;
        for user in &batch.users {
            sqlx::query(import::INSERT_USER)
                .bind(&user.username[..])
                .bind(user.key.as_ref().map(|(pem, _)| &pem[..]))
                .bind(user.key.as_ref().map(|(_, fp)| &fp[..]))
                .bind(permission_to_db(user.permission))
                .execute(&mut *tx)
                .await?;
        }
        let mut ids = HashMap::new();
        if !batch.messages.is_empty() {
            let rows: Vec<UserRow> = sqlx::query_as(sql::ALL_USERS).fetch_all(&mut *tx).await?;
            for row in rows.into_iter().map(UserRecord::from) {
                ids.insert(row.username, row.id);
            }
        }
        for chunk in batch.messages.chunks(CHUNK) {
            let sql = sql::insert_messages(chunk.len());
            let mut query = sqlx::query(&sql);
            for m in chunk {
                query = query
                    .bind(import::resolve(&ids, &m.sender)?)
                    .bind(import::resolve(&ids, &m.recipient)?)
                    .bind(m.stamp)
                    .bind(&m.ciphertext[..]);
            }
            query.execute(&mut *tx).await?;
            let sql = import::insert_digests_sql(chunk.len());
            let mut query = sqlx::query(&sql);
            for m in chunk {
                query = query.bind(&m.digest[..]);
            }
            query.execute(&mut *tx).await?;
        }
        sqlx::query(D::RECOUNT_MAILBOXES).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }
}
