//! Daemon errors as frontends branch on them: the reason gochatd put in the status details
//! ([`ErrorDetail`]), the server's code for a refusal, and the text for humans. No frontend
//! looks at the text to decide anything.

use gochat_proto::ipc::{ErrorDetail, ErrorReason, ServerError};

/// A failed call to gochatd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonError {
    /// Why it failed; [`ErrorReason::Unspecified`] when the daemon did not say (the transport
    /// failed, or an older daemon answered).
    pub reason: ErrorReason,
    /// The chat server's code, when the reason is [`ErrorReason::Refused`].
    pub server_error: ServerError,
    /// The connection to gochatd failed (the status was made on this side of the socket).
    pub transport: bool,
    /// What to tell the user.
    pub message: String,
}

impl DaemonError {
    /// A failure on this side of the socket that belongs with the daemon's errors (a key
    /// file that cannot be read for an import, say): no reason, just the text.
    pub fn local(message: impl Into<String>) -> Self {
        DaemonError {
            reason: ErrorReason::Unspecified,
            server_error: ServerError::Unspecified,
            transport: false,
            message: message.into(),
        }
    }

    /// Whether the account's key must be unlocked first.
    pub fn is_locked(&self) -> bool {
        self.reason == ErrorReason::Locked
    }

    /// Whether a passphrase was wrong (or missing for an encrypted key).
    pub fn is_bad_passphrase(&self) -> bool {
        self.reason == ErrorReason::BadPassphrase
    }
}

impl std::fmt::Display for DaemonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DaemonError {}

impl From<tonic::Status> for DaemonError {
    fn from(status: tonic::Status) -> Self {
        DaemonError::from(&status)
    }
}

impl From<&tonic::Status> for DaemonError {
    fn from(status: &tonic::Status) -> Self {
        let detail = ErrorDetail::of(status);
        // Statuses made on this side of the socket carry the transport error as their
        // source; the daemon's own statuses never do.
        let source = std::error::Error::source(status);
        let message = if let Some(source) = source {
            format!("lost the connection to gochatd: {}", chain(source))
        } else if status.message().is_empty() {
            format!("gochatd failed: {}", status.code())
        } else {
            status.message().to_owned()
        };
        DaemonError {
            reason: detail.reason(),
            server_error: detail.server_error(),
            transport: source.is_some(),
            message,
        }
    }
}

pub use gochat_proto::error_chain::chain;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reason_comes_from_the_details() {
        let status = ErrorDetail::new(ErrorReason::Locked).into_status("account \"a\" is locked");
        let e = DaemonError::from(status);
        assert!(e.is_locked());
        assert!(!e.transport);
        assert_eq!(e.to_string(), "account \"a\" is locked");
    }

    #[test]
    fn a_refusal_keeps_the_server_code() {
        let status = ErrorDetail::refused(ServerError::Perms).into_status("server refused");
        let e = DaemonError::from(&status);
        assert_eq!(e.reason, ErrorReason::Refused);
        assert_eq!(e.server_error, ServerError::Perms);
    }

    #[test]
    fn a_bare_status_is_unspecified() {
        let e = DaemonError::from(tonic::Status::internal(""));
        assert_eq!(e.reason, ErrorReason::Unspecified);
        assert_eq!(e.message, "gochatd failed: Internal error");
    }
}
