//! `JoinHandle` and `AbortHandle`: the two handles a spawn returns, each an owning reference
//! of its own kind (`Task` on the loop's thread; `SendTask`, so `AbortHandle` is `Send + Sync`).

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::id::Id;
use super::join_error::JoinError;
use super::refs::{SendTask, Task};
use crate::coop;

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
    task: Task,
    _output: PhantomData<fn() -> T>,
}

impl<T> JoinHandle<T> {
    /// Takes over the JoinHandle's reference made by `Task::allocate`, whose future's output
    /// is `T` (which `take_output` relies on).
    pub(crate) fn new(task: Task) -> JoinHandle<T> {
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
        self.task.abort();
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
        self.task.state().is_complete()
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
        Id(self.task.id())
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
        AbortHandle {
            task: self.task.to_send(),
        }
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
        let task = &self.task;
        if task.state().is_complete() {
            // SAFETY: `new` took the reference of a task whose output type is `T`.
            let out = unsafe { task.take_output::<T>() };
            if out.is_pending() {
                panic!("JoinHandle polled after it already returned the task's output");
            }
            return out;
        }
        task.set_join_waker(cx.waker());
        Poll::Pending
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        // The reference itself goes with the `Task` field.
        self.task.drop_join_interest();
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
///
/// `AbortHandle` is `Send + Sync`: another thread (a shard, a plain OS thread) may abort the
/// task; the abort reaches the task's loop through its cross-thread queue and takes effect at
/// its next turn.
///
/// ```
/// corio_runtime::run(async {
///     let h = corio_runtime::spawn(std::future::pending::<()>());
///     let a = h.abort_handle();
///     std::thread::spawn(move || a.abort()).join().unwrap();
///     assert!(h.await.unwrap_err().is_cancelled());
/// });
/// ```
#[derive(Clone)]
pub struct AbortHandle {
    task: SendTask,
}

impl AbortHandle {
    /// Cancel the task (see [`JoinHandle::abort`]); from any thread.
    pub fn abort(&self) {
        self.task.abort();
    }

    /// Has the task finished? From any thread.
    pub fn is_finished(&self) -> bool {
        self.task.is_complete()
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        Id(self.task.id())
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("id", &self.id())
            .finish()
    }
}
