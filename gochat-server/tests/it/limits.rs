//! The internet-facing limits over real sockets: the login deadline, the per-IP connection
//! limit, the bounded wait queue (waiters time out, and one whose peer closes frees its fd
//! at once), the whole-packet idle timer, the per-IP connect and LOGIN/REG rates, and the
//! log line and per-connection cap for failed logins.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use gochat_testkit::wire::{WireError, read_packet};
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use crate::common::{self, Backend, Client, Options, TestServer, assert_err, key, login_req};
use bytes::{Bytes, BytesMut};
use gochat_proto::wire::{Action, ErrorCode, Packet, Request, UserList};
use gochat_server::metrics::Limit;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};

both_backends!(
    login_and_reg_are_rate_limited_per_ip,
    failed_logins_are_logged_without_secrets,
    too_many_failed_logins_close_the_connection,
);

/// Longest wait for a state the server reaches on its own.
const STATE_TIMEOUT: Duration = Duration::from_secs(15);

/// Polls `cond` until it holds, failing with `what` after [`STATE_TIMEOUT`].
async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    gochat_testkit::wait::wait_until(what, STATE_TIMEOUT, || std::future::ready(cond()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

/// A plain TCP connection from `from` (a loopback address) or the default source.
async fn connect_from(addr: SocketAddr, from: Option<IpAddr>) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    if let Some(ip) = from {
        socket.bind(SocketAddr::new(ip, 0)).expect("bind source");
    }
    let stream = socket.connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    stream
}

/// The next packet the server sends, `None` once it closed (or reset) the connection.
async fn next_packet(stream: &mut TcpStream, buf: &mut BytesMut) -> Option<Packet> {
    let read = tokio::time::timeout(STATE_TIMEOUT, read_packet(stream, buf))
        .await
        .expect("the server sends or closes in time");
    match read {
        Ok(p) => Some(p),
        Err(WireError::Frame(e)) => panic!("the server sent a malformed packet: {e}"),
        Err(_) => None,
    }
}

/// Asserts that a connection gets no HELLO: at most an `ERR(SERVER)` with ID 0, then the close.
async fn expect_refused(stream: &mut TcpStream, what: &str) {
    let mut buf = BytesMut::new();
    if let Some(p) = next_packet(stream, &mut buf).await {
        assert_err(&p, ErrorCode::Server, what);
        assert_eq!(p.id, 0, "{what}: the refusal uses ID 0");
        assert!(
            next_packet(stream, &mut buf).await.is_none(),
            "{what}: closed after the refusal"
        );
    }
}

/// Asserts that the server greets a connection with HELLO.
async fn expect_hello(stream: &mut TcpStream, what: &str) {
    let p = next_packet(stream, &mut BytesMut::new())
        .await
        .unwrap_or_else(|| panic!("{what}: closed instead of HELLO"));
    assert_eq!(p.action, Action::Hello, "{what}: {p:?}");
}

fn bytes_of(request: Request, id: u16) -> Bytes {
    request.to_packet(id).to_bytes().expect("encodes")
}

fn keep(id: u16) -> Bytes {
    Packet::new(Action::Keep, id).to_bytes().expect("encodes")
}

/// File descriptors this process (test and server) holds now for TCP sockets with `port` at
/// either end: the server's listener and both ends of its connections. Other tests of the
/// binary, running beside this one, open and close sockets of their own; they are not counted.
fn open_fds(port: u16) -> usize {
    let inodes: std::collections::HashSet<u64> = std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter_map(|link| {
            let link = link.to_str()?.to_owned();
            link.strip_prefix("socket:[")?
                .strip_suffix(']')?
                .parse()
                .ok()
        })
        .collect();
    ["/proc/self/net/tcp", "/proc/self/net/tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .map(|text| {
            text.lines()
                .skip(1)
                .filter(|line| {
                    let fields: Vec<&str> = line.split_whitespace().collect();
                    let has_port = |field: Option<&&str>| {
                        field
                            .and_then(|f| f.rsplit_once(':'))
                            .and_then(|(_, p)| u16::from_str_radix(p, 16).ok())
                            == Some(port)
                    };
                    let inode = fields.get(9).and_then(|i| i.parse::<u64>().ok());
                    (has_port(fields.get(1)) || has_port(fields.get(2)))
                        && inode.is_some_and(|i| inodes.contains(&i))
                })
                .count()
        })
        .sum()
}

fn hits(s: &TestServer, limit: Limit) -> u64 {
    s.probe().metrics().limit_hits(limit)
}

async fn start(tweak: fn(&mut gochat_server::config::Config)) -> TestServer {
    TestServer::start_with(
        Backend::Sqlite,
        Options {
            tweak,
            ..Options::default()
        },
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Connection limits (no storage involved: SQLite only)
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_deadline_closes_connections_that_do_not_log_in() {
    let s = start(|c| c.login_grace_secs = 3).await;
    // An honest client logs in at once and stays past the deadline.
    let mut honest = s.user("grace", key(0)).await;
    // A client that only sends KEEP is closed at the deadline: KEEP does not extend it.
    let mut silent = connect_from(s.plain, None).await;
    expect_hello(&mut silent, "silent client").await;
    let (mut read, mut write) = silent.into_split();
    let keeper = tokio::spawn(async move {
        for id in 1..=1000u16 {
            if write.write_all(&keep(id)).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut buf = BytesMut::new();
    let mut packets = Vec::new();
    loop {
        let next = tokio::time::timeout(STATE_TIMEOUT, read_packet(&mut read, &mut buf))
            .await
            .expect("the silent client is closed in time");
        match next {
            Ok(p) => packets.push(p),
            Err(WireError::Frame(e)) => panic!("malformed: {e}"),
            Err(_) => break,
        }
    }
    keeper.abort();
    assert_eq!(packets.len(), 1, "one ERR, then the close: {packets:?}");
    assert_err(
        &packets[0],
        ErrorCode::Idle,
        "not logged in within the grace time",
    );
    assert_eq!(packets[0].id, 0);
    assert_eq!(hits(&s, Limit::LoginGrace), 1);
    // The honest client connected before the silent one, so its deadline passed too.
    let reply = honest.call(Request::Users(UserList::Online)).await;
    assert_eq!(reply.action, Action::Usrs, "{reply:?}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_ip_connection_limit() {
    let s = start(|c| {
        c.max_per_ip = 3;
        c.connects_per_minute_per_ip = 0;
    })
    .await;
    let mut held = Vec::new();
    for i in 0..3 {
        let mut c = connect_from(s.plain, None).await;
        expect_hello(&mut c, &format!("connection {i}")).await;
        held.push(c);
    }
    let mut fourth = connect_from(s.plain, None).await;
    expect_refused(&mut fourth, "a 4th connection from one IP").await;
    assert_eq!(hits(&s, Limit::PerIp), 1);
    // Another address has its own count.
    let mut other = connect_from(s.plain, Some("127.0.0.2".parse().expect("ip"))).await;
    expect_hello(&mut other, "another IP").await;
    // Closing one frees its place (once the server has seen the close).
    drop(held.pop());
    let plain = s.plain;
    gochat_testkit::wait::wait_until("the place to be freed", STATE_TIMEOUT, || async move {
        let mut c = connect_from(plain, None).await;
        let mut buf = BytesMut::new();
        matches!(next_packet(&mut c, &mut buf).await, Some(p) if p.action == Action::Hello)
    })
    .await
    .expect("place freed");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiters_whose_peer_closes_free_their_fd_at_once() {
    const WAITERS: usize = 300;
    let s = start(|c| {
        c.max_clients = 1;
        c.max_waiting = 1000;
        c.wait_timeout_secs = 600;
        c.max_per_ip = 10_000;
        c.connects_per_minute_per_ip = 0;
    })
    .await;
    let mut served = connect_from(s.plain, None).await;
    expect_hello(&mut served, "the one served connection").await;
    let base = open_fds(s.plain.port());
    let mut waiters = Vec::new();
    for _ in 0..WAITERS {
        waiters.push(connect_from(s.plain, None).await);
    }
    let probe = s.probe();
    wait_until("every connection waits", || {
        probe.admission().waiting() == WAITERS
    })
    .await;
    assert!(
        open_fds(s.plain.port()) >= base + 2 * WAITERS,
        "both ends of each waiter are open"
    );
    drop(waiters);
    wait_until("the server dropped every waiter", || {
        probe.admission().waiting() == 0
    })
    .await;
    // Both ends are gone: the server holds no fd for a waiter whose peer left (the margin
    // stays far below WAITERS).
    wait_until("the waiters' fds are closed", || {
        open_fds(s.plain.port()) < base + 50
    })
    .await;
    // The slot still goes to the next client.
    drop(served);
    let mut next = connect_from(s.plain, None).await;
    expect_hello(&mut next, "the next client").await;
    drop(probe);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_queue_is_bounded_and_waiters_time_out() {
    let s = start(|c| {
        c.max_clients = 1;
        c.max_waiting = 2;
        c.wait_timeout_secs = 2;
        c.connects_per_minute_per_ip = 0;
    })
    .await;
    let mut served = connect_from(s.plain, None).await;
    expect_hello(&mut served, "the served connection").await;
    let mut w1 = connect_from(s.plain, None).await;
    let mut w2 = connect_from(s.plain, None).await;
    let probe = s.probe();
    wait_until("two connections wait", || probe.admission().waiting() == 2).await;
    // The queue is full: the next one is refused at once, not after the wait timeout.
    let started = tokio::time::Instant::now();
    let mut third = connect_from(s.plain, None).await;
    expect_refused(&mut third, "a connection beyond the queue").await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "refused at once, not at the wait timeout ({:?})",
        started.elapsed()
    );
    assert_eq!(hits(&s, Limit::QueueFull), 1);
    // The waiters get no slot within 2 s: refused and closed.
    expect_refused(&mut w1, "waiter 1 after the wait timeout").await;
    expect_refused(&mut w2, "waiter 2 after the wait timeout").await;
    assert_eq!(hits(&s, Limit::WaitTimeout), 2);
    assert_eq!(probe.admission().waiting(), 0);
    drop(served);
    let mut next = connect_from(s.plain, None).await;
    expect_hello(&mut next, "a client once the slot is free").await;
    drop(probe);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_timer_counts_whole_packets_not_bytes() {
    let s = start(|c| {
        c.idle_timeout_secs = 2;
        c.login_grace_secs = 3600;
    })
    .await;
    let mut stream = connect_from(s.plain, None).await;
    expect_hello(&mut stream, "slowloris").await;
    let (mut read, mut write) = stream.into_split();
    // A LOGIN trickled one byte every 200 ms takes several times the idle timeout.
    let packet = bytes_of(login_req("slowlorisslowlorisslowloris"), 1);
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    let trickle = tokio::spawn(async move {
        for b in packet.iter() {
            if write.write_all(&[*b]).await.is_err() {
                return;
            }
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let mut buf = BytesMut::new();
    let first = tokio::time::timeout(STATE_TIMEOUT, read_packet(&mut read, &mut buf))
        .await
        .expect("answer in time")
        .unwrap_or_else(|e| panic!("closed without ERR(IDLE): {e:?}"));
    assert_err(&first, ErrorCode::Idle, "a trickled packet");
    assert_eq!(first.id, 0);
    let total = bytes_of(login_req("slowlorisslowlorisslowloris"), 1).len();
    assert!(
        sent.load(Ordering::SeqCst) < total,
        "closed before the packet was complete"
    );
    assert!(hits(&s, Limit::Idle) >= 1);
    trickle.abort();
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connects_are_rate_limited_per_ip() {
    let s = start(|c| {
        c.connect_burst_per_ip = 3;
        c.connects_per_minute_per_ip = 1;
    })
    .await;
    for i in 0..3 {
        let mut c = connect_from(s.plain, None).await;
        expect_hello(&mut c, &format!("connect {i} of the burst")).await;
    }
    let mut over = connect_from(s.plain, None).await;
    expect_refused(&mut over, "a connect over the rate").await;
    assert_eq!(hits(&s, Limit::ConnectRate), 1);
    // Another address has its own bucket.
    let mut other = connect_from(s.plain, Some("127.0.0.3".parse().expect("ip"))).await;
    expect_hello(&mut other, "another IP").await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limit_hits_are_exported_for_prometheus() {
    let s = start(|c| {
        c.max_per_ip = 1;
        c.connects_per_minute_per_ip = 0;
    })
    .await;
    let mut first = connect_from(s.plain, None).await;
    expect_hello(&mut first, "the first connection").await;
    let mut second = connect_from(s.plain, None).await;
    expect_refused(&mut second, "over the per-IP limit").await;
    let probe = s.probe();
    let text = probe.metrics_text();
    assert!(
        text.contains("# TYPE gochat_limit_rejections_total counter"),
        "{text}"
    );
    assert!(
        text.contains("gochat_limit_rejections_total{reason=\"per_ip\"} 1\n"),
        "{text}"
    );
    for limit in Limit::ALL {
        assert!(
            text.contains(&format!("{{reason=\"{}\"}}", limit.label())),
            "{limit:?} is exported"
        );
    }
    assert!(text.contains("gochat_connections_waiting 0\n"), "{text}");
    assert!(text.contains("gochat_login_failures_total 0\n"), "{text}");
    drop(probe);
    s.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Logins (storage involved: both backends)
// ---------------------------------------------------------------------------------------------

fn unique(prefix: &str) -> String {
    format!("{prefix}{:08x}", rand::random::<u32>())
}

async fn login_and_reg_are_rate_limited_per_ip(backend: Backend) {
    let s = TestServer::start_with(
        backend,
        Options {
            tweak: |c| {
                c.auth_burst_per_ip = 3;
                c.auth_per_minute_per_ip = 1;
                c.max_auth_failures = 100;
            },
            ..Options::default()
        },
    )
    .await;
    // REG and LOGIN take a token each; the VERIF answering the connection's own challenge
    // does not.
    let mut honest = s.connect().await;
    honest.register("ratealice", key(0)).await;
    honest.login("ratealice", key(0)).await;
    let mut c = s.connect().await;
    c.err(login_req("ratenobody"), ErrorCode::NotFound).await;
    // The bucket is empty: LOGIN and REG are refused with ERR(SERVER), the connection stays.
    c.err(login_req("ratenobody"), ErrorCode::Server).await;
    c.err(
        Request::Reg {
            username: Bytes::from_static(b"ratebob"),
            public_key: common::pem(key(1)),
        },
        ErrorCode::Server,
    )
    .await;
    c.err(Request::Users(UserList::All), ErrorCode::NoSess)
        .await;
    // The limit is per IP, not per connection.
    let mut again = s.connect().await;
    again.err(login_req("ratealice"), ErrorCode::Server).await;
    assert_eq!(hits(&s, Limit::AuthRate), 3);
    // Nothing was registered while limited.
    assert!(s.store.user(b"ratebob").await.expect("lookup").is_none());
    s.stop().await;
}

/// Log lines written by the servers in this test process. The subscriber is global: once
/// installed, every server of the test binary logs here, so a test looks only for the lines
/// carrying its own (random) user names.
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = buf.clone();
        let _ = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || LogSink(sink.clone()))
            .try_init();
        buf
    })
    .clone()
}

struct LogSink(Arc<Mutex<Vec<u8>>>);

impl Write for LogSink {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn log_text(logs: &Mutex<Vec<u8>>) -> String {
    String::from_utf8_lossy(&logs.lock().expect("log buffer")).into_owned()
}

async fn failed_logins_are_logged_without_secrets(backend: Backend) {
    let logs = captured_logs();
    let s = TestServer::start(backend).await;
    let victim = unique("victim");
    let nobody = unique("nobody");
    let evil = unique("ev\nil");
    let mut c = s.connect().await;
    c.register(&victim, key(0)).await;
    let answer = c.challenge(&victim, key(0)).await;
    let wrong = unique("wronganswer");
    c.err(
        Client::verif(&victim, wrong.as_bytes()),
        ErrorCode::Handshake,
    )
    .await;
    c.err(login_req(&nobody), ErrorCode::NotFound).await;
    c.err(login_req(&evil), ErrorCode::NotFound).await;
    let escaped = evil.replace('\n', "\\n");
    wait_until("three failed logins are logged", || {
        let text = log_text(&logs);
        [&victim, &nobody, &escaped]
            .iter()
            .all(|name| text.contains(&format!("user={name}")))
    })
    .await;
    let text = log_text(&logs);
    let line = |name: &str| {
        text.lines()
            .find(|l| l.contains(&format!("user={name}")) && l.contains("login failed"))
            .unwrap_or_else(|| panic!("no failed-login line for {name}:\n{text}"))
            .to_owned()
    };
    let verif = line(&victim);
    assert!(verif.contains("ip=127.0.0.1"), "{verif}");
    assert!(
        verif.contains("ERR_HANDSHAKE") && verif.contains("VERIF"),
        "{verif}"
    );
    let unknown = line(&nobody);
    assert!(
        unknown.contains("ERR_NOTFOUND") && unknown.contains("LOGIN"),
        "{unknown}"
    );
    line(&escaped);
    // The raw newline from the network never splits a log line.
    let tail = &evil[evil.find('\n').expect("newline") + 1..];
    assert!(
        !text.lines().any(|l| l.starts_with(tail)),
        "a network byte started a log line"
    );
    // No secret: neither the challenge, nor the answer sent.
    let answer = String::from_utf8_lossy(&answer).into_owned();
    assert!(!text.contains(&answer), "the challenge reached the log");
    assert!(!text.contains(&wrong), "the VERIF answer reached the log");
    assert_eq!(
        s.probe().metrics().login_failures.load(Ordering::Relaxed),
        3
    );
    s.stop().await;
}

async fn too_many_failed_logins_close_the_connection(backend: Backend) {
    let s = TestServer::start_with(
        backend,
        Options {
            tweak: |c| c.max_auth_failures = 3,
            ..Options::default()
        },
    )
    .await;
    let mut c = s.connect().await;
    c.register("triesalice", key(0)).await;
    // Unknown names are logged but do not count towards the cap.
    for _ in 0..5 {
        c.err(login_req("triesnobody"), ErrorCode::NotFound).await;
    }
    // Wrong answers do.
    for _ in 0..2 {
        let _ = c.challenge("triesalice", key(0)).await;
        c.err(Client::verif("triesalice", b"wrong"), ErrorCode::Handshake)
            .await;
    }
    let _ = c.challenge("triesalice", key(0)).await;
    let id = c.send(Client::verif("triesalice", b"wrong again")).await;
    assert_err(&c.reply(id).await, ErrorCode::Handshake, "3rd wrong answer");
    let after = c.closed().await;
    assert_eq!(after.len(), 1, "one ERR, then the close: {after:?}");
    assert_err(&after[0], ErrorCode::Login, "after 3 failed proofs");
    assert_eq!(after[0].id, 0);
    assert_eq!(hits(&s, Limit::AuthFailures), 1);
    // Other connections are not affected.
    let mut other = s.connect().await;
    other.login("triesalice", key(0)).await;
    s.stop().await;
}
