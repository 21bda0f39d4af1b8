//! The crypto pool: RSA work (decrypting received messages, encrypting outgoing ones) runs on
//! a fixed set of worker threads, one per core by default, fed from one queue. Jobs wait in
//! the queue rather than for a worker to be handed to them, so during a large catch-up every
//! worker always has the next decryption ready and no core idles between two of them.
//!
//! The queue itself is unbounded: callers bound what they queue (the link's inbox holds at
//! most a fixed number of received messages, the outbox one message at a time).

use std::sync::{Arc, Mutex, mpsc};

use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send>;

/// A pool of worker threads. Cheap to clone; the workers stop once every clone is dropped
/// and the jobs queued before have run.
#[derive(Debug, Clone)]
pub struct CryptoPool {
    queue: mpsc::Sender<Job>,
    size: usize,
}

/// Why a job yielded nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the crypto pool stopped before the job ran")]
pub struct PoolStopped;

impl CryptoPool {
    /// A pool of `size` worker threads (at least one).
    pub fn new(size: usize) -> Self {
        let size = size.max(1);
        let (queue, jobs) = mpsc::channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        for i in 0..size {
            let jobs = jobs.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("gochatd-crypto-{i}"))
                .spawn(move || work(&jobs));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a crypto worker");
            }
        }
        CryptoPool { queue, size }
    }

    /// How many workers run jobs.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Queues `job`; the returned future yields its result. Jobs start in the order queued.
    pub fn start<T, F>(&self, job: F) -> impl Future<Output = Result<T, PoolStopped>> + use<T, F>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let queued = self.queue.send(Box::new(move || {
            let _ = tx.send(job());
        }));
        async move {
            queued.map_err(|_| PoolStopped)?;
            rx.await.map_err(|_| PoolStopped)
        }
    }
}

/// A worker: runs queued jobs until the queue is closed.
fn work(jobs: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        let job = {
            let jobs = jobs
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            jobs.recv()
        };
        match job {
            // A panicking job must not take the worker with it (its caller sees PoolStopped).
            Ok(job) => {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            }
            Err(_) => return,
        }
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
    async fn runs_at_most_size_jobs_at_once_and_in_order() {
        let pool = CryptoPool::new(2);
        let (running, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let mut jobs = Vec::new();
        for i in 0..8 {
            let (running, peak) = (running.clone(), peak.clone());
            jobs.push(pool.start(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(20));
                running.fetch_sub(1, Ordering::SeqCst);
                i
            }));
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
        assert_eq!(peak.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_panicking_job_spares_the_worker() {
        let pool = CryptoPool::new(1);
        let failed = pool.start(|| -> usize { panic!("job fails") });
        assert_eq!(failed.await, Err(PoolStopped));
        assert_eq!(pool.start(|| 7).await, Ok(7));
    }
}
