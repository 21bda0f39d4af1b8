//! Importing a Go client's `client.db`: its servers become profiles (an existing profile with
//! the same host and port is reused), each chosen local user becomes an account (its key
//! decrypted with the Go password and sealed with a new passphrase), the contacts' keys are
//! pinned as trusted (marked as coming from the Go client, which fetched them from the
//! server), and the plaintext history is stored with its stamps, directions and read state.
//!
//! Every key is decrypted before anything is written, so a wrong password imports nothing.
//! Importing again adds nothing already there: profiles are matched by host and port,
//! accounts by server and name (with the same key), contacts by name, and messages by peer,
//! direction, stamp and text (counted, so repeated equal messages survive).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use gochat_proto::crypto::PrivateKey;
use gochat_proto::wire::PublicKey;

use crate::daemon::Daemon;
use crate::error::ApiError;
use crate::goclient::key::{self as go_key, GoKeyError};
use crate::goclient::source::{GoClientDb, GoLocalUser, GoReadError, GoServer};
use crate::store::{
    AccountRow, ContactRow, KEY_ORIGIN_GO_CLIENT, MessageKey, MessageState, NewMessage, ServerRow,
};

/// One import at a time: two concurrent imports of the same file would both see a message as
/// missing and store it twice.
static IMPORTING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// What to import.
#[derive(Debug, Clone, Copy)]
pub struct GoImport<'a> {
    /// The Go client's `client.db`.
    pub path: &'a Path,
    /// The local users to import; empty: all.
    pub users: &'a [String],
    /// The Go password that encrypts their keys.
    pub go_password: &'a str,
    /// Seals the imported keys; empty: stored unencrypted.
    pub passphrase: &'a str,
}

/// A Go server and the profile it maps to.
#[derive(Debug, Clone)]
pub struct ImportedServer {
    /// The profile.
    pub profile: ServerRow,
    /// The Go client's name for the server.
    pub go_name: String,
    /// Made by this import (false: an existing profile with the same host and port).
    pub created: bool,
}

/// What was imported for one Go local user.
#[derive(Debug, Clone)]
pub struct ImportedAccount {
    /// The account's profile.
    pub server: ServerRow,
    /// The account.
    pub account: AccountRow,
    /// Made by this import (false: it existed with the same key).
    pub created: bool,
    /// Contacts pinned now.
    pub contacts_pinned: Vec<String>,
    /// Contacts already pinned with the same key.
    pub contacts_unchanged: u32,
    /// Contacts left alone, each as "name: reason".
    pub contacts_skipped: Vec<String>,
    /// Messages stored now.
    pub messages_imported: u32,
    /// Messages already in the history.
    pub messages_unchanged: u32,
    /// Messages left out because their stamp is unreadable.
    pub messages_skipped: u32,
}

/// The outcome of an import.
#[derive(Debug, Clone, Default)]
pub struct GoImportReport {
    /// Every Go server, in Go's order.
    pub servers: Vec<ImportedServer>,
    /// Every chosen local user.
    pub accounts: Vec<ImportedAccount>,
}

/// A chosen local user with the decrypted key.
struct Chosen {
    user: GoLocalUser,
    server: GoServer,
    key: PrivateKey,
}

fn read_error(e: GoReadError) -> ApiError {
    match e {
        GoReadError::Open { .. } => ApiError::NotFound(e.to_string()),
        GoReadError::NotGoClient(..) => ApiError::Invalid(e.to_string()),
        GoReadError::Query(_) | GoReadError::BadValue(_) => ApiError::BadServerData(e.to_string()),
    }
}

impl Daemon {
    /// Imports the Go client database described by `request`.
    pub async fn import_go_client(
        &self,
        request: &GoImport<'_>,
    ) -> Result<GoImportReport, ApiError> {
        if !request.path.is_absolute() {
            return Err(ApiError::Invalid(format!(
                "the Go client database must be given as an absolute path, not {}",
                request.path.display()
            )));
        }
        let _one = IMPORTING.lock().await;
        let db = GoClientDb::open(request.path).await.map_err(read_error)?;
        let result = self.import_from(&db, request).await;
        db.close().await;
        let report = result?;
        self.config_changed("servers").await;
        self.config_changed("accounts").await;
        Ok(report)
    }

    async fn import_from(
        &self,
        db: &GoClientDb,
        request: &GoImport<'_>,
    ) -> Result<GoImportReport, ApiError> {
        let servers = db.servers().await.map_err(read_error)?;
        let chosen = choose(db, &servers, request.users).await?;
        // Decrypt every key first: a wrong password must leave everything untouched.
        let mut unlocked = Vec::with_capacity(chosen.len());
        for (user, server) in chosen {
            let key = decrypt(&user, request.go_password).await?;
            unlocked.push(Chosen { user, server, key });
        }
        self.check_accounts(&unlocked).await?;

        let mut report = GoImportReport::default();
        let mut profiles: HashMap<i64, ServerRow> = HashMap::new();
        for server in &servers {
            let (profile, created) = self.profile_for(server).await?;
            profiles.insert(server.id, profile.clone());
            report.servers.push(ImportedServer {
                profile,
                go_name: server.name.clone(),
                created,
            });
        }
        for chosen in unlocked {
            let profile = profiles
                .get(&chosen.server.id)
                .cloned()
                .ok_or_else(|| ApiError::internal("an imported server vanished"))?;
            report.accounts.push(
                self.import_user(db, profile, chosen, request.passphrase)
                    .await?,
            );
        }
        Ok(report)
    }

    /// Fails (before anything is written) when a chosen user already has an account here
    /// with another key.
    async fn check_accounts(&self, chosen: &[Chosen]) -> Result<(), ApiError> {
        let profiles = self.store.list_servers().await?;
        for c in chosen {
            let Some(profile) = profiles
                .iter()
                .find(|p| p.host == c.server.address && p.port == c.server.port)
            else {
                continue;
            };
            if let Some(existing) = self.store.account(profile.id, &c.user.username).await?
                && existing.fingerprint != c.key.public_key().fingerprint_hex()
            {
                return Err(ApiError::Exists(format!(
                    "account {:?} on {:?} exists here with another key; nothing was imported",
                    c.user.username, profile.name
                )));
            }
        }
        Ok(())
    }

    /// The profile with the Go server's host and port, made if there is none.
    async fn profile_for(&self, server: &GoServer) -> Result<(ServerRow, bool), ApiError> {
        let existing = self.store.list_servers().await?;
        if let Some(p) = existing
            .iter()
            .find(|p| p.host == server.address && p.port == server.port)
        {
            return Ok((p.clone(), false));
        }
        let base = if server.name.is_empty() {
            format!("go-{}", server.id)
        } else {
            server.name.clone()
        };
        let taken = |name: &str| existing.iter().any(|p| p.name == name);
        let mut name = base.clone();
        let mut n = 1;
        while taken(&name) {
            n += 1;
            name = if n == 2 {
                format!("go-{base}")
            } else {
                format!("go-{base}-{n}")
            };
        }
        let row = self
            .store
            .add_server(&ServerRow {
                id: 0,
                name,
                host: server.address.clone(),
                port: server.port,
                tls: server.tls,
                verify: true,
                ca_file: None,
                is_default: false,
                pins: Vec::new(),
                rejected: None,
            })
            .await?;
        Ok((row, true))
    }

    async fn import_user(
        &self,
        db: &GoClientDb,
        server: ServerRow,
        chosen: Chosen,
        passphrase: &str,
    ) -> Result<ImportedAccount, ApiError> {
        let Chosen { user, key, .. } = chosen;
        let existing = self.store.account(server.id, &user.username).await?;
        let created = existing.is_none();
        let (account, new_key) = match existing {
            Some(account) => (account, None),
            None => {
                let key = Arc::new(key);
                let sealed = seal(key.clone(), passphrase).await?;
                let account = self
                    .store
                    .add_account(&AccountRow {
                        id: 0,
                        server_id: server.id,
                        username: user.username.clone(),
                        key_blob: sealed.blob,
                        key_encrypted: sealed.encrypted,
                        public_pem: key.public_key().to_pem(),
                        fingerprint: key.public_key().fingerprint_hex(),
                        auto_login: true,
                        permission: 0,
                    })
                    .await?;
                (account, Some(key))
            }
        };
        let mut out = ImportedAccount {
            server,
            account,
            created,
            contacts_pinned: Vec::new(),
            contacts_unchanged: 0,
            contacts_skipped: Vec::new(),
            messages_imported: 0,
            messages_unchanged: 0,
            messages_skipped: 0,
        };
        self.import_contacts(db, &user, &mut out).await?;
        self.import_messages(db, &user, &mut out).await?;
        // The link starts only now, so history fetched from the server lands after the
        // imported one and the imported keys are the pinned ones.
        if let Some(key) = new_key {
            self.activate_account(out.account.clone(), key).await?;
        }
        Ok(out)
    }

    async fn import_contacts(
        &self,
        db: &GoClientDb,
        user: &GoLocalUser,
        out: &mut ImportedAccount,
    ) -> Result<(), ApiError> {
        for contact in db.contacts(user.server_id).await.map_err(read_error)? {
            let name = contact.username;
            if name == user.username {
                continue;
            }
            if !crate::link::untrusted::valid_username(name.as_bytes()) {
                out.contacts_skipped
                    .push(format!("{name:?}: not a valid username"));
                continue;
            }
            let key = match PublicKey::parse(&contact.pub_key) {
                Ok(key) => key,
                Err(e) => {
                    out.contacts_skipped
                        .push(format!("{name}: the Go client's key is unusable ({e})"));
                    continue;
                }
            };
            let fingerprint = key.fingerprint_hex();
            let existing = self.store.contact(out.account.id, &name).await?;
            match existing.as_ref().and_then(|c| c.fingerprint.as_deref()) {
                Some(pinned) if pinned == fingerprint => out.contacts_unchanged += 1,
                Some(_) => out.contacts_skipped.push(format!(
                    "{name}: another key is pinned here (see `gochat-cli contacts`)"
                )),
                None => {
                    let mut row = existing.unwrap_or(ContactRow {
                        account_id: out.account.id,
                        user: name.clone(),
                        public_pem: None,
                        fingerprint: None,
                        pending_pem: None,
                        pending_fingerprint: None,
                        permission: 0,
                        key_origin: None,
                    });
                    row.public_pem = Some(key.to_pem());
                    if row.pending_fingerprint.as_deref() == Some(fingerprint.as_str()) {
                        row.pending_pem = None;
                        row.pending_fingerprint = None;
                    }
                    row.fingerprint = Some(fingerprint);
                    row.key_origin = Some(KEY_ORIGIN_GO_CLIENT.to_owned());
                    self.store.upsert_contact(&row).await?;
                    out.contacts_pinned.push(name);
                }
            }
        }
        Ok(())
    }

    async fn import_messages(
        &self,
        db: &GoClientDb,
        user: &GoLocalUser,
        out: &mut ImportedAccount,
    ) -> Result<(), ApiError> {
        let mut present = self.store.message_key_counts(out.account.id).await?;
        let mut new = Vec::new();
        for m in db.messages(user).await.map_err(read_error)? {
            let Some(stamp) = m.stamp else {
                out.messages_skipped += 1;
                continue;
            };
            let message = NewMessage {
                account_id: out.account.id,
                peer: m.peer,
                outgoing: m.outgoing,
                text: m.text,
                stamp,
                state: if m.outgoing {
                    MessageState::Sent
                } else {
                    MessageState::Received
                },
                read: true,
            };
            match present.get_mut(&MessageKey::of(&message)) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    out.messages_unchanged += 1;
                }
                _ => new.push(message),
            }
        }
        let stored = self.store.import_messages(&new).await?;
        out.messages_imported = u32::try_from(stored).unwrap_or(u32::MAX);
        Ok(())
    }
}

/// The local users to import, each with its Go server.
async fn choose(
    db: &GoClientDb,
    servers: &[GoServer],
    wanted: &[String],
) -> Result<Vec<(GoLocalUser, GoServer)>, ApiError> {
    let locals = db.local_users().await.map_err(read_error)?;
    if locals.is_empty() {
        return Err(ApiError::NotFound(
            "the Go client database has no local user".into(),
        ));
    }
    for name in wanted {
        if !locals.iter().any(|u| &u.username == name) {
            let known: Vec<&str> = locals.iter().map(|u| u.username.as_str()).collect();
            return Err(ApiError::NotFound(format!(
                "no local user {name:?} in the Go client database (it has: {})",
                known.join(", ")
            )));
        }
    }
    let mut out = Vec::new();
    for user in locals {
        if !wanted.is_empty() && !wanted.contains(&user.username) {
            continue;
        }
        if !crate::link::untrusted::valid_username(user.username.as_bytes()) {
            return Err(ApiError::Invalid(format!(
                "the Go client's user {:?} is not a valid username here",
                user.username
            )));
        }
        let server = servers
            .iter()
            .find(|s| s.id == user.server_id)
            .cloned()
            .ok_or_else(|| {
                ApiError::BadServerData(format!(
                    "the Go client's user {:?} belongs to server {} that its database lacks",
                    user.username, user.server_id
                ))
            })?;
        out.push((user, server));
    }
    Ok(out)
}

/// Decrypts `user`'s key with the Go password (on a blocking thread: scrypt is slow).
async fn decrypt(user: &GoLocalUser, password: &str) -> Result<PrivateKey, ApiError> {
    let Some(blob) = user.key_blob.clone() else {
        return Err(ApiError::Invalid(format!(
            "the Go client's user {:?} has no private key",
            user.username
        )));
    };
    let password = zeroize::Zeroizing::new(password.to_owned());
    let opened = tokio::task::spawn_blocking(move || go_key::open(&blob, &password))
        .await
        .map_err(|e| ApiError::internal_from("opening the Go key stopped", e))?;
    opened.map_err(|e| match e {
        GoKeyError::WrongPassword => ApiError::BadPassphrase(format!(
            "wrong Go client password for {:?}: nothing was imported",
            user.username
        )),
        other => ApiError::Invalid(format!("{:?}'s key: {other}", user.username)),
    })
}

/// Seals `key` with `passphrase` (empty: unencrypted) on a blocking thread.
async fn seal(key: Arc<PrivateKey>, passphrase: &str) -> Result<crate::keys::SealedKey, ApiError> {
    let pass = (!passphrase.is_empty()).then(|| zeroize::Zeroizing::new(passphrase.to_owned()));
    tokio::task::spawn_blocking(move || {
        crate::keys::seal(&key, pass.as_deref().map(String::as_str))
    })
    .await
    .map_err(|e| ApiError::internal_from("sealing the key stopped", e))?
    .map_err(|e| ApiError::internal_from("cannot seal the key", e))
}
