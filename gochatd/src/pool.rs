//! The crypto pool: RSA work (decrypting received messages) runs on blocking threads, at
//! most one job per worker at once, so a large catch-up uses every core and no more.

use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

/// A bounded pool of blocking workers. Cheap to clone: clones share the bound.
#[derive(Debug, Clone)]
pub struct CryptoPool {
    permits: Arc<Semaphore>,
    size: usize,
}

impl CryptoPool {
    /// A pool running at most `size` jobs at once (at least one).
    pub fn new(size: usize) -> Self {
        let size = size.max(1);
        CryptoPool {
            permits: Arc::new(Semaphore::new(size)),
            size,
        }
    }

    /// How many jobs run at once.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Waits for a free worker, then starts `job` on it. The handle yields the job's result;
    /// the worker is free again as soon as the job ends, whether or not anyone awaits it.
    pub async fn start<T, F>(&self, job: F) -> JoinHandle<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        // The semaphore is never closed; should it be, the job runs unbounded.
        let permit = self.permits.clone().acquire_owned().await.ok();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            job()
        })
    }
}

impl Default for CryptoPool {
    /// A pool with one worker per core.
    fn default() -> Self {
        CryptoPool::new(std::thread::available_parallelism().map_or(1, |n| n.get()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn runs_at_most_size_jobs_at_once() {
        let pool = CryptoPool::new(2);
        let (running, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let mut jobs = Vec::new();
        for i in 0..8 {
            let (running, peak) = (running.clone(), peak.clone());
            jobs.push(
                pool.start(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                    i
                })
                .await,
            );
        }
        let mut results = Vec::new();
        for job in jobs {
            results.push(job.await.unwrap_or(usize::MAX));
        }
        assert_eq!(
            results,
            (0..8).collect::<Vec<_>>(),
            "results come back in order"
        );
        assert!(peak.load(Ordering::SeqCst) <= 2);
    }
}
