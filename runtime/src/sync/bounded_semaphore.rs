//! `BoundedSemaphore`: Python's `threading.BoundedSemaphore` (acquire/release by hand).

use std::cell::Cell;
use std::fmt;

use super::error::ReleaseError;
use super::semaphore::Semaphore;

/// A semaphore in the Python style: [`acquire`](BoundedSemaphore::acquire) and
/// [`release`](BoundedSemaphore::release) are separate calls, no RAII permit, and releasing
/// more often than acquiring (past the initial count `n`) is a [`ReleaseError`] instead of
/// silently raising the limit.
///
/// Built on [`Semaphore`], so it is FIFO-fair and `acquire` is cancel-safe the same way.
/// Prefer `Semaphore` in new code: a permit that is dropped cannot be forgotten.
///
/// ```
/// use std::rc::Rc;
/// use corio_runtime::sync::BoundedSemaphore;
/// corio_runtime::run(async {
///     let sem = Rc::new(BoundedSemaphore::new(5)); // at most 5 tasks inside
///     let tasks: Vec<_> = (0..20)
///         .map(|_| {
///             let sem = sem.clone();
///             corio_runtime::spawn(async move {
///                 sem.acquire().await;
///                 corio_runtime::task::yield_now().await;
///                 sem.release().unwrap();
///             })
///         })
///         .collect();
///     for t in tasks {
///         t.await.unwrap();
///     }
///     assert!(sem.release().is_err(), "all permits are back: one more release is a bug");
/// });
/// ```
pub struct BoundedSemaphore {
    sem: Semaphore,
    initial: usize,
    /// Completed acquires minus releases. Permits handed to a waiter that has not run yet
    /// are not counted, so releasing them twice (the classic bug) is still caught.
    held: Cell<usize>,
}

impl BoundedSemaphore {
    /// A semaphore with `n` permits, which may never hold more than `n`.
    ///
    /// ```
    /// let sem = corio_runtime::sync::BoundedSemaphore::new(3);
    /// assert_eq!(sem.available_permits(), 3);
    /// ```
    pub const fn new(n: usize) -> BoundedSemaphore {
        BoundedSemaphore {
            sem: Semaphore::new(n),
            initial: n,
            held: Cell::new(0),
        }
    }

    /// Wait for a permit (FIFO, cancel-safe). Pair every successful acquire with one
    /// [`release`](BoundedSemaphore::release).
    ///
    /// ```
    /// corio_runtime::run(async {
    ///     let sem = corio_runtime::sync::BoundedSemaphore::new(1);
    ///     sem.acquire().await;
    ///     assert_eq!(sem.available_permits(), 0);
    ///     sem.release().unwrap();
    /// });
    /// ```
    pub async fn acquire(&self) {
        match self.sem.acquire().await {
            Ok(permit) => permit.forget(),
            Err(_) => unreachable!("a BoundedSemaphore's inner semaphore is never closed"),
        }
        self.held.set(self.held.get() + 1);
    }

    /// Take a permit if that needs no waiting; `true` if it did.
    ///
    /// ```
    /// let sem = corio_runtime::sync::BoundedSemaphore::new(1);
    /// assert!(sem.try_acquire());
    /// assert!(!sem.try_acquire());
    /// ```
    pub fn try_acquire(&self) -> bool {
        match self.sem.try_acquire() {
            Ok(permit) => {
                permit.forget();
                self.held.set(self.held.get() + 1);
                true
            }
            Err(_) => false,
        }
    }

    /// Give a permit back (to the oldest waiter, if any). Errs, changing nothing, when every
    /// permit is already back: that would raise the count past `n`.
    ///
    /// ```
    /// let sem = corio_runtime::sync::BoundedSemaphore::new(1);
    /// assert!(sem.try_acquire());
    /// assert!(sem.release().is_ok());
    /// assert!(sem.release().is_err());
    /// ```
    pub fn release(&self) -> Result<(), ReleaseError> {
        let held = self.held.get();
        if held == 0 {
            return Err(ReleaseError(()));
        }
        self.held.set(held - 1);
        self.sem.add_permits(1);
        Ok(())
    }

    /// Permits free right now.
    ///
    /// ```
    /// let sem = corio_runtime::sync::BoundedSemaphore::new(2);
    /// sem.try_acquire();
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn available_permits(&self) -> usize {
        self.sem.available_permits()
    }
}

impl fmt::Debug for BoundedSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedSemaphore")
            .field("initial", &self.initial)
            .field("held", &self.held.get())
            .field("semaphore", &self.sem)
            .finish()
    }
}
