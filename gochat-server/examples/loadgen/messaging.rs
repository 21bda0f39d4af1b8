//! The messaging machinery: bodies carrying their send time, senders with a window of
//! MSGs in flight, live and catch-up receivers, and the checks of order and exactly-once.

use super::*;

// ---------------------------------------------------------------------------------------------
// Messaging machinery

/// A message body: `META_LEN` bytes of hex metadata (send time, sequence, sender index),
/// then random bytes, never containing CR (so never CRLF).
pub(crate) fn body_template(size: usize) -> Vec<u8> {
    let mut v = vec![0u8; size.max(META_LEN)];
    rand::rng().fill_bytes(&mut v);
    for b in &mut v {
        if *b == b'\r' {
            *b = b'.';
        }
    }
    v
}

pub(crate) fn write_hex(out: &mut [u8], mut v: u64) {
    for slot in out.iter_mut().rev() {
        *slot = b"0123456789abcdef"[(v & 0xf) as usize];
        v >>= 4;
    }
}

pub(crate) fn read_hex(s: &[u8]) -> Option<u64> {
    let mut v: u64 = 0;
    for &c in s {
        let d = (c as char).to_digit(16)?;
        v = (v << 4) | u64::from(d);
    }
    Some(v)
}

/// (send time ns, sequence, sender index) from a body.
pub(crate) fn parse_meta(ct: &[u8]) -> Option<(u64, u64, u64)> {
    if ct.len() < META_LEN {
        return None;
    }
    Some((
        read_hex(&ct[..16])?,
        read_hex(&ct[16..32])?,
        read_hex(&ct[32..40])?,
    ))
}

pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// What one sender saw.
#[derive(Default)]
pub(crate) struct SenderReport {
    pub(crate) ok: usize,
    /// Sequence numbers that got OK, per receiver index.
    pub(crate) ok_seqs: BTreeMap<usize, Vec<u64>>,
    pub(crate) msg_to_ok: Lat,
    pub(crate) last_ok: Option<Instant>,
    pub(crate) errors: BTreeMap<String, usize>,
    pub(crate) failure: Option<String>,
}

/// Sends `count` messages from sender `index` over `client`, keeping `window` in flight.
/// Message `k` goes to `targets[k % targets.len()]`. Replies are matched by packet ID.
pub(crate) async fn run_sender(
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
                report.failure = Some(why(&e));
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
pub(crate) struct Slots {
    pub(crate) sent_at: Vec<AtomicU64>,
    pub(crate) seq: Vec<AtomicU64>,
}

impl Slots {
    pub(crate) fn new() -> Self {
        Slots {
            sent_at: (0..1024).map(|_| AtomicU64::new(0)).collect(),
            seq: (0..1024).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

/// Writes MSGs whenever there is window credit, batching whatever is available into one
/// write. Returns the write half so the connection stays open until the replies are read.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn sender_writer(
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
pub(crate) struct ReceiverReport {
    pub(crate) received: usize,
    /// Sequence numbers received, per sender index, in arrival order.
    pub(crate) seqs: BTreeMap<u64, Vec<u64>>,
    pub(crate) lat: Lat,
    pub(crate) malformed: usize,
    pub(crate) first: Option<Instant>,
    pub(crate) last: Option<Instant>,
    pub(crate) failure: Option<String>,
    /// Arrival time of every message (catch-up only).
    pub(crate) arrivals: Option<Vec<Instant>>,
}

impl ReceiverReport {
    pub(crate) fn take(&mut self, p: &Packet) {
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
pub(crate) async fn run_live_receiver(
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
                report.failure = Some(why(&e));
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
pub(crate) async fn run_catch_up(
    mut client: Client,
    expected: usize,
) -> (ReceiverReport, Duration, String) {
    let mut report = ReceiverReport {
        arrivals: Some(Vec::with_capacity(expected)),
        ..ReceiverReport::default()
    };
    let start = Instant::now();
    let mut elapsed = Duration::ZERO;
    let id = bump(&mut client.next_id);
    if let Err(e) = client.send(&Request::Reciv.to_packet(id)).await {
        report.failure = Some(why(&e));
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
                report.failure = Some(why(&e));
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
        Err(e) => why(&e),
    };
    (report, elapsed, second)
}

pub(crate) fn merge_errors(into: &mut BTreeMap<String, usize>, from: &BTreeMap<String, usize>) {
    for (k, v) in from {
        *into.entry(k.clone()).or_insert(0) += v;
    }
}

pub(crate) fn describe_map(map: &BTreeMap<String, usize>) -> String {
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
pub(crate) struct Check {
    pub(crate) missing: usize,
    pub(crate) duplicates: usize,
    pub(crate) unexpected: usize,
    pub(crate) out_of_order: usize,
}

impl Check {
    pub(crate) fn add(&mut self, confirmed: &[u64], received: &[u64]) {
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

    pub(crate) fn ok(&self) -> bool {
        self.missing == 0 && self.duplicates == 0 && self.unexpected == 0 && self.out_of_order == 0
    }
}
