//! `Lock<T>`: a fair async mutex for tasks on one loop (Python's `threading.Lock`).

use crate::coop;
use std::cell::{Cell, RefCell, RefMut};
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::task::{Context, Poll};

use super::slot::{WaiterHost, WaiterSlot};
use super::waiters::WaiterList;

/// An async mutex that owns its data: [`lock`](Lock::lock) waits for the
/// [`LockGuard`], which gives `&mut T` and unlocks when dropped.
///
/// Tasks on one thread never run at the same time, so plain `RefCell` would do for memory
/// safety; `Lock` is for keeping an invariant across `.await` points, where other tasks run.
/// Fair: waiters get the lock in arrival order, handed over directly (a later `try_lock` or
/// `lock` cannot barge in between). `lock()` is cancel-safe: a waiter dropped before it
/// got the lock leaves the queue; one dropped after the lock was handed to it passes the
/// lock on to the next waiter.
///
/// ```
/// use std::rc::Rc;
/// use corio_runtime::{spawn, sync::Lock, task::yield_now};
/// corio_runtime::run(async {
///     let balance = Rc::new(Lock::new(100));
///     let tasks: Vec<_> = (0..10)
///         .map(|_| {
///             let balance = balance.clone();
///             spawn(async move {
///                 let mut b = balance.lock().await;
///                 let read = *b;
///                 yield_now().await; // other tasks run, but cannot touch the balance
///                 *b = read - 10;
///             })
///         })
///         .collect();
///     for t in tasks {
///         t.await.unwrap();
///     }
///     assert_eq!(*balance.lock().await, 0);
/// });
/// ```
pub struct Lock<T: ?Sized> {
    raw: RawLock,
    value: RefCell<T>,
}

/// The lock state without the data, so the waiter machinery is not generic over `T`.
struct RawLock {
    locked: Cell<bool>,
    /// Invariant: a waiter is linked only while `locked` is true.
    waiters: RefCell<WaiterList<()>>,
}

impl<T> Lock<T> {
    /// A new, unlocked lock holding `value`.
    ///
    /// ```
    /// let lock = corio_runtime::sync::Lock::new(vec![1, 2]);
    /// assert!(!lock.is_locked());
    /// ```
    pub const fn new(value: T) -> Lock<T> {
        Lock {
            raw: RawLock {
                locked: Cell::new(false),
                waiters: RefCell::new(WaiterList::new()),
            },
            value: RefCell::new(value),
        }
    }

    /// Consume the lock and return the data.
    ///
    /// ```
    /// let lock = corio_runtime::sync::Lock::new(5);
    /// assert_eq!(lock.into_inner(), 5);
    /// ```
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> Lock<T> {
    /// Wait for the lock, in arrival order, and return its guard.
    ///
    /// ```
    /// corio_runtime::run(async {
    ///     let lock = corio_runtime::sync::Lock::new(0);
    ///     *lock.lock().await += 1;
    ///     assert_eq!(*lock.lock().await, 1);
    /// });
    /// ```
    pub async fn lock(&self) -> LockGuard<'_, T> {
        Acquire {
            slot: WaiterSlot::new(&self.raw),
        }
        .await;
        self.guard()
    }

    /// Take the lock if it is free right now (and nobody is queued for it).
    ///
    /// ```
    /// let lock = corio_runtime::sync::Lock::new(0);
    /// let guard = lock.try_lock().unwrap();
    /// assert!(lock.try_lock().is_none());
    /// drop(guard);
    /// assert!(lock.try_lock().is_some());
    /// ```
    pub fn try_lock(&self) -> Option<LockGuard<'_, T>> {
        if self.raw.locked.get() {
            return None;
        }
        self.raw.locked.set(true);
        Some(self.guard())
    }

    /// Is the lock held (or being handed to a waiter)?
    ///
    /// ```
    /// let lock = corio_runtime::sync::Lock::new(());
    /// let _guard = lock.try_lock();
    /// assert!(lock.is_locked());
    /// ```
    pub fn is_locked(&self) -> bool {
        self.raw.locked.get()
    }

    /// The data, through `&mut self`: no locking needed.
    ///
    /// ```
    /// let mut lock = corio_runtime::sync::Lock::new(1);
    /// *lock.get_mut() += 1;
    /// assert_eq!(lock.into_inner(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    fn guard(&self) -> LockGuard<'_, T> {
        LockGuard {
            // Cannot fail: we hold the lock, and the previous guard released its borrow
            // before it handed the lock on (see the field order of LockGuard).
            value: self.value.borrow_mut(),
            release: Release(self),
        }
    }
}

impl RawLock {
    /// Hand the lock to the oldest waiter, or mark it free if nobody waits.
    #[inline]
    fn unlock(&self) {
        let waker = {
            let mut waiters = self.waiters.borrow_mut();
            match waiters.pop_front() {
                // `locked` stays true: the lock passes straight to the waiter, so nothing can
                // barge in between now and the moment it runs.
                Some(key) => waiters.take_waker(key),
                None => {
                    self.locked.set(false);
                    None
                }
            }
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T: Default> Default for Lock<T> {
    fn default() -> Lock<T> {
        Lock::new(T::default())
    }
}

impl<T: ?Sized> fmt::Debug for Lock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock")
            .field("locked", &self.raw.locked.get())
            .field("waiters", &self.raw.waiters.borrow().len())
            .finish_non_exhaustive()
    }
}

/// Access to the data of a held [`Lock`]; dropping it unlocks (or hands the lock to the
/// next waiter).
///
/// ```
/// corio_runtime::run(async {
///     let lock = corio_runtime::sync::Lock::new(String::from("a"));
///     let mut guard = lock.lock().await;
///     guard.push('b');
///     assert_eq!(*guard, "ab");
/// });
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct LockGuard<'a, T: ?Sized> {
    // Field order matters: `value` (the RefCell borrow) is dropped before `release` hands
    // the lock to the next waiter, so the next guard's `borrow_mut` always succeeds.
    value: RefMut<'a, T>,
    release: Release<'a, T>,
}

struct Release<'a, T: ?Sized>(&'a Lock<T>);

impl<T: ?Sized> Drop for Release<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.0.raw.unlock();
    }
}

impl<'a, T: ?Sized> LockGuard<'a, T> {
    /// The lock this guard holds (for `Condition::wait`, which re-acquires it).
    pub(crate) fn lock(this: &LockGuard<'a, T>) -> &'a Lock<T> {
        this.release.0
    }
}

impl<T: ?Sized> Deref for LockGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: ?Sized> DerefMut for LockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for LockGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.value, f)
    }
}

/// The pending part of [`Lock::lock`].
struct Acquire<'a> {
    slot: WaiterSlot<&'a RawLock>,
}

impl Future for Acquire<'_> {
    type Output = ();

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // Every completed wait draws from the task's budget (see `coop`).
        coop::poll_charged(cx, |cx| self.poll_uncharged(cx))
    }
}

impl Acquire<'_> {
    #[inline]
    fn poll_uncharged(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let raw = self.slot.host();
        if self.slot.is_registered() {
            // Unlinked: `unlock` handed us the lock.
            return self
                .slot
                .poll_granted(&mut raw.waiters.borrow_mut(), cx.waker());
        }
        // Fast path: the invariant (nobody queued while unlocked) makes this fair.
        if !raw.locked.get() {
            raw.locked.set(true);
            return Poll::Ready(());
        }
        self.slot
            .register(&mut raw.waiters.borrow_mut(), (), cx.waker());
        Poll::Pending
    }
}

impl WaiterHost for &RawLock {
    type Data = ();

    fn with_waiters<R>(self, f: impl FnOnce(&mut WaiterList<()>) -> R) -> R {
        f(&mut self.waiters.borrow_mut())
    }

    fn hand_on(self, (): ()) {
        // We were handed the lock but will never use it: pass it on.
        self.unlock();
    }
}
