//! The receiving half: `Receiver<T>` (`Send`), `recv`, `try_recv` and `Stream`.

use std::collections::VecDeque;
use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::chan::Chan;
use super::error::TryRecvError;
use crate::coop;

/// Item slots an emptied batch buffer keeps; above this it is freed (like `sync::Queue`).
const SHRINK_ABOVE: usize = 4096;

/// The receiving half of a [`channel`](super::channel) or [`unbounded`](super::unbounded)
/// channel. `Send` (move it to the loop that consumes), not `Clone`: one consumer.
///
/// It takes everything queued in one lock into a batch of its own and hands the batch out
/// without locking, so a burst costs the receiver one lock, and a parked receiver is woken
/// once per burst, not once per item. Dropping it closes the channel (pending and later
/// sends fail with their items) and drops what was queued.
///
/// ```
/// corio_runtime::run(async {
///     let (tx, mut rx) = corio_runtime::shard::unbounded();
///     for n in 0..3 {
///         tx.try_send(n).unwrap();
///     }
///     assert_eq!(rx.len(), 3);
///     assert_eq!(rx.recv().await, Some(0));
///     assert_eq!(rx.try_recv(), Ok(1));
/// });
/// ```
pub struct Receiver<T> {
    pub(super) chan: Arc<Chan<T>>,
    /// Items taken from the shared queue and not handed out yet (oldest first).
    pub(super) batch: VecDeque<T>,
    /// Items handed out whose slots are not given back yet (see `Chan::release_step`).
    pub(super) unreleased: usize,
}

impl<T> Receiver<T> {
    /// Receive the next item, waiting while the channel is empty. `None` once it is drained
    /// and every [`Sender`](super::Sender) is gone (or the channel was
    /// [closed](Receiver::close)).
    ///
    /// Cancel-safe: an item is taken only in the poll that returns it, so a dropped `recv`
    /// loses nothing. Draws one unit of the task's cooperative budget when it completes.
    ///
    /// ```
    /// corio_runtime::run(async {
    ///     let (tx, mut rx) = corio_runtime::shard::channel(4);
    ///     corio_runtime::spawn(async move { tx.send("hi").await.unwrap() });
    ///     assert_eq!(rx.recv().await, Some("hi"));
    ///     assert_eq!(rx.recv().await, None);
    /// });
    /// ```
    pub async fn recv(&mut self) -> Option<T> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Poll for the next item: `Ready(Some(item))`, `Ready(None)` at the end, or `Pending`
    /// with the task's waker registered (for hand-written futures; [`recv`](Receiver::recv)
    /// is this in a future).
    ///
    /// ```
    /// use std::task::{Context, Poll, Waker};
    /// let (tx, mut rx) = corio_runtime::shard::unbounded();
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert_eq!(rx.poll_recv(&mut cx), Poll::Pending);
    /// tx.try_send(5).unwrap();
    /// assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Some(5)));
    /// ```
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        // Every completed receive draws from the task's budget (see `coop`).
        coop::poll_charged(cx, |cx| self.poll_uncharged(cx))
    }

    #[inline]
    fn poll_uncharged(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        if let Some(item) = self.next_in_batch() {
            return Poll::Ready(Some(item));
        }
        {
            let mut inner = self.chan.lock();
            if inner.queue.is_empty() {
                if inner.no_senders || inner.closed {
                    return Poll::Ready(None);
                }
                // Parked until the next send takes this waker out; the sends after it find
                // none and wake nobody.
                match &inner.rx_waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => inner.rx_waker = Some(cx.waker().clone()),
                }
                return Poll::Pending;
            }
            Self::take_queue(&mut self.batch, &mut inner.queue);
        }
        Poll::Ready(self.next_in_batch())
    }

    /// Take the whole shared queue as our batch (ours is empty); the senders get our empty
    /// buffer, and its memory, back — unless a burst grew it large: a drained burst must
    /// not pin its peak memory for the channel's whole life.
    #[inline]
    fn take_queue(batch: &mut VecDeque<T>, queue: &mut VecDeque<T>) {
        if batch.capacity() > SHRINK_ABOVE {
            *batch = VecDeque::new();
        }
        std::mem::swap(queue, batch);
    }

    /// Hand out the oldest item of the batch; its slot is given back with the step's others,
    /// or at once if the batch runs dry (so nothing is held back while we wait).
    #[inline]
    fn next_in_batch(&mut self) -> Option<T> {
        let item = self.batch.pop_front()?;
        self.unreleased += 1;
        if self.unreleased >= self.chan.release_step || self.batch.is_empty() {
            self.chan
                .release_slots(std::mem::take(&mut self.unreleased));
        }
        Some(item)
    }

    /// Receive the next item if one is there, without waiting: [`TryRecvError::Empty`] if
    /// not (senders remain), [`TryRecvError::Closed`] once drained with every sender gone
    /// or the channel closed.
    ///
    /// ```
    /// use corio_runtime::shard::{channel, TryRecvError};
    /// let (tx, mut rx) = channel(2);
    /// tx.try_send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        if let Some(item) = self.next_in_batch() {
            return Ok(item);
        }
        {
            let mut inner = self.chan.lock();
            if inner.queue.is_empty() {
                return Err(if inner.no_senders || inner.closed {
                    TryRecvError::Closed
                } else {
                    TryRecvError::Empty
                });
            }
            Self::take_queue(&mut self.batch, &mut inner.queue);
        }
        self.next_in_batch().ok_or(TryRecvError::Empty)
    }

    /// Close the channel: senders (waiting or later) fail with their items handed back; what
    /// is already queued can still be received, then `recv` returns `None`. A sender that
    /// had been granted room but had not queued its item yet fails too. Closing twice does
    /// nothing.
    ///
    /// ```
    /// let (tx, mut rx) = corio_runtime::shard::unbounded();
    /// tx.try_send(1).unwrap();
    /// rx.close();
    /// assert!(tx.try_send(2).is_err());
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert!(rx.try_recv().is_err());
    /// ```
    pub fn close(&mut self) {
        self.chan.close(false);
    }

    /// Items waiting to be received (queued by senders, or in this receiver's batch).
    ///
    /// ```
    /// let (tx, rx) = corio_runtime::shard::channel(4);
    /// tx.try_send(()).unwrap();
    /// assert_eq!(rx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.batch.len() + self.chan.lock().queue.len()
    }

    /// Nothing waiting to be received.
    ///
    /// ```
    /// let (_tx, rx) = corio_runtime::shard::channel::<u8>(4);
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bound of a [`channel`](super::channel), `None` for an
    /// [`unbounded`](super::unbounded) one (like `sync::Queue::capacity`).
    ///
    /// ```
    /// assert_eq!(corio_runtime::shard::channel::<u8>(8).1.capacity(), Some(8));
    /// assert_eq!(corio_runtime::shard::unbounded::<u8>().1.capacity(), None);
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        self.chan.capacity
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        // Queued items are dropped here, outside the lock (their `Drop` may do anything).
        drop(self.chan.close(true));
    }
}

// Items are never pinned: they are moved out by value.
impl<T> Unpin for Receiver<T> {}

impl<T> futures_core::Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().poll_recv(cx)
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("len", &self.len())
            .field("capacity", &self.chan.capacity)
            .finish_non_exhaustive()
    }
}
