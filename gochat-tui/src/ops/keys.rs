//! The account's own key: showing it, exporting it to a file, importing a Go client's key.

use gochat_client::errors::DaemonError;
use std::path::Path;

use gochat_client::files::{self, Overwrite};
use gochat_proto::ipc::{DaemonClient, ExportKeyRequest, ImportKeyRequest, KeyInfo};

use super::{some_ref, status_error};
use crate::app::{AccountKey, App, Level};
use crate::msg::{AccountOp, Effect, Reply};
use crate::secret::Secret;

/// Fetches the public key.
pub(super) async fn show(c: &mut DaemonClient, account: AccountKey) -> Reply {
    let result = c
        .show_key(account.to_ref())
        .await
        .map(tonic::Response::into_inner)
        .map_err(|s| status_error(&s));
    Reply::Key { account, result }
}

/// Fetches the private key and writes it to a new 0600 file at `path`.
pub(super) async fn export(c: &mut DaemonClient, account: AccountKey, path: String) -> Reply {
    let result = match c
        .export_key(ExportKeyRequest {
            account: some_ref(&account),
        })
        .await
    {
        Ok(r) => write_private(&path, r.into_inner().private_pem).await,
        Err(s) => Err(status_error(&s)),
    };
    Reply::Exported {
        account,
        path,
        result,
    }
}

/// Reads a Go client's key file and adds it as `account`; reduced as an account operation.
pub(super) async fn import(
    c: &mut DaemonClient,
    account: AccountKey,
    path: String,
    passphrase: &Secret,
) -> Reply {
    let result = match tokio::fs::read_to_string(&path).await {
        Ok(pem) => c
            .import_key(ImportKeyRequest {
                account: some_ref(&account),
                private_pem: pem,
                passphrase: passphrase.expose().to_owned(),
            })
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| status_error(&s)),
        Err(err) => Err(DaemonError::local(format!("cannot read {path}: {err}"))),
    };
    Reply::Account {
        account,
        op: AccountOp::Import,
        result,
    }
}

/// Writes a private key to a new 0600 file (never over an existing file).
async fn write_private(path: &str, pem: String) -> Result<(), DaemonError> {
    let path = path.to_owned();
    let pem = zeroize::Zeroizing::new(pem);
    tokio::task::spawn_blocking(move || {
        files::write_private(Path::new(&path), pem.as_bytes(), Overwrite::Refuse)
            .map_err(|e| DaemonError::local(gochat_client::errors::chain(&e)))
    })
    .await
    .map_err(|e| DaemonError::local(e.to_string()))?
}

/// Prints the fingerprint.
pub(super) fn reduce_show(
    app: &mut App,
    account: AccountKey,
    result: Result<KeyInfo, DaemonError>,
) -> Vec<Effect> {
    match result {
        Ok(k) => app.notice_here(
            Level::Info,
            format!(
                "{}: RSA-{} key, fingerprint (SHA-256)\n  {}\nExport the private key with /key export FILE.",
                account.label(),
                k.bits,
                k.fingerprint
            ),
        ),
        Err(e) => app.notice_here(Level::Error, format!("could not show the key: {e}")),
    }
    Vec::new()
}

/// Says where the key went.
pub(super) fn reduce_export(
    app: &mut App,
    account: AccountKey,
    path: String,
    result: Result<(), DaemonError>,
) -> Vec<Effect> {
    match result {
        Ok(()) => app.notice_here(
            Level::Success,
            format!(
                "wrote {}'s private key to {path} (mode 0600; keep it safe)",
                account.label()
            ),
        ),
        Err(e) => app.notice_here(Level::Error, format!("export failed: {e}")),
    }
    Vec::new()
}
