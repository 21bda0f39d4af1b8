//! Server settings: defaults, then the TOML file, then `GOCHAT_*` variables and flags
//! (applied by the command line layer on top of [`Config::load`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Default plain TCP address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9037";

/// Errors reading the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema.
    #[error("invalid config file {path}: {source}")]
    Parse {
        /// File.
        path: PathBuf,
        /// Cause.
        source: Box<toml::de::Error>,
    },
    /// A setting is out of range or inconsistent.
    #[error("invalid setting: {0}")]
    Invalid(String),
}

/// Everything the server can be configured with.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Plain TCP listen address; `None` disables it (only with TLS).
    pub listen: Option<SocketAddr>,
    /// TLS listen address.
    pub tls_listen: Option<SocketAddr>,
    /// Certificate chain (PEM) for TLS.
    pub cert: Option<PathBuf>,
    /// Private key (PEM) for TLS.
    pub key: Option<PathBuf>,
    /// `sqlite://PATH` or `mysql://USER:PASS@HOST:PORT/DB`; default: SQLite in the data directory.
    pub database: Option<String>,
    /// Message of the day sent in HELLO.
    pub motd: String,
    /// Most connections served at once; more wait in a first-come first-served queue.
    pub max_clients: usize,
    /// Most connections (served or waiting) from one IP address.
    pub max_per_ip: usize,
    /// Seconds without any packet (KEEP included) before a connection is closed.
    pub idle_timeout_secs: u64,
    /// Seconds a login challenge stays valid.
    pub login_timeout_secs: u64,
    /// Seconds for the TLS handshake and HELLO.
    pub handshake_timeout_secs: u64,
    /// Seconds a reusable token stays valid once its session ended.
    pub token_lifetime_secs: u64,
    /// Seconds a write to a client may take before it is dropped as too slow.
    pub write_timeout_secs: u64,
    /// Packets queued per connection before a non-reading peer is dropped.
    pub outbound_queue: usize,
    /// Log filter (tracing `EnvFilter` syntax, e.g. `info` or `gochat_server=debug`).
    pub log: String,
    /// Address of the Prometheus metrics endpoint (keep it on loopback); off when unset.
    pub metrics_listen: Option<SocketAddr>,
    // Admin control
    /// Unix socket through which `gochat-server admin` reaches the running server. Unset:
    /// derived from the database (see [`crate::control::socket_path`]); an empty path: off.
    pub control_socket: Option<PathBuf>,
    /// NEWLOGIN/NEWLOGOUT hooks per second each subscriber may receive; more are dropped.
    pub hook_rate: u32,
    /// NEWLOGIN/NEWLOGOUT hooks a subscriber may receive in one burst.
    pub hook_burst: u32,
    /// Least seconds between two DUPSESS hooks to one session (repeated attempts coalesce).
    pub dupsess_interval_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: DEFAULT_LISTEN.parse().ok(),
            tls_listen: None,
            cert: None,
            key: None,
            database: None,
            motd: String::new(),
            max_clients: 50_000,
            max_per_ip: 20_000,
            idle_timeout_secs: 25 * 60,
            login_timeout_secs: 120,
            handshake_timeout_secs: 20,
            token_lifetime_secs: 30 * 60,
            write_timeout_secs: 30,
            outbound_queue: 1024,
            log: "info".into(),
            metrics_listen: None,
            // Admin control
            control_socket: None,
            hook_rate: crate::hub::DEFAULT_HOOK_RATE,
            hook_burst: crate::hub::DEFAULT_HOOK_BURST,
            dupsess_interval_secs: crate::hub::DEFAULT_DUPSESS_INTERVAL_SECS,
        }
    }
}

impl Config {
    /// Reads a TOML file over the defaults.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source: Box::new(source),
        })
    }

    /// Checks that the settings are usable together.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: &str| Err(ConfigError::Invalid(m.to_owned()));
        if self.listen.is_none() && self.tls_listen.is_none() {
            return invalid("neither listen nor tls_listen is set");
        }
        if self.tls_listen.is_some() && (self.cert.is_none() || self.key.is_none()) {
            return invalid("tls_listen needs both cert and key");
        }
        if self.motd.len() > gochat_proto::wire::MAX_ARG_LEN {
            return invalid("motd is longer than 2045 bytes");
        }
        if self.max_clients == 0 || self.max_per_ip == 0 {
            return invalid("max_clients and max_per_ip must be at least 1");
        }
        if self.outbound_queue == 0 {
            return invalid("outbound_queue must be at least 1");
        }
        // Admin control
        if self.hook_burst == 0 {
            return invalid("hook_burst must be at least 1");
        }
        Ok(())
    }

    /// The database URL in force: the configured one or SQLite in the data directory.
    pub fn database_url(&self) -> String {
        self.database.clone().unwrap_or_else(default_database_url)
    }

    /// Idle timeout.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs)
    }
}

/// `sqlite://$XDG_DATA_HOME/gochat-server/gochat.db` (or `./gochat.db` when no home is known).
pub fn default_database_url() -> String {
    let path = directories::ProjectDirs::from("", "", "gochat-server")
        .map(|d| d.data_dir().join("gochat.db"))
        .unwrap_or_else(|| PathBuf::from("gochat.db"));
    format!("sqlite://{}", path.display())
}
