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

mod builder;
mod core;
mod turn;

use std::fmt;
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll};

pub use builder::Builder;
pub(crate) use core::Core;

use crate::cell::Task;
use crate::context;
use crate::coop;
use crate::handle::Handle;
use crate::metrics::{Counters, RuntimeMetrics};
use crate::remote::main_waker;
use crate::task::JoinHandle;

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
            .field("seeded", &self.core.is_seeded())
            .finish()
    }
}

impl Runtime {
    fn from_core(core: Core) -> Runtime {
        Runtime {
            core: Rc::new(core),
            _not_send: PhantomData,
        }
    }

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
        let main_waker = main_waker(&core.remote);
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

    /// A [`Handle`] to this runtime: `Send + Sync`, for spawning onto this loop from other
    /// threads (tasks spawned through it run while the loop runs `block_on`).
    ///
    /// ```
    /// let rt = corio_runtime::Runtime::new().unwrap();
    /// let h = rt.handle().spawn(|| async { 1 });
    /// assert_eq!(rt.block_on(h).unwrap(), 1);
    /// ```
    pub fn handle(&self) -> Handle {
        Handle::new(self.core.remote.clone())
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
        // Each injected entry owns a reference; they go here.
        drop(core.remote.close());
        // Phase 1: drop every future. Destructors may wake others (pushing onto the run
        // queue) but cannot add tasks: spawn during shutdown cancels at once.
        let all: Vec<Task> = core
            .tasks
            .borrow()
            .iter()
            .map(|(_, t)| (**t).clone())
            .collect();
        for task in &all {
            if !task.state().is_complete() {
                task.cancel();
                task.transitions().forget_queue_entry();
                task.complete();
            }
        }
        drop(all);
        // Phase 2: the queue's entries borrow the slab's references; forget them first.
        core.run_queue.borrow_mut().clear();
        // Phase 3: drop the runtime's references (out of the borrow: a last reference frees
        // its cell).
        let all: Vec<_> = core.tasks.borrow_mut().drain().collect();
        drop(all);
        core.timers.clear();
        core.reactor.clear();
        core.blocking.shutdown();
    }
}
