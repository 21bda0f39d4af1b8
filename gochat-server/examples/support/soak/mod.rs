//! The kill -9 soak, shared by `examples/soak.rs` (long runs) and `tests/it/soak.rs` (a short run
//! in the test suite).
//!
//! It runs the real `gochat-server` binary as a child process on a fresh database, drives it
//! with honest users and hostile clients over loopback, kills it with `SIGKILL` at random
//! moments and restarts it, `cycles` times. Then it stops the traffic, lets every honest user
//! collect what is left, and checks the ledger:
//!
//! - every message the server acknowledged with `OK` arrived exactly once, at its recipient,
//!   byte for byte;
//! - a message that was refused (`ERR`) or whose reply was lost with the connection may be
//!   lost or delivered once, never twice;
//! - nothing arrived that was never sent.
//!
//! Duplicates that a kill during a catch-up explains are counted apart
//! ([`Report::duplicated_by_catch_up_kill`]): the server deletes a stored message only after
//! writing it, so a kill in between makes the next catch-up send it again.
//!
//! Honest users each have their own key, connection and source address (127.0.1.N). Each one
//! loops: log in (challenge and `VERIF`), catch up with `RECIV`, send bursts of pipelined
//! `MSG`s to the others while receiving theirs live, log out (reading on for a moment), and
//! stay offline for a while. Every message carries its unique number in its payload (any bytes go: the server
//! relays the ciphertext without looking at it), followed by filler bytes derived from that
//! number, so a delivered payload is checked in full.
//!
//! Hostile clients connect from other loopback addresses (127.0.0.2 and up), so per-IP limits
//! of a hardened server hit them and not the honest users: slowloris (a packet trickled one
//! byte at a time), `LOGIN` floods against the honest names, garbage bytes, and connect/close
//! churn (half of the closes with RST).
//!
//! Bounded: every network operation has a timeout, the run has a deadline, only 127.0.0.0/8
//! is used, and the server child is killed when the soak ends, fails, panics or is
//! interrupted ([`Config::interrupt`]; `kill_on_drop`).

#![allow(dead_code)]

#[path = "../key_cache.rs"]
pub mod key_cache;

mod honest;
mod hostile;
mod ledger;
mod server;

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};
use bytes::{BufMut, Bytes, BytesMut};
use gochat_proto::crypto::PrivateKey;
use gochat_proto::wire::{Action, ErrorCode, Packet, Request, encode_stamp};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

use gochat_testkit::wire::{WireClient, bump, err_name, read_packet};

/// The wire client of the soak: plain TCP.
type Client = WireClient<TcpStream>;

use honest::*;
use hostile::*;
use ledger::*;
use server::*;

/// How long a connect, a read or a write of the soak may take before the connection counts
/// as dead.
const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a (re)started server may take to answer with HELLO.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the final collection may try to log a user in while an old session lingers.
const DRAIN_LOGIN_TIMEOUT: Duration = Duration::from_secs(60);
/// How long an honest client keeps reading after the OK to its LOGOUT.
const LOGOUT_GRACE: Duration = Duration::from_millis(200);
/// Most problems described one by one in the report.
const MAX_PROBLEMS: usize = 20;

/// The database the server runs on.
#[derive(Debug, Clone)]
pub enum Database {
    /// SQLite in the run's temporary directory.
    Sqlite,
    /// MariaDB/MySQL: a fresh database `gochat_soak_<random>` is created on this server
    /// (a URL without database part, e.g. `mysql://root@127.0.0.1:3306`) and dropped at the end.
    MySql(String),
}

/// Which hostile clients run, and how many of each.
#[derive(Debug, Clone)]
pub struct Hostile {
    /// Connections that trickle a packet one byte at a time.
    pub slowloris: usize,
    /// Connections that send `LOGIN <honest user>` in bursts.
    pub login_flooders: usize,
    /// Connections that send random bytes.
    pub garbage: usize,
    /// Tasks that connect and close (half with RST) in a loop.
    pub churners: usize,
}

impl Hostile {
    /// No hostile clients.
    pub fn none() -> Hostile {
        Hostile {
            slowloris: 0,
            login_flooders: 0,
            garbage: 0,
            churners: 0,
        }
    }
}

impl Default for Hostile {
    fn default() -> Hostile {
        Hostile {
            slowloris: 4,
            login_flooders: 2,
            garbage: 2,
            churners: 2,
        }
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// The `gochat-server` binary.
    pub server_bin: PathBuf,
    /// Its database.
    pub database: Database,
    /// One honest user per key (at least 2).
    pub keys: Vec<Arc<PrivateKey>>,
    /// Server kills (each followed by a restart).
    pub cycles: usize,
    /// Each server life lasts a random time in this range (after it answered HELLO).
    pub uptime: (Duration, Duration),
    /// MSGs an honest user sends at most in one pipelined burst.
    pub window: usize,
    /// Longest pause between two bursts of one user.
    pub burst_pause: Duration,
    /// Hostile clients.
    pub hostile: Hostile,
    /// Upper bound on the whole run.
    pub deadline: Duration,
    /// Seed of every random choice except the server's own (same seed, same schedule).
    pub seed: u64,
    /// Print one line per cycle to stderr.
    pub verbose: bool,
    /// Cancelled to abandon the run (Ctrl-C): the server is killed, the temporary files and
    /// database removed, and [`run`] returns an error.
    pub interrupt: CancellationToken,
}

/// The outcome of a run.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// Server kills done.
    pub kills: usize,
    /// MSGs written to the server.
    pub sent: u64,
    /// MSGs answered with OK.
    pub acknowledged: u64,
    /// MSGs answered with ERR.
    pub refused: u64,
    /// MSGs whose reply was lost with the connection.
    pub unanswered: u64,
    /// Acknowledged messages that arrived exactly once.
    pub delivered: u64,
    /// Acknowledged messages that arrived more than once.
    pub duplicated: u64,
    /// Of those, the ones explained by a kill during a catch-up: every copy but the last
    /// arrived after a RECIV's OK on a connection the kill then cut (the server had written
    /// the stored message but not yet deleted it).
    pub duplicated_by_catch_up_kill: u64,
    /// Acknowledged messages that never arrived.
    pub lost: u64,
    /// Unacknowledged messages that arrived (once; allowed).
    pub unacknowledged_delivered: u64,
    /// Unacknowledged messages that arrived more than once.
    pub unacknowledged_duplicated: u64,
    /// Of those, the ones explained by a kill during a catch-up (as
    /// [`Report::duplicated_by_catch_up_kill`]; a stored message whose OK was lost with the
    /// kill).
    pub unacknowledged_duplicated_by_catch_up_kill: u64,
    /// Deliveries that do not match a sent message (unknown number, wrong sender or
    /// recipient, altered bytes).
    pub corrupt: u64,
    /// RECIVs received in total.
    pub recivs: u64,
    /// Successful honest logins.
    pub logins: u64,
    /// Catch-ups that returned messages (`RECIV` answered OK).
    pub catch_ups: u64,
    /// Honest sessions that failed (mostly connections cut by a kill).
    pub honest_failures: u64,
    /// RECIVs that arrived after the OK to the recipient's LOGOUT (a client that closes
    /// right after LOGOUT would lose them).
    pub late_recivs: u64,
    /// Hostile connections opened.
    pub hostile_connections: u64,
    /// Hostile packets or byte chunks written.
    pub hostile_writes: u64,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// The first problems, described.
    pub problems: Vec<String>,
}

impl Report {
    /// True if no acknowledged message was lost or duplicated, nothing was delivered twice
    /// and nothing unexpected arrived.
    pub fn is_clean(&self) -> bool {
        self.duplicated == 0
            && self.unacknowledged_duplicated == 0
            && self.is_clean_but_catch_up_kills()
    }

    /// [`Report::is_clean`], except for duplicates explained by a kill during a catch-up
    /// ([`Report::duplicated_by_catch_up_kill`]).
    pub fn is_clean_but_catch_up_kills(&self) -> bool {
        self.duplicated == self.duplicated_by_catch_up_kill
            && self.unacknowledged_duplicated == self.unacknowledged_duplicated_by_catch_up_kill
            && self.lost == 0
            && self.corrupt == 0
    }

    /// A one-line summary (`RESULT ...`) for scripts to grep.
    pub fn result_line(&self) -> String {
        format!(
            "RESULT soak kills={} sent={} acknowledged={} delivered={} duplicated={} \
             duplicated_by_catch_up_kill={} lost={} \
             refused={} unanswered={} unacknowledged_delivered={} unacknowledged_duplicated={} \
             unacknowledged_duplicated_by_catch_up_kill={} \
             corrupt={} recivs={} late_recivs={} logins={} catch_ups={} honest_failures={} \
             hostile_connections={} hostile_writes={} elapsed_s={:.1} clean={}",
            self.kills,
            self.sent,
            self.acknowledged,
            self.delivered,
            self.duplicated,
            self.duplicated_by_catch_up_kill,
            self.lost,
            self.refused,
            self.unanswered,
            self.unacknowledged_delivered,
            self.unacknowledged_duplicated,
            self.unacknowledged_duplicated_by_catch_up_kill,
            self.corrupt,
            self.recivs,
            self.late_recivs,
            self.logins,
            self.catch_ups,
            self.honest_failures,
            self.hostile_connections,
            self.hostile_writes,
            self.elapsed.as_secs_f64(),
            self.is_clean(),
        )
    }
}

/// Runs the soak. `Err` means the soak itself could not run (the server would not start,
/// the deadline passed, …); a run that found lost or duplicated messages is an `Ok` report
/// that is not [`Report::is_clean`].
pub async fn run(config: Config) -> Result<Report> {
    if !(2..=250).contains(&config.keys.len()) {
        bail!("the soak needs 2 to 250 honest users");
    }
    if config.uptime.0 > config.uptime.1 || config.window == 0 {
        bail!("invalid uptime range or window");
    }
    let dir = tempfile::Builder::new()
        .prefix("gochat-soak-")
        .tempdir()
        .context("creating the temporary directory")?;
    // It holds the database: owner only.
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
            .context("restricting the temporary directory")?;
    }
    let (url, mysql_db) = match &config.database {
        Database::Sqlite => (
            format!("sqlite://{}", dir.path().join("soak.sqlite").display()),
            None,
        ),
        Database::MySql(server) => {
            let db = ThrowAwayDatabase::create(server).await?;
            (db.url(), Some(db))
        }
    };
    let deadline = config.deadline;
    // The soak's future (and with it the server child) is gone before the database is dropped.
    let outcome = tokio::select! {
        r = tokio::time::timeout(deadline, soak(&config, dir.path(), &url)) => {
            r.map_err(|_| anyhow!("the soak did not finish within {} s", deadline.as_secs()))
        }
        _ = config.interrupt.cancelled() => Err(anyhow!("interrupted")),
    };
    if let Some(db) = mysql_db {
        db.drop_now().await;
    }
    outcome?
}

/// A MariaDB database made for one run; dropped by [`ThrowAwayDatabase::drop_now`], or when
/// the guard is dropped (a run that failed, panicked or was interrupted).
struct ThrowAwayDatabase {
    server: String,
    name: String,
    dropped: bool,
}

impl ThrowAwayDatabase {
    async fn create(server: &str) -> Result<ThrowAwayDatabase> {
        let name = format!("gochat_soak_{:016x}", rand::random::<u64>());
        mysql_admin(server, &format!("CREATE DATABASE `{name}`")).await?;
        Ok(ThrowAwayDatabase {
            server: server.trim_end_matches('/').to_owned(),
            name,
            dropped: false,
        })
    }

    fn url(&self) -> String {
        format!("{}/{}", self.server, self.name)
    }

    fn statement(&self) -> String {
        format!("DROP DATABASE IF EXISTS `{}`", self.name)
    }

    async fn drop_now(mut self) {
        self.dropped = true;
        if let Err(e) = mysql_admin(&self.server, &self.statement()).await {
            eprintln!("soak: could not drop database {}: {e:#}", self.name);
        }
    }
}

impl Drop for ThrowAwayDatabase {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        // Outside the (possibly unwinding) runtime: a thread with a runtime of its own.
        let (server, statement, name) = (self.server.clone(), self.statement(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            if let Err(e) = rt.block_on(mysql_admin(&server, &statement)) {
                eprintln!("soak: could not drop database {name}: {e:#}");
            }
        })
        .join();
    }
}

async fn mysql_admin(server: &str, statement: &str) -> Result<()> {
    use sqlx::Connection;
    let mut conn = sqlx::MySqlConnection::connect(server)
        .await
        .with_context(|| format!("connecting to {server}"))?;
    // A DROP waiting for the metadata lock of a killed server's connection gives up.
    sqlx::query("SET SESSION lock_wait_timeout = 10")
        .execute(&mut conn)
        .await
        .context("SET lock_wait_timeout")?;
    sqlx::query(statement)
        .execute(&mut conn)
        .await
        .with_context(|| format!("running `{statement}`"))?;
    let _ = conn.close().await;
    Ok(())
}

/// Everything the tasks of a run share.
struct Shared {
    addr: SocketAddr,
    names: Vec<Bytes>,
    /// Random per run, in every payload, so nothing from elsewhere can pass for ours.
    nonce: u64,
    ledger: Mutex<Ledger>,
    stats: Stats,
    /// Server lives so far (1 while the first runs).
    life: AtomicU64,
    /// Honest connections opened so far.
    next_conn: AtomicU64,
    /// Cancelled when the traffic must stop.
    stop: CancellationToken,
}

#[derive(Default)]
struct Stats {
    logins: AtomicU64,
    catch_ups: AtomicU64,
    honest_failures: AtomicU64,
    late_recivs: AtomicU64,
    hostile_connections: AtomicU64,
    hostile_writes: AtomicU64,
}

impl Shared {
    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

async fn soak(config: &Config, dir: &Path, url: &str) -> Result<Report> {
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(config.seed);
    let addr = free_addr()?;
    let log = dir.join("server.log");
    let mut server = Server::start(&config.server_bin, addr, url, &log).await?;

    let shared = Arc::new(Shared {
        addr,
        names: (0..config.keys.len())
            .map(|i| Bytes::from(format!("soak{i}")))
            .collect(),
        nonce: rng.next_u64(),
        ledger: Mutex::new(Ledger::default()),
        stats: Stats::default(),
        life: AtomicU64::new(1),
        next_conn: AtomicU64::new(0),
        stop: CancellationToken::new(),
    });
    register_all(&shared, &config.keys).await?;

    let drain = Arc::new(tokio::sync::Barrier::new(config.keys.len()));
    let mut honest = tokio::task::JoinSet::new();
    for (i, key) in config.keys.iter().enumerate() {
        let user = Honest {
            me: i,
            key: key.clone(),
            shared: shared.clone(),
            rng: StdRng::seed_from_u64(rng.next_u64()),
            window: config.window,
            burst_pause: config.burst_pause,
            seq: 0,
            tag: Tag::default(),
        };
        honest.spawn(user.run(drain.clone()));
    }
    let mut hostile = tokio::task::JoinSet::new();
    spawn_hostile(&mut hostile, &shared, &config.hostile, &mut rng);

    let mut kills = 0;
    let result: Result<()> = async {
        for cycle in 1..=config.cycles {
            let life = random_between(&mut rng, config.uptime.0, config.uptime.1);
            tokio::time::sleep(life).await;
            server.kill().await?;
            kills += 1;
            // Connections opened from now on talk to the next life.
            shared.life.fetch_add(1, Ordering::Relaxed);
            // Sometimes the clients find nobody listening for a moment.
            tokio::time::sleep(Duration::from_millis(rng.random_range(0..150))).await;
            server = Server::start(&config.server_bin, addr, url, &log).await?;
            if config.verbose {
                let l = shared.ledger();
                eprintln!(
                    "soak: cycle {cycle}/{}: killed after {} ms; {} sent, {} acknowledged, {} RECIVs so far ({:.0} s)",
                    config.cycles,
                    life.as_millis(),
                    l.sent.len(),
                    l.count(SendState::Acknowledged),
                    l.recivs,
                    started.elapsed().as_secs_f64()
                );
            }
        }
        // One more life without a kill at its end, then stop the traffic and collect.
        let life = random_between(&mut rng, config.uptime.0, config.uptime.1);
        tokio::time::sleep(life).await;
        Ok(())
    }
    .await;
    shared.stop.cancel();
    hostile.shutdown().await;
    if let Err(e) = result {
        honest.shutdown().await;
        return Err(e.context(format!("server log: {}", tail(&log))));
    }
    while let Some(joined) = honest.join_next().await {
        joined
            .map_err(|e| anyhow!("an honest user task failed: {e}"))?
            .context("collecting the last messages")?;
    }
    server.stop().await;

    let mut report = shared.ledger().settle();
    report.kills = kills;
    report.logins = shared.stats.logins.load(Ordering::Relaxed);
    report.catch_ups = shared.stats.catch_ups.load(Ordering::Relaxed);
    report.honest_failures = shared.stats.honest_failures.load(Ordering::Relaxed);
    report.late_recivs = shared.stats.late_recivs.load(Ordering::Relaxed);
    report.hostile_connections = shared.stats.hostile_connections.load(Ordering::Relaxed);
    report.hostile_writes = shared.stats.hostile_writes.load(Ordering::Relaxed);
    report.elapsed = started.elapsed();
    Ok(report)
}

fn random_between(rng: &mut StdRng, low: Duration, high: Duration) -> Duration {
    if high <= low {
        return low;
    }
    let span = (high - low).as_micros() as u64;
    low + Duration::from_micros(rng.random_range(0..=span))
}

/// The server's own loopback address: no client of the soak binds a source there, and other
/// programs on the machine (the other tests of the test binary, for one) bind 127.0.0.1, so
/// nobody takes the server's port in the moments between a kill and the restart.
const SERVER_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 2, 1);

/// An address that was free a moment ago (the server reuses it across restarts): a port on
/// [`SERVER_IP`], or on 127.0.0.1 if the system has no such loopback address.
fn free_addr() -> Result<SocketAddr> {
    let listener = std::net::TcpListener::bind((SERVER_IP, 0))
        .or_else(|_| std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
        .context("bind")?;
    listener.local_addr().context("local_addr")
}

/// The end of the server log, for error messages.
fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}
