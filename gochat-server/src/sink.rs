//! Group commit for offline messages: MSG handlers hand messages to one writer task, which
//! stores whatever has accumulated in a single transaction and then acknowledges each.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::store::{NewMessage, Store};

/// Most messages per transaction.
const MAX_BATCH: usize = 1000;

/// Handle for storing messages durably.
#[derive(Debug, Clone)]
pub struct MessageSink {
    tx: mpsc::Sender<(NewMessage, oneshot::Sender<bool>)>,
}

impl MessageSink {
    /// Starts the writer task over `store`.
    pub fn spawn(store: Arc<dyn Store>) -> (MessageSink, tokio::task::JoinHandle<()>) {
        let (tx, mut rx) = mpsc::channel::<(NewMessage, oneshot::Sender<bool>)>(8 * MAX_BATCH);
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
                let ok = match store.store_messages(&batch).await {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::error!(error = %e, count = batch.len(), "storing messages failed");
                        false
                    }
                };
                batch.clear();
                for ack in waiters.drain(..) {
                    let _ = ack.send(ok);
                }
            }
        });
        (MessageSink { tx }, task)
    }

    /// Hands one message to the writer; the receiver tells once it is committed (`true`)
    /// or failed (`false`; a dropped sender means failed too). Messages are stored in the
    /// order they are submitted.
    pub async fn submit(&self, message: NewMessage) -> oneshot::Receiver<bool> {
        let (tx, rx) = oneshot::channel();
        // If the writer is gone, `tx` is dropped with the message and `rx` reports failure.
        let _ = self.tx.send((message, tx)).await;
        rx
    }
}
