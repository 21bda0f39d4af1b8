//! Logs go to a file (`$XDG_STATE_HOME/gochat/gochat-tui.log` by default) or to journald,
//! never to the terminal the TUI draws on. `GOCHAT_LOG` overrides the level.

use std::path::PathBuf;
use std::sync::Mutex;

use tracing_subscriber::prelude::*;

use crate::config::Config;

/// Where logs went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogTarget {
    /// A file.
    File(PathBuf),
    /// The systemd journal.
    Journald,
}

/// Sets up logging.
///
/// # Errors
///
/// A description of why logs cannot be written (the TUI then runs without them).
pub fn init(config: &Config) -> Result<LogTarget, String> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("GOCHAT_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(&config.log.level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    if config.log.target == "journald" {
        let layer =
            tracing_journald::layer().map_err(|e| format!("journald is not available: {e}"))?;
        registry.with(layer).try_init().map_err(|e| e.to_string())?;
        return Ok(LogTarget::Journald);
    }
    let path = config.log_file();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| format!("cannot open the log file {}: {e}", path.display()))?;
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(Mutex::new(file));
    registry.with(layer).try_init().map_err(|e| e.to_string())?;
    Ok(LogTarget::File(path))
}
