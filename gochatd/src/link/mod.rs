//! Links: one actor task per account owns its connection to the server. It logs in (token
//! over TLS, else by challenge), catches up, subscribes to hooks, sends the outbox, turns
//! unsolicited packets into stored messages and events, and reconnects with backoff.

mod caller;
mod certificate;
mod client;
mod completion;
mod connect;
mod contacts;
mod inbox;
mod key_fetch;
mod outbox;
pub mod transport;
pub mod untrusted;

pub use self::certificate::rejection_message;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use gochat_proto::crypto::PrivateKey;
use gochat_proto::ipc::{self, AccountRef, LinkState, event};
use gochat_proto::wire::{ErrorCode, Hook, Request, Response, decode_stamp};
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use zeroize::Zeroizing;

pub use caller::Caller;
pub use client::{CallError, Client, PendingCall, Unsolicited};
pub use completion::Completions;
pub use contacts::{KeyCheck, fetch_key, record_key as contacts_record};

use self::inbox::Inbox;
use self::key_fetch::KeyFetcher;
use crate::events::EventBus;
use crate::store::{AccountRow, ServerRow, Store};

/// Time allowed for one request.
const CALL_TIMEOUT: Duration = Duration::from_secs(15);
/// Time allowed to reach the server.
const DIAL_TIMEOUT: Duration = Duration::from_secs(10);
/// Liveness check interval (the server's idle timeout is 25 minutes by default).
const KEEPALIVE: Duration = Duration::from_secs(60);
/// Most received messages held in memory for a store that refuses them (e.g. a full disk);
/// beyond that the link stops reading from the server until the store recovers.
const MAX_STORE_RETRIES: usize = 256;
/// Longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Why a link operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LinkError {
    /// The link is not logged in.
    #[error("not connected to the server ({0})")]
    NotOnline(String),
    /// The request got no usable reply.
    #[error(transparent)]
    Call(#[from] CallError),
    /// The server answered with an error.
    #[error("server refused: {}", describe(*.0))]
    Refused(Option<ErrorCode>),
    /// The server's certificate was refused.
    #[error("{message}")]
    Certificate {
        /// What happened and what to do.
        message: String,
        /// The certificate.
        rejected: crate::store::RejectedCert,
    },
}

/// A human description of a server error code.
pub fn describe(code: Option<ErrorCode>) -> String {
    match code {
        Some(c) => format!("{} ({})", c.name(), c.description()),
        None => "unknown error code".to_owned(),
    }
}

/// What a link reports about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkStatus {
    /// Connection state.
    pub state: LinkState,
    /// Last error or note.
    pub detail: String,
    /// Our permission level on the server, when online.
    pub permission: u8,
    /// Whether the connection is TLS.
    pub secure: bool,
}

enum Command {
    SetKey(Option<Arc<PrivateKey>>, oneshot::Sender<()>),
    SetWanted(bool, oneshot::Sender<()>),
    Call {
        request: Request,
        reply: oneshot::Sender<Result<PendingCall, LinkError>>,
    },
    Register {
        public_pem: String,
        reply: oneshot::Sender<Result<(), LinkError>>,
    },
    Shutdown(oneshot::Sender<()>),
}

/// Handle to an account's link.
#[derive(Debug, Clone)]
pub struct LinkHandle {
    commands: mpsc::Sender<Command>,
    status: watch::Receiver<LinkStatus>,
    outbox: Arc<Notify>,
    completions: Completions,
}

impl LinkHandle {
    /// The current status.
    pub fn status(&self) -> LinkStatus {
        self.status.borrow().clone()
    }

    /// Gives the link the unlocked key (or takes it away, which logs out).
    pub async fn set_key(&self, key: Option<Arc<PrivateKey>>) {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::SetKey(key, tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// Asks the link to stay logged in (`true`) or to log out (`false`); returns once the
    /// link took note (a logout has completed by then).
    pub async fn set_wanted(&self, wanted: bool) {
        let (tx, rx) = oneshot::channel();
        if self
            .commands
            .send(Command::SetWanted(wanted, tx))
            .await
            .is_ok()
        {
            let _ = rx.await;
        }
    }

    /// Waits until the link is online, or has given up (returns the status either way).
    pub async fn wait_settled(&self, timeout: Duration) -> LinkStatus {
        let mut status = self.status.clone();
        let settled = |s: &LinkStatus| {
            matches!(
                s.state,
                LinkState::Online | LinkState::Offline | LinkState::Locked
            ) || (s.state == LinkState::Backoff && !s.detail.is_empty())
        };
        let _ = tokio::time::timeout(timeout, status.wait_for(settled)).await;
        self.status()
    }

    /// Sends a request over the link and returns the server's reply; `ERR` replies become
    /// [`LinkError::Refused`].
    pub async fn call(&self, request: Request) -> Result<Response, LinkError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Call { request, reply: tx })
            .await
            .map_err(|_| LinkError::NotOnline("link stopped".into()))?;
        let pending = rx
            .await
            .map_err(|_| LinkError::NotOnline("link stopped".into()))??;
        match pending.response().await? {
            Response::Err(code) => Err(LinkError::Refused(code)),
            response => Ok(response),
        }
    }

    /// Registers the (offline) account on the server with `public_pem`; on success the link
    /// logs in on the same connection and stays wanted online.
    pub async fn register(&self, public_pem: String) -> Result<(), LinkError> {
        let (reply, done) = oneshot::channel();
        self.commands
            .send(Command::Register { public_pem, reply })
            .await
            .map_err(|_| LinkError::NotOnline("link stopped".into()))?;
        done.await
            .map_err(|_| LinkError::NotOnline("link stopped".into()))?
    }

    /// Tells the link that messages were queued.
    pub fn kick_outbox(&self) {
        self.outbox.notify_one();
    }

    /// Resolves once queued message `id` was answered by the server (SENT or FAILED).
    pub fn completion(&self, id: i64) -> oneshot::Receiver<crate::store::MessageRow> {
        self.completions.watch(id)
    }

    /// Logs out and stops the actor.
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Shutdown(tx)).await.is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(5), rx).await;
        }
    }
}

/// Everything a link needs.
#[derive(Debug, Clone)]
pub struct LinkContext {
    /// The account.
    pub account: AccountRow,
    /// Its server profile.
    pub server: ServerRow,
    /// The daemon's store.
    pub store: Store,
    /// The event bus.
    pub events: EventBus,
    /// Where RSA work runs.
    pub crypto: crate::pool::CryptoPool,
}

impl LinkContext {
    /// The account as the API names it.
    pub fn account_ref(&self) -> AccountRef {
        AccountRef {
            server: self.server.name.clone(),
            username: self.account.username.clone(),
        }
    }
}

/// Starts the actor for an account on `tasks`. The actor and everything it starts (its
/// connection's reader and writer, the outbox, key fetches, store retries) stop when
/// `cancel` is cancelled or the actor is shut down; the actor waits for them before it ends.
pub fn spawn(
    ctx: LinkContext,
    key: Option<Arc<PrivateKey>>,
    tasks: &TaskTracker,
    cancel: CancellationToken,
) -> LinkHandle {
    let (commands, rx) = mpsc::channel(64);
    let initial = LinkStatus {
        state: match (&key, ctx.account.auto_login) {
            (None, _) => LinkState::Locked,
            (Some(_), true) => LinkState::Connecting,
            (Some(_), false) => LinkState::Offline,
        },
        detail: String::new(),
        permission: ctx.account.permission,
        secure: ctx.server.tls,
    };
    let (status_tx, status) = watch::channel(initial);
    let outbox = Arc::new(Notify::new());
    let completions = Completions::default();
    let actor = Actor {
        wanted: ctx.account.auto_login,
        ctx,
        key,
        status: status_tx,
        outbox: outbox.clone(),
        completions: completions.clone(),
        token: None,
        store_retries: Arc::new(tokio::sync::Semaphore::new(MAX_STORE_RETRIES)),
        catching_up: false,
        greeted: None,
        tasks: TaskTracker::new(),
        session: cancel.child_token(),
        cancel,
    };
    tasks.spawn(actor.run(rx));
    LinkHandle {
        commands,
        status,
        outbox,
        completions,
    }
}

enum Exit {
    Stop,
    Reconnect(String),
    Offline,
}

enum LoginError {
    /// Retrying will not help (unknown user, wrong key, deregistered).
    Fatal(String),
    /// Worth retrying later.
    Retry(String),
}

struct Actor {
    ctx: LinkContext,
    key: Option<Arc<PrivateKey>>,
    wanted: bool,
    status: watch::Sender<LinkStatus>,
    outbox: Arc<Notify>,
    completions: Completions,
    token: Option<Zeroizing<Vec<u8>>>,
    /// Bounds the received messages held in memory for a failing store.
    store_retries: Arc<tokio::sync::Semaphore>,
    /// Whether the server answered the last login's `RECIV` with OK (stored messages follow).
    catching_up: bool,
    /// A connection opened to register the account, for the login that follows.
    greeted: Option<(Client, client::Unsolicited)>,
    /// The link's own tasks (connection reader and writer, outbox, key fetches, retries).
    tasks: TaskTracker,
    /// Cancelled when the link stops.
    cancel: CancellationToken,
    /// Cancelled when the current connection ends.
    session: CancellationToken,
}

impl Actor {
    async fn set_state(&self, state: LinkState, detail: impl Into<String>, permission: Option<u8>) {
        let detail = detail.into();
        let mut next = self.status.borrow().clone();
        if next.state == state
            && next.detail == detail
            && permission.is_none_or(|p| p == next.permission)
        {
            return;
        }
        next.state = state;
        next.detail = detail;
        if let Some(p) = permission {
            next.permission = p;
        }
        self.status.send_replace(next.clone());
        self.ctx
            .events
            .emit(event::Kind::LinkState(ipc::Link {
                account: Some(self.ctx.account_ref()),
                state: state as i32,
                detail: next.detail,
                permission: u32::from(next.permission),
                secure: next.secure,
            }))
            .await;
    }

    async fn set_wanted(&mut self, wanted: bool) {
        if self.wanted == wanted {
            return;
        }
        self.wanted = wanted;
        self.ctx.account.auto_login = wanted;
        // Re-read the row so that only this field changes (the key may have been re-sealed).
        let saved = match self.ctx.store.account_by_id(self.ctx.account.id).await {
            Ok(Some(mut row)) => {
                row.auto_login = wanted;
                self.ctx.store.update_account(&row).await
            }
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        };
        if let Err(e) = saved {
            tracing::error!(error = %crate::report::chain(&e), "cannot save the account's login preference");
        }
    }

    async fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        self.serve(&mut rx).await;
        // Whatever the link started dies with it.
        self.cancel.cancel();
        self.tasks.close();
        self.tasks.wait().await;
    }

    /// The next command, or `None` once every handle is gone or the link is cancelled.
    async fn next_command(&self, rx: &mut mpsc::Receiver<Command>) -> Option<Command> {
        self.cancel.run_until_cancelled(rx.recv()).await.flatten()
    }

    async fn serve(&mut self, rx: &mut mpsc::Receiver<Command>) {
        let mut backoff = Duration::from_secs(1);
        loop {
            let Some(key) = self.key.clone().filter(|_| self.wanted) else {
                let state = if self.key.is_none() {
                    LinkState::Locked
                } else {
                    LinkState::Offline
                };
                let detail = self.status.borrow().detail.clone();
                self.set_state(state, detail, None).await;
                match self.next_command(rx).await {
                    None => return,
                    Some(cmd) => {
                        if self.offline_command(cmd).await {
                            return;
                        }
                    }
                }
                continue;
            };
            self.set_state(LinkState::Connecting, "", None).await;
            if self.greeted.is_none() {
                self.session = self.cancel.child_token();
            }
            let connected = self.connect(&key).await;
            if connected.is_err() {
                self.session.cancel();
            }
            match connected {
                Ok((client, unsolicited)) => {
                    backoff = Duration::from_secs(1);
                    let exit = self.online(client, unsolicited, rx).await;
                    self.session.cancel();
                    match exit {
                        Exit::Stop => return,
                        Exit::Offline => continue,
                        Exit::Reconnect(reason) => {
                            tracing::info!(account = %self.ctx.account.username, %reason, "connection lost");
                            self.set_state(LinkState::Backoff, reason, None).await;
                        }
                    }
                }
                Err(LoginError::Fatal(detail)) => {
                    tracing::warn!(account = %self.ctx.account.username, %detail, "login failed");
                    self.set_wanted(false).await;
                    self.set_state(LinkState::Offline, detail, None).await;
                    continue;
                }
                Err(LoginError::Retry(detail)) => {
                    self.set_state(LinkState::Backoff, detail, None).await;
                }
            }
            // Exponential backoff with jitter; commands are still served meanwhile.
            let jitter =
                Duration::from_millis(rand::random::<u64>() % (backoff.as_millis() as u64 / 2 + 1));
            let deadline = tokio::time::Instant::now() + backoff + jitter;
            backoff = (backoff * 2).min(MAX_BACKOFF);
            loop {
                tokio::select! {
                    () = tokio::time::sleep_until(deadline) => break,
                    cmd = self.next_command(rx) => match cmd {
                        None => return,
                        Some(cmd) => {
                            let retry_now = matches!(cmd, Command::SetWanted(true, _) | Command::SetKey(Some(_), _) | Command::Register { .. });
                            if self.offline_command(cmd).await {
                                return;
                            }
                            if retry_now || !self.wanted || self.key.is_none() {
                                backoff = Duration::from_secs(1);
                                break;
                            }
                        }
                    }
                }
            }
        }
    }

    /// Shows `Connecting` at once when a command makes the link go online, so that callers
    /// waiting for the outcome never mistake the old state for it.
    async fn announce_connecting(&self) {
        if self.wanted && self.key.is_some() {
            self.set_state(LinkState::Connecting, "", None).await;
        }
    }

    /// Serves a command while not logged in. Returns true when the actor must stop.
    async fn offline_command(&mut self, cmd: Command) -> bool {
        match cmd {
            Command::SetKey(key, done) => {
                self.key = key;
                self.announce_connecting().await;
                let _ = done.send(());
            }
            Command::SetWanted(wanted, done) => {
                self.set_wanted(wanted).await;
                if wanted {
                    self.announce_connecting().await;
                } else {
                    self.set_state(LinkState::Offline, "logged out", None).await;
                }
                let _ = done.send(());
            }
            Command::Call { reply, .. } => {
                let detail = self.status.borrow().detail.clone();
                let state = self.status.borrow().state;
                let why = if detail.is_empty() {
                    format!("{state:?}")
                } else {
                    detail
                };
                let _ = reply.send(Err(LinkError::NotOnline(why)));
            }
            Command::Register { public_pem, reply } => {
                self.session = self.cancel.child_token();
                match self.register(public_pem).await {
                    Ok(connection) => {
                        self.greeted = Some(connection);
                        self.set_wanted(true).await;
                        self.announce_connecting().await;
                        let _ = reply.send(Ok(()));
                    }
                    Err(e) => {
                        self.session.cancel();
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Command::Shutdown(done) => {
                let _ = done.send(());
                return true;
            }
        }
        false
    }

    async fn online(
        &mut self,
        client: Client,
        mut unsolicited: client::Unsolicited,
        rx: &mut mpsc::Receiver<Command>,
    ) -> Exit {
        let Some(key) = self.key.clone() else {
            return Exit::Offline;
        };
        // Helpers send their requests through this actor, the connection's only owner.
        let (caller, mut calls) = Caller::channel();
        self.tasks
            .spawn(self.session.clone().run_until_cancelled_owned(outbox::run(
                self.ctx.clone(),
                caller.clone(),
                self.outbox.clone(),
                self.completions.clone(),
            )));
        self.outbox.notify_one();
        // Unknown senders' keys: a bounded queue for this connection, ended with it.
        let keys = KeyFetcher::start(
            self.ctx.clone(),
            caller.clone(),
            &self.tasks,
            self.session.clone(),
        );
        // Received messages: decrypted on the pool, stored in order, in batches. The storer
        // stores what is queued even after the connection ends.
        let inbox = Inbox::start(
            self.ctx.clone(),
            std::mem::take(&mut self.catching_up),
            inbox::Shared {
                retries: self.store_retries.clone(),
                tasks: self.tasks.clone(),
                cancel: self.cancel.clone(),
            },
        );
        let mut keepalive = tokio::time::interval(KEEPALIVE);
        keepalive.tick().await;
        let exit = loop {
            tokio::select! {
                packet = unsolicited.recv() => match packet {
                    Some(Ok(packet)) => self.on_unsolicited(&inbox, &keys, &key, packet).await,
                    Some(Err(reason)) => break Exit::Reconnect(reason),
                    None => break Exit::Reconnect("connection closed".into()),
                },
                Some(call) = calls.recv() => {
                    let _ = call.reply.send(client.begin_call(&call.request).await);
                }
                cmd = self.next_command(rx) => match cmd {
                    None => {
                        logout(&client).await;
                        break Exit::Stop;
                    }
                    Some(Command::SetKey(None, done)) => {
                        logout(&client).await;
                        self.key = None;
                        let _ = done.send(());
                        break Exit::Offline;
                    }
                    Some(Command::SetKey(Some(k), done)) => {
                        self.key = Some(k);
                        let _ = done.send(());
                    }
                    Some(Command::SetWanted(true, done)) => {
                        self.set_wanted(true).await;
                        let _ = done.send(());
                    }
                    Some(Command::SetWanted(false, done)) => {
                        logout(&client).await;
                        self.set_wanted(false).await;
                        self.set_state(LinkState::Offline, "logged out", None).await;
                        let _ = done.send(());
                        break Exit::Offline;
                    }
                    Some(Command::Call { request, reply }) => {
                        let _ = reply.send(client.begin_call(&request).await.map_err(LinkError::from));
                    }
                    Some(Command::Register { reply, .. }) => {
                        let _ = reply.send(Err(LinkError::NotOnline("the account is already online".into())));
                    }
                    Some(Command::Shutdown(done)) => {
                        logout(&client).await;
                        let _ = done.send(());
                        break Exit::Stop;
                    }
                },
                _ = keepalive.tick() => {
                    // KEEP has no reply, so ask for our own key: it keeps the session alive
                    // and proves the server still answers (a silent peer is a dead link).
                    let ping = Request::Req { username: Bytes::from(self.ctx.account.username.clone()) };
                    if let Err(e @ (CallError::Timeout(_) | CallError::Disconnected)) = client.call(&ping).await {
                        break Exit::Reconnect(format!("server stopped answering: {e}"));
                    }
                }
            }
        };
        // What this connection received is stored before the next connection's messages.
        inbox.close().await;
        exit
    }

    async fn on_unsolicited(
        &mut self,
        inbox: &Inbox,
        keys: &KeyFetcher,
        key: &Arc<PrivateKey>,
        packet: gochat_proto::wire::Packet,
    ) {
        let response = match Response::from_packet(&packet) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "unreadable packet from the server");
                return;
            }
        };
        match response {
            Response::Reciv {
                from,
                stamp,
                ciphertext,
            } => {
                // Like the Go client, learn an unknown sender's key at once (pinned on first
                // use), through the connection's bounded fetch queue.
                if let Some(peer) = inbox.push(key, &from, &stamp, ciphertext).await {
                    keys.request(&peer);
                }
            }
            Response::Hook { hook, args } => {
                let Some(fired) = self.hook_event(hook, &args) else {
                    return;
                };
                if hook == Hook::PermsChg && fired.user == self.ctx.account.username {
                    let level = fired.permission as u8;
                    self.set_state(LinkState::Online, "", Some(level)).await;
                }
                self.ctx.events.emit(event::Kind::Hook(fired)).await;
            }
            Response::Shtdwn { stamp } => {
                let at = stamp.and_then(|s| decode_stamp(&s).ok()).unwrap_or(0);
                self.ctx
                    .events
                    .emit(event::Kind::Shutdown(ipc::ShutdownNotice {
                        account: Some(self.ctx.account_ref()),
                        at,
                    }))
                    .await;
            }
            Response::Err(code) => {
                tracing::info!(code = %describe(code), "server is closing the connection");
            }
            other => tracing::debug!(action = %other.action(), "ignoring unsolicited packet"),
        }
    }

    /// The event for a hook, with its user name and address checked: a hook naming an
    /// invalid user is dropped; an invalid DUPSESS address is shown as empty.
    fn hook_event(&self, hook: Hook, args: &[Bytes]) -> Option<ipc::HookFired> {
        let first = args.first().map_or(&[][..], |a| &a[..]);
        let (user, ip) = if hook == Hook::DupSess {
            let ip = untrusted::server_ip(first).unwrap_or_else(|| {
                tracing::warn!(ip = %untrusted::shown(first), "DUPSESS hook with an invalid address");
                String::new()
            });
            (String::new(), ip)
        } else {
            let Some(user) = untrusted::server_username(first) else {
                tracing::warn!(hook = ?hook, user = %untrusted::shown(first), "dropped a hook naming an invalid user");
                return None;
            };
            (user, String::new())
        };
        Some(ipc::HookFired {
            account: Some(self.ctx.account_ref()),
            hook: i32::from(hook.code()),
            user,
            permission: args
                .get(1)
                .and_then(|p| p.first())
                .map_or(0, |&p| u32::from(p)),
            ip,
        })
    }
}

async fn logout(client: &Client) {
    let _ = tokio::time::timeout(Duration::from_secs(2), client.call(&Request::Logout)).await;
}
