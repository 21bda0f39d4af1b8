//! Prints the daemon's events in the shell while the user types, through rustyline's external
//! printer (or plainly when there is no terminal).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use gochat_proto::ipc::event;
use rustyline::ExternalPrinter as _;
use rustyline::history::FileHistory;

use super::complete::{Names, ShellHelper};
use crate::commands::watch::{Item, follow as follow_events};
use crate::output::{WARN, paint};
use crate::views::{Detail, event_line};

/// Sends lines to the terminal without disturbing the prompt.
pub struct Printer {
    lines: mpsc::Sender<String>,
    colored: bool,
}

impl Printer {
    pub fn new(editor: &mut rustyline::Editor<ShellHelper, FileHistory>, colored: bool) -> Printer {
        let (tx, rx) = mpsc::channel::<String>();
        match editor.create_external_printer() {
            Ok(mut printer) => {
                std::thread::spawn(move || {
                    for line in rx {
                        if printer.print(line).is_err() {
                            break;
                        }
                    }
                });
            }
            Err(_) => {
                // No terminal: plain lines on stdout.
                std::thread::spawn(move || {
                    use std::io::Write;
                    for line in rx {
                        let mut out = std::io::stdout().lock();
                        if out
                            .write_all(line.as_bytes())
                            .and_then(|()| out.flush())
                            .is_err()
                        {
                            break;
                        }
                    }
                });
            }
        }
        Printer { lines: tx, colored }
    }

    fn print(&self, line: &str) -> bool {
        // Only our own colors pass; anything else unsafe is shown escaped.
        let line = gochat_client::term::styled(line);
        let mut text = if self.colored {
            line.into_owned()
        } else {
            anstream::adapter::strip_str(&line).to_string()
        };
        text.push('\n');
        self.lines.send(text).is_ok()
    }
}

/// Follows the event stream for the life of the shell.
pub async fn follow(
    socket: PathBuf,
    since: Option<u64>,
    printer: Printer,
    verbose: Arc<AtomicBool>,
    names: Arc<Mutex<Names>>,
) {
    let _ = follow_events(socket, None, since, move |item| {
        let line = match item {
            Item::Event(e) => {
                if let Some(event::Kind::MessageReceived(m)) = &e.kind {
                    names
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .add_user(&m.peer);
                }
                let detail = if verbose.load(Ordering::Relaxed) {
                    Detail::Verbose
                } else {
                    Detail::Normal
                };
                event_line(&e, detail)
            }
            Item::Lost(why) => Some(format!("{} {why}; reconnecting…", paint(WARN, "[DAEMON]"))),
            Item::Reconnected { restarted, .. } => Some(format!(
                "{} {}",
                paint(WARN, "[DAEMON]"),
                if restarted {
                    "gochatd restarted; resumed"
                } else {
                    "reconnected to gochatd"
                }
            )),
        };
        if let Some(line) = line
            && !printer.print(&line)
        {
            return Err(crate::error::CliError::other("the terminal went away"));
        }
        Ok(())
    })
    .await;
}
