//! Reading a Go client's `client.db` (GORM models in `cdb/models.go`), opened read-only.
//!
//! Every text column is read as bytes (`CAST(… AS BLOB)`): the Go client stores arbitrary
//! binary in TEXT columns (the encrypted private key), and nothing guarantees valid UTF-8
//! elsewhere either. Names must be UTF-8; message texts are converted lossily.

use std::collections::HashMap;
use std::path::Path;

use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteRow};

/// Why the Go client database could not be read.
#[derive(Debug, thiserror::Error)]
pub enum GoReadError {
    /// The file is missing or could not be opened.
    #[error("cannot open {path}: {reason}")]
    Open {
        /// The path given.
        path: String,
        /// Why.
        reason: String,
    },
    /// The file is an SQLite database without the Go client's tables.
    #[error("{0} is not a Go client database (it has no {1} table)")]
    NotGoClient(String, &'static str),
    /// A query failed.
    #[error("reading the Go client database failed: {0}")]
    Query(#[from] sqlx::Error),
    /// A value is unusable (the message says which).
    #[error("the Go client database holds {0}")]
    BadValue(String),
}

/// A row of Go's `servers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoServer {
    /// Go's `server_id` (local to the file).
    pub id: i64,
    /// Host name or address.
    pub address: String,
    /// TCP port.
    pub port: u16,
    /// Connect with TLS.
    pub tls: bool,
    /// The server's unique name in the Go client.
    pub name: String,
}

/// A local user (`users` ⋈ `local_users`): an account of the Go client's user.
#[derive(Debug, Clone)]
pub struct GoLocalUser {
    /// Go's `user_id`.
    pub user_id: i64,
    /// Go's `server_id` of the account's server.
    pub server_id: i64,
    /// The username on that server.
    pub username: String,
    /// The encrypted private key (see [`super::key`]); `None` when the column is NULL.
    pub key_blob: Option<Vec<u8>>,
}

/// A contact (`users` ⋈ `external_users`): another user whose key the Go client fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoContact {
    /// The username.
    pub username: String,
    /// The public key exactly as the server sent it (PEM).
    pub pub_key: Vec<u8>,
}

/// A message of one local user, sent or received, in the Go client's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoMessage {
    /// Go's `message_id`.
    pub id: i64,
    /// The other user.
    pub peer: String,
    /// Sent by the local user.
    pub outgoing: bool,
    /// Unix seconds; `None` when the stored stamp cannot be read as a time.
    pub stamp: Option<i64>,
    /// The plain text.
    pub text: String,
}

/// An open, read-only Go client database.
#[derive(Debug)]
pub struct GoClientDb {
    pool: SqlitePool,
}

/// The tables every Go client database has.
const TABLES: [&str; 5] = [
    "servers",
    "users",
    "local_users",
    "external_users",
    "messages",
];

fn text(row: &SqliteRow, column: &str) -> Result<String, GoReadError> {
    let bytes: Option<Vec<u8>> = row.try_get(column)?;
    String::from_utf8(bytes.unwrap_or_default())
        .map_err(|_| GoReadError::BadValue(format!("a {column} that is not UTF-8")))
}

impl GoClientDb {
    /// Opens `path` read-only (never creating it) and checks that it has the Go tables.
    pub async fn open(path: &Path) -> Result<GoClientDb, GoReadError> {
        let shown = path.display().to_string();
        let open_err = |reason: String| GoReadError::Open {
            path: shown.clone(),
            reason,
        };
        if !path.is_file() {
            return Err(open_err("no such file".into()));
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .read_only(true)
            .create_if_missing(false);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(|e| open_err(e.to_string()))?;
        let db = GoClientDb { pool };
        for table in TABLES {
            let found: Option<i64> = sqlx::query_scalar(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
            )
            .bind(table)
            .fetch_optional(&db.pool)
            .await
            .map_err(|e| open_err(e.to_string()))?;
            if found.is_none() {
                db.close().await;
                return Err(GoReadError::NotGoClient(shown, table));
            }
        }
        Ok(db)
    }

    /// Closes the file.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Every server, by Go's `server_id`.
    pub async fn servers(&self) -> Result<Vec<GoServer>, GoReadError> {
        let rows = sqlx::query(
            "SELECT CAST(server_id AS INTEGER) AS id, CAST(address AS BLOB) AS address, \
             CAST(port AS INTEGER) AS port, CAST(tls AS INTEGER) AS tls, \
             CAST(name AS BLOB) AS name FROM servers ORDER BY server_id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let port: i64 = row.try_get::<Option<i64>, _>("port")?.unwrap_or(0);
            out.push(GoServer {
                id: row.try_get::<Option<i64>, _>("id")?.unwrap_or(0),
                address: text(row, "address")?,
                port: u16::try_from(port)
                    .map_err(|_| GoReadError::BadValue(format!("a server port {port}")))?,
                tls: row.try_get::<Option<i64>, _>("tls")?.unwrap_or(0) != 0,
                name: text(row, "name")?,
            });
        }
        Ok(out)
    }

    /// Every local user (an account with an encrypted key), by server and username.
    pub async fn local_users(&self) -> Result<Vec<GoLocalUser>, GoReadError> {
        let rows = sqlx::query(
            "SELECT u.user_id AS user_id, u.server_id AS server_id, \
             CAST(u.username AS BLOB) AS username, CAST(l.prv_key AS BLOB) AS prv_key \
             FROM users u JOIN local_users l ON l.user_id = u.user_id \
             ORDER BY u.server_id, u.username",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(GoLocalUser {
                user_id: row.try_get("user_id")?,
                server_id: row.try_get("server_id")?,
                username: text(row, "username")?,
                key_blob: row.try_get("prv_key")?,
            });
        }
        Ok(out)
    }

    /// The contacts on server `server_id`, by username.
    pub async fn contacts(&self, server_id: i64) -> Result<Vec<GoContact>, GoReadError> {
        let rows = sqlx::query(
            "SELECT CAST(u.username AS BLOB) AS username, CAST(e.pub_key AS BLOB) AS pub_key \
             FROM users u JOIN external_users e ON e.user_id = u.user_id \
             WHERE u.server_id = ?1 ORDER BY u.username",
        )
        .bind(server_id)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(GoContact {
                username: text(row, "username")?,
                pub_key: row
                    .try_get::<Option<Vec<u8>>, _>("pub_key")?
                    .unwrap_or_default(),
            });
        }
        Ok(out)
    }

    /// The messages `user` sent or received, oldest first (Go's insertion order). Messages
    /// whose other side is not a user of the same server are left out.
    pub async fn messages(&self, user: &GoLocalUser) -> Result<Vec<GoMessage>, GoReadError> {
        let names: HashMap<i64, String> = {
            let rows = sqlx::query(
                "SELECT user_id, CAST(username AS BLOB) AS username FROM users \
                 WHERE server_id = ?1",
            )
            .bind(user.server_id)
            .fetch_all(&self.pool)
            .await?;
            let mut names = HashMap::with_capacity(rows.len());
            for row in &rows {
                names.insert(row.try_get("user_id")?, text(row, "username")?);
            }
            names
        };
        // A stamp is TEXT `YYYY-MM-DD HH:MM:SS+00:00` as GORM writes it; a number is taken as
        // unix seconds.
        let rows = sqlx::query(
            "SELECT message_id, source_id, destination_id, \
             CASE WHEN typeof(stamp) IN ('integer', 'real') THEN CAST(stamp AS INTEGER) \
                  ELSE CAST(strftime('%s', stamp) AS INTEGER) END AS stamp, \
             CAST(text AS BLOB) AS text \
             FROM messages WHERE source_id = ?1 OR destination_id = ?1 ORDER BY message_id",
        )
        .bind(user.user_id)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let source: Option<i64> = row.try_get("source_id")?;
            let destination: Option<i64> = row.try_get("destination_id")?;
            let outgoing = source == Some(user.user_id);
            let other = if outgoing { destination } else { source };
            let Some(peer) = other
                .filter(|&id| id != user.user_id)
                .and_then(|id| names.get(&id))
            else {
                continue;
            };
            let bytes: Option<Vec<u8>> = row.try_get("text")?;
            out.push(GoMessage {
                id: row.try_get("message_id")?,
                peer: peer.clone(),
                outgoing,
                stamp: row.try_get("stamp")?,
                text: String::from_utf8_lossy(&bytes.unwrap_or_default()).into_owned(),
            });
        }
        Ok(out)
    }
}
