//! The per-sender MSG rate limit: a token bucket per session. A sender over the limit is
//! slowed down (its next MSG is read later), never refused, so nothing it sends is lost.

use std::time::Duration;

use tokio::time::Instant;

/// `rate` tokens per second, at most `burst` saved up.
#[derive(Debug)]
pub(super) struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
    /// Whether the sender is being slowed down now (to log once per episode).
    limited: bool,
}

/// What taking a token means for the caller.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Take {
    /// How long to wait before serving this MSG (zero within the limit).
    pub wait: Duration,
    /// This MSG starts an episode of slowing down (log it).
    pub started: bool,
}

impl TokenBucket {
    /// A full bucket; `rate == 0` means no limit.
    pub fn new(rate: u32, burst: u32) -> Self {
        TokenBucket {
            rate: f64::from(rate),
            burst: f64::from(burst.max(1)),
            tokens: f64::from(burst.max(1)),
            last: Instant::now(),
            limited: false,
        }
    }

    /// Takes one token at `now`. Without one, the token is borrowed and the wait until it is
    /// earned is returned; the caller waits before taking the next, so the debt never
    /// exceeds one token.
    pub fn take(&mut self, now: Instant) -> Take {
        if self.rate <= 0.0 {
            return Take {
                wait: Duration::ZERO,
                started: false,
            };
        }
        let earned = now.saturating_duration_since(self.last).as_secs_f64() * self.rate;
        self.last = now;
        self.tokens = (self.tokens + earned).min(self.burst) - 1.0;
        if self.tokens >= 0.0 {
            self.limited = false;
            return Take {
                wait: Duration::ZERO,
                started: false,
            };
        }
        let started = !self.limited;
        self.limited = true;
        Take {
            wait: Duration::from_secs_f64(-self.tokens / self.rate),
            started,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(10, 3);
        for _ in 0..3 {
            assert_eq!(b.take(t0).wait, Duration::ZERO);
        }
        let over = b.take(t0);
        assert!(over.started);
        assert!((over.wait.as_secs_f64() - 0.1).abs() < 1e-9);
        // After waiting that long, the next one waits a full interval again, not logged again.
        let next = b.take(t0 + over.wait);
        assert!(!next.started);
        assert!((next.wait.as_secs_f64() - 0.1).abs() < 1e-6);
        // A quiet second refills the burst.
        let later = t0 + Duration::from_secs(2);
        assert_eq!(b.take(later).wait, Duration::ZERO);
    }

    #[test]
    fn zero_rate_is_unlimited() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(0, 0);
        for _ in 0..10_000 {
            assert_eq!(b.take(t0).wait, Duration::ZERO);
        }
    }
}
