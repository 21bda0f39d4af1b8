//! Group commit for offline messages: MSG handlers hand messages to one writer task, which
//! stores whatever has accumulated in a single transaction and then tells each sender what
//! became of its own message (a full mailbox refuses only the messages that do not fit).

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::store::{NewMessage, Quota, Store, StoreOutcome};

/// Most messages per transaction.
const MAX_BATCH: usize = 1000;

/// What became of one stored message: its outcome and, if stored, its row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Commit {
    /// Stored or why not.
    pub outcome: StoreOutcome,
    /// The stored row's id (`Some` exactly when stored).
    pub row: Option<i64>,
}

/// What the writer reports for one message: its [`Commit`], or `None` if the transaction
/// failed.
pub type Committed = oneshot::Receiver<Option<Commit>>;

type Job = (NewMessage, oneshot::Sender<Option<Commit>>);

/// Handle for storing messages durably.
#[derive(Debug, Clone)]
pub struct MessageSink {
    tx: mpsc::Sender<Job>,
}

impl MessageSink {
    /// Starts the writer task over `store`, keeping every mailbox within `quota`.
    pub fn spawn(
        store: Arc<dyn Store>,
        quota: Quota,
    ) -> (MessageSink, tokio::task::JoinHandle<()>) {
        let (tx, mut rx) = mpsc::channel::<Job>(8 * MAX_BATCH);
        let task = tokio::spawn(async move {
            let mut batch = Vec::with_capacity(MAX_BATCH);
            let mut waiters = Vec::with_capacity(MAX_BATCH);
            while let Some((msg, ack)) = rx.recv().await {
                batch.push(msg);
                waiters.push(ack);
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok((msg, ack)) => {
                            batch.push(msg);
                            waiters.push(ack);
                        }
                        Err(_) => break,
                    }
                }
                let outcomes = match store.store_messages_with_ids(&batch, quota).await {
                    Ok((outcomes, ids)) => {
                        log_refusals(&batch, &outcomes);
                        commits(outcomes, ids)
                    }
                    Err(e) => {
                        tracing::error!(error = %crate::error_chain::Chain(&e), count = batch.len(), "storing messages failed");
                        vec![None; batch.len()]
                    }
                };
                batch.clear();
                for (ack, outcome) in waiters.drain(..).zip(outcomes) {
                    let _ = ack.send(outcome);
                }
            }
        });
        (MessageSink { tx }, task)
    }

    /// Hands one message to the writer; the receiver tells once it is committed or refused
    /// (`None`: failed; a dropped sender means failed too). Messages are stored in the order
    /// they are submitted.
    pub async fn submit(&self, message: NewMessage) -> Committed {
        let (tx, rx) = oneshot::channel();
        // If the writer is gone, `tx` is dropped with the message and `rx` reports failure.
        let _ = self.tx.send((message, tx)).await;
        rx
    }
}

/// Pairs each stored outcome with the next row id, in order.
fn commits(outcomes: Vec<StoreOutcome>, ids: Vec<i64>) -> Vec<Option<Commit>> {
    let mut ids = ids.into_iter();
    outcomes
        .into_iter()
        .map(|outcome| {
            let row = if outcome == StoreOutcome::Stored {
                ids.next()
            } else {
                None
            };
            Some(Commit { outcome, row })
        })
        .collect()
}

/// One log line per recipient whose mailbox refused messages in this transaction.
fn log_refusals(batch: &[NewMessage], outcomes: &[StoreOutcome]) {
    let mut full: BTreeMap<i64, usize> = BTreeMap::new();
    for (m, o) in batch.iter().zip(outcomes) {
        if *o == StoreOutcome::MailboxFull {
            *full.entry(m.recipient_id).or_default() += 1;
        }
    }
    for (recipient_id, refused) in full {
        tracing::info!(recipient_id, refused, "mailbox full, messages refused");
    }
}
