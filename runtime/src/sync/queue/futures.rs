//! The pending parts of `put`, `get` and `join`: each owns a waiter slot while it waits and
//! settles its grant (an item handed to it, a slot reserved for it) when dropped.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::state::PutSlot;
use super::storage::Storage;
use super::GenericQueue;
use crate::coop;
use crate::sync::error::Closed;

/// The pending part of [`GenericQueue::put`]: keeps the item until it is inserted.
pub(super) struct Put<'a, T, S: Storage<T>> {
    pub(super) queue: &'a GenericQueue<T, S>,
    pub(super) item: Option<T>,
    pub(super) key: Option<usize>,
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
pub(super) struct Get<'a, T, S: Storage<T>> {
    pub(super) queue: &'a GenericQueue<T, S>,
    pub(super) key: Option<usize>,
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
pub(super) struct Join<'a, T, S: Storage<T>> {
    pub(super) queue: &'a GenericQueue<T, S>,
    pub(super) key: Option<usize>,
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
