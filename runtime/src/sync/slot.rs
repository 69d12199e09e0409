//! The one waiter protocol every primitive follows: a [`WaiterSlot`] owns a pending future's
//! place in a [`WaiterList`] from its first `Pending` poll until it has seen its outcome.
//!
//! ```text
//!   poll #1, must wait ──register──► linked (waiting) ──granter unlinks──► granted, unseen
//!                                      │  ▲ re-poll: waker refreshed        │
//!                                      │  └─────────── Pending              ├─ re-poll: slot freed,
//!                                      │                                    │  Ready(data)
//!                                      └─ dropped: unlinked and freed,       └─ dropped: freed, and the
//!                                         host.left_waiting()                   grant goes on: host.hand_on(data)
//! ```
//!
//! A granter (unlock, `add_permits`, `set`, `notify`, a `put` meeting a waiting getter)
//! unlinks the oldest waiter, writes what it granted into the waiter's data and takes its
//! waker out to wake once its borrow is released; the slot's owner observes the grant on its
//! next poll ([`WaiterSlot::poll_granted`]). If the owner is dropped first, the slot's `Drop`
//! frees the place and, for a grant it never saw, calls the primitive's
//! [`WaiterHost::hand_on`] — the lock goes to the next waiter, the permits back to the pool,
//! the `notify_one` to the next waiter, the item to the next getter — *after* releasing the
//! list's borrow, so a hand-on that wakes or re-borrows is safe. That is what makes every
//! primitive cancel-safe, and it is written once, here.
//!
//! The uncontended fast paths never create a slot entry: a future that completes on its
//! first poll only holds an empty `WaiterSlot` (its `Drop` is one test).

use std::marker::PhantomData;
use std::task::{Poll, Waker};

use super::waiters::{LocalOnly, WaiterList};

/// A primitive's side of the protocol, implemented on a `Copy` handle (`&Lock`, or a small
/// wrapper naming one of a queue's lists) that a [`WaiterSlot`] keeps for its `Drop`. `Th`
/// is the list's thread marker (see `waiters`): the loop-local primitives leave it at its
/// default; the shard channel's list is `CrossThread`.
pub(crate) trait WaiterHost<Th = LocalOnly>: Copy {
    /// What each waiter's node holds: the request, then what was granted to it.
    type Data;

    /// Run `f` on the waiter list, borrowed (the only borrow in force while `f` runs).
    fn with_waiters<R>(self, f: impl FnOnce(&mut WaiterList<Self::Data, Th>) -> R) -> R;

    /// A waiter was granted something (unlinked, `data` as the granter left it) but was
    /// dropped before it saw it: pass the grant on. Called with no borrow held.
    fn hand_on(self, data: Self::Data);

    /// A waiter that was still waiting was dropped (its place is already gone). Most
    /// primitives have nothing to do; the default does nothing.
    #[inline]
    fn left_waiting(self) {}

    /// A registered slot is dropped before it observed its outcome. The default is the
    /// protocol above; a list with its own grant rule (the queue's putters, which stay
    /// linked once granted so they insert in order) overrides it.
    fn abandon(self, key: usize) {
        let (granted, data) = self.with_waiters(|list| {
            let granted = !list.is_linked(key);
            (granted, list.remove(key))
        });
        if granted {
            self.hand_on(data);
        } else {
            self.left_waiting();
        }
    }
}

/// One pending future's place in its primitive's waiter list (see the module docs).
pub(crate) struct WaiterSlot<H: WaiterHost<Th>, Th = LocalOnly> {
    host: H,
    /// `Some` from `register` until the outcome was observed (or the slot released).
    key: Option<usize>,
    _thread: PhantomData<Th>,
}

impl<H: WaiterHost<Th>, Th> WaiterSlot<H, Th> {
    /// A slot not in any list yet.
    #[inline]
    pub(crate) const fn new(host: H) -> Self {
        WaiterSlot {
            host,
            key: None,
            _thread: PhantomData,
        }
    }

    /// The primitive this slot belongs to.
    #[inline]
    pub(crate) fn host(&self) -> H {
        self.host
    }

    /// Does it hold a place in the list (registered, outcome not observed yet)?
    #[inline]
    pub(crate) fn is_registered(&self) -> bool {
        self.key.is_some()
    }

    /// Its key in the list, while registered.
    #[inline]
    pub(crate) fn key(&self) -> Option<usize> {
        self.key
    }

    /// Park at the back of `list` (the first poll that has to wait). `list` must be the
    /// host's list, borrowed by the caller.
    #[inline]
    pub(crate) fn register(
        &mut self,
        list: &mut WaiterList<H::Data, Th>,
        data: H::Data,
        waker: &Waker,
    ) {
        debug_assert!(self.key.is_none(), "a waiter slot registered twice");
        self.key = Some(list.push_back(data, waker));
    }

    /// A re-poll of a registered slot: `Pending` (with the waker refreshed) while it is
    /// still waiting; once a granter has unlinked it, frees the place and returns the data
    /// the granter left.
    #[inline]
    pub(crate) fn poll_granted(
        &mut self,
        list: &mut WaiterList<H::Data, Th>,
        waker: &Waker,
    ) -> Poll<H::Data> {
        let key = self
            .key
            .expect("poll_granted on an unregistered waiter slot");
        if list.is_linked(key) {
            list.set_waker(key, waker);
            return Poll::Pending;
        }
        self.key = None;
        Poll::Ready(list.remove(key))
    }

    /// Refresh the waker of a registered slot (for lists with their own grant rule).
    #[inline]
    pub(crate) fn set_waker(&self, list: &mut WaiterList<H::Data, Th>, waker: &Waker) {
        if let Some(key) = self.key {
            list.set_waker(key, waker);
        }
    }

    /// Free the place with nothing handed on: the owner has observed its outcome by the
    /// list's own rule. Returns the data.
    #[inline]
    pub(crate) fn release(&mut self, list: &mut WaiterList<H::Data, Th>) -> Option<H::Data> {
        self.key.take().map(|key| list.remove(key))
    }
}

impl<H: WaiterHost<Th>, Th> Drop for WaiterSlot<H, Th> {
    #[inline]
    fn drop(&mut self) {
        // Inlined fast path: a future that completed (or never waited) holds no place.
        if let Some(key) = self.key {
            self.host.abandon(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::{Cell, RefCell};

    /// A toy host: counts hand-ons and departures.
    struct Toy {
        list: RefCell<WaiterList<u32>>,
        handed_on: Cell<Option<u32>>,
        left: Cell<u32>,
    }

    impl WaiterHost for &Toy {
        type Data = u32;
        fn with_waiters<R>(self, f: impl FnOnce(&mut WaiterList<u32>) -> R) -> R {
            f(&mut self.list.borrow_mut())
        }
        fn hand_on(self, data: u32) {
            // No borrow is held here: re-borrowing must not panic.
            let _ = self.list.borrow_mut().len();
            self.handed_on.set(Some(data));
        }
        fn left_waiting(self) {
            self.left.set(self.left.get() + 1);
        }
    }

    fn toy() -> Toy {
        Toy {
            list: RefCell::new(WaiterList::new()),
            handed_on: Cell::new(None),
            left: Cell::new(0),
        }
    }

    #[test]
    fn a_granted_slot_reports_its_data_once_and_frees_its_place() {
        let host = toy();
        let waker = Waker::noop();
        let mut slot = WaiterSlot::new(&host);
        slot.register(&mut host.list.borrow_mut(), 1, waker);
        assert!(slot
            .poll_granted(&mut host.list.borrow_mut(), waker)
            .is_pending());
        {
            let mut list = host.list.borrow_mut();
            let key = list.pop_front().unwrap();
            *list.data_mut(key) = 9;
        }
        assert_eq!(
            slot.poll_granted(&mut host.list.borrow_mut(), waker),
            Poll::Ready(9)
        );
        assert!(!slot.is_registered());
        drop(slot);
        assert_eq!(
            host.handed_on.get(),
            None,
            "an observed grant is not handed on"
        );
        assert_eq!(host.left.get(), 0);
    }

    #[test]
    fn a_dropped_slot_hands_an_unseen_grant_on_and_a_waiting_one_just_leaves() {
        let host = toy();
        let waker = Waker::noop();
        let mut granted = WaiterSlot::new(&host);
        let mut waiting = WaiterSlot::new(&host);
        granted.register(&mut host.list.borrow_mut(), 1, waker);
        waiting.register(&mut host.list.borrow_mut(), 2, waker);
        host.list.borrow_mut().pop_front();
        drop(granted);
        assert_eq!(host.handed_on.get(), Some(1));
        drop(waiting);
        assert_eq!(host.left.get(), 1);
        assert!(host.list.borrow().is_empty());
        assert_eq!(
            format!("{:?}", host.list.borrow()),
            "WaiterList { waiting: 0, slots: 0 }"
        );
    }
}
