//! Starting gochatd when no daemon answers: the binary next to the running frontend first
//! (an install or a cargo target directory keeps them together), then `$PATH`. The daemon
//! runs in its own process group, so that a Ctrl-C meant for the frontend does not stop it,
//! with its output appended to a private log ([`crate::files::open_log`]).

use std::os::unix::fs::DirBuilderExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::files::{self, FileError};
use crate::socket::{self, Untrusted};

/// The daemon's program name.
pub const GOCHATD: &str = "gochatd";

/// Errors starting the daemon.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// No program was found.
    #[error("cannot find gochatd next to this program or in PATH; install it or start it yourself")]
    NotFound,
    /// The socket directory is not trusted.
    #[error(transparent)]
    Untrusted(#[from] Untrusted),
    /// A directory could not be created.
    #[error("cannot create {}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The log could not be opened safely.
    #[error(transparent)]
    Log(#[from] FileError),
    /// The process could not be started.
    #[error("cannot run {}", path.display())]
    Spawn {
        /// The program.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Where gochatd is: next to the running program, else the first on `$PATH`.
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

/// Creates `dir` (and missing parents) with mode 0700 when it does not exist.
fn create_private_dir(dir: &Path) -> Result<(), StartError> {
    if dir.exists() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| StartError::CreateDir {
            path: dir.to_owned(),
            source,
        })
}

/// Makes sure the directory of `socket` exists (created 0700) and is ours and private.
///
/// # Errors
///
/// When it cannot be created, or is someone else's or open to others.
pub fn prepare_socket_dir(socket: &Path) -> Result<(), StartError> {
    let dir = socket::socket_dir(socket);
    create_private_dir(dir)?;
    let uid = socket::current_uid().map_err(|e| Untrusted::Unverifiable {
        socket: socket.to_owned(),
        reason: format!("cannot read our own uid: {e}"),
    })?;
    socket::check_dir(dir, uid)?;
    Ok(())
}

/// What to start.
#[derive(Debug, Clone)]
pub struct Launch<'a> {
    /// The program; `None` finds it with [`find_gochatd`].
    pub program: Option<&'a Path>,
    /// Passed as `--socket` when set (else the daemon uses its default).
    pub socket: Option<&'a Path>,
    /// Where its output goes (appended; created 0600; never through a link).
    pub log: &'a Path,
}

/// Starts gochatd. Returns the child (the caller reaps it) and the program that runs.
///
/// # Errors
///
/// When no program is found, the log cannot be opened safely or the process cannot start.
pub fn start(launch: &Launch<'_>) -> Result<(Child, PathBuf), StartError> {
    let program = match launch.program {
        Some(p) => p.to_owned(),
        None => find_gochatd().ok_or(StartError::NotFound)?,
    };
    if let Some(dir) = launch.log.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir)?;
    }
    let uid = socket::current_uid().map_err(|e| Untrusted::Unverifiable {
        socket: launch.log.to_owned(),
        reason: format!("cannot read our own uid: {e}"),
    })?;
    let out = files::open_log(launch.log, uid)?;
    let err = out.try_clone().map_err(|source| {
        StartError::Log(FileError::Io {
            what: "open the log",
            path: launch.log.to_owned(),
            source,
        })
    })?;
    let mut command = Command::new(&program);
    if let Some(socket) = launch.socket {
        command.arg("--socket").arg(socket);
    }
    let child = command
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0)
        // Plain text in the log file (tracing's formatter honours NO_COLOR).
        .env("NO_COLOR", "1")
        .env_remove("LISTEN_FDS")
        .env_remove("LISTEN_PID")
        .spawn()
        .map_err(|source| StartError::Spawn {
            path: program.clone(),
            source,
        })?;
    Ok((child, program))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_log_symlink_stops_the_start() {
        let dir = tempfile::tempdir().expect("tempdir");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"keep").expect("write");
        let log = dir.path().join("gochatd.log");
        std::os::unix::fs::symlink(&victim, &log).expect("symlink");
        let err = start(&Launch {
            program: Some(Path::new("/bin/true")),
            socket: None,
            log: &log,
        })
        .expect_err("refused");
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert_eq!(std::fs::read(&victim).expect("read"), b"keep");
    }

    #[test]
    fn the_socket_dir_is_created_private_and_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("run").join("gochat").join("gochatd.sock");
        prepare_socket_dir(&socket).expect("created");
        let mode = std::fs::metadata(socket.parent().expect("dir"))
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        std::fs::set_permissions(
            socket.parent().expect("dir"),
            std::fs::Permissions::from_mode(0o755),
        )
        .expect("chmod");
        let err = prepare_socket_dir(&socket).expect_err("open dir refused");
        assert!(matches!(err, StartError::Untrusted(_)), "{err}");
    }
}
