//! `watch [--since ID]`: print events until interrupted (JSON lines with --json). Survives
//! daemon restarts: it reconnects, resubscribes from the last event id it saw, and reports
//! when the daemon is a new instance.

use std::path::PathBuf;
use std::time::Duration;

use gochat_proto::ipc::{self, DaemonClient, event};

use crate::context::Ctx;
use crate::error::Result;
use crate::output::{DIM, WARN, paint};
use crate::time;
use crate::views::{Detail, EventJson, event_line};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Replay the events after this id from the daemon's log first [default: only new events].
    #[arg(long, value_name = "ID")]
    pub since: Option<u64>,
}

/// How often a subscriber checks that the daemon still accepts connections.
const PROBE_INTERVAL: Duration = Duration::from_secs(1);

/// Whether the daemon stopped accepting connections: it is shutting down. (gochatd keeps
/// serving open event streams during its graceful shutdown, and waits for them to end.)
async fn daemon_is_stopping(socket: &std::path::Path) -> bool {
    match tokio::net::UnixStream::connect(socket).await {
        Ok(_) => false,
        Err(e) => matches!(
            e.kind(),
            std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound
        ),
    }
}

/// What the feed reports.
pub enum Item {
    /// An event from the daemon.
    Event(Box<ipc::Event>),
    /// The connection to the daemon broke; reconnecting.
    Lost(String),
    /// Connected again; `restarted` when the daemon is a new instance.
    Reconnected {
        instance_id: String,
        restarted: bool,
    },
}

/// Follows the daemon's events forever, reconnecting after failures. `on` may stop it by
/// returning an error.
pub async fn follow(
    socket: PathBuf,
    mut client: Option<DaemonClient>,
    mut since: Option<u64>,
    mut on: impl FnMut(Item) -> Result<()>,
) -> Result<()> {
    let mut instance: Option<String> = None;
    let mut pause = Duration::from_millis(100);
    loop {
        let connected = match client.take() {
            Some(c) => Some(c),
            None => gochat_client::socket::connect(&socket).await.ok(),
        };
        if let Some(mut c) = connected
            && let Ok(status) = c.status(ipc::Empty {}).await
        {
            let status = status.into_inner();
            let from = since.unwrap_or(status.last_event_id);
            if let Ok(stream) = c.subscribe(ipc::SubscribeRequest { since: from }).await {
                let mut stream = stream.into_inner();
                if let Some(previous) = instance.replace(status.instance_id.clone()) {
                    on(Item::Reconnected {
                        restarted: previous != status.instance_id,
                        instance_id: status.instance_id.clone(),
                    })?;
                }
                since = Some(from);
                pause = Duration::from_millis(100);
                let mut probe = tokio::time::interval(PROBE_INTERVAL);
                probe.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                let why = loop {
                    tokio::select! {
                        message = stream.message() => match message {
                            Ok(Some(ev)) => {
                                if ev.id > 0 {
                                    since = Some(ev.id);
                                }
                                on(Item::Event(Box::new(ev)))?;
                            }
                            Ok(None) => break "gochatd closed the event stream".to_owned(),
                            Err(e) => break format!("lost gochatd: {}", e.message()),
                        },
                        _ = probe.tick() => {
                            if daemon_is_stopping(&socket).await {
                                break "gochatd is stopping".to_owned();
                            }
                        }
                    }
                };
                // Dropping the stream lets a stopping daemon finish its graceful shutdown.
                drop(stream);
                drop(c);
                on(Item::Lost(why))?;
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(2));
    }
}

pub async fn run(args: Args, ctx: &mut Ctx) -> Result<()> {
    let client = ctx.client().await?.clone();
    let out = ctx.out;
    let detail = if ctx.global.verbose {
        Detail::Verbose
    } else {
        Detail::Normal
    };
    let feed = follow(
        ctx.socket(),
        Some(client),
        args.since,
        move |item| match item {
            Item::Event(e) => {
                if out.json {
                    return out.json(&EventJson::from(&*e));
                }
                let Some(line) = event_line(&e, detail) else {
                    return Ok(());
                };
                let is_message = matches!(e.kind, Some(event::Kind::MessageReceived(_)));
                out.print(|w| {
                    if is_message {
                        writeln!(w, "{line}")
                    } else {
                        writeln!(
                            w,
                            "{} {line}",
                            paint(DIM, format!("[{}]", time::short(e.time)))
                        )
                    }
                })
            }
            Item::Lost(why) => {
                if out.json {
                    out.json(&serde_json::json!({ "id": 0, "time": time::now_ms(), "type": "daemon_lost", "reason": why }))
                } else {
                    out.print(|w| writeln!(w, "{} {why}; reconnecting…", paint(WARN, "[DAEMON]")))
                }
            }
            Item::Reconnected {
                instance_id,
                restarted,
            } => {
                if out.json {
                    out.json(&serde_json::json!({
                        "id": 0,
                        "time": time::now_ms(),
                        "instance_id": instance_id,
                        "type": "daemon_reconnected",
                        "restarted": restarted,
                    }))
                } else {
                    let what = if restarted {
                        "gochatd restarted; resumed"
                    } else {
                        "reconnected to gochatd"
                    };
                    out.print(|w| writeln!(w, "{} {what}", paint(WARN, "[DAEMON]")))
                }
            }
        },
    );
    tokio::select! {
        r = feed => r,
        () = interrupted() => Ok(()),
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn interrupted() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut int), Ok(mut term)) => {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        }
        _ => std::future::pending().await,
    }
}
