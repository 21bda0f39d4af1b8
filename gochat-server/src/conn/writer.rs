//! The writer task of one connection: drains the queue in batched writes, acknowledges
//! what reached the socket, and stops on close, a failed write or a write timeout.

use std::io;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::AsyncWriteExt;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::queue::{CLAIM_QUEUED, CLAIM_TAKEN, Outbound, Queue};
use super::transport::WriteHalf;
use super::{ConnHandle, ConnShared, next_conn_id};

/// Most bytes the writer gathers into one write.
const MAX_BATCH: usize = 64 * 1024;

/// Creates the handle and spawns the writer task for a connection. The writer stops when
/// every handle is dropped, the connection is closed, or a write fails or times out.
pub fn spawn_writer(
    write: WriteHalf,
    ip: IpAddr,
    secure: bool,
    queue: usize,
    write_timeout: Duration,
) -> (ConnHandle, tokio::task::JoinHandle<()>) {
    let shared = Arc::new(ConnShared {
        id: next_conn_id(),
        ip,
        secure,
        queue: Queue::new(queue),
        closed: CancellationToken::new(),
    });
    let handle = ConnHandle {
        inner: shared.clone(),
    };
    let task = tokio::spawn(Box::pin(run_writer(shared, write, write_timeout)));
    (handle, task)
}

/// The writer task: gathers everything queued into one write, acknowledges what was written,
/// and stops on close (after flushing what is queued), on a write error, or on a timeout.
async fn run_writer(shared: Arc<ConnShared>, mut write: WriteHalf, write_timeout: Duration) {
    let secure = shared.secure;
    let mut closing = false;
    'outer: loop {
        let mut pending = shared.queue.take_all();
        if pending.is_empty() {
            if closing {
                break;
            }
            tokio::select! {
                biased;
                () = shared.queue.writer.notified() => {}
                () = shared.closed.cancelled() => closing = true,
            }
            continue;
        }
        while !pending.is_empty() {
            let mut acks = Vec::new();
            let mut buf = BytesMut::new();
            let mut single = None;
            while let Some(item) = pending.pop_front() {
                gather(item, &mut single, &mut buf, &mut acks);
                if buf.len() + single.as_ref().map_or(0, Bytes::len) >= MAX_BATCH {
                    break;
                }
            }
            let data = match single.take() {
                Some(b) if buf.is_empty() => b,
                Some(b) => {
                    let mut joined = BytesMut::with_capacity(b.len() + buf.len());
                    joined.extend_from_slice(&b);
                    joined.extend_from_slice(&buf);
                    joined.freeze()
                }
                None => buf.freeze(),
            };
            if data.is_empty() {
                continue;
            }
            let mut written = 0;
            let write_all = async {
                while written < data.len() {
                    match write.write(&data[written..]).await? {
                        0 => return Err(io::ErrorKind::WriteZero.into()),
                        n => written += n,
                    }
                }
                write.flush().await
            };
            match Box::pin(tokio::time::timeout(write_timeout, write_all)).await {
                Ok(Ok(())) => {
                    for (_, ack) in acks.drain(..) {
                        let _ = ack.send(());
                    }
                }
                Ok(Err(e)) => {
                    tracing::debug!(error = %crate::error_chain::Chain(&e), "write failed");
                    ack_written(&mut acks, written, secure);
                    break 'outer;
                }
                Err(_) => {
                    tracing::info!("write timed out, disconnecting slow peer");
                    ack_written(&mut acks, written, secure);
                    break 'outer;
                }
            }
        }
    }
    shared.queue.stopped.store(true, Ordering::Release);
    shared.closed.cancel();
    // Whatever is still queued is never written: dropping it fails its acknowledgements.
    drop(shared.queue.take_all());
    let _ = Box::pin(tokio::time::timeout(
        Duration::from_secs(1),
        write.shutdown(),
    ))
    .await;
}

/// After a failed write, acknowledges the packets that went out whole: on plain TCP, bytes
/// the socket accepted are in the kernel and still reach a peer that reads on. Over TLS they
/// may still sit in the TLS buffer, so nothing is acknowledged (a message is then stored and
/// may arrive twice, rather than be lost).
fn ack_written(acks: &mut Vec<(usize, oneshot::Sender<()>)>, written: usize, secure: bool) {
    for (end, ack) in acks.drain(..) {
        if !secure && end <= written {
            let _ = ack.send(());
        }
    }
}

/// Adds an item to the batch; `acks` records where in the batch each acknowledged item ends.
fn gather(
    item: Outbound,
    single: &mut Option<Bytes>,
    buf: &mut BytesMut,
    acks: &mut Vec<(usize, oneshot::Sender<()>)>,
) {
    if let Some(claim) = &item.claim
        && claim
            .compare_exchange(
                CLAIM_QUEUED,
                CLAIM_TAKEN,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_err()
    {
        // Withdrawn: its sender gave up waiting and stores the message instead.
        return;
    }
    if single.is_none() && buf.is_empty() {
        *single = Some(item.bytes);
    } else {
        if let Some(first) = single.take() {
            buf.extend_from_slice(&first);
        }
        buf.extend_from_slice(&item.bytes);
    }
    if let Some(ack) = item.ack {
        let end = single.as_ref().map_or(0, Bytes::len) + buf.len();
        acks.push((end, ack));
    }
}
