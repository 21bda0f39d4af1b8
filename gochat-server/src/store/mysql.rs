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
        MIGRATOR.run(&pool).await?;
        Ok(Self::from_pool(pool))
    }
}
