//! `Condition`: a condition variable used with a [`Lock`] guard (Python's
//! `threading.Condition`).

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::lock::{Lock, LockGuard};
use super::slot::{WaiterHost, WaiterSlot};
use super::waiters::{grant_front, WaiterList};

/// A condition variable: tasks [`wait`](Condition::wait) with a [`LockGuard`] until another
/// task notifies them. `wait` releases the lock while parked and re-acquires it before
/// returning, like Python's `Condition.wait` and std's `Condvar`.
///
/// * Waiters are notified in arrival order: [`notify_one`](Condition::notify_one),
///   [`notify(n)`](Condition::notify), [`notify_all`](Condition::notify_all). Notified
///   waiters then re-acquire the lock like any `lock()` call, in the order they run (the
///   order they were notified in, unless the runtime shuffles with a `seed`).
/// * A notification with nobody waiting is lost (as in Python): check your predicate under
///   the lock, or use [`wait_while`](Condition::wait_while).
/// * Cancel-safe: a `wait` dropped while parked leaves the queue; one dropped after it was
///   notified by `notify_one`/`notify(n)` (still parked, or waiting to re-acquire the lock)
///   passes the notification to the next waiter, so `notify(n)` wakes `n` live waiters if
///   there are that many. (A `notify_all` notification is not passed on: everyone parked
///   at that moment was already woken.)
/// * One `Condition` may be used with any `Lock`; it does not remember which.
///
/// ```
/// use std::rc::Rc;
/// use corio_runtime::sync::{Condition, Lock};
/// corio_runtime::run(async {
///     let ready = Rc::new((Lock::new(false), Condition::new()));
///     let waiter = corio_runtime::spawn({
///         let ready = ready.clone();
///         async move {
///             let (lock, cond) = &*ready;
///             let guard = cond.wait_while(lock.lock().await, |ready| !*ready).await;
///             *guard
///         }
///     });
///     let (lock, cond) = &*ready;
///     *lock.lock().await = true;
///     cond.notify_one();
///     assert!(waiter.await.unwrap());
/// });
/// ```
pub struct Condition {
    waiters: RefCell<WaiterList<Notice>>,
}

/// What an unlinked (notified) waiter was given.
#[derive(Clone, Copy)]
pub(crate) struct Notice {
    /// Pass the notification on if the waiter is dropped before it sees it?
    /// True for `notify_one`/`notify(n)`, false for `notify_all`.
    pass_on: bool,
}

impl Condition {
    /// A new condition variable with no waiters.
    ///
    /// ```
    /// let cond = corio_runtime::sync::Condition::new();
    /// cond.notify_all(); // nobody waits: nothing happens
    /// ```
    pub const fn new() -> Condition {
        Condition {
            waiters: RefCell::new(WaiterList::new()),
        }
    }

    /// Release the lock held by `guard`, wait for a notification, re-acquire the lock and
    /// return the new guard. Wakeups come only from notifications, but the state may have
    /// changed again before the lock is re-acquired: re-check your condition in a loop, or
    /// use [`wait_while`](Condition::wait_while).
    ///
    /// If the future is dropped, the lock is not re-acquired (the guard is gone).
    ///
    /// ```
    /// use std::rc::Rc;
    /// use corio_runtime::sync::{Condition, Lock};
    /// corio_runtime::run(async {
    ///     let shared = Rc::new((Lock::new(0), Condition::new()));
    ///     let s = shared.clone();
    ///     let consumer = corio_runtime::spawn(async move {
    ///         let (lock, cond) = &*s;
    ///         let mut guard = lock.lock().await;
    ///         while *guard == 0 {
    ///             guard = cond.wait(guard).await;
    ///         }
    ///         *guard
    ///     });
    ///     corio_runtime::task::yield_now().await;
    ///     let (lock, cond) = &*shared;
    ///     *lock.lock().await = 42;
    ///     cond.notify_one();
    ///     assert_eq!(consumer.await.unwrap(), 42);
    /// });
    /// ```
    pub async fn wait<'a, T: ?Sized>(&self, guard: LockGuard<'a, T>) -> LockGuard<'a, T> {
        let lock: &'a Lock<T> = LockGuard::lock(&guard);
        // No other task runs between unlocking here and the first poll of `Notified`
        // below (it happens in this same poll), so no notification can slip in between.
        drop(guard);
        let notice = Notified {
            slot: WaiterSlot::new(self),
        }
        .await;
        // Dropped while re-acquiring the lock, the caller never sees the notification
        // (Python 3.12 makes the same choice): pass it on until we hold the lock.
        let mut pass_on = PassOn {
            cond: self,
            armed: notice.pass_on,
        };
        let guard = lock.lock().await;
        pass_on.armed = false;
        guard
    }

    /// Wait while `condition` returns true: the predicate is checked under the lock, first
    /// before waiting at all and again after each notification. Returns the guard with the
    /// predicate false.
    ///
    /// ```
    /// use std::rc::Rc;
    /// use corio_runtime::sync::{Condition, Lock};
    /// corio_runtime::run(async {
    ///     let jobs = Rc::new((Lock::new(Vec::new()), Condition::new()));
    ///     let j = jobs.clone();
    ///     let worker = corio_runtime::spawn(async move {
    ///         let (lock, cond) = &*j;
    ///         let mut queue = cond.wait_while(lock.lock().await, |q: &mut Vec<u32>| q.is_empty()).await;
    ///         queue.pop()
    ///     });
    ///     let (lock, cond) = &*jobs;
    ///     lock.lock().await.push(7);
    ///     cond.notify_all();
    ///     assert_eq!(worker.await.unwrap(), Some(7));
    /// });
    /// ```
    pub async fn wait_while<'a, T: ?Sized, F>(
        &self,
        mut guard: LockGuard<'a, T>,
        mut condition: F,
    ) -> LockGuard<'a, T>
    where
        F: FnMut(&mut T) -> bool,
    {
        while condition(&mut *guard) {
            guard = self.wait(guard).await;
        }
        guard
    }

    /// Wake the oldest waiter, if any.
    ///
    /// ```
    /// let cond = corio_runtime::sync::Condition::new();
    /// cond.notify_one(); // lost: nobody waits
    /// ```
    pub fn notify_one(&self) {
        self.notify(1);
    }

    /// Wake the `n` oldest waiters (fewer if fewer wait), like Python's `notify(n)`.
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// use corio_runtime::sync::{Condition, Lock};
    /// corio_runtime::run(async {
    ///     let shared = Rc::new((Lock::new(()), Condition::new(), Cell::new(0)));
    ///     for _ in 0..5 {
    ///         let s = shared.clone();
    ///         corio_runtime::spawn(async move {
    ///             let _g = s.1.wait(s.0.lock().await).await;
    ///             s.2.set(s.2.get() + 1);
    ///         });
    ///     }
    ///     corio_runtime::task::yield_now().await; // all five are waiting
    ///     shared.1.notify(2);
    ///     corio_runtime::time::sleep(std::time::Duration::from_millis(5)).await;
    ///     assert_eq!(shared.2.get(), 2);
    /// });
    /// ```
    pub fn notify(&self, n: usize) {
        self.wake(n, true);
    }

    /// Wake every task waiting right now.
    ///
    /// ```
    /// let cond = corio_runtime::sync::Condition::new();
    /// cond.notify_all();
    /// ```
    pub fn notify_all(&self) {
        let parked = self.waiters.borrow().len();
        self.wake(parked, false);
    }

    fn wake(&self, n: usize, pass_on: bool) {
        grant_front(&self.waiters, n, |notice| *notice = Notice { pass_on });
    }
}

impl Default for Condition {
    fn default() -> Condition {
        Condition::new()
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("waiters", &self.waiters.borrow().len())
            .finish()
    }
}

/// The parked part of [`Condition::wait`]: waits for a notification.
struct Notified<'a> {
    slot: WaiterSlot<&'a Condition>,
}

impl Future for Notified<'_> {
    type Output = Notice;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Notice> {
        // Not charged: a notification is never ready on the first poll (which must register
        // in the same poll that released the lock, or a notify could slip in between), so
        // this always waits; the lock re-acquisition after it draws from the budget.
        self.poll_uncharged(cx)
    }
}

impl Notified<'_> {
    fn poll_uncharged(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Notice> {
        let cond = self.slot.host();
        let mut waiters = cond.waiters.borrow_mut();
        if self.slot.is_registered() {
            return self.slot.poll_granted(&mut waiters, cx.waker());
        }
        self.slot
            .register(&mut waiters, Notice { pass_on: false }, cx.waker());
        Poll::Pending
    }
}

impl WaiterHost for &Condition {
    type Data = Notice;

    fn with_waiters<R>(self, f: impl FnOnce(&mut WaiterList<Notice>) -> R) -> R {
        f(&mut self.waiters.borrow_mut())
    }

    fn hand_on(self, notice: Notice) {
        if notice.pass_on {
            // Notified but never woke up to use it: the next waiter gets it instead.
            self.notify_one();
        }
    }
}

/// Passes a notification on if `wait` is dropped between being notified and re-acquiring
/// the lock.
struct PassOn<'a> {
    cond: &'a Condition,
    armed: bool,
}

impl Drop for PassOn<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.cond.notify_one();
        }
    }
}
