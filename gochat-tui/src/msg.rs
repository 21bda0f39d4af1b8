//! Messages: everything that can happen to the TUI (terminal input, the clock, the daemon),
//! and the [`Effect`]s that `update` asks the loop to carry out. Results of effects come
//! back as messages ([`Reply`]), so `update` never waits and never does I/O.

use crossterm::event::{KeyEvent, MouseEvent};
use gochat_client::errors::DaemonError;
use gochat_proto::ipc::{
    Account, Contact, ConversationList, Event, ImportGoClientReply, KeyInfo, Message, MessageList,
    ServerProfile, StatusReply, User, admin_request,
};

use crate::app::AccountKey;
use crate::secret::Secret;

/// Something that happened.
#[derive(Debug, Clone)]
pub enum Msg {
    /// A key was pressed.
    Key(KeyEvent),
    /// Text was pasted (bracketed paste).
    Paste(String),
    /// The mouse was used.
    Mouse(MouseEvent),
    /// The terminal was resized (columns, rows).
    Resize(u16, u16),
    /// The terminal gained (true) or lost the focus.
    Focus(bool),
    /// The clock ticked (unix ms).
    Tick(i64),
    /// Leave now (a signal).
    Quit,
    /// News from the daemon task.
    Daemon(DaemonMsg),
}

/// What the daemon task reports.
#[derive(Debug, Clone)]
pub enum DaemonMsg {
    /// Trying to reach gochatd; `starting` when we launched it and wait for it.
    Connecting {
        /// A daemon was started by us.
        starting: bool,
        /// Why the previous attempt failed.
        last_error: Option<String>,
    },
    /// Attached: the state to show.
    Attached(Box<Snapshot>),
    /// The connection was lost (or could not be made); retrying.
    Down(String),
    /// A live event.
    Event(Box<Event>),
    /// The result of a call.
    Reply(Box<Reply>),
}

/// Everything needed to draw after (re)attaching.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Versions, instance and links.
    pub status: StatusReply,
    /// Server profiles.
    pub servers: Vec<ServerProfile>,
    /// Accounts.
    pub accounts: Vec<Account>,
    /// Conversations per account.
    pub conversations: Vec<(AccountKey, ConversationList)>,
    /// Contacts (for their aliases) per account.
    pub contacts: Vec<(AccountKey, Vec<Contact>)>,
}

/// A call for the daemon.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    /// Fetch a fresh [`Snapshot`].
    Reload,
    /// Show the certificate the server of this profile presents now.
    ProbeCertificate(String),
    /// Pin the certificate with this SHA-256 (hex) that the server presents now.
    TrustServer {
        /// The profile.
        server: String,
        /// What the user confirmed.
        sha256: String,
    },
    /// Send a message.
    Send {
        /// From.
        account: AccountKey,
        /// To.
        to: String,
        /// Text.
        text: String,
    },
    /// A page of history (newest first from the daemon).
    History {
        /// Account.
        account: AccountKey,
        /// Peer.
        peer: String,
        /// Older than this id (0: newest).
        before: i64,
        /// Page size.
        limit: u32,
    },
    /// Move the read marker.
    MarkRead {
        /// Account.
        account: AccountKey,
        /// Peer.
        peer: String,
        /// Up to this id (0: all).
        up_to: i64,
    },
    /// List users.
    ListUsers {
        /// Account.
        account: AccountKey,
        /// Only those online.
        online_only: bool,
        /// With permission levels.
        perms: bool,
        /// Print the list (else it feeds the user pane).
        print: bool,
    },
    /// Fetch (and pin) a user's key and permission.
    RequestKey {
        /// Account.
        account: AccountKey,
        /// User.
        user: String,
        /// Print the result (else quiet, as when opening a conversation).
        print: bool,
    },
    /// Trust a user's new key.
    AcceptKey {
        /// Account.
        account: AccountKey,
        /// User.
        user: String,
    },
    /// Log in.
    Login(AccountKey),
    /// Log out.
    Logout(AccountKey),
    /// Unlock the key (then log in when `login`).
    Unlock {
        /// Account.
        account: AccountKey,
        /// Passphrase.
        passphrase: Secret,
        /// Log in afterwards.
        login: bool,
    },
    /// Drop the key from memory.
    Lock(AccountKey),
    /// Create an account.
    Register {
        /// Account.
        account: AccountKey,
        /// Passphrase (empty: unencrypted key).
        passphrase: Secret,
    },
    /// Delete the account on the server and locally.
    Deregister(AccountKey),
    /// Add a server profile.
    AddServer(Box<ServerProfile>),
    /// Change a server profile.
    UpdateServer(Box<ServerProfile>),
    /// Remove a server profile.
    RemoveServer(String),
    /// Subscribe to a hook (or unsubscribe).
    Hook {
        /// Account.
        account: AccountKey,
        /// `gochat_proto::ipc::Hook` value.
        hook: i32,
        /// Subscribe (true) or unsubscribe.
        subscribe: bool,
    },
    /// An administrative operation.
    Admin {
        /// Account.
        account: AccountKey,
        /// The operation.
        op: admin_request::Op,
    },
    /// Full-text search.
    Search {
        /// Account.
        account: AccountKey,
        /// Words.
        query: String,
        /// Only messages with this peer (empty: all).
        from: String,
    },
    /// Show the account's public key.
    ShowKey(AccountKey),
    /// Write the private key to a file (mode 0600).
    ExportKey {
        /// Account.
        account: AccountKey,
        /// File.
        path: String,
    },
    /// Read a Go-client key file and add it as an account.
    ImportKey {
        /// Account.
        account: AccountKey,
        /// File.
        path: String,
        /// Passphrase for the stored key (empty: unencrypted).
        passphrase: Secret,
    },
    /// Import a Go client's client.db.
    ImportGoClient {
        /// The database (absolute path).
        path: String,
        /// The Go client's password.
        go_password: Secret,
        /// Passphrase for the stored keys (empty: unencrypted).
        passphrase: Secret,
    },
    /// Versions and links.
    Status,
    /// Tell gochatd which conversation is open and focused (none: `None`); it sends no
    /// desktop notification for that one. Held by the daemon task across reconnects.
    Focus(Option<(AccountKey, String)>),
    /// Change a contact's local preferences (alias, mute, block, notifications).
    ContactPrefs(Box<gochat_proto::ipc::ContactPrefsRequest>),
    /// Delete a conversation's local history.
    DeleteConversation {
        /// Account.
        account: AccountKey,
        /// Peer.
        peer: String,
    },
    /// Show the notification and hook settings (`name`: only that one).
    Settings {
        /// A setting's name, or empty for all.
        name: String,
    },
    /// Change a setting live (`value` None: reset it).
    SetSetting {
        /// Its name.
        name: String,
        /// TOML text, or None to reset.
        value: Option<String>,
    },
}

impl Call {
    /// Calls that must reach the daemon in the order they were made (a conversation's
    /// messages, read markers, pages); the others may run side by side.
    pub fn ordered(&self) -> bool {
        matches!(
            self,
            Call::Send { .. } | Call::MarkRead { .. } | Call::History { .. }
        )
    }
}

/// The result of a [`Call`] (errors with the daemon's reason and wording).
#[derive(Debug, Clone)]
pub enum Reply {
    /// For [`Call::Reload`].
    Snapshot(Result<Box<Snapshot>, DaemonError>),
    /// For [`Call::ProbeCertificate`].
    Certificate {
        /// The profile.
        server: String,
        /// What it presents.
        result: Result<gochat_proto::ipc::CertificateInfo, DaemonError>,
    },
    /// For [`Call::Send`].
    Sent {
        /// Account.
        account: AccountKey,
        /// Peer.
        to: String,
        /// The stored messages.
        result: Result<Vec<Message>, DaemonError>,
    },
    /// For [`Call::History`].
    History {
        /// Account.
        account: AccountKey,
        /// Peer.
        peer: String,
        /// The page asked for.
        before: i64,
        /// The page.
        result: Result<MessageList, DaemonError>,
    },
    /// For [`Call::ListUsers`].
    Users {
        /// Account.
        account: AccountKey,
        /// Online only.
        online_only: bool,
        /// Printed rather than shown in the pane.
        print: bool,
        /// The users.
        result: Result<Vec<User>, DaemonError>,
    },
    /// For [`Call::RequestKey`] and [`Call::AcceptKey`].
    Contact {
        /// Account.
        account: AccountKey,
        /// User asked for.
        user: String,
        /// Print it.
        print: bool,
        /// Accepted (AcceptKey) rather than requested.
        accepted: bool,
        /// The contact.
        result: Result<Contact, DaemonError>,
    },
    /// For account operations (login, logout, unlock, lock, register, import).
    Account {
        /// Account.
        account: AccountKey,
        /// Which operation.
        op: AccountOp,
        /// The account afterwards.
        result: Result<Account, DaemonError>,
    },
    /// For calls with nothing to return.
    Done {
        /// What was done, for the notice ("deregistered alice@local").
        what: String,
        /// Where to report.
        account: Option<AccountKey>,
        /// Reload afterwards (server or account lists changed).
        reload: bool,
        /// Say nothing on success.
        quiet: bool,
        /// Outcome.
        result: Result<(), DaemonError>,
    },
    /// For [`Call::Search`].
    Search {
        /// Account.
        account: AccountKey,
        /// The query.
        query: String,
        /// Matches.
        result: Result<Vec<Message>, DaemonError>,
    },
    /// For [`Call::ShowKey`].
    Key {
        /// Account.
        account: AccountKey,
        /// The public key.
        result: Result<KeyInfo, DaemonError>,
    },
    /// For [`Call::ExportKey`].
    Exported {
        /// Account.
        account: AccountKey,
        /// The file written.
        path: String,
        /// Outcome.
        result: Result<(), DaemonError>,
    },
    /// For [`Call::Status`].
    Status(Result<StatusReply, DaemonError>),
    /// For [`Call::Settings`] and [`Call::SetSetting`].
    Settings {
        /// The setting asked about (empty: all).
        name: String,
        /// Every setting.
        result: Result<Vec<gochat_proto::ipc::Setting>, DaemonError>,
    },
    /// For [`Call::ImportGoClient`].
    GoImported {
        /// The database.
        path: String,
        /// What was imported.
        result: Result<ImportGoClientReply, DaemonError>,
    },
}

/// Account operations reported by [`Reply::Account`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountOp {
    /// Logged in.
    Login,
    /// Logged out.
    Logout,
    /// Key unlocked.
    Unlock {
        /// A login follows.
        login: bool,
    },
    /// Key locked.
    Lock,
    /// Registered.
    Register,
    /// Key imported.
    Import,
}

/// What `update` asks the loop to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Call the daemon.
    Call(Call),
    /// Ring the terminal bell.
    Bell,
    /// Clear and redraw the whole terminal.
    Redraw,
    /// Turn mouse capture on or off.
    Mouse(bool),
}
