//! The queue's bookkeeping: storage, counters and the three waiter lists, and the moves
//! that keep them consistent (insert, take, grant slots). Callers wake the wakers these
//! moves pick only after releasing the `RefCell` borrow.

use std::task::Waker;

use super::storage::Storage;
use crate::sync::waiters::WaiterList;

pub(super) struct State<T, S> {
    pub(super) items: S,
    pub(super) capacity: Option<usize>,
    pub(super) closed: bool,
    /// Items handed straight to a waiting getter that has not taken them yet. They count
    /// in `len` and against the capacity until taken.
    pub(super) handed: usize,
    /// Slots reserved for waiting putters that have not inserted yet.
    pub(super) reserved: usize,
    /// Items put and not yet `task_done`.
    pub(super) unfinished: usize,
    /// Linked: waiting (only while `items` is empty). Unlinked: handed an item (`Some`) or
    /// woken by `close` (`None`).
    pub(super) getters: WaiterList<Option<T>>,
    /// Putters in arrival order. Unlike the other lists, a putter stays linked after it
    /// was granted a slot (`granted`), so granted putters always form a prefix and insert
    /// in order: only the head may insert. Emptied by `close`.
    pub(super) putters: WaiterList<PutSlot>,
    /// The oldest putter not yet granted a slot.
    pub(super) next_ungranted: Option<usize>,
    /// Tasks in `join`; unlinked when `unfinished` drops to zero.
    pub(super) joiners: WaiterList<()>,
}

pub(super) struct PutSlot {
    pub(super) granted: bool,
}

impl<T, S: Storage<T>> State<T, S> {
    pub(super) fn new(capacity: Option<usize>) -> Self {
        State {
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
        }
    }

    pub(super) fn len(&self) -> usize {
        self.items.len() + self.handed
    }

    /// Slots neither filled, handed out nor reserved.
    pub(super) fn free_slots(&self) -> usize {
        match self.capacity {
            None => usize::MAX,
            Some(cap) => cap.saturating_sub(self.items.len() + self.handed + self.reserved),
        }
    }

    /// May a new putter insert right now without overtaking anyone?
    pub(super) fn has_room_now(&self) -> bool {
        self.putters.is_empty() && self.free_slots() > 0
    }

    /// Would a new putter's insert store its item without waking anyone (open, room, nobody
    /// waiting on either side)? The common case of a busy queue, which `Put` serves without
    /// the waker bookkeeping of `GenericQueue::update`.
    #[inline]
    pub(super) fn can_insert_quietly(&self) -> bool {
        !self.closed && self.getters.is_empty() && self.has_room_now()
    }

    /// Store `item` (after `can_insert_quietly`).
    #[inline]
    pub(super) fn insert_quietly(&mut self, item: T) {
        debug_assert!(self.can_insert_quietly());
        self.unfinished += 1;
        self.items.push(item);
    }

    /// Take the next stored item if that frees a slot nobody waits for (no putter waiting
    /// for a grant), so nobody needs waking.
    #[inline]
    pub(super) fn take_quietly(&mut self) -> Option<T> {
        if self.next_ungranted.is_some() {
            return None;
        }
        self.items.pop()
    }

    /// Insert `item` into a slot the caller has accounted for: straight to the oldest
    /// waiting getter if there is one, else into storage.
    pub(super) fn insert(&mut self, item: T, wake: &mut ToWake) {
        self.unfinished += 1;
        self.give(item, wake);
    }

    /// Hand `item` to the oldest waiting getter, or store it.
    pub(super) fn give(&mut self, item: T, wake: &mut ToWake) {
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
    pub(super) fn take(&mut self, wake: &mut ToWake) -> Option<T> {
        let item = self.items.pop()?;
        self.grant_putters(wake);
        Some(item)
    }

    /// Reserve free slots for waiting putters, oldest first. Only the head putter may
    /// insert, so only it needs waking.
    pub(super) fn grant_putters(&mut self, wake: &mut ToWake) {
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
    pub(super) fn wake_head_putter(&mut self, wake: &mut ToWake) {
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
pub(super) struct ToWake {
    first: Option<Waker>,
    second: Option<Waker>,
    rest: Option<Vec<Waker>>,
}

impl ToWake {
    #[inline(always)]
    pub(super) fn push(&mut self, waker: Option<Waker>) {
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
    pub(super) fn wake_all(self) {
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
