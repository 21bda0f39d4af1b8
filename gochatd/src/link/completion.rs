//! Completions of sends: whoever queued a message can wait on a oneshot that the outbox
//! resolves once the server has answered (SENT or FAILED), with no scan of the event stream.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::store::MessageRow;

/// The waiters of one link's queued messages, by message id.
#[derive(Debug, Clone, Default)]
pub struct Completions {
    waiters: Arc<Mutex<HashMap<i64, Vec<oneshot::Sender<MessageRow>>>>>,
}

impl Completions {
    fn waiters(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Vec<oneshot::Sender<MessageRow>>>> {
        self.waiters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Resolves with the final row once message `id` is SENT or FAILED. Register before
    /// checking the stored state, so that an answer in between is not missed.
    pub fn watch(&self, id: i64) -> oneshot::Receiver<MessageRow> {
        let (tx, rx) = oneshot::channel();
        let mut waiters = self.waiters();
        let entry = waiters.entry(id).or_default();
        entry.retain(|w| !w.is_closed());
        entry.push(tx);
        rx
    }

    /// Tells every waiter of `row` its final state.
    pub fn resolve(&self, row: &MessageRow) {
        let done = self.waiters().remove(&row.id);
        for waiter in done.into_iter().flatten() {
            let _ = waiter.send(row.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MessageState;

    fn row(id: i64, state: MessageState) -> MessageRow {
        MessageRow {
            id,
            account_id: 1,
            peer: "bob".into(),
            outgoing: true,
            text: "hi".into(),
            stamp: 1,
            state,
            error: None,
            failure: None,
            read: true,
            local_time_ms: 0,
        }
    }

    #[tokio::test]
    async fn every_waiter_of_a_message_gets_its_final_row_once() {
        let completions = Completions::default();
        let first = completions.watch(7);
        let second = completions.watch(7);
        let other = completions.watch(8);
        completions.resolve(&row(7, MessageState::Sent));
        assert_eq!(first.await.expect("resolved").state, MessageState::Sent);
        assert_eq!(second.await.expect("resolved").state, MessageState::Sent);
        // Resolving removed the entry: a later answer for 7 reaches nobody, 8 still waits.
        completions.resolve(&row(7, MessageState::Failed));
        assert!(completions.waiters().get(&7).is_none());
        completions.resolve(&row(8, MessageState::Failed));
        assert_eq!(other.await.expect("resolved").state, MessageState::Failed);
    }

    #[tokio::test]
    async fn abandoned_waiters_are_dropped() {
        let completions = Completions::default();
        drop(completions.watch(3));
        let kept = completions.watch(3);
        assert_eq!(completions.waiters().get(&3).map(Vec::len), Some(1));
        completions.resolve(&row(3, MessageState::Sent));
        assert_eq!(kept.await.expect("resolved").id, 3);
    }
}
