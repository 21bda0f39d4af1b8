//! The Go server's JSON config (GO-IMPLEMENTATION §2.12) read as it is and mapped onto ours,
//! for `gochat-server --go-config FILE` and `gochat-server config from-go FILE`:
//!
//! | Go key | ours |
//! |---|---|
//! | `server.address` + `server.port` | `listen` |
//! | `server.address` + `server.tls.port`, `tls.cert_file`, `tls.key_file` (if `tls.enabled`) | `tls_listen`, `cert`, `key` |
//! | `server.max_clients` | `max_clients` |
//! | `server.default_motd` | `motd` |
//! | `server.logs.level` ALL / INFO / ERROR (anything else: fatal only) | `log` debug / info / error |
//! | `database.*` | `database` = `mysql://user:password@address:port/db_name` |
//!
//! Keys with no counterpart (`database.enable_logs`, `database.log_file`,
//! `server.logs.log_file`) and unknown keys are ignored with a warning naming them. Keys Go
//! requires are required here too. Relative cert/key paths stay relative to the working
//! directory, as they were for Go.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::config::Config;

/// Why a Go config cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum GoConfigError {
    /// The file cannot be read.
    #[error("cannot read Go config {path}")]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is not JSON.
    #[error("Go config {path} is not valid JSON")]
    Json {
        /// File.
        path: PathBuf,
        /// Cause.
        source: serde_json::Error,
    },
    /// A key the Go server requires is missing.
    #[error("Go config: missing required setting `{0}`")]
    Missing(String),
    /// A key has a value of the wrong type or range.
    #[error("Go config: `{key}` {reason}")]
    Invalid {
        /// Dotted key.
        key: String,
        /// What is wrong.
        reason: String,
    },
}

/// A converted config and what the conversion could not carry over.
#[derive(Debug, Clone)]
pub struct Converted {
    /// Our settings (defaults for everything Go has no key for).
    pub config: Config,
    /// One line per ignored or adjusted key, naming it (never a value).
    pub warnings: Vec<String>,
}

/// Keys we know, with whether they have a counterpart.
const KNOWN: &[(&str, bool)] = &[
    ("database", true),
    ("database.address", true),
    ("database.port", true),
    ("database.user", true),
    ("database.password", true),
    ("database.db_name", true),
    ("database.enable_logs", false),
    ("database.log_file", false),
    ("server", true),
    ("server.address", true),
    ("server.port", true),
    ("server.max_clients", true),
    ("server.default_motd", true),
    ("server.tls", true),
    ("server.tls.enabled", true),
    ("server.tls.port", true),
    ("server.tls.cert_file", true),
    ("server.tls.key_file", true),
    ("server.logs", true),
    ("server.logs.level", true),
    ("server.logs.log_file", false),
];

/// Reads and converts the Go config file at `path`.
pub fn load(path: &Path) -> Result<Converted, GoConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| GoConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let value: Value = serde_json::from_str(&text).map_err(|source| GoConfigError::Json {
        path: path.to_owned(),
        source,
    })?;
    convert(&value)
}

/// Converts a parsed Go config.
pub fn convert(root: &Value) -> Result<Converted, GoConfigError> {
    let mut warnings = Vec::new();
    let root = as_object(root, "(top level)")?;
    walk(root, "", &mut warnings);

    let server = object(root, "server")?;
    let address = string(server, "server.address")?;
    let plain_port = port(server, "server.port")?;
    let mut config = Config {
        listen: Some(socket_addr("server.address", address, plain_port)?),
        ..Config::default()
    };

    let max_clients = unsigned(server, "server.max_clients")?;
    if max_clients == 0 {
        warnings.push(format!(
            "`server.max_clients` is 0, which made the Go server admit nobody; kept our default \
             of {}",
            config.max_clients
        ));
    } else {
        config.max_clients = usize::try_from(max_clients).unwrap_or(usize::MAX);
    }

    if let Some(motd) = optional(server, "default_motd") {
        config.motd = motd
            .as_str()
            .ok_or_else(|| invalid("server.default_motd", "must be a string"))?
            .to_owned();
    }

    if let Some(tls) = optional(server, "tls") {
        let tls = as_object(tls, "server.tls")?;
        let enabled = match optional(tls, "enabled") {
            None => false,
            Some(v) => v
                .as_bool()
                .ok_or_else(|| invalid("server.tls.enabled", "must be true or false"))?,
        };
        if enabled {
            let tls_port = port(tls, "server.tls.port")?;
            config.tls_listen = Some(socket_addr("server.address", address, tls_port)?);
            config.cert = Some(PathBuf::from(string(tls, "server.tls.cert_file")?));
            config.key = Some(PathBuf::from(string(tls, "server.tls.key_file")?));
        }
    }

    config.log = "error".to_owned();
    if let Some(logs) = optional(server, "logs") {
        let logs = as_object(logs, "server.logs")?;
        if let Some(level) = optional(logs, "level") {
            config.log = match level.as_str() {
                Some("ALL") => "debug",
                Some("INFO") => "info",
                Some("ERROR") => "error",
                _ => {
                    warnings.push(
                        "`server.logs.level` is not ALL, INFO or ERROR (Go then logged only \
                         fatal errors); using error"
                            .to_owned(),
                    );
                    "error"
                }
            }
            .to_owned();
        }
    }

    let database = object(root, "database")?;
    config.database = Some(format!(
        "mysql://{}:{}@{}:{}/{}",
        percent_encode(string(database, "database.user")?),
        percent_encode(string(database, "database.password")?),
        url_host(string(database, "database.address")?),
        port(database, "database.port")?,
        percent_encode(string(database, "database.db_name")?),
    ));
    Ok(Converted { config, warnings })
}

/// The settings a conversion sets, as TOML for `--config` (warnings as comments).
pub fn to_toml(converted: &Converted, source: &Path) -> String {
    let c = &converted.config;
    let mut table = toml::Table::new();
    let mut put = |k: &str, v: toml::Value| {
        table.insert(k.to_owned(), v);
    };
    if let Some(a) = c.listen {
        put("listen", toml::Value::String(a.to_string()));
    }
    if let Some(a) = c.tls_listen {
        put("tls_listen", toml::Value::String(a.to_string()));
    }
    if let Some(p) = &c.cert {
        put("cert", toml::Value::String(p.display().to_string()));
    }
    if let Some(p) = &c.key {
        put("key", toml::Value::String(p.display().to_string()));
    }
    if let Some(d) = &c.database {
        put("database", toml::Value::String(d.clone()));
    }
    put("motd", toml::Value::String(c.motd.clone()));
    put(
        "max_clients",
        toml::Value::Integer(i64::try_from(c.max_clients).unwrap_or(i64::MAX)),
    );
    put("log", toml::Value::String(c.log.clone()));
    let mut out = format!(
        "# gochat-server settings converted from the Go server config {}\n",
        source.display()
    );
    for w in &converted.warnings {
        out.push_str(&format!("# warning: {w}\n"));
    }
    out.push_str(&table.to_string());
    out
}

/// Warns about every key that is unknown or has no counterpart.
fn walk(map: &Map<String, Value>, prefix: &str, warnings: &mut Vec<String>) {
    for (k, v) in map {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match KNOWN.iter().find(|(known, _)| *known == key) {
            None => warnings.push(format!("unknown Go setting `{key}` ignored")),
            Some((_, false)) => warnings.push(format!(
                "Go setting `{key}` has no counterpart and is ignored (gochat-server logs to \
                 stderr or the journal, and never logs SQL)"
            )),
            Some((_, true)) => {
                if let Value::Object(inner) = v {
                    walk(inner, &key, warnings);
                }
            }
        }
    }
}

fn invalid(key: &str, reason: &str) -> GoConfigError {
    GoConfigError::Invalid {
        key: key.to_owned(),
        reason: reason.to_owned(),
    }
}

/// The last segment of a dotted key.
fn leaf(key: &str) -> &str {
    key.rsplit('.').next().unwrap_or(key)
}

fn optional<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    map.get(name).filter(|v| !v.is_null())
}

fn required<'a>(map: &'a Map<String, Value>, key: &str) -> Result<&'a Value, GoConfigError> {
    optional(map, leaf(key)).ok_or_else(|| GoConfigError::Missing(key.to_owned()))
}

fn as_object<'a>(v: &'a Value, key: &str) -> Result<&'a Map<String, Value>, GoConfigError> {
    v.as_object()
        .ok_or_else(|| invalid(key, "must be a JSON object"))
}

fn object<'a>(
    map: &'a Map<String, Value>,
    key: &str,
) -> Result<&'a Map<String, Value>, GoConfigError> {
    as_object(required(map, key)?, key)
}

fn string<'a>(map: &'a Map<String, Value>, key: &str) -> Result<&'a str, GoConfigError> {
    required(map, key)?
        .as_str()
        .ok_or_else(|| invalid(key, "must be a string"))
}

fn unsigned(map: &Map<String, Value>, key: &str) -> Result<u64, GoConfigError> {
    required(map, key)?
        .as_u64()
        .ok_or_else(|| invalid(key, "must be a whole number, 0 or more"))
}

fn port(map: &Map<String, Value>, key: &str) -> Result<u16, GoConfigError> {
    u16::try_from(unsigned(map, key)?).map_err(|_| invalid(key, "must be a port (0 to 65535)"))
}

/// Where Go's `net.Listen("tcp", address:port)` listened: all interfaces for an empty
/// address, the literal IP, or the first address of a host name (IPv4 first, as Go prefers).
fn socket_addr(key: &str, host: &str, port: u16) -> Result<SocketAddr, GoConfigError> {
    if host.is_empty() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port));
    }
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = literal.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| invalid(key, &format!("cannot be resolved: {e}")))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
        .ok_or_else(|| invalid(key, "resolves to no address"))
}

/// A host for a URL (IPv6 literals in brackets).
fn url_host(host: &str) -> String {
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V6(ip)) => format!("[{ip}]"),
        _ => host.to_owned(),
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!("../tests/fixtures/go-deployment/server-config.json");

    fn fixture() -> Value {
        serde_json::from_str(FIXTURE).expect("fixture JSON")
    }

    #[test]
    fn the_go_fixture_converts() {
        let c = convert(&fixture()).expect("converts");
        let cfg = &c.config;
        assert_eq!(cfg.listen, "127.0.0.1:9037".parse().ok());
        assert_eq!(cfg.tls_listen, "127.0.0.1:8037".parse().ok());
        assert_eq!(cfg.cert.as_deref(), Some(Path::new("certs/gochat.pem")));
        assert_eq!(cfg.key.as_deref(), Some(Path::new("certs/gochat.key")));
        assert_eq!(cfg.max_clients, 50);
        assert_eq!(cfg.motd, "Welcome to the server!");
        assert_eq!(cfg.log, "debug");
        assert_eq!(
            cfg.database.as_deref(),
            Some("mysql://gochatuser:gochatpass@127.0.0.1:3306/gochat")
        );
        cfg.validate().expect("valid");
        let text = c.warnings.join("\n");
        for key in [
            "database.enable_logs",
            "database.log_file",
            "server.logs.log_file",
        ] {
            assert!(text.contains(&format!("`{key}`")), "{text}");
        }
        assert_eq!(c.warnings.len(), 3, "{text}");
        assert!(!text.contains("gochatpass"), "warnings never carry values");
    }

    #[test]
    fn toml_round_trips() {
        let c = convert(&fixture()).expect("converts");
        let text = to_toml(&c, Path::new("config.json"));
        assert!(
            text.contains("# warning: Go setting `database.log_file`"),
            "{text}"
        );
        let back: Config = toml::from_str(&text).expect("our TOML");
        assert_eq!(back.listen, c.config.listen);
        assert_eq!(back.tls_listen, c.config.tls_listen);
        assert_eq!(back.cert, c.config.cert);
        assert_eq!(back.key, c.config.key);
        assert_eq!(back.database, c.config.database);
        assert_eq!(back.motd, c.config.motd);
        assert_eq!(back.max_clients, c.config.max_clients);
        assert_eq!(back.log, c.config.log);
    }

    #[test]
    fn unknown_keys_warn_by_name_and_levels_map() {
        let mut v = fixture();
        v["server"]["logs"]["level"] = "INFO".into();
        v["server"]["colour"] = "blue".into();
        v["extra"] = serde_json::json!({"x": 1});
        let c = convert(&v).expect("converts");
        assert_eq!(c.config.log, "info");
        let text = c.warnings.join("\n");
        assert!(
            text.contains("`server.colour`") && text.contains("`extra`"),
            "{text}"
        );
        v["server"]["logs"]["level"] = "FATAL".into();
        let c = convert(&v).expect("converts");
        assert_eq!(c.config.log, "error");
        v["server"]["logs"]["level"] = "ERROR".into();
        assert_eq!(convert(&v).expect("converts").config.log, "error");
    }

    #[test]
    fn required_keys_and_types_are_checked() {
        for (path, key) in [
            (&["server", "port"][..], "server.port"),
            (&["database", "password"][..], "database.password"),
            (&["server", "max_clients"][..], "server.max_clients"),
        ] {
            let mut v = fixture();
            v[path[0]].as_object_mut().expect("object").remove(path[1]);
            match convert(&v) {
                Err(GoConfigError::Missing(k)) => assert_eq!(k, key),
                other => panic!("{key}: {other:?}"),
            }
        }
        let mut v = fixture();
        v["server"]["port"] = 70000.into();
        assert!(matches!(convert(&v), Err(GoConfigError::Invalid { .. })));
        let mut v = fixture();
        v["server"]["tls"]["enabled"] = false.into();
        v["server"]["tls"]
            .as_object_mut()
            .expect("tls")
            .remove("port");
        let c = convert(&v).expect("TLS keys only needed when enabled");
        assert_eq!(c.config.tls_listen, None);
    }

    #[test]
    fn addresses_and_credentials() {
        let mut v = fixture();
        v["server"]["address"] = "".into();
        v["database"]["address"] = "::1".into();
        v["database"]["password"] = "p@ss:w/rd".into();
        v["server"]["max_clients"] = 0.into();
        let c = convert(&v).expect("converts");
        assert_eq!(c.config.listen, "0.0.0.0:9037".parse().ok());
        assert_eq!(
            c.config.database.as_deref(),
            Some("mysql://gochatuser:p%40ss%3Aw%2Frd@[::1]:3306/gochat")
        );
        assert_eq!(c.config.max_clients, Config::default().max_clients);
        assert!(
            c.warnings
                .iter()
                .any(|w| w.contains("`server.max_clients`"))
        );
    }
}
