//! The kill -9 soak, shared by `examples/soak.rs` (long runs) and `tests/soak.rs` (a short run
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

#[path = "wire_client.rs"]
pub mod wire_client;

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

use wire_client::{Client, bump, err_name, read_packet};

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
    let port = free_port()?;
    let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
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

/// A port on 127.0.0.1 that was free a moment ago (the server reuses it across restarts).
fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("bind")?;
    Ok(listener.local_addr().context("local_addr")?.port())
}

/// The end of the server log, for error messages.
fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

// ---------------------------------------------------------------------------------------------
// The server child

/// A running `gochat-server` process; killed with SIGKILL if dropped.
struct Server {
    child: Child,
}

impl Server {
    /// Starts the server and waits for its HELLO.
    async fn start(bin: &Path, addr: SocketAddr, url: &str, log: &Path) -> Result<Server> {
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening {}", log.display()))?;
        let mut command = Command::new(bin);
        command
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--database")
            .arg(url)
            .arg("--log")
            .arg("warn")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().context("log file")?)
            .stderr(log_file)
            .kill_on_drop(true);
        // The server's own settings come from the command line only.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("GOCHAT_") {
                command.env_remove(&name);
            }
        }
        let child = command
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let mut server = Server { child };
        let started = Instant::now();
        loop {
            if let Some(status) = server.child.try_wait().context("waiting for the server")? {
                bail!("the server exited with {status}: {}", tail(log));
            }
            if let Ok(Ok(_)) =
                tokio::time::timeout(Duration::from_secs(5), Client::connect(addr, None)).await
            {
                return Ok(server);
            }
            if started.elapsed() > START_TIMEOUT {
                bail!(
                    "the server did not answer within {} s: {}",
                    START_TIMEOUT.as_secs(),
                    tail(log)
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL, and reap.
    async fn kill(&mut self) -> Result<()> {
        self.child.kill().await.context("killing the server")
    }

    /// SIGTERM (a clean shutdown), then SIGKILL if it takes more than 10 s.
    async fn stop(mut self) {
        if let Some(pid) = self
            .child
            .id()
            .and_then(|id| rustix::process::Pid::from_raw(id as i32))
        {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The ledger

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SendState {
    /// Written, no reply yet.
    InFlight,
    /// Answered with OK.
    Acknowledged,
    /// Answered with ERR.
    Refused,
    /// The connection ended before the reply.
    Unanswered,
}

struct Sent {
    from: usize,
    to: usize,
    state: SendState,
}

#[derive(Default)]
struct Ledger {
    sent: HashMap<u64, Sent>,
    /// Copies received, by message number.
    received: HashMap<u64, Vec<Copy>>,
    /// Honest connections that ended with an error (cut by a kill, mostly).
    cut: HashSet<u64>,
    recivs: u64,
    corrupt: u64,
    problems: Vec<String>,
}

impl Ledger {
    fn count(&self, state: SendState) -> usize {
        self.sent.values().filter(|s| s.state == state).count()
    }

    fn problem(&mut self, text: String) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(text);
        }
    }

    /// Every copy but the last arrived on a connection that had started a catch-up and was
    /// then cut, each copy on its own connection and in a later server life than the one
    /// before: the server wrote the stored message, was killed before deleting it, and sent
    /// it again at the next catch-up.
    fn cut_during_catch_up(&self, copies: &[Copy]) -> bool {
        let Some((_, earlier)) = copies.split_last() else {
            return false;
        };
        let mut conns: Vec<u64> = copies.iter().map(|c| c.conn).collect();
        conns.sort_unstable();
        conns.dedup();
        conns.len() == copies.len()
            && copies.windows(2).all(|w| w[0].life < w[1].life)
            && earlier
                .iter()
                .all(|c| c.after_catch_up && self.cut.contains(&c.conn))
    }

    fn settle(&mut self) -> Report {
        let mut r = Report {
            sent: self.sent.len() as u64,
            recivs: self.recivs,
            corrupt: self.corrupt,
            ..Report::default()
        };
        // Problems that the catch-up window explains are listed after the others.
        let mut explained_problems = Vec::new();
        let mut numbers: Vec<u64> = self.sent.keys().copied().collect();
        numbers.sort_unstable();
        for number in numbers {
            let state = self.sent[&number].state;
            let received = self.received.get(&number).map_or(&[][..], Vec::as_slice);
            let acknowledged = state == SendState::Acknowledged;
            match state {
                SendState::Acknowledged => r.acknowledged += 1,
                SendState::Refused => r.refused += 1,
                SendState::Unanswered | SendState::InFlight => r.unanswered += 1,
            }
            match (received.len(), acknowledged) {
                (0, true) => {
                    r.lost += 1;
                    self.problem(format!("acknowledged message {number:#x} never arrived"));
                }
                (0, false) => {}
                (1, true) => r.delivered += 1,
                (1, false) => r.unacknowledged_delivered += 1,
                (n, _) => {
                    let explained = self.cut_during_catch_up(received);
                    let which = if acknowledged {
                        r.duplicated += 1;
                        r.duplicated_by_catch_up_kill += u64::from(explained);
                        "acknowledged".to_owned()
                    } else {
                        r.unacknowledged_duplicated += 1;
                        r.unacknowledged_duplicated_by_catch_up_kill += u64::from(explained);
                        format!("unacknowledged ({state:?})")
                    };
                    let text = format!(
                        "{which} message {number:#x} arrived {n} times: {}",
                        describe_copies(received)
                    );
                    if explained {
                        explained_problems
                            .push(format!("{text} (catch-up cut by a kill before the delete)"));
                    } else {
                        self.problem(text);
                    }
                }
            }
        }
        for text in explained_problems {
            self.problem(text);
        }
        r.problems = self.problems.clone();
        r
    }
}

/// One received copy of a message.
#[derive(Debug, Clone, Copy)]
struct Copy {
    /// The honest connection it arrived on.
    conn: u64,
    /// The server life (1 = first start, +1 at each kill) when that connection was opened.
    life: u64,
    /// Whether that connection had already got OK to a RECIV (a catch-up may be streaming).
    after_catch_up: bool,
}

fn describe_copies(copies: &[Copy]) -> String {
    copies
        .iter()
        .map(|c| {
            format!(
                "[conn {} life {}{}]",
                c.conn,
                c.life,
                if c.after_catch_up {
                    " after RECIV OK"
                } else {
                    ""
                }
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Which honest connection a packet arrived on.
#[derive(Debug, Clone, Copy, Default)]
struct Tag {
    me: usize,
    conn: u64,
    life: u64,
    catching_up: bool,
}

/// Filler bytes of message `number`: derived from it, any byte values (CR and LF included).
fn filler(number: u64, nonce: u64) -> Vec<u8> {
    let mut rng = StdRng::seed_from_u64(number ^ nonce);
    let len = rng.random_range(0..1800);
    let mut bytes = vec![0u8; len];
    rng.fill_bytes(&mut bytes);
    bytes
}

/// The payload of message `number`: `soak <nonce> <number> ` then its filler.
fn payload(number: u64, nonce: u64) -> Bytes {
    let mut out = BytesMut::new();
    out.put_slice(format!("soak {nonce:016x} {number:016x} ").as_bytes());
    out.put_slice(&filler(number, nonce));
    out.freeze()
}

/// The number in a payload made by [`payload`], if the payload is intact.
fn parse_payload(bytes: &[u8], nonce: u64) -> Option<u64> {
    let head = bytes.get(..39)?;
    let text = std::str::from_utf8(head).ok()?;
    let rest = text.strip_prefix("soak ")?;
    let (n, rest) = rest.split_at(16);
    if u64::from_str_radix(n, 16).ok()? != nonce {
        return None;
    }
    let number = u64::from_str_radix(rest.strip_prefix(' ')?.strip_suffix(' ')?, 16).ok()?;
    (bytes[39..] == filler(number, nonce)[..]).then_some(number)
}

impl Shared {
    /// Books a RECIV that arrived on the honest connection `tag`.
    fn record(&self, tag: Tag, p: &Packet) {
        let me = tag.me;
        if p.action != Action::Reciv {
            return;
        }
        let mut l = self.ledger();
        l.recivs += 1;
        let (Some(from), Some(ciphertext)) = (p.args.first(), p.args.get(2)) else {
            l.corrupt += 1;
            l.problem(format!(
                "user {me} got a RECIV with {} arguments",
                p.args.len()
            ));
            return;
        };
        let Some(number) = parse_payload(ciphertext, self.nonce) else {
            l.corrupt += 1;
            l.problem(format!(
                "user {me} got an unknown or altered payload of {} bytes from {}",
                ciphertext.len(),
                String::from_utf8_lossy(from)
            ));
            return;
        };
        let expected = l
            .sent
            .get(&number)
            .map(|s| (self.names[s.from].clone(), s.to));
        match expected {
            Some((sender, to)) if sender == *from && to == me => {
                l.received.entry(number).or_default().push(Copy {
                    conn: tag.conn,
                    life: tag.life,
                    after_catch_up: tag.catching_up,
                });
            }
            _ => {
                l.corrupt += 1;
                l.problem(format!(
                    "user {me} got message {number:#x} from {}, which it was not sent to (or not by)",
                    String::from_utf8_lossy(from)
                ));
            }
        }
    }

    fn set_state(&self, numbers: &[u64], state: SendState) {
        let mut l = self.ledger();
        for n in numbers {
            if let Some(s) = l.sent.get_mut(n) {
                s.state = state;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Honest users

async fn register_all(shared: &Shared, keys: &[Arc<PrivateKey>]) -> Result<()> {
    for (name, key) in shared.names.iter().zip(keys) {
        let mut c = Client::connect(shared.addr, None).await?;
        if let Some(code) = c.register(name, key).await? {
            bail!("REG {}: {code}", String::from_utf8_lossy(name));
        }
    }
    Ok(())
}

/// One honest user.
struct Honest {
    me: usize,
    key: Arc<PrivateKey>,
    shared: Arc<Shared>,
    rng: StdRng,
    window: usize,
    burst_pause: Duration,
    seq: u64,
    /// The current connection.
    tag: Tag,
}

impl Honest {
    /// Traffic until the stop, then (after every user stopped sending) collects the rest.
    async fn run(mut self, drain: Arc<tokio::sync::Barrier>) -> Result<()> {
        let stop = self.shared.stop.clone();
        while !stop.is_cancelled() {
            // Offline for a while.
            if self.rng.random_bool(0.5) {
                let pause = Duration::from_millis(self.rng.random_range(0..400));
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(pause) => {}
                }
            }
            match self.session(&stop).await {
                Ok(()) => {}
                Err(_) => {
                    self.shared.ledger().cut.insert(self.tag.conn);
                    self.shared
                        .stats
                        .honest_failures
                        .fetch_add(1, Ordering::Relaxed);
                    tokio::select! {
                        _ = stop.cancelled() => break,
                        _ = tokio::time::sleep(Duration::from_millis(self.rng.random_range(20..120))) => {}
                    }
                }
            }
        }
        drain.wait().await;
        self.collect().await
    }

    /// One connection: log in, catch up, bursts, then log out or drop the connection.
    async fn session(&mut self, stop: &CancellationToken) -> Result<()> {
        let mut c = self.connect_and_login(stop).await?;
        self.catch_up(&mut c).await?;
        let bursts = self.rng.random_range(1..30);
        for _ in 0..bursts {
            if stop.is_cancelled() {
                break;
            }
            self.burst(&mut c).await?;
            let pause = random_between(&mut self.rng, Duration::ZERO, self.burst_pause);
            // Live RECIVs pile up meanwhile; the next reply read collects them.
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(pause) => {}
            }
        }
        self.leave(c).await
    }

    /// Ends a session the way an honest client does: LOGOUT, then a short read for any
    /// RECIV that the server still wrote after the LOGOUT's OK (counted: see
    /// [`Report::late_recivs`]), then close. An honest client never just drops a logged-in
    /// connection: RECIVs written to it but not yet read would be lost with it, although
    /// their senders already got OK (the protocol has no delivery acknowledgement).
    async fn leave(&mut self, mut c: Client) -> Result<()> {
        self.logout(&mut c).await?;
        let until = tokio::time::Instant::now() + LOGOUT_GRACE;
        loop {
            match tokio::time::timeout_at(until, read_packet(&mut c.stream, &mut c.buf)).await {
                Err(_) | Ok(Err(_)) => return Ok(()),
                Ok(Ok(p)) => {
                    if p.action == Action::Reciv {
                        self.shared
                            .stats
                            .late_recivs
                            .fetch_add(1, Ordering::Relaxed);
                    }
                    self.shared.record(self.tag, &p);
                }
            }
        }
    }

    async fn connect_and_login(&mut self, stop: &CancellationToken) -> Result<Client> {
        let me = self.me;
        let name = self.shared.names[me].clone();
        let mut c = Client::connect(self.shared.addr, Some(honest_source(me))).await?;
        self.tag = Tag {
            me,
            conn: self.shared.next_conn.fetch_add(1, Ordering::Relaxed) + 1,
            life: self.shared.life.load(Ordering::Relaxed),
            catching_up: false,
        };
        // A session this user just dropped may linger for a moment: DUPSESS is retried.
        for _ in 0..200 {
            match c.login(&name, &self.key).await {
                Ok(()) => {
                    self.shared.stats.logins.fetch_add(1, Ordering::Relaxed);
                    return Ok(c);
                }
                Err(e) if e.to_string().contains("DUPSESS") && !stop.is_cancelled() => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => return Err(e),
            }
        }
        bail!("still logged in elsewhere")
    }

    /// RECIV until ERR_EMPTY (bounded), booking every RECIV.
    async fn catch_up(&mut self, c: &mut Client) -> Result<()> {
        let shared = self.shared.clone();
        for _ in 0..1000 {
            let tag = self.tag;
            let reply = c
                .call_with(&Request::Reciv, &mut |p| shared.record(tag, p))
                .await?;
            match reply.action {
                Action::Ok => {
                    self.tag.catching_up = true;
                    self.shared.stats.catch_ups.fetch_add(1, Ordering::Relaxed);
                }
                Action::Err if reply.info == ErrorCode::Empty.code() => return Ok(()),
                Action::Err => bail!("RECIV: {}", err_name(&reply)),
                other => bail!("RECIV: unexpected {other}"),
            }
        }
        bail!("RECIV never answered ERR_EMPTY")
    }

    async fn logout(&mut self, c: &mut Client) -> Result<()> {
        let shared = self.shared.clone();
        let tag = self.tag;
        let reply = c
            .call_with(&Request::Logout, &mut |p| shared.record(tag, p))
            .await?;
        match reply.action {
            Action::Ok => Ok(()),
            other => bail!("LOGOUT: {other} {}", err_name(&reply)),
        }
    }

    /// Up to `window` MSGs written at once, then every reply read (RECIVs booked meanwhile).
    async fn burst(&mut self, c: &mut Client) -> Result<()> {
        let n = self.rng.random_range(1..=self.window);
        let users = self.shared.names.len();
        let mut out = BytesMut::new();
        let mut pending: HashMap<u16, u64> = HashMap::new();
        {
            let mut l = self.shared.ledger();
            for _ in 0..n {
                let mut to = self.rng.random_range(0..users - 1);
                if to >= self.me {
                    to += 1;
                }
                self.seq += 1;
                let number = ((self.me as u64) << 40) | self.seq;
                let id = bump(&mut c.next_id);
                let msg = Request::Msg {
                    to: self.shared.names[to].clone(),
                    stamp: Bytes::from(encode_stamp(unix_now())),
                    ciphertext: payload(number, self.shared.nonce),
                };
                msg.to_packet(id).encode(&mut out).context("encode MSG")?;
                pending.insert(id, number);
                l.sent.insert(
                    number,
                    Sent {
                        from: self.me,
                        to,
                        state: SendState::InFlight,
                    },
                );
            }
        }
        let result = self.finish_burst(c, &out, &mut pending).await;
        if result.is_err() {
            let lost: Vec<u64> = pending.values().copied().collect();
            self.shared.set_state(&lost, SendState::Unanswered);
        }
        result
    }

    async fn finish_burst(
        &mut self,
        c: &mut Client,
        out: &[u8],
        pending: &mut HashMap<u16, u64>,
    ) -> Result<()> {
        tokio::time::timeout(IO_TIMEOUT, c.stream.write_all(out))
            .await
            .map_err(|_| anyhow!("write timed out"))?
            .context("write")?;
        while !pending.is_empty() {
            let p = tokio::time::timeout(IO_TIMEOUT, read_packet(&mut c.stream, &mut c.buf))
                .await
                .map_err(|_| anyhow!("no reply within {} s", IO_TIMEOUT.as_secs()))??;
            if p.id == 0 {
                if p.action == Action::Err {
                    bail!("server closed the connection with {}", err_name(&p));
                }
                self.shared.record(self.tag, &p);
                continue;
            }
            let Some(number) = pending.remove(&p.id) else {
                continue;
            };
            let state = match p.action {
                Action::Ok => SendState::Acknowledged,
                _ => SendState::Refused,
            };
            self.shared.set_state(&[number], state);
        }
        Ok(())
    }

    /// After the stop: a last login and catch-up, so everything stored is collected.
    async fn collect(mut self) -> Result<()> {
        let started = Instant::now();
        let never = CancellationToken::new();
        loop {
            let attempt = async {
                let mut c = self.connect_and_login(&never).await?;
                self.catch_up(&mut c).await?;
                self.leave(c).await
            }
            .await;
            match attempt {
                Ok(()) => return Ok(()),
                Err(e) if started.elapsed() > DRAIN_LOGIN_TIMEOUT => {
                    return Err(e.context(format!("user {} could not collect", self.me)));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }
}

/// Honest user `i` connects from 127.0.1.(i + 1): per-IP limits of a hardened server, meant
/// for the hostile clients on 127.0.0.2 and up, never count one user against another.
fn honest_source(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 1, (i % 250) as u8 + 1)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

// ---------------------------------------------------------------------------------------------
// Hostile clients

fn spawn_hostile(
    set: &mut tokio::task::JoinSet<()>,
    shared: &Arc<Shared>,
    hostile: &Hostile,
    rng: &mut StdRng,
) {
    let mut source = 1u8;
    let mut next_source = || {
        // 127.0.0.2 ..= 127.0.0.250, never the honest users' 127.0.0.1.
        source = if source >= 250 { 2 } else { source + 1 };
        Ipv4Addr::new(127, 0, 0, source)
    };
    let kinds = [
        (hostile.slowloris, Kind::Slowloris),
        (hostile.login_flooders, Kind::LoginFlood),
        (hostile.garbage, Kind::Garbage),
        (hostile.churners, Kind::Churn),
    ];
    for (count, kind) in kinds {
        for _ in 0..count {
            let task = HostileClient {
                kind,
                source: next_source(),
                shared: shared.clone(),
                rng: StdRng::seed_from_u64(rng.next_u64()),
            };
            set.spawn(task.run());
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Slowloris,
    LoginFlood,
    Garbage,
    Churn,
}

struct HostileClient {
    kind: Kind,
    source: Ipv4Addr,
    shared: Arc<Shared>,
    rng: StdRng,
}

impl HostileClient {
    async fn run(mut self) {
        let stop = self.shared.stop.clone();
        while !stop.is_cancelled() {
            let round = async {
                match self.kind {
                    Kind::Slowloris => self.slowloris().await,
                    Kind::LoginFlood => self.login_flood().await,
                    Kind::Garbage => self.garbage().await,
                    Kind::Churn => self.churn().await,
                }
            };
            let failed = tokio::select! {
                _ = stop.cancelled() => return,
                r = round => r.is_err(),
            };
            if failed {
                // Mostly: the server is down or closed on us, as it should.
                let pause = Duration::from_millis(self.rng.random_range(10..100));
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(pause) => {}
                }
            }
        }
    }

    async fn connect(&mut self) -> Result<TcpStream> {
        let socket = TcpSocket::new_v4()?;
        // Another loopback source address; if the system refuses, 127.0.0.1 it is.
        let _ = socket.bind(SocketAddr::new(IpAddr::V4(self.source), 0));
        let stream = tokio::time::timeout(IO_TIMEOUT, socket.connect(self.shared.addr))
            .await
            .map_err(|_| anyhow!("connect timed out"))??;
        self.shared
            .stats
            .hostile_connections
            .fetch_add(1, Ordering::Relaxed);
        Ok(stream)
    }

    async fn write(&self, stream: &mut TcpStream, bytes: &[u8]) -> Result<()> {
        tokio::time::timeout(IO_TIMEOUT, stream.write_all(bytes))
            .await
            .map_err(|_| anyhow!("write timed out"))??;
        self.shared
            .stats
            .hostile_writes
            .fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Reads and discards whatever is there for up to `wait`; `Err` once the server closed.
    async fn discard(&self, stream: &mut TcpStream, wait: Duration) -> Result<()> {
        let mut buf = [0u8; 16384];
        let until = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(until, stream.read(&mut buf)).await {
                Err(_) => return Ok(()),
                Ok(Ok(0)) => bail!("closed"),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(e.into()),
            }
        }
    }

    /// A valid MSG header announcing a long payload, then its bytes one at a time.
    async fn slowloris(&mut self) -> Result<()> {
        let mut s = self.connect().await?;
        let packet = Request::Msg {
            to: Bytes::from_static(b"soak0"),
            stamp: Bytes::from(encode_stamp(unix_now())),
            ciphertext: Bytes::from(vec![b'x'; 1500]),
        }
        .to_packet(1)
        .to_bytes()?;
        let bytes = self.rng.random_range(20..60);
        for &b in packet.iter().take(bytes) {
            self.write(&mut s, &[b]).await?;
            let pause = Duration::from_millis(self.rng.random_range(50..400));
            self.discard(&mut s, pause).await?;
        }
        Ok(())
    }

    /// LOGIN for honest names (online or not) in bursts, challenges left unanswered or
    /// answered wrongly.
    async fn login_flood(&mut self) -> Result<()> {
        let mut s = self.connect().await?;
        let mut id = 1u16;
        for _ in 0..self.rng.random_range(5..40) {
            let mut out = BytesMut::new();
            for _ in 0..self.rng.random_range(1..40) {
                let name =
                    self.shared.names[self.rng.random_range(0..self.shared.names.len())].clone();
                let request = if self.rng.random_bool(0.8) {
                    Request::Login {
                        username: name,
                        token: None,
                    }
                } else {
                    Request::Verif {
                        username: name,
                        answer: Bytes::from(vec![7u8; 32]),
                    }
                };
                request.to_packet(bump(&mut id)).encode(&mut out)?;
            }
            self.write(&mut s, &out).await?;
            let pause = Duration::from_millis(self.rng.random_range(5..50));
            self.discard(&mut s, pause).await?;
        }
        Ok(())
    }

    /// Random bytes, sometimes after a plausible header; then read until the server closes.
    async fn garbage(&mut self) -> Result<()> {
        let mut s = self.connect().await?;
        let mut bytes = vec![0u8; self.rng.random_range(1..4096)];
        self.rng.fill_bytes(&mut bytes);
        if self.rng.random_bool(0.5) {
            // A header that claims the largest payload, or an unauthenticated RECIV.
            let head = if self.rng.random_bool(0.5) {
                Packet::new(Action::Reciv, 3).to_bytes()?.to_vec()
            } else {
                let mut h = Request::Keep.to_packet(0).to_bytes()?.to_vec();
                h[2] |= 0x3F;
                h
            };
            bytes.splice(0..0, head);
        }
        self.write(&mut s, &bytes).await?;
        let wait = Duration::from_millis(self.rng.random_range(50..500));
        self.discard(&mut s, wait).await
    }

    /// Connect and close at once, half of the time with RST.
    async fn churn(&mut self) -> Result<()> {
        let s = self.connect().await?;
        if self.rng.random_bool(0.5) {
            let _ = s.set_zero_linger();
        }
        drop(s);
        tokio::time::sleep(Duration::from_millis(self.rng.random_range(0..20))).await;
        Ok(())
    }
}
