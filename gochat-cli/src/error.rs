//! Errors and the documented exit codes (see `docs/CLI.md`).
//!
//! Daemon errors arrive as gRPC statuses; [`CliError::from`] maps them onto the exit codes,
//! keeping the daemon's message (which says what to do).

use std::io::{self, Write};

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

/// Refusals relayed from the server start with this text (see gochatd `ApiError::Refused`).
const REFUSED_PREFIX: &str = "server refused";

impl From<tonic::Status> for CliError {
    fn from(status: tonic::Status) -> Self {
        use tonic::Code;
        let message = status.message().to_owned();
        let refused = message.starts_with(REFUSED_PREFIX);
        // Statuses made on this side of the socket carry the transport error as their source;
        // the daemon's own statuses never do.
        let transport = std::error::Error::source(&status).is_some();
        let kind = match status.code() {
            Code::NotFound => Kind::NotFound,
            Code::Unauthenticated => Kind::Auth,
            Code::PermissionDenied => Kind::Refused,
            Code::InvalidArgument | Code::OutOfRange if refused => Kind::Refused,
            Code::InvalidArgument | Code::OutOfRange => Kind::Usage,
            // gochatd reports a locked key and "other" server refusals both as
            // FAILED_PRECONDITION; only the latter start with "server refused".
            Code::FailedPrecondition if refused => Kind::Refused,
            Code::FailedPrecondition => Kind::Auth,
            Code::AlreadyExists if refused => Kind::Refused,
            Code::Unavailable | Code::Unknown | Code::Cancelled if transport => Kind::Unreachable,
            Code::Unavailable => Kind::Offline,
            _ => Kind::Other,
        };
        let message = if transport {
            let mut text = String::from("lost the connection to gochatd");
            let mut source = std::error::Error::source(&status);
            while let Some(s) = source {
                text.push_str(": ");
                text.push_str(&s.to_string());
                source = s.source();
            }
            text
        } else if message.is_empty() {
            format!("gochatd failed: {}", status.code())
        } else {
            message
        };
        CliError::new(kind, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_documented_codes() {
        let code = |s: tonic::Status| CliError::from(s).kind.code();
        assert_eq!(
            code(tonic::Status::not_found("no account")),
            exit::NOT_FOUND
        );
        assert_eq!(
            code(tonic::Status::failed_precondition(
                "account \"a\" is locked"
            )),
            exit::AUTH
        );
        assert_eq!(
            code(tonic::Status::failed_precondition("server refused: ERR_X")),
            exit::REFUSED
        );
        assert_eq!(
            code(tonic::Status::unauthenticated("server refused: ERR_LOGIN")),
            exit::AUTH
        );
        assert_eq!(
            code(tonic::Status::permission_denied(
                "server refused: ERR_PERMS"
            )),
            exit::REFUSED
        );
        assert_eq!(
            code(tonic::Status::unavailable("not online")),
            exit::OFFLINE
        );
        assert_eq!(
            code(tonic::Status::invalid_argument("several accounts")),
            exit::USAGE
        );
        assert_eq!(
            code(tonic::Status::already_exists("server refused: ERR_EXISTS")),
            exit::REFUSED
        );
        assert_eq!(
            code(tonic::Status::already_exists("profile exists")),
            exit::OTHER
        );
        assert_eq!(code(tonic::Status::internal("boom")), exit::OTHER);
    }

    #[test]
    fn broken_pipe_is_success() {
        let e = CliError::from(io::Error::from(io::ErrorKind::BrokenPipe));
        assert_eq!(e.kind.code(), exit::SUCCESS);
    }
}
