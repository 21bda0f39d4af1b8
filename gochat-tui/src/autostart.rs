//! Starting gochatd when no daemon answers: the binary next to ours first (an install or a
//! cargo target directory keeps them together), then `$PATH`. The daemon runs in its own
//! process group with its output in a log file, and outlives the TUI.

use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The daemon's binary name.
pub const GOCHATD: &str = "gochatd";

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Where gochatd is: next to the running executable, else the first on `$PATH`.
pub fn find_gochatd() -> Option<PathBuf> {
    if let Ok(exe) = std::env::current_exe() {
        let sibling = exe.with_file_name(GOCHATD);
        if is_executable(&sibling) {
            return Some(sibling);
        }
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(GOCHATD))
        .find(|candidate| is_executable(candidate))
}

/// Errors starting the daemon.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// No binary was found.
    #[error(
        "gochatd was found neither next to gochat-tui nor on PATH; install it or start it yourself"
    )]
    NotFound,
    /// The log file could not be opened.
    #[error("cannot open the daemon log {path}")]
    Log {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The process could not be started.
    #[error("cannot start {path}")]
    Spawn {
        /// The binary.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Starts `binary` (or the one [`find_gochatd`] finds) serving `socket`, appending its
/// output to `log`.
///
/// # Errors
///
/// When no binary is found, the log cannot be opened or the process cannot start.
pub fn start(
    binary: Option<&Path>,
    socket: &Path,
    log: &Path,
) -> Result<(Child, PathBuf), StartError> {
    let binary = match binary {
        Some(b) => b.to_owned(),
        None => find_gochatd().ok_or(StartError::NotFound)?,
    };
    if let Some(dir) = log.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let open = || {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|source| StartError::Log {
                path: log.to_owned(),
                source,
            })
    };
    let out = open()?;
    let err = open()?;
    let child = Command::new(&binary)
        .arg("--socket")
        .arg(socket)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        // Its own process group: Ctrl-C or closing the terminal does not stop it with us.
        .process_group(0)
        .spawn()
        .map_err(|source| StartError::Spawn {
            path: binary.clone(),
            source,
        })?;
    tracing::info!(binary = %binary.display(), pid = child.id(), socket = %socket.display(), "started gochatd");
    Ok((child, binary))
}
