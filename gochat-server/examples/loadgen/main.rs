//! Load generator for `gochat-server`, run against a server started as a separate process.
//!
//! ```text
//! cargo run --release -p gochat-server --example loadgen -- [--server 127.0.0.1:9037] \
//!     [--server-pid PID] [--db-pid PID] <subcommand> ...
//! ```
//!
//! Subcommands (see `docs/PERFORMANCE.md` for the figures they produce):
//!
//! - `keys --count N`: generate (and cache) N RSA-4096 keys, one per simulated user;
//! - `idle --conns N`: open N idle connections, report server memory per connection and the
//!   connect→HELLO latency;
//! - `login --users N --rounds R`: N users log in (challenge + VERIF) and out R times each;
//!   report server CPU per login;
//! - `online --pairs P --window W --messages M`: P sender→receiver pairs, W MSGs in flight per
//!   sender; report MSG→OK throughput, MSG→RECIV latency and server CPU per 1,000 messages
//!   (with `--receiver-server ADDR [--receiver-server-pid PID]` the receivers log in to another
//!   node of a cluster, and that node's CPU is reported too);
//! - `offline --messages N`: receivers offline; senders store N messages; then the receivers
//!   log in and catch up; report stored msgs/s, catch-up time, order and exactly-once;
//! - `reg --concurrent C`: C REGs at once; count errors.
//! - `users --calls N --loopers K`: `USRS ALL` latency and server CPU per call (fill the users
//!   table beforehand for a large one), then another client's `REQ` latency while K clients
//!   loop `USRS ALL`.
//!
//! With `--server-pid` the server's CPU time (utime + stime from `/proc/PID/stat`) and RSS
//! (`VmRSS`) are sampled around each measured phase; `--db-pid` does the same for a database
//! server process (MariaDB), whose CPU is not in the gochat-server process.
//!
//! Safety rails: only 127.0.0.0/8 is ever targeted; every loop is bounded in count, every
//! network operation has a timeout, and the whole run has a deadline (`--deadline-secs`).
//! Server errors are counted and reported, never panicked on.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};
use bytes::{Bytes, BytesMut};
use clap::{Parser, Subcommand};
use futures::StreamExt;
use gochat_proto::crypto::PrivateKey;
use gochat_proto::wire::{Action, Packet, Request, encode_stamp};
use rand::RngCore;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::mpsc;

#[path = "../support/key_cache.rs"]
mod key_cache;

mod accounts;
mod measure;
mod messaging;
mod sessions;
mod traffic;

use accounts::*;
use measure::*;
use messaging::*;
use sessions::*;
use traffic::*;

use gochat_proto::error_chain::Chain;
use gochat_testkit::wire::{OP_TIMEOUT, WireClient, bump, err_name, read_packet};
use key_cache::load_keys;

/// The wire client of the load generator: plain TCP.
type Client = WireClient<TcpStream>;

/// A wire error with its causes, on one line.
fn why(e: &gochat_testkit::WireError) -> String {
    Chain(e).to_string()
}

/// Waits until the server greets (up to 20 s).
async fn wait_for_server(addr: std::net::SocketAddr) -> anyhow::Result<()> {
    gochat_testkit::wire::wait_for_hello(addr, Duration::from_secs(20))
        .await
        .with_context(|| format!("server at {addr} not reachable"))
}

/// Quiet time after which a receiver stops waiting for live messages.
const RECEIVE_GRACE: Duration = Duration::from_secs(5);
/// Length of the metadata prefix written into each "ciphertext".
const META_LEN: usize = 40;

/// Monotonic origin for the timestamps put in message bodies.
static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);

fn now_ns() -> u64 {
    EPOCH.elapsed().as_nanos() as u64
}

/// Load generator for gochat-server.
#[derive(Debug, Parser)]
#[command(name = "loadgen")]
struct Cli {
    /// Server address (must be in 127.0.0.0/8).
    #[arg(long, global = true, default_value = "127.0.0.1:9037")]
    server: SocketAddr,
    /// PID of the gochat-server process, to sample its CPU time and RSS.
    #[arg(long, global = true)]
    server_pid: Option<u32>,
    /// Where the receivers of `online` connect (another node of a cluster); default: --server.
    #[arg(long, global = true)]
    receiver_server: Option<SocketAddr>,
    /// PID of the --receiver-server process, to sample its CPU time too.
    #[arg(long, global = true)]
    receiver_server_pid: Option<u32>,
    /// PID of the database server process (e.g. mariadbd), to sample its CPU time.
    #[arg(long, global = true)]
    db_pid: Option<u32>,
    /// File caching the generated RSA-4096 private keys (PKCS#1 PEM, concatenated).
    #[arg(long, global = true, default_value = "/tmp/gochat-loadgen-keys.pem")]
    key_cache: PathBuf,
    /// Upper bound on the whole run, in seconds.
    #[arg(long, global = true, default_value_t = 900)]
    deadline_secs: u64,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Generate (or top up) the key cache.
    Keys {
        /// Keys wanted in the cache.
        #[arg(long, default_value_t = 200)]
        count: usize,
    },
    /// N idle connections: server memory per connection, connect→HELLO latency.
    Idle {
        /// Connections to open and hold.
        #[arg(long)]
        conns: usize,
        /// Connects in flight at once.
        #[arg(long, default_value_t = 500)]
        concurrency: usize,
        /// Source addresses 127.0.0.1..=127.0.0.K used round-robin.
        #[arg(long, default_value_t = 4)]
        sources: u8,
        /// Seconds to wait after the last HELLO before sampling RSS.
        #[arg(long, default_value_t = 2)]
        settle_secs: u64,
        /// Seconds to wait for a connection's HELLO before counting it as failed.
        #[arg(long, default_value_t = 10)]
        hello_timeout_secs: u64,
    },
    /// Challenge logins: server CPU per LOGIN+VERIF.
    Login {
        /// Users (each with its own key and connection).
        #[arg(long)]
        users: usize,
        /// Login/logout cycles per user.
        #[arg(long, default_value_t = 10)]
        rounds: usize,
        /// Users logging in at once.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
    },
    /// Live messaging between logged-in pairs.
    Online {
        /// Sender/receiver pairs.
        #[arg(long)]
        pairs: usize,
        /// MSGs in flight per sender.
        #[arg(long, default_value_t = 16)]
        window: usize,
        /// Messages in total (split evenly over the senders).
        #[arg(long)]
        messages: usize,
        /// Ciphertext bytes per message.
        #[arg(long, default_value_t = 512)]
        size: usize,
    },
    /// Messages to offline users, then catch-up.
    Offline {
        /// Messages in total (split evenly over the senders).
        #[arg(long, default_value_t = 10_000)]
        messages: usize,
        /// Sending users.
        #[arg(long, default_value_t = 10)]
        senders: usize,
        /// Offline recipients (message k of a sender goes to receiver k mod R).
        #[arg(long, default_value_t = 1)]
        receivers: usize,
        /// MSGs in flight per sender.
        #[arg(long, default_value_t = 16)]
        window: usize,
        /// Ciphertext bytes per message.
        #[arg(long, default_value_t = 512)]
        size: usize,
    },
    /// Concurrent registrations.
    Reg {
        /// REGs sent at the same moment.
        #[arg(long, default_value_t = 64)]
        concurrent: usize,
        /// Rounds (each with fresh names and keys).
        #[arg(long, default_value_t = 1)]
        rounds: usize,
        /// All REGs of a round use the same name (distinct keys): exactly one must get OK and
        /// the others ERR_EXISTS; anything else (e.g. ERR_SERVER from a deadlock) is an error.
        #[arg(long)]
        conflict: bool,
    },
    /// USRS ALL on the users table as it is, alone and looped by several clients.
    Users {
        /// Sequential USRS ALL calls timed, and REQs timed under load.
        #[arg(long, default_value_t = 50)]
        calls: usize,
        /// Clients looping USRS ALL while the REQs are timed.
        #[arg(long, default_value_t = 4)]
        loopers: usize,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    LazyLock::force(&EPOCH);
    raise_nofile_limit();
    let deadline = Duration::from_secs(cli.deadline_secs);
    match tokio::time::timeout(deadline, run(cli)).await {
        Ok(Ok(())) => std::process::ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("loadgen: {e:#}");
            std::process::ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!(
                "loadgen: deadline of {} s reached, giving up",
                deadline.as_secs()
            );
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    for ip in [Some(cli.server.ip()), cli.receiver_server.map(|a| a.ip())]
        .into_iter()
        .flatten()
    {
        if !matches!(ip, IpAddr::V4(v4) if v4.octets()[0] == 127) {
            bail!("refusing to target {ip}: only 127.0.0.0/8 is allowed");
        }
    }
    let meter = Meter {
        server: cli.server_pid,
        db: cli.db_pid,
    };
    let ctx = Ctx {
        addr: cli.server,
        receiver_addr: cli.receiver_server.unwrap_or(cli.server),
        receiver_meter: cli.receiver_server_pid.map(|pid| Meter {
            server: Some(pid),
            db: None,
        }),
        meter,
        key_cache: cli.key_cache,
    };
    match cli.cmd {
        Cmd::Keys { count } => {
            let keys = load_keys(&ctx.key_cache, count)?;
            println!("{} keys in {}", keys.len(), ctx.key_cache.display());
            Ok(())
        }
        Cmd::Idle {
            conns,
            concurrency,
            sources,
            settle_secs,
            hello_timeout_secs,
        } => {
            let hello_timeout = Duration::from_secs(hello_timeout_secs);
            idle(
                &ctx,
                conns,
                concurrency,
                sources,
                settle_secs,
                hello_timeout,
            )
            .await
        }
        Cmd::Login {
            users,
            rounds,
            concurrency,
        } => login(&ctx, users, rounds, concurrency).await,
        Cmd::Online {
            pairs,
            window,
            messages,
            size,
        } => online(&ctx, pairs, window, messages, size).await,
        Cmd::Offline {
            messages,
            senders,
            receivers,
            window,
            size,
        } => offline(&ctx, messages, senders, receivers, window, size).await,
        Cmd::Reg {
            concurrent,
            rounds,
            conflict,
        } => reg(&ctx, concurrent, rounds, conflict).await,
        Cmd::Users { calls, loopers } => users(&ctx, calls, loopers).await,
    }
}

struct Ctx {
    addr: SocketAddr,
    /// Where `online`'s receivers log in (another node of a cluster, or `addr`).
    receiver_addr: SocketAddr,
    /// The receivers' node, when it is another process.
    receiver_meter: Option<Meter>,
    meter: Meter,
    key_cache: PathBuf,
}
