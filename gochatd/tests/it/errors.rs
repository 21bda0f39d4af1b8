//! Typed errors over the real Unix socket: every error status carries an `ErrorDetail` whose
//! reason (and, for a refusal, the server's code) frontends branch on, and internal failures
//! reach the client only as a generic text.

use crate::common::*;
use gochat_proto::ipc::{
    self, AccountRef, ErrorDetail, ErrorReason, MessageState, ServerError, admin_request,
};

fn account(name: &str) -> AccountRef {
    AccountRef {
        server: String::new(),
        username: name.into(),
    }
}

/// The reason an error status carries.
fn reason(status: &tonic::Status) -> ErrorReason {
    ErrorDetail::of(status).reason()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolution_errors_are_typed() {
    let server = start_server().await;
    let mut d = start_daemon().await;
    let err = d
        .client
        .resolve_account(AccountRef::default())
        .await
        .expect_err("no server profile yet");
    assert_eq!(reason(&err), ErrorReason::NotFound, "{err:?}");
    assert_eq!(err.code(), tonic::Code::NotFound);

    add_server(&mut d, &server).await;
    register(&mut d, "alice").await;
    let found = d
        .client
        .resolve_account(AccountRef::default())
        .await
        .expect("the only account")
        .into_inner();
    assert_eq!(found.r#ref.expect("ref").username, "alice");

    register(&mut d, "bob").await;
    let err = d
        .client
        .resolve_account(AccountRef::default())
        .await
        .expect_err("two accounts");
    assert_eq!(reason(&err), ErrorReason::AmbiguousAccount, "{err:?}");
    let err = d
        .client
        .login(account("carol"))
        .await
        .expect_err("no such account");
    assert_eq!(reason(&err), ErrorReason::NotFound, "{err:?}");
    server.token.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locked_keys_and_wrong_passphrases_are_typed() {
    let server = start_server().await;
    let mut d = start_daemon().await;
    add_server(&mut d, &server).await;
    d.client
        .register(ipc::RegisterRequest {
            account: Some(account("alice")),
            passphrase: "correct horse".into(),
        })
        .await
        .expect("register");
    d.client.lock(account("alice")).await.expect("lock");

    let err = d
        .client
        .export_key(ipc::ExportKeyRequest {
            account: Some(account("alice")),
        })
        .await
        .expect_err("locked");
    assert_eq!(reason(&err), ErrorReason::Locked, "{err:?}");
    let err = d.client.login(account("alice")).await.expect_err("locked");
    assert_eq!(reason(&err), ErrorReason::Locked, "{err:?}");

    let err = d
        .client
        .unlock(ipc::UnlockRequest {
            account: Some(account("alice")),
            passphrase: "wrong".into(),
        })
        .await
        .expect_err("wrong passphrase");
    assert_eq!(reason(&err), ErrorReason::BadPassphrase, "{err:?}");
    server.token.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_refused_and_failed_messages_are_typed() {
    let server = start_server().await;
    let (mut alice, _bob) = two_users(&server, "alice", "bob").await;

    // The server answers ERR_PERMS to a plain user's broadcast: REFUSED with that code.
    let err = alice
        .client
        .admin(ipc::AdminRequest {
            account: None,
            op: Some(admin_request::Op::Broadcast("hello all".into())),
        })
        .await
        .expect_err("not an admin");
    let detail = ErrorDetail::of(&err);
    assert_eq!(detail.reason(), ErrorReason::Refused, "{err:?}");
    assert_eq!(detail.server_error(), ServerError::Perms, "{err:?}");

    // A message to nobody fails with NOT_FOUND as its failure reason.
    let sent = alice
        .client
        .send(send("nobody", "hi", true))
        .await
        .expect("send")
        .into_inner();
    assert_eq!(sent.messages[0].state(), MessageState::Failed);
    assert_eq!(sent.messages[0].failure_reason(), ErrorReason::NotFound);

    // Logged out, online-only calls fail as NOT_ONLINE.
    alice.client.logout(account("alice")).await.expect("logout");
    let err = alice
        .client
        .request_key(ipc::UserRef {
            account: None,
            user: "bob".into(),
        })
        .await
        .expect_err("offline");
    assert_eq!(reason(&err), ErrorReason::NotOnline, "{err:?}");
    assert_eq!(err.code(), tonic::Code::Unavailable);
    server.token.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_failures_reach_clients_only_as_internal() {
    let server = start_server().await;
    let mut d = start_daemon().await;
    add_server(&mut d, &server).await;
    register(&mut d, "alice").await;
    // Break the store under the daemon: its contacts table goes away.
    let db = d.dir.path().join("data").join("gochatd.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("open the store");
    sqlx::query("ALTER TABLE contacts RENAME TO contacts_gone")
        .execute(&pool)
        .await
        .expect("rename");
    pool.close().await;

    let err = d
        .client
        .list_contacts(account("alice"))
        .await
        .expect_err("the store fails");
    assert_eq!(reason(&err), ErrorReason::Internal, "{err:?}");
    assert_eq!(err.code(), tonic::Code::Internal);
    assert!(
        !err.message().contains("contacts") && !err.message().contains("database"),
        "the store's error stays in the log: {}",
        err.message()
    );
    server.token.cancel();
}
