//! The command line: `gochat-server [run flags]`, `gochat-server admin …`, `gochat-server check`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use gochat_proto::wire::{Permission, PublicKey};

use crate::config::{Config, redact};
use crate::server::Server;
use crate::store;

/// The gochat v1 chat server.
#[derive(Debug, Parser)]
#[command(name = "gochat-server", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Option<Command>,
}

/// Settings that override the config file.
#[derive(Debug, Args, Default)]
pub struct Settings {
    /// TOML config file.
    #[arg(long, global = true, env = "GOCHAT_CONFIG")]
    config: Option<PathBuf>,
    /// Database URL: sqlite://PATH or mysql://USER:PASS@HOST:PORT/DB.
    #[arg(long, global = true, env = "GOCHAT_DATABASE")]
    database: Option<String>,
    /// Plain TCP address (default 127.0.0.1:9037).
    #[arg(long, env = "GOCHAT_LISTEN")]
    listen: Option<SocketAddr>,
    /// TLS address (needs --cert and --key).
    #[arg(long, env = "GOCHAT_TLS_LISTEN")]
    tls_listen: Option<SocketAddr>,
    /// TLS certificate chain (PEM).
    #[arg(long, env = "GOCHAT_CERT")]
    cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, env = "GOCHAT_KEY")]
    key: Option<PathBuf>,
    /// Message of the day.
    #[arg(long, env = "GOCHAT_MOTD")]
    motd: Option<String>,
    /// Most connections served at once.
    #[arg(long, env = "GOCHAT_MAX_CLIENTS")]
    max_clients: Option<usize>,
    /// Most connections from one IP address.
    #[arg(long, env = "GOCHAT_MAX_PER_IP")]
    max_per_ip: Option<usize>,
    /// Seconds of silence before a connection is closed.
    #[arg(long, env = "GOCHAT_IDLE_TIMEOUT")]
    idle_timeout: Option<u64>,
    /// Log filter (e.g. info, debug, gochat_server=debug).
    #[arg(long, env = "GOCHAT_LOG")]
    log: Option<String>,
    /// Prometheus metrics endpoint, e.g. 127.0.0.1:9038 (off by default).
    #[arg(long, env = "GOCHAT_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,

    // Internet-facing limits
    /// Seconds from connect to a completed login (default 60).
    #[arg(long, env = "GOCHAT_LOGIN_GRACE")]
    login_grace: Option<u64>,
    /// Connections that may wait for a slot when max-clients are served (default 256).
    #[arg(long, env = "GOCHAT_MAX_WAITING")]
    max_waiting: Option<usize>,
    /// Seconds a connection may wait for a slot (default 10).
    #[arg(long, env = "GOCHAT_WAIT_TIMEOUT")]
    wait_timeout: Option<u64>,
    /// Connects one IP address may make in a burst (default 32).
    #[arg(long, env = "GOCHAT_CONNECT_BURST_PER_IP")]
    connect_burst_per_ip: Option<u32>,
    /// Connects per minute one IP address regains; 0 = no limit (default 120).
    #[arg(long, env = "GOCHAT_CONNECTS_PER_MINUTE_PER_IP")]
    connects_per_minute_per_ip: Option<u32>,
    /// LOGIN/REG/VERIF requests one IP address may make in a burst (default 30).
    #[arg(long, env = "GOCHAT_AUTH_BURST_PER_IP")]
    auth_burst_per_ip: Option<u32>,
    /// LOGIN/REG/VERIF requests per minute one IP address regains; 0 = no limit (default 120).
    #[arg(long, env = "GOCHAT_AUTH_PER_MINUTE_PER_IP")]
    auth_per_minute_per_ip: Option<u32>,
    /// Failed proofs of key (or rate-limited logins) on one connection before it is closed
    /// (default 6).
    #[arg(long, env = "GOCHAT_MAX_AUTH_FAILURES")]
    max_auth_failures: Option<u32>,
    /// IP addresses each rate limiter tracks at most (default 100000).
    #[arg(long, env = "GOCHAT_RATE_TABLE_SIZE")]
    rate_table_size: Option<usize>,
    /// Seconds a login challenge stays valid (default 120).
    #[arg(long, env = "GOCHAT_LOGIN_TIMEOUT")]
    login_timeout: Option<u64>,
    /// Seconds for the TLS handshake and HELLO (default 20).
    #[arg(long, env = "GOCHAT_HANDSHAKE_TIMEOUT")]
    handshake_timeout: Option<u64>,
    /// Seconds a reusable token stays valid after its session ended (default 1800).
    #[arg(long, env = "GOCHAT_TOKEN_LIFETIME")]
    token_lifetime: Option<u64>,
    /// Seconds a write to a client may take before it is dropped (default 30).
    #[arg(long, env = "GOCHAT_WRITE_TIMEOUT")]
    write_timeout: Option<u64>,
    /// Packets queued per client before a client that does not read is dropped (default 1024).
    #[arg(long, env = "GOCHAT_OUTBOUND_QUEUE")]
    outbound_queue: Option<usize>,
    // Admin control
    /// Control socket for `gochat-server admin` (default: derived from the database; "" = off).
    #[arg(long, global = true, env = "GOCHAT_CONTROL_SOCKET")]
    control_socket: Option<PathBuf>,
    /// The Go server's JSON config, used as it is instead of --config.
    #[arg(
        long,
        global = true,
        env = "GOCHAT_GO_CONFIG",
        conflicts_with = "config"
    )]
    go_config: Option<PathBuf>,
    /// Most messages stored for one offline recipient (0: no limit; default 10000).
    #[arg(long, env = "GOCHAT_MAILBOX_MAX_MESSAGES")]
    mailbox_max_messages: Option<u64>,
    /// Most ciphertext bytes stored for one offline recipient (0: no limit; default 16 MiB).
    #[arg(long, env = "GOCHAT_MAILBOX_MAX_BYTES")]
    mailbox_max_bytes: Option<u64>,
    /// MSGs per second one session may send on average (0: no limit; default 200).
    #[arg(long, env = "GOCHAT_MSG_RATE")]
    msg_rate: Option<u32>,
    /// MSGs one session may send in a burst above the rate (default 2000).
    #[arg(long, env = "GOCHAT_MSG_BURST")]
    msg_burst: Option<u32>,
    /// Bytes of stored messages written per catch-up batch (default 262144).
    #[arg(long, env = "GOCHAT_CATCH_UP_BATCH_BYTES")]
    catch_up_batch_bytes: Option<usize>,
    /// Run as a cluster node: the NATS server URL (needs MariaDB).
    #[arg(long, env = "GOCHAT_CLUSTER_NATS", value_name = "URL")]
    cluster_nats: Option<String>,
    /// This cluster node's id (default: the host name plus a random suffix).
    #[arg(long, env = "GOCHAT_NODE_ID", value_name = "ID")]
    node_id: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Administration without a client: through the running server's control socket when
    /// one answers (live sessions see the change at once), else on the database directly.
    Admin {
        #[command(subcommand)]
        action: AdminCommand,
    },
    /// Validate the configuration, the database and the TLS files, then exit.
    Check,
    /// Import a Go gochat server's users and stored messages into this server's database.
    ImportGo(ImportGoArgs),
    /// Configuration tools.
    #[command(name = "config")]
    ConfigTools {
        #[command(subcommand)]
        action: ConfigCommand,
    },
    /// Connect to a running server and check its HELLO; exit 0 when it answers, 1 when not.
    /// For health checks, monitoring and post-install tests (`check` is the offline check).
    Probe(ProbeArgs),
}

/// `gochat-server probe`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("trust").args(["ca", "insecure"]))]
struct ProbeArgs {
    /// Server to probe [default: the configured listener (tls_listen with --tls), with
    /// 0.0.0.0 or :: replaced by loopback].
    #[arg(long, value_name = "HOST:PORT")]
    addr: Option<String>,
    /// Connect with TLS. Needs --ca or --insecure to say how the certificate is checked.
    #[arg(long, requires = "trust")]
    tls: bool,
    /// With --tls: verify the server's certificate against the CA certificates in FILE (PEM).
    #[arg(long, value_name = "FILE", requires = "tls")]
    ca: Option<PathBuf>,
    /// With --tls: accept ANY certificate without verification. Only for a health check of
    /// a server on the same host or in the same container; never across a network.
    #[arg(long, requires = "tls")]
    insecure: bool,
    /// With --tls: the name the certificate must carry [default: the host in the address].
    #[arg(long, value_name = "NAME", requires = "ca")]
    server_name: Option<String>,
    /// Seconds the connect, handshake and HELLO may take together.
    #[arg(long, value_name = "SECS", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..=300))]
    timeout: u64,
    /// Print nothing on success.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the TOML equivalent of a Go server's JSON config (warnings also on stderr);
    /// --database replaces its database URL.
    FromGo {
        /// The Go server's config.json.
        file: PathBuf,
        /// Write the TOML to this file (mode 0600: it holds the database password).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

/// `gochat-server import-go`.
#[derive(Debug, Args)]
struct ImportGoArgs {
    /// The Go server's database, read only: mysql://USER:PASS@HOST:PORT/DB.
    #[arg(long, env = "GOCHAT_IMPORT_FROM", value_name = "URL")]
    from: String,
    /// Import into a database that already holds other accounts.
    #[arg(long)]
    merge: bool,
    /// Print what would be imported; write nothing.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Set a user's permission level (e.g. make the first owner).
    SetPermission {
        /// Username.
        user: String,
        /// New level.
        level: Level,
    },
    /// List registered users with their levels and key fingerprints.
    ListUsers,
    /// Deregister a user (the name can never be registered again); ends its session.
    Deregister {
        /// Username.
        user: String,
    },
    /// Disconnect a user's session (needs a running server).
    Kick {
        /// Username.
        user: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Level {
    User,
    Admin,
    Owner,
}

impl From<Level> for Permission {
    fn from(l: Level) -> Permission {
        match l {
            Level::User => Permission::User,
            Level::Admin => Permission::Admin,
            Level::Owner => Permission::Owner,
        }
    }
}

impl Settings {
    /// Defaults, then the file, then these overrides.
    pub fn resolve(&self) -> Result<Config> {
        let mut config = match (&self.config, &self.go_config) {
            (Some(path), _) => Config::load(path)?,
            (None, Some(path)) => {
                let converted = crate::go_config::load(path)?;
                for w in &converted.warnings {
                    eprintln!("gochat-server: warning: {}: {w}", path.display());
                }
                converted.config
            }
            (None, None) => Config::default(),
        };
        if let Some(v) = &self.database {
            config.database = Some(v.clone());
        }
        if let Some(v) = self.listen {
            config.listen = Some(v);
        }
        if let Some(v) = self.tls_listen {
            config.tls_listen = Some(v);
        }
        if let Some(v) = &self.cert {
            config.cert = Some(v.clone());
        }
        if let Some(v) = &self.key {
            config.key = Some(v.clone());
        }
        if let Some(v) = &self.motd {
            config.motd = v.clone();
        }
        if let Some(url) = &self.cluster_nats {
            config.cluster.get_or_insert_with(Default::default).nats = url.clone();
        }
        if let Some(id) = &self.node_id {
            config.cluster.get_or_insert_with(Default::default).node_id = Some(id.clone());
        }
        if let Some(v) = self.max_clients {
            config.max_clients = v;
        }
        if let Some(v) = self.max_per_ip {
            config.max_per_ip = v;
        }
        if let Some(v) = self.idle_timeout {
            config.idle_timeout_secs = v;
        }
        if let Some(v) = &self.log {
            config.log = v.clone();
        }
        if let Some(v) = self.metrics_listen {
            config.metrics_listen = Some(v);
        }
        self.apply_limits(&mut config);
        // Admin control
        if let Some(v) = &self.control_socket {
            config.control_socket = Some(v.clone());
        }
        // Storage limits
        if let Some(v) = self.mailbox_max_messages {
            config.mailbox_max_messages = v;
        }
        if let Some(v) = self.mailbox_max_bytes {
            config.mailbox_max_bytes = v;
        }
        if let Some(v) = self.msg_rate {
            config.msg_rate = v;
        }
        if let Some(v) = self.msg_burst {
            config.msg_burst = v;
        }
        if let Some(v) = self.catch_up_batch_bytes {
            config.catch_up_batch_bytes = v;
        }
        config.validate()?;
        Ok(config)
    }
}

impl Settings {
    /// The internet-facing limits given as flags or variables.
    fn apply_limits(&self, config: &mut Config) {
        let set = |slot: &mut u64, v: Option<u64>| {
            if let Some(v) = v {
                *slot = v;
            }
        };
        set(&mut config.login_grace_secs, self.login_grace);
        set(&mut config.wait_timeout_secs, self.wait_timeout);
        set(&mut config.login_timeout_secs, self.login_timeout);
        set(&mut config.handshake_timeout_secs, self.handshake_timeout);
        set(&mut config.token_lifetime_secs, self.token_lifetime);
        set(&mut config.write_timeout_secs, self.write_timeout);
        if let Some(v) = self.outbound_queue {
            config.outbound_queue = v;
        }
        if let Some(v) = self.max_waiting {
            config.max_waiting = v;
        }
        if let Some(v) = self.rate_table_size {
            config.rate_table_size = v;
        }
        let counts = [
            (&mut config.connect_burst_per_ip, self.connect_burst_per_ip),
            (
                &mut config.connects_per_minute_per_ip,
                self.connects_per_minute_per_ip,
            ),
            (&mut config.auth_burst_per_ip, self.auth_burst_per_ip),
            (
                &mut config.auth_per_minute_per_ip,
                self.auth_per_minute_per_ip,
            ),
            (&mut config.max_auth_failures, self.max_auth_failures),
        ];
        for (slot, v) in counts {
            if let Some(v) = v {
                *slot = v;
            }
        }
    }
}

fn init_logging(filter: &str) {
    use tracing_subscriber::prelude::*;
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    let journald = std::env::var_os("JOURNAL_STREAM").and_then(|_| tracing_journald::layer().ok());
    match journald {
        Some(layer) => registry.with(layer).init(),
        None => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                    .with_writer(std::io::stderr),
            )
            .init(),
    }
}

/// Entry point of the binary.
pub async fn main() -> Result<()> {
    let cli = Cli::parse();
    let config = cli.settings.resolve()?;
    match cli.command {
        None => run(config).await,
        Some(Command::Check) => check(config).await,
        Some(Command::Admin { action }) => admin(config, action).await,
        Some(Command::ImportGo(args)) => import_go(config, args).await,
        Some(Command::ConfigTools { action }) => config_tools(&cli.settings, action),
        Some(Command::Probe(args)) => probe(&config, args).await,
    }
}

async fn run(config: Config) -> Result<()> {
    init_logging(&config.log);
    let url = config.database_url();
    let server = Server::start(config)
        .await
        .with_context(|| format!("gochat-server cannot start (database {})", redact(&url)))?;
    let token = server.shutdown_token();
    tokio::spawn(async move {
        wait_for_signal().await;
        token.cancel();
    });
    if let Some(certs) = server.cert_store() {
        tokio::spawn(reload_on_sighup(certs));
    }
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);
    server.run().await;
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
    Ok(())
}

/// Reloads the TLS certificate on every SIGHUP (after a renewal).
async fn reload_on_sighup(certs: std::sync::Arc<crate::tls::CertStore>) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        return;
    };
    while hup.recv().await.is_some() {
        match certs.reload() {
            Ok(()) => tracing::info!("TLS certificate reloaded"),
            Err(e) => {
                tracing::error!(error = %crate::error_chain::Chain(&e), "TLS certificate reload failed; keeping the old one")
            }
        }
    }
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = int.recv() => tracing::info!("SIGINT received"),
    }
}

async fn check(config: Config) -> Result<()> {
    let url = config.database_url();
    let store = store::open(&url)
        .await
        .with_context(|| format!("database {} is not usable", redact(&url)))?;
    store.ping().await.context("database does not answer")?;
    println!("database: ok ({})", redact(&url));
    if let (Some(cert), Some(key)) = (&config.cert, &config.key) {
        crate::tls::load_acceptor(cert, key)?;
        println!("tls: ok ({} / {})", cert.display(), key.display());
    }
    for addr in [config.listen, config.tls_listen].into_iter().flatten() {
        let l = std::net::TcpListener::bind(addr)
            .with_context(|| format!("cannot listen on {addr}"))?;
        drop(l);
        println!("listen: ok ({addr})");
    }
    println!("configuration: ok");
    Ok(())
}

async fn admin(config: Config, action: AdminCommand) -> Result<()> {
    use crate::control::Request;
    let request = match action {
        AdminCommand::ListUsers => return list_users(&config).await,
        AdminCommand::SetPermission { user, level } => Request::SetPermission {
            user,
            level: level.into(),
        },
        AdminCommand::Deregister { user } => Request::Deregister { user },
        AdminCommand::Kick { user } => Request::Kick { user },
    };
    let outcome = crate::control::client::apply(&config, &request).await?;
    println!("{}", describe(&request, &outcome));
    Ok(())
}

/// What the admin tool prints after a change: what was done, and whether a running server
/// applied it.
pub fn describe(
    request: &crate::control::Request,
    outcome: &crate::control::client::Outcome,
) -> String {
    use crate::control::Request;
    use crate::control::client::Outcome;
    use crate::live_admin::Applied;
    let user = request.user();
    let what = match request {
        Request::SetPermission { level, .. } => format!("{user}: permission set to {level}"),
        Request::Deregister { .. } => format!("{user}: deregistered"),
        Request::Kick { .. } => format!("{user}: kicked"),
    };
    let how = match (request, outcome) {
        (_, Outcome::WrittenToStore) => "no running server; takes effect at next login".to_owned(),
        (Request::SetPermission { .. }, Outcome::AppliedByServer(Applied::Online)) => {
            format!("applied by the running server; {user}'s live session has the new level")
        }
        (Request::Deregister { .. }, Outcome::AppliedByServer(Applied::Online)) => {
            format!("applied by the running server; {user}'s live session was closed")
        }
        (_, Outcome::AppliedByServer(Applied::Online)) => {
            "applied by the running server".to_owned()
        }
        (_, Outcome::AppliedByServer(Applied::Offline)) => {
            format!("applied by the running server ({user} is not online)")
        }
    };
    format!("{what} — {how}")
}

async fn list_users(config: &Config) -> Result<()> {
    let url = config.database_url();
    let store = store::open(&url)
        .await
        .with_context(|| format!("cannot open database {}", redact(&url)))?;
    println!("{:<32} {:<6} fingerprint (sha256)", "user", "level");
    for (name, level) in store.list_users().await? {
        let record = store.user(&name).await?;
        let fp = record
            .and_then(|r| r.public_key)
            .and_then(|k| PublicKey::parse(&k).ok())
            .map(|k| k.fingerprint_hex())
            .unwrap_or_default();
        let level = Permission::from_code(level).map_or("?", Permission::name);
        println!("{:<32} {:<6} {fp}", String::from_utf8_lossy(&name), level);
    }
    Ok(())
}

async fn import_go(config: Config, args: ImportGoArgs) -> Result<()> {
    use crate::import_go::{ImportOptions, import, target_exists};
    let url = config.database_url();
    println!("source: {} (Go gochat, read only)", redact(&args.from));
    println!("target: {}", redact(&url));
    let options = ImportOptions {
        merge: args.merge,
        dry_run: args.dry_run,
    };
    // A dry run against a target that does not exist yet must not create it.
    let store = if args.dry_run && !target_exists(&url).await? {
        None
    } else {
        Some(
            store::open(&url)
                .await
                .with_context(|| format!("cannot open the target database {}", redact(&url)))?,
        )
    };
    let report = import(&args.from, store.as_deref(), options)
        .await
        .context("import-go failed")?;
    println!("{report}");
    Ok(())
}

fn config_tools(settings: &Settings, action: ConfigCommand) -> Result<()> {
    match action {
        ConfigCommand::FromGo { file, output } => {
            let mut converted = crate::go_config::load(&file)?;
            if let Some(url) = &settings.database {
                converted.config.database = Some(url.clone());
            }
            for w in &converted.warnings {
                eprintln!("gochat-server: warning: {}: {w}", file.display());
            }
            converted
                .config
                .validate()
                .context("the converted settings are not usable")?;
            let text = crate::go_config::to_toml(&converted, &file);
            match output {
                None => print!("{text}"),
                Some(path) => {
                    use std::io::Write;
                    use std::os::unix::fs::OpenOptionsExt;
                    let mut f = std::fs::OpenOptions::new()
                        .write(true)
                        .create(true)
                        .truncate(true)
                        .mode(0o600)
                        .open(&path)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    f.write_all(text.as_bytes())
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    println!("wrote {}", path.display());
                }
            }
            Ok(())
        }
    }
}

async fn probe(config: &Config, args: ProbeArgs) -> Result<()> {
    use crate::probe::{ProbeTarget, TlsTarget, Trust, local_addr};
    let listener = if args.tls {
        config.tls_listen
    } else {
        config.listen
    };
    let addr = match (args.addr, listener) {
        (Some(addr), _) => addr,
        (None, Some(listen)) => local_addr(listen),
        (None, None) => anyhow::bail!(
            "no {} listener is configured; give --addr HOST:PORT",
            if args.tls { "TLS" } else { "plain" }
        ),
    };
    let tls = if args.tls {
        let trust = match args.ca {
            Some(ca) => Trust::Ca(ca),
            None => Trust::Insecure,
        };
        Some(TlsTarget {
            trust,
            server_name: args.server_name,
        })
    } else {
        None
    };
    let insecure = matches!(
        tls,
        Some(TlsTarget {
            trust: Trust::Insecure,
            ..
        })
    );
    let target = ProbeTarget {
        addr,
        tls,
        timeout: std::time::Duration::from_secs(args.timeout),
    };
    let greeting = crate::probe::probe(&target).await?;
    if !args.quiet {
        let how = match (&target.tls, insecure) {
            (None, _) => "plain TCP",
            (Some(_), true) => "TLS, certificate NOT verified (--insecure)",
            (Some(_), false) => "TLS, certificate verified",
        };
        println!(
            "ok: HELLO from {} ({how}) in {} ms, motd {} bytes",
            target.addr,
            greeting.elapsed.as_millis(),
            greeting.motd.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::Cli;

    #[test]
    fn limit_flags_override_defaults() {
        let cli = Cli::try_parse_from([
            "gochat-server",
            "--login-grace",
            "7",
            "--max-waiting",
            "0",
            "--wait-timeout",
            "3",
            "--connect-burst-per-ip",
            "5",
            "--connects-per-minute-per-ip",
            "0",
            "--auth-burst-per-ip",
            "4",
            "--auth-per-minute-per-ip",
            "9",
            "--max-auth-failures",
            "2",
            "--rate-table-size",
            "50",
            "--max-per-ip",
            "8",
            "--login-timeout",
            "11",
            "--handshake-timeout",
            "12",
            "--token-lifetime",
            "13",
            "--write-timeout",
            "14",
            "--outbound-queue",
            "15",
        ])
        .expect("parses");
        let config = cli.settings.resolve().expect("valid");
        assert_eq!(config.login_grace_secs, 7);
        assert_eq!(config.max_waiting, 0);
        assert_eq!(config.wait_timeout_secs, 3);
        assert_eq!(config.connect_burst_per_ip, 5);
        assert_eq!(config.connects_per_minute_per_ip, 0);
        assert_eq!(config.auth_burst_per_ip, 4);
        assert_eq!(config.auth_per_minute_per_ip, 9);
        assert_eq!(config.max_auth_failures, 2);
        assert_eq!(config.rate_table_size, 50);
        assert_eq!(config.max_per_ip, 8);
        assert_eq!(config.login_timeout_secs, 11);
        assert_eq!(config.handshake_timeout_secs, 12);
        assert_eq!(config.token_lifetime_secs, 13);
        assert_eq!(config.write_timeout_secs, 14);
        assert_eq!(config.outbound_queue, 15);
    }

    #[test]
    fn invalid_limit_flags_are_refused() {
        let cli = Cli::try_parse_from(["gochat-server", "--login-grace", "0"]).expect("parses");
        assert!(cli.settings.resolve().is_err());
    }
}
