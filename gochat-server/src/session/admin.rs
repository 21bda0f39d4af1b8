//! ADMIN operations, with the deployed server's permission rules and check order.

use std::sync::Arc;

use bytes::Bytes;
use gochat_proto::wire::{AdminRequest, ErrorCode, Permission, decode_stamp, encode_stamp};

use super::Session;
use crate::hub::OnlineUser;

/// A shutdown stamp this many seconds in the past still means "now" (clients truncate or
/// round the current time).
const SHUTDOWN_GRACE_SECS: i64 = 2;

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Session {
    pub(super) async fn admin(&self, id: u16, user: &Arc<OnlineUser>, op: u8, args: &[Bytes]) {
        let own = user.permission();
        if own == Permission::User {
            return self.err(id, ErrorCode::Perms).await;
        }
        let request = match AdminRequest::parse(op, args) {
            Ok(r) => r,
            Err(code) => return self.err(id, code).await,
        };
        if own < request.op().required_permission() {
            return self.err(id, ErrorCode::Perms).await;
        }
        tracing::info!(admin = %String::from_utf8_lossy(&user.name), op = %request.op(), "admin operation");
        match request {
            AdminRequest::Shutdown { stamp } => self.admin_shutdown(id, stamp).await,
            AdminRequest::Dereg { username } => self.admin_ban(id, own, &username).await,
            AdminRequest::Broadcast { text } => self.admin_broadcast(id, user, &text).await,
            AdminRequest::ChangePerms { username, level } => {
                self.admin_change_perms(id, user, &username, level).await;
            }
            AdminRequest::Kick { username } => self.admin_kick(id, own, &username).await,
            AdminRequest::Motd { text } => {
                self.deps.hub.set_motd(text);
                self.ok(id).await;
            }
        }
    }

    async fn admin_shutdown(&self, id: u16, stamp: Bytes) {
        let Ok(at) = decode_stamp(&stamp) else {
            return self.err(id, ErrorCode::Args).await;
        };
        if at < now_unix() - SHUTDOWN_GRACE_SECS {
            return self.err(id, ErrorCode::Args).await;
        }
        let (at, raw) = self.deps.shutdown.schedule(at, stamp);
        // In a cluster, every node stops then (a node alone stops on SIGTERM).
        self.deps.cluster.shutdown(at, &raw);
        crate::broadcast::announce_shutdown_here(&self.deps.hub, raw);
        self.ok(id).await;
    }

    /// Whether `own` outranks the stored user `username`; if not, `id` is answered with the
    /// error (not found, not permitted, or a store failure).
    async fn outranks(&self, id: u16, own: Permission, username: &[u8]) -> bool {
        let target = match self.deps.store.user(username).await {
            Ok(Some(t)) => t,
            Ok(None) => {
                self.err(id, ErrorCode::NotFound).await;
                return false;
            }
            Err(e) => {
                tracing::error!(error = %crate::error_chain::Chain(&e), "user lookup failed");
                self.err(id, ErrorCode::Server).await;
                return false;
            }
        };
        if own.code() <= target.permission {
            self.err(id, ErrorCode::Perms).await;
            return false;
        }
        true
    }

    async fn admin_ban(&self, id: u16, own: Permission, username: &[u8]) {
        if !self.outranks(id, own, username).await {
            return;
        }
        if let Err(e) = self.deps.store.deregister(username).await {
            tracing::error!(error = %crate::error_chain::Chain(&e), "deregistration failed");
            return self.err(id, ErrorCode::Server).await;
        }
        if let Some(online) = self.deps.hub.user_deregistered(username) {
            self.deps.hub.evict(&online, ErrorCode::Discn);
        }
        self.ok(id).await;
    }

    async fn admin_broadcast(&self, id: u16, sender: &Arc<OnlineUser>, text: &[u8]) {
        if !self.conn.is_secure() {
            return self.err(id, ErrorCode::NoSecure).await;
        }
        let stamp: Bytes = encode_stamp(now_unix()).into();
        crate::broadcast::broadcast_here(
            &self.deps.hub,
            &sender.name,
            &stamp,
            text,
            Some(self.conn.id()),
        );
        self.deps.cluster.broadcast(&sender.name, &stamp, text);
        self.ok(id).await;
    }

    async fn admin_change_perms(
        &self,
        id: u16,
        admin: &Arc<OnlineUser>,
        username: &Bytes,
        level: u8,
    ) {
        if *username == admin.name {
            return self.err(id, ErrorCode::Invalid).await;
        }
        let target = match self.deps.store.user(username).await {
            Ok(Some(t)) => t,
            Ok(None) => return self.err(id, ErrorCode::NotFound).await,
            Err(e) => {
                tracing::error!(error = %crate::error_chain::Chain(&e), "user lookup failed");
                return self.err(id, ErrorCode::Server).await;
            }
        };
        let Some(level) = Permission::from_code(level) else {
            return self.err(id, ErrorCode::Args).await;
        };
        let own = admin.permission();
        if own <= level || own.code() <= target.permission {
            return self.err(id, ErrorCode::Perms).await;
        }
        if target.permission == level.code() {
            return self.err(id, ErrorCode::Invalid).await;
        }
        match self.deps.store.set_permission(username, level).await {
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %crate::error_chain::Chain(&e), "changing permission failed");
                return self.err(id, ErrorCode::Server).await;
            }
        }
        self.deps.hub.permission_changed(username, level);
        self.ok(id).await;
    }

    async fn admin_kick(&self, id: u16, own: Permission, username: &[u8]) {
        let Some(target) = self.deps.hub.online(username) else {
            return self.kick_elsewhere(id, own, username).await;
        };
        if own <= target.permission() {
            return self.err(id, ErrorCode::Perms).await;
        }
        // A kicked user does not come straight back with a reusable token.
        self.deps.hub.revoke_token(username);
        self.deps.hub.evict(&target, ErrorCode::Discn);
        self.ok(id).await;
    }

    /// KICK of a user online on another node: the permission rule reads the stored level.
    async fn kick_elsewhere(&self, id: u16, own: Permission, username: &[u8]) {
        if !self.deps.cluster.online_elsewhere(username) {
            return self.err(id, ErrorCode::NotFound).await;
        }
        if !self.outranks(id, own, username).await {
            return;
        }
        self.deps.hub.revoke_token(username);
        self.deps.cluster.kick(username);
        self.ok(id).await;
    }
}
