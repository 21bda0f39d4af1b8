//! The daemon's state and operations: accounts with their keys and links, server profiles,
//! messages. The API layer maps requests onto these.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gochat_proto::crypto::PrivateKey;
use gochat_proto::ipc::{self, AccountRef, event};
use gochat_proto::wire::{Request, Response};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::DaemonConfig;
use crate::error::ApiError;
use crate::events::EventBus;
use crate::keys::{SealedKey, seal, unseal};
use crate::link::{self, LinkContext, LinkHandle};
use crate::store::{AccountRow, ServerRow, Store};

/// How long a `passphrase_command` may run.
const PASSPHRASE_COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// How long Login waits for the link to come online.
const LOGIN_WAIT: Duration = Duration::from_secs(30);

/// The running daemon.
pub struct Daemon {
    /// The local database.
    pub store: Store,
    /// The event log and live stream.
    pub events: EventBus,
    /// Settings.
    pub config: DaemonConfig,
    /// Cancelled to stop the daemon.
    pub shutdown: CancellationToken,
    /// Every task the daemon starts; shutdown waits for them.
    pub tasks: TaskTracker,
    /// Where RSA work runs (`decrypt_workers` threads at once).
    pub crypto: crate::pool::CryptoPool,
    /// Notification and hook settings, and what frontends show focused.
    pub notify: Arc<crate::notify::NotifyState>,
    links: Mutex<HashMap<i64, LinkHandle>>,
    keys: Mutex<HashMap<i64, Arc<PrivateKey>>>,
}

/// A key that cannot be opened: a wrong or missing passphrase is the user's to fix, anything
/// else (a corrupt blob, a failing KDF) is internal.
fn key_error(what: &str, e: crate::keys::KeyError) -> ApiError {
    use crate::keys::KeyError;
    match e {
        KeyError::WrongPassphrase | KeyError::PassphraseRequired => {
            ApiError::BadPassphrase(format!("{what}: {e}"))
        }
        other => ApiError::internal_from(what, other),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Daemon {
    /// Loads every account, unlocks what can be unlocked without a prompt, starts the links.
    pub async fn start(store: Store, config: DaemonConfig) -> Result<Arc<Daemon>, ApiError> {
        let shutdown = CancellationToken::new();
        let tasks = TaskTracker::new();
        let events = EventBus::new(store.clone(), uuid::Uuid::new_v4().to_string())
            .with_tasks(tasks.clone(), shutdown.clone());
        let notify = Arc::new(crate::notify::NotifyState::load(config.settings(), &store).await?);
        // Before the links: it hears every message they store.
        crate::notify::Notifier::start(notify.clone(), store.clone(), &events, &tasks, &shutdown);
        let daemon = Arc::new(Daemon {
            store,
            events,
            notify,
            crypto: crate::pool::CryptoPool::new(config.crypto_workers()),
            config,
            shutdown,
            tasks,
            links: Mutex::default(),
            keys: Mutex::default(),
        });
        for account in daemon.store.list_accounts().await? {
            let key = daemon.unlock_unattended(&account).await;
            daemon.start_link(account, key).await?;
        }
        Ok(daemon)
    }

    async fn unlock_unattended(&self, account: &AccountRow) -> Option<Arc<PrivateKey>> {
        let sealed = SealedKey {
            blob: account.key_blob.clone(),
            encrypted: account.key_encrypted,
        };
        let passphrase = match (&self.config.passphrase_command, account.key_encrypted) {
            (_, false) => None,
            (Some(cmd), true) => {
                match crate::keys::passphrase_from_command(cmd, PASSPHRASE_COMMAND_TIMEOUT).await {
                    Ok(p) => Some(p),
                    Err(e) => {
                        tracing::warn!(account = %account.username, error = %e, "passphrase_command failed");
                        return None;
                    }
                }
            }
            (None, true) => return None,
        };
        let result = tokio::task::spawn_blocking(move || {
            unseal(&sealed, passphrase.as_deref().map(String::as_str))
        })
        .await;
        match result {
            Ok(Ok(key)) => {
                let key = Arc::new(key);
                lock(&self.keys).insert(account.id, key.clone());
                Some(key)
            }
            Ok(Err(e)) => {
                tracing::warn!(account = %account.username, error = %e, "cannot unlock key");
                None
            }
            Err(_) => None,
        }
    }

    async fn start_link(
        &self,
        account: AccountRow,
        key: Option<Arc<PrivateKey>>,
    ) -> Result<LinkHandle, ApiError> {
        let server = self
            .store
            .server_by_id(account.server_id)
            .await?
            .ok_or_else(|| ApiError::NotFound("the account's server profile is missing".into()))?;
        let id = account.id;
        let handle = link::spawn(
            LinkContext {
                account,
                server,
                store: self.store.clone(),
                events: self.events.clone(),
                crypto: self.crypto.clone(),
            },
            key,
            &self.tasks,
            self.shutdown.child_token(),
        );
        if let Some(old) = lock(&self.links).insert(id, handle.clone()) {
            self.tasks.spawn(async move { old.shutdown().await });
        }
        Ok(handle)
    }

    /// Tells frontends that server profiles or accounts changed.
    pub async fn config_changed(&self, what: &str) {
        self.events
            .emit(event::Kind::ConfigChanged(ipc::ConfigChanged {
                what: what.to_owned(),
            }))
            .await;
    }

    /// Restarts the links of every account on server `server_id` (its profile changed).
    pub async fn restart_links(&self, server_id: i64) -> Result<(), ApiError> {
        for account in self.store.list_accounts().await? {
            if account.server_id == server_id {
                let key = self.key(account.id);
                self.start_link(account, key).await?;
            }
        }
        Ok(())
    }

    /// Every link with its account, for Status.
    pub async fn links(&self) -> Result<Vec<ipc::Link>, ApiError> {
        let mut out = Vec::new();
        for account in self.store.list_accounts().await? {
            let Some(server) = self.store.server_by_id(account.server_id).await? else {
                continue;
            };
            let status = self.link(account.id).map(|l| l.status());
            out.push(ipc::Link {
                account: Some(AccountRef {
                    server: server.name.clone(),
                    username: account.username.clone(),
                }),
                state: status.as_ref().map_or(ipc::LinkState::Offline, |s| s.state) as i32,
                detail: status
                    .as_ref()
                    .map(|s| s.detail.clone())
                    .unwrap_or_default(),
                permission: u32::from(status.as_ref().map_or(account.permission, |s| s.permission)),
                secure: server.tls,
            });
        }
        Ok(out)
    }

    pub(crate) fn link(&self, account_id: i64) -> Option<LinkHandle> {
        lock(&self.links).get(&account_id).cloned()
    }

    fn key(&self, account_id: i64) -> Option<Arc<PrivateKey>> {
        lock(&self.keys).get(&account_id).cloned()
    }

    /// The profile called `name`, or the default (or only) one when `name` is empty.
    pub async fn resolve_server(&self, name: &str) -> Result<ServerRow, ApiError> {
        if !name.is_empty() {
            return self.store.server(name).await?.ok_or_else(|| {
                ApiError::NotFound(format!(
                    "no server profile called {name:?} (see `gochat-cli server list`)"
                ))
            });
        }
        let servers = self.store.list_servers().await?;
        match servers
            .iter()
            .find(|s| s.is_default)
            .or(if servers.len() == 1 {
                servers.first()
            } else {
                None
            }) {
            Some(s) => Ok(s.clone()),
            None if servers.is_empty() => Err(ApiError::NotFound(
                "no server profile yet: add one with `gochat-cli server add NAME HOST`".into(),
            )),
            None => Err(ApiError::AmbiguousServer(
                "several server profiles exist: name one".into(),
            )),
        }
    }

    /// The account named by `r`, defaulting to the only account on the (default) server.
    pub async fn resolve_account(
        &self,
        r: Option<&AccountRef>,
    ) -> Result<(ServerRow, AccountRow), ApiError> {
        let empty = AccountRef::default();
        let r = r.unwrap_or(&empty);
        let server = if r.server.is_empty() && !r.username.is_empty() {
            // A username alone: find it on any server if it is unambiguous.
            let mut found = Vec::new();
            for a in self.store.list_accounts().await? {
                if a.username == r.username
                    && let Some(s) = self.store.server_by_id(a.server_id).await?
                {
                    found.push((s, a));
                }
            }
            match found.len() {
                1 => return Ok(found.remove(0)),
                0 => {
                    return Err(ApiError::NotFound(format!(
                        "no account called {:?}",
                        r.username
                    )));
                }
                _ => {
                    return Err(ApiError::AmbiguousAccount(format!(
                        "account {:?} exists on several servers: name the server",
                        r.username
                    )));
                }
            }
        } else {
            self.resolve_server(&r.server).await?
        };
        if !r.username.is_empty() {
            let account = self
                .store
                .account(server.id, &r.username)
                .await?
                .ok_or_else(|| {
                    ApiError::NotFound(format!(
                        "no account {:?} on server {:?}",
                        r.username, server.name
                    ))
                })?;
            return Ok((server, account));
        }
        let accounts: Vec<_> = self
            .store
            .list_accounts()
            .await?
            .into_iter()
            .filter(|a| a.server_id == server.id)
            .collect();
        match accounts.len() {
            1 => Ok((
                server,
                accounts
                    .into_iter()
                    .next()
                    .ok_or_else(|| ApiError::internal("account vanished"))?,
            )),
            0 => Err(ApiError::NotFound(format!(
                "no account on server {:?}: register one with `gochat-cli account register NAME`",
                server.name
            ))),
            _ => Err(ApiError::AmbiguousAccount(format!(
                "several accounts on server {:?}: name one with --account",
                server.name
            ))),
        }
    }

    /// The API view of an account.
    pub async fn account_view(&self, server: &ServerRow, account: &AccountRow) -> ipc::Account {
        let status = self.link(account.id).map(|l| l.status());
        ipc::Account {
            r#ref: Some(AccountRef {
                server: server.name.clone(),
                username: account.username.clone(),
            }),
            locked: self.key(account.id).is_none(),
            passphrase_protected: account.key_encrypted,
            state: status.as_ref().map_or(ipc::LinkState::Offline, |s| s.state) as i32,
            permission: u32::from(status.as_ref().map_or(account.permission, |s| s.permission)),
            fingerprint: account.fingerprint.clone(),
            auto_login: account.auto_login,
        }
    }

    /// Generates a key, registers it on the server, stores the account and logs it in.
    pub async fn register(
        &self,
        account: &AccountRef,
        passphrase: &str,
    ) -> Result<ipc::Account, ApiError> {
        let server = self.resolve_server(&account.server).await?;
        if account.username.is_empty() {
            return Err(ApiError::Invalid("a username is required".into()));
        }
        if self
            .store
            .account(server.id, &account.username)
            .await?
            .is_some()
        {
            return Err(ApiError::Exists(format!(
                "account {:?} already exists on {:?}",
                account.username, server.name
            )));
        }
        let key = tokio::task::spawn_blocking(PrivateKey::generate)
            .await
            .map_err(|e| ApiError::internal_from("key generation stopped", e))?
            .map_err(|e| ApiError::internal_from("cannot generate a key", e))?;
        self.register_key(&server, &account.username, key, passphrase)
            .await
    }

    /// Registers an existing key (import) or a new one on the server, then stores the account.
    async fn register_key(
        &self,
        server: &ServerRow,
        username: &str,
        key: PrivateKey,
        passphrase: &str,
    ) -> Result<ipc::Account, ApiError> {
        let pem = key.public_key().to_pem();
        // Stored first with its link offline; the link then registers the account on its
        // own connection and logs in on it. A refusal removes the account again.
        self.store_account(server, username, key, passphrase, false)
            .await?;
        let account = self
            .store
            .account(server.id, username)
            .await?
            .ok_or_else(|| ApiError::internal("the new account vanished"))?;
        let link = self
            .link(account.id)
            .ok_or_else(|| ApiError::internal("the new account has no link"))?;
        if let Err(e) = link.register(pem).await {
            link.shutdown().await;
            lock(&self.links).remove(&account.id);
            lock(&self.keys).remove(&account.id);
            self.store.remove_account(account.id).await?;
            return Err(e.into());
        }
        link.wait_settled(LOGIN_WAIT).await;
        let account = self
            .store
            .account_by_id(account.id)
            .await?
            .unwrap_or(account);
        Ok(self.account_view(server, &account).await)
    }

    async fn store_account(
        &self,
        server: &ServerRow,
        username: &str,
        key: PrivateKey,
        passphrase: &str,
        auto_login: bool,
    ) -> Result<ipc::Account, ApiError> {
        let pass = (!passphrase.is_empty()).then(|| zeroize::Zeroizing::new(passphrase.to_owned()));
        let key = Arc::new(key);
        let sealing = key.clone();
        let sealed = tokio::task::spawn_blocking(move || {
            seal(&sealing, pass.as_deref().map(String::as_str))
        })
        .await
        .map_err(|e| ApiError::internal_from("sealing the key stopped", e))?
        .map_err(|e| ApiError::internal_from("cannot seal the key", e))?;
        let row = self
            .store
            .add_account(&AccountRow {
                id: 0,
                server_id: server.id,
                username: username.to_owned(),
                key_blob: sealed.blob,
                key_encrypted: sealed.encrypted,
                public_pem: key.public_key().to_pem(),
                fingerprint: key.public_key().fingerprint_hex(),
                auto_login,
                permission: 0,
            })
            .await?;
        lock(&self.keys).insert(row.id, key.clone());
        let link = self.start_link(row.clone(), Some(key)).await?;
        if auto_login {
            link.wait_settled(LOGIN_WAIT).await;
        }
        Ok(self.account_view(server, &row).await)
    }

    /// Imports a Go-client key file as an account (registered already on the server).
    pub async fn import(
        &self,
        account: &AccountRef,
        pem: &str,
        passphrase: &str,
    ) -> Result<ipc::Account, ApiError> {
        let server = self.resolve_server(&account.server).await?;
        if account.username.is_empty() {
            return Err(ApiError::Invalid("a username is required".into()));
        }
        let key = PrivateKey::from_pem(pem.as_bytes())
            .map_err(|e| ApiError::Invalid(format!("not a usable private key: {e}")))?;
        if let Some(existing) = self.store.account(server.id, &account.username).await? {
            if existing.fingerprint != key.public_key().fingerprint_hex() {
                return Err(ApiError::Exists(format!(
                    "account {:?} exists with another key; remove it first",
                    account.username
                )));
            }
            return Ok(self.account_view(&server, &existing).await);
        }
        self.store_account(&server, &account.username, key, passphrase, true)
            .await
    }

    /// Holds the unlocked `key` of the newly stored account `row` and starts its link (used by
    /// imports, once the account's contacts and history are in).
    pub(crate) async fn activate_account(
        &self,
        row: AccountRow,
        key: Arc<PrivateKey>,
    ) -> Result<(), ApiError> {
        lock(&self.keys).insert(row.id, key.clone());
        self.start_link(row, Some(key)).await?;
        Ok(())
    }

    /// Marks the account as wanted online and waits for the outcome.
    pub async fn login(&self, r: Option<&AccountRef>) -> Result<ipc::Account, ApiError> {
        let (server, account) = self.resolve_account(r).await?;
        if self.key(account.id).is_none() {
            return Err(ApiError::Locked(format!(
                "account {:?} is locked: unlock it with its passphrase first",
                account.username
            )));
        }
        let link = self.ensure_link(&account).await?;
        link.set_wanted(true).await;
        let status = link.wait_settled(LOGIN_WAIT).await;
        if status.state != ipc::LinkState::Online {
            return Err(ApiError::NotOnline(format!(
                "login did not complete: {}",
                status.detail
            )));
        }
        let account = self
            .store
            .account_by_id(account.id)
            .await?
            .unwrap_or(account);
        Ok(self.account_view(&server, &account).await)
    }

    pub(crate) async fn ensure_link(&self, account: &AccountRow) -> Result<LinkHandle, ApiError> {
        match self.link(account.id) {
            Some(l) => Ok(l),
            None => self.start_link(account.clone(), self.key(account.id)).await,
        }
    }

    /// Logs out and stays offline until the next login.
    pub async fn logout(&self, r: Option<&AccountRef>) -> Result<ipc::Account, ApiError> {
        let (server, account) = self.resolve_account(r).await?;
        if let Some(link) = self.link(account.id) {
            link.set_wanted(false).await;
        }
        let account = self
            .store
            .account_by_id(account.id)
            .await?
            .unwrap_or(account);
        Ok(self.account_view(&server, &account).await)
    }

    /// Deregisters on the server, then forgets the account locally.
    pub async fn deregister(&self, r: Option<&AccountRef>) -> Result<(), ApiError> {
        let (_, account) = self.resolve_account(r).await?;
        let link = self.online_link(&account)?;
        link.call(Request::Dereg).await?;
        link.shutdown().await;
        lock(&self.links).remove(&account.id);
        lock(&self.keys).remove(&account.id);
        self.store.remove_account(account.id).await?;
        Ok(())
    }

    /// Unlocks the key with a passphrase; the link logs in if it should be online.
    pub async fn unlock(
        &self,
        r: Option<&AccountRef>,
        passphrase: &str,
    ) -> Result<ipc::Account, ApiError> {
        let (server, account) = self.resolve_account(r).await?;
        let sealed = SealedKey {
            blob: account.key_blob.clone(),
            encrypted: account.key_encrypted,
        };
        let pass = zeroize::Zeroizing::new(passphrase.to_owned());
        let key = tokio::task::spawn_blocking(move || {
            unseal(&sealed, Some(pass.as_str()).filter(|p| !p.is_empty()))
        })
        .await
        .map_err(|e| ApiError::internal_from("unlocking stopped", e))?
        .map_err(|e| key_error("cannot unlock", e))?;
        let key = Arc::new(key);
        lock(&self.keys).insert(account.id, key.clone());
        let link = self.ensure_link(&account).await?;
        link.set_key(Some(key)).await;
        if account.auto_login {
            link.wait_settled(LOGIN_WAIT).await;
        }
        Ok(self.account_view(&server, &account).await)
    }

    /// Re-seals the stored key under `new` (empty: unencrypted) after checking `old`.
    pub async fn change_passphrase(
        &self,
        r: Option<&AccountRef>,
        old: &str,
        new: &str,
    ) -> Result<ipc::Account, ApiError> {
        let (server, mut account) = self.resolve_account(r).await?;
        let sealed = SealedKey {
            blob: account.key_blob.clone(),
            encrypted: account.key_encrypted,
        };
        let old = zeroize::Zeroizing::new(old.to_owned());
        let new = zeroize::Zeroizing::new(new.to_owned());
        let resealed = tokio::task::spawn_blocking(move || {
            crate::keys::change_passphrase(
                &sealed,
                Some(old.as_str()).filter(|p| !p.is_empty()),
                Some(new.as_str()).filter(|p| !p.is_empty()),
            )
        })
        .await
        .map_err(|e| ApiError::internal_from("changing the passphrase stopped", e))?
        .map_err(|e| key_error("cannot change the passphrase", e))?;
        account.key_blob = resealed.blob;
        account.key_encrypted = resealed.encrypted;
        self.store.update_account(&account).await?;
        Ok(self.account_view(&server, &account).await)
    }

    /// Drops the key from memory (the link logs out).
    pub async fn lock_account(&self, r: Option<&AccountRef>) -> Result<ipc::Account, ApiError> {
        let (server, account) = self.resolve_account(r).await?;
        lock(&self.keys).remove(&account.id);
        if let Some(link) = self.link(account.id) {
            link.set_key(None).await;
        }
        Ok(self.account_view(&server, &account).await)
    }

    /// The link of an account that must be online for the operation.
    pub fn online_link(&self, account: &AccountRow) -> Result<LinkHandle, ApiError> {
        let link = self.link(account.id).ok_or_else(|| {
            ApiError::NotOnline(format!("account {:?} is not logged in", account.username))
        })?;
        let status = link.status();
        if status.state != ipc::LinkState::Online {
            let why = if status.detail.is_empty() {
                format!("{:?}", status.state)
            } else {
                status.detail
            };
            return Err(ApiError::NotOnline(format!(
                "account {:?} is not online ({why}); log in first",
                account.username
            )));
        }
        Ok(link)
    }

    /// Sends a request over an online account's link.
    pub async fn call(
        &self,
        r: Option<&AccountRef>,
        request: Request,
    ) -> Result<Response, ApiError> {
        let (_, account) = self.resolve_account(r).await?;
        Ok(self.online_link(&account)?.call(request).await?)
    }

    /// Stops every link (each logs out) and signals shutdown.
    pub async fn stop(&self) {
        let links: Vec<LinkHandle> = lock(&self.links).values().cloned().collect();
        for link in links {
            link.shutdown().await;
        }
        self.shutdown.cancel();
    }

    /// Exports the account's private key in the Go client's format.
    pub async fn export_key(&self, r: Option<&AccountRef>) -> Result<String, ApiError> {
        let (_, account) = self.resolve_account(r).await?;
        let key = self.key(account.id).ok_or_else(|| {
            ApiError::Locked(format!(
                "account {:?} is locked: unlock it to export its key",
                account.username
            ))
        })?;
        let pem = key
            .to_pkcs1_pem()
            .map_err(|e| ApiError::internal_from("cannot encode the key", e))?;
        Ok(pem.as_str().to_owned())
    }

    /// A link for the account if it is online, for operations on contacts.
    pub fn link_context_for(&self, account: &AccountRow) -> Option<LinkHandle> {
        self.link(account.id)
    }
}
