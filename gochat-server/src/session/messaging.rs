//! MSG (online delivery or durable storage) and RECIV (catch-up).

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use gochat_proto::wire::{ErrorCode, Response, decode_stamp, encode_stamp};

use super::{Deferred, Session};
use crate::cluster::Forward;
use crate::hub::OnlineUser;
use crate::metrics::Metrics;
use crate::store::{NewMessage, Recipient, StoredMessage};

/// How long an online delivery may take before the message is stored instead.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);
/// Most stored messages read per catch-up batch (the byte cap, `catch_up_batch_bytes`,
/// usually ends a batch first; this bounds batches of tiny messages).
const CATCH_UP_ROWS: u32 = 2048;
/// Size assumed for a stored message before any has been read (one RSA-4096 block and a
/// name).
const TYPICAL_RECIV: usize = 520;

/// Rows to ask for so that messages of `average` bytes fill `max_bytes` (plus a margin).
fn rows_for(max_bytes: usize, average: usize) -> u32 {
    let rows = max_bytes / average.max(1) + 8;
    u32::try_from(rows)
        .unwrap_or(u32::MAX)
        .clamp(16, CATCH_UP_ROWS)
}

/// Delivered catch-up batches that may wait for their deletion (bounds what a crash of the
/// server could deliver twice, and the ids held). With 2, the writer waited for MariaDB's
/// delete commits and a 10,000-message catch-up took three times as long; at 16 (4 MiB of
/// `RECIV`s at the default batch size) the deletes no longer hold the writer back
/// (docs/PERFORMANCE.md, "loadgen before/after").
const DELETE_BACKLOG: usize = 16;

impl Session {
    pub(super) async fn message(
        &self,
        id: u16,
        sender: &Arc<OnlineUser>,
        to: Bytes,
        stamp: Bytes,
        ciphertext: Bytes,
    ) {
        if to == sender.name {
            return self.err(id, ErrorCode::Invalid).await;
        }
        self.throttle(sender).await;
        // Every stamp is checked, so recipients never get one they cannot read.
        let Ok(unix) = decode_stamp(&stamp) else {
            return self.err(id, ErrorCode::Args).await;
        };
        let forward_to = to.clone();
        let recipient_id = match self.deps.hub.online(&to) {
            Some(recipient) => {
                let reciv = Response::Reciv {
                    from: sender.name.clone(),
                    stamp: stamp.clone(),
                    ciphertext: ciphertext.clone(),
                };
                let message = NewMessage {
                    sender_id: sender.user_id,
                    recipient_id: recipient.user_id,
                    stamp: unix,
                    ciphertext: ciphertext.to_vec(),
                };
                // Answered once the RECIV is in the recipient's socket; meanwhile the session
                // reads on, so a burst of messages leaves in few writes on both sides.
                if let Ok(bytes) = reciv.to_packet(0).to_bytes()
                    && let Ok(delivery) = recipient.conn.queue_delivery(bytes, DELIVERY_TIMEOUT)
                {
                    return self.defer(Deferred::Delivery(id, delivery, Box::new(message)));
                }
                // Not in the recipient's socket: keep it for catch-up.
                recipient.user_id
            }
            None => match self.deps.store.recipient(&to).await {
                Ok(Recipient::Registered(recipient_id)) => recipient_id,
                Ok(Recipient::Deregistered) => return self.err(id, ErrorCode::Dereg).await,
                Ok(Recipient::Unknown) => return self.err(id, ErrorCode::NotFound).await,
                Err(e) => {
                    tracing::error!(error = %crate::error_chain::Chain(&e), "recipient lookup failed");
                    return self.err(id, ErrorCode::Server).await;
                }
            },
        };
        // Answered once committed; meanwhile the session reads on, so consecutive messages
        // share one transaction.
        let message = NewMessage {
            sender_id: sender.user_id,
            recipient_id,
            stamp: unix,
            ciphertext: ciphertext.to_vec(),
        };
        let copy = self
            .deps
            .cluster
            .online_elsewhere(&forward_to)
            .then(|| message.clone());
        let mut committed = self.deps.sink.submit(message).await;
        if let Some(message) = copy {
            // Online on another node: stored first, then written there (which deletes the
            // stored copy).
            let forward = Forward {
                to: forward_to,
                from: sender.name.clone(),
                raw_stamp: stamp,
                message,
            };
            committed = self.deps.cluster.forward(forward, committed);
        }
        self.defer(Deferred::Commit(id, committed));
    }

    /// The per-sender rate limit: waits until this MSG is within the limit. Replies already
    /// held back are sent first, so the sender is not left waiting for them meanwhile.
    async fn throttle(&self, sender: &OnlineUser) {
        let take = self
            .msg_rate
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take(tokio::time::Instant::now());
        if take.wait.is_zero() {
            return;
        }
        Metrics::inc(&self.deps.metrics.msg_throttled);
        if take.started {
            tracing::info!(
                conn = self.conn.id(),
                user = %String::from_utf8_lossy(&sender.name),
                rate = self.deps.config.msg_rate,
                burst = self.deps.config.msg_burst,
                "MSG rate limit reached, slowing the sender down"
            );
        }
        self.flush_deferred().await;
        tokio::select! {
            () = tokio::time::sleep(take.wait) => {}
            () = self.conn.closed() => {}
        }
    }

    /// Sends OK, then every stored message oldest first, in batches of about
    /// `catch_up_batch_bytes`. The rows of a batch are deleted once their `RECIV`s are in the
    /// socket (each packet is acknowledged on its own, so a batch cut short by a write
    /// timeout or a drop deletes exactly the packets that went out whole). Reading the next
    /// batch overlaps writing this one, and deleting runs beside both, merging whatever
    /// batches have been delivered into one transaction, at most [`DELETE_BACKLOG`] batches
    /// behind. A slow reader makes steady progress, a dropped one resumes after the last
    /// packet it was sent, and memory stays at a few batches.
    pub(super) async fn catch_up(&self, id: u16, user: &Arc<OnlineUser>) {
        let store = &self.deps.store;
        let max_bytes = self.deps.config.catch_up_batch_bytes;
        let fetch =
            |after: i64, rows: u32| store.pending_batch(user.user_id, after, rows, max_bytes);
        let mut batch = match fetch(0, rows_for(max_bytes, TYPICAL_RECIV)).await {
            Ok(b) if b.is_empty() => return self.err(id, ErrorCode::Empty).await,
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %crate::error_chain::Chain(&e), "fetching stored messages failed");
                return self.err(id, ErrorCode::Server).await;
            }
        };
        self.ok(id).await;
        let delete_failed = &std::sync::atomic::AtomicBool::new(false);
        let (delivered, mut to_delete) = tokio::sync::mpsc::channel::<Vec<i64>>(DELETE_BACKLOG);
        let produce = async move {
            loop {
                let after = batch.last().map_or(0, |m| m.id);
                let count = batch.len();
                // Ask for about as many rows as the byte cap will take, judging by this batch:
                // rows past the cap would be read (and, on MariaDB, sent) for nothing.
                let bytes: usize = batch.iter().map(StoredMessage::wire_size).sum();
                let rows = rows_for(max_bytes, bytes / count.max(1));
                let ((written, handled), next) =
                    tokio::join!(self.write_batch(user, batch), fetch(after, rows));
                Metrics::inc(&self.deps.metrics.catch_up_batches);
                let complete = handled == count;
                // Waits while the deleter is DELETE_BACKLOG batches behind.
                if delivered.send(written).await.is_err()
                    || delete_failed.load(std::sync::atomic::Ordering::Relaxed)
                {
                    return;
                }
                match next {
                    Ok(b) if complete && !b.is_empty() => batch = b,
                    Ok(_) => return,
                    Err(e) => {
                        tracing::error!(error = %crate::error_chain::Chain(&e), "fetching stored messages failed");
                        return;
                    }
                }
            }
        };
        let delete = async {
            while let Some(mut ids) = to_delete.recv().await {
                while let Ok(more) = to_delete.try_recv() {
                    ids.extend(more);
                }
                if !self.delete_delivered(user.user_id, &ids).await {
                    delete_failed.store(true, std::sync::atomic::Ordering::Relaxed);
                    return;
                }
            }
        };
        tokio::join!(produce, delete);
    }

    /// Queues a batch of `RECIV`s. Returns the ids to delete, those written to the socket
    /// whole, in order, and how many rows of the batch were handled (all of them unless the
    /// connection failed meanwhile). A row that cannot be framed is handled and deleted (it
    /// could never be delivered; keeping it would stop every later catch-up at it). A row
    /// that a forwarded delivery claimed first (cluster) is handled but not deleted here: the
    /// forward deletes it once written, or gives it back for the next catch-up if the write
    /// fails.
    async fn write_batch(&self, user: &OnlineUser, batch: Vec<StoredMessage>) -> (Vec<i64>, usize) {
        let mut sent = Vec::with_capacity(batch.len());
        // In a cluster, a row may be written as a forwarded message meanwhile: once only.
        let clustered = self.deps.cluster.degraded().is_some();
        for message in batch {
            if clustered && !user.claim_row(message.id) {
                sent.push((message.id, None, false));
                continue;
            }
            let reciv = Response::Reciv {
                from: message.sender.into(),
                stamp: encode_stamp(message.stamp).into(),
                ciphertext: message.ciphertext.into(),
            };
            let mut out = BytesMut::new();
            if let Err(e) = reciv.to_packet(0).encode(&mut out) {
                tracing::error!(error = %crate::error_chain::Chain(&e), id = message.id, "stored message cannot be framed");
                sent.push((message.id, None, true));
                continue;
            }
            let (tx, rx) = tokio::sync::oneshot::channel();
            if self.conn.send(out.freeze(), Some(tx)).await.is_err() {
                break;
            }
            sent.push((message.id, Some(rx), true));
        }
        let mut written = Vec::with_capacity(sent.len());
        let mut handled = 0;
        for (id, rx, delete) in sent {
            if let Some(rx) = rx
                && rx.await.is_err()
            {
                break;
            }
            handled += 1;
            if delete {
                written.push(id);
            }
        }
        (written, handled)
    }

    /// Deletes rows whose `RECIV`s are in the socket; `false` if that failed.
    async fn delete_delivered(&self, recipient_id: i64, ids: &[i64]) -> bool {
        if ids.is_empty() {
            return true;
        }
        if let Err(e) = self.deps.store.delete_messages(recipient_id, ids).await {
            tracing::error!(error = %crate::error_chain::Chain(&e), "deleting delivered messages failed");
            return false;
        }
        self.deps
            .metrics
            .messages_caught_up
            .fetch_add(ids.len() as u64, std::sync::atomic::Ordering::Relaxed);
        true
    }
}
