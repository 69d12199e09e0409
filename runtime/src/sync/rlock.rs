//! `RLock<T>`: a re-entrant lock, owned by a task (Python's `threading.RLock`).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::slot::{WaiterHost, WaiterSlot};
use super::waiters::WaiterList;
use crate::coop;
use crate::task::{self, Id};

/// A re-entrant lock: the task that holds it may lock it again without deadlock (each
/// [`RLockGuard`] adds one level); it is freed only when the outermost guard drops.
/// Another task waits, in arrival order, like for [`Lock`](super::Lock).
///
/// The owner is the *task* (`task::current().id()`; the `block_on` future counts as task
/// 0), so two futures joined inside one task count as the same owner. Guards give `&T`
/// only, because nested guards coexist; put a `RefCell` inside to mutate.
///
/// `lock()` is cancel-safe like `Lock::lock`: a lock handed to a dropped waiter passes on.
///
/// # Panics
/// `lock` and `try_lock` panic outside a corio runtime (they ask it for the current task).
///
/// ```
/// use std::cell::Cell;
/// use corio_runtime::sync::RLock;
/// corio_runtime::run(async {
///     let counter = RLock::new(Cell::new(0));
///     let outer = counter.lock().await;
///     let inner = counter.lock().await; // same task: no deadlock
///     inner.set(inner.get() + 1);
///     drop(inner);
///     assert!(counter.is_locked(), "still held by the outer guard");
///     drop(outer);
///     assert!(!counter.is_locked());
/// });
/// ```
pub struct RLock<T: ?Sized> {
    owner: Cell<Option<Id>>,
    /// Guards alive in the owning task.
    depth: Cell<usize>,
    /// Each waiter's task id, so the lock can be handed over with its new owner set.
    /// Invariant: a waiter is linked only while `owner` is `Some`.
    waiters: RefCell<WaiterList<Id>>,
    value: T,
}

impl<T> RLock<T> {
    /// A new, unlocked re-entrant lock holding `value`.
    ///
    /// ```
    /// let lock = corio_runtime::sync::RLock::new(0);
    /// assert!(!lock.is_locked());
    /// ```
    pub const fn new(value: T) -> RLock<T> {
        RLock {
            owner: Cell::new(None),
            depth: Cell::new(0),
            waiters: RefCell::new(WaiterList::new()),
            value,
        }
    }

    /// Consume the lock and return the data.
    ///
    /// ```
    /// assert_eq!(corio_runtime::sync::RLock::new(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        self.value
    }
}

impl<T: ?Sized> RLock<T> {
    /// Lock it: at once if the current task already holds it (one level deeper) or it is
    /// free; otherwise wait in arrival order.
    ///
    /// ```
    /// corio_runtime::run(async {
    ///     let lock = corio_runtime::sync::RLock::new("data");
    ///     let a = lock.lock().await;
    ///     let b = lock.lock().await;
    ///     assert_eq!(*a, *b);
    /// });
    /// ```
    pub async fn lock(&self) -> RLockGuard<'_, T> {
        let me = task::current().id();
        Acquire {
            slot: WaiterSlot::new(self),
            me,
        }
        .await;
        RLockGuard { lock: self }
    }

    /// Lock it if that needs no waiting: the current task holds it already, or it is free.
    ///
    /// ```
    /// use std::rc::Rc;
    /// corio_runtime::run(async {
    ///     let lock = Rc::new(corio_runtime::sync::RLock::new(()));
    ///     let _held = lock.try_lock().unwrap();
    ///     assert!(lock.try_lock().is_some(), "re-entrant for the holder");
    ///     let other = lock.clone();
    ///     let other_task = corio_runtime::spawn(async move { other.try_lock().is_some() });
    ///     assert!(!other_task.await.unwrap(), "another task cannot take it");
    /// });
    /// ```
    pub fn try_lock(&self) -> Option<RLockGuard<'_, T>> {
        let me = task::current().id();
        if self.try_enter(me) {
            Some(RLockGuard { lock: self })
        } else {
            None
        }
    }

    /// Is the lock held by some task?
    ///
    /// ```
    /// let lock = corio_runtime::sync::RLock::new(());
    /// assert!(!lock.is_locked());
    /// ```
    pub fn is_locked(&self) -> bool {
        self.owner.get().is_some()
    }

    fn try_enter(&self, me: Id) -> bool {
        match self.owner.get() {
            Some(owner) if owner == me => {
                let depth = self.depth.get().checked_add(1);
                self.depth
                    .set(depth.expect("RLock: re-entered too many times (depth overflow)"));
                true
            }
            Some(_) => false,
            None => {
                self.owner.set(Some(me));
                self.depth.set(1);
                true
            }
        }
    }

    /// One guard fewer; at depth 0 hand the lock to the oldest waiter (or free it).
    fn exit(&self) {
        let depth = self.depth.get() - 1;
        self.depth.set(depth);
        if depth > 0 {
            return;
        }
        let waker = {
            let mut waiters = self.waiters.borrow_mut();
            match waiters.pop_front() {
                Some(key) => {
                    // Ownership passes straight to the waiter, so nobody barges in.
                    self.owner.set(Some(*waiters.data(key)));
                    self.depth.set(1);
                    waiters.take_waker(key)
                }
                None => {
                    self.owner.set(None);
                    None
                }
            }
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T: ?Sized> fmt::Debug for RLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RLock")
            .field("owner", &self.owner.get())
            .field("depth", &self.depth.get())
            .field("waiters", &self.waiters.borrow().len())
            .finish_non_exhaustive()
    }
}

/// One level of a held [`RLock`]: derefs to `&T`; dropping the last one frees the lock.
///
/// ```
/// corio_runtime::run(async {
///     let lock = corio_runtime::sync::RLock::new(std::cell::RefCell::new(vec![1]));
///     let guard = lock.lock().await;
///     guard.borrow_mut().push(2);
///     assert_eq!(*guard.borrow(), [1, 2]);
/// });
/// ```
#[must_use = "the lock level is released as soon as the guard is dropped"]
pub struct RLockGuard<'a, T: ?Sized> {
    lock: &'a RLock<T>,
}

impl<T: ?Sized> Deref for RLockGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.lock.value
    }
}

impl<T: ?Sized> Drop for RLockGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.exit();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RLockGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.lock.value, f)
    }
}

/// The pending part of [`RLock::lock`].
struct Acquire<'a, T: ?Sized> {
    slot: WaiterSlot<&'a RLock<T>>,
    me: Id,
}

impl<T: ?Sized> Future for Acquire<'_, T> {
    type Output = ();

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // Every completed wait draws from the task's budget (see `coop`).
        coop::poll_charged(cx, |cx| self.poll_uncharged(cx))
    }
}

impl<T: ?Sized> Acquire<'_, T> {
    fn poll_uncharged(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let lock = self.slot.host();
        if self.slot.is_registered() {
            // Unlinked: `exit` made us the owner at depth 1.
            return self
                .slot
                .poll_granted(&mut lock.waiters.borrow_mut(), cx.waker())
                .map(|_me| ());
        }
        if lock.try_enter(self.me) {
            return Poll::Ready(());
        }
        let me = self.me;
        self.slot
            .register(&mut lock.waiters.borrow_mut(), me, cx.waker());
        Poll::Pending
    }
}

impl<T: ?Sized> WaiterHost for &RLock<T> {
    type Data = Id;

    fn with_waiters<R>(self, f: impl FnOnce(&mut WaiterList<Id>) -> R) -> R {
        f(&mut self.waiters.borrow_mut())
    }

    fn hand_on(self, _me: Id) {
        // We own the lock at depth 1 but will never make a guard: release that level.
        self.exit();
    }
}
