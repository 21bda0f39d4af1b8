//! The daemon task: reaches gochatd (starting it when nothing answers), follows its event
//! stream, runs the calls `update` asks for, and reports everything to the loop as
//! [`Msg`]s. When the daemon goes away it says so, keeps retrying, and on return resumes the
//! event stream where it stopped.
//!
//! Calls that must stay in order (sends, read markers, pages) go through one worker; the
//! others (logins, registrations, which can take seconds) run side by side.

use std::path::PathBuf;
use std::process::Child;
use std::time::Duration;

use gochat_client::autostart::{self, Launch};
use gochat_client::socket::{self, ConnectError};

use gochat_client::errors::{DaemonError, chain};
use gochat_proto::ipc::{self, DaemonClient, Empty, SubscribeRequest};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tonic::Streaming;

use crate::app::AccountKey;
use crate::msg::{Call, DaemonMsg, Msg, Reply, Snapshot};

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
    // The conversation reported focused, sent again after every reconnect.
    let mut focus: Option<(AccountKey, String)> = None;
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
                    let link = Link {
                        calls: &mut calls,
                        ui: &ui,
                        last_event: &mut last_event,
                        focus: &mut focus,
                    };
                    match serve(client, stream, link).await {
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
                    Some(Call::Focus(f)) => focus = f,
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
        autostart::prepare_socket_dir(&options.socket).map_err(|e| chain(&e))?;
        let (child, binary) = autostart::start(&Launch {
            program: options.binary.as_deref(),
            socket: Some(&options.socket),
            log: &options.daemon_log,
        })
        .map_err(|e| chain(&e))?;
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

/// Connects (only to a daemon of ours, in a private directory) and checks that it answers.
async fn probe(options: &DaemonOptions) -> Result<DaemonClient, Probe> {
    let mut client = socket::connect(&options.socket)
        .await
        .map_err(|e| match e {
            ConnectError::Untrusted(u) => Probe::Refused(format!("refusing gochatd: {u}")),
            ConnectError::Unreachable(e) => Probe::Down(chain(&e)),
        })?;
    tokio::time::timeout(Duration::from_secs(5), client.status(Empty {}))
        .await
        .map_err(|_| Probe::Down("gochatd does not answer".to_owned()))?
        .map_err(|s| Probe::Down(crate::ops::status_error(&s).to_string()))?;
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
        .map_err(|s| crate::ops::status_error(&s).to_string())?
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
        .map_err(|s| crate::ops::status_error(&s).to_string())?
        .into_inner();
    let snapshot = crate::ops::reload::snapshot(&mut client)
        .await
        .map_err(|e| e.to_string())?;
    Ok((snapshot, stream))
}

/// Follows the stream and runs calls until the daemon goes away (Some(reason)) or the TUI
/// ends (None).
async fn serve(
    client: DaemonClient,
    mut stream: Streaming<ipc::Event>,
    link: Link<'_>,
) -> Option<String> {
    let Link {
        calls,
        ui,
        last_event,
        focus,
    } = link;
    // The focus goes to gochatd on a stream of its own that lasts as long as this attachment.
    let (focus_tx, focus_rx) = mpsc::channel::<ipc::FocusReport>(8);
    let _ = focus_tx.try_send(focus_report(focus));
    let mut focus_client = client.clone();
    let focusing = tokio::spawn(async move {
        // A daemon without ReportFocus (older) just notifies as before.
        let _ = focus_client
            .report_focus(futures::stream::unfold(focus_rx, |mut rx| async move {
                rx.recv().await.map(|report| (report, rx))
            }))
            .await;
    });
    let (ordered_tx, mut ordered_rx) = mpsc::channel::<Call>(CALL_QUEUE);
    let worker_client = client.clone();
    let worker_ui = ui.clone();
    let worker = tokio::spawn(async move {
        while let Some(call) = ordered_rx.recv().await {
            if let Some(reply) = crate::ops::execute(worker_client.clone(), call).await
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
                Err(s) => break Some(crate::ops::status_error(&s).to_string()),
            },
            call = calls.recv() => match call {
                None => break None,
                Some(Call::Focus(f)) => {
                    *focus = f;
                    let _ = focus_tx.try_send(focus_report(focus));
                }
                Some(call) if call.ordered() => {
                    if ordered_tx.send(call).await.is_err() {
                        break Some("internal: the call worker stopped".to_owned());
                    }
                }
                Some(call) => {
                    let client = client.clone();
                    let ui = ui.clone();
                    tokio::spawn(async move {
                        if let Some(reply) = crate::ops::execute(client, call).await {
                            let _ = ui.send(Msg::Daemon(DaemonMsg::Reply(Box::new(reply)))).await;
                        }
                    });
                }
            },
        }
    };
    drop(ordered_tx);
    drop(focus_tx);
    focusing.abort();
    // Calls already queued still get their (failing) replies.
    let _ = tokio::time::timeout(Duration::from_secs(2), worker).await;
    reason
}

/// What one attachment works with, beside its client and stream.
struct Link<'a> {
    calls: &'a mut mpsc::Receiver<Call>,
    ui: &'a mpsc::Sender<Msg>,
    last_event: &'a mut u64,
    focus: &'a mut Option<(AccountKey, String)>,
}

fn focus_report(focus: &Option<(AccountKey, String)>) -> ipc::FocusReport {
    match focus {
        Some((account, peer)) => ipc::FocusReport {
            account: Some(account.to_ref()),
            peer: peer.clone(),
        },
        None => ipc::FocusReport::default(),
    }
}

const NOT_REACHABLE: &str = "gochatd is not reachable";

/// The reply to a call made while detached.
fn refused(call: Call) -> Option<Reply> {
    fn err<T>() -> Result<T, DaemonError> {
        Err(DaemonError {
            transport: true,
            ..DaemonError::local(NOT_REACHABLE)
        })
    }
    Some(match call {
        Call::Reload | Call::MarkRead { .. } | Call::Focus(_) => return None,
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
            what: crate::ops::describe(&other),
            account: None,
            reload: false,
            quiet: false,
            result: err(),
        },
    })
}
