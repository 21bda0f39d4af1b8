//! The TLS certificate is reloaded from its files while the server runs (SIGHUP in the
//! binary): new handshakes present the new certificate, and a broken file keeps the old one.

use gochat_testkit::certs::CertKey;

async fn handshake(addr: std::net::SocketAddr, trusted: &CertKey) -> bool {
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let name = rustls_pki_types::ServerName::try_from("localhost").expect("name");
    let connector = trusted.connector().expect("connector");
    connector.connect(name, tcp).await.is_ok()
}

#[tokio::test]
async fn certificate_reloads_without_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = CertKey::self_signed(&["localhost"]).expect("cert");
    let second = CertKey::self_signed(&["localhost"]).expect("cert");
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    first
        .write_pem_as(cert_path.clone(), key_path.clone())
        .expect("write");
    let config = gochat_server::config::Config {
        listen: None,
        tls_listen: Some("127.0.0.1:0".parse().expect("addr")),
        cert: Some(cert_path.clone()),
        key: Some(key_path.clone()),
        database: Some(format!(
            "sqlite://{}",
            dir.path().join("db.sqlite").display()
        )),
        ..Default::default()
    };
    let server = gochat_server::server::Server::start(config)
        .await
        .expect("start");
    let addr = server.tls_addr.expect("tls");
    let certs = server.cert_store().expect("cert store");
    let stop = server.shutdown_token();
    let running = tokio::spawn(server.run());

    assert!(handshake(addr, &first).await);

    // A broken file: the reload fails and the old certificate stays in use.
    std::fs::write(&cert_path, "not a certificate").expect("write");
    assert!(certs.reload().is_err());
    assert!(handshake(addr, &first).await);

    second
        .write_pem_as(cert_path.clone(), key_path.clone())
        .expect("write");
    certs.reload().expect("reload");
    assert!(handshake(addr, &second).await);
    assert!(!handshake(addr, &first).await);

    stop.cancel();
    let _ = running.await;
}
