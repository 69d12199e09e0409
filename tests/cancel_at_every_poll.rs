//! Cancel at every poll point: each async operation is started again and again and dropped at
//! each of its poll points in turn — unpolled, right after a pending poll (parked, as a
//! firing `timeout` would), and after the wake-up that follows it (possibly holding a lock,
//! permits, an item, a notification or data it was handed but never saw) — until it is
//! allowed to complete. After every drop the test asserts what is conserved (items, permits,
//! notifications, bytes, task results) and that every other waiter of the trial finishes
//! under a `corio::time::timeout` (nobody stranded).
//!
//! The driver is `corio_runtime::testing::{cancel_at_each_poll, poll_then_drop}`; each test
//! runs under several seeds with `explore` (`CORIO_SEEDS=N` for more, `CORIO_SEED=S` to
//! replay). `tests/cancel_safety.rs` covers the same primitives the other way round: many
//! tasks with random poll budgets at once; here one future at a time, at every point.

use std::cell::{Cell, RefCell};
use std::cmp::Ordering;
use std::collections::VecDeque;
use std::future::{pending, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use corio::net::{TcpListener, TcpStream};
use corio::sync::queue::Storage;
use corio::sync::{
    Barrier, BoundedSemaphore, Condition, Event, GenericQueue, LifoQueue, Lock, PriorityQueue,
    Queue, RLock, Semaphore,
};
use corio::task::JoinSet;
use corio::time::{sleep, timeout};
use corio_runtime::testing::{cancel_at_each_poll, explore, poll_then_drop, DropPoint, Explore};

mod common;
use common::cancel::{jitter, turns, until_or_stranded, Others, STRANDED};

/// Seeds per test in the default `cargo test`.
const SEEDS: u64 = 5;

/// Give `value` a `'static` lifetime, so guards and permits can move into spawned tasks.
/// Leaks a few bytes per seed: fine in a test.
fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

#[test]
fn event_wait_dropped_at_every_poll_point_strands_no_other_waiter() {
    explore(
        "event_wait_dropped_at_every_poll_point_strands_no_other_waiter",
        SEEDS,
        |seed| async move {
            let event: &'static Event = leak(Event::new());
            let woke: &'static Cell<u32> = leak(Cell::new(0));
            let others = &Others::default();
            let dropped = cancel_at_each_poll(
                |point| {
                    // Two waiters queued behind ours, and a setter a few turns later.
                    for _ in 0..2 {
                        others.spawn(async move {
                            event.wait().await;
                            woke.set(woke.get() + 1);
                        });
                    }
                    others.spawn(async move {
                        turns(jitter(seed, 0, point)).await;
                        event.set();
                    });
                    event.wait()
                },
                |point, out| async move {
                    others.finish(point).await;
                    assert_eq!(
                        woke.replace(0),
                        2,
                        "dropped {point}: set() woke every waiter"
                    );
                    if out.is_some() {
                        assert!(event.is_set());
                    }
                    event.clear();
                    assert!(
                        format!("{event:?}").contains("waiters: 0"),
                        "dropped {point}: the dropped wait stayed in the list: {event:?}"
                    );
                },
            )
            .await;
            assert_eq!(dropped, 3, "unpolled, parked, woken by set()");
        },
    );
}

#[test]
fn lock_dropped_at_every_poll_point_passes_the_lock_on() {
    explore(
        "lock_dropped_at_every_poll_point_passes_the_lock_on",
        SEEDS,
        |seed| async move {
            let lock: &'static Lock<u64> = leak(Lock::new(0));
            let expected = &Cell::new(0u64);
            let others = &Others::default();
            let dropped = cancel_at_each_poll(
                |point| {
                    let held = lock.try_lock().expect("the lock is free between trials");
                    others.spawn(async move {
                        turns(1 + jitter(seed, 0, point)).await;
                        drop(held); // hands the lock to the oldest waiter: ours
                    });
                    // Queued behind ours: gets the lock whether ours takes it or not.
                    others.spawn(async move {
                        *lock.lock().await += 1;
                    });
                    async move {
                        *lock.lock().await += 1;
                    }
                },
                |point, out| async move {
                    others.finish(point).await;
                    expected.set(expected.get() + 1 + out.is_some() as u64);
                    assert!(
                        !lock.is_locked(),
                        "dropped {point}: the lock was not passed on"
                    );
                    assert_eq!(*lock.try_lock().unwrap(), expected.get());
                },
            )
            .await;
            assert_eq!(dropped, 3, "unpolled, parked, granted the lock and woken");
        },
    );
}

#[test]
fn rlock_dropped_at_every_poll_point_passes_the_lock_on() {
    explore(
        "rlock_dropped_at_every_poll_point_passes_the_lock_on",
        SEEDS,
        |seed| async move {
            let lock = Rc::new(RLock::new(Cell::new(0u64)));
            let others = Others::default();
            let mut expected = 0;
            let mut dropped = 0;
            for point in DropPoint::all() {
                // Another task holds it (re-entered once) when our lock() is first polled,
                // and lets go only after that (`go` is set right before the first poll).
                let (holding, go) = (Rc::new(Cell::new(false)), Rc::new(Cell::new(false)));
                {
                    let (holder, holding, go) = (lock.clone(), holding.clone(), go.clone());
                    others.spawn(async move {
                        let outer = holder.lock().await;
                        let inner = holder.lock().await;
                        holding.set(true);
                        until_or_stranded("ours is about to be polled", || go.get()).await;
                        turns(jitter(seed, 0, point)).await;
                        inner.set(inner.get() + 1);
                        drop(inner);
                        turns(jitter(seed, 1, point)).await;
                        drop(outer);
                    });
                }
                until_or_stranded("the holder has the RLock", || holding.get()).await;
                let behind = lock.clone();
                others.spawn(async move {
                    let guard = behind.lock().await;
                    guard.set(guard.get() + 1);
                });
                go.set(true);
                let out = poll_then_drop(point, lock.lock()).await;
                let completed = out.is_some();
                if let Some(guard) = out {
                    guard.set(guard.get() + 1);
                }
                others.finish(point).await;
                expected += 2 + completed as u64;
                assert!(
                    !lock.is_locked(),
                    "dropped {point}: the RLock was not passed on"
                );
                assert_eq!(lock.try_lock().unwrap().get(), expected);
                if completed {
                    break;
                }
                dropped += 1;
            }
            assert_eq!(dropped, 3, "unpolled, parked, granted and woken");
        },
    );
}

/// Semaphore(3), all permits out in two holders; ours asks for `n`; one waiter behind asks
/// for 1 and another for all 3 (it can only finish once every permit is back).
fn semaphore_scenario(name: &str, n: usize) {
    explore(name, SEEDS, |seed| async move {
        let sem: &'static Semaphore = leak(Semaphore::new(3));
        let others = &Others::default();
        let dropped = cancel_at_each_poll(
            |point| {
                let one = sem
                    .try_acquire_many(1)
                    .expect("3 permits free between trials");
                let two = sem.try_acquire_many(2).unwrap();
                others.spawn(async move {
                    turns(jitter(seed, 0, point)).await;
                    drop(one);
                });
                others.spawn(async move {
                    turns(1 + jitter(seed, 1, point)).await;
                    drop(two);
                });
                others.spawn(async move {
                    let p = sem.acquire().await.unwrap();
                    turns(jitter(seed, 2, point)).await;
                    drop(p);
                });
                others.spawn(async move {
                    let all = sem.acquire_many(3).await.unwrap();
                    assert_eq!(all.num_permits(), 3);
                });
                async move { sem.acquire_many(n).await.map(|p| p.num_permits()) }
            },
            |point, out| async move {
                if let Some(got) = out {
                    assert_eq!(got.unwrap(), n);
                }
                others.finish(point).await;
                assert_eq!(
                    sem.available_permits(),
                    3,
                    "dropped {point}: permits lost or duplicated"
                );
            },
        )
        .await;
        assert_eq!(dropped, 3, "unpolled, parked, granted and woken");
    });
}

#[test]
fn semaphore_acquire_dropped_at_every_poll_point_conserves_permits() {
    semaphore_scenario(
        "semaphore_acquire_dropped_at_every_poll_point_conserves_permits",
        1,
    );
}

#[test]
fn semaphore_acquire_many_dropped_at_every_poll_point_conserves_permits() {
    semaphore_scenario(
        "semaphore_acquire_many_dropped_at_every_poll_point_conserves_permits",
        2,
    );
}

#[test]
fn bounded_semaphore_acquire_dropped_at_every_poll_point_conserves_its_permit() {
    explore(
        "bounded_semaphore_acquire_dropped_at_every_poll_point_conserves_its_permit",
        SEEDS,
        |seed| async move {
            let sem: &'static BoundedSemaphore = leak(BoundedSemaphore::new(1));
            let others = &Others::default();
            let dropped = cancel_at_each_poll(
                |point| {
                    assert!(sem.try_acquire(), "the permit is free between trials");
                    others.spawn(async move {
                        turns(1 + jitter(seed, 0, point)).await;
                        sem.release().unwrap();
                    });
                    others.spawn(async move {
                        sem.acquire().await;
                        turns(jitter(seed, 1, point)).await;
                        sem.release().unwrap();
                    });
                    async move {
                        sem.acquire().await;
                        sem.release().unwrap();
                    }
                },
                |point, _out| async move {
                    others.finish(point).await;
                    assert_eq!(sem.available_permits(), 1, "dropped {point}: permit lost");
                    assert!(
                        sem.release().is_err(),
                        "dropped {point}: a permit was duplicated (release past n succeeded)"
                    );
                },
            )
            .await;
            assert_eq!(dropped, 3, "unpolled, parked, granted and woken");
        },
    );
}

#[test]
fn condition_wait_dropped_at_every_poll_point_passes_the_notification_on() {
    explore(
        "condition_wait_dropped_at_every_poll_point_passes_the_notification_on",
        SEEDS,
        |seed| async move {
            let shared = Rc::new((Lock::new(0u32), Condition::new()));
            let consumed = Rc::new(Cell::new(0u32));
            let produced = Rc::new(Cell::new(0u32));
            let others = Others::default();
            let mut dropped = 0;
            for point in DropPoint::all() {
                let (lock, cond) = &*shared;
                // Ours parks first (its first poll releases the lock and parks).
                let wait = cond.wait(lock.lock().await);
                // A second waiter parks behind ours, then a notifier gives one token with one
                // notify_one, holding the lock a few turns so the notified waiter also waits
                // to re-acquire it.
                let parked = Rc::new(Cell::new(false));
                {
                    let (shared, parked, consumed) =
                        (shared.clone(), parked.clone(), consumed.clone());
                    others.spawn(async move {
                        let (lock, cond) = &*shared;
                        let guard = lock.lock().await;
                        parked.set(true);
                        let mut guard = cond.wait_while(guard, |tokens| *tokens == 0).await;
                        *guard -= 1;
                        consumed.set(consumed.get() + 1);
                    });
                }
                {
                    let (shared, produced) = (shared.clone(), produced.clone());
                    others.spawn(async move {
                        until_or_stranded("the second waiter parks", || parked.get()).await;
                        let (lock, cond) = &*shared;
                        let mut guard = lock.lock().await;
                        *guard += 1;
                        produced.set(produced.get() + 1);
                        cond.notify_one();
                        turns(jitter(seed, 0, point)).await;
                        drop(guard);
                    });
                }
                let out = poll_then_drop(point, wait).await;
                let completed = out.is_some();
                if let Some(mut guard) = out {
                    // The notification was ours, and so is the token.
                    assert_eq!(*guard, 1, "woken without a token");
                    *guard -= 1;
                    consumed.set(consumed.get() + 1);
                    // The second waiter needs a token and a notification of its own.
                    *guard += 1;
                    produced.set(produced.get() + 1);
                    cond.notify_one();
                }
                others.finish(point).await;
                assert_eq!(
                    consumed.get(),
                    produced.get(),
                    "dropped {point}: a token was not taken (a notification was lost)"
                );
                assert_eq!(*lock.try_lock().expect("the lock is free"), 0);
                if completed {
                    break;
                }
                dropped += 1;
            }
            assert!(
                dropped >= 3,
                "unpolled, parked, notified and woken (and re-locking): {dropped}"
            );
        },
    );
}

#[test]
fn barrier_wait_dropped_at_every_poll_point_neither_counts_nor_strands() {
    explore(
        "barrier_wait_dropped_at_every_poll_point_neither_counts_nor_strands",
        SEEDS,
        |seed| async move {
            let barrier: &'static Barrier = leak(Barrier::new(3));
            let released: &'static Cell<u32> = leak(Cell::new(0));
            let leaders: &'static Cell<u32> = leak(Cell::new(0));
            let others = &Others::default();
            let party = move |delay: u64| async move {
                turns(delay).await;
                let result = barrier.wait().await;
                released.set(released.get() + 1);
                leaders.set(leaders.get() + result.is_leader() as u32);
            };
            let dropped = cancel_at_each_poll(
                |point| {
                    others.spawn(party(jitter(seed, 0, point)));
                    others.spawn(party(jitter(seed, 1, point)));
                    async move { barrier.wait().await.is_leader() }
                },
                |point, out| async move {
                    if let Some(leader) = out {
                        leaders.set(leaders.get() + leader as u32);
                    } else if !point.is_woken() {
                        // Dropped before the generation tripped: it must not count. The two
                        // others park and stay parked until a third party arrives.
                        until_or_stranded("the two other parties park", || {
                            barrier.n_waiting() == 2
                        })
                        .await;
                        turns(8).await;
                        assert_eq!(
                            released.get(),
                            0,
                            "dropped {point}: the dropped arrival counted, the generation \
                             tripped with 2 of 3"
                        );
                        others.spawn(party(0));
                    }
                    others.finish(point).await;
                    assert_eq!(leaders.replace(0), 1, "dropped {point}: one leader");
                    released.set(0);
                    assert_eq!(barrier.n_waiting(), 0);
                },
            )
            .await;
            assert_eq!(dropped, 3, "unpolled, parked, released and woken");
        },
    );
}

/// A queue item that logs its drop, ordered by id (for the priority queue).
struct Tracked {
    id: u64,
    drops: &'static RefCell<Vec<u64>>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops.borrow_mut().push(self.id);
    }
}

impl PartialEq for Tracked {
    fn eq(&self, other: &Tracked) -> bool {
        self.id == other.id
    }
}
impl Eq for Tracked {}
impl PartialOrd for Tracked {
    fn partial_cmp(&self, other: &Tracked) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Tracked {
    fn cmp(&self, other: &Tracked) -> Ordering {
        self.id.cmp(&other.id)
    }
}

/// Where every item went: made, received (then dropped by the receiver), dropped.
#[derive(Default)]
struct Ledger {
    next: Cell<u64>,
    made: RefCell<Vec<u64>>,
    received: RefCell<Vec<u64>>,
    drops: RefCell<Vec<u64>>,
}

impl Ledger {
    fn item(&'static self) -> Tracked {
        let id = self.next.get();
        self.next.set(id + 1);
        Tracked {
            id,
            drops: &self.drops,
        }
    }

    /// An item that was put: it must come out exactly once.
    fn made(&self, id: u64) {
        self.made.borrow_mut().push(id);
    }

    fn receive(&self, item: Tracked) {
        self.received.borrow_mut().push(item.id);
    }

    /// Every item put came out exactly once, nothing else came out, every item was
    /// dropped exactly once.
    fn check(&self, point: DropPoint) {
        let sorted = |v: &RefCell<Vec<u64>>| {
            let mut v = v.borrow().clone();
            v.sort_unstable();
            v
        };
        assert_eq!(
            sorted(&self.received),
            sorted(&self.made),
            "dropped {point}: items lost, duplicated or invented"
        );
        assert_eq!(
            sorted(&self.drops),
            (0..self.next.get()).collect::<Vec<_>>(),
            "dropped {point}: an item was leaked or dropped twice"
        );
    }
}

/// `get` dropped at every poll point: an empty bounded queue, ours waiting first, a second
/// getter behind it, a producer that puts one item a few turns later.
async fn queue_get_scenario<S: Storage<Tracked> + 'static>(
    seed: u64,
    q: &'static GenericQueue<Tracked, S>,
) {
    let ledger: &'static Ledger = leak(Ledger::default());
    let others = &Others::default();
    let dropped = cancel_at_each_poll(
        |point| {
            others.spawn(async move {
                if let Some(item) = q.get().await {
                    ledger.receive(item);
                    q.task_done().unwrap();
                }
            });
            others.spawn(async move {
                turns(jitter(seed, 0, point)).await;
                let item = ledger.item();
                let id = item.id;
                q.put(item).await.unwrap();
                ledger.made(id);
            });
            q.get()
        },
        |point, out| async move {
            match out {
                Some(Some(item)) => {
                    ledger.receive(item);
                    q.task_done().unwrap();
                    // Ours took the only item: the second getter needs another.
                    let item = ledger.item();
                    let id = item.id;
                    q.try_put(item).map_err(|_| "room").unwrap();
                    ledger.made(id);
                }
                Some(None) => panic!("the queue is not closed"),
                // Dropped (maybe after the item was handed to it): the second getter must
                // get it without help.
                None => {}
            }
            others.finish(point).await;
            assert!(q.is_empty(), "dropped {point}: {} item(s) stuck", q.len());
            if timeout(STRANDED, q.join()).await.is_err() {
                panic!("dropped {point}: join() stranded: a task_done count went wrong");
            }
            ledger.check(point);
        },
    )
    .await;
    assert_eq!(dropped, 3, "unpolled, parked, handed an item and woken");
}

/// `put` dropped at every poll point: a full bounded(1) queue, ours waiting to put first, a
/// second putter behind it, a consumer that takes one item a few turns later.
async fn queue_put_scenario<S: Storage<Tracked> + 'static>(
    seed: u64,
    q: &'static GenericQueue<Tracked, S>,
) {
    let ledger: &'static Ledger = leak(Ledger::default());
    let others = &Others::default();
    let ours = &Cell::new(0u64);
    let dropped = cancel_at_each_poll(
        |point| {
            let first = ledger.item();
            ledger.made(first.id);
            q.try_put(first)
                .map_err(|_| "empty between trials")
                .unwrap();
            others.spawn(async move {
                let item = ledger.item();
                let id = item.id;
                q.put(item).await.unwrap();
                ledger.made(id);
            });
            others.spawn(async move {
                turns(jitter(seed, 0, point)).await;
                let item = q.get().await.unwrap();
                ledger.receive(item);
            });
            let item = ledger.item();
            ours.set(item.id);
            q.put(item)
        },
        |point, out| async move {
            match out {
                Some(Ok(())) => {
                    ledger.made(ours.get());
                    // Ours filled the freed slot: the second putter needs one more get.
                    let item = timeout(STRANDED, q.get()).await.unwrap().unwrap();
                    ledger.receive(item);
                }
                Some(Err(_)) => panic!("the queue is not closed"),
                // Dropped (maybe after a slot was reserved for it): the slot must pass to
                // the second putter, and our item must be dropped, not inserted.
                None => {}
            }
            others.finish(point).await;
            let item = q.try_get().expect("one item left (the second putter's)");
            ledger.receive(item);
            assert!(q.is_empty(), "dropped {point}: {} extra item(s)", q.len());
            ledger.check(point);
        },
    )
    .await;
    assert_eq!(dropped, 3, "unpolled, parked, granted a slot and woken");
}

#[test]
fn queue_get_and_put_dropped_at_every_poll_point_conserve_items() {
    explore(
        "queue_get_and_put_dropped_at_every_poll_point_conserve_items",
        SEEDS,
        |seed| async move {
            queue_get_scenario(seed, leak(Queue::bounded(2))).await;
            queue_put_scenario(seed, leak(Queue::bounded(1))).await;
        },
    );
}

#[test]
fn lifo_queue_get_and_put_dropped_at_every_poll_point_conserve_items() {
    explore(
        "lifo_queue_get_and_put_dropped_at_every_poll_point_conserve_items",
        SEEDS,
        |seed| async move {
            queue_get_scenario(seed, leak(LifoQueue::bounded(2))).await;
            queue_put_scenario(seed, leak(LifoQueue::bounded(1))).await;
        },
    );
}

#[test]
fn priority_queue_get_and_put_dropped_at_every_poll_point_conserve_items() {
    explore(
        "priority_queue_get_and_put_dropped_at_every_poll_point_conserve_items",
        SEEDS,
        |seed| async move {
            queue_get_scenario(seed, leak(PriorityQueue::bounded(2))).await;
            queue_put_scenario(seed, leak(PriorityQueue::bounded(1))).await;
        },
    );
}

/// Counts how often it is polled; the inner future decides when it is done.
struct CountPolls<'a, F> {
    inner: Pin<Box<F>>,
    polls: &'a Cell<u32>,
}

impl<F: Future> Future for CountPolls<'_, F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.set(self.polls.get() + 1);
        self.inner.as_mut().poll(cx)
    }
}

#[test]
fn timeout_dropped_at_every_poll_point_leaves_no_timer_behind() {
    const DEADLINE: Duration = Duration::from_millis(10);
    explore(
        "timeout_dropped_at_every_poll_point_leaves_no_timer_behind",
        SEEDS,
        |_seed| async move {
            let mut dropped = 0;
            for point in DropPoint::all() {
                // The trial runs in a task of its own, which then parks on an event and
                // counts its wake-ups: a timer of the dropped timeout that still fired
                // would wake it once more.
                let release = Rc::new(Event::new());
                let wakes = Rc::new(Cell::new(0));
                let trial = corio::spawn({
                    let (release, wakes) = (release.clone(), wakes.clone());
                    async move {
                        let out = poll_then_drop(point, timeout(DEADLINE, pending::<()>())).await;
                        if let Some(r) = &out {
                            assert!(r.is_err(), "a pending future cannot finish");
                        }
                        CountPolls {
                            inner: Box::pin(release.wait()),
                            polls: &wakes,
                        }
                        .await;
                        out.is_some()
                    }
                });
                // Until the trial parks on the event (a loaded machine may fire the trial's
                // timer and this sleep's in one turn, and a seeded order may run this task
                // first), then long enough for a stray timer of the dropped timeout to fire.
                let parked = async {
                    while wakes.get() == 0 {
                        sleep(DEADLINE).await;
                    }
                };
                timeout(STRANDED, parked)
                    .await
                    .expect("the trial never parked");
                sleep(DEADLINE * 3).await;
                release.set();
                let completed = timeout(STRANDED, trial).await.unwrap().unwrap();
                assert_eq!(
                    wakes.get(),
                    2,
                    "dropped {point}: polled once, then woken by set(): any other wake-up \
                     came from the dropped timeout's timer"
                );
                if completed {
                    break;
                }
                dropped += 1;
            }
            assert_eq!(dropped, 3, "unpolled, parked, deadline passed and woken");
        },
    );
}

#[test]
fn timeout_of_a_queue_get_dropped_at_every_poll_point_conserves_the_item() {
    const DEADLINE: Duration = Duration::from_millis(5);
    explore(
        "timeout_of_a_queue_get_dropped_at_every_poll_point_conserves_the_item",
        SEEDS,
        |seed| async move {
            let q: &'static Queue<u64> = leak(Queue::new());
            let made = &RefCell::new(Vec::new());
            let received: &'static RefCell<Vec<u64>> = leak(RefCell::new(Vec::new()));
            let next = &Cell::new(0u64);
            let others = &Others::default();
            let dropped = cancel_at_each_poll(
                |point| {
                    // A getter behind ours, and an item put right around our deadline.
                    others.spawn(async move {
                        if let Ok(Some(x)) = timeout(STRANDED, q.get()).await {
                            received.borrow_mut().push(x);
                        }
                    });
                    let id = next.replace(next.get() + 1);
                    made.borrow_mut().push(id);
                    let wait = DEADLINE + Duration::from_millis(jitter(seed, 0, point));
                    others.spawn(async move {
                        sleep(wait).await;
                        q.try_put(id).unwrap();
                    });
                    timeout(DEADLINE, q.get())
                },
                |point, out| async move {
                    match out {
                        Some(Ok(Some(x))) => {
                            received.borrow_mut().push(x);
                            // The getter behind needs an item of its own.
                            let id = next.replace(next.get() + 1);
                            made.borrow_mut().push(id);
                            q.try_put(id).unwrap();
                        }
                        Some(Ok(None)) => panic!("the queue is not closed"),
                        // Timed out or dropped: the item goes to the getter behind.
                        Some(Err(_)) | None => {}
                    }
                    others.finish(point).await;
                    assert!(q.is_empty(), "dropped {point}: an item was left behind");
                    let mut got = received.borrow().clone();
                    got.sort_unstable();
                    assert_eq!(got, *made.borrow(), "dropped {point}: item lost or doubled");
                },
            )
            .await;
            assert!(dropped >= 2, "unpolled and parked at least: {dropped}");
        },
    );
}

#[test]
fn join_set_join_next_dropped_at_every_poll_point_loses_no_result() {
    explore(
        "join_set_join_next_dropped_at_every_poll_point_loses_no_result",
        SEEDS,
        |seed| async move {
            let baseline = corio::task::active_count();
            let mut dropped = 0;
            for point in DropPoint::all() {
                let mut set = JoinSet::new();
                for i in 0..3u64 {
                    set.spawn(async move {
                        turns(1 + i + jitter(seed, i, point)).await;
                        if i == 1 {
                            panic!("task 1 panics on purpose");
                        }
                        i
                    });
                }
                let aborted = set.spawn(pending::<u64>());
                // Results: 0, 2, a panic, a cancellation; each exactly once.
                let mut results: Vec<String> = Vec::new();
                let mut record = |r: Result<u64, corio::task::JoinError>| {
                    results.push(match r {
                        Ok(v) => v.to_string(),
                        Err(e) if e.is_panic() => "panic".into(),
                        Err(e) if e.is_cancelled() => "cancelled".into(),
                        Err(e) => panic!("{e}"),
                    })
                };
                let out = poll_then_drop(point, set.join_next()).await;
                let completed = out.is_some();
                if let Some(r) = out {
                    record(r.expect("the set is not empty"));
                }
                aborted.abort();
                loop {
                    match timeout(STRANDED, set.join_next()).await {
                        Ok(Some(r)) => record(r),
                        Ok(None) => break,
                        Err(_) => panic!("dropped {point}: join_next stranded"),
                    }
                }
                results.sort();
                assert_eq!(
                    results,
                    ["0", "2", "cancelled", "panic"],
                    "dropped {point}: every result exactly once"
                );
                assert!(set.is_empty());
                assert_eq!(corio::task::active_count(), baseline, "dropped {point}");
                if completed {
                    break;
                }
                dropped += 1;
            }
            assert_eq!(dropped, 3, "unpolled, parked, a task finished and woke it");
        },
    );
}

#[test]
fn tcp_read_dropped_at_every_poll_point_loses_no_byte() {
    explore(
        "tcp_read_dropped_at_every_poll_point_loses_no_byte",
        SEEDS,
        |seed| async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let connect = corio::spawn(TcpStream::connect(addr));
            let (mut reader, _) = timeout(STRANDED, listener.accept()).await.unwrap().unwrap();
            let mut writer = timeout(STRANDED, connect).await.unwrap().unwrap().unwrap();
            // Chunk sizes around the read buffer's size (4 KiB), each sent only once the
            // reader has taken everything before it, so each read waits for it first.
            let sizes = [1usize, 7, 100, 1500, 4096, 5000, 70_000, 3];
            let data: Vec<u8> = (0..sizes.iter().sum::<usize>())
                .map(|i| (i * 31 % 251) as u8)
                .collect();
            let acked = Rc::new(Cell::new(0usize));
            let sender = corio::spawn({
                let (data, acked) = (data.clone(), acked.clone());
                async move {
                    let mut sent = 0;
                    for (c, size) in sizes.into_iter().enumerate() {
                        until_or_stranded("the reader has taken the previous chunk", || {
                            acked.get() == sent
                        })
                        .await;
                        turns(jitter(seed, c as u64, DropPoint::UNPOLLED)).await;
                        let chunk = &data[sent..sent + size];
                        timeout(STRANDED, writer.write_all(chunk))
                            .await
                            .expect("write stranded")
                            .unwrap();
                        sent += size;
                    }
                    writer.shutdown(std::net::Shutdown::Write).unwrap();
                }
            });
            let mut received = Vec::new();
            let mut buf = vec![0u8; 4096];
            let mut dropped = 0;
            'reads: loop {
                for point in DropPoint::all() {
                    let read = poll_then_drop(point, reader.read(&mut buf));
                    let Ok(out) = timeout(STRANDED, read).await else {
                        panic!("read dropped {point}: the next read was stranded")
                    };
                    match out {
                        None => dropped += 1,
                        Some(Ok(0)) => break 'reads,
                        Some(Ok(n)) => {
                            received.extend_from_slice(&buf[..n]);
                            acked.set(received.len());
                            break;
                        }
                        Some(Err(e)) => panic!("read failed: {e}"),
                    }
                }
            }
            timeout(STRANDED, sender).await.unwrap().unwrap();
            assert_eq!(received.len(), data.len(), "bytes lost or invented");
            assert!(received == data, "bytes reordered or corrupted");
            // Each chunk's first read waited: unpolled, parked, data arrived and woke it.
            assert!(dropped >= 3 * sizes.len(), "{dropped} drop points");
        },
    );
}

// ---- the method can fail: a primitive that is not cancel-safe is caught ----

/// A semaphore that is *not* cancel-safe: a permit handed to a waiter that is dropped before
/// it polls again is lost. Only here to show the checks above can fail.
#[derive(Default)]
struct LeakySemaphore {
    permits: Cell<usize>,
    waiters: RefCell<VecDeque<Rc<LeakySlot>>>,
}

#[derive(Default)]
struct LeakySlot {
    granted: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl LeakySemaphore {
    fn release(&self) {
        let next = self.waiters.borrow_mut().pop_front();
        match next {
            Some(slot) => {
                slot.granted.set(true);
                if let Some(w) = slot.waker.take() {
                    w.wake();
                }
            }
            None => self.permits.set(self.permits.get() + 1),
        }
    }

    fn acquire(&self) -> LeakyAcquire<'_> {
        LeakyAcquire {
            sem: self,
            slot: None,
        }
    }
}

struct LeakyAcquire<'a> {
    sem: &'a LeakySemaphore,
    slot: Option<Rc<LeakySlot>>,
}

impl Future for LeakyAcquire<'_> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(slot) = &self.slot {
            if slot.granted.get() {
                return Poll::Ready(());
            }
            *slot.waker.borrow_mut() = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let sem = self.sem;
        if sem.permits.get() > 0 && sem.waiters.borrow().is_empty() {
            sem.permits.set(sem.permits.get() - 1);
            return Poll::Ready(());
        }
        let slot = Rc::new(LeakySlot::default());
        *slot.waker.borrow_mut() = Some(cx.waker().clone());
        sem.waiters.borrow_mut().push_back(slot.clone());
        self.slot = Some(slot);
        Poll::Pending
    }
}

impl Drop for LeakyAcquire<'_> {
    fn drop(&mut self) {
        if let Some(slot) = &self.slot {
            // Leaves the queue if still waiting; a granted permit is forgotten (the bug).
            self.sem
                .waiters
                .borrow_mut()
                .retain(|s| !Rc::ptr_eq(s, slot));
        }
    }
}

#[test]
fn the_woken_drop_point_catches_a_semaphore_that_loses_granted_permits() {
    let failure = Explore::new("leaky")
        .seeds(1)
        .try_run(|seed| async move {
            let sem: &'static LeakySemaphore = leak(LeakySemaphore::default());
            sem.permits.set(1);
            let others = &Others::default();
            cancel_at_each_poll(
                |point| {
                    // The only permit is out; its holder gives it back a turn later.
                    assert_eq!(
                        sem.permits.replace(0),
                        1,
                        "the permit is back between trials"
                    );
                    others.spawn(async move {
                        turns(1 + jitter(seed, 0, point)).await;
                        sem.release();
                    });
                    others.spawn(async move {
                        sem.acquire().await;
                        sem.release();
                    });
                    async move {
                        sem.acquire().await;
                        sem.release();
                    }
                },
                |point, _| async move {
                    others
                        .finish_within(point, Duration::from_millis(200))
                        .await;
                },
            )
            .await;
        })
        .expect_err("the leaky semaphore must fail the check");
    let message = failure.panic_message().unwrap();
    assert!(
        message.contains("stranded: dropped after 1 poll, when woken: a task of the trial"),
        "{message}"
    );
}
