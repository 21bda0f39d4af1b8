//! Bursts: messages from one sender within the window make one notification.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::focus::ConversationKey;

/// Messages from one sender waiting for their notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Burst {
    /// The first message's text.
    pub first: String,
    /// How many came.
    pub count: u64,
    /// When the first came.
    pub since: Instant,
}

/// Pending bursts by conversation.
#[derive(Debug, Default)]
pub struct Bursts {
    pending: HashMap<ConversationKey, Burst>,
}

impl Bursts {
    /// Adds a message to its conversation's burst.
    pub fn add(&mut self, key: ConversationKey, text: &str, now: Instant) {
        self.pending
            .entry(key)
            .and_modify(|b| b.count += 1)
            .or_insert_with(|| Burst {
                first: text.to_owned(),
                count: 1,
                since: now,
            });
    }

    /// When the next burst is due, if any.
    pub fn next_due(&self, window: Duration) -> Option<Instant> {
        self.pending.values().map(|b| b.since + window).min()
    }

    /// Takes the bursts whose window is over at `now`.
    pub fn take_due(&mut self, window: Duration, now: Instant) -> Vec<(ConversationKey, Burst)> {
        let due: Vec<ConversationKey> = self
            .pending
            .iter()
            .filter(|(_, b)| b.since + window <= now)
            .map(|(k, _)| k.clone())
            .collect();
        due.into_iter()
            .filter_map(|k| self.pending.remove(&k).map(|b| (k, b)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_one_notification_after_its_window() {
        let mut bursts = Bursts::default();
        let t0 = Instant::now();
        let key = ("s".to_owned(), "alice".to_owned(), "bob".to_owned());
        let window = Duration::from_secs(1);
        for i in 0..50 {
            bursts.add(
                key.clone(),
                &format!("m{i}"),
                t0 + Duration::from_millis(i * 10),
            );
        }
        assert!(
            bursts
                .take_due(window, t0 + Duration::from_millis(999))
                .is_empty()
        );
        assert_eq!(bursts.next_due(window), Some(t0 + window));
        let due = bursts.take_due(window, t0 + window);
        assert_eq!(due.len(), 1);
        assert_eq!((due[0].1.count, due[0].1.first.as_str()), (50, "m0"));
        assert!(bursts.next_due(window).is_none());
    }
}
