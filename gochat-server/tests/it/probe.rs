//! `gochat-server probe` over real sockets: the binary against an in-process server (plain
//! and TLS, on both backends), against things that are not a gochat server, and its exit
//! codes (0 healthy, 1 not, 2 usage).

use std::process::Output;
use std::time::Duration;

use crate::common::{Backend, MOTD, TestServer};
use gochat_server::probe::{ProbeError, ProbeTarget, probe};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

/// Runs the binary with `args`, no config file and no GOCHAT_* settings from outside.
async fn run(args: &[&str]) -> Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_gochat-server"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("GOCHAT_") {
            cmd.env_remove(key);
        }
    }
    tokio::time::timeout(
        Duration::from_secs(60),
        cmd.arg("probe").args(args).kill_on_drop(true).output(),
    )
    .await
    .expect("probe finishes")
    .expect("probe runs")
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited, not killed")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

async fn healthy_plain(backend: Backend) {
    let server = TestServer::start(backend).await;
    let addr = server.plain.to_string();
    let out = run(&["--addr", &addr]).await;
    assert_eq!(code(&out), 0, "stderr: {}", stderr(&out));
    assert!(stdout(&out).starts_with(&format!("ok: HELLO from {addr} (plain TCP)")));
    let quiet = run(&["--addr", &addr, "--quiet"]).await;
    assert_eq!(code(&quiet), 0);
    assert!(quiet.stdout.is_empty());

    let greeting = probe(&ProbeTarget {
        addr,
        tls: None,
        timeout: Duration::from_secs(10),
    })
    .await
    .expect("the library probe succeeds");
    assert_eq!(greeting.motd, MOTD.as_bytes());
    server.stop().await;
}

#[tokio::test]
async fn healthy_plain_server_sqlite() {
    healthy_plain(Backend::Sqlite).await;
}

#[tokio::test]
async fn healthy_plain_server_mariadb() {
    healthy_plain(Backend::MariaDb).await;
}

#[tokio::test]
async fn tls_needs_an_explicit_trust_choice() {
    let server = TestServer::start_tls(Backend::Sqlite).await;
    let addr = server.tls.expect("tls").to_string();
    let cert = server.config.cert.clone().expect("cert");
    let cert = cert.to_str().expect("utf-8 path");

    // No default: --tls alone is a usage error, and so is --insecure without --tls.
    let out = run(&["--addr", &addr, "--tls"]).await;
    assert_eq!(code(&out), 2, "stderr: {}", stderr(&out));
    let out = run(&["--addr", &addr, "--insecure"]).await;
    assert_eq!(code(&out), 2);
    let out = run(&["--addr", &addr, "--tls", "--ca", cert, "--insecure"]).await;
    assert_eq!(code(&out), 2);

    // Verified against the certificate, for the name it carries.
    let out = run(&[
        "--addr",
        &addr,
        "--tls",
        "--ca",
        cert,
        "--server-name",
        "localhost",
    ])
    .await;
    assert_eq!(code(&out), 0, "stderr: {}", stderr(&out));
    assert!(stdout(&out).contains("certificate verified"));

    // The certificate does not name 127.0.0.1: verification fails.
    let out = run(&["--addr", &addr, "--tls", "--ca", cert]).await;
    assert_eq!(code(&out), 1, "stdout: {}", stdout(&out));
    assert!(stderr(&out).contains("TLS handshake"), "{}", stderr(&out));

    // A CA that did not sign it: verification fails.
    let dir = tempfile::tempdir().expect("tempdir");
    let other = dir.path().join("other.pem");
    let stranger = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert");
    std::fs::write(&other, stranger.cert.pem()).expect("write");
    let other = other.to_str().expect("utf-8");
    let out = run(&[
        "--addr",
        &addr,
        "--tls",
        "--ca",
        other,
        "--server-name",
        "localhost",
    ])
    .await;
    assert_eq!(code(&out), 1);

    // A CA file without certificates is an error, not an empty trust store.
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").expect("write");
    let out = run(&[
        "--addr",
        &addr,
        "--tls",
        "--ca",
        empty.to_str().expect("utf-8"),
    ])
    .await;
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("no certificate"), "{}", stderr(&out));

    // --insecure accepts it, and says so.
    let out = run(&["--addr", &addr, "--tls", "--insecure"]).await;
    assert_eq!(code(&out), 0, "stderr: {}", stderr(&out));
    assert!(stdout(&out).contains("NOT verified"));

    // TLS against the plain port fails.
    let plain = server.plain.to_string();
    let out = run(&["--addr", &plain, "--tls", "--insecure"]).await;
    assert_eq!(code(&out), 1);
    server.stop().await;
}

#[tokio::test]
async fn nothing_listening_fails() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    drop(listener);
    let out = run(&["--addr", &addr]).await;
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("cannot connect"), "{}", stderr(&out));
}

/// A peer that answers with `bytes` and then closes.
async fn peer_sending(bytes: &'static [u8]) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    tokio::spawn(async move {
        if let Ok((mut s, _)) = listener.accept().await {
            let _ = s.write_all(bytes).await;
            let _ = s.shutdown().await;
        }
    });
    addr
}

#[tokio::test]
async fn not_a_gochat_server_fails() {
    let addr = peer_sending(b"SSH-2.0-OpenSSH_9.6\r\n").await;
    let out = run(&["--addr", &addr]).await;
    assert_eq!(code(&out), 1);

    let addr = peer_sending(b"").await;
    let out = run(&["--addr", &addr]).await;
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("before HELLO"), "{}", stderr(&out));
}

#[tokio::test]
async fn a_valid_packet_other_than_hello_fails() {
    use gochat_proto::wire::{ErrorCode, Packet};
    let bytes = Packet::error(ErrorCode::Undefined, 0)
        .to_bytes()
        .expect("encodes");
    let leaked: &'static [u8] = Box::leak(bytes.to_vec().into_boxed_slice());
    let addr = peer_sending(leaked).await;
    let out = run(&["--addr", &addr]).await;
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("instead of HELLO"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn a_silent_peer_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let out = run(&["--addr", &addr, "--timeout", "1"]).await;
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("within 1 s"), "{}", stderr(&out));
    drop(listener);

    let err = probe(&ProbeTarget {
        addr: "no-port".into(),
        tls: None,
        timeout: Duration::from_secs(1),
    })
    .await
    .expect_err("not HOST:PORT");
    assert!(matches!(err, ProbeError::BadAddress(_)));
}

#[tokio::test]
async fn default_address_comes_from_the_config() {
    let server = TestServer::start(Backend::Sqlite).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("server.toml");
    let port = server.plain.port();
    std::fs::write(&config, format!("listen = \"0.0.0.0:{port}\"\n")).expect("write");
    let out = run(&["--config", config.to_str().expect("utf-8")]).await;
    assert_eq!(code(&out), 0, "stderr: {}", stderr(&out));
    assert!(stdout(&out).contains(&format!("127.0.0.1:{port}")));

    std::fs::write(&config, "listen = \"127.0.0.1:9\"\n").expect("write");
    let out = run(&[
        "--config",
        config.to_str().expect("utf-8"),
        "--tls",
        "--insecure",
    ])
    .await;
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("no TLS listener"), "{}", stderr(&out));
    server.stop().await;
}
