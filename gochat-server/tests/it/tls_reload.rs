//! The TLS certificate is reloaded from its files while the server runs (SIGHUP in the
//! binary): new handshakes present the new certificate, and a broken file keeps the old one.

use std::sync::Arc;

use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

fn connector(cert_pem: &str) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    for cert in rustls_pki_types::pem::PemObject::pem_slice_iter(cert_pem.as_bytes()) {
        roots.add(cert.expect("pem")).expect("root");
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

async fn handshake(addr: std::net::SocketAddr, trusted: &str) -> bool {
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let name = rustls_pki_types::ServerName::try_from("localhost").expect("name");
    connector(trusted).connect(name, tcp).await.is_ok()
}

#[tokio::test]
async fn certificate_reloads_without_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert");
    let second = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert");
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, first.cert.pem()).expect("write");
    std::fs::write(&key_path, first.key_pair.serialize_pem()).expect("write");
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

    assert!(handshake(addr, &first.cert.pem()).await);

    // A broken file: the reload fails and the old certificate stays in use.
    std::fs::write(&cert_path, "not a certificate").expect("write");
    assert!(certs.reload().is_err());
    assert!(handshake(addr, &first.cert.pem()).await);

    std::fs::write(&cert_path, second.cert.pem()).expect("write");
    std::fs::write(&key_path, second.key_pair.serialize_pem()).expect("write");
    certs.reload().expect("reload");
    assert!(handshake(addr, &second.cert.pem()).await);
    assert!(!handshake(addr, &first.cert.pem()).await);

    stop.cancel();
    let _ = running.await;
}
