//! Learning the keys of new senders, bounded: one queue per connection, each name queued at
//! most once, at most [`QUEUE_LEN`] names waiting and [`CONCURRENT_FETCHES`] `REQ`s in flight.
//!
//! A server that sends thousands of distinct senders therefore costs a fixed amount of memory
//! and a trickle of requests. Names that do not fit are skipped: nothing is lost, because a
//! missing key is fetched again on the sender's next message and before anything is sent to
//! them.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::contacts::fetch_key;
use super::{Caller, LinkContext};

/// Most names waiting for their key.
pub const QUEUE_LEN: usize = 64;
/// Most key requests in flight at once on one connection.
pub const CONCURRENT_FETCHES: usize = 4;

/// Queues key fetches for one connection; the worker stops when every handle is dropped or
/// the connection's token is cancelled.
#[derive(Debug, Clone)]
pub struct KeyFetcher {
    queue: mpsc::Sender<String>,
    /// Names queued or being fetched (for deduplication).
    busy: Arc<Mutex<HashSet<String>>>,
}

impl KeyFetcher {
    /// Starts the worker for a connection on the link's `tasks`; it ends with `session`.
    pub fn start(
        ctx: LinkContext,
        caller: Caller,
        tasks: &TaskTracker,
        session: CancellationToken,
    ) -> KeyFetcher {
        let (queue, rx) = mpsc::channel::<String>(QUEUE_LEN);
        let busy: Arc<Mutex<HashSet<String>>> = Arc::default();
        let done = busy.clone();
        tasks.spawn(session.run_until_cancelled_owned(async move {
            ReceiverStream::new(rx)
                .for_each_concurrent(CONCURRENT_FETCHES, |name| {
                    let (ctx, caller, done) = (&ctx, &caller, &done);
                    async move {
                        if let Ok(None) = ctx.store.contact(ctx.account.id, &name).await
                            && let Err(e) = fetch_key(ctx, caller, &name).await
                        {
                            tracing::debug!(user = %name, error = %e, "cannot fetch a sender's key");
                        }
                        lock(done).remove(&name);
                    }
                })
                .await;
        }));
        KeyFetcher { queue, busy }
    }

    /// Asks for `user`'s key to be fetched and pinned unless known already (checked by the
    /// worker). Returns at once; a name already queued, or one that does not fit in the
    /// queue, is skipped.
    pub fn request(&self, user: &str) {
        let mut busy = lock(&self.busy);
        if busy.contains(user) {
            return;
        }
        match self.queue.try_send(user.to_owned()) {
            Ok(()) => {
                busy.insert(user.to_owned());
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::debug!(user, "key fetch queue full; fetching later");
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
