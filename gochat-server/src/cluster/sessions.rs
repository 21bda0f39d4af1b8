//! Session ownership: one key per online user in the sessions bucket, created atomically
//! (create-if-absent) by the node that logs the user in, refreshed by its heartbeat and
//! deleted (at its revision) when the session ends. A watch keeps every node's view of
//! who is online where.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::kv::{self, CreateErrorKind, Operation};
use async_nats::jetstream::stream;
use bytes::Bytes;
use futures::StreamExt;
use gochat_proto::wire::ErrorCode;

use super::Claim;
use super::nats::{HEARTBEAT, SESSION_TTL, Shared, lock};

/// Where one user is online, as last seen in the bucket.
#[derive(Debug, Clone)]
struct Owner {
    node: String,
    permission: u8,
    seen: Instant,
}

/// Every node's sessions, from the bucket's watch. An entry not refreshed within
/// [`SESSION_TTL`] is ignored (the bucket expires it without telling watchers).
#[derive(Debug, Default)]
pub(super) struct Owners(std::sync::Mutex<HashMap<Bytes, Owner>>);

impl Owners {
    /// The node other than `me` holding `name`'s live session.
    pub fn elsewhere(&self, name: &[u8], me: &str) -> Option<String> {
        lock(&self.0)
            .get(name)
            .filter(|o| o.node != me && o.seen.elapsed() < SESSION_TTL)
            .map(|o| o.node.clone())
    }

    /// Users online on nodes other than `me`, with their permission codes.
    pub fn all_elsewhere(&self, me: &str) -> Vec<(Bytes, u8)> {
        lock(&self.0)
            .iter()
            .filter(|(_, o)| o.node != me && o.seen.elapsed() < SESSION_TTL)
            .map(|(name, o)| (name.clone(), o.permission))
            .collect()
    }

    fn seen(&self, name: Bytes, value: &[u8]) {
        if let Some((node, permission)) = parse_value(value) {
            let owner = Owner {
                node,
                permission,
                seen: Instant::now(),
            };
            lock(&self.0).insert(name, owner);
        }
    }

    fn gone(&self, name: &[u8]) {
        lock(&self.0).remove(name);
    }
}

/// A session key's value: `PERMISSION NODE`.
fn value(node: &str, permission: u8) -> Bytes {
    Bytes::from(format!("{permission} {node}"))
}

/// A session key's value, `None` if malformed. The node goes into subjects
/// (`PREFIX.node.NODE.has`), so a value written by a buggy or compromised node naming
/// `*`, `>`, `a.b` or `a b` is refused rather than widening or redirecting them.
fn parse_value(value: &[u8]) -> Option<(String, u8)> {
    let text = std::str::from_utf8(value).ok()?;
    let (permission, node) = text.split_once(' ')?;
    if !valid_node_id(node) {
        return None;
    }
    Some((node.to_owned(), permission.parse().ok()?))
}

/// Whether `id` is a node id as `cluster.node_id` allows: letters, digits, `-` and `_`, at
/// most 128 of them (one subject token, never a wildcard).
pub(super) fn valid_node_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
}

/// A username as a KV key (usernames are `[0-9a-z]`, always valid keys).
fn key(name: &[u8]) -> Option<&str> {
    std::str::from_utf8(name).ok().filter(|k| !k.is_empty())
}

/// A KV bucket's settings.
pub(super) struct Bucket {
    name: String,
    max_age: Duration,
}

/// Opens (or creates) both buckets, retrying until NATS answers, then watches sessions.
pub(super) async fn open_buckets(shared: Arc<Shared>) {
    let sessions = Bucket {
        name: format!("{}_sessions", shared.prefix),
        max_age: SESSION_TTL,
    };
    let tokens = Bucket {
        name: format!("{}_tokens", shared.prefix),
        max_age: shared.token_lifetime.max(Duration::from_secs(1)),
    };
    let mut delay = Duration::from_millis(200);
    let (sessions, tokens) = loop {
        if let (Some(s), Some(t)) = (open(&shared, &sessions).await, open(&shared, &tokens).await) {
            break (s, t);
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = shared.stop.cancelled() => return,
        }
        delay = (delay * 2).min(Duration::from_secs(2));
    };
    *shared.sessions.write().await = Some(sessions.clone());
    *shared.tokens.write().await = Some(tokens);
    tracing::info!(node = %shared.node_id, "cluster buckets open");
    watch(shared, sessions).await;
}

/// Opens a bucket, creating its stream first if needed. The stream is created by hand, as
/// a KV bucket's stream (history 1, rollups, direct gets): the client's own bucket creation
/// reads account details that NATS 2.9 words differently.
async fn open(shared: &Shared, bucket: &Bucket) -> Option<kv::Store> {
    if let Ok(store) = shared.js.get_key_value(bucket.name.clone()).await {
        return Some(store);
    }
    let config = stream::Config {
        name: format!("KV_{}", bucket.name),
        subjects: vec![format!("$KV.{}.>", bucket.name)],
        max_messages_per_subject: 1,
        max_age: bucket.max_age,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: stream::DiscardPolicy::New,
        ..Default::default()
    };
    if let Err(e) = shared.js.create_stream(config).await {
        tracing::debug!(bucket = %bucket.name, error = %crate::error_chain::Chain(&e), "bucket not created (yet)");
    }
    shared.js.get_key_value(bucket.name.clone()).await.ok()
}

/// Follows the sessions bucket for as long as the node runs, starting again after errors
/// (NATS gone and back).
async fn watch(shared: Arc<Shared>, sessions: kv::Store) {
    loop {
        if let Ok(mut entries) = sessions.watch_all().await {
            loop {
                let next = tokio::select! {
                    n = entries.next() => n,
                    () = shared.stop.cancelled() => return,
                };
                match next {
                    Some(Ok(entry)) => {
                        let name = Bytes::from(entry.key.into_bytes());
                        match entry.operation {
                            Operation::Put => shared.owners.seen(name, &entry.value),
                            Operation::Delete | Operation::Purge => shared.owners.gone(&name),
                        }
                    }
                    Some(Err(_)) | None => break,
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
            () = shared.stop.cancelled() => return,
        }
    }
}

/// Claims `name` for this node (see [`super::Cluster::claim`]). While NATS is unreachable
/// the claim is granted: the node serves its own users, and the heartbeat settles the key
/// when NATS is back.
pub(super) async fn claim(shared: &Shared, name: &Bytes) -> Claim {
    let Some(key) = key(name) else {
        return Claim::Granted;
    };
    let Some(sessions) = shared.sessions.read().await.clone() else {
        return Claim::Granted;
    };
    let permission = shared.hub.online(name).map_or(0, |u| u.permission().code());
    let mine = value(&shared.node_id, permission);
    for _ in 0..3 {
        let created =
            tokio::time::timeout(Duration::from_secs(2), sessions.create(key, mine.clone())).await;
        match created {
            Ok(Ok(revision)) => {
                lock(&shared.claims).insert(name.clone(), revision);
                return Claim::Granted;
            }
            Ok(Err(e)) if e.kind() == CreateErrorKind::AlreadyExists => {
                match existing(shared, &sessions, key).await {
                    Existing::Cleared => {}
                    Existing::Ours(revision) => {
                        // A key this node left behind (its release is on the way): taken over
                        // at a new revision, so that release no longer matches.
                        if let Ok(next) = sessions.update(key, mine.clone(), revision).await {
                            lock(&shared.claims).insert(name.clone(), next);
                            return Claim::Granted;
                        }
                    }
                    Existing::Theirs => return Claim::Taken,
                    // The owner did not answer in time: it may have just died and NATS not
                    // noticed yet (no "no responders" until it does). Ask again.
                    Existing::Unanswered => {}
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %crate::error_chain::Chain(&e), "session claim failed; serving the user on this node");
                return Claim::Granted;
            }
            Err(_) => return Claim::Granted,
        }
    }
    Claim::Taken
}

/// What an existing session key turned out to be.
enum Existing {
    /// Stale (its session ended, or its node is gone) and deleted, or gone meanwhile: the
    /// claim may be tried again.
    Cleared,
    /// This node's own key for a session online here, at this revision.
    Ours(u64),
    /// Another node's live session.
    Theirs,
    /// The node it names did not answer in time (busy, or dead and not yet noticed by
    /// NATS): unknown.
    Unanswered,
}

/// Looks at the existing key of `key`: removes it if the node it names no longer has that
/// session (it ended, or the node is gone).
async fn existing(shared: &Shared, sessions: &kv::Store, key: &str) -> Existing {
    let Ok(Some(entry)) = sessions.entry(key).await else {
        return Existing::Cleared;
    };
    if entry.operation != Operation::Put {
        return Existing::Cleared;
    }
    let Some((node, _)) = parse_value(&entry.value) else {
        return Existing::Theirs;
    };
    let stale = if node == shared.node_id {
        if shared.hub.online(key.as_bytes()).is_some() {
            return Existing::Ours(entry.revision);
        }
        // This node's own key whose session ended: its release is still on the way.
        true
    } else {
        let subject = shared.node_subject(&node, "has");
        match shared
            .client
            .request(subject, Bytes::copy_from_slice(key.as_bytes()))
            .await
        {
            Ok(reply) => reply.payload.as_ref() == b"0",
            Err(e) if e.kind() == async_nats::client::RequestErrorKind::TimedOut => {
                return Existing::Unanswered;
            }
            Err(e) => e.kind() == async_nats::client::RequestErrorKind::NoResponders,
        }
    };
    if !stale {
        return Existing::Theirs;
    }
    tracing::info!(user = key, node = %node, "clearing a stale session claim");
    let _ = sessions
        .delete_expect_revision(key, Some(entry.revision))
        .await;
    Existing::Cleared
}

/// Gives up this node's key for `name` (its session ended).
pub(super) fn release(shared: &Arc<Shared>, name: &Bytes) {
    let Some(revision) = lock(&shared.claims).remove(name) else {
        return;
    };
    let shared2 = shared.clone();
    let name = name.clone();
    shared.tasks.spawn(async move {
        let Some(key) = key(&name) else { return };
        if let Some(sessions) = shared2.sessions.read().await.clone() {
            let _ = tokio::time::timeout(
                Duration::from_secs(2),
                sessions.delete_expect_revision(key, Some(revision)),
            )
            .await;
        }
    });
}

/// Session keys refreshed at once by the heartbeat.
const REFRESHES_IN_FLIGHT: usize = 256;

/// Every [`HEARTBEAT`]: refreshes the key of each user online on this node, creating it
/// again after an outage; a user whose key another node took meanwhile is disconnected here
/// (one session per user).
pub(super) async fn heartbeat(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(HEARTBEAT);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shared.stop.cancelled() => return,
        }
        let Some(sessions) = shared.sessions.read().await.clone() else {
            continue;
        };
        if shared.client.connection_state() != async_nats::connection::State::Connected {
            continue;
        }
        // Many at once: one round trip each, and all must be done well within the TTL.
        let shared = &shared;
        let sessions = &sessions;
        futures::stream::iter(shared.hub.online_users())
            .for_each_concurrent(REFRESHES_IN_FLIGHT, |user| async move {
                refresh(shared, sessions, &user).await;
            })
            .await;
    }
}

async fn refresh(shared: &Shared, sessions: &kv::Store, user: &crate::hub::OnlineUser) {
    let Some(key) = key(&user.name) else { return };
    let mine = value(&shared.node_id, user.permission().code());
    let held = lock(&shared.claims).get(&user.name).copied();
    if let Some(revision) = held
        && let Ok(Ok(next)) = tokio::time::timeout(
            Duration::from_secs(2),
            sessions.update(key, mine.clone(), revision),
        )
        .await
    {
        lock(&shared.claims).insert(user.name.clone(), next);
        return;
    }
    match sessions.create(key, mine).await {
        Ok(revision) => {
            lock(&shared.claims).insert(user.name.clone(), revision);
        }
        Err(e) if e.kind() == CreateErrorKind::AlreadyExists => {
            match existing(shared, sessions, key).await {
                // Created again at the next heartbeat; an unanswered owner is asked again
                // then.
                Existing::Cleared | Existing::Unanswered => {}
                Existing::Ours(revision) => {
                    lock(&shared.claims).insert(user.name.clone(), revision);
                }
                Existing::Theirs => {
                    tracing::warn!(
                        user = key,
                        "another node holds this session: disconnecting it here"
                    );
                    lock(&shared.claims).remove(&user.name);
                    shared.hub.evict(user, ErrorCode::DupSess);
                }
            }
        }
        Err(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_values_naming_no_single_node_are_refused() {
        assert_eq!(parse_value(b"2 node-1_a"), Some(("node-1_a".to_owned(), 2)));
        assert_eq!(parse_value(&value("n1", 3)), Some(("n1".to_owned(), 3)));
        for bad in [
            &b"0 *"[..],
            b"0 >",
            b"0 a.b",
            b"0 a b",
            b"0 ",
            b"0 n1.has",
            b"0 n\0",
            b"300 n1",
            b"x n1",
            b"n1",
            b"\xff n1",
        ] {
            assert_eq!(parse_value(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        assert!(parse_value(format!("0 {}", "a".repeat(129)).as_bytes()).is_none());
    }
}
