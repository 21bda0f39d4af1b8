//! Trusting a self-hosted server's certificate (issue 17): pins, a CA file with a single
//! self-signed certificate, trust on first use, a changed certificate refused until trusted,
//! and a real CA chain still validated by name.

use std::time::Duration;

use gochat_proto::ipc::{self, AccountRef, ErrorDetail, ErrorReason, event};

use crate::certs::{ca_and_leaf, expired, self_signed_ca, start_tls_server};
use crate::common::{TestDaemon, start_daemon};

fn profile(port: u16) -> ipc::ServerProfile {
    ipc::ServerProfile {
        name: "home".into(),
        host: "localhost".into(),
        port: u32::from(port),
        tls: true,
        is_default: true,
        ..Default::default()
    }
}

fn account(name: &str) -> AccountRef {
    AccountRef {
        server: "home".into(),
        username: name.into(),
    }
}

async fn register(d: &mut TestDaemon, name: &str) -> Result<ipc::Account, tonic::Status> {
    d.client
        .register(ipc::RegisterRequest {
            account: Some(account(name)),
            passphrase: String::new(),
        })
        .await
        .map(tonic::Response::into_inner)
}

/// Waits until the link of `name` is in `state`; returns its detail.
async fn link_state(d: &mut TestDaemon, name: &str, state: ipc::LinkState) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let status = d
            .client
            .status(ipc::Empty {})
            .await
            .expect("status")
            .into_inner();
        let link = status
            .links
            .iter()
            .find(|l| l.account.as_ref().is_some_and(|a| a.username == name));
        if let Some(l) = link
            && l.state == state as i32
        {
            return l.detail.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "link of {name} never reached {state:?}: {link:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_signed_ca_certificate_pinned_or_as_ca_file_connects() {
    let cert = self_signed_ca("localhost");
    let server = start_tls_server(tempfile::tempdir().expect("tempdir"), &cert, 0).await;
    let port = server.addr.port();

    let mut pinned = start_daemon().await;
    let added = pinned
        .client
        .add_server(ipc::ServerProfile {
            pins: vec![format!("sha256:{}", cert.sha256())],
            ..profile(port)
        })
        .await
        .expect("add pinned")
        .into_inner();
    assert_eq!(added.pins, vec![format!("sha256:{}", cert.sha256())]);
    assert!(added.rejected_certificate.is_none(), "{added:?}");
    let acc = register(&mut pinned, "alice")
        .await
        .expect("register with a pin");
    assert_eq!(acc.state, ipc::LinkState::Online as i32);

    // Before issue 17 this failed with CaUsedAsEndEntity.
    let mut with_file = start_daemon().await;
    let path = cert.write(with_file.dir.path(), "home");
    let added = with_file
        .client
        .add_server(ipc::ServerProfile {
            ca_file: path,
            ..profile(port)
        })
        .await
        .expect("add with ca file")
        .into_inner();
    assert!(added.rejected_certificate.is_none(), "{added:?}");
    let acc = register(&mut with_file, "bob")
        .await
        .expect("register with --ca-file");
    assert_eq!(acc.state, ipc::LinkState::Online as i32);
    server.token.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_use_then_a_changed_certificate_is_refused_until_trusted() {
    let first = self_signed_ca("localhost");
    let server = start_tls_server(tempfile::tempdir().expect("tempdir"), &first, 0).await;
    let port = server.addr.port();
    let mut d = start_daemon().await;

    // Trust on first use: adding shows the certificate, registering is refused with it.
    let added = d
        .client
        .add_server(profile(port))
        .await
        .expect("add")
        .into_inner();
    let seen = added
        .rejected_certificate
        .expect("the certificate is not trusted yet");
    assert_eq!(seen.sha256, first.sha256());
    assert_eq!(seen.subject, "CN=localhost");
    assert!(seen.not_after > seen.not_before);
    assert!(!seen.changed && !seen.trusted, "{seen:?}");
    let refused = register(&mut d, "carol").await.expect_err("untrusted");
    let detail = ErrorDetail::of(&refused);
    assert_eq!(detail.reason(), ErrorReason::CertUntrusted);
    assert_eq!(
        detail.certificate.expect("certificate").sha256,
        first.sha256()
    );
    assert!(
        refused.message().contains("server trust home"),
        "{}",
        refused.message()
    );

    // The user saw the fingerprint and trusts it.
    let probed = d
        .client
        .probe_server_certificate(ipc::ServerRef {
            name: "home".into(),
        })
        .await
        .expect("probe")
        .into_inner();
    assert_eq!(probed.sha256, first.sha256());
    let trusted = d
        .client
        .trust_server(ipc::TrustServerRequest {
            name: "home".into(),
            expect_sha256: first.sha256(),
            keep_existing: false,
        })
        .await
        .expect("trust")
        .into_inner();
    assert_eq!(trusted.pins, vec![format!("sha256:{}", first.sha256())]);
    assert!(trusted.rejected_certificate.is_none());
    let acc = register(&mut d, "carol")
        .await
        .expect("register once trusted");
    assert_eq!(acc.state, ipc::LinkState::Online as i32);

    // Another certificate on the same address: refused, with an event and the reason on
    // the account's link.
    let mut events = d
        .client
        .subscribe(ipc::SubscribeRequest { since: 0 })
        .await
        .expect("subscribe")
        .into_inner();
    server.token.cancel();
    let dir = server.dir;
    let second = self_signed_ca("localhost");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let server = start_tls_server(dir, &second, port).await;
    let changed = loop {
        let ev = tokio::time::timeout(Duration::from_secs(30), events.message())
            .await
            .expect("a certificate_changed event in time")
            .expect("stream ok")
            .expect("stream open");
        if let Some(event::Kind::CertificateChanged(c)) = ev.kind {
            break c;
        }
    };
    assert_eq!(changed.server, "home");
    let presented = changed.presented.expect("presented");
    assert_eq!(presented.sha256, second.sha256());
    assert!(presented.changed);
    assert_eq!(changed.pins, vec![format!("sha256:{}", first.sha256())]);
    let detail = link_state(&mut d, "carol", ipc::LinkState::Backoff).await;
    assert!(detail.contains("certificate changed"), "{detail}");
    let listed = d
        .client
        .list_servers(ipc::Empty {})
        .await
        .expect("list")
        .into_inner();
    let rejected = listed.servers[0]
        .rejected_certificate
        .clone()
        .expect("recorded");
    assert_eq!(rejected.sha256, second.sha256());

    // Trusting with the fingerprint of the old certificate pins nothing.
    let stale = d
        .client
        .trust_server(ipc::TrustServerRequest {
            name: "home".into(),
            expect_sha256: first.sha256(),
            keep_existing: false,
        })
        .await
        .expect_err("the server presents another certificate");
    assert_eq!(ErrorDetail::of(&stale).reason(), ErrorReason::CertChanged);

    // Nor does a trust that names no fingerprint: nothing is pinned blind.
    let blind = d
        .client
        .trust_server(ipc::TrustServerRequest {
            name: "home".into(),
            expect_sha256: String::new(),
            keep_existing: false,
        })
        .await
        .expect_err("no fingerprint named");
    assert_eq!(
        ErrorDetail::of(&blind).reason(),
        ErrorReason::InvalidArgument
    );
    let still = d
        .client
        .list_servers(ipc::Empty {})
        .await
        .expect("list")
        .into_inner();
    assert!(
        still.servers[0].rejected_certificate.is_some(),
        "nothing pinned"
    );

    // Only an explicit trust accepts the change; the link reconnects.
    d.client
        .trust_server(ipc::TrustServerRequest {
            name: "home".into(),
            expect_sha256: format!("sha256:{}", second.sha256()),
            keep_existing: false,
        })
        .await
        .expect("trust the new certificate");
    link_state(&mut d, "carol", ipc::LinkState::Online).await;
    server.token.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_pins_accept_either_certificate() {
    let old = self_signed_ca("localhost");
    let new = self_signed_ca("localhost");
    let server = start_tls_server(tempfile::tempdir().expect("tempdir"), &new, 0).await;
    let mut d = start_daemon().await;
    let old_path = old.write(d.dir.path(), "old");
    let added = d
        .client
        .add_server(ipc::ServerProfile {
            // A PEM file pins its certificates; a key pin names the new one by its key.
            pins: vec![old_path, format!("spki-sha256:{}", spki_of(&new.der))],
            ..profile(server.addr.port())
        })
        .await
        .expect("add")
        .into_inner();
    assert_eq!(added.pins.len(), 2, "{:?}", added.pins);
    assert!(added.rejected_certificate.is_none(), "{added:?}");
    register(&mut d, "dave")
        .await
        .expect("the new certificate matches its key pin");
    server.token.cancel();
}

/// SHA-256 of the SubjectPublicKeyInfo, as the probe reports it.
fn spki_of(der: &[u8]) -> String {
    use x509_cert::der::{Decode, Encode};
    let cert = x509_cert::Certificate::from_der(der).expect("parse");
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .expect("spki");
    hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&spki))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_ca_file_still_validates_the_name() {
    let (ca, leaf) = ca_and_leaf(&["localhost"]);
    let server = start_tls_server(tempfile::tempdir().expect("tempdir"), &leaf, 0).await;
    let mut good = start_daemon().await;
    let ca_path = ca.write(good.dir.path(), "ca");
    good.client
        .add_server(ipc::ServerProfile {
            ca_file: ca_path,
            ..profile(server.addr.port())
        })
        .await
        .expect("add");
    register(&mut good, "erin")
        .await
        .expect("a valid chain connects");

    let (ca, wrong) = ca_and_leaf(&["wrong.example"]);
    let wrong_server = start_tls_server(tempfile::tempdir().expect("tempdir"), &wrong, 0).await;
    let mut d = start_daemon().await;
    let ca_path = ca.write(d.dir.path(), "ca");
    let added = d
        .client
        .add_server(ipc::ServerProfile {
            ca_file: ca_path,
            ..profile(wrong_server.addr.port())
        })
        .await
        .expect("add")
        .into_inner();
    let seen = added.rejected_certificate.expect("a wrong name is refused");
    assert!(seen.problem.contains("host name"), "{}", seen.problem);
    assert_eq!(seen.issuer, "CN=gochat test CA");
    let refused = register(&mut d, "frank").await.expect_err("wrong name");
    assert_eq!(
        ErrorDetail::of(&refused).reason(),
        ErrorReason::CertUntrusted
    );
    server.token.cancel();
    wrong_server.token.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pin_holds_whatever_the_dates_and_name() {
    let old = expired("other.example");
    let server = start_tls_server(tempfile::tempdir().expect("tempdir"), &old, 0).await;
    let mut d = start_daemon().await;
    let added = d
        .client
        .add_server(profile(server.addr.port()))
        .await
        .expect("add")
        .into_inner();
    let seen = added
        .rejected_certificate
        .expect("expired and for another name");
    assert_eq!(seen.not_after, 978_307_200, "{seen:?}"); // 2001-01-01
    assert!(!seen.problem.is_empty(), "{seen:?}");
    d.client
        .trust_server(ipc::TrustServerRequest {
            name: "home".into(),
            expect_sha256: old.sha256(),
            keep_existing: false,
        })
        .await
        .expect("trust");
    register(&mut d, "gina")
        .await
        .expect("the pin decides alone");
    server.token.cancel();
}
