//! The Prometheus endpoint counts connections, logins and messages.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn scrape(addr: std::net::SocketAddr) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).await.expect("read");
    out
}

fn value(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} missing in:\n{text}"))
}

#[tokio::test]
async fn metrics_endpoint_reports_activity() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = gochat_server::config::Config {
        listen: Some("127.0.0.1:0".parse().expect("addr")),
        metrics_listen: Some("127.0.0.1:0".parse().expect("addr")),
        database: Some(format!(
            "sqlite://{}",
            dir.path().join("db.sqlite").display()
        )),
        ..Default::default()
    };
    let server = gochat_server::server::Server::start(config)
        .await
        .expect("start");
    let (addr, metrics) = (
        server.plain_addr.expect("plain"),
        server.metrics_addr.expect("metrics"),
    );
    let stop = server.shutdown_token();
    let running = tokio::spawn(server.run());

    let before = scrape(metrics).await;
    assert!(before.starts_with("HTTP/1.1 200 OK"), "{before}");
    assert_eq!(value(&before, "gochat_connections_total"), 0);

    // A connection that sends garbage is counted, and so is its malformed packet.
    let mut c = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut hello = [0u8; 64];
    let _ = c.read(&mut hello).await.expect("hello");
    c.write_all(&[0xF0; 16]).await.expect("garbage");
    let mut rest = Vec::new();
    let _ = c.read_to_end(&mut rest).await;
    let after = scrape(metrics).await;
    assert_eq!(value(&after, "gochat_connections_total"), 1);
    assert_eq!(value(&after, "gochat_malformed_packets_total"), 1);
    assert_eq!(value(&after, "gochat_users_online"), 0);

    stop.cancel();
    let _ = running.await;
}
