//! A rolling restart of all three nodes under load: senders and receivers move to another
//! node when theirs drains (SHTDWN/DISCN), and every acknowledged message arrives exactly
//! once.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use gochat_proto::crypto::PrivateKey;
use gochat_proto::wire::{Action, ErrorCode, GochatCodec, Packet, Request};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio_util::codec::Framed;

use super::{Cluster, free_port};
use crate::common::{Client, key, stamp_now};

const SENDERS: usize = 3;

/// A client that treats every failure as "this node is gone".
struct Raw {
    framed: Framed<TcpStream, GochatCodec>,
    next_id: u16,
}

impl Raw {
    async fn connect(addr: SocketAddr) -> Option<Raw> {
        let stream = TcpStream::connect(addr).await.ok()?;
        let mut framed = Framed::new(stream, GochatCodec::client());
        let hello = tokio::time::timeout(Duration::from_secs(5), framed.next())
            .await
            .ok()??
            .ok()?;
        (hello.action == Action::Hello).then_some(Raw { framed, next_id: 1 })
    }

    async fn send(&mut self, request: Request) -> Option<u16> {
        self.next_id = self.next_id % 1000 + 1;
        let id = self.next_id;
        tokio::time::timeout(
            Duration::from_secs(5),
            self.framed.send(request.to_packet(id)),
        )
        .await
        .ok()?
        .ok()?;
        Some(id)
    }

    async fn next(&mut self) -> Option<Packet> {
        tokio::time::timeout(Duration::from_secs(15), self.framed.next())
            .await
            .ok()??
            .ok()
    }

    /// The reply to `id`; unsolicited packets go to `events`.
    async fn reply(&mut self, id: u16, events: &mut Vec<Packet>) -> Option<Packet> {
        loop {
            let p = self.next().await?;
            if p.id == 0 {
                if p.action == Action::Err {
                    // ERR_DISCN and the like: the node is going.
                    return None;
                }
                events.push(p);
                continue;
            }
            if p.id == id {
                return Some(p);
            }
        }
    }

    /// Logs in on `addr` (waiting while the user's previous session is still released).
    /// Messages may arrive before the login's `OK` (the session is online from the moment
    /// it is added): they are returned with the client.
    async fn login(addr: SocketAddr, name: &str, key: &PrivateKey) -> Option<(Raw, Vec<Packet>)> {
        let mut raw = Raw::connect(addr).await?;
        let mut events = Vec::new();
        for _ in 0..100 {
            let id = raw
                .send(Request::Login {
                    username: Bytes::copy_from_slice(name.as_bytes()),
                    token: None,
                })
                .await?;
            let reply = raw.reply(id, &mut events).await?;
            if reply.action == Action::Err && reply.info == ErrorCode::DupSess.code() {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            if reply.action != Action::Verif {
                return None;
            }
            let answer = key.decrypt(reply.args.first()?).ok()?;
            let id = raw.send(Client::verif(name, &answer)).await?;
            let reply = raw.reply(id, &mut events).await?;
            return (reply.action == Action::Ok).then_some((raw, events));
        }
        None
    }
}

/// Logs in on the first node that takes it, starting at `start`; returns the index used.
async fn login_somewhere(
    nodes: &[SocketAddr],
    start: usize,
    name: &str,
    key: &PrivateKey,
) -> (Raw, usize, Vec<Packet>) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut i = start;
    loop {
        let addr = nodes[i % nodes.len()];
        if let Some((raw, events)) = Raw::login(addr, name, key).await {
            return (raw, i % nodes.len(), events);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name} found no node"
        );
        i += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sends numbered messages to `to` until `stop`, moving node on any failure; returns the
/// numbers the server acknowledged (OK). A message without a reply is not sent again.
async fn sender(nodes: Vec<SocketAddr>, me: usize, to: String, stop: Arc<AtomicBool>) -> Vec<u32> {
    let name = format!("s{me}");
    let mut acked = Vec::new();
    let mut n = 0u32;
    let mut at = me;
    while !stop.load(Ordering::Relaxed) {
        let (mut raw, used, _) = login_somewhere(&nodes, at, &name, key(me)).await;
        at = used;
        let mut events = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            n += 1;
            let request = Request::Msg {
                to: Bytes::copy_from_slice(to.as_bytes()),
                stamp: stamp_now(),
                ciphertext: Bytes::from(format!("{me}:{n}")),
            };
            let Some(id) = raw.send(request).await else {
                break;
            };
            let Some(reply) = raw.reply(id, &mut events).await else {
                break;
            };
            if reply.action == Action::Ok {
                acked.push(n);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        at += 1;
    }
    acked
}

/// Receives until `stop`, moving node on any failure and catching up after each login;
/// counts every RECIV by its text.
async fn receiver(
    nodes: Vec<SocketAddr>,
    me: usize,
    seen: Arc<Mutex<HashMap<String, u32>>>,
    stop: Arc<AtomicBool>,
) {
    let name = format!("r{me}");
    let mut at = me + 1;
    loop {
        let (mut raw, used, early) = login_somewhere(&nodes, at, &name, key(SENDERS + me)).await;
        at = used;
        for p in early.iter().filter(|p| p.action == Action::Reciv) {
            let text = String::from_utf8_lossy(&p.args[2]).into_owned();
            *seen.lock().await.entry(text).or_default() += 1;
        }
        let Some(_) = raw.send(Request::Reciv).await else {
            at += 1;
            continue;
        };
        loop {
            let next = tokio::time::timeout(Duration::from_millis(200), raw.framed.next()).await;
            match next {
                Err(_) if stop.load(Ordering::Relaxed) => return,
                Err(_) => continue,
                Ok(Some(Ok(p))) if p.action == Action::Reciv => {
                    let text = String::from_utf8_lossy(&p.args[2]).into_owned();
                    *seen.lock().await.entry(text).or_default() += 1;
                }
                Ok(Some(Ok(p))) if p.id == 0 && p.action == Action::Err => break,
                Ok(Some(Ok(_))) => {}
                Ok(_) => break,
            }
        }
        at += 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_under_load_loses_and_repeats_nothing() {
    let cluster = Cluster::new(false).await;
    let ports = [free_port(), free_port(), free_port()];
    let mut nodes = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        nodes.push(cluster.node_on(&format!("n{i}"), *port).await);
    }
    let addrs: Vec<SocketAddr> = ports
        .iter()
        .map(|p| SocketAddr::from(([127, 0, 0, 1], *p)))
        .collect();
    // Everyone registered up front.
    for i in 0..SENDERS * 2 {
        let name = if i < SENDERS {
            format!("s{i}")
        } else {
            format!("r{}", i - SENDERS)
        };
        let mut c = nodes[0].connect().await;
        c.register(&name, key(i)).await;
    }

    let stop_senders = Arc::new(AtomicBool::new(false));
    let stop_receivers = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(HashMap::new()));
    let receivers: Vec<_> = (0..SENDERS)
        .map(|r| {
            tokio::spawn(receiver(
                addrs.clone(),
                r,
                seen.clone(),
                stop_receivers.clone(),
            ))
        })
        .collect();
    let senders: Vec<_> = (0..SENDERS)
        .map(|s| {
            tokio::spawn(sender(
                addrs.clone(),
                s,
                format!("r{s}"),
                stop_senders.clone(),
            ))
        })
        .collect();

    tokio::time::sleep(Duration::from_secs(2)).await;
    for i in 0..nodes.len() {
        // SIGTERM's path: sessions are told SHTDWN/DISCN and reconnect elsewhere.
        nodes[i].stop().await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        nodes[i] = cluster.node_on(&format!("n{i}"), ports[i]).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop_senders.store(true, Ordering::Relaxed);
    let mut acked = Vec::new();
    for s in senders {
        acked.push(s.await.expect("sender"));
    }
    // Messages stored after a receiver's last catch-up are fetched by one more catch-up,
    // as a client does after reconnecting.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop_receivers.store(true, Ordering::Relaxed);
    for r in receivers {
        r.await.expect("receiver");
    }
    for r in 0..SENDERS {
        let mut c = nodes[0].connect().await;
        c.login_when_free(&format!("r{r}"), key(SENDERS + r)).await;
        let reply = c.call(Request::Reciv).await;
        if reply.action == Action::Ok {
            for p in c.drain_events().await {
                if p.action == Action::Reciv {
                    let text = String::from_utf8_lossy(&p.args[2]).into_owned();
                    *seen.lock().await.entry(text).or_default() += 1;
                }
            }
        }
    }

    let seen = seen.lock().await;
    let total: usize = acked.iter().map(Vec::len).sum();
    eprintln!(
        "rolling restart: {total} messages acknowledged, {} distinct received",
        seen.len()
    );
    assert!(total > 100, "too little load: {total}");
    for r in 0..SENDERS {
        eprintln!(
            "r{r}: {} still stored",
            nodes[0].pending(&format!("r{r}")).await
        );
    }
    for (s, numbers) in acked.iter().enumerate() {
        for n in numbers {
            let text = format!("{s}:{n}");
            assert_eq!(seen.get(&text).copied(), Some(1), "{text} acknowledged");
        }
    }
    let repeated: Vec<_> = seen.iter().filter(|(_, c)| **c > 1).collect();
    assert!(repeated.is_empty(), "delivered twice: {repeated:?}");
}
