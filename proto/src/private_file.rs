//! Files only their owner may read, such as a database: the file is created with mode 0600
//! (and a missing parent directory with 0700), so it never exists with looser permissions, and
//! an existing file that group or others can reach is narrowed to 0600. SQLite gives its
//! `-wal` and `-shm` files the mode of the database file.
//!
//! Shared by gochat-server and gochatd so that both treat their databases the same way.

use std::fs::{DirBuilder, OpenOptions, Permissions};
use std::io::{self, ErrorKind};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Why a private file could not be prepared.
#[derive(Debug, thiserror::Error)]
#[error("{action} {}", path.display())]
pub struct PrivateFileError {
    /// What was being done ("creating the directory", …).
    pub action: &'static str,
    /// The file or directory concerned.
    pub path: PathBuf,
    /// The operating system's error.
    #[source]
    pub source: io::Error,
}

/// What [`prepare`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prepared {
    /// The file was created, or already was private.
    Private,
    /// The file was reachable by group or others (its mode was this) and is now 0600.
    Narrowed {
        /// The permission bits it had.
        old_mode: u32,
    },
}

/// Creates `path`'s parent directory (0700) and the file (0600) if they are missing, and
/// narrows an existing file's mode to 0600 when group or others can reach it.
pub fn prepare(path: &Path) -> Result<Prepared, PrivateFileError> {
    let fail = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| PrivateFileError {
            action,
            path,
            source,
        }
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.exists()
    {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(fail("creating the directory", parent))?;
        // The umask may have narrowed the mode further; make it exactly 0700.
        std::fs::set_permissions(parent, Permissions::from_mode(0o700))
            .map_err(fail("setting the mode of", parent))?;
    }
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => return Ok(Prepared::Private),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(e) => return Err(fail("creating", path)(e)),
    }
    let mode = std::fs::metadata(path)
        .map_err(fail("reading the mode of", path))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 == 0 {
        return Ok(Prepared::Private);
    }
    std::fs::set_permissions(path, Permissions::from_mode(0o600))
        .map_err(fail("setting the mode of", path))?;
    Ok(Prepared::Narrowed { old_mode: mode })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn creates_a_private_file_in_a_private_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("new/dir/db.sqlite");
        assert_eq!(prepare(&path).expect("prepare"), Prepared::Private);
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().expect("parent")), 0o700);
    }

    #[test]
    fn narrows_a_file_others_can_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db.sqlite");
        std::fs::write(&path, b"").expect("write");
        std::fs::set_permissions(&path, Permissions::from_mode(0o644)).expect("chmod");
        assert_eq!(
            prepare(&path).expect("prepare"),
            Prepared::Narrowed { old_mode: 0o644 }
        );
        assert_eq!(mode(&path), 0o600);
        assert_eq!(prepare(&path).expect("again"), Prepared::Private);
    }

    #[test]
    fn an_unwritable_place_is_an_error_naming_it() {
        let err = prepare(Path::new("/proc/gochat-test/db.sqlite")).expect_err("cannot create");
        assert!(err.to_string().contains("/proc/gochat-test"), "{err}");
    }
}
