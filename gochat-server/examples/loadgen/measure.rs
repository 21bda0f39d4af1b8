//! Server process sampling, latency statistics, error tallies and logged-in users.

use super::*;

// ---------------------------------------------------------------------------------------------
// Process sampling

/// Raises the soft open-files limit to the hard limit (19,900 idle connections need it).
pub(crate) fn raise_nofile_limit() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        let wanted = Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        if let Err(e) = setrlimit(Resource::Nofile, wanted) {
            eprintln!("warning: cannot raise RLIMIT_NOFILE: {e}");
        }
    }
}

pub(crate) fn nofile_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

/// CPU time (ms) and RSS (KiB) of a process.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ProcSample {
    pub(crate) cpu_ms: f64,
    pub(crate) rss_kib: u64,
}

pub(crate) fn sample_proc(pid: &str) -> Option<ProcSample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let ticks = rustix::param::clock_ticks_per_second().max(1);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Some(ProcSample {
        cpu_ms: (utime + stime) as f64 * 1000.0 / ticks as f64,
        rss_kib,
    })
}

pub(crate) struct Meter {
    pub(crate) server: Option<u32>,
    pub(crate) db: Option<u32>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Snapshot {
    pub(crate) at: Instant,
    pub(crate) server: Option<ProcSample>,
    pub(crate) db: Option<ProcSample>,
    pub(crate) me: Option<ProcSample>,
}

/// Differences between two snapshots.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Delta {
    pub(crate) wall: Duration,
    pub(crate) server_cpu_ms: Option<f64>,
    pub(crate) server_rss_before: Option<u64>,
    pub(crate) server_rss_after: Option<u64>,
    pub(crate) db_cpu_ms: Option<f64>,
    pub(crate) me_cpu_ms: Option<f64>,
}

impl Meter {
    pub(crate) fn snapshot(&self) -> Snapshot {
        Snapshot {
            at: Instant::now(),
            server: self.server.and_then(|p| sample_proc(&p.to_string())),
            db: self.db.and_then(|p| sample_proc(&p.to_string())),
            me: sample_proc("self"),
        }
    }

    pub(crate) fn since(&self, before: &Snapshot) -> Delta {
        let after = self.snapshot();
        let cpu = |a: Option<ProcSample>, b: Option<ProcSample>| Some(b?.cpu_ms - a?.cpu_ms);
        Delta {
            wall: after.at - before.at,
            server_cpu_ms: cpu(before.server, after.server),
            server_rss_before: before.server.map(|s| s.rss_kib),
            server_rss_after: after.server.map(|s| s.rss_kib),
            db_cpu_ms: cpu(before.db, after.db),
            me_cpu_ms: cpu(before.me, after.me),
        }
    }
}

impl Delta {
    pub(crate) fn print(&self, phase: &str) {
        let mut line = format!("[{phase}] wall {:.3} s", self.wall.as_secs_f64());
        if let Some(c) = self.server_cpu_ms {
            line += &format!(", server CPU {c:.0} ms");
        }
        if let (Some(a), Some(b)) = (self.server_rss_before, self.server_rss_after) {
            line += &format!(", server RSS {a} → {b} KiB");
        }
        if let Some(c) = self.db_cpu_ms {
            line += &format!(", database CPU {c:.0} ms");
        }
        if let Some(c) = self.me_cpu_ms {
            line += &format!(", loadgen CPU {c:.0} ms");
        }
        println!("{line}");
    }

    /// Server CPU per operation (ms), if sampled.
    pub(crate) fn per_op(&self, ops: usize) -> Option<f64> {
        self.server_cpu_ms.map(|c| c / ops.max(1) as f64)
    }
}

// ---------------------------------------------------------------------------------------------
// Statistics

/// Latency samples in microseconds.
#[derive(Default)]
pub(crate) struct Lat(pub(crate) Vec<u64>);

impl Lat {
    pub(crate) fn push(&mut self, d: Duration) {
        self.0.push(d.as_micros() as u64);
    }

    pub(crate) fn push_ns(&mut self, ns: u64) {
        self.0.push(ns / 1000);
    }

    pub(crate) fn extend(&mut self, other: Lat) {
        self.0.extend(other.0);
    }

    /// Percentile in milliseconds.
    pub(crate) fn pct(&mut self, p: f64) -> f64 {
        if self.0.is_empty() {
            return f64::NAN;
        }
        self.0.sort_unstable();
        let rank = ((p / 100.0) * self.0.len() as f64).ceil() as usize;
        self.0[rank.clamp(1, self.0.len()) - 1] as f64 / 1000.0
    }

    pub(crate) fn summary(&mut self) -> String {
        format!(
            "n={} p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
            self.0.len(),
            self.pct(50.0),
            self.pct(90.0),
            self.pct(99.0),
            self.pct(99.9),
            self.pct(100.0)
        )
    }
}

/// Error tally by description.
#[derive(Default, Clone)]
pub(crate) struct Errors(pub(crate) Arc<Mutex<BTreeMap<String, usize>>>);

impl Errors {
    pub(crate) fn add(&self, what: impl Into<String>) {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *map.entry(what.into()).or_insert(0) += 1;
    }

    pub(crate) fn total(&self) -> usize {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .sum()
    }

    pub(crate) fn describe(&self) -> String {
        let map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.is_empty() {
            return "none".into();
        }
        map.iter()
            .map(|(k, v)| format!("{v} × {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

// ---------------------------------------------------------------------------------------------
// Users

/// The username of key `i`.
pub(crate) fn user_name(i: usize) -> Bytes {
    Bytes::from(format!("lg{i}"))
}

/// Connects `n` clients (logging errors) and registers + logs in user `first + i` on each.
/// Registration answered with `ERR_EXISTS` counts as already registered.
pub(crate) async fn logged_in_clients(
    ctx: &Ctx,
    keys: &[Arc<PrivateKey>],
    first: usize,
    n: usize,
    login: bool,
) -> Result<Vec<Client>> {
    logged_in_clients_at(ctx.addr, keys, first, n, login).await
}

/// [`logged_in_clients`] on the server at `addr`.
pub(crate) async fn logged_in_clients_at(
    addr: SocketAddr,
    keys: &[Arc<PrivateKey>],
    first: usize,
    n: usize,
    login: bool,
) -> Result<Vec<Client>> {
    let errors = Errors::default();
    let results: Vec<Result<Client>> = futures::stream::iter(first..first + n)
        .map(|i| {
            let errors = errors.clone();
            let key = keys[i].clone();
            async move {
                let mut c = Client::connect(addr).await?;
                let name = user_name(i);
                if let Some(code) = c.try_register(&name, &key).await? {
                    if code != "ERR_EXISTS" {
                        bail!("REG {}: {code}", String::from_utf8_lossy(&name));
                    }
                    errors.add("REG answered ERR_EXISTS (already registered, reused)");
                }
                if login {
                    c.login_offloaded(&name, &key).await?;
                }
                Ok(c)
            }
        })
        .buffered(16)
        .collect()
        .await;
    if errors.total() > 0 {
        println!("setup notes: {}", errors.describe());
    }
    results.into_iter().collect()
}
