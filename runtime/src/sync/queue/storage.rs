//! The storage disciplines of the queue family: FIFO, LIFO and min-heap.
//!
//! [`GenericQueue`](super::GenericQueue) holds one of these; everything else (waiters,
//! capacity, close, `task_done`/`join`) is shared. The trait is sealed: the three
//! disciplines below are the only ones.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt;

/// Item slots an emptied queue keeps; above this it frees its buffer, so a burst (100k
/// items put, then drained) does not pin its peak memory for the queue's whole life, while
/// a queue that goes between empty and a few thousand items keeps reusing its buffer.
const SHRINK_ABOVE: usize = 4096;

/// Give back `buffer`'s memory if it is empty and large (see [`SHRINK_ABOVE`]).
fn shrink_if_drained<B: Default>(buffer: &mut B, is_empty: bool, capacity: usize) {
    if is_empty && capacity > SHRINK_ABOVE {
        *buffer = B::default();
    }
}

pub(crate) mod sealed {
    /// The operations a queue needs from its storage.
    pub trait Discipline<T> {
        /// The name `Debug` shows for a queue with this storage.
        const NAME: &'static str;
        fn empty() -> Self;
        fn push(&mut self, item: T);
        /// The next item to hand out.
        fn pop(&mut self) -> Option<T>;
        /// Put back an item that had been handed to a getter that was dropped before it
        /// took it. The item left the queue before everything now stored arrived, so it goes
        /// where the oldest item belongs: next out for FIFO, last out for LIFO.
        fn restore(&mut self, item: T);
        fn len(&self) -> usize;
    }
}

/// A storage discipline for [`GenericQueue`](super::GenericQueue): [`Fifo`], [`Lifo`] or
/// [`MinHeap`] (sealed: no others). You only name it through the aliases
/// [`Queue`](super::Queue), [`LifoQueue`](super::LifoQueue) and
/// [`PriorityQueue`](super::PriorityQueue).
///
/// ```
/// use corio_runtime::sync::queue::{GenericQueue, Storage, Fifo};
/// fn drain<T, S: Storage<T>>(q: &GenericQueue<T, S>) -> Vec<T> {
///     std::iter::from_fn(|| q.try_get().ok()).collect()
/// }
/// let q: GenericQueue<u8, Fifo<u8>> = corio_runtime::sync::Queue::new();
/// q.try_put(1).unwrap();
/// assert_eq!(drain(&q), [1]);
/// ```
pub trait Storage<T>: sealed::Discipline<T> {}

impl<T, D: sealed::Discipline<T>> Storage<T> for D {}

/// First in, first out: the storage of [`Queue`](super::Queue).
///
/// ```
/// let q: corio_runtime::sync::GenericQueue<u8, corio_runtime::sync::queue::Fifo<u8>> =
///     corio_runtime::sync::Queue::new();
/// assert!(q.is_empty());
/// ```
pub struct Fifo<T>(VecDeque<T>);

/// Last in, first out (a stack): the storage of [`LifoQueue`](super::LifoQueue).
///
/// ```
/// let q: corio_runtime::sync::GenericQueue<u8, corio_runtime::sync::queue::Lifo<u8>> =
///     corio_runtime::sync::LifoQueue::new();
/// assert!(q.is_empty());
/// ```
pub struct Lifo<T>(VecDeque<T>);

/// Smallest first (a binary min-heap): the storage of
/// [`PriorityQueue`](super::PriorityQueue). Equal items come out in no particular order;
/// put `(priority, sequence_number, data)` tuples to make ties first-in-first-out.
///
/// ```
/// let q: corio_runtime::sync::GenericQueue<u8, corio_runtime::sync::queue::MinHeap<u8>> =
///     corio_runtime::sync::PriorityQueue::new();
/// assert!(q.is_empty());
/// ```
pub struct MinHeap<T>(BinaryHeap<Reverse<T>>);

impl<T> sealed::Discipline<T> for Fifo<T> {
    const NAME: &'static str = "Queue";

    fn empty() -> Self {
        Fifo(VecDeque::new())
    }
    fn push(&mut self, item: T) {
        self.0.push_back(item);
    }
    fn pop(&mut self) -> Option<T> {
        let item = self.0.pop_front();
        let (drained, capacity) = (self.0.is_empty(), self.0.capacity());
        shrink_if_drained(&mut self.0, drained, capacity);
        item
    }
    fn restore(&mut self, item: T) {
        self.0.push_front(item);
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

impl<T> sealed::Discipline<T> for Lifo<T> {
    const NAME: &'static str = "LifoQueue";

    fn empty() -> Self {
        Lifo(VecDeque::new())
    }
    fn push(&mut self, item: T) {
        self.0.push_back(item);
    }
    fn pop(&mut self) -> Option<T> {
        let item = self.0.pop_back();
        let (drained, capacity) = (self.0.is_empty(), self.0.capacity());
        shrink_if_drained(&mut self.0, drained, capacity);
        item
    }
    fn restore(&mut self, item: T) {
        // The bottom of the stack: it is older than everything stored now.
        self.0.push_front(item);
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

impl<T: Ord> sealed::Discipline<T> for MinHeap<T> {
    const NAME: &'static str = "PriorityQueue";

    fn empty() -> Self {
        MinHeap(BinaryHeap::new())
    }
    fn push(&mut self, item: T) {
        self.0.push(Reverse(item));
    }
    fn pop(&mut self) -> Option<T> {
        let item = self.0.pop().map(|Reverse(item)| item);
        let (drained, capacity) = (self.0.is_empty(), self.0.capacity());
        shrink_if_drained(&mut self.0, drained, capacity);
        item
    }
    fn restore(&mut self, item: T) {
        // Order comes from the items themselves.
        self.push(item);
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

impl<T> fmt::Debug for Fifo<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fifo").field("len", &self.0.len()).finish()
    }
}

impl<T> fmt::Debug for Lifo<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lifo").field("len", &self.0.len()).finish()
    }
}

impl<T> fmt::Debug for MinHeap<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MinHeap")
            .field("len", &self.0.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::sealed::Discipline;
    use super::*;

    fn drain<S: Discipline<u32>>(mut s: S) -> Vec<u32> {
        std::iter::from_fn(|| s.pop()).collect()
    }

    fn filled<S: Discipline<u32>>() -> S {
        let mut s = S::empty();
        for i in [3, 1, 2] {
            s.push(i);
        }
        s
    }

    #[test]
    fn each_discipline_pops_in_its_order() {
        assert_eq!(drain(filled::<Fifo<u32>>()), [3, 1, 2]);
        assert_eq!(drain(filled::<Lifo<u32>>()), [2, 1, 3]);
        assert_eq!(drain(filled::<MinHeap<u32>>()), [1, 2, 3]);
    }

    #[test]
    fn a_restored_item_goes_back_where_the_oldest_item_belongs() {
        let mut fifo = filled::<Fifo<u32>>();
        fifo.restore(9);
        assert_eq!(drain(fifo), [9, 3, 1, 2], "FIFO: next out");
        let mut lifo = filled::<Lifo<u32>>();
        lifo.restore(9);
        assert_eq!(drain(lifo), [2, 1, 3, 9], "LIFO: last out");
        let mut heap = filled::<MinHeap<u32>>();
        heap.restore(0);
        assert_eq!(drain(heap), [0, 1, 2, 3], "heap: by value");
    }

    #[test]
    fn a_drained_burst_gives_its_memory_back_and_a_small_queue_keeps_its_buffer() {
        fn burst<S: Discipline<u32>>(s: &mut S, n: u32) {
            (0..n).for_each(|i| s.push(i));
            while s.pop().is_some() {}
        }
        let (mut fifo, mut lifo, mut heap) = (Fifo::empty(), Lifo::empty(), MinHeap::empty());
        burst(&mut fifo, 10_000);
        burst(&mut lifo, 10_000);
        burst(&mut heap, 10_000);
        assert_eq!(fifo.0.capacity(), 0);
        assert_eq!(lifo.0.capacity(), 0);
        assert_eq!(heap.0.capacity(), 0);
        burst(&mut fifo, 100);
        let kept = fifo.0.capacity();
        assert!(kept >= 100);
        burst(&mut fifo, 100);
        assert_eq!(fifo.0.capacity(), kept, "a small queue reuses its buffer");
    }
}
