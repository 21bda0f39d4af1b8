//! In-memory state shared by all sessions: who is online (O(1) by name), reusable tokens,
//! hook subscribers, the MOTD and a scheduled shutdown.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use gochat_proto::crypto::EncryptingKey;
use gochat_proto::wire::{Hook, Permission};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::conn::{ConnHandle, ConnId};

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
}

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

/// Shared server state.
#[derive(Debug)]
pub struct Hub {
    online: Mutex<HashMap<Bytes, Arc<OnlineUser>>>,
    tokens: Mutex<HashMap<Bytes, Token>>,
    subscribers: Mutex<[HashMap<ConnId, ConnHandle>; 4]>,
    motd: RwLock<Bytes>,
    shutdown_at: Mutex<Option<(i64, Bytes)>>,
    token_lifetime: Duration,
    /// Registered users' ids by name, for storing offline messages without a lookup each.
    recipients: Mutex<HashMap<Bytes, (i64, Instant)>>,
}

/// How long a cached recipient id is trusted (deregistrations made outside this server,
/// with `gochat-server admin`, are noticed within this time).
const RECIPIENT_TTL: Duration = Duration::from_secs(60);
/// Most cached recipient ids.
const RECIPIENT_CACHE: usize = 100_000;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn hook_slot(hook: Hook) -> Option<usize> {
    match hook {
        Hook::All => None,
        Hook::NewLogin => Some(0),
        Hook::NewLogout => Some(1),
        Hook::DupSess => Some(2),
        Hook::PermsChg => Some(3),
    }
}

impl Hub {
    /// Creates an empty hub.
    pub fn new(motd: Bytes, token_lifetime: Duration) -> Self {
        Hub {
            online: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
            subscribers: Mutex::new(Default::default()),
            motd: RwLock::new(motd),
            shutdown_at: Mutex::new(None),
            token_lifetime,
            recipients: Mutex::new(HashMap::new()),
        }
    }

    /// The current MOTD.
    pub fn motd(&self) -> Bytes {
        self.motd
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Replaces the MOTD.
    pub fn set_motd(&self, motd: Bytes) {
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
                online.remove(name);
                true
            }
            _ => false,
        }
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
        let Some(slot) = hook_slot(hook) else {
            return false;
        };
        lock(&self.subscribers)[slot]
            .insert(conn.id(), conn.clone())
            .is_none()
    }

    /// Unsubscribes `conn` from `hook`; returns false if it was not subscribed.
    pub fn unsubscribe(&self, hook: Hook, conn: ConnId) -> bool {
        let Some(slot) = hook_slot(hook) else {
            return false;
        };
        lock(&self.subscribers)[slot].remove(&conn).is_some()
    }

    /// Whether `conn` is subscribed to `hook`.
    pub fn is_subscribed(&self, hook: Hook, conn: ConnId) -> bool {
        hook_slot(hook).is_some_and(|slot| lock(&self.subscribers)[slot].contains_key(&conn))
    }

    /// Removes `conn` from every hook.
    pub fn unsubscribe_all(&self, conn: ConnId) {
        for list in lock(&self.subscribers).iter_mut() {
            list.remove(&conn);
        }
    }

    /// Sends an encoded HOOK packet to every subscriber of `hook` (or only to `only`).
    /// Slow subscribers are disconnected rather than waited for.
    pub fn notify(&self, hook: Hook, packet: &Bytes, only: Option<ConnId>) {
        let Some(slot) = hook_slot(hook) else { return };
        let targets: Vec<ConnHandle> = {
            let subs = lock(&self.subscribers);
            match only {
                Some(id) => subs[slot].get(&id).cloned().into_iter().collect(),
                None => subs[slot].values().cloned().collect(),
            }
        };
        for conn in targets {
            let _ = conn.try_send(packet.clone(), None);
        }
    }

    /// Binds a fresh token to the session on `conn` (after a TLS challenge login).
    pub fn bind_token(&self, name: Bytes, secret: Zeroizing<Vec<u8>>, conn: ConnId) {
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

    /// Drops the token of `name` (deregistration).
    pub fn revoke_token(&self, name: &[u8]) {
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

    /// The cached id of registered user `name`, if fresh.
    pub fn recipient_id(&self, name: &[u8]) -> Option<i64> {
        match lock(&self.recipients).get(name) {
            Some(&(id, at)) if at.elapsed() < RECIPIENT_TTL => Some(id),
            _ => None,
        }
    }

    /// Remembers that `name` is registered with `id`.
    pub fn remember_recipient(&self, name: Bytes, id: i64) {
        let mut cache = lock(&self.recipients);
        if cache.len() >= RECIPIENT_CACHE {
            cache.clear();
        }
        cache.insert(name, (id, Instant::now()));
    }

    /// Forgets `name` (deregistered).
    pub fn forget_recipient(&self, name: &[u8]) {
        lock(&self.recipients).remove(name);
    }

    /// Records a scheduled shutdown; keeps the earliest. Returns the one in force.
    pub fn schedule_shutdown(&self, at: i64, raw_stamp: Bytes) -> (i64, Bytes) {
        let mut slot = lock(&self.shutdown_at);
        match &*slot {
            Some((current, raw)) if *current <= at => (*current, raw.clone()),
            _ => {
                *slot = Some((at, raw_stamp.clone()));
                (at, raw_stamp)
            }
        }
    }

    /// The scheduled shutdown, if any.
    pub fn scheduled_shutdown(&self) -> Option<(i64, Bytes)> {
        lock(&self.shutdown_at).clone()
    }
}
