//! The cluster seam: what a session needs from the other nodes serving the same database.
//!
//! A node's own sessions live in its [`crate::hub::Hub`] as they always did. Everything that
//! crosses nodes goes through two traits:
//! - [`Cluster`], which the session code asks (is this user online elsewhere, claim a
//!   session cluster-wide, forward a message, kick or announce elsewhere, check a token
//!   issued elsewhere);
//! - [`crate::hub::Relay`], which the hub tells of every change other nodes must see
//!   (hooks, logouts, permission changes, deregistrations, tokens, the MOTD).
//!
//! [`Solo`] is a single node: there is nobody else, no relay is installed, and the server
//! behaves exactly as it did before clusters existed. [`nats::NatsCluster`] implements both
//! traits over NATS (core subjects for events and delivery, JetStream KV for session
//! ownership and tokens).

pub mod nats;
mod peer;
mod sessions;
mod tokens;
mod wire;

use async_trait::async_trait;
use bytes::Bytes;
use gochat_proto::wire::Permission;

use crate::hub::TokenError;
use crate::sink::Committed;
use crate::store::NewMessage;

/// The answer to a cluster-wide session claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This node now holds the user's session.
    Granted,
    /// Another node holds a live session of the user (Go's duplicate-session rule: the
    /// newcomer gets `ERR_DUPSESS`).
    Taken,
}

/// A message for a user who is online on another node, already handed to the store.
#[derive(Debug)]
pub struct Forward {
    /// Recipient's name.
    pub to: Bytes,
    /// Sender's name.
    pub from: Bytes,
    /// The stamp as the sender wrote it.
    pub raw_stamp: Bytes,
    /// The stored row's content.
    pub message: NewMessage,
}

/// The other nodes, as a session sees them.
#[async_trait]
pub trait Cluster: Send + Sync + std::fmt::Debug {
    /// Claims `name`'s session for this node (already in this node's hub), atomically across
    /// the cluster.
    async fn claim(&self, name: &Bytes) -> Claim;

    /// Whether `name` is online on another node.
    fn online_elsewhere(&self, name: &[u8]) -> bool;

    /// If `name` is online on another node (asked of that node, not just remembered), tells
    /// that session (if subscribed) that someone from `ip` tried to log in as them, and
    /// returns true.
    async fn duplicate_attempt(&self, name: &[u8], ip: &str) -> bool;

    /// Users online on other nodes, with their permission codes.
    fn users_elsewhere(&self) -> Vec<(Bytes, u8)>;

    /// The store-then-deliver rule: once `committed` reports the message stored, the node
    /// holding the recipient's session writes it live and deletes the stored copy. Returns
    /// the store's outcome for the sender's reply (`committed` itself on a single node).
    fn forward(&self, forward: Forward, committed: Committed) -> Committed;

    /// Checks a token issued on another node (constant time).
    async fn check_token(&self, name: &[u8], secret: &[u8]) -> Result<(), TokenError>;

    /// Ends `name`'s session on whichever other node holds it.
    fn kick(&self, name: &[u8]);

    /// An admin broadcast to every user on the other nodes.
    fn broadcast(&self, from: &Bytes, stamp: &Bytes, text: &[u8]);

    /// A shutdown at `at` (Unix seconds) of the whole cluster, announced with `raw_stamp`.
    fn shutdown(&self, at: i64, raw_stamp: &Bytes);

    /// `None` on a single node; otherwise whether the cluster is degraded (NATS unreachable).
    fn degraded(&self) -> Option<bool>;

    /// Sends what is still queued for the other nodes (session releases), briefly.
    async fn close(&self);
}

/// A single node: no other nodes, nothing to relay.
#[derive(Debug, Default)]
pub struct Solo;

#[async_trait]
impl Cluster for Solo {
    async fn claim(&self, _name: &Bytes) -> Claim {
        Claim::Granted
    }

    fn online_elsewhere(&self, _name: &[u8]) -> bool {
        false
    }

    async fn duplicate_attempt(&self, _name: &[u8], _ip: &str) -> bool {
        false
    }

    fn users_elsewhere(&self) -> Vec<(Bytes, u8)> {
        Vec::new()
    }

    fn forward(&self, _forward: Forward, committed: Committed) -> Committed {
        committed
    }

    async fn check_token(&self, _name: &[u8], _secret: &[u8]) -> Result<(), TokenError> {
        Err(TokenError::NotFound)
    }

    fn kick(&self, _name: &[u8]) {}

    fn broadcast(&self, _from: &Bytes, _stamp: &Bytes, _text: &[u8]) {}

    fn shutdown(&self, _at: i64, _raw_stamp: &Bytes) {}

    fn degraded(&self) -> Option<bool> {
        None
    }

    async fn close(&self) {}
}

/// A permission code as a [`Permission`] (unknown codes count as a plain user).
fn permission(code: u8) -> Permission {
    Permission::from_code(code).unwrap_or(Permission::User)
}
