//! Catch-up benchmark (issue 16): real daemons against a real server, in one process.
//!
//! For each N given on the command line (default 1000 and 10000):
//! 1. bob logs out; alice logs out and queues N messages to bob;
//! 2. alice logs in: the time until all N are SENT is the **outbox drain rate**;
//! 3. bob logs in: the time until all N `MessageReceived` events arrived (each is announced
//!    only once durable) is the **catch-up rate**; meanwhile bob's daemon is asked for its
//!    `Status` every 20 ms and the slowest answer is reported.
//!
//! The machine's RSA-4096 decrypt limit is measured in the same run (one decrypting thread
//! per core), for 2 s just before and just after each catch-up (other load on the machine
//! moves it), and the catch-up is reported as a share of their mean. Because other load moves
//! that limit, the run also reports how much CPU the process used during the catch-up and
//! which share of it was RSA decryption (N times the CPU time of one decryption).
//!
//! ```text
//! cargo run --release -p gochatd --example catchup-bench -- 1000 10000
//! ```
//! `GOCHATD_BENCH_WORKERS=n` sets bob's decrypt pool size (default: the number of cores).

#![allow(missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures::StreamExt;
use gochat_proto::crypto::{EncryptingKey, PrivateKey};
use gochat_proto::ipc::{self, AccountRef, DaemonClient, event};
use gochatd::config::DaemonConfig;
use gochatd::daemon::Daemon;
use gochatd::store::Store;

struct Bench {
    client: DaemonClient,
    _daemon: Arc<Daemon>,
    _dir: tempfile::TempDir,
}

async fn start_server(dir: &std::path::Path) -> Result<std::net::SocketAddr> {
    let config = gochat_server::config::Config {
        listen: Some("127.0.0.1:0".parse()?),
        database: Some(format!("sqlite://{}", dir.join("server.db").display())),
        motd: "bench".into(),
        // Nothing but the machine limits the run.
        msg_rate: 0,
        mailbox_max_messages: 0,
        mailbox_max_bytes: 0,
        ..Default::default()
    };
    let server = gochat_server::server::Server::start(config)
        .await
        .context("server starts")?;
    let addr = server.plain_addr.context("a plain listener")?;
    tokio::spawn(server.run());
    Ok(addr)
}

async fn start_daemon(workers: Option<usize>) -> Result<Bench> {
    let dir = tempfile::tempdir()?;
    let socket = dir.path().join("run").join("gochatd.sock");
    let config = DaemonConfig {
        socket: Some(socket.clone()),
        database: Some(dir.path().join("data").join("gochatd.db")),
        decrypt_workers: workers,
        ..Default::default()
    };
    let bound = gochatd::socket::bind(&socket).await?;
    let store = Store::open(&config.database_path()).await?;
    let daemon = Daemon::start(store, config).await?;
    let serving = daemon.clone();
    tokio::spawn(async move { gochatd::run::serve(serving, bound).await });
    let client = ipc::connect(&socket).await?;
    Ok(Bench {
        client,
        _daemon: daemon,
        _dir: dir,
    })
}

async fn setup(d: &mut Bench, addr: std::net::SocketAddr, name: &str) -> Result<()> {
    d.client
        .add_server(ipc::ServerProfile {
            name: "local".into(),
            host: addr.ip().to_string(),
            port: u32::from(addr.port()),
            ..Default::default()
        })
        .await?;
    d.client
        .register(ipc::RegisterRequest {
            account: Some(AccountRef {
                server: String::new(),
                username: name.into(),
            }),
            passphrase: String::new(),
        })
        .await
        .with_context(|| format!("register {name}"))?;
    Ok(())
}

/// CPU seconds (user + system) used so far by the process (`/proc/self/stat`) or by the
/// calling thread (`/proc/thread-self/stat`), in 10 ms ticks.
fn cpu_seconds(path: &str) -> f64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// CPU time of one RSA-4096 OAEP decryption, measured on one thread for `secs` seconds.
fn decrypt_cpu(key: &Arc<PrivateKey>, secs: f64) -> Result<f64> {
    let enc = EncryptingKey::new(key.public_key())?;
    let ct = enc.encrypt(b"hello bob, you were away")?;
    let key = key.clone();
    std::thread::spawn(move || {
        let (start, cpu) = (Instant::now(), cpu_seconds("/proc/thread-self/stat"));
        let mut n = 0u32;
        while start.elapsed().as_secs_f64() < secs {
            let _ = key.decrypt(&ct);
            n += 1;
        }
        (cpu_seconds("/proc/thread-self/stat") - cpu) / f64::from(n.max(1))
    })
    .join()
    .map_err(|_| anyhow::anyhow!("measuring thread failed"))
}

/// RSA-4096 OAEP decryptions per second with one thread per core, for `secs` seconds.
fn decrypt_limit(key: &Arc<PrivateKey>, threads: usize, secs: f64) -> Result<f64> {
    let enc = EncryptingKey::new(key.public_key())?;
    let ct = Arc::new(enc.encrypt(b"hello bob, you were away")?);
    let start = Instant::now();
    let done = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (key, ct) = (key.clone(), ct.clone());
                s.spawn(move || {
                    let mut n = 0u64;
                    while start.elapsed().as_secs_f64() < secs {
                        let _ = key.decrypt(&ct);
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(0))
            .sum::<u64>()
    });
    Ok(done as f64 / start.elapsed().as_secs_f64())
}

/// Counts events of one kind until `n` were seen.
async fn count_events(
    mut events: tonic::Streaming<ipc::Event>,
    n: usize,
    wanted: impl Fn(&event::Kind) -> bool,
) -> Result<()> {
    let mut seen = 0;
    while seen < n {
        let ev = tokio::time::timeout(Duration::from_secs(120), events.message())
            .await
            .context("no event for 120 s")??
            .context("event stream ended")?;
        if ev.kind.as_ref().is_some_and(&wanted) {
            seen += 1;
        }
    }
    Ok(())
}

/// One round's figures.
struct Round {
    drain: f64,
    catch_up: f64,
    slowest_status: Duration,
    /// The decrypt limit measured just before and just after the catch-up (other load on the
    /// machine moves it), averaged.
    limit: f64,
    /// CPU seconds the whole process (server, both daemons, this client) used per second of
    /// the catch-up.
    cpu_per_second: f64,
    /// CPU seconds the process used during the catch-up.
    cpu: f64,
}

async fn round(
    alice: &mut Bench,
    bob: &mut Bench,
    n: usize,
    limit: impl Fn() -> Result<f64>,
) -> Result<Round> {
    let me = AccountRef::default();
    bob.client.logout(me.clone()).await?;
    alice.client.logout(me.clone()).await?;
    // Queue N sends (a few RPCs in flight at once).
    let queue = alice.client.clone();
    let queued = futures::stream::iter(0..n)
        .map(|i| {
            let mut c = queue.clone();
            async move {
                c.send(ipc::SendRequest {
                    account: None,
                    to: "bob".into(),
                    text: format!("message {i} while you were away"),
                    wait: false,
                })
                .await
            }
        })
        .buffer_unordered(16)
        .filter(|r| futures::future::ready(r.is_err()))
        .count()
        .await;
    if queued > 0 {
        bail!("{queued} sends were refused");
    }

    // Outbox drain.
    let events = alice
        .client
        .subscribe(ipc::SubscribeRequest { since: 0 })
        .await?
        .into_inner();
    let start = Instant::now();
    alice.client.login(me.clone()).await?;
    count_events(events, n, |k| {
        matches!(k, event::Kind::MessageUpdated(m) if m.state == ipc::MessageState::Sent as i32)
    })
    .await?;
    let drain = n as f64 / start.elapsed().as_secs_f64();

    // Catch-up, with Status asked every 20 ms.
    let before = limit()?;
    let events = bob
        .client
        .subscribe(ipc::SubscribeRequest { since: 0 })
        .await?
        .into_inner();
    let stop = Arc::new(AtomicBool::new(false));
    let slowest = Arc::new(AtomicU64::new(0));
    let probe = {
        let (stop, slowest, mut c) = (stop.clone(), slowest.clone(), bob.client.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let asked = Instant::now();
                let _ = c.status(ipc::Empty {}).await;
                slowest.fetch_max(asked.elapsed().as_micros() as u64, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let (start, cpu) = (Instant::now(), cpu_seconds("/proc/self/stat"));
    bob.client.login(me.clone()).await?;
    let unreadable = Arc::new(AtomicU64::new(0));
    let seen = unreadable.clone();
    count_events(events, n, move |k| match k {
        event::Kind::MessageReceived(m) => {
            if !m.error.is_empty() {
                seen.fetch_add(1, Ordering::Relaxed);
            }
            true
        }
        _ => false,
    })
    .await?;
    let wall = start.elapsed().as_secs_f64();
    let catch_up = n as f64 / wall;
    let cpu = cpu_seconds("/proc/self/stat") - cpu;
    let unreadable = unreadable.load(Ordering::Relaxed);
    if unreadable > 0 {
        bail!("{unreadable} messages did not decrypt");
    }
    stop.store(true, Ordering::Relaxed);
    let _ = probe.await;
    // Let the catch-up's end (its last progress event) pass before measuring again.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = limit()?;
    Ok(Round {
        drain,
        catch_up,
        slowest_status: Duration::from_micros(slowest.load(Ordering::Relaxed)),
        limit: (before + after) / 2.0,
        cpu_per_second: cpu / wall,
        cpu,
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().context("message counts"))
        .collect::<Result<_>>()?;
    let sizes = if sizes.is_empty() {
        vec![1000, 10_000]
    } else {
        sizes
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = std::env::var("GOCHATD_BENCH_WORKERS")
        .ok()
        .and_then(|w| w.parse().ok());

    let key = Arc::new(
        tokio::task::spawn_blocking(PrivateKey::generate)
            .await?
            .context("RSA key")?,
    );
    let per_decrypt = decrypt_cpu(&key, 3.0)?;
    let single = decrypt_limit(&key, 1, 3.0)?;
    let limit = decrypt_limit(&key, cores, 3.0)?;
    println!(
        "machine: {cores} cores; RSA-4096 decrypt: {single:.0}/s on 1 thread, {limit:.0}/s on \
         {cores}; {:.2} ms of CPU each",
        per_decrypt * 1000.0
    );

    let server_dir = tempfile::tempdir()?;
    let addr = start_server(server_dir.path()).await?;
    let mut alice = start_daemon(None).await?;
    let mut bob = start_daemon(workers).await?;
    setup(&mut alice, addr, "alice").await?;
    setup(&mut bob, addr, "bob").await?;
    for n in sizes {
        let r = round(&mut alice, &mut bob, n, || decrypt_limit(&key, cores, 2.0)).await?;
        println!(
            "n={n}: outbox drain {:.0} msg/s; catch-up {:.0} msg/s = {:.0} % of the {cores}-core \
             decrypt limit measured around it ({:.0}/s); slowest Status during catch-up {} ms",
            r.drain,
            r.catch_up,
            100.0 * r.catch_up / r.limit,
            r.limit,
            r.slowest_status.as_millis()
        );
        println!(
            "       process CPU during the catch-up: {:.2} cores busy; decryption {:.0} % of it \
             (n x {:.2} ms / {:.1} s)",
            r.cpu_per_second,
            100.0 * n as f64 * per_decrypt / r.cpu,
            per_decrypt * 1000.0,
            r.cpu
        );
    }
    let after = decrypt_limit(&key, cores, 3.0)?;
    println!("RSA-4096 decrypt limit after the run: {after:.0}/s on {cores} threads");
    Ok(())
}
