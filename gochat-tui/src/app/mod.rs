//! The model: everything the screen shows, and nothing else. It is changed only by
//! [`crate::update::update`] and read by [`crate::ui::draw`]. It holds no I/O handles.
//!
//! What the daemon owns (servers, accounts, conversations, messages) is mirrored here from
//! snapshots and events; what only the TUI has (notices, scroll positions, the input, popups)
//! lives here alone.

mod buffers;
mod popups;
mod rows;
mod switcher;
mod tree;

pub use buffers::*;
pub use popups::*;
pub use rows::*;
pub use switcher::{SwitchItem, switcher_items};
pub use tree::*;

use std::collections::VecDeque;

use gochat_proto::ipc::LinkState;
use jiff::tz::TimeZone;

use crate::config::{Config, Theme, UiConfig};
use crate::input::Input;
use crate::keymap::Keymap;

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
    /// The conversation last reported to gochatd as open and focused (it sends no desktop
    /// notification for it).
    pub reported_focus: Option<(AccountKey, String)>,
}

impl App {
    /// Shows `popup` now, or after the dialogs already open or waiting (a dialog already
    /// waiting is not queued twice).
    pub fn offer_popup(&mut self, popup: Popup) {
        if self.popup.is_none() {
            self.popup = Some(popup);
        } else if !self.popup_queue.contains(&popup) {
            self.popup_queue.push_back(popup);
        }
    }

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
            reported_focus: None,
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
                let name = match self.account(account).and_then(|a| a.aliases.get(peer)) {
                    Some(alias) => format!("{alias} ({peer})"),
                    None => peer.clone(),
                };
                if several {
                    format!("{name} ({})", account.label())
                } else {
                    name
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
