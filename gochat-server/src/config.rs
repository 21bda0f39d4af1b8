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

    // Storage limits
    /// Most messages stored (offline) for one recipient; further MSGs get `ERR_MAXSIZE`.
    /// 0 means no limit.
    pub mailbox_max_messages: u64,
    /// Most ciphertext bytes stored for one recipient; 0 means no limit.
    pub mailbox_max_bytes: u64,
    /// MSGs per second one session may send on average; faster senders are slowed down
    /// (their next MSG is read later). 0 means no limit.
    pub msg_rate: u32,
    /// MSGs a session may send at once above `msg_rate` before it is slowed down.
    pub msg_burst: u32,
    /// Bytes of stored messages a catch-up (`RECIV`) writes per batch; each batch is deleted
    /// once it is in the socket, and the write timeout applies per batch.
    pub catch_up_batch_bytes: usize,
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
            mailbox_max_messages: 10_000,
            mailbox_max_bytes: 16 * 1024 * 1024,
            msg_rate: 200,
            msg_burst: 2_000,
            catch_up_batch_bytes: 256 * 1024,
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
        if self.msg_rate > 0 && self.msg_burst == 0 {
            return invalid("msg_burst must be at least 1 when msg_rate is set");
        }
        if !(4096..=16 * 1024 * 1024).contains(&self.catch_up_batch_bytes) {
            return invalid("catch_up_batch_bytes must be between 4096 and 16777216");
        }
        Ok(())
    }

    /// The database URL in force: the configured one or SQLite in the data directory.
    pub fn database_url(&self) -> String {
        self.database.clone().unwrap_or_else(default_database_url)
    }

    /// The per-recipient quota on stored messages (0 in a setting means no limit).
    pub fn quota(&self) -> crate::store::Quota {
        let limit = |n: u64| if n == 0 { u64::MAX } else { n };
        crate::store::Quota {
            max_messages: limit(self.mailbox_max_messages),
            max_bytes: limit(self.mailbox_max_bytes),
        }
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
