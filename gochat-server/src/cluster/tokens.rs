//! Reusable tokens across nodes: the tokens bucket holds, per user, `pending` while the
//! session that earned the token is online, then `active HASH EXPIRES` (SHA-256 of the
//! secret, Unix seconds). The secret itself never leaves the node that issued it.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::nats::Shared;
use crate::hub::TokenError;

const PENDING: &[u8] = b"pending";

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn key(name: &[u8]) -> Option<String> {
    std::str::from_utf8(name)
        .ok()
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
}

fn put(shared: &Arc<Shared>, name: &[u8], value: Bytes) {
    let Some(key) = key(name) else { return };
    let shared2 = shared.clone();
    shared.tasks.spawn(async move {
        if let Some(tokens) = shared2.tokens.read().await.clone() {
            let _ = tokio::time::timeout(Duration::from_secs(2), tokens.put(key, value)).await;
        }
    });
}

/// A token was bound to a session of `name` on this node.
pub(super) fn bound(shared: &Arc<Shared>, name: &[u8]) {
    put(shared, name, Bytes::from_static(PENDING));
}

/// The token of `name` starts its lifetime.
pub(super) fn activated(shared: &Arc<Shared>, name: &[u8], secret: &[u8], lifetime: Duration) {
    let hash = hex::encode(Sha256::digest(secret));
    let expires = now_unix().saturating_add(i64::try_from(lifetime.as_secs()).unwrap_or(0));
    put(
        shared,
        name,
        Bytes::from(format!("active {hash} {expires}")),
    );
}

/// The token of `name` is revoked everywhere.
pub(super) fn revoked(shared: &Arc<Shared>, name: &[u8]) {
    let Some(key) = key(name) else { return };
    let shared2 = shared.clone();
    shared.tasks.spawn(async move {
        if let Some(tokens) = shared2.tokens.read().await.clone() {
            let _ = tokio::time::timeout(Duration::from_secs(2), tokens.delete(key)).await;
        }
    });
}

/// Checks a token issued on another node.
pub(super) async fn check(shared: &Shared, name: &[u8], secret: &[u8]) -> Result<(), TokenError> {
    let key = key(name).ok_or(TokenError::NotFound)?;
    let tokens = shared
        .tokens
        .read()
        .await
        .clone()
        .ok_or(TokenError::NotFound)?;
    let value = match tokio::time::timeout(Duration::from_secs(2), tokens.get(key)).await {
        Ok(Ok(Some(v))) => v,
        _ => return Err(TokenError::NotFound),
    };
    if value.as_ref() == PENDING {
        return Err(TokenError::Pending);
    }
    let text = std::str::from_utf8(&value).map_err(|_| TokenError::NotFound)?;
    let mut parts = text.split(' ');
    let (Some("active"), Some(hash), Some(expires)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::NotFound);
    };
    if expires.parse::<i64>().map_or(true, |at| at <= now_unix()) {
        return Err(TokenError::NotFound);
    }
    let expected = hex::decode(hash).map_err(|_| TokenError::NotFound)?;
    let got = Sha256::digest(secret);
    if bool::from(expected.as_slice().ct_eq(got.as_slice())) {
        Ok(())
    } else {
        Err(TokenError::Mismatch)
    }
}
