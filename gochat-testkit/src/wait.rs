//! Waits on state instead of sleeps: a predicate, a port that accepts, a process that
//! exits. Each polls with a short pause that grows to at most [`MAX_PAUSE`], and gives up
//! with [`TimedOut`] after its limit.

use std::net::SocketAddr;
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

/// The longest pause between two checks.
pub const MAX_PAUSE: Duration = Duration::from_millis(100);
const FIRST_PAUSE: Duration = Duration::from_millis(5);

/// A wait that gave up.
#[derive(Debug, thiserror::Error)]
#[error("timed out after {} s waiting for {what}", after.as_secs_f64())]
pub struct TimedOut {
    /// What was waited for.
    pub what: String,
    /// The limit.
    pub after: Duration,
}

/// The pauses between checks: 5 ms, doubling up to a cap.
struct Backoff {
    next: Duration,
    cap: Duration,
}

impl Backoff {
    fn new() -> Backoff {
        Self::capped(MAX_PAUSE)
    }

    fn capped(cap: Duration) -> Backoff {
        Backoff {
            next: FIRST_PAUSE.min(cap),
            cap,
        }
    }

    fn next(&mut self) -> Duration {
        let pause = self.next;
        self.next = (self.next * 2).min(self.cap);
        pause
    }
}

/// Waits until `check` yields a value.
pub async fn wait_until_some<T>(
    what: &str,
    limit: Duration,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> Result<T, TimedOut> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut backoff = Backoff::new();
    loop {
        if let Some(value) = check().await {
            return Ok(value);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(TimedOut {
                what: what.to_owned(),
                after: limit,
            });
        }
        tokio::time::sleep(backoff.next()).await;
    }
}

/// Waits until `check` holds.
pub async fn wait_until(
    what: &str,
    limit: Duration,
    mut check: impl AsyncFnMut() -> bool,
) -> Result<(), TimedOut> {
    wait_until_some(what, limit, async || check().await.then_some(())).await
}

/// Waits, blocking the thread, until `check` yields a value.
pub fn wait_until_some_blocking<T>(
    what: &str,
    limit: Duration,
    check: impl FnMut() -> Option<T>,
) -> Result<T, TimedOut> {
    poll_blocking(what, limit, Backoff::new(), check)
}

fn poll_blocking<T>(
    what: &str,
    limit: Duration,
    mut backoff: Backoff,
    mut check: impl FnMut() -> Option<T>,
) -> Result<T, TimedOut> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check() {
            return Ok(value);
        }
        if Instant::now() >= deadline {
            return Err(TimedOut {
                what: what.to_owned(),
                after: limit,
            });
        }
        std::thread::sleep(backoff.next());
    }
}

/// Waits, blocking the thread, until `check` holds.
pub fn wait_until_blocking(
    what: &str,
    limit: Duration,
    mut check: impl FnMut() -> bool,
) -> Result<(), TimedOut> {
    wait_until_some_blocking(what, limit, || check().then_some(()))
}

/// Waits until a TCP connection to `addr` is accepted.
pub async fn wait_for_port(addr: SocketAddr, limit: Duration) -> Result<(), TimedOut> {
    wait_until(&format!("{addr} to accept"), limit, async || {
        tokio::net::TcpStream::connect(addr).await.is_ok()
    })
    .await
}

/// Waits until `child` has exited; returns its status. The child is left running on a
/// timeout (the caller decides whether to kill it). Checks at least every 10 ms: a test may
/// run many short processes.
pub fn wait_for_exit(child: &mut Child, limit: Duration) -> Result<ExitStatus, TimedOut> {
    let pid = child.id();
    let backoff = Backoff::capped(Duration::from_millis(10));
    poll_blocking(&format!("process {pid} to exit"), limit, backoff, || {
        child.try_wait().ok().flatten()
    })
}
