//! The command line: `gochat-server [run flags]`, `gochat-server admin …`, `gochat-server check`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use gochat_proto::wire::{Permission, PublicKey};

use crate::config::Config;
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
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Offline administration on the database (no client needed).
    Admin {
        #[command(subcommand)]
        action: AdminCommand,
    },
    /// Validate the configuration, the database and the TLS files, then exit.
    Check,
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
    /// Deregister a user (the name can never be registered again).
    Deregister {
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
        let mut config = match &self.config {
            Some(path) => Config::load(path)?,
            None => Config::default(),
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
                tracing::error!(error = %e, "TLS certificate reload failed; keeping the old one")
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
    let url = config.database_url();
    let store = store::open(&url)
        .await
        .with_context(|| format!("cannot open database {}", redact(&url)))?;
    match action {
        AdminCommand::SetPermission { user, level } => {
            if !store.set_permission(user.as_bytes(), level.into()).await? {
                bail!("no such user: {user}");
            }
            println!("{user}: permission set to {}", Permission::from(level));
            println!(
                "(if {user} is online, the change applies to new sessions and admin checks at once)"
            );
        }
        AdminCommand::ListUsers => {
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
        }
        AdminCommand::Deregister { user } => {
            if !store.deregister(user.as_bytes()).await? {
                bail!("no such user: {user}");
            }
            println!("{user}: deregistered");
        }
    }
    Ok(())
}
