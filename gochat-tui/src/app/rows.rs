//! The sidebar's rows and which pane has the focus.

use super::tree::{AccountKey, BufferKey};

/// A row of the left pane.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Row {
    /// The system buffer.
    System,
    /// A server profile (its buffer).
    Server(String),
    /// An account heading, shown only when a server has several accounts.
    Account(AccountKey),
    /// A conversation.
    Conv(AccountKey, String),
}

/// A row of the left pane, borrowed from the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowRef<'a> {
    /// The system buffer.
    System,
    /// A server profile.
    Server(&'a str),
    /// An account heading.
    Account(&'a AccountKey),
    /// A conversation.
    Conv(&'a AccountKey, &'a str),
}

impl RowRef<'_> {
    /// The owned row.
    pub fn to_row(&self) -> Row {
        match *self {
            RowRef::System => Row::System,
            RowRef::Server(s) => Row::Server(s.to_owned()),
            RowRef::Account(a) => Row::Account(a.clone()),
            RowRef::Conv(a, p) => Row::Conv(a.clone(), p.to_owned()),
        }
    }

    /// Whether this is `row`.
    pub fn is(&self, row: &Row) -> bool {
        match (*self, row) {
            (RowRef::System, Row::System) => true,
            (RowRef::Server(a), Row::Server(b)) => a == b,
            (RowRef::Account(a), Row::Account(b)) => a == b,
            (RowRef::Conv(a, p), Row::Conv(b, q)) => a == b && p == q,
            _ => false,
        }
    }
}

impl Row {
    /// The buffer a row opens.
    pub fn buffer(&self) -> BufferKey {
        match self {
            Row::System => BufferKey::System,
            Row::Server(s) => BufferKey::Server(s.clone()),
            Row::Account(a) => BufferKey::Server(a.server.clone()),
            Row::Conv(a, p) => BufferKey::Conv(a.clone(), p.clone()),
        }
    }
}

/// Which pane receives keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Focus {
    /// The input line (the default).
    #[default]
    Input,
    /// The message pane (scrolling).
    Messages,
    /// Servers and conversations.
    Sidebar,
    /// Online users.
    Users,
}
