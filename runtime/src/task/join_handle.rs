//! `JoinHandle`, `AbortHandle` and `JoinError`.

use crate::coop;
use std::any::Any;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::raw::{Payload, TaskPtr, CANCELLED, COMPLETE, JOIN_INTEREST};
use super::{waker, Id};

/// An owned permission to await a task's output. Dropping it detaches the task (it keeps
/// running; its output is dropped when it finishes).
///
/// Awaiting gives `Ok(output)`, or `Err(JoinError)` if the task panicked or was aborted
/// (also when the runtime was dropped before the task finished).
///
/// ```
/// corio_runtime::run(async {
///     let h = corio_runtime::spawn(async { "hi" });
///     assert_eq!(h.await.unwrap(), "hi");
/// });
/// ```
pub struct JoinHandle<T> {
    task: TaskPtr,
    _output: PhantomData<fn() -> T>,
}

impl<T> JoinHandle<T> {
    /// Takes over the JoinHandle's reference created by `spawn`.
    pub(crate) fn new(task: TaskPtr) -> JoinHandle<T> {
        JoinHandle {
            task,
            _output: PhantomData,
        }
    }

    /// Cancel the task: its future is dropped at the loop's next turn without being polled
    /// again (its destructors run), and awaiting this handle gives a cancelled `JoinError`.
    /// No effect on a finished task.
    ///
    /// ```
    /// corio_runtime::run(async {
    ///     let h = corio_runtime::spawn(std::future::pending::<()>());
    ///     h.abort();
    ///     assert!(h.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn abort(&self) {
        abort_task(self.task);
    }

    /// Has the task finished (completed, panicked or been cancelled)?
    ///
    /// ```
    /// corio_runtime::run(async {
    ///     let h = corio_runtime::spawn(async {});
    ///     assert!(!h.is_finished());
    ///     corio_runtime::task::yield_now().await;
    ///     assert!(h.is_finished());
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.task.state() & COMPLETE != 0
    }

    /// The task's id.
    ///
    /// ```
    /// corio_runtime::run(async {
    ///     let h = corio_runtime::spawn(async { corio_runtime::task::current().id() });
    ///     let id = h.id();
    ///     assert_eq!(h.await.unwrap(), id);
    /// });
    /// ```
    pub fn id(&self) -> Id {
        Id(self.task.header().id)
    }

    /// A handle that can abort the task without owning its output.
    ///
    /// ```
    /// corio_runtime::run(async {
    ///     let h = corio_runtime::spawn(std::future::pending::<()>());
    ///     let a = h.abort_handle();
    ///     a.abort();
    ///     assert!(h.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn abort_handle(&self) -> AbortHandle {
        self.task.add_ref();
        AbortHandle { task: self.task }
    }
}

fn abort_task(task: TaskPtr) {
    if task.state() & COMPLETE == 0 {
        task.set(CANCELLED);
        // The loop drops the future when it pops the task (transition 6 -> 7).
        waker::borrowed_task_waker(task).wake_by_ref();
    }
}

impl<T> Unpin for JoinHandle<T> {}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Every completed wait draws from the task's budget (see `coop`).
        coop::poll_charged(cx, |cx| self.poll_uncharged(cx))
    }
}

impl<T> JoinHandle<T> {
    /// The poll without the budget charge, for `JoinSet`, which charges once per
    /// `join_next` (charging each entry would make it re-poll a self-woken entry forever).
    pub(crate) fn poll_uncharged(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<T, JoinError>> {
        let task = self.task;
        if task.state() & COMPLETE != 0 {
            let mut out: Poll<Result<T, JoinError>> = Poll::Pending;
            // SAFETY: `out` has the type the task's vtable writes: T is the future's output.
            unsafe { task.read_output(&mut out as *mut _ as *mut ()) };
            if out.is_pending() {
                panic!("JoinHandle polled after it already returned the task's output");
            }
            return out;
        }
        // SAFETY: the join waker slot is only touched on this (the runtime's) thread and
        // no reference into it is live.
        let slot = unsafe { &mut *task.header().join_waker.get() };
        match slot {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        let task = self.task;
        task.unset(JOIN_INTEREST);
        // SAFETY: as in poll; taking the waker drops it here, on the owner thread.
        drop(unsafe { (*task.header().join_waker.get()).take() });
        if task.state() & COMPLETE != 0 {
            task.drop_output();
        }
        // SAFETY: the handle owned one reference.
        unsafe { task.drop_ref() };
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Aborts a task without owning its output (from [`JoinHandle::abort_handle`] or
/// `JoinSet::spawn`).
///
/// ```
/// corio_runtime::run(async {
///     let h = corio_runtime::spawn(std::future::pending::<()>());
///     let a = h.abort_handle();
///     assert!(!a.is_finished());
///     a.abort();
///     let _ = h.await;
///     assert!(a.is_finished());
/// });
/// ```
pub struct AbortHandle {
    task: TaskPtr,
}

impl AbortHandle {
    /// Cancel the task (see [`JoinHandle::abort`]).
    pub fn abort(&self) {
        abort_task(self.task);
    }

    /// Has the task finished?
    pub fn is_finished(&self) -> bool {
        self.task.state() & COMPLETE != 0
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        Id(self.task.header().id)
    }
}

impl Clone for AbortHandle {
    fn clone(&self) -> AbortHandle {
        self.task.add_ref();
        AbortHandle { task: self.task }
    }
}

impl Drop for AbortHandle {
    fn drop(&mut self) {
        // SAFETY: the handle owned one reference.
        unsafe { self.task.drop_ref() };
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("id", &self.id())
            .finish()
    }
}

/// Why awaiting a [`JoinHandle`] failed: the task was cancelled, or it panicked.
///
/// ```
/// corio_runtime::run(async {
///     let err = corio_runtime::spawn(async { panic!("boom") }).await.unwrap_err();
///     assert!(err.is_panic());
///     let payload = err.into_panic();
///     assert_eq!(*payload.downcast_ref::<&str>().unwrap(), "boom");
/// });
/// ```
pub struct JoinError {
    repr: Repr,
}

enum Repr {
    Cancelled,
    /// The payload, and its message read once when the error was made.
    Panic(SyncPayload, Box<str>),
}

/// A panic payload that is only ever reached by value (`into_panic`), never through `&`.
struct SyncPayload(Payload);

// SAFETY: `Sync` lets other threads share `&JoinError`; through `&` nobody can reach the
// payload (Display and Debug use the message copied at construction), so no `&dyn Any` of a
// possibly `!Sync` payload is ever shared. The payload itself is `Send` and only leaves by
// value. This is std's `Exclusive` / tokio's `SyncWrapper` argument.
unsafe impl Sync for SyncPayload {}

impl JoinError {
    pub(crate) fn cancelled() -> JoinError {
        JoinError {
            repr: Repr::Cancelled,
        }
    }

    pub(crate) fn panic(payload: Payload) -> JoinError {
        let message = panic_message(&payload).into();
        JoinError {
            repr: Repr::Panic(SyncPayload(payload), message),
        }
    }

    /// The task was aborted (or the runtime dropped it).
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// The task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(..))
    }

    /// The panic payload, to inspect or `std::panic::resume_unwind`.
    ///
    /// # Panics
    /// If the error is a cancellation; use [`try_into_panic`](Self::try_into_panic) to check.
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("JoinError::into_panic called on a cancelled task's error")
    }

    /// The panic payload, or the error back if the task was cancelled.
    ///
    /// ```
    /// corio_runtime::run(async {
    ///     let h = corio_runtime::spawn(std::future::pending::<()>());
    ///     h.abort();
    ///     assert!(h.await.unwrap_err().try_into_panic().is_err());
    /// });
    /// ```
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(p, _) => Ok(p.0),
            Repr::Cancelled => Err(self),
        }
    }
}

fn panic_message(payload: &Payload) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "(non-string panic payload)"
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => f.write_str("task was cancelled"),
            Repr::Panic(_, message) => write!(f, "task panicked: {message}"),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => f.write_str("JoinError::Cancelled"),
            Repr::Panic(_, message) => write!(f, "JoinError::Panic({message:?})"),
        }
    }
}

impl Error for JoinError {}

impl From<JoinError> for io::Error {
    fn from(e: JoinError) -> io::Error {
        io::Error::other(e.to_string())
    }
}
