//! The cache of registered users' ids by name, so that storing a message for an offline
//! recipient needs no lookup each time.
//!
//! The hub owns the one instance; every deregistration path (DEREG, ADMIN DEREG, the control
//! socket) goes through [`crate::hub::Hub::user_deregistered`], which calls
//! [`RecipientCache::forget`]. A lookup that started before a deregistration and finishes after
//! it must not put the name back: [`RecipientCache::forget`] leaves a tombstone for a while,
//! and [`RecipientCache::remember`] refuses names with a tombstone.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;

/// How long a cached id is trusted. Deregistrations made while no server ran are noticed
/// within this time (the store refuses such messages anyway).
const TTL: Duration = Duration::from_secs(60);
/// How long a forgotten name may not be cached again: far longer than any database lookup
/// that could have started before the deregistration.
const TOMBSTONE: Duration = Duration::from_secs(120);
/// Most cached ids (and, separately, most tombstones); the map is cleared when full.
const CAPACITY: usize = 100_000;

/// Registered users' ids by exact name.
#[derive(Debug, Default)]
pub struct RecipientCache {
    ids: Mutex<HashMap<Bytes, (i64, Instant)>>,
    forgotten: Mutex<HashMap<Bytes, Instant>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl RecipientCache {
    /// The cached id of `name`, if fresh.
    pub fn get(&self, name: &[u8]) -> Option<i64> {
        match lock(&self.ids).get(name) {
            Some(&(id, at)) if at.elapsed() < TTL => Some(id),
            _ => None,
        }
    }

    /// Remembers that `name` is registered with `id`, unless it was deregistered recently
    /// (the lookup that found it may predate the deregistration).
    pub fn remember(&self, name: Bytes, id: i64) {
        // Both maps are locked in the same order here and in `forget`, so a deregistration
        // either comes first (and is seen) or removes what is inserted here.
        let mut forgotten = lock(&self.forgotten);
        if let Some(at) = forgotten.get(&name) {
            if at.elapsed() < TOMBSTONE {
                return;
            }
            forgotten.remove(&name);
        }
        let mut ids = lock(&self.ids);
        if ids.len() >= CAPACITY {
            ids.clear();
        }
        ids.insert(name, (id, Instant::now()));
    }

    /// Forgets `name` (deregistered) and keeps it from being cached again for a while.
    pub fn forget(&self, name: &[u8]) {
        let name = Bytes::copy_from_slice(name);
        let mut forgotten = lock(&self.forgotten);
        if forgotten.len() >= CAPACITY {
            forgotten.retain(|_, at| at.elapsed() < TOMBSTONE);
            if forgotten.len() >= CAPACITY {
                forgotten.clear();
            }
        }
        lock(&self.ids).remove(&name);
        forgotten.insert(name, Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::RecipientCache;
    use bytes::Bytes;

    #[test]
    fn forget_blocks_a_late_remember() {
        let cache = RecipientCache::default();
        cache.remember(Bytes::from_static(b"bob"), 7);
        assert_eq!(cache.get(b"bob"), Some(7));
        cache.forget(b"bob");
        assert_eq!(cache.get(b"bob"), None);
        // A lookup that began before the deregistration finishes now.
        cache.remember(Bytes::from_static(b"bob"), 7);
        assert_eq!(cache.get(b"bob"), None);
        cache.remember(Bytes::from_static(b"carol"), 8);
        assert_eq!(cache.get(b"carol"), Some(8));
    }
}
