//! Kill -9 soak of `gochat-server`: honest users and hostile clients against the real server
//! binary, which is killed with SIGKILL at random moments and restarted; at the end every
//! message the server acknowledged with `OK` must have arrived exactly once.
//!
//! ```text
//! cargo build --release -p gochat-server --bins --example soak
//! target/release/examples/soak [--cycles 100] [--database mysql://root@127.0.0.1:3306]
//! ```
//!
//! The server binary defaults to the `gochat-server` next to this example's directory
//! (`target/<profile>/gochat-server`); `--server-bin` picks another. The run prints one line
//! per cycle and ends with a `RESULT soak ...` line; the exit status is 0 only if no
//! acknowledged message was lost or duplicated. What it does and checks is described in
//! `examples/support/soak/`; `tests/it/soak.rs` runs a short version in the test suite.
//!
//! Ctrl-C or SIGTERM stop the run; the server child is killed with it.

#[path = "support/soak/mod.rs"]
mod soak;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;
use tokio_util::sync::CancellationToken;

use soak::key_cache::load_keys;

/// Kill -9 soak of gochat-server.
#[derive(Debug, Parser)]
#[command(name = "soak")]
struct Cli {
    /// The gochat-server binary (default: target/<profile>/gochat-server next to this example).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// `sqlite` (a file in a temporary directory), or the URL of a MariaDB server without a
    /// database part (`mysql://root@127.0.0.1:3306`): a fresh database is created there and
    /// dropped at the end.
    #[arg(long, default_value = "sqlite")]
    database: String,
    /// Server kills (each followed by a restart).
    #[arg(long, default_value_t = 100)]
    cycles: usize,
    /// Honest users (one RSA-4096 key each, from the key cache).
    #[arg(long, default_value_t = 6)]
    users: usize,
    /// Shortest server life before a kill, in milliseconds.
    #[arg(long, default_value_t = 300)]
    min_uptime_ms: u64,
    /// Longest server life before a kill, in milliseconds.
    #[arg(long, default_value_t = 2500)]
    max_uptime_ms: u64,
    /// Most MSGs an honest user pipelines in one burst.
    #[arg(long, default_value_t = 8)]
    window: usize,
    /// Longest pause between two bursts of one user, in milliseconds.
    #[arg(long, default_value_t = 30)]
    burst_pause_ms: u64,
    /// Slowloris connections.
    #[arg(long, default_value_t = 4)]
    slowloris: usize,
    /// LOGIN flooders.
    #[arg(long, default_value_t = 2)]
    login_flooders: usize,
    /// Garbage senders.
    #[arg(long, default_value_t = 2)]
    garbage: usize,
    /// Connect/close churners.
    #[arg(long, default_value_t = 2)]
    churners: usize,
    /// Seed of the schedule (random if not given; printed).
    #[arg(long)]
    seed: Option<u64>,
    /// File caching RSA-4096 private keys (shared with loadgen).
    #[arg(long, default_value = "/tmp/gochat-loadgen-keys.pem")]
    key_cache: PathBuf,
    /// Upper bound on the whole run, in seconds.
    #[arg(long, default_value_t = 1800)]
    deadline_secs: u64,
    /// No per-cycle lines.
    #[arg(long, short)]
    quiet: bool,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("soak: cannot handle SIGTERM: {e}");
                return std::process::ExitCode::FAILURE;
            }
        };
    // On a signal the run kills the server child, removes its temporary files and database,
    // and returns.
    let interrupt = CancellationToken::new();
    let mut soak = std::pin::pin!(run(cli, interrupt.clone()));
    let finished = tokio::select! {
        r = &mut soak => Some(r),
        _ = tokio::signal::ctrl_c() => None,
        _ = terminate.recv() => None,
    };
    let outcome = match finished {
        Some(r) => r,
        None => {
            interrupt.cancel();
            soak.await
        }
    };
    match outcome {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::FAILURE,
        Err(e) => {
            eprintln!("soak: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Runs the soak; `Ok(clean)`.
async fn run(cli: Cli, interrupt: CancellationToken) -> Result<bool> {
    let server_bin = match cli.server_bin {
        Some(p) => p,
        None => default_server_bin()?,
    };
    if !server_bin.is_file() {
        bail!(
            "{} not found: build it with `cargo build [--release] -p gochat-server --bins`, \
             or pass --server-bin",
            server_bin.display()
        );
    }
    let database = if cli.database == "sqlite" {
        soak::Database::Sqlite
    } else if let Some(rest) = cli.database.strip_prefix("mysql://") {
        if rest.trim_end_matches('/').contains('/') {
            bail!("--database: give the MariaDB server without a database part");
        }
        soak::Database::MySql(cli.database.clone())
    } else {
        bail!("--database: `sqlite` or `mysql://USER@HOST:PORT`");
    };
    let key_cache = cli.key_cache.clone();
    let users = cli.users;
    let keys = tokio::task::spawn_blocking(move || load_keys(&key_cache, users))
        .await
        .context("key task")??;
    let seed = cli.seed.unwrap_or_else(rand::random);
    println!(
        "soak: {} cycles, {} users, server lives {}–{} ms, seed {seed}, server {}, database {}",
        cli.cycles,
        cli.users,
        cli.min_uptime_ms,
        cli.max_uptime_ms,
        server_bin.display(),
        cli.database
    );
    let config = soak::Config {
        server_bin,
        database,
        keys,
        cycles: cli.cycles,
        uptime: (
            Duration::from_millis(cli.min_uptime_ms),
            Duration::from_millis(cli.max_uptime_ms),
        ),
        window: cli.window,
        burst_pause: Duration::from_millis(cli.burst_pause_ms),
        hostile: soak::Hostile {
            slowloris: cli.slowloris,
            login_flooders: cli.login_flooders,
            garbage: cli.garbage,
            churners: cli.churners,
        },
        deadline: Duration::from_secs(cli.deadline_secs),
        seed,
        verbose: !cli.quiet,
        interrupt,
    };
    let report = soak::run(config).await?;
    for problem in &report.problems {
        println!("problem: {problem}");
    }
    println!("{}", report.result_line());
    Ok(report.is_clean())
}

/// `target/<profile>/gochat-server`, next to `target/<profile>/examples/soak`.
fn default_server_bin() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("locating this executable")?;
    let profile_dir = exe
        .parent()
        .and_then(|examples| examples.parent())
        .context("this executable has no grandparent directory")?;
    Ok(profile_dir.join("gochat-server"))
}
