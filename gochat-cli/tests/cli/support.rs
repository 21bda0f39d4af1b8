//! The harness: a real gochat-server in-process, real `gochatd` processes, and the real
//! `gochat-cli` binary, each user with their own temporary XDG directories.
//!
//! The server, the waits and finding `gochatd` come from `gochat-testkit`. Finding `gochatd`:
//! cargo builds binaries only for the package under test, so `cargo test -p gochat-cli` alone
//! would not build `gochatd`; the testkit builds it once per test run next to `gochat-cli`,
//! where the CLI's autostart looks first. `GOCHATD_BIN` overrides this with a prebuilt binary
//! (then autostart tests copy nothing: they need `gochatd` beside `gochat-cli` or in `PATH`).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use gochat_testkit::wait::{wait_for_exit, wait_until_blocking};

pub const CLI: &str = env!("CARGO_BIN_EXE_gochat-cli");

/// How long one CLI invocation may take.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// The `gochatd` binary, built once (see `gochat_testkit::bins::gochatd`).
pub fn gochatd() -> PathBuf {
    gochat_testkit::bins::gochatd(std::path::Path::new(CLI))
}

/// A gochat-server on 127.0.0.1 with SQLite in a temporary directory (the testkit's, on a
/// runtime of its own: the CLI tests are synchronous).
pub struct TestServer {
    pub port: u16,
    /// The self-signed certificate of a TLS server (its `--ca-file`).
    pub cert: Option<PathBuf>,
    // Dropped before the runtime: dropping it stops the server.
    server: gochat_testkit::TestServer,
    pub runtime: tokio::runtime::Runtime,
}

impl TestServer {
    /// A plain TCP server.
    pub fn start() -> TestServer {
        Self::start_with(false)
    }

    /// A TLS-only server with a self-signed certificate for `localhost` (admin operations
    /// need TLS).
    pub fn start_tls() -> TestServer {
        Self::start_with(true)
    }

    fn start_with(tls: bool) -> TestServer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let options = gochat_testkit::ServerOptions {
            listeners: if tls {
                gochat_testkit::Listeners::Tls
            } else {
                gochat_testkit::Listeners::Plain
            },
            motd: "cli test server".into(),
            ..Default::default()
        };
        let server = runtime.block_on(gochat_testkit::TestServer::start(options, |_| {}));
        TestServer {
            port: server.addr().port(),
            cert: server.cert_path().map(ToOwned::to_owned),
            server,
            runtime,
        }
    }

    /// Gives `user` a permission level directly in the server's database.
    pub fn set_permission(&self, user: &str, level: gochat_proto::wire::Permission) {
        let store = self.server.store();
        let changed = self
            .runtime
            .block_on(async move { store.set_permission(user.as_bytes(), level).await })
            .expect("set permission");
        assert!(changed, "{user} exists on the server");
    }
}

/// What a CLI run produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "expected success:\n{self}");
        &self.stdout
    }

    /// Asserts success and parses stdout as one JSON document.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        let out = self.ok();
        assert_eq!(out.trim_end().lines().count(), 1, "one JSON line:\n{self}");
        serde_json::from_str(out).unwrap_or_else(|e| panic!("invalid JSON ({e}):\n{self}"))
    }

    /// Asserts a failure with `code`, a prefixed diagnostic and nothing on stdout.
    #[track_caller]
    pub fn fails(&self, code: i32) -> &str {
        assert_eq!(self.code, code, "expected exit code {code}:\n{self}");
        assert!(
            self.stderr.contains("gochat-cli: ") || code == 2,
            "prefixed diagnostic:\n{self}"
        );
        &self.stderr
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// One user: their own XDG directories and (optionally) their own daemon process.
pub struct Home {
    pub dir: tempfile::TempDir,
    /// Passed as GOCHAT_SOCKET when set; else the CLI uses the XDG default.
    pub socket: Option<PathBuf>,
    daemon: Option<Child>,
}

impl Home {
    /// A home with no daemon, using the default socket under its XDG_RUNTIME_DIR.
    pub fn new() -> Home {
        let dir = tempfile::tempdir().expect("tempdir");
        Home {
            dir,
            socket: None,
            daemon: None,
        }
    }

    /// A home with its own `gochatd --socket … --database …` child process.
    pub fn with_daemon() -> Home {
        let mut home = Home::new();
        home.socket = Some(home.dir.path().join("sock").join("gochatd.sock"));
        home.start_daemon();
        home
    }

    /// The socket in use.
    pub fn socket_path(&self) -> PathBuf {
        self.socket.clone().unwrap_or_else(|| {
            self.dir
                .path()
                .join("run")
                .join("gochat")
                .join("gochatd.sock")
        })
    }

    /// Starts (or restarts) this home's daemon process and waits until it serves.
    pub fn start_daemon(&mut self) {
        let socket = self.socket.clone().expect("a home with its own daemon");
        let log = std::fs::File::create(self.dir.path().join("gochatd.log")).expect("log file");
        let mut cmd = Command::new(gochatd());
        cmd.arg("--socket")
            .arg(&socket)
            .arg("--database")
            .arg(self.dir.path().join("data").join("gochatd.db"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log);
        self.env(&mut cmd);
        let child = cmd.spawn().expect("spawn gochatd");
        self.daemon = Some(child);
        let up = wait_until_blocking("gochatd to serve", Duration::from_secs(20), || {
            self.cli(&["--no-autostart", "daemon", "status"]).code == 0
        });
        if let Err(e) = up {
            panic!("{e}; log:\n{}", self.daemon_log());
        }
    }

    /// Stops this home's daemon (via the CLI) and reaps the process.
    pub fn stop_daemon(&mut self) {
        self.cli(&["--no-autostart", "daemon", "stop"]).ok();
        if let Some(mut child) = self.daemon.take() {
            if wait_for_exit(&mut child, Duration::from_secs(15)).is_ok() {
                return;
            }
            let _ = child.kill();
            let _ = child.wait();
            panic!("gochatd did not exit after `daemon stop`");
        }
    }

    pub fn daemon_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("gochatd.log")).unwrap_or_default()
    }

    /// The environment of this user: XDG directories, HOME, the socket, no colors.
    pub fn env(&self, cmd: &mut Command) {
        let d = self.dir.path();
        for var in [
            "GOCHAT_SOCKET",
            "GOCHAT_SERVER",
            "GOCHAT_ACCOUNT",
            "GOCHAT_NO_AUTOSTART",
            "GOCHAT_CONFIG",
            "GOCHAT_CLI_CONFIG",
            "GOCHAT_DATABASE",
            "LISTEN_FDS",
            "LISTEN_PID",
            "CLICOLOR_FORCE",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("HOME", d)
            .env("XDG_RUNTIME_DIR", d.join("run"))
            .env("XDG_DATA_HOME", d.join("data"))
            .env("XDG_CONFIG_HOME", d.join("config"))
            .env("XDG_STATE_HOME", d.join("state"))
            .env("NO_COLOR", "1");
        if let Some(socket) = &self.socket {
            cmd.env("GOCHAT_SOCKET", socket);
        }
    }

    /// A `gochat-cli` command in this home.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(CLI);
        cmd.args(args);
        self.env(&mut cmd);
        cmd
    }

    /// Runs the CLI with no stdin.
    pub fn cli(&self, args: &[&str]) -> Run {
        self.cli_stdin(args, None)
    }

    /// Runs the CLI, feeding `stdin` through a pipe.
    pub fn cli_stdin(&self, args: &[&str], stdin: Option<&str>) -> Run {
        let mut cmd = self.command(args);
        cmd.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn gochat-cli");
        if let Some(text) = stdin {
            let mut pipe = child.stdin.take().expect("stdin");
            pipe.write_all(text.as_bytes()).expect("write stdin");
        }
        let mut stdout = child.stdout.take().expect("stdout");
        let mut stderr = child.stderr.take().expect("stderr");
        let out = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stdout.read_to_string(&mut s);
            s
        });
        let err = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        let status = match wait_for_exit(&mut child, RUN_TIMEOUT) {
            Ok(status) => status,
            Err(e) => {
                let _ = child.kill();
                panic!("gochat-cli {args:?}: {e}");
            }
        };
        Run {
            code: status.code().unwrap_or(-1),
            stdout: out.join().expect("stdout reader"),
            stderr: err.join().expect("stderr reader"),
        }
    }

    /// `server add local 127.0.0.1 --port PORT` (for TLS: `localhost`, trusting its certificate).
    pub fn add_server(&self, server: &TestServer) {
        let port = server.port.to_string();
        match &server.cert {
            None => self
                .cli(&["server", "add", "local", "127.0.0.1", "--port", &port])
                .ok(),
            Some(cert) => self
                .cli(&[
                    "server",
                    "add",
                    "local",
                    "localhost",
                    "--port",
                    &port,
                    "--tls",
                    "--ca-file",
                    cert.to_str().expect("utf-8"),
                ])
                .ok(),
        };
    }

    /// Registers `name` with an unencrypted key and checks that it is online.
    pub fn register(&self, name: &str) {
        let account = self
            .cli(&["--json", "account", "register", name, "--no-passphrase"])
            .json();
        assert_eq!(account["state"], "online", "{account}");
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        if let Some(mut child) = self.daemon.take() {
            let _ = child.kill();
            let _ = child.wait();
        } else {
            // A daemon the CLI started by itself.
            let _ = self.cli(&["--no-autostart", "daemon", "stop"]);
        }
    }
}

/// A long-running CLI process (watch) whose stdout lines are collected.
pub struct Follower {
    child: Child,
    lines: mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl Follower {
    pub fn start(home: &Home, args: &[&str]) -> Follower {
        let mut cmd = home.command(args);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("spawn follower");
        let stdout: ChildStdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Follower {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// `watch --json` from the daemon's current event on, so that nothing emitted after this
    /// call is missed however long the process takes to subscribe.
    pub fn watch(home: &Home) -> Follower {
        let status = home.cli(&["--json", "daemon", "status"]).json();
        let since = status["last_event_id"]
            .as_u64()
            .expect("last_event_id")
            .to_string();
        Follower::start(home, &["--json", "watch", "--since", &since])
    }

    /// Waits for a line satisfying `pred`.
    #[track_caller]
    pub fn expect(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if pred(&line) {
                        return line;
                    }
                }
                Err(_) => panic!("no line with {what}; saw:\n{}", self.seen.join("\n")),
            }
        }
    }

    /// Sends SIGINT and returns the exit code.
    pub fn interrupt(mut self) -> i32 {
        let _ = Command::new("kill")
            .arg("-INT")
            .arg(self.child.id().to_string())
            .status();
        match wait_for_exit(&mut self.child, Duration::from_secs(10)) {
            Ok(status) => status.code().unwrap_or(-1),
            Err(e) => panic!("the follower did not stop on SIGINT: {e}"),
        }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until `f` holds.
#[track_caller]
pub fn eventually(what: &str, f: impl FnMut() -> bool) {
    if let Err(e) = wait_until_blocking(what, Duration::from_secs(30), f) {
        panic!("{e}");
    }
}
