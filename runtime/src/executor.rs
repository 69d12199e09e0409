//! The event loop: `Runtime`, its `Builder`, and `Core`, the single-threaded state a runtime
//! owns (run queue, task slab, timers, reactor).
//!
//! One turn of the loop:
//! 1. poll the `block_on` future if it was woken;
//! 2. run ready tasks in FIFO order of their wake-ups (or seeded-random order), until the
//!    queue is empty or `event_interval` polls have been made;
//! 3. turn the reactor: `epoll_wait` with timeout 0 if work is still queued, else until the
//!    next timer deadline; fire due timers; drain wakes injected by other threads.
//!
//! Step 3 is skipped while the budget lasts, so `yield_now` costs no syscall.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use slab::Slab;

use crate::blocking::BlockingPool;
use crate::context;
use crate::coop;
use crate::metrics::{Counters, RuntimeMetrics};
use crate::reactor::Reactor;
use crate::remote::Remote;
use crate::rng::SplitMix64;
use crate::task::raw::{Meta, TaskPtr, CANCELLED, COMPLETE, HELPER, RUNNING, SCHEDULED};
use crate::task::{waker, JoinHandle};
use crate::time::Timers;
use crate::watchdog::{self, OnSlowPoll, SlowPoll, Watch};

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
    event_interval: u32,
    blocking_threads: usize,
    blocking_keep_alive: Duration,
    seed: Option<u64>,
    task_budget: u32,
    start_paused: bool,
    auto_advance: bool,
    slow_poll_threshold: Option<Duration>,
    on_slow_poll: Option<SlowPollHook>,
}

/// `Builder::on_slow_poll`'s callback, with a `Debug` for the builder's.
#[derive(Clone)]
struct SlowPollHook(OnSlowPoll);

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
        let (reactor, waker) = Reactor::new()?;
        let remote = Arc::new(Remote::new(waker));
        let core = Core {
            run_queue: RefCell::new(VecDeque::with_capacity(64)),
            tasks: RefCell::new(Slab::with_capacity(64)),
            current: Cell::new(None),
            main_queued: Cell::new(false),
            next_id: Cell::new(1),
            rng: self.seed.map(|s| RefCell::new(SplitMix64::new(s))),
            remote,
            timers: Rc::new(Timers::new(self.start_paused)),
            auto_advance: self.auto_advance,
            reactor: Rc::new(reactor),
            blocking: BlockingPool::new(self.blocking_threads, self.blocking_keep_alive),
            shutting_down: Cell::new(false),
            event_interval: self.event_interval,
            task_budget: self.task_budget,
            forced_yields: Cell::new(0),
            counters: Counters::new(),
            watch: self.slow_poll_threshold.map(|t| {
                let report = self
                    .on_slow_poll
                    .map(|h| h.0)
                    .unwrap_or_else(watchdog::print_report);
                Watch::start(t, report)
            }),
            poll_seq: Cell::new(0),
            loop_time: Cell::new(std::time::Instant::now()),
            deferred: RefCell::new(Vec::new()),
            deferred_scratch: RefCell::new(Vec::new()),
            any_deferred: Cell::new(false),
            live: Cell::new(0),
            injected: RefCell::new(Vec::new()),
        };
        Ok(Runtime {
            core: Rc::new(core),
            _not_send: PhantomData,
        })
    }
}

/// A single-threaded async runtime: one event loop, many tasks.
///
/// Tasks are `!Send`-friendly: `spawn` takes any `Future + 'static`. The runtime itself is
/// `!Send`; create one per thread if you want several loops. Dropping it drops every task
/// still alive (their destructors run, on this thread).
///
/// ```
/// use corio_runtime::{Runtime, spawn};
/// let rt = Runtime::new().unwrap();
/// let out = rt.block_on(async {
///     let h = spawn(async { 20 + 1 });
///     h.await.unwrap() * 2
/// });
/// assert_eq!(out, 42);
/// ```
pub struct Runtime {
    core: Rc<Core>,
    _not_send: PhantomData<*const ()>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("tasks", &self.core.tasks.borrow().len())
            .field("event_interval", &self.core.event_interval)
            .field("seeded", &self.core.rng.is_some())
            .finish()
    }
}

impl Runtime {
    /// A runtime with the default settings (see [`Builder`]).
    ///
    /// ```
    /// let rt = corio_runtime::Runtime::new()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    /// A [`Builder`] to configure a runtime.
    ///
    /// ```
    /// let rt = corio_runtime::Runtime::builder().seed(1).build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// Run the event loop until `future` completes, and return its output. Spawned tasks run
    /// meanwhile; those still alive when it returns stay in the runtime (for the next
    /// `block_on`) until the runtime is dropped.
    ///
    /// # Panics
    /// When called from inside a runtime on this thread (nested `block_on`), and when
    /// `future` panics (tasks' panics are caught and go to their `JoinHandle`).
    ///
    /// ```
    /// let rt = corio_runtime::Runtime::new().unwrap();
    /// assert_eq!(rt.block_on(async { "done" }), "done");
    /// ```
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let core = &*self.core;
        let _enter = context::enter(core, false);
        let block_on_at = std::panic::Location::caller();
        let mut future = pin!(future);
        let main_waker = waker::main_waker(&core.remote);
        let mut cx = Context::from_waker(&main_waker);
        core.wake_main();
        // Polls leave their budget behind; outside `block_on` none applies again.
        let _budget = coop::Restore::current();
        loop {
            let mut polls = 0u32;
            while polls < core.event_interval {
                match core.pop() {
                    None => break,
                    Some(Some(task)) => core.run_task(task),
                    Some(None) => {
                        core.main_queued.set(false);
                        coop::start_poll(core.task_budget);
                        let poll = match &core.watch {
                            None => future.as_mut().poll(&mut cx),
                            Some(watch) => {
                                core.watched(watch, 0, Some("main"), block_on_at, || {
                                    future.as_mut().poll(&mut cx)
                                })
                            }
                        };
                        if let Poll::Ready(out) = poll {
                            Counters::add(&core.counters.polls, u64::from(polls) + 1);
                            return out;
                        }
                    }
                }
                polls += 1;
                if core.has_deferred() {
                    // A task was cut short by its budget: before it runs again the loop
                    // looks at the OS (without blocking), so the connections that wait
                    // behind a busy one are heard within one budget, not after
                    // `event_interval` more of its polls.
                    break;
                }
            }
            Counters::add(&core.counters.polls, u64::from(polls));
            // Here the queue is empty (idle: the poll may block until the next timer), or
            // `event_interval` polls were made, or a budget ran out.
            let idle = core.run_queue.borrow().is_empty() && !core.has_deferred();
            core.turn(idle);
            core.wake_deferred();
        }
    }

    /// Spawn a task on this runtime from outside it (it starts running at the next
    /// `block_on`). Inside the runtime, use [`crate::spawn`].
    ///
    /// ```
    /// let rt = corio_runtime::Runtime::new().unwrap();
    /// let h = rt.spawn(async { 5 });
    /// assert_eq!(rt.block_on(h).unwrap(), 5);
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.core
            .spawn(future, None, std::panic::Location::caller())
    }

    /// This runtime's metrics (see [`RuntimeMetrics`]); usable from outside `block_on`.
    ///
    /// ```
    /// let rt = corio_runtime::Runtime::new().unwrap();
    /// rt.block_on(async { corio_runtime::spawn(async {}).await.unwrap() });
    /// assert_eq!(rt.metrics().spawned_tasks_count, 1);
    /// ```
    pub fn metrics(&self) -> RuntimeMetrics {
        self.core.metrics()
    }

    /// How many threads the blocking pool runs right now (busy or idle).
    ///
    /// ```
    /// let rt = corio_runtime::Runtime::new().unwrap();
    /// assert_eq!(rt.blocking_threads_alive(), 0);
    /// ```
    pub fn blocking_threads_alive(&self) -> usize {
        self.core.blocking.threads_alive()
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let core = &*self.core;
        // Destructors of task futures may spawn, wake or touch timers: let them find the core.
        let _enter = context::enter(core, true);
        core.shutting_down.set(true);
        if let Some(watch) = &core.watch {
            watch.stop();
        }
        // Deferred wakers hold task references: let go of them while every task is alive.
        drop(std::mem::take(&mut *core.deferred.borrow_mut()));
        for task in core.remote.close() {
            // SAFETY: each injected entry owns one reference.
            unsafe { task.drop_ref() };
        }
        // Phase 1: drop every future. Destructors may wake others (pushing onto the run
        // queue) but cannot add tasks: spawn during shutdown cancels at once.
        let all: Vec<TaskPtr> = core.tasks.borrow().iter().map(|(_, t)| *t).collect();
        for task in &all {
            if task.state() & COMPLETE == 0 {
                task.cancel();
                task.set(COMPLETE);
                task.wake_join();
            }
        }
        // Phase 2: the queue holds no references; forget it before references go.
        core.run_queue.borrow_mut().clear();
        // Phase 3: drop the runtime's references.
        let all: Vec<TaskPtr> = core.tasks.borrow_mut().drain().collect();
        for task in all {
            task.unset(SCHEDULED);
            // SAFETY: the slab entry owned the runtime's reference.
            unsafe { task.drop_ref() };
        }
        core.timers.clear();
        core.reactor.clear();
        core.blocking.shutdown();
    }
}

/// The runtime's single-threaded state. Reached through `context` while `block_on` runs.
pub(crate) struct Core {
    /// Ready tasks, `None` standing for the `block_on` future (so it takes its FIFO turn
    /// like a task). Entries own no reference: the slab's reference outlives a SCHEDULED task.
    run_queue: RefCell<VecDeque<Option<TaskPtr>>>,
    /// Every live task; the slab entry owns the runtime's reference.
    tasks: RefCell<Slab<TaskPtr>>,
    /// The task being polled, for `task::current()`.
    pub(crate) current: Cell<Option<TaskPtr>>,
    /// The `block_on` future is in the run queue.
    main_queued: Cell<bool>,
    next_id: Cell<u64>,
    rng: Option<RefCell<SplitMix64>>,
    pub(crate) remote: Arc<Remote>,
    pub(crate) timers: Rc<Timers>,
    pub(crate) reactor: Rc<Reactor>,
    pub(crate) blocking: BlockingPool,
    shutting_down: Cell<bool>,
    event_interval: u32,
    /// Paused time jumps to the next deadline when nothing else can happen.
    auto_advance: bool,
    /// Budget units each poll starts with (see `coop`).
    task_budget: u32,
    /// Polls that ended because their budget ran out (read by metrics and tests).
    forced_yields: Cell<u64>,
    /// The rest of the metrics' counters.
    counters: Counters,
    /// Slow-poll detection, when on.
    watch: Option<Arc<Watch>>,
    /// Polls begun and ended, for the watchdog (odd while one runs).
    poll_seq: Cell<u64>,
    /// The time at the loop's latest turn (one clock read per turn): when a task was last
    /// polled, for `task::all`'s `idle_for`, without a clock read per poll.
    pub(crate) loop_time: Cell<std::time::Instant>,
    /// Wakers of polls cut short by the budget since the loop last looked at the OS: they
    /// are woken after it, behind whatever the OS and the timers woke.
    deferred: RefCell<Vec<Waker>>,
    /// The other half of `deferred`'s double buffer (waking may defer again).
    deferred_scratch: RefCell<Vec<Waker>>,
    /// `deferred` is not empty.
    any_deferred: Cell<bool>,
    /// Spawned tasks not yet COMPLETE.
    live: Cell<usize>,
    /// Scratch space for draining the inject queue without allocating each turn.
    injected: RefCell<Vec<TaskPtr>>,
}

impl Core {
    /// Transition (1): allocate a task and queue it.
    pub(crate) fn spawn<F>(
        &self,
        future: F,
        name: Option<Box<crate::task::raw::TaskName>>,
        spawned_at: &'static std::panic::Location<'static>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.spawn_task(future, name, spawned_at, false)
    }

    /// Spawn the runtime's own helper task (a `spawn_blocking` wait): a task like any other,
    /// but not counted as a user task.
    pub(crate) fn spawn_helper<F>(
        &self,
        future: F,
        spawned_at: &'static std::panic::Location<'static>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.spawn_task(future, None, spawned_at, true)
    }

    fn spawn_task<F>(
        &self,
        future: F,
        name: Option<Box<crate::task::raw::TaskName>>,
        spawned_at: &'static std::panic::Location<'static>,
        helper: bool,
    ) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let meta = Meta {
            spawned_at,
            polls: Cell::new(0),
            last_polled: Cell::new(self.loop_time.get()),
        };
        let task = TaskPtr::allocate(future, id, name, self.remote.clone(), 2, meta);
        if self.shutting_down.get() {
            // The runtime is being dropped: the task is born cancelled.
            task.cancel();
            task.set(COMPLETE);
            task.unset(SCHEDULED);
            // SAFETY: this is the runtime's reference; the task never entered the slab.
            unsafe { task.drop_ref() };
        } else {
            let key = self.tasks.borrow_mut().insert(task);
            task.header()
                .key
                .set(u32::try_from(key).expect("corio: more than 4G live tasks"));
            if helper {
                task.set(HELPER);
            } else {
                self.live.set(self.live.get() + 1);
                Counters::add(&self.counters.spawned, 1);
            }
            if let (Some(watch), Some(name)) = (&self.watch, &task.header().name) {
                watch.name_task(id, &name.0);
            }
            self.run_queue.borrow_mut().push_back(Some(task));
        }
        JoinHandle::new(task)
    }

    /// Transition (3): queue `task` unless it is queued already or complete.
    #[inline]
    pub(crate) fn schedule(&self, task: TaskPtr) {
        let state = task.state();
        if state & (SCHEDULED | COMPLETE) == 0 {
            task.set(SCHEDULED);
            self.run_queue.borrow_mut().push_back(Some(task));
        }
    }

    /// Queue the `block_on` future (same rules as `schedule`).
    pub(crate) fn wake_main(&self) {
        if !self.main_queued.replace(true) {
            self.run_queue.borrow_mut().push_back(None);
        }
    }

    /// A task's poll under the watchdog (out of line: the unwatched path stays as it was).
    #[inline(never)]
    fn poll_task_watched(&self, watch: &Watch, task: TaskPtr, cx: &mut Context<'_>) -> bool {
        let header = task.header();
        let name = header.name.as_deref().map(|n| &*n.0);
        let spawned_at = task.meta().spawned_at;
        self.watched(watch, header.id, name, spawned_at, || task.poll(cx))
    }

    /// Run one poll under the watchdog's eye; report it here if it was flagged slow.
    #[inline]
    fn watched<R>(
        &self,
        watch: &Watch,
        id: u64,
        name: Option<&str>,
        spawned_at: &'static std::panic::Location<'static>,
        poll: impl FnOnce() -> R,
    ) -> R {
        let seq = self.poll_seq.get() + 1;
        self.poll_seq.set(seq + 1);
        watch.begin(seq, id, spawned_at);
        let out = poll();
        if let Some(duration) = watch.end(seq) {
            Self::report_slow(watch, id, name, spawned_at, duration);
        }
        out
    }

    #[cold]
    #[inline(never)]
    fn report_slow(
        watch: &Watch,
        id: u64,
        name: Option<&str>,
        spawned_at: &'static std::panic::Location<'static>,
        duration: Duration,
    ) {
        {
            watch.report(&SlowPoll {
                id: crate::task::Id(id),
                name: name.map(str::to_owned),
                spawned_at,
                duration,
                running: false,
            });
        }
    }

    /// A poll ran out of budget (called from `coop`'s cold path): count it and park its
    /// waker until the loop has looked at the OS.
    pub(crate) fn defer(&self, waker: &Waker) {
        // Once per cut poll: the loop turns right after the first defer, so until then every
        // defer belongs to the same poll (several sub-futures of one `join!`, say).
        if !self.any_deferred.replace(true) {
            self.forced_yields.set(self.forced_yields.get() + 1);
        }
        let mut deferred = self.deferred.borrow_mut();
        // Only the last entry is compared (O(1)): repeats of one task's waker are the common
        // case, and a duplicate further back merely wakes a queued task twice, a no-op.
        if !deferred.last().is_some_and(|w| w.will_wake(waker)) {
            deferred.push(waker.clone());
        }
    }

    /// Some poll was cut short since the last turn (a plain flag: it is read after every
    /// poll, so it must cost no more than a load).
    #[inline]
    fn has_deferred(&self) -> bool {
        self.any_deferred.get()
    }

    /// Queue the tasks the budget cut short, after what the last turn woke.
    fn wake_deferred(&self) {
        if !self.has_deferred() {
            return;
        }
        self.any_deferred.set(false);
        let mut wakers = self.deferred_scratch.borrow_mut();
        std::mem::swap(&mut *wakers, &mut *self.deferred.borrow_mut());
        for waker in wakers.drain(..) {
            waker.wake();
        }
    }

    /// How many polls were cut short by the budget so far.
    pub(crate) fn forced_yield_count(&self) -> u64 {
        self.forced_yields.get()
    }

    /// `task::all`: every live task, by slab order.
    pub(crate) fn task_infos(&self) -> Vec<crate::task::TaskInfo> {
        use crate::task::{Id, TaskInfo, TaskState};
        let now = std::time::Instant::now();
        self.tasks
            .borrow()
            .iter()
            .map(|(_, t)| *t)
            .filter(|t| t.state() & (COMPLETE | HELPER) == 0)
            .map(|t| {
                let state = t.state();
                let meta = t.meta();
                TaskInfo {
                    id: Id(t.header().id),
                    name: t.header().name.as_ref().map(|n| n.0.to_string()),
                    state: if state & RUNNING != 0 {
                        TaskState::Running
                    } else if state & SCHEDULED != 0 {
                        TaskState::Scheduled
                    } else {
                        TaskState::Idle
                    },
                    polls: meta.polls.get(),
                    spawned_at: meta.spawned_at,
                    idle_for: now.saturating_duration_since(meta.last_polled.get()),
                }
            })
            .collect()
    }

    /// A snapshot of the metrics.
    pub(crate) fn metrics(&self) -> RuntimeMetrics {
        let elapsed = self.counters.created.elapsed();
        let (threads, idle, queued) = self.blocking.stats();
        RuntimeMetrics {
            live_tasks_count: self.live.get() as u64,
            spawned_tasks_count: self.counters.spawned.get(),
            total_polls_count: self.counters.polls.get(),
            total_park_count: self.counters.parks.get(),
            total_busy_duration: elapsed.saturating_sub(self.counters.parked.get()),
            elapsed,
            io_driver_ready_count: self.reactor.ready_count(),
            remote_schedule_count: self.counters.remote_schedules.get(),
            budget_forced_yield_count: self.forced_yield_count(),
            timers_fired_count: self.timers.fired_count(),
            blocking_threads_count: threads as u64,
            idle_blocking_threads_count: idle as u64,
            blocking_queue_depth: queued as u64,
        }
    }

    /// Live (spawned, not yet finished) tasks.
    pub(crate) fn active_count(&self) -> usize {
        self.live.get()
    }

    #[inline]
    fn pop(&self) -> Option<Option<TaskPtr>> {
        let mut queue = self.run_queue.borrow_mut();
        match &self.rng {
            None => queue.pop_front(),
            Some(rng) if !queue.is_empty() => {
                let i = rng.borrow_mut().below(queue.len());
                queue.swap_remove_back(i)
            }
            Some(_) => None,
        }
    }

    /// Transitions (2), (4), (5), (7): run one queued task.
    fn run_task(&self, task: TaskPtr) {
        task.unset(SCHEDULED);
        let state = task.state();
        if state & COMPLETE != 0 {
            self.release(task);
            return;
        }
        if state & CANCELLED != 0 {
            // Dropping the future may wake this very task (e.g. an `Async` it owned wakes
            // its waiters on drop), queueing it again: then the queue entry releases it.
            task.cancel();
            self.finish(task);
            return;
        }
        task.set(RUNNING);
        self.current.set(Some(task));
        let waker = waker::borrowed_task_waker(task);
        let mut cx = Context::from_waker(&waker);
        let meta = task.meta();
        meta.polls.set(meta.polls.get() + 1);
        meta.last_polled.set(self.loop_time.get());
        coop::start_poll(self.task_budget);
        let done = match &self.watch {
            None => task.poll(&mut cx),
            Some(watch) => self.poll_task_watched(watch, task, &mut cx),
        };
        self.current.set(None);
        task.unset(RUNNING);
        if done {
            self.finish(task);
        }
    }

    /// After (4) or (7): the future is gone. Publish completion, wake the joiner, and let go
    /// of the task unless it was queued again meanwhile (then its queue entry releases it).
    fn finish(&self, task: TaskPtr) {
        task.set(COMPLETE);
        if let (Some(watch), Some(_)) = (&self.watch, &task.header().name) {
            watch.forget_task(task.header().id);
        }
        if task.state() & HELPER == 0 {
            self.live.set(self.live.get() - 1);
        }
        task.wake_join();
        if task.state() & SCHEDULED == 0 {
            self.release(task);
        }
    }

    /// Transition (5): the runtime lets go of a finished task.
    fn release(&self, task: TaskPtr) {
        self.tasks
            .borrow_mut()
            .remove(task.header().key.get() as usize);
        // SAFETY: the slab entry just removed owned the runtime's reference.
        unsafe { task.drop_ref() };
    }

    /// Step 3 of a loop turn: I/O, timers, foreign wakes. `idle`: nothing is ready, so the
    /// poll may block until the next timer (or a foreign wake / I/O event).
    fn turn(&self, idle: bool) {
        // After this turn's I/O and timers, the tasks it wakes run "now".
        struct StampOnExit<'a>(&'a Cell<std::time::Instant>);
        impl Drop for StampOnExit<'_> {
            fn drop(&mut self) {
                self.0.set(std::time::Instant::now());
            }
        }
        let _stamp = StampOnExit(&self.loop_time);
        if self.remote.take_notified() {
            self.drain_remote();
        }
        let idle = idle && self.run_queue.borrow().is_empty();
        if idle && self.timers.clock.is_paused() {
            self.turn_paused();
            return;
        }
        let timeout = if idle {
            self.timers.next_timeout()
        } else {
            Some(Duration::ZERO)
        };
        // A foreign wake after the check above pokes the mio::Waker, so a blocking poll returns.
        if timeout == Some(Duration::ZERO) {
            self.reactor.poll(timeout);
        } else {
            self.counters.parked(|| self.reactor.poll(timeout));
        }
        self.timers.fire_due();
        if self.remote.take_notified() {
            self.drain_remote();
        }
    }

    /// An idle turn with the clock paused: nothing may sleep on virtual time, so look at the
    /// OS without blocking; if that finds nothing, no wake came from another thread and no
    /// blocking job is in flight (it could still wake someone), jump the clock to the next
    /// deadline (auto-advance). Otherwise block for real until I/O or a foreign wake.
    fn turn_paused(&self) {
        self.reactor.poll(Some(Duration::ZERO));
        // Read before draining: a job that finished has injected its wake by the time its
        // thread counts as idle, so that wake is seen by the drain below.
        let jobs = self.blocking.jobs_in_flight();
        if self.remote.take_notified() {
            self.drain_remote();
        }
        if !self.run_queue.borrow().is_empty() {
            return;
        }
        if self.auto_advance && jobs == 0 {
            if let Some(deadline) = self.timers.next_deadline() {
                self.timers.clock.advance_to(deadline);
                self.timers.fire_due();
                return;
            }
        }
        // A job in flight may end without waking anyone (its waiter was aborted), and its
        // thread counts as idle only after its wake: wait for real, but look again every
        // millisecond so the clock moves on once the jobs are done.
        let wait = if self.auto_advance && jobs > 0 && self.timers.next_deadline().is_some() {
            Some(Duration::from_millis(1))
        } else {
            None
        };
        self.counters.parked(|| self.reactor.poll(wait));
        self.timers.fire_due();
        if self.remote.take_notified() {
            self.drain_remote();
        }
    }

    fn drain_remote(&self) {
        // One swap, so a foreign wake landing between a load and a store is never lost.
        if self.remote.main_woken.swap(false, Ordering::AcqRel) {
            Counters::add(&self.counters.remote_schedules, 1);
            self.wake_main();
        }
        let mut injected = self.injected.borrow_mut();
        self.remote.drain(&mut injected);
        Counters::add(&self.counters.remote_schedules, injected.len() as u64);
        for task in injected.drain(..) {
            self.schedule(task);
            // SAFETY: the inject entry owned this reference.
            unsafe { task.drop_ref() };
        }
    }
}
