//! The ledger: every message sent, its state, and every copy that arrived, checked at the
//! end.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SendState {
    /// Written, no reply yet.
    InFlight,
    /// Answered with OK.
    Acknowledged,
    /// Answered with ERR.
    Refused,
    /// The connection ended before the reply.
    Unanswered,
}

pub(crate) struct Sent {
    pub(crate) from: usize,
    pub(crate) to: usize,
    pub(crate) state: SendState,
}

#[derive(Default)]
pub(crate) struct Ledger {
    pub(crate) sent: HashMap<u64, Sent>,
    /// Copies received, by message number.
    pub(crate) received: HashMap<u64, Vec<Copy>>,
    /// Honest connections that ended with an error (cut by a kill, mostly).
    pub(crate) cut: HashSet<u64>,
    pub(crate) recivs: u64,
    pub(crate) corrupt: u64,
    pub(crate) problems: Vec<String>,
}

impl Ledger {
    pub(crate) fn count(&self, state: SendState) -> usize {
        self.sent.values().filter(|s| s.state == state).count()
    }

    pub(crate) fn problem(&mut self, text: String) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(text);
        }
    }

    /// Every copy but the last arrived on a connection that had started a catch-up and was
    /// then cut, each copy on its own connection and in a later server life than the one
    /// before: the server wrote the stored message, was killed before deleting it, and sent
    /// it again at the next catch-up.
    pub(crate) fn cut_during_catch_up(&self, copies: &[Copy]) -> bool {
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

    pub(crate) fn settle(&mut self) -> Report {
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
pub(crate) struct Copy {
    /// The honest connection it arrived on.
    pub(crate) conn: u64,
    /// The server life (1 = first start, +1 at each kill) when that connection was opened.
    pub(crate) life: u64,
    /// Whether that connection had already got OK to a RECIV (a catch-up may be streaming).
    pub(crate) after_catch_up: bool,
}

pub(crate) fn describe_copies(copies: &[Copy]) -> String {
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
pub(crate) struct Tag {
    pub(crate) me: usize,
    pub(crate) conn: u64,
    pub(crate) life: u64,
    pub(crate) catching_up: bool,
}

/// Filler bytes of message `number`: derived from it, any byte values (CR and LF included).
pub(crate) fn filler(number: u64, nonce: u64) -> Vec<u8> {
    let mut rng = StdRng::seed_from_u64(number ^ nonce);
    let len = rng.random_range(0..1800);
    let mut bytes = vec![0u8; len];
    rng.fill_bytes(&mut bytes);
    bytes
}

/// The payload of message `number`: `soak <nonce> <number> ` then its filler.
pub(crate) fn payload(number: u64, nonce: u64) -> Bytes {
    let mut out = BytesMut::new();
    out.put_slice(format!("soak {nonce:016x} {number:016x} ").as_bytes());
    out.put_slice(&filler(number, nonce));
    out.freeze()
}

/// The number in a payload made by [`payload`], if the payload is intact.
pub(crate) fn parse_payload(bytes: &[u8], nonce: u64) -> Option<u64> {
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
    pub(crate) fn record(&self, tag: Tag, p: &Packet) {
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

    pub(crate) fn set_state(&self, numbers: &[u64], state: SendState) {
        let mut l = self.ledger();
        for n in numbers {
            if let Some(s) = l.sent.get_mut(n) {
                s.state = state;
            }
        }
    }
}
