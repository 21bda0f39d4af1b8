//! The MariaDB/MySQL backend (production).
//!
//! Every name and key column is binary, so comparisons are exact bytes whatever the server's
//! default collation. The database named in the URL must already exist.

use std::str::FromStr;
use std::time::Duration;

use sqlx::mysql::{
    MySqlConnectOptions, MySqlDatabaseError, MySqlPool, MySqlPoolOptions, MySqlQueryResult,
};
use sqlx::{MySql, Pool, Transaction};

use super::sql::Dialect;
use super::{SqlStore, StoreError};

/// Migrations of the MariaDB schema, embedded at build time.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/mysql");

/// Connections in the pool.
const MAX_CONNECTIONS: u32 = 16;

/// How long a caller waits for a free connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// `ER_LOCK_DEADLOCK`: the transaction was rolled back to break a deadlock.
const ER_LOCK_DEADLOCK: u16 = 1213;

/// The store on a MariaDB (or MySQL) database.
pub type MySqlStore = SqlStore<MySqlDialect>;

/// MariaDB/MySQL: reads inside a write transaction lock their rows with `FOR UPDATE`, and a
/// transaction chosen as a deadlock victim (rolled back whole) runs again.
#[derive(Debug)]
pub enum MySqlDialect {}

impl Dialect for MySqlDialect {
    type Db = MySql;

    const LOCK: &'static str = " FOR UPDATE";
    const RELEASE_MAILBOX: &'static str = "UPDATE users SET \
         stored_messages = GREATEST(stored_messages - ?, 0), \
         stored_bytes = GREATEST(stored_bytes - ?, 0) WHERE id = ?";
    const DELETE_MAILBOX_OF_NAME: &'static str =
        "DELETE m FROM messages m JOIN users u ON u.id = m.recipient_id WHERE u.username = ?";
    const RECOUNT_MAILBOXES: &'static str = "UPDATE users u LEFT JOIN \
         (SELECT recipient_id, COUNT(*) AS n, SUM(LENGTH(ciphertext)) AS b \
          FROM messages GROUP BY recipient_id) m ON m.recipient_id = u.id \
         SET u.stored_messages = COALESCE(m.n, 0), u.stored_bytes = COALESCE(m.b, 0)";
    const WRITE_RETRIES: u32 = 3;

    async fn begin_write(pool: &Pool<MySql>) -> Result<Transaction<'static, MySql>, sqlx::Error> {
        pool.begin().await
    }

    /// Whether `e` says the transaction was rolled back as a deadlock victim.
    fn retry(e: &sqlx::Error) -> bool {
        match e {
            sqlx::Error::Database(db) => db
                .try_downcast_ref::<MySqlDatabaseError>()
                .is_some_and(|e| e.number() == ER_LOCK_DEADLOCK),
            _ => false,
        }
    }

    /// Matched rows, changed or not: sqlx sets `CLIENT_FOUND_ROWS`.
    fn rows_affected(result: &MySqlQueryResult) -> u64 {
        result.rows_affected()
    }
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
        let pool: MySqlPool = MySqlPoolOptions::new()
            .test_before_acquire(false)
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        super::import::refuse_go_schema(&pool).await?;
        migrate(&pool).await?;
        Ok(Self::from_pool(pool))
    }
}

/// The lock nodes of one database take to migrate it one at a time.
const MIGRATE_LOCK: &str = "gochat_migrate";

/// How long a node waits for another node's migrations.
const MIGRATE_LOCK_SECONDS: u32 = 120;

/// Runs the migrations under [`MIGRATE_LOCK`], so nodes starting together on a fresh
/// database migrate it one after another (the next finds the work done). The lock belongs
/// to the migrating connection: released after, and by the server if that connection dies.
async fn migrate(pool: &MySqlPool) -> Result<(), StoreError> {
    let mut conn = pool.acquire().await?;
    let locked: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK(?, ?)")
        .bind(MIGRATE_LOCK)
        .bind(MIGRATE_LOCK_SECONDS)
        .fetch_one(&mut *conn)
        .await?;
    if locked != Some(1) {
        return Err(StoreError::MigrationLocked {
            lock: MIGRATE_LOCK,
            seconds: MIGRATE_LOCK_SECONDS,
        });
    }
    let migrated = MIGRATOR.run(&mut *conn).await;
    let released = sqlx::query("SELECT RELEASE_LOCK(?)")
        .bind(MIGRATE_LOCK)
        .execute(&mut *conn)
        .await;
    if released.is_err() {
        // The lock goes with the connection.
        conn.detach();
    }
    migrated?;
    Ok(())
}
