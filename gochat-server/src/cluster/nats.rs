//! The cluster over NATS: one client per node, core subjects for events (every node) and
//! forwarded messages (one node), JetStream KV buckets for session ownership and tokens.
//!
//! Subjects and buckets, for a cluster called `P` (`cluster.name`, default `gochat`):
//! - `P.events`: [`super::wire::Event`]s for every node (hooks, admin actions, tokens);
//! - `P.node.ID.rows`: messages forwarded to node `ID` with their stored row's id (fire and
//!   forget: they are stored first, and the node deletes the row by id once it wrote the
//!   message live; nodes from before row ids used `P.node.ID.deliver`, read by no node now);
//! - `P.node.ID.has`: request/reply, "is this user online on you?" (stale claims);
//! - `P.node.ID.dupsess`: a duplicate login attempt for a user on node `ID`;
//! - bucket `P_sessions`: user → owning node, refreshed every [`HEARTBEAT`], expiring after
//!   [`SESSION_TTL`] (a killed node's sessions vanish by themselves);
//! - bucket `P_tokens`: user → reusable token state (a hash of the secret, never the secret).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_nats::jetstream::kv;
use async_trait::async_trait;
use bytes::Bytes;
use gochat_proto::wire::{Hook, Permission};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::sessions::Owners;
use super::wire::{DupAttempt, Envelope, Event};
use super::{Claim, Cluster, Forward};
use crate::config::ClusterConfig;
use crate::hub::{Hub, Relay, TokenError};
use crate::metrics::Metrics;
use crate::shutdown::Shutdown;
use crate::sink::{Commit, Committed};
use crate::store::{Store, StoreOutcome};

/// How often a node refreshes the session keys it holds.
pub const HEARTBEAT: Duration = Duration::from_secs(5);
/// How long a session key lives without a refresh (the bucket's `max_age`).
pub const SESSION_TTL: Duration = Duration::from_secs(15);
/// Longest wait for a NATS request (claims, stale-owner checks, KV reads).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);
/// Events queued for NATS before new ones are dropped (they are best effort, like hooks).
const EVENT_QUEUE: usize = 4096;
/// Forwarded messages queued behind their commits.
const FORWARD_QUEUE: usize = 8192;

/// Why the cluster could not start.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The NATS options could not be built (credentials file).
    #[error("cannot read the NATS credentials file")]
    Credentials(#[source] std::io::Error),
    /// The client could not be set up.
    #[error("cannot set up the NATS client for {url}")]
    Connect {
        /// The server URL.
        url: String,
        /// Cause.
        source: async_nats::ConnectError,
    },
    /// The node id cannot be used in a subject.
    #[error("invalid cluster setting: {0}")]
    Invalid(String),
}

/// A forwarded message waiting for its commit.
struct Pending {
    forward: Forward,
    node: String,
    committed: Committed,
    outcome: oneshot::Sender<Option<Commit>>,
}

/// What every part of the NATS cluster shares.
pub(super) struct Shared {
    pub node_id: String,
    pub prefix: String,
    pub client: async_nats::Client,
    pub js: async_nats::jetstream::Context,
    pub sessions: tokio::sync::RwLock<Option<kv::Store>>,
    pub tokens: tokio::sync::RwLock<Option<kv::Store>>,
    pub token_lifetime: Duration,
    pub hub: Arc<Hub>,
    pub store: Arc<dyn Store>,
    pub shutdown: Arc<Shutdown>,
    pub metrics: Arc<Metrics>,
    /// Session keys this node holds, with their revisions.
    pub claims: Mutex<HashMap<Bytes, u64>>,
    /// Who holds which session, as the sessions bucket was last seen.
    pub owners: Owners,
    pub tasks: TaskTracker,
    pub stop: CancellationToken,
    pub degraded: AtomicBool,
    events: mpsc::Sender<Event>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("node_id", &self.node_id)
            .finish_non_exhaustive()
    }
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    /// A subject of this cluster.
    pub fn subject(&self, rest: &str) -> String {
        format!("{}.{rest}", self.prefix)
    }

    /// A subject of node `node`.
    pub fn node_subject(&self, node: &str, what: &str) -> String {
        format!("{}.node.{node}.{what}", self.prefix)
    }

    /// Queues an event for every other node.
    pub fn publish(&self, event: Event) {
        if self.events.try_send(event).is_err() {
            tracing::debug!("cluster event queue full, event dropped");
        }
    }

    /// Whether NATS and both buckets are usable now.
    pub async fn healthy(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
            && self.sessions.read().await.is_some()
            && self.tokens.read().await.is_some()
    }
}

/// The cluster over NATS (see the module documentation).
#[derive(Debug)]
pub struct NatsCluster {
    shared: Arc<Shared>,
    forwards: mpsc::Sender<Pending>,
}

impl NatsCluster {
    /// Connects to NATS (in the background: a node starts even while NATS is down, degraded)
    /// and starts the tasks that keep this node's part of the cluster.
    pub async fn start(
        config: &ClusterConfig,
        token_lifetime: Duration,
        hub: Arc<Hub>,
        store: Arc<dyn Store>,
        shutdown: Arc<Shutdown>,
        metrics: Arc<Metrics>,
    ) -> Result<Arc<NatsCluster>, ClusterError> {
        let node_id = config.node_id();
        let valid = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        };
        if !valid(&node_id) || !valid(&config.name) {
            return Err(ClusterError::Invalid(
                "cluster.node_id and cluster.name may only hold letters, digits, - and _".into(),
            ));
        }
        let mut options = async_nats::ConnectOptions::new()
            .name(format!("gochat-server {node_id}"))
            .retry_on_initial_connect()
            .max_reconnects(None)
            .request_timeout(Some(REQUEST_TIMEOUT))
            .connection_timeout(Duration::from_secs(2))
            .reconnect_delay_callback(|attempts| {
                Duration::from_millis((attempts as u64).saturating_mul(250).min(2000))
            });
        if let Some(path) = &config.credentials {
            options = options
                .credentials_file(path)
                .await
                .map_err(ClusterError::Credentials)?;
        }
        if let Some(ca) = &config.ca {
            options = options.add_root_certificates(ca.clone()).require_tls(true);
        }
        if let (Some(cert), Some(key)) = (&config.client_cert, &config.client_key) {
            options = options.add_client_certificate(cert.clone(), key.clone());
        }
        let client = options
            .connect(config.nats.as_str())
            .await
            .map_err(|source| ClusterError::Connect {
                url: config.nats.clone(),
                source,
            })?;
        let js = async_nats::jetstream::new(client.clone());
        let (events_tx, events_rx) = mpsc::channel(EVENT_QUEUE);
        let shared = Arc::new(Shared {
            node_id,
            prefix: config.name.clone(),
            client,
            js,
            sessions: tokio::sync::RwLock::new(None),
            tokens: tokio::sync::RwLock::new(None),
            token_lifetime,
            hub: hub.clone(),
            store,
            shutdown,
            metrics,
            claims: Mutex::new(HashMap::new()),
            owners: Owners::default(),
            tasks: TaskTracker::new(),
            stop: CancellationToken::new(),
            // Until the buckets are open.
            degraded: AtomicBool::new(true),
            events: events_tx,
        });
        tracing::info!(node = %shared.node_id, nats = %config.nats, "cluster node starting");
        let (forwards, forward_rx) = mpsc::channel(FORWARD_QUEUE);
        tokio::spawn(publish_events(shared.clone(), events_rx));
        tokio::spawn(publish_forwards(shared.clone(), forward_rx));
        super::peer::subscribe(&shared).await;
        tokio::spawn(super::sessions::open_buckets(shared.clone()));
        tokio::spawn(super::sessions::heartbeat(shared.clone()));
        tokio::spawn(watch_health(shared.clone()));
        let cluster = Arc::new(NatsCluster { shared, forwards });
        hub.set_relay(cluster.clone());
        Ok(cluster)
    }

    /// This node's id.
    pub fn node_id(&self) -> &str {
        &self.shared.node_id
    }
}

/// Sends queued events, in order.
async fn publish_events(shared: Arc<Shared>, mut events: mpsc::Receiver<Event>) {
    let subject = shared.subject("events");
    while let Some(event) = events.recv().await {
        let envelope = Envelope {
            from: shared.node_id.clone(),
            event,
        };
        let Ok(payload) = serde_json::to_vec(&envelope) else {
            continue;
        };
        if let Err(e) = shared.client.publish(subject.clone(), payload.into()).await {
            tracing::debug!(error = %crate::error_chain::Chain(&e), "cluster event not sent");
        }
    }
}

/// Waits for each forwarded message's commit in order, tells the sender, then sends the
/// message to the node holding the recipient's session.
async fn publish_forwards(shared: Arc<Shared>, mut pending: mpsc::Receiver<Pending>) {
    while let Some(p) = pending.recv().await {
        let commit = p.committed.await.ok().flatten();
        let _ = p.outcome.send(commit);
        let Some(Commit {
            outcome: StoreOutcome::Stored,
            row: Some(row),
        }) = commit
        else {
            continue;
        };
        let Some(frame) = super::wire::encode_forward(&p.forward, row) else {
            continue;
        };
        let subject = shared.node_subject(&p.node, "rows");
        match shared.client.publish(subject, frame).await {
            Ok(()) => Metrics::inc(&shared.metrics.cluster_forwarded),
            Err(e) => {
                tracing::debug!(error = %crate::error_chain::Chain(&e), "forward not sent; the message stays stored");
            }
        }
    }
}

/// Logs and counts the moments the cluster becomes degraded and heals.
async fn watch_health(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shared.stop.cancelled() => return,
        }
        let healthy = shared.healthy().await;
        let was_degraded = shared.degraded.swap(!healthy, Ordering::AcqRel);
        if healthy && was_degraded {
            tracing::info!(node = %shared.node_id, "cluster healthy: NATS reachable");
        } else if !healthy && !was_degraded {
            Metrics::inc(&shared.metrics.cluster_degraded_episodes);
            tracing::warn!(node = %shared.node_id, "cluster degraded: NATS unreachable; serving this node's users, storing messages for other nodes");
        }
    }
}

#[async_trait]
impl Cluster for NatsCluster {
    async fn claim(&self, name: &Bytes) -> Claim {
        super::sessions::claim(&self.shared, name).await
    }

    fn online_elsewhere(&self, name: &[u8]) -> bool {
        self.shared
            .owners
            .elsewhere(name, &self.shared.node_id)
            .is_some()
    }

    async fn duplicate_attempt(&self, name: &[u8], ip: &str) -> bool {
        let Some(node) = self.shared.owners.elsewhere(name, &self.shared.node_id) else {
            return false;
        };
        // The watch may remember a session of a node that died: ask the node itself.
        let asked = self
            .shared
            .client
            .request(
                self.shared.node_subject(&node, "has"),
                Bytes::copy_from_slice(name),
            )
            .await;
        match asked {
            Ok(reply) if reply.payload.as_ref() == b"0" => return false,
            Err(e) if e.kind() == async_nats::client::RequestErrorKind::NoResponders => {
                return false;
            }
            // Online there (or NATS cannot tell: as remembered).
            _ => {}
        }
        let attempt = DupAttempt {
            name: name.to_vec(),
            ip: ip.to_owned(),
        };
        if let Ok(payload) = serde_json::to_vec(&attempt) {
            let subject = self.shared.node_subject(&node, "dupsess");
            let _ = self.shared.client.publish(subject, payload.into()).await;
        }
        true
    }

    fn users_elsewhere(&self) -> Vec<(Bytes, u8)> {
        self.shared.owners.all_elsewhere(&self.shared.node_id)
    }

    fn forward(&self, forward: Forward, committed: Committed) -> Committed {
        let Some(node) = self
            .shared
            .owners
            .elsewhere(&forward.to, &self.shared.node_id)
        else {
            return committed;
        };
        let (outcome, rx) = oneshot::channel();
        let pending = Pending {
            forward,
            node,
            committed,
            outcome,
        };
        match self.forwards.try_send(pending) {
            Ok(()) => rx,
            // Too many in flight: the message stays stored, for catch-up.
            Err(mpsc::error::TrySendError::Full(p) | mpsc::error::TrySendError::Closed(p)) => {
                p.committed
            }
        }
    }

    async fn check_token(&self, name: &[u8], secret: &[u8]) -> Result<(), TokenError> {
        super::tokens::check(&self.shared, name, secret).await
    }

    fn kick(&self, name: &[u8]) {
        self.shared.publish(Event::Kick {
            name: name.to_vec(),
        });
    }

    fn broadcast(&self, from: &Bytes, stamp: &Bytes, text: &[u8]) {
        self.shared.publish(Event::Broadcast {
            from: from.to_vec(),
            stamp: stamp.to_vec(),
            text: text.to_vec(),
        });
    }

    fn shutdown(&self, at: i64, raw_stamp: &Bytes) {
        self.shared.publish(Event::Shutdown {
            at,
            stamp: raw_stamp.to_vec(),
        });
    }

    fn degraded(&self) -> Option<bool> {
        Some(self.shared.degraded.load(Ordering::Acquire))
    }

    async fn close(&self) {
        // No more events or forwarded messages; the writes under way finish, their stored
        // copies are deleted, the drained sessions' keys released, and whatever the client
        // buffered is sent.
        self.shared.stop.cancel();
        self.shared.tasks.close();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.shared.tasks.wait()).await;
        let _ = tokio::time::timeout(Duration::from_secs(2), self.shared.client.flush()).await;
    }
}

impl Relay for NatsCluster {
    fn hook(&self, hook: Hook, packet: &Bytes) {
        self.shared.publish(Event::Hook {
            hook: hook.code(),
            packet: packet.to_vec(),
        });
    }

    fn logged_out(&self, name: &Bytes) {
        super::sessions::release(&self.shared, name);
    }

    fn permission_changed(&self, name: &[u8], level: Permission) {
        self.shared.publish(Event::Permission {
            name: name.to_vec(),
            level: level.code(),
        });
    }

    fn deregistered(&self, name: &[u8]) {
        self.shared.publish(Event::Deregistered {
            name: name.to_vec(),
        });
    }

    fn token_bound(&self, name: &[u8]) {
        super::tokens::bound(&self.shared, name);
    }

    fn token_activated(&self, name: &[u8], secret: &[u8], lifetime: Duration) {
        super::tokens::activated(&self.shared, name, secret, lifetime);
    }

    fn token_revoked(&self, name: &[u8]) {
        super::tokens::revoked(&self.shared, name);
        self.shared.publish(Event::TokenRevoked {
            name: name.to_vec(),
        });
    }

    fn motd_changed(&self, motd: &Bytes) {
        self.shared.publish(Event::Motd {
            text: motd.to_vec(),
        });
    }
}
