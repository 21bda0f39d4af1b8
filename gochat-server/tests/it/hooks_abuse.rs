//! Hooks are notifications, never a way to disconnect someone: a flood of `LOGIN <victim>`
//! (each one a DUPSESS hook) and a login/logout loop (NEWLOGIN/NEWLOGOUT to every
//! subscriber) leave a subscriber that is not reading connected, with a bounded number of
//! hooks, and it still gets its messages.

use std::time::{Duration, Instant};

use crate::common::{Backend, Client, Options, TestServer, key, login_req};
use bytes::Bytes;
use gochat_proto::wire::{Action, ErrorCode, Hook, Request};
use gochat_testkit::wire::read_packet;
use tokio::io::AsyncWriteExt;

/// `LOGIN victim` packets the attacker sends.
const DUPSESS_FLOOD: usize = 100_000;
/// Login/logout cycles of the second attacker account.
const LOGIN_LOOPS: usize = 400;

/// A client whose socket buffers the kernel keeps small, so that what the server sends it
/// piles up in the server's queue as soon as it stops reading.
async fn small_buffer_client(addr: std::net::SocketAddr) -> Client {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let stream = socket.connect(addr).await.expect("connect");
    Client::over(Box::new(stream)).await
}

/// Sends `count` `LOGIN victim` packets on a fresh connection that never logs in, and
/// reads the replies meanwhile; returns once every reply came (or the server closed it).
async fn flood_logins(addr: std::net::SocketAddr, victim: &str, count: usize) -> usize {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (read, mut write) = stream.into_split();
    let packet = login_req(victim).to_packet(7).to_bytes().expect("encode");
    let writer = tokio::spawn(async move {
        let mut chunk = Vec::with_capacity(packet.len() * 1000);
        for _ in 0..1000 {
            chunk.extend_from_slice(&packet);
        }
        for _ in 0..count / 1000 {
            if write.write_all(&chunk).await.is_err() {
                break;
            }
        }
        write
    });
    let mut read = read;
    let mut buf = bytes::BytesMut::new();
    let mut dupsess = 0;
    // HELLO first, then one reply per LOGIN; anything but ERR_DUPSESS means the victim is
    // no longer online.
    while let Ok(p) = read_packet(&mut read, &mut buf).await {
        if p.action == Action::Hello {
            continue;
        }
        if p.action != Action::Err || p.info != ErrorCode::DupSess.code() {
            break;
        }
        dupsess += 1;
        if dupsess == count {
            break;
        }
    }
    writer.abort();
    dupsess
}

async fn flood_leaves_subscriber_connected(backend: Backend) {
    let ts = TestServer::start_with(
        backend,
        Options {
            tls: true,
            tweak: |c| {
                // A small queue, so that a non-reading peer would be dropped quickly.
                c.outbound_queue = 64;
                c.hook_rate = 20;
                c.hook_burst = 50;
                // The per-IP LOGIN rate limit (limits.rs) would stop the flood early:
                // lift it, so the hook path alone has to hold.
                c.auth_per_minute_per_ip = 0;
                c.max_auth_failures = u32::MAX;
            },
        },
    )
    .await;
    let (rate, burst) = (ts.config.hook_rate, ts.config.hook_burst);

    // The victim subscribes to every hook, as gochatd does.
    let mut victim = small_buffer_client(ts.plain).await;
    victim.register("victim", key(0)).await;
    victim.login("victim", key(0)).await;
    let subscribed = Instant::now();
    victim.ok(Request::Sub(Hook::All)).await;

    let mut sender = ts.user("sender", key(1)).await;
    let mut looper = ts.connect_tls().await;
    looper.register("looper", key(2)).await;
    let token = looper.login("looper", key(2)).await;
    looper.ok(Request::Logout).await;

    // The victim does not read while the attack runs.
    let flood = flood_logins(ts.plain, "victim", DUPSESS_FLOOD);
    let churn = async {
        for _ in 0..LOGIN_LOOPS {
            looper
                .ok(Request::Login {
                    username: Bytes::from_static(b"looper"),
                    token: Some(Bytes::copy_from_slice(&token)),
                })
                .await;
            looper.ok(Request::Logout).await;
        }
    };
    let (answered, ()) = tokio::join!(flood, churn);
    assert_eq!(
        answered, DUPSESS_FLOOD,
        "every LOGIN victim was answered with ERR_DUPSESS: the victim stayed online"
    );

    // Still connected: the victim now reads everything that was queued for it...
    let events = victim.drain_events().await;
    let mut hooks = events.iter().filter(|p| p.action == Action::Hook).count();
    // ...and still gets its messages.
    sender
        .ok(Client::msg("victim", Bytes::from_static(b"still here?")))
        .await;
    loop {
        let p = victim.event().await;
        if p.action == Action::Hook {
            hooks += 1;
            continue;
        }
        assert_eq!(p.action, Action::Reciv, "{p:?}");
        assert_eq!(p.args[0].as_ref(), b"sender");
        break;
    }
    let elapsed = subscribed.elapsed().as_secs_f64();
    // NEWLOGIN/NEWLOGOUT within the budget, plus one DUPSESS per interval.
    let dupsess_interval = ts.config.dupsess_interval_secs as f64;
    let bound =
        f64::from(burst) + f64::from(rate) * elapsed + (elapsed / dupsess_interval).ceil() + 1.0;
    assert!(
        (hooks as f64) <= bound,
        "{hooks} hooks in {elapsed:.1} s, more than the budget ({bound:.0})"
    );
    assert!(hooks >= 1, "the victim was told of the duplicate session");
    let probe = ts.probe();
    let stats = probe.hub().hook_stats();
    let dropped = stats.dropped.load(std::sync::atomic::Ordering::Relaxed);
    let coalesced = stats
        .dupsess_coalesced
        .load(std::sync::atomic::Ordering::Relaxed);
    eprintln!(
        "victim got {hooks} hooks in {elapsed:.2} s (bound {bound:.0}); {dropped} dropped, {coalesced} DUPSESS coalesced"
    );
    assert!(dropped > 0, "dropped hooks are counted");
    let metrics = probe.metrics_text();
    assert!(
        metrics.contains(&format!("gochat_hooks_dropped_total {dropped}")),
        "{metrics}"
    );
    assert!(
        coalesced as usize >= DUPSESS_FLOOD - 10,
        "DUPSESS hooks coalesced: {coalesced}"
    );
    victim.ok(Request::Logout).await;
    drop(probe);
    ts.stop().await;
}

/// The DUPSESS hook comes again once the interval passed (coalescing, not muting).
async fn dupsess_comes_again_after_the_interval(backend: Backend) {
    let ts = TestServer::start_with(
        backend,
        Options {
            tls: false,
            tweak: |c| c.dupsess_interval_secs = 1,
        },
    )
    .await;
    let mut victim = ts.user("victim", key(0)).await;
    victim.ok(Request::Sub(Hook::DupSess)).await;
    let mut intruder = ts.connect().await;
    intruder.err(login_req("victim"), ErrorCode::DupSess).await;
    let first = Instant::now();
    victim.expect_hook(Hook::DupSess, &[b"127.0.0.1"]).await;
    intruder.err(login_req("victim"), ErrorCode::DupSess).await;
    victim.expect_no_events().await;
    // Poll until the interval has passed, then one more attempt is reported.
    let interval = Duration::from_secs(ts.config.dupsess_interval_secs);
    while first.elapsed() <= interval {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    intruder.err(login_req("victim"), ErrorCode::DupSess).await;
    victim.expect_hook(Hook::DupSess, &[b"127.0.0.1"]).await;
    ts.stop().await;
}

both_backends!(
    flood_leaves_subscriber_connected,
    dupsess_comes_again_after_the_interval
);
