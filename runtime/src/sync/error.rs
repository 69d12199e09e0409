//! The small typed errors of the sync primitives. Each message says what to do next.

use std::error::Error;
use std::fmt;

/// [`Semaphore::acquire`](super::Semaphore::acquire) failed: the semaphore was closed.
///
/// ```
/// corio_runtime::run(async {
///     let sem = corio_runtime::sync::Semaphore::new(1);
///     sem.close();
///     let err = sem.acquire().await.unwrap_err();
///     assert!(err.to_string().contains("closed"));
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcquireError(pub(crate) ());

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "semaphore closed: no more permits will be handed out (stop acquiring; \
             `Semaphore::close` was called)",
        )
    }
}

impl Error for AcquireError {}

/// Why [`Semaphore::try_acquire`](super::Semaphore::try_acquire) returned no permit.
///
/// ```
/// use corio_runtime::sync::{Semaphore, TryAcquireError};
/// let sem = Semaphore::new(0);
/// assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
/// sem.close();
/// assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::Closed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryAcquireError {
    /// Not enough permits are free right now (or earlier waiters are queued for them).
    NoPermits,
    /// The semaphore was closed.
    Closed,
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryAcquireError::NoPermits => {
                "no permits available right now; await `acquire()` to wait for one"
            }
            TryAcquireError::Closed => {
                "semaphore closed: no more permits will be handed out (stop acquiring)"
            }
        })
    }
}

impl Error for TryAcquireError {}

/// [`BoundedSemaphore::release`](super::BoundedSemaphore::release) was called more often
/// than `acquire` (Python's `ValueError: Semaphore released too many times`).
///
/// ```
/// let sem = corio_runtime::sync::BoundedSemaphore::new(1);
/// let err = sem.release().unwrap_err();
/// assert!(err.to_string().contains("released more times"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReleaseError(pub(crate) ());

impl fmt::Display for ReleaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "bounded semaphore released more times than it was acquired (past its initial \
             count); call release() once per successful acquire",
        )
    }
}

impl Error for ReleaseError {}

/// A `put` on a closed queue: the item was not inserted and comes back in `.0`.
///
/// ```
/// corio_runtime::run(async {
///     let q = corio_runtime::sync::Queue::new();
///     q.close();
///     let corio_runtime::sync::Closed(item) = q.put("job").await.unwrap_err();
///     assert_eq!(item, "job");
/// });
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Closed<T>(pub T);

impl<T> Closed<T> {
    /// The item that was not put.
    ///
    /// ```
    /// assert_eq!(corio_runtime::sync::Closed(7).into_inner(), 7);
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for Closed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Closed(..)")
    }
}

impl<T> fmt::Display for Closed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("queue closed: the item was not put and is handed back in the error")
    }
}

impl<T> Error for Closed<T> {}

/// Why [`try_put`](super::GenericQueue::try_put) did not insert; the item comes back.
///
/// ```
/// use corio_runtime::sync::{Queue, TryPutError};
/// let q = Queue::bounded(1);
/// q.try_put(1).unwrap();
/// assert_eq!(q.try_put(2), Err(TryPutError::Full(2)));
/// q.close();
/// assert_eq!(q.try_put(3), Err(TryPutError::Closed(3)));
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TryPutError<T> {
    /// No free slot right now (or earlier putters are queued for the next one).
    Full(T),
    /// The queue was closed.
    Closed(T),
}

impl<T> TryPutError<T> {
    /// The item that was not put.
    ///
    /// ```
    /// let err = corio_runtime::sync::TryPutError::Full("x");
    /// assert_eq!(err.into_inner(), "x");
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            TryPutError::Full(item) | TryPutError::Closed(item) => item,
        }
    }
}

impl<T> fmt::Debug for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryPutError::Full(_) => "Full(..)",
            TryPutError::Closed(_) => "Closed(..)",
        })
    }
}

impl<T> fmt::Display for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryPutError::Full(_) => {
                "queue full: the item is handed back; await `put()` to wait for room"
            }
            TryPutError::Closed(_) => "queue closed: the item is handed back; stop putting",
        })
    }
}

impl<T> Error for TryPutError<T> {}

/// Why [`try_get`](super::GenericQueue::try_get) returned no item.
///
/// ```
/// use corio_runtime::sync::{Queue, TryGetError};
/// let q = Queue::<u8>::new();
/// assert_eq!(q.try_get(), Err(TryGetError::Empty));
/// q.close();
/// assert_eq!(q.try_get(), Err(TryGetError::Closed));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryGetError {
    /// No item right now (or the items present are promised to earlier waiting getters).
    Empty,
    /// The queue was closed and is drained: no item will ever come.
    Closed,
}

impl fmt::Display for TryGetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryGetError::Empty => "queue empty; await `get()` to wait for an item",
            TryGetError::Closed => "queue closed and drained: no more items will come",
        })
    }
}

impl Error for TryGetError {}

/// [`task_done`](super::GenericQueue::task_done) was called more times than items were put
/// (Python's `ValueError: task_done() called too many times`).
///
/// ```
/// let q = corio_runtime::sync::Queue::<u8>::new();
/// let err = q.task_done().unwrap_err();
/// assert!(err.to_string().contains("more times than"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskDoneError(pub(crate) ());

impl fmt::Display for TaskDoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "task_done() called more times than items were put into the queue; call it once \
             per item taken with get()",
        )
    }
}

impl Error for TaskDoneError {}
