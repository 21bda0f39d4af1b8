//! Persistent state of the server: users and stored (offline) messages, behind the
//! [`Store`] trait, on MariaDB/MySQL or SQLite, each with its own migrations.
//!
//! One implementation serves both: [`SqlStore<D>`](SqlStore), generic over a [`Dialect`].
//! It runs the shared SQL text (`sql.rs`) and reads the rows with `#[derive(FromRow)]`
//! types (`rows.rs`, which hold the one encoding of a permission level and of a counter).
//! A dialect (`sqlite.rs`, `mysql.rs`) supplies only what really differs: opening the pool,
//! how a write transaction starts (`BEGIN IMMEDIATE`; or a plain `BEGIN` with `FOR UPDATE`
//! row locks and a deadlock retry) and the few statements whose SQL differs.

mod import;
mod mailbox;
mod mysql;
mod rows;
mod sql;
mod sql_store;
mod sqlite;

use async_trait::async_trait;
use gochat_proto::wire::Permission;

pub use import::{ImportBatch, ImportMessage, ImportUser, MessageDigest};
pub use mailbox::{MailboxUsage, Quota, StoreOutcome};
pub use mysql::{MySqlDialect, MySqlStore};
pub use sql::Dialect;
pub use sql_store::SqlStore;
pub use sqlite::{SqliteDialect, SqliteStore};

/// A registered (or deregistered) user row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Row id.
    pub id: i64,
    /// Exact username bytes.
    pub username: Vec<u8>,
    /// PEM text as registered; `None` once deregistered.
    pub public_key: Option<Vec<u8>>,
    /// Raw stored permission level (0..=2 when valid).
    pub permission: u8,
}

impl UserRecord {
    /// The permission, if the stored value is valid.
    pub fn permission(&self) -> Option<Permission> {
        Permission::from_code(self.permission)
    }
}

/// A message recipient, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipient {
    /// A registered user, by row id.
    Registered(i64),
    /// The name was registered once; its user deregistered.
    Deregistered,
    /// No user ever had the name.
    Unknown,
}

/// A message stored for a user who was offline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// Row id (send order).
    pub id: i64,
    /// Sender's username.
    pub sender: Vec<u8>,
    /// Unix seconds as sent.
    pub stamp: i64,
    /// Ciphertext as sent.
    pub ciphertext: Vec<u8>,
}

impl StoredMessage {
    /// Roughly the bytes this message takes in a `RECIV` (the ciphertext and sender name;
    /// the rest is a few dozen bytes of framing).
    pub fn wire_size(&self) -> usize {
        self.ciphertext.len() + self.sender.len()
    }
}

/// A message to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    /// Sender's user id.
    pub sender_id: i64,
    /// Recipient's user id.
    pub recipient_id: i64,
    /// Unix seconds as sent.
    pub stamp: i64,
    /// Ciphertext as sent.
    pub ciphertext: Vec<u8>,
}

/// Why a registration failed.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// The username is registered.
    #[error("username already registered")]
    NameTaken,
    /// The username was deregistered and can never be reused.
    #[error("username was deregistered")]
    NameDeregistered,
    /// The public key is already registered under another name.
    #[error("public key already registered")]
    KeyTaken,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] StoreError),
}

/// A database failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached or a query failed.
    #[error("database error")]
    Sqlx(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("database migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Another node kept the migration lock for longer than we wait for it.
    #[error("another node kept the migration lock (`{lock}`) for over {seconds} s")]
    MigrationLocked {
        /// The lock's name.
        lock: &'static str,
        /// How long we waited.
        seconds: u32,
    },
    /// The URL is not one we support.
    #[error("unsupported database URL {0:?}: use sqlite://PATH or mysql://USER:PASS@HOST:PORT/DB")]
    UnsupportedUrl(String),
    /// Creating the SQLite database file (private to its owner) failed.
    #[error(transparent)]
    File(#[from] gochat_proto::private_file::PrivateFileError),
    /// Local filesystem problem (SQLite directory).
    #[error("{context}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        source: std::io::Error,
    },
    /// The database holds the Go server's schema: it must be imported, never used directly.
    #[error(
        "this is a Go gochat database (table `users` has a `user_id` column): import it into \
         another database with `gochat-server import-go` instead of using it as our store"
    )]
    GoSchema,
    /// An import named a user that is neither in the batch nor in the store.
    #[error("the import refers to user {0:?}, which is not in the store")]
    ImportUnknownUser(String),
}

/// The operations the server needs from its database. Usernames are compared as exact bytes.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Registers a user with permission 0. `public_key` is stored verbatim; `key_fingerprint`
    /// (SHA-256 of the SPKI DER) makes the same key in another PEM form a duplicate too.
    async fn register(
        &self,
        username: &[u8],
        public_key: &[u8],
        key_fingerprint: &[u8; 32],
    ) -> Result<(), RegisterError>;

    /// Looks a user up by exact name, deregistered ones included.
    async fn user(&self, username: &[u8]) -> Result<Option<UserRecord>, StoreError>;

    /// Who a message to `username` goes to. The default looks the user up each time;
    /// [`crate::recipients::CachedRecipients`] remembers the answer.
    async fn recipient(&self, username: &[u8]) -> Result<Recipient, StoreError> {
        Ok(match self.user(username).await? {
            None => Recipient::Unknown,
            Some(user) if user.public_key.is_none() => Recipient::Deregistered,
            Some(user) => Recipient::Registered(user.id),
        })
    }

    /// Removes the user's key (the row and name stay, so the name is never reused).
    /// Also drops messages stored for them. Returns whether the user exists.
    async fn deregister(&self, username: &[u8]) -> Result<bool, StoreError>;

    /// Sets the permission level. Returns whether the user exists.
    async fn set_permission(&self, username: &[u8], level: Permission) -> Result<bool, StoreError>;

    /// Every registered (not deregistered) user with their level, in registration order.
    /// Loads the whole table: for offline tools only; sessions use [`Store::visit_users`].
    async fn list_users(&self) -> Result<Vec<(Vec<u8>, u8)>, StoreError> {
        let mut all = Vec::new();
        self.visit_users(0, u32::MAX, &mut |_, name, level| {
            all.push((name.to_vec(), level));
            true
        })
        .await?;
        Ok(all)
    }

    /// Streams at most `limit` registered users with a row id above `after`, in
    /// registration order, to `visit` (id, name, level), which returns `false` to stop
    /// early; no more rows are read from the database after that.
    async fn visit_users(
        &self,
        after: i64,
        limit: u32,
        visit: &mut (dyn for<'n> FnMut(i64, &'n [u8], u8) -> bool + Send),
    ) -> Result<(), StoreError>;

    /// Stores messages in one transaction, in the given order, and says per message whether it
    /// was stored. In the same transaction, and atomically with any concurrent writer, it
    /// refuses a message whose recipient is missing or deregistered, or whose mailbox would
    /// exceed `quota`; the others are stored. A database error stores nothing.
    async fn store_messages(
        &self,
        messages: &[NewMessage],
        quota: Quota,
    ) -> Result<Vec<StoreOutcome>, StoreError> {
        Ok(self.store_messages_with_ids(messages, quota).await?.0)
    }

    /// [`Store::store_messages`], also returning the ids of the stored rows, in the order of
    /// the messages stored (one id per [`StoreOutcome::Stored`]).
    async fn store_messages_with_ids(
        &self,
        messages: &[NewMessage],
        quota: Quota,
    ) -> Result<(Vec<StoreOutcome>, Vec<i64>), StoreError>;

    /// Up to `limit` messages stored for `recipient_id`, oldest (lowest id) first.
    async fn pending_messages(
        &self,
        recipient_id: i64,
        limit: u32,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        self.pending_batch(recipient_id, 0, limit, usize::MAX).await
    }

    /// The next catch-up batch: messages stored for `recipient_id` with an id above `after`,
    /// oldest first, at most `max_rows` of them, and no more once their ciphertexts reach
    /// `max_bytes` (at least one message when there is any). Rows beyond that are not read.
    async fn pending_batch(
        &self,
        recipient_id: i64,
        after: i64,
        max_rows: u32,
        max_bytes: usize,
    ) -> Result<Vec<StoredMessage>, StoreError>;

    /// Deletes exactly the given message ids (delivered ones) of `recipient_id`, and lowers
    /// that mailbox's counters by what was deleted.
    async fn delete_messages(&self, recipient_id: i64, ids: &[i64]) -> Result<(), StoreError>;

    /// Whether row `id` of `recipient_id` is still stored.
    async fn message_exists(&self, recipient_id: i64, id: i64) -> Result<bool, StoreError>;

    /// The highest message row id committed so far (0 if none): a row committed after this
    /// call has a higher id.
    async fn last_message_id(&self) -> Result<i64, StoreError>;

    /// The mailbox counters of `recipient_id` (messages and ciphertext bytes stored).
    async fn mailbox_usage(&self, recipient_id: i64) -> Result<MailboxUsage, StoreError>;

    /// Number of messages waiting for `recipient_id`.
    async fn count_pending(&self, recipient_id: i64) -> Result<u64, StoreError>;

    /// Cheap liveness check.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Every user row, deregistered ones included, oldest first (for offline tools such as
    /// `import-go`).
    async fn all_users(&self) -> Result<Vec<UserRecord>, StoreError>;

    /// Digests of the Go messages imported so far (so a second import skips them).
    async fn imported_go_messages(
        &self,
    ) -> Result<std::collections::HashSet<MessageDigest>, StoreError>;

    /// Writes an import in one transaction: all of it or nothing. Users are created as given
    /// (deregistered ones too); messages are stored in the given order and their digests
    /// recorded.
    async fn apply_import(&self, batch: &ImportBatch) -> Result<(), StoreError>;
}

/// Whether `e` is a unique-constraint violation reported by the database.
fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// Which registration conflict a unique violation was, given the row (if any) that holds the
/// username: a deregistered name, a live name, or else the key fingerprint.
fn register_conflict(existing: Option<UserRecord>) -> RegisterError {
    match existing {
        Some(user) if user.public_key.is_none() => RegisterError::NameDeregistered,
        Some(_) => RegisterError::NameTaken,
        None => RegisterError::KeyTaken,
    }
}

/// Opens the store named by `url`: `sqlite://PATH` (created if missing) or `mysql://…`
/// (`mariadb://` is accepted as a synonym), and runs its migrations.
pub async fn open(url: &str) -> Result<std::sync::Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(std::sync::Arc::new(SqliteStore::open(url).await?))
    } else if url.starts_with("mysql://") || url.starts_with("mariadb://") {
        let url = url.replacen("mariadb://", "mysql://", 1);
        Ok(std::sync::Arc::new(MySqlStore::open(&url).await?))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_owned()))
    }
}
