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

/// Conversations with a burst pending at once. Messages from further senders within the
/// window (a flood from many names) are only counted, and shown as one notification.
pub const MAX_PENDING: usize = 64;

/// Pending bursts by conversation, and the messages beyond [`MAX_PENDING`] conversations.
#[derive(Debug, Default)]
pub struct Bursts {
    pending: HashMap<ConversationKey, Burst>,
    /// How many messages did not fit, and when the first of them came.
    overflow: Option<(u64, Instant)>,
}

impl Bursts {
    /// Adds a message to its conversation's burst; `false` when the message was only counted
    /// (too many conversations pending).
    pub fn add(&mut self, key: ConversationKey, text: &str, now: Instant) -> bool {
        if let Some(burst) = self.pending.get_mut(&key) {
            burst.count += 1;
            return true;
        }
        if self.pending.len() >= MAX_PENDING {
            let (count, _) = self.overflow.get_or_insert((0, now));
            *count += 1;
            return false;
        }
        self.pending.insert(
            key,
            Burst {
                first: text.to_owned(),
                count: 1,
                since: now,
            },
        );
        true
    }

    /// When the next burst is due, if any.
    pub fn next_due(&self, window: Duration) -> Option<Instant> {
        self.pending
            .values()
            .map(|b| b.since)
            .chain(self.overflow.map(|(_, since)| since))
            .map(|since| since + window)
            .min()
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

    /// Takes the count of messages that did not fit, once their window is over at `now`.
    pub fn take_overflow(&mut self, window: Duration, now: Instant) -> Option<u64> {
        let (count, since) = self.overflow?;
        (since + window <= now).then(|| {
            self.overflow = None;
            count
        })
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
            let _ = bursts.add(
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

    #[test]
    fn a_flood_from_many_senders_stays_bounded() {
        let mut bursts = Bursts::default();
        let t0 = Instant::now();
        let window = Duration::from_secs(1);
        for i in 0..10_000 {
            let key = ("s".to_owned(), "alice".to_owned(), format!("u{i}"));
            bursts.add(key, "spam", t0);
        }
        assert_eq!(bursts.pending.len(), MAX_PENDING);
        assert_eq!(bursts.take_overflow(window, t0), None, "not yet");
        assert_eq!(bursts.take_due(window, t0 + window).len(), MAX_PENDING);
        assert_eq!(
            bursts.take_overflow(window, t0 + window),
            Some(10_000 - MAX_PENDING as u64)
        );
        assert!(bursts.next_due(window).is_none());
    }
}
