//! MSG (online delivery or durable storage) and RECIV (catch-up).

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use gochat_proto::wire::{ErrorCode, Response, decode_stamp, encode_stamp};

use super::{Deferred, Session};
use crate::hub::OnlineUser;
use crate::store::NewMessage;

/// How long an online delivery may take before the message is stored instead.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);
/// Stored messages fetched per round of catch-up.
const CATCH_UP_BATCH: u32 = 10_000;

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
        // Every stamp is checked, so recipients never get one they cannot read.
        let Ok(unix) = decode_stamp(&stamp) else {
            return self.err(id, ErrorCode::Args).await;
        };
        let recipient_id = match self.shared.hub.online(&to) {
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
            None => match self.shared.hub.recipient_id(&to) {
                Some(cached) => cached,
                None => match self.shared.store.user(&to).await {
                    Ok(Some(r)) if r.public_key.is_none() => {
                        return self.err(id, ErrorCode::Dereg).await;
                    }
                    Ok(Some(r)) => {
                        self.shared.hub.remember_recipient(to.clone(), r.id);
                        r.id
                    }
                    Ok(None) => return self.err(id, ErrorCode::NotFound).await,
                    Err(e) => {
                        tracing::error!(error = %e, "recipient lookup failed");
                        return self.err(id, ErrorCode::Server).await;
                    }
                },
            },
        };
        // Answered once committed; meanwhile the session reads on, so consecutive messages
        // share one transaction.
        let committed = self
            .shared
            .sink
            .submit(NewMessage {
                sender_id: sender.user_id,
                recipient_id,
                stamp: unix,
                ciphertext: ciphertext.to_vec(),
            })
            .await;
        self.defer(Deferred::Commit(id, committed));
    }

    /// Sends OK, then every stored message oldest first, deleting exactly the rows that were
    /// written to the socket.
    pub(super) async fn catch_up(&self, id: u16, user: &Arc<OnlineUser>) {
        let store = &self.shared.store;
        let mut first = true;
        loop {
            let batch = match store.pending_messages(user.user_id, CATCH_UP_BATCH).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(error = %e, "fetching stored messages failed");
                    if first {
                        self.err(id, ErrorCode::Server).await;
                    }
                    return;
                }
            };
            if batch.is_empty() {
                if first {
                    self.err(id, ErrorCode::Empty).await;
                }
                return;
            }
            if first {
                self.ok(id).await;
                first = false;
            }
            let mut out = BytesMut::new();
            let mut ids = Vec::with_capacity(batch.len());
            for message in batch {
                let reciv = Response::Reciv {
                    from: message.sender.into(),
                    stamp: encode_stamp(message.stamp).into(),
                    ciphertext: message.ciphertext.into(),
                };
                if let Err(e) = reciv.to_packet(0).encode(&mut out) {
                    tracing::error!(error = %e, id = message.id, "stored message cannot be framed");
                }
                ids.push(message.id);
            }
            let (tx, rx) = tokio::sync::oneshot::channel();
            if self.conn.send(out.freeze(), Some(tx)).await.is_err() || rx.await.is_err() {
                // Not written: the rows stay for the next catch-up.
                return;
            }
            if let Err(e) = store.delete_messages(&ids).await {
                tracing::error!(error = %e, "deleting delivered messages failed");
                return;
            }
            self.shared
                .metrics
                .messages_caught_up
                .fetch_add(ids.len() as u64, std::sync::atomic::Ordering::Relaxed);
        }
    }
}
