//! Reads a Go gochat server's MariaDB database (the schema GORM made, GO-IMPLEMENTATION §2.13)
//! in one read-only, consistent snapshot. Nothing here can write to the source.

use std::str::FromStr;

use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
use sqlx::{ConnectOptions, Connection, Row};

/// Why the Go database could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The URL is not a `mysql://` (or `mariadb://`) URL naming a database.
    #[error("the Go database URL must look like mysql://USER:PASS@HOST:PORT/DB")]
    Url,
    /// The database could not be reached.
    #[error("cannot connect to the Go database")]
    Connect(#[source] sqlx::Error),
    /// Tables or columns of the Go schema are missing.
    #[error("not a Go gochat database: missing {0}")]
    NotGoSchema(String),
    /// A query failed.
    #[error("reading the Go database failed")]
    Query(#[from] sqlx::Error),
}

/// A row of Go's `users` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoUser {
    /// `user_id`.
    pub id: u64,
    /// `username` as stored (UTF-8 bytes).
    pub username: Vec<u8>,
    /// `pubkey` PEM text; `None` = deregistered.
    pub pubkey: Option<Vec<u8>>,
    /// `permission` as stored (valid: 0..=2).
    pub permission: i64,
    /// Lowest `user_id` whose name is equal to this one under the source's own collation
    /// (the row Go's `WHERE username = ? ORDER BY user_id LIMIT 1` always finds).
    pub first_id_with_name: u64,
}

/// A row of Go's `messages` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoMessage {
    /// Position in the table's physical order (the insertion order; 0-based).
    pub row: usize,
    /// `src_user`.
    pub src: u64,
    /// `dst_user`.
    pub dst: u64,
    /// `message`: the ciphertext as hex text.
    pub hex: Vec<u8>,
    /// `stamp` in Unix seconds (fractions dropped); `None` when the stored value is not a date.
    pub stamp: Option<i64>,
}

/// Everything the import needs from the Go database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GoSnapshot {
    /// Users by `user_id`.
    pub users: Vec<GoUser>,
    /// Messages in table order.
    pub messages: Vec<GoMessage>,
    /// Collation of `users.username` (Go's names compare by it).
    pub username_collation: Option<String>,
}

/// Columns the import reads, per table.
const REQUIRED: [(&str, &[&str]); 2] = [
    ("users", &["user_id", "username", "pubkey", "permission"]),
    ("messages", &["src_user", "dst_user", "message", "stamp"]),
];

/// Connection options for `url` (`mariadb://` is accepted as a synonym of `mysql://`).
fn options(url: &str) -> Result<MySqlConnectOptions, SourceError> {
    let url = match url.strip_prefix("mariadb://") {
        Some(rest) => format!("mysql://{rest}"),
        None if url.starts_with("mysql://") => url.to_owned(),
        None => return Err(SourceError::Url),
    };
    let options = MySqlConnectOptions::from_str(&url).map_err(|_| SourceError::Url)?;
    if options.get_database().is_none_or(str::is_empty) {
        return Err(SourceError::Url);
    }
    Ok(options)
}

/// Reads users and messages of the Go database at `url` in one read-only transaction.
pub async fn read(url: &str) -> Result<GoSnapshot, SourceError> {
    let mut conn = options(url)?
        .connect()
        .await
        .map_err(SourceError::Connect)?;
    // A read-only transaction: the server refuses any write on it, and the consistent
    // snapshot makes users and messages agree with each other even if Go is still running.
    sqlx::raw_sql("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
        .execute(&mut conn)
        .await?;
    let snapshot = read_in_transaction(&mut conn).await;
    let _ = sqlx::raw_sql("ROLLBACK").execute(&mut conn).await;
    let _ = conn.close().await;
    snapshot
}

async fn read_in_transaction(conn: &mut MySqlConnection) -> Result<GoSnapshot, SourceError> {
    let username_collation = check_schema(conn).await?;
    // Names are grouped by the source's own `=` (its collation), so rows Go treated as one
    // name are found however that collation folds case, accents or trailing spaces.
    let users = sqlx::query(
        "SELECT CAST(user_id AS UNSIGNED) AS user_id, \
                CAST(username AS BINARY) AS username, \
                CAST(pubkey AS BINARY) AS pubkey, \
                CAST(permission AS SIGNED) AS permission, \
                CAST(MIN(user_id) OVER (PARTITION BY username) AS UNSIGNED) AS first_id \
         FROM users ORDER BY user_id",
    )
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| {
        Ok(GoUser {
            id: row.try_get("user_id")?,
            username: row.try_get("username")?,
            pubkey: row.try_get("pubkey")?,
            permission: row.try_get("permission")?,
            first_id_with_name: row.try_get("first_id")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    // The table has no primary key: InnoDB keeps its rows in a hidden, insertion-ordered
    // clustered index, and `USE INDEX ()` makes the scan walk exactly that, so ties within a
    // second keep the order Go stored them in. Stamps become Unix seconds by arithmetic on
    // the DATETIME, which involves no time zone (Go wrote UTC).
    let messages = sqlx::query(
        "SELECT CAST(src_user AS UNSIGNED) AS src_user, \
                CAST(dst_user AS UNSIGNED) AS dst_user, \
                CAST(message AS BINARY) AS message, \
                TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', stamp) AS stamp \
         FROM messages USE INDEX ()",
    )
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .enumerate()
    .map(|(row, r)| {
        Ok(GoMessage {
            row,
            src: r.try_get("src_user")?,
            dst: r.try_get("dst_user")?,
            hex: r.try_get("message")?,
            stamp: r.try_get("stamp")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(GoSnapshot {
        users,
        messages,
        username_collation,
    })
}

/// Checks the Go tables and columns exist; returns the collation of `users.username`.
async fn check_schema(conn: &mut MySqlConnection) -> Result<Option<String>, SourceError> {
    let rows = sqlx::query(
        "SELECT CAST(TABLE_NAME AS CHAR) AS t, CAST(COLUMN_NAME AS CHAR) AS c, \
                CAST(COLLATION_NAME AS CHAR) AS coll \
         FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN ('users', 'messages')",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut present = Vec::new();
    let mut collation = None;
    for row in &rows {
        let table: String = row.try_get("t")?;
        let column: String = row.try_get("c")?;
        if table == "users" && column == "username" {
            collation = row.try_get("coll")?;
        }
        present.push((table, column));
    }
    let missing: Vec<String> = REQUIRED
        .iter()
        .flat_map(|(table, columns)| columns.iter().map(move |c| (*table, *c)))
        .filter(|(t, c)| !present.iter().any(|(pt, pc)| pt == t && pc == c))
        .map(|(t, c)| format!("{t}.{c}"))
        .collect();
    if !missing.is_empty() {
        return Err(SourceError::NotGoSchema(missing.join(", ")));
    }
    Ok(collation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_urls() {
        assert!(options("mysql://u:p@127.0.0.1:3306/gochat").is_ok());
        assert!(options("mariadb://u:p@127.0.0.1:3306/gochat").is_ok());
        assert!(matches!(
            options("mysql://u:p@127.0.0.1:3306"),
            Err(SourceError::Url)
        ));
        assert!(matches!(options("sqlite://x.db"), Err(SourceError::Url)));
    }
}
