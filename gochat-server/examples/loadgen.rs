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
//!   sender; report MSG→OK throughput, MSG→RECIV latency and server CPU per 1,000 messages;
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

#[path = "support/wire_client.rs"]
mod wire_client;

use wire_client::{Client, OP_TIMEOUT, bump, err_name, load_keys, read_packet, wait_for_server};

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
    let ip = cli.server.ip();
    if !matches!(ip, IpAddr::V4(v4) if v4.octets()[0] == 127) {
        bail!("refusing to target {ip}: only 127.0.0.0/8 is allowed");
    }
    let meter = Meter {
        server: cli.server_pid,
        db: cli.db_pid,
    };
    let ctx = Ctx {
        addr: cli.server,
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
    meter: Meter,
    key_cache: PathBuf,
}

// ---------------------------------------------------------------------------------------------
// Process sampling

/// Raises the soft open-files limit to the hard limit (19,900 idle connections need it).
fn raise_nofile_limit() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        let wanted = Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        if let Err(e) = setrlimit(Resource::Nofile, wanted) {
            eprintln!("warning: cannot raise RLIMIT_NOFILE: {e}");
        }
    }
}

fn nofile_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

/// CPU time (ms) and RSS (KiB) of a process.
#[derive(Debug, Clone, Copy, Default)]
struct ProcSample {
    cpu_ms: f64,
    rss_kib: u64,
}

fn sample_proc(pid: &str) -> Option<ProcSample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let ticks = rustix::param::clock_ticks_per_second().max(1);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Some(ProcSample {
        cpu_ms: (utime + stime) as f64 * 1000.0 / ticks as f64,
        rss_kib,
    })
}

struct Meter {
    server: Option<u32>,
    db: Option<u32>,
}

#[derive(Debug, Clone, Copy)]
struct Snapshot {
    at: Instant,
    server: Option<ProcSample>,
    db: Option<ProcSample>,
    me: Option<ProcSample>,
}

/// Differences between two snapshots.
#[derive(Debug, Clone, Copy)]
struct Delta {
    wall: Duration,
    server_cpu_ms: Option<f64>,
    server_rss_before: Option<u64>,
    server_rss_after: Option<u64>,
    db_cpu_ms: Option<f64>,
    me_cpu_ms: Option<f64>,
}

impl Meter {
    fn snapshot(&self) -> Snapshot {
        Snapshot {
            at: Instant::now(),
            server: self.server.and_then(|p| sample_proc(&p.to_string())),
            db: self.db.and_then(|p| sample_proc(&p.to_string())),
            me: sample_proc("self"),
        }
    }

    fn since(&self, before: &Snapshot) -> Delta {
        let after = self.snapshot();
        let cpu = |a: Option<ProcSample>, b: Option<ProcSample>| Some(b?.cpu_ms - a?.cpu_ms);
        Delta {
            wall: after.at - before.at,
            server_cpu_ms: cpu(before.server, after.server),
            server_rss_before: before.server.map(|s| s.rss_kib),
            server_rss_after: after.server.map(|s| s.rss_kib),
            db_cpu_ms: cpu(before.db, after.db),
            me_cpu_ms: cpu(before.me, after.me),
        }
    }
}

impl Delta {
    fn print(&self, phase: &str) {
        let mut line = format!("[{phase}] wall {:.3} s", self.wall.as_secs_f64());
        if let Some(c) = self.server_cpu_ms {
            line += &format!(", server CPU {c:.0} ms");
        }
        if let (Some(a), Some(b)) = (self.server_rss_before, self.server_rss_after) {
            line += &format!(", server RSS {a} → {b} KiB");
        }
        if let Some(c) = self.db_cpu_ms {
            line += &format!(", database CPU {c:.0} ms");
        }
        if let Some(c) = self.me_cpu_ms {
            line += &format!(", loadgen CPU {c:.0} ms");
        }
        println!("{line}");
    }

    /// Server CPU per operation (ms), if sampled.
    fn per_op(&self, ops: usize) -> Option<f64> {
        self.server_cpu_ms.map(|c| c / ops.max(1) as f64)
    }
}

// ---------------------------------------------------------------------------------------------
// Statistics

/// Latency samples in microseconds.
#[derive(Default)]
struct Lat(Vec<u64>);

impl Lat {
    fn push(&mut self, d: Duration) {
        self.0.push(d.as_micros() as u64);
    }

    fn push_ns(&mut self, ns: u64) {
        self.0.push(ns / 1000);
    }

    fn extend(&mut self, other: Lat) {
        self.0.extend(other.0);
    }

    /// Percentile in milliseconds.
    fn pct(&mut self, p: f64) -> f64 {
        if self.0.is_empty() {
            return f64::NAN;
        }
        self.0.sort_unstable();
        let rank = ((p / 100.0) * self.0.len() as f64).ceil() as usize;
        self.0[rank.clamp(1, self.0.len()) - 1] as f64 / 1000.0
    }

    fn summary(&mut self) -> String {
        format!(
            "n={} p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
            self.0.len(),
            self.pct(50.0),
            self.pct(90.0),
            self.pct(99.0),
            self.pct(99.9),
            self.pct(100.0)
        )
    }
}

/// Error tally by description.
#[derive(Default, Clone)]
struct Errors(Arc<Mutex<BTreeMap<String, usize>>>);

impl Errors {
    fn add(&self, what: impl Into<String>) {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *map.entry(what.into()).or_insert(0) += 1;
    }

    fn total(&self) -> usize {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .sum()
    }

    fn describe(&self) -> String {
        let map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.is_empty() {
            return "none".into();
        }
        map.iter()
            .map(|(k, v)| format!("{v} × {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

// ---------------------------------------------------------------------------------------------
// Users

/// The username of key `i`.
fn user_name(i: usize) -> Bytes {
    Bytes::from(format!("lg{i}"))
}

/// Connects `n` clients (logging errors) and registers + logs in user `first + i` on each.
/// Registration answered with `ERR_EXISTS` counts as already registered.
async fn logged_in_clients(
    ctx: &Ctx,
    keys: &[Arc<PrivateKey>],
    first: usize,
    n: usize,
    login: bool,
) -> Result<Vec<Client>> {
    let errors = Errors::default();
    let results: Vec<Result<Client>> = futures::stream::iter(first..first + n)
        .map(|i| {
            let errors = errors.clone();
            let key = keys[i].clone();
            async move {
                let mut c = Client::connect(ctx.addr, None).await?;
                let name = user_name(i);
                if let Some(code) = c.register(&name, &key).await? {
                    if code != "ERR_EXISTS" {
                        bail!("REG {}: {code}", String::from_utf8_lossy(&name));
                    }
                    errors.add("REG answered ERR_EXISTS (already registered, reused)");
                }
                if login {
                    c.login(&name, &key).await?;
                }
                Ok(c)
            }
        })
        .buffered(16)
        .collect()
        .await;
    if errors.total() > 0 {
        println!("setup notes: {}", errors.describe());
    }
    results.into_iter().collect()
}

// ---------------------------------------------------------------------------------------------
// idle

async fn idle(
    ctx: &Ctx,
    conns: usize,
    concurrency: usize,
    sources: u8,
    settle_secs: u64,
    hello_timeout: Duration,
) -> Result<()> {
    let sources = sources.max(1);
    println!(
        "idle: {conns} connections, {concurrency} connects in flight, sources 127.0.0.1..127.0.0.{sources}, loadgen RLIMIT_NOFILE {:?}",
        nofile_limit()
    );
    wait_for_server(ctx.addr).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = ctx.meter.snapshot();
    let errors = Errors::default();
    let results: Vec<Option<(TcpStream, Duration)>> = futures::stream::iter(0..conns)
        .map(|i| {
            let errors = errors.clone();
            let src = Ipv4Addr::new(127, 0, 0, 1 + (i % usize::from(sources)) as u8);
            async move {
                let start = Instant::now();
                match tokio::time::timeout(hello_timeout, Client::connect(ctx.addr, Some(src)))
                    .await
                {
                    Ok(Ok(c)) => Some((c.stream, start.elapsed())),
                    Ok(Err(e)) => {
                        errors.add(format!("{e:#}"));
                        None
                    }
                    Err(_) => {
                        errors.add(format!("no HELLO within {} s", hello_timeout.as_secs()));
                        None
                    }
                }
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let open_phase = ctx.meter.since(&before);
    let mut lat = Lat::default();
    let mut streams = Vec::with_capacity(conns);
    for (s, d) in results.into_iter().flatten() {
        lat.push(d);
        streams.push(s);
    }
    let ok = streams.len();
    open_phase.print("open");
    println!(
        "connects: {ok} ok, errors: {} ({:.0} connects/s)",
        errors.describe(),
        ok as f64 / open_phase.wall.as_secs_f64()
    );
    println!("connect→HELLO: {}", lat.summary());
    tokio::time::sleep(Duration::from_secs(settle_secs)).await;
    let held = ctx.meter.since(&before);
    // Check that the connections are still open (the server did not drop them).
    let mut alive = 0;
    let mut probe = [0u8; 1];
    for s in &streams {
        match s.try_read(&mut probe) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => alive += 1,
            _ => {}
        }
    }
    println!("still open after {settle_secs} s: {alive}/{ok}");
    let mut per_conn = f64::NAN;
    if let (Some(a), Some(b)) = (held.server_rss_before, held.server_rss_after) {
        per_conn = (b as f64 - a as f64) * 1024.0 / ok.max(1) as f64;
        println!(
            "server RSS: {a} KiB before, {b} KiB with {ok} idle connections → {per_conn:.0} bytes ({:.2} KiB) per connection",
            per_conn / 1024.0
        );
    }
    println!(
        "RESULT idle conns={ok} failed={} bytes_per_conn={per_conn:.0} hello_p50_ms={:.2} hello_p99_ms={:.2} open_s={:.3}",
        errors.total(),
        lat.pct(50.0),
        lat.pct(99.0),
        open_phase.wall.as_secs_f64()
    );
    // Close with RST (zero linger): no TIME_WAIT left behind to slow down the next run's
    // binds on the same source addresses.
    for s in &streams {
        let _ = s.set_zero_linger();
    }
    drop(streams);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let closed = ctx.meter.since(&before);
    if let Some(b) = closed.server_rss_after {
        println!("server RSS 2 s after closing them all: {b} KiB");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// login

async fn login(ctx: &Ctx, users: usize, rounds: usize, concurrency: usize) -> Result<()> {
    let keys = load_keys(&ctx.key_cache, users)?;
    wait_for_server(ctx.addr).await?;
    let setup = ctx.meter.snapshot();
    let clients = logged_in_clients(ctx, &keys, 0, users, false).await?;
    ctx.meter.since(&setup).print("connect + REG");
    println!(
        "login: {users} users × {rounds} rounds of LOGIN, VERIF, LOGOUT; {concurrency} users at once"
    );
    let errors = Errors::default();
    let before = ctx.meter.snapshot();
    let lats: Vec<Lat> = futures::stream::iter(clients.into_iter().enumerate())
        .map(|(i, mut c)| {
            let errors = errors.clone();
            let key = keys[i].clone();
            async move {
                let name = user_name(i);
                let mut total = Lat::default();
                for _ in 0..rounds {
                    let start = Instant::now();
                    if let Err(e) = c.login(&name, &key).await {
                        errors.add(format!("{e:#}"));
                        break;
                    }
                    total.push(start.elapsed());
                    if let Err(e) = c.logout().await {
                        errors.add(format!("{e:#}"));
                        break;
                    }
                }
                total
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let phase = ctx.meter.since(&before);
    let mut lat = Lat::default();
    for l in lats {
        lat.extend(l);
    }
    let n = lat.0.len();
    phase.print("logins");
    println!("logins: {n} ok, errors: {}", errors.describe());
    println!(
        "LOGIN→OK (incl. client-side RSA decryption): {}",
        lat.summary()
    );
    println!("logins/s: {:.0}", n as f64 / phase.wall.as_secs_f64());
    if let Some(per) = phase.per_op(n) {
        println!("server CPU per login (LOGIN + VERIF + LOGOUT): {per:.3} ms");
    }
    if let Some(db) = phase.db_cpu_ms {
        println!("database CPU per login: {:.3} ms", db / n.max(1) as f64);
    }
    println!(
        "RESULT login logins={n} errors={} cpu_per_login_ms={:.3} p50_ms={:.2} p99_ms={:.2}",
        errors.total(),
        phase.per_op(n).unwrap_or(f64::NAN),
        lat.pct(50.0),
        lat.pct(99.0)
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Messaging machinery

/// A message body: `META_LEN` bytes of hex metadata (send time, sequence, sender index),
/// then random bytes, never containing CR (so never CRLF).
fn body_template(size: usize) -> Vec<u8> {
    let mut v = vec![0u8; size.max(META_LEN)];
    rand::rng().fill_bytes(&mut v);
    for b in &mut v {
        if *b == b'\r' {
            *b = b'.';
        }
    }
    v
}

fn write_hex(out: &mut [u8], mut v: u64) {
    for slot in out.iter_mut().rev() {
        *slot = b"0123456789abcdef"[(v & 0xf) as usize];
        v >>= 4;
    }
}

fn read_hex(s: &[u8]) -> Option<u64> {
    let mut v: u64 = 0;
    for &c in s {
        let d = (c as char).to_digit(16)?;
        v = (v << 4) | u64::from(d);
    }
    Some(v)
}

/// (send time ns, sequence, sender index) from a body.
fn parse_meta(ct: &[u8]) -> Option<(u64, u64, u64)> {
    if ct.len() < META_LEN {
        return None;
    }
    Some((
        read_hex(&ct[..16])?,
        read_hex(&ct[16..32])?,
        read_hex(&ct[32..40])?,
    ))
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// What one sender saw.
#[derive(Default)]
struct SenderReport {
    ok: usize,
    /// Sequence numbers that got OK, per receiver index.
    ok_seqs: BTreeMap<usize, Vec<u64>>,
    msg_to_ok: Lat,
    last_ok: Option<Instant>,
    errors: BTreeMap<String, usize>,
    failure: Option<String>,
}

/// Sends `count` messages from sender `index` over `client`, keeping `window` in flight.
/// Message `k` goes to `targets[k % targets.len()]`. Replies are matched by packet ID.
async fn run_sender(
    client: Client,
    index: usize,
    targets: Vec<Bytes>,
    count: usize,
    window: usize,
    template: Arc<Vec<u8>>,
) -> SenderReport {
    // IDs cycle through 1..=1023 and the server answers in order, so a window below 1023
    // never reuses an ID that is still waiting for its reply.
    let window = window.clamp(1, 1000);
    let Client {
        stream, mut buf, ..
    } = client;
    let (mut rd, wr) = stream.into_split();
    let slots = Arc::new(Slots::new());
    let (credit_tx, credit_rx) = mpsc::unbounded_channel::<()>();
    let writer = tokio::spawn(sender_writer(
        wr,
        index,
        targets.clone(),
        count,
        window,
        template,
        slots.clone(),
        credit_rx,
    ));
    let mut report = SenderReport::default();
    let mut answered = 0;
    while answered < count {
        let p = match tokio::time::timeout(OP_TIMEOUT, read_packet(&mut rd, &mut buf)).await {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => {
                report.failure = Some(format!("{e:#}"));
                break;
            }
            Err(_) => {
                report.failure = Some(format!("no reply within {} s", OP_TIMEOUT.as_secs()));
                break;
            }
        };
        if p.id == 0 {
            if p.action == Action::Err {
                report.failure = Some(format!(
                    "server closed the connection with {}",
                    err_name(&p)
                ));
                break;
            }
            continue;
        }
        let slot = usize::from(p.id) % 1024;
        answered += 1;
        let seq = slots.seq[slot].load(Ordering::Acquire);
        match p.action {
            Action::Ok => {
                report.ok += 1;
                let sent = slots.sent_at[slot].load(Ordering::Acquire);
                report.msg_to_ok.push_ns(now_ns().saturating_sub(sent));
                report.last_ok = Some(Instant::now());
                let r = (seq as usize) % targets.len().max(1);
                report.ok_seqs.entry(r).or_default().push(seq);
            }
            Action::Err => *report.errors.entry(err_name(&p)).or_insert(0) += 1,
            other => {
                *report
                    .errors
                    .entry(format!("unexpected {other}"))
                    .or_insert(0) += 1
            }
        }
        let _ = credit_tx.send(());
    }
    drop(credit_tx);
    match writer.await {
        Ok(Ok(_write_half)) => {}
        Ok(Err(e)) => {
            report.failure.get_or_insert(format!("writer: {e:#}"));
        }
        Err(e) => {
            report.failure.get_or_insert(format!("writer task: {e}"));
        }
    }
    report
}

/// Per packet ID: when the MSG was written and which sequence number it carried.
struct Slots {
    sent_at: Vec<AtomicU64>,
    seq: Vec<AtomicU64>,
}

impl Slots {
    fn new() -> Self {
        Slots {
            sent_at: (0..1024).map(|_| AtomicU64::new(0)).collect(),
            seq: (0..1024).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

/// Writes MSGs whenever there is window credit, batching whatever is available into one
/// write. Returns the write half so the connection stays open until the replies are read.
#[allow(clippy::too_many_arguments)]
async fn sender_writer(
    mut wr: OwnedWriteHalf,
    index: usize,
    targets: Vec<Bytes>,
    count: usize,
    window: usize,
    template: Arc<Vec<u8>>,
    slots: Arc<Slots>,
    mut credits: mpsc::UnboundedReceiver<()>,
) -> Result<OwnedWriteHalf> {
    if targets.is_empty() {
        bail!("no recipients");
    }
    let stamp = Bytes::from(encode_stamp(unix_now()));
    let mut id: u16 = 0;
    let mut available = window;
    let mut seq = 0usize;
    let mut out = BytesMut::with_capacity(window * (template.len() + 64));
    while seq < count {
        if available == 0 {
            match credits.recv().await {
                Some(()) => available += 1,
                None => bail!("reply reader stopped"),
            }
        }
        while let Ok(()) = credits.try_recv() {
            available += 1;
        }
        let n = available.min(count - seq);
        out.clear();
        for _ in 0..n {
            let pid = bump(&mut id);
            let slot = usize::from(pid);
            let mut body = template.as_ref().clone();
            let t = now_ns();
            write_hex(&mut body[0..16], t);
            write_hex(&mut body[16..32], seq as u64);
            write_hex(&mut body[32..40], index as u64);
            slots.sent_at[slot].store(t, Ordering::Release);
            slots.seq[slot].store(seq as u64, Ordering::Release);
            Packet::new(Action::Msg, pid)
                .with_arg(targets[seq % targets.len()].clone())
                .with_arg(stamp.clone())
                .with_arg(Bytes::from(body))
                .encode(&mut out)
                .context("encode MSG")?;
            seq += 1;
        }
        available -= n;
        tokio::time::timeout(OP_TIMEOUT, wr.write_all(&out))
            .await
            .map_err(|_| anyhow!("write timed out"))?
            .context("write")?;
    }
    Ok(wr)
}

/// What one receiver saw.
#[derive(Default)]
struct ReceiverReport {
    received: usize,
    /// Sequence numbers received, per sender index, in arrival order.
    seqs: BTreeMap<u64, Vec<u64>>,
    lat: Lat,
    malformed: usize,
    first: Option<Instant>,
    last: Option<Instant>,
    failure: Option<String>,
    /// Arrival time of every message (catch-up only).
    arrivals: Option<Vec<Instant>>,
}

impl ReceiverReport {
    fn take(&mut self, p: &Packet) {
        let Some(ct) = p.args.get(2) else {
            self.malformed += 1;
            return;
        };
        let Some((sent, seq, sender)) = parse_meta(ct) else {
            self.malformed += 1;
            return;
        };
        let now = Instant::now();
        self.first.get_or_insert(now);
        self.last = Some(now);
        if let Some(a) = &mut self.arrivals {
            a.push(now);
        }
        self.received += 1;
        self.lat.push_ns(now_ns().saturating_sub(sent));
        self.seqs.entry(sender).or_default().push(seq);
    }
}

/// Reads live RECIVs until `expected` arrived, or the senders are done and nothing came for
/// [`RECEIVE_GRACE`].
async fn run_live_receiver(
    client: Client,
    expected: usize,
    mut senders_done: tokio::sync::watch::Receiver<bool>,
) -> ReceiverReport {
    let Client {
        stream, mut buf, ..
    } = client;
    let (mut rd, _wr) = stream.into_split();
    let mut report = ReceiverReport::default();
    let mut done = *senders_done.borrow();
    let mut quiet_since = Instant::now();
    while report.received < expected {
        let wait = if done { RECEIVE_GRACE } else { OP_TIMEOUT };
        let read = async {
            tokio::select! {
                r = read_packet(&mut rd, &mut buf) => Some(r),
                _ = senders_done.changed(), if !done => None,
            }
        };
        match tokio::time::timeout(wait, read).await {
            Ok(None) => {
                done = true;
                quiet_since = Instant::now();
            }
            Ok(Some(Ok(p))) => match p.action {
                Action::Reciv => {
                    report.take(&p);
                    quiet_since = Instant::now();
                }
                Action::Err if p.id == 0 => {
                    report.failure = Some(format!(
                        "server closed the connection with {}",
                        err_name(&p)
                    ));
                    break;
                }
                _ => {}
            },
            Ok(Some(Err(e))) => {
                report.failure = Some(format!("{e:#}"));
                break;
            }
            Err(_) => {
                if !done {
                    report.failure = Some(format!(
                        "nothing received for {} s",
                        quiet_since.elapsed().as_secs()
                    ));
                }
                break;
            }
        }
    }
    report
}

/// Sends RECIV and reads the catch-up (`expected` messages), then checks that a second RECIV
/// finds nothing left.
async fn run_catch_up(mut client: Client, expected: usize) -> (ReceiverReport, Duration, String) {
    let mut report = ReceiverReport {
        arrivals: Some(Vec::with_capacity(expected)),
        ..ReceiverReport::default()
    };
    let start = Instant::now();
    let mut elapsed = Duration::ZERO;
    let id = bump(&mut client.next_id);
    if let Err(e) = client.send(&Request::Reciv.to_packet(id)).await {
        report.failure = Some(format!("{e:#}"));
        return (report, elapsed, String::new());
    }
    let mut replied = false;
    while report.received < expected || !replied {
        let p = match tokio::time::timeout(
            RECEIVE_GRACE,
            read_packet(&mut client.stream, &mut client.buf),
        )
        .await
        {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => {
                report.failure = Some(format!("{e:#}"));
                break;
            }
            Err(_) => {
                report.failure = Some(format!(
                    "stalled after {} of {expected} messages",
                    report.received
                ));
                break;
            }
        };
        match p.action {
            Action::Reciv if p.id == 0 => {
                report.take(&p);
                elapsed = start.elapsed();
            }
            Action::Ok if p.id == id => replied = true,
            Action::Err if p.id == id => {
                replied = true;
                if expected > 0 {
                    report.failure = Some(format!("RECIV answered {}", err_name(&p)));
                    break;
                }
            }
            Action::Err if p.id == 0 => {
                report.failure = Some(format!(
                    "server closed the connection with {}",
                    err_name(&p)
                ));
                break;
            }
            _ => {}
        }
    }
    let second = match client.call(&Request::Reciv).await {
        Ok(p) if p.action == Action::Err => err_name(&p),
        Ok(p) => format!("{} (messages left over)", p.action),
        Err(e) => format!("{e:#}"),
    };
    (report, elapsed, second)
}

fn merge_errors(into: &mut BTreeMap<String, usize>, from: &BTreeMap<String, usize>) {
    for (k, v) in from {
        *into.entry(k.clone()).or_insert(0) += v;
    }
}

fn describe_map(map: &BTreeMap<String, usize>) -> String {
    if map.is_empty() {
        return "none".into();
    }
    map.iter()
        .map(|(k, v)| format!("{v} × {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Compares what a receiver got from one sender with what that sender had confirmed.
#[derive(Default, Debug)]
struct Check {
    missing: usize,
    duplicates: usize,
    unexpected: usize,
    out_of_order: usize,
}

impl Check {
    fn add(&mut self, confirmed: &[u64], received: &[u64]) {
        use std::collections::HashMap;
        let mut seen: HashMap<u64, usize> = HashMap::new();
        for &s in received {
            *seen.entry(s).or_insert(0) += 1;
        }
        let confirmed_set: std::collections::HashSet<u64> = confirmed.iter().copied().collect();
        for &s in confirmed {
            if !seen.contains_key(&s) {
                self.missing += 1;
            }
        }
        for (s, n) in &seen {
            self.duplicates += n - 1;
            if !confirmed_set.contains(s) {
                self.unexpected += 1;
            }
        }
        self.out_of_order += received.windows(2).filter(|w| w[1] <= w[0]).count();
    }

    fn ok(&self) -> bool {
        self.missing == 0 && self.duplicates == 0 && self.unexpected == 0 && self.out_of_order == 0
    }
}

// ---------------------------------------------------------------------------------------------
// online

async fn online(
    ctx: &Ctx,
    pairs: usize,
    window: usize,
    messages: usize,
    size: usize,
) -> Result<()> {
    let pairs = pairs.max(1);
    let keys = load_keys(&ctx.key_cache, 2 * pairs)?;
    wait_for_server(ctx.addr).await?;
    let senders = logged_in_clients(ctx, &keys, 0, pairs, true).await?;
    let receivers = logged_in_clients(ctx, &keys, pairs, pairs, true).await?;
    let per = (messages / pairs).max(1);
    let total = per * pairs;
    println!(
        "online: {pairs} pairs, window {window}, {per} messages per sender ({total} in all), {size}-byte ciphertexts"
    );
    let template = Arc::new(body_template(size));
    let (done, done_rx) = tokio::sync::watch::channel(false);
    let receiver_tasks: Vec<_> = receivers
        .into_iter()
        .map(|c| tokio::spawn(run_live_receiver(c, per, done_rx.clone())))
        .collect();
    let before = ctx.meter.snapshot();
    let start = Instant::now();
    let sender_tasks: Vec<_> = senders
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            tokio::spawn(run_sender(
                c,
                i,
                vec![user_name(pairs + i)],
                per,
                window,
                template.clone(),
            ))
        })
        .collect();
    let mut sender_reports = Vec::new();
    for t in sender_tasks {
        sender_reports.push(t.await.unwrap_or_else(|e| SenderReport {
            failure: Some(format!("sender task: {e}")),
            ..SenderReport::default()
        }));
    }
    let phase = ctx.meter.since(&before);
    let _ = done.send(true);
    let mut receiver_reports = Vec::new();
    for t in receiver_tasks {
        receiver_reports.push(t.await.unwrap_or_else(|e| ReceiverReport {
            failure: Some(format!("receiver task: {e}")),
            ..ReceiverReport::default()
        }));
    }
    phase.print("messaging");

    let mut ok = 0;
    let mut errors = BTreeMap::new();
    let mut msg_to_ok = Lat::default();
    let mut last_ok = start;
    let mut failures = Vec::new();
    for (i, r) in sender_reports.iter_mut().enumerate() {
        ok += r.ok;
        merge_errors(&mut errors, &r.errors);
        msg_to_ok.extend(std::mem::take(&mut r.msg_to_ok));
        if let Some(t) = r.last_ok {
            last_ok = last_ok.max(t);
        }
        if let Some(f) = &r.failure {
            failures.push(format!("sender {i}: {f}"));
        }
    }
    let mut received = 0;
    let mut reciv = Lat::default();
    let mut check = Check::default();
    let mut malformed = 0;
    for (i, r) in receiver_reports.iter_mut().enumerate() {
        received += r.received;
        malformed += r.malformed;
        reciv.extend(std::mem::take(&mut r.lat));
        let confirmed = sender_reports[i]
            .ok_seqs
            .get(&0)
            .cloned()
            .unwrap_or_default();
        let got = r.seqs.get(&(i as u64)).cloned().unwrap_or_default();
        check.add(&confirmed, &got);
        if r.seqs.keys().any(|&s| s != i as u64) {
            check.unexpected += 1;
        }
        if let Some(f) = &r.failure {
            failures.push(format!("receiver {i}: {f}"));
        }
    }
    let secs = (last_ok - start).as_secs_f64();
    let rate = ok as f64 / secs;
    println!(
        "MSG→OK: {ok} OK in {secs:.3} s = {rate:.0} msgs/s; ERR replies: {}",
        describe_map(&errors)
    );
    println!("MSG→OK latency: {}", msg_to_ok.summary());
    println!("MSG→RECIV latency (live): {}", reciv.summary());
    println!(
        "received live: {received}/{ok} (not live = stored for catch-up: {}); order/exactly-once: {} {check:?}; malformed bodies: {malformed}",
        ok.saturating_sub(received),
        if check.ok() { "ok" } else { "VIOLATED" }
    );
    for f in &failures {
        println!("failure: {f}");
    }
    if let Some(per_op) = phase.per_op(ok) {
        println!("server CPU per 1,000 messages: {:.1} ms", per_op * 1000.0);
    }
    println!(
        "RESULT online pairs={pairs} window={window} msgs={ok} rate={rate:.0} ok_p50_ms={:.2} ok_p99_ms={:.2} reciv_p50_ms={:.2} reciv_p99_ms={:.2} cpu_per_1000_ms={:.1} errors={} failures={}",
        msg_to_ok.pct(50.0),
        msg_to_ok.pct(99.0),
        reciv.pct(50.0),
        reciv.pct(99.0),
        phase.per_op(ok).map_or(f64::NAN, |c| c * 1000.0),
        errors.values().sum::<usize>(),
        failures.len()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// offline

async fn offline(
    ctx: &Ctx,
    messages: usize,
    senders: usize,
    receivers: usize,
    window: usize,
    size: usize,
) -> Result<()> {
    let senders = senders.max(1);
    let receivers = receivers.max(1);
    let keys = load_keys(&ctx.key_cache, senders + receivers)?;
    wait_for_server(ctx.addr).await?;
    let sender_clients = logged_in_clients(ctx, &keys, 0, senders, true).await?;
    // Register the receivers, then disconnect them: they are offline.
    drop(logged_in_clients(ctx, &keys, senders, receivers, false).await?);
    let per = (messages / senders).max(1);
    let total = per * senders;
    println!(
        "offline: {senders} senders → {receivers} offline receivers, window {window}, {total} messages, {size}-byte ciphertexts"
    );
    let targets: Vec<Bytes> = (0..receivers).map(|r| user_name(senders + r)).collect();
    let template = Arc::new(body_template(size));
    let before = ctx.meter.snapshot();
    let start = Instant::now();
    let tasks: Vec<_> = sender_clients
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            tokio::spawn(run_sender(
                c,
                i,
                targets.clone(),
                per,
                window,
                template.clone(),
            ))
        })
        .collect();
    let mut reports = Vec::new();
    for t in tasks {
        reports.push(t.await.unwrap_or_else(|e| SenderReport {
            failure: Some(format!("sender task: {e}")),
            ..SenderReport::default()
        }));
    }
    let phase = ctx.meter.since(&before);
    phase.print("store");
    let mut ok = 0;
    let mut errors = BTreeMap::new();
    let mut msg_to_ok = Lat::default();
    let mut last_ok = start;
    for (i, r) in reports.iter_mut().enumerate() {
        ok += r.ok;
        merge_errors(&mut errors, &r.errors);
        msg_to_ok.extend(std::mem::take(&mut r.msg_to_ok));
        if let Some(t) = r.last_ok {
            last_ok = last_ok.max(t);
        }
        if let Some(f) = &r.failure {
            println!("failure: sender {i}: {f}");
        }
    }
    let secs = (last_ok - start).as_secs_f64();
    let rate = ok as f64 / secs;
    println!(
        "stored: {ok} OK in {secs:.3} s = {rate:.0} msgs/s; ERR replies: {}",
        describe_map(&errors)
    );
    println!("MSG→OK latency: {}", msg_to_ok.summary());
    if let Some(per_op) = phase.per_op(ok) {
        println!(
            "server CPU per 1,000 stored messages: {:.1} ms",
            per_op * 1000.0
        );
    }
    if let Some(db) = phase.db_cpu_ms {
        println!(
            "database CPU per 1,000 stored messages: {:.1} ms",
            db * 1000.0 / ok.max(1) as f64
        );
    }

    // Catch-up.
    let expected: Vec<usize> = (0..receivers)
        .map(|r| {
            reports
                .iter()
                .map(|s| s.ok_seqs.get(&r).map_or(0, Vec::len))
                .sum()
        })
        .collect();
    let mut clients = Vec::new();
    for r in 0..receivers {
        let mut c = Client::connect(ctx.addr, None).await?;
        c.login(&user_name(senders + r), &keys[senders + r]).await?;
        clients.push(c);
    }
    let before = ctx.meter.snapshot();
    let catch_up_start = Instant::now();
    let tasks: Vec<_> = clients
        .into_iter()
        .zip(expected.iter().copied())
        .map(|(c, n)| tokio::spawn(run_catch_up(c, n)))
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        match t.await {
            Ok(r) => results.push(r),
            Err(e) => bail!("catch-up task: {e}"),
        }
    }
    let phase = ctx.meter.since(&before);
    phase.print("catch-up");
    let mut check = Check::default();
    let mut slowest = Duration::ZERO;
    for (r, (report, elapsed, second)) in results.iter().enumerate() {
        slowest = slowest.max(*elapsed);
        for (s, sender) in reports.iter().enumerate() {
            let confirmed = sender.ok_seqs.get(&r).cloned().unwrap_or_default();
            let got = report.seqs.get(&(s as u64)).cloned().unwrap_or_default();
            check.add(&confirmed, &got);
        }
        println!(
            "receiver {r}: {} of {} messages in {:.3} s ({:.0} msgs/s); second RECIV: {second}{}",
            report.received,
            expected[r],
            elapsed.as_secs_f64(),
            report.received as f64 / elapsed.as_secs_f64().max(1e-9),
            report
                .failure
                .as_deref()
                .map(|f| format!("; failure: {f}"))
                .unwrap_or_default()
        );
    }
    // Where the catch-up time goes, as seen by the client: time to the first RECIV and the
    // longest pauses between consecutive RECIVs (server-side database round trips).
    for (r, (report, _, _)) in results.iter().enumerate() {
        let Some(arrivals) = &report.arrivals else {
            continue;
        };
        let Some(first) = arrivals.first() else {
            continue;
        };
        let mut gaps: Vec<(Duration, usize)> = arrivals
            .windows(2)
            .enumerate()
            .map(|(i, w)| (w[1] - w[0], i + 1))
            .collect();
        gaps.sort_unstable_by(|a, b| b.cmp(a));
        let top: Vec<String> = gaps
            .iter()
            .take(6)
            .map(|(d, i)| format!("{:.1} ms before #{i}", d.as_secs_f64() * 1000.0))
            .collect();
        let streaming: Duration = gaps.iter().skip(6).map(|(d, _)| *d).sum();
        println!(
            "receiver {r} timeline: first RECIV {:.1} ms after the request; longest pauses: {}; all other gaps together: {:.1} ms",
            (*first - catch_up_start).as_secs_f64() * 1000.0,
            top.join(", "),
            streaming.as_secs_f64() * 1000.0
        );
    }
    println!(
        "order (per sender, send order) and exactly-once: {} {check:?}",
        if check.ok() { "ok" } else { "VIOLATED" }
    );
    if let Some(c) = phase.server_cpu_ms {
        let n: usize = expected.iter().sum();
        println!(
            "server CPU per 1,000 caught-up messages: {:.1} ms",
            c * 1000.0 / n.max(1) as f64
        );
    }
    println!(
        "RESULT offline msgs={ok} rate={rate:.0} catchup_s={:.3} check={} errors={}",
        slowest.as_secs_f64(),
        if check.ok() { "ok" } else { "violated" },
        errors.values().sum::<usize>()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// reg

async fn reg(ctx: &Ctx, concurrent: usize, rounds: usize, conflict: bool) -> Result<()> {
    let concurrent = concurrent.max(1);
    let keys = load_keys(&ctx.key_cache, concurrent * rounds)?;
    wait_for_server(ctx.addr).await?;
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let mut lat = Lat::default();
    for round in 0..rounds {
        let mut clients = Vec::new();
        for _ in 0..concurrent {
            clients.push(Client::connect(ctx.addr, None).await?);
        }
        let barrier = Arc::new(tokio::sync::Barrier::new(concurrent));
        let tasks: Vec<_> = clients
            .into_iter()
            .enumerate()
            .map(|(i, mut c)| {
                let k = round * concurrent + i;
                let key = keys[k].clone();
                let barrier = barrier.clone();
                let name = if conflict {
                    Bytes::from(format!("same{round}"))
                } else {
                    user_name(k)
                };
                tokio::spawn(async move {
                    barrier.wait().await;
                    let start = Instant::now();
                    let r = c.register(&name, &key).await;
                    (r, start.elapsed())
                })
            })
            .collect();
        for t in tasks {
            let outcome = match t.await {
                Ok((Ok(None), d)) => {
                    lat.push(d);
                    "OK".to_owned()
                }
                Ok((Ok(Some(code)), d)) => {
                    lat.push(d);
                    code
                }
                Ok((Err(e), _)) => format!("failure: {e:#}"),
                Err(e) => format!("task: {e}"),
            };
            *outcomes.entry(outcome).or_insert(0) += 1;
        }
    }
    let ok = outcomes.get("OK").copied().unwrap_or(0);
    let exists = outcomes.get("ERR_EXISTS").copied().unwrap_or(0);
    let total = concurrent * rounds;
    // With --conflict the correct outcome is one OK per round and ERR_EXISTS for the rest.
    let errors = if conflict {
        (total - ok - exists) + ok.abs_diff(rounds)
    } else {
        total - ok
    };
    let mode = if conflict {
        " (one name per round)"
    } else {
        ""
    };
    println!(
        "reg: {rounds} round(s) of {concurrent} concurrent REGs{mode}: {}",
        describe_map(&outcomes)
    );
    println!("REG→reply latency: {}", lat.summary());
    println!("RESULT reg total={total} ok={ok} exists={exists} errors={errors}");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// users

/// One `USRS ALL`: its latency and how it was answered (`USRS` or the ERR's name).
async fn usrs_all(c: &mut Client) -> Result<(Duration, String)> {
    let start = Instant::now();
    let reply = c
        .call(&Request::Users(gochat_proto::wire::UserList::All))
        .await?;
    let answer = match reply.action {
        Action::Usrs => "USRS".to_owned(),
        Action::Err => err_name(&reply),
        other => format!("unexpected {other}"),
    };
    Ok((start.elapsed(), answer))
}

async fn users(ctx: &Ctx, calls: usize, loopers: usize) -> Result<()> {
    let keys = load_keys(&ctx.key_cache, loopers + 1)?;
    wait_for_server(ctx.addr).await?;
    let mut clients = logged_in_clients(ctx, &keys, 0, loopers + 1, true).await?;
    let mut probe = clients.remove(0);

    let answers = Errors::default();
    let mut lat = Lat::default();
    let before = ctx.meter.snapshot();
    for _ in 0..calls {
        let (d, answer) = usrs_all(&mut probe).await?;
        lat.push(d);
        answers.add(answer);
    }
    let phase = ctx.meter.since(&before);
    phase.print("USRS ALL, one client");
    println!("answers: {}", answers.describe());
    println!("USRS ALL latency: {}", lat.summary());
    if let Some(per) = phase.per_op(calls) {
        println!("server CPU per USRS ALL: {per:.3} ms");
    }

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let looped = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|mut c| {
            let stop = stop.clone();
            let looped = looped.clone();
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    if usrs_all(&mut c).await.is_err() {
                        break;
                    }
                    looped.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let mut req_lat = Lat::default();
    let before = ctx.meter.snapshot();
    for _ in 0..calls {
        let start = Instant::now();
        probe
            .call(&Request::Req {
                username: user_name(0),
            })
            .await?;
        req_lat.push(start.elapsed());
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let phase = ctx.meter.since(&before);
    let n = looped.load(Ordering::Relaxed);
    phase.print("REQ while others loop USRS ALL");
    println!(
        "{loopers} loopers made {n} USRS ALL calls ({:.0}/s)",
        n as f64 / phase.wall.as_secs_f64()
    );
    println!("REQ latency under load: {}", req_lat.summary());
    println!(
        "RESULT users usrs_p50_ms={:.2} usrs_p99_ms={:.2} req_p50_ms={:.2} req_p99_ms={:.2}",
        lat.pct(50.0),
        lat.pct(99.0),
        req_lat.pct(50.0),
        req_lat.pct(99.0)
    );
    Ok(())
}
