//! Why an operation or a message failed, in the terms frontends branch on. The API layer
//! turns a [`Reason`] into the `ErrorDetail` of a status (or a message's `failure_reason`);
//! the store keeps the reason of a failed message by its [`Reason::name`].

use gochat_proto::wire::ErrorCode;

/// Why an operation or a message failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The account's key is not unlocked.
    Locked,
    /// The passphrase does not open the key.
    BadPassphrase,
    /// The account's link is not online.
    NotOnline,
    /// Several accounts match the reference.
    AmbiguousAccount,
    /// Several server profiles exist and none is the default.
    AmbiguousServer,
    /// A server profile, account or contact does not exist (or the recipient of a message).
    NotFound,
    /// A local profile or account of that name exists.
    AlreadyExists,
    /// The chat server answered ERR, with this code (if it sent a known one).
    Refused(Option<ErrorCode>),
    /// The request is malformed.
    InvalidArgument,
    /// The recipient's key changed and must be accepted before sending.
    KeyChanged,
    /// The server sent something unusable (a key, a message that does not decrypt).
    BadServerData,
    /// The daemon itself failed.
    Internal,
    /// The server's certificate does not verify (and nothing pins it).
    CertUntrusted,
    /// A pinned server presented another certificate.
    CertChanged,
}

impl Reason {
    /// The name the store keeps for a failed message.
    pub fn name(self) -> &'static str {
        match self {
            Reason::Locked => "locked",
            Reason::BadPassphrase => "bad_passphrase",
            Reason::NotOnline => "not_online",
            Reason::AmbiguousAccount => "ambiguous_account",
            Reason::AmbiguousServer => "ambiguous_server",
            Reason::NotFound => "not_found",
            Reason::AlreadyExists => "already_exists",
            Reason::Refused(_) => "refused",
            Reason::InvalidArgument => "invalid_argument",
            Reason::KeyChanged => "key_changed",
            Reason::BadServerData => "bad_server_data",
            Reason::Internal => "internal",
            Reason::CertUntrusted => "cert_untrusted",
            Reason::CertChanged => "cert_changed",
        }
    }

    /// The server's error code of a refusal.
    pub fn server_code(self) -> Option<ErrorCode> {
        match self {
            Reason::Refused(code) => code,
            _ => None,
        }
    }

    /// The reason stored as `name` (with the server's `code` for a refusal); `None` for a
    /// name this build does not know.
    pub fn from_name(name: &str, code: Option<ErrorCode>) -> Option<Reason> {
        Some(match name {
            "locked" => Reason::Locked,
            "bad_passphrase" => Reason::BadPassphrase,
            "not_online" => Reason::NotOnline,
            "ambiguous_account" => Reason::AmbiguousAccount,
            "ambiguous_server" => Reason::AmbiguousServer,
            "not_found" => Reason::NotFound,
            "already_exists" => Reason::AlreadyExists,
            "refused" => Reason::Refused(code),
            "invalid_argument" => Reason::InvalidArgument,
            "key_changed" => Reason::KeyChanged,
            "bad_server_data" => Reason::BadServerData,
            "internal" => Reason::Internal,
            "cert_untrusted" => Reason::CertUntrusted,
            "cert_changed" => Reason::CertChanged,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back() {
        for reason in [
            Reason::Locked,
            Reason::BadPassphrase,
            Reason::NotOnline,
            Reason::AmbiguousAccount,
            Reason::AmbiguousServer,
            Reason::NotFound,
            Reason::AlreadyExists,
            Reason::Refused(Some(ErrorCode::Perms)),
            Reason::Refused(None),
            Reason::InvalidArgument,
            Reason::KeyChanged,
            Reason::BadServerData,
            Reason::Internal,
        ] {
            assert_eq!(
                Reason::from_name(reason.name(), reason.server_code()),
                Some(reason)
            );
        }
        assert_eq!(Reason::from_name("later", None), None);
    }
}
