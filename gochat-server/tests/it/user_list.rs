//! USRS on a large users table, on both backends: the reply is built from a bounded read
//! (it stops once the reply is full), so a list that fits is complete and one that does not
//! gets ERR_PACKET quickly, however large the table.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use crate::common::{Backend, TestServer, assert_err, key};
use gochat_proto::wire::{Action, ErrorCode, Request, UserList};
use gochat_server::store::{MySqlStore, SqliteStore};

both_backends!(many_users_capped_and_fast);

/// Inserts users `u0000000`.. (`from..to`) straight into the database, 500 rows a statement.
async fn bulk_users(s: &TestServer, from: usize, to: usize) {
    let rows: Vec<usize> = (from..to).collect();
    let sql = |n: usize| {
        let mut sql = String::from("INSERT INTO users (username, public_key, permission) VALUES ");
        sql.push_str(&vec!["(?, ?, 0)"; n].join(","));
        sql
    };
    match s.backend {
        Backend::Sqlite => {
            let store = SqliteStore::open(&s.database_url).await.expect("open");
            let mut tx = store.pool().begin().await.expect("begin");
            for chunk in rows.chunks(500) {
                let sql = sql(chunk.len());
                let mut q = sqlx::query(&sql);
                for i in chunk {
                    q = q
                        .bind(format!("u{i:07}").into_bytes())
                        .bind(b"key".to_vec());
                }
                q.execute(&mut *tx).await.expect("insert");
            }
            tx.commit().await.expect("commit");
        }
        Backend::MariaDb => {
            let store = MySqlStore::open(&s.database_url).await.expect("open");
            let mut tx = store.pool().begin().await.expect("begin");
            for chunk in rows.chunks(500) {
                let sql = sql(chunk.len());
                let mut q = sqlx::query(&sql);
                for i in chunk {
                    q = q
                        .bind(format!("u{i:07}").into_bytes())
                        .bind(b"key".to_vec());
                }
                q.execute(&mut *tx).await.expect("insert");
            }
            tx.commit().await.expect("commit");
        }
    }
}

/// 1,000 users fit in one reply and all come back, in order; with 100,000 the reply is
/// ERR_PACKET, and ten of them take well under a second (each reads only what fits).
async fn many_users_capped_and_fast(backend: Backend) {
    const FITTING: usize = 1000;
    const MANY: usize = 100_000;
    let s = TestServer::start(backend).await;
    let mut alice = s.connect().await;
    alice.register("alice", key(0)).await;
    alice.login("alice", key(0)).await;

    bulk_users(&s, 0, FITTING).await;
    let reply = alice.call(Request::Users(UserList::All)).await;
    assert_eq!(reply.action, Action::Usrs, "{reply:?}");
    let names: Vec<Vec<u8>> = reply
        .args
        .iter()
        .flat_map(|a| a.split(|&b| b == b'\n'))
        .map(<[u8]>::to_vec)
        .collect();
    let mut expected = vec![b"alice".to_vec()];
    expected.extend((0..FITTING).map(|i| format!("u{i:07}").into_bytes()));
    assert_eq!(
        names, expected,
        "a list that fits is complete, in registration order"
    );

    bulk_users(&s, FITTING, MANY).await;
    let started = Instant::now();
    for kind in [UserList::All, UserList::AllPerms]
        .into_iter()
        .cycle()
        .take(10)
    {
        let reply = alice.call(Request::Users(kind)).await;
        assert_err(&reply, ErrorCode::Packet, "USRS over a huge table");
    }
    let elapsed = started.elapsed();
    eprintln!("{backend:?}: 10 × USRS ALL over {MANY} users: {elapsed:?}");
    assert!(
        elapsed < Duration::from_secs(1),
        "10 USRS over {MANY} users took {elapsed:?}"
    );
    // Other requests are served meanwhile as usual.
    alice.err(Request::Reciv, ErrorCode::Empty).await;
    s.stop().await;
}
