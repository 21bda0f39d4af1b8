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

/// A scrape that may be refused (closed, or reset because the request was not read).
async fn try_scrape(addr: std::net::SocketAddr) -> Option<String> {
    let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).await.ok()?;
    Some(out)
}

fn value(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} missing in:\n{text}"))
}

/// A server on SQLite in a temporary directory, with the metrics endpoint on.
struct Running {
    addr: std::net::SocketAddr,
    metrics: std::net::SocketAddr,
    stop: tokio_util::sync::CancellationToken,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Running {
    async fn start() -> Running {
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
        Running {
            addr: server.plain_addr.expect("plain"),
            metrics: server.metrics_addr.expect("metrics"),
            stop: server.shutdown_token(),
            task: tokio::spawn(server.run()),
            _dir: dir,
        }
    }

    async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

#[tokio::test]
async fn metrics_endpoint_reports_activity() {
    let running = Running::start().await;
    let (addr, metrics) = (running.addr, running.metrics);

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

    running.stop().await;
}

/// Silent connections to the metrics endpoint hold at most a few tasks: the rest are closed
/// at once, and the endpoint answers again once the silent ones time out.
#[tokio::test]
async fn silent_metrics_connections_are_bounded() {
    let running = Running::start().await;
    let metrics = running.metrics;

    const SILENT: usize = 40;
    let mut silent = Vec::new();
    for _ in 0..SILENT {
        silent.push(
            tokio::net::TcpStream::connect(metrics)
                .await
                .expect("connect"),
        );
    }
    // Those over the bound read EOF at once; the others are held until their read times out.
    // All read at once, within one second: well before the server's 5 s read timeout.
    let reads = silent.iter_mut().map(|s| async move {
        let mut byte = [0u8; 1];
        matches!(
            tokio::time::timeout(std::time::Duration::from_secs(1), s.read(&mut byte)).await,
            Ok(Ok(0))
        )
    });
    let closed_at_once = futures::future::join_all(reads)
        .await
        .into_iter()
        .filter(|closed| *closed)
        .count();
    assert!(
        closed_at_once >= SILENT - 8,
        "only {closed_at_once} of {SILENT} silent connections were closed at once"
    );
    // After the held ones time out (5 s), a scrape is answered again.
    gochat_testkit::wait::wait_until(
        "a scrape to be answered",
        std::time::Duration::from_secs(20),
        || async {
            try_scrape(metrics)
                .await
                .is_some_and(|a| a.starts_with("HTTP/1.1 200 OK"))
        },
    )
    .await
    .expect("a scrape is answered");
    running.stop().await;
}
