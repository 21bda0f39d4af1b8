//! The daemon task: reaches gochatd (starting it when nothing answers), follows its event
//! stream, runs the calls `update` asks for, and reports everything to the loop as
//! [`Msg`]s. When the daemon goes away it says so, keeps retrying, and on return resumes the
//! event stream where it stopped.
//!
//! Calls that must stay in order (sends, read markers, pages) go through one worker; the
//! others (logins, registrations, which can take seconds) run side by side.

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;

use gochat_client::autostart::{self, Launch};
use gochat_client::files::{self, Overwrite};
use gochat_client::socket::{self, ConnectError};

use gochat_proto::ipc::{
    self, AccountRef, DaemonClient, Empty, ExportKeyRequest, HistoryRequest, HookRequest,
    ImportKeyRequest, ListUsersRequest, MarkReadRequest, RegisterRequest, SearchRequest,
    SendRequest, ServerRef, SubscribeRequest, UnlockRequest, UserRef,
};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tonic::Streaming;

use crate::app::AccountKey;
use crate::msg::{AccountOp, Call, DaemonMsg, Msg, Reply, Snapshot};

/// How to reach the daemon.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    /// The socket.
    pub socket: PathBuf,
    /// Start gochatd when nothing answers.
    pub autostart: bool,
    /// The gochatd binary to start (default: found next to us or on PATH).
    pub binary: Option<PathBuf>,
    /// Where a started daemon's output goes.
    pub daemon_log: PathBuf,
}

/// Calls queued for the daemon before the loop reports it busy.
pub const CALL_QUEUE: usize = 256;
/// How long a started daemon may take to answer.
const START_WAIT: Duration = Duration::from_secs(20);
/// Longest pause between reconnection attempts.
const MAX_RETRY: Duration = Duration::from_secs(5);
/// At most one start per this long (a daemon that dies at once is not restarted in a loop).
const RESTART_AFTER: Duration = Duration::from_secs(10);

/// Starts the task; returns the queue for calls.
pub fn spawn(options: DaemonOptions, ui: mpsc::Sender<Msg>) -> mpsc::Sender<Call> {
    let (tx, rx) = mpsc::channel(CALL_QUEUE);
    tokio::spawn(run(options, ui, rx));
    tx
}

fn status_text(s: &tonic::Status) -> String {
    if s.message().is_empty() {
        format!("{:?}", s.code())
    } else {
        s.message().to_owned()
    }
}

async fn report(ui: &mpsc::Sender<Msg>, msg: DaemonMsg) -> bool {
    ui.send(Msg::Daemon(msg)).await.is_ok()
}

struct Starter {
    child: Option<Child>,
    started_at: Option<Instant>,
}

impl Starter {
    fn running(&mut self) -> bool {
        match &mut self.child {
            Some(c) => match c.try_wait() {
                Ok(None) => true,
                Ok(Some(status)) => {
                    tracing::warn!(%status, "the gochatd we started exited");
                    self.child = None;
                    false
                }
                Err(_) => false,
            },
            None => false,
        }
    }
}

async fn run(options: DaemonOptions, ui: mpsc::Sender<Msg>, mut calls: mpsc::Receiver<Call>) {
    let mut last_event: u64 = 0;
    let mut retry = Duration::from_millis(250);
    let mut starter = Starter {
        child: None,
        started_at: None,
    };
    let mut last_error: Option<String> = None;
    loop {
        if !report(
            &ui,
            DaemonMsg::Connecting {
                starting: false,
                last_error: last_error.clone(),
            },
        )
        .await
        {
            return;
        }
        let client = match reach(&options, &ui, &mut starter).await {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::info!(error = %e, "gochatd not reachable");
                if !report(&ui, DaemonMsg::Down(e.clone())).await {
                    return;
                }
                last_error = Some(e);
                None
            }
        };
        if let Some(client) = client {
            match attach(client.clone(), &mut last_event).await {
                Ok((snapshot, stream)) => {
                    tracing::info!(version = %snapshot.status.daemon_version, pid = snapshot.status.pid, "attached to gochatd");
                    if !report(&ui, DaemonMsg::Attached(Box::new(snapshot))).await {
                        return;
                    }
                    retry = Duration::from_millis(250);
                    match serve(client, stream, &mut calls, &ui, &mut last_event).await {
                        Some(reason) => {
                            tracing::warn!(%reason, "lost gochatd");
                            if !report(&ui, DaemonMsg::Down(reason.clone())).await {
                                return;
                            }
                            last_error = Some(reason);
                        }
                        None => return,
                    }
                }
                Err(e) => {
                    if !report(&ui, DaemonMsg::Down(e.clone())).await {
                        return;
                    }
                    last_error = Some(e);
                }
            }
        }
        // Wait before the next attempt, refusing calls meanwhile.
        let until = Instant::now() + retry;
        retry = (retry * 2).min(MAX_RETRY);
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(until) => break,
                call = calls.recv() => match call {
                    Some(call) => {
                        if let Some(reply) = refused(call) {
                            let _ = ui.send(Msg::Daemon(DaemonMsg::Reply(Box::new(reply)))).await;
                        }
                    }
                    None => return,
                },
            }
        }
    }
}

/// Connects; when nothing answers and we may, starts gochatd and waits for it.
async fn reach(
    options: &DaemonOptions,
    ui: &mpsc::Sender<Msg>,
    starter: &mut Starter,
) -> Result<DaemonClient, String> {
    let first = match probe(options).await {
        Ok(c) => return Ok(c),
        // Not ours: never start a daemon there, and never talk to it.
        Err(Probe::Refused(e)) => return Err(e),
        Err(Probe::Down(e)) => e,
    };
    if !options.autostart {
        return Err(format!("{first} (autostart is off)"));
    }
    let recently = starter
        .started_at
        .is_some_and(|t| t.elapsed() < RESTART_AFTER);
    if !starter.running() && !recently {
        autostart::prepare_socket_dir(&options.socket).map_err(|e| error_chain(&e))?;
        let (child, binary) = autostart::start(&Launch {
            program: options.binary.as_deref(),
            socket: Some(&options.socket),
            log: &options.daemon_log,
        })
        .map_err(|e| error_chain(&e))?;
        tracing::info!(binary = %binary.display(), "waiting for the started gochatd");
        starter.child = Some(child);
        starter.started_at = Some(Instant::now());
        report(
            ui,
            DaemonMsg::Connecting {
                starting: true,
                last_error: None,
            },
        )
        .await;
    } else if !starter.running() {
        return Err(first);
    }
    let deadline = Instant::now() + START_WAIT;
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        match probe(options).await {
            Ok(c) => return Ok(c),
            Err(Probe::Refused(e)) => return Err(e),
            Err(Probe::Down(e)) if Instant::now() >= deadline => {
                return Err(format!("the started gochatd does not answer: {e}"));
            }
            Err(Probe::Down(e)) => {
                if !starter.running() {
                    return Err(format!(
                        "gochatd exited at once ({e}); see {}",
                        options.daemon_log.display()
                    ));
                }
            }
        }
    }
}

/// Why [`probe`] found no daemon to use.
enum Probe {
    /// The socket's directory or the daemon is not ours.
    Refused(String),
    /// Nothing (healthy) answers.
    Down(String),
}

/// An error and its causes on one line.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text = format!("{text}: {s_text}");
        }
        source = s.source();
    }
    text
}

/// Connects (only to a daemon of ours, in a private directory) and checks that it answers.
async fn probe(options: &DaemonOptions) -> Result<DaemonClient, Probe> {
    let mut client = socket::connect(&options.socket)
        .await
        .map_err(|e| match e {
            ConnectError::Untrusted(u) => Probe::Refused(format!("refusing gochatd: {u}")),
            ConnectError::Unreachable(e) => Probe::Down(error_chain(&e)),
        })?;
    tokio::time::timeout(Duration::from_secs(5), client.status(Empty {}))
        .await
        .map_err(|_| Probe::Down("gochatd does not answer".to_owned()))?
        .map_err(|s| Probe::Down(status_text(&s)))?;
    Ok(client)
}

/// Subscribes (resuming after `last_event` when there is one) and loads the state.
async fn attach(
    mut client: DaemonClient,
    last_event: &mut u64,
) -> Result<(Snapshot, Streaming<ipc::Event>), String> {
    let status = client
        .status(Empty {})
        .await
        .map_err(|s| status_text(&s))?
        .into_inner();
    // Event ids come from the daemon's store and survive restarts; a store that is behind
    // ours is another one, so start from its present.
    let since = if *last_event > 0 && *last_event <= status.last_event_id {
        *last_event
    } else {
        status.last_event_id
    };
    *last_event = since;
    let stream = client
        .subscribe(SubscribeRequest { since })
        .await
        .map_err(|s| status_text(&s))?
        .into_inner();
    let snapshot = snapshot(&mut client).await?;
    Ok((snapshot, stream))
}

/// Everything the screen needs after attaching.
pub async fn snapshot(client: &mut DaemonClient) -> Result<Snapshot, String> {
    let e = |s: tonic::Status| status_text(&s);
    let status = client.status(Empty {}).await.map_err(e)?.into_inner();
    let servers = client
        .list_servers(Empty {})
        .await
        .map_err(e)?
        .into_inner()
        .servers;
    let accounts = client
        .list_accounts(Empty {})
        .await
        .map_err(e)?
        .into_inner()
        .accounts;
    let mut conversations = Vec::new();
    for account in &accounts {
        if let Some(r) = &account.r#ref {
            let list = client
                .conversations(r.clone())
                .await
                .map_err(e)?
                .into_inner();
            conversations.push((AccountKey::from_ref(r), list));
        }
    }
    Ok(Snapshot {
        status,
        servers,
        accounts,
        conversations,
    })
}

/// Follows the stream and runs calls until the daemon goes away (Some(reason)) or the TUI
/// ends (None).
async fn serve(
    client: DaemonClient,
    mut stream: Streaming<ipc::Event>,
    calls: &mut mpsc::Receiver<Call>,
    ui: &mpsc::Sender<Msg>,
    last_event: &mut u64,
) -> Option<String> {
    let (ordered_tx, mut ordered_rx) = mpsc::channel::<Call>(CALL_QUEUE);
    let worker_client = client.clone();
    let worker_ui = ui.clone();
    let worker = tokio::spawn(async move {
        while let Some(call) = ordered_rx.recv().await {
            if let Some(reply) = execute(worker_client.clone(), call).await
                && worker_ui
                    .send(Msg::Daemon(DaemonMsg::Reply(Box::new(reply))))
                    .await
                    .is_err()
            {
                return;
            }
        }
    });
    let reason = loop {
        tokio::select! {
            event = stream.message() => match event {
                Ok(Some(event)) => {
                    if event.id > 0 {
                        *last_event = (*last_event).max(event.id);
                    }
                    if ui.send(Msg::Daemon(DaemonMsg::Event(Box::new(event)))).await.is_err() {
                        break None;
                    }
                }
                Ok(None) => break Some("gochatd closed the connection".to_owned()),
                Err(s) => break Some(status_text(&s)),
            },
            call = calls.recv() => match call {
                None => break None,
                Some(call) if call.ordered() => {
                    if ordered_tx.send(call).await.is_err() {
                        break Some("internal: the call worker stopped".to_owned());
                    }
                }
                Some(call) => {
                    let client = client.clone();
                    let ui = ui.clone();
                    tokio::spawn(async move {
                        if let Some(reply) = execute(client, call).await {
                            let _ = ui.send(Msg::Daemon(DaemonMsg::Reply(Box::new(reply)))).await;
                        }
                    });
                }
            },
        }
    };
    drop(ordered_tx);
    // Calls already queued still get their (failing) replies.
    let _ = tokio::time::timeout(Duration::from_secs(2), worker).await;
    reason
}

const NOT_REACHABLE: &str = "gochatd is not reachable";

/// The reply to a call made while detached.
fn refused(call: Call) -> Option<Reply> {
    fn err<T>() -> Result<T, String> {
        Err(NOT_REACHABLE.to_owned())
    }
    Some(match call {
        Call::Reload | Call::MarkRead { .. } => return None,
        Call::Send { account, to, .. } => Reply::Sent {
            account,
            to,
            result: err(),
        },
        Call::History {
            account,
            peer,
            before,
            ..
        } => Reply::History {
            account,
            peer,
            before,
            result: err(),
        },
        Call::ListUsers {
            account,
            online_only,
            print,
            ..
        } => Reply::Users {
            account,
            online_only,
            print,
            result: err(),
        },
        other => Reply::Done {
            what: describe(&other),
            account: None,
            reload: false,
            quiet: false,
            result: err(),
        },
    })
}

fn describe(call: &Call) -> String {
    match call {
        Call::Reload => "reload".into(),
        Call::Send { to, .. } => format!("message to {to}"),
        Call::History { peer, .. } => format!("history with {peer}"),
        Call::MarkRead { .. } => "read marker".into(),
        Call::ListUsers { .. } => "user list".into(),
        Call::RequestKey { user, .. } => format!("key of {user}"),
        Call::AcceptKey { user, .. } => format!("accepting {user}'s key"),
        Call::Login(a) => format!("login of {}", a.label()),
        Call::Logout(a) => format!("logout of {}", a.label()),
        Call::Unlock { account, .. } => format!("unlocking {}", account.label()),
        Call::Lock(a) => format!("locking {}", a.label()),
        Call::Register { account, .. } => format!("registration of {}", account.label()),
        Call::Deregister(a) => format!("deregistered {}", a.label()),
        Call::AddServer(p) => format!(
            "added server {} ({}:{})",
            p.name,
            p.host,
            if p.port == 0 {
                "default port".to_owned()
            } else {
                p.port.to_string()
            }
        ),
        Call::UpdateServer(p) => format!("updated server {}", p.name),
        Call::RemoveServer(n) => format!("removed server {n}"),
        Call::Hook {
            hook, subscribe, ..
        } => {
            let name = ipc::Hook::try_from(*hook)
                .map_or_else(|_| hook.to_string(), |h| h.as_str_name().to_owned());
            format!(
                "{} {name}",
                if *subscribe {
                    "subscribed to"
                } else {
                    "unsubscribed from"
                }
            )
        }
        Call::Admin { op, .. } => match op {
            ipc::admin_request::Op::ShutdownAt(at) => {
                format!("scheduled a server shutdown (at unix time {at})")
            }
            ipc::admin_request::Op::Deregister(u) => format!("deregistered (banned) {u}"),
            ipc::admin_request::Op::Broadcast(_) => "broadcast sent".into(),
            ipc::admin_request::Op::SetPermission(p) => {
                format!("set {}'s permission level to {}", p.user, p.level)
            }
            ipc::admin_request::Op::Kick(u) => format!("kicked {u}"),
            ipc::admin_request::Op::Motd(_) => "message of the day changed".into(),
        },
        Call::Search { query, .. } => format!("search for {query:?}"),
        Call::ShowKey(_) => "showing the key".into(),
        Call::ExportKey { path, .. } => format!("export to {path}"),
        Call::ImportKey { path, .. } => format!("import of {path}"),
        Call::Status => "status".into(),
    }
}

fn some_ref(a: &AccountKey) -> Option<AccountRef> {
    Some(a.to_ref())
}

/// Runs one call.
async fn execute(mut c: DaemonClient, call: Call) -> Option<Reply> {
    let e = |s: tonic::Status| status_text(&s);
    let what = describe(&call);
    let done = |account: Option<AccountKey>,
                reload: bool,
                quiet: bool,
                result: Result<(), String>| Reply::Done {
        what: what.clone(),
        account,
        reload,
        quiet,
        result,
    };
    Some(match call {
        Call::Reload => Reply::Snapshot(snapshot(&mut c).await.map(Box::new)),
        Call::Send { account, to, text } => {
            let result = c
                .send(SendRequest {
                    account: some_ref(&account),
                    to: to.clone(),
                    text,
                    wait: false,
                })
                .await
                .map(|r| r.into_inner().messages)
                .map_err(e);
            Reply::Sent {
                account,
                to,
                result,
            }
        }
        Call::History {
            account,
            peer,
            before,
            limit,
        } => {
            let result = c
                .history(HistoryRequest {
                    account: some_ref(&account),
                    peer: peer.clone(),
                    limit,
                    before,
                })
                .await
                .map(tonic::Response::into_inner)
                .map_err(e);
            Reply::History {
                account,
                peer,
                before,
                result,
            }
        }
        Call::MarkRead {
            account,
            peer,
            up_to,
        } => {
            let result = c
                .mark_read(MarkReadRequest {
                    account: some_ref(&account),
                    peer,
                    up_to,
                })
                .await
                .map(|_| ())
                .map_err(e);
            done(Some(account), false, true, result)
        }
        Call::ListUsers {
            account,
            online_only,
            perms,
            print,
        } => {
            let result = c
                .list_users(ListUsersRequest {
                    account: some_ref(&account),
                    online_only,
                    with_permissions: perms,
                })
                .await
                .map(|r| r.into_inner().users)
                .map_err(e);
            Reply::Users {
                account,
                online_only,
                print,
                result,
            }
        }
        Call::RequestKey {
            account,
            user,
            print,
        } => {
            let result = c
                .request_key(UserRef {
                    account: some_ref(&account),
                    user: user.clone(),
                })
                .await
                .map(tonic::Response::into_inner)
                .map_err(e);
            Reply::Contact {
                account,
                user,
                print,
                accepted: false,
                result,
            }
        }
        Call::AcceptKey { account, user } => {
            let result = c
                .accept_key(UserRef {
                    account: some_ref(&account),
                    user: user.clone(),
                })
                .await
                .map(tonic::Response::into_inner)
                .map_err(e);
            Reply::Contact {
                account,
                user,
                print: true,
                accepted: true,
                result,
            }
        }
        Call::Login(account) => {
            let result = c
                .login(account.to_ref())
                .await
                .map(tonic::Response::into_inner)
                .map_err(e);
            Reply::Account {
                account,
                op: AccountOp::Login,
                result,
            }
        }
        Call::Logout(account) => {
            let result = c
                .logout(account.to_ref())
                .await
                .map(tonic::Response::into_inner)
                .map_err(e);
            Reply::Account {
                account,
                op: AccountOp::Logout,
                result,
            }
        }
        Call::Unlock {
            account,
            passphrase,
            login,
        } => {
            let result = c
                .unlock(UnlockRequest {
                    account: some_ref(&account),
                    passphrase: passphrase.expose().to_owned(),
                })
                .await
                .map(tonic::Response::into_inner)
                .map_err(e);
            Reply::Account {
                account,
                op: AccountOp::Unlock { login },
                result,
            }
        }
        Call::Lock(account) => {
            let result = c
                .lock(account.to_ref())
                .await
                .map(tonic::Response::into_inner)
                .map_err(e);
            Reply::Account {
                account,
                op: AccountOp::Lock,
                result,
            }
        }
        Call::Register {
            account,
            passphrase,
        } => {
            let result = c
                .register(RegisterRequest {
                    account: some_ref(&account),
                    passphrase: passphrase.expose().to_owned(),
                })
                .await
                .map(tonic::Response::into_inner)
                .map_err(e);
            Reply::Account {
                account,
                op: AccountOp::Register,
                result,
            }
        }
        Call::Deregister(account) => {
            let result = c.deregister(account.to_ref()).await.map(|_| ()).map_err(e);
            done(Some(account), true, false, result)
        }
        Call::AddServer(profile) => {
            let result = c.add_server(profile).await.map(|_| ()).map_err(e);
            done(None, true, false, result)
        }
        Call::UpdateServer(profile) => {
            let result = c.update_server(profile).await.map(|_| ()).map_err(e);
            done(None, true, false, result)
        }
        Call::RemoveServer(name) => {
            let result = c
                .remove_server(ServerRef { name })
                .await
                .map(|_| ())
                .map_err(e);
            done(None, true, false, result)
        }
        Call::Hook {
            account,
            hook,
            subscribe,
        } => {
            let request = HookRequest {
                account: some_ref(&account),
                hook,
            };
            let result = if subscribe {
                c.subscribe_hook(request).await
            } else {
                c.unsubscribe_hook(request).await
            };
            done(Some(account), false, false, result.map(|_| ()).map_err(e))
        }
        Call::Admin { account, op } => {
            let result = c
                .admin(ipc::AdminRequest {
                    account: some_ref(&account),
                    op: Some(op),
                })
                .await
                .map(|_| ())
                .map_err(e);
            done(Some(account), false, false, result)
        }
        Call::Search {
            account,
            query,
            from,
        } => {
            let result = c
                .search(SearchRequest {
                    account: some_ref(&account),
                    query: query.clone(),
                    from,
                    since: 0,
                    limit: 200,
                })
                .await
                .map(|r| r.into_inner().messages)
                .map_err(e);
            Reply::Search {
                account,
                query,
                result,
            }
        }
        Call::ShowKey(account) => {
            let result = c
                .show_key(account.to_ref())
                .await
                .map(tonic::Response::into_inner)
                .map_err(e);
            Reply::Key { account, result }
        }
        Call::ExportKey { account, path } => {
            let result = match c
                .export_key(ExportKeyRequest {
                    account: some_ref(&account),
                })
                .await
            {
                Ok(r) => write_private(&path, r.into_inner().private_pem).await,
                Err(s) => Err(e(s)),
            };
            Reply::Exported {
                account,
                path,
                result,
            }
        }
        Call::ImportKey {
            account,
            path,
            passphrase,
        } => {
            let result = match tokio::fs::read_to_string(&path).await {
                Ok(pem) => c
                    .import_key(ImportKeyRequest {
                        account: some_ref(&account),
                        private_pem: pem,
                        passphrase: passphrase.expose().to_owned(),
                    })
                    .await
                    .map(tonic::Response::into_inner)
                    .map_err(e),
                Err(err) => Err(format!("cannot read {path}: {err}")),
            };
            Reply::Account {
                account,
                op: AccountOp::Import,
                result,
            }
        }
        Call::Status => Reply::Status(
            c.status(Empty {})
                .await
                .map(tonic::Response::into_inner)
                .map_err(e),
        ),
    })
}

/// Writes a private key to a new 0600 file (never over an existing file).
async fn write_private(path: &str, pem: String) -> Result<(), String> {
    let path = path.to_owned();
    let pem = zeroize::Zeroizing::new(pem);
    tokio::task::spawn_blocking(move || {
        files::write_private(Path::new(&path), pem.as_bytes(), Overwrite::Refuse)
            .map_err(|e| error_chain(&e))
    })
    .await
    .map_err(|e| e.to_string())?
}
