//! API errors. Each has a [`Reason`] that reaches the client typed, in the status details;
//! the message says what to do. Internal failures are logged with their whole cause chain
//! and reach the client only as a generic text.

use gochat_proto::wire::ErrorCode;
use tonic::Status;

use crate::link::{CallError, LinkError};
use crate::reason::Reason;
use crate::store::{RejectedCert, StoreError};

/// A boxed cause.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What a client reads instead of an internal error.
const INTERNAL_TEXT: &str = "gochatd failed internally; its log has the details";

/// An error an API call reports.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A named thing does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request is malformed.
    #[error("{0}")]
    Invalid(String),
    /// Several accounts match the reference.
    #[error("{0}")]
    AmbiguousAccount(String),
    /// Several server profiles exist and none is the default.
    #[error("{0}")]
    AmbiguousServer(String),
    /// The request conflicts with existing state.
    #[error("{0}")]
    Exists(String),
    /// The account's key is locked.
    #[error("{0}")]
    Locked(String),
    /// The passphrase does not open the key.
    #[error("{0}")]
    BadPassphrase(String),
    /// The server refused, with this code.
    #[error("server refused: {}", crate::link::describe(*.0))]
    Refused(Option<ErrorCode>),
    /// Not connected.
    #[error("{0}")]
    NotOnline(String),
    /// The server sent something unusable (such as a malformed key).
    #[error("{0}")]
    BadServerData(String),
    /// The server's certificate was refused.
    #[error("{message}")]
    Certificate {
        /// What happened and what to do, for humans.
        message: String,
        /// The certificate.
        rejected: RejectedCert,
    },
    /// The local store failed.
    #[error("local store failed")]
    Store(#[from] StoreError),
    /// Anything else that failed inside the daemon.
    #[error("{what}")]
    Internal {
        /// What was being done.
        what: String,
        /// The cause, if any.
        #[source]
        source: Option<BoxError>,
    },
}

impl ApiError {
    /// An internal failure without a cause.
    pub fn internal(what: impl Into<String>) -> Self {
        ApiError::Internal {
            what: what.into(),
            source: None,
        }
    }

    /// An internal failure doing `what`, caused by `source`.
    pub fn internal_from(what: impl Into<String>, source: impl Into<BoxError>) -> Self {
        ApiError::Internal {
            what: what.into(),
            source: Some(source.into()),
        }
    }

    /// Why it failed, as the client sees it.
    pub fn reason(&self) -> Reason {
        match self {
            ApiError::NotFound(_) => Reason::NotFound,
            ApiError::Invalid(_) => Reason::InvalidArgument,
            ApiError::AmbiguousAccount(_) => Reason::AmbiguousAccount,
            ApiError::AmbiguousServer(_) => Reason::AmbiguousServer,
            ApiError::Exists(_) => Reason::AlreadyExists,
            ApiError::Locked(_) => Reason::Locked,
            ApiError::BadPassphrase(_) => Reason::BadPassphrase,
            ApiError::Refused(code) => Reason::Refused(*code),
            ApiError::NotOnline(_) => Reason::NotOnline,
            ApiError::BadServerData(_) => Reason::BadServerData,
            ApiError::Certificate { rejected, .. } if rejected.changed => Reason::CertChanged,
            ApiError::Certificate { .. } => Reason::CertUntrusted,
            ApiError::Store(_) | ApiError::Internal { .. } => Reason::Internal,
        }
    }
}

impl From<LinkError> for ApiError {
    fn from(e: LinkError) -> Self {
        match e {
            LinkError::Refused(code) => ApiError::Refused(code),
            LinkError::Certificate { message, rejected } => {
                ApiError::Certificate { message, rejected }
            }
            LinkError::NotOnline(_) => ApiError::NotOnline(e.to_string()),
            LinkError::Call(CallError::BadReply(_)) => ApiError::BadServerData(e.to_string()),
            LinkError::Call(c) => ApiError::NotOnline(c.to_string()),
        }
    }
}

impl From<ApiError> for Status {
    fn from(e: ApiError) -> Status {
        let reason = e.reason();
        let message = if reason == Reason::Internal {
            tracing::error!(error = %crate::report::chain(&e), "an API call failed");
            INTERNAL_TEXT.to_owned()
        } else {
            e.to_string()
        };
        let detail = match &e {
            ApiError::Certificate { rejected, .. } => gochat_proto::ipc::ErrorDetail::certificate(
                crate::convert::error_reason(reason),
                crate::convert::rejected_certificate(rejected),
            ),
            _ => crate::convert::error_detail(reason),
        };
        detail.into_status(message)
    }
}
