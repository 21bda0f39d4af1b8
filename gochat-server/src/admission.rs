//! Admission of accepted connections, before HELLO: a per-IP connect rate, a per-IP count of
//! open connections, and a bounded first-come first-served wait for one of `max_clients`
//! slots, where each waiter times out and one whose peer went away leaves at once.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};

use crate::config::Config;
use crate::metrics::{Limit, Metrics};
use crate::rate::{RateLimiter, limit_key};

/// Decides which accepted connections get served.
#[derive(Debug)]
pub struct Admission {
    slots: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
    wait_timeout: Duration,
    per_ip: Arc<IpCounter>,
    max_per_ip: usize,
    connect_rate: RateLimiter,
    auth_rate: RateLimiter,
    log_throttle: LogThrottle,
    auth_log_throttle: LogThrottle,
}

/// A connection let in: it holds its per-IP place, and a slot or a place in the queue.
#[derive(Debug)]
pub struct Ticket {
    _ip: IpGuard,
    state: TicketState,
}

#[derive(Debug)]
enum TicketState {
    Served(OwnedSemaphorePermit),
    Waiting(WaitGuard),
}

/// A connection being served: dropping it frees the slot and the per-IP place.
#[derive(Debug)]
pub struct Slot {
    _ip: IpGuard,
    _permit: OwnedSemaphorePermit,
}

/// Why a waiting connection got no slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitEnd {
    /// `wait_timeout_secs` passed.
    TimedOut,
    /// The peer closed (or reset) its end while waiting.
    PeerClosed,
    /// The server is shutting down.
    Shutdown,
}

impl Admission {
    /// Admission as `config` sets it.
    pub fn new(config: &Config) -> Self {
        Admission {
            slots: Arc::new(Semaphore::new(config.max_clients)),
            waiting: Arc::new(AtomicUsize::new(0)),
            max_waiting: config.max_waiting,
            wait_timeout: config.wait_timeout(),
            per_ip: Arc::new(IpCounter::default()),
            max_per_ip: config.max_per_ip,
            connect_rate: RateLimiter::new(config.connect_rate(), config.rate_table_size),
            auth_rate: RateLimiter::new(config.auth_rate(), config.rate_table_size),
            log_throttle: LogThrottle::default(),
            auth_log_throttle: LogThrottle::default(),
        }
    }

    /// Connections waiting for a slot now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Decides at once (no waiting, no I/O) whether a connection from `ip` may stay.
    pub fn admit(&self, ip: IpAddr) -> Result<Ticket, Limit> {
        if !self.connect_rate.allow(ip, Instant::now()) {
            return Err(Limit::ConnectRate);
        }
        let ip_guard = self
            .per_ip
            .try_acquire(limit_key(ip), self.max_per_ip)
            .ok_or(Limit::PerIp)?;
        let state = match self.slots.clone().try_acquire_owned() {
            Ok(permit) => TicketState::Served(permit),
            Err(TryAcquireError::NoPermits) => {
                let queued = self
                    .waiting
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                        (n < self.max_waiting).then_some(n + 1)
                    });
                if queued.is_err() {
                    return Err(Limit::QueueFull);
                }
                TicketState::Waiting(WaitGuard(self.waiting.clone()))
            }
            Err(TryAcquireError::Closed) => return Err(Limit::QueueFull),
        };
        Ok(Ticket {
            _ip: ip_guard,
            state,
        })
    }

    /// Waits (if it must) for a slot for `ticket`, watching `stream` for its peer leaving.
    pub async fn slot(
        &self,
        ticket: Ticket,
        stream: &TcpStream,
        shutdown: &tokio_util::sync::CancellationToken,
    ) -> Result<Slot, WaitEnd> {
        let Ticket { _ip, state } = ticket;
        let permit = match state {
            TicketState::Served(permit) => permit,
            TicketState::Waiting(place) => {
                let permit = tokio::select! {
                    p = self.slots.clone().acquire_owned() => p.map_err(|_| WaitEnd::Shutdown)?,
                    () = tokio::time::sleep(self.wait_timeout) => return Err(WaitEnd::TimedOut),
                    () = peer_closed(stream) => return Err(WaitEnd::PeerClosed),
                    () = shutdown.cancelled() => return Err(WaitEnd::Shutdown),
                };
                drop(place);
                permit
            }
        };
        Ok(Slot {
            _ip,
            _permit: permit,
        })
    }

    /// Counts a refusal and logs it, at most once a second (a flood must not flood the log).
    pub fn refused(&self, metrics: &Metrics, limit: Limit, ip: IpAddr) {
        metrics.limit_hit(limit);
        if let Some(suppressed) = self.log_throttle.pass() {
            tracing::warn!(
                %ip,
                reason = limit.label(),
                suppressed,
                "connection refused by a limit"
            );
        }
    }

    /// Takes a LOGIN/REG/VERIF token for `ip`; `false` when it is over its rate.
    pub fn allow_auth(&self, ip: IpAddr) -> bool {
        self.auth_rate.allow(ip, Instant::now())
    }

    /// `Some(lines held back)` when a rate-limited login may be logged now (once a second).
    pub fn log_auth_limited(&self) -> Option<u64> {
        self.auth_log_throttle.pass()
    }

    /// Forgets rate-limit state that carries no information any more.
    pub fn sweep(&self) {
        let now = Instant::now();
        self.connect_rate.sweep(now);
        self.auth_rate.sweep(now);
    }
}

/// Resolves once the peer of a socket that has sent nothing closes or resets it. A peer
/// that sends bytes before HELLO is not watched further (its wait still times out): the
/// bytes stay unread for the session.
async fn peer_closed(stream: &TcpStream) {
    let mut byte = [0u8; 1];
    // MSG_PEEK: 0 is the end of the stream, and data is left in the socket.
    if let Ok(n) = stream.peek(&mut byte).await
        && n > 0
    {
        std::future::pending::<()>().await;
    }
}

/// A place in the wait queue.
#[derive(Debug)]
struct WaitGuard(Arc<AtomicUsize>);

impl Drop for WaitGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Counts open connections per address key ([`limit_key`]).
#[derive(Debug, Default)]
struct IpCounter {
    counts: Mutex<HashMap<IpAddr, usize>>,
}

impl IpCounter {
    fn try_acquire(self: &Arc<Self>, key: IpAddr, max: usize) -> Option<IpGuard> {
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = counts.entry(key).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(IpGuard {
            counter: self.clone(),
            key,
        })
    }
}

/// One open connection counted for its address; dropping it uncounts it.
#[derive(Debug)]
struct IpGuard {
    counter: Arc<IpCounter>,
    key: IpAddr,
}

impl Drop for IpGuard {
    fn drop(&mut self) {
        let mut counts = self
            .counter
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(c) = counts.get_mut(&self.key) {
            *c -= 1;
            if *c == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

/// Lets one log line through per second and counts the ones held back.
#[derive(Debug, Default)]
struct LogThrottle {
    last_second: AtomicU64,
    suppressed: AtomicU64,
}

impl LogThrottle {
    /// `Some(lines held back since the last one)` when a line may be logged now.
    fn pass(&self) -> Option<u64> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let last = self.last_second.load(Ordering::Relaxed);
        if last != now
            && self
                .last_second
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            Some(self.suppressed.swap(0, Ordering::Relaxed))
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}
