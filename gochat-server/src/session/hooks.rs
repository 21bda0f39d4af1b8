//! SUB and UNSUB.

use gochat_proto::wire::{ErrorCode, Hook};

use super::Session;

impl Session {
    pub(super) async fn subscribe(&self, id: u16, hook: Hook) {
        if hook == Hook::All {
            for single in Hook::SINGLE {
                self.deps.hub.subscribe(single, &self.conn);
            }
            return self.ok(id).await;
        }
        if self.deps.hub.subscribe(hook, &self.conn) {
            self.ok(id).await;
        } else {
            self.err(id, ErrorCode::Exists).await;
        }
    }

    pub(super) async fn unsubscribe(&self, id: u16, hook: Hook) {
        if hook == Hook::All {
            self.deps.hub.unsubscribe_all(self.conn.id());
            return self.ok(id).await;
        }
        if self.deps.hub.unsubscribe(hook, self.conn.id()) {
            self.ok(id).await;
        } else {
            self.err(id, ErrorCode::NotFound).await;
        }
    }
}
