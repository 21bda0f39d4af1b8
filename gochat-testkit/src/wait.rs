//! Waits on state instead of sleeps: a predicate, a port that accepts, a process that
//! exits. Each polls with a short pause that grows to at most [`MAX_PAUSE`], and gives up
//! with [`TimedOut`] after its limit.

use std::future::Future;
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

/// The pauses between checks: 5 ms, doubling up to [`MAX_PAUSE`].
struct Backoff(Duration);

impl Backoff {
    fn new() -> Backoff {
        Backoff(FIRST_PAUSE)
    }

    fn next(&mut self) -> Duration {
        let pause = self.0;
        self.0 = (self.0 * 2).min(MAX_PAUSE);
        pause
    }
}

/// Waits until `check` yields a value.
pub async fn wait_until_some<T, F, Fut>(
    what: &str,
    limit: Duration,
    mut check: F,
) -> Result<T, TimedOut>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
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
pub async fn wait_until<F, Fut>(what: &str, limit: Duration, mut check: F) -> Result<(), TimedOut>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    wait_until_some(what, limit, || {
        let fut = check();
        async move { fut.await.then_some(()) }
    })
    .await
}

/// Waits, blocking the thread, until `check` yields a value.
pub fn wait_until_some_blocking<T>(
    what: &str,
    limit: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> Result<T, TimedOut> {
    let deadline = Instant::now() + limit;
    let mut backoff = Backoff::new();
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
    wait_until(&format!("{addr} to accept"), limit, || async move {
        tokio::net::TcpStream::connect(addr).await.is_ok()
    })
    .await
}

/// Waits until `child` has exited; returns its status. The child is left running on a
/// timeout (the caller decides whether to kill it).
pub fn wait_for_exit(child: &mut Child, limit: Duration) -> Result<ExitStatus, TimedOut> {
    let pid = child.id();
    wait_until_some_blocking(&format!("process {pid} to exit"), limit, || {
        child.try_wait().ok().flatten()
    })
}
