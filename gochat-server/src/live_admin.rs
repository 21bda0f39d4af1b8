//! Administrative changes made by the running server on behalf of the out-of-band admin tool
//! (`gochat-server admin …` through the control socket): each writes the store and applies
//! to live sessions at once, the way the in-protocol ADMIN operations do.

use gochat_proto::wire::{ErrorCode, Permission};

use crate::cluster::Cluster;
use crate::hub::Hub;
use crate::store::{Store, StoreError};

/// What a change did to live sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The user was online: its session was updated (or ended).
    Online,
    /// The user was not online: the store alone was changed.
    Offline,
}

/// Why a change was not made.
#[derive(Debug, thiserror::Error)]
pub enum LiveAdminError {
    /// No such user in the store.
    #[error("no such user")]
    NoSuchUser,
    /// The user is not online (kick).
    #[error("user is not online")]
    NotOnline,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Sets `user`'s permission; an online user gets it at once, with a PERMSCHG hook.
pub async fn set_permission(
    store: &dyn Store,
    hub: &Hub,
    user: &[u8],
    level: Permission,
) -> Result<Applied, LiveAdminError> {
    if !store.set_permission(user, level).await? {
        return Err(LiveAdminError::NoSuchUser);
    }
    tracing::info!(user = %String::from_utf8_lossy(user), level = %level, "permission set by the admin tool");
    Ok(applied(hub.permission_changed(user, level)))
}

/// Deregisters `user`: its token and cached id are forgotten and its session is closed.
pub async fn deregister(
    store: &dyn Store,
    hub: &Hub,
    user: &[u8],
) -> Result<Applied, LiveAdminError> {
    if !store.deregister(user).await? {
        return Err(LiveAdminError::NoSuchUser);
    }
    tracing::info!(user = %String::from_utf8_lossy(user), "deregistered by the admin tool");
    let online = hub.user_deregistered(user);
    if let Some(session) = &online {
        hub.evict(session, ErrorCode::Discn);
    }
    Ok(applied(online.is_some()))
}

/// Disconnects `user`'s session; its reusable token is revoked, as with ADMIN KICK.
pub fn kick(hub: &Hub, cluster: &dyn Cluster, user: &[u8]) -> Result<Applied, LiveAdminError> {
    let Some(session) = hub.online(user) else {
        if cluster.online_elsewhere(user) {
            tracing::info!(user = %String::from_utf8_lossy(user), "kicked by the admin tool (on another node)");
            hub.revoke_token(user);
            cluster.kick(user);
            return Ok(Applied::Online);
        }
        return Err(LiveAdminError::NotOnline);
    };
    tracing::info!(user = %String::from_utf8_lossy(user), "kicked by the admin tool");
    hub.revoke_token(user);
    hub.evict(&session, ErrorCode::Discn);
    Ok(Applied::Online)
}

fn applied(online: bool) -> Applied {
    if online {
        Applied::Online
    } else {
        Applied::Offline
    }
}
