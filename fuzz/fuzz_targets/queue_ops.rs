//! Fuzz target `queue_ops`: arbitrary operation sequences on `Queue`, `LifoQueue` and
//! `PriorityQueue` (bounded with capacity 1..=8, or unbounded), checked step by step against a
//! plain `Vec` model of the queue's documented semantics.
//!
//! Async operations run without a runtime: each `put`, `get` and `join` future is boxed and
//! polled by hand with its own flag waker, and stays pending in the harness until the input
//! polls or drops it. Asserted after every step:
//! * every result agrees with the model: the same items come out in the same order (FIFO,
//!   LIFO, smallest first), the same futures are ready, `try_put` hands the very item back in
//!   `Full`/`Closed`, `put` hands it back in `Closed`, `get` gives `None` once closed and drained;
//! * `len`, `is_empty`, `is_full`, `is_closed`, `capacity` agree; `task_done` errs exactly when
//!   the model has no unfinished item; `join` is ready exactly when the model says;
//! * no lost wake-up: a pending future that turns out ready when re-polled must have had its
//!   (latest) waker woken since its previous poll;
//! * at the end, after dropping every pending future and draining, each item ever created has
//!   been dropped exactly once (nothing leaked, nothing duplicated).
//!
//! The model follows the contract in `runtime/src/sync/queue.rs` (module and method docs):
//! a put that finds getters waiting hands its item to the oldest one (it still counts in `len`
//! until taken); a freed slot is reserved for the oldest waiting putter and only the oldest
//! reserved putter inserts; a dropped getter's item goes to the next waiting getter or back
//! where the oldest item belongs; a dropped putter's reserved slot passes on; `close` fails
//! every putter and wakes every waiting getter.

#![no_main]

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::task::Poll;

use common::Pending;

use arbitrary::Arbitrary;
use corio_runtime::sync::queue::{Fifo, GenericQueue, Lifo, MinHeap, Storage};
use corio_runtime::sync::{Closed, TryGetError, TryPutError};
use libfuzzer_sys::fuzz_target;

/// Which queue of the family to test.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `Queue`: first in, first out.
    Fifo,
    /// `LifoQueue`: last in, first out.
    Lifo,
    /// `PriorityQueue`: smallest first.
    Priority,
}

/// Which kind of pending future an index refers to.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Which {
    /// A pending `put`.
    Put,
    /// A pending `get`.
    Get,
    /// A pending `join`.
    Join,
}

/// One step of a fuzz input.
#[derive(Arbitrary, Debug)]
enum Op {
    /// `try_put` an item with this priority.
    TryPut(u8),
    /// `try_get`.
    TryGet,
    /// Start a `put` of an item with this priority and poll it once.
    Put(u8),
    /// Start a `get` and poll it once.
    Get,
    /// Start a `join` and poll it once.
    Join,
    /// Re-poll a pending future (index modulo the count), optionally with a new waker.
    Poll {
        /// Which list.
        which: Which,
        /// Index into it.
        index: u8,
        /// Poll with a fresh waker (the old one must no longer be the one woken).
        fresh_waker: bool,
    },
    /// Drop a pending future (cancel it).
    Drop {
        /// Which list.
        which: Which,
        /// Index into it.
        index: u8,
    },
    /// Re-poll every pending future whose waker was woken, oldest first (an executor's tick).
    RunWoken,
    /// `close`.
    Close,
    /// `task_done`.
    TaskDone,
}

/// A fuzz input: the queue's kind and capacity, then the operations.
#[derive(Arbitrary, Debug)]
struct Input {
    kind: Kind,
    /// `None`: unbounded; `Some(n)`: bounded to `n % 8 + 1`.
    capacity: Option<u8>,
    ops: Vec<Op>,
}

/// Items are told apart by `id`; `prio` orders them in the priority queue (`id` breaks ties,
/// so the order is fully determined). Each drop is counted in a shared log.
#[derive(Debug)]
struct Item {
    prio: u8,
    id: u32,
    drops: Rc<RefCell<Vec<u8>>>,
}

impl Item {
    fn key(&self) -> ItemKey {
        (self.prio, self.id)
    }
}

impl Drop for Item {
    fn drop(&mut self) {
        self.drops.borrow_mut()[self.id as usize] += 1;
    }
}

impl PartialEq for Item {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for Item {}
impl PartialOrd for Item {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Item {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

/// What the model knows of an item: `(prio, id)`.
type ItemKey = (u8, u32);

/// Where a waiting getter stands in the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GetState {
    /// Linked, waiting for an item.
    Waiting,
    /// Handed this item; it takes it when polled.
    Handed(ItemKey),
    /// Woken by `close` with nothing for it.
    Closed,
}

/// The queue as its contract describes it.
#[derive(Debug)]
struct Model {
    kind: Kind,
    capacity: Option<usize>,
    closed: bool,
    /// Stored items; the next out depends on `kind`.
    items: Vec<ItemKey>,
    /// Items handed to getters not yet polled.
    handed: usize,
    /// Slots reserved for granted putters.
    reserved: usize,
    unfinished: usize,
    /// Getters that went pending, in arrival order, until they complete or are dropped.
    getters: Vec<(usize, GetState)>,
    /// Waiting putters in arrival order: (id, granted).
    putters: Vec<(usize, bool)>,
    /// Putters failed by `close` that have not been polled yet.
    refused_putters: Vec<usize>,
    /// Joiners: (id, released).
    joiners: Vec<(usize, bool)>,
}

impl Model {
    fn len(&self) -> usize {
        self.items.len() + self.handed
    }

    fn free_slots(&self) -> usize {
        match self.capacity {
            None => usize::MAX,
            Some(cap) => cap.saturating_sub(self.items.len() + self.handed + self.reserved),
        }
    }

    fn has_room_now(&self) -> bool {
        self.putters.is_empty() && self.free_slots() > 0
    }

    fn pop(&mut self) -> Option<ItemKey> {
        if self.items.is_empty() {
            return None;
        }
        Some(match self.kind {
            Kind::Fifo => self.items.remove(0),
            Kind::Lifo => self.items.pop().unwrap(),
            Kind::Priority => {
                let min = (0..self.items.len())
                    .min_by_key(|&i| self.items[i])
                    .unwrap();
                self.items.remove(min)
            }
        })
    }

    /// A handed item whose getter was dropped goes where the oldest item belongs.
    fn restore(&mut self, item: ItemKey) {
        match self.kind {
            Kind::Fifo | Kind::Lifo => self.items.insert(0, item),
            Kind::Priority => self.items.push(item),
        }
    }

    fn insert(&mut self, item: ItemKey) {
        self.unfinished += 1;
        self.give(item);
    }

    fn give(&mut self, item: ItemKey) {
        match self
            .getters
            .iter_mut()
            .find(|(_, s)| *s == GetState::Waiting)
        {
            Some((_, state)) => {
                *state = GetState::Handed(item);
                self.handed += 1;
            }
            None => self.items.push(item),
        }
    }

    fn take(&mut self) -> Option<ItemKey> {
        let item = self.pop()?;
        self.grant_putters();
        Some(item)
    }

    fn grant_putters(&mut self) {
        for i in 0..self.putters.len() {
            if self.putters[i].1 {
                continue;
            }
            if self.free_slots() == 0 {
                break;
            }
            self.putters[i].1 = true;
            self.reserved += 1;
        }
    }

    fn close(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.reserved = 0;
        self.refused_putters
            .extend(self.putters.drain(..).map(|(id, _)| id));
        for (_, state) in &mut self.getters {
            if *state == GetState::Waiting {
                *state = GetState::Closed;
            }
        }
    }

    fn task_done(&mut self) -> bool {
        if self.unfinished == 0 {
            return false;
        }
        self.unfinished -= 1;
        if self.unfinished == 0 {
            for (_, released) in &mut self.joiners {
                *released = true;
            }
        }
        true
    }

    /// A `put` polled for the first time: `Some(result)` when ready, else it waits as `id`.
    fn put_first(&mut self, id: usize, item: ItemKey) -> Option<Result<(), ItemKey>> {
        if self.closed {
            Some(Err(item))
        } else if self.has_room_now() {
            self.insert(item);
            Some(Ok(()))
        } else {
            self.putters.push((id, false));
            None
        }
    }

    /// A pending `put` re-polled.
    fn put_again(&mut self, id: usize, item: ItemKey) -> Option<Result<(), ItemKey>> {
        if let Some(i) = self.refused_putters.iter().position(|&p| p == id) {
            self.refused_putters.remove(i);
            return Some(Err(item));
        }
        let i = self.putters.iter().position(|&(p, _)| p == id).unwrap();
        if i == 0 && self.putters[0].1 {
            self.putters.remove(0);
            self.reserved -= 1;
            self.insert(item);
            Some(Ok(()))
        } else {
            None
        }
    }

    fn put_dropped(&mut self, id: usize) {
        if let Some(i) = self.refused_putters.iter().position(|&p| p == id) {
            self.refused_putters.remove(i);
            return;
        }
        let i = self.putters.iter().position(|&(p, _)| p == id).unwrap();
        let (_, granted) = self.putters.remove(i);
        if granted {
            self.reserved -= 1;
            self.grant_putters();
        }
    }

    /// A `get` polled for the first time: `Some(result)` when ready, else it waits as `id`.
    fn get_first(&mut self, id: usize) -> Option<Option<ItemKey>> {
        if let Some(item) = self.take() {
            return Some(Some(item));
        }
        if self.closed {
            return Some(None);
        }
        self.getters.push((id, GetState::Waiting));
        None
    }

    fn get_again(&mut self, id: usize) -> Option<Option<ItemKey>> {
        let i = self.getters.iter().position(|&(g, _)| g == id).unwrap();
        match self.getters[i].1 {
            GetState::Waiting => None,
            GetState::Handed(item) => {
                self.getters.remove(i);
                self.handed -= 1;
                self.grant_putters();
                Some(Some(item))
            }
            GetState::Closed => {
                self.getters.remove(i);
                Some(None)
            }
        }
    }

    fn get_dropped(&mut self, id: usize) {
        let i = self.getters.iter().position(|&(g, _)| g == id).unwrap();
        let (_, state) = self.getters.remove(i);
        if let GetState::Handed(item) = state {
            self.handed -= 1;
            if self.getters.iter().any(|(_, s)| *s == GetState::Waiting) {
                self.give(item);
            } else {
                self.restore(item);
            }
        }
    }

    fn join_first(&mut self, id: usize) -> bool {
        if self.unfinished == 0 {
            return true;
        }
        self.joiners.push((id, false));
        false
    }

    fn join_again(&mut self, id: usize) -> bool {
        let i = self.joiners.iter().position(|&(j, _)| j == id).unwrap();
        if self.joiners[i].1 {
            self.joiners.remove(i);
            true
        } else {
            false
        }
    }

    fn join_dropped(&mut self, id: usize) {
        let i = self.joiners.iter().position(|&(j, _)| j == id).unwrap();
        self.joiners.remove(i);
    }
}

/// A pending `put`, carrying its item's key.
type PendingPut<'q> = Pending<'q, Result<(), Closed<Item>>, Option<ItemKey>>;

/// The queue under test, its model and the pending futures.
struct Harness<'q, S: Storage<Item>> {
    q: &'q GenericQueue<Item, S>,
    model: Model,
    drops: Rc<RefCell<Vec<u8>>>,
    puts: Vec<PendingPut<'q>>,
    gets: Vec<Pending<'q, Option<Item>, Option<ItemKey>>>,
    joins: Vec<Pending<'q, (), Option<ItemKey>>>,
    next_future: usize,
}

impl<'q, S: Storage<Item> + 'q> Harness<'q, S> {
    fn item(&mut self, prio: u8) -> Item {
        let mut drops = self.drops.borrow_mut();
        let id = drops.len() as u32;
        drops.push(0);
        Item {
            prio,
            id,
            drops: self.drops.clone(),
        }
    }

    fn future_id(&mut self) -> usize {
        self.next_future += 1;
        self.next_future
    }

    fn try_put(&mut self, prio: u8) {
        let item = self.item(prio);
        let key = item.key();
        let got = self.q.try_put(item);
        let m = &mut self.model;
        match got {
            Ok(()) => {
                assert!(
                    !m.closed && m.has_room_now(),
                    "try_put succeeded; model: {m:?}"
                );
                m.insert(key);
            }
            Err(TryPutError::Closed(back)) => {
                assert!(m.closed, "try_put said Closed; model: {m:?}");
                assert_eq!(back.key(), key, "try_put handed back another item");
            }
            Err(TryPutError::Full(back)) => {
                assert!(
                    !m.closed && !m.has_room_now(),
                    "try_put said Full; model: {m:?}"
                );
                assert_eq!(back.key(), key, "try_put handed back another item");
            }
        }
    }

    fn try_get(&mut self) {
        let got = self.q.try_get();
        let m = &mut self.model;
        let want = m.take();
        match (got, want) {
            (Ok(item), Some(key)) => assert_eq!(item.key(), key, "try_get: wrong item"),
            (Err(TryGetError::Closed), None) => assert!(m.closed, "try_get said Closed"),
            (Err(TryGetError::Empty), None) => assert!(!m.closed, "try_get said Empty"),
            (got, want) => panic!("try_get gave {got:?}, model {want:?}; model: {m:?}"),
        }
    }

    fn put(&mut self, prio: u8) {
        let item = self.item(prio);
        let key = item.key();
        let id = self.future_id();
        let mut p = Pending::new(self.q.put(item), id, Some(key));
        let got = p.poll(false, true);
        let want = self.model.put_first(id, key);
        if !check_put(got, want, &self.model) {
            self.puts.push(p);
        }
    }

    fn get(&mut self) {
        let id = self.future_id();
        let mut p = Pending::new(self.q.get(), id, None);
        let got = p.poll(false, true);
        let want = self.model.get_first(id);
        if !check_get(got, want, &self.model) {
            self.gets.push(p);
        }
    }

    fn join(&mut self) {
        let id = self.future_id();
        let mut p = Pending::new(self.q.join(), id, None);
        let got = p.poll(false, true);
        let want = self.model.join_first(id);
        assert_eq!(got.is_ready(), want, "join: model: {:?}", self.model);
        if got.is_pending() {
            self.joins.push(p);
        }
    }

    fn repoll(&mut self, which: Which, index: usize, fresh_waker: bool) {
        match which {
            Which::Put if !self.puts.is_empty() => {
                let i = index % self.puts.len();
                let p = &mut self.puts[i];
                let got = p.poll(fresh_waker, false);
                let want = self.model.put_again(p.id, p.data.unwrap());
                if check_put(got, want, &self.model) {
                    self.puts.remove(i);
                }
            }
            Which::Get if !self.gets.is_empty() => {
                let i = index % self.gets.len();
                let p = &mut self.gets[i];
                let got = p.poll(fresh_waker, false);
                let want = self.model.get_again(p.id);
                if check_get(got, want, &self.model) {
                    self.gets.remove(i);
                }
            }
            Which::Join if !self.joins.is_empty() => {
                let i = index % self.joins.len();
                let p = &mut self.joins[i];
                let got = p.poll(fresh_waker, false);
                let want = self.model.join_again(p.id);
                assert_eq!(
                    got.is_ready(),
                    want,
                    "join re-poll; model: {:?}",
                    self.model
                );
                if want {
                    self.joins.remove(i);
                }
            }
            _ => {}
        }
    }

    fn drop_pending(&mut self, which: Which, index: usize) {
        match which {
            Which::Put if !self.puts.is_empty() => {
                let p = self.puts.remove(index % self.puts.len());
                let id = p.id;
                drop(p);
                self.model.put_dropped(id);
            }
            Which::Get if !self.gets.is_empty() => {
                let p = self.gets.remove(index % self.gets.len());
                let id = p.id;
                drop(p);
                self.model.get_dropped(id);
            }
            Which::Join if !self.joins.is_empty() => {
                let p = self.joins.remove(index % self.joins.len());
                let id = p.id;
                drop(p);
                self.model.join_dropped(id);
            }
            _ => {}
        }
    }

    /// Re-poll every woken future, in the order the harness holds them (puts, gets, joins).
    fn run_woken(&mut self) {
        for which in [Which::Put, Which::Get, Which::Join] {
            let mut i = 0;
            loop {
                let list_len = match which {
                    Which::Put => self.puts.len(),
                    Which::Get => self.gets.len(),
                    Which::Join => self.joins.len(),
                };
                if i >= list_len {
                    break;
                }
                let woken = match which {
                    Which::Put => self.puts[i].woken(),
                    Which::Get => self.gets[i].woken(),
                    Which::Join => self.joins[i].woken(),
                };
                let before = list_len;
                if woken {
                    self.repoll(which, i, false);
                }
                let after = match which {
                    Which::Put => self.puts.len(),
                    Which::Get => self.gets.len(),
                    Which::Join => self.joins.len(),
                };
                if after == before {
                    i += 1;
                }
            }
        }
    }

    fn task_done(&mut self) {
        let got = self.q.task_done().is_ok();
        let want = self.model.task_done();
        assert_eq!(got, want, "task_done; model: {:?}", self.model);
    }

    /// The observers agree with the model.
    fn check(&self) {
        let (q, m) = (self.q, &self.model);
        assert_eq!(q.len(), m.len(), "len; model: {m:?}");
        assert_eq!(q.is_empty(), m.len() == 0, "is_empty; model: {m:?}");
        assert_eq!(q.is_full(), !m.has_room_now(), "is_full; model: {m:?}");
        assert_eq!(q.is_closed(), m.closed, "is_closed");
        assert_eq!(q.capacity(), m.capacity, "capacity");
        if let Some(cap) = m.capacity {
            assert!(
                m.items.len() + m.handed + m.reserved <= cap,
                "model over capacity: {m:?}"
            );
        }
    }
}

/// Compare a put's poll with the model; true when it completed.
fn check_put(
    got: Poll<Result<(), Closed<Item>>>,
    want: Option<Result<(), ItemKey>>,
    m: &Model,
) -> bool {
    match (got, want) {
        (Poll::Pending, None) => false,
        (Poll::Ready(Ok(())), Some(Ok(()))) => true,
        (Poll::Ready(Err(Closed(back))), Some(Err(key))) => {
            assert_eq!(back.key(), key, "put handed back another item");
            true
        }
        (got, want) => panic!("put gave {got:?}, model {want:?}; model: {m:?}"),
    }
}

/// Compare a get's poll with the model; true when it completed.
fn check_get(got: Poll<Option<Item>>, want: Option<Option<ItemKey>>, m: &Model) -> bool {
    match (got, want) {
        (Poll::Pending, None) => false,
        (Poll::Ready(item), Some(key)) => {
            assert_eq!(
                item.as_ref().map(Item::key),
                key,
                "get: wrong item; model: {m:?}"
            );
            true
        }
        (got, want) => panic!("get gave {got:?}, model {want:?}; model: {m:?}"),
    }
}

fn run<S: Storage<Item>>(q: GenericQueue<Item, S>, kind: Kind, ops: &[Op]) {
    let drops = Rc::new(RefCell::new(Vec::new()));
    {
        let mut h = Harness {
            q: &q,
            model: Model {
                kind,
                capacity: q.capacity(),
                closed: false,
                items: Vec::new(),
                handed: 0,
                reserved: 0,
                unfinished: 0,
                getters: Vec::new(),
                putters: Vec::new(),
                refused_putters: Vec::new(),
                joiners: Vec::new(),
            },
            drops: drops.clone(),
            puts: Vec::new(),
            gets: Vec::new(),
            joins: Vec::new(),
            next_future: 0,
        };
        for op in ops.iter().take(1024) {
            match *op {
                Op::TryPut(prio) => h.try_put(prio),
                Op::TryGet => h.try_get(),
                Op::Put(prio) => h.put(prio),
                Op::Get => h.get(),
                Op::Join => h.join(),
                Op::Poll {
                    which,
                    index,
                    fresh_waker,
                } => h.repoll(which, usize::from(index), fresh_waker),
                Op::Drop { which, index } => h.drop_pending(which, usize::from(index)),
                Op::RunWoken => h.run_woken(),
                Op::Close => h.close_both(),
                Op::TaskDone => h.task_done(),
            }
            h.check();
        }
        let _ = format!("{:?}", h.q);
        // Cancel everything still pending, oldest first, then close and drain.
        while !h.puts.is_empty() {
            h.drop_pending(Which::Put, 0);
            h.check();
        }
        while !h.gets.is_empty() {
            h.drop_pending(Which::Get, 0);
            h.check();
        }
        while !h.joins.is_empty() {
            h.drop_pending(Which::Join, 0);
        }
        h.close_both();
        loop {
            h.try_get();
            h.check();
            if h.model.items.is_empty() {
                break;
            }
        }
        assert_eq!(h.q.try_get(), Err(TryGetError::Closed));
        assert_eq!(h.q.len(), 0);
    }
    drop(q);
    for (id, &n) in drops.borrow().iter().enumerate() {
        assert_eq!(n, 1, "item {id} dropped {n} times");
    }
}

impl<S: Storage<Item>> Harness<'_, S> {
    fn close_both(&mut self) {
        self.q.close();
        self.model.close();
    }
}

fuzz_target!(|input: Input| {
    let capacity = input.capacity.map(|c| usize::from(c % 8) + 1);
    macro_rules! go {
        ($storage:ty) => {{
            let q: GenericQueue<Item, $storage> = match capacity {
                None => GenericQueue::new(),
                Some(cap) => GenericQueue::bounded(cap),
            };
            run(q, input.kind, &input.ops)
        }};
    }
    match input.kind {
        Kind::Fifo => go!(Fifo<Item>),
        Kind::Lifo => go!(Lifo<Item>),
        Kind::Priority => go!(MinHeap<Item>),
    }
});
