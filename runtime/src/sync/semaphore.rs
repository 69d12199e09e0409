//! `Semaphore`: a fair counting semaphore with RAII permits.

use crate::coop;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::error::{AcquireError, TryAcquireError};
use super::slot::{WaiterHost, WaiterSlot};
use super::waiters::{grant_front, WaiterList};

/// A counting semaphore: at most `n` permits are out at a time. [`acquire`](Semaphore::acquire)
/// waits for a [`Permit`], which gives its permits back when dropped.
///
/// Fair: requests are served strictly in arrival order. A large
/// [`acquire_many`](Semaphore::acquire_many) at the head of the queue is not overtaken by
/// later small requests, even when enough permits for them are free. Cancel-safe: a request
/// dropped while waiting leaves the queue (and lets the requests behind it go if it was
/// blocking them); permits handed to a request that is then dropped go to the next one.
///
/// ```
/// use std::{cell::Cell, rc::Rc, time::Duration};
/// use corio_runtime::{spawn, sync::Semaphore, time::sleep};
/// corio_runtime::run(async {
///     let sem = Rc::new(Semaphore::new(3));
///     let inside = Rc::new(Cell::new(0));
///     let tasks: Vec<_> = (0..10)
///         .map(|_| {
///             let (sem, inside) = (sem.clone(), inside.clone());
///             spawn(async move {
///                 let _permit = sem.acquire().await.unwrap();
///                 inside.set(inside.get() + 1);
///                 assert!(inside.get() <= 3);
///                 sleep(Duration::from_millis(1)).await;
///                 inside.set(inside.get() - 1);
///             })
///         })
///         .collect();
///     for t in tasks {
///         t.await.unwrap();
///     }
///     assert_eq!(sem.available_permits(), 3);
/// });
/// ```
pub struct Semaphore {
    permits: Cell<usize>,
    closed: Cell<bool>,
    /// Invariant: empty once closed.
    waiters: RefCell<WaiterList<Request>>,
}

/// A queued request. Linked: waiting. Unlinked: granted its permits, or refused (`closed`).
pub(crate) struct Request {
    needed: usize,
    closed: bool,
}

impl Semaphore {
    /// A semaphore with `permits` permits free.
    ///
    /// ```
    /// let sem = corio_runtime::sync::Semaphore::new(5);
    /// assert_eq!(sem.available_permits(), 5);
    /// ```
    pub const fn new(permits: usize) -> Semaphore {
        Semaphore {
            permits: Cell::new(permits),
            closed: Cell::new(false),
            waiters: RefCell::new(WaiterList::new()),
        }
    }

    /// Wait for one permit. Errs once the semaphore is [closed](Semaphore::close).
    ///
    /// ```
    /// corio_runtime::run(async {
    ///     let sem = corio_runtime::sync::Semaphore::new(1);
    ///     let permit = sem.acquire().await.unwrap();
    ///     assert_eq!(sem.available_permits(), 0);
    ///     drop(permit);
    ///     assert_eq!(sem.available_permits(), 1);
    /// });
    /// ```
    // Plain fns returning the future (not `async fn`): no extra state machines per call.
    #[allow(clippy::manual_async_fn)]
    #[inline]
    pub fn acquire(&self) -> impl Future<Output = Result<Permit<'_>, AcquireError>> + '_ {
        self.acquire_many(1)
    }

    /// Wait for `n` permits at once (they are taken together, never piecemeal). While it
    /// waits at the head of the queue, later requests wait behind it. `n == 0` succeeds at
    /// once unless the semaphore is closed.
    ///
    /// ```
    /// corio_runtime::run(async {
    ///     let sem = corio_runtime::sync::Semaphore::new(5);
    ///     let three = sem.acquire_many(3).await.unwrap();
    ///     assert_eq!(three.num_permits(), 3);
    ///     assert_eq!(sem.available_permits(), 2);
    /// });
    /// ```
    #[allow(clippy::manual_async_fn)]
    #[inline]
    pub fn acquire_many(
        &self,
        n: usize,
    ) -> impl Future<Output = Result<Permit<'_>, AcquireError>> + '_ {
        Acquire {
            slot: WaiterSlot::new(self),
            needed: n,
        }
    }

    /// Take one permit if that needs no waiting.
    ///
    /// ```
    /// use corio_runtime::sync::{Semaphore, TryAcquireError};
    /// let sem = Semaphore::new(1);
    /// let _p = sem.try_acquire().unwrap();
    /// assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
    /// ```
    pub fn try_acquire(&self) -> Result<Permit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Take `n` permits if that needs no waiting: enough are free and nobody is queued
    /// ahead (a `try_` call does not overtake waiters).
    ///
    /// ```
    /// let sem = corio_runtime::sync::Semaphore::new(4);
    /// assert!(sem.try_acquire_many(5).is_err());
    /// assert_eq!(sem.try_acquire_many(4).unwrap().num_permits(), 4);
    /// ```
    pub fn try_acquire_many(&self, n: usize) -> Result<Permit<'_>, TryAcquireError> {
        if self.closed.get() {
            return Err(TryAcquireError::Closed);
        }
        if self.take_now(n) {
            Ok(Permit {
                sem: self,
                permits: n,
            })
        } else {
            Err(TryAcquireError::NoPermits)
        }
    }

    /// Permits free right now (permits already handed to a waiter that has not run yet
    /// are not free).
    ///
    /// ```
    /// let sem = corio_runtime::sync::Semaphore::new(2);
    /// let _p = sem.try_acquire().unwrap();
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn available_permits(&self) -> usize {
        self.permits.get()
    }

    /// Add `n` permits and hand them to waiters, oldest first.
    ///
    /// # Panics
    /// If the number of free permits would overflow `usize`.
    ///
    /// ```
    /// let sem = corio_runtime::sync::Semaphore::new(0);
    /// sem.add_permits(2);
    /// assert_eq!(sem.available_permits(), 2);
    /// ```
    #[inline]
    pub fn add_permits(&self, n: usize) {
        let permits = self.permits.get().checked_add(n);
        self.permits
            .set(permits.expect("Semaphore::add_permits: the permit count overflowed usize"));
        self.grant_waiters();
    }

    /// Close the semaphore: every waiter, now and later, gets [`AcquireError`] (and
    /// `try_acquire` gets [`TryAcquireError::Closed`]) — including a waiter whose permits
    /// were assigned just before but which had not run yet (they go back to the pool).
    /// Permits already out stay valid and are still returned when dropped.
    ///
    /// ```
    /// corio_runtime::run(async {
    ///     let sem = corio_runtime::sync::Semaphore::new(0);
    ///     sem.close();
    ///     assert!(sem.is_closed());
    ///     assert!(sem.acquire().await.is_err());
    /// });
    /// ```
    pub fn close(&self) {
        if self.closed.replace(true) {
            return;
        }
        let parked = self.waiters.borrow().len();
        grant_front(&self.waiters, parked, |request| request.closed = true);
    }

    /// Has [`close`](Semaphore::close) been called?
    ///
    /// ```
    /// assert!(!corio_runtime::sync::Semaphore::new(1).is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.closed.get()
    }

    /// The fast path: take `n` permits if they are free and nobody is queued ahead.
    #[inline]
    fn take_now(&self, n: usize) -> bool {
        let permits = self.permits.get();
        if permits >= n && self.waiters.borrow().is_empty() {
            self.permits.set(permits - n);
            true
        } else {
            false
        }
    }

    /// Hand free permits to the oldest waiters, while the head's whole request fits.
    #[inline]
    fn grant_waiters(&self) {
        // The common case, nobody waiting, stays a borrow-flag check and a test.
        if self.waiters.borrow().is_empty() {
            return;
        }
        self.grant_waiters_slow();
    }

    fn grant_waiters_slow(&self) {
        loop {
            let waker = {
                let mut waiters = self.waiters.borrow_mut();
                let Some(head) = waiters.front() else { return };
                let needed = waiters.data(head).needed;
                let permits = self.permits.get();
                if permits < needed {
                    // Strict FIFO: smaller requests behind the head wait too.
                    return;
                }
                self.permits.set(permits - needed);
                waiters.unlink(head);
                waiters.take_waker(head)
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("permits", &self.permits.get())
            .field("closed", &self.closed.get())
            .field("waiters", &self.waiters.borrow().len())
            .finish()
    }
}

/// Permits taken from a [`Semaphore`]; dropping it gives them back.
///
/// ```
/// let sem = corio_runtime::sync::Semaphore::new(1);
/// {
///     let _permit = sem.try_acquire().unwrap();
///     assert_eq!(sem.available_permits(), 0);
/// }
/// assert_eq!(sem.available_permits(), 1);
/// ```
#[must_use = "the permits are given back as soon as the Permit is dropped"]
pub struct Permit<'a> {
    sem: &'a Semaphore,
    permits: usize,
}

impl Permit<'_> {
    /// Keep the permits taken for good: dropping nothing gives them back (use
    /// [`Semaphore::add_permits`] to return them by hand).
    ///
    /// ```
    /// let sem = corio_runtime::sync::Semaphore::new(2);
    /// sem.try_acquire().unwrap().forget();
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// How many permits this holds.
    ///
    /// ```
    /// let sem = corio_runtime::sync::Semaphore::new(3);
    /// assert_eq!(sem.try_acquire_many(2).unwrap().num_permits(), 2);
    /// ```
    pub fn num_permits(&self) -> usize {
        self.permits
    }
}

impl Drop for Permit<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.permits > 0 {
            self.sem.add_permits(self.permits);
        }
    }
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("permits", &self.permits)
            .finish()
    }
}

/// The pending part of [`Semaphore::acquire_many`].
struct Acquire<'a> {
    slot: WaiterSlot<&'a Semaphore>,
    needed: usize,
}

impl<'a> Future for Acquire<'a> {
    type Output = Result<Permit<'a>, AcquireError>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Every completed wait draws from the task's budget (see `coop`).
        coop::poll_charged(cx, |cx| self.poll_uncharged(cx))
    }
}

impl<'a> Acquire<'a> {
    #[inline]
    fn poll_uncharged(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Permit<'a>, AcquireError>> {
        let sem = self.slot.host();
        let needed = self.needed;
        // Built only on the way out: a Permit gives its permits back when dropped.
        let granted = || {
            Poll::Ready(Ok(Permit {
                sem,
                permits: needed,
            }))
        };
        if self.slot.is_registered() {
            let request = match self
                .slot
                .poll_granted(&mut sem.waiters.borrow_mut(), cx.waker())
            {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(request) => request,
            };
            if request.closed {
                return Poll::Ready(Err(AcquireError(())));
            }
            if sem.closed.get() {
                // Granted, then the semaphore closed before we ran: "every waiter gets
                // AcquireError", so the permits go back (no waiter is left to take them).
                sem.permits.set(sem.permits.get() + needed);
                return Poll::Ready(Err(AcquireError(())));
            }
            return granted();
        }
        if sem.closed.get() {
            return Poll::Ready(Err(AcquireError(())));
        }
        if needed == 0 || sem.take_now(needed) {
            return granted();
        }
        let request = Request {
            needed,
            closed: false,
        };
        self.slot
            .register(&mut sem.waiters.borrow_mut(), request, cx.waker());
        Poll::Pending
    }
}

impl WaiterHost for &Semaphore {
    type Data = Request;

    fn with_waiters<R>(self, f: impl FnOnce(&mut WaiterList<Request>) -> R) -> R {
        f(&mut self.waiters.borrow_mut())
    }

    fn hand_on(self, request: Request) {
        if request.closed {
            // Refused by `close`: nothing was granted, and a closed semaphore has nobody
            // waiting behind us.
            self.grant_waiters();
        } else {
            // Handed permits we will never use: give them to the next waiters.
            self.add_permits(request.needed);
        }
    }

    fn left_waiting(self) {
        // If we were the head blocking a smaller request behind us, that one may fit now.
        self.grant_waiters();
    }
}
