//! Reaching the daemon: connect to its socket and, when nothing answers, start it (through
//! systemd when a user unit is installed, else as a background process) and wait until it
//! serves.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gochat_client::autostart::{self, Launch};
use gochat_client::errors::chain;
use gochat_client::socket::{self, ConnectError};
use gochat_proto::ipc::{self, DaemonClient};

use crate::error::{CliError, Result};

/// How long a started daemon may take to serve.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// The socket in force: `--socket`/`GOCHAT_SOCKET`/config, else the default.
pub fn socket_path(explicit: Option<&Path>) -> PathBuf {
    explicit.map_or_else(socket::default_socket_path, Path::to_owned)
}

/// The error for a daemon that cannot be reached (or must not be trusted).
fn connect_error(e: &ConnectError) -> CliError {
    match e {
        ConnectError::Untrusted(u) => CliError::unreachable(format!("refusing gochatd: {u}")),
        ConnectError::Unreachable(e) => CliError::unreachable(format!(
            "{}; start it with `gochat-cli daemon start` (or drop --no-autostart)",
            chain(e)
        )),
    }
}

/// Connects when a daemon of ours answers: `None` when none does, an error when the socket
/// or the daemon on it is not ours.
pub async fn connect_if_running(socket: &Path) -> Result<Option<DaemonClient>> {
    match socket::connect(socket).await {
        Ok(client) => Ok(Some(client)),
        Err(ConnectError::Unreachable(_)) => Ok(None),
        Err(e) => Err(connect_error(&e)),
    }
}

/// Connects, starting the daemon first when none answers (unless `autostart` is false).
/// A socket that is not ours is refused, and no daemon is started for it.
pub async fn connect(socket: &Path, explicit: bool, autostart: bool) -> Result<DaemonClient> {
    match socket::connect(socket).await {
        Ok(client) => Ok(client),
        Err(e) if autostart && e.is_unreachable() => start(socket, explicit)
            .await
            .map_err(|e| e.context("gochatd is not running and could not be started")),
        Err(e) => Err(connect_error(&e)),
    }
}

/// Starts the daemon for `socket` and returns a client once it answers `Status`.
pub async fn start(socket: &Path, explicit: bool) -> Result<DaemonClient> {
    if !explicit && systemd_manages_daemon() {
        let out = Command::new("systemctl")
            .args(["--user", "start", "gochatd.service"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| CliError::unreachable(format!("cannot run systemctl: {e}")))?;
        if !out.status.success() {
            return Err(CliError::unreachable(format!(
                "`systemctl --user start gochatd.service` failed: {}; see `journalctl --user -u gochatd`",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        return wait_ready(socket, None, None).await;
    }
    let program = find_daemon()?;
    // The log sits beside the socket: only in a directory that is ours and private.
    autostart::prepare_socket_dir(socket).map_err(|e| CliError::unreachable(chain(&e)))?;
    let log_path = socket::socket_dir(socket).join("gochatd.log");
    let (child, _) = autostart::start(&Launch {
        program: Some(&program),
        socket: explicit.then_some(socket),
        log: &log_path,
    })
    .map_err(|e| CliError::unreachable(chain(&e)))?;
    let pid = child.id();
    let client = wait_ready(socket, Some(child), Some(&log_path)).await?;
    eprintln!(
        "gochat-cli: started gochatd (pid {pid}, log {})",
        log_path.display()
    );
    Ok(client)
}

/// Polls connect + Status until the daemon answers, the child exits or time runs out.
async fn wait_ready(
    socket: &Path,
    mut child: Option<std::process::Child>,
    log: Option<&Path>,
) -> Result<DaemonClient> {
    let deadline = Instant::now() + READY_TIMEOUT;
    let mut pause = Duration::from_millis(10);
    loop {
        if let Some(c) = child.as_mut()
            && let Ok(Some(status)) = c.try_wait()
        {
            let tail = log.map(log_tail).unwrap_or_default();
            return Err(CliError::unreachable(format!(
                "gochatd exited ({status}){tail}"
            )));
        }
        match socket::connect(socket).await {
            // Someone else's daemon (or directory) will not become ours by waiting.
            Err(e @ ConnectError::Untrusted(_)) => return Err(connect_error(&e)),
            Err(ConnectError::Unreachable(_)) => {}
            Ok(mut client) => {
                if tokio::time::timeout(Duration::from_secs(2), client.status(ipc::Empty {}))
                    .await
                    .is_ok_and(|r| r.is_ok())
                {
                    if let Some(mut c) = child {
                        // Reap it if it exits while we still run (the shell); otherwise init does.
                        std::thread::spawn(move || c.wait());
                    }
                    return Ok(client);
                }
            }
        }
        if Instant::now() >= deadline {
            let tail = log.map(log_tail).unwrap_or_default();
            return Err(CliError::unreachable(format!(
                "gochatd did not answer on {} within {} s{tail}",
                socket.display(),
                READY_TIMEOUT.as_secs()
            )));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}

/// The last lines of the daemon's log, for error messages.
fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = &lines[lines.len().saturating_sub(3)..];
    if tail.is_empty() {
        format!(" (log: {})", path.display())
    } else {
        format!(": {} (log: {})", tail.join(" / "), path.display())
    }
}

/// Whether a systemd user unit for the daemon is installed and enabled.
fn systemd_manages_daemon() -> bool {
    let enabled = |unit: &str| {
        Command::new("systemctl")
            .args(["--user", "--quiet", "is-enabled", unit])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    enabled("gochatd.socket") || enabled("gochatd.service")
}

/// `gochatd` next to this program, else in `PATH`.
pub fn find_daemon() -> Result<PathBuf> {
    autostart::find_gochatd().ok_or_else(|| {
        CliError::unreachable(
            "cannot find the gochatd program next to gochat-cli or in PATH; install it or start it yourself",
        )
    })
}

/// Stops the daemon and waits until its process has exited.
pub async fn stop(mut client: DaemonClient, socket: &Path) -> Result<()> {
    let pid = client.status(ipc::Empty {}).await?.into_inner().pid;
    client.stop(ipc::Empty {}).await?;
    // Our idle connection must not hold up the daemon's graceful shutdown.
    drop(client);
    let deadline = Instant::now() + READY_TIMEOUT;
    while Instant::now() < deadline {
        let refused = tokio::net::UnixStream::connect(socket).await.is_err();
        if refused && !process_alive(pid) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(CliError::other(format!(
        "gochatd (pid {pid}) is still shutting down after {} s; another frontend may keep it busy",
        READY_TIMEOUT.as_secs()
    )))
}

/// Whether process `pid` exists and is not a zombie.
fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name, which is in parentheses.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}
