//! REG, LOGIN (challenge and token), VERIF and DEREG.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use gochat_proto::crypto::EncryptingKey;
use gochat_proto::wire::{ErrorCode, Hook, MAX_USERNAME_LEN, Permission, PublicKey, Response};
use subtle::ConstantTimeEq;

use super::{PendingLogin, Session};
use crate::challenge::new_challenge;
use crate::cluster::Claim;
use crate::hub::{OnlineUser, TokenError};
use crate::store::{RegisterError, UserRecord};

/// Whether `name` is a valid username: 1 to 32 characters of `[0-9a-z]`.
pub fn valid_username(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= MAX_USERNAME_LEN
        && name
            .iter()
            .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
}

/// A registered user with a usable key, as the gate loads it for LOGIN and VERIF.
pub(super) struct LoadedUser {
    pub record: UserRecord,
    pub permission: Permission,
    pub key: Arc<EncryptingKey>,
}

impl Session {
    pub(super) async fn register(&mut self, id: u16, username: &Bytes, public_key: &Bytes) {
        if !valid_username(username) {
            return self.err(id, ErrorCode::Args).await;
        }
        let Ok(key) = PublicKey::parse(public_key) else {
            return self.err(id, ErrorCode::Args).await;
        };
        // Keys the server could never send a challenge to are refused up front.
        if EncryptingKey::new(&key).is_err() {
            return self.err(id, ErrorCode::Args).await;
        }
        let code = match self
            .deps
            .store
            .register(username, public_key, &key.fingerprint())
            .await
        {
            Ok(()) => {
                tracing::info!(user = %String::from_utf8_lossy(username), "registered");
                return self.ok(id).await;
            }
            Err(RegisterError::NameTaken | RegisterError::KeyTaken) => ErrorCode::Exists,
            Err(RegisterError::NameDeregistered) => ErrorCode::Dereg,
            Err(RegisterError::Db(e)) => {
                tracing::error!(error = %crate::error_chain::Chain(&e), "registration failed");
                ErrorCode::Server
            }
        };
        self.err(id, code).await;
    }

    /// Loads a user for LOGIN/VERIF with the deployed server's error codes.
    pub(super) async fn load_user(&self, username: &[u8]) -> Result<LoadedUser, ErrorCode> {
        let record = match self.deps.store.user(username).await {
            Ok(Some(r)) => r,
            Ok(None) => return Err(ErrorCode::NotFound),
            Err(e) => {
                tracing::error!(error = %crate::error_chain::Chain(&e), "user lookup failed");
                return Err(ErrorCode::Server);
            }
        };
        let permission = record.permission().ok_or(ErrorCode::Login)?;
        let pem = record.public_key.as_deref().ok_or(ErrorCode::Dereg)?;
        let key = PublicKey::parse(pem).map_err(|_| ErrorCode::Login)?;
        let key = EncryptingKey::new(&key).map_err(|_| ErrorCode::Login)?;
        Ok(LoadedUser {
            record,
            permission,
            key: Arc::new(key),
        })
    }

    pub(super) async fn login(&mut self, id: u16, username: Bytes, token: Option<Bytes>) {
        if let Some(online) = self.deps.hub.online(&username) {
            let ip = self.conn.ip().to_string();
            self.deps.hub.notify_duplicate_session(&online, &ip);
            return self.err(id, ErrorCode::DupSess).await;
        }
        if self.deps.cluster.online_elsewhere(&username) {
            let ip = self.conn.ip().to_string();
            if self.deps.cluster.duplicate_attempt(&username, &ip).await {
                return self.err(id, ErrorCode::DupSess).await;
            }
        }
        let epoch = self.deps.hub.user_epoch();
        let loaded = match self.load_user(&username).await {
            Ok(l) => l,
            Err(code) => return self.err(id, code).await,
        };
        match token {
            Some(token) => {
                self.login_with_token(id, username, loaded, &token, epoch)
                    .await;
            }
            None => self.start_challenge(id, username, loaded).await,
        }
    }

    async fn login_with_token(
        &mut self,
        id: u16,
        username: Bytes,
        loaded: LoadedUser,
        token: &[u8],
        epoch: u64,
    ) {
        if !self.conn.is_secure() {
            return self.err(id, ErrorCode::NoSecure).await;
        }
        let checked = match self.deps.hub.check_token(&username, token) {
            // Perhaps issued on another node.
            Err(TokenError::NotFound) => self.deps.cluster.check_token(&username, token).await,
            other => other,
        };
        let code = match checked {
            Ok(()) => return self.complete_login(id, username, loaded, None, epoch).await,
            Err(TokenError::NotFound) => ErrorCode::NotFound,
            Err(TokenError::Pending) => ErrorCode::Invalid,
            Err(TokenError::Mismatch) => ErrorCode::Handshake,
        };
        self.err(id, code).await;
    }

    async fn start_challenge(&mut self, id: u16, username: Bytes, loaded: LoadedUser) {
        let Some(challenge) = new_challenge() else {
            return self.err(id, ErrorCode::Server).await;
        };
        let Ok(ciphertext) = loaded.key.encrypt(&challenge) else {
            return self.err(id, ErrorCode::Corrupted).await;
        };
        self.pending = Some(PendingLogin {
            username,
            user: loaded.record,
            challenge,
            started: Instant::now(),
        });
        self.reply(
            id,
            Response::Verif {
                challenge: ciphertext.into(),
            },
        )
        .await;
    }

    pub(super) async fn verify(&mut self, id: u16, username: Bytes, answer: &Bytes) {
        // The user is read again, as the deployed server's gate does: a ban, a deregistration
        // or a permission change made since LOGIN applies to this VERIF.
        let epoch = self.deps.hub.user_epoch();
        let loaded = match self.load_user(&username).await {
            Ok(l) => l,
            Err(code) => {
                if code != ErrorCode::Server && self.pending_for(&username) {
                    // The challenge can never be answered now.
                    self.pending = None;
                    tracing::info!(conn = self.conn.id(), ip = %self.conn.ip(), user = %String::from_utf8_lossy(&username), code = ?code, "VERIF refused: user changed since LOGIN");
                }
                return self.err(id, code).await;
            }
        };
        let timeout = std::time::Duration::from_secs(self.deps.config.login_timeout_secs);
        let Some(pending) = self.pending.take() else {
            return self.err(id, ErrorCode::Invalid).await;
        };
        if pending.username != username
            || pending.started.elapsed() > timeout
            || pending.user.id != loaded.record.id
        {
            return self.err(id, ErrorCode::Invalid).await;
        }
        if !bool::from(pending.challenge.as_slice().ct_eq(answer)) {
            return self.err(id, ErrorCode::Handshake).await;
        }
        let token = self.conn.is_secure().then_some(pending.challenge);
        self.complete_login(id, username, loaded, token, epoch)
            .await;
    }

    /// Whether a login for `username` is pending on this connection.
    fn pending_for(&self, username: &[u8]) -> bool {
        self.pending
            .as_ref()
            .is_some_and(|p| p.username == username)
    }

    /// Puts the user online. `epoch` is [`crate::hub::Hub::user_epoch`] from before `loaded`
    /// was read: if an admin changed some user since, the record is read once more, so a ban
    /// or demotion that raced with this login is never lost.
    async fn complete_login(
        &mut self,
        id: u16,
        username: Bytes,
        loaded: LoadedUser,
        token: Option<zeroize::Zeroizing<Vec<u8>>>,
        epoch: u64,
    ) {
        let user = Arc::new(OnlineUser::new(
            username.clone(),
            loaded.record.id,
            self.conn.clone(),
            loaded.key,
            loaded.permission,
        ));
        if !self.deps.hub.add_online(user.clone()) {
            return self.err(id, ErrorCode::DupSess).await;
        }
        if self.deps.cluster.claim(&username).await == Claim::Taken {
            self.deps.hub.remove_online(&username, self.conn.id());
            let ip = self.conn.ip().to_string();
            self.deps.cluster.duplicate_attempt(&username, &ip).await;
            return self.err(id, ErrorCode::DupSess).await;
        }
        if self.deps.cluster.degraded().is_some() {
            // Rows committed from here on were never visible to an earlier session of this
            // user: forwarded, they are written without asking the store (until read, every
            // forwarded row is checked there).
            match self.deps.store.last_message_id().await {
                Ok(last) => user.set_forward_floor(last),
                Err(e) => {
                    tracing::warn!(error = %crate::error_chain::Chain(&e), "last message id not read; forwarded messages are checked against the store");
                }
            }
        }
        if self.deps.hub.user_epoch() != epoch {
            match self.load_user(&username).await {
                Ok(fresh) if fresh.record.id == user.user_id => {
                    user.set_permission(fresh.permission);
                }
                Ok(_) => {
                    self.deps.hub.remove_online(&username, self.conn.id());
                    return self.err(id, ErrorCode::Invalid).await;
                }
                Err(code) => {
                    self.deps.hub.remove_online(&username, self.conn.id());
                    return self.err(id, code).await;
                }
            }
        }
        if let Some(secret) = token {
            self.deps
                .hub
                .bind_token(username.clone(), secret, self.conn.id());
        }
        self.user = Some(user.clone());
        crate::metrics::Metrics::inc(&self.deps.metrics.logins);
        tracing::info!(conn = self.conn.id(), user = %String::from_utf8_lossy(&username), secure = self.conn.is_secure(), "logged in");
        if let Ok(bytes) = Response::new_login(username, user.permission())
            .to_packet(0)
            .to_bytes()
        {
            self.deps.hub.notify(Hook::NewLogin, &bytes, None);
        }
        self.ok(id).await;
        // Someone who logs in after a shutdown was announced is told too.
        if let Some((_, stamp)) = self.deps.shutdown.scheduled() {
            self.reply(0, Response::Shtdwn { stamp: Some(stamp) }).await;
        }
    }

    pub(super) async fn deregister(&mut self, id: u16, user: &Arc<OnlineUser>) {
        match self.deps.store.deregister(&user.name).await {
            Ok(_) => {
                tracing::info!(user = %String::from_utf8_lossy(&user.name), "deregistered");
                // Logged out first, so the token is not activated after its revocation.
                self.end_session();
                self.deps.hub.user_deregistered(&user.name);
                self.ok(id).await;
            }
            Err(e) => {
                tracing::error!(error = %crate::error_chain::Chain(&e), "deregistration failed");
                self.err(id, ErrorCode::Server).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::valid_username;

    #[test]
    fn usernames() {
        assert!(valid_username(b"alice"));
        assert!(valid_username(b"a1"));
        assert!(!valid_username(b""));
        assert!(!valid_username(b"Alice"));
        assert!(!valid_username(b"a b"));
        assert!(!valid_username(&[b'a'; 33]));
        assert!(valid_username(&[b'a'; 32]));
    }
}
