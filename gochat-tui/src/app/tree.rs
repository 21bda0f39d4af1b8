//! The mirror of the daemon's tree: servers, their accounts and conversations, and the daemon
//! connection itself.

use std::collections::HashMap;

use gochat_proto::ipc::{self, Account, LinkState, ServerProfile, User};

use super::buffers::Buffer;

/// An account: its server profile's name and the username.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountKey {
    /// Server profile name.
    pub server: String,
    /// Username on that server.
    pub user: String,
}

impl AccountKey {
    /// `user@server`.
    pub fn label(&self) -> String {
        format!("{}@{}", self.user, self.server)
    }

    /// The API form.
    pub fn to_ref(&self) -> ipc::AccountRef {
        ipc::AccountRef {
            server: self.server.clone(),
            username: self.user.clone(),
        }
    }

    /// From the API form.
    pub fn from_ref(r: &ipc::AccountRef) -> AccountKey {
        AccountKey {
            server: r.server.clone(),
            user: r.username.clone(),
        }
    }
}

/// What the middle pane shows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BufferKey {
    /// TUI and daemon notices that belong to no server (and the welcome text).
    System,
    /// A server's notices (hooks, shutdowns, command output).
    Server(String),
    /// A conversation of an account with a peer.
    Conv(AccountKey, String),
}

/// Scrollback loading of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum History {
    /// Nothing asked yet.
    #[default]
    NotLoaded,
    /// A page is on its way.
    Loading,
    /// Pages loaded; `next_before` is the id to pass for the next older page (0: no more).
    Loaded {
        /// Cursor for the next page.
        next_before: i64,
    },
}

/// A conversation with one peer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Conversation {
    /// The other user.
    pub peer: String,
    /// What is loaded.
    pub buffer: Buffer,
    /// Unread incoming messages (the daemon's count, kept current by events).
    pub unread: u32,
    /// Newest message id known (loaded or not).
    pub last_id: i64,
    /// Time of the newest message (unix ms), for ordering.
    pub last_time: i64,
    /// Scrollback state.
    pub history: History,
    /// Closed by the user: not listed until a message arrives.
    pub hidden: bool,
    /// Where the "new messages" line goes (the first unread message when it was opened).
    pub unread_marker: Option<i64>,
    /// Compute the marker when the first page arrives.
    pub marker_on_load: bool,
    /// A pending key change: the new fingerprint.
    pub key_changed: Option<String>,
}

/// One account of a server profile.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountState {
    /// Which.
    pub key: AccountKey,
    /// The daemon's view (state, permission, lock).
    pub info: Account,
    /// Last link detail (error or reason).
    pub detail: String,
    /// Conversations by peer.
    pub conversations: HashMap<String, Conversation>,
    /// Online users with permissions, when known.
    pub online_users: Option<Vec<User>>,
    /// A ListUsers is on its way.
    pub users_loading: bool,
    /// An unlock prompt was shown already this session.
    pub unlock_prompted: bool,
    /// Messages stored so far by the catch-up under way after a login, if one is.
    pub catch_up: Option<u64>,
    /// Local aliases of contacts, by user name.
    pub aliases: HashMap<String, String>,
}

impl AccountState {
    /// A new account mirror.
    pub fn new(key: AccountKey, info: Account) -> Self {
        AccountState {
            key,
            info,
            detail: String::new(),
            conversations: HashMap::new(),
            online_users: None,
            users_loading: false,
            unlock_prompted: false,
            catch_up: None,
            aliases: HashMap::new(),
        }
    }

    /// How a peer is shown: their alias, else their name (terminal-safe).
    pub fn shown_name(&self, peer: &str) -> String {
        match self.aliases.get(peer) {
            Some(alias) => gochat_client::term::line(alias).into_owned(),
            None => gochat_client::term::name(peer).into_owned(),
        }
    }

    /// The link state.
    pub fn state(&self) -> LinkState {
        LinkState::try_from(self.info.state).unwrap_or(LinkState::Unspecified)
    }

    /// Whether the link is logged in.
    pub fn online(&self) -> bool {
        self.state() == LinkState::Online
    }

    /// Conversations that are listed, newest first (or by name).
    pub fn listed(&self, by_name: bool) -> Vec<&Conversation> {
        let mut list: Vec<&Conversation> =
            self.conversations.values().filter(|c| !c.hidden).collect();
        if by_name {
            list.sort_by(|a, b| a.peer.cmp(&b.peer));
        } else {
            list.sort_by(|a, b| {
                b.last_time
                    .cmp(&a.last_time)
                    .then_with(|| a.peer.cmp(&b.peer))
            });
        }
        list
    }

    /// Unread messages in all conversations.
    pub fn unread(&self) -> u32 {
        self.conversations.values().map(|c| c.unread).sum()
    }
}

/// A server profile with its accounts.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerState {
    /// The profile.
    pub profile: ServerProfile,
    /// The server buffer.
    pub buffer: Buffer,
    /// Accounts, by username.
    pub accounts: Vec<AccountState>,
    /// The account that commands on this server use.
    pub current: usize,
    /// The refused certificate (SHA-256) the user was last asked about, so that a reload
    /// does not ask again.
    pub cert_prompted: Option<String>,
}

impl ServerState {
    /// A server mirror.
    pub fn new(profile: ServerProfile) -> Self {
        ServerState {
            profile,
            buffer: Buffer::default(),
            accounts: Vec::new(),
            current: 0,
            cert_prompted: None,
        }
    }

    /// The account commands use.
    pub fn current_account(&self) -> Option<&AccountState> {
        self.accounts
            .get(self.current)
            .or_else(|| self.accounts.first())
    }
}

/// The daemon connection as the user sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DaemonState {
    /// Trying to reach (or start) gochatd.
    Connecting {
        /// Whether we started a daemon and are waiting for it.
        starting: bool,
        /// Why the last attempt failed, if one did.
        last_error: Option<String>,
    },
    /// Attached.
    Attached {
        /// gochatd's version.
        version: String,
        /// Its process id.
        pid: u32,
    },
    /// Lost; reconnecting.
    Down {
        /// Why.
        reason: String,
        /// Since when (unix ms).
        since_ms: i64,
    },
}
