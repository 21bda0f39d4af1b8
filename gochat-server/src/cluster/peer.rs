//! What this node does for the others: applies their events to its own sessions, writes
//! messages forwarded to its users (deleting the stored row by id once written), answers
//! "is this user online here?" and passes on duplicate-login attempts.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use gochat_proto::wire::{ErrorCode, Hook, Response};
use tokio::sync::mpsc;

use super::Forward;
use super::nats::Shared;
use super::wire::{DupAttempt, Event, decode_event, decode_forward};
use crate::hub::{ForwardClaim, OnlineUser};
use crate::metrics::Metrics;

/// How long a forwarded message may take to reach the recipient's socket.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);

/// Subscribes to this node's subjects and the cluster's events (the client subscribes again
/// by itself after a reconnect).
pub(super) async fn subscribe(shared: &Arc<Shared>) {
    let subscriptions = [
        (shared.subject("events"), Kind::Events),
        (shared.node_subject(&shared.node_id, "rows"), Kind::Deliver),
        (shared.node_subject(&shared.node_id, "has"), Kind::Has),
        (
            shared.node_subject(&shared.node_id, "dupsess"),
            Kind::DupSess,
        ),
    ];
    let (delivered, to_delete) = mpsc::unbounded_channel();
    // Tracked: a node that stops deletes what it wrote before it goes (or the rows would be
    // delivered again by the next catch-up).
    shared
        .tasks
        .spawn(delete_delivered(shared.clone(), to_delete));
    for (subject, kind) in subscriptions {
        match shared.client.subscribe(subject.clone()).await {
            Ok(sub) if matches!(kind, Kind::Deliver) => {
                shared
                    .tasks
                    .spawn(serve_deliveries(shared.clone(), sub, delivered.clone()));
            }
            Ok(sub) => {
                shared.tasks.spawn(serve(shared.clone(), sub, kind));
            }
            Err(e) => {
                tracing::error!(subject, error = %crate::error_chain::Chain(&e), "cannot subscribe");
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Events,
    Deliver,
    Has,
    DupSess,
}

type Delivered = mpsc::UnboundedSender<(i64, i64)>;

async fn serve(shared: Arc<Shared>, mut sub: async_nats::Subscriber, kind: Kind) {
    loop {
        let message = tokio::select! {
            m = sub.next() => m,
            () = shared.stop.cancelled() => return,
        };
        let Some(message) = message else { return };
        match kind {
            Kind::Events => apply_event(&shared, &message.payload),
            // Served by `serve_deliveries`.
            Kind::Deliver => {}
            Kind::Has => {
                let here = shared.hub.online(&message.payload).is_some();
                if let Some(reply) = message.reply {
                    let answer = Bytes::from_static(if here { b"1" } else { b"0" });
                    let _ = shared.client.publish(reply, answer).await;
                }
            }
            Kind::DupSess => {
                if let Ok(attempt) = serde_json::from_slice::<DupAttempt>(&message.payload)
                    && let Some(online) = shared.hub.online(&attempt.name)
                {
                    shared.hub.notify_duplicate_session(&online, &attempt.ip);
                }
            }
        }
    }
}

fn apply_event(shared: &Shared, payload: &[u8]) {
    let Some(envelope) = decode_event(payload) else {
        tracing::debug!("malformed cluster event ignored");
        return;
    };
    if envelope.from == shared.node_id {
        return;
    }
    let hub = &shared.hub;
    match envelope.event {
        Event::Hook { hook, packet } => {
            if let Some(hook) = Hook::from_code(hook) {
                hub.notify_here(hook, &Bytes::from(packet));
            }
        }
        Event::Permission { name, level } => {
            hub.permission_changed_here(&name, super::permission(level));
        }
        Event::Deregistered { name } => {
            if let Some(online) = hub.user_deregistered_here(&name) {
                hub.evict(&online, ErrorCode::Discn);
            }
        }
        Event::TokenRevoked { name } => hub.revoke_token_here(&name),
        Event::Motd { text } => hub.set_motd_here(Bytes::from(text)),
        Event::Kick { name } => {
            hub.revoke_token_here(&name);
            if let Some(online) = hub.online(&name) {
                tracing::info!(user = %String::from_utf8_lossy(&name), "kicked from another node");
                hub.evict(&online, ErrorCode::Discn);
            }
        }
        Event::Broadcast { from, stamp, text } => {
            crate::broadcast::broadcast_here(hub, &from.into(), &stamp.into(), &text, None);
        }
        Event::Shutdown { at, stamp } => {
            let (_, raw) = shared.shutdown.schedule(at, stamp.into());
            crate::broadcast::announce_shutdown_here(hub, raw);
        }
    }
}

/// Forwarded messages, written in arrival order by [`deliver`]. A row that may have
/// reached this user already (see [`ForwardClaim::Doubtful`]) is first looked up by id;
/// the others go straight to the socket.
async fn serve_deliveries(
    shared: Arc<Shared>,
    mut sub: async_nats::Subscriber,
    delivered: Delivered,
) {
    loop {
        let message = tokio::select! {
            m = sub.next() => m,
            () = shared.stop.cancelled() => return,
        };
        let Some(message) = message else { return };
        let Some((forward, row)) = decode_forward(&message.payload) else {
            tracing::debug!("malformed forwarded message ignored; it stays stored");
            continue;
        };
        let Some(online) = shared.hub.online(&forward.to) else {
            continue;
        };
        if online.user_id != forward.message.recipient_id || online.conn.is_closed() {
            continue;
        }
        match online.claim_forwarded(row) {
            // A catch-up wrote it already (and deletes it).
            ForwardClaim::Written => continue,
            ForwardClaim::Fresh => {}
            ForwardClaim::Doubtful => {
                Metrics::inc(&shared.metrics.cluster_forward_checks);
                match shared.store.message_exists(online.user_id, row).await {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(e) => {
                        tracing::warn!(error = %crate::error_chain::Chain(&e), "forwarded message not checked; it stays stored");
                        online.unclaim_row(row);
                        continue;
                    }
                }
            }
        }
        deliver(&shared, &online, forward, row, &delivered);
    }
}

/// Writes a forwarded message (row `row`, claimed) to its recipient's session; the row is
/// deleted once the `RECIV` is in the socket. Otherwise the claim is given back and the row
/// stays, for catch-up.
fn deliver(
    shared: &Shared,
    online: &Arc<OnlineUser>,
    forward: Forward,
    row: i64,
    delivered: &Delivered,
) {
    let reciv = Response::Reciv {
        from: forward.from,
        stamp: forward.raw_stamp,
        ciphertext: Bytes::from(forward.message.ciphertext),
    };
    let queued = reciv
        .to_packet(0)
        .to_bytes()
        .ok()
        .and_then(|bytes| online.conn.queue_delivery(bytes, DELIVERY_TIMEOUT).ok());
    let Some(delivery) = queued else {
        online.unclaim_row(row);
        return;
    };
    let delivered = delivered.clone();
    let recipient = online.user_id;
    let metrics = shared.metrics.clone();
    let online = online.clone();
    shared.tasks.spawn(async move {
        if delivery.wait().await.is_ok() {
            Metrics::inc(&metrics.messages_delivered);
            let _ = delivered.send((recipient, row));
        } else {
            // Not in the socket: it stays stored, for this session's next catch-up too.
            online.unclaim_row(row);
        }
    });
}

/// Deletes the stored copies of messages written live, a batch per recipient for whatever
/// has accumulated.
async fn delete_delivered(shared: Arc<Shared>, mut rows: mpsc::UnboundedReceiver<(i64, i64)>) {
    while let Some((recipient, row)) = rows.recv().await {
        let mut batch: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        batch.entry(recipient).or_default().push(row);
        while let Ok((recipient, row)) = rows.try_recv() {
            batch.entry(recipient).or_default().push(row);
        }
        for (recipient, ids) in batch {
            if let Err(e) = shared.store.delete_messages(recipient, &ids).await {
                tracing::error!(error = %crate::error_chain::Chain(&e), count = ids.len(), "deleting messages delivered live failed; they will be delivered again by catch-up");
            }
        }
    }
}
