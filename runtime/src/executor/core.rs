//! `Core`: the single-threaded state a runtime owns (run queue, task slab, timers, reactor),
//! and the task transitions the loop drives (spawn, schedule, run, finish, release).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Waker};
use std::time::Duration;

use slab::Slab;

use super::builder::Builder;
use crate::blocking::BlockingPool;
use crate::cell::{
    Completed, CurrentTask, Meta, NewTask, Notified, RunAction, RuntimeTask, Task, TaskName,
};
use crate::coop;
use crate::metrics::{Counters, RuntimeMetrics};
use crate::reactor::Reactor;
use crate::remote::{Injected, Remote};
use crate::rng::SplitMix64;
use crate::task::JoinHandle;
use crate::time::Timers;
use crate::watchdog::{self, SlowPoll, Watch};

/// The runtime's single-threaded state. Reached through `context` while `block_on` runs.
pub(crate) struct Core {
    /// Ready tasks, `None` standing for the `block_on` future (so it takes its FIFO turn
    /// like a task). Entries own no reference: the slab's reference outlives a SCHEDULED task.
    pub(super) run_queue: RefCell<VecDeque<Option<Notified>>>,
    /// Every live task; the slab entry is the runtime's reference.
    pub(super) tasks: RefCell<Slab<RuntimeTask<Remote>>>,
    /// The task being polled, for `task::current()`.
    current: CurrentTask,
    /// The `block_on` future is in the run queue.
    pub(super) main_queued: Cell<bool>,
    next_id: Cell<u64>,
    rng: Option<RefCell<SplitMix64>>,
    pub(super) remote: Arc<Remote>,
    /// `Arc::as_ptr(&remote)`, kept to compare against without pointer arithmetic on the hot
    /// path of every same-thread wake.
    remote_ptr: *const Remote,
    pub(super) timers: Rc<Timers>,
    pub(super) reactor: Rc<Reactor>,
    pub(super) blocking: BlockingPool,
    pub(super) shutting_down: Cell<bool>,
    pub(super) event_interval: u32,
    /// Paused time jumps to the next deadline when nothing else can happen.
    pub(super) auto_advance: bool,
    /// Budget units each poll starts with (see `coop`).
    pub(super) task_budget: u32,
    /// Polls that ended because their budget ran out (read by metrics and tests).
    forced_yields: Cell<u64>,
    /// The rest of the metrics' counters.
    pub(super) counters: Counters,
    /// Slow-poll detection, when on.
    pub(super) watch: Option<Arc<Watch>>,
    /// Polls begun and ended, for the watchdog (odd while one runs).
    poll_seq: Cell<u64>,
    /// The time at the loop's latest turn (one clock read per turn): when a task was last
    /// polled, for `task::all`'s `idle_for`, without a clock read per poll.
    pub(super) loop_time: Cell<std::time::Instant>,
    /// Wakers of polls cut short by the budget since the loop last looked at the OS: they
    /// are woken after it, behind whatever the OS and the timers woke.
    pub(super) deferred: RefCell<Vec<Waker>>,
    /// The other half of `deferred`'s double buffer (waking may defer again).
    deferred_scratch: RefCell<Vec<Waker>>,
    /// `deferred` is not empty.
    any_deferred: Cell<bool>,
    /// Spawned tasks not yet COMPLETE.
    live: Cell<usize>,
    /// Scratch space for draining the inject queue without allocating each turn.
    pub(super) injected: RefCell<Vec<Injected>>,
    /// The next idle turn spins for a foreign wake before sleeping (see
    /// `turn::spin_for_remote`); set by a pending `RemoteJoinHandle` and by a remote spawn run.
    pub(super) spin_next_idle: Cell<bool>,
}

impl Core {
    pub(super) fn new(builder: Builder) -> io::Result<Core> {
        let (reactor, waker) = Reactor::new()?;
        let remote = Arc::new(Remote::new(waker));
        Ok(Core {
            remote_ptr: Arc::as_ptr(&remote),
            run_queue: RefCell::new(VecDeque::with_capacity(64)),
            tasks: RefCell::new(Slab::with_capacity(64)),
            current: CurrentTask::new(),
            main_queued: Cell::new(false),
            next_id: Cell::new(1),
            rng: builder.seed.map(|s| RefCell::new(SplitMix64::new(s))),
            remote,
            timers: Rc::new(Timers::new(builder.start_paused)),
            auto_advance: builder.auto_advance,
            reactor: Rc::new(reactor),
            blocking: BlockingPool::new(builder.blocking_threads, builder.blocking_keep_alive),
            shutting_down: Cell::new(false),
            event_interval: builder.event_interval,
            task_budget: builder.task_budget,
            forced_yields: Cell::new(0),
            counters: Counters::new(),
            watch: builder.slow_poll_threshold.map(|t| {
                let report = builder
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
            spin_next_idle: Cell::new(false),
        })
    }

    /// Transition (1): allocate a task and queue it.
    pub(crate) fn spawn<F>(
        &self,
        future: F,
        name: Option<Box<TaskName>>,
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
        name: Option<Box<TaskName>>,
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
        let NewTask {
            task,
            join,
            notified,
        } = Task::allocate(future, id, name, &self.remote, meta, helper);
        if self.shutting_down.get() {
            // The runtime is being dropped: the task is born cancelled, never queued, and
            // the runtime's reference goes at the end of this block.
            let _never_queued: Notified = notified;
            task.transitions().forget_queue_entry();
            task.cancel();
            task.complete();
        } else {
            if !helper {
                self.live.set(self.live.get() + 1);
                Counters::add(&self.counters.spawned, 1);
            }
            if let (Some(watch), Some(name)) = (&self.watch, task.name()) {
                watch.name_task(id, name);
            }
            let mut tasks = self.tasks.borrow_mut();
            let entry = tasks.vacant_entry();
            task.set_key(entry.key());
            entry.insert(task);
            drop(tasks);
            self.run_queue.borrow_mut().push_back(Some(notified));
        }
        JoinHandle::new(join)
    }

    /// Transition (3): queue `task` unless it is queued already or complete.
    #[inline]
    pub(crate) fn schedule(&self, task: &Task) {
        if let Some(notified) = task.schedule() {
            self.run_queue.borrow_mut().push_back(Some(notified));
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
    fn poll_task_watched(&self, watch: &Watch, task: &Task, cx: &mut Context<'_>) -> bool {
        let spawned_at = task.meta().spawned_at;
        self.watched(watch, task.id(), task.name(), spawned_at, || task.poll(cx))
    }

    /// Run one poll under the watchdog's eye; report it here if it was flagged slow.
    #[inline]
    pub(super) fn watched<R>(
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
    pub(super) fn has_deferred(&self) -> bool {
        self.any_deferred.get()
    }

    /// Queue the tasks the budget cut short, after what the last turn woke.
    pub(super) fn wake_deferred(&self) {
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
            .map(|(_, t)| t)
            .filter(|t| !t.state().is_complete() && !t.state().is_helper())
            .map(|t| {
                let state = t.state();
                let meta = t.meta();
                TaskInfo {
                    id: Id(t.id()),
                    name: t.name().map(str::to_owned),
                    state: if state.is_running() {
                        TaskState::Running
                    } else if state.is_scheduled() {
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

    /// The cross-thread half (`Handle`s and foreign wakers hold it).
    #[inline]
    pub(crate) fn remote(&self) -> &Arc<Remote> {
        &self.remote
    }

    /// The address `Remote::schedule` compares itself with (see `context::core_of`).
    #[inline]
    pub(crate) fn remote_ptr(&self) -> *const Remote {
        self.remote_ptr
    }

    /// The timers and the clock.
    #[inline]
    pub(crate) fn timers(&self) -> &Rc<Timers> {
        &self.timers
    }

    /// The OS poller (for `io::Async` registrations).
    #[inline]
    pub(crate) fn reactor(&self) -> &Rc<Reactor> {
        &self.reactor
    }

    /// The blocking-thread pool.
    pub(crate) fn blocking(&self) -> &BlockingPool {
        &self.blocking
    }

    /// The task being polled (`None` for the `block_on` future), as an owning reference.
    pub(crate) fn current_task(&self) -> Option<Task> {
        self.current.get()
    }

    /// A task awaits a reply from another thread (a `RemoteJoinHandle`): the next idle turn
    /// spins briefly for it before sleeping.
    #[inline]
    pub(crate) fn expect_remote_reply(&self) {
        self.spin_next_idle.set(true);
    }

    /// Scheduling is seeded (shuffled), not FIFO.
    pub(super) fn is_seeded(&self) -> bool {
        self.rng.is_some()
    }

    /// Live (spawned, not yet finished) tasks.
    pub(crate) fn active_count(&self) -> usize {
        self.live.get()
    }

    #[inline]
    pub(super) fn pop(&self) -> Option<Option<Notified>> {
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
    pub(super) fn run_task(&self, notified: Notified) {
        let (action, task) = notified.run();
        match action {
            RunAction::Release => return self.release(&task),
            RunAction::Cancel => {
                // Dropping the future may wake this very task (e.g. an `Async` it owned wakes
                // its waiters on drop), queueing it again: then the queue entry releases it.
                task.cancel();
                return self.finish(&task);
            }
            RunAction::Poll => {}
        }
        let done = {
            let _current = self.current.enter(&task);
            // SAFETY: every task of this core was allocated with `Remote` as its scheduler.
            let waker = unsafe { task.waker_ref::<Remote>() };
            let mut cx = Context::from_waker(&waker);
            let meta = task.meta();
            meta.polls.set(meta.polls.get() + 1);
            meta.last_polled.set(self.loop_time.get());
            coop::start_poll(self.task_budget);
            match &self.watch {
                None => task.poll(&mut cx),
                Some(watch) => self.poll_task_watched(watch, &task, &mut cx),
            }
        };
        task.transitions().transition_to_idle();
        if done {
            self.finish(&task);
        }
    }

    /// After (4) or (7): the future is gone. Publish completion, wake the joiner, and let go
    /// of the task unless it was queued again meanwhile (then its queue entry releases it).
    fn finish(&self, task: &Task) {
        if let (Some(watch), Some(_)) = (&self.watch, task.name()) {
            watch.forget_task(task.id());
        }
        if !task.state().is_helper() {
            self.live.set(self.live.get() - 1);
        }
        if task.complete() == Completed::ReleaseNow {
            self.release(task);
        }
    }

    /// Transition (5): the runtime lets go of a finished task (the slab's `Task` is dropped;
    /// `task` is a borrowed view and is not used after this).
    fn release(&self, task: &Task) {
        let owned = self.tasks.borrow_mut().remove(task.key());
        debug_assert!(
            *owned == *task,
            "released a task through another's slab key"
        );
        drop(owned);
    }

    /// Cancel the running task from inside its own poll (a `spawn_blocking` job the pool
    /// dropped unrun): it finishes as cancelled at its next run.
    pub(crate) fn cancel_current(&self) {
        if let Some(task) = self.current.get() {
            task.abort();
        }
    }
}
