//! One daemon per database: an exclusive lock on a file beside the database (`gochatd.db.lock`
//! for `gochatd.db`), held for the daemon's whole life and released by the kernel when it
//! exits, however it exits. The file names the holder (its pid and socket), so that a second
//! daemon on the same database, even one given another socket, can say which daemon to use.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Most bytes of the lock file read back (a pid and a socket path).
const MAX_LOCK_FILE: u64 = 8192;

/// The held lock; dropping it (or exiting) releases it. The file itself stays.
#[derive(Debug)]
pub struct DatabaseLock {
    _file: File,
    /// The lock file.
    pub path: PathBuf,
}

/// Why the database could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseLockError {
    /// Another daemon holds the lock.
    #[error(
        "the database {} is in use by another gochatd ({}); use that daemon (for example \
         `gochat-cli --socket {}`, or GOCHAT_SOCKET) or stop it first",
        database.display(),
        holder.describe(),
        holder.socket_hint()
    )]
    InUse {
        /// The database file.
        database: PathBuf,
        /// What the lock file says about the daemon holding it.
        holder: Holder,
    },
    /// The lock file cannot be created, locked or written.
    #[error("cannot lock the database with {}", path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// Cause.
        source: io::Error,
    },
}

/// The daemon that holds a database lock, as its lock file names it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Holder {
    /// Its process id, if recorded.
    pub pid: Option<u32>,
    /// Its socket, if recorded.
    pub socket: Option<PathBuf>,
}

impl Holder {
    fn describe(&self) -> String {
        match (self.pid, &self.socket) {
            (Some(pid), Some(socket)) => format!("pid {pid}, socket {}", socket.display()),
            (None, Some(socket)) => format!("socket {}", socket.display()),
            (Some(pid), None) => format!("pid {pid}, still starting"),
            (None, None) => "still starting".to_owned(),
        }
    }

    fn socket_hint(&self) -> String {
        self.socket
            .as_ref()
            .map_or_else(|| "SOCKET".to_owned(), |s| s.display().to_string())
    }

    /// Reads `pid=…` and `socket=…` lines (the socket line runs to the end of the file, so
    /// a path may hold any byte).
    fn parse(bytes: &[u8]) -> Holder {
        let mut holder = Holder::default();
        let mut rest = bytes;
        while !rest.is_empty() {
            if let Some(path) = rest.strip_prefix(b"socket=") {
                let path = path.strip_suffix(b"\n").unwrap_or(path);
                if !path.is_empty() {
                    holder.socket = Some(PathBuf::from(std::ffi::OsStr::from_bytes(path)));
                }
                break;
            }
            let (line, next) = match rest.iter().position(|&b| b == b'\n') {
                Some(end) => (&rest[..end], &rest[end + 1..]),
                None => (rest, &[][..]),
            };
            if let Some(pid) = line.strip_prefix(b"pid=") {
                holder.pid = std::str::from_utf8(pid).ok().and_then(|p| p.parse().ok());
            }
            rest = next;
        }
        holder
    }
}

/// The lock file of a database: its name plus `.lock`, in the same directory.
pub fn lock_path(database: &Path) -> PathBuf {
    let mut name = database
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "gochatd.db".into());
    name.push(".lock");
    database.with_file_name(name)
}

/// Takes the database's lock for a daemon serving `socket`, or names the daemon holding it.
/// Creates the database's directory (0700) if needed; the lock file is 0600.
pub fn lock(database: &Path, socket: &Path) -> Result<DatabaseLock, DatabaseLockError> {
    let path = lock_path(database);
    let io_err = |source| DatabaseLockError::Io {
        path: path.clone(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.exists()
    {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_err)?;
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .map_err(io_err)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut text = Vec::new();
            let _ = (&file).take(MAX_LOCK_FILE).read_to_end(&mut text);
            return Err(DatabaseLockError::InUse {
                database: database.to_owned(),
                holder: Holder::parse(&text),
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io_err(e)),
    }
    let mut record = format!("pid={}\n", std::process::id()).into_bytes();
    record.extend_from_slice(b"socket=");
    record.extend_from_slice(socket.as_os_str().as_bytes());
    record.push(b'\n');
    file.set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| file.write_all(&record))
        .and_then(|()| file.sync_data())
        .map_err(io_err)?;
    Ok(DatabaseLock { _file: file, path })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_file_sits_beside_the_database() {
        assert_eq!(
            lock_path(Path::new("/d/gochatd.db")),
            PathBuf::from("/d/gochatd.db.lock")
        );
    }

    #[test]
    fn holder_records_parse() {
        assert_eq!(
            Holder::parse(b"pid=42\nsocket=/run/a b\nc.sock\n"),
            Holder {
                pid: Some(42),
                socket: Some(PathBuf::from("/run/a b\nc.sock")),
            }
        );
        assert_eq!(Holder::parse(b""), Holder::default());
        assert_eq!(Holder::parse(b"pid=x\n").pid, None);
    }

    #[test]
    fn a_second_lock_names_the_first_holder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("data/gochatd.db");
        let first = lock(&db, Path::new("/run/first.sock")).expect("first lock");
        // flock locks belong to the open file description, so a second open in the same
        // process conflicts just like another process would.
        match lock(&db, Path::new("/run/second.sock")) {
            Err(DatabaseLockError::InUse { holder, .. }) => {
                assert_eq!(holder.socket, Some(PathBuf::from("/run/first.sock")));
                assert_eq!(holder.pid, Some(std::process::id()));
            }
            other => panic!("expected InUse, got {other:?}"),
        }
        drop(first);
        lock(&db, Path::new("/run/second.sock")).expect("free again");
    }
}
