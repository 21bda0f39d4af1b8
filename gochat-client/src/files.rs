//! Files only the user may read: exported keys, backups and the daemon's log.
//!
//! A private file is always a *new* file created with mode 0600, never an existing file
//! opened for writing (which would keep its mode and owner: a world-readable 0644 file would
//! stay world-readable with a private key in it). Replacing a file needs an explicit
//! [`Overwrite::Replace`], and then a fresh 0600 file is renamed over it atomically.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Errors writing or opening a private file.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file exists and replacing it was not asked for.
    #[error("{} already exists; pass --force to replace it", path.display())]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// The log is a symbolic link, or not a regular file of ours.
    #[error("refusing the log {}: {reason}", path.display())]
    UnsafeLog {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// An I/O error.
    #[error("cannot {what} {}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

/// What to do when the target file exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overwrite {
    /// Refuse ([`FileError::Exists`]).
    Refuse,
    /// Replace it with a new 0600 file (atomically, by rename).
    Replace,
}

fn io_err(what: &'static str, path: &Path) -> impl FnOnce(io::Error) -> FileError {
    let path = path.to_owned();
    move |source| FileError::Io { what, path, source }
}

/// Writes `data` to a new file at `path` with mode 0600. An existing file (or symbolic link)
/// is refused, or with [`Overwrite::Replace`] replaced by a new 0600 file; the old file's
/// mode is never kept and a link is replaced, not followed.
///
/// # Errors
///
/// [`FileError::Exists`], or an I/O error creating, writing or renaming.
pub fn write_private(path: &Path, data: &[u8], overwrite: Overwrite) -> Result<(), FileError> {
    match overwrite {
        Overwrite::Refuse => {
            let file = new_private(path).map_err(|e| {
                if e.kind() == io::ErrorKind::AlreadyExists {
                    FileError::Exists {
                        path: path.to_owned(),
                    }
                } else {
                    FileError::Io {
                        what: "create",
                        path: path.to_owned(),
                        source: e,
                    }
                }
            })?;
            fill(file, data, path).inspect_err(|_| {
                let _ = std::fs::remove_file(path);
            })
        }
        Overwrite::Replace => {
            let (temp, file) = temp_beside(path)?;
            let written = fill(file, data, path)
                .and_then(|()| std::fs::rename(&temp, path).map_err(io_err("replace", path)));
            if written.is_err() {
                let _ = std::fs::remove_file(&temp);
            }
            written
        }
    }
}

/// `O_CREAT | O_EXCL` with mode 0600: fails on any existing file or link.
fn new_private(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

fn fill(mut file: File, data: &[u8], path: &Path) -> Result<(), FileError> {
    file.write_all(data)
        .and_then(|()| file.sync_all())
        .map_err(io_err("write", path))
}

/// A new 0600 file next to `path` (same directory, so that rename is atomic).
fn temp_beside(path: &Path) -> Result<(PathBuf, File), FileError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let base = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    for attempt in 0..100u32 {
        let temp = dir.join(format!(
            ".{base}.{}.{nanos:x}{attempt}.tmp",
            std::process::id()
        ));
        match new_private(&temp) {
            Ok(file) => return Ok((temp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(source) => {
                return Err(FileError::Io {
                    what: "create a file beside",
                    path: path.to_owned(),
                    source,
                });
            }
        }
    }
    Err(FileError::Io {
        what: "create a file beside",
        path: path.to_owned(),
        source: io::Error::from(io::ErrorKind::AlreadyExists),
    })
}

/// Opens the daemon's log for appending: created 0600, never through a symbolic link
/// (`O_NOFOLLOW`), and only a regular file owned by `uid`; an existing log is narrowed to
/// 0600.
///
/// # Errors
///
/// [`FileError::UnsafeLog`] for a link or someone else's file, else an I/O error.
pub fn open_log(path: &Path, uid: u32) -> Result<File, FileError> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                FileError::UnsafeLog {
                    path: path.to_owned(),
                    reason: "it is a symbolic link".into(),
                }
            } else {
                FileError::Io {
                    what: "open the log",
                    path: path.to_owned(),
                    source: e,
                }
            }
        })?;
    let meta = file.metadata().map_err(io_err("inspect", path))?;
    if !meta.is_file() {
        return Err(FileError::UnsafeLog {
            path: path.to_owned(),
            reason: "it is not a regular file".into(),
        });
    }
    if meta.uid() != uid {
        return Err(FileError::UnsafeLog {
            path: path.to_owned(),
            reason: format!("it belongs to uid {}, not to you (uid {uid})", meta.uid()),
        });
    }
    if meta.mode() & 0o077 != 0 {
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io_err("make private", path))?;
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).expect("metadata").mode() & 0o777
    }

    #[test]
    fn a_new_file_is_0600() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("key.pem");
        write_private(&path, b"secret", Overwrite::Refuse).expect("write");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(std::fs::read(&path).expect("read"), b"secret");
    }

    #[test]
    fn an_existing_file_is_refused_then_replaced_with_0600() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("key.pem");
        std::fs::write(&path, b"old").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let err = write_private(&path, b"new", Overwrite::Refuse).expect_err("refused");
        assert!(matches!(err, FileError::Exists { .. }), "{err}");
        assert!(err.to_string().contains("--force"), "{err}");
        assert_eq!(std::fs::read(&path).expect("read"), b"old");
        write_private(&path, b"new", Overwrite::Replace).expect("replace");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(std::fs::read(&path).expect("read"), b"new");
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 1);
    }

    #[test]
    fn a_symlink_is_neither_followed_nor_written_through() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("target");
        std::fs::write(&target, b"victim").expect("write");
        let link = dir.path().join("key.pem");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        assert!(matches!(
            write_private(&link, b"x", Overwrite::Refuse),
            Err(FileError::Exists { .. })
        ));
        write_private(&link, b"x", Overwrite::Replace).expect("replace");
        assert_eq!(std::fs::read(&target).expect("read"), b"victim");
        assert!(
            !std::fs::symlink_metadata(&link)
                .expect("lstat")
                .is_symlink()
        );

        let log_link = dir.path().join("gochatd.log");
        std::os::unix::fs::symlink(&target, &log_link).expect("symlink");
        let uid = crate::socket::current_uid().expect("uid");
        let err = open_log(&log_link, uid).expect_err("a link is refused");
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert_eq!(std::fs::read(&target).expect("read"), b"victim");
    }

    #[test]
    fn the_log_is_created_0600_and_narrowed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let uid = crate::socket::current_uid().expect("uid");
        let log = dir.path().join("gochatd.log");
        drop(open_log(&log, uid).expect("open"));
        assert_eq!(mode(&log), 0o600);
        std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        drop(open_log(&log, uid).expect("open"));
        assert_eq!(mode(&log), 0o600);
        let err = open_log(&log, uid.wrapping_add(1)).expect_err("not ours");
        assert!(err.to_string().contains("belongs to uid"), "{err}");
    }
}
