//! Per-address token buckets (connects, logins), with a bounded table: buckets that have
//! refilled carry no information and are evicted, and a full table stops tracking new
//! addresses instead of growing.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The address a per-IP limit counts: IPv4 (also IPv4-mapped IPv6) as is, IPv6 by its /64,
/// since one host usually owns a whole /64 and could otherwise evade any per-address limit.
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// How much a bucket holds and how fast it refills.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    /// Bucket size: events allowed in a burst.
    pub burst: u32,
    /// Tokens added per minute; 0 turns the limit off.
    pub per_minute: u32,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Token buckets keyed by [`limit_key`].
#[derive(Debug)]
pub struct RateLimiter {
    rate: Rate,
    capacity: usize,
    state: Mutex<Table>,
}

#[derive(Debug)]
struct Table {
    buckets: HashMap<IpAddr, Bucket>,
    last_sweep: Instant,
}

/// Least time between two sweeps triggered by a full table (a sweep walks the whole table).
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

impl RateLimiter {
    /// A limiter allowing `rate` per address, tracking at most `capacity` addresses.
    pub fn new(rate: Rate, capacity: usize) -> Self {
        RateLimiter {
            rate,
            capacity: capacity.max(1),
            state: Mutex::new(Table {
                buckets: HashMap::new(),
                last_sweep: Instant::now(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn refill_per_sec(&self) -> f64 {
        f64::from(self.rate.per_minute) / 60.0
    }

    /// Takes one token for `ip` at `now`; `false` when its bucket is empty (limited).
    pub fn allow(&self, ip: IpAddr, now: Instant) -> bool {
        if self.rate.per_minute == 0 {
            return true;
        }
        let key = limit_key(ip);
        let burst = f64::from(self.rate.burst);
        let refill = self.refill_per_sec();
        let mut table = self.lock();
        if !table.buckets.contains_key(&key) && table.buckets.len() >= self.capacity {
            if now.saturating_duration_since(table.last_sweep) >= SWEEP_INTERVAL {
                table.last_sweep = now;
                self.sweep_locked(&mut table, now);
            }
            if table.buckets.len() >= self.capacity {
                // Every tracked address is busy: let this one through untracked rather than
                // refuse everyone new (the connection limits still apply to it).
                return true;
            }
        }
        let bucket = table.buckets.entry(key).or_insert(Bucket {
            tokens: burst,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * refill).min(burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Forgets every address whose bucket is full again at `now` (it would start afresh).
    pub fn sweep(&self, now: Instant) {
        let mut table = self.lock();
        table.last_sweep = now;
        self.sweep_locked(&mut table, now);
    }

    fn sweep_locked(&self, table: &mut Table, now: Instant) {
        let burst = f64::from(self.rate.burst);
        let refill = self.refill_per_sec();
        table.buckets.retain(|_, b| {
            let elapsed = now.saturating_duration_since(b.updated).as_secs_f64();
            b.tokens + elapsed * refill < burst
        });
        if table.buckets.is_empty() {
            // Give the allocation back after a burst of many addresses.
            table.buckets.shrink_to_fit();
        }
    }

    /// Addresses tracked now.
    pub fn tracked(&self) -> usize {
        self.lock().buckets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse()
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
    }

    #[test]
    fn burst_then_refill() {
        let limiter = RateLimiter::new(
            Rate {
                burst: 3,
                per_minute: 60,
            },
            10,
        );
        let t0 = Instant::now();
        let a = ip("192.0.2.1");
        assert!((0..3).all(|_| limiter.allow(a, t0)));
        assert!(!limiter.allow(a, t0));
        // Another address has its own bucket.
        assert!(limiter.allow(ip("192.0.2.2"), t0));
        // One token per second.
        assert!(limiter.allow(a, t0 + Duration::from_millis(1000)));
        assert!(!limiter.allow(a, t0 + Duration::from_millis(1000)));
    }

    #[test]
    fn off_when_rate_is_zero() {
        let limiter = RateLimiter::new(
            Rate {
                burst: 1,
                per_minute: 0,
            },
            1,
        );
        let t0 = Instant::now();
        assert!((0..100).all(|_| limiter.allow(ip("192.0.2.1"), t0)));
        assert_eq!(limiter.tracked(), 0);
    }

    #[test]
    fn table_stays_bounded_and_refilled_entries_are_evicted() {
        let limiter = RateLimiter::new(
            Rate {
                burst: 2,
                per_minute: 60,
            },
            4,
        );
        let t0 = Instant::now();
        for i in 0..100u8 {
            limiter.allow(IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, i)), t0);
        }
        assert_eq!(limiter.tracked(), 4, "never more than the capacity");
        // Two seconds later every bucket is full again: a new address evicts them.
        let later = t0 + Duration::from_secs(2);
        assert!(limiter.allow(ip("203.0.113.9"), later));
        assert_eq!(limiter.tracked(), 1);
        limiter.sweep(later + Duration::from_secs(2));
        assert_eq!(limiter.tracked(), 0);
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_v4_as_v4() {
        assert_eq!(
            limit_key(ip("2001:db8:1:2:3:4:5:6")),
            ip("2001:db8:1:2::"),
            "one /64"
        );
        assert_eq!(limit_key(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(limit_key(ip("192.0.2.7")), ip("192.0.2.7"));
    }
}
