//! Hook programs: run with no shell, the event in environment variables and the text on
//! standard input; at most `max_running` at once, up to `max_queued` waiting, the rest dropped;
//! killed (with their process group) after `timeout_secs`. A failure is logged and announced
//! as a `hook_failed` event; nothing here ever holds up delivery.

use std::collections::VecDeque;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use gochat_proto::ipc::{self, AccountRef, event};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::settings::Settings;
use crate::events::EventBus;

/// Jobs between the notifier and the runner; beyond that they are dropped.
const HANDOVER: usize = 256;
/// Least time between two reports (log line and `hook_failed` event) of dropped hooks: a
/// flood of messages must not become a flood of events in the store.
const DROP_REPORT: Duration = Duration::from_secs(1);

/// A report of dropped hooks: the last job dropped, its command, and how many were dropped.
type DropReport = (Job, Vec<String>, u64);

/// Hooks dropped since the last report.
#[derive(Debug, Default)]
struct Drops {
    unreported: u64,
    last: Option<(Job, Vec<String>)>,
    reported_at: Option<Instant>,
}

impl Drops {
    /// Counts a dropped job; returns the report to make now, if one is due.
    fn note(&mut self, job: Job, command: Vec<String>, now: Instant) -> Option<DropReport> {
        self.unreported += 1;
        self.last = Some((job, command));
        self.due(now)
    }

    /// The drops not reported yet, once the last report is [`DROP_REPORT`] old.
    fn due(&mut self, now: Instant) -> Option<DropReport> {
        if self.unreported == 0
            || self
                .reported_at
                .is_some_and(|at| now.saturating_duration_since(at) < DROP_REPORT)
        {
            return None;
        }
        let (job, command) = self.last.take()?;
        self.reported_at = Some(now);
        Some((job, command, std::mem::take(&mut self.unreported)))
    }
}

fn lock_drops(drops: &Mutex<Drops>) -> std::sync::MutexGuard<'_, Drops> {
    drops
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The three hooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookKind {
    /// An incoming message.
    Message,
    /// A contact's key changed.
    KeyChange,
    /// A link changed state.
    LinkState,
}

impl HookKind {
    /// The setting's name in `[hooks]`.
    pub fn name(self) -> &'static str {
        match self {
            HookKind::Message => "on_message",
            HookKind::KeyChange => "on_key_change",
            HookKind::LinkState => "on_link_state",
        }
    }

    /// The configured command (empty: none).
    pub fn command(self, settings: &Settings) -> &[String] {
        match self {
            HookKind::Message => &settings.hooks.on_message,
            HookKind::KeyChange => &settings.hooks.on_key_change,
            HookKind::LinkState => &settings.hooks.on_link_state,
        }
    }
}

/// One run of a hook.
#[derive(Debug, Clone)]
pub struct Job {
    /// Which hook.
    pub kind: HookKind,
    /// The account it concerns.
    pub account: AccountRef,
    /// `GOCHAT_*` variables.
    pub env: Vec<(&'static str, String)>,
    /// Written to standard input.
    pub stdin: String,
}

/// Why a hook failed.
#[derive(Debug, thiserror::Error)]
enum HookError {
    #[error("cannot start it")]
    Start(#[source] std::io::Error),
    #[error("it exited with {0}")]
    Exit(ExitStatus),
    #[error("waiting for it failed")]
    Wait(#[source] std::io::Error),
    #[error("it ran longer than {0} s and was killed")]
    Timeout(u32),
}

/// Hands jobs to the runner task.
#[derive(Debug, Clone)]
pub struct Hooks {
    jobs: mpsc::Sender<(Job, Vec<String>)>,
    events: EventBus,
    drops: Arc<Mutex<Drops>>,
}

impl Hooks {
    /// Starts the runner on `tasks`; it reads limits from `settings` as they are now.
    pub fn start(
        settings: Arc<RwLock<Settings>>,
        events: EventBus,
        tasks: &TaskTracker,
        cancel: CancellationToken,
    ) -> Hooks {
        let (jobs, rx) = mpsc::channel(HANDOVER);
        let drops = Arc::new(Mutex::new(Drops::default()));
        tasks.spawn(run(rx, settings, events.clone(), drops.clone(), cancel));
        Hooks {
            jobs,
            events,
            drops,
        }
    }

    /// Queues `job` to run `command`; drops it when the queue is full (logged and announced
    /// at most once per [`DROP_REPORT`], with the count).
    pub async fn submit(&self, job: Job, command: Vec<String>) {
        if let Err(mpsc::error::TrySendError::Full((job, command))) =
            self.jobs.try_send((job, command))
        {
            let report = lock_drops(&self.drops).note(job, command, Instant::now());
            dropped(&self.events, report).await;
        }
    }
}

async fn dropped(events: &EventBus, report: Option<DropReport>) {
    let Some((job, command, count)) = report else {
        return;
    };
    tracing::warn!(
        hook = job.kind.name(),
        dropped = count,
        "too many hooks waiting: dropped some"
    );
    failed(
        events,
        &job,
        &command,
        format!("dropped {count}: too many hooks waiting"),
    )
    .await;
}

async fn failed(events: &EventBus, job: &Job, command: &[String], reason: String) {
    events
        .emit(event::Kind::HookFailed(ipc::HookFailed {
            hook: job.kind.name().to_owned(),
            program: command.first().cloned().unwrap_or_default(),
            reason,
            account: Some(job.account.clone()),
        }))
        .await;
}

/// The runner: a bounded queue in front of at most `max_running` children.
async fn run(
    mut jobs: mpsc::Receiver<(Job, Vec<String>)>,
    settings: Arc<RwLock<Settings>>,
    events: EventBus,
    drops: Arc<Mutex<Drops>>,
    cancel: CancellationToken,
) {
    let mut waiting: VecDeque<(Job, Vec<String>)> = VecDeque::new();
    let mut running = JoinSet::new();
    let mut report = tokio::time::interval(DROP_REPORT);
    report.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            _ = report.tick() => {
                let due = lock_drops(&drops).due(Instant::now());
                dropped(&events, due).await;
            }
            job = jobs.recv() => match job {
                Some(job) => {
                    let max_queued = read(&settings).hooks.max_queued as usize;
                    if waiting.len() >= max_queued {
                        let due = lock_drops(&drops).note(job.0, job.1, Instant::now());
                        dropped(&events, due).await;
                    } else {
                        waiting.push_back(job);
                    }
                }
                None => break,
            },
            Some(_) = running.join_next(), if !running.is_empty() => {}
        }
        let (max_running, timeout) = {
            let s = read(&settings);
            (s.hooks.max_running as usize, s.hooks.timeout_secs)
        };
        while running.len() < max_running.max(1) {
            let Some((job, command)) = waiting.pop_front() else {
                break;
            };
            let events = events.clone();
            running.spawn(async move {
                if let Err(e) = run_one(&job, &command, timeout).await {
                    let reason = crate::report::chain(&e).to_string();
                    tracing::warn!(hook = job.kind.name(), program = %command[0], error = %reason, "hook failed");
                    failed(&events, &job, &command, reason).await;
                }
            });
        }
    }
    // Stopping: children still running are killed with their JoinSet (kill_on_drop).
    running.shutdown().await;
}

fn read(settings: &RwLock<Settings>) -> std::sync::RwLockReadGuard<'_, Settings> {
    settings
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs one hook to its end or its timeout.
async fn run_one(job: &Job, command: &[String], timeout_secs: u32) -> Result<(), HookError> {
    let Some((program, args)) = command.split_first() else {
        return Ok(());
    };
    let mut child = tokio::process::Command::new(program)
        .args(args)
        // Values come from peers and servers: one terminal-safe line each (a NUL would make
        // the hook fail to start, an escape sequence could reach a terminal it prints to).
        .envs(
            job.env
                .iter()
                .map(|(k, v)| (*k, gochat_client::term::line(v).into_owned())),
        )
        .env("GOCHAT_HOOK", job.kind.name())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        // Its own process group, so a timeout kills what it started too.
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(HookError::Start)?;
    let pid = child.id();
    let stdin = child.stdin.take();
    let text = job.stdin.clone();
    let finished = async {
        if let Some(mut stdin) = stdin {
            // A hook that does not read its input is no failure.
            let _ = stdin.write_all(text.as_bytes()).await;
        }
        child.wait().await
    };
    match tokio::time::timeout(Duration::from_secs(u64::from(timeout_secs)), finished).await {
        Ok(Ok(status)) if status.success() => Ok(()),
        Ok(Ok(status)) => Err(HookError::Exit(status)),
        Ok(Err(e)) => Err(HookError::Wait(e)),
        Err(_) => {
            if let Some(pid) = pid.and_then(|p| rustix::process::Pid::from_raw(p as i32)) {
                let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
            }
            let _ = child.kill().await;
            Err(HookError::Timeout(timeout_secs))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hostile_values_reach_the_environment_as_one_safe_line() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let out = dir.path().join("env");
        let job = Job {
            kind: HookKind::LinkState,
            account: AccountRef::default(),
            env: vec![("GOCHAT_DETAIL", "a\0b\u{1b}]0;x\u{7}\nc".to_owned())],
            stdin: "raw\0text".to_owned(),
        };
        let command = vec![
            "/bin/sh".to_owned(),
            "-c".to_owned(),
            format!("printf %s \"$GOCHAT_DETAIL\" > {}", out.display()),
        ];
        run_one(&job, &command, 10).await.expect("the hook runs");
        let seen = std::fs::read_to_string(&out).expect("the hook wrote");
        assert_eq!(seen, "a\\u{0}b\\u{1b}]0;x\\u{7}\\u{a}c");
    }

    #[test]
    fn a_flood_of_drops_is_reported_once_a_second_with_its_count() {
        let job = Job {
            kind: HookKind::Message,
            account: AccountRef::default(),
            env: Vec::new(),
            stdin: String::new(),
        };
        let command = vec!["/bin/true".to_owned()];
        let mut drops = Drops::default();
        let t0 = Instant::now();
        let mut reports = Vec::new();
        for i in 0..10_000u32 {
            let now = t0 + Duration::from_micros(u64::from(i) * 100);
            reports.extend(drops.note(job.clone(), command.clone(), now).map(|r| r.2));
        }
        assert_eq!(reports, vec![1], "the first at once, the rest held");
        assert!(drops.due(t0 + Duration::from_millis(999)).is_none());
        let rest = drops.due(t0 + Duration::from_secs(2)).expect("the rest");
        assert_eq!(rest.2, 9_999);
        assert!(
            drops.due(t0 + Duration::from_secs(5)).is_none(),
            "nothing left"
        );
    }
}
