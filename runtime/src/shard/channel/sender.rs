//! The sending half: `Sender<T>` (`Clone + Send + Sync`), its `send` future and
//! `send_blocking` for OS threads that run no loop.

use std::fmt;
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

use super::chan::{Chan, Grant, ToWake};
use super::error::TrySendError;
use crate::context;
use crate::coop;
use crate::sync::slot::WaiterSlot;
use crate::sync::waiters::CrossThread;
use crate::sync::Closed;

/// The sending half of a [`channel`](super::channel) or [`unbounded`](super::unbounded)
/// channel. `Clone + Send + Sync`: clone it for every producer, on any thread or loop. When
/// the last one is dropped, the receiver sees the end (`recv` returns `None` once drained).
///
/// ```
/// let (tx, mut rx) = corio_runtime::shard::channel::<&str>(4);
/// let tx2 = tx.clone();
/// std::thread::spawn(move || tx2.send_blocking("from a thread").unwrap())
///     .join()
///     .unwrap();
/// drop(tx);
/// corio_runtime::run(async move {
///     assert_eq!(rx.recv().await, Some("from a thread"));
///     assert_eq!(rx.recv().await, None, "every sender is gone");
/// });
/// ```
pub struct Sender<T> {
    pub(super) chan: Arc<Chan<T>>,
}

impl<T> Sender<T> {
    /// Send `item`, waiting while a bounded channel is full (waiting senders are served in
    /// arrival order). Fails, handing the item back in [`Closed`], once the receiver has
    /// closed the channel or is gone.
    ///
    /// Cancel-safe: a dropped `send` either delivered its item or drops it with itself, never
    /// both, and a slot granted to it passes to the next waiting sender. Draws one unit of the
    /// task's cooperative budget when it completes. The future is `Send` (for `T: Send`).
    ///
    /// ```
    /// corio_runtime::run(async {
    ///     let (tx, mut rx) = corio_runtime::shard::channel(1);
    ///     tx.send(1).await.unwrap();
    ///     let second = corio_runtime::spawn(async move { tx.send(2).await }); // waits: full
    ///     assert_eq!(rx.recv().await, Some(1));
    ///     assert_eq!(rx.recv().await, Some(2));
    ///     second.await.unwrap().unwrap();
    /// });
    /// ```
    // A plain fn returning the future (not `async fn`): one state machine fewer per call.
    #[allow(clippy::manual_async_fn)]
    pub fn send(&self, item: T) -> impl Future<Output = Result<(), Closed<T>>> + '_ {
        Sending {
            slot: WaiterSlot::new(&*self.chan),
            item: Some(item),
        }
    }

    /// Send `item` if that needs no waiting; otherwise it comes back in the error
    /// ([`TrySendError::Full`] while full or while other senders wait for room,
    /// [`TrySendError::Closed`] once the receiver closed the channel or is gone).
    ///
    /// ```
    /// use corio_runtime::shard::{channel, TrySendError};
    /// let (tx, mut rx) = channel(1);
    /// assert_eq!(tx.try_send('a'), Ok(()));
    /// assert_eq!(tx.try_send('b'), Err(TrySendError::Full('b')));
    /// assert_eq!(rx.try_recv(), Ok('a'));
    /// ```
    pub fn try_send(&self, item: T) -> Result<(), TrySendError<T>> {
        let chan = &*self.chan;
        let waker = {
            let mut inner = chan.lock();
            if inner.closed {
                return Err(TrySendError::Closed(item));
            }
            if !chan.take_slot(&mut inner) {
                return Err(TrySendError::Full(item));
            }
            chan.push(&mut inner, item)
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    /// Send `item` from an OS thread that runs no loop, blocking the thread (parked) while
    /// the channel is full. Same order, errors and guarantees as [`send`](Sender::send).
    ///
    /// # Panics
    /// On a thread that is running a corio loop (inside `block_on`): blocking there would
    /// stall every task of that loop — perhaps the very receiver it waits for. Use
    /// `send(item).await` there.
    ///
    /// ```
    /// let (tx, mut rx) = corio_runtime::shard::channel(2);
    /// let producer = std::thread::spawn(move || {
    ///     for n in 0..10 {
    ///         tx.send_blocking(n).unwrap(); // blocks while two are queued
    ///     }
    /// });
    /// let got: Vec<i32> = corio_runtime::run(async move {
    ///     let mut got = Vec::new();
    ///     while let Some(n) = rx.recv().await {
    ///         got.push(n);
    ///     }
    ///     got
    /// });
    /// producer.join().unwrap();
    /// assert_eq!(got, (0..10).collect::<Vec<_>>());
    /// ```
    #[track_caller]
    pub fn send_blocking(&self, item: T) -> Result<(), Closed<T>> {
        assert!(
            context::with_core(|_| ()).is_none(),
            "Sender::send_blocking called on a thread running a corio loop: it would block \
             the loop; use `send(item).await` there"
        );
        let waker = Waker::from(Arc::new(Unpark(thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut sending = pin!(self.send(item));
        loop {
            // Outside a loop no budget applies: this only returns Pending to wait for room.
            if let Poll::Ready(out) = sending.as_mut().poll(&mut cx) {
                return out;
            }
            // A wake before we park leaves the token set: `park` returns at once.
            thread::park();
        }
    }

    /// Has the receiver closed the channel (or been dropped)? Sends fail from then on.
    ///
    /// ```
    /// let (tx, rx) = corio_runtime::shard::unbounded::<u8>();
    /// assert!(!tx.is_closed());
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.chan.lock().closed
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        // Relaxed: a new handle is made from a live one, so the count cannot be at zero.
        self.chan.senders.fetch_add(1, Ordering::Relaxed);
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.chan.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.chan.senders_gone();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("capacity", &self.chan.capacity)
            .field("senders", &self.chan.senders.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Wakes a thread blocked in `send_blocking`.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// The future of [`Sender::send`]: keeps the item until it is queued.
struct Sending<'a, T> {
    // Field order matters: the slot settles before an unsent item is dropped, so the item's
    // own `Drop` runs with the channel consistent and unlocked.
    slot: WaiterSlot<&'a Chan<T>, CrossThread>,
    item: Option<T>,
}

// `item` is never pinned: it is moved out by value when the send completes.
impl<T> Unpin for Sending<'_, T> {}

impl<T> Future for Sending<'_, T> {
    type Output = Result<(), Closed<T>>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Every completed send draws from the task's budget (see `coop`).
        coop::poll_charged(cx, |cx| self.get_mut().poll_uncharged(cx))
    }
}

impl<T> Sending<'_, T> {
    fn poll_uncharged(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Closed<T>>> {
        let chan = self.slot.host();
        let mut wake = ToWake::default();
        let out = {
            let mut inner = chan.lock();
            let inner = &mut *inner;
            let taken = |item: &mut Option<T>| item.take().expect("send polled after completion");
            if self.slot.is_registered() {
                match self.slot.poll_granted(&mut inner.waiting, cx.waker()) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(Grant::Slot) if inner.closed => {
                        // Granted, then closed before we ran: fail like every sender (the
                        // slot is freed; nobody waits for it any more).
                        chan.untake_slot(inner);
                        Poll::Ready(Err(Closed(taken(&mut self.item))))
                    }
                    Poll::Ready(Grant::Slot) => {
                        wake.push(chan.push(inner, taken(&mut self.item)));
                        Poll::Ready(Ok(()))
                    }
                    Poll::Ready(Grant::Closed) => Poll::Ready(Err(Closed(taken(&mut self.item)))),
                    Poll::Ready(Grant::Waiting) => unreachable!("an unlinked sender is granted"),
                }
            } else if inner.closed {
                Poll::Ready(Err(Closed(taken(&mut self.item))))
            } else if chan.take_slot(inner) {
                wake.push(chan.push(inner, taken(&mut self.item)));
                Poll::Ready(Ok(()))
            } else {
                self.slot
                    .register(&mut inner.waiting, Grant::Waiting, cx.waker());
                // May grant us at once (the receiver freed a slot as we parked): we then
                // get our own wake-up and insert on the next poll.
                chan.parked(inner, &mut wake);
                Poll::Pending
            }
        };
        wake.wake_all();
        out
    }
}
