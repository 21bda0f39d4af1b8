//! `gochat-server import-go` on the real Go fixture (`tests/fixtures/go-deployment`): the dump
//! is loaded into a fresh MariaDB database (dropped afterwards), imported into both backends
//! (SQLite in a temporary directory, MariaDB in another fresh database), and checked: users,
//! permissions, the deregistered user, every pending message byte for byte and in order, and
//! over a real socket carol's catch-up decrypting to the Go scenario's plaintexts exactly once.
//! Edge cases the fixture lacks are added to the loaded dump by `add_edge_cases`.
//!
//! Set `GOCHAT_TEST_MYSQL_URL` to use another MariaDB server (URL without a database name).

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use common::{Backend, Client, assert_ok, key, login_req};
use gochat_proto::crypto::PrivateKey;
use gochat_proto::wire::{Action, ErrorCode, Permission, Request, decode_stamp};
use gochat_server::config::Config;
use gochat_server::import_go::{
    ImportError, ImportOptions, Report, SkipReason, UserOutcome, import,
};
use gochat_server::server::Server;
use gochat_server::store::{self, Store, UserRecord};
use sqlx::{Connection, Row};

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
    std::env::var("GOCHAT_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into())
}

/// A throw-away MariaDB database, dropped when the guard goes (passed or panicked).
struct Db {
    name: String,
}

impl Db {
    async fn create(prefix: &str) -> Db {
        let name = format!("{prefix}_{:016x}", rand::random::<u64>());
        let mut admin = sqlx::MySqlConnection::connect(&mysql_server_url())
            .await
            .expect("connect to MariaDB (is it running at 127.0.0.1:3306?)");
        sqlx::query(&format!("CREATE DATABASE `{name}`"))
            .execute(&mut admin)
            .await
            .expect("create test database");
        let _ = admin.close().await;
        Db { name }
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

impl Drop for Db {
    fn drop(&mut self) {
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let mut admin = sqlx::MySqlConnection::connect(&mysql_server_url()).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS `{name}`"))
                    .execute(&mut admin)
                    .await?;
                admin.close().await
            })
            .unwrap_or_else(|e| eprintln!("could not drop test database {name}: {e}"));
        })
        .join();
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

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

/// Users, permissions, the deregistered user and carol's messages, byte for byte; a second
/// run changes nothing, also after a delivery; the source is never written.
async fn fixture_imports_exactly(backend: Backend) {
    let source = go_source().await;
    let before = source_contents(&source).await;
    let target = Target::new(backend).await;
    let store = target.open().await;

    let report = run_import(&source, store.as_ref(), false).await;
    let totals = report.user_totals();
    assert_eq!((totals.registered, totals.deregistered), (3, 1), "{report}");
    assert_eq!(report.messages_imported(), 4, "{report}");
    assert_eq!(
        report.per_recipient,
        BTreeMap::from([(b"carol".to_vec(), 4)])
    );
    assert!(
        report.skipped.is_empty() && report.warnings.is_empty(),
        "{report}"
    );

    let users = store.all_users().await.expect("users");
    let names: Vec<&[u8]> = users.iter().map(|u| u.username.as_slice()).collect();
    assert_eq!(names, [&b"alice"[..], b"bob", b"carol", b"dave"]);
    assert_eq!(user(&users, "alice").permission(), Some(Permission::Owner));
    assert_eq!(user(&users, "bob").permission(), Some(Permission::User));
    assert_eq!(user(&users, "carol").permission(), Some(Permission::User));
    assert_eq!(
        user(&users, "dave").public_key,
        None,
        "dave stays deregistered"
    );
    // Keys are kept as Go stored them (808-byte PEM with a trailing LF).
    let carol_pem = user(&users, "carol").public_key.clone().expect("key");
    assert_eq!(carol_pem.len(), 808);
    assert_eq!(
        gochat_proto::wire::PublicKey::parse(&carol_pem).expect("parses"),
        *carol_key().public_key()
    );

    let want = go_pending(&source, "carol").await;
    assert_eq!(want.len(), 4);
    let got = pending(store.as_ref(), "carol").await;
    assert_eq!(got, want, "byte-identical and in order");
    let stamps: Vec<(Vec<u8>, i64)> = got.iter().map(|(s, t, _)| (s.clone(), *t)).collect();
    let readme: Vec<(Vec<u8>, i64)> = CAROL_PENDING
        .iter()
        .map(|(s, t, _)| (s.as_bytes().to_vec(), *t))
        .collect();
    assert_eq!(stamps, readme);

    // Again: nothing changes, and it says so.
    let again = run_import(&source, store.as_ref(), false).await;
    assert!(again.is_noop(), "{again}");
    assert_eq!(again.already_imported, 4);
    assert_eq!(again.user_totals().present, 4);
    assert!(again.to_string().contains("nothing to import"), "{again}");
    assert_eq!(store.all_users().await.expect("users"), users);

    // Deliver one, import again: the delivered message does not come back.
    let carol = store.user(b"carol").await.expect("lookup").expect("carol");
    // The quota counters count what the import stored.
    let usage = store.mailbox_usage(carol.id).await.expect("usage");
    assert_eq!(
        usage.messages, 4,
        "imported messages count against the mailbox quota"
    );
    let first = store.pending_messages(carol.id, 1).await.expect("pending");
    store
        .delete_messages(carol.id, &[first[0].id])
        .await
        .expect("delete delivered");
    let third = run_import(&source, store.as_ref(), false).await;
    assert!(third.is_noop(), "{third}");
    assert_eq!(pending(store.as_ref(), "carol").await, want[1..]);

    assert_eq!(source_contents(&source).await, before, "source unchanged");
}

/// Carol logs in on a server running on the imported store with `carol.priv` and receives the
/// four Go messages, decrypting to the scenario's plaintexts, in order, exactly once; dave
/// stays deregistered (LOGIN and REG both answer ERR_DEREG, as on the Go server).
async fn carol_catches_up_over_socket(backend: Backend) {
    let source = go_source().await;
    let target = Target::new(backend).await;
    {
        let store = target.open().await;
        run_import(&source, store.as_ref(), false).await;
    }
    let (addr, stop) = serve(target.url()).await;
    let carol_key = carol_key();

    let mut carol = Client::connect(addr).await;
    carol.login("carol", &carol_key).await;
    let id = carol.send(Request::Reciv).await;
    assert_ok(&carol.reply(id).await, "RECIV");
    for (from, stamp, text) in CAROL_PENDING {
        let p = carol.event().await;
        assert_eq!(p.action, Action::Reciv);
        assert_eq!(p.args[0], from.as_bytes());
        assert_eq!(decode_stamp(&p.args[1]).expect("stamp"), stamp);
        let plain = carol_key
            .decrypt(&p.args[2])
            .expect("decrypts with carol.priv");
        assert_eq!(&plain[..], text.as_bytes());
    }
    carol.err(Request::Reciv, ErrorCode::Empty).await;
    carol.expect_no_events().await;

    let mut dave = Client::connect(addr).await;
    dave.err(login_req("dave"), ErrorCode::Dereg).await;
    dave.err(
        Request::Reg {
            username: Bytes::from_static(b"dave"),
            public_key: common::pem(key(3)),
        },
        ErrorCode::Dereg,
    )
    .await;
    stop().await;
}

/// A target holding other accounts is refused (nothing written) unless `--merge`; with it,
/// a different account under a Go name is a conflict: neither it nor its messages come in.
async fn non_empty_target_needs_merge(backend: Backend) {
    let source = go_source().await;
    let target = Target::new(backend).await;
    let store = target.open().await;
    let other = key(3).public_key();
    store
        .register(b"bob", other.to_pem().as_bytes(), &other.fingerprint())
        .await
        .expect("register another bob");

    let refused = import(
        &source.url(),
        Some(store.as_ref()),
        ImportOptions::default(),
    )
    .await;
    assert!(
        matches!(refused, Err(ImportError::Refused(_))),
        "{refused:?}"
    );
    let users = store.all_users().await.expect("users");
    assert_eq!(users.len(), 1, "nothing written");

    let report = run_import(&source, store.as_ref(), true).await;
    assert!(
        matches!(outcome(&report, "bob"), UserOutcome::Conflict(_)),
        "{report}"
    );
    assert_eq!(report.user_totals().registered, 2, "{report}");
    let user_bob = store.user(b"bob").await.expect("lookup").expect("bob");
    assert_eq!(
        user_bob.public_key.as_deref(),
        Some(other.to_pem().as_bytes()),
        "the target's bob is kept"
    );
    let carol = pending(store.as_ref(), "carol").await;
    assert_eq!(
        carol.len(),
        3,
        "bob's message to carol is not attributed to another bob"
    );
    assert!(carol.iter().all(|(s, _, _)| s == b"alice"));
    assert_eq!(
        report.skipped_by_reason(),
        BTreeMap::from([(SkipReason::SenderNotImported, 1)])
    );
}

/// The odd rows the fixture lacks: usernames equal except for case, a key registered twice
/// (same text, and another PEM form), an unusable key, an invalid permission, a name our
/// schema cannot hold, invalid hex, sender and recipient rows that are gone, messages to
/// deregistered users, stamp ties and fractions. Each is decided as documented, counted, and
/// nothing crashes.
async fn edge_cases_are_decided_and_counted(backend: Backend) {
    let source = go_source().await;
    add_edge_cases(&source).await;
    let before = source_contents(&source).await;
    let target = Target::new(backend).await;
    let store = target.open().await;
    let report = run_import(&source, store.as_ref(), false).await;
    let text = report.to_string();

    for name in ["alice", "bob", "carol", "frank"] {
        assert!(
            matches!(outcome(&report, name), UserOutcome::Registered(_)),
            "{text}"
        );
    }
    assert_eq!(outcome(&report, "dave"), &UserOutcome::Deregistered);
    for name in ["Carol", "erin", "gina", "hank"] {
        assert!(
            matches!(outcome(&report, name), UserOutcome::Reserved(_)),
            "{name}: {text}"
        );
    }
    assert!(
        matches!(outcome(&report, &"é".repeat(20)), UserOutcome::Skipped(_)),
        "{text}"
    );
    assert!(text.contains("permission 9"), "{text}");
    assert!(text.contains("utf8mb4_general_ci"), "{text}");

    let users = store.all_users().await.expect("users");
    for name in ["Carol", "erin", "gina", "hank"] {
        assert_eq!(user(&users, name).public_key, None, "{name} reserved");
    }
    assert_eq!(user(&users, "frank").permission(), Some(Permission::User));
    assert!(user(&users, "frank").public_key.is_some());
    assert_eq!(users.len(), 9, "the over-long name is not stored");

    assert_eq!(
        report.skipped_by_reason(),
        BTreeMap::from([
            (SkipReason::SenderMissing, 1),
            (SkipReason::RecipientMissing, 1),
            (SkipReason::BadHex, 2),
            (SkipReason::SenderNotImported, 1),
            (SkipReason::RecipientNotLive, 3),
        ]),
        "{text}"
    );
    assert!(text.contains("skipped row"), "{text}");

    // Bob's: the earlier stamp first (fraction dropped), then the tie in table order, then
    // the message from the shadowed name, delivered under its own name.
    let bob: Vec<(Vec<u8>, i64, Vec<u8>)> = pending(store.as_ref(), "bob").await;
    assert_eq!(
        bob,
        vec![
            (b"alice".to_vec(), 1_796_500_801, b"x0".to_vec()),
            (b"alice".to_vec(), 1_796_500_805, b"x1".to_vec()),
            (b"carol".to_vec(), 1_796_500_805, b"x2".to_vec()),
            (b"alice".to_vec(), 1_796_500_805, b"x1".to_vec()),
            (b"Carol".to_vec(), 1_796_500_806, b"from shadow".to_vec()),
        ]
    );
    assert_eq!(
        pending(store.as_ref(), "alice").await,
        vec![(b"bob".to_vec(), 1_796_500_806, b"UP".to_vec())],
        "upper-case hex decodes as Go's hex.DecodeString does"
    );
    assert_eq!(pending(store.as_ref(), "frank").await.len(), 1);
    assert_eq!(pending(store.as_ref(), "carol").await.len(), 4);

    let again = run_import(&source, store.as_ref(), false).await;
    assert!(again.is_noop(), "{again}");
    assert_eq!(source_contents(&source).await, before, "source unchanged");
}

/// Adds the rows the fixture lacks (the unique indexes that would forbid some of them are
/// dropped, as on a Go database restored without them).
async fn add_edge_cases(db: &Db) {
    let mut conn = db.connect().await;
    for sql in [
        "SET FOREIGN_KEY_CHECKS = 0",
        "ALTER TABLE users DROP INDEX uni_users_username, DROP INDEX uni_users_pubkey",
        "ALTER TABLE messages DROP CONSTRAINT chk_messages_src_user",
    ] {
        sqlx::raw_sql(sql).execute(&mut conn).await.expect(sql);
    }
    let pem = |i: usize| key(i).public_key().to_pem();
    let users: [(u64, String, Option<String>, i64); 4] = [
        // Equal to carol under utf8mb4_general_ci.
        (5, "Carol".into(), Some(pem(1)), 0),
        (7, "frank".into(), Some(pem(3)), 9),
        (
            8,
            "gina".into(),
            Some(
                "-----BEGIN RSA PUBLIC KEY-----\nbm90IGEga2V5\n-----END RSA PUBLIC KEY-----\n"
                    .into(),
            ),
            0,
        ),
        // 40 bytes in UTF-8: too long for our 32-byte names.
        (9, "é".repeat(20), None, 0),
    ];
    for (id, name, key, perm) in users {
        sqlx::query("INSERT INTO users VALUES (?, ?, ?, ?)")
            .bind(id)
            .bind(name)
            .bind(key)
            .bind(perm)
            .execute(&mut conn)
            .await
            .expect("insert user");
    }
    // carol's key again: byte for byte (erin), and with CRLF line ends (hank).
    for sql in [
        "INSERT INTO users SELECT 6, 'erin', pubkey, 0 FROM users WHERE user_id = 3",
        "INSERT INTO users SELECT 10, 'hank', REPLACE(pubkey, '\\n', '\\r\\n'), 0 \
         FROM users WHERE user_id = 3",
    ] {
        sqlx::query(sql).execute(&mut conn).await.expect(sql);
    }
    let h = |s: &[u8]| hex::encode(s);
    let messages: [(u64, u64, String, &str); 15] = [
        (1, 2, h(b"x1"), "2026-12-05 20:00:05"),
        (3, 2, h(b"x2"), "2026-12-05 20:00:05"),
        (1, 2, h(b"x0"), "2026-12-05 20:00:01.700"),
        // The very same row again (a resent ciphertext): two messages.
        (1, 2, h(b"x1"), "2026-12-05 20:00:05"),
        (5, 2, h(b"from shadow"), "2026-12-05 20:00:06"),
        (1, 5, h(b"to shadow"), "2026-12-05 20:00:06"),
        (1, 6, h(b"to erin"), "2026-12-05 20:00:06"),
        (1, 4, h(b"to dave"), "2026-12-05 20:00:06"),
        (2, 1, "zz".into(), "2026-12-05 20:00:06"),
        (2, 1, "abc".into(), "2026-12-05 20:00:06"),
        (2, 1, h(b"UP").to_uppercase(), "2026-12-05 20:00:06"),
        (11, 2, h(b"sender gone"), "2026-12-05 20:00:06"),
        (2, 12, h(b"recipient gone"), "2026-12-05 20:00:06"),
        (9, 2, h(b"from a long name"), "2026-12-05 20:00:06"),
        (2, 7, h(b"to frank"), "2026-12-05 20:00:06"),
    ];
    for (src, dst, message, stamp) in messages {
        sqlx::query("INSERT INTO messages VALUES (?, ?, ?, ?)")
            .bind(src)
            .bind(dst)
            .bind(message)
            .bind(stamp)
            .execute(&mut conn)
            .await
            .expect("insert message");
    }
    let _ = conn.close().await;
}

/// The command itself: `--dry-run` writes nothing (not even an empty target), the real run
/// reports the counts, a second run says there is nothing to import, and pointing the target
/// at the Go database is refused before anything is written there.
async fn command_line(backend: Backend) {
    let source = go_source().await;
    let before = source_contents(&source).await;
    let target = Target::new(backend).await;
    let exe = env!("CARGO_BIN_EXE_gochat-server");
    let run = |args: Vec<String>| {
        let out = std::process::Command::new(exe)
            .args(&args)
            .output()
            .expect("run gochat-server");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let args = |extra: &[&str], database: &str| {
        let mut a = vec![
            "import-go".to_owned(),
            "--from".to_owned(),
            source.url(),
            "--database".to_owned(),
            database.to_owned(),
        ];
        a.extend(extra.iter().map(|s| (*s).to_owned()));
        a
    };

    let (code, out, err) = run(args(&["--dry-run"], &target.url()));
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("for carol: 4 would be imported"), "{out}");
    assert!(out.contains("dry run: nothing was written"), "{out}");
    match &target {
        Target::Sqlite(dir) => assert!(!dir.path().join("store").exists(), "no file created"),
        Target::MariaDb(db) => {
            let mut conn = db.connect().await;
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()",
            )
            .fetch_one(&mut conn)
            .await
            .expect("count tables");
            assert_eq!(n, 0, "no tables created");
        }
    }

    let (code, out, err) = run(args(&[], &target.url()));
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("for carol: 4 imported"), "{out}");
    assert!(out.contains("3 registered, 1 deregistered"), "{out}");
    assert!(out.contains("import committed"), "{out}");

    let (code, out, err) = run(args(&[], &target.url()));
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("nothing to import"), "{out}");

    let (code, out, err) = run(args(&[], &source.url()));
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(err.contains("Go gochat database"), "{err}");
    assert_eq!(source_contents(&source).await, before, "source unchanged");
}

/// `host`, `port`, `user`, `password` of the test MariaDB server, for a Go config.
fn mysql_parts() -> (String, u16, String, String) {
    let url = mysql_server_url();
    let rest = url.strip_prefix("mysql://").expect("mysql:// URL");
    let (creds, host_port) = rest.rsplit_once('@').expect("user@host");
    let (user, password) = creds.split_once(':').unwrap_or((creds, ""));
    let (host, port) = host_port.rsplit_once(':').unwrap_or((host_port, "3306"));
    (
        host.to_owned(),
        port.trim_end_matches('/').parse().expect("port"),
        user.to_owned(),
        password.to_owned(),
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// The fixture's Go config with free ports, a generated certificate, and `database.*` naming
/// `db` on the test server. Returns the file and a TLS connector trusting the certificate.
fn go_config_for(
    dir: &std::path::Path,
    db: &str,
    plain: u16,
    tls: u16,
) -> (PathBuf, tokio_rustls::TlsConnector) {
    use tokio_rustls::rustls;
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("cert");
    std::fs::create_dir_all(dir.join("certs")).expect("certs dir");
    std::fs::write(dir.join("certs/gochat.pem"), certified.cert.pem()).expect("cert");
    std::fs::write(
        dir.join("certs/gochat.key"),
        certified.key_pair.serialize_pem(),
    )
    .expect("key");
    let text = std::fs::read_to_string(fixture("server-config.json")).expect("Go config");
    let mut v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let (host, port, user, password) = mysql_parts();
    v["server"]["port"] = plain.into();
    v["server"]["tls"]["port"] = tls.into();
    v["database"]["address"] = host.into();
    v["database"]["port"] = port.into();
    v["database"]["user"] = user.into();
    v["database"]["password"] = password.into();
    v["database"]["db_name"] = db.into();
    let path = dir.join("config.json");
    std::fs::write(&path, v.to_string()).expect("write Go config");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(certified.cert.der().clone()).expect("root");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    (path, tokio_rustls::TlsConnector::from(Arc::new(client)))
}

/// Stops a child process (by its PID) when dropped.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The whole procedure: import, then `gochat-server --go-config config.json` (the Go file as it
/// is, with only ports, certificate and database credentials changed for the test) serves
/// the Go ports: HELLO carries Go's MOTD on both, and carol, over TLS with the same
/// certificate, receives her four Go messages. The same config pointed at the Go database
/// itself is refused before anything is written there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_config_serves_the_imported_store() {
    let source = go_source().await;
    let before = source_contents(&source).await;
    let target = Db::create("gochat_goimp").await;
    let store = store::open(&target.url()).await.expect("target");
    run_import(&source, store.as_ref(), false).await;
    drop(store);

    let dir = tempfile::tempdir().expect("tempdir");
    let (plain, tls) = (free_port(), free_port());
    let (config, connector) = go_config_for(dir.path(), &target.name, plain, tls);
    let log = std::fs::File::create(dir.path().join("server.log")).expect("log file");
    let _server = Child(
        std::process::Command::new(env!("CARGO_BIN_EXE_gochat-server"))
            .arg("--go-config")
            .arg(&config)
            .current_dir(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start gochat-server"),
    );
    let plain_addr: SocketAddr = ([127, 0, 0, 1], plain).into();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while tokio::net::TcpStream::connect(plain_addr).await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "server never listened: {}",
            std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let hello = Client::connect(plain_addr).await;
    assert_eq!(hello.motd(), b"Welcome to the server!");

    let carol_key = carol_key();
    let mut carol = Client::connect_tls(([127, 0, 0, 1], tls).into(), connector).await;
    assert_eq!(carol.motd(), b"Welcome to the server!");
    carol.login("carol", &carol_key).await;
    let id = carol.send(Request::Reciv).await;
    assert_ok(&carol.reply(id).await, "RECIV");
    for (from, _, text) in CAROL_PENDING {
        let p = carol.event().await;
        assert_eq!(p.args[0], from.as_bytes());
        assert_eq!(
            &carol_key.decrypt(&p.args[2]).expect("decrypts")[..],
            text.as_bytes()
        );
    }

    // Pointed at the Go database, the server refuses to start and writes nothing there.
    let (config, _) = go_config_for(dir.path(), &source.name, free_port(), free_port());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gochat-server"))
        .arg("--go-config")
        .arg(&config)
        .current_dir(dir.path())
        .output()
        .expect("run gochat-server");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Go gochat database"), "{err}");
    assert!(
        err.contains("`server.logs.log_file`"),
        "warnings name the key: {err}"
    );
    assert_eq!(source_contents(&source).await, before, "source unchanged");
}

/// `config from-go` prints our TOML for the fixture, names the ignored keys on stderr, lets
/// `--database` replace the Go database, and writes `-o` files with mode 0600.
#[test]
fn config_from_go_prints_and_writes_toml() {
    use std::os::unix::fs::PermissionsExt;
    let exe = env!("CARGO_BIN_EXE_gochat-server");
    let file = fixture("server-config.json");
    let out = std::process::Command::new(exe)
        .args(["config", "from-go"])
        .arg(&file)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let toml_text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    let back: Config = toml::from_str(&toml_text).expect("our TOML");
    assert_eq!(back.listen, "127.0.0.1:9037".parse().ok());
    assert_eq!(back.tls_listen, "127.0.0.1:8037".parse().ok());
    assert_eq!(back.max_clients, 50);
    assert_eq!(back.log, "debug");
    assert_eq!(back.motd, "Welcome to the server!");
    assert_eq!(
        back.database.as_deref(),
        Some("mysql://gochatuser:gochatpass@127.0.0.1:3306/gochat")
    );
    for key in [
        "database.enable_logs",
        "database.log_file",
        "server.logs.log_file",
    ] {
        assert!(err.contains(&format!("`{key}`")), "{err}");
    }
    assert!(!err.contains("gochatpass"), "no secrets on stderr: {err}");

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("server.toml");
    let out = std::process::Command::new(exe)
        .args(["config", "from-go"])
        .arg(&file)
        .args(["--database", "sqlite:///var/lib/gochat/gochat.db", "-o"])
        .arg(&path)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let mode = std::fs::metadata(&path)
        .expect("written")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let back: Config =
        toml::from_str(&std::fs::read_to_string(&path).expect("read")).expect("our TOML");
    assert_eq!(
        back.database.as_deref(),
        Some("sqlite:///var/lib/gochat/gochat.db")
    );
}

/// `apply_import` is one transaction: a batch that fails half-way leaves nothing behind.
async fn a_failed_import_writes_nothing(backend: Backend) {
    use gochat_server::store::{ImportBatch, ImportMessage, ImportUser};
    let target = Target::new(backend).await;
    let store = target.open().await;
    let k = key(3).public_key();
    let batch = ImportBatch {
        users: vec![ImportUser {
            username: b"alice".to_vec(),
            key: Some((k.to_pem().into_bytes(), k.fingerprint())),
            permission: Permission::Owner,
        }],
        messages: vec![ImportMessage {
            sender: b"alice".to_vec(),
            recipient: b"nobody".to_vec(),
            stamp: 1,
            ciphertext: b"x".to_vec(),
            digest: [7; 32],
        }],
    };
    let err = store
        .apply_import(&batch)
        .await
        .expect_err("unknown recipient");
    assert!(err.to_string().contains("nobody"), "{err}");
    assert!(store.all_users().await.expect("users").is_empty());
    assert!(
        store
            .imported_go_messages()
            .await
            .expect("digests")
            .is_empty()
    );
}

both_backends!(
    a_failed_import_writes_nothing,
    fixture_imports_exactly,
    carol_catches_up_over_socket,
    non_empty_target_needs_merge,
    edge_cases_are_decided_and_counted,
    command_line,
);
