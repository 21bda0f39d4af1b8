//! Buffers: what a server, account or conversation pane shows (messages, notices, scroll).

use std::collections::HashMap;

use gochat_proto::ipc::Message;

/// How important a notice is (its colour).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Command output, hints.
    Info,
    /// Good news.
    Success,
    /// Needs attention.
    Warning,
    /// Something failed.
    Error,
}

/// A line (or several) from the TUI itself, shown among the messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// When it was made (unix ms).
    pub time_ms: i64,
    /// Colour.
    pub level: Level,
    /// Text; may contain line breaks.
    pub text: String,
}

/// Sort key of an entry: messages by id; notices after the message that was newest when they
/// were made, in creation order.
pub type EntryKey = (i64, u64);

/// A message or a notice.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// A message from the daemon.
    Message(Box<Message>),
    /// A notice from the TUI.
    Notice(u64, Notice),
}

impl Entry {
    /// Its place in the buffer.
    pub fn key(&self, anchors: &HashMap<u64, i64>) -> EntryKey {
        match self {
            Entry::Message(m) => (m.id, 0),
            Entry::Notice(seq, _) => (anchors.get(seq).copied().unwrap_or(0), *seq),
        }
    }
}

/// Where the view of a buffer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scroll {
    /// Follows the newest entry.
    #[default]
    Bottom,
    /// The entry at the bottom of the view, and how many of its rows are hidden below.
    At {
        /// The bottom entry.
        key: EntryKey,
        /// Rows of it below the view.
        hidden: u16,
    },
}

/// What a buffer shows: messages and notices in order, and the scroll position.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Buffer {
    /// Entries in key order.
    pub entries: Vec<Entry>,
    /// Notice anchors by sequence number.
    pub anchors: HashMap<u64, i64>,
    /// The view.
    pub scroll: Scroll,
}

/// Most notices kept per buffer.
const MAX_NOTICES: usize = 2000;

impl Buffer {
    /// The key of entry `i`.
    pub fn key_at(&self, i: usize) -> EntryKey {
        self.entries[i].key(&self.anchors)
    }

    /// The index of the entry with `key`, or where it would go.
    pub fn search(&self, key: EntryKey) -> Result<usize, usize> {
        self.entries
            .binary_search_by(|e| e.key(&self.anchors).cmp(&key))
    }

    /// The message with id `id`.
    pub fn message(&self, id: i64) -> Option<&Message> {
        match self.search((id, 0)) {
            Ok(i) => match &self.entries[i] {
                Entry::Message(m) => Some(m),
                Entry::Notice(..) => None,
            },
            Err(_) => None,
        }
    }

    /// Inserts or replaces a message; returns true when it was new.
    pub fn upsert(&mut self, message: Message) -> bool {
        match self.search((message.id, 0)) {
            Ok(i) => {
                self.entries[i] = Entry::Message(Box::new(message));
                false
            }
            Err(i) => {
                self.entries.insert(i, Entry::Message(Box::new(message)));
                true
            }
        }
    }

    /// Adds a page of (older) messages at once.
    pub fn merge(&mut self, messages: Vec<Message>) {
        let all_older = match (self.first_message_id(), messages.iter().map(|m| m.id).max()) {
            (Some(first), Some(max)) => max < first,
            (None, _) => true,
            (_, None) => return,
        };
        if all_older && self.entries.iter().all(|e| matches!(e, Entry::Message(_))) {
            let mut page: Vec<Entry> = messages
                .into_iter()
                .map(|m| Entry::Message(Box::new(m)))
                .collect();
            page.sort_by_key(|e| e.key(&self.anchors));
            page.dedup_by_key(|e| e.key(&self.anchors));
            page.append(&mut self.entries);
            self.entries = page;
        } else {
            for m in messages {
                self.upsert(m);
            }
        }
    }

    /// Adds a notice after the message with id `after`.
    pub fn push_notice(&mut self, seq: u64, after: i64, notice: Notice) {
        self.anchors.insert(seq, after);
        let key = (after, seq);
        let i = self.search(key).unwrap_or_else(|i| i);
        self.entries.insert(i, Entry::Notice(seq, notice));
        let notices = self.anchors.len();
        if notices > MAX_NOTICES {
            // Drop the oldest notice.
            if let Some(pos) = self
                .entries
                .iter()
                .position(|e| matches!(e, Entry::Notice(..)))
            {
                if let Entry::Notice(seq, _) = self.entries.remove(pos) {
                    self.anchors.remove(&seq);
                }
                if let Scroll::At { key, .. } = self.scroll
                    && self.search(key).is_err()
                {
                    self.scroll = Scroll::Bottom;
                }
            }
        }
    }

    /// Removes every notice.
    pub fn clear_notices(&mut self) {
        self.entries.retain(|e| matches!(e, Entry::Message(_)));
        self.anchors.clear();
        self.scroll = Scroll::Bottom;
    }

    /// The oldest loaded message's id.
    pub fn first_message_id(&self) -> Option<i64> {
        self.entries.iter().find_map(|e| match e {
            Entry::Message(m) => Some(m.id),
            Entry::Notice(..) => None,
        })
    }

    /// The newest loaded message's id.
    pub fn last_message_id(&self) -> Option<i64> {
        self.entries.iter().rev().find_map(|e| match e {
            Entry::Message(m) => Some(m.id),
            Entry::Notice(..) => None,
        })
    }

    /// Messages loaded.
    pub fn messages(&self) -> impl DoubleEndedIterator<Item = &Message> {
        self.entries.iter().filter_map(|e| match e {
            Entry::Message(m) => Some(m.as_ref()),
            Entry::Notice(..) => None,
        })
    }
}
