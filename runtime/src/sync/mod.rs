//! Sync primitives for tasks on one loop: Event, Lock, RLock, Semaphore, BoundedSemaphore,
//! Condition, Barrier and the Queue family.
//!
//! They are `!Send` plain structs built on `Cell`/`RefCell` and waiter lists — no atomics,
//! no OS locks. Share them between tasks with `Rc`. The one exception is
//! [`CancellationToken`], which exists to cross threads (one token stops every shard): it is
//! a `Clone + Send + Sync` handle on an atomic flag and a mutex-guarded waiter list.
//!
//! # The contract they all keep
//!
//! * **FIFO-fair.** Waiters are served in arrival order, and a grant (the lock, permits, a
//!   queue slot or item) is handed *directly* to the oldest waiter, so a newcomer — even a
//!   `try_` call — never barges in ahead of someone already waiting.
//! * **Cancel-safe.** Every async method may be dropped at any `.await` point (for example by
//!   `time::timeout`, or by aborting the task) and nothing is lost: a waiter that had not
//!   been granted anything just leaves the queue; one that had been granted something and
//!   never saw it passes it on to the next waiter (a lock, permits, a `notify_one`
//!   notification, a reserved queue slot, an item handed to a getter).
//! * **`!Send` and `!Sync`.** They live on the loop's thread; share them with `Rc`.
//!   ```compile_fail
//!   fn needs_send<T: Send>(_: T) {}
//!   needs_send(corio_runtime::sync::Queue::<u8>::new());
//!   ```
//! * **No allocation on the fast path.** An operation that does not have to wait touches
//!   only a few `Cell`s; waiter slots live in a slab that is reused once it has grown.
//!
//! | Python (`threading`, `queue`) | corio |
//! |---|---|
//! | `Event` set/clear/wait/is_set | [`Event`] |
//! | `Lock`, `RLock` | [`Lock<T>`] + [`LockGuard`], [`RLock<T>`] + [`RLockGuard`] |
//! | `Semaphore(n)`, `BoundedSemaphore(n)` | [`Semaphore`] + [`Permit`], [`BoundedSemaphore`] |
//! | `Condition` wait/notify(n)/notify_all | [`Condition`] with a [`Lock`] guard |
//! | `Barrier(n)` | [`Barrier`] |
//! | `Queue`, `LifoQueue`, `PriorityQueue`; `put_nowait`/`get_nowait`; `task_done`/`join` | [`Queue`], [`LifoQueue`], [`PriorityQueue`]; `try_put`/`try_get`; the same |
//! | `get(timeout=1)` | `time::timeout(Duration::from_secs(1), q.get())` |
//!
//! ```
//! use std::{rc::Rc, time::Duration};
//! use corio_runtime::sync::{Event, Queue};
//! corio_runtime::run(async {
//!     let (q, done) = (Rc::new(Queue::bounded(4)), Rc::new(Event::new()));
//!     let consumer = corio_runtime::spawn({
//!         let (q, done) = (q.clone(), done.clone());
//!         async move {
//!             let mut sum = 0;
//!             while let Some(n) = q.get().await {
//!                 sum += n;
//!             }
//!             done.set();
//!             sum
//!         }
//!     });
//!     for n in 1..=10 {
//!         q.put(n).await.unwrap();
//!     }
//!     q.close();
//!     done.wait().await;
//!     assert_eq!(consumer.await.unwrap(), 55);
//!     assert_eq!(q.get().await, None, "closed and drained");
//!     // Timeouts compose: one that elapses leaves the queue as it was.
//!     let fresh = Queue::<u8>::new();
//!     assert!(corio_runtime::time::timeout(Duration::from_millis(1), fresh.get()).await.is_err());
//!     fresh.try_put(1).unwrap();
//!     assert_eq!(fresh.try_get(), Ok(1));
//! });
//! ```

mod barrier;
mod bounded_semaphore;
mod cancellation;
mod condition;
mod error;
mod event;
mod lock;
pub mod queue;
mod rlock;
mod semaphore;
pub(crate) mod slot;
pub(crate) mod waiters;

pub use barrier::{Barrier, BarrierWaitResult};
pub use bounded_semaphore::BoundedSemaphore;
pub use cancellation::{
    CancellationToken, DropGuard, WaitForCancellation, WaitForCancellationOwned,
};
pub use condition::Condition;
pub use error::{
    AcquireError, Closed, ReleaseError, TaskDoneError, TryAcquireError, TryGetError, TryPutError,
};
pub use event::Event;
pub use lock::{Lock, LockGuard};
pub use queue::{GenericQueue, LifoQueue, PriorityQueue, Queue};
pub use rlock::{RLock, RLockGuard};
pub use semaphore::{Permit, Semaphore};
