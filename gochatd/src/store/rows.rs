//! The rows the store reads and writes, and their mapping from SQLite rows.

use gochat_proto::wire::ErrorCode;
use sqlx::Row;

use crate::reason::Reason;
use sqlx::sqlite::SqliteRow;

/// A server profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerRow {
    /// Assigned by the store (ignored by [`Store::add_server`](super::Store::add_server)).
    pub id: i64,
    /// The profile's unique name.
    pub name: String,
    /// Host name or address of the chat server.
    pub host: String,
    /// TCP port of the chat server.
    pub port: u16,
    /// Connect with TLS.
    pub tls: bool,
    /// Verify the server certificate (TLS only).
    pub verify: bool,
    /// PEM file with the CA (or self-signed certificate) to trust instead of the system roots.
    pub ca_file: Option<String>,
    /// The profile used when a request names no server.
    pub is_default: bool,
    /// Pinned certificates (`sha256:HEX`) and public keys (`spki-sha256:HEX`).
    pub pins: Vec<String>,
    /// The certificate the server presented last that was refused.
    pub rejected: Option<RejectedCert>,
}

/// A certificate a server presented that its profile refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedCert {
    /// The certificate (DER).
    pub der: Vec<u8>,
    /// Why it was refused, for humans.
    pub problem: String,
    /// The profile pins other certificates (rather than: it does not verify).
    pub changed: bool,
}

/// An account of the local user on a server, with its key pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    /// Assigned by the store (ignored by [`Store::add_account`](super::Store::add_account)).
    pub id: i64,
    /// The [`ServerRow::id`] of the server the account lives on.
    pub server_id: i64,
    /// The user name on that server.
    pub username: String,
    /// The private key, in the clear or encrypted with a passphrase (see `key_encrypted`).
    pub key_blob: Vec<u8>,
    /// Whether `key_blob` is passphrase-encrypted.
    pub key_encrypted: bool,
    /// The public key (PEM).
    pub public_pem: String,
    /// SHA-256 of the public key (hex).
    pub fingerprint: String,
    /// Log in whenever the daemon runs.
    pub auto_login: bool,
    /// The last permission level the server reported (0 user, 1 admin, 2 owner).
    pub permission: u8,
}

/// Another user as seen from one account, with their pinned (and possibly a pending) key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRow {
    /// The [`AccountRow::id`] this contact belongs to.
    pub account_id: i64,
    /// The other user's name.
    pub user: String,
    /// The pinned (trusted) public key, if one was ever fetched.
    pub public_pem: Option<String>,
    /// Fingerprint of `public_pem`.
    pub fingerprint: Option<String>,
    /// A different key the server now reports, waiting to be accepted.
    pub pending_pem: Option<String>,
    /// Fingerprint of `pending_pem`.
    pub pending_fingerprint: Option<String>,
    /// The user's permission level, as last reported.
    pub permission: u8,
    /// Where the pinned key came from: `None` when gochatd fetched it from the server,
    /// [`KEY_ORIGIN_GO_CLIENT`] when it was imported from the Go client's store.
    pub key_origin: Option<String>,
}

/// [`ContactRow::key_origin`] of a key imported from the Go client (which had fetched it
/// from the server earlier).
pub const KEY_ORIGIN_GO_CLIENT: &str = "go-client";

/// Where a message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageState {
    /// Outgoing, waiting to be delivered to the server.
    Queued = 1,
    /// Outgoing, confirmed by the server.
    Sent = 2,
    /// Outgoing, could not be delivered (see the message's `error`).
    Failed = 3,
    /// Incoming.
    Received = 4,
}

impl MessageState {
    /// The state stored as `v`, if any.
    pub fn from_i64(v: i64) -> Option<MessageState> {
        match v {
            1 => Some(MessageState::Queued),
            2 => Some(MessageState::Sent),
            3 => Some(MessageState::Failed),
            4 => Some(MessageState::Received),
            _ => None,
        }
    }

    /// The stored value (equal to the `MessageState` number in the daemon API).
    pub fn as_i64(self) -> i64 {
        self as i64
    }
}

/// A message to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    /// The [`AccountRow::id`] that sent or received it.
    pub account_id: i64,
    /// The other user.
    pub peer: String,
    /// Sent by the local user.
    pub outgoing: bool,
    /// The plain text.
    pub text: String,
    /// Unix seconds as carried on the wire.
    pub stamp: i64,
    /// The initial state.
    pub state: MessageState,
    /// Already read (always stored as read when outgoing).
    pub read: bool,
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRow {
    /// Assigned by the store; increasing in insertion order, never reused.
    pub id: i64,
    /// The [`AccountRow::id`] that sent or received it.
    pub account_id: i64,
    /// The other user.
    pub peer: String,
    /// Sent by the local user.
    pub outgoing: bool,
    /// The plain text.
    pub text: String,
    /// Unix seconds as carried on the wire.
    pub stamp: i64,
    /// Where the message is in its life.
    pub state: MessageState,
    /// Why it failed, when it did, for humans.
    pub error: Option<String>,
    /// Why it failed, for programs (`None` for messages that failed before reasons were
    /// stored, and for those that did not fail).
    pub failure: Option<Reason>,
    /// Read by the local user (outgoing messages always are).
    pub read: bool,
    /// Unix milliseconds when the store inserted it.
    pub local_time_ms: i64,
}

/// The summary of the conversation with one peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationRow {
    /// The other user.
    pub peer: String,
    /// The newest message in either direction.
    pub last: MessageRow,
    /// Incoming messages not yet read.
    pub unread: u32,
}

/// The columns of `servers` that [`server_from_row`] reads.
pub(super) const SERVER_COLUMNS: &str = "id, name, host, port, tls, verify, ca_file, is_default, \
     pins, rejected_cert, rejected_problem, rejected_changed";

/// The columns of `accounts` that [`account_from_row`] reads.
pub(super) const ACCOUNT_COLUMNS: &str = "id, server_id, username, key_blob, key_encrypted, \
     public_pem, fingerprint, auto_login, permission";

/// The columns of `contacts` that [`contact_from_row`] reads.
pub(super) const CONTACT_COLUMNS: &str = "account_id, user, public_pem, fingerprint, \
     pending_pem, pending_fingerprint, permission, key_origin";

/// The columns of `messages` that [`message_from_row`] reads.
pub(super) const MESSAGE_COLUMNS: &str = "id, account_id, peer, outgoing, text, stamp, state, error, read, local_time_ms, \
     failure_reason, failure_code";

/// A decode error for column `column`.
fn decode_error(column: &str, message: String) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: message.into(),
    }
}

/// Column `column` as an integer that must fit `T`.
fn int_column<T: TryFrom<i64>>(row: &SqliteRow, column: &str) -> Result<T, sqlx::Error> {
    let v: i64 = row.try_get(column)?;
    T::try_from(v).map_err(|_| {
        decode_error(
            column,
            format!("value {v} out of range for {}", std::any::type_name::<T>()),
        )
    })
}

/// Maps a row selected with [`SERVER_COLUMNS`].
pub(super) fn server_from_row(row: &SqliteRow) -> Result<ServerRow, sqlx::Error> {
    Ok(ServerRow {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        host: row.try_get("host")?,
        port: int_column(row, "port")?,
        tls: row.try_get("tls")?,
        verify: row.try_get("verify")?,
        ca_file: row.try_get("ca_file")?,
        is_default: row.try_get("is_default")?,
        pins: row
            .try_get::<String, _>("pins")?
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
        rejected: row
            .try_get::<Option<Vec<u8>>, _>("rejected_cert")?
            .map(|der| -> Result<RejectedCert, sqlx::Error> {
                Ok(RejectedCert {
                    der,
                    problem: row
                        .try_get::<Option<String>, _>("rejected_problem")?
                        .unwrap_or_default(),
                    changed: row.try_get("rejected_changed")?,
                })
            })
            .transpose()?,
    })
}

/// Maps a row selected with [`ACCOUNT_COLUMNS`].
pub(super) fn account_from_row(row: &SqliteRow) -> Result<AccountRow, sqlx::Error> {
    Ok(AccountRow {
        id: row.try_get("id")?,
        server_id: row.try_get("server_id")?,
        username: row.try_get("username")?,
        key_blob: row.try_get("key_blob")?,
        key_encrypted: row.try_get("key_encrypted")?,
        public_pem: row.try_get("public_pem")?,
        fingerprint: row.try_get("fingerprint")?,
        auto_login: row.try_get("auto_login")?,
        permission: int_column(row, "permission")?,
    })
}

/// Maps a row selected with [`CONTACT_COLUMNS`].
pub(super) fn contact_from_row(row: &SqliteRow) -> Result<ContactRow, sqlx::Error> {
    Ok(ContactRow {
        account_id: row.try_get("account_id")?,
        user: row.try_get("user")?,
        public_pem: row.try_get("public_pem")?,
        fingerprint: row.try_get("fingerprint")?,
        pending_pem: row.try_get("pending_pem")?,
        pending_fingerprint: row.try_get("pending_fingerprint")?,
        permission: int_column(row, "permission")?,
        key_origin: row.try_get("key_origin")?,
    })
}

/// The failure reason of a message row (an unknown stored name reads as none).
fn failure_from_row(row: &SqliteRow) -> Result<Option<Reason>, sqlx::Error> {
    let name: Option<String> = row.try_get("failure_reason")?;
    let code: Option<i64> = row.try_get("failure_code")?;
    let code = code
        .and_then(|c| u8::try_from(c).ok())
        .and_then(ErrorCode::from_code);
    Ok(name.and_then(|n| Reason::from_name(&n, code)))
}

/// Maps a row selected with [`MESSAGE_COLUMNS`].
pub(super) fn message_from_row(row: &SqliteRow) -> Result<MessageRow, sqlx::Error> {
    let state: i64 = row.try_get("state")?;
    let state = MessageState::from_i64(state)
        .ok_or_else(|| decode_error("state", format!("unknown message state {state}")))?;
    Ok(MessageRow {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        peer: row.try_get("peer")?,
        outgoing: row.try_get("outgoing")?,
        text: row.try_get("text")?,
        stamp: row.try_get("stamp")?,
        state,
        error: row.try_get("error")?,
        failure: failure_from_row(row)?,
        read: row.try_get("read")?,
        local_time_ms: row.try_get("local_time_ms")?,
    })
}
