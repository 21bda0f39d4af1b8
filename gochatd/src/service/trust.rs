//! Server certificates: pins given by the user, the probe that shows what a server
//! presents, and trusting it (trust on first use, or accepting a changed certificate).

use std::time::Duration;

use crate::daemon::Daemon;
use crate::error::ApiError;
use crate::link::transport::{self, DialError};
use crate::store::{RejectedCert, ServerRow};
use crate::tls::{CertInfo, Pin, Verdict, pins_of_pem_file};

/// Time allowed for a certificate probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The pins of a request in stored form: `sha256:HEX` and `spki-sha256:HEX` as given (in
/// lower case), a path to a PEM file as the certificates it holds. Duplicates go.
pub fn normalize_pins(given: &[String]) -> Result<Vec<String>, ApiError> {
    let mut pins: Vec<String> = Vec::new();
    for entry in given.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        let parsed = if entry.starts_with("sha256:") || entry.starts_with("spki-sha256:") {
            vec![Pin::parse(entry).map_err(|e| ApiError::Invalid(e.to_string()))?]
        } else if std::path::Path::new(entry).is_absolute() {
            pins_of_pem_file(entry).map_err(|e| ApiError::Invalid(crate::report::chain(&e)))?
        } else {
            return Err(ApiError::Invalid(format!(
                "pin {entry:?} is neither sha256:HEX, spki-sha256:HEX nor an absolute path"
            )));
        };
        for pin in parsed.iter().map(Pin::to_string) {
            if !pins.contains(&pin) {
                pins.push(pin);
            }
        }
    }
    Ok(pins)
}

/// The certificate `server` presents now, judged by its trust settings.
async fn probe(server: &ServerRow) -> Result<Verdict, ApiError> {
    if !server.tls {
        return Err(ApiError::Invalid(format!(
            "server {:?} does not use TLS: it has no certificate",
            server.name
        )));
    }
    let mut judged = server.clone();
    judged.verify = true;
    transport::probe(&judged, PROBE_TIMEOUT)
        .await
        .map_err(|e| match e {
            DialError::TlsConfig(_) => ApiError::Invalid(crate::report::chain(&e)),
            other => ApiError::NotOnline(crate::report::chain(&other)),
        })
}

impl Daemon {
    /// After a TLS profile was added: looks at the certificate its server presents and
    /// records it on the profile when it is refused (trust on first use starts here). A
    /// server that cannot be reached is left for later.
    pub(super) async fn check_new_server(&self, row: ServerRow) -> Result<ServerRow, ApiError> {
        if !row.tls || !row.verify {
            return Ok(row);
        }
        let verdict = match probe(&row).await {
            Ok(verdict) => verdict,
            Err(e) => {
                tracing::info!(server = %row.name, error = %e, "no certificate check for a new profile");
                return Ok(row);
            }
        };
        let rejected = verdict.problem.map(|p| RejectedCert {
            der: verdict.der,
            problem: p.text,
            changed: p.changed,
        });
        self.store
            .set_server_rejection(row.id, rejected.as_ref())
            .await?;
        Ok(ServerRow { rejected, ..row })
    }

    /// The certificate the server of profile `name` presents now.
    pub async fn probe_server(&self, name: &str) -> Result<Verdict, ApiError> {
        let server = self.resolve_server(name).await?;
        probe(&server).await
    }

    /// Pins the certificate the server of profile `name` presents now, which must be
    /// `expect` (the fingerprint the user saw: nothing is pinned blind), in place of the
    /// profile's pins or beside them, and reconnects its accounts.
    pub async fn trust_server(
        &self,
        name: &str,
        expect: &str,
        keep_existing: bool,
    ) -> Result<ServerRow, ApiError> {
        let expect = expect.trim();
        if expect.is_empty() {
            return Err(ApiError::Invalid(
                "name the fingerprint you confirmed (expect_sha256): nothing is pinned blind; \
                 ProbeServerCertificate shows what the server presents"
                    .into(),
            ));
        }
        let mut server = self.resolve_server(name).await?;
        let verdict = probe(&server).await?;
        let presented = CertInfo::of(&verdict.der).pin();
        let wanted = if expect.starts_with("sha256:") || expect.starts_with("spki-sha256:") {
            expect.to_owned()
        } else {
            format!("sha256:{expect}")
        };
        let wanted = Pin::parse(&wanted).map_err(|e| ApiError::Invalid(e.to_string()))?;
        if !wanted.matches(&verdict.der) {
            let rejected = RejectedCert {
                der: verdict.der,
                problem: "the server presents another certificate than the one confirmed".into(),
                changed: true,
            };
            return Err(ApiError::Certificate {
                message: format!(
                    "server {:?} now presents {presented}, not the certificate you confirmed: \
                     nothing was pinned",
                    server.name
                ),
                rejected,
            });
        }
        let pin = presented.to_string();
        if !keep_existing {
            server.pins.clear();
        }
        if !server.pins.contains(&pin) {
            server.pins.push(pin);
        }
        let server = self.store.update_server(&server).await?;
        self.store.set_server_rejection(server.id, None).await?;
        tracing::info!(server = %server.name, pin = %presented, "server certificate pinned");
        self.restart_links(server.id).await?;
        self.config_changed("servers").await;
        Ok(ServerRow {
            rejected: None,
            ..server
        })
    }
}
