//! Hostile clients from other loopback addresses: slowloris, LOGIN floods, garbage and
//! connect/close churn.

use super::*;

pub(crate) fn spawn_hostile(
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
pub(crate) enum Kind {
    Slowloris,
    LoginFlood,
    Garbage,
    Churn,
}

pub(crate) struct HostileClient {
    pub(crate) kind: Kind,
    pub(crate) source: Ipv4Addr,
    pub(crate) shared: Arc<Shared>,
    pub(crate) rng: StdRng,
}

impl HostileClient {
    pub(crate) async fn run(mut self) {
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

    pub(crate) async fn connect(&mut self) -> Result<TcpStream> {
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

    pub(crate) async fn write(&self, stream: &mut TcpStream, bytes: &[u8]) -> Result<()> {
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
    pub(crate) async fn discard(&self, stream: &mut TcpStream, wait: Duration) -> Result<()> {
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
    pub(crate) async fn slowloris(&mut self) -> Result<()> {
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
    pub(crate) async fn login_flood(&mut self) -> Result<()> {
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
    pub(crate) async fn garbage(&mut self) -> Result<()> {
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
    pub(crate) async fn churn(&mut self) -> Result<()> {
        let s = self.connect().await?;
        if self.rng.random_bool(0.5) {
            let _ = s.set_zero_linger();
        }
        drop(s);
        tokio::time::sleep(Duration::from_millis(self.rng.random_range(0..20))).await;
        Ok(())
    }
}
