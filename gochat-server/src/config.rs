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
    #[error("cannot read config file {path}")]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema.
    #[error("invalid config file {path}")]
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

    // Internet-facing limits
    /// Seconds from accept within which a connection must log in; after that it gets
    /// `ERR(IDLE)` and is closed (like OpenSSH's LoginGraceTime).
    pub login_grace_secs: u64,
    /// Connections waiting for a slot when `max_clients` are served; more are refused at once.
    pub max_waiting: usize,
    /// Seconds a connection may wait for a slot before it is refused.
    pub wait_timeout_secs: u64,
    /// Connects one IP address may make in a burst.
    pub connect_burst_per_ip: u32,
    /// Connects per minute one IP address regains after a burst; 0 turns the limit off.
    pub connects_per_minute_per_ip: u32,
    /// LOGIN/REG/VERIF requests one IP address may make in a burst.
    pub auth_burst_per_ip: u32,
    /// LOGIN/REG/VERIF requests per minute one IP address regains; 0 turns the limit off.
    pub auth_per_minute_per_ip: u32,
    /// Failed proofs of key (wrong VERIF answer or token) and rate-limited LOGIN/REG/VERIF
    /// on one connection before it is closed (like OpenSSH's MaxAuthTries).
    pub max_auth_failures: u32,
    /// Most IP addresses each rate limiter tracks at once (bounds its memory).
    pub rate_table_size: usize,
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
    // Several nodes
    /// Run as one node of a cluster (MariaDB only); unset: a single node, as always.
    pub cluster: Option<ClusterConfig>,
}

/// `[cluster]`: several nodes on one MariaDB database, routed through NATS.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// NATS server URL(s), comma-separated (`nats://host:4222`, `tls://…`; credentials may be
    /// in the URL).
    pub nats: String,
    /// This node's id (letters, digits, `-`, `_`); default: the host name plus a random
    /// suffix, new at every start.
    pub node_id: Option<String>,
    /// The cluster's name: the prefix of its NATS subjects and KV buckets.
    pub name: String,
    /// NATS credentials file (`.creds`: JWT and NKey seed).
    pub credentials: Option<PathBuf>,
    /// CA certificate (PEM) to verify the NATS server with; setting it requires TLS.
    pub ca: Option<PathBuf>,
    /// Client certificate (PEM) for NATS servers that verify clients.
    pub client_cert: Option<PathBuf>,
    /// Key of `client_cert` (PEM).
    pub client_key: Option<PathBuf>,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            nats: "nats://127.0.0.1:4222".into(),
            node_id: None,
            name: "gochat".into(),
            credentials: None,
            ca: None,
            client_cert: None,
            client_key: None,
        }
    }
}

impl ClusterConfig {
    /// The configured node id, or the host name with a random suffix.
    pub fn node_id(&self) -> String {
        if let Some(id) = &self.node_id {
            return id.clone();
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .unwrap_or_else(|_| "gochat".into())
            .trim()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect::<String>();
        let suffix: u32 = rand::random();
        format!("{host}-{suffix:08x}")
    }
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
            max_clients: 10_000,
            max_per_ip: 32,
            idle_timeout_secs: 25 * 60,
            login_timeout_secs: 120,
            handshake_timeout_secs: 20,
            token_lifetime_secs: 30 * 60,
            write_timeout_secs: 30,
            outbound_queue: 1024,
            log: "info".into(),
            metrics_listen: None,
            login_grace_secs: 60,
            max_waiting: 256,
            wait_timeout_secs: 10,
            connect_burst_per_ip: 32,
            connects_per_minute_per_ip: 120,
            auth_burst_per_ip: 30,
            auth_per_minute_per_ip: 120,
            max_auth_failures: 6,
            rate_table_size: 100_000,
            // Admin control
            control_socket: None,
            hook_rate: crate::hub::DEFAULT_HOOK_RATE,
            hook_burst: crate::hub::DEFAULT_HOOK_BURST,
            dupsess_interval_secs: crate::hub::DEFAULT_DUPSESS_INTERVAL_SECS,
            mailbox_max_messages: 10_000,
            mailbox_max_bytes: 16 * 1024 * 1024,
            msg_rate: 200,
            msg_burst: 2_000,
            catch_up_batch_bytes: 256 * 1024,
            cluster: None,
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
        if self.cluster.is_some() {
            let url = self.database_url();
            if !(url.starts_with("mysql:") || url.starts_with("mariadb:")) {
                return invalid(
                    "[cluster] needs a MariaDB database (`database = \"mysql://…\"`): SQLite serves one node only",
                );
            }
        }
        self.validate_limits()
    }

    /// Checks the internet-facing limits.
    fn validate_limits(&self) -> Result<(), ConfigError> {
        let invalid = |m: &str| Err(ConfigError::Invalid(m.to_owned()));
        // A day: beyond that a timer is a typo, and far beyond it the deadline overflows.
        const MAX_SECS: u64 = 24 * 3600;
        let timers = [
            ("idle_timeout_secs", self.idle_timeout_secs),
            ("login_grace_secs", self.login_grace_secs),
            ("wait_timeout_secs", self.wait_timeout_secs),
            ("login_timeout_secs", self.login_timeout_secs),
            ("handshake_timeout_secs", self.handshake_timeout_secs),
            ("write_timeout_secs", self.write_timeout_secs),
        ];
        for (name, secs) in timers {
            if secs == 0 || secs > MAX_SECS {
                return invalid(&format!("{name} must be between 1 and {MAX_SECS}"));
            }
        }
        if self.connect_burst_per_ip == 0 || self.auth_burst_per_ip == 0 {
            return invalid("connect_burst_per_ip and auth_burst_per_ip must be at least 1");
        }
        if self.max_auth_failures == 0 {
            return invalid("max_auth_failures must be at least 1");
        }
        if self.rate_table_size == 0 {
            return invalid("rate_table_size must be at least 1");
        }
        // Admin control
        if self.hook_burst == 0 {
            return invalid("hook_burst must be at least 1");
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

    /// Time from accept to a completed login.
    pub fn login_grace(&self) -> Duration {
        Duration::from_secs(self.login_grace_secs)
    }

    /// Longest wait for a connection slot.
    pub fn wait_timeout(&self) -> Duration {
        Duration::from_secs(self.wait_timeout_secs)
    }

    /// The per-IP connect rate.
    pub fn connect_rate(&self) -> crate::rate::Rate {
        crate::rate::Rate {
            burst: self.connect_burst_per_ip,
            per_minute: self.connects_per_minute_per_ip,
        }
    }

    /// The per-IP LOGIN/REG/VERIF rate.
    pub fn auth_rate(&self) -> crate::rate::Rate {
        crate::rate::Rate {
            burst: self.auth_burst_per_ip,
            per_minute: self.auth_per_minute_per_ip,
        }
    }
}

/// `sqlite://$XDG_DATA_HOME/gochat-server/gochat.db` (or `./gochat.db` when no home is known).
pub fn default_database_url() -> String {
    let path = directories::ProjectDirs::from("", "", "gochat-server")
        .map(|d| d.data_dir().join("gochat.db"))
        .unwrap_or_else(|| PathBuf::from("gochat.db"));
    format!("sqlite://{}", path.display())
}

/// Hides the password in a database URL.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &creds[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::Config;

    #[test]
    fn internet_facing_limits_from_toml() {
        let config: Config = toml::from_str(
            "login_grace_secs = 5\nmax_waiting = 3\nwait_timeout_secs = 2\n\
             connect_burst_per_ip = 4\nconnects_per_minute_per_ip = 0\n\
             auth_burst_per_ip = 6\nauth_per_minute_per_ip = 7\nmax_auth_failures = 2\n\
             rate_table_size = 9\n",
        )
        .expect("parses");
        assert_eq!(config.login_grace_secs, 5);
        assert_eq!(config.max_waiting, 3);
        assert_eq!(config.wait_timeout_secs, 2);
        assert_eq!(config.connect_rate().burst, 4);
        assert_eq!(config.connect_rate().per_minute, 0);
        assert_eq!(config.auth_rate().burst, 6);
        assert_eq!(config.auth_rate().per_minute, 7);
        assert_eq!(config.max_auth_failures, 2);
        assert_eq!(config.rate_table_size, 9);
        config.validate().expect("valid");
    }

    #[test]
    fn defaults_are_internet_safe_and_valid() {
        let config = Config::default();
        config.validate().expect("defaults are valid");
        assert!(config.max_per_ip <= 100, "per-IP limit in the tens");
        assert!(config.login_grace_secs <= 120);
        assert!(config.max_waiting > 0 && config.max_waiting <= 1024);
    }

    #[test]
    fn out_of_range_limits_are_refused() {
        let tweaks: [fn(&mut Config); 9] = [
            |c| c.login_grace_secs = 0,
            |c| c.handshake_timeout_secs = 0,
            |c| c.write_timeout_secs = 0,
            |c| c.wait_timeout_secs = 0,
            |c| c.idle_timeout_secs = 0,
            |c| c.login_grace_secs = 10 * 24 * 3600,
            |c| c.connect_burst_per_ip = 0,
            |c| c.max_auth_failures = 0,
            |c| c.rate_table_size = 0,
        ];
        for tweak in tweaks {
            let mut config = Config::default();
            tweak(&mut config);
            assert!(config.validate().is_err(), "{config:?}");
        }
    }
}

#[cfg(test)]
mod sample {
    use super::Config;

    /// The packaged sample must parse and show the defaults of the limits it lists.
    #[test]
    fn packaged_sample_matches_the_defaults() {
        let text = include_str!("../../packaging/gochat-server.toml");
        let sample: Config = toml::from_str(text).expect("the sample parses");
        let defaults = Config::default();
        assert_eq!(sample.max_clients, defaults.max_clients);
        assert_eq!(sample.max_per_ip, defaults.max_per_ip);
        assert_eq!(sample.login_grace_secs, defaults.login_grace_secs);
        assert_eq!(sample.max_waiting, defaults.max_waiting);
        assert_eq!(sample.wait_timeout_secs, defaults.wait_timeout_secs);
        assert_eq!(sample.connect_burst_per_ip, defaults.connect_burst_per_ip);
        assert_eq!(
            sample.connects_per_minute_per_ip,
            defaults.connects_per_minute_per_ip
        );
        assert_eq!(sample.auth_burst_per_ip, defaults.auth_burst_per_ip);
        assert_eq!(
            sample.auth_per_minute_per_ip,
            defaults.auth_per_minute_per_ip
        );
        assert_eq!(sample.max_auth_failures, defaults.max_auth_failures);
        assert_eq!(sample.rate_table_size, defaults.rate_table_size);
    }
}
