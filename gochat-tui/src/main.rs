//! `gochat-tui`: the terminal chat interface. See `gochat-tui --help` and docs/TUI.md.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use crossterm::event::{Event, EventStream, KeyEventKind};
use futures::StreamExt;
use gochat_tui::app::App;
use gochat_tui::cli::Cli;
use gochat_tui::config::{Config, state_dir};
use gochat_tui::daemon::{self, DaemonOptions};
use gochat_tui::msg::Msg;
use gochat_tui::{clock, logging, run, terminal};
use tokio::sync::mpsc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config_path = cli.config.clone().unwrap_or_else(Config::default_path);
    let config = match Config::load(&config_path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gochat-tui: {e:#}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = logging::init(&config) {
        eprintln!("gochat-tui: logging is off: {e}");
    }
    terminal::install_panic_hook();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("gochat-tui: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(run_tui(cli, config, config_path));
    terminal::restore();
    // Tasks blocked on the terminal must not keep the process alive.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "gochat-tui failed");
            eprintln!("gochat-tui: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run_tui(cli: Cli, config: Config, config_path: PathBuf) -> anyhow::Result<()> {
    let socket = cli
        .socket
        .clone()
        .unwrap_or_else(gochat_client::socket::default_socket_path);
    tracing::info!(socket = %socket.display(), "gochat-tui starting");
    let mut tui = terminal::Tui::enter(config.ui.mouse).context("cannot set up the terminal")?;
    let size = tui
        .terminal
        .size()
        .context("cannot read the terminal size")?;
    let tz = jiff::tz::TimeZone::try_system().unwrap_or(jiff::tz::TimeZone::UTC);
    let mut app = App::new(&config, tz, (size.width, size.height), clock::now_ms());
    app.config_path = config_path.display().to_string();
    let (daemon_tx, daemon_rx) = mpsc::channel(1024);
    let calls = daemon::spawn(
        DaemonOptions {
            socket,
            autostart: config.ui.autostart && !cli.no_autostart,
            binary: cli.gochatd.clone(),
            daemon_log: state_dir().join("gochatd.log"),
        },
        daemon_tx,
    );
    let (input_tx, input_rx) = mpsc::channel(256);
    tokio::spawn(read_terminal(input_tx.clone()));
    tokio::spawn(watch_signals(input_tx));
    run::run(
        &mut tui.terminal,
        &mut app,
        input_rx,
        daemon_rx,
        calls,
        &mut terminal::Crossterm,
    )
    .await
    .context("drawing failed")?;
    tracing::info!("gochat-tui quitting");
    Ok(())
}

/// Terminal events as messages (key releases are dropped).
async fn read_terminal(tx: mpsc::Sender<Msg>) {
    let mut events = EventStream::new();
    while let Some(event) = events.next().await {
        let msg = match event {
            Ok(Event::Key(key)) if key.kind != KeyEventKind::Release => Msg::Key(key),
            Ok(Event::Key(_)) => continue,
            Ok(Event::Paste(text)) => Msg::Paste(text),
            Ok(Event::Mouse(mouse)) => Msg::Mouse(mouse),
            Ok(Event::Resize(w, h)) => Msg::Resize(w, h),
            Ok(Event::FocusGained) => Msg::Focus(true),
            Ok(Event::FocusLost) => Msg::Focus(false),
            Err(e) => {
                tracing::error!(error = %e, "cannot read the terminal");
                Msg::Quit
            }
        };
        if tx.send(msg).await.is_err() {
            return;
        }
    }
    let _ = tx.send(Msg::Quit).await;
}

/// SIGTERM, SIGHUP and SIGINT end the TUI cleanly (the terminal is restored).
async fn watch_signals(tx: mpsc::Sender<Msg>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut hup), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
        signal(SignalKind::interrupt()),
    ) else {
        return;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM"),
        _ = hup.recv() => tracing::info!("SIGHUP"),
        _ = int.recv() => tracing::info!("SIGINT"),
    }
    let _ = tx.send(Msg::Quit).await;
}

#[cfg(test)]
mod tests {
    #[test]
    fn verify_cli() {
        use clap::CommandFactory;
        gochat_tui::cli::Cli::command().debug_assert();
    }
}
