//! `shard::channel`: a multi-producer, single-consumer channel between loops and threads.
//!
//! Senders are `Clone + Send + Sync`; the receiver is `Send`. Everything the `sync`
//! primitives promise holds here too, across threads:
//!
//! * **FIFO.** Items from one sender arrive in the order it sent them; senders waiting for
//!   room in a bounded channel are granted it in arrival order, and a newcomer (even a
//!   `try_send`) never overtakes one that waits.
//! * **Cancel-safe.** A dropped `send` delivered its item or drops it, never both; a slot
//!   granted to it goes to the next waiting sender. A dropped `recv` loses no item.
//! * **Cooperative.** `send` and `recv` draw from the task's budget when they complete.
//! * **One wake per burst.** The first send into an empty channel takes the parked
//!   receiver's waker out; the sends after it find none, so a burst of 1,000 sends from
//!   another thread costs the receiver's loop one wake-up (one `mio::Waker` write), not 1,000.
//!
//! Built on one `Mutex` (see `chan.rs`): a send locks once; the receiver takes the whole
//! queue per lock.

mod chan;
mod error;
mod receiver;
mod sender;

use std::collections::VecDeque;
use std::sync::Arc;

pub use error::{TryRecvError, TrySendError};
pub use receiver::Receiver;
pub use sender::Sender;

/// A channel holding at most `capacity` items: `send` waits (and `try_send` fails with
/// `Full`) while it is full. Items count until they are received, and the receiver gives
/// their room back in steps of `capacity / 8` (or as soon as it has received everything
/// queued), so a fast producer waiting on a slow receiver is woken once per step.
///
/// # Panics
/// If `capacity` is 0 (use [`unbounded`] for a channel without a bound).
///
/// ```
/// corio_runtime::run(async {
///     let (tx, mut rx) = corio_runtime::shard::channel::<u32>(16);
///     let producer = std::thread::spawn(move || {
///         let rt = corio_runtime::Runtime::new().unwrap(); // another loop, on another thread
///         rt.block_on(async move {
///             for n in 0..1000 {
///                 tx.send(n).await.unwrap();
///             }
///         })
///     });
///     let mut expected = 0;
///     while let Some(n) = rx.recv().await {
///         assert_eq!(n, expected);
///         expected += 1;
///     }
///     producer.join().unwrap();
///     assert_eq!(expected, 1000);
/// });
/// ```
#[track_caller]
pub fn channel<T: Send>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(
        capacity > 0,
        "shard::channel(0): a channel needs room for at least one item; use \
         shard::unbounded() for a channel without a bound"
    );
    with_capacity(Some(capacity))
}

/// A channel without a bound: `send` never waits (memory is the limit).
///
/// ```
/// let (tx, mut rx) = corio_runtime::shard::unbounded();
/// for n in 0..10_000 {
///     tx.try_send(n).unwrap();
/// }
/// assert_eq!(rx.len(), 10_000);
/// assert_eq!(rx.try_recv(), Ok(0));
/// ```
pub fn unbounded<T: Send>() -> (Sender<T>, Receiver<T>) {
    with_capacity(None)
}

fn with_capacity<T>(capacity: Option<usize>) -> (Sender<T>, Receiver<T>) {
    let chan = Arc::new(chan::Chan::new(capacity));
    let receiver = Receiver {
        chan: chan.clone(),
        batch: VecDeque::new(),
        unreleased: 0,
    };
    (Sender { chan }, receiver)
}
