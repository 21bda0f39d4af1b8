//! Conversions from the daemon's domain types (store rows, failure reasons) to API messages.

use gochat_proto::ipc::{self, AccountRef, ErrorDetail, ErrorReason, ServerError};
use gochat_proto::wire::ErrorCode;

use crate::reason::Reason;
use crate::store::{ContactPrefs, ContactRow, MessageRow, MessageState, NotifyMode, RejectedCert};
use crate::tls::{CertInfo, Problem};

/// The API form of a stored message.
pub fn message(row: &MessageRow, account: &AccountRef) -> ipc::Message {
    ipc::Message {
        id: row.id,
        account: Some(account.clone()),
        peer: row.peer.clone(),
        outgoing: row.outgoing,
        text: row.text.clone(),
        stamp: row.stamp,
        state: message_state(row.state) as i32,
        error: row.error.clone().unwrap_or_default(),
        read: row.read,
        local_time: row.local_time_ms,
        failure_reason: row.failure.map_or(ErrorReason::Unspecified, error_reason) as i32,
        failure_server_error: row
            .failure
            .map_or(ServerError::Unspecified, |r| server_error(r.server_code()))
            as i32,
    }
}

/// The API form of a contact (its key state; no preferences).
pub fn contact(c: &ContactRow) -> ipc::Contact {
    let state = match (&c.fingerprint, &c.pending_fingerprint) {
        (_, Some(_)) => ipc::KeyState::Changed,
        (Some(_), None) => ipc::KeyState::Pinned,
        (None, None) => ipc::KeyState::Unknown,
    };
    ipc::Contact {
        user: c.user.clone(),
        key_state: state as i32,
        fingerprint: c.fingerprint.clone().unwrap_or_default(),
        pending_fingerprint: c.pending_fingerprint.clone().unwrap_or_default(),
        permission: u32::from(c.permission),
        key_origin: c.key_origin.clone().unwrap_or_default(),
        ..Default::default()
    }
}

/// Adds a contact's local preferences to its API form.
pub fn with_prefs(contact: &mut ipc::Contact, prefs: &ContactPrefs) {
    contact.alias = prefs.alias.clone().unwrap_or_default();
    contact.muted = prefs.muted;
    contact.blocked = prefs.blocked;
    contact.notify = prefs
        .notify
        .map_or(ipc::NotifyMode::Unspecified, notify_mode) as i32;
    contact.muted_count = prefs.muted_count;
    contact.blocked_count = prefs.blocked_count;
}

/// The API form of a notification mode.
pub fn notify_mode(mode: NotifyMode) -> ipc::NotifyMode {
    match mode {
        NotifyMode::On => ipc::NotifyMode::On,
        NotifyMode::Off => ipc::NotifyMode::Off,
        NotifyMode::Mentions => ipc::NotifyMode::Mentions,
    }
}

/// The API form of a message state.
pub fn message_state(state: MessageState) -> ipc::MessageState {
    match state {
        MessageState::Queued => ipc::MessageState::Queued,
        MessageState::Sent => ipc::MessageState::Sent,
        MessageState::Failed => ipc::MessageState::Failed,
        MessageState::Received => ipc::MessageState::Received,
    }
}

/// The detail an error status carries.
pub fn error_detail(reason: Reason) -> ErrorDetail {
    match reason {
        Reason::Refused(code) => ErrorDetail::refused(server_error(code)),
        other => ErrorDetail::new(error_reason(other)),
    }
}

/// The API form of a reason.
pub fn error_reason(reason: Reason) -> ErrorReason {
    match reason {
        Reason::Locked => ErrorReason::Locked,
        Reason::BadPassphrase => ErrorReason::BadPassphrase,
        Reason::NotOnline => ErrorReason::NotOnline,
        Reason::AmbiguousAccount => ErrorReason::AmbiguousAccount,
        Reason::AmbiguousServer => ErrorReason::AmbiguousServer,
        Reason::NotFound => ErrorReason::NotFound,
        Reason::AlreadyExists => ErrorReason::AlreadyExists,
        Reason::Refused(_) => ErrorReason::Refused,
        Reason::InvalidArgument => ErrorReason::InvalidArgument,
        Reason::KeyChanged => ErrorReason::KeyChanged,
        Reason::BadServerData => ErrorReason::BadServerData,
        Reason::Internal => ErrorReason::Internal,
        Reason::CertUntrusted => ErrorReason::CertUntrusted,
        Reason::CertChanged => ErrorReason::CertChanged,
    }
}

/// The API form of a server error code.
pub fn server_error(code: Option<ErrorCode>) -> ServerError {
    let Some(code) = code else {
        return ServerError::Unspecified;
    };
    match code {
        ErrorCode::Undefined => ServerError::Undefined,
        ErrorCode::Invalid => ServerError::Invalid,
        ErrorCode::NotFound => ServerError::NotFound,
        ErrorCode::Version => ServerError::Version,
        ErrorCode::Handshake => ServerError::Handshake,
        ErrorCode::Args => ServerError::Args,
        ErrorCode::MaxSize => ServerError::MaxSize,
        ErrorCode::Header => ServerError::Header,
        ErrorCode::NoSess => ServerError::NoSess,
        ErrorCode::Login => ServerError::Login,
        ErrorCode::Conn => ServerError::Conn,
        ErrorCode::Empty => ServerError::Empty,
        ErrorCode::Packet => ServerError::Packet,
        ErrorCode::Perms => ServerError::Perms,
        ErrorCode::Server => ServerError::Server,
        ErrorCode::Idle => ServerError::Idle,
        ErrorCode::Exists => ServerError::Exists,
        ErrorCode::Dereg => ServerError::Dereg,
        ErrorCode::DupSess => ServerError::DupSess,
        ErrorCode::NoSecure => ServerError::NoSecure,
        ErrorCode::Corrupted => ServerError::Corrupted,
        ErrorCode::Option => ServerError::Option,
        ErrorCode::Discn => ServerError::Discn,
    }
}

/// The API form of a certificate the server presented, with what its profile makes of it
/// (`problem` `None`: trusted).
pub fn certificate(der: &[u8], problem: Option<&Problem>) -> ipc::CertificateInfo {
    let info = CertInfo::of(der);
    ipc::CertificateInfo {
        sha256: hex::encode(info.sha256),
        spki_sha256: info.spki_sha256.map(hex::encode).unwrap_or_default(),
        subject: info.subject,
        issuer: info.issuer,
        not_before: info.not_before,
        not_after: info.not_after,
        trusted: problem.is_none(),
        problem: problem.map(|p| p.text.clone()).unwrap_or_default(),
        changed: problem.is_some_and(|p| p.changed),
    }
}

/// The API form of a refused certificate.
pub fn rejected_certificate(rejected: &RejectedCert) -> ipc::CertificateInfo {
    let problem = Problem {
        text: rejected.problem.clone(),
        changed: rejected.changed,
    };
    certificate(&rejected.der, Some(&problem))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_are_the_wire_code_plus_one() {
        for byte in 0..=u8::MAX {
            if let Some(code) = ErrorCode::from_code(byte) {
                assert_eq!(server_error(Some(code)) as i32, i32::from(byte) + 1);
            }
        }
    }
}
