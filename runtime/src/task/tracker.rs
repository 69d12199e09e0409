//! `TaskTracker`: count the tasks of one job and wait until they are all done, once no
//! more will come (tokio-util's `TaskTracker`). A server tracks its connection tasks, stops
//! accepting, [`close`](TaskTracker::close)s the tracker and [`wait`](TaskTracker::wait)s:
//! the drain.
//!
//! Each tracked future carries a [`TaskTrackerToken`]; the token's `Drop` is what counts a
//! task as done, so a task is done when its future has completed *or* been dropped
//! (aborted, or dropped with its runtime) — nothing is counted twice or missed.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::JoinHandle;
use crate::coop;
use crate::sync::waiters::WaiterList;

/// Tracks a set of tasks: [`spawn`](TaskTracker::spawn) through it, then
/// [`close`](TaskTracker::close) it and [`wait`](TaskTracker::wait) until every tracked task
/// is done.
///
/// `wait` is ready only when the tracker is closed **and** empty; so tasks may be spawned
/// while others finish (an empty tracker that is still open does not end the wait), and
/// an empty tracker that was never closed is not "done". Clones share one tracker (an `Rc`:
/// like the loop's tasks, it is `!Send`). A tracker does not own its tasks: dropping it
/// neither aborts nor detaches them (use a `JoinSet` for that).
///
/// ```
/// use std::time::Duration;
/// use corio_runtime::task::TaskTracker;
/// corio_runtime::run(async {
///     let tracker = TaskTracker::new();
///     for i in 0..3u64 {
///         tracker.spawn(async move {
///             corio_runtime::time::sleep(Duration::from_millis(i)).await;
///         });
///     }
///     tracker.close(); // no more tasks will be added
///     tracker.wait().await; // every tracked task is done
///     assert!(tracker.is_empty());
/// });
/// ```
#[derive(Clone)]
pub struct TaskTracker {
    inner: Rc<Inner>,
}

struct Inner {
    closed: Cell<bool>,
    /// Live tokens: tracked tasks not yet done.
    live: Cell<usize>,
    /// Parked `wait` futures. Invariant: none is linked while closed and `live == 0`.
    waiters: RefCell<WaiterList<()>>,
}

impl Inner {
    fn is_done(&self) -> bool {
        self.closed.get() && self.live.get() == 0
    }

    /// Wake every `wait` parked right now (the tracker just became closed and empty).
    fn wake_all(&self) {
        let parked = self.waiters.borrow().len();
        for _ in 0..parked {
            let waker = {
                let mut waiters = self.waiters.borrow_mut();
                match waiters.pop_front() {
                    Some(key) => waiters.take_waker(key),
                    None => break,
                }
            };
            // Outside the borrow: a waker may run code that touches the tracker.
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}

impl TaskTracker {
    /// A new tracker: open, with no tasks.
    ///
    /// ```
    /// let tracker = corio_runtime::task::TaskTracker::new();
    /// assert!(!tracker.is_closed() && tracker.is_empty());
    /// ```
    pub fn new() -> TaskTracker {
        TaskTracker {
            inner: Rc::new(Inner {
                closed: Cell::new(false),
                live: Cell::new(0),
                waiters: RefCell::new(WaiterList::new()),
            }),
        }
    }

    /// Spawn `future` as a task on the current runtime (like [`crate::spawn`]) and track
    /// it until it completes or is dropped. Spawning into a closed tracker is allowed (the
    /// task is tracked, and `wait` waits for it too), as in tokio.
    ///
    /// # Panics
    /// Outside a corio runtime.
    ///
    /// ```
    /// corio_runtime::run(async {
    ///     let tracker = corio_runtime::task::TaskTracker::new();
    ///     let handle = tracker.spawn(async { 6 * 7 });
    ///     assert_eq!(tracker.len(), 1);
    ///     assert_eq!(handle.await.unwrap(), 42);
    ///     assert_eq!(tracker.len(), 0);
    /// });
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        crate::spawn(self.track_future(future))
    }

    /// Track `future` without spawning it: the tracker counts it until it completes or is
    /// dropped (for work run inside another task, or spawned with a `task::Builder`).
    ///
    /// ```
    /// corio_runtime::run(async {
    ///     let tracker = corio_runtime::task::TaskTracker::new();
    ///     let job = tracker.track_future(async { "done" });
    ///     let named = corio_runtime::task::Builder::new().name("job").spawn(job);
    ///     assert_eq!(tracker.len(), 1);
    ///     assert_eq!(named.await.unwrap(), "done");
    ///     assert!(tracker.is_empty());
    /// });
    /// ```
    pub fn track_future<F: Future>(&self, future: F) -> impl Future<Output = F::Output> + use<F> {
        let token = self.token();
        async move {
            let out = future.await;
            // Done as soon as the future is: not when the task's memory goes.
            drop(token);
            out
        }
    }

    /// A token that counts as one tracked task until it is dropped.
    ///
    /// ```
    /// let tracker = corio_runtime::task::TaskTracker::new();
    /// let token = tracker.token();
    /// assert_eq!(tracker.len(), 1);
    /// drop(token);
    /// assert!(tracker.is_empty());
    /// ```
    pub fn token(&self) -> TaskTrackerToken {
        self.inner.live.set(self.inner.live.get() + 1);
        TaskTrackerToken {
            inner: self.inner.clone(),
        }
    }

    /// Close the tracker: once it is empty, [`wait`](TaskTracker::wait) completes. Returns
    /// `true` if this call closed it (`false` if it was closed already).
    ///
    /// ```
    /// let tracker = corio_runtime::task::TaskTracker::new();
    /// assert!(tracker.close());
    /// assert!(!tracker.close());
    /// assert!(tracker.is_closed());
    /// ```
    pub fn close(&self) -> bool {
        if self.inner.closed.replace(true) {
            return false;
        }
        if self.inner.is_done() {
            self.inner.wake_all();
        }
        true
    }

    /// Open a closed tracker again: `wait` blocks again until the next `close`. Returns
    /// `true` if this call reopened it. A `wait` already woken by the close still completes.
    ///
    /// ```
    /// let tracker = corio_runtime::task::TaskTracker::new();
    /// tracker.close();
    /// assert!(tracker.reopen());
    /// assert!(!tracker.is_closed());
    /// ```
    pub fn reopen(&self) -> bool {
        self.inner.closed.replace(false)
    }

    /// Has [`close`](TaskTracker::close) been called (and no `reopen` since)?
    ///
    /// ```
    /// let tracker = corio_runtime::task::TaskTracker::new();
    /// assert!(!tracker.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.inner.closed.get()
    }

    /// How many tracked tasks (and tokens) are not done yet.
    ///
    /// ```
    /// corio_runtime::run(async {
    ///     let tracker = corio_runtime::task::TaskTracker::new();
    ///     let h = tracker.spawn(std::future::pending::<()>());
    ///     assert_eq!(tracker.len(), 1);
    ///     h.abort();
    ///     let _ = h.await; // aborted: its future is dropped, so it is done
    ///     assert_eq!(tracker.len(), 0);
    /// });
    /// ```
    pub fn len(&self) -> usize {
        self.inner.live.get()
    }

    /// No tracked task is alive.
    ///
    /// ```
    /// assert!(corio_runtime::task::TaskTracker::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Wait until the tracker is closed and every tracked task is done; completes at once if
    /// it already is. A wait woken by the tracker becoming closed and empty completes even
    /// if it is reopened (or gains a task) before the waiting task runs, as tokio's does.
    ///
    /// The future owns a handle on the tracker (it is `'static`); cancel-safe: dropping it
    /// just takes it off the waiter list.
    ///
    /// ```
    /// use std::time::Duration;
    /// use corio_runtime::{task::TaskTracker, time::timeout};
    /// corio_runtime::run(async {
    ///     let tracker = TaskTracker::new();
    ///     // Empty but open: not done.
    ///     assert!(timeout(Duration::from_millis(5), tracker.wait()).await.is_err());
    ///     tracker.close();
    ///     tracker.wait().await;
    /// });
    /// ```
    pub fn wait(&self) -> impl Future<Output = ()> + 'static + use<> {
        Wait {
            inner: self.inner.clone(),
            key: None,
        }
    }
}

impl Default for TaskTracker {
    fn default() -> TaskTracker {
        TaskTracker::new()
    }
}

impl fmt::Debug for TaskTracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskTracker")
            .field("len", &self.len())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// One tracked task of a [`TaskTracker`], from [`TaskTracker::token`]: the task counts as
/// done when its token is dropped. Cloning makes a second token (a second count).
///
/// ```
/// let tracker = corio_runtime::task::TaskTracker::new();
/// let a = tracker.token();
/// let b = a.clone();
/// assert_eq!(tracker.len(), 2);
/// drop((a, b));
/// assert_eq!(tracker.len(), 0);
/// ```
pub struct TaskTrackerToken {
    inner: Rc<Inner>,
}

impl Clone for TaskTrackerToken {
    fn clone(&self) -> TaskTrackerToken {
        self.inner.live.set(self.inner.live.get() + 1);
        TaskTrackerToken {
            inner: self.inner.clone(),
        }
    }
}

impl Drop for TaskTrackerToken {
    fn drop(&mut self) {
        let live = self.inner.live.get() - 1;
        self.inner.live.set(live);
        if live == 0 && self.inner.closed.get() {
            self.inner.wake_all();
        }
    }
}

impl fmt::Debug for TaskTrackerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskTrackerToken")
            .field("tracker_len", &self.inner.live.get())
            .finish()
    }
}

/// The future of [`TaskTracker::wait`]: a slot in the tracker's waiter list.
struct Wait {
    inner: Rc<Inner>,
    key: Option<usize>,
}

impl Future for Wait {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        // Every completed wait draws from the task's budget (see `coop`).
        coop::poll_charged(cx, |cx| {
            let mut waiters = this.inner.waiters.borrow_mut();
            match this.key {
                None if this.inner.is_done() => Poll::Ready(()),
                None => {
                    this.key = Some(waiters.push_back((), cx.waker()));
                    Poll::Pending
                }
                Some(key) if waiters.is_linked(key) => {
                    waiters.set_waker(key, cx.waker());
                    Poll::Pending
                }
                Some(key) => {
                    // Unlinked: the tracker became closed and empty while we waited.
                    waiters.remove(key);
                    this.key = None;
                    Poll::Ready(())
                }
            }
        })
    }
}

impl Drop for Wait {
    fn drop(&mut self) {
        // Nothing to hand on: every waiter is woken, not a chosen one.
        if let Some(key) = self.key {
            self.inner.waiters.borrow_mut().remove(key);
        }
    }
}
