//! When the server stops: the token every task watches, and the one scheduled shutdown an
//! admin announced (`ADMIN SHTDWN`), kept here with the timer that carries it out.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A scheduled shutdown: when (Unix seconds), the stamp as the admin sent it, and the timer.
#[derive(Debug)]
struct Scheduled {
    at: i64,
    raw_stamp: Bytes,
    timer: JoinHandle<()>,
}

/// The server's shutdown: requested now ([`Shutdown::request`]) or at a time
/// ([`Shutdown::schedule`]).
#[derive(Debug, Default)]
pub struct Shutdown {
    token: CancellationToken,
    scheduled: Mutex<Option<Scheduled>>,
}

impl Shutdown {
    /// A shutdown that has not been asked for.
    pub fn new() -> Self {
        Self::default()
    }

    /// The token cancelled when the server stops (a clone cancels it too).
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// Stops the server now.
    pub fn request(&self) {
        self.token.cancel();
    }

    /// Resolves once the server is stopping.
    pub async fn requested(&self) {
        self.token.cancelled().await;
    }

    /// Arranges for the server to stop at `at` (Unix seconds; `raw_stamp` is how the admin
    /// wrote it). The earliest schedule wins; returns the one in force, to announce.
    pub fn schedule(&self, at: i64, raw_stamp: Bytes) -> (i64, Bytes) {
        let mut slot = self.lock();
        if let Some(current) = &*slot
            && current.at <= at
        {
            return (current.at, current.raw_stamp.clone());
        }
        if let Some(old) = slot.take() {
            old.timer.abort();
        }
        // `at` may come from another node: any i64, so no overflowing subtraction.
        let wait = Duration::from_secs(u64::try_from(at.saturating_sub(now_unix())).unwrap_or(0));
        let token = self.token.clone();
        let timer = tokio::spawn(async move {
            tokio::select! {
                () = tokio::time::sleep(wait) => {
                    tracing::warn!("scheduled shutdown time reached");
                    token.cancel();
                }
                () = token.cancelled() => {}
            }
        });
        *slot = Some(Scheduled {
            at,
            raw_stamp: raw_stamp.clone(),
            timer,
        });
        (at, raw_stamp)
    }

    /// The scheduled shutdown in force (Unix seconds and the stamp as sent), if any.
    pub fn scheduled(&self) -> Option<(i64, Bytes)> {
        self.lock().as_ref().map(|s| (s.at, s.raw_stamp.clone()))
    }

    fn lock(&self) -> MutexGuard<'_, Option<Scheduled>> {
        self.scheduled
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Seconds since the Unix epoch (0 if the clock is before it).
fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_earliest_schedule_wins_and_fires() {
        let shutdown = Shutdown::new();
        assert_eq!(shutdown.scheduled(), None);
        let later = now_unix() + 3600;
        let raw = Bytes::from_static(b"later");
        assert_eq!(shutdown.schedule(later, raw.clone()), (later, raw.clone()));
        let (at, kept) = shutdown.schedule(later + 10, Bytes::from_static(b"even later"));
        assert_eq!((at, kept), (later, raw));
        let past = now_unix() - 1;
        let now = Bytes::from_static(b"now");
        assert_eq!(shutdown.schedule(past, now.clone()), (past, now.clone()));
        assert_eq!(shutdown.scheduled(), Some((past, now)));
        tokio::time::timeout(Duration::from_secs(5), shutdown.requested())
            .await
            .expect("a past schedule stops the server at once");
    }

    #[tokio::test]
    async fn extreme_times_from_another_node_do_not_panic() {
        let shutdown = Shutdown::new();
        let far = Bytes::from_static(b"far");
        assert_eq!(shutdown.schedule(i64::MAX, far.clone()), (i64::MAX, far));
        let min = Bytes::from_static(b"min");
        assert_eq!(shutdown.schedule(i64::MIN, min.clone()), (i64::MIN, min));
        tokio::time::timeout(Duration::from_secs(5), shutdown.requested())
            .await
            .expect("a time long past stops the server at once");
    }
}
