//! Cancel safety of every sync primitive.
//!
//! Each scenario runs under many seeds (shuffled scheduling). Some waiters go through
//! `cancel_after(k, fut)`: polled `k` times, yielding between polls so other tasks run (and
//! may grant it a lock, permits, a notification, an item, a slot), then dropped at the next
//! poll point without being polled again. `k` varies per task, round and seed, so futures
//! are dropped at each poll point, both still waiting and already granted.
//!
//! The checks: what is counted is conserved (items, permits, tokens, lock entries), and no
//! waiter is stranded — every scenario must finish under a generous timeout.

use std::cell::{Cell, RefCell};
use std::cmp::Ordering;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use corio::sync::queue::Storage;
use corio::sync::{
    Barrier, BoundedSemaphore, Condition, Event, GenericQueue, LifoQueue, Lock, PriorityQueue,
    Queue, RLock, Semaphore,
};
use corio::task::yield_now;
use corio::time::timeout;

mod common;
// `until` has no time limit of its own: a scenario that never gets there times out.
use common::{poll_once, until};

const SEEDS: u64 = 50;

/// Polls its future at most `polls` times (yielding to other tasks after each pending
/// poll), then drops it at the next poll point; `None` if it was dropped.
struct CancelAfter<F> {
    fut: Option<Pin<Box<F>>>,
    polls_left: usize,
}

fn cancel_after<F: Future>(polls: usize, fut: F) -> CancelAfter<F> {
    CancelAfter {
        fut: Some(Box::pin(fut)),
        polls_left: polls,
    }
}

impl<F: Future> Future for CancelAfter<F> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<F::Output>> {
        let this = self.get_mut();
        let Some(fut) = this.fut.as_mut() else {
            panic!("CancelAfter polled after completion")
        };
        if this.polls_left == 0 {
            // Dropped here, whatever happened to it since its last poll.
            this.fut = None;
            return Poll::Ready(None);
        }
        this.polls_left -= 1;
        match fut.as_mut().poll(cx) {
            Poll::Ready(out) => {
                this.fut = None;
                Poll::Ready(Some(out))
            }
            Poll::Pending => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }
}

/// How many polls a flaky waiter gets: 0 (dropped unpolled) to 4, mixed from the inputs.
fn budget(seed: u64, task: u64, round: u64) -> usize {
    let mut x = seed.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ task.wrapping_add(1).wrapping_mul(0xBF58_476D_1CE4_E5B9)
        ^ round.wrapping_add(1).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 29;
    x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    ((x >> 32) % 5) as usize
}

/// Let other tasks run for a seed-dependent number of turns.
async fn jitter(seed: u64, task: u64, round: u64) {
    for _ in 0..budget(seed, task, round + 1000) {
        yield_now().await;
    }
}

/// Run `scenario` on a fresh runtime per seed; a scenario that does not finish has a
/// stranded waiter.
fn run_seeds<F, Fut>(name: &str, scenario: F)
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = ()>,
{
    for seed in 0..SEEDS {
        let rt = corio::Runtime::builder().seed(seed).build().unwrap();
        rt.block_on(async {
            if timeout(Duration::from_secs(10), scenario(seed))
                .await
                .is_err()
            {
                panic!("{name}, seed {seed}: a waiter was stranded (the scenario never finished)");
            }
        });
    }
}

#[test]
fn lock_entries_are_exclusive_and_counted_and_nobody_is_stranded() {
    run_seeds("Lock", |seed| async move {
        let lock = Rc::new(Lock::new(0u32));
        let inside = Rc::new(Cell::new(false));
        let entered = Rc::new(Cell::new(0u32));
        let tasks: Vec<_> = (0..8u64)
            .map(|t| {
                let (lock, inside, entered) = (lock.clone(), inside.clone(), entered.clone());
                corio::spawn(async move {
                    for round in 0..6 {
                        let guard = if t % 3 == 0 {
                            Some(lock.lock().await)
                        } else {
                            cancel_after(budget(seed, t, round), lock.lock()).await
                        };
                        if let Some(mut guard) = guard {
                            assert!(!inside.replace(true), "two tasks inside the lock");
                            jitter(seed, t, round).await;
                            *guard += 1;
                            inside.set(false);
                            entered.set(entered.get() + 1);
                        }
                        jitter(seed, t + 100, round).await;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert!(
            !lock.is_locked(),
            "a lock handed to a dropped waiter was not passed on"
        );
        assert_eq!(*lock.try_lock().unwrap(), entered.get());
    });
}

#[test]
fn rlock_entries_are_exclusive_per_task_and_it_ends_free() {
    run_seeds("RLock", |seed| async move {
        let lock = Rc::new(RLock::new(Cell::new(0u32)));
        let inside = Rc::new(Cell::new(false));
        let entered = Rc::new(Cell::new(0u32));
        let tasks: Vec<_> = (0..6u64)
            .map(|t| {
                let (lock, inside, entered) = (lock.clone(), inside.clone(), entered.clone());
                corio::spawn(async move {
                    for round in 0..5 {
                        let guard = if t % 3 == 0 {
                            Some(lock.lock().await)
                        } else {
                            cancel_after(budget(seed, t, round), lock.lock()).await
                        };
                        if let Some(outer) = guard {
                            assert!(!inside.replace(true), "two tasks inside the RLock");
                            let mut nested = Box::pin(lock.lock());
                            let Poll::Ready(inner) = poll_once(&mut nested).await else {
                                panic!("the holder had to wait to re-lock");
                            };
                            jitter(seed, t, round).await;
                            inner.set(inner.get() + 1);
                            drop(inner);
                            assert!(lock.is_locked());
                            inside.set(false);
                            drop(outer);
                            entered.set(entered.get() + 1);
                        }
                        jitter(seed, t + 100, round).await;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert!(!lock.is_locked());
        assert_eq!(lock.try_lock().unwrap().get(), entered.get());
    });
}

#[test]
fn semaphore_permits_are_conserved_and_never_exceeded() {
    run_seeds("Semaphore", |seed| async move {
        let sem = Rc::new(Semaphore::new(3));
        let in_use = Rc::new(Cell::new(0usize));
        let tasks: Vec<_> = (0..8u64)
            .map(|t| {
                let (sem, in_use) = (sem.clone(), in_use.clone());
                corio::spawn(async move {
                    for round in 0..6 {
                        let n = 1 + ((t + round) % 3) as usize; // 1, 2 or all 3 permits
                        let permit = if t % 3 == 0 {
                            Some(sem.acquire_many(n).await)
                        } else {
                            cancel_after(budget(seed, t, round), sem.acquire_many(n)).await
                        };
                        if let Some(permit) = permit {
                            let permit = permit.unwrap();
                            assert_eq!(permit.num_permits(), n);
                            in_use.set(in_use.get() + n);
                            assert!(in_use.get() <= 3, "more permits out than exist");
                            jitter(seed, t, round).await;
                            in_use.set(in_use.get() - n);
                        }
                        jitter(seed, t + 100, round).await;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(
            sem.available_permits(),
            3,
            "permits were lost or duplicated"
        );
        sem.try_acquire_many(3).unwrap().forget();
        assert_eq!(sem.available_permits(), 0);
    });
}

#[test]
fn semaphore_close_fails_every_waiter_and_all_permits_come_back() {
    run_seeds("Semaphore::close", |seed| async move {
        let sem = Rc::new(Semaphore::new(2));
        let tasks: Vec<_> = (0..6u64)
            .map(|t| {
                let sem = sem.clone();
                corio::spawn(async move {
                    for round in 0.. {
                        let r = if t % 2 == 0 {
                            Some(sem.acquire().await)
                        } else {
                            cancel_after(budget(seed, t, round), sem.acquire()).await
                        };
                        match r {
                            Some(Ok(_permit)) => jitter(seed, t, round).await,
                            Some(Err(_)) => return,
                            None => {}
                        }
                        jitter(seed, t + 100, round).await;
                    }
                })
            })
            .collect();
        jitter(seed, 99, 0).await;
        jitter(seed, 99, 1).await;
        sem.close();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(sem.available_permits(), 2);
        assert!(sem.acquire().await.is_err());
    });
}

#[test]
fn bounded_semaphore_permits_are_conserved_and_over_release_is_still_caught() {
    run_seeds("BoundedSemaphore", |seed| async move {
        let sem = Rc::new(BoundedSemaphore::new(2));
        let inside = Rc::new(Cell::new(0usize));
        let tasks: Vec<_> = (0..6u64)
            .map(|t| {
                let (sem, inside) = (sem.clone(), inside.clone());
                corio::spawn(async move {
                    for round in 0..6 {
                        let got = if t % 3 == 0 {
                            sem.acquire().await;
                            true
                        } else {
                            cancel_after(budget(seed, t, round), sem.acquire())
                                .await
                                .is_some()
                        };
                        if got {
                            inside.set(inside.get() + 1);
                            assert!(inside.get() <= 2);
                            jitter(seed, t, round).await;
                            inside.set(inside.get() - 1);
                            sem.release().unwrap();
                        }
                        jitter(seed, t + 100, round).await;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(sem.available_permits(), 2);
        assert!(sem.release().is_err());
    });
}

#[test]
fn event_wakes_every_live_waiter_and_keeps_no_dropped_one() {
    run_seeds("Event", |seed| async move {
        let event = Rc::new(Event::new());
        for round in 0..4u64 {
            let woken = Rc::new(Cell::new(0));
            let waiters: Vec<_> = (0..6u64)
                .map(|t| {
                    let (event, woken) = (event.clone(), woken.clone());
                    corio::spawn(async move {
                        jitter(seed, t, round).await;
                        if t % 2 == 0 {
                            event.wait().await;
                            woken.set(woken.get() + 1);
                        } else if cancel_after(budget(seed, t, round), event.wait())
                            .await
                            .is_some()
                        {
                            woken.set(woken.get() + 1);
                        }
                    })
                })
                .collect();
            jitter(seed, 99, round).await;
            event.set();
            for w in waiters {
                w.await.unwrap();
            }
            assert!(woken.get() >= 3, "every plain waiter returns");
            event.clear();
            assert!(format!("{event:?}").contains("waiters: 0"), "{event:?}");
            let mut wait = Box::pin(event.wait());
            assert!(
                poll_once(&mut wait).await.is_pending(),
                "cleared: wait blocks"
            );
        }
    });
}

#[test]
fn condition_notifications_are_passed_on_so_no_consumer_is_stranded() {
    run_seeds("Condition", |seed| async move {
        // Supply is made to match demand exactly, so a single lost notification strands a
        // consumer: every consumer parks before any token exists, each token comes with one
        // notify_one, and tokens taken by flaky consumers are topped up at the end.
        let shared = Rc::new((Lock::new(0u32), Condition::new()));
        let parked = Rc::new(Cell::new(0u32));
        let flaky_took = Rc::new(Cell::new(0u32));
        async fn consume(shared: &(Lock<u32>, Condition), parked: &Cell<u32>) {
            let (lock, cond) = shared;
            let guard = lock.lock().await;
            parked.set(parked.get() + 1);
            let mut guard = cond.wait_while(guard, |tokens| *tokens == 0).await;
            *guard -= 1;
        }
        let mut spawn_consumer = |t: u64| {
            let (shared, parked, flaky_took) = (shared.clone(), parked.clone(), flaky_took.clone());
            corio::spawn(async move {
                if t < 4 {
                    consume(&shared, &parked).await;
                } else {
                    // At least one poll, so it parks; then dropped while parked, after being
                    // notified, or while re-acquiring the lock.
                    let fut = consume(&shared, &parked);
                    if cancel_after(budget(seed, t, 0) + 1, fut).await.is_some() {
                        flaky_took.set(flaky_took.get() + 1);
                    }
                }
            })
        };
        let plain: Vec<_> = (0..4).map(&mut spawn_consumer).collect();
        let flaky: Vec<_> = (4..8).map(&mut spawn_consumer).collect();
        until(|| parked.get() == 8).await;
        let produce = |n: u64| {
            let shared = shared.clone();
            async move {
                // Notify while holding the lock (Python's `with cond: cond.notify()`), so
                // notified consumers also wait, and get dropped, while re-acquiring it.
                let (lock, cond) = &*shared;
                let mut guard = lock.lock().await;
                *guard += 1;
                cond.notify_one();
                jitter(seed, 99, n).await;
                drop(guard);
                jitter(seed, 98, n).await;
            }
        };
        for n in 0..4 {
            produce(n).await;
        }
        for f in flaky {
            f.await.unwrap();
        }
        for n in 0..flaky_took.get() {
            produce(10 + n as u64).await;
        }
        for p in plain {
            p.await.unwrap();
        }
        assert_eq!(*shared.0.lock().await, 0, "every token was taken");
    });
}

#[test]
fn condition_notify_n_wakes_exactly_n_waiters_despite_drops() {
    run_seeds("Condition::notify(n)", |seed| async move {
        let shared = Rc::new((Lock::new(()), Condition::new()));
        let woken = Rc::new(Cell::new(0u32));
        let parked = Rc::new(Cell::new(0u32));
        // Four plain waiters wait for good; four flaky ones park, then are dropped at some
        // poll point (before or after being notified, while parked or re-locking).
        let mut spawn_waiter = |t: u64| {
            let (shared, woken, parked) = (shared.clone(), woken.clone(), parked.clone());
            corio::spawn(async move {
                jitter(seed, t, 0).await;
                let (lock, cond) = &*shared;
                let guard = lock.lock().await;
                parked.set(parked.get() + 1);
                let wait = cond.wait(guard);
                let done = if t < 4 {
                    Some(wait.await)
                } else {
                    cancel_after(budget(seed, t, 0) + 1, wait).await
                };
                if done.is_some() {
                    woken.set(woken.get() + 1);
                }
            })
        };
        let plain: Vec<_> = (0..4).map(&mut spawn_waiter).collect();
        let flaky: Vec<_> = (4..8).map(&mut spawn_waiter).collect();
        until(|| parked.get() == 8).await;
        shared.1.notify(4);
        for f in flaky {
            f.await.unwrap();
        }
        // Each of the 4 notifications is used by a waiter that returns, or passed on to one
        // that is still parked (four plain ones always are): 4 wake, however drops fall.
        until(|| woken.get() == 4).await;
        for _ in 0..16 {
            yield_now().await;
        }
        assert_eq!(woken.get(), 4, "notify(4) woke more than 4");
        shared.1.notify_all();
        for p in plain {
            p.await.unwrap();
        }
    });
}

#[test]
fn barrier_waits_dropped_before_the_generation_fills_do_not_count() {
    run_seeds("Barrier", |seed| async move {
        const GENERATIONS: usize = 3;
        let barrier = Rc::new(Barrier::new(4));
        let gates: Rc<Vec<Event>> = Rc::new((0..GENERATIONS).map(|_| Event::new()).collect());
        // Tasks 0 and 1 arrive freely; task 2 arrives once the gate opens; task 3 first
        // arrives and leaves several times (the generation cannot fill without task 2),
        // then opens the gate and waits for good. A dropped arrival that still counted would
        // trip the generation early and strand task 3.
        let tasks: Vec<_> = (0..4u64)
            .map(|t| {
                let (barrier, gates) = (barrier.clone(), gates.clone());
                corio::spawn(async move {
                    let mut leaders = Vec::new();
                    for (g, gate) in gates.iter().enumerate() {
                        let g = g as u64;
                        jitter(seed, t, g).await;
                        match t {
                            2 => gate.wait().await,
                            3 => {
                                for attempt in 0..3 {
                                    let r = cancel_after(budget(seed, g, attempt), barrier.wait());
                                    assert!(r.await.is_none(), "a generation of 3 tripped");
                                }
                                gate.set();
                            }
                            _ => {}
                        }
                        leaders.push(barrier.wait().await.is_leader());
                    }
                    leaders
                })
            })
            .collect();
        let mut per_generation = [0; GENERATIONS];
        for t in tasks {
            for (g, leader) in t.await.unwrap().into_iter().enumerate() {
                per_generation[g] += leader as usize;
            }
        }
        assert_eq!(
            per_generation, [1; GENERATIONS],
            "exactly one leader per generation"
        );
        assert_eq!(barrier.n_waiting(), 0);
    });
}

/// A queue item that logs its drop: every item must be dropped exactly once.
struct Item {
    id: u32,
    drops: Rc<RefCell<Vec<u32>>>,
}

impl Drop for Item {
    fn drop(&mut self) {
        self.drops.borrow_mut().push(self.id);
    }
}

impl PartialEq for Item {
    fn eq(&self, other: &Item) -> bool {
        self.id == other.id
    }
}
impl Eq for Item {}
impl PartialOrd for Item {
    fn partial_cmp(&self, other: &Item) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Item {
    fn cmp(&self, other: &Item) -> Ordering {
        self.id.cmp(&other.id)
    }
}

/// Producers put (some puts dropped at poll points), consumers get (some gets dropped),
/// a joiner waits for all `task_done`s; then the queue closes mid-flight or after a drain.
async fn queue_scenario<S: Storage<Item> + 'static>(
    seed: u64,
    q: Rc<GenericQueue<Item, S>>,
    close_early: bool,
) {
    const PRODUCERS: u64 = 3;
    const PER_PRODUCER: u64 = 12;
    let drops = Rc::new(RefCell::new(Vec::new()));
    let put_ok = Rc::new(RefCell::new(Vec::new()));
    let received = Rc::new(RefCell::new(Vec::new()));
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let (q, drops, put_ok) = (q.clone(), drops.clone(), put_ok.clone());
            corio::spawn(async move {
                for j in 0..PER_PRODUCER {
                    let id = (p * 100 + j) as u32;
                    let item = Item {
                        id,
                        drops: drops.clone(),
                    };
                    let r = if j % 3 == 0 {
                        Some(q.put(item).await)
                    } else {
                        cancel_after(budget(seed, p, j), q.put(item)).await
                    };
                    match r {
                        Some(Ok(())) => put_ok.borrow_mut().push(id),
                        Some(Err(closed)) => {
                            assert_eq!(closed.0.id, id, "the closed put hands its item back");
                        }
                        None => {}
                    }
                    jitter(seed, p + 10, j).await;
                }
            })
        })
        .collect();
    let consumers: Vec<_> = (0..3u64)
        .map(|c| {
            let (q, received) = (q.clone(), received.clone());
            corio::spawn(async move {
                for round in 0.. {
                    let r = if c == 0 {
                        Some(q.get().await)
                    } else {
                        cancel_after(budget(seed, c + 20, round), q.get()).await
                    };
                    match r {
                        Some(Some(item)) => {
                            received.borrow_mut().push(item.id);
                            drop(item);
                            q.task_done().unwrap();
                        }
                        Some(None) => return,
                        None => {}
                    }
                    jitter(seed, c + 30, round).await;
                }
            })
        })
        .collect();
    if close_early {
        jitter(seed, 98, 0).await;
        jitter(seed, 98, 1).await;
        q.close();
    }
    for p in producers {
        p.await.unwrap();
    }
    // A joiner that gives up part-way must not disturb the real one.
    let _ = cancel_after(budget(seed, 97, 0), q.join()).await;
    q.join().await;
    q.close();
    for c in consumers {
        c.await.unwrap();
    }

    let mut put_ok = put_ok.take();
    let mut received = received.take();
    put_ok.sort_unstable();
    received.sort_unstable();
    assert_eq!(
        received, put_ok,
        "every item whose put succeeded is received exactly once, and no other item is"
    );
    let mut drops = drops.take();
    drops.sort_unstable();
    let all: Vec<u32> = (0..PRODUCERS)
        .flat_map(|p| (0..PER_PRODUCER).map(move |j| (p * 100 + j) as u32))
        .collect();
    assert_eq!(
        drops, all,
        "every item is dropped exactly once (none leaked, none twice)"
    );
    assert!(q.is_empty());
    assert!(q.task_done().is_err(), "task_done count is exact");
}

#[test]
fn queue_items_are_conserved_when_puts_and_gets_are_dropped() {
    run_seeds("Queue::bounded(2)", |seed| {
        queue_scenario(seed, Rc::new(Queue::bounded(2)), false)
    });
    run_seeds("Queue::new()", |seed| {
        queue_scenario(seed, Rc::new(Queue::new()), false)
    });
}

#[test]
fn lifo_and_priority_queue_items_are_conserved_when_puts_and_gets_are_dropped() {
    run_seeds("LifoQueue::bounded(2)", |seed| {
        queue_scenario(seed, Rc::new(LifoQueue::bounded(2)), false)
    });
    run_seeds("PriorityQueue::bounded(2)", |seed| {
        queue_scenario(seed, Rc::new(PriorityQueue::bounded(2)), false)
    });
}

#[test]
fn queue_items_are_conserved_when_it_closes_with_waiters_on_both_sides() {
    run_seeds("Queue close", |seed| {
        queue_scenario(seed, Rc::new(Queue::bounded(1)), true)
    });
}
