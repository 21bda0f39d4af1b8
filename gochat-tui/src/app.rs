//! The model: everything the screen shows, and nothing else. It is changed only by
//! [`crate::update::update`] and read by [`crate::ui::draw`]. It holds no I/O handles.
//!
//! What the daemon owns (servers, accounts, conversations, messages) is mirrored here from
//! snapshots and events; what only the TUI has (notices, scroll positions, the input, popups)
//! lives here alone.

use std::collections::{HashMap, VecDeque};

use gochat_proto::ipc::{self, Account, LinkState, Message, ServerProfile, User};
use jiff::tz::TimeZone;

use crate::config::{Config, Theme, UiConfig};
use crate::input::Input;
use crate::keymap::Keymap;
use crate::secret::Secret;

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
}

impl ServerState {
    /// A server mirror.
    pub fn new(profile: ServerProfile) -> Self {
        ServerState {
            profile,
            buffer: Buffer::default(),
            accounts: Vec::new(),
            current: 0,
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
}

/// The whole state of the TUI.
#[derive(Debug, Clone)]
pub struct App {
    /// Layout and behaviour settings.
    pub ui: UiConfig,
    /// Colours.
    pub theme: Theme,
    /// Key bindings.
    pub keymap: Keymap,
    /// The time zone messages are shown in.
    pub tz: TimeZone,
    /// Where the config was read from (for `/config`).
    pub config_path: String,
    /// Terminal size (columns, rows).
    pub size: (u16, u16),
    /// The clock (unix ms), advanced by ticks.
    pub now_ms: i64,
    /// Whether the terminal has the focus (for bells and read markers).
    pub terminal_focused: bool,
    /// The daemon connection.
    pub daemon: DaemonState,
    /// Whether a snapshot was ever applied.
    pub attached_once: bool,
    /// The daemon run last attached to (a new one has forgotten unlocked keys).
    pub daemon_instance: String,
    /// Server profiles, by name.
    pub servers: Vec<ServerState>,
    /// The system buffer.
    pub system: Buffer,
    /// What the middle pane shows.
    pub active: BufferKey,
    /// Which pane gets keys.
    pub focus: Focus,
    /// Selected row of the left pane while it has the focus.
    pub sidebar_cursor: Option<Row>,
    /// Selected user while the user list has the focus.
    pub users_cursor: usize,
    /// Left pane toggled (None: automatic by width).
    pub show_sidebar: Option<bool>,
    /// User list toggled (None: automatic by width).
    pub show_users: Option<bool>,
    /// The input line.
    pub input: Input,
    /// The dialog on top, if any.
    pub popup: Option<Popup>,
    /// Dialogs waiting for the current one to close.
    pub popup_queue: VecDeque<Popup>,
    /// Banners across the top.
    pub banners: Vec<Banner>,
    /// A transient status line message.
    pub flash: Option<Flash>,
    /// A buffer to open as soon as it exists (after `/server add`, `/register`…).
    pub pending_open: Option<BufferKey>,
    /// Set by update to leave.
    pub should_quit: bool,
    /// Set by update when the screen must be redrawn.
    pub dirty: bool,
    /// Next notice sequence number.
    pub notice_seq: u64,
}

impl App {
    /// A fresh model.
    pub fn new(config: &Config, tz: TimeZone, size: (u16, u16), now_ms: i64) -> App {
        let keymap = Keymap::from_config(&config.keys).unwrap_or_default();
        let mut app = App {
            ui: config.ui.clone(),
            theme: config.theme,
            keymap,
            tz,
            config_path: String::new(),
            size,
            now_ms,
            terminal_focused: true,
            daemon: DaemonState::Connecting {
                starting: false,
                last_error: None,
            },
            attached_once: false,
            daemon_instance: String::new(),
            servers: Vec::new(),
            system: Buffer::default(),
            active: BufferKey::System,
            focus: Focus::Input,
            sidebar_cursor: None,
            users_cursor: 0,
            show_sidebar: None,
            show_users: None,
            input: Input::default(),
            popup: None,
            popup_queue: VecDeque::new(),
            banners: Vec::new(),
            flash: None,
            pending_open: None,
            should_quit: false,
            dirty: true,
            notice_seq: 0,
        };
        app.notice(BufferKey::System, Level::Info, WELCOME.to_owned());
        app
    }

    /// Whether the daemon is attached.
    pub fn attached(&self) -> bool {
        matches!(self.daemon, DaemonState::Attached { .. })
    }

    /// The server profile called `name`.
    pub fn server(&self, name: &str) -> Option<&ServerState> {
        self.servers.iter().find(|s| s.profile.name == name)
    }

    /// The server profile called `name`, mutably.
    pub fn server_mut(&mut self, name: &str) -> Option<&mut ServerState> {
        self.servers.iter_mut().find(|s| s.profile.name == name)
    }

    /// An account.
    pub fn account(&self, key: &AccountKey) -> Option<&AccountState> {
        self.server(&key.server)?
            .accounts
            .iter()
            .find(|a| a.key.user == key.user)
    }

    /// An account, mutably.
    pub fn account_mut(&mut self, key: &AccountKey) -> Option<&mut AccountState> {
        self.server_mut(&key.server)?
            .accounts
            .iter_mut()
            .find(|a| a.key.user == key.user)
    }

    /// A conversation.
    pub fn conversation(&self, account: &AccountKey, peer: &str) -> Option<&Conversation> {
        self.account(account)?.conversations.get(peer)
    }

    /// A conversation, mutably.
    pub fn conversation_mut(
        &mut self,
        account: &AccountKey,
        peer: &str,
    ) -> Option<&mut Conversation> {
        self.account_mut(account)?.conversations.get_mut(peer)
    }

    /// The server the active buffer belongs to; on the system buffer, the default or only one.
    pub fn current_server(&self) -> Option<&ServerState> {
        match &self.active {
            BufferKey::Server(name) => self.server(name),
            BufferKey::Conv(account, _) => self.server(&account.server),
            BufferKey::System => {
                self.servers
                    .iter()
                    .find(|s| s.profile.is_default)
                    .or(if self.servers.len() == 1 {
                        self.servers.first()
                    } else {
                        None
                    })
            }
        }
    }

    /// The account commands act for.
    pub fn current_account(&self) -> Option<&AccountState> {
        match &self.active {
            BufferKey::Conv(account, _) => self.account(account),
            _ => self.current_server()?.current_account(),
        }
    }

    /// The buffer behind a key.
    pub fn buffer(&self, key: &BufferKey) -> Option<&Buffer> {
        match key {
            BufferKey::System => Some(&self.system),
            BufferKey::Server(name) => self.server(name).map(|s| &s.buffer),
            BufferKey::Conv(account, peer) => self.conversation(account, peer).map(|c| &c.buffer),
        }
    }

    /// The buffer behind a key, mutably.
    pub fn buffer_mut(&mut self, key: &BufferKey) -> Option<&mut Buffer> {
        match key {
            BufferKey::System => Some(&mut self.system),
            BufferKey::Server(name) => self.server_mut(name).map(|s| &mut s.buffer),
            BufferKey::Conv(account, peer) => {
                self.conversation_mut(account, peer).map(|c| &mut c.buffer)
            }
        }
    }

    /// The active buffer (the system buffer if the active one vanished).
    pub fn active_buffer(&self) -> &Buffer {
        self.buffer(&self.active).unwrap_or(&self.system)
    }

    /// Adds a notice to a buffer (the system buffer when it does not exist).
    pub fn notice(&mut self, key: BufferKey, level: Level, text: String) {
        self.notice_seq += 1;
        let seq = self.notice_seq;
        let notice = Notice {
            time_ms: self.now_ms,
            level,
            text,
        };
        let after = match &key {
            BufferKey::Conv(account, peer) => self.conversation(account, peer).map_or(0, |c| {
                c.last_id.max(c.buffer.last_message_id().unwrap_or(0))
            }),
            _ => 0,
        };
        let key = if self.buffer(&key).is_some() {
            key
        } else {
            BufferKey::System
        };
        if let Some(buffer) = self.buffer_mut(&key) {
            buffer.push_notice(seq, after, notice);
        }
    }

    /// Adds a notice to the active buffer.
    pub fn notice_here(&mut self, level: Level, text: impl Into<String>) {
        self.notice(self.active.clone(), level, text.into());
    }

    /// Shows a transient message on the status line.
    pub fn flash(&mut self, level: Level, text: impl Into<String>) {
        self.flash = Some(Flash {
            text: text.into(),
            level,
            until_ms: self.now_ms + FLASH_MS,
        });
    }

    /// Whether the left pane is shown at the current size.
    pub fn sidebar_visible(&self) -> bool {
        self.show_sidebar
            .unwrap_or(self.ui.show_sidebar && self.size.0 >= self.ui.sidebar_min_width)
    }

    /// Whether the user list is shown at the current size.
    pub fn users_visible(&self) -> bool {
        self.show_users
            .unwrap_or(self.ui.show_users && self.size.0 >= self.ui.users_min_width)
    }

    /// The rows of the left pane, top to bottom.
    pub fn rows(&self) -> Vec<Row> {
        self.row_refs().iter().map(RowRef::to_row).collect()
    }

    /// The rows of the left pane, borrowed (drawing builds only the visible ones).
    pub fn row_refs(&self) -> Vec<RowRef<'_>> {
        let by_name = self.ui.sort_by_name();
        let mut rows = Vec::with_capacity(1 + self.servers.len() + 16);
        rows.push(RowRef::System);
        for server in &self.servers {
            rows.push(RowRef::Server(&server.profile.name));
            let several = server.accounts.len() > 1;
            for account in &server.accounts {
                if several {
                    rows.push(RowRef::Account(&account.key));
                }
                for conv in account.listed(by_name) {
                    rows.push(RowRef::Conv(&account.key, &conv.peer));
                }
                if let BufferKey::Conv(a, p) = &self.active
                    && *a == account.key
                    && account.conversations.get(p).is_some_and(|c| c.hidden)
                {
                    rows.push(RowRef::Conv(a, p));
                }
            }
        }
        rows
    }

    /// The row that shows the active buffer.
    pub fn active_row(&self) -> Row {
        match &self.active {
            BufferKey::System => Row::System,
            BufferKey::Server(name) => {
                let server = self.server(name);
                match server {
                    Some(s) if s.accounts.len() > 1 => s
                        .current_account()
                        .map_or(Row::Server(name.clone()), |a| Row::Account(a.key.clone())),
                    _ => Row::Server(name.clone()),
                }
            }
            BufferKey::Conv(a, p) => Row::Conv(a.clone(), p.clone()),
        }
    }

    /// A title for a buffer.
    pub fn title(&self, key: &BufferKey) -> String {
        match key {
            BufferKey::System => "gochat".into(),
            BufferKey::Server(name) => match self.server(name) {
                Some(s) => {
                    let p = &s.profile;
                    format!(
                        "{} ({}:{}{})",
                        p.name,
                        p.host,
                        p.port,
                        if p.tls { ", TLS" } else { "" }
                    )
                }
                None => name.clone(),
            },
            BufferKey::Conv(account, peer) => {
                let several = self.servers.iter().map(|s| s.accounts.len()).sum::<usize>() > 1;
                if several {
                    format!("{peer} ({})", account.label())
                } else {
                    peer.clone()
                }
            }
        }
    }

    /// Unread messages outside the active conversation.
    pub fn unread_elsewhere(&self) -> u32 {
        let mut n = 0;
        for s in &self.servers {
            for a in &s.accounts {
                for c in a.conversations.values() {
                    if !matches!(&self.active, BufferKey::Conv(ak, p) if *ak == a.key && *p == c.peer)
                    {
                        n += c.unread;
                    }
                }
            }
        }
        n
    }
}

impl UiConfig {
    /// Whether conversations are listed by name rather than by recency.
    pub fn sort_by_name(&self) -> bool {
        self.sort_conversations == "name"
    }
}

/// How long a status line message stays.
pub const FLASH_MS: i64 = 6000;

/// The text of the system buffer on a fresh start.
pub const WELCOME: &str = "Welcome to gochat!\n\
1. Add a server: /server add NAME HOST [PORT]\n\
2. Create an account: /register NAME (or /login NAME)\n\
3. Open a conversation: /msg USER (or Ctrl-N)\n\
Ctrl-K jumps between conversations; F1 lists every key and command.";

pub use gochat_client::names::permission_name;

/// A link state's short name.
pub fn link_state_name(state: LinkState) -> &'static str {
    match state {
        LinkState::Online => "online",
        LinkState::Connecting => "connecting",
        LinkState::LoggingIn => "logging in",
        LinkState::Backoff => "reconnecting",
        LinkState::Locked => "locked",
        LinkState::Offline => "offline",
        LinkState::Unspecified => "unknown",
    }
}
