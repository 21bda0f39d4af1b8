//! Migration 0002 on both backends: a database with stored messages from before the mailbox
//! counters gets counters equal to what is actually stored, so quotas hold from the start.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::borrow::Cow;

use gochat_server::store::{MailboxUsage, MySqlStore, SqliteStore, Store};
use sqlx::Connection;

/// Rows as the old schema stores them: users 1..=3, messages for 1 and 2.
const OLD_ROWS: [&str; 2] = [
    "INSERT INTO users (username, public_key, permission) \
     VALUES (x'61', x'6b31', 0), (x'62', x'6b32', 0), (x'63', x'6b33', 0)",
    "INSERT INTO messages (sender_id, recipient_id, stamp, ciphertext) VALUES \
     (1, 2, 0, x'0102030405'), (1, 2, 0, x'01'), (3, 2, 0, x'0102'), (2, 1, 0, x'aabbcc')",
];

async fn check(store: &dyn Store) {
    let usage = |messages, bytes| MailboxUsage { messages, bytes };
    assert_eq!(store.mailbox_usage(1).await.expect("usage"), usage(1, 3));
    assert_eq!(store.mailbox_usage(2).await.expect("usage"), usage(3, 8));
    assert_eq!(store.mailbox_usage(3).await.expect("usage"), usage(0, 0));
}

#[tokio::test]
async fn sqlite_counters_filled_from_existing_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/db.sqlite", dir.path().display());
    {
        let options = url
            .parse::<sqlx::sqlite::SqliteConnectOptions>()
            .expect("url")
            .create_if_missing(true);
        let mut conn = sqlx::SqliteConnection::connect_with(&options)
            .await
            .expect("connect");
        let mut old = sqlx::migrate!("./migrations/sqlite");
        old.migrations = Cow::Owned(old.migrations[..1].to_vec());
        old.run(&mut conn).await.expect("schema 0001");
        for sql in OLD_ROWS {
            sqlx::query(sql).execute(&mut conn).await.expect("old rows");
        }
        conn.close().await.expect("close");
    }
    let store = SqliteStore::open(&url).await.expect("open runs 0002");
    check(&store).await;
}

#[tokio::test]
async fn mariadb_counters_filled_from_existing_rows() {
    let db = gochat_testkit::mariadb::TempDatabase::create_with_prefix("gochat_test")
        .await
        .expect("create a MariaDB test database (is it running at 127.0.0.1:3306?)");
    let url = db.url();
    let outcome = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(async {
        let mut conn = sqlx::MySqlConnection::connect(&url).await.expect("connect");
        let mut old = sqlx::migrate!("./migrations/mysql");
        old.migrations = Cow::Owned(old.migrations[..1].to_vec());
        old.run(&mut conn).await.expect("schema 0001");
        for sql in OLD_ROWS {
            sqlx::query(sql).execute(&mut conn).await.expect("old rows");
        }
        conn.close().await.expect("close");
        let store = MySqlStore::open(&url).await.expect("open runs 0002");
        check(&store).await;
        store.pool().close().await;
    }))
    .await;
    if let Err(panic) = outcome {
        // The guard drops the database.
        std::panic::resume_unwind(panic);
    }
    db.drop_now().await.expect("drop test database");
}
