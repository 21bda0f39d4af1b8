//! One client connection's transport: the read half the session owns, and a writer task
//! fed by a bounded queue, so that a peer that stops reading cannot stall anyone else.

use std::collections::VecDeque;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{Notify, oneshot};
use tokio_rustls::server::TlsStream;
use tokio_util::sync::CancellationToken;

/// Unique id of a connection for the life of the process.
pub type ConnId = u64;

static NEXT_CONN_ID: AtomicU64 = AtomicU64::new(1);

/// Allocates a fresh connection id.
pub fn next_conn_id() -> ConnId {
    NEXT_CONN_ID.fetch_add(1, Ordering::Relaxed)
}

/// Bytes queued for a connection's writer, with an optional acknowledgement fired once they
/// have been written to the socket.
#[derive(Debug)]
pub struct Outbound {
    /// One or more encoded packets.
    pub bytes: Bytes,
    /// Fired after the bytes were written and flushed.
    pub ack: Option<oneshot::Sender<()>>,
    /// Set by [`ConnHandle::deliver`]: whoever moves it out of [`CLAIM_QUEUED`] first decides
    /// whether the bytes are written (the writer took them) or not (their sender withdrew them).
    pub claim: Option<Arc<AtomicU8>>,
}

/// [`Outbound::claim`]: still in the queue.
pub const CLAIM_QUEUED: u8 = 0;
/// [`Outbound::claim`]: taken by the writer; the acknowledgement tells whether it was written.
pub const CLAIM_TAKEN: u8 = 1;
/// [`Outbound::claim`]: withdrawn by its sender; the writer skips it.
pub const CLAIM_WITHDRAWN: u8 = 2;

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

#[derive(Debug)]
struct ConnShared {
    id: ConnId,
    ip: IpAddr,
    secure: bool,
    queue: Queue,
    closed: CancellationToken,
}

/// The bounded outbound queue. Unlike a channel it allocates nothing while empty, which
/// keeps idle connections small.
#[derive(Debug)]
struct Queue {
    items: std::sync::Mutex<VecDeque<Outbound>>,
    capacity: usize,
    /// Wakes the writer when items arrive.
    writer: Notify,
    /// Wakes a sender waiting for room.
    space: Notify,
    /// Set once the writer has stopped: nothing queued from then on is ever written.
    stopped: AtomicBool,
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Outbound>> {
        self.items
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Appends `item`, or gives it back with the reason it cannot be queued.
    fn push(&self, item: Outbound) -> Result<(), (SendError, Outbound)> {
        if self.stopped.load(Ordering::Acquire) {
            return Err((SendError::Closed, item));
        }
        let mut items = self.lock();
        if items.len() >= self.capacity {
            return Err((SendError::Full, item));
        }
        items.push_back(item);
        drop(items);
        self.writer.notify_one();
        Ok(())
    }

    /// Takes everything queued (and its allocation, so an idle queue holds no memory).
    fn take_all(&self) -> VecDeque<Outbound> {
        let taken = std::mem::take(&mut *self.lock());
        self.space.notify_one();
        taken
    }
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
            let _ = self.inner.queue.push(Outbound {
                bytes,
                ack: None,
                claim: None,
            });
        }
        self.close();
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

/// Any stream a client can be served over.
pub enum Transport {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS over TCP.
    Tls(Box<TlsStream<TcpStream>>),
}

/// The read half of a [`Transport`].
pub enum ReadHalf {
    /// Plain TCP.
    Plain(OwnedReadHalf),
    /// TLS.
    Tls(tokio::io::ReadHalf<Box<TlsStream<TcpStream>>>),
}

/// The write half of a [`Transport`].
pub enum WriteHalf {
    /// Plain TCP.
    Plain(OwnedWriteHalf),
    /// TLS.
    Tls(tokio::io::WriteHalf<Box<TlsStream<TcpStream>>>),
}

impl Transport {
    /// Splits into independently owned halves.
    pub fn split(self) -> (ReadHalf, WriteHalf) {
        match self {
            Transport::Plain(s) => {
                let (r, w) = s.into_split();
                (ReadHalf::Plain(r), WriteHalf::Plain(w))
            }
            Transport::Tls(s) => {
                let (r, w) = tokio::io::split(s);
                (ReadHalf::Tls(r), WriteHalf::Tls(w))
            }
        }
    }
}

impl ReadHalf {
    /// Reads what is available into `buf`. On plain TCP it waits for readability first and
    /// reads through a stack buffer, so an idle connection holds no read buffer at all.
    pub async fn read_into(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        match self {
            ReadHalf::Plain(r) => loop {
                r.readable().await?;
                let mut chunk = [0u8; READ_CHUNK];
                match r.try_read(&mut chunk) {
                    Ok(n) => {
                        buf.extend_from_slice(&chunk[..n]);
                        return Ok(n);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
            },
            ReadHalf::Tls(r) => {
                buf.reserve(READ_CHUNK);
                tokio::io::AsyncReadExt::read_buf(r, buf).await
            }
        }
    }
}

/// Bytes read per system call.
const READ_CHUNK: usize = 8192;

impl AsyncRead for ReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ReadHalf::Plain(r) => Pin::new(r).poll_read(cx, buf),
            ReadHalf::Tls(r) => Pin::new(r).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for WriteHalf {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            WriteHalf::Plain(w) => Pin::new(w).poll_write(cx, buf),
            WriteHalf::Tls(w) => Pin::new(w).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WriteHalf::Plain(w) => Pin::new(w).poll_flush(cx),
            WriteHalf::Tls(w) => Pin::new(w).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WriteHalf::Plain(w) => Pin::new(w).poll_shutdown(cx),
            WriteHalf::Tls(w) => Pin::new(w).poll_shutdown(cx),
        }
    }
}

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
    let closed = CancellationToken::new();
    let shared = Arc::new(ConnShared {
        id: next_conn_id(),
        ip,
        secure,
        queue: Queue {
            items: std::sync::Mutex::new(VecDeque::new()),
            capacity: queue.max(1),
            writer: Notify::new(),
            space: Notify::new(),
            stopped: AtomicBool::new(false),
        },
        closed,
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
