//! Keys (Go client import/export, passphrases, pinning and key changes), TLS with a pinned
//! CA, and reconnection after a server restart.

use std::time::Duration;

use crate::common::*;
use gochat_proto::ipc::{self, AccountRef, event};
use gochat_testkit::WireClient;

const ALICE_PEM: &str = include_str!("../../../proto/tests/vectors/keys/alice.priv.pem");
const CAROL_PEM: &str = include_str!("../../../proto/tests/vectors/keys/carol.priv.pem");

/// Registers `name` with the public half of `private_pem` straight over the wire.
async fn register_raw(server: &TestServer, name: &str, private_pem: &str) {
    let key = gochat_proto::crypto::PrivateKey::from_pem(private_pem.as_bytes()).expect("key");
    let mut client = WireClient::connect(server.addr).await.expect("connect");
    client
        .register(name.as_bytes(), &key)
        .await
        .expect("REG answered OK");
}

fn account(name: &str) -> AccountRef {
    AccountRef {
        server: String::new(),
        username: name.into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_client_key_imports_logs_in_and_exports_identically() {
    let server = start_server().await;
    register_raw(&server, "alice", ALICE_PEM).await;
    let mut d = start_daemon().await;
    add_server(&mut d, &server).await;
    let acc = d
        .client
        .import_key(ipc::ImportKeyRequest {
            account: Some(account("alice")),
            private_pem: ALICE_PEM.into(),
            passphrase: String::new(),
        })
        .await
        .expect("import")
        .into_inner();
    assert_eq!(
        acc.state,
        ipc::LinkState::Online as i32,
        "logs in with the imported key"
    );
    let exported = d
        .client
        .export_key(ipc::ExportKeyRequest {
            account: Some(account("alice")),
        })
        .await
        .expect("export")
        .into_inner();
    assert_eq!(
        exported.private_pem, ALICE_PEM,
        "byte-identical to the Go client's file"
    );
    let info = d
        .client
        .show_key(account("alice"))
        .await
        .expect("show")
        .into_inner();
    assert_eq!(info.bits, 4096);
    assert_eq!(info.fingerprint, acc.fingerprint);
    server.token.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passphrase_lock_and_unlock() {
    let server = start_server().await;
    let mut d = start_daemon().await;
    add_server(&mut d, &server).await;
    register_raw(&server, "pat", CAROL_PEM).await;
    d.client
        .import_key(ipc::ImportKeyRequest {
            account: Some(account("pat")),
            private_pem: CAROL_PEM.into(),
            passphrase: "correct horse".into(),
        })
        .await
        .expect("import with passphrase");
    let locked = d
        .client
        .lock(account("pat"))
        .await
        .expect("lock")
        .into_inner();
    assert!(locked.locked && locked.passphrase_protected);
    let err = d
        .client
        .login(account("pat"))
        .await
        .expect_err("locked accounts cannot log in");
    assert_eq!(err.code(), tonic::Code::FailedPrecondition);
    let err = d
        .client
        .unlock(ipc::UnlockRequest {
            account: Some(account("pat")),
            passphrase: "wrong".into(),
        })
        .await
        .expect_err("wrong passphrase");
    assert_eq!(err.code(), tonic::Code::FailedPrecondition);
    assert!(err.message().contains("passphrase"), "{}", err.message());
    let unlocked = d
        .client
        .unlock(ipc::UnlockRequest {
            account: Some(account("pat")),
            passphrase: "correct horse".into(),
        })
        .await
        .expect("unlock")
        .into_inner();
    assert!(!unlocked.locked);
    assert_eq!(unlocked.state, ipc::LinkState::Online as i32);

    // A new passphrase survives a logout (which saves the login preference) and the old one
    // stops working.
    d.client
        .change_passphrase(ipc::ChangePassphraseRequest {
            account: Some(account("pat")),
            old_passphrase: "correct horse".into(),
            new_passphrase: "battery staple".into(),
        })
        .await
        .expect("change passphrase");
    d.client.logout(account("pat")).await.expect("logout");
    d.client.lock(account("pat")).await.expect("lock");
    let unlock = |p: &str| ipc::UnlockRequest {
        account: Some(account("pat")),
        passphrase: p.into(),
    };
    d.client
        .unlock(unlock("correct horse"))
        .await
        .expect_err("old passphrase no longer works");
    d.client
        .unlock(unlock("battery staple"))
        .await
        .expect("new passphrase works");
    server.token.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_contact_key_blocks_sending_until_accepted() {
    let server = start_server().await;
    let (mut a, _b) = two_users(&server, "erin", "frank").await;
    let sent = a
        .client
        .send(send("frank", "first", true))
        .await
        .expect("send")
        .into_inner();
    assert_eq!(sent.messages[0].state, ipc::MessageState::Sent as i32);

    // Simulate a server that hands out another key for frank: pin a different one locally.
    let (_, erin) = a.daemon.resolve_account(None).await.expect("account");
    let mut contact = a
        .daemon
        .store
        .contact(erin.id, "frank")
        .await
        .expect("contact")
        .expect("pinned");
    let other = gochat_proto::crypto::PrivateKey::from_pem(CAROL_PEM.as_bytes()).expect("key");
    contact.public_pem = Some(other.public_key().to_pem());
    contact.fingerprint = Some(other.public_key().fingerprint_hex());
    a.daemon
        .store
        .upsert_contact(&contact)
        .await
        .expect("upsert");

    let mut events = a
        .client
        .subscribe(ipc::SubscribeRequest { since: 0 })
        .await
        .expect("sub")
        .into_inner();
    let c = a
        .client
        .request_key(ipc::UserRef {
            account: None,
            user: "frank".into(),
        })
        .await
        .expect("request key")
        .into_inner();
    assert_eq!(c.key_state, ipc::KeyState::Changed as i32);
    let warned = loop {
        let ev = tokio::time::timeout(Duration::from_secs(10), events.message())
            .await
            .expect("event")
            .expect("ok")
            .expect("open");
        if let Some(event::Kind::KeyChanged(k)) = ev.kind {
            break k;
        }
    };
    assert_eq!(warned.user, "frank");
    let sent = a
        .client
        .send(send("frank", "blocked", true))
        .await
        .expect("send")
        .into_inner();
    assert_eq!(sent.messages[0].state, ipc::MessageState::Failed as i32);
    assert!(
        sent.messages[0].error.contains("key changed"),
        "{}",
        sent.messages[0].error
    );
    let c = a
        .client
        .accept_key(ipc::UserRef {
            account: None,
            user: "frank".into(),
        })
        .await
        .expect("accept")
        .into_inner();
    assert_eq!(c.key_state, ipc::KeyState::Pinned as i32);
    let contacts = a
        .client
        .list_contacts(AccountRef::default())
        .await
        .expect("contacts")
        .into_inner();
    assert_eq!(contacts.contacts.len(), 1);
    assert_eq!(contacts.contacts[0].user, "frank");
    let sent = a
        .client
        .send(send("frank", "after accepting", true))
        .await
        .expect("send")
        .into_inner();
    assert_eq!(sent.messages[0].state, ipc::MessageState::Sent as i32);
    server.token.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_after_server_restart_and_sends_queued() {
    let server = start_server().await;
    let port = server.addr.port();
    let (mut a, mut b) = two_users(&server, "gina", "hank").await;
    let since = a
        .client
        .status(ipc::Empty {})
        .await
        .expect("status")
        .into_inner()
        .last_event_id;
    let mut gina_events = a
        .client
        .subscribe(ipc::SubscribeRequest { since })
        .await
        .expect("sub")
        .into_inner();
    // The server is gone when `stop` returns: its listener is closed and its sessions ended.
    let dir = server.stop().await;
    // Wait until the daemon has seen it go (its link event), not for a fixed time.
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let ev = gina_events
                .message()
                .await
                .expect("stream ok")
                .expect("stream open");
            if let Some(event::Kind::LinkState(link)) = ev.kind
                && link.state != ipc::LinkState::Online as i32
            {
                return;
            }
        }
    })
    .await
    .expect("the link goes offline");
    let queued = a
        .client
        .send(send("hank", "sent while the server was down", false))
        .await
        .expect("send")
        .into_inner();
    assert_eq!(queued.messages[0].state, ipc::MessageState::Queued as i32);

    let mut hank_events = b
        .client
        .subscribe(ipc::SubscribeRequest { since: 0 })
        .await
        .expect("sub")
        .into_inner();
    let restarted = start_server_with(dir, |c| {
        c.listen = Some(format!("127.0.0.1:{port}").parse().expect("addr"))
    })
    .await;
    let got = tokio::time::timeout(Duration::from_secs(60), next_received(&mut hank_events))
        .await
        .expect("delivered after both links reconnected");
    assert_eq!(got.text, "sent while the server was down");
    restarted.token.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_pinned_ca() {
    let server = gochat_testkit::TestServer::start(
        gochat_testkit::ServerOptions {
            listeners: gochat_testkit::Listeners::Tls,
            ..Default::default()
        },
        |_| {},
    )
    .await;
    let cert_path = server.cert_path().expect("a certificate").to_owned();
    let mut d = start_daemon().await;
    d.client
        .add_server(ipc::ServerProfile {
            name: "secure".into(),
            host: "localhost".into(),
            port: u32::from(server.addr().port()),
            tls: true,
            skip_verify: false,
            ca_file: cert_path.display().to_string(),
            is_default: true,
            ..Default::default()
        })
        .await
        .expect("add server");
    let acc = register(&mut d, "ivan").await;
    assert_eq!(acc.state, ipc::LinkState::Online as i32);
    let status = d
        .client
        .status(ipc::Empty {})
        .await
        .expect("status")
        .into_inner();
    assert!(status.links.iter().all(|l| l.secure));

    // Without the pinned CA the certificate is not trusted.
    let mut other = start_daemon().await;
    other
        .client
        .add_server(ipc::ServerProfile {
            name: "untrusted".into(),
            host: "localhost".into(),
            port: u32::from(server.addr().port()),
            tls: true,
            ..Default::default()
        })
        .await
        .expect("add server");
    let err = other.client.register(ipc::RegisterRequest {
        account: Some(account("judy")),
        passphrase: String::new(),
    });
    let err = err.await.expect_err("untrusted certificate");
    assert_eq!(
        gochat_proto::ipc::ErrorDetail::of(&err).reason(),
        gochat_proto::ipc::ErrorReason::CertUntrusted
    );
    assert!(err.message().contains("server trust"), "{}", err.message());
    server.stop().await;
}
