//! The local control socket: how `gochat-server admin …` reaches a running server.
//!
//! A Unix socket (directory 0700, socket 0600, peer uid checked) carries one request line and
//! one reply line per connection:
//!
//! ```text
//! gochat-control/1 set-permission <user> <user|admin|owner>\n   →  applied online\n
//! gochat-control/1 deregister <user>\n                           →  applied offline\n
//! gochat-control/1 kick <user>\n                                 →  not-online\n
//! ```
//!
//! Replies: `applied online`, `applied offline`, `no-such-user`, `not-online`,
//! `failed <reason>`, `bad-request`. [`server`] answers them; [`client`] asks.

pub mod client;
pub mod server;

use std::path::{Path, PathBuf};

use gochat_proto::wire::Permission;

use crate::config::Config;
use crate::live_admin::Applied;

/// First word of every request line (the protocol version).
pub const MAGIC: &str = "gochat-control/1";
/// Longest request or reply line, newline included.
pub const MAX_LINE: usize = 512;

/// A change the admin tool asks the running server to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Set a user's permission level.
    SetPermission {
        /// Username.
        user: String,
        /// New level.
        level: Permission,
    },
    /// Deregister a user and end its session.
    Deregister {
        /// Username.
        user: String,
    },
    /// End a user's session.
    Kick {
        /// Username.
        user: String,
    },
}

/// The server's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Done; tells whether the user had a live session.
    Applied(Applied),
    /// No such user in the store.
    NoSuchUser,
    /// Kick: the user is not online.
    NotOnline,
    /// The server could not make the change (database error).
    Failed(String),
    /// The request was not understood.
    BadRequest,
}

/// A line that is not a request or reply of this protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed control line: {0:?}")]
pub struct ParseError(pub String);

fn level_name(level: Permission) -> &'static str {
    match level {
        Permission::User => "user",
        Permission::Admin => "admin",
        Permission::Owner => "owner",
    }
}

fn parse_level(word: &str) -> Option<Permission> {
    match word {
        "user" => Some(Permission::User),
        "admin" => Some(Permission::Admin),
        "owner" => Some(Permission::Owner),
        _ => None,
    }
}

/// Whether `user` can travel as one word of a line.
fn is_word(user: &str) -> bool {
    !user.is_empty() && user.len() <= 64 && user.bytes().all(|b| b.is_ascii_graphic())
}

impl Request {
    /// The username the request is about.
    pub fn user(&self) -> &str {
        match self {
            Request::SetPermission { user, .. }
            | Request::Deregister { user }
            | Request::Kick { user } => user,
        }
    }

    /// The request line, newline included; `None` if the username cannot be sent.
    pub fn encode(&self) -> Option<String> {
        if !is_word(self.user()) {
            return None;
        }
        Some(match self {
            Request::SetPermission { user, level } => {
                format!("{MAGIC} set-permission {user} {}\n", level_name(*level))
            }
            Request::Deregister { user } => format!("{MAGIC} deregister {user}\n"),
            Request::Kick { user } => format!("{MAGIC} kick {user}\n"),
        })
    }

    /// Parses a request line (without its newline).
    pub fn parse(line: &str) -> Result<Request, ParseError> {
        let bad = || ParseError(line.chars().take(80).collect());
        let words: Vec<&str> = line.split(' ').collect();
        match words.as_slice() {
            [MAGIC, "set-permission", user, level] if is_word(user) => Ok(Request::SetPermission {
                user: (*user).to_owned(),
                level: parse_level(level).ok_or_else(bad)?,
            }),
            [MAGIC, "deregister", user] if is_word(user) => Ok(Request::Deregister {
                user: (*user).to_owned(),
            }),
            [MAGIC, "kick", user] if is_word(user) => Ok(Request::Kick {
                user: (*user).to_owned(),
            }),
            _ => Err(bad()),
        }
    }
}

impl Reply {
    /// The reply line, newline included.
    pub fn encode(&self) -> String {
        match self {
            Reply::Applied(Applied::Online) => "applied online\n".into(),
            Reply::Applied(Applied::Offline) => "applied offline\n".into(),
            Reply::NoSuchUser => "no-such-user\n".into(),
            Reply::NotOnline => "not-online\n".into(),
            Reply::Failed(reason) => {
                let reason: String = reason
                    .chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .take(MAX_LINE - 16)
                    .collect();
                format!("failed {reason}\n")
            }
            Reply::BadRequest => "bad-request\n".into(),
        }
    }

    /// Parses a reply line (without its newline).
    pub fn parse(line: &str) -> Result<Reply, ParseError> {
        match line {
            "applied online" => Ok(Reply::Applied(Applied::Online)),
            "applied offline" => Ok(Reply::Applied(Applied::Offline)),
            "no-such-user" => Ok(Reply::NoSuchUser),
            "not-online" => Ok(Reply::NotOnline),
            "bad-request" => Ok(Reply::BadRequest),
            other => match other.strip_prefix("failed ") {
                Some(reason) => Ok(Reply::Failed(reason.to_owned())),
                None => Err(ParseError(other.chars().take(80).collect())),
            },
        }
    }
}

/// The control socket in force for `config`: `control_socket` if set (an empty path turns
/// the socket off), else a default derived from the database, so that the server and the
/// admin tool find the same socket from the same settings:
/// - SQLite: beside the database file (`<file>.control.sock`);
/// - otherwise: in `$RUNTIME_DIRECTORY` (systemd), else `$XDG_RUNTIME_DIR/gochat-server`,
///   else the data directory, named after a hash of the database URL.
pub fn socket_path(config: &Config) -> Option<PathBuf> {
    match &config.control_socket {
        Some(path) if path.as_os_str().is_empty() => None,
        Some(path) => Some(path.clone()),
        None => Some(default_socket_path(&config.database_url())),
    }
}

fn default_socket_path(url: &str) -> PathBuf {
    if let Some(file) = sqlite_file(url) {
        let mut name = file.file_name().unwrap_or_default().to_owned();
        name.push(".control.sock");
        return file.with_file_name(name);
    }
    let dir = std::env::var_os("RUNTIME_DIRECTORY")
        .and_then(|dirs| std::env::split_paths(&dirs).next())
        .filter(|d| d.is_absolute())
        .or_else(|| {
            std::env::var_os("XDG_RUNTIME_DIR")
                .map(PathBuf::from)
                .filter(|d| d.is_absolute())
                .map(|d| d.join("gochat-server"))
        })
        .or_else(|| {
            directories::ProjectDirs::from("", "", "gochat-server").map(|d| d.data_dir().into())
        })
        .unwrap_or_else(|| PathBuf::from("."));
    dir.join(format!(
        "control-{:016x}.sock",
        fnv1a(crate::config::redact(url).as_bytes())
    ))
}

/// The database file of an on-disk SQLite URL.
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" || query.contains("mode=memory") {
        return None;
    }
    Some(Path::new(path).to_owned())
}

/// 64-bit FNV-1a: a stable name for a database URL (the same in every build).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip() {
        for request in [
            Request::SetPermission {
                user: "alice".into(),
                level: Permission::Admin,
            },
            Request::Deregister { user: "bob".into() },
            Request::Kick { user: "c1".into() },
        ] {
            let line = request.encode().expect("encodable");
            assert_eq!(Request::parse(line.trim_end_matches('\n')), Ok(request));
        }
        assert!(Request::Kick { user: "a b".into() }.encode().is_none());
        assert!(Request::parse("gochat-control/1 kick").is_err());
        assert!(Request::parse("gochat-control/1 set-permission a root").is_err());
        assert!(Request::parse("gochat-control/2 kick a").is_err());
    }

    #[test]
    fn replies_round_trip() {
        for reply in [
            Reply::Applied(Applied::Online),
            Reply::Applied(Applied::Offline),
            Reply::NoSuchUser,
            Reply::NotOnline,
            Reply::Failed("database error: gone".into()),
            Reply::BadRequest,
        ] {
            let line = reply.encode();
            assert_eq!(Reply::parse(line.trim_end_matches('\n')), Ok(reply));
        }
        assert!(Reply::parse("applied").is_err());
        assert_eq!(
            Reply::Failed("a\nb".into()).encode(),
            "failed a b\n",
            "a reason never breaks the line"
        );
    }

    #[test]
    fn default_paths() {
        assert_eq!(
            default_socket_path("sqlite:///var/lib/gochat/gochat.db?mode=rwc"),
            PathBuf::from("/var/lib/gochat/gochat.db.control.sock")
        );
        let a = default_socket_path("mysql://root@127.0.0.1:3306/a");
        let b = default_socket_path("mysql://root@127.0.0.1:3306/b");
        assert_ne!(a, b, "one socket per database");
        assert_eq!(a, default_socket_path("mysql://root@127.0.0.1:3306/a"));
    }
}
