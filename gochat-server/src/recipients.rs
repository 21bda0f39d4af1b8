//! The cache of registered users' ids by name, so that storing a message for an offline
//! recipient needs no lookup each time: [`CachedRecipients`], a [`Store`] decorator.
//!
//! The server wraps its store in it once, so every deregistration (DEREG, ADMIN DEREG, the
//! control socket) passes through [`CachedRecipients`], which calls
//! [`RecipientCache::forget`] once the store has written it. A lookup that started before a
//! deregistration and finishes after it must not put the name back:
//! [`RecipientCache::forget`] leaves a tombstone for a while, and
//! [`RecipientCache::remember`] refuses names with a tombstone.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use gochat_proto::wire::Permission;

use crate::store::{
    ImportBatch, MailboxUsage, MessageDigest, NewMessage, Quota, Recipient, RegisterError, Store,
    StoreError, StoreOutcome, StoredMessage, UserRecord,
};

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

/// A [`Store`] that answers [`Store::recipient`] from a [`RecipientCache`] and forgets a
/// name as soon as it is deregistered; everything else goes to the wrapped store.
pub struct CachedRecipients {
    inner: Arc<dyn Store>,
    cache: RecipientCache,
}

impl CachedRecipients {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Self {
            inner,
            cache: RecipientCache::default(),
        }
    }
}

#[async_trait]
impl Store for CachedRecipients {
    async fn register(
        &self,
        username: &[u8],
        public_key: &[u8],
        key_fingerprint: &[u8; 32],
    ) -> Result<(), RegisterError> {
        self.inner
            .register(username, public_key, key_fingerprint)
            .await
    }

    async fn user(&self, username: &[u8]) -> Result<Option<UserRecord>, StoreError> {
        self.inner.user(username).await
    }

    async fn recipient(&self, username: &[u8]) -> Result<Recipient, StoreError> {
        if let Some(id) = self.cache.get(username) {
            return Ok(Recipient::Registered(id));
        }
        let found = self.inner.recipient(username).await?;
        if let Recipient::Registered(id) = found {
            self.cache.remember(Bytes::copy_from_slice(username), id);
        }
        Ok(found)
    }

    async fn deregister(&self, username: &[u8]) -> Result<bool, StoreError> {
        let result = self.inner.deregister(username).await;
        // Even after an error: the write may have committed before the reply was lost.
        self.cache.forget(username);
        result
    }

    async fn set_permission(&self, username: &[u8], level: Permission) -> Result<bool, StoreError> {
        self.inner.set_permission(username, level).await
    }

    async fn visit_users(
        &self,
        after: i64,
        limit: u32,
        visit: &mut (dyn for<'n> FnMut(i64, &'n [u8], u8) -> bool + Send),
    ) -> Result<(), StoreError> {
        self.inner.visit_users(after, limit, visit).await
    }

    async fn store_messages_with_ids(
        &self,
        messages: &[NewMessage],
        quota: Quota,
    ) -> Result<(Vec<StoreOutcome>, Vec<i64>), StoreError> {
        self.inner.store_messages_with_ids(messages, quota).await
    }

    async fn pending_batch(
        &self,
        recipient_id: i64,
        after: i64,
        max_rows: u32,
        max_bytes: usize,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        self.inner
            .pending_batch(recipient_id, after, max_rows, max_bytes)
            .await
    }

    async fn delete_messages(&self, recipient_id: i64, ids: &[i64]) -> Result<(), StoreError> {
        self.inner.delete_messages(recipient_id, ids).await
    }

    async fn message_exists(&self, recipient_id: i64, id: i64) -> Result<bool, StoreError> {
        self.inner.message_exists(recipient_id, id).await
    }

    async fn last_message_id(&self) -> Result<i64, StoreError> {
        self.inner.last_message_id().await
    }

    async fn mailbox_usage(&self, recipient_id: i64) -> Result<MailboxUsage, StoreError> {
        self.inner.mailbox_usage(recipient_id).await
    }

    async fn count_pending(&self, recipient_id: i64) -> Result<u64, StoreError> {
        self.inner.count_pending(recipient_id).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }

    async fn all_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        self.inner.all_users().await
    }

    async fn imported_go_messages(&self) -> Result<HashSet<MessageDigest>, StoreError> {
        self.inner.imported_go_messages().await
    }

    async fn apply_import(&self, batch: &ImportBatch) -> Result<(), StoreError> {
        self.inner.apply_import(batch).await
    }
}

#[cfg(test)]
mod tests {
    use super::{CachedRecipients, RecipientCache};
    use crate::store::{Recipient, SqliteStore, Store};
    use bytes::Bytes;
    use std::sync::Arc;

    #[tokio::test]
    async fn a_deregistration_through_the_decorator_is_seen_at_once() {
        let inner: Arc<dyn Store> =
            Arc::new(SqliteStore::open("sqlite::memory:").await.expect("open"));
        let store = CachedRecipients::new(inner.clone());
        store
            .register(b"bob", b"pem", &[7; 32])
            .await
            .expect("register");
        let Ok(Recipient::Registered(id)) = store.recipient(b"bob").await else {
            panic!("bob is registered");
        };
        assert_eq!(store.cache.get(b"bob"), Some(id), "remembered");
        assert_eq!(
            store.recipient(b"nobody").await.expect("lookup"),
            Recipient::Unknown
        );
        assert!(store.deregister(b"bob").await.expect("deregister"));
        assert_eq!(store.cache.get(b"bob"), None, "forgotten");
        assert_eq!(
            store.recipient(b"bob").await.expect("lookup"),
            Recipient::Deregistered
        );
    }

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
