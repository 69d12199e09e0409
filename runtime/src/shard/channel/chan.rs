//! The state a channel's senders and its receiver share, and the moves on it.
//!
//! One `Mutex` guards the queue, the receiver's waker and the waiting senders; no user code
//! runs under it (items are moved, never dropped, under the lock, and wakers are woken after
//! it is released). The receiver drains the whole queue per lock into a batch of its own
//! (a `VecDeque` swap: no copy, no allocation once warm), so the lock is taken once per
//! burst on the receiving side, not once per item.
//!
//! Room in a bounded channel is counted in `len`: items queued, in the receiver's batch, or
//! reserved for a sender that was granted a slot and has not inserted yet. Senders raise it
//! under the lock; the receiver lowers it for each item it hands out without the lock. A
//! sender that finds no room parks in `waiting` (FIFO; the sync primitives' waiter-slot
//! protocol), and a freed slot is *granted* to the oldest one — `len` stays up, the slot is
//! now reserved for it — so a newcomer can never overtake a waiting sender. The receiver
//! takes the lock to grant only when `has_waiters` says somebody waits: see `release_slot`
//! for why that cannot miss a sender parking at the same moment.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Mutex, MutexGuard};
use std::task::Waker;

use crate::sync::slot::WaiterHost;
use crate::sync::waiters::{CrossThread, WaiterList};

pub(super) struct Chan<T> {
    inner: Mutex<Inner<T>>,
    /// `None`: unbounded (no slot accounting at all).
    pub(super) capacity: Option<usize>,
    /// Bounded only: items sent and not yet handed out, plus reserved slots (see above).
    pub(super) len: AtomicUsize,
    /// Bounded only: `waiting` is not empty (it may say so a little longer than true).
    has_waiters: AtomicBool,
    /// Live `Sender`s.
    pub(super) senders: AtomicUsize,
}

pub(super) struct Inner<T> {
    pub(super) queue: VecDeque<T>,
    /// The parked receiver's waker: taken by the first send, so a burst wakes it once.
    pub(super) rx_waker: Option<Waker>,
    /// The receiver called `close` or was dropped: sends fail from now on.
    pub(super) closed: bool,
    /// Every `Sender` is gone: once drained, `recv` returns `None`.
    pub(super) no_senders: bool,
    /// Senders waiting for room.
    pub(super) waiting: WaiterList<Grant, CrossThread>,
}

/// A waiting sender's node. Linked: `Waiting`. Unlinked: `Slot` (a slot is reserved for it)
/// or `Closed` (the receiver closed the channel).
pub(crate) enum Grant {
    Waiting,
    Slot,
    Closed,
}

/// Wakers picked under the lock, woken once it is released. Most moves wake at most one
/// task, so the first needs no allocation.
#[derive(Default)]
pub(super) struct ToWake {
    first: Option<Waker>,
    rest: Vec<Waker>,
}

impl ToWake {
    pub(super) fn push(&mut self, waker: Option<Waker>) {
        let Some(waker) = waker else { return };
        if self.first.is_none() {
            self.first = Some(waker);
        } else {
            self.rest.push(waker);
        }
    }

    pub(super) fn wake_all(self) {
        if let Some(first) = self.first {
            first.wake();
        }
        self.rest.into_iter().for_each(Waker::wake);
    }
}

impl<T> Chan<T> {
    pub(super) fn new(capacity: Option<usize>) -> Chan<T> {
        Chan {
            inner: Mutex::new(Inner {
                queue: VecDeque::new(),
                rx_waker: None,
                closed: false,
                no_senders: false,
                waiting: WaiterList::new(),
            }),
            capacity,
            len: AtomicUsize::new(0),
            has_waiters: AtomicBool::new(false),
            senders: AtomicUsize::new(1),
        }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        // No user code runs under the lock, so a poisoned lock still holds consistent data.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Is there room for a sender that arrives now (without overtaking a waiting one)?
    /// Call under the lock; takes the slot if so.
    pub(super) fn take_slot(&self, inner: &Inner<T>) -> bool {
        let Some(cap) = self.capacity else {
            return true;
        };
        // Only senders raise `len`, and they hold the lock: what we read cannot grow behind
        // our back (the receiver may lower it, which only adds room).
        if inner.waiting.is_empty() && self.len.load(SeqCst) < cap {
            self.len.fetch_add(1, SeqCst);
            true
        } else {
            false
        }
    }

    /// Queue an item whose slot is accounted for and pick the receiver to wake (under the
    /// lock).
    pub(super) fn push(&self, inner: &mut Inner<T>, item: T) -> Option<Waker> {
        inner.queue.push_back(item);
        inner.rx_waker.take()
    }

    /// A sender parked in `waiting` (under the lock): announce it, then look for room once
    /// more — the receiver may have freed a slot without the lock just before.
    pub(super) fn parked(&self, inner: &mut Inner<T>, wake: &mut ToWake) {
        // SeqCst store, then SeqCst load of `len` in `grant_waiters`: pairs with the
        // receiver's SeqCst `fetch_sub` then load of `has_waiters` in `release_slot`.
        self.has_waiters.store(true, SeqCst);
        self.grant_waiters(inner, wake);
    }

    /// Grant free slots to the oldest waiting senders (under the lock).
    pub(super) fn grant_waiters(&self, inner: &mut Inner<T>, wake: &mut ToWake) {
        let cap = self.capacity.unwrap_or(usize::MAX);
        while self.len.load(SeqCst) < cap {
            let Some(key) = inner.waiting.pop_front() else {
                break;
            };
            self.len.fetch_add(1, SeqCst);
            *inner.waiting.data_mut(key) = Grant::Slot;
            wake.push(inner.waiting.take_waker(key));
        }
        if inner.waiting.is_empty() {
            self.has_waiters.store(false, SeqCst);
        }
    }

    /// The receiver handed an item out: free its slot, granting it to a waiting sender.
    ///
    /// Without the lock in the common case. A sender parking at the same moment cannot be
    /// missed: it stores `has_waiters` and then reads `len`, we lower `len` and then read
    /// `has_waiters` (all SeqCst), so either we see its flag and grant under the lock, or it
    /// sees the freed slot and takes it itself.
    #[inline]
    pub(super) fn release_slot(&self) {
        if self.capacity.is_none() {
            return;
        }
        self.len.fetch_sub(1, SeqCst);
        if self.has_waiters.load(SeqCst) {
            self.grant_after_release();
        }
    }

    #[cold]
    fn grant_after_release(&self) {
        let mut wake = ToWake::default();
        self.grant_waiters(&mut self.lock(), &mut wake);
        wake.wake_all();
    }

    /// The receiver closes the channel: waiting senders fail with their items. Returns the
    /// queued items, for the caller to drop (or keep) outside the lock.
    pub(super) fn close(&self, take_items: bool) -> VecDeque<T> {
        let mut wake = ToWake::default();
        let items = {
            let mut inner = self.lock();
            inner.closed = true;
            while let Some(key) = inner.waiting.pop_front() {
                *inner.waiting.data_mut(key) = Grant::Closed;
                wake.push(inner.waiting.take_waker(key));
            }
            self.has_waiters.store(false, SeqCst);
            if take_items {
                std::mem::take(&mut inner.queue)
            } else {
                VecDeque::new()
            }
        };
        wake.wake_all();
        items
    }

    /// The last `Sender` is gone: wake the receiver so it sees the end.
    pub(super) fn senders_gone(&self) {
        let waker = {
            let mut inner = self.lock();
            inner.no_senders = true;
            inner.rx_waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// Waiting senders follow the waiter-slot protocol of `sync` (see `sync/slot.rs`).
impl<T> WaiterHost<CrossThread> for &Chan<T> {
    type Data = Grant;

    fn with_waiters<R>(self, f: impl FnOnce(&mut WaiterList<Grant, CrossThread>) -> R) -> R {
        f(&mut self.lock().waiting)
    }

    fn hand_on(self, grant: Grant) {
        if let Grant::Slot = grant {
            // A slot was reserved for a sender that is gone: the next waiter gets it, or it
            // is free again. The item was never inserted (it is dropped with the future).
            let mut wake = ToWake::default();
            {
                let mut inner = self.lock();
                self.len.fetch_sub(1, SeqCst);
                self.grant_waiters(&mut inner, &mut wake);
            }
            wake.wake_all();
        }
    }
}
