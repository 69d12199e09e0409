//! The pending parts of `put`, `get` and `join`: each owns a [`WaiterSlot`] in one of the
//! queue's lists while it waits, and the list's [`WaiterHost`] settles an unseen grant (an
//! item handed to a getter, a slot reserved for a putter) when the future is dropped.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::state::PutSlot;
use super::storage::Storage;
use super::GenericQueue;
use crate::coop;
use crate::sync::error::Closed;
use crate::sync::slot::{WaiterHost, WaiterSlot};
use crate::sync::waiters::WaiterList;

/// Names one of a queue's three waiter lists for a [`WaiterSlot`]: the lists live together
/// in the queue's `State`, so the host is the queue plus which list.
macro_rules! list_host {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub(super) struct $name<'a, T, S>(pub(super) &'a GenericQueue<T, S>);

        // By hand: derived impls would ask for `T: Copy`.
        impl<T, S> Clone for $name<'_, T, S> {
            fn clone(&self) -> Self {
                *self
            }
        }
        impl<T, S> Copy for $name<'_, T, S> {}
    };
}

list_host!(
    /// The getters: linked while waiting, unlinked when handed an item (`Some`) or woken by
    /// `close` (`None`).
    Getters
);
list_host!(
    /// The putters: they stay linked when granted a slot (see `State::putters`).
    Putters
);
list_host!(
    /// The tasks in `join`.
    Joiners
);

/// The pending part of [`GenericQueue::put`]: keeps the item until it is inserted.
pub(super) struct Put<'a, T, S: Storage<T>> {
    // Field order matters: the slot settles (and wakes) before an unsent item is dropped,
    // so the item's own `Drop` runs with the queue consistent and unborrowed.
    pub(super) slot: WaiterSlot<Putters<'a, T, S>>,
    pub(super) item: Option<T>,
}

// `item` is never pinned: it is moved out by value when the put completes.
impl<T, S: Storage<T>> Unpin for Put<'_, T, S> {}

impl<T, S: Storage<T>> Future for Put<'_, T, S> {
    type Output = Result<(), Closed<T>>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Every completed wait draws from the task's budget (see `coop`).
        coop::poll_charged(cx, |cx| self.poll_uncharged(cx))
    }
}

impl<T, S: Storage<T>> Put<'_, T, S> {
    fn poll_uncharged(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), Closed<T>>> {
        let this = &mut *self;
        let item = &mut this.item;
        let slot = &mut this.slot;
        let taken = |item: &mut Option<T>| item.take().expect("Put polled after completion");
        if slot.key().is_none() {
            let mut s = slot.host().0.state.borrow_mut();
            if s.can_insert_quietly() {
                s.insert_quietly(taken(item));
                return Poll::Ready(Ok(()));
            }
        }
        slot.host().0.update(|s, wake| {
            match slot.key() {
                None if s.closed => Poll::Ready(Err(Closed(taken(item)))),
                None if s.has_room_now() => {
                    s.insert(taken(item), wake);
                    Poll::Ready(Ok(()))
                }
                None => {
                    slot.register(&mut s.putters, PutSlot { granted: false }, cx.waker());
                    if s.next_ungranted.is_none() {
                        s.next_ungranted = slot.key();
                    }
                    Poll::Pending
                }
                Some(_) if s.closed => {
                    // `close` unlinked us; reservations were cleared with it.
                    slot.release(&mut s.putters);
                    Poll::Ready(Err(Closed(taken(item))))
                }
                Some(k) if s.putters.data(k).granted && s.putters.front() == Some(k) => {
                    slot.release(&mut s.putters);
                    s.reserved -= 1;
                    s.insert(taken(item), wake);
                    s.wake_head_putter(wake);
                    Poll::Ready(Ok(()))
                }
                Some(_) => {
                    // Still waiting for a slot, or granted but behind an older granted putter.
                    slot.set_waker(&mut s.putters, cx.waker());
                    Poll::Pending
                }
            }
        })
    }
}

impl<T, S: Storage<T>> WaiterHost for Putters<'_, T, S> {
    type Data = PutSlot;

    fn with_waiters<R>(self, f: impl FnOnce(&mut WaiterList<PutSlot>) -> R) -> R {
        f(&mut self.0.state.borrow_mut().putters)
    }

    fn hand_on(self, _: PutSlot) {
        unreachable!("putters settle in `abandon`: a granted putter stays linked")
    }

    /// Putters have their own grant rule (granted ones stay linked, so only the head
    /// inserts), so they settle here, in one borrow of the state.
    fn abandon(self, key: usize) {
        self.0.update(|s, wake| {
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
pub(super) struct Get<'a, T, S: Storage<T>> {
    pub(super) slot: WaiterSlot<Getters<'a, T, S>>,
}

impl<T, S: Storage<T>> Future for Get<'_, T, S> {
    type Output = Option<T>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        // Every completed wait draws from the task's budget (see `coop`).
        coop::poll_charged(cx, |cx| self.poll_uncharged(cx))
    }
}

impl<T, S: Storage<T>> Get<'_, T, S> {
    fn poll_uncharged(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let slot = &mut self.slot;
        if !slot.is_registered() {
            if let Some(item) = slot.host().0.state.borrow_mut().take_quietly() {
                return Poll::Ready(Some(item));
            }
        }
        slot.host().0.update(|s, wake| {
            if slot.is_registered() {
                return match slot.poll_granted(&mut s.getters, cx.waker()) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(Some(item)) => {
                        // The item leaves the queue now: its slot frees up.
                        s.handed -= 1;
                        s.grant_putters(wake);
                        Poll::Ready(Some(item))
                    }
                    // Woken by `close` with nothing left for us.
                    Poll::Ready(None) => Poll::Ready(None),
                };
            }
            if let Some(item) = s.take(wake) {
                return Poll::Ready(Some(item));
            }
            if s.closed {
                return Poll::Ready(None);
            }
            slot.register(&mut s.getters, None, cx.waker());
            Poll::Pending
        })
    }
}

impl<T, S: Storage<T>> WaiterHost for Getters<'_, T, S> {
    type Data = Option<T>;

    fn with_waiters<R>(self, f: impl FnOnce(&mut WaiterList<Option<T>>) -> R) -> R {
        f(&mut self.0.state.borrow_mut().getters)
    }

    fn hand_on(self, item: Option<T>) {
        // `close` woke us with nothing: nothing to hand on.
        let Some(item) = item else { return };
        self.0.update(|s, wake| {
            // Handed an item we will never take: the next getter gets it, or it goes back
            // into storage. `unfinished` already counts it.
            s.handed -= 1;
            if s.getters.is_empty() {
                s.items.restore(item);
            } else {
                s.give(item, wake);
            }
        });
    }
}

/// The pending part of [`GenericQueue::join`].
pub(super) struct Join<'a, T, S: Storage<T>> {
    pub(super) slot: WaiterSlot<Joiners<'a, T, S>>,
}

impl<T, S: Storage<T>> Future for Join<'_, T, S> {
    type Output = ();

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // Every completed wait draws from the task's budget (see `coop`).
        coop::poll_charged(cx, |cx| self.poll_uncharged(cx))
    }
}

impl<T, S: Storage<T>> Join<'_, T, S> {
    fn poll_uncharged(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let slot = &mut self.slot;
        slot.host().0.update(|s, _| {
            if slot.is_registered() {
                return slot.poll_granted(&mut s.joiners, cx.waker());
            }
            if s.unfinished == 0 {
                return Poll::Ready(());
            }
            slot.register(&mut s.joiners, (), cx.waker());
            Poll::Pending
        })
    }
}

impl<T, S: Storage<T>> WaiterHost for Joiners<'_, T, S> {
    type Data = ();

    fn with_waiters<R>(self, f: impl FnOnce(&mut WaiterList<()>) -> R) -> R {
        f(&mut self.0.state.borrow_mut().joiners)
    }

    fn hand_on(self, (): ()) {
        // Nothing to hand on: the count reaching zero wakes every joiner.
    }
}
