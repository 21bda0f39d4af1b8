//! Moving from the Go server, seen by a user: the Go server's real database (the dump in
//! gochat-server's fixtures) is loaded into a fresh MariaDB database, imported into a SQLite
//! store, our server runs on it, and carol's gochatd, given her Go key, receives the four
//! messages the Go server held for her: decrypted to the scenario's plaintexts, in order,
//! exactly once.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use gochat_proto::ipc::{self, AccountRef, event};
use gochat_server::import_go::{ImportOptions, import};

use crate::common::*;

/// The Go scenario's messages pending for carol: sender, Unix stamp, plaintext.
const CAROL_PENDING: [(&str, i64, &str); 4] = [
    ("alice", 1_796_498_384, "offline one"),
    ("alice", 1_796_498_385, "offline two"),
    ("alice", 1_796_498_387, "offline three"),
    ("bob", 1_796_498_388, "from bob while you were away"),
];

fn fixture(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../gochat-server/tests/fixtures/go-deployment")
        .join(file)
}

/// Runs the `mariadb` client (root on 127.0.0.1:3306), feeding it `input` when given.
fn mariadb(args: &[&str], input: Option<&PathBuf>) {
    let mut command = Command::new("mariadb");
    command.args(["-uroot", "-h127.0.0.1", "-P3306"]).args(args);
    if let Some(file) = input {
        command.stdin(Stdio::from(std::fs::File::open(file).expect("open dump")));
    }
    let status = command
        .status()
        .expect("run the mariadb client (is it installed?)");
    assert!(status.success(), "mariadb {args:?} failed");
}

/// A MariaDB database holding the Go dump, dropped at the end (passed or panicked).
struct GoDatabase(String);

impl GoDatabase {
    fn load() -> GoDatabase {
        let name = format!("gochat_gosrc_d_{:016x}", rand::random::<u64>());
        mariadb(&["-e", &format!("CREATE DATABASE `{name}`")], None);
        let db = GoDatabase(name);
        mariadb(&[&db.0], Some(&fixture("server-dump.sql")));
        db
    }

    fn url(&self) -> String {
        format!("mysql://root@127.0.0.1:3306/{}", self.0)
    }
}

impl Drop for GoDatabase {
    fn drop(&mut self) {
        let _ = Command::new("mariadb")
            .args(["-uroot", "-h127.0.0.1", "-P3306", "-e"])
            .arg(format!("DROP DATABASE IF EXISTS `{}`", self.0))
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn carol_receives_the_go_servers_pending_messages_through_gochatd() {
    let source = GoDatabase::load();
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let url = format!("sqlite://{}", dir.path().join("server.db").display());
        let store = gochat_server::store::open(&url).await.expect("open store");
        import(
            &source.url(),
            Some(store.as_ref()),
            ImportOptions {
                merge: false,
                dry_run: false,
            },
        )
        .await
        .expect("import the Go database");
    }
    let server = start_server_with(dir, |_| {}).await;

    let mut d = start_daemon().await;
    add_server(&mut d, &server).await;
    let mut events = d
        .client
        .subscribe(ipc::SubscribeRequest { since: 0 })
        .await
        .expect("subscribe")
        .into_inner();
    let carol_pem = std::fs::read_to_string(fixture("carol.priv")).expect("carol.priv");
    let account = d
        .client
        .import_key(ipc::ImportKeyRequest {
            account: Some(AccountRef {
                server: String::new(),
                username: "carol".into(),
            }),
            private_pem: carol_pem,
            passphrase: String::new(),
        })
        .await
        .expect("import carol's Go key")
        .into_inner();
    assert_eq!(account.state, ipc::LinkState::Online as i32);

    let mut received = Vec::new();
    while received.len() < CAROL_PENDING.len() {
        let ev = tokio::time::timeout(Duration::from_secs(60), events.message())
            .await
            .expect("the pending messages in time")
            .expect("stream ok")
            .expect("stream open");
        if let Some(event::Kind::MessageReceived(m)) = ev.kind {
            received.push((m.peer, m.stamp, m.text));
        }
    }
    let expected: Vec<_> = CAROL_PENDING
        .iter()
        .map(|(from, stamp, text)| ((*from).to_owned(), *stamp, (*text).to_owned()))
        .collect();
    assert_eq!(received, expected, "in order, decrypted");

    // Exactly once: the store holds these four and nothing more.
    for (peer, count) in [("alice", 3), ("bob", 1)] {
        let history = d
            .client
            .history(ipc::HistoryRequest {
                account: Some(AccountRef::default()),
                peer: peer.into(),
                limit: 50,
                before: 0,
            })
            .await
            .expect("history")
            .into_inner()
            .messages;
        assert_eq!(history.len(), count, "messages from {peer}");
    }
    server.token.cancel();
}
