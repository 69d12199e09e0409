//! `Handle`: a `Send + Sync` way into a runtime from other threads, and `RemoteJoinHandle`,
//! the output of a task spawned through it.
//!
//! A remote spawn sends a `Send` closure to the target loop through its cross-thread queue
//! (the same queue foreign wakes use: one lock, one eventfd write per loop turn at most). The
//! loop calls the closure, which builds the task's future there — so the future itself need
//! not be `Send` — and spawns it as an ordinary local task. The output travels back through a
//! small shared slot: `T` must be `Send`, nothing else is.

use std::fmt;
use std::future::{poll_fn, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use crate::cell::{AbortHandle, JoinError};
use crate::context;
use crate::coop;
use crate::remote::{Injected, Remote};

/// A handle to a runtime that any thread may hold: spawn onto that runtime's loop from
/// anywhere (another shard, a plain OS thread). `Clone + Send + Sync`.
///
/// ```
/// let rt = corio_runtime::Runtime::new().unwrap();
/// let handle = rt.handle();
/// let job = std::thread::spawn(move || {
///     // Built on the loop's thread, so the future may hold `Rc`s.
///     handle.spawn(|| async { std::rc::Rc::new(21).as_ref() * 2 })
/// })
/// .join()
/// .unwrap();
/// assert_eq!(rt.block_on(job).unwrap(), 42);
/// ```
#[derive(Clone)]
pub struct Handle {
    remote: Arc<Remote>,
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle").finish_non_exhaustive()
    }
}

impl Handle {
    pub(crate) fn new(remote: Arc<Remote>) -> Handle {
        Handle { remote }
    }

    /// The handle of the runtime running on this thread.
    ///
    /// # Panics
    /// Outside a corio runtime; use [`try_current`](Self::try_current) to check.
    ///
    /// ```
    /// corio_runtime::run(async {
    ///     let handle = corio_runtime::Handle::current();
    ///     assert_eq!(handle.spawn(|| async { 7 }).await.unwrap(), 7);
    /// });
    /// ```
    #[track_caller]
    pub fn current() -> Handle {
        context::expect_core("Handle::current", |core| Handle::new(core.remote().clone()))
    }

    /// The handle of the runtime running on this thread, or `None` outside one.
    ///
    /// ```
    /// assert!(corio_runtime::Handle::try_current().is_none());
    /// corio_runtime::run(async { assert!(corio_runtime::Handle::try_current().is_some()) });
    /// ```
    pub fn try_current() -> Option<Handle> {
        context::with_core(|core| Handle::new(core.remote().clone()))
    }

    /// Spawn a task on this handle's loop, from any thread: `make` runs on that loop and
    /// builds the task's future there (it need not be `Send`; only `make` and the output
    /// are). The task starts at the loop's next turn. If the runtime is gone (or is dropped
    /// before `make` runs), the handle yields a cancelled [`JoinError`].
    ///
    /// ```
    /// corio_runtime::run(async {
    ///     let handle = corio_runtime::Handle::current();
    ///     let h = handle.spawn(|| async {
    ///         let local = std::rc::Rc::new("not Send");
    ///         local.len()
    ///     });
    ///     assert_eq!(h.await.unwrap(), 8);
    /// });
    /// ```
    pub fn spawn<M, F>(&self, make: M) -> RemoteJoinHandle<F::Output>
    where
        M: FnOnce() -> F + Send + 'static,
        F: Future + 'static,
        F::Output: Send + 'static,
    {
        let slot = Arc::new(Slot::new());
        let cancel_if_dropped = Completer {
            slot: Some(slot.clone()),
        };
        self.remote.inject(Injected::Spawn(Box::new(move || {
            run_remote(make, cancel_if_dropped);
        })));
        RemoteJoinHandle { slot }
    }

    /// Is `self` a handle of the same runtime as `other`?
    ///
    /// ```
    /// let rt = corio_runtime::Runtime::new().unwrap();
    /// assert!(rt.handle().same_runtime(&rt.handle()));
    /// ```
    pub fn same_runtime(&self, other: &Handle) -> bool {
        Arc::ptr_eq(&self.remote, &other.remote)
    }
}

/// On the target loop: build the future, spawn it, and let the slot know how to abort it.
fn run_remote<M, F>(make: M, mut completer: Completer<F::Output>)
where
    M: FnOnce() -> F + Send + 'static,
    F: Future + 'static,
    F::Output: Send + 'static,
{
    let slot = completer
        .slot
        .clone()
        .expect("a fresh completer holds its slot");
    if slot.lock().aborted {
        // Aborted before it reached the loop: `completer` reports the cancellation.
        return;
    }
    let made = catch_unwind(AssertUnwindSafe(make));
    let future = match made {
        Ok(future) => future,
        Err(payload) => return completer.complete(Err(JoinError::panic(payload))),
    };
    let task = crate::spawn(async move {
        let mut future = pin!(future);
        // A panic is the task's result, carried to the remote handle (the local task
        // itself completes normally).
        let out = poll_fn(
            |cx| match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
                Ok(Poll::Pending) => Poll::Pending,
                Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
                Err(payload) => Poll::Ready(Err(JoinError::panic(payload))),
            },
        )
        .await;
        completer.complete(out);
    });
    let abort = task.abort_handle();
    let mut state = slot.lock();
    if state.aborted {
        drop(state);
        abort.abort();
    } else {
        state.abort = Some(abort);
    }
}

/// The output of a task spawned through a [`Handle`]: `Send`, awaitable on any loop, or
/// [`join`](Self::join)ed from a plain OS thread. Dropping it detaches the task.
///
/// ```
/// let rt = corio_runtime::Runtime::new().unwrap();
/// let h = rt.handle().spawn(|| async { "done" });
/// // Another loop, on another thread, awaits it while `rt` runs the task.
/// let waiter = std::thread::spawn(move || corio_runtime::run(h));
/// rt.block_on(corio_runtime::time::sleep(std::time::Duration::from_millis(20)));
/// assert_eq!(waiter.join().unwrap().unwrap(), "done");
/// ```
pub struct RemoteJoinHandle<T> {
    slot: Arc<Slot<T>>,
}

impl<T> fmt::Debug for RemoteJoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteJoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

impl<T> RemoteJoinHandle<T> {
    /// Cancel the task (from any thread): its future is dropped on its loop at the next turn,
    /// and the handle yields a cancelled `JoinError`. No effect on a finished task.
    ///
    /// ```
    /// corio_runtime::run(async {
    ///     let h = corio_runtime::Handle::current().spawn(std::future::pending::<()>);
    ///     h.abort();
    ///     assert!(h.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn abort(&self) {
        let abort = {
            let mut state = self.slot.lock();
            state.aborted = true;
            state.abort.take()
        };
        if let Some(abort) = abort {
            abort.abort();
        }
    }

    /// Has the task finished (its result is waiting in this handle)?
    pub fn is_finished(&self) -> bool {
        self.slot.lock().result.is_some()
    }

    /// Block this OS thread until the task finishes, and return its result.
    ///
    /// # Panics
    /// On a thread that is running a corio loop (it would block that loop; `.await` the
    /// handle there instead).
    ///
    /// ```
    /// let rt = corio_runtime::Runtime::new().unwrap();
    /// let h = rt.handle().spawn(|| async { 5 });
    /// let joiner = std::thread::spawn(move || h.join());
    /// rt.block_on(corio_runtime::time::sleep(std::time::Duration::from_millis(20)));
    /// assert_eq!(joiner.join().unwrap().unwrap(), 5);
    /// ```
    #[track_caller]
    pub fn join(self) -> Result<T, JoinError> {
        if context::with_core(|_| ()).is_some() {
            panic!(
                "RemoteJoinHandle::join blocks its thread, and this thread runs a corio loop: \
                 `.await` the handle instead"
            );
        }
        let mut state = self.slot.lock();
        loop {
            if let Some(result) = state.take_result() {
                return result;
            }
            state = self
                .slot
                .done
                .wait(state)
                .unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl<T> Future for RemoteJoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // A finished wait draws from the task's budget, like a `JoinHandle` (see `coop`).
        coop::poll_charged(cx, |cx| {
            let mut state = self.slot.lock();
            if let Some(result) = state.take_result() {
                return Poll::Ready(result);
            }
            assert!(
                !state.taken,
                "RemoteJoinHandle polled after it already returned the task's output"
            );
            match &state.waker {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => state.waker = Some(cx.waker().clone()),
            }
            drop(state);
            // The reply is likely microseconds away: let this loop spin for it before sleeping.
            context::with_core(|core| core.expect_remote_reply());
            Poll::Pending
        })
    }
}

struct Slot<T> {
    state: Mutex<SlotState<T>>,
    /// Signalled when the result arrives (for `join`).
    done: Condvar,
}

struct SlotState<T> {
    result: Option<Result<T, JoinError>>,
    /// The result was handed out.
    taken: bool,
    /// Waker of whoever awaits the handle.
    waker: Option<Waker>,
    /// `abort` was called (maybe before the task existed).
    aborted: bool,
    /// Set once the task is spawned on its loop.
    abort: Option<AbortHandle>,
}

impl<T> SlotState<T> {
    /// Hand the result out once (`taken` then catches a second poll).
    fn take_result(&mut self) -> Option<Result<T, JoinError>> {
        let result = self.result.take();
        self.taken |= result.is_some();
        result
    }
}

impl<T> Slot<T> {
    fn new() -> Slot<T> {
        Slot {
            state: Mutex::new(SlotState {
                result: None,
                taken: false,
                waker: None,
                aborted: false,
                abort: None,
            }),
            done: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, SlotState<T>> {
        // Nothing panics while holding the lock; recover from poisoning anyway.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Delivers the task's result exactly once; if dropped first (the job never ran because the
/// runtime is gone, or the task was dropped unfinished), delivers a cancellation.
struct Completer<T> {
    slot: Option<Arc<Slot<T>>>,
}

impl<T> Completer<T> {
    fn complete(&mut self, result: Result<T, JoinError>) {
        let Some(slot) = self.slot.take() else { return };
        let waker = {
            let mut state = slot.lock();
            state.result = Some(result);
            state.abort = None;
            state.waker.take()
        };
        slot.done.notify_all();
        // Woken outside the lock: the waker may run code that polls the handle.
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Drop for Completer<T> {
    fn drop(&mut self) {
        self.complete(Err(JoinError::cancelled()));
    }
}
