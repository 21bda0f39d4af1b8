//! The loop: waits for the next message (terminal input, the daemon, the clock), runs
//! `update`, carries out the effects, and redraws only when something changed. It is generic
//! over the ratatui backend, so tests can run it on a `TestBackend`.

use std::io;
use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use crate::app::{App, Level};
use crate::msg::{Call, Effect, Msg};
use crate::{clock, ui, update};

/// What the loop needs from the real terminal beyond drawing.
pub trait TerminalControl {
    /// Rings the bell.
    fn bell(&mut self);
    /// Turns mouse capture on or off.
    fn set_mouse(&mut self, on: bool);
}

/// A terminal that has neither (tests).
pub struct NoControl;

impl TerminalControl for NoControl {
    fn bell(&mut self) {}
    fn set_mouse(&mut self, _: bool) {}
}

/// Most daemon messages applied before a redraw (a burst after reattaching is drawn once).
const BATCH: usize = 512;

/// Runs until the user quits or `input` ends.
///
/// # Errors
///
/// When drawing fails.
pub async fn run<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    mut input: mpsc::Receiver<Msg>,
    mut daemon: mpsc::Receiver<Msg>,
    calls: mpsc::Sender<Call>,
    control: &mut dyn TerminalControl,
) -> io::Result<()>
where
    B::Error: Into<io::Error>,
{
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut daemon_open = true;
    loop {
        if app.dirty {
            terminal.draw(|f| ui::draw(f, app)).map_err(Into::into)?;
            app.dirty = false;
        }
        if app.should_quit {
            return Ok(());
        }
        let msg = tokio::select! {
            m = input.recv() => m.unwrap_or(Msg::Quit),
            m = daemon.recv(), if daemon_open => match m {
                Some(m) => m,
                None => {
                    daemon_open = false;
                    continue;
                }
            },
            _ = tick.tick() => Msg::Tick(clock::now_ms()),
        };
        apply(terminal, app, msg, &calls, control)?;
        for _ in 0..BATCH {
            match daemon.try_recv() {
                Ok(m) => apply(terminal, app, m, &calls, control)?,
                Err(_) => break,
            }
        }
        while let Ok(m) = input.try_recv() {
            apply(terminal, app, m, &calls, control)?;
        }
    }
}

fn apply<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    msg: Msg,
    calls: &mpsc::Sender<Call>,
    control: &mut dyn TerminalControl,
) -> io::Result<()>
where
    B::Error: Into<io::Error>,
{
    for effect in update::update(app, msg) {
        match effect {
            Effect::Call(call) => match calls.try_send(call) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    app.flash(Level::Error, "gochatd is busy; try again in a moment");
                    app.dirty = true;
                }
                Err(TrySendError::Closed(_)) => {}
            },
            Effect::Bell => control.bell(),
            Effect::Redraw => {
                terminal.clear().map_err(Into::into)?;
                app.dirty = true;
            }
            Effect::Mouse(on) => control.set_mouse(on),
        }
    }
    Ok(())
}
