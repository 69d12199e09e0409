//! Queue, LifoQueue, PriorityQueue: order, bounds, fairness, close, task_done/join and
//! what a dropped or timed-out `get`/`put` leaves behind.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use corio::sync::{Closed, LifoQueue, PriorityQueue, Queue, TryGetError, TryPutError};
use corio::time::timeout;

mod common;
use common::{poll_once, settle, until, within};

/// An item that logs its drop, to prove where items end up.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Tracked(u32, #[allow(dead_code)] Rc<Cell<u32>>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.1.set(self.1.get() + 1);
    }
}

#[test]
fn each_queue_hands_items_out_in_its_order() {
    let fifo = Queue::new();
    let lifo = LifoQueue::new();
    let prio = PriorityQueue::new();
    for i in [3, 1, 2] {
        fifo.try_put(i).unwrap();
        lifo.try_put(i).unwrap();
        prio.try_put(i).unwrap();
    }
    let drain = |f: &dyn Fn() -> Result<i32, TryGetError>| {
        std::iter::from_fn(|| f().ok()).collect::<Vec<_>>()
    };
    assert_eq!(drain(&|| fifo.try_get()), [3, 1, 2]);
    assert_eq!(drain(&|| lifo.try_get()), [2, 1, 3]);
    assert_eq!(drain(&|| prio.try_get()), [1, 2, 3]);
}

#[test]
fn len_is_empty_is_full_and_capacity_track_the_contents() {
    let q = Queue::bounded(2);
    assert_eq!(
        (q.len(), q.is_empty(), q.is_full(), q.capacity()),
        (0, true, false, Some(2))
    );
    q.try_put('a').unwrap();
    assert_eq!((q.len(), q.is_empty(), q.is_full()), (1, false, false));
    q.try_put('b').unwrap();
    assert!(q.is_full());
    assert_eq!(
        q.try_put('c'),
        Err(TryPutError::Full('c')),
        "the item comes back"
    );
    assert_eq!(Queue::<u8>::new().capacity(), None);
    assert!(format!("{q:?}").starts_with("Queue {"));
    assert!(format!("{:?}", LifoQueue::<u8>::new()).starts_with("LifoQueue {"));
    assert!(format!("{:?}", PriorityQueue::<u8>::new()).starts_with("PriorityQueue {"));
}

#[test]
#[should_panic(expected = "Queue::new()")]
fn a_bounded_queue_of_size_zero_is_refused_with_a_hint() {
    let _ = Queue::<u8>::bounded(0);
}

#[corio::test]
async fn get_waits_while_empty_and_put_waits_while_full() {
    let q = Rc::new(Queue::bounded(1));
    let mut get = Box::pin(q.get());
    assert!(poll_once(&mut get).await.is_pending());
    q.put(1).await.unwrap();
    assert_eq!(poll_once(&mut get).await, Poll::Ready(Some(1)));

    q.put(2).await.unwrap();
    let mut put = Box::pin(q.put(3));
    assert!(poll_once(&mut put).await.is_pending(), "full: put waits");
    assert_eq!(q.get().await, Some(2));
    assert_eq!(poll_once(&mut put).await, Poll::Ready(Ok(())));
    assert_eq!(q.try_get(), Ok(3));
}

#[corio::test]
async fn getters_are_served_in_arrival_order() {
    let q = Rc::new(Queue::new());
    let got = Rc::new(RefCell::new(Vec::new()));
    let arrived = Rc::new(Cell::new(0));
    for id in 0..5 {
        let (q, got, a) = (q.clone(), got.clone(), arrived.clone());
        corio::spawn(async move {
            a.set(a.get() + 1);
            let item = q.get().await.unwrap();
            got.borrow_mut().push((id, item));
        });
        until(|| arrived.get() == id + 1).await; // parked before the next one arrives
    }
    for item in 10..15 {
        q.try_put(item).unwrap();
    }
    settle().await;
    assert_eq!(*got.borrow(), [(0, 10), (1, 11), (2, 12), (3, 13), (4, 14)]);
}

/// Under a seed, ready tasks run in shuffled order; items still go in in putter arrival order.
#[corio::test(seed = 3)]
async fn putters_insert_in_arrival_order_under_a_seeded_scheduler() {
    let q = Rc::new(Queue::bounded(5));
    for i in 0..5 {
        q.try_put(i).unwrap();
    }
    let arrived = Rc::new(Cell::new(0));
    let mut putters = Vec::new();
    for item in 5..10 {
        let (q, a) = (q.clone(), arrived.clone());
        putters.push(corio::spawn(async move {
            a.set(a.get() + 1);
            q.put(item).await.unwrap();
        }));
        until(|| arrived.get() == item - 4).await;
    }
    settle().await;
    // Five gets free five slots at once; the five putters become ready together.
    let first: Vec<i32> = (0..5).map(|_| q.try_get().unwrap()).collect();
    for p in putters {
        within(p).await.unwrap();
    }
    let rest: Vec<i32> = (0..5).map(|_| q.try_get().unwrap()).collect();
    assert_eq!(first, [0, 1, 2, 3, 4]);
    assert_eq!(rest, [5, 6, 7, 8, 9]);
}

#[corio::test]
async fn putters_granted_slots_together_insert_in_arrival_order_even_if_polled_out_of_order() {
    let q = Queue::bounded(2);
    q.try_put(0).unwrap();
    q.try_put(1).unwrap();
    let mut first = Box::pin(q.put(2));
    let mut second = Box::pin(q.put(3));
    assert!(poll_once(&mut first).await.is_pending());
    assert!(poll_once(&mut second).await.is_pending());
    assert_eq!((q.try_get(), q.try_get()), (Ok(0), Ok(1))); // both putters hold a slot now
    assert!(
        q.is_full(),
        "the two free slots are reserved for the waiting putters"
    );
    assert!(
        poll_once(&mut second).await.is_pending(),
        "the second putter waits for the first to insert"
    );
    assert_eq!(poll_once(&mut first).await, Poll::Ready(Ok(())));
    assert_eq!(poll_once(&mut second).await, Poll::Ready(Ok(())));
    assert_eq!((q.try_get(), q.try_get()), (Ok(2), Ok(3)));
}

#[corio::test]
async fn try_get_does_not_take_an_item_promised_to_a_waiting_getter() {
    let q = Rc::new(Queue::new());
    let getter = corio::spawn({
        let q = q.clone();
        async move { q.get().await }
    });
    settle().await;
    q.try_put(7).unwrap();
    assert_eq!(
        q.len(),
        1,
        "handed to the getter, still in the queue until it runs"
    );
    assert_eq!(q.try_get(), Err(TryGetError::Empty));
    assert_eq!(within(getter).await.unwrap(), Some(7));
    assert!(q.is_empty());
}

#[corio::test]
async fn join_returns_when_every_item_put_has_had_task_done() {
    let q = Rc::new(Queue::new());
    q.join().await; // nothing put: at once
    for i in 0..3 {
        q.put(i).await.unwrap();
    }
    let joined = Rc::new(Cell::new(false));
    let joiner = corio::spawn({
        let (q, joined) = (q.clone(), joined.clone());
        async move {
            q.join().await;
            joined.set(true);
        }
    });
    for _ in 0..3 {
        q.get().await.unwrap();
        settle().await;
        assert!(
            !joined.get(),
            "join waits for the task_done, not for the get"
        );
        q.task_done().unwrap();
    }
    within(joiner).await.unwrap();
    assert!(joined.get());
}

#[test]
fn task_done_called_too_often_is_an_error() {
    let q = Queue::new();
    assert!(q.task_done().is_err());
    q.try_put(1).unwrap();
    q.try_put(2).unwrap();
    q.try_get().unwrap();
    q.task_done().unwrap();
    q.task_done().unwrap(); // Python allows task_done for items not yet taken, too
    let err = q.task_done().unwrap_err();
    assert!(
        err.to_string().contains("task_done() called more times"),
        "{err}"
    );
}

#[corio::test]
async fn close_lets_getters_drain_then_see_closed_and_fails_putters_with_their_item() {
    let q = Rc::new(Queue::bounded(2));
    q.put("a").await.unwrap();
    q.put("b").await.unwrap();
    let mut blocked_put = Box::pin(q.put("c"));
    assert!(poll_once(&mut blocked_put).await.is_pending());
    q.close();
    assert_eq!(within(blocked_put).await, Err(Closed("c")));
    assert_eq!(q.put("d").await.unwrap_err().0, "d");
    assert_eq!(q.try_put("e"), Err(TryPutError::Closed("e")));
    assert_eq!(q.get().await, Some("a"));
    assert_eq!(q.try_get(), Ok("b"));
    assert_eq!(q.get().await, None);
    assert_eq!(q.try_get(), Err(TryGetError::Closed));
}

#[corio::test]
async fn close_wakes_waiting_getters_with_none() {
    let q = Rc::new(Queue::<u8>::new());
    let getters: Vec<_> = (0..3)
        .map(|_| {
            let q = q.clone();
            corio::spawn(async move { q.get().await })
        })
        .collect();
    settle().await;
    q.close();
    for g in getters {
        assert_eq!(within(g).await.unwrap(), None);
    }
}

#[corio::test(start_paused = true)]
async fn a_timed_out_get_leaves_the_queue_unchanged() {
    let q = Queue::new();
    assert!(timeout(Duration::from_millis(2), q.get()).await.is_err());
    q.try_put(1).unwrap();
    q.try_put(2).unwrap();
    assert_eq!(q.len(), 2);
    assert_eq!(
        q.try_get(),
        Ok(1),
        "nothing was consumed by the timed-out get"
    );
}

#[corio::test(start_paused = true)]
async fn a_timed_out_put_inserts_nothing_and_drops_its_item() {
    let drops = Rc::new(Cell::new(0));
    let q = Queue::bounded(1);
    q.try_put(Tracked(1, drops.clone())).unwrap();
    let r = timeout(Duration::from_millis(2), q.put(Tracked(2, drops.clone()))).await;
    assert!(r.is_err());
    assert_eq!(drops.get(), 1, "the item of the timed-out put was dropped");
    assert_eq!(q.len(), 1);
    assert_eq!(q.try_get().unwrap().0, 1);
    assert!(q.is_empty());
}

#[corio::test]
async fn a_dropped_get_that_was_handed_an_item_gives_it_to_the_next_getter() {
    let q = Rc::new(Queue::new());
    let mut first = Box::pin(q.get());
    assert!(poll_once(&mut first).await.is_pending());
    let second = corio::spawn({
        let q = q.clone();
        async move { q.get().await }
    });
    settle().await;
    q.try_put(1).unwrap(); // handed to `first`, which never runs again
    drop(first);
    assert_eq!(within(second).await.unwrap(), Some(1));
    assert!(q.is_empty());
}

#[corio::test]
async fn a_dropped_get_puts_its_item_back_where_the_oldest_item_belongs() {
    // FIFO: back at the front.
    let q = Queue::new();
    let mut get = Box::pin(q.get());
    assert!(poll_once(&mut get).await.is_pending());
    q.try_put(1).unwrap();
    q.try_put(2).unwrap();
    drop(get);
    assert_eq!((q.try_get(), q.try_get()), (Ok(1), Ok(2)));

    // LIFO: back at the bottom (it is older than everything put since).
    let q = LifoQueue::new();
    let mut get = Box::pin(q.get());
    assert!(poll_once(&mut get).await.is_pending());
    q.try_put(1).unwrap();
    q.try_put(2).unwrap();
    drop(get);
    assert_eq!((q.try_get(), q.try_get()), (Ok(2), Ok(1)));
    assert_eq!(
        q.task_done(),
        Ok(()),
        "the restored item still counts as put once"
    );
    assert_eq!(q.task_done(), Ok(()));
    assert!(q.task_done().is_err());
}

#[corio::test]
async fn a_dropped_put_that_was_granted_a_slot_inserts_nothing_and_passes_the_slot_on() {
    let drops = Rc::new(Cell::new(0));
    let q = Rc::new(Queue::bounded(1));
    q.try_put(Tracked(0, drops.clone())).unwrap();
    let mut granted = Box::pin(q.put(Tracked(1, drops.clone())));
    assert!(poll_once(&mut granted).await.is_pending());
    let next = corio::spawn({
        let (q, drops) = (q.clone(), drops.clone());
        async move { q.put(Tracked(2, drops)).await.is_ok() }
    });
    settle().await;
    drop(q.try_get().unwrap()); // frees the slot: reserved for `granted`
    assert_eq!(drops.get(), 1);
    drop(granted);
    assert_eq!(
        drops.get(),
        2,
        "the dropped put's item was dropped, not inserted"
    );
    assert!(
        within(next).await.unwrap(),
        "the slot passed to the next putter"
    );
    assert_eq!(q.try_get().unwrap().0, 2);
    assert!(q.is_empty());
}

#[corio::test]
async fn a_priority_queue_hands_out_the_smallest_priority_first() {
    let q = Rc::new(PriorityQueue::new());
    for p in [5, 3, 9, 1] {
        q.put((p, format!("job{p}"))).await.unwrap();
    }
    let mut order = Vec::new();
    while let Ok((p, _)) = q.try_get() {
        order.push(p);
    }
    assert_eq!(order, [1, 3, 5, 9]);
}

#[corio::test(seed = 11)]
async fn many_producers_and_consumers_move_every_item_exactly_once() {
    let q = Rc::new(Queue::bounded(3));
    let producers: Vec<_> = (0..4u32)
        .map(|p| {
            let q = q.clone();
            corio::spawn(async move {
                for j in 0..25 {
                    q.put(p * 100 + j).await.unwrap();
                }
            })
        })
        .collect();
    let consumers: Vec<_> = (0..3)
        .map(|_| {
            let q = q.clone();
            corio::spawn(async move {
                let mut got = Vec::new();
                while let Some(item) = q.get().await {
                    got.push(item);
                    q.task_done().unwrap();
                }
                got
            })
        })
        .collect();
    for p in producers {
        within(p).await.unwrap();
    }
    within(q.join()).await;
    q.close();
    let mut all = Vec::new();
    for c in consumers {
        let got = within(c).await.unwrap();
        // One FIFO queue: each consumer sees each producer's items in order.
        for p in 0..4 {
            let mine: Vec<_> = got.iter().filter(|i| *i / 100 == p).collect();
            assert!(mine.windows(2).all(|w| w[0] < w[1]), "{mine:?}");
        }
        all.extend(got);
    }
    all.sort_unstable();
    let expected: Vec<u32> = (0..4)
        .flat_map(|p| (0..25).map(move |j| p * 100 + j))
        .collect();
    assert_eq!(all, expected);
}
