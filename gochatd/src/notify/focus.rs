//! Which conversations frontends show focused right now. Each frontend holds one entry for as
//! long as its `ReportFocus` stream is open; the entry goes with the stream.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// A conversation: server profile, account user name, peer.
pub type ConversationKey = (String, String, String);

/// The focused conversations, by frontend stream.
#[derive(Debug, Default)]
pub struct Focus {
    next: AtomicU64,
    shown: Mutex<HashMap<u64, ConversationKey>>,
}

/// A frontend's entry; dropping it forgets its focus.
#[derive(Debug)]
pub struct FocusEntry<'a> {
    focus: &'a Focus,
    id: u64,
}

impl Focus {
    fn shown(&self) -> std::sync::MutexGuard<'_, HashMap<u64, ConversationKey>> {
        self.shown
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// An entry for a new frontend stream.
    pub fn entry(&self) -> FocusEntry<'_> {
        FocusEntry {
            focus: self,
            id: self.next.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Whether some frontend shows this conversation focused.
    pub fn is_focused(&self, server: &str, user: &str, peer: &str) -> bool {
        self.shown()
            .values()
            .any(|(s, u, p)| s == server && u == user && p == peer)
    }
}

impl FocusEntry<'_> {
    /// The frontend now shows `conversation` focused (`None`: nothing).
    pub fn set(&self, conversation: Option<ConversationKey>) {
        let mut shown = self.focus.shown();
        match conversation {
            Some(c) => shown.insert(self.id, c),
            None => shown.remove(&self.id),
        };
    }
}

impl Drop for FocusEntry<'_> {
    fn drop(&mut self) {
        self.focus.shown().remove(&self.id);
    }
}
