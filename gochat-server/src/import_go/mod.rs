//! `gochat-server import-go`: moves a Go gochat server's users and stored messages into our
//! store (either backend), in one transaction, idempotently, never writing to the source.
//!
//! [`source`] reads the Go database, [`plan`] decides what to write (all the rules about odd
//! rows), [`report`] prints what happened, and the store's `apply_import` writes it.

pub mod plan;
pub mod report;
pub mod source;

use crate::store::{Store, StoreError};

pub use plan::{PlanError, Report, SkipReason, UserOutcome};
pub use source::SourceError;

/// Why an import failed (nothing was written).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The Go database could not be read.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The import was refused.
    #[error(transparent)]
    Refused(#[from] PlanError),
    /// Our store failed (the transaction was rolled back).
    #[error("writing the target store failed (nothing was written)")]
    Target(#[from] StoreError),
}

/// How to import.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Import into a target that holds other accounts.
    pub merge: bool,
    /// Plan and report only.
    pub dry_run: bool,
}

/// Imports the Go database at `source_url` into `target`. `None` stands for a target that
/// does not exist yet (only for a dry run: nothing is written then).
pub async fn import(
    source_url: &str,
    target: Option<&dyn Store>,
    options: ImportOptions,
) -> Result<Report, ImportError> {
    let snapshot = source::read(source_url).await?;
    let state = match target {
        Some(store) => plan::TargetState {
            users: store.all_users().await?,
            imported: store.imported_go_messages().await?,
        },
        None => plan::TargetState::default(),
    };
    let mut plan = plan::plan(&snapshot, &state, options.merge)?;
    plan.report.dry_run = options.dry_run || target.is_none();
    if let (Some(store), false) = (target, plan.report.dry_run) {
        store.apply_import(&plan.batch).await?;
    }
    Ok(plan.report)
}

/// Whether the store at `url` exists already (an SQLite file, or a MariaDB database that has
/// a `users` table), checked without creating or migrating anything.
pub async fn target_exists(url: &str) -> Result<bool, StoreError> {
    use sqlx::{ConnectOptions, Connection};
    if let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        let path = rest.split('?').next().unwrap_or_default();
        return Ok(path == ":memory:" || std::path::Path::new(path).exists());
    }
    let url = url.replacen("mariadb://", "mysql://", 1);
    let options: sqlx::mysql::MySqlConnectOptions = url
        .parse()
        .map_err(|_| StoreError::UnsupportedUrl(url.clone()))?;
    let mut conn = options.connect().await?;
    let tables: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'users'",
    )
    .fetch_one(&mut conn)
    .await?;
    let _ = conn.close().await;
    Ok(tables > 0)
}
