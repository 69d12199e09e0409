//! The queue family: [`Queue`] (FIFO), [`LifoQueue`] and [`PriorityQueue`] (smallest first),
//! one implementation, [`GenericQueue`], over three [`Storage`] disciplines.
//!
//! How it stays fair and cancel-safe without moving items around behind anyone's back:
//!
//! * A `put` that finds a getter waiting hands the item *straight to the oldest getter*;
//!   the item still counts in `len()` (and in the capacity) until that getter runs and takes
//!   it. If that getter is dropped first, the item goes to the next waiting getter or back
//!   into storage where the oldest item belongs: a dropped `get` consumes nothing.
//! * A waiting `put` keeps its item. When a slot frees up, the slot is *reserved* for the
//!   oldest waiting putter, which inserts its item when it runs. Reserved putters insert in
//!   arrival order (a reserved putter waits for the reserved putters ahead of it). If one is
//!   dropped first, its slot passes to the next waiting putter and its item is never
//!   inserted: a dropped `put` inserts nothing.
//! * Waiting getters exist only while storage is empty, and nobody takes a fast path past
//!   queued waiters, so getters and putters are each served in arrival order.

mod futures;
mod state;
mod storage;

use std::cell::RefCell;
use std::fmt;
use std::future::Future;

pub use storage::{Fifo, Lifo, MinHeap, Storage};

use super::error::{Closed, TaskDoneError, TryGetError, TryPutError};
use super::slot::WaiterSlot;
use futures::{Get, Getters, Join, Joiners, Put, Putters};
use state::{State, ToWake};

/// A first-in-first-out queue (Python's `queue.Queue`); all methods are on [`GenericQueue`].
///
/// ```
/// use std::rc::Rc;
/// use corio_runtime::sync::Queue;
/// corio_runtime::run(async {
///     let q = Rc::new(Queue::bounded(2));
///     let producer = corio_runtime::spawn({
///         let q = q.clone();
///         async move {
///             for i in 0..5 {
///                 q.put(i).await.unwrap(); // waits while two items are queued
///             }
///             q.close();
///         }
///     });
///     let mut got = Vec::new();
///     while let Some(item) = q.get().await {
///         got.push(item);
///     }
///     producer.await.unwrap();
///     assert_eq!(got, [0, 1, 2, 3, 4]);
/// });
/// ```
pub type Queue<T> = GenericQueue<T, Fifo<T>>;

/// A last-in-first-out queue, a stack (Python's `queue.LifoQueue`); all methods are on
/// [`GenericQueue`].
///
/// ```
/// let q = corio_runtime::sync::LifoQueue::new();
/// for i in 0..3 {
///     q.try_put(i).unwrap();
/// }
/// assert_eq!(q.try_get(), Ok(2));
/// ```
pub type LifoQueue<T> = GenericQueue<T, Lifo<T>>;

/// A queue that hands out its smallest item first (Python's `queue.PriorityQueue`); `T`
/// must be `Ord`. Put `(priority, data)` tuples to order by priority; equal items come out
/// in no particular order (add a sequence number to make ties FIFO). All methods are on
/// [`GenericQueue`].
///
/// ```
/// let q = corio_runtime::sync::PriorityQueue::new();
/// q.try_put((3, "low")).unwrap();
/// q.try_put((1, "urgent")).unwrap();
/// assert_eq!(q.try_get(), Ok((1, "urgent")));
/// ```
pub type PriorityQueue<T> = GenericQueue<T, MinHeap<T>>;

/// The queue behind [`Queue`], [`LifoQueue`] and [`PriorityQueue`]: unbounded or bounded,
/// closable, with Python's `task_done`/`join` accounting. `S` picks the order items come
/// out in.
///
/// Every async method is cancel-safe (see the module docs): dropping a pending `get`
/// consumes nothing, dropping a pending `put` inserts nothing, and both keep their place
/// for the waiters behind them. So timeouts compose: `time::timeout(d, q.get())` that
/// elapses leaves the queue as it was.
///
/// ```
/// use std::time::Duration;
/// use corio_runtime::{sync::Queue, time::timeout};
/// corio_runtime::run(async {
///     let q = Queue::<u32>::new();
///     assert!(timeout(Duration::from_millis(2), q.get()).await.is_err());
///     q.put(1).await.unwrap();
///     assert_eq!(timeout(Duration::from_millis(2), q.get()).await, Ok(Some(1)));
/// });
/// ```
pub struct GenericQueue<T, S> {
    state: RefCell<State<T, S>>,
}
impl<T, S: Storage<T>> GenericQueue<T, S> {
    /// An unbounded queue: `put` never waits.
    ///
    /// ```
    /// let q = corio_runtime::sync::Queue::<String>::new();
    /// assert_eq!(q.capacity(), None);
    /// ```
    pub fn new() -> Self {
        Self::with_capacity(None)
    }

    /// A queue holding at most `maxsize` items: `put` waits while it is full.
    ///
    /// # Panics
    /// If `maxsize` is 0 (Python reads 0 as "unbounded"; here that is [`new`](Self::new)).
    ///
    /// ```
    /// let q = corio_runtime::sync::Queue::bounded(1);
    /// q.try_put('a').unwrap();
    /// assert!(q.is_full());
    /// assert_eq!(q.capacity(), Some(1));
    /// ```
    #[track_caller]
    pub fn bounded(maxsize: usize) -> Self {
        assert!(
            maxsize > 0,
            "Queue::bounded(0): a queue needs room for at least one item; use Queue::new() \
             for an unbounded queue"
        );
        Self::with_capacity(Some(maxsize))
    }

    fn with_capacity(capacity: Option<usize>) -> Self {
        GenericQueue {
            state: RefCell::new(State::new(capacity)),
        }
    }

    /// Put `item` in, waiting while the queue is full (putters are served in arrival
    /// order). On a closed queue it fails at once and the item comes back in [`Closed`].
    ///
    /// ```
    /// corio_runtime::run(async {
    ///     let q = corio_runtime::sync::Queue::new();
    ///     q.put("a").await.unwrap();
    ///     assert_eq!(q.len(), 1);
    /// });
    /// ```
    // A plain fn returning the future (not `async fn`): one state machine fewer per call.
    #[allow(clippy::manual_async_fn)]
    pub fn put(&self, item: T) -> impl Future<Output = Result<(), Closed<T>>> + '_ {
        Put {
            slot: WaiterSlot::new(Putters(self)),
            item: Some(item),
        }
    }

    /// Take the next item, waiting while the queue is empty (getters are served in arrival
    /// order). `None` once the queue is closed and drained.
    ///
    /// ```
    /// corio_runtime::run(async {
    ///     let q = corio_runtime::sync::Queue::new();
    ///     q.put(1).await.unwrap();
    ///     q.close();
    ///     assert_eq!(q.get().await, Some(1), "items left are still handed out");
    ///     assert_eq!(q.get().await, None);
    /// });
    /// ```
    #[allow(clippy::manual_async_fn)]
    pub fn get(&self) -> impl Future<Output = Option<T>> + '_ {
        Get {
            slot: WaiterSlot::new(Getters(self)),
        }
    }

    /// Put `item` in if that needs no waiting (Python's `put_nowait`); otherwise the item
    /// comes back in the error. A queue with putters waiting counts as full.
    ///
    /// ```
    /// use corio_runtime::sync::{Queue, TryPutError};
    /// let q = Queue::bounded(1);
    /// assert_eq!(q.try_put(1), Ok(()));
    /// assert_eq!(q.try_put(2), Err(TryPutError::Full(2)));
    /// ```
    pub fn try_put(&self, item: T) -> Result<(), TryPutError<T>> {
        self.update(|s, wake| {
            if s.closed {
                Err(TryPutError::Closed(item))
            } else if s.has_room_now() {
                s.insert(item, wake);
                Ok(())
            } else {
                Err(TryPutError::Full(item))
            }
        })
    }

    /// Take the next item if one is there for the taking (Python's `get_nowait`). Items
    /// already handed to waiting getters are not.
    ///
    /// ```
    /// use corio_runtime::sync::{Queue, TryGetError};
    /// let q = Queue::new();
    /// q.try_put(5).unwrap();
    /// assert_eq!(q.try_get(), Ok(5));
    /// assert_eq!(q.try_get(), Err(TryGetError::Empty));
    /// ```
    pub fn try_get(&self) -> Result<T, TryGetError> {
        self.update(|s, wake| match s.take(wake) {
            Some(item) => Ok(item),
            None if s.closed => Err(TryGetError::Closed),
            None => Err(TryGetError::Empty),
        })
    }

    /// Items in the queue, including any handed to a waiting getter that has not run yet.
    ///
    /// ```
    /// let q = corio_runtime::sync::LifoQueue::new();
    /// q.try_put(()).unwrap();
    /// assert_eq!(q.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.state.borrow().len()
    }

    /// No items in the queue.
    ///
    /// ```
    /// assert!(corio_runtime::sync::Queue::<u8>::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bounded and without room: a `try_put` now would fail with `Full` (this includes slots
    /// already promised to waiting putters). Always false for an unbounded queue.
    ///
    /// ```
    /// let q = corio_runtime::sync::Queue::bounded(2);
    /// q.try_put(1).unwrap();
    /// assert!(!q.is_full());
    /// q.try_put(2).unwrap();
    /// assert!(q.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        !self.state.borrow().has_room_now()
    }

    /// The `maxsize` of a bounded queue; `None` if unbounded.
    ///
    /// ```
    /// assert_eq!(corio_runtime::sync::PriorityQueue::<u8>::bounded(8).capacity(), Some(8));
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        self.state.borrow().capacity
    }

    /// Tell the queue one item taken with `get` has been processed. When every item ever
    /// put has had its `task_done`, [`join`](Self::join) returns. Calling it more often than
    /// items were put is a [`TaskDoneError`] (and changes nothing).
    ///
    /// ```
    /// let q = corio_runtime::sync::Queue::new();
    /// q.try_put("job").unwrap();
    /// let _job = q.try_get().unwrap();
    /// assert!(q.task_done().is_ok());
    /// assert!(q.task_done().is_err());
    /// ```
    pub fn task_done(&self) -> Result<(), TaskDoneError> {
        let parked = self.update(|s, _| {
            if s.unfinished == 0 {
                return Err(TaskDoneError(()));
            }
            s.unfinished -= 1;
            Ok(if s.unfinished == 0 {
                s.joiners.len()
            } else {
                0
            })
        })?;
        for _ in 0..parked {
            let more = self.update(|s, wake| match s.joiners.pop_front() {
                Some(key) => {
                    wake.push(s.joiners.take_waker(key));
                    true
                }
                None => false,
            });
            if !more {
                break;
            }
        }
        Ok(())
    }

    /// Wait until every item put so far has had its [`task_done`](Self::task_done)
    /// (returns at once if none is pending). Every task waiting in `join` when the count
    /// reaches zero returns, even if new items are put before it runs.
    ///
    /// ```
    /// use std::rc::Rc;
    /// use corio_runtime::sync::Queue;
    /// corio_runtime::run(async {
    ///     let q = Rc::new(Queue::new());
    ///     let worker = corio_runtime::spawn({
    ///         let q = q.clone();
    ///         async move {
    ///             while let Some(_job) = q.get().await {
    ///                 q.task_done().unwrap();
    ///             }
    ///         }
    ///     });
    ///     for job in 0..3 {
    ///         q.put(job).await.unwrap();
    ///     }
    ///     q.join().await; // all three processed
    ///     q.close();
    ///     worker.await.unwrap();
    /// });
    /// ```
    pub async fn join(&self) {
        Join {
            slot: WaiterSlot::new(Joiners(self)),
        }
        .await
    }

    /// Close the queue: putters (waiting or later) fail with their item handed back — a
    /// putter that had a slot reserved but had not inserted yet fails too; getters take what
    /// is left, then get `None` (`try_get`: [`TryGetError::Closed`]). An item already handed
    /// to a waiting getter stays promised to it; if that getter is dropped, the item goes
    /// back into the queue for the next `get`. Closing twice does nothing.
    ///
    /// ```
    /// let q = corio_runtime::sync::Queue::new();
    /// q.try_put(1).unwrap();
    /// q.close();
    /// assert!(q.is_closed());
    /// assert!(q.try_put(2).is_err());
    /// assert_eq!(q.try_get(), Ok(1));
    /// ```
    pub fn close(&self) {
        let first = self.update(|s, _| {
            if s.closed {
                return false;
            }
            s.closed = true;
            // Putters are all about to fail: no slot stays reserved for them.
            s.reserved = 0;
            s.next_ungranted = None;
            true
        });
        if !first {
            return;
        }
        // Wake every waiter, one borrow at a time. Woken getters find the queue closed and
        // empty (getters only wait while it is empty); woken putters fail with their item.
        while self.update(|s, wake| {
            let waker = if let Some(key) = s.getters.pop_front() {
                s.getters.take_waker(key)
            } else if let Some(key) = s.putters.pop_front() {
                s.putters.take_waker(key)
            } else {
                return false;
            };
            wake.push(waker);
            true
        }) {}
    }

    /// Has [`close`](Self::close) been called?
    ///
    /// ```
    /// assert!(!corio_runtime::sync::Queue::<u8>::new().is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.state.borrow().closed
    }

    /// Run `f` on the state, then wake whoever it picked once the borrow is released.
    fn update<R>(&self, f: impl FnOnce(&mut State<T, S>, &mut ToWake) -> R) -> R {
        let mut wake = ToWake::default();
        let out = f(&mut self.state.borrow_mut(), &mut wake);
        wake.wake_all();
        out
    }
}

impl<T, S: Storage<T>> Default for GenericQueue<T, S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, S: Storage<T>> fmt::Debug for GenericQueue<T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.state.borrow();
        f.debug_struct(S::NAME)
            .field("len", &s.len())
            .field("capacity", &s.capacity)
            .field("closed", &s.closed)
            .field("unfinished", &s.unfinished)
            .field("waiting_getters", &s.getters.len())
            .field("waiting_putters", &s.putters.len())
            .finish()
    }
}
