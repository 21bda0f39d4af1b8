//! Typed daemon errors. Every error status `gochatd` returns carries one encoded
//! [`ErrorDetail`] in its details: the daemon makes the status with
//! [`ErrorDetail::into_status`], and a frontend reads the detail back with
//! [`ErrorDetail::of`] and branches on its [`ErrorReason`] (prost's `reason()` getter reads
//! an unknown value as UNSPECIFIED), never on the message text.

use prost::Message as _;
use tonic::{Code, Status};

use super::{CertificateInfo, ErrorDetail, ErrorReason, ServerError};

impl ErrorDetail {
    /// A detail with `reason` and no server error code.
    pub fn new(reason: ErrorReason) -> Self {
        ErrorDetail {
            reason: reason as i32,
            server_error: ServerError::Unspecified as i32,
            certificate: None,
        }
    }

    /// A refusal by the chat server, with its error code.
    pub fn refused(code: ServerError) -> Self {
        ErrorDetail {
            reason: ErrorReason::Refused as i32,
            server_error: code as i32,
            certificate: None,
        }
    }

    /// A refused server certificate (`reason` CERT_UNTRUSTED or CERT_CHANGED), described.
    pub fn certificate(reason: ErrorReason, certificate: CertificateInfo) -> Self {
        ErrorDetail {
            reason: reason as i32,
            server_error: ServerError::Unspecified as i32,
            certificate: Some(certificate),
        }
    }

    /// The detail `status` carries. A status without one (made by the transport on this
    /// side of the socket, or by an older daemon) gives [`ErrorReason::Unspecified`].
    pub fn of(status: &Status) -> ErrorDetail {
        ErrorDetail::decode(status.details()).unwrap_or_default()
    }

    /// The gRPC code that fits the reason, for clients that look only at codes.
    pub fn code(&self) -> Code {
        match self.reason() {
            ErrorReason::Locked
            | ErrorReason::BadPassphrase
            | ErrorReason::KeyChanged
            | ErrorReason::CertUntrusted
            | ErrorReason::CertChanged => Code::FailedPrecondition,
            ErrorReason::NotOnline => Code::Unavailable,
            ErrorReason::AmbiguousAccount
            | ErrorReason::AmbiguousServer
            | ErrorReason::InvalidArgument => Code::InvalidArgument,
            ErrorReason::NotFound => Code::NotFound,
            ErrorReason::AlreadyExists => Code::AlreadyExists,
            ErrorReason::BadServerData => Code::DataLoss,
            ErrorReason::Refused => refusal_code(self.server_error()),
            ErrorReason::Internal | ErrorReason::Unspecified => Code::Internal,
        }
    }

    /// The status carrying this detail, with `message` for humans.
    pub fn into_status(self, message: impl Into<String>) -> Status {
        Status::with_details(self.code(), message, self.encode_to_vec().into())
    }
}

/// The gRPC code of a refusal by the chat server.
fn refusal_code(code: ServerError) -> Code {
    match code {
        ServerError::NotFound => Code::NotFound,
        ServerError::Exists | ServerError::DupSess => Code::AlreadyExists,
        ServerError::Perms | ServerError::NoSecure => Code::PermissionDenied,
        ServerError::Handshake | ServerError::Login | ServerError::Dereg => Code::Unauthenticated,
        ServerError::Args | ServerError::Option | ServerError::Invalid => Code::InvalidArgument,
        _ => Code::FailedPrecondition,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_detail_survives_a_status() {
        let status = ErrorDetail::refused(ServerError::Perms).into_status("server refused");
        assert_eq!(status.code(), Code::PermissionDenied);
        let detail = ErrorDetail::of(&status);
        assert_eq!(detail.reason(), ErrorReason::Refused);
        assert_eq!(detail.server_error(), ServerError::Perms);
    }

    #[test]
    fn a_status_without_detail_is_unspecified() {
        let detail = ErrorDetail::of(&Status::unavailable("transport"));
        assert_eq!(detail.reason(), ErrorReason::Unspecified);
        assert_eq!(detail.server_error(), ServerError::Unspecified);
    }

    #[test]
    fn locked_is_a_failed_precondition() {
        let status = ErrorDetail::new(ErrorReason::Locked).into_status("locked");
        assert_eq!(status.code(), Code::FailedPrecondition);
        assert_eq!(ErrorDetail::of(&status).reason(), ErrorReason::Locked);
    }
}
