//! Slow-poll detection: name the task that holds the loop.
//!
//! Off by default (`Builder::slow_poll_threshold`). When on, the loop reads no clock per
//! poll: it only publishes, with plain atomic stores, a poll sequence number (odd while a
//! poll runs) and the running task's id and spawn location. A watchdog thread samples that
//! every quarter threshold; a poll it sees running across samples at least `threshold` apart
//! is reported *while it runs* (an endless computation is named, not silent), and the loop
//! reports it again with its final duration when it returns. A poll is therefore caught once
//! it has run `threshold`..`1.25 × threshold`; shorter polls are never reported.

use std::collections::HashMap;
use std::fmt;
use std::panic::Location;
use std::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::task::Id;

/// A poll that ran longer than `Builder::slow_poll_threshold`, handed to
/// `Builder::on_slow_poll` (by default printed as one line on stderr).
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use std::time::Duration;
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let s = seen.clone();
/// let rt = corio_runtime::Builder::new()
///     .slow_poll_threshold(Duration::from_millis(20))
///     .on_slow_poll(move |p| s.lock().unwrap().push(p.clone()))
///     .build()
///     .unwrap();
/// rt.block_on(async {
///     corio_runtime::task::Builder::new()
///         .name("hog")
///         .spawn(async { std::thread::sleep(Duration::from_millis(100)) })
///         .await
///         .unwrap();
/// });
/// let seen = seen.lock().unwrap();
/// assert!(seen.iter().any(|p| p.name.as_deref() == Some("hog") && !p.running));
/// ```
#[derive(Clone)]
pub struct SlowPoll {
    /// The task's id (0: the `block_on` future).
    pub id: Id,
    /// The task's name, if it has one.
    pub name: Option<String>,
    /// Where the task was spawned (the `block_on` caller for id 0).
    pub spawned_at: &'static Location<'static>,
    /// How long the poll has run (`running`) or ran: a lower bound, within a quarter
    /// threshold of the truth.
    pub duration: Duration,
    /// `true`: reported by the watchdog while the poll still runs; `false`: the poll has
    /// returned (reported on the loop's thread).
    pub running: bool,
}

impl fmt::Debug for SlowPoll {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlowPoll")
            .field("id", &self.id.as_u64())
            .field("name", &self.name)
            .field("spawned_at", &format_args!("{}", self.spawned_at))
            .field("duration", &self.duration)
            .field("running", &self.running)
            .finish()
    }
}

impl fmt::Display for SlowPoll {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "corio: slow poll: task {}", self.id)?;
        if let Some(name) = &self.name {
            write!(f, " {name:?}")?;
        }
        let verb = if self.running {
            "has been running for"
        } else {
            "took"
        };
        write!(
            f,
            " (spawned at {}) {verb} {:?}",
            self.spawned_at, self.duration
        )
    }
}

/// The report callback.
pub(crate) type OnSlowPoll = Arc<dyn Fn(&SlowPoll) + Send + Sync>;

/// The default report: one line on stderr.
pub(crate) fn print_report() -> OnSlowPoll {
    Arc::new(|p: &SlowPoll| eprintln!("{p}"))
}

/// What the loop publishes and the watchdog samples.
pub(crate) struct Watch {
    threshold: Duration,
    report: OnSlowPoll,
    /// Odd while a poll runs; bumped at each poll's start and end.
    seq: AtomicU64,
    task_id: AtomicU64,
    location: AtomicPtr<Location<'static>>,
    /// The sequence number the watchdog reported as running (the loop reports it again at
    /// its end), and when the watchdog first saw it running, in ns since `epoch`.
    flagged: AtomicU64,
    flagged_since: AtomicU64,
    epoch: Instant,
    /// Names of named tasks, so the watchdog can name a running one without touching the
    /// task (which the loop may free at any moment). Only kept while detection is on.
    names: Mutex<HashMap<u64, Arc<str>>>,
    stop: AtomicBool,
}

impl Watch {
    /// Start the watchdog thread for a runtime; it stops when the runtime drops its handle.
    pub(crate) fn start(threshold: Duration, report: OnSlowPoll) -> Arc<Watch> {
        let watch = Arc::new(Watch {
            threshold: threshold.max(Duration::from_millis(1)),
            report,
            seq: AtomicU64::new(0),
            task_id: AtomicU64::new(0),
            location: AtomicPtr::new(std::ptr::null_mut()),
            flagged: AtomicU64::new(0),
            flagged_since: AtomicU64::new(0),
            epoch: Instant::now(),
            names: Mutex::new(HashMap::new()),
            stop: AtomicBool::new(false),
        });
        let w = watch.clone();
        // If the thread cannot be started, detection silently stays off for running polls.
        let _ = thread::Builder::new()
            .name("corio-watchdog".into())
            .spawn(move || w.run());
        watch
    }

    /// A poll of task `id` (spawned at `at`) begins; `seq` is the loop's odd counter.
    #[inline]
    pub(crate) fn begin(&self, seq: u64, id: u64, at: &'static Location<'static>) {
        // Seqlock order: the previous poll's end (an even `seq`) is visible before this
        // poll's id and location, so a watchdog that rechecks `seq` never pairs them wrongly.
        fence(Ordering::Release);
        self.task_id.store(id, Ordering::Relaxed);
        self.location
            .store(at as *const Location<'static> as *mut _, Ordering::Relaxed);
        // Release: a watchdog that sees this `seq` sees the id and location above.
        self.seq.store(seq, Ordering::Release);
    }

    /// The poll numbered `seq` (odd) ended: its duration if the watchdog flagged it slow.
    #[inline]
    pub(crate) fn end(&self, seq: u64) -> Option<Duration> {
        self.seq.store(seq + 1, Ordering::Release);
        if self.flagged.load(Ordering::Acquire) != seq {
            return None;
        }
        let since = Duration::from_nanos(self.flagged_since.load(Ordering::Relaxed));
        Some(self.epoch.elapsed().saturating_sub(since))
    }

    pub(crate) fn report(&self, poll: &SlowPoll) {
        (self.report)(poll);
    }

    pub(crate) fn name_task(&self, id: u64, name: &str) {
        self.names
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, name.into());
    }

    pub(crate) fn forget_task(&self, id: u64) {
        self.names
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }

    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Release);
    }

    fn now_ns(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// The watchdog: sample every quarter threshold; report a poll seen running for at
    /// least `threshold`, once.
    fn run(self: Arc<Watch>) {
        let period = self.threshold / 4;
        let mut seen: Option<(u64, u64)> = None; // (seq, first seen at ns)
        let mut reported = 0u64;
        while !self.stop.load(Ordering::Acquire) {
            thread::sleep(period);
            let seq = self.seq.load(Ordering::Acquire);
            if seq.is_multiple_of(2) {
                seen = None;
                continue;
            }
            let first = match seen {
                Some((s, at)) if s == seq => at,
                _ => {
                    // The poll started at most one period before we first saw it.
                    let at = self.now_ns().saturating_sub(period.as_nanos() as u64);
                    seen = Some((seq, at));
                    at
                }
            };
            let ran = Duration::from_nanos(self.now_ns().saturating_sub(first));
            if ran < self.threshold || reported == seq {
                continue;
            }
            let id = self.task_id.load(Ordering::Relaxed);
            let at = self.location.load(Ordering::Relaxed);
            // The poll may have ended since: only report if it is still the same one.
            // Orders the two loads above before the recheck (the seqlock's read side).
            fence(Ordering::Acquire);
            if self.seq.load(Ordering::Acquire) != seq || at.is_null() {
                continue;
            }
            reported = seq;
            self.flagged_since.store(first, Ordering::Relaxed);
            self.flagged.store(seq, Ordering::Release);
            let name = self
                .names
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&id)
                .map(|n| n.to_string());
            // SAFETY: `location` only ever holds `&'static Location` pointers (see `begin`).
            let spawned_at: &'static Location<'static> = unsafe { &*at };
            (self.report)(&SlowPoll {
                id: Id(id),
                name,
                spawned_at,
                duration: ran,
                running: true,
            });
        }
    }
}
