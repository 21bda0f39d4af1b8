//! Received messages at the speed of the machine. Each `RECIV` is handed to the crypto pool
//! as it arrives (every core decrypts); one storer task per connection takes the results in
//! arrival order and commits them with their events many per transaction (at most
//! [`MAX_BATCH`] messages, or what arrived within [`MAX_BATCH_AGE`]). Frontends still learn
//! of a message only once it is durable: events go live after their commit.
//!
//! During the catch-up that follows a login, the storer also reports its progress
//! (`CatchUp` events, a few a second) and ends it with `done` once messages stop coming.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use gochat_proto::crypto::PrivateKey;
use gochat_proto::ipc::{self, event};
use gochat_proto::wire::decode_stamp;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{LinkContext, untrusted};
use crate::store::{ArrivalRule, MessageState, NewMessage, StoreError};

/// Most messages committed in one transaction.
pub const MAX_BATCH: usize = 256;
/// Longest a received message waits for the rest of its batch.
pub const MAX_BATCH_AGE: Duration = Duration::from_millis(50);
/// Received messages on their way to the store (decrypting or decrypted); beyond that the
/// link stops reading from the server until the storer catches up.
const QUEUE_LEN: usize = 1024;
/// Least time between two progress events of a catch-up.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);
/// A catch-up is over once no message came for this long.
const CATCH_UP_QUIET: Duration = Duration::from_millis(500);
/// Pause between attempts to store a received message the store refused.
const STORE_RETRY: Duration = Duration::from_secs(5);
/// Shown for a message the account's key cannot decrypt.
const UNREADABLE: &str = "this message could not be decrypted with your key";

type Plain = Result<zeroize::Zeroizing<Vec<u8>>, gochat_proto::crypto::CryptoError>;
type Decrypting = BoxFuture<'static, Result<Plain, crate::pool::PoolStopped>>;

/// A received message whose decryption is under way.
struct Arrival {
    new: NewMessage,
    digest: [u8; 32],
    plain: Decrypting,
}

/// A received message ready to be stored.
struct Received {
    new: NewMessage,
    digest: [u8; 32],
    error: Option<&'static str>,
}

impl Arrival {
    async fn ready(self) -> Received {
        let Arrival {
            mut new,
            digest,
            plain,
        } = self;
        let error = match plain.await {
            Ok(Ok(plain)) => {
                new.text = String::from_utf8_lossy(&plain).into_owned();
                None
            }
            _ => Some(UNREADABLE),
        };
        Received { new, digest, error }
    }
}

/// What the storer shares with the link.
pub struct Shared {
    /// Bounds the received messages held in memory for a failing store.
    pub retries: Arc<Semaphore>,
    /// The link's tasks (retries run there).
    pub tasks: TaskTracker,
    /// Cancelled when the link stops.
    pub cancel: CancellationToken,
}

/// The way from a connection's reader to its storer. Dropping it (or [`Inbox::close`]) lets
/// the storer store what is queued, then end.
pub struct Inbox {
    ctx: LinkContext,
    queue: mpsc::Sender<Arrival>,
    storer: JoinHandle<()>,
}

impl Inbox {
    /// Starts the storer of a connection on `shared.tasks`; `catching_up` when the server
    /// answered `RECIV` with OK (stored messages follow).
    pub fn start(ctx: LinkContext, catching_up: bool, shared: Shared) -> Inbox {
        let (queue, rx) = mpsc::channel(QUEUE_LEN);
        let storer = Storer {
            ctx: ctx.clone(),
            progress: catching_up.then(Progress::new),
            shared,
        };
        let tasks = storer.shared.tasks.clone();
        let storer = tasks.spawn(storer.run(rx));
        Inbox { ctx, queue, storer }
    }

    /// Lets the storer store what is queued, and waits until it has.
    pub async fn close(self) {
        drop(self.queue);
        let _ = self.storer.await;
    }

    /// Takes a `RECIV`: queues its decryption on the pool, and the result for the store. Returns the sender, or `None` for a sender name that breaks
    /// the username rule (nothing is stored then).
    pub async fn push(
        &self,
        key: &Arc<PrivateKey>,
        from: &Bytes,
        stamp: &Bytes,
        ciphertext: Bytes,
    ) -> Option<String> {
        let Some(peer) = untrusted::server_username(from) else {
            tracing::warn!(from = %untrusted::shown(from), "dropped a message from an invalid sender name");
            return None;
        };
        let stamp = decode_stamp(stamp).unwrap_or_else(|_| crate::events::now_ms() / 1000);
        let digest = crate::store::received_digest(&peer, &ciphertext);
        let key = key.clone();
        let plain = Box::pin(self.ctx.crypto.start(move || key.decrypt(&ciphertext)));
        let new = NewMessage {
            account_id: self.ctx.account.id,
            peer: peer.clone(),
            outgoing: false,
            text: String::new(),
            stamp,
            state: MessageState::Received,
            read: false,
        };
        let arrival = Arrival { new, digest, plain };
        if self.queue.send(arrival).await.is_err() {
            tracing::error!("the storer of received messages stopped; a message is lost");
        }
        Some(peer)
    }
}

/// How far the current catch-up got.
struct Progress {
    received: u64,
    reported: Option<Instant>,
}

impl Progress {
    fn new() -> Self {
        Progress {
            received: 0,
            reported: None,
        }
    }

    /// Whether a progress event is due.
    fn due(&self) -> bool {
        self.reported
            .is_none_or(|at| at.elapsed() >= PROGRESS_EVERY)
    }
}

struct Storer {
    ctx: LinkContext,
    progress: Option<Progress>,
    shared: Shared,
}

impl Storer {
    async fn run(mut self, mut rx: mpsc::Receiver<Arrival>) {
        loop {
            let first = if self.progress.is_some() {
                match tokio::time::timeout(CATCH_UP_QUIET, rx.recv()).await {
                    Ok(Some(first)) => first,
                    Ok(None) => break,
                    Err(_) => {
                        self.end_catch_up().await;
                        continue;
                    }
                }
            } else {
                match rx.recv().await {
                    Some(first) => first,
                    None => break,
                }
            };
            // A batch: whatever is already queued, within the bounds; a message alone (no
            // catch-up, nothing else in flight) is committed at once.
            let deadline = Instant::now() + MAX_BATCH_AGE;
            let mut batch = vec![first.ready().await];
            while batch.len() < MAX_BATCH && Instant::now() < deadline {
                match rx.try_recv() {
                    Ok(next) => batch.push(next.ready().await),
                    Err(_) => break,
                }
            }
            self.store(batch).await;
        }
        self.end_catch_up().await;
    }

    /// Commits a batch with its events (and a progress event when one is due); if the store
    /// refuses, each message is stored on its own, and retried from memory while it fails.
    async fn store(&mut self, batch: Vec<Received>) {
        let progress = self.progress.as_mut().map(|p| {
            p.received += batch.len() as u64;
            p.due().then_some(p.received)
        });
        let report = progress.flatten().map(|received| ipc::CatchUp {
            account: Some(self.ctx.account_ref()),
            received,
            done: false,
        });
        let reporting = report.is_some();
        match commit_batch(&self.ctx, &batch, report).await {
            Ok(()) => {
                if let Some(p) = self.progress.as_mut().filter(|_| reporting) {
                    p.reported = Some(Instant::now());
                }
                return;
            }
            Err(e) => {
                tracing::error!(error = %crate::report::chain(&e), messages = batch.len(), "cannot store received messages; storing them one by one")
            }
        }
        for received in batch {
            self.store_one(received).await;
        }
    }

    /// Stores one message; if that fails, retries it from memory in a task of the link (the
    /// server has already let go of it). When too many wait already, waits for a free slot,
    /// which stops the link from reading the server until one is stored.
    async fn store_one(&self, received: Received) {
        let Err(e) = store_received(&self.ctx, &received).await else {
            return;
        };
        tracing::error!(error = %crate::report::chain(&e), "cannot store a received message; retrying from memory");
        let Ok(permit) = self.shared.retries.clone().acquire_owned().await else {
            return;
        };
        // The retries belong to the link: they stop with it, after one last attempt.
        let (ctx, cancel) = (self.ctx.clone(), self.shared.cancel.clone());
        self.shared.tasks.spawn(async move {
            let _permit = permit;
            loop {
                let stopping = cancel
                    .run_until_cancelled(tokio::time::sleep(STORE_RETRY))
                    .await
                    .is_none();
                match store_received(&ctx, &received).await {
                    Ok(()) => return,
                    Err(e) if stopping => {
                        tracing::error!(error = %crate::report::chain(&e), "link stopped: a received message that could not be stored is lost");
                        return;
                    }
                    Err(e) => tracing::warn!(error = %crate::report::chain(&e), "still cannot store a received message"),
                }
            }
        });
    }

    /// Ends the catch-up under way, if any, with a final progress event.
    async fn end_catch_up(&mut self) {
        let Some(progress) = self.progress.take() else {
            return;
        };
        tracing::info!(account = %self.ctx.account.username, received = progress.received, "catch-up done");
        self.ctx
            .events
            .emit(event::Kind::CatchUp(ipc::CatchUp {
                account: Some(self.ctx.account_ref()),
                received: progress.received,
                done: true,
            }))
            .await;
    }
}

/// Stores received messages and their events (and `report`) in one transaction. Messages
/// already stored (same sender and ciphertext: the server sent them again, e.g. after it was
/// killed during a catch-up) are dropped without an event.
async fn commit_batch(
    ctx: &LinkContext,
    batch: &[Received],
    report: Option<ipc::CatchUp>,
) -> Result<(), StoreError> {
    let mut tx = ctx.events.batch().await?;
    let account = ctx.account_ref();
    // Blocked senders' messages are dropped here, muted ones stored; both are counted.
    let rules = tx.store().arrival_rules(ctx.account.id).await?;
    let mut counted: HashMap<(&str, ArrivalRule), u64> = HashMap::new();
    for received in batch {
        let peer = received.new.peer.as_str();
        let arrival = rules.get(peer).copied().unwrap_or(ArrivalRule::Normal);
        if arrival == ArrivalRule::Blocked {
            *counted.entry((peer, arrival)).or_default() += 1;
            continue;
        }
        let Some(mut row) = tx
            .store()
            .insert_received(&received.new, &received.digest)
            .await?
        else {
            tracing::info!(peer = %received.new.peer, "dropped a message delivered twice");
            continue;
        };
        if arrival == ArrivalRule::Muted {
            *counted.entry((peer, arrival)).or_default() += 1;
        }
        if let Some(e) = received.error {
            row = tx
                .store()
                .set_message_state(
                    row.id,
                    MessageState::Received,
                    Some((crate::reason::Reason::BadServerData, e)),
                )
                .await?;
        }
        let message = crate::convert::message(&row, &account);
        tx.publish(event::Kind::MessageReceived(message)).await?;
    }
    for ((peer, arrival), n) in counted {
        tx.store()
            .count_arrivals(ctx.account.id, peer, arrival, n)
            .await?;
        if arrival == ArrivalRule::Blocked {
            tracing::info!(peer = %peer, messages = n, "dropped messages from a blocked sender");
        }
    }
    if let Some(report) = report {
        tx.publish(event::Kind::CatchUp(report)).await?;
    }
    tx.commit().await
}

/// Stores one received message and its event in one transaction.
async fn store_received(ctx: &LinkContext, received: &Received) -> Result<(), StoreError> {
    commit_batch(ctx, std::slice::from_ref(received), None).await
}
