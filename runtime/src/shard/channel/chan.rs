//! The state a channel's senders and its receiver share, and the moves on it.
//!
//! One `Mutex` guards the queue, the receiver's waker and the waiting senders; no user code
//! runs under it (items are moved, never dropped, under the lock, and wakers are woken after
//! it is released). The receiver drains the whole queue per lock into a batch of its own
//! (a `VecDeque` swap: no copy, no allocation once warm), so the lock is taken once per
//! burst on the receiving side, not once per item.
//!
//! Room in a bounded channel is counted as `sent - received`: `Inner::sent` counts slots
//! taken by senders (items queued, in the receiver's batch, or reserved for a sender that
//! was granted a slot and has not inserted yet), raised under the lock; `Chan::received`
//! counts slots the receiver gave back, raised without the lock in steps of `release_step`
//! items handed out (an eighth of the capacity) and whenever its batch runs dry. So a send
//! does no atomic read-modify-write besides the lock (it only reads `received`, a line that
//! changes once per step), a producer that keeps the channel full is woken once per step,
//! not once per item, and no slot stays held while the receiver waits. A
//! sender that finds no room parks in `waiting` (FIFO; the sync primitives' waiter-slot
//! protocol), and a freed slot is *granted* to the oldest one — `sent` stays up, the slot
//! is now reserved for it — so a newcomer can never overtake a waiting sender. The receiver
//! takes the lock to grant only when `has_waiters` says somebody waits: see `release_slots`
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
    /// Bounded only: slots the receiver gave back, ever (see above; wraps).
    received: AtomicUsize,
    /// How many handed-out items the receiver gives back at once (see above).
    pub(super) release_step: usize,
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
    /// Bounded only: slots senders took, ever (see above; wraps).
    sent: usize,
}

/// A waiting sender's node. Linked: `Waiting`. Unlinked: `Slot` (a slot is reserved for it)
/// or `Closed` (the receiver closed the channel).
pub(crate) enum Grant {
    Waiting,
    Slot,
    Closed,
}

/// Wakers picked under the lock, woken once it is released. Most moves wake at most one
/// task, so the first needs no allocation, and most wake none: that case is one test
/// (inlined, no `Vec` to drop; `rest` is only filled after `first`).
#[derive(Default)]
pub(super) struct ToWake {
    first: Option<Waker>,
    rest: Option<Vec<Waker>>,
}

impl ToWake {
    #[inline(always)]
    pub(super) fn push(&mut self, waker: Option<Waker>) {
        let Some(waker) = waker else { return };
        if self.first.is_none() {
            self.first = Some(waker);
        } else {
            self.rest.get_or_insert_with(Vec::new).push(waker);
        }
    }

    #[inline(always)]
    pub(super) fn wake_all(self) {
        let Some(first) = self.first else { return };
        first.wake();
        if let Some(rest) = self.rest {
            rest.into_iter().for_each(Waker::wake);
        }
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
                sent: 0,
            }),
            capacity,
            received: AtomicUsize::new(0),
            release_step: capacity.map_or(usize::MAX, |cap| (cap / 8).max(1)),
            has_waiters: AtomicBool::new(false),
            senders: AtomicUsize::new(1),
        }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        // No user code runs under the lock, so a poisoned lock still holds consistent data.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Slots taken and not given back (under the lock). The receiver may give more back
    /// right after we look, which only adds room.
    fn occupied(&self, inner: &Inner<T>) -> usize {
        inner.sent.wrapping_sub(self.received.load(SeqCst))
    }

    /// Is there room for a sender that arrives now (without overtaking a waiting one)?
    /// Call under the lock; takes the slot if so.
    #[inline]
    pub(super) fn take_slot(&self, inner: &mut Inner<T>) -> bool {
        let Some(cap) = self.capacity else {
            return true;
        };
        if inner.waiting.is_empty() && self.occupied(inner) < cap {
            inner.sent = inner.sent.wrapping_add(1);
            true
        } else {
            false
        }
    }

    /// Give back a slot a sender took but will not fill (under the lock).
    pub(super) fn untake_slot(&self, inner: &mut Inner<T>) {
        inner.sent = inner.sent.wrapping_sub(1);
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
        // SeqCst store, then SeqCst load of `received` in `grant_waiters`: pairs with the
        // receiver's SeqCst `fetch_add` then load of `has_waiters` in `release_slots`.
        self.has_waiters.store(true, SeqCst);
        self.grant_waiters(inner, wake);
    }

    /// Grant free slots to the oldest waiting senders (under the lock).
    pub(super) fn grant_waiters(&self, inner: &mut Inner<T>, wake: &mut ToWake) {
        let cap = self.capacity.unwrap_or(usize::MAX);
        while self.occupied(inner) < cap {
            let Some(key) = inner.waiting.pop_front() else {
                break;
            };
            inner.sent = inner.sent.wrapping_add(1);
            *inner.waiting.data_mut(key) = Grant::Slot;
            wake.push(inner.waiting.take_waker(key));
        }
        if inner.waiting.is_empty() {
            self.has_waiters.store(false, SeqCst);
        }
    }

    /// The receiver handed `n` items out: free their slots, granting them to waiting senders.
    ///
    /// Without the lock in the common case. A sender parking at the same moment cannot be
    /// missed: it stores `has_waiters` and then reads `received`, we raise `received` and then read
    /// `has_waiters` (all SeqCst), so either we see its flag and grant under the lock, or it
    /// sees the freed slots and takes one itself.
    #[inline]
    pub(super) fn release_slots(&self, n: usize) {
        if self.capacity.is_none() {
            return;
        }
        self.received.fetch_add(n, SeqCst);
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
                self.untake_slot(&mut inner);
                self.grant_waiters(&mut inner, &mut wake);
            }
            wake.wake_all();
        }
    }
}
