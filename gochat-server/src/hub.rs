//! In-memory state shared by all sessions: who is online (O(1) by name), reusable tokens,
//! hook subscribers and the MOTD.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use gochat_proto::crypto::EncryptingKey;
use gochat_proto::wire::{Hook, Permission};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::conn::{ConnHandle, ConnId};
use crate::subscribers::{HookBudget, HookStats, Subscribers};

/// A logged-in user, shared between its session and the hub.
#[derive(Debug)]
pub struct OnlineUser {
    /// Exact username.
    pub name: Bytes,
    /// Database id.
    pub user_id: i64,
    /// The connection it is logged in on.
    pub conn: ConnHandle,
    /// Its key, for broadcasts.
    pub key: Arc<EncryptingKey>,
    permission: AtomicU8,
    /// When the last DUPSESS hook went to this session.
    last_dupsess: Mutex<Option<Instant>>,
    /// Stored rows recently written to this session (cluster only: a message forwarded from
    /// another node and the same row read by a catch-up are written once).
    written: Mutex<RecentRows>,
    /// The highest message row id committed before this session began (cluster only; until
    /// known, `i64::MAX`): a row above it was never visible to an earlier session.
    forward_floor: std::sync::atomic::AtomicI64,
}

/// The last [`RECENT_ROWS`] row ids written to one session.
#[derive(Debug, Default)]
struct RecentRows {
    order: std::collections::VecDeque<i64>,
    set: std::collections::HashSet<i64>,
    /// The highest id forgotten so far (0: none): a row at or below it may have been written.
    forgotten: i64,
}

impl RecentRows {
    /// Remembers `id`; `false` if it is remembered already.
    fn claim(&mut self, id: i64) -> bool {
        if !self.set.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > RECENT_ROWS
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
            self.forgotten = self.forgotten.max(old);
        }
        true
    }

    /// Claims `id` for a forwarded message, in a session whose floor is `floor`.
    fn claim_forwarded(&mut self, id: i64, floor: i64) -> ForwardClaim {
        let forgotten = self.forgotten;
        if !self.claim(id) {
            ForwardClaim::Written
        } else if id > floor && id > forgotten {
            ForwardClaim::Fresh
        } else {
            ForwardClaim::Doubtful
        }
    }
}

/// Whether a forwarded message's row may be written to a session without asking the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardClaim {
    /// Written to this session already (or being written): not again.
    Written,
    /// Claimed, and certainly never written to this session or an earlier one: committed
    /// after this session began, and above every row this session forgot.
    Fresh,
    /// Claimed, but an earlier session or a forgotten write may have had it: write it only
    /// if the store still holds the row (and give the claim back otherwise).
    Doubtful,
}

/// Rows remembered per session: far more than can be in flight between a catch-up's read
/// and a forwarded message's write.
const RECENT_ROWS: usize = 4096;

impl OnlineUser {
    /// Creates the record.
    pub fn new(
        name: Bytes,
        user_id: i64,
        conn: ConnHandle,
        key: Arc<EncryptingKey>,
        permission: Permission,
    ) -> Self {
        OnlineUser {
            name,
            user_id,
            conn,
            key,
            permission: AtomicU8::new(permission.code()),
            last_dupsess: Mutex::new(None),
            written: Mutex::new(RecentRows::default()),
            forward_floor: std::sync::atomic::AtomicI64::new(i64::MAX),
        }
    }

    /// Records the highest row id committed before this session began (read after the
    /// session was registered cluster-wide).
    pub fn set_forward_floor(&self, id: i64) {
        self.forward_floor.store(id, Ordering::Release);
    }

    /// Claims row `id` of a forwarded message (see [`ForwardClaim`]).
    pub fn claim_forwarded(&self, id: i64) -> ForwardClaim {
        let floor = self.forward_floor.load(Ordering::Acquire);
        lock(&self.written).claim_forwarded(id, floor)
    }

    /// Claims stored row `id` for writing to this session: `false` if it was written already
    /// (by a catch-up, or as a forwarded message).
    pub fn claim_row(&self, id: i64) -> bool {
        lock(&self.written).claim(id)
    }

    /// Gives back a row claimed by [`OnlineUser::claim_row`] that could not be written, so a
    /// catch-up writes it.
    pub fn unclaim_row(&self, id: i64) {
        let mut rows = lock(&self.written);
        if rows.set.remove(&id) {
            rows.order.retain(|&r| r != id);
        }
    }

    /// The current permission level (changes take effect at once).
    pub fn permission(&self) -> Permission {
        Permission::from_code(self.permission.load(Ordering::Acquire)).unwrap_or(Permission::User)
    }

    /// Changes the in-memory permission level.
    pub fn set_permission(&self, level: Permission) {
        self.permission.store(level.code(), Ordering::Release);
    }
}

/// A reusable login token (TLS only).
#[derive(Debug)]
struct Token {
    secret: Zeroizing<Vec<u8>>,
    /// `None` while the session that earned it is still online.
    expires: Option<Instant>,
    owner: Option<ConnId>,
}

/// Why a token login failed (mapped to the Go server's codes by the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// No token for this user, or it expired.
    NotFound,
    /// The token is bound to a session that is still open.
    Pending,
    /// The token does not match.
    Mismatch,
}

/// What this node tells the other nodes of a cluster when the hub changes (see
/// `crate::cluster`). A single node has none, and its hub behaves as it always did.
pub trait Relay: Send + Sync + std::fmt::Debug {
    /// A hook went to every subscriber on this node (`packet` is the encoded HOOK).
    fn hook(&self, hook: Hook, packet: &Bytes);
    /// `name` is no longer online on this node.
    fn logged_out(&self, name: &Bytes);
    /// An admin changed `name`'s permission (already in the store).
    fn permission_changed(&self, name: &[u8], level: Permission);
    /// `name` was deregistered (already in the store).
    fn deregistered(&self, name: &[u8]);
    /// A token was bound to `name`'s session on this node.
    fn token_bound(&self, name: &[u8]);
    /// The token of `name` started its lifetime (its session ended).
    fn token_activated(&self, name: &[u8], secret: &[u8], lifetime: Duration);
    /// The token of `name` was revoked.
    fn token_revoked(&self, name: &[u8]);
    /// The MOTD changed.
    fn motd_changed(&self, motd: &Bytes);
}

/// Who is online and what sessions share in memory: tokens, hook subscribers, the MOTD.
#[derive(Debug)]
pub struct Hub {
    /// The other nodes, in a cluster.
    relay: std::sync::OnceLock<Arc<dyn Relay>>,
    online: Mutex<HashMap<Bytes, Arc<OnlineUser>>>,
    tokens: Mutex<HashMap<Bytes, Token>>,
    subscribers: Subscribers,
    motd: RwLock<Bytes>,
    token_lifetime: Duration,
    /// Bumped by every change to a user's permission or registration, so a login that read
    /// the user before the change can notice it (see [`Hub::user_epoch`]).
    user_epoch: AtomicU64,
    /// Least time between two DUPSESS hooks to one session.
    dupsess_interval: Duration,
}

/// Hooks per second per subscriber, by default.
pub const DEFAULT_HOOK_RATE: u32 = 100;
/// Hooks in a burst per subscriber, by default.
pub const DEFAULT_HOOK_BURST: u32 = 1000;
/// Seconds between two DUPSESS hooks to one session, by default.
pub const DEFAULT_DUPSESS_INTERVAL_SECS: u64 = 5;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Hub {
    /// Creates an empty hub.
    pub fn new(motd: Bytes, token_lifetime: Duration) -> Self {
        Hub {
            relay: std::sync::OnceLock::new(),
            online: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
            subscribers: Subscribers::new(HookBudget {
                rate: DEFAULT_HOOK_RATE,
                burst: DEFAULT_HOOK_BURST,
            }),
            motd: RwLock::new(motd),
            token_lifetime,
            user_epoch: AtomicU64::new(0),
            dupsess_interval: Duration::from_secs(DEFAULT_DUPSESS_INTERVAL_SECS),
        }
    }

    /// Sets each subscriber's hook budget and the least time between two DUPSESS hooks to
    /// one session.
    pub fn with_hook_limits(mut self, budget: HookBudget, dupsess_interval: Duration) -> Self {
        self.subscribers = Subscribers::new(budget);
        self.dupsess_interval = dupsess_interval;
        self
    }

    /// Tells `relay` of every change other nodes must see (set once, by the cluster).
    pub fn set_relay(&self, relay: Arc<dyn Relay>) {
        let _ = self.relay.set(relay);
    }

    fn relay(&self) -> Option<&Arc<dyn Relay>> {
        self.relay.get()
    }

    /// Hook delivery counters.
    pub fn hook_stats(&self) -> &HookStats {
        &self.subscribers.stats
    }

    /// The current MOTD.
    pub fn motd(&self) -> Bytes {
        self.motd
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Replaces the MOTD (on every node of a cluster).
    pub fn set_motd(&self, motd: Bytes) {
        if let Some(relay) = self.relay() {
            relay.motd_changed(&motd);
        }
        self.set_motd_here(motd);
    }

    /// Replaces the MOTD on this node only.
    pub fn set_motd_here(&self, motd: Bytes) {
        *self
            .motd
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = motd;
    }

    /// The online user called `name`.
    pub fn online(&self, name: &[u8]) -> Option<Arc<OnlineUser>> {
        lock(&self.online).get(name).cloned()
    }

    /// Adds a user unless the name is already online; returns whether it was added.
    pub fn add_online(&self, user: Arc<OnlineUser>) -> bool {
        let mut online = lock(&self.online);
        if online.contains_key(&user.name) {
            return false;
        }
        online.insert(user.name.clone(), user);
        true
    }

    /// Removes `name` if it is logged in on `conn`; returns whether it was.
    pub fn remove_online(&self, name: &[u8], conn: ConnId) -> bool {
        let mut online = lock(&self.online);
        match online.get(name) {
            Some(u) if u.conn.id() == conn => {
                if let Some((name, _)) = online.remove_entry(name)
                    && let Some(relay) = self.relay()
                {
                    relay.logged_out(&name);
                }
                true
            }
            _ => false,
        }
    }

    /// Ends `user`'s session from outside it (kick, ban, deregistration): it is no longer
    /// online from this moment (NEWLOGOUT fires), then its connection gets `code` and closes.
    pub fn evict(&self, user: &OnlineUser, code: gochat_proto::wire::ErrorCode) {
        if self.remove_online(&user.name, user.conn.id()) {
            tracing::info!(conn = user.conn.id(), user = %String::from_utf8_lossy(&user.name), "logged out (evicted)");
            // The leaving session's subscriptions go first, as in a logout.
            self.unsubscribe_all(user.conn.id());
            if let Ok(bytes) = gochat_proto::wire::Response::new_logout(user.name.clone())
                .to_packet(0)
                .to_bytes()
            {
                self.notify(Hook::NewLogout, &bytes, None);
            }
        }
        user.conn.disconnect(code);
    }

    /// Every online user, sorted by name.
    pub fn online_users(&self) -> Vec<Arc<OnlineUser>> {
        let mut users: Vec<_> = lock(&self.online).values().cloned().collect();
        users.sort_by(|a, b| a.name.cmp(&b.name));
        users
    }

    /// Number of online users.
    pub fn online_count(&self) -> usize {
        lock(&self.online).len()
    }

    /// Subscribes `conn` to `hook`; returns false if it already was.
    pub fn subscribe(&self, hook: Hook, conn: &ConnHandle) -> bool {
        self.subscribers.subscribe(hook, conn)
    }

    /// Unsubscribes `conn` from `hook`; returns false if it was not subscribed.
    pub fn unsubscribe(&self, hook: Hook, conn: ConnId) -> bool {
        self.subscribers.unsubscribe(hook, conn)
    }

    /// Whether `conn` is subscribed to `hook`.
    pub fn is_subscribed(&self, hook: Hook, conn: ConnId) -> bool {
        self.subscribers.is_subscribed(hook, conn)
    }

    /// Removes `conn` from every hook.
    pub fn unsubscribe_all(&self, conn: ConnId) {
        self.subscribers.unsubscribe_all(conn);
    }

    /// Sends an encoded HOOK packet to every subscriber of `hook` (or only to `only`).
    /// A subscriber whose hook budget is spent or whose queue is half full misses it; no one
    /// is ever disconnected for a hook.
    pub fn notify(&self, hook: Hook, packet: &Bytes, only: Option<ConnId>) {
        if only.is_none()
            && let Some(relay) = self.relay()
        {
            relay.hook(hook, packet);
        }
        self.subscribers.notify(hook, packet, only);
    }

    /// Sends a HOOK packet that another node relayed to this node's subscribers of `hook`.
    pub fn notify_here(&self, hook: Hook, packet: &Bytes) {
        self.subscribers.notify(hook, packet, None);
    }

    /// Tells `online` (if subscribed) that someone from `ip` tried to log in as them, at most
    /// once per DUPSESS interval: repeated attempts are coalesced.
    pub fn notify_duplicate_session(&self, online: &OnlineUser, ip: &str) {
        {
            let mut last = lock(&online.last_dupsess);
            let now = Instant::now();
            if last.is_some_and(|at| now.saturating_duration_since(at) < self.dupsess_interval) {
                self.subscribers
                    .stats
                    .dupsess_coalesced
                    .fetch_add(1, Ordering::Relaxed);
                return;
            }
            *last = Some(now);
        }
        if let Ok(bytes) = gochat_proto::wire::Response::duplicate_session(ip)
            .to_packet(0)
            .to_bytes()
        {
            self.notify(Hook::DupSess, &bytes, Some(online.conn.id()));
        }
    }

    /// A counter that changes whenever a user's permission or registration changes. A login
    /// reads it before loading the user; if it moved by the time the session is online, the
    /// user is loaded again (a ban or demotion raced with the login).
    pub fn user_epoch(&self) -> u64 {
        self.user_epoch.load(Ordering::SeqCst)
    }

    /// Applies a permission change already written to the store to the live session of
    /// `name`, if any: its permission, and a PERMSCHG hook. Returns whether it was online.
    pub fn permission_changed(&self, name: &[u8], level: Permission) -> bool {
        if let Some(relay) = self.relay() {
            relay.permission_changed(name, level);
        }
        self.permission_changed_here(name, level)
    }

    /// [`Hub::permission_changed`] for this node's session only (another node relayed it).
    pub fn permission_changed_here(&self, name: &[u8], level: Permission) -> bool {
        self.user_epoch.fetch_add(1, Ordering::SeqCst);
        let Some(online) = self.online(name) else {
            return false;
        };
        online.set_permission(level);
        if let Ok(bytes) =
            gochat_proto::wire::Response::permissions_changed(online.name.clone(), level)
                .to_packet(0)
                .to_bytes()
        {
            self.notify(Hook::PermsChg, &bytes, None);
        }
        true
    }

    /// Forgets everything held about `name` after its deregistration was written to the
    /// store (its token; the store forgets its recipient id itself). Returns its live session, if any, for
    /// the caller to end (an admin ban disconnects it; DEREG by the user keeps the connection).
    pub fn user_deregistered(&self, name: &[u8]) -> Option<Arc<OnlineUser>> {
        if let Some(relay) = self.relay() {
            relay.deregistered(name);
            relay.token_revoked(name);
        }
        self.user_deregistered_here(name)
    }

    /// [`Hub::user_deregistered`] on this node only (another node relayed it).
    pub fn user_deregistered_here(&self, name: &[u8]) -> Option<Arc<OnlineUser>> {
        self.user_epoch.fetch_add(1, Ordering::SeqCst);
        self.revoke_token_here(name);
        self.online(name)
    }

    /// Binds a fresh token to the session on `conn` (after a TLS challenge login).
    pub fn bind_token(&self, name: Bytes, secret: Zeroizing<Vec<u8>>, conn: ConnId) {
        if let Some(relay) = self.relay() {
            relay.token_bound(&name);
        }
        lock(&self.tokens).insert(
            name,
            Token {
                secret,
                expires: None,
                owner: Some(conn),
            },
        );
    }

    /// Starts the lifetime of the token bound to `conn` for `name` (its session ended).
    pub fn activate_token(&self, name: &[u8], conn: ConnId) {
        if let Some(token) = lock(&self.tokens).get_mut(name)
            && token.owner == Some(conn)
        {
            token.owner = None;
            if token.expires.is_none() {
                token.expires = Some(Instant::now() + self.token_lifetime);
                if let Some(relay) = self.relay() {
                    relay.token_activated(name, &token.secret, self.token_lifetime);
                }
            }
        }
    }

    /// Checks a token login for `name` in constant time.
    pub fn check_token(&self, name: &[u8], secret: &[u8]) -> Result<(), TokenError> {
        let mut tokens = lock(&self.tokens);
        let token = tokens.get(name).ok_or(TokenError::NotFound)?;
        if token.owner.is_some() {
            return Err(TokenError::Pending);
        }
        if token.expires.is_some_and(|at| at <= Instant::now()) {
            tokens.remove(name);
            return Err(TokenError::NotFound);
        }
        if bool::from(token.secret.as_slice().ct_eq(secret)) {
            Ok(())
        } else {
            Err(TokenError::Mismatch)
        }
    }

    /// Drops the token of `name` (deregistration, kick), on every node of a cluster.
    pub fn revoke_token(&self, name: &[u8]) {
        if let Some(relay) = self.relay() {
            relay.token_revoked(name);
        }
        self.revoke_token_here(name);
    }

    /// Drops the token of `name` on this node only.
    pub fn revoke_token_here(&self, name: &[u8]) {
        lock(&self.tokens).remove(name);
    }

    /// Removes expired tokens; returns how many.
    pub fn sweep_tokens(&self) -> usize {
        let now = Instant::now();
        let mut tokens = lock(&self.tokens);
        let before = tokens.len();
        tokens.retain(|_, t| t.expires.is_none_or(|at| at > now));
        before - tokens.len()
    }
}

#[cfg(test)]
mod tests {
    use super::{ForwardClaim, RECENT_ROWS, RecentRows};

    #[test]
    fn a_forwarded_row_is_fresh_only_above_the_floor_and_every_forgotten_row() {
        let mut rows = RecentRows::default();
        // Unknown floor (not read yet): every row is checked.
        assert_eq!(rows.claim_forwarded(5, i64::MAX), ForwardClaim::Doubtful);
        assert_eq!(rows.claim_forwarded(5, 0), ForwardClaim::Written);
        // At or below the floor an earlier session may have had it.
        assert_eq!(rows.claim_forwarded(10, 10), ForwardClaim::Doubtful);
        assert_eq!(rows.claim_forwarded(11, 10), ForwardClaim::Fresh);
        // A catch-up claimed it first: never written twice.
        assert!(rows.claim(12));
        assert_eq!(rows.claim_forwarded(12, 10), ForwardClaim::Written);
        // Once rows are forgotten, a row at or below the highest forgotten one is doubtful
        // (it may be one of them), a row above it fresh.
        let top = 1_000 + RECENT_ROWS as i64;
        for id in 1_000..=top {
            assert!(rows.claim(id));
        }
        assert!(rows.forgotten >= 1_000);
        assert_eq!(rows.claim_forwarded(13, 10), ForwardClaim::Doubtful);
        assert_eq!(rows.claim_forwarded(top + 1, 10), ForwardClaim::Fresh);
    }
}
