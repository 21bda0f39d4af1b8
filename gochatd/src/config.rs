//! Daemon settings: `$XDG_CONFIG_HOME/gochat/gochatd.toml`, overridden by flags.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Settings of the daemon.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DaemonConfig {
    /// Socket path (default: `$XDG_RUNTIME_DIR/gochat/gochatd.sock`).
    pub socket: Option<PathBuf>,
    /// Database file (default: `$XDG_DATA_HOME/gochat/gochatd.db`).
    pub database: Option<PathBuf>,
    /// A command whose output is the passphrase of encrypted keys (for unattended unlock).
    pub passphrase_command: Option<String>,
    /// Log filter.
    pub log: Option<String>,
    /// Threads decrypting received messages (and encrypting outgoing ones) at once
    /// (default: the number of cores).
    pub decrypt_workers: Option<usize>,
    /// Desktop notifications (`[notify]`).
    pub notify: crate::notify::settings::NotifyConfig,
    /// Hook programs (`[hooks]`).
    pub hooks: crate::notify::settings::HooksConfig,
}

impl DaemonConfig {
    /// Reads the file if it exists.
    pub fn load(path: &Path) -> anyhow::Result<DaemonConfig> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let config: DaemonConfig = toml::from_str(&text)
                    .map_err(|e| anyhow::anyhow!("invalid config {}: {e}", path.display()))?;
                config
                    .settings()
                    .validate()
                    .map_err(|e| anyhow::anyhow!("invalid config {}: {e}", path.display()))?;
                Ok(config)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(DaemonConfig::default()),
            Err(e) => Err(anyhow::anyhow!(
                "cannot read config {}: {e}",
                path.display()
            )),
        }
    }

    /// The notification and hook settings of the file.
    pub fn settings(&self) -> crate::notify::settings::Settings {
        crate::notify::settings::Settings {
            notify: self.notify.clone(),
            hooks: self.hooks.clone(),
        }
    }

    /// The default config file path.
    pub fn default_path() -> PathBuf {
        directories::ProjectDirs::from("", "", "gochat")
            .map(|d| d.config_dir().join("gochatd.toml"))
            .unwrap_or_else(|| PathBuf::from("gochatd.toml"))
    }

    /// The database path in force.
    pub fn database_path(&self) -> PathBuf {
        self.database.clone().unwrap_or_else(|| {
            directories::ProjectDirs::from("", "", "gochat")
                .map(|d| d.data_dir().join("gochatd.db"))
                .unwrap_or_else(|| PathBuf::from("gochatd.db"))
        })
    }

    /// The size of the crypto pool in force: `decrypt_workers`, else the number of cores.
    pub fn crypto_workers(&self) -> usize {
        self.decrypt_workers
            .filter(|&n| n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    /// The socket path in force.
    pub fn socket_path(&self) -> PathBuf {
        self.socket
            .clone()
            .unwrap_or_else(gochat_proto::ipc::default_socket_path)
    }
}
