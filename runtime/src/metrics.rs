//! Runtime metrics: what the loop has been doing, as plain counters (tokio-metrics' names).
//!
//! Counting is built so the hot path pays (almost) nothing: polls are counted by the loop's
//! own per-turn counter and added once per turn, the reactor counts the events it already
//! iterates, and time is read only around a blocking `epoll_wait` (a park), never per poll.
//! Busy time is therefore "elapsed minus parked".

use std::cell::Cell;
use std::time::{Duration, Instant};

/// A snapshot of a runtime's counters, from [`metrics`] or `Runtime::metrics`. Counts are
/// totals since the runtime was built; gauges (`live_tasks_count`, the blocking pool's) are
/// as of the snapshot.
///
/// ```
/// corio_runtime::run(async {
///     let before = corio_runtime::metrics();
///     corio_runtime::spawn(async {}).await.unwrap();
///     let after = corio_runtime::metrics();
///     assert_eq!(after.spawned_tasks_count - before.spawned_tasks_count, 1);
///     // Polls are added once per loop turn: make the loop turn.
///     corio_runtime::time::sleep(std::time::Duration::from_millis(1)).await;
///     assert!(corio_runtime::metrics().total_polls_count > before.total_polls_count);
///     assert!(after.busy_ratio() <= 1.0);
/// });
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuntimeMetrics {
    /// Spawned tasks not yet finished (the `block_on` future not counted).
    pub live_tasks_count: u64,
    /// Tasks spawned since the runtime was built.
    pub spawned_tasks_count: u64,
    /// Polls of tasks and of `block_on` futures, up to the loop's last look at the OS (the
    /// loop adds its count once per turn, so polls of the current turn are not in yet). It
    /// counts run-queue turns, so the rare pop of a task that finished or was aborted since it
    /// was queued counts too.
    pub total_polls_count: u64,
    /// Times the loop parked: waited in `epoll_wait` with nothing ready to run.
    pub total_park_count: u64,
    /// Time spent not parked since the runtime was built (`elapsed` minus parked time; time
    /// outside `block_on`, for a runtime that is entered more than once, counts as busy).
    pub total_busy_duration: Duration,
    /// Time since the runtime was built.
    pub elapsed: Duration,
    /// I/O events the OS reported (one event may wake several tasks).
    pub io_driver_ready_count: u64,
    /// Tasks woken from other threads (the blocking pool, user threads, remote handles).
    pub remote_schedule_count: u64,
    /// Polls cut short by the cooperative budget.
    pub budget_forced_yield_count: u64,
    /// Timers that fired.
    pub timers_fired_count: u64,
    /// Threads of the blocking pool, busy or idle.
    pub blocking_threads_count: u64,
    /// Threads of the blocking pool waiting for work.
    pub idle_blocking_threads_count: u64,
    /// `spawn_blocking` jobs waiting for a thread.
    pub blocking_queue_depth: u64,
}

impl RuntimeMetrics {
    /// The share of `elapsed` the loop was busy, from 0.0 to 1.0 (0.0 before any time passed).
    ///
    /// ```
    /// let m = corio_runtime::RuntimeMetrics::default();
    /// assert_eq!(m.busy_ratio(), 0.0);
    /// ```
    pub fn busy_ratio(&self) -> f64 {
        if self.elapsed.is_zero() {
            return 0.0;
        }
        (self.total_busy_duration.as_secs_f64() / self.elapsed.as_secs_f64()).min(1.0)
    }
}

/// The current runtime's metrics (see [`RuntimeMetrics`]).
///
/// # Panics
/// Outside a corio runtime.
///
/// ```
/// corio_runtime::run(async {
///     assert_eq!(corio_runtime::metrics().live_tasks_count, 0);
/// });
/// ```
#[track_caller]
pub fn metrics() -> RuntimeMetrics {
    crate::context::expect_core("corio::metrics", |core| core.metrics())
}

/// The loop's own counters (those not kept elsewhere), in `Cell`s: one thread, no atomics.
pub(crate) struct Counters {
    pub(crate) created: Instant,
    pub(crate) spawned: Cell<u64>,
    pub(crate) polls: Cell<u64>,
    pub(crate) parks: Cell<u64>,
    pub(crate) parked: Cell<Duration>,
    pub(crate) remote_schedules: Cell<u64>,
}

impl Counters {
    pub(crate) fn new() -> Counters {
        Counters {
            created: Instant::now(),
            spawned: Cell::new(0),
            polls: Cell::new(0),
            parks: Cell::new(0),
            parked: Cell::new(Duration::ZERO),
            remote_schedules: Cell::new(0),
        }
    }

    #[inline]
    pub(crate) fn add(cell: &Cell<u64>, n: u64) {
        cell.set(cell.get() + n);
    }

    /// Time a park: `park` blocks in the OS; its duration counts as not busy.
    pub(crate) fn parked<R>(&self, park: impl FnOnce() -> R) -> R {
        let start = Instant::now();
        let out = park();
        self.parks.set(self.parks.get() + 1);
        self.parked.set(self.parked.get() + start.elapsed());
        out
    }
}
