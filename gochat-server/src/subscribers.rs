//! Hook subscriptions and the delivery of HOOK notifications.
//!
//! Hooks are notifications, never a reason to drop a connection: each subscriber has a budget
//! for NEWLOGIN/NEWLOGOUT (a token bucket, `hook_rate` per second up to `hook_burst`), and a
//! hook only enters a connection's outbound queue while the queue is at most half full, so
//! hooks never crowd out replies and messages. A hook that does not fit is dropped and
//! counted.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use bytes::Bytes;
use gochat_proto::wire::Hook;

use crate::conn::{ConnHandle, ConnId};

/// How many hooks each subscriber may receive.
#[derive(Debug, Clone, Copy)]
pub struct HookBudget {
    /// Hooks per second, refilled continuously.
    pub rate: u32,
    /// Most hooks in a burst.
    pub burst: u32,
}

/// Counters of hook delivery, for the metrics.
#[derive(Debug, Default)]
pub struct HookStats {
    /// Hooks queued to a subscriber.
    pub sent: AtomicU64,
    /// Hooks dropped: the subscriber's budget was spent or its queue was half full.
    pub dropped: AtomicU64,
    /// DUPSESS hooks not sent because one went to the same user moments before.
    pub dupsess_coalesced: AtomicU64,
}

/// A token bucket.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled: Instant,
}

impl Bucket {
    fn full(budget: HookBudget) -> Self {
        Bucket {
            tokens: f64::from(budget.burst),
            refilled: Instant::now(),
        }
    }

    /// Takes one token if there is one.
    fn take(&mut self, budget: HookBudget, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.refilled = now;
        self.tokens = (self.tokens + elapsed * f64::from(budget.rate)).min(f64::from(budget.burst));
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[derive(Debug)]
struct Subscriber {
    conn: ConnHandle,
    /// Bit `1 << hook code` for each subscribed hook.
    hooks: u8,
    bucket: Bucket,
}

fn bit(hook: Hook) -> Option<u8> {
    match hook {
        Hook::All => None,
        Hook::NewLogin => Some(1 << 1),
        Hook::NewLogout => Some(1 << 2),
        Hook::DupSess => Some(1 << 3),
        Hook::PermsChg => Some(1 << 4),
    }
}

/// Every connection's hook subscriptions.
#[derive(Debug)]
pub struct Subscribers {
    subs: Mutex<HashMap<ConnId, Subscriber>>,
    budget: HookBudget,
    /// Delivery counters.
    pub stats: HookStats,
}

impl Subscribers {
    /// No subscribers yet.
    pub fn new(budget: HookBudget) -> Self {
        Subscribers {
            subs: Mutex::new(HashMap::new()),
            budget,
            stats: HookStats::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<ConnId, Subscriber>> {
        self.subs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Subscribes `conn` to `hook`; returns false if it already was.
    pub fn subscribe(&self, hook: Hook, conn: &ConnHandle) -> bool {
        let Some(bit) = bit(hook) else { return false };
        let mut subs = self.lock();
        let sub = subs.entry(conn.id()).or_insert_with(|| Subscriber {
            conn: conn.clone(),
            hooks: 0,
            bucket: Bucket::full(self.budget),
        });
        let added = sub.hooks & bit == 0;
        sub.hooks |= bit;
        added
    }

    /// Unsubscribes `conn` from `hook`; returns false if it was not subscribed.
    pub fn unsubscribe(&self, hook: Hook, conn: ConnId) -> bool {
        let Some(bit) = bit(hook) else { return false };
        let mut subs = self.lock();
        let Some(sub) = subs.get_mut(&conn) else {
            return false;
        };
        let removed = sub.hooks & bit != 0;
        sub.hooks &= !bit;
        if sub.hooks == 0 {
            subs.remove(&conn);
        }
        removed
    }

    /// Whether `conn` is subscribed to `hook`.
    pub fn is_subscribed(&self, hook: Hook, conn: ConnId) -> bool {
        bit(hook).is_some_and(|bit| self.lock().get(&conn).is_some_and(|s| s.hooks & bit != 0))
    }

    /// Removes `conn` from every hook.
    pub fn unsubscribe_all(&self, conn: ConnId) {
        self.lock().remove(&conn);
    }

    /// Queues an encoded HOOK packet to every subscriber of `hook` (or only to `only`) that
    /// has budget and queue room left; the others miss it, and stay connected.
    pub fn notify(&self, hook: Hook, packet: &Bytes, only: Option<ConnId>) {
        let Some(bit) = bit(hook) else { return };
        // Only the fan-out hooks anyone can trigger at will (a login/logout loop) spend the
        // budget; DUPSESS is coalesced per session before it gets here, and PERMSCHG takes
        // an admin.
        let budgeted = matches!(hook, Hook::NewLogin | Hook::NewLogout);
        let now = Instant::now();
        let mut dropped = 0u64;
        let targets: Vec<ConnHandle> = {
            let mut subs = self.lock();
            let mut admit = |sub: &mut Subscriber| {
                if sub.hooks & bit == 0 {
                    None
                } else if !budgeted || sub.bucket.take(self.budget, now) {
                    Some(sub.conn.clone())
                } else {
                    dropped += 1;
                    None
                }
            };
            match only {
                Some(id) => subs.get_mut(&id).and_then(&mut admit).into_iter().collect(),
                None => subs.values_mut().filter_map(admit).collect(),
            }
        };
        let mut sent = 0u64;
        for conn in targets {
            // Hooks may fill half the queue at most: replies and messages keep the rest.
            if conn.offer(packet.clone(), (conn.queue_capacity() / 2).max(1)) {
                sent += 1;
            } else {
                dropped += 1;
            }
        }
        if sent > 0 {
            self.stats.sent.fetch_add(sent, Ordering::Relaxed);
        }
        if dropped > 0 {
            self.stats.dropped.fetch_add(dropped, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Bucket, HookBudget};
    use std::time::{Duration, Instant};

    #[test]
    fn bucket_allows_a_burst_then_the_rate() {
        let budget = HookBudget { rate: 10, burst: 3 };
        let mut bucket = Bucket::full(budget);
        let start = Instant::now();
        assert!((0..3).all(|_| bucket.take(budget, start)));
        assert!(!bucket.take(budget, start));
        // 100 ms at 10/s earn one more.
        let later = start + Duration::from_millis(100);
        assert!(bucket.take(budget, later));
        assert!(!bucket.take(budget, later));
        // Never more than the burst, however long the pause.
        let much_later = later + Duration::from_secs(3600);
        assert!((0..3).all(|_| bucket.take(budget, much_later)));
        assert!(!bucket.take(budget, much_later));
    }
}
