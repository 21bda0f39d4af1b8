//! Desktop notifications: `org.freedesktop.Notifications.Notify` on the session bus, and
//! the `ActionInvoked` signal of a clicked notification turned into an `open_conversation`
//! event for the frontends. With no bus or no notification server the daemon logs it once
//! and carries on (it tries again at most once a minute, quietly).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use gochat_proto::ipc::{self, AccountRef, event};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::events::EventBus;

const DESTINATION: &str = "org.freedesktop.Notifications";
const PATH: &str = "/org/freedesktop/Notifications";
const INTERFACE: &str = "org.freedesktop.Notifications";
/// The action a click invokes.
const OPEN_ACTION: &str = "default";
/// Least time between two attempts to reach the bus after a failure.
const RETRY: Duration = Duration::from_secs(60);
/// Notifications remembered for their action (older ones are forgotten first).
const REMEMBERED: usize = 256;
/// How long one Notify call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a notification could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum DesktopError {
    /// The session bus could not be reached.
    #[error("cannot reach the session bus")]
    Bus(#[source] zbus::Error),
    /// The notification server refused or is missing.
    #[error("the notification server did not take the notification")]
    Notify(#[source] zbus::Error),
    /// The call took too long.
    #[error("the notification server did not answer in time")]
    Timeout,
}

/// Notifications sent whose action opens a conversation: the account, peer and the unique
/// bus name of the notification server that took it, by notification id; and the ids
/// oldest first.
#[derive(Debug, Default)]
struct Remembered {
    by_id: HashMap<u32, (AccountRef, String, String)>,
    order: VecDeque<u32>,
}

type Actions = Arc<Mutex<Remembered>>;

/// One notification to show.
#[derive(Debug, Clone)]
pub struct Note {
    /// The account it is for.
    pub account: AccountRef,
    /// The other user (the conversation the action opens).
    pub peer: String,
    /// Sender.
    pub summary: String,
    /// Text or count.
    pub body: String,
}

/// The connection to the notification server.
pub struct Desktop {
    events: EventBus,
    tasks: TaskTracker,
    cancel: CancellationToken,
    /// The bus address, the connection, and what stops its action listener.
    connection: Option<(String, zbus::Connection, CancellationToken)>,
    failed_at: Option<Instant>,
    /// The address that failed last.
    failed_bus: String,
    logged: bool,
    actions: Actions,
}

impl Desktop {
    /// Not connected yet: the first notification connects.
    pub fn new(events: EventBus, tasks: TaskTracker, cancel: CancellationToken) -> Desktop {
        Desktop {
            events,
            tasks,
            cancel,
            connection: None,
            failed_at: None,
            failed_bus: String::new(),
            logged: false,
            actions: Arc::default(),
        }
    }

    /// Shows `note` through the bus at `bus` (empty: the session bus); failures are logged
    /// once, then the daemon carries on without notifications.
    pub async fn show(&mut self, bus: &str, note: &Note) {
        // After a failure, wait before trying again, unless the bus address changed.
        let same_bus = self.failed_bus == bus;
        if same_bus && self.failed_at.is_some_and(|at| at.elapsed() < RETRY) {
            return;
        }
        match self.try_show(bus, note).await {
            Ok(()) => {
                if self.failed_at.take().is_some() {
                    tracing::info!("desktop notifications work again");
                }
                self.logged = false;
            }
            Err(e) => {
                self.disconnect();
                self.failed_at = Some(Instant::now());
                bus.clone_into(&mut self.failed_bus);
                if !self.logged {
                    self.logged = true;
                    tracing::warn!(error = %crate::report::chain(&e), "no desktop notifications; carrying on without them");
                }
            }
        }
    }

    async fn try_show(&mut self, bus: &str, note: &Note) -> Result<(), DesktopError> {
        let connection = self.connect(bus).await?;
        let hints: HashMap<&str, zbus::zvariant::Value<'_>> =
            HashMap::from([("category", "im.received".into())]);
        let body = (
            "gochat",
            0u32,
            "",
            note.summary.as_str(),
            note.body.as_str(),
            vec![OPEN_ACTION, "Open"],
            hints,
            -1i32,
        );
        let call =
            connection.call_method(Some(DESTINATION), PATH, Some(INTERFACE), "Notify", &body);
        let reply = tokio::time::timeout(CALL_TIMEOUT, call)
            .await
            .map_err(|_| DesktopError::Timeout)?
            .map_err(DesktopError::Notify)?;
        let id: u32 = reply.body().deserialize().map_err(DesktopError::Notify)?;
        // Only this server's clicks count: any client on the bus can emit the signal.
        let server = reply
            .header()
            .sender()
            .map(ToString::to_string)
            .unwrap_or_default();
        if note.peer.is_empty() {
            // A count over several conversations: nothing to open.
            return Ok(());
        }
        let mut remembered = lock(&self.actions);
        if remembered
            .by_id
            .insert(id, (note.account.clone(), note.peer.clone(), server))
            .is_none()
        {
            remembered.order.push_back(id);
        }
        if remembered.order.len() > REMEMBERED
            && let Some(old) = remembered.order.pop_front()
        {
            remembered.by_id.remove(&old);
        }
        Ok(())
    }

    /// Drops the connection and stops its action listener.
    fn disconnect(&mut self) {
        if let Some((_, _, listening)) = self.connection.take() {
            listening.cancel();
        }
    }

    /// The connection, made on first use along with the task that listens for actions.
    async fn connect(&mut self, bus: &str) -> Result<zbus::Connection, DesktopError> {
        if let Some((address, connection, _)) = &self.connection
            && address == bus
        {
            return Ok(connection.clone());
        }
        self.disconnect();
        let builder = if bus.is_empty() {
            zbus::connection::Builder::session()
        } else {
            zbus::connection::Builder::address(bus)
        }
        .map_err(DesktopError::Bus)?;
        let connection = tokio::time::timeout(CALL_TIMEOUT, builder.build())
            .await
            .map_err(|_| DesktopError::Timeout)?
            .map_err(DesktopError::Bus)?;
        let rule = zbus::MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .interface(INTERFACE)
            .and_then(|b| b.member("ActionInvoked"))
            .map_err(DesktopError::Bus)?
            .build();
        let signals = zbus::MessageStream::for_match_rule(rule, &connection, None)
            .await
            .map_err(DesktopError::Bus)?;
        let (events, actions) = (self.events.clone(), self.actions.clone());
        let listening = self.cancel.child_token();
        self.tasks.spawn(
            listening
                .clone()
                .run_until_cancelled_owned(listen(signals, actions, events)),
        );
        self.connection = Some((bus.to_owned(), connection.clone(), listening));
        Ok(connection)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Turns clicks on our notifications into `open_conversation` events.
async fn listen(mut signals: zbus::MessageStream, actions: Actions, events: EventBus) {
    while let Some(message) = signals.next().await {
        let Ok(message) = message else { continue };
        let Ok((id, action)) = message.body().deserialize::<(u32, String)>() else {
            continue;
        };
        if action != OPEN_ACTION {
            continue;
        }
        let Some((account, peer, server)) = lock(&actions).by_id.get(&id).cloned() else {
            continue;
        };
        let sender = message.header().sender().map(ToString::to_string);
        if sender.as_deref() != Some(server.as_str()) {
            tracing::debug!("ignoring a click signal from another bus client");
            continue;
        }
        tracing::info!(peer = %peer, "notification clicked: asking frontends to open the conversation");
        events
            .emit(event::Kind::OpenConversation(ipc::OpenConversation {
                account: Some(account),
                peer,
            }))
            .await;
    }
}
