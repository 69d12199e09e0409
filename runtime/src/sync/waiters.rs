//! The waiter list every primitive parks its pending futures in.
//!
//! A slab of nodes threaded into a doubly linked FIFO: push at the back, grant from the
//! front, and removal from the middle (a dropped future) in O(1). Slots are reused, so a
//! busy primitive stops allocating once its slab has grown to the peak number of waiters;
//! the uncontended fast paths of the primitives never touch the list at all.
//!
//! Each pending future owns one slot, by key, from `push_back` until it calls `remove`.
//! A slot is either
//! * *linked*: in the queue, still waiting; or
//! * *unlinked*: something (a notification, a permit, the lock, an item) was granted to it
//!   and the owner has not observed it yet. The owner sees that on its next poll, or, if it
//!   is dropped first, hands the grant on from its `Drop`.
//!
//! Only the owning future ever removes its slot, so a key is never reused behind its back.
//!
//! Wakers are taken out of the list and woken by the caller *after* it has released its
//! `RefCell` borrow, so a waker that runs code inline cannot re-enter a borrowed primitive.
//!
//! A list is `!Send` unless it is made for another thread ([`CrossThread`]: the shard
//! channel's, which lives behind a `Mutex`), so the primitives built on it stay on their loop.

use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;
use std::task::Waker;

use slab::Slab;

/// Slots an emptied waiter list keeps; above this it frees its slab.
const SHRINK_ABOVE: usize = 1024;

/// The default thread marker: the list (and every primitive holding one) is `!Send` and
/// `!Sync`, as the design promises: they belong to the thread of the loop whose tasks they park.
pub(crate) struct LocalOnly(PhantomData<*const ()>);

/// The thread marker of a list that is shared between threads behind a lock (it holds only
/// `Send` wakers and data).
pub(crate) struct CrossThread;

pub(crate) struct WaiterList<T, Th = LocalOnly> {
    nodes: Slab<Node<T>>,
    head: Option<usize>,
    tail: Option<usize>,
    /// Linked (still waiting) nodes.
    len: usize,
    _thread: PhantomData<Th>,
}

struct Node<T> {
    prev: Option<usize>,
    next: Option<usize>,
    linked: bool,
    waker: Option<Waker>,
    data: T,
}

impl<T, Th> WaiterList<T, Th> {
    pub(crate) const fn new() -> WaiterList<T, Th> {
        WaiterList {
            nodes: Slab::new(),
            head: None,
            tail: None,
            len: 0,
            _thread: PhantomData,
        }
    }

    /// No node is waiting (granted-but-unobserved nodes do not count).
    pub(crate) fn is_empty(&self) -> bool {
        self.head.is_none()
    }

    /// How many nodes are waiting.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Park a new waiter at the back; returns its key.
    pub(crate) fn push_back(&mut self, data: T, waker: &Waker) -> usize {
        let key = self.nodes.insert(Node {
            prev: self.tail,
            next: None,
            linked: true,
            waker: Some(waker.clone()),
            data,
        });
        match self.tail {
            Some(tail) => self.nodes[tail].next = Some(key),
            None => self.head = Some(key),
        }
        self.tail = Some(key);
        self.len += 1;
        key
    }

    /// The oldest waiting node.
    pub(crate) fn front(&self) -> Option<usize> {
        self.head
    }

    /// The waiting node after `key` (which must be linked).
    pub(crate) fn next(&self, key: usize) -> Option<usize> {
        self.nodes[key].next
    }

    pub(crate) fn is_linked(&self, key: usize) -> bool {
        self.nodes[key].linked
    }

    pub(crate) fn data(&self, key: usize) -> &T {
        &self.nodes[key].data
    }

    pub(crate) fn data_mut(&mut self, key: usize) -> &mut T {
        &mut self.nodes[key].data
    }

    /// Remember the latest waker of a re-polled waiter, cloning only when it changed.
    pub(crate) fn set_waker(&mut self, key: usize, waker: &Waker) {
        let slot = &mut self.nodes[key].waker;
        match slot {
            Some(old) if old.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
    }

    /// Take the node's waker out, to wake it once the caller has released its borrows.
    pub(crate) fn take_waker(&mut self, key: usize) -> Option<Waker> {
        self.nodes[key].waker.take()
    }

    /// Unlink the oldest waiting node (it is being granted something) and return its key.
    /// The node keeps its slot until its owner removes it.
    pub(crate) fn pop_front(&mut self) -> Option<usize> {
        let key = self.head?;
        self.unlink(key);
        Some(key)
    }

    /// Take `key` out of the waiting order (no-op if it is not linked).
    pub(crate) fn unlink(&mut self, key: usize) {
        let node = &mut self.nodes[key];
        if !node.linked {
            return;
        }
        node.linked = false;
        let (prev, next) = (node.prev.take(), node.next.take());
        match prev {
            Some(p) => self.nodes[p].next = next,
            None => self.head = next,
        }
        match next {
            Some(n) => self.nodes[n].prev = prev,
            None => self.tail = prev,
        }
        self.len -= 1;
    }

    /// Free the slot of `key` (unlinking it first if it is still waiting); returns its data.
    /// Called only by the future that owns the slot.
    pub(crate) fn remove(&mut self, key: usize) -> T {
        self.unlink(key);
        let data = self.nodes.remove(key).data;
        // A burst of waiters (say 100k tasks on one lock) must not pin its peak memory for
        // the primitive's whole life. Only large slabs are given back, so a primitive that
        // goes between empty and a few waiters keeps reusing its slots without allocating.
        if self.nodes.is_empty() && self.nodes.capacity() > SHRINK_ABOVE {
            self.nodes = Slab::new();
        }
        data
    }
}

/// Grant the `n` oldest waiters (fewer if fewer wait), one borrow at a time: unlink each,
/// let `grant` record what it was given in its data, and wake it once the borrow is released
/// (so a waker that runs code inline cannot re-enter a borrowed primitive). Callers count
/// `n` before the first wake: a woken task that waits again is not granted twice.
pub(crate) fn grant_front<T>(
    waiters: &RefCell<WaiterList<T>>,
    n: usize,
    mut grant: impl FnMut(&mut T),
) {
    for _ in 0..n {
        let waker = {
            let mut list = waiters.borrow_mut();
            let Some(key) = list.pop_front() else {
                return;
            };
            grant(list.data_mut(key));
            list.take_waker(key)
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T, Th> fmt::Debug for WaiterList<T, Th> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaiterList")
            .field("waiting", &self.len)
            .field("slots", &self.nodes.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::task::Wake;

    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }

    fn order(list: &WaiterList<u32>) -> Vec<u32> {
        let mut out = Vec::new();
        let mut at = list.front();
        while let Some(k) = at {
            out.push(*list.data(k));
            at = list.next(k);
        }
        out
    }

    #[test]
    fn keeps_fifo_order_through_removals_from_the_middle() {
        let waker = Waker::from(Arc::new(Noop));
        let mut list: WaiterList<u32> = WaiterList::new();
        let keys: Vec<usize> = (0..5).map(|i| list.push_back(i, &waker)).collect();
        assert_eq!(list.remove(keys[2]), 2);
        assert_eq!(list.remove(keys[0]), 0);
        assert_eq!(list.remove(keys[4]), 4);
        assert_eq!(order(&list), [1, 3]);
        assert_eq!(list.len(), 2);
        let k5 = list.push_back(5, &waker);
        assert_eq!(order(&list), [1, 3, 5]);
        assert_eq!(list.pop_front(), Some(keys[1]));
        assert!(!list.is_linked(keys[1]));
        assert_eq!(order(&list), [3, 5]);
        list.unlink(k5);
        list.unlink(k5);
        assert_eq!(order(&list), [3]);
        assert_eq!(list.len(), 1);
    }

    #[test]
    fn an_emptied_list_gives_back_a_large_slab_and_keeps_a_small_one() {
        let waker = Waker::from(Arc::new(Noop));
        let mut list: WaiterList<u32> = WaiterList::new();
        let keys: Vec<usize> = (0..5000).map(|i| list.push_back(i, &waker)).collect();
        assert!(list.nodes.capacity() >= 5000);
        for (n, key) in keys.into_iter().enumerate() {
            assert_eq!(list.remove(key), n as u32);
        }
        assert!(list.is_empty());
        assert_eq!(list.nodes.capacity(), 0, "a 5000-slot slab was kept");
        // Small lists keep their slots for reuse.
        let keys: Vec<usize> = (0..10).map(|i| list.push_back(i, &waker)).collect();
        let small = list.nodes.capacity();
        keys.into_iter().for_each(|k| {
            list.remove(k);
        });
        assert_eq!(list.nodes.capacity(), small);
    }

    #[test]
    fn granted_slots_survive_until_their_owner_removes_them() {
        let waker = Waker::from(Arc::new(Noop));
        let mut list: WaiterList<u32> = WaiterList::new();
        let a = list.push_back(1u32, &waker);
        assert_eq!(list.pop_front(), Some(a));
        assert!(list.is_empty());
        *list.data_mut(a) = 7;
        assert!(list.take_waker(a).is_some());
        assert!(list.take_waker(a).is_none());
        let b = list.push_back(2, &waker);
        assert_ne!(
            a, b,
            "a granted slot is not reused before its owner frees it"
        );
        assert_eq!(list.remove(a), 7);
        assert_eq!(order(&list), [2]);
    }
}
