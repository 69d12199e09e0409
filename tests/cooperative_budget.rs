//! The cooperative budget: every corio await point that completes without waiting draws one
//! unit; at zero the task is sent to the back of the run queue, so a task that never meets
//! `Pending` cannot hold the loop. Each test has a hog that loops on an always-ready await
//! point and a second task that records when it got its turn: without the budget the second
//! task would never run before the hog's hard cap (the tests then fail, they do not hang).

mod common;

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use corio::sync::{Barrier, Event, LifoQueue, Lock, PriorityQueue, Queue, RLock, Semaphore};
use corio::task::{budget_remaining, unconstrained};
use corio_runtime::testing::budget_forced_yield_count;

/// Iterations after which a hog gives up: far beyond any budget, so reaching it means the
/// other task was starved.
const HOG_CAP: u64 = 1_000_000;

/// Run `hog_step` in a loop in one task until a second task has run; return how many steps
/// completed before the hog saw the second task's mark. Runs with `budget` units per poll.
fn steps_before_other_task_runs<S, Fut>(budget: u32, hog_step: S) -> u64
where
    S: FnMut() -> Fut + 'static,
    Fut: Future<Output = ()>,
{
    let rt = corio::Runtime::builder()
        .task_budget(budget)
        .build()
        .unwrap();
    rt.block_on(race_a_hog(hog_step))
}

/// Inside a runtime: spawn the hog looping on `hog_step` and a task that only leaves a mark;
/// the hog's step count when it first sees the mark.
async fn race_a_hog<S, Fut>(mut hog_step: S) -> u64
where
    S: FnMut() -> Fut + 'static,
    Fut: Future<Output = ()>,
{
    let other_ran = Rc::new(Cell::new(false));
    let hog = {
        let other_ran = other_ran.clone();
        corio::spawn(async move {
            let mut steps = 0u64;
            while !other_ran.get() && steps < HOG_CAP {
                hog_step().await;
                steps += 1;
            }
            steps
        })
    };
    let other = corio::spawn(async move { other_ran.set(true) });
    let steps = hog.await.unwrap();
    other.await.unwrap();
    steps
}

/// The hog gave way exactly when its budget ran out: `budget` steps completed in its first
/// poll, the next one was cut short, the other task ran, and that step then completed (so
/// the hog counts `budget + 1` before it sees the other task's mark).
#[track_caller]
fn assert_gave_way_after(budget: u32, steps: u64) {
    assert!(
        steps < HOG_CAP,
        "the hog ran {steps} ready steps without letting another task run"
    );
    assert_eq!(
        steps,
        budget as u64 + 1,
        "the hog should give way exactly when its budget of {budget} runs out"
    );
}

#[test]
fn a_task_waiting_on_a_set_event_gives_way() {
    let ev = Rc::new(Event::new());
    ev.set();
    let steps = steps_before_other_task_runs(128, move || {
        let ev = ev.clone();
        async move { ev.wait().await }
    });
    assert_gave_way_after(128, steps);
}

#[test]
fn a_task_putting_and_getting_on_a_queue_with_room_gives_way() {
    // Each step is a put and a get: two units.
    let q = Rc::new(Queue::bounded(4));
    let steps = steps_before_other_task_runs(64, move || {
        let q = q.clone();
        async move {
            q.put(1u32).await.unwrap();
            assert_eq!(q.get().await, Some(1));
        }
    });
    assert_gave_way_after(32, steps);
}

#[test]
fn lifo_and_priority_queues_draw_from_the_budget_too() {
    let q = Rc::new(LifoQueue::new());
    let steps = steps_before_other_task_runs(10, move || {
        let q = q.clone();
        async move { q.put(1u8).await.unwrap() }
    });
    assert_gave_way_after(10, steps);
    let q = Rc::new(PriorityQueue::new());
    for i in 0..100u32 {
        q.try_put(i).unwrap();
    }
    let steps = steps_before_other_task_runs(10, move || {
        let q = q.clone();
        async move {
            q.get().await.unwrap();
        }
    });
    assert_gave_way_after(10, steps);
}

#[test]
fn a_task_acquiring_free_semaphore_permits_gives_way() {
    let sem = Rc::new(Semaphore::new(3));
    let steps = steps_before_other_task_runs(128, move || {
        let sem = sem.clone();
        async move { drop(sem.acquire().await.unwrap()) }
    });
    assert_gave_way_after(128, steps);
}

#[test]
fn a_task_taking_a_free_lock_or_rlock_gives_way() {
    let lock = Rc::new(Lock::new(0u64));
    let steps = steps_before_other_task_runs(50, move || {
        let lock = lock.clone();
        async move { *lock.lock().await += 1 }
    });
    assert_gave_way_after(50, steps);
    let rlock = Rc::new(RLock::new(()));
    let steps = steps_before_other_task_runs(50, move || {
        let rlock = rlock.clone();
        async move { drop(rlock.lock().await) }
    });
    assert_gave_way_after(50, steps);
}

#[test]
fn a_task_passing_a_barrier_of_one_gives_way() {
    let barrier = Rc::new(Barrier::new(1));
    let steps = steps_before_other_task_runs(40, move || {
        let barrier = barrier.clone();
        async move { assert!(barrier.wait().await.is_leader()) }
    });
    assert_gave_way_after(40, steps);
}

#[test]
fn a_task_awaiting_finished_join_handles_gives_way() {
    corio::run(async {
        let handles: Vec<_> = (0..200).map(|i| corio::spawn(async move { i })).collect();
        corio::task::yield_now().await; // every task finishes
        let before = budget_forced_yield_count();
        let full = budget_remaining().unwrap();
        for (i, h) in handles.into_iter().enumerate() {
            assert_eq!(h.await.unwrap(), i);
        }
        assert_eq!(
            budget_forced_yield_count() - before,
            (200 / full) as u64,
            "200 ready joins with a budget of {full} force that many yields"
        );
    });
}

#[test]
fn a_task_sleeping_until_a_past_instant_gives_way() {
    let past = std::time::Instant::now()
        .checked_sub(Duration::from_secs(1))
        .unwrap_or_else(std::time::Instant::now);
    let steps = steps_before_other_task_runs(20, move || corio::time::sleep_until(past));
    assert_gave_way_after(20, steps);
}

/// A Unix socket pair whose reading end (registered with the current runtime) has `data`
/// waiting in its buffer; keep the peer alive while the test runs.
fn readable_socket(data: &[u8]) -> (Rc<corio::io::Async<UnixStream>>, UnixStream) {
    let (a, mut b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    b.write_all(data).unwrap();
    (Rc::new(corio::io::Async::new(a).unwrap()), b)
}

#[test]
fn a_readable_loop_on_a_socket_that_stays_readable_gives_way() {
    let rt = corio::Runtime::builder().task_budget(100).build().unwrap();
    let steps = rt.block_on(async {
        let (a, _peer) = readable_socket(b"data that is never read");
        race_a_hog(move || {
            let a = a.clone();
            async move { a.readable().await.unwrap() }
        })
        .await
    });
    assert_gave_way_after(100, steps);
}

#[test]
fn a_read_loop_on_a_socket_whose_buffer_never_empties_gives_way() {
    let rt = corio::Runtime::builder().task_budget(64).build().unwrap();
    let steps = rt.block_on(async {
        let (a, _peer) = readable_socket(&[7u8; 4096]);
        race_a_hog(move || {
            let a = a.clone();
            async move {
                // One byte at a time: every read succeeds, none says WouldBlock.
                let mut byte = [0u8; 1];
                let n = a
                    .read_with(|mut s| std::io::Read::read(&mut s, &mut byte))
                    .await
                    .unwrap();
                assert_eq!(n, 1);
            }
        })
        .await
    });
    assert_gave_way_after(64, steps);
}

#[test]
fn tcp_reads_and_writes_draw_from_the_budget() {
    let rt = corio::Runtime::builder().task_budget(16).build().unwrap();
    rt.block_on(async {
        let (mut a, mut b) = common::tcp_pair().await;
        // Fill b's receive buffer first, so every 1-byte read below completes at once.
        a.write_all(&[0u8; 4096]).await.unwrap();
        let mut first = [0u8; 1];
        b.read_exact(&mut first).await.unwrap();
        common::settle().await;
        let other_ran = Rc::new(Cell::new(false));
        let o = other_ran.clone();
        let hog = corio::spawn(async move {
            let mut steps = 0u64;
            let mut byte = [0u8; 1];
            while !o.get() && steps < HOG_CAP {
                a.write_all(b"x").await.unwrap(); // one unit
                b.read_exact(&mut byte).await.unwrap(); // one unit
                steps += 1;
            }
            steps
        });
        corio::spawn(async move { other_ran.set(true) });
        assert_gave_way_after(8, hog.await.unwrap());
    });
}

#[test]
fn the_block_on_future_has_a_budget_too() {
    corio::run(async {
        let ev = Event::new();
        ev.set();
        let other_ran = Rc::new(Cell::new(false));
        let o = other_ran.clone();
        corio::spawn(async move { o.set(true) });
        let mut steps = 0;
        while !other_ran.get() && steps < HOG_CAP {
            ev.wait().await;
            steps += 1;
        }
        // 128 waits in the first poll, the 129th cut short; it completes after the spawned
        // task ran.
        assert_eq!(steps, 129, "the default budget is 128 units per poll");
    });
}

#[test]
fn a_timer_fires_while_another_task_loops_on_ready_waits() {
    corio::run(async {
        let ev = Rc::new(Event::new());
        ev.set();
        let fired = Rc::new(Cell::new(false));
        let f = fired.clone();
        let timer = corio::spawn(async move {
            corio::time::sleep(Duration::from_millis(5)).await;
            f.set(true);
        });
        let f = fired.clone();
        let hog = corio::spawn(async move {
            // Bounded by wall time so a starved timer fails the test instead of hanging it.
            let start = std::time::Instant::now();
            while !f.get() && start.elapsed() < Duration::from_secs(10) {
                ev.wait().await;
            }
            f.get()
        });
        assert!(hog.await.unwrap(), "the 5 ms timer never fired");
        timer.await.unwrap();
    });
}

#[test]
fn an_exhausted_budget_takes_nothing_from_the_primitive() {
    let rt = corio::Runtime::builder().task_budget(1).build().unwrap();
    rt.block_on(async {
        let q = Queue::new();
        q.try_put(1u32).unwrap();
        q.try_put(2u32).unwrap();
        let sem = Semaphore::new(1);
        let lock = Lock::new(());
        assert_eq!(q.get().await, Some(1)); // spends the only unit
        assert_eq!(budget_remaining(), Some(0));
        // Each of these would complete at once, but the budget is gone: Pending, and
        // dropping them must leave the item, the permit and the lock where they were.
        let mut get = pin!(q.get());
        assert!(common::poll_once(&mut get).await.is_pending());
        let mut acquire = pin!(sem.acquire());
        assert!(poll_fn(|cx| Poll::Ready(acquire.as_mut().poll(cx).is_pending())).await);
        let mut locking = pin!(lock.lock());
        assert!(poll_fn(|cx| Poll::Ready(locking.as_mut().poll(cx).is_pending())).await);
        assert_eq!(q.len(), 1, "the item stays in the queue");
        assert_eq!(sem.available_permits(), 1, "the permit stays free");
        assert!(!lock.is_locked(), "the lock stays free");
        // The task was re-queued, not parked: the next poll has a fresh unit.
        assert_eq!(get.await, Some(2));
    });
}

#[test]
fn a_pending_operation_gives_its_unit_back() {
    corio::run(async {
        let q: Queue<u32> = Queue::new();
        let left = budget_remaining().unwrap();
        let mut get = pin!(q.get());
        assert!(common::poll_once(&mut get).await.is_pending());
        assert_eq!(budget_remaining(), Some(left), "an empty get costs nothing");
        q.try_put(5).unwrap();
        assert_eq!(get.await, Some(5));
        let left = budget_remaining().unwrap();
        q.try_put(6).unwrap();
        assert_eq!(q.get().await, Some(6));
        assert_eq!(
            budget_remaining(),
            Some(left - 1),
            "a ready get costs one unit"
        );
    });
}

#[test]
fn unconstrained_runs_ready_waits_without_forced_yields() {
    corio::run(async {
        let ev = Event::new();
        ev.set();
        let other_ran = Rc::new(Cell::new(false));
        let o = other_ran.clone();
        corio::spawn(async move { o.set(true) });
        let before = budget_forced_yield_count();
        let left = budget_remaining();
        unconstrained(async {
            assert_eq!(budget_remaining(), None);
            for _ in 0..10_000 {
                ev.wait().await;
            }
        })
        .await;
        assert!(!other_ran.get(), "unconstrained gave way");
        assert_eq!(budget_forced_yield_count(), before);
        assert_eq!(budget_remaining(), left, "the outer budget is untouched");
    });
}

#[test]
fn forced_yields_are_counted() {
    corio::run(async {
        let ev = Event::new();
        ev.set();
        let before = budget_forced_yield_count();
        for _ in 0..(128 * 5) {
            ev.wait().await;
        }
        // 640 ready waits, 128 per poll: the 129th, 257th, ... wait each forced one yield.
        assert_eq!(budget_forced_yield_count() - before, 4);
    });
}

#[test]
fn no_budget_applies_outside_a_runtime() {
    assert_eq!(budget_remaining(), None);
    // A foreign executor polling corio primitives is not throttled.
    let ev = Event::new();
    ev.set();
    let mut fut = pin!(async {
        for _ in 0..10_000 {
            ev.wait().await;
        }
    });
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    assert!(fut.as_mut().poll(&mut cx).is_ready());
}

#[test]
fn a_budget_below_one_is_treated_as_one() {
    let steps = steps_before_other_task_runs(0, || async {
        let ev = Event::new();
        ev.set();
        ev.wait().await;
    });
    assert_gave_way_after(1, steps);
}

#[test]
fn a_join_set_of_finished_tasks_gives_way_and_still_yields_every_result() {
    corio::run(async {
        let mut set = corio::task::JoinSet::new();
        for i in 0..1000u64 {
            set.spawn(async move { i });
        }
        corio::task::yield_now().await; // every task finishes
        let before = budget_forced_yield_count();
        let mut sum = 0;
        while let Some(r) = set.join_next().await {
            sum += r.unwrap();
        }
        assert_eq!(sum, (0..1000u64).sum());
        // One unit per result: 1000 results at 128 per poll force 7 yields (plus none for
        // the final `None`, which comes at unit 1001 - 7 * 128 = 105 of the last poll).
        assert_eq!(budget_forced_yield_count() - before, 7);
    });
}

#[test]
fn stream_reads_and_writes_count_for_their_size() {
    corio::run(async {
        let (a, b) = corio::net::UnixStream::pair().unwrap();
        let (mut a, mut b) = (a, b);
        let chunk = vec![1u8; 5 * corio::task::BYTES_PER_UNIT];
        let left = budget_remaining().unwrap();
        a.write_all(&chunk).await.unwrap();
        assert_eq!(
            budget_remaining(),
            Some(left - 1 - 5),
            "a 20 KiB write costs its unit plus one per 4 KiB"
        );
        common::settle().await; // the bytes reach b's receive buffer (a fresh budget, too)
        let left = budget_remaining().unwrap();
        let mut buf = vec![0u8; chunk.len()];
        let n = b.try_read(&mut buf).unwrap();
        assert_eq!(n, chunk.len());
        assert_eq!(
            budget_remaining(),
            Some(left - 5),
            "try_read cannot yield, but its bytes are charged"
        );
        let left = budget_remaining().unwrap();
        a.write_all(b"small").await.unwrap();
        b.read_exact(&mut buf[..5]).await.unwrap();
        assert_eq!(
            budget_remaining(),
            Some(left - 2),
            "small reads and writes cost one unit each"
        );
    });
}

#[test]
fn a_timeout_fires_around_a_future_that_spends_the_whole_budget_every_poll() {
    corio::run(async {
        let ev = Event::new();
        ev.set();
        let start = std::time::Instant::now();
        let hog = async {
            // Ready forever: every poll ends with the budget spent, never on a real wait.
            while start.elapsed() < Duration::from_secs(10) {
                ev.wait().await;
            }
        };
        let r = corio::time::timeout(Duration::from_millis(20), hog).await;
        assert!(r.is_err(), "the timeout never fired");
        assert!(start.elapsed() < Duration::from_secs(5));
    });
}

#[test]
fn a_poll_cut_short_in_several_places_counts_as_one_forced_yield() {
    let rt = corio::Runtime::builder().task_budget(1).build().unwrap();
    rt.block_on(async {
        let ev = Event::new();
        ev.set();
        ev.wait().await; // the only unit
        let before = budget_forced_yield_count();
        let mut a = pin!(ev.wait());
        let mut b = pin!(ev.wait());
        // Both sub-waits find the budget empty in this one poll.
        let both_pending = poll_fn(|cx| {
            Poll::Ready(a.as_mut().poll(cx).is_pending() && b.as_mut().poll(cx).is_pending())
        })
        .await;
        assert!(both_pending);
        assert_eq!(budget_forced_yield_count() - before, 1);
        a.await;
        b.await;
    });
}
