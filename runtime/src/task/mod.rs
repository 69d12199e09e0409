//! Tasks: `spawn`, `Builder`, `JoinHandle`, `JoinSet`, `yield_now`, `current`, task-locals.
//!
//! A task is a future the runtime owns and polls when it is woken. Spawning is cheap (one
//! allocation) and needs no `Send`: everything runs on the loop's thread.

mod info;
mod join_set;
mod local;
mod tracker;

#[cfg(test)]
mod tests;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

pub use crate::cell::{AbortHandle, Id, JoinError, JoinHandle};
pub use info::{all, TaskInfo, TaskState};
pub use join_set::JoinSet;
pub use local::{AccessError, LocalKey, TaskLocalFuture};
pub use tracker::{TaskTracker, TaskTrackerToken};

pub use crate::blocking::spawn_blocking;
pub use crate::coop::{
    budget_remaining, charge_budget, charge_bytes, unconstrained, BYTES_PER_UNIT,
};

use crate::cell::{Task, TaskName};
use crate::context;

/// Spawn `future` as a new task on the current runtime and return its [`JoinHandle`].
///
/// The task is queued, not run inline: it first runs when the spawner yields. Ready tasks run
/// in FIFO order of their wake-ups (unless the runtime was built with a `seed`).
///
/// # Panics
/// Outside a corio runtime.
///
/// ```
/// corio_runtime::run(async {
///     let handles: Vec<_> = (0..3).map(|i| corio_runtime::spawn(async move { i * 10 })).collect();
///     let mut sum = 0;
///     for h in handles {
///         sum += h.await.unwrap();
///     }
///     assert_eq!(sum, 30);
/// });
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let at = std::panic::Location::caller();
    context::expect_core("spawn", |core| core.spawn(future, None, at))
}

/// Configures a task before spawning it (its name, for now).
///
/// ```
/// corio_runtime::run(async {
///     let h = corio_runtime::task::Builder::new()
///         .name("worker-1")
///         .spawn(async { corio_runtime::task::current().name().map(str::to_owned) });
///     assert_eq!(h.await.unwrap().as_deref(), Some("worker-1"));
/// });
/// ```
#[derive(Debug, Default, Clone)]
pub struct Builder {
    name: Option<Box<TaskName>>,
}

impl Builder {
    /// A builder for an unnamed task.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Name the task (shown by `task::current().name()` and in `Debug` output).
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.name = Some(Box::new(TaskName(name.into().into_boxed_str())));
        self
    }

    /// Spawn `future` with this configuration (see [`spawn`]).
    ///
    /// # Panics
    /// Outside a corio runtime.
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let at = std::panic::Location::caller();
        context::expect_core("task::Builder::spawn", |core| {
            core.spawn(future, self.name, at)
        })
    }
}

/// Let other ready tasks run: the caller is queued again at the back. Costs no syscall.
///
/// ```
/// use std::{cell::RefCell, rc::Rc};
/// corio_runtime::run(async {
///     let log = Rc::new(RefCell::new(Vec::new()));
///     let l = log.clone();
///     let h = corio_runtime::spawn(async move { l.borrow_mut().push("task") });
///     log.borrow_mut().push("before yield");
///     corio_runtime::task::yield_now().await;
///     h.await.unwrap();
///     assert_eq!(*log.borrow(), ["before yield", "task"]);
/// });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future of [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// The task that is running (like `threading.current_thread()`), from [`current`].
#[derive(Clone)]
pub struct TaskRef {
    /// `None` for the `block_on` future.
    task: Option<Task>,
}

impl TaskRef {
    /// The task's id (0 for the `block_on` future).
    pub fn id(&self) -> Id {
        Id(self.task.as_ref().map_or(0, Task::id))
    }

    /// The task's name: the one given to `task::Builder::name`, `Some("main")` for the
    /// `block_on` future, `None` for unnamed tasks.
    pub fn name(&self) -> Option<&str> {
        match &self.task {
            Some(t) => t.name(),
            None => Some("main"),
        }
    }
}

impl fmt::Debug for TaskRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskRef")
            .field("id", &self.id())
            .field("name", &self.name())
            .finish()
    }
}

/// The running task, or the `block_on` future (id 0, name "main").
///
/// # Panics
/// Outside a corio runtime.
///
/// ```
/// corio_runtime::run(async {
///     assert_eq!(corio_runtime::task::current().name(), Some("main"));
///     let id = corio_runtime::spawn(async { corio_runtime::task::current().id() }).await.unwrap();
///     assert_ne!(id.as_u64(), 0);
/// });
/// ```
#[track_caller]
pub fn current() -> TaskRef {
    context::expect_core("task::current", |core| TaskRef {
        task: core.current_task(),
    })
}

/// How many spawned tasks are alive (not finished) in the current runtime, not counting the
/// `spawn_blocking` jobs (they are not tasks) nor the `block_on` future (Python's `active_count()` counts the main thread; add 1 for that).
///
/// # Panics
/// Outside a corio runtime.
///
/// ```
/// corio_runtime::run(async {
///     assert_eq!(corio_runtime::task::active_count(), 0);
///     let h = corio_runtime::spawn(async {});
///     assert_eq!(corio_runtime::task::active_count(), 1);
///     h.await.unwrap();
///     assert_eq!(corio_runtime::task::active_count(), 0);
/// });
/// ```
#[track_caller]
pub fn active_count() -> usize {
    context::expect_core("task::active_count", |core| core.active_count())
}
