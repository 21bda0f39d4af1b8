//! The rows both backends read, decoded by `#[derive(FromRow)]`, and the one encoding of a
//! permission level in the database.
//!
//! Integers are read as `i64` on both backends: the SQL casts MariaDB's unsigned columns
//! to signed (the select lists of [`super::sql::USER_BY_NAME`] and its kin), so one row
//! type serves both and every range check happens here, once.

use gochat_proto::wire::Permission;

use super::mailbox::Mailbox;
use super::{MailboxUsage, StoredMessage, UserRecord};

/// A permission level as written to the database (both backends bind it as `i64`).
pub(super) fn permission_to_db(level: Permission) -> i64 {
    i64::from(level.code())
}

/// A stored permission level as the raw `u8` of [`UserRecord::permission`]: values outside
/// `0..=255` (only SQLite can hold them) read as 255, which no [`Permission`] has, so they
/// stay invalid instead of wrapping onto a valid level.
pub(super) fn permission_from_db(stored: i64) -> u8 {
    u8::try_from(stored).unwrap_or(u8::MAX)
}

/// A stored count as `u64` (counts are never negative; a nonsensical value reads as 0).
pub(super) fn count_from_db(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// A counter delta as a database integer (saturating).
pub(super) fn count_to_db(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A `users` row as selected by [`super::sql::USER_BY_NAME`] and [`super::sql::ALL_USERS`].
#[derive(Debug, sqlx::FromRow)]
pub(super) struct UserRow {
    id: i64,
    username: Vec<u8>,
    public_key: Option<Vec<u8>>,
    permission: i64,
}

impl From<UserRow> for UserRecord {
    fn from(row: UserRow) -> Self {
        Self {
            id: row.id,
            username: row.username,
            public_key: row.public_key,
            permission: permission_from_db(row.permission),
        }
    }
}

/// A row of [`super::sql::VISIT_USERS`]: a registered user in a listing.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct ListedUserRow {
    pub id: i64,
    pub username: Vec<u8>,
    permission: i64,
}

impl ListedUserRow {
    /// The raw level, decoded as for [`UserRecord`].
    pub fn level(&self) -> u8 {
        permission_from_db(self.permission)
    }
}

/// A row of [`super::sql::mailboxes`]: liveness and counters of one recipient.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct MailboxRow {
    pub id: i64,
    live: i64,
    stored_messages: i64,
    stored_bytes: i64,
}

impl From<MailboxRow> for Mailbox {
    fn from(row: MailboxRow) -> Self {
        Self {
            live: row.live != 0,
            usage: UsageRow {
                stored_messages: row.stored_messages,
                stored_bytes: row.stored_bytes,
            }
            .into(),
        }
    }
}

/// A row of [`super::sql::MAILBOX_USAGE`].
#[derive(Debug, sqlx::FromRow)]
pub(super) struct UsageRow {
    stored_messages: i64,
    stored_bytes: i64,
}

impl From<UsageRow> for MailboxUsage {
    fn from(row: UsageRow) -> Self {
        Self {
            messages: count_from_db(row.stored_messages),
            bytes: count_from_db(row.stored_bytes),
        }
    }
}

/// A row of [`super::sql::PENDING_BATCH`].
#[derive(Debug, sqlx::FromRow)]
pub(super) struct StoredMessageRow {
    id: i64,
    username: Vec<u8>,
    stamp: i64,
    ciphertext: Vec<u8>,
}

impl From<StoredMessageRow> for StoredMessage {
    fn from(row: StoredMessageRow) -> Self {
        Self {
            id: row.id,
            sender: row.username,
            stamp: row.stamp,
            ciphertext: row.ciphertext,
        }
    }
}

/// A row of [`super::sql::measure_messages`]: count and ciphertext bytes of some messages.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct MeasureRow {
    pub n: i64,
    pub b: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_round_trips_and_bad_values_stay_invalid() {
        for level in [Permission::User, Permission::Admin, Permission::Owner] {
            let stored = permission_from_db(permission_to_db(level));
            assert_eq!(Permission::from_code(stored), Some(level));
        }
        for bad in [-1, 256, i64::MAX, i64::MIN] {
            assert_eq!(permission_from_db(bad), u8::MAX);
            assert_eq!(Permission::from_code(permission_from_db(bad)), None);
        }
        assert_eq!(permission_from_db(3), 3);
    }

    #[test]
    fn counts_never_go_negative() {
        assert_eq!(count_from_db(-5), 0);
        assert_eq!(count_to_db(u64::MAX), i64::MAX);
    }
}
