//! The bounded outbound queue of one connection, and what sits in it.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use bytes::Bytes;
use tokio::sync::{Notify, oneshot};

use super::SendError;

/// Bytes queued for a connection's writer, with an optional acknowledgement fired once they
/// have been written to the socket.
#[derive(Debug)]
pub struct Outbound {
    /// One or more encoded packets.
    pub bytes: Bytes,
    /// Fired after the bytes were written and flushed.
    pub ack: Option<oneshot::Sender<()>>,
    /// Set by [`super::ConnHandle::deliver`]: whoever moves it out of [`CLAIM_QUEUED`] first
    /// decides whether the bytes are written (the writer took them) or not (their sender
    /// withdrew them).
    pub claim: Option<Arc<AtomicU8>>,
}

/// [`Outbound::claim`]: still in the queue.
pub const CLAIM_QUEUED: u8 = 0;
/// [`Outbound::claim`]: taken by the writer; the acknowledgement tells whether it was written.
pub const CLAIM_TAKEN: u8 = 1;
/// [`Outbound::claim`]: withdrawn by its sender; the writer skips it.
pub const CLAIM_WITHDRAWN: u8 = 2;

/// The bounded outbound queue. Unlike a channel it allocates nothing while empty, which
/// keeps idle connections small.
#[derive(Debug)]
pub(super) struct Queue {
    items: std::sync::Mutex<VecDeque<Outbound>>,
    /// Most items held.
    pub(super) capacity: usize,
    /// Wakes the writer when items arrive.
    pub(super) writer: Notify,
    /// Wakes a sender waiting for room.
    pub(super) space: Notify,
    /// Set once the writer has stopped: nothing queued from then on is ever written.
    pub(super) stopped: AtomicBool,
    /// Set (under the items lock) with the connection's last packet: nothing is queued
    /// after it, so a delivery racing the goodbye fails (and is stored) instead of being
    /// written where the peer no longer reads.
    sealed: AtomicBool,
}

impl Queue {
    /// An empty queue holding at most `capacity` items (at least one).
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            items: std::sync::Mutex::new(VecDeque::new()),
            capacity: capacity.max(1),
            writer: Notify::new(),
            space: Notify::new(),
            stopped: AtomicBool::new(false),
            sealed: AtomicBool::new(false),
        }
    }

    /// The queued items.
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Outbound>> {
        self.items
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Appends `item`, or gives it back with the reason it cannot be queued.
    pub(super) fn push(&self, item: Outbound) -> Result<(), (SendError, Outbound)> {
        if self.stopped.load(Ordering::Acquire) {
            return Err((SendError::Closed, item));
        }
        let mut items = self.lock();
        if self.sealed.load(Ordering::Relaxed) {
            return Err((SendError::Closed, item));
        }
        if items.len() >= self.capacity {
            return Err((SendError::Full, item));
        }
        items.push_back(item);
        drop(items);
        self.writer.notify_one();
        Ok(())
    }

    /// Appends the connection's last item (even over capacity) and refuses any after it;
    /// `false` if the connection was sealed or stopped already.
    pub(super) fn push_last(&self, item: Outbound) -> bool {
        if self.stopped.load(Ordering::Acquire) {
            return false;
        }
        let mut items = self.lock();
        if self.sealed.swap(true, Ordering::Relaxed) {
            return false;
        }
        items.push_back(item);
        drop(items);
        self.writer.notify_one();
        true
    }

    /// Takes everything queued (and its allocation, so an idle queue holds no memory).
    pub(super) fn take_all(&self) -> VecDeque<Outbound> {
        let taken = std::mem::take(&mut *self.lock());
        self.space.notify_one();
        taken
    }
}
