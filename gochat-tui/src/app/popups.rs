//! Popups, banners and flashes: what interrupts or overlays the panes.

use crate::secret::Secret;

use super::buffers::Level;
use super::tree::AccountKey;

/// A banner across the top: things that must not be missed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Banner {
    /// What it is about (one banner per topic).
    pub topic: String,
    /// Text.
    pub text: String,
    /// Severity.
    pub level: Level,
    /// A shutdown time (unix seconds) to count down to.
    pub countdown_to: Option<i64>,
    /// Removed after this time (unix ms).
    pub until_ms: Option<i64>,
}

/// A transient message on the status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    /// Text.
    pub text: String,
    /// Severity.
    pub level: Level,
    /// Removed after this time (unix ms).
    pub until_ms: i64,
}

/// Why a passphrase is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PassPurpose {
    /// A new account (asked twice; empty means unencrypted).
    Register(AccountKey),
    /// Unlock a locked key, then log in when `login`.
    Unlock {
        /// The account.
        account: AccountKey,
        /// Log in afterwards.
        login: bool,
    },
    /// Import a key file (asked twice; empty means unencrypted).
    Import {
        /// The new account.
        account: AccountKey,
        /// The key file.
        path: String,
    },
    /// Import a Go client's client.db: first its password, then a new passphrase (asked
    /// twice; empty means unencrypted).
    GoImport {
        /// The Go client's database (absolute).
        path: String,
        /// The Go password, once entered.
        go_password: Option<Secret>,
    },
}

/// What a confirmation confirms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirm {
    /// Delete an account on the server.
    Deregister(AccountKey),
    /// Remove a server profile.
    RemoveServer(String),
}

/// What a one-line prompt asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    /// The peer of a new conversation.
    NewConversation(AccountKey),
}

/// A dialog over the screen; keys go to it first.
#[derive(Debug, Clone, PartialEq)]
pub enum Popup {
    /// A masked passphrase field.
    Passphrase {
        /// Why.
        purpose: PassPurpose,
        /// What is typed (shown as `*`).
        field: Secret,
        /// The first entry, when asking twice.
        first: Option<Secret>,
        /// Why the last entry was refused.
        error: Option<String>,
    },
    /// Yes or no.
    Confirm {
        /// What.
        what: Confirm,
        /// The question.
        text: String,
    },
    /// One line of text.
    Prompt {
        /// Why.
        ask: Ask,
        /// What is typed.
        field: String,
    },
    /// Jump to a conversation by name.
    Switcher {
        /// The filter.
        query: String,
        /// Selected match.
        selected: usize,
    },
    /// Every key and command.
    Help {
        /// First line shown.
        scroll: u16,
    },
    /// Pin the certificate a server presents (trust on first use, or a changed one)?
    TrustCertificate {
        /// The server profile.
        server: String,
        /// What the server presented.
        cert: gochat_proto::ipc::CertificateInfo,
    },
}
