//! One protocol connection, client side: a reader task that routes replies to their waiting
//! requests by packet ID and hands unsolicited packets (ID 0) to the link, and a writer task.
//!
//! Request IDs run through 1..=1022 and an ID is never reused while a request with it still
//! waits for its reply: a call first takes one of 1022 slots (waiting, within its timeout, when
//! all are taken), then the next free ID.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use gochat_proto::wire::{CodecError, GochatCodec, Packet, Request, Response};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use tokio_util::codec::{FramedRead, FramedWrite};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Why a request got no reply.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    /// The connection is gone.
    #[error("connection to the server was lost")]
    Disconnected,
    /// No reply in time.
    #[error("the server did not answer within {0:?}")]
    Timeout(Duration),
    /// The reply could not be understood.
    #[error("unexpected reply from the server: {0}")]
    BadReply(String),
    /// Every request ID stayed in use (waiting for a reply) for the whole timeout.
    #[error(
        "{MAX_CLIENT_ID} requests are waiting for the server; no request ID came free within {0:?}"
    )]
    NoFreeId(Duration),
}

/// A waiting request: the call that registered it (its generation) and where its reply goes.
type Waiter = (u64, oneshot::Sender<Packet>);
type Pending = Arc<Mutex<HashMap<u16, Waiter>>>;

/// Largest ID the Go client uses; we use the same range (1..=1022).
const MAX_CLIENT_ID: u16 = 1022;

/// A connected client, owned by its link actor alone. Dropping it (or cancelling the token
/// given to [`Client::start`]) closes the connection.
#[derive(Debug)]
pub struct Client {
    out: mpsc::Sender<Packet>,
    pending: Pending,
    /// One permit per usable ID: holding one guarantees a free ID.
    slots: Arc<Semaphore>,
    next_id: Mutex<u16>,
    generation: AtomicU64,
    timeout: Duration,
}

/// What the reader hands to the link: packets the server sent on its own, then `None`
/// once the connection ended (with the reason).
pub type Unsolicited = mpsc::Receiver<Result<Packet, String>>;

impl Client {
    /// Starts the reader and writer tasks over `stream`, on `tasks`; both end when the
    /// connection ends, the client is dropped, or `token` is cancelled.
    pub fn start<S>(
        stream: S,
        timeout: Duration,
        tasks: &TaskTracker,
        token: CancellationToken,
    ) -> (Client, Unsolicited)
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (read, write) = tokio::io::split(stream);
        let mut reader = FramedRead::new(read, GochatCodec::client());
        let mut writer = FramedWrite::new(write, GochatCodec::client());
        let (out_tx, mut out_rx) = mpsc::channel::<Packet>(256);
        let (unsolicited_tx, unsolicited_rx) = mpsc::channel(1024);
        let pending: Pending = Arc::default();
        let slots = Arc::new(Semaphore::new(usize::from(MAX_CLIENT_ID)));
        let reader_slots = slots.clone();
        let writer_token = token.clone();
        tasks.spawn(async move {
            while let Some(packet) = writer_token
                .run_until_cancelled(out_rx.recv())
                .await
                .flatten()
            {
                if let Err(e) = writer.send(packet).await {
                    tracing::debug!(error = %e, "write to server failed");
                    break;
                }
            }
        });
        let routes = pending.clone();
        tasks.spawn(async move {
            let reason = loop {
                let Some(next) = token.run_until_cancelled(reader.next()).await else {
                    break "link stopped".to_owned();
                };
                match next {
                    Some(Ok(packet)) => {
                        if packet.id != 0 {
                            let waiter = routes
                                .lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner)
                                .remove(&packet.id);
                            match waiter {
                                Some((_, w)) => {
                                    let _ = w.send(packet);
                                }
                                None => {
                                    tracing::debug!(id = packet.id, action = %packet.action, "reply nobody waits for")
                                }
                            }
                        } else if unsolicited_tx.send(Ok(packet)).await.is_err() {
                            break "link gone".to_owned();
                        }
                    }
                    Some(Err(CodecError::Io(e))) => break format!("read failed: {e}"),
                    Some(Err(e)) => break format!("server sent a malformed packet: {e}"),
                    None => break "server closed the connection".to_owned(),
                }
            };
            // Waking every waiter with a closed channel makes them fail at once, and so do
            // later calls.
            reader_slots.close();
            routes
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clear();
            let _ = unsolicited_tx.send(Err(reason)).await;
        });
        let first_id = (rand::random::<u16>() % MAX_CLIENT_ID) + 1;
        (
            Client {
                out: out_tx,
                pending,
                slots,
                next_id: Mutex::new(first_id),
                generation: AtomicU64::new(0),
                timeout,
            },
            unsolicited_rx,
        )
    }

    /// Takes the next ID that no waiting request holds and registers `reply` under it. The
    /// caller holds a slot permit, so at most 1021 other requests wait and one ID is free.
    fn register(&self, permit: OwnedSemaphorePermit, reply: oneshot::Sender<Packet>) -> Slot {
        let generation = self.generation.fetch_add(1, Ordering::Relaxed);
        let mut pending = lock(&self.pending);
        let mut next = lock(&self.next_id);
        let mut id = *next;
        while pending.contains_key(&id) {
            id = following(id);
        }
        *next = following(id);
        pending.insert(id, (generation, reply));
        Slot {
            id,
            generation,
            pending: self.pending.clone(),
            _permit: permit,
        }
    }

    /// Sends a request and waits for the packet that answers it.
    pub async fn call_packet(&self, request: &Request) -> Result<Packet, CallError> {
        self.begin_call(request).await?.reply().await
    }

    /// Sends a request and returns at once; the reply is awaited through the returned
    /// [`PendingCall`], which does not hold the connection.
    pub async fn begin_call(&self, request: &Request) -> Result<PendingCall, CallError> {
        self.begin_call_within(request, self.timeout).await
    }

    /// [`Client::begin_call`] with its own time limit (for the free ID and the reply).
    pub async fn begin_call_within(
        &self,
        request: &Request,
        timeout: Duration,
    ) -> Result<PendingCall, CallError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let permit =
            match tokio::time::timeout_at(deadline, self.slots.clone().acquire_owned()).await {
                Ok(Ok(permit)) => permit,
                Ok(Err(_)) => return Err(CallError::Disconnected),
                Err(_) => return Err(CallError::NoFreeId(timeout)),
            };
        let (tx, rx) = oneshot::channel();
        // The slot unregisters the ID when this call ends in any way, even when dropped.
        let slot = self.register(permit, tx);
        if self.out.send(request.to_packet(slot.id)).await.is_err() {
            return Err(CallError::Disconnected);
        }
        Ok(PendingCall {
            rx,
            _slot: slot,
            deadline,
            timeout,
        })
    }

    /// Sends a request and decodes the reply, within `timeout` instead of the client's own.
    pub async fn call_within(
        &self,
        request: &Request,
        timeout: Duration,
    ) -> Result<Response, CallError> {
        self.begin_call_within(request, timeout)
            .await?
            .response()
            .await
    }

    /// Sends a request and decodes the reply.
    pub async fn call(&self, request: &Request) -> Result<Response, CallError> {
        let packet = self.call_packet(request).await?;
        Response::from_packet(&packet).map_err(|e| CallError::BadReply(e.to_string()))
    }
}

/// The ID after `id` in 1..=1022.
fn following(id: u16) -> u16 {
    if id >= MAX_CLIENT_ID { 1 } else { id + 1 }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A request ID in use by one call. Dropping it frees the ID (unless the reader already did,
/// and the ID went to a later call, which the generation tells apart) and the slot permit.
#[derive(Debug)]
struct Slot {
    id: u16,
    generation: u64,
    pending: Pending,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut pending = lock(&self.pending);
        if pending
            .get(&self.id)
            .is_some_and(|(generation, _)| *generation == self.generation)
        {
            pending.remove(&self.id);
        }
    }
}

/// A request sent on a connection, waiting for its reply.
#[derive(Debug)]
pub struct PendingCall {
    rx: oneshot::Receiver<Packet>,
    /// Holds the request ID until the call ends, however it ends.
    _slot: Slot,
    deadline: tokio::time::Instant,
    timeout: Duration,
}

impl PendingCall {
    /// The packet that answers the request.
    pub async fn reply(self) -> Result<Packet, CallError> {
        match tokio::time::timeout_at(self.deadline, self.rx).await {
            Ok(Ok(packet)) => Ok(packet),
            Ok(Err(_)) => Err(CallError::Disconnected),
            Err(_) => Err(CallError::Timeout(self.timeout)),
        }
    }

    /// The reply, decoded.
    pub async fn response(self) -> Result<Response, CallError> {
        let packet = self.reply().await?;
        Response::from_packet(&packet).map_err(|e| CallError::BadReply(e.to_string()))
    }
}
