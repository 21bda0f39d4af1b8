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
    /// The Go server's JSON config, used as it is instead of --config.
    #[arg(
        long,
        global = true,
        env = "GOCHAT_GO_CONFIG",
        conflicts_with = "config"
    )]
    go_config: Option<PathBuf>,
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
    /// Import a Go gochat server's users and stored messages into this server's database.
    ImportGo(ImportGoArgs),
    /// Configuration tools.
    #[command(name = "config")]
    ConfigTools {
        #[command(subcommand)]
        action: ConfigCommand,
    },
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
        Some(Command::ImportGo(args)) => import_go(config, args).await,
        Some(Command::ConfigTools { action }) => config_tools(&cli.settings, action),
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
