//! One client connection: the handle sessions and the hub send through, over a bounded
//! queue (`queue.rs`) drained by a writer task (`writer.rs`) on one half of the stream
//! (`transport.rs`), so that a peer that stops reading cannot stall anyone else. The read
//! half belongs to the session.

mod queue;
mod transport;
mod writer;

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use queue::Queue;
pub use queue::{CLAIM_QUEUED, CLAIM_TAKEN, CLAIM_WITHDRAWN, Outbound};
pub use transport::{ReadHalf, Transport, WriteHalf};
pub use writer::spawn_writer;

/// Unique id of a connection for the life of the process.
pub type ConnId = u64;

static NEXT_CONN_ID: AtomicU64 = AtomicU64::new(1);

/// Allocates a fresh connection id.
pub fn next_conn_id() -> ConnId {
    NEXT_CONN_ID.fetch_add(1, Ordering::Relaxed)
}

/// Why bytes could not be queued for a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The peer's queue is full: it is not reading. The connection is being closed.
    #[error("peer's outbound queue is full")]
    Full,
    /// The connection is closed.
    #[error("connection closed")]
    Closed,
}

/// A cheap, clonable handle to send to a connection and to close it.
#[derive(Debug, Clone)]
pub struct ConnHandle {
    inner: Arc<ConnShared>,
}

/// What a connection's handles and its writer task share.
#[derive(Debug)]
struct ConnShared {
    id: ConnId,
    ip: IpAddr,
    secure: bool,
    queue: Queue,
    closed: CancellationToken,
}

impl ConnHandle {
    /// The connection id.
    pub fn id(&self) -> ConnId {
        self.inner.id
    }

    /// The peer's IP address.
    pub fn ip(&self) -> IpAddr {
        self.inner.ip
    }

    /// Whether the connection is TLS.
    pub fn is_secure(&self) -> bool {
        self.inner.secure
    }

    /// Queues bytes without waiting. A full queue closes the connection: the peer is not
    /// reading, and it must not hold up the sender.
    pub fn try_send(
        &self,
        bytes: Bytes,
        ack: Option<oneshot::Sender<()>>,
    ) -> Result<(), SendError> {
        self.try_queue(Outbound {
            bytes,
            ack,
            claim: None,
        })
    }

    fn try_queue(&self, item: Outbound) -> Result<(), SendError> {
        match self.inner.queue.push(item) {
            Ok(()) => Ok(()),
            Err((SendError::Full, _)) => {
                tracing::info!(
                    conn = self.id(),
                    "outbound queue full, disconnecting slow peer"
                );
                self.close();
                Err(SendError::Full)
            }
            Err((e, _)) => Err(e),
        }
    }

    /// Queues bytes only while fewer than `max_queued` items wait, and never closes the
    /// connection: for notifications (hooks) that may be dropped but must not crowd out
    /// replies and messages. Returns whether the bytes were queued.
    pub fn offer(&self, bytes: Bytes, max_queued: usize) -> bool {
        let queue = &self.inner.queue;
        if queue.lock().len() >= max_queued.min(queue.capacity) {
            return false;
        }
        queue
            .push(Outbound {
                bytes,
                ack: None,
                claim: None,
            })
            .is_ok()
    }

    /// Most items the outbound queue holds.
    pub fn queue_capacity(&self) -> usize {
        self.inner.queue.capacity
    }

    /// Queues bytes, waiting for room (used for the connection's own replies).
    pub async fn send(
        &self,
        bytes: Bytes,
        ack: Option<oneshot::Sender<()>>,
    ) -> Result<(), SendError> {
        let mut item = Outbound {
            bytes,
            ack,
            claim: None,
        };
        loop {
            let room = self.inner.queue.space.notified();
            match self.inner.queue.push(item) {
                Ok(()) => return Ok(()),
                Err((SendError::Full, back)) => item = back,
                Err((e, _)) => return Err(e),
            }
            tokio::select! {
                () = room => {}
                () = self.inner.closed.cancelled() => return Err(SendError::Closed),
            }
        }
    }

    /// Queues bytes and waits until they were written to the socket (see [`Delivery`]).
    pub async fn deliver(&self, bytes: Bytes, timeout: Duration) -> Result<(), SendError> {
        self.queue_delivery(bytes, timeout)?.wait().await
    }

    /// Queues bytes whose writing the caller wants to learn of; `timeout` counts from now.
    pub fn queue_delivery(&self, bytes: Bytes, timeout: Duration) -> Result<Delivery, SendError> {
        let (tx, rx) = oneshot::channel();
        let claim = Arc::new(AtomicU8::new(CLAIM_QUEUED));
        self.try_queue(Outbound {
            bytes,
            ack: Some(tx),
            claim: Some(claim.clone()),
        })?;
        Ok(Delivery {
            written: rx,
            claim,
            deadline: tokio::time::Instant::now() + timeout,
        })
    }

    /// Tells the peer why with an ID-0 `ERR`, then closes (kick, ban).
    pub fn disconnect(&self, code: gochat_proto::wire::ErrorCode) {
        if let Ok(bytes) = gochat_proto::wire::Packet::error(code, 0).to_bytes() {
            self.send_last(bytes);
        }
        self.close();
    }

    /// Queues the connection's last packet (its final `ERR`): nothing queued afterwards is
    /// written. Returns whether it was queued (not after another last packet).
    pub fn send_last(&self, bytes: Bytes) -> bool {
        self.inner.queue.push_last(Outbound {
            bytes,
            ack: None,
            claim: None,
        })
    }

    /// Asks the connection to close (kick, shutdown, slow peer).
    pub fn close(&self) {
        self.inner.closed.cancel();
    }

    /// Resolves once the connection was asked to close.
    pub async fn closed(&self) {
        self.inner.closed.cancelled().await;
    }

    /// Whether the connection was asked to close.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.is_cancelled()
    }
}

/// Bytes queued with [`ConnHandle::queue_delivery`], not yet known to be written.
#[derive(Debug)]
pub struct Delivery {
    written: oneshot::Receiver<()>,
    claim: Arc<AtomicU8>,
    deadline: tokio::time::Instant,
}

impl Delivery {
    /// `Ok` once the bytes were written to the socket; an error means they never will be:
    /// at the deadline they are withdrawn from the queue, or, if the writer has already taken
    /// them, the outcome of that write is awaited (bounded by the write timeout). So a caller
    /// that falls back to storing a message on error never has it delivered twice.
    pub async fn wait(mut self) -> Result<(), SendError> {
        match tokio::time::timeout_at(self.deadline, &mut self.written).await {
            Ok(result) => result.map_err(|_| SendError::Closed),
            Err(_) => {
                let withdrawn = self
                    .claim
                    .compare_exchange(
                        CLAIM_QUEUED,
                        CLAIM_WITHDRAWN,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    )
                    .is_ok();
                if withdrawn {
                    Err(SendError::Closed)
                } else {
                    self.written.await.map_err(|_| SendError::Closed)
                }
            }
        }
    }
}
