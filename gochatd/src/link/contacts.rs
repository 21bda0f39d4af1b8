//! Contacts' keys, pinned on first use: a different key later is held as pending, raises an
//! event, and blocks sending until the user accepts it.

use bytes::Bytes;
use gochat_proto::ipc::{KeyChanged, event};
use gochat_proto::wire::{PublicKey, Request, Response};

use super::{Caller, LinkContext, LinkError};
use crate::store::ContactRow;

/// The outcome of fetching a user's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyCheck {
    /// Pinned now or already pinned and unchanged.
    Trusted(ContactRow),
    /// The server reports a different key than the pinned one.
    Changed(ContactRow),
}

/// Asks the server for `user`'s key and pins or compares it.
pub async fn fetch_key(
    ctx: &LinkContext,
    caller: &Caller,
    user: &str,
) -> Result<KeyCheck, LinkError> {
    let request = Request::Req {
        username: Bytes::copy_from_slice(user.as_bytes()),
    };
    let (pem, permission) = match caller.call(&request).await? {
        Response::Req {
            public_key,
            permission,
            ..
        } => (public_key, permission),
        Response::Err(code) => return Err(LinkError::Refused(code)),
        other => {
            return Err(LinkError::Call(super::CallError::BadReply(format!(
                "{} in reply to REQ",
                other.action()
            ))));
        }
    };
    let key = PublicKey::parse(&pem).map_err(|e| {
        LinkError::Call(super::CallError::BadReply(format!(
            "the server sent an unusable key: {e}"
        )))
    })?;
    record_key(ctx, user, &key, permission).await
}

/// Pins `key` for `user`, or records it as pending if another key is pinned.
pub async fn record_key(
    ctx: &LinkContext,
    user: &str,
    key: &PublicKey,
    permission: u8,
) -> Result<KeyCheck, LinkError> {
    let store_err = |e: crate::store::StoreError| {
        LinkError::NotOnline(format!("local store failed: {}", crate::report::chain(&e)))
    };
    let fingerprint = key.fingerprint_hex();
    let existing = ctx
        .store
        .contact(ctx.account.id, user)
        .await
        .map_err(store_err)?;
    let mut contact = existing.clone().unwrap_or(ContactRow {
        account_id: ctx.account.id,
        user: user.to_owned(),
        public_pem: None,
        fingerprint: None,
        pending_pem: None,
        pending_fingerprint: None,
        permission,
        key_origin: None,
    });
    contact.permission = permission;
    let outcome = match contact.fingerprint.as_deref() {
        None => {
            contact.public_pem = Some(key.to_pem());
            contact.fingerprint = Some(fingerprint);
            contact.pending_pem = None;
            contact.pending_fingerprint = None;
            KeyCheck::Trusted(contact.clone())
        }
        Some(pinned) if pinned == fingerprint => {
            contact.pending_pem = None;
            contact.pending_fingerprint = None;
            KeyCheck::Trusted(contact.clone())
        }
        Some(pinned) => {
            let newly = contact.pending_fingerprint.as_deref() != Some(fingerprint.as_str());
            let old = pinned.to_owned();
            contact.pending_pem = Some(key.to_pem());
            contact.pending_fingerprint = Some(fingerprint.clone());
            if newly {
                ctx.events
                    .emit(event::Kind::KeyChanged(KeyChanged {
                        account: Some(ctx.account_ref()),
                        user: user.to_owned(),
                        old_fingerprint: old,
                        new_fingerprint: fingerprint,
                    }))
                    .await;
            }
            KeyCheck::Changed(contact.clone())
        }
    };
    if existing.as_ref() != Some(&contact) {
        ctx.store
            .upsert_contact(&contact)
            .await
            .map_err(store_err)?;
    }
    Ok(outcome)
}
