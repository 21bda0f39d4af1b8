//! `gochat-server import-go` on the real Go fixture (`tests/fixtures/go-deployment`): the dump
//! is loaded into a fresh MariaDB database (dropped afterwards), imported into both backends
//! (SQLite in a temporary directory, MariaDB in another fresh database), and checked: users,
//! permissions, the deregistered user, every pending message byte for byte and in order, and
//! over a real socket carol's catch-up decrypting to the Go scenario's plaintexts exactly once.
//! Edge cases the fixture lacks are added to the loaded dump by `add_edge_cases`.
//!
//! Set `GOCHAT_TEST_MYSQL_URL` to use another MariaDB server (URL without a database name).

mod go_config;
mod scenarios;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::common::{self, Backend, Client, assert_ok, key, login_req};
use bytes::Bytes;
use gochat_proto::crypto::PrivateKey;
use gochat_proto::wire::{Action, ErrorCode, Permission, Request, decode_stamp};
use gochat_server::config::Config;
use gochat_server::import_go::{
    ImportError, ImportOptions, Report, SkipReason, UserOutcome, import,
};
use gochat_server::server::Server;
use gochat_server::store::{self, Store, UserRecord};
use sqlx::{Connection, Row};

use scenarios::{
    a_failed_import_writes_nothing, carol_catches_up_over_socket, command_line,
    edge_cases_are_decided_and_counted, fixture_imports_exactly, non_empty_target_needs_merge,
};

/// The Go scenario's messages pending for carol: sender, Unix stamp, plaintext.
const CAROL_PENDING: [(&str, i64, &str); 4] = [
    ("alice", 1_796_498_384, "offline one"),
    ("alice", 1_796_498_385, "offline two"),
    ("alice", 1_796_498_387, "offline three"),
    ("bob", 1_796_498_388, "from bob while you were away"),
];

fn fixture(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/go-deployment")
        .join(file)
}

fn mysql_server_url() -> String {
    gochat_testkit::mariadb::server_url()
}

/// A throw-away MariaDB database, dropped when the guard goes (passed or panicked).
struct Db {
    name: String,
    _guard: gochat_testkit::mariadb::TempDatabase,
}

impl Db {
    async fn create(prefix: &str) -> Db {
        let guard = gochat_testkit::mariadb::TempDatabase::create_with_prefix(prefix)
            .await
            .expect("create a MariaDB test database (is it running at 127.0.0.1:3306?)");
        Db {
            name: guard.name().to_owned(),
            _guard: guard,
        }
    }

    fn url(&self) -> String {
        format!("{}/{}", mysql_server_url(), self.name)
    }

    async fn connect(&self) -> sqlx::MySqlConnection {
        sqlx::MySqlConnection::connect(&self.url())
            .await
            .expect("connect to test database")
    }
}

/// A fresh MariaDB database holding the Go fixture dump.
async fn go_source() -> Db {
    let db = Db::create("gochat_gosrc").await;
    let dump = std::fs::read_to_string(fixture("server-dump.sql")).expect("read dump");
    // The sandbox-mode line is for the mariadb client, not the server.
    let sql: Vec<&str> = dump
        .lines()
        .filter(|l| !l.starts_with("/*M!999999"))
        .collect();
    let mut conn = db.connect().await;
    sqlx::raw_sql(&sql.join("\n"))
        .execute(&mut conn)
        .await
        .expect("load the Go dump");
    let _ = conn.close().await;
    db
}

/// Every row of the Go tables as text, to prove the import never writes the source.
async fn source_contents(db: &Db) -> (Vec<String>, Vec<String>) {
    let mut conn = db.connect().await;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(TABLE_NAME AS CHAR) FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME",
    )
    .fetch_all(&mut conn)
    .await
    .expect("tables");
    let mut rows: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(CONCAT_WS('|', user_id, username, IFNULL(pubkey, 'NULL'), permission) \
         AS CHAR) FROM users",
    )
    .fetch_all(&mut conn)
    .await
    .expect("users");
    let messages: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(CONCAT_WS('|', src_user, dst_user, message, stamp) AS CHAR) FROM messages",
    )
    .fetch_all(&mut conn)
    .await
    .expect("messages");
    rows.extend(messages);
    let _ = conn.close().await;
    (tables, rows)
}

/// The Go server's pending messages for `recipient`, read straight from its tables:
/// (sender, stamp, ciphertext bytes), oldest first.
async fn go_pending(db: &Db, recipient: &str) -> Vec<(Vec<u8>, i64, Vec<u8>)> {
    let mut conn = db.connect().await;
    sqlx::raw_sql("SET time_zone = '+00:00'")
        .execute(&mut conn)
        .await
        .expect("UTC session");
    sqlx::query(
        "SELECT CAST(s.username AS BINARY) AS sender, \
                CAST(UNIX_TIMESTAMP(m.stamp) AS SIGNED) AS stamp, \
                CAST(m.message AS BINARY) AS message \
         FROM messages m JOIN users s ON s.user_id = m.src_user \
                         JOIN users d ON d.user_id = m.dst_user \
         WHERE d.username = ? ORDER BY m.stamp",
    )
    .bind(recipient)
    .fetch_all(&mut conn)
    .await
    .expect("Go pending messages")
    .iter()
    .map(|r| {
        let hex_text: Vec<u8> = r.get("message");
        (
            r.get("sender"),
            r.get("stamp"),
            hex::decode(hex_text).expect("fixture hex"),
        )
    })
    .collect()
}

/// Where the import writes.
enum Target {
    Sqlite(tempfile::TempDir),
    MariaDb(Db),
}

impl Target {
    async fn new(backend: Backend) -> Target {
        match backend {
            Backend::Sqlite => Target::Sqlite(tempfile::tempdir().expect("tempdir")),
            Backend::MariaDb => Target::MariaDb(Db::create("gochat_goimp").await),
        }
    }

    fn url(&self) -> String {
        match self {
            Target::Sqlite(dir) => format!("sqlite://{}/store/gochat.db", dir.path().display()),
            Target::MariaDb(db) => db.url(),
        }
    }

    async fn open(&self) -> Arc<dyn Store> {
        store::open(&self.url()).await.expect("open target store")
    }
}

async fn run_import(source: &Db, target: &dyn Store, merge: bool) -> Report {
    import(
        &source.url(),
        Some(target),
        ImportOptions {
            merge,
            dry_run: false,
        },
    )
    .await
    .expect("import")
}

fn user<'a>(users: &'a [UserRecord], name: &str) -> &'a UserRecord {
    users
        .iter()
        .find(|u| u.username == name.as_bytes())
        .unwrap_or_else(|| panic!("{name} imported"))
}

/// Messages pending for `name` in our store: (sender, stamp, ciphertext), delivery order.
async fn pending(store: &dyn Store, name: &str) -> Vec<(Vec<u8>, i64, Vec<u8>)> {
    let user = store
        .user(name.as_bytes())
        .await
        .expect("lookup")
        .expect("user exists");
    store
        .pending_messages(user.id, 10_000)
        .await
        .expect("pending")
        .into_iter()
        .map(|m| (m.sender, m.stamp, m.ciphertext))
        .collect()
}

fn outcome<'a>(report: &'a Report, name: &str) -> &'a UserOutcome {
    &report
        .users
        .iter()
        .find(|(n, _)| n == name.as_bytes())
        .unwrap_or_else(|| panic!("{name} in the report"))
        .1
}

/// A server on an existing store; returns its address and a stopper.
async fn serve(url: String) -> (SocketAddr, impl AsyncFnOnce()) {
    let config = Config {
        listen: Some("127.0.0.1:0".parse().expect("addr")),
        database: Some(url),
        ..Config::default()
    };
    let server = Server::start(config).await.expect("server starts");
    let addr = server.plain_addr.expect("plain listener");
    let token = server.shutdown_token();
    let task = tokio::spawn(server.run());
    (addr, async move || {
        token.cancel();
        tokio::time::timeout(std::time::Duration::from_secs(20), task)
            .await
            .expect("server stops")
            .expect("server task");
    })
}

fn carol_key() -> PrivateKey {
    let pem = std::fs::read(fixture("carol.priv")).expect("carol.priv");
    PrivateKey::from_pem(&pem).expect("carol.priv parses")
}

both_backends!(
    a_failed_import_writes_nothing,
    fixture_imports_exactly,
    carol_catches_up_over_socket,
    non_empty_target_needs_merge,
    edge_cases_are_decided_and_counted,
    command_line,
);
