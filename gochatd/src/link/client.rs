//! One protocol connection, client side: a reader task that routes replies to their waiting
//! requests by packet ID and hands unsolicited packets (ID 0) to the link, and a writer task.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use gochat_proto::wire::{CodecError, GochatCodec, Packet, Request, Response};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};
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
}

type Pending = Arc<Mutex<HashMap<u16, oneshot::Sender<Packet>>>>;

/// Largest ID the Go client uses; we use the same range (1..=1022).
const MAX_CLIENT_ID: u16 = 1022;

/// A connected client, owned by its link actor alone. Dropping it (or cancelling the token
/// given to [`Client::start`]) closes the connection.
#[derive(Debug)]
pub struct Client {
    out: mpsc::Sender<Packet>,
    pending: Pending,
    next_id: Arc<Mutex<u16>>,
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
                                Some(w) => {
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
            // Waking every waiter with a closed channel makes them fail at once.
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
                next_id: Arc::new(Mutex::new(first_id)),
                timeout,
            },
            unsolicited_rx,
        )
    }

    fn allocate_id(&self) -> u16 {
        let mut next = self
            .next_id
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let id = *next;
        *next = if *next >= MAX_CLIENT_ID { 1 } else { *next + 1 };
        id
    }

    /// Sends a request and waits for the packet that answers it.
    pub async fn call_packet(&self, request: &Request) -> Result<Packet, CallError> {
        self.begin_call(request).await?.reply().await
    }

    /// Sends a request and returns at once; the reply is awaited through the returned
    /// [`PendingCall`], which does not hold the connection.
    pub async fn begin_call(&self, request: &Request) -> Result<PendingCall, CallError> {
        let id = self.allocate_id();
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id, tx);
        if self.out.send(request.to_packet(id)).await.is_err() {
            self.forget(id);
            return Err(CallError::Disconnected);
        }
        Ok(PendingCall {
            id,
            rx,
            pending: self.pending.clone(),
            timeout: self.timeout,
        })
    }

    /// Sends a request and decodes the reply.
    pub async fn call(&self, request: &Request) -> Result<Response, CallError> {
        let packet = self.call_packet(request).await?;
        Response::from_packet(&packet).map_err(|e| CallError::BadReply(e.to_string()))
    }

    fn forget(&self, id: u16) {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&id);
    }
}

/// A request sent on a connection, waiting for its reply.
#[derive(Debug)]
pub struct PendingCall {
    id: u16,
    rx: oneshot::Receiver<Packet>,
    pending: Pending,
    timeout: Duration,
}

impl PendingCall {
    /// The packet that answers the request.
    pub async fn reply(self) -> Result<Packet, CallError> {
        match tokio::time::timeout(self.timeout, self.rx).await {
            Ok(Ok(packet)) => Ok(packet),
            Ok(Err(_)) => Err(CallError::Disconnected),
            Err(_) => {
                self.pending
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .remove(&self.id);
                Err(CallError::Timeout(self.timeout))
            }
        }
    }

    /// The reply, decoded.
    pub async fn response(self) -> Result<Response, CallError> {
        let packet = self.reply().await?;
        Response::from_packet(&packet).map_err(|e| CallError::BadReply(e.to_string()))
    }
}
