//! The numbered event log: every state change is stored, then broadcast live. A frontend
//! that reconnects with its last event id gets what it missed from the log.

use std::time::{SystemTime, UNIX_EPOCH};

use gochat_proto::ipc::{Event, Gap, event};
use prost::Message as _;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::store::{Store, StoreError, WriteTx};

/// Events kept in the log; older ones are pruned.
const KEEP_EVENTS: u64 = 100_000;
/// Live events buffered per slow subscriber before it must resync from the log.
const LIVE_CAPACITY: usize = 4096;

/// Store changes and the events announcing them, in one write transaction (see
/// [`EventBus::batch`]). Dropping it uncommitted rolls everything back and sends nothing.
#[derive(Debug)]
pub struct Batch<'a> {
    bus: &'a EventBus,
    _order: tokio::sync::MutexGuard<'a, ()>,
    tx: WriteTx,
    events: Vec<Event>,
}

impl Batch<'_> {
    /// The transaction, for the store changes.
    pub fn store(&mut self) -> &mut WriteTx {
        &mut self.tx
    }

    /// Records an event in the transaction; it goes live once the batch commits.
    pub async fn publish(&mut self, kind: event::Kind) -> Result<u64, StoreError> {
        let mut event = Event {
            id: 0,
            time: now_ms(),
            instance_id: self.bus.instance_id.clone(),
            kind: Some(kind),
        };
        event.id = self.tx.append_event(&event.encode_to_vec()).await?;
        self.events.push(event.clone());
        Ok(event.id)
    }

    /// Commits the changes and events, then broadcasts the events.
    pub async fn commit(self) -> Result<(), StoreError> {
        let Batch {
            bus,
            _order,
            tx,
            events,
        } = self;
        tx.commit().await?;
        let prune = events.iter().any(|e| e.id % 1000 == 0);
        for event in events {
            let _ = bus.live.send(event);
        }
        drop(_order);
        if prune {
            let _ = bus.store.prune_events(KEEP_EVENTS).await;
        }
        Ok(())
    }
}

/// Publishes events (store first, then live) and serves subscriptions.
#[derive(Debug, Clone)]
pub struct EventBus {
    store: Store,
    /// Serialises store-then-broadcast so live events go out in id order.
    order: std::sync::Arc<tokio::sync::Mutex<()>>,
    live: broadcast::Sender<Event>,
    instance_id: String,
    /// Where subscription tasks run, and what stops them.
    tasks: TaskTracker,
    cancel: CancellationToken,
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl EventBus {
    /// A bus over `store`; `instance_id` tells frontends which daemon run produced an event.
    pub fn new(store: Store, instance_id: String) -> Self {
        let (live, _) = broadcast::channel(LIVE_CAPACITY);
        EventBus {
            store,
            order: std::sync::Arc::default(),
            live,
            instance_id,
            tasks: TaskTracker::new(),
            cancel: CancellationToken::new(),
        }
    }

    /// Runs subscription tasks on `tasks`, ending them when `cancel` is cancelled.
    pub fn with_tasks(mut self, tasks: TaskTracker, cancel: CancellationToken) -> Self {
        self.tasks = tasks;
        self.cancel = cancel;
        self
    }

    /// This daemon run's id.
    pub fn instance_id(&self) -> &str {
        &self.instance_id
    }

    /// Stores and broadcasts an event; returns its id.
    pub async fn publish(&self, kind: event::Kind) -> Result<u64, StoreError> {
        let mut batch = self.batch().await?;
        let id = batch.publish(kind).await?;
        batch.commit().await?;
        Ok(id)
    }

    /// Opens a write transaction whose store changes and events are committed together:
    /// a crash or an error in between leaves neither. Events go live only after the commit,
    /// in id order.
    pub async fn batch(&self) -> Result<Batch<'_>, StoreError> {
        let order = self.order.lock().await;
        let tx = self.store.begin_write().await?;
        Ok(Batch {
            bus: self,
            _order: order,
            tx,
            events: Vec::new(),
        })
    }

    /// Publishes, logging instead of failing (for paths that cannot report errors).
    pub async fn emit(&self, kind: event::Kind) {
        if let Err(e) = self.publish(kind).await {
            tracing::error!(error = %crate::report::chain(&e), "cannot record event");
        }
    }

    /// Live events from now on.
    pub fn listen(&self) -> broadcast::Receiver<Event> {
        self.live.subscribe()
    }

    /// Events after `since` from the log (with a `Gap` first if some were pruned), followed
    /// by live ones, as a stream.
    pub fn subscribe(&self, since: u64) -> tokio::sync::mpsc::Receiver<Event> {
        let (tx, rx) = tokio::sync::mpsc::channel(256);
        let mut live = self.live.subscribe();
        let store = self.store.clone();
        let instance_id = self.instance_id.clone();
        let cancel = self.cancel.clone();
        self.tasks
            .spawn(cancel.run_until_cancelled_owned(async move {
                let newest = store.last_event_id().await.unwrap_or(0);
                // A `since` from another database (beyond our newest) resumes from our newest.
                let mut last = since.min(newest);
                if since > 0 {
                    let pruned =
                        matches!(store.first_event_id().await, Ok(Some(first)) if first > last + 1);
                    if pruned || since > newest {
                        let first = store
                            .first_event_id()
                            .await
                            .ok()
                            .flatten()
                            .unwrap_or(newest + 1);
                        let gap = Event {
                            id: 0,
                            time: now_ms(),
                            instance_id: instance_id.clone(),
                            kind: Some(event::Kind::Gap(Gap {
                                first_available: first,
                            })),
                        };
                        if tx.send(gap).await.is_err() {
                            return;
                        }
                    }
                    loop {
                        let batch = match store.events_after(last, 500).await {
                            Ok(b) => b,
                            Err(e) => {
                                tracing::error!(error = %crate::report::chain(&e), "reading the event log failed");
                                return;
                            }
                        };
                        if batch.is_empty() {
                            break;
                        }
                        for (id, payload) in batch {
                            last = id;
                            let Ok(mut event) = Event::decode(payload.as_slice()) else {
                                continue;
                            };
                            event.id = id;
                            if tx.send(event).await.is_err() {
                                return;
                            }
                        }
                    }
                }
                loop {
                    match live.recv().await {
                        Ok(event) if event.id > last => {
                            last = event.id;
                            if tx.send(event).await.is_err() {
                                return;
                            }
                        }
                        Ok(_) => {}
                        Err(broadcast::error::RecvError::Lagged(_)) => {
                            // Catch up from the log, then continue live.
                            loop {
                                let Ok(batch) = store.events_after(last, 1000).await else {
                                    return;
                                };
                                if batch.is_empty() {
                                    break;
                                }
                                for (id, payload) in batch {
                                    last = id;
                                    if let Ok(mut event) = Event::decode(payload.as_slice()) {
                                        event.id = id;
                                        if tx.send(event).await.is_err() {
                                            return;
                                        }
                                    }
                                }
                            }
                        }
                        Err(broadcast::error::RecvError::Closed) => return,
                    }
                }
            }));
        rx
    }
}
