//! The certificate-trust dialog (issue 17): its snapshot, its keys, the status line while a
//! link skips verification, and the whole prompt against a real gochatd and a real TLS
//! gochat-server presenting a self-signed `CA:TRUE` certificate.

use std::time::Duration;

use crossterm::event::KeyCode;
use gochat_proto::ipc::{self, CertificateChanged, CertificateInfo, LinkState, event};
use gochat_tui::app::Popup;
use gochat_tui::msg::{Call, Effect};
use insta::assert_snapshot;

use crate::common::*;

const SHA: &str = "3f1a9c0e5b7d2468ace13579bdf02468a1b2c3d4e5f60718293a4b5c6d7e8f90";

fn presented(changed: bool) -> CertificateInfo {
    CertificateInfo {
        sha256: SHA.into(),
        spki_sha256: "00".repeat(32),
        subject: "CN=chat.home.example".into(),
        issuer: "CN=chat.home.example".into(),
        not_before: MORNING,
        not_after: MORNING + 365 * 86_400,
        trusted: false,
        problem: if changed {
            "the certificate differs from the pinned one".into()
        } else {
            "the certificate does not verify: it is not signed by a trusted CA".into()
        },
        changed,
    }
}

fn home_profile(cert: Option<CertificateInfo>) -> ipc::ServerProfile {
    ipc::ServerProfile {
        rejected_certificate: cert,
        ..profile("home", "chat.home.example", 8037, true)
    }
}

#[test]
fn a_refused_certificate_is_offered_for_pinning() {
    let mut app = new_app(80, 24);
    attach(
        &mut app,
        snapshot(vec![home_profile(Some(presented(false)))], vec![], vec![]),
    );
    assert_snapshot!("trust_certificate_80x24", draw(&app).backend());
    let effects = feed(&mut app, [key(KeyCode::Char('y'))]);
    assert!(
        effects.contains(&Effect::Call(Call::TrustServer {
            server: "home".into(),
            sha256: SHA.into(),
        })),
        "{effects:?}"
    );
    assert!(app.popup.is_none());

    // A reload with the same refused certificate does not ask again.
    attach(
        &mut app,
        snapshot(vec![home_profile(Some(presented(false)))], vec![], vec![]),
    );
    assert!(app.popup.is_none(), "{:?}", app.popup);
}

#[test]
fn a_changed_certificate_is_announced_and_offered() {
    let mut app = new_app(80, 24);
    attach(&mut app, snapshot(vec![home_profile(None)], vec![], vec![]));
    let effects = event(
        &mut app,
        101,
        event::Kind::CertificateChanged(CertificateChanged {
            server: "home".into(),
            presented: Some(Box::new(presented(true))),
            pins: vec![format!("sha256:{}", "11".repeat(32))],
        }),
    );
    assert!(effects.contains(&Effect::Call(Call::Reload)), "{effects:?}");
    attach(
        &mut app,
        snapshot(vec![home_profile(Some(presented(true)))], vec![], vec![]),
    );
    assert_snapshot!("certificate_changed_80x24", draw(&app).backend());
    // "n" leaves it refused; /server trust asks again.
    feed(&mut app, [key(KeyCode::Char('n'))]);
    assert!(app.popup.is_none());
    feed(&mut app, typed("/server trust home"));
    let effects = feed(&mut app, [key(KeyCode::Enter)]);
    assert!(
        effects.contains(&Effect::Call(Call::ProbeCertificate("home".into()))),
        "{effects:?}"
    );
}

#[test]
fn the_status_line_warns_while_a_link_skips_verification() {
    let mut app = new_app(80, 24);
    let open = ipc::ServerProfile {
        skip_verify: true,
        ..profile("local", "127.0.0.1", 8037, true)
    };
    attach(
        &mut app,
        snapshot(
            vec![open],
            vec![account("local", "alice", LinkState::Online, 0)],
            vec![],
        ),
    );
    let screen = screen(&app);
    assert!(screen.contains("TLS UNVERIFIED"), "{screen}");
}

/// A self-signed `CA:TRUE` certificate for localhost, as `openssl req -x509` makes it.
fn self_signed_ca() -> (String, String) {
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("cert");
    (cert.pem(), key.serialize_pem())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_prompt_pins_what_a_real_server_presents() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert_pem, key_pem) = self_signed_ca();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert_pem).expect("write cert");
    std::fs::write(&key_path, key_pem).expect("write key");
    let server = gochat_server::server::Server::start(gochat_server::config::Config {
        listen: None,
        tls_listen: Some("127.0.0.1:0".parse().expect("addr")),
        cert: Some(cert_path),
        key: Some(key_path),
        database: Some(format!(
            "sqlite://{}",
            dir.path().join("server.db").display()
        )),
        ..Default::default()
    })
    .await
    .expect("server starts");
    let port = server.tls_addr.expect("tls").port();
    let token = server.shutdown_token();
    tokio::spawn(server.run());

    let ddir = tempfile::tempdir().expect("tempdir");
    let socket = ddir.path().join("run").join("gochatd.sock");
    let config = gochatd::config::DaemonConfig {
        socket: Some(socket.clone()),
        database: Some(ddir.path().join("data").join("gochatd.db")),
        ..Default::default()
    };
    let bound = gochatd::socket::bind(&socket).await.expect("bind");
    let store = gochatd::store::Store::open(&config.database_path())
        .await
        .expect("store");
    let daemon = gochatd::daemon::Daemon::start(store, config)
        .await
        .expect("daemon");
    tokio::spawn(async move { gochatd::run::serve(daemon, bound).await });
    let client = ipc::connect(&socket).await.expect("connect");

    // `/server add home localhost PORT -tls`, as the TUI sends it.
    let mut app = new_app(80, 24);
    let add = Call::AddServer(Box::new(ipc::ServerProfile {
        tls: true,
        ..profile("home", "localhost", u32::from(port), true)
    }));
    gochat_tui::ops::execute(client.clone(), add).await;
    let snap = gochat_tui::ops::reload::snapshot(&mut client.clone())
        .await
        .expect("snapshot");
    attach(&mut app, snap);
    let Some(Popup::TrustCertificate { server, cert }) = app.popup.clone() else {
        panic!("no trust prompt: {:?}", app.popup);
    };
    assert_eq!(server, "home");
    assert_eq!(cert.subject, "CN=localhost");
    assert!(!cert.changed);

    // "y" pins it; the daemon then connects.
    let effects = feed(&mut app, [key(KeyCode::Char('y'))]);
    let Some(Effect::Call(trust)) = effects
        .into_iter()
        .find(|e| matches!(e, Effect::Call(Call::TrustServer { .. })))
    else {
        panic!("no TrustServer call");
    };
    gochat_tui::ops::execute(client.clone(), trust).await;
    let profiles = client
        .clone()
        .list_servers(ipc::Empty {})
        .await
        .expect("list")
        .into_inner();
    assert_eq!(
        profiles.servers[0].pins,
        vec![format!("sha256:{}", cert.sha256)]
    );
    let account = tokio::time::timeout(
        Duration::from_secs(30),
        client.clone().register(ipc::RegisterRequest {
            account: Some(aref("home", "alice")),
            passphrase: String::new(),
        }),
    )
    .await
    .expect("in time")
    .expect("register once pinned")
    .into_inner();
    assert_eq!(account.state, LinkState::Online as i32);
    token.cancel();
}
