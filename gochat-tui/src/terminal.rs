//! The real terminal: raw mode, the alternate screen, mouse capture, bracketed paste and
//! focus events on the way in, all undone on the way out, including after a panic (the hook
//! restores the terminal before the panic message is printed). Only `main` uses this.

use std::io::{self, Stdout, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::event::{
    DisableBracketedPaste, DisableFocusChange, DisableMouseCapture, EnableBracketedPaste,
    EnableFocusChange, EnableMouseCapture,
};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use crate::run::TerminalControl;

static ACTIVE: AtomicBool = AtomicBool::new(false);

/// The terminal in TUI mode; restored when dropped.
pub struct Tui {
    /// The ratatui terminal.
    pub terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl Tui {
    /// Switches the terminal to TUI mode.
    ///
    /// # Errors
    ///
    /// When the terminal cannot be set up (it is restored first).
    pub fn enter(mouse: bool) -> io::Result<Tui> {
        ACTIVE.store(true, Ordering::SeqCst);
        let setup = || -> io::Result<Terminal<CrosstermBackend<Stdout>>> {
            enable_raw_mode()?;
            let mut out = io::stdout();
            execute!(
                out,
                EnterAlternateScreen,
                EnableBracketedPaste,
                EnableFocusChange
            )?;
            if mouse {
                execute!(out, EnableMouseCapture)?;
            }
            let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
            terminal.clear()?;
            Ok(terminal)
        };
        match setup() {
            Ok(terminal) => Ok(Tui { terminal }),
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        restore();
    }
}

/// Puts the terminal back the way the shell expects it (safe to call more than once).
pub fn restore() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let mut out = io::stdout();
    let _ = execute!(
        out,
        DisableMouseCapture,
        DisableBracketedPaste,
        DisableFocusChange,
        LeaveAlternateScreen,
        cursor::Show
    );
    let _ = disable_raw_mode();
    let _ = out.flush();
}

/// Restores the terminal before any panic message is printed, logs the panic, and ends the
/// process: a panic in a background task (which tokio would otherwise survive) must not
/// leave a TUI drawing on a terminal that is no longer in raw mode.
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        tracing::error!(panic = %info, "gochat-tui panicked");
        previous(info);
        eprintln!(
            "gochat-tui: this is a bug; the log may tell more (see docs/TUI.md, \"Logs and files\")"
        );
        std::process::exit(101);
    }));
}

/// Bell and mouse on the real terminal.
pub struct Crossterm;

impl TerminalControl for Crossterm {
    fn bell(&mut self) {
        let mut out = io::stdout();
        let _ = out.write_all(b"\x07");
        let _ = out.flush();
    }

    fn set_mouse(&mut self, on: bool) {
        let mut out = io::stdout();
        let _ = if on {
            execute!(out, EnableMouseCapture)
        } else {
            execute!(out, DisableMouseCapture)
        };
    }
}
