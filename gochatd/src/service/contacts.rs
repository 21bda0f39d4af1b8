//! The contact service: pinned keys, fetching a user's key through the account's link, and
//! accepting a changed key.

use bytes::Bytes;
use gochat_proto::ipc::AccountRef;
use gochat_proto::wire::{PublicKey, Request, Response};

use crate::daemon::Daemon;
use crate::error::ApiError;
use crate::link::{KeyCheck, LinkContext};
use crate::store::ContactRow;

impl Daemon {
    /// The account's contacts.
    pub async fn list_contacts(&self, r: Option<&AccountRef>) -> Result<Vec<ContactRow>, ApiError> {
        let (_, account) = self.resolve_account(r).await?;
        Ok(self.store.list_contacts(account.id).await?)
    }

    /// Asks the server for `user`'s key and pins it (first use) or records it as pending.
    pub async fn request_key(
        &self,
        r: Option<&AccountRef>,
        user: &str,
    ) -> Result<ContactRow, ApiError> {
        if !crate::link::untrusted::valid_username(user.as_bytes()) {
            return Err(ApiError::Invalid(format!(
                "{user:?} is not a valid username"
            )));
        }
        let (server, account) = self.resolve_account(r).await?;
        let request = Request::Req {
            username: Bytes::copy_from_slice(user.as_bytes()),
        };
        let (pem, permission) = match self.online_link(&account)?.call(request).await? {
            Response::Req {
                public_key,
                permission,
                ..
            } => (public_key, permission),
            other => {
                return Err(ApiError::BadServerData(format!(
                    "unexpected reply {}",
                    other.action()
                )));
            }
        };
        let key = PublicKey::parse(&pem).map_err(|e| {
            ApiError::BadServerData(format!("the server sent an unusable key: {e}"))
        })?;
        let ctx = LinkContext {
            account,
            server,
            store: self.store.clone(),
            events: self.events.clone(),
            crypto: self.crypto.clone(),
        };
        match crate::link::contacts_record(&ctx, user, &key, permission).await? {
            KeyCheck::Trusted(c) | KeyCheck::Changed(c) => Ok(c),
        }
    }

    /// Trusts `user`'s pending (changed) key.
    pub async fn accept_key(
        &self,
        r: Option<&AccountRef>,
        user: &str,
    ) -> Result<ContactRow, ApiError> {
        let (_, account) = self.resolve_account(r).await?;
        let mut contact = self.store.contact(account.id, user).await?.ok_or_else(|| {
            ApiError::NotFound(format!(
                "no contact called {user:?}: request their key first"
            ))
        })?;
        if contact.pending_fingerprint.is_none() {
            return Err(ApiError::Invalid(format!(
                "{user}'s key has not changed: nothing to accept"
            )));
        }
        contact.public_pem = contact.pending_pem.take();
        contact.fingerprint = contact.pending_fingerprint.take();
        // The accepted key is the one the server reports now, whatever pinned the old one.
        contact.key_origin = None;
        self.store.upsert_contact(&contact).await?;
        Ok(contact)
    }
}
