//! Optional settings in `$XDG_CONFIG_HOME/gochat/cli.toml` (or `$GOCHAT_CLI_CONFIG`): defaults
//! for options not given on the command line or in the environment.

use std::path::PathBuf;

use serde::Deserialize;

use crate::error::{CliError, Result};
use crate::global::Global;

/// The file's settings.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CliConfig {
    /// Default server profile.
    pub server: Option<String>,
    /// Default account.
    pub account: Option<String>,
    /// Daemon socket.
    pub socket: Option<PathBuf>,
    /// `false` never starts the daemon.
    pub autostart: Option<bool>,
}

/// The config file in force.
pub fn path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("GOCHAT_CLI_CONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("gochat").join("cli.toml"))
}

/// Reads the file (if any) and fills the options left unset.
pub fn apply(global: &mut Global) -> Result<()> {
    let Some(path) = path() else { return Ok(()) };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(CliError::other(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    let config: CliConfig = toml::from_str(&text)
        .map_err(|e| CliError::usage(format!("invalid config file {}: {e}", path.display())))?;
    if global.server.is_none() {
        global.server = config.server;
    }
    if global.account.is_none() {
        global.account = config.account;
    }
    if global.socket.is_none() {
        global.socket = config.socket;
    }
    if config.autostart == Some(false) {
        global.no_autostart = true;
    }
    Ok(())
}
