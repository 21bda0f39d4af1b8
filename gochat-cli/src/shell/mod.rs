//! The interactive shell: a rustyline prompt showing the selected server and account, with
//! history and completion. Each line is a gochat-cli command (or a Go shell command, see
//! [`aliases`]) run on the shared connection; messages and events are printed as they arrive
//! through rustyline's external printer, without breaking the line being typed.

mod aliases;
mod complete;
mod events;

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use clap::{CommandFactory, Parser};
use gochat_client::term;
use gochat_proto::ipc;
use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::{Config, Editor};

use crate::cli::Command;
use crate::commands::{self, account, shell::Args};
use crate::context::Ctx;
use crate::error::{CliError, Kind, Result};
use crate::global::Global;
use crate::output::{BAD, paint};
use aliases::{BUILTINS, GO_COMMANDS, Line};
use complete::{Names, ShellHelper};

/// One shell line, parsed like the command line (without the program name).
#[derive(Debug, Parser)]
#[command(
    name = "gochat",
    no_binary_name = true,
    disable_version_flag = true,
    max_term_width = 100
)]
pub(crate) struct LineCli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// The default history file.
fn history_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local").join("state"))
        })?;
    Some(base.join("gochat").join("cli_history"))
}

struct Shell<'a> {
    ctx: &'a mut Ctx,
    names: Arc<Mutex<Names>>,
    verbose: Arc<AtomicBool>,
    /// `alice@local`, resolved after every command for the prompt.
    label: Option<String>,
    online: bool,
}

pub fn run(args: &Args, ctx: &mut Ctx) -> Result<()> {
    let runtime = ctx.runtime.clone();
    // Reach (or start) the daemon first, so that problems show before the prompt does.
    runtime.block_on(ctx.client())?;
    let config = Config::builder()
        .auto_add_history(true)
        .max_history_size(5000)
        .map_err(rl_error)?
        .build();
    let mut editor: Editor<ShellHelper, FileHistory> =
        Editor::with_config(config).map_err(rl_error)?;
    let names = Arc::new(Mutex::new(Names::default()));
    editor.set_helper(Some(ShellHelper {
        names: names.clone(),
        command: LineCli::command(),
    }));
    let history = args.history_file.clone().or_else(history_path);
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    let verbose = Arc::new(AtomicBool::new(ctx.global.verbose));
    if !args.quiet {
        let printer = events::Printer::new(&mut editor, ctx.out.colored());
        let socket = ctx.socket();
        // From the daemon's current event on: nothing emitted after the prompt shows is missed.
        let client = runtime.block_on(ctx.client())?;
        let since = runtime
            .block_on(client.status(ipc::Empty {}))?
            .into_inner()
            .last_event_id;
        runtime.spawn(events::follow(
            socket,
            Some(since).filter(|s| *s > 0),
            printer,
            verbose.clone(),
            names.clone(),
        ));
    }
    let mut shell = Shell {
        ctx,
        names,
        verbose,
        label: None,
        online: false,
    };
    shell.refresh();
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        println!("gochat shell: type help for the commands, exit (or Ctrl-D) to leave");
    }
    loop {
        let prompt = shell.prompt();
        match editor.readline(&prompt) {
            Ok(line) => {
                if shell.line(&line, &mut editor)? {
                    break;
                }
                shell.refresh();
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(rl_error(e)),
        }
    }
    if let Some(path) = &history {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = editor.save_history(path);
    }
    Ok(())
}

fn rl_error(e: ReadlineError) -> CliError {
    CliError::other(format!("line editor failed: {e}"))
}

fn is_command(word: &str) -> bool {
    LineCli::command().find_subcommand(word).is_some()
}

impl Shell<'_> {
    fn prompt(&self) -> String {
        match (&self.label, self.online) {
            (Some(label), true) => format!("gochat({}) > ", term::line(label)),
            (Some(label), false) => format!("(not connected) gochat({}) > ", term::line(label)),
            (None, _) => "(not connected) gochat > ".to_owned(),
        }
    }

    /// Updates the prompt's account and the completer's names.
    fn refresh(&mut self) {
        let runtime = self.ctx.runtime.clone();
        let account = self.ctx.account();
        let resolved = runtime.block_on(account::resolve(self.ctx, &account)).ok();
        self.label = resolved
            .as_ref()
            .and_then(|a| a.r#ref.as_ref())
            .map(|r| format!("{}@{}", r.username, r.server));
        self.online = resolved
            .as_ref()
            .is_some_and(|a| a.state == ipc::LinkState::Online as i32);
        let servers = runtime
            .block_on(commands::server::list(self.ctx))
            .unwrap_or_default();
        let accounts = runtime
            .block_on(account::list(self.ctx))
            .unwrap_or_default();
        let peers = runtime
            .block_on(commands::conversations::list(self.ctx))
            .unwrap_or_default();
        let mut names = self
            .names
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        names.servers = servers.into_iter().map(|s| s.name).collect();
        names.accounts = accounts
            .into_iter()
            .filter_map(|a| a.r#ref)
            .map(|r| r.username)
            .collect();
        names.accounts.sort();
        names.accounts.dedup();
        for c in peers {
            names.add_user(&c.peer);
        }
    }

    /// Runs one line; `true` to leave.
    fn line(&mut self, text: &str, editor: &mut Editor<ShellHelper, FileHistory>) -> Result<bool> {
        let words = match shell_words::split(text) {
            Ok(w) => w,
            Err(e) => {
                error(&format!("cannot read the line: {e}"));
                return Ok(false);
            }
        };
        match aliases::translate(&words, is_command) {
            Line::Empty => {}
            Line::Exit => return Ok(true),
            Line::Help(topic) => help(topic.as_deref()),
            Line::Clear => {
                let _ = editor.clear_screen();
            }
            Line::Verbose => {
                let now = !self.verbose.fetch_xor(true, Ordering::SeqCst);
                println!("verbose: {}", if now { "on (every event)" } else { "off" });
            }
            Line::Use(args) => self.select(&args),
            Line::Invalid(why) => error(&why),
            Line::RegisterAsk => match crate::prompt::line("Username: ") {
                Ok(name) if !name.is_empty() => {
                    self.run(vec!["account".into(), "register".into(), name])
                }
                Ok(_) => error("no username given"),
                Err(e) => error(&e.message),
            },
            Line::Conn { target, no_verify } => self.conn(&target, no_verify),
            Line::Run(argv) => self.run(argv),
        }
        Ok(false)
    }

    /// Parses and runs a gochat-cli command line.
    fn run(&mut self, argv: Vec<String>) {
        let parsed = match LineCli::try_parse_from(&argv) {
            Ok(p) => p,
            Err(e) => {
                let _ = e.print();
                return;
            }
        };
        if matches!(parsed.command, Command::Shell(_)) {
            error("you are in the shell already");
            return;
        }
        // Logging in or registering as someone selects that account.
        let selects = match &parsed.command {
            Command::Account(account::Command::Register { name, .. }) => Some(name.clone()),
            Command::Account(account::Command::Login { name: Some(name) }) => Some(name.clone()),
            _ => None,
        };
        let line_server = parsed.global.server.clone();
        let mut ctx = self.ctx.for_line(&parsed.global);
        let runtime = ctx.runtime.clone();
        let outcome = runtime.block_on(async {
            tokio::select! {
                r = crate::dispatch::dispatch(parsed.command, &mut ctx) => r,
                _ = tokio::signal::ctrl_c() => Err(CliError::new(Kind::Interrupted, "interrupted")),
            }
        });
        self.ctx.adopt_client(&ctx);
        match outcome {
            Ok(()) => {
                if let Some(name) = selects {
                    self.ctx.global.account = Some(name);
                    if line_server.is_some() {
                        self.ctx.global.server = line_server;
                    }
                }
            }
            Err(e) if matches!(e.kind, Kind::BrokenPipe | Kind::Interrupted) => {}
            Err(e) => {
                if e.kind == Kind::Unreachable {
                    // Reconnect (and start the daemon if needed) on the next line.
                    self.ctx.set_client(None);
                }
                error(&e.message);
            }
        }
    }

    /// `use`: show or select the server and account.
    fn select(&mut self, args: &[String]) {
        match args {
            [] => {}
            [one] if one.contains('@') => {
                let (account, server) = one.split_once('@').unwrap_or_default();
                self.ctx.global.account = (!account.is_empty()).then(|| account.to_owned());
                self.ctx.global.server = (!server.is_empty()).then(|| server.to_owned());
            }
            [server] => {
                self.ctx.global.server = Some(server.clone());
                self.ctx.global.account = None;
            }
            [server, account] => {
                self.ctx.global.server = Some(server.clone());
                self.ctx.global.account = Some(account.clone());
            }
            _ => {
                error("usage: use [SERVER [ACCOUNT]] | use ACCOUNT@SERVER");
                return;
            }
        }
        self.refresh();
        match &self.label {
            Some(label) => println!(
                "using {}{}",
                term::line(label),
                if self.online { "" } else { " (not connected)" }
            ),
            None => println!(
                "server: {}, account: {} (not resolved: see `server list` and `account list`)",
                term::line(self.ctx.global.server.as_deref().unwrap_or("(default)")),
                term::line(self.ctx.global.account.as_deref().unwrap_or("(default)"))
            ),
        }
    }

    /// CONN: select a server (by profile name, or address and port, adding a profile when
    /// none matches), then log in.
    fn conn(&mut self, target: &[String], no_verify: bool) {
        let runtime = self.ctx.runtime.clone();
        let servers = match runtime.block_on(commands::server::list(self.ctx)) {
            Ok(s) => s,
            Err(e) => return error(&e.message),
        };
        let name = match target {
            [name] => match servers.iter().find(|s| &s.name == name) {
                Some(s) => s.name.clone(),
                None => {
                    return error(&format!(
                        "no server profile called {name:?}: use CONN <addr> <port>, or REGSERVER"
                    ));
                }
            },
            [addr, port] => {
                let Ok(port) = port.parse::<u16>() else {
                    return error(&format!("invalid port {port:?}"));
                };
                match servers
                    .iter()
                    .find(|s| &s.host == addr && s.port == u32::from(port))
                {
                    Some(s) => s.name.clone(),
                    None => {
                        let mut name = addr.clone();
                        if servers.iter().any(|s| s.name == name) {
                            name = format!("{addr}:{port}");
                        }
                        let mut argv = vec![
                            "server".into(),
                            "add".into(),
                            name.clone(),
                            addr.clone(),
                            "--port".into(),
                            port.to_string(),
                        ];
                        if no_verify {
                            argv.extend(["--tls".into(), "--no-verify".into()]);
                        }
                        self.run(argv);
                        name
                    }
                }
            }
            _ => return error("usage: CONN <server> | CONN <addr> <port> [-noverify]"),
        };
        if self.ctx.global.server.as_deref() != Some(name.as_str()) {
            self.ctx.global.server = Some(name.clone());
            self.ctx.global.account = None;
        }
        let account = self.ctx.account();
        if runtime
            .block_on(account::resolve(self.ctx, &account))
            .is_err()
        {
            println!(
                "selected server {}; log in with LOGIN <name>, or register with REG",
                term::line(&name)
            );
            return;
        }
        self.run(vec!["account".into(), "login".into()]);
    }
}

fn error(text: &str) {
    let colored = crate::output::Output::new(false, None).colored();
    let tag = if colored {
        paint(BAD, "[ERROR]")
    } else {
        "[ERROR]".to_owned()
    };
    let text = gochat_client::term::text(text, "  ");
    let _ = writeln!(std::io::stderr().lock(), "{tag} {text}");
}

fn help(topic: Option<&str>) {
    if let Some(topic) = topic {
        let lower = topic.to_ascii_lowercase();
        if is_command(&lower) {
            let _ = LineCli::try_parse_from([lower.as_str(), "--help"]).map_err(|e| e.print());
            return;
        }
        if let Some((_, text)) = GO_COMMANDS
            .iter()
            .chain(BUILTINS)
            .find(|(n, _)| n.eq_ignore_ascii_case(topic))
        {
            println!("{text}");
            return;
        }
        error(&format!("no command called {topic:?}"));
        return;
    }
    let mut cmd = LineCli::command();
    println!("Commands (`help COMMAND` or `COMMAND --help` for details):");
    for sub in cmd.get_subcommands_mut() {
        let about = sub.get_about().map(ToString::to_string).unwrap_or_default();
        println!("  {:<15} {about}", sub.get_name());
    }
    println!("\nShell commands:");
    for (_, text) in BUILTINS {
        println!("  {text}");
    }
    println!("\nThe Go client's commands work too (case-insensitive):");
    for (_, text) in GO_COMMANDS {
        println!("  {text}");
    }
}
