//! One client session: reads packets, applies the session gate exactly as the deployed server
//! does, dispatches to the handlers, and cleans up when the connection ends.

mod admin;
pub(crate) mod auth;
mod guard;
mod hooks;
mod messaging;
mod msg_rate;
mod query;

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use gochat_proto::wire::{Action, Direction, ErrorCode, Hook, Packet, Request, Response};
use zeroize::Zeroizing;

use crate::admission::Admission;
use crate::cluster::Cluster;
use crate::config::Config;
use crate::conn::{ConnHandle, ReadHalf};
use crate::hub::{Hub, OnlineUser};
use crate::metrics::{Limit, Metrics};
use crate::shutdown::Shutdown;
use crate::sink::MessageSink;
use crate::store::{Store, StoreOutcome, UserRecord};

/// A login in progress on this connection (keyed by connection, so no one else can touch it).
struct PendingLogin {
    username: Bytes,
    user: UserRecord,
    challenge: Zeroizing<Vec<u8>>,
    started: Instant,
}

/// A reply held back so that replies leave in request order while stored messages commit.
enum Deferred {
    /// `OK` once the message is committed; the store's refusal or `ERR_SERVER` otherwise.
    Commit(u16, crate::sink::Committed),
    /// `OK` once the `RECIV` reached the recipient's socket; if it cannot, the message is
    /// stored instead and answered as a [`Deferred::Commit`].
    Delivery(u16, crate::conn::Delivery, Box<crate::store::NewMessage>),
    /// An encoded reply that must wait for the ones before it.
    Ready(Bytes),
}

/// Most replies held back before the session waits for them.
const MAX_DEFERRED: usize = 256;

/// Input read while a catch-up (`RECIV`) streams is kept in the read buffer, up to this many
/// bytes. The kernel's receive queue then stays empty, so
/// a server that dies meanwhile closes the connection with a FIN and the kernel still sends
/// what was already written (and, for a catch-up, deleted). With input left unread it resets
/// the connection instead and drops the written bytes: `RECIV`s that were gone from the store.
const READ_AHEAD: usize = 64 * 1024;

/// What sessions work with: each an explicit dependency, handed over once by the server.
pub struct Deps {
    hub: Arc<Hub>,
    store: Arc<dyn Store>,
    sink: MessageSink,
    config: Config,
    metrics: Arc<Metrics>,
    admission: Arc<Admission>,
    shutdown: Arc<Shutdown>,
    cluster: Arc<dyn Cluster>,
}

impl Deps {
    /// Sessions on `hub` and `store` (offline messages written through `sink`), with the
    /// limits in `config`, counting into `metrics`, rate-limiting logins with `admission`,
    /// ending at `shutdown` (which an admin may schedule), with the other nodes in `cluster`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        hub: Arc<Hub>,
        store: Arc<dyn Store>,
        sink: MessageSink,
        config: Config,
        metrics: Arc<Metrics>,
        admission: Arc<Admission>,
        shutdown: Arc<Shutdown>,
        cluster: Arc<dyn Cluster>,
    ) -> Self {
        Self {
            hub,
            store,
            sink,
            config,
            metrics,
            admission,
            shutdown,
            cluster,
        }
    }
}

/// The state of one connection.
pub struct Session {
    deps: Arc<Deps>,
    conn: ConnHandle,
    user: Option<Arc<OnlineUser>>,
    pending: Option<PendingLogin>,
    /// Replies waiting for their messages to commit (consecutive offline MSGs are pipelined
    /// so that many share one database transaction).
    deferred: std::sync::Mutex<VecDeque<Deferred>>,
    /// When a connection that has never logged in is closed (`login_grace_secs` from accept).
    login_deadline: Option<tokio::time::Instant>,
    /// Failed proofs of key and rate-limited attempts on this connection.
    auth_failures: u32,
    /// The code of the last `ERR` replied (plus one; 0 for none), to tell failed logins.
    last_error: AtomicU8,
    /// The per-sender MSG rate limit.
    msg_rate: std::sync::Mutex<msg_rate::TokenBucket>,
}

impl Session {
    /// A session for a connection that has been greeted.
    pub fn new(deps: Arc<Deps>, conn: ConnHandle) -> Self {
        let msg_rate = msg_rate::TokenBucket::new(deps.config.msg_rate, deps.config.msg_burst);
        Session {
            deps,
            conn,
            user: None,
            pending: None,
            deferred: std::sync::Mutex::default(),
            login_deadline: None,
            auth_failures: 0,
            last_error: AtomicU8::new(0),
            msg_rate: std::sync::Mutex::new(msg_rate),
        }
    }

    /// Closes the connection at `deadline` unless it has logged in by then.
    pub fn with_login_deadline(mut self, deadline: tokio::time::Instant) -> Self {
        self.login_deadline = Some(deadline);
        self
    }

    /// Serves the connection until it ends, then logs the user out.
    pub async fn run(mut self, mut read: ReadHalf) {
        let idle = self.deps.config.idle_timeout();
        // The idle timer counts whole packets: bytes of a packet not yet complete don't
        // restart it (one byte every few seconds keeps nothing open).
        let mut idle_deadline = tokio::time::Instant::now() + idle;
        let mut got_packet = false;
        let mut buf = BytesMut::new();
        // The peer's input ended (or failed) while a packet was handled: read no more.
        let mut input_ended = false;
        loop {
            match Packet::decode(&mut buf, Direction::ToServer) {
                Ok(Some(packet)) => {
                    got_packet = true;
                    if packet.action != Action::Msg {
                        self.flush_deferred().await;
                    }
                    // Boxed: the biggest handler's state is only allocated while it runs. A
                    // catch-up streams for long: the input is read meanwhile (READ_AHEAD).
                    let streams = packet.action == Action::Reciv;
                    let handling = Box::pin(self.handle(packet));
                    if streams {
                        read_ahead_while(handling, &mut read, &mut buf, &mut input_ended).await;
                    } else {
                        handling.await;
                    }
                    if self.deferred_len() >= MAX_DEFERRED {
                        self.flush_deferred().await;
                    }
                    if self.conn.is_closed() {
                        break;
                    }
                    continue;
                }
                Ok(None) => self.flush_deferred().await,
                Err(e) => {
                    self.flush_deferred().await;
                    Metrics::inc(&self.deps.metrics.malformed);
                    tracing::info!(conn = self.conn.id(), error = %crate::error_chain::Chain(&e), "malformed packet, closing");
                    self.send_final(e.error_code()).await;
                    break;
                }
            }
            if buf.is_empty() {
                // Hold no buffer while idle.
                buf = BytesMut::new();
            }
            if got_packet {
                got_packet = false;
                idle_deadline = tokio::time::Instant::now() + idle;
            }
            if self.user.is_some() {
                // The login deadline is met: it applies until the first login only.
                self.login_deadline = None;
            }
            let (deadline, limit) = match self.login_deadline {
                Some(login) if login < idle_deadline => (login, Limit::LoginGrace),
                _ => (idle_deadline, Limit::Idle),
            };
            if input_ended {
                if !buf.is_empty() {
                    // The stream ended in the middle of a packet; the peer may still read.
                    self.send_final(ErrorCode::Conn).await;
                }
                break;
            }
            let read_more = read.read_into(&mut buf);
            let result = tokio::select! {
                r = tokio::time::timeout_at(deadline, read_more) => r,
                () = self.conn.closed() => break,
                () = self.deps.shutdown.requested() => {
                    // Replies held back go first, and the user is logged out before the
                    // goodbye, so nothing is written to this session after its final ERR.
                    let logged_in = self.user.is_some();
                    self.flush_deferred().await;
                    self.end_session();
                    if logged_in {
                        let now = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map_or(0, |d| d.as_secs() as i64);
                        let stamp = gochat_proto::wire::encode_stamp(now).into();
                        self.reply(0, Response::Shtdwn { stamp: Some(stamp) }).await;
                    }
                    self.send_final(ErrorCode::Discn).await;
                    break;
                }
            };
            match result {
                Err(_) => {
                    self.deps.metrics.limit_hit(limit);
                    if limit == Limit::LoginGrace {
                        tracing::info!(conn = self.conn.id(), ip = %self.conn.ip(), "not logged in within the login grace time, closing");
                    } else {
                        tracing::info!(conn = self.conn.id(), ip = %self.conn.ip(), "idle timeout");
                    }
                    self.send_final(ErrorCode::Idle).await;
                    break;
                }
                Ok(Ok(0)) => {
                    if !buf.is_empty() {
                        // The stream ended in the middle of a packet; the peer may still read.
                        self.send_final(ErrorCode::Conn).await;
                    }
                    break;
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    tracing::debug!(conn = self.conn.id(), error = %crate::error_chain::Chain(&e), "read failed");
                    self.send_final(ErrorCode::Conn).await;
                    break;
                }
            }
        }
        self.flush_deferred().await;
        self.end_session();
        self.conn.close();
    }

    /// Sends an ID-0 `ERR` just before closing.
    async fn send_final(&self, code: ErrorCode) {
        if let Ok(bytes) = Packet::error(code, 0).to_bytes() {
            self.conn.send_last(bytes);
        }
    }

    fn lock_deferred(&self) -> std::sync::MutexGuard<'_, VecDeque<Deferred>> {
        self.deferred
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn deferred_len(&self) -> usize {
        self.lock_deferred().len()
    }

    /// Holds back the reply to a MSG until its message is committed or delivered.
    fn defer(&self, item: Deferred) {
        self.lock_deferred().push_back(item);
    }

    /// Waits for every held-back reply and sends them, in order, in one write.
    async fn flush_deferred(&self) {
        let held = std::mem::take(&mut *self.lock_deferred());
        if held.is_empty() {
            return;
        }
        let mut out = BytesMut::new();
        for item in held {
            let packet = match item {
                Deferred::Ready(bytes) => {
                    out.extend_from_slice(&bytes);
                    continue;
                }
                Deferred::Commit(id, committed) => self.committed(id, committed.await),
                Deferred::Delivery(id, delivery, message) => match delivery.wait().await {
                    Ok(()) => {
                        Metrics::inc(&self.deps.metrics.messages_delivered);
                        Response::Ok.to_packet(id)
                    }
                    // Not in the recipient's socket: keep it for catch-up.
                    Err(_) => {
                        let committed = self.deps.sink.submit(*message).await.await;
                        self.committed(id, committed)
                    }
                },
            };
            let _ = packet.encode(&mut out);
        }
        let _ = self.conn.send(out.freeze(), None).await;
    }

    /// The reply to a MSG whose storage finished with `result`.
    fn committed(
        &self,
        id: u16,
        result: Result<Option<crate::sink::Commit>, tokio::sync::oneshot::error::RecvError>,
    ) -> Packet {
        let code = match result.map(|c| c.map(|c| c.outcome)) {
            Ok(Some(StoreOutcome::Stored)) => {
                Metrics::inc(&self.deps.metrics.messages_stored);
                return Response::Ok.to_packet(id);
            }
            Ok(Some(StoreOutcome::MailboxFull)) => {
                Metrics::inc(&self.deps.metrics.mailbox_full);
                ErrorCode::MaxSize
            }
            Ok(Some(StoreOutcome::RecipientDeregistered)) => ErrorCode::Dereg,
            Ok(Some(StoreOutcome::RecipientMissing)) => ErrorCode::NotFound,
            Ok(None) | Err(_) => ErrorCode::Server,
        };
        Response::Err(Some(code)).to_packet(id)
    }

    /// Queues a reply on this connection (behind any held-back replies).
    async fn reply(&self, id: u16, response: Response) {
        let packet = response.to_packet(id);
        let bytes = match packet.to_bytes() {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %crate::error_chain::Chain(&e), action = %packet.action, "reply cannot be encoded");
                match Packet::error(ErrorCode::Packet, id).to_bytes() {
                    Ok(b) => b,
                    Err(_) => return,
                }
            }
        };
        {
            let mut deferred = self.lock_deferred();
            if !deferred.is_empty() {
                deferred.push_back(Deferred::Ready(bytes));
                return;
            }
        }
        let _ = self.conn.send(bytes, None).await;
    }

    async fn ok(&self, id: u16) {
        self.reply(id, Response::Ok).await;
    }

    async fn err(&self, id: u16, code: ErrorCode) {
        self.last_error
            .store(code.code().saturating_add(1), Ordering::Relaxed);
        self.reply(id, Response::Err(Some(code))).await;
    }

    /// The session gate, then the handler.
    async fn handle(&mut self, packet: Packet) {
        let id = packet.id;
        if packet.action == Action::Keep {
            return;
        }
        let request = match Request::from_packet(&packet) {
            Ok(r) => r,
            Err(e) => {
                let code = match e {
                    gochat_proto::wire::CommandError::WrongDirection(_) if self.user.is_none() => {
                        ErrorCode::NoSess
                    }
                    other => other.error_code(),
                };
                return self.err(id, code).await;
            }
        };
        if self.user.is_none() && !self.auth_allowed(id, &request).await {
            return;
        }
        match (&self.user, &request) {
            (Some(_), Request::Reg { .. } | Request::Login { .. } | Request::Verif { .. }) => {
                self.err(id, ErrorCode::Invalid).await;
            }
            (Some(user), _) => {
                let user = user.clone();
                self.dispatch(id, &user, request).await;
            }
            (
                None,
                Request::Reg {
                    username,
                    public_key,
                },
            ) => {
                self.register(id, username, public_key).await;
            }
            (None, Request::Login { username, token }) => {
                self.begin_auth_attempt();
                self.login(id, username.clone(), token.clone()).await;
                self.end_auth_attempt("LOGIN", username);
            }
            (None, Request::Verif { username, answer }) => {
                self.begin_auth_attempt();
                self.verify(id, username.clone(), answer).await;
                self.end_auth_attempt("VERIF", username);
            }
            (None, _) => self.err(id, ErrorCode::NoSess).await,
        }
    }

    async fn dispatch(&mut self, id: u16, user: &Arc<OnlineUser>, request: Request) {
        match request {
            Request::Logout => {
                self.end_session();
                self.ok(id).await;
            }
            Request::Dereg => self.deregister(id, user).await,
            Request::Req { username } => self.request_key(id, &username).await,
            Request::Users(kind) => self.list_users(id, kind).await,
            Request::Msg {
                to,
                stamp,
                ciphertext,
            } => self.message(id, user, to, stamp, ciphertext).await,
            Request::Reciv => self.catch_up(id, user).await,
            Request::Admin { op, args } => self.admin(id, user, op, &args).await,
            Request::Sub(hook) => self.subscribe(id, hook).await,
            Request::Unsub(hook) => self.unsubscribe(id, hook).await,
            Request::Keep | Request::Reg { .. } | Request::Login { .. } | Request::Verif { .. } => {
                self.err(id, ErrorCode::Invalid).await;
            }
        }
    }

    /// Ends the logged-in session (logout, deregistration, kick, disconnect): drops hook
    /// subscriptions, pending logins and the online entry, starts the token's lifetime and
    /// tells NEWLOGOUT subscribers.
    fn end_session(&mut self) {
        let conn = self.conn.id();
        self.deps.hub.unsubscribe_all(conn);
        self.pending = None;
        if let Some(user) = self.user.take() {
            self.deps.hub.activate_token(&user.name, conn);
            if self.deps.hub.remove_online(&user.name, conn) {
                tracing::info!(conn, user = %String::from_utf8_lossy(&user.name), "logged out");
                if let Ok(bytes) = Response::new_logout(user.name.clone())
                    .to_packet(0)
                    .to_bytes()
                {
                    self.deps.hub.notify(Hook::NewLogout, &bytes, None);
                }
            }
        }
    }
}

/// Waits for `handling` while reading the peer's further input into `buf` (at most
/// [`READ_AHEAD`] bytes); `ended` is set when the input ends or fails meanwhile.
async fn read_ahead_while<F>(
    mut handling: std::pin::Pin<Box<F>>,
    read: &mut ReadHalf,
    buf: &mut BytesMut,
    ended: &mut bool,
) where
    F: std::future::Future<Output = ()>,
{
    loop {
        tokio::select! {
            biased;
            () = &mut handling => return,
            r = read.read_into(buf), if !*ended && buf.len() < READ_AHEAD => {
                if !matches!(r, Ok(n) if n > 0) {
                    *ended = true;
                }
            }
        }
    }
}
