//! What gochatd does when nobody is looking: desktop notifications for incoming messages
//! ([`desktop`]), hook programs ([`hooks`]) for messages, key changes and link states, and the
//! settings behind both ([`settings`]).
//!
//! The [`Notifier`] listens to the live event stream, so it sees a message only once it is
//! stored, and nothing it does (a slow bus, a hanging hook) can hold up delivery. Muted
//! senders get neither; blocked senders' messages never become events. Notifications skip
//! conversations a frontend shows focused ([`focus`]) and come per sender in bursts
//! ([`coalesce`]).

pub mod coalesce;
pub mod desktop;
pub mod focus;
pub mod hooks;
pub mod settings;
pub mod text;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use gochat_proto::ipc::{self, AccountRef, Event, event};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use self::coalesce::Bursts;
use self::desktop::{Desktop, Note};
use self::focus::{ConversationKey, Focus};
use self::hooks::{HookKind, Hooks, Job};
use self::settings::{SettingError, Settings, Shown};
use crate::events::EventBus;
use crate::store::{NotifyMode, Store, StoreError};

/// The settings (file and live) and the focus reports, shared by the API and the notifier.
#[derive(Debug)]
pub struct NotifyState {
    /// gochatd.toml's values.
    file: Settings,
    /// The values in force.
    current: Arc<RwLock<Settings>>,
    /// Names set live (TOML text by name), as kept in the store.
    live: RwLock<HashMap<String, String>>,
    /// The conversations frontends show focused.
    pub focus: Focus,
}

/// Why a setting could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The name or value is wrong.
    #[error(transparent)]
    Setting(#[from] SettingError),
    /// The store failed.
    #[error("cannot keep the setting")]
    Store(#[from] StoreError),
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl NotifyState {
    /// The file's settings, overridden by those set live (kept in `store`). A live value that
    /// no longer fits is logged and ignored.
    pub async fn load(file: Settings, store: &Store) -> Result<NotifyState, StoreError> {
        let mut current = file.clone();
        let mut live = store.settings().await?;
        live.retain(
            |name, value| match current.set(name, &settings::parse_value(value)) {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(setting = %name, error = %e, "ignoring a stored setting");
                    false
                }
            },
        );
        Ok(NotifyState {
            file,
            current: Arc::new(RwLock::new(current)),
            live: RwLock::new(live),
            focus: Focus::default(),
        })
    }

    /// The settings in force now.
    pub fn current(&self) -> Settings {
        read(&self.current).clone()
    }

    /// Every setting with its source.
    pub fn shown(&self) -> Vec<Shown> {
        read(&self.current).shown(&self.file, &read(&self.live))
    }

    /// Sets `name` to `value` (TOML text) live and keeps it in `store`; `None` resets it to
    /// the file's value. Returns the setting as now shown.
    pub async fn change(
        &self,
        store: &Store,
        name: &str,
        value: Option<&str>,
    ) -> Result<Shown, ChangeError> {
        if name.len() > settings::NAME_MAX {
            return Err(SettingError::unknown(name).into());
        }
        if value.is_some_and(|text| text.len() > settings::VALUE_MAX) {
            return Err(SettingError::Invalid {
                name: name.to_owned(),
                expected: "a value of at most 16 KiB",
            }
            .into());
        }
        let mut next = self.current();
        match value {
            Some(text) => {
                let parsed = settings::parse_value(text);
                next.set(name, &parsed)?;
                // Kept in its canonical form.
                store.put_setting(name, Some(&parsed.to_string())).await?;
                write(&self.live).insert(name.to_owned(), parsed.to_string());
            }
            None => {
                next.reset(name, &self.file)?;
                store.put_setting(name, None).await?;
                write(&self.live).remove(name);
            }
        }
        *write(&self.current) = next;
        let shown = self.shown();
        Ok(shown.into_iter().find(|s| s.name == name).unwrap_or(Shown {
            name: name.to_owned(),
            value: String::new(),
            source: "default",
            help: "",
        }))
    }
}

/// The task that turns events into notifications and hook runs.
pub struct Notifier {
    state: Arc<NotifyState>,
    store: Store,
    desktop: Desktop,
    hooks: Hooks,
    bursts: Bursts,
    /// Aliases looked up for the bursts' senders.
    aliases: HashMap<ConversationKey, Option<String>>,
}

impl Notifier {
    /// Starts the notifier and the hook runner on `tasks`; they end with `cancel`.
    pub fn start(
        state: Arc<NotifyState>,
        store: Store,
        events: &EventBus,
        tasks: &TaskTracker,
        cancel: &CancellationToken,
    ) {
        let live = events.listen();
        let hooks = Hooks::start(state.current.clone(), events.clone(), tasks, cancel.clone());
        let notifier = Notifier {
            state,
            store,
            desktop: Desktop::new(events.clone(), tasks.clone(), cancel.clone()),
            hooks,
            bursts: Bursts::default(),
            aliases: HashMap::new(),
        };
        tasks.spawn(cancel.clone().run_until_cancelled_owned(notifier.run(live)));
    }

    async fn run(mut self, mut live: broadcast::Receiver<Event>) {
        loop {
            let window =
                Duration::from_millis(u64::from(read(&self.state.current).notify.coalesce_ms));
            let due = self.bursts.next_due(window);
            let tick = async {
                match due {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                received = live.recv() => match received {
                    Ok(event) => self.on_event(event).await,
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "the notifier fell behind: some events got no notification or hook");
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                () = tick => {}
            }
            self.flush(window).await;
        }
    }

    async fn on_event(&mut self, event: Event) {
        match event.kind {
            Some(event::Kind::MessageReceived(m)) => {
                if let Err(e) = self.on_message(m).await {
                    tracing::error!(error = %crate::report::chain(&e), "cannot look up a sender's preferences");
                }
            }
            Some(event::Kind::KeyChanged(k)) => {
                let account = k.account.clone().unwrap_or_default();
                let env = vec![
                    ("GOCHAT_ACCOUNT", account.username.clone()),
                    ("GOCHAT_SERVER", account.server.clone()),
                    ("GOCHAT_USER", k.user.clone()),
                    ("GOCHAT_OLD_FINGERPRINT", k.old_fingerprint.clone()),
                    ("GOCHAT_NEW_FINGERPRINT", k.new_fingerprint.clone()),
                ];
                self.hook(HookKind::KeyChange, account, env, String::new())
                    .await;
            }
            Some(event::Kind::LinkState(l)) => {
                let account = l.account.clone().unwrap_or_default();
                let state = ipc::LinkState::try_from(l.state)
                    .unwrap_or(ipc::LinkState::Unspecified)
                    .as_str_name()
                    .trim_start_matches("LINK_STATE_")
                    .to_lowercase();
                let env = vec![
                    ("GOCHAT_ACCOUNT", account.username.clone()),
                    ("GOCHAT_SERVER", account.server.clone()),
                    ("GOCHAT_LINK_STATE", state),
                    ("GOCHAT_DETAIL", l.detail.clone()),
                ];
                self.hook(HookKind::LinkState, account, env, l.detail.clone())
                    .await;
            }
            _ => {}
        }
    }

    async fn hook(
        &self,
        kind: HookKind,
        account: AccountRef,
        env: Vec<(&'static str, String)>,
        stdin: String,
    ) {
        let command = kind.command(&read(&self.state.current)).to_vec();
        if command.is_empty() {
            return;
        }
        let job = Job {
            kind,
            account,
            env,
            stdin,
        };
        self.hooks.submit(job, command).await;
    }

    async fn on_message(&mut self, m: ipc::Message) -> Result<(), StoreError> {
        if m.outgoing {
            return Ok(());
        }
        let account = m.account.clone().unwrap_or_default();
        let Some(account_id) = self
            .store
            .account_id_by_names(&account.server, &account.username)
            .await?
        else {
            return Ok(());
        };
        let prefs = self.store.contact_prefs(account_id, &m.peer).await?;
        if prefs.muted || prefs.blocked {
            return Ok(());
        }
        let env = vec![
            ("GOCHAT_SENDER", m.peer.clone()),
            ("GOCHAT_ACCOUNT", account.username.clone()),
            ("GOCHAT_SERVER", account.server.clone()),
            ("GOCHAT_MESSAGE_ID", m.id.to_string()),
            ("GOCHAT_STAMP", m.stamp.to_string()),
        ];
        self.hook(HookKind::Message, account.clone(), env, m.text.clone())
            .await;
        let settings = self.state.current();
        if !settings.notify.enabled {
            return Ok(());
        }
        let mode = prefs
            .notify
            .unwrap_or_else(|| settings.account_mode(&account.server, &account.username));
        let wanted = match mode {
            NotifyMode::On => true,
            NotifyMode::Off => false,
            NotifyMode::Mentions => text::mentions(&m.text, &account.username),
        };
        if !wanted
            || self
                .state
                .focus
                .is_focused(&account.server, &account.username, &m.peer)
        {
            return Ok(());
        }
        let key = (account.server, account.username, m.peer);
        if self.bursts.add(key.clone(), &m.text, Instant::now()) {
            self.aliases.insert(key, prefs.alias);
        }
        Ok(())
    }

    /// Shows the bursts whose window is over.
    async fn flush(&mut self, window: Duration) {
        let now = Instant::now();
        let due = self.bursts.take_due(window, now);
        let overflow = self.bursts.take_overflow(window, now);
        if due.is_empty() && overflow.is_none() {
            return;
        }
        let settings = self.state.current();
        if let Some(count) = overflow {
            tracing::warn!(
                messages = count,
                "messages from too many senders at once: counted in one notification"
            );
            let note = Note {
                summary: "gochat".into(),
                body: format!("{count} more new messages from other users"),
                account: AccountRef::default(),
                // No conversation to open.
                peer: String::new(),
            };
            self.desktop.show(&settings.notify.bus, &note).await;
        }
        for (key, burst) in due {
            let alias = self.aliases.remove(&key).flatten();
            let (server, username, peer) = key;
            // Focused since the messages came: the user sees them already.
            if self.state.focus.is_focused(&server, &username, &peer) {
                continue;
            }
            let note = Note {
                summary: text::summary(&peer, alias.as_deref()),
                body: text::body(
                    &burst.first,
                    burst.count,
                    &peer,
                    settings.notify.hide_body,
                    settings.notify.max_body as usize,
                ),
                account: AccountRef { server, username },
                peer,
            };
            self.desktop.show(&settings.notify.bus, &note).await;
        }
    }
}
