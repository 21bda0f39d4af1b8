//! Honest users: log in, catch up, send bursts while receiving live, log out, stay away.

use super::*;

pub(crate) async fn register_all(shared: &Shared, keys: &[Arc<PrivateKey>]) -> Result<()> {
    for (name, key) in shared.names.iter().zip(keys) {
        let mut c = Client::connect(shared.addr).await?;
        if let Some(code) = c.try_register(name, key).await? {
            bail!("REG {}: {code}", String::from_utf8_lossy(name));
        }
    }
    Ok(())
}

/// One honest user.
pub(crate) struct Honest {
    pub(crate) me: usize,
    pub(crate) key: Arc<PrivateKey>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) rng: StdRng,
    pub(crate) window: usize,
    pub(crate) burst_pause: Duration,
    pub(crate) seq: u64,
    /// The current connection.
    pub(crate) tag: Tag,
}

impl Honest {
    /// Traffic until the stop, then (after every user stopped sending) collects the rest.
    pub(crate) async fn run(mut self, drain: Arc<tokio::sync::Barrier>) -> Result<()> {
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
    pub(crate) async fn session(&mut self, stop: &CancellationToken) -> Result<()> {
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
    pub(crate) async fn leave(&mut self, mut c: Client) -> Result<()> {
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

    pub(crate) async fn connect_and_login(&mut self, stop: &CancellationToken) -> Result<Client> {
        let me = self.me;
        let name = self.shared.names[me].clone();
        let mut c = Client::connect_from(self.shared.addr, Some(honest_source(me))).await?;
        self.tag = Tag {
            me,
            conn: self.shared.next_conn.fetch_add(1, Ordering::Relaxed) + 1,
            life: self.shared.life.load(Ordering::Relaxed),
            catching_up: false,
        };
        // A session this user just dropped may linger for a moment: DUPSESS is retried.
        for _ in 0..200 {
            match c.login_offloaded(&name, &self.key).await {
                Ok(()) => {
                    self.shared.stats.logins.fetch_add(1, Ordering::Relaxed);
                    return Ok(c);
                }
                Err(e)
                    if e.error_code() == Some(ErrorCode::DupSess.code())
                        && !stop.is_cancelled() =>
                {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        bail!("still logged in elsewhere")
    }

    /// RECIV until ERR_EMPTY (bounded), booking every RECIV.
    pub(crate) async fn catch_up(&mut self, c: &mut Client) -> Result<()> {
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

    pub(crate) async fn logout(&mut self, c: &mut Client) -> Result<()> {
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
    pub(crate) async fn burst(&mut self, c: &mut Client) -> Result<()> {
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

    pub(crate) async fn finish_burst(
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
    pub(crate) async fn collect(mut self) -> Result<()> {
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
pub(crate) fn honest_source(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 1, (i % 250) as u8 + 1)
}

pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
