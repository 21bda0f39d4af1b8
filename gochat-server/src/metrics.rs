//! Counters of what the server does, served in the Prometheus text format on a loopback
//! address (`metrics_listen`), for monitoring.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use tokio_util::sync::CancellationToken;

use crate::subscribers::HookStats;

/// What a scrape shows beside the [`Metrics`] counters, read by the caller at that moment.
#[derive(Debug, Clone, Copy)]
pub struct Gauges<'a> {
    /// Users logged in now.
    pub users_online: usize,
    /// Connections waiting for a slot now.
    pub connections_waiting: usize,
    /// The hub's hook counters.
    pub hooks: &'a HookStats,
    /// In a cluster, whether it is degraded now (`None` on a single node).
    pub cluster_degraded: Option<bool>,
}

/// Monotonic counters (the [`Gauges`] are passed in when scraped).
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
    /// Failed LOGIN/VERIF attempts (rate-limited ones included).
    pub login_failures: AtomicU64,
    /// Messages forwarded to the node holding the recipient's session (cluster).
    pub cluster_forwarded: AtomicU64,
    /// Forwarded messages whose row was looked up before writing (it may have reached the
    /// user already: cluster).
    pub cluster_forward_checks: AtomicU64,
    /// Times the cluster became degraded (NATS unreachable).
    pub cluster_degraded_episodes: AtomicU64,
    /// Times each internet-facing limit was hit, indexed by [`Limit`].
    limit_hits: [AtomicU64; Limit::ALL.len()],
}

/// An internet-facing limit, as labelled in `gochat_limit_rejections_total{reason}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// A connection over `max_per_ip` was refused.
    PerIp,
    /// A connect over the per-IP connect rate was refused.
    ConnectRate,
    /// A connection found the wait queue full and was refused.
    QueueFull,
    /// A waiting connection got no slot within `wait_timeout_secs`.
    WaitTimeout,
    /// A connection did not log in within `login_grace_secs`.
    LoginGrace,
    /// A connection sent no whole packet within `idle_timeout_secs`.
    Idle,
    /// A LOGIN/REG/VERIF over the per-IP rate got `ERR(SERVER)`.
    AuthRate,
    /// A connection reached `max_auth_failures` and was closed.
    AuthFailures,
}

impl Limit {
    /// Every limit, in exposition order.
    pub const ALL: [Limit; 8] = [
        Limit::PerIp,
        Limit::ConnectRate,
        Limit::QueueFull,
        Limit::WaitTimeout,
        Limit::LoginGrace,
        Limit::Idle,
        Limit::AuthRate,
        Limit::AuthFailures,
    ];

    /// The `reason` label.
    pub const fn label(self) -> &'static str {
        match self {
            Limit::PerIp => "per_ip",
            Limit::ConnectRate => "connect_rate",
            Limit::QueueFull => "queue_full",
            Limit::WaitTimeout => "wait_timeout",
            Limit::LoginGrace => "login_grace",
            Limit::Idle => "idle",
            Limit::AuthRate => "auth_rate",
            Limit::AuthFailures => "auth_failures",
        }
    }

    const fn index(self) -> usize {
        self as usize
    }
}

impl Metrics {
    /// Adds one to `counter`.
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one hit of `limit`.
    pub fn limit_hit(&self, limit: Limit) {
        Self::inc(&self.limit_hits[limit.index()]);
    }

    /// Times `limit` was hit so far.
    pub fn limit_hits(&self, limit: Limit) -> u64 {
        self.limit_hits[limit.index()].load(Ordering::Relaxed)
    }

    /// The exposition text of the counters and `gauges`.
    pub fn render(&self, gauges: Gauges<'_>) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let rows: [(&str, &str, &str, u64); 14] = [
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
                gauges.users_online as u64,
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
            (
                "gochat_connections_waiting",
                "gauge",
                "Connections waiting for a slot now.",
                gauges.connections_waiting as u64,
            ),
            (
                "gochat_login_failures_total",
                "counter",
                "Failed LOGIN and VERIF attempts.",
                get(&self.login_failures),
            ),
        ];
        let hooks = gauges.hooks;
        let hook_rows = [
            (
                "gochat_hooks_sent_total",
                "counter",
                "HOOK packets queued to subscribers.",
                get(&hooks.sent),
            ),
            (
                "gochat_hooks_dropped_total",
                "counter",
                "HOOK packets dropped: the subscriber's hook budget was spent or its queue half full.",
                get(&hooks.dropped),
            ),
            (
                "gochat_hooks_dupsess_coalesced_total",
                "counter",
                "DUPSESS hooks not sent because one went to the same session moments before.",
                get(&hooks.dupsess_coalesced),
            ),
        ];
        let mut out = String::new();
        for (name, kind, help, value) in rows.into_iter().chain(hook_rows) {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
            ));
        }
        if let Some(degraded) = gauges.cluster_degraded {
            let cluster_rows = [
                (
                    "gochat_cluster_degraded",
                    "gauge",
                    "1 while NATS is unreachable: this node serves its own users and stores messages for the others.",
                    u64::from(degraded),
                ),
                (
                    "gochat_cluster_degraded_total",
                    "counter",
                    "Times the cluster became degraded.",
                    get(&self.cluster_degraded_episodes),
                ),
                (
                    "gochat_cluster_forwarded_total",
                    "counter",
                    "Messages stored and forwarded to the node holding the recipient's session.",
                    get(&self.cluster_forwarded),
                ),
                (
                    "gochat_cluster_forward_checks_total",
                    "counter",
                    "Forwarded messages looked up in the store before writing (they may have reached the user already).",
                    get(&self.cluster_forward_checks),
                ),
            ];
            for (name, kind, help, value) in cluster_rows {
                out.push_str(&format!(
                    "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
                ));
            }
        }
        let name = "gochat_limit_rejections_total";
        out.push_str(&format!(
            "# HELP {name} Connections or requests refused or closed by an internet-facing limit.\n# TYPE {name} counter\n"
        ));
        for limit in Limit::ALL {
            out.push_str(&format!(
                "{name}{{reason=\"{}\"}} {}\n",
                limit.label(),
                self.limit_hits(limit)
            ));
        }
        out
    }
}

/// Scrapes served at once; further connections are closed unanswered.
const MAX_SCRAPES: usize = 8;

/// Binds the metrics endpoint.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Answers every HTTP request on `listener` with the text `render` makes at that moment,
/// until `shutdown`.
pub async fn serve<R>(listener: TcpListener, render: R, shutdown: CancellationToken)
where
    R: Fn() -> String + Send + Sync + 'static,
{
    let render = Arc::new(render);
    let scrapes = Arc::new(tokio::sync::Semaphore::new(MAX_SCRAPES));
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            () = shutdown.cancelled() => return,
        };
        let mut stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of descriptors and similar: back off instead of spinning.
                tracing::warn!(error = %e, "metrics accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        // A few scrapes at a time; more are closed at once (the endpoint belongs on loopback,
        // but must not cost the server tasks and descriptors if it is exposed anyway).
        let Ok(permit) = scrapes.clone().try_acquire_owned() else {
            continue;
        };
        let render = render.clone();
        tokio::spawn(async move {
            let _permit = permit;
            // Read the request head (bounded), whatever the path: one resource only.
            let mut head = [0u8; 2048];
            let read =
                tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut head))
                    .await;
            if !matches!(read, Ok(Ok(n)) if n > 0) {
                return;
            }
            let body = render();
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let write = async {
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            };
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), write).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::{Gauges, Limit, Metrics};
    use crate::subscribers::HookStats;
    use std::sync::atomic::Ordering;

    #[test]
    fn render_shows_the_gauges_it_is_given() {
        let metrics = Metrics::default();
        Metrics::inc(&metrics.logins);
        metrics.limit_hit(Limit::Idle);
        let hooks = HookStats::default();
        hooks.dropped.store(4, Ordering::Relaxed);
        let text = metrics.render(Gauges {
            users_online: 7,
            connections_waiting: 2,
            hooks: &hooks,
            cluster_degraded: None,
        });
        for line in [
            "gochat_users_online 7\n",
            "gochat_connections_waiting 2\n",
            "gochat_hooks_dropped_total 4\n",
            "gochat_logins_total 1\n",
            "gochat_limit_rejections_total{reason=\"idle\"} 1\n",
        ] {
            assert!(text.contains(line), "{line:?} in {text}");
        }
    }

    #[test]
    fn every_limit_has_its_own_counter() {
        for (i, limit) in Limit::ALL.iter().enumerate() {
            assert_eq!(limit.index(), i, "{limit:?}");
        }
    }
}
