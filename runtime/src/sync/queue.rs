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

mod storage;

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

pub use storage::{Fifo, Lifo, MinHeap, Storage};

use super::error::{Closed, TaskDoneError, TryGetError, TryPutError};
use super::waiters::WaiterList;

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
/// must be `Ord`. Put `(priority, data)` tuples to order by priority. All methods are on
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

struct State<T, S> {
    items: S,
    capacity: Option<usize>,
    closed: bool,
    /// Items handed straight to a waiting getter that has not taken them yet. They count
    /// in `len` and against the capacity until taken.
    handed: usize,
    /// Slots reserved for waiting putters that have not inserted yet.
    reserved: usize,
    /// Items put and not yet `task_done`.
    unfinished: usize,
    /// Linked: waiting (only while `items` is empty). Unlinked: handed an item (`Some`) or
    /// woken by `close` (`None`).
    getters: WaiterList<Option<T>>,
    /// Putters in arrival order. Unlike the other lists, a putter stays linked after it
    /// was granted a slot (`granted`), so granted putters always form a prefix and insert
    /// in order: only the head may insert. Emptied by `close`.
    putters: WaiterList<PutSlot>,
    /// The oldest putter not yet granted a slot.
    next_ungranted: Option<usize>,
    /// Tasks in `join`; unlinked when `unfinished` drops to zero.
    joiners: WaiterList<()>,
}

struct PutSlot {
    granted: bool,
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
            state: RefCell::new(State {
                items: S::empty(),
                capacity,
                closed: false,
                handed: 0,
                reserved: 0,
                unfinished: 0,
                getters: WaiterList::new(),
                putters: WaiterList::new(),
                next_ungranted: None,
                joiners: WaiterList::new(),
            }),
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
            queue: self,
            item: Some(item),
            key: None,
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
            queue: self,
            key: None,
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
            queue: self,
            key: None,
        }
        .await
    }

    /// Close the queue: putters (waiting or later) fail with their item handed back;
    /// getters take what is left, then get `None` (`try_get`: [`TryGetError::Closed`]).
    /// Closing twice does nothing.
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

impl<T, S: Storage<T>> State<T, S> {
    fn len(&self) -> usize {
        self.items.len() + self.handed
    }

    /// Slots neither filled, handed out nor reserved.
    fn free_slots(&self) -> usize {
        match self.capacity {
            None => usize::MAX,
            Some(cap) => cap.saturating_sub(self.items.len() + self.handed + self.reserved),
        }
    }

    /// May a new putter insert right now without overtaking anyone?
    fn has_room_now(&self) -> bool {
        self.putters.is_empty() && self.free_slots() > 0
    }

    /// Insert `item` into a slot the caller has accounted for: straight to the oldest
    /// waiting getter if there is one, else into storage.
    fn insert(&mut self, item: T, wake: &mut ToWake) {
        self.unfinished += 1;
        self.give(item, wake);
    }

    /// Hand `item` to the oldest waiting getter, or store it.
    fn give(&mut self, item: T, wake: &mut ToWake) {
        match self.getters.pop_front() {
            Some(key) => {
                *self.getters.data_mut(key) = Some(item);
                self.handed += 1;
                wake.push(self.getters.take_waker(key));
            }
            None => self.items.push(item),
        }
    }

    /// Take the next stored item; its slot goes to the oldest waiting putter.
    fn take(&mut self, wake: &mut ToWake) -> Option<T> {
        let item = self.items.pop()?;
        self.grant_putters(wake);
        Some(item)
    }

    /// Reserve free slots for waiting putters, oldest first. Only the head putter may
    /// insert, so only it needs waking.
    fn grant_putters(&mut self, wake: &mut ToWake) {
        // Test the (usually empty) putter list first: it is the cheaper check.
        while let Some(key) = self.next_ungranted {
            if self.free_slots() == 0 {
                break;
            }
            self.putters.data_mut(key).granted = true;
            self.reserved += 1;
            self.next_ungranted = self.putters.next(key);
            if self.putters.front() == Some(key) {
                wake.push(self.putters.take_waker(key));
            }
        }
    }

    /// The head putter changed: if it holds a slot, it may insert now.
    fn wake_head_putter(&mut self, wake: &mut ToWake) {
        if let Some(head) = self.putters.front() {
            if self.putters.data(head).granted {
                wake.push(self.putters.take_waker(head));
            }
        }
    }
}

/// Wakers picked while the state was borrowed, woken after the borrow ends. Queue
/// operations wake at most two tasks (a getter and the head putter), so this does not
/// allocate; `rest` is only a safety net.
#[derive(Default)]
struct ToWake {
    first: Option<Waker>,
    second: Option<Waker>,
    rest: Option<Vec<Waker>>,
}

impl ToWake {
    #[inline(always)]
    fn push(&mut self, waker: Option<Waker>) {
        let Some(waker) = waker else { return };
        if self.first.is_none() {
            self.first = Some(waker);
        } else if self.second.is_none() {
            self.second = Some(waker);
        } else {
            self.rest.get_or_insert_with(Vec::new).push(waker);
        }
    }

    /// Plain branches, not an iterator chain: this runs on every queue operation, and the
    /// common case (nobody to wake) must cost a single test.
    #[inline(always)]
    fn wake_all(self) {
        let Some(first) = self.first else { return };
        first.wake();
        if let Some(second) = self.second {
            second.wake();
        }
        for waker in self.rest.into_iter().flatten() {
            waker.wake();
        }
    }
}

/// The pending part of [`GenericQueue::put`]: keeps the item until it is inserted.
struct Put<'a, T, S: Storage<T>> {
    queue: &'a GenericQueue<T, S>,
    item: Option<T>,
    key: Option<usize>,
}

// `item` is never pinned: it is moved out by value when the put completes.
impl<T, S: Storage<T>> Unpin for Put<'_, T, S> {}

impl<T, S: Storage<T>> Future for Put<'_, T, S> {
    type Output = Result<(), Closed<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let item = &mut this.item;
        let key = &mut this.key;
        this.queue.update(|s, wake| {
            let taken = |item: &mut Option<T>| item.take().expect("Put polled after completion");
            match *key {
                None if s.closed => Poll::Ready(Err(Closed(taken(item)))),
                None if s.has_room_now() => {
                    s.insert(taken(item), wake);
                    Poll::Ready(Ok(()))
                }
                None => {
                    let k = s.putters.push_back(PutSlot { granted: false }, cx.waker());
                    if s.next_ungranted.is_none() {
                        s.next_ungranted = Some(k);
                    }
                    *key = Some(k);
                    Poll::Pending
                }
                Some(k) if s.closed => {
                    // `close` unlinked us; reservations were cleared with it.
                    s.putters.remove(k);
                    *key = None;
                    Poll::Ready(Err(Closed(taken(item))))
                }
                Some(k) if s.putters.data(k).granted && s.putters.front() == Some(k) => {
                    s.putters.remove(k);
                    *key = None;
                    s.reserved -= 1;
                    s.insert(taken(item), wake);
                    s.wake_head_putter(wake);
                    Poll::Ready(Ok(()))
                }
                Some(k) => {
                    // Still waiting for a slot, or granted but behind an older granted putter.
                    s.putters.set_waker(k, cx.waker());
                    Poll::Pending
                }
            }
        })
    }
}

impl<T, S: Storage<T>> Drop for Put<'_, T, S> {
    fn drop(&mut self) {
        let Some(key) = self.key else { return };
        self.queue.update(|s, wake| {
            if s.closed {
                s.putters.remove(key);
                return;
            }
            if s.next_ungranted == Some(key) {
                s.next_ungranted = s.putters.next(key);
            }
            let was_head = s.putters.front() == Some(key);
            if s.putters.remove(key).granted {
                // Our reserved slot passes to the next waiting putter; our item is dropped
                // with us, never inserted.
                s.reserved -= 1;
                s.grant_putters(wake);
            }
            if was_head {
                s.wake_head_putter(wake);
            }
        });
    }
}

/// The pending part of [`GenericQueue::get`].
struct Get<'a, T, S: Storage<T>> {
    queue: &'a GenericQueue<T, S>,
    key: Option<usize>,
}

impl<T, S: Storage<T>> Future for Get<'_, T, S> {
    type Output = Option<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = &mut *self;
        let key = &mut this.key;
        this.queue.update(|s, wake| match *key {
            None => {
                if let Some(item) = s.take(wake) {
                    return Poll::Ready(Some(item));
                }
                if s.closed {
                    return Poll::Ready(None);
                }
                *key = Some(s.getters.push_back(None, cx.waker()));
                Poll::Pending
            }
            Some(k) if s.getters.is_linked(k) => {
                s.getters.set_waker(k, cx.waker());
                Poll::Pending
            }
            Some(k) => {
                *key = None;
                match s.getters.remove(k) {
                    Some(item) => {
                        // The item leaves the queue now: its slot frees up.
                        s.handed -= 1;
                        s.grant_putters(wake);
                        Poll::Ready(Some(item))
                    }
                    // Woken by `close` with nothing left for us.
                    None => Poll::Ready(None),
                }
            }
        })
    }
}

impl<T, S: Storage<T>> Drop for Get<'_, T, S> {
    fn drop(&mut self) {
        let Some(key) = self.key else { return };
        self.queue.update(|s, wake| {
            if let Some(item) = s.getters.remove(key) {
                // Handed an item we will never take: the next getter gets it, or it goes
                // back into storage. `unfinished` already counts it.
                s.handed -= 1;
                if s.getters.is_empty() {
                    s.items.restore(item);
                } else {
                    s.give(item, wake);
                }
            }
        });
    }
}

/// The pending part of [`GenericQueue::join`].
struct Join<'a, T, S: Storage<T>> {
    queue: &'a GenericQueue<T, S>,
    key: Option<usize>,
}

impl<T, S: Storage<T>> Future for Join<'_, T, S> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let key = &mut this.key;
        this.queue.update(|s, _| match *key {
            None if s.unfinished == 0 => Poll::Ready(()),
            None => {
                *key = Some(s.joiners.push_back((), cx.waker()));
                Poll::Pending
            }
            Some(k) if s.joiners.is_linked(k) => {
                s.joiners.set_waker(k, cx.waker());
                Poll::Pending
            }
            Some(k) => {
                s.joiners.remove(k);
                *key = None;
                Poll::Ready(())
            }
        })
    }
}

impl<T, S: Storage<T>> Drop for Join<'_, T, S> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            self.queue.state.borrow_mut().joiners.remove(key);
        }
    }
}
