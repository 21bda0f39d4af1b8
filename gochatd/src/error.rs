//! API errors, mapped onto gRPC status codes with messages that say what to do.

use gochat_proto::wire::ErrorCode;
use tonic::Status;

use crate::link::LinkError;
use crate::store::StoreError;

/// An error an API call reports.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A named thing does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request is malformed.
    #[error("{0}")]
    Invalid(String),
    /// The request conflicts with existing state.
    #[error("{0}")]
    Exists(String),
    /// The account's key is locked.
    #[error("{0}")]
    Locked(String),
    /// The server refused.
    #[error("server refused: {message}")]
    Refused {
        /// The protocol error code.
        code: Option<ErrorCode>,
        /// Human text.
        message: String,
    },
    /// Not connected.
    #[error("{0}")]
    Offline(String),
    /// The local store failed.
    #[error("local store failed: {0}")]
    Store(#[from] StoreError),
    /// The server sent something unusable (such as a malformed key).
    #[error("{0}")]
    BadServerData(String),
    /// Anything else.
    #[error("{0}")]
    Internal(String),
}

impl From<LinkError> for ApiError {
    fn from(e: LinkError) -> Self {
        match e {
            LinkError::Refused(code) => ApiError::Refused {
                code,
                message: crate::link::describe(code),
            },
            LinkError::NotOnline(why) => {
                ApiError::Offline(format!("not connected to the server: {why}"))
            }
            LinkError::Call(c) => ApiError::Offline(c.to_string()),
        }
    }
}

impl From<ApiError> for Status {
    fn from(e: ApiError) -> Status {
        let message = e.to_string();
        match e {
            ApiError::NotFound(_) => Status::not_found(message),
            ApiError::Invalid(_) => Status::invalid_argument(message),
            ApiError::Exists(_) => Status::already_exists(message),
            ApiError::Locked(_) => Status::failed_precondition(message),
            ApiError::Offline(_) => Status::unavailable(message),
            ApiError::BadServerData(_) => Status::data_loss(message),
            ApiError::Store(_) | ApiError::Internal(_) => Status::internal(message),
            ApiError::Refused { code, .. } => match code {
                Some(ErrorCode::NotFound) => Status::not_found(message),
                Some(ErrorCode::Exists | ErrorCode::DupSess) => Status::already_exists(message),
                Some(ErrorCode::Perms | ErrorCode::NoSecure) => Status::permission_denied(message),
                Some(ErrorCode::Handshake | ErrorCode::Login | ErrorCode::Dereg) => {
                    Status::unauthenticated(message)
                }
                Some(ErrorCode::Args | ErrorCode::Option | ErrorCode::Invalid) => {
                    Status::invalid_argument(message)
                }
                _ => Status::failed_precondition(message),
            },
        }
    }
}
