//! Errors and the documented exit codes (see `docs/CLI.md`).
//!
//! Daemon errors arrive as gRPC statuses carrying a typed reason; [`Kind::of`] maps the
//! reason onto the exit codes, and the daemon's message (which says what to do) is kept.

use std::io::{self, Write};

use gochat_client::errors::DaemonError;
use gochat_proto::ipc::{ErrorReason, ServerError};

/// Exit codes, stable and documented in `docs/CLI.md`.
pub mod exit {
    /// Success.
    pub const SUCCESS: u8 = 0;
    /// Any other failure.
    pub const OTHER: u8 = 1;
    /// Invalid command line or arguments (also clap's own usage errors).
    pub const USAGE: u8 = 2;
    /// The daemon is not reachable (and was not or could not be started).
    pub const UNREACHABLE: u8 = 3;
    /// A named thing does not exist: server profile, account, user, contact.
    pub const NOT_FOUND: u8 = 4;
    /// Authentication failed, or the account's key is locked.
    pub const AUTH: u8 = 5;
    /// The server refused the request (permissions, name taken, …).
    pub const REFUSED: u8 = 6;
    /// The account is not connected to its server.
    pub const OFFLINE: u8 = 7;
    /// Interrupted by Ctrl-C while a command was running.
    pub const INTERRUPTED: u8 = 130;
}

/// The kind of failure, which picks the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Other,
    Usage,
    Unreachable,
    NotFound,
    Auth,
    Refused,
    Offline,
    Interrupted,
    /// Writing to stdout failed because the reader went away: not an error (exit 0).
    BrokenPipe,
}

impl Kind {
    pub fn code(self) -> u8 {
        match self {
            Kind::Other => exit::OTHER,
            Kind::Usage => exit::USAGE,
            Kind::Unreachable => exit::UNREACHABLE,
            Kind::NotFound => exit::NOT_FOUND,
            Kind::Auth => exit::AUTH,
            Kind::Refused => exit::REFUSED,
            Kind::Offline => exit::OFFLINE,
            Kind::Interrupted => exit::INTERRUPTED,
            Kind::BrokenPipe => exit::SUCCESS,
        }
    }

    /// The exit code's kind for a daemon error, from the reason in its details.
    pub fn of(e: &DaemonError) -> Kind {
        match e.reason {
            ErrorReason::Locked | ErrorReason::BadPassphrase => Kind::Auth,
            ErrorReason::NotOnline => Kind::Offline,
            ErrorReason::AmbiguousAccount
            | ErrorReason::AmbiguousServer
            | ErrorReason::InvalidArgument => Kind::Usage,
            ErrorReason::NotFound => Kind::NotFound,
            ErrorReason::Refused => match e.server_error {
                ServerError::NotFound => Kind::NotFound,
                ServerError::Handshake | ServerError::Login | ServerError::Dereg => Kind::Auth,
                _ => Kind::Refused,
            },
            ErrorReason::KeyChanged | ErrorReason::CertUntrusted | ErrorReason::CertChanged => {
                Kind::Refused
            }
            ErrorReason::AlreadyExists | ErrorReason::BadServerData | ErrorReason::Internal => {
                Kind::Other
            }
            ErrorReason::Unspecified if e.transport => Kind::Unreachable,
            ErrorReason::Unspecified => Kind::Other,
        }
    }

    /// The exit code's kind for a message that failed with `reason`: no such recipient, or
    /// refused.
    pub fn of_message(reason: ErrorReason) -> Kind {
        match reason {
            ErrorReason::NotFound => Kind::NotFound,
            _ => Kind::Refused,
        }
    }
}

/// An error a command reports: a kind (the exit code) and a message for humans.
#[derive(Debug, Clone)]
pub struct CliError {
    pub kind: Kind,
    pub message: String,
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

pub type Result<T, E = CliError> = std::result::Result<T, E>;

impl CliError {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        CliError {
            kind,
            message: message.into(),
        }
    }

    pub fn other(message: impl Into<String>) -> Self {
        Self::new(Kind::Other, message)
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Kind::Usage, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Kind::NotFound, message)
    }

    pub fn unreachable(message: impl Into<String>) -> Self {
        Self::new(Kind::Unreachable, message)
    }

    /// Prefixes the message with what was being done.
    pub fn context(mut self, what: impl std::fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }

    /// Prints the error on stderr (prefixed `gochat-cli:`) and returns the exit code.
    pub fn report(&self) -> u8 {
        if self.kind != Kind::BrokenPipe && !self.message.is_empty() {
            // Messages carry text from the daemon and the server: never raw to the terminal.
            let message = gochat_client::term::text(&self.message, "  ");
            let _ = writeln!(io::stderr().lock(), "gochat-cli: {message}");
        }
        self.kind.code()
    }
}

impl From<io::Error> for CliError {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::BrokenPipe {
            CliError::new(Kind::BrokenPipe, String::new())
        } else {
            CliError::other(e.to_string())
        }
    }
}

impl From<tonic::Status> for CliError {
    fn from(status: tonic::Status) -> Self {
        let certificate = gochat_proto::ipc::ErrorDetail::of(&status).certificate;
        let mut error = CliError::from(DaemonError::from(status));
        // A refused server certificate: show it, so that the user can check it.
        if let Some(c) = certificate {
            error.message = format!(
                "{}\nthe server presented:\n{}",
                error.message,
                crate::certificate::describe(&c, "  ").trim_end()
            );
        }
        error
    }
}

impl From<DaemonError> for CliError {
    fn from(e: DaemonError) -> Self {
        CliError::new(Kind::of(&e), e.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gochat_proto::ipc::ErrorDetail;

    fn code(detail: ErrorDetail) -> u8 {
        CliError::from(detail.into_status("some text")).kind.code()
    }

    #[test]
    fn reasons_map_to_documented_codes() {
        let reason = |r| code(ErrorDetail::new(r));
        assert_eq!(reason(ErrorReason::NotFound), exit::NOT_FOUND);
        assert_eq!(reason(ErrorReason::Locked), exit::AUTH);
        assert_eq!(reason(ErrorReason::BadPassphrase), exit::AUTH);
        assert_eq!(reason(ErrorReason::NotOnline), exit::OFFLINE);
        assert_eq!(reason(ErrorReason::AmbiguousAccount), exit::USAGE);
        assert_eq!(reason(ErrorReason::AmbiguousServer), exit::USAGE);
        assert_eq!(reason(ErrorReason::InvalidArgument), exit::USAGE);
        assert_eq!(reason(ErrorReason::AlreadyExists), exit::OTHER);
        assert_eq!(reason(ErrorReason::Internal), exit::OTHER);
        let refused = |c| code(ErrorDetail::refused(c));
        assert_eq!(refused(ServerError::Perms), exit::REFUSED);
        assert_eq!(refused(ServerError::Exists), exit::REFUSED);
        assert_eq!(refused(ServerError::Args), exit::REFUSED);
        assert_eq!(refused(ServerError::Unspecified), exit::REFUSED);
        assert_eq!(refused(ServerError::NotFound), exit::NOT_FOUND);
        assert_eq!(refused(ServerError::Login), exit::AUTH);
        assert_eq!(refused(ServerError::Dereg), exit::AUTH);
    }

    #[test]
    fn the_text_does_not_pick_the_code() {
        // A locked-sounding text without the reason is just a failure.
        let bare = tonic::Status::failed_precondition("account \"a\" is locked");
        assert_eq!(CliError::from(bare).kind.code(), exit::OTHER);
        let locked = ErrorDetail::new(ErrorReason::Locked).into_status("server refused");
        assert_eq!(CliError::from(locked).kind.code(), exit::AUTH);
    }

    #[test]
    fn broken_pipe_is_success() {
        let e = CliError::from(io::Error::from(io::ErrorKind::BrokenPipe));
        assert_eq!(e.kind.code(), exit::SUCCESS);
    }
}
