//! Per-recipient mailbox quotas: which messages of a batch may be stored, given each
//! recipient's counters as read (and locked) inside the storing transaction.

use std::collections::HashMap;

use super::NewMessage;

/// The most one recipient may have stored (offline) at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Most stored messages.
    pub max_messages: u64,
    /// Most stored ciphertext bytes.
    pub max_bytes: u64,
}

impl Quota {
    /// No limit at all.
    pub const UNLIMITED: Quota = Quota {
        max_messages: u64::MAX,
        max_bytes: u64::MAX,
    };
}

/// What became of one message handed to [`super::Store::store_messages`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOutcome {
    /// Committed.
    Stored,
    /// Not stored: the recipient's mailbox is full (by count or by bytes).
    MailboxFull,
    /// Not stored: no such recipient.
    RecipientMissing,
    /// Not stored: the recipient is deregistered.
    RecipientDeregistered,
}

/// A mailbox's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MailboxUsage {
    /// Messages stored.
    pub messages: u64,
    /// Ciphertext bytes stored.
    pub bytes: u64,
}

/// A recipient as read in the storing transaction.
#[derive(Debug, Clone, Copy)]
pub(super) struct Mailbox {
    /// Registered (not deregistered).
    pub live: bool,
    /// Counters before this batch.
    pub usage: MailboxUsage,
}

/// The decision for a batch: an outcome per message, and what to add to each mailbox.
#[derive(Debug, Default)]
pub(super) struct Admission {
    /// One per message, in order.
    pub outcomes: Vec<StoreOutcome>,
    /// Per recipient id: messages and bytes admitted.
    pub charges: Vec<(i64, MailboxUsage)>,
}

impl Admission {
    /// The admitted messages, in order.
    pub fn admitted<'m>(&self, messages: &'m [NewMessage]) -> Vec<&'m NewMessage> {
        messages
            .iter()
            .zip(&self.outcomes)
            .filter(|(_, o)| **o == StoreOutcome::Stored)
            .map(|(m, _)| m)
            .collect()
    }
}

/// The distinct recipient ids of `messages`, ascending (the order their rows are locked in).
pub(super) fn recipients(messages: &[NewMessage]) -> Vec<i64> {
    let mut ids: Vec<i64> = messages.iter().map(|m| m.recipient_id).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Admits messages in order while each recipient stays within `quota`. A message that does
/// not fit is refused but does not stop later, smaller ones for the same or other recipients.
pub(super) fn admit(
    messages: &[NewMessage],
    mailboxes: &HashMap<i64, Mailbox>,
    quota: Quota,
) -> Admission {
    let mut added: HashMap<i64, MailboxUsage> = HashMap::new();
    let mut outcomes = Vec::with_capacity(messages.len());
    for m in messages {
        let outcome = match mailboxes.get(&m.recipient_id) {
            None => StoreOutcome::RecipientMissing,
            Some(b) if !b.live => StoreOutcome::RecipientDeregistered,
            Some(b) => {
                let extra = added.entry(m.recipient_id).or_default();
                let size = m.ciphertext.len() as u64;
                let messages = b.usage.messages.saturating_add(extra.messages);
                let bytes = b.usage.bytes.saturating_add(extra.bytes);
                if messages.saturating_add(1) > quota.max_messages
                    || bytes.saturating_add(size) > quota.max_bytes
                {
                    StoreOutcome::MailboxFull
                } else {
                    extra.messages += 1;
                    extra.bytes += size;
                    StoreOutcome::Stored
                }
            }
        };
        outcomes.push(outcome);
    }
    let mut charges: Vec<(i64, MailboxUsage)> = added.into_iter().collect();
    charges.sort_unstable_by_key(|(id, _)| *id);
    Admission { outcomes, charges }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(to: i64, len: usize) -> NewMessage {
        NewMessage {
            sender_id: 1,
            recipient_id: to,
            stamp: 0,
            ciphertext: vec![b'x'; len],
        }
    }

    fn mailbox(live: bool, messages: u64, bytes: u64) -> Mailbox {
        Mailbox {
            live,
            usage: MailboxUsage { messages, bytes },
        }
    }

    #[test]
    fn each_message_gets_its_own_outcome() {
        let boxes = HashMap::from([
            (2, mailbox(true, 9, 0)),
            (3, mailbox(true, 0, 0)),
            (4, mailbox(false, 0, 0)),
        ]);
        let quota = Quota {
            max_messages: 10,
            max_bytes: 100,
        };
        let batch = [
            msg(2, 1),
            msg(2, 1),
            msg(3, 60),
            msg(3, 60),
            msg(3, 40),
            msg(4, 1),
            msg(5, 1),
        ];
        let a = admit(&batch, &boxes, quota);
        use StoreOutcome::*;
        assert_eq!(
            a.outcomes,
            [
                Stored,
                MailboxFull,
                Stored,
                MailboxFull,
                Stored,
                RecipientDeregistered,
                RecipientMissing
            ]
        );
        assert_eq!(
            a.charges,
            [
                (
                    2,
                    MailboxUsage {
                        messages: 1,
                        bytes: 1
                    }
                ),
                (
                    3,
                    MailboxUsage {
                        messages: 2,
                        bytes: 100
                    }
                )
            ]
        );
        assert_eq!(a.admitted(&batch).len(), 3);
    }

    #[test]
    fn unlimited_never_refuses() {
        let boxes = HashMap::from([(2, mailbox(true, 5, 5))]);
        let a = admit(&[msg(2, 5)], &boxes, Quota::UNLIMITED);
        assert_eq!(a.outcomes, [StoreOutcome::Stored]);
    }
}
