//! Server certificates: showing what a server presents, pinning it after the user confirms
//! (trust on first use, or a changed certificate), and offering that whenever a profile
//! holds a certificate the daemon refused.

use gochat_client::errors::DaemonError;
use gochat_proto::ipc::{CertificateInfo, DaemonClient, ServerRef, TrustServerRequest};

use super::status_error;
use crate::app::{App, BufferKey, Level, Popup};
use crate::msg::{Effect, Reply};

/// The certificate the server of profile `server` presents now.
pub(super) async fn probe(c: &mut DaemonClient, server: String) -> Reply {
    let result = c
        .probe_server_certificate(ServerRef {
            name: server.clone(),
        })
        .await
        .map(tonic::Response::into_inner)
        .map_err(|s| status_error(&s));
    Reply::Certificate { server, result }
}

/// Pins the certificate with SHA-256 `sha256` if the server still presents it.
pub(super) async fn trust(
    c: &mut DaemonClient,
    server: String,
    sha256: String,
) -> Result<(), DaemonError> {
    c.trust_server(TrustServerRequest {
        name: server,
        expect_sha256: sha256,
        keep_existing: false,
    })
    .await
    .map(|_| ())
    .map_err(|s| status_error(&s))
}

/// Asks whether to pin what the server presents.
pub(super) fn reduce(
    app: &mut App,
    server: String,
    result: Result<CertificateInfo, DaemonError>,
) -> Vec<Effect> {
    match result {
        Ok(cert) => {
            if let Some(s) = app.servers.iter_mut().find(|s| s.profile.name == server) {
                s.cert_prompted = Some(cert.sha256.clone());
            }
            app.offer_popup(Popup::TrustCertificate { server, cert });
        }
        Err(e) => app.notice(
            BufferKey::Server(server.clone()),
            Level::Error,
            format!("cannot get the certificate of {server}: {e}"),
        ),
    }
    Vec::new()
}
