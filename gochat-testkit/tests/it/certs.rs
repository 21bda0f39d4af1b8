use gochat_testkit::certs::{Authority, CertKey, connector_trusting};
use gochat_testkit::{Listeners, ServerOptions, TestServer, WireClient, WireError};

/// A server presenting `leaf`, plain TCP off.
async fn tls_server(leaf: &CertKey) -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = leaf.write_pem(dir.path(), "leaf").expect("write");
    let server = TestServer::start(
        ServerOptions {
            listeners: Listeners::Tls,
            ..Default::default()
        },
        move |c| {
            c.cert = Some(files.cert);
            c.key = Some(files.key);
        },
    )
    .await;
    (server, dir)
}

#[tokio::test]
async fn a_leaf_issued_by_the_ca_is_trusted_through_the_ca_only() {
    let ca = Authority::new("gochat test CA").expect("CA");
    let leaf = ca.issue(&["localhost"]).expect("leaf");
    let (server, _dir) = tls_server(&leaf).await;
    let trusting_ca = ca.ca().connector().expect("connector");
    let c = WireClient::connect_tls(server.addr(), &trusting_ca, "localhost")
        .await
        .expect("the CA vouches for the leaf");
    assert_eq!(c.motd(), b"gochat test server");

    // Another CA, or the wrong name: the handshake fails, as a typed error.
    let other = Authority::new("someone else").expect("CA");
    let err = WireClient::connect_tls(server.addr(), &other.ca().connector().unwrap(), "localhost")
        .await
        .err()
        .expect("an unknown CA is refused");
    assert!(matches!(err, WireError::Tls { .. }), "{err:?}");
    let err = WireClient::connect_tls(server.addr(), &trusting_ca, "example.org")
        .await
        .err()
        .expect("a name the leaf does not carry is refused");
    assert!(matches!(err, WireError::Tls { .. }), "{err:?}");
    server.stop().await;
}

#[tokio::test]
async fn the_test_servers_self_signed_certificate_is_its_own_pin() {
    let server = TestServer::start(
        ServerOptions {
            listeners: Listeners::PlainAndTls,
            ..Default::default()
        },
        |_| {},
    )
    .await;
    let pem = std::fs::read(server.cert_path().expect("a certificate")).expect("read");
    let der = rustls_pki_types::pem::PemObject::from_pem_slice(&pem).expect("PEM");
    let connector = connector_trusting(&[der]).expect("connector");
    WireClient::connect_tls(server.tls_addr().expect("TLS"), &connector, "localhost")
        .await
        .expect("pinned");
    server.connect().await.expect("plain too");
    server.stop().await;
}

#[test]
fn the_key_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let files = CertKey::self_signed(&["localhost", "127.0.0.1"])
        .expect("cert")
        .write_pem(dir.path(), "server")
        .expect("write");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&files.key), 0o600);
    assert!(
        std::fs::read_to_string(&files.cert)
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
}
