//! The blocking pool: a bounded set of OS threads for CPU-bound or blocking calls, so they
//! never stall the event loop (the seeds' thread pool and `Pool.apply_async`).
//!
//! Threads start on demand up to the limit, take jobs from one FIFO queue, and exit after
//! `keep_alive` without work. A job's result reaches the awaiting task through a slot shared
//! with a small local task, woken from the pool thread (a foreign wake).

use std::collections::VecDeque;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use crate::context;
use crate::coop;
use crate::task::JoinHandle;

type Job = Box<dyn FnOnce() + Send + 'static>;

pub(crate) struct BlockingPool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    state: Mutex<PoolState>,
    work: Condvar,
    max_threads: usize,
    keep_alive: Duration,
}

struct PoolState {
    queue: VecDeque<Job>,
    threads: usize,
    idle: usize,
    shutdown: bool,
}

impl BlockingPool {
    pub(crate) fn new(max_threads: usize, keep_alive: Duration) -> BlockingPool {
        BlockingPool {
            inner: Arc::new(PoolInner {
                state: Mutex::new(PoolState {
                    queue: VecDeque::new(),
                    threads: 0,
                    idle: 0,
                    shutdown: false,
                }),
                work: Condvar::new(),
                max_threads,
                keep_alive,
            }),
        }
    }

    pub(crate) fn threads_alive(&self) -> usize {
        self.inner.lock().threads
    }

    /// Threads alive, threads idle, jobs queued (for metrics).
    pub(crate) fn stats(&self) -> (usize, usize, usize) {
        let state = self.inner.lock();
        (state.threads, state.idle, state.queue.len())
    }

    /// Jobs queued or running (paused time waits for them before it jumps ahead).
    pub(crate) fn jobs_in_flight(&self) -> usize {
        let (threads, idle, queued) = self.stats();
        queued + (threads - idle)
    }

    fn submit(&self, job: Job) {
        let mut state = self.inner.lock();
        if state.shutdown {
            // Dropping the job drops its result guard, which reports "never ran".
            drop(state);
            drop(job);
            return;
        }
        state.queue.push_back(job);
        if state.idle > 0 {
            self.inner.work.notify_one();
        } else if state.threads < self.inner.max_threads {
            state.threads += 1;
            let inner = self.inner.clone();
            let spawned = thread::Builder::new()
                .name("corio-blocking".into())
                .spawn(move || inner.worker());
            if spawned.is_err() {
                // Out of threads: the queued job waits for a running worker instead.
                state.threads -= 1;
            }
        }
    }

    /// Stop taking jobs; drop queued ones; running ones finish, then their threads exit.
    pub(crate) fn shutdown(&self) {
        let queued = {
            let mut state = self.inner.lock();
            state.shutdown = true;
            std::mem::take(&mut state.queue)
        };
        self.inner.work.notify_all();
        drop(queued);
    }
}

impl PoolInner {
    fn lock(&self) -> std::sync::MutexGuard<'_, PoolState> {
        // Jobs run outside the lock and catch their panics, so poisoning cannot happen;
        // recover anyway rather than propagate a panic into the loop.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn worker(self: Arc<Self>) {
        let mut state = self.lock();
        loop {
            if let Some(job) = state.queue.pop_front() {
                drop(state);
                job();
                state = self.lock();
                continue;
            }
            if state.shutdown {
                break;
            }
            state.idle += 1;
            let (next, timeout) = self
                .work
                .wait_timeout(state, self.keep_alive)
                .unwrap_or_else(|e| e.into_inner());
            state = next;
            state.idle -= 1;
            if timeout.timed_out() && state.queue.is_empty() {
                break;
            }
        }
        state.threads -= 1;
    }
}

enum Outcome<T> {
    Waiting(Option<Waker>),
    Done(thread::Result<T>),
    NeverRan,
    Taken,
}

struct Slot<T> {
    outcome: Mutex<Outcome<T>>,
}

impl<T> Slot<T> {
    fn complete(&self, outcome: Outcome<T>) {
        let previous = {
            let mut guard = self.outcome.lock().unwrap_or_else(|e| e.into_inner());
            std::mem::replace(&mut *guard, outcome)
        };
        if let Outcome::Waiting(Some(waker)) = previous {
            waker.wake();
        }
    }
}

/// Owned by the job; if the job is dropped unrun (pool shut down), it reports that.
struct ResultGuard<T> {
    slot: Arc<Slot<T>>,
    done: bool,
}

impl<T> Drop for ResultGuard<T> {
    fn drop(&mut self) {
        if !self.done {
            self.slot.complete(Outcome::NeverRan);
        }
    }
}

struct WaitBlocking<T> {
    slot: Arc<Slot<T>>,
}

impl<T> Future for WaitBlocking<T> {
    type Output = T;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        // Every completed wait draws from the task's budget (see `coop`).
        coop::poll_charged(cx, |cx| self.poll_uncharged(cx))
    }
}

impl<T> WaitBlocking<T> {
    fn poll_uncharged(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut guard = self.slot.outcome.lock().unwrap_or_else(|e| e.into_inner());
        match &mut *guard {
            Outcome::Waiting(waker) => {
                match waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => *waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
            Outcome::Taken => panic!("blocking result taken twice"),
            _ => match std::mem::replace(&mut *guard, Outcome::Taken) {
                Outcome::Done(Ok(value)) => Poll::Ready(value),
                // Re-raise the job's panic inside this task: the task's JoinHandle gets it.
                Outcome::Done(Err(payload)) => {
                    drop(guard);
                    resume_unwind(payload)
                }
                _ => {
                    // The pool shut down before the job ran (the runtime is being dropped):
                    // the job was cancelled, so the JoinHandle reports a cancellation, not a
                    // panic. This future belongs to its helper task, which cancels itself.
                    *guard = Outcome::NeverRan;
                    drop(guard);
                    context::with_core(|core| core.cancel_current());
                    Poll::Pending
                }
            },
        }
    }
}

impl<T> Drop for WaitBlocking<T> {
    fn drop(&mut self) {
        // The job may run on long after this future is gone (aborted, or the runtime
        // dropped): it must not keep the task's waker, and with it the task, alive.
        let stale = {
            let mut guard = self.slot.outcome.lock().unwrap_or_else(|e| e.into_inner());
            match &mut *guard {
                Outcome::Waiting(waker) => waker.take(),
                _ => None,
            }
        };
        drop(stale);
    }
}

/// Run `f` on the blocking thread pool and await its result.
///
/// For CPU-bound work or blocking calls (file I/O, DNS, a C library) that would otherwise
/// stall every task on the loop. At most `Builder::blocking_threads` run at once; the rest
/// queue in FIFO order. A panic in `f` becomes `JoinError::is_panic`; a job the pool dropped
/// unrun (the runtime shut down first) is `JoinError::is_cancelled`. Aborting the handle
/// cannot stop a running `f`; its result is then dropped.
///
/// # Panics
/// Outside a corio runtime.
///
/// ```
/// corio_runtime::run(async {
///     let h = corio_runtime::spawn_blocking(|| (1..=10u64).product::<u64>());
///     assert_eq!(h.await.unwrap(), 3_628_800);
/// });
/// ```
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let at = std::panic::Location::caller();
    context::expect_core("spawn_blocking", |core| {
        let slot = Arc::new(Slot {
            outcome: Mutex::new(Outcome::Waiting(None)),
        });
        let mut guard = ResultGuard {
            slot: slot.clone(),
            done: false,
        };
        core.blocking().submit(Box::new(move || {
            let result = catch_unwind(AssertUnwindSafe(f));
            guard.done = true;
            guard.slot.complete(Outcome::Done(result));
        }));
        core.spawn_helper(WaitBlocking { slot }, at)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Wake;

    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }

    #[test]
    fn a_dropped_wait_lets_go_of_its_waker_while_the_job_still_runs() {
        let slot = Arc::new(Slot {
            outcome: Mutex::new(Outcome::<u8>::Waiting(None)),
        });
        let noop = Arc::new(Noop);
        let waker = Waker::from(noop.clone());
        let mut wait = WaitBlocking { slot: slot.clone() };
        let mut cx = Context::from_waker(&waker);
        assert!(Pin::new(&mut wait).poll(&mut cx).is_pending());
        drop(waker);
        assert_eq!(Arc::strong_count(&noop), 2, "the slot holds the waker");
        drop(wait);
        assert_eq!(
            Arc::strong_count(&noop),
            1,
            "the slot still holds the waker"
        );
        // The job finishing later finds nobody to wake and keeps its result to itself.
        slot.complete(Outcome::Done(Ok(7)));
    }

    #[test]
    fn a_job_the_pool_dropped_unrun_reports_a_cancellation_not_a_panic() {
        let rt = crate::Runtime::new().unwrap();
        rt.block_on(async {
            let slot = Arc::new(Slot {
                outcome: Mutex::new(Outcome::<u8>::NeverRan),
            });
            let at = std::panic::Location::caller();
            let h =
                context::expect_core("test", |core| core.spawn_helper(WaitBlocking { slot }, at));
            let err = h.await.unwrap_err();
            assert!(err.is_cancelled(), "got {err:?}");
        });
    }
}
