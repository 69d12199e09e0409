//! `Builder`: a runtime's settings.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use super::core::Core;
use super::Runtime;
use crate::coop;
use crate::watchdog::{OnSlowPoll, SlowPoll};

const DEFAULT_EVENT_INTERVAL: u32 = 61;
const DEFAULT_BLOCKING_THREADS: usize = 64;
const DEFAULT_BLOCKING_KEEP_ALIVE: Duration = Duration::from_secs(10);

/// Configures and builds a [`Runtime`].
///
/// ```
/// let rt = corio_runtime::Runtime::builder()
///     .event_interval(31)
///     .blocking_threads(4)
///     .seed(7)
///     .build()
///     .unwrap();
/// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    pub(super) event_interval: u32,
    pub(super) blocking_threads: usize,
    pub(super) blocking_keep_alive: Duration,
    pub(super) seed: Option<u64>,
    pub(super) task_budget: u32,
    pub(super) start_paused: bool,
    pub(super) auto_advance: bool,
    pub(super) slow_poll_threshold: Option<Duration>,
    pub(super) on_slow_poll: Option<SlowPollHook>,
}

/// `Builder::on_slow_poll`'s callback, with a `Debug` for the builder's.
#[derive(Clone)]
pub(super) struct SlowPollHook(pub(super) OnSlowPoll);

impl fmt::Debug for SlowPollHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("on_slow_poll(..)")
    }
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            event_interval: DEFAULT_EVENT_INTERVAL,
            blocking_threads: DEFAULT_BLOCKING_THREADS,
            blocking_keep_alive: DEFAULT_BLOCKING_KEEP_ALIVE,
            seed: None,
            task_budget: coop::DEFAULT_TASK_BUDGET,
            start_paused: false,
            auto_advance: true,
            slow_poll_threshold: None,
            on_slow_poll: None,
        }
    }
}

impl Builder {
    /// A builder with the defaults: `event_interval` 61, 64 blocking threads, FIFO scheduling.
    ///
    /// ```
    /// let rt = corio_runtime::Builder::new().build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn new() -> Builder {
        Builder::default()
    }

    /// How many task polls run between two looks at the OS for I/O events and timers while
    /// tasks keep being ready (default 61). Lower: fairer to I/O; higher: fewer syscalls.
    /// Values below 1 are treated as 1.
    ///
    /// ```
    /// let rt = corio_runtime::Builder::new().event_interval(1).build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn event_interval(mut self, polls: u32) -> Builder {
        self.event_interval = polls.max(1);
        self
    }

    /// The most OS threads `spawn_blocking` may run at once (default 64; at least 1).
    ///
    /// ```
    /// let rt = corio_runtime::Builder::new().blocking_threads(2).build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn blocking_threads(mut self, threads: usize) -> Builder {
        self.blocking_threads = threads.max(1);
        self
    }

    /// How long an idle blocking-pool thread waits for work before it exits (default 10 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = corio_runtime::Builder::new()
    ///     .blocking_keep_alive(Duration::from_millis(100))
    ///     .build()
    ///     .unwrap();
    /// # drop(rt);
    /// ```
    pub fn blocking_keep_alive(mut self, keep_alive: Duration) -> Builder {
        self.blocking_keep_alive = keep_alive;
        self
    }

    /// Deterministic shuffled scheduling: ready tasks are picked in an order drawn from a
    /// generator seeded with `seed`, instead of FIFO. The same program with the same seed runs
    /// its tasks in the same order, so a failing interleaving can be replayed.
    ///
    /// ```
    /// let rt = corio_runtime::Builder::new().seed(42).build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn seed(mut self, seed: u64) -> Builder {
        self.seed = Some(seed);
        self
    }

    /// How many budget units one task poll may spend (default 128): every corio operation
    /// that completes without waiting (a socket read or write, a ready `Queue::get`, a free
    /// `Lock`, a set `Event`, a finished `JoinHandle`, ...) draws one; at zero it returns
    /// `Pending` and the task goes to the back of the run queue, so one busy connection
    /// cannot hold the loop. Lower: fairer, more task switches; higher: fewer switches.
    /// Values below 1 are treated as 1; values above 2^30 turn the budget off. Use
    /// [`task::unconstrained`](crate::task::unconstrained) to exempt one future.
    ///
    /// ```
    /// let rt = corio_runtime::Builder::new().task_budget(32).build().unwrap();
    /// rt.block_on(async {
    ///     assert_eq!(corio_runtime::task::budget_remaining(), Some(32));
    /// });
    /// ```
    pub fn task_budget(mut self, units: u32) -> Builder {
        self.task_budget = match units {
            0 => 1,
            n if n > coop::MAX_TASK_BUDGET => coop::UNCONSTRAINED,
            n => n,
        };
        self
    }

    /// Start with the clock paused (virtual time, for tests; default false): time moves only
    /// by `time::advance` and by auto-advance, see [`time::pause`](crate::time::pause).
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = corio_runtime::Builder::new().start_paused(true).build().unwrap();
    /// let wall = std::time::Instant::now();
    /// rt.block_on(corio_runtime::time::sleep(Duration::from_secs(3600)));
    /// assert!(wall.elapsed() < Duration::from_secs(60));
    /// ```
    pub fn start_paused(mut self, paused: bool) -> Builder {
        self.start_paused = paused;
        self
    }

    /// Whether paused time jumps to the next timer deadline when nothing else can happen
    /// (default true). With `false` a paused clock moves only by `time::advance`: a loop whose
    /// tasks all wait on timers then waits for I/O or a wake from another thread, like a
    /// real deadlock would.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = corio_runtime::Builder::new()
    ///     .start_paused(true)
    ///     .auto_advance(false)
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(async {
    ///     let t0 = corio_runtime::time::now();
    ///     let job = corio_runtime::spawn_blocking(|| std::thread::sleep(Duration::from_millis(20)));
    ///     job.await.unwrap();
    ///     assert_eq!(corio_runtime::time::now(), t0, "real work does not move paused time");
    /// });
    /// ```
    pub fn auto_advance(mut self, enabled: bool) -> Builder {
        self.auto_advance = enabled;
        self
    }

    /// Report task polls that run longer than `threshold` (off by default; asyncio's debug
    /// mode uses 100 ms): a watchdog thread names a poll still running past it (an endless
    /// computation is reported while it runs), and the loop reports it again with its
    /// duration when it returns. Reports go to [`on_slow_poll`](Self::on_slow_poll) (default:
    /// one line on stderr). The loop reads no clock for this: a poll is caught once it has run
    /// between `threshold` and 1.25 × `threshold`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = corio_runtime::Builder::new()
    ///     .slow_poll_threshold(Duration::from_millis(100))
    ///     .build()
    ///     .unwrap();
    /// # drop(rt);
    /// ```
    pub fn slow_poll_threshold(mut self, threshold: Duration) -> Builder {
        self.slow_poll_threshold = Some(threshold);
        self
    }

    /// Where slow-poll reports go (see [`slow_poll_threshold`](Self::slow_poll_threshold));
    /// called on the watchdog's thread for a running poll, on the loop's for a finished one.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = corio_runtime::Builder::new()
    ///     .slow_poll_threshold(Duration::from_millis(50))
    ///     .on_slow_poll(|p| eprintln!("slow: {p:?}"))
    ///     .build()
    ///     .unwrap();
    /// # drop(rt);
    /// ```
    pub fn on_slow_poll(mut self, report: impl Fn(&SlowPoll) + Send + Sync + 'static) -> Builder {
        self.on_slow_poll = Some(SlowPollHook(Arc::new(report)));
        self
    }

    /// Create the runtime: an epoll (kqueue) instance, its waker, and an empty task set.
    /// Errors are those of creating the OS poller.
    ///
    /// ```
    /// let rt = corio_runtime::Builder::new().build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn build(self) -> io::Result<Runtime> {
        Ok(Runtime::from_core(Core::new(self)?))
    }
}
