//! Counters of what the server does, served in the Prometheus text format on a loopback
//! address (`metrics_listen`), for monitoring.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::server::Shared;

/// Monotonic counters (gauges are read from the hub when scraped).
#[derive(Debug, Default)]
pub struct Metrics {
    /// Connections accepted.
    pub connections: AtomicU64,
    /// Connections open now.
    pub connections_open: AtomicU64,
    /// Successful logins (challenge or token).
    pub logins: AtomicU64,
    /// Messages written to an online recipient.
    pub messages_delivered: AtomicU64,
    /// Messages stored for an offline recipient.
    pub messages_stored: AtomicU64,
    /// Stored messages delivered by catch-up.
    pub messages_caught_up: AtomicU64,
    /// Connections closed for a malformed packet.
    pub malformed: AtomicU64,
    /// MSGs refused because the recipient's mailbox was full.
    pub mailbox_full: AtomicU64,
    /// MSGs slowed down by the per-sender rate limit.
    pub msg_throttled: AtomicU64,
    /// Catch-up batches written (each deleted once in the socket).
    pub catch_up_batches: AtomicU64,
    /// USRS requests refused (ERR_PACKET) because the list does not fit in one reply.
    pub user_lists_too_long: AtomicU64,
}

impl Metrics {
    /// Adds one to `counter`.
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The exposition text.
    pub fn render(&self, shared: &Shared) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let rows: [(&str, &str, &str, u64); 12] = [
            (
                "gochat_connections_total",
                "counter",
                "Connections accepted.",
                get(&self.connections),
            ),
            (
                "gochat_connections_open",
                "gauge",
                "Connections open now.",
                get(&self.connections_open),
            ),
            (
                "gochat_users_online",
                "gauge",
                "Users logged in now.",
                shared.hub.online_count() as u64,
            ),
            (
                "gochat_logins_total",
                "counter",
                "Successful logins.",
                get(&self.logins),
            ),
            (
                "gochat_messages_delivered_total",
                "counter",
                "Messages written to an online recipient.",
                get(&self.messages_delivered),
            ),
            (
                "gochat_messages_stored_total",
                "counter",
                "Messages stored for an offline recipient.",
                get(&self.messages_stored),
            ),
            (
                "gochat_messages_caught_up_total",
                "counter",
                "Stored messages delivered by catch-up.",
                get(&self.messages_caught_up),
            ),
            (
                "gochat_malformed_packets_total",
                "counter",
                "Connections closed for a malformed packet.",
                get(&self.malformed),
            ),
            (
                "gochat_mailbox_full_total",
                "counter",
                "MSGs refused because the recipient's mailbox was full.",
                get(&self.mailbox_full),
            ),
            (
                "gochat_msg_throttled_total",
                "counter",
                "MSGs slowed down by the per-sender rate limit.",
                get(&self.msg_throttled),
            ),
            (
                "gochat_catch_up_batches_total",
                "counter",
                "Catch-up batches written to clients.",
                get(&self.catch_up_batches),
            ),
            (
                "gochat_user_lists_too_long_total",
                "counter",
                "USRS requests refused because the list does not fit in one reply.",
                get(&self.user_lists_too_long),
            ),
        ];
        let mut out = String::new();
        for (name, kind, help, value) in rows {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
            ));
        }
        out
    }
}

/// Binds the metrics endpoint.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Answers every HTTP request on `listener` with the metrics, until shutdown.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            () = shared.shutdown.cancelled() => return,
        };
        let Ok((mut stream, _)) = accepted else {
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            // Read the request head (bounded), whatever the path: one resource only.
            let mut head = [0u8; 2048];
            let read =
                tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut head))
                    .await;
            if !matches!(read, Ok(Ok(n)) if n > 0) {
                return;
            }
            let body = shared.metrics.render(&shared);
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        });
    }
}
