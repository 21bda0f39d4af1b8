//! A refused server certificate on a link: remembered on the profile, announced with an
//! event when a pinned server changed its certificate, and shown as the link's detail.

use gochat_proto::ipc::{self, event};

use super::Actor;
use crate::store::RejectedCert;
use crate::tls::CertInfo;

/// What the user reads about a refused certificate of profile `server`, and what to do.
pub fn rejection_message(server: &str, rejected: &RejectedCert) -> String {
    let info = CertInfo::of(&rejected.der);
    let fingerprint = hex::encode(info.sha256);
    if rejected.changed {
        format!(
            "the server's certificate changed (it now presents sha256:{fingerprint}): refused; \
             if you expect the change, accept it with `gochat-cli server trust {server}`"
        )
    } else {
        format!(
            "{} (sha256:{fingerprint}); after checking the fingerprint, pin it with \
             `gochat-cli server trust {server}`",
            rejected.problem
        )
    }
}

impl Actor {
    /// Records `rejected` on the profile (raising `certificate_changed` the first time a
    /// pinned server presents it) and returns the link's detail.
    pub(super) async fn note_rejection(&self, rejected: &RejectedCert) -> String {
        let server = &self.ctx.server;
        match self
            .ctx
            .store
            .set_server_rejection(server.id, Some(rejected))
            .await
        {
            Ok(true) => {
                if rejected.changed {
                    tracing::warn!(server = %server.name, "the server's certificate changed: refused");
                    let changed = ipc::CertificateChanged {
                        server: server.name.clone(),
                        presented: Some(Box::new(crate::convert::rejected_certificate(rejected))),
                        pins: server.pins.clone(),
                    };
                    self.ctx
                        .events
                        .emit(event::Kind::CertificateChanged(changed))
                        .await;
                }
                self.ctx
                    .events
                    .emit(event::Kind::ConfigChanged(ipc::ConfigChanged {
                        what: "servers".into(),
                    }))
                    .await;
            }
            Ok(false) => {}
            Err(e) => {
                tracing::error!(error = %crate::report::chain(&e), "cannot record a refused certificate");
            }
        }
        rejection_message(&server.name, rejected)
    }

    /// Forgets a refused certificate once the server was reached with a trusted one.
    pub(super) async fn clear_rejection(&self) {
        let server = &self.ctx.server;
        if !server.tls || !server.verify {
            return;
        }
        match self.ctx.store.set_server_rejection(server.id, None).await {
            Ok(true) => {
                self.ctx
                    .events
                    .emit(event::Kind::ConfigChanged(ipc::ConfigChanged {
                        what: "servers".into(),
                    }))
                    .await;
            }
            Ok(false) => {}
            Err(e) => {
                tracing::error!(error = %crate::report::chain(&e), "cannot clear a refused certificate");
            }
        }
    }
}
