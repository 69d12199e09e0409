//! task::TaskTracker: `wait` completes only once the tracker is closed and every tracked
//! task is done; a task is done when its future completes, panics, is aborted or is
//! dropped with its runtime; `len` counts the tasks not yet done.

use std::cell::Cell;
use std::future::{pending, poll_fn, Future};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use corio::sync::Event;
use corio::task::TaskTracker;
use corio::time::timeout;

const PATIENCE: Duration = Duration::from_secs(10);

/// Poll `fut` once and report whether it completed.
async fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    poll_fn(|cx| Poll::Ready(Pin::new(&mut *fut).poll(cx))).await
}

/// Counts drops of the value it wraps, to prove when a future was dropped.
struct DropCounter(Rc<Cell<usize>>);
impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[corio::test]
async fn wait_completes_only_after_close_and_once_every_task_is_done() {
    let tracker = TaskTracker::new();
    let gates: Vec<Rc<Event>> = (0..3).map(|_| Rc::new(Event::new())).collect();
    for gate in &gates {
        let gate = gate.clone();
        tracker.spawn(async move { gate.wait().await });
    }
    assert_eq!(tracker.len(), 3);
    let mut wait = pin!(tracker.wait());
    assert!(poll_once(&mut wait).await.is_pending());

    // Tasks finishing while the tracker is open do not end the wait.
    gates[0].set();
    corio::task::yield_now().await;
    assert_eq!(tracker.len(), 2);
    assert!(poll_once(&mut wait).await.is_pending());

    // Closed, but tasks still live: still waiting.
    assert!(tracker.close());
    assert!(poll_once(&mut wait).await.is_pending());
    gates[1].set();
    corio::task::yield_now().await;
    assert_eq!(tracker.len(), 1);
    assert!(
        poll_once(&mut wait).await.is_pending(),
        "ready with a task alive"
    );

    // A task spawned into the closed tracker is waited for too.
    let late = Rc::new(Event::new());
    tracker.spawn({
        let late = late.clone();
        async move { late.wait().await }
    });
    gates[2].set();
    corio::task::yield_now().await;
    assert_eq!(tracker.len(), 1);
    assert!(poll_once(&mut wait).await.is_pending());

    late.set();
    timeout(PATIENCE, wait)
        .await
        .expect("closed and empty, yet wait never completed");
    assert!(tracker.is_empty());
}

#[corio::test]
async fn an_empty_tracker_is_done_only_while_closed() {
    let tracker = TaskTracker::new();
    assert!(
        timeout(Duration::from_millis(20), tracker.wait())
            .await
            .is_err(),
        "an open empty tracker counted as done"
    );
    tracker.close();
    tracker.wait().await;
    assert!(tracker.reopen());
    assert!(!tracker.is_closed());
    assert!(timeout(Duration::from_millis(20), tracker.wait())
        .await
        .is_err());
    // Closing an empty tracker wakes a parked wait (nothing else will).
    let waiter = corio::spawn(tracker.wait());
    corio::task::yield_now().await;
    assert!(!waiter.is_finished());
    tracker.close();
    timeout(PATIENCE, waiter)
        .await
        .expect("close did not wake the wait")
        .unwrap();
}

#[corio::test]
async fn aborted_and_panicking_tasks_count_as_done_and_their_futures_are_dropped() {
    let tracker = TaskTracker::new();
    let drops = Rc::new(Cell::new(0));
    let handles: Vec<_> = (0..5)
        .map(|_| {
            let guard = DropCounter(drops.clone());
            tracker.spawn(async move {
                let _guard = guard;
                pending::<()>().await
            })
        })
        .collect();
    let panicking = tracker.spawn(async { panic!("a tracked task panics") });
    tracker.close();
    corio::task::yield_now().await;
    assert!(panicking.await.unwrap_err().is_panic());
    assert_eq!(tracker.len(), 5, "a panicked task was not counted done");

    let mut wait = pin!(tracker.wait());
    assert!(poll_once(&mut wait).await.is_pending());
    for (i, h) in handles.into_iter().enumerate() {
        h.abort();
        assert!(h.await.unwrap_err().is_cancelled());
        assert_eq!(drops.get(), i + 1);
        assert_eq!(tracker.len(), 4 - i);
    }
    timeout(PATIENCE, wait)
        .await
        .expect("aborted tasks were not counted done");
}

#[test]
fn tasks_dropped_with_their_runtime_count_as_done() {
    let drops = Rc::new(Cell::new(0));
    let tracker = corio::run({
        let drops = drops.clone();
        async move {
            let tracker = TaskTracker::new();
            for _ in 0..3 {
                let guard = DropCounter(drops.clone());
                tracker.spawn(async move {
                    let _guard = guard;
                    pending::<()>().await
                });
            }
            // A task parked in `wait` dies with the runtime as well.
            corio::spawn(tracker.wait());
            tracker.close();
            corio::task::yield_now().await;
            assert_eq!(tracker.len(), 3);
            tracker
        }
    });
    assert_eq!(drops.get(), 3);
    assert!(tracker.is_empty());
}

#[corio::test]
async fn len_counts_tracked_tasks_tokens_and_futures_not_yet_done() {
    let tracker = TaskTracker::new();
    assert_eq!((tracker.len(), tracker.is_empty()), (0, true));
    let a = tracker.spawn(async { 1 });
    let b = tracker.spawn(async { 2 });
    let token = tracker.token();
    let inline = tracker.track_future(async { 3 });
    assert_eq!(tracker.len(), 4);
    assert_eq!(a.await.unwrap() + b.await.unwrap(), 3);
    assert_eq!(tracker.len(), 2);
    assert_eq!(inline.await, 3);
    assert_eq!(tracker.len(), 1);
    let clone = tracker.clone();
    drop(token);
    assert!(clone.is_empty() && tracker.is_empty());
}

#[corio::test]
async fn many_waits_all_wake_and_dropped_waits_do_not_get_in_the_way() {
    let tracker = TaskTracker::new();
    let gate = Rc::new(Event::new());
    tracker.spawn({
        let gate = gate.clone();
        async move { gate.wait().await }
    });
    tracker.close();
    let woken = Rc::new(Cell::new(0));
    let waiters: Vec<_> = (0..1000)
        .map(|i| {
            let tracker = tracker.clone();
            let woken = woken.clone();
            corio::spawn(async move {
                if i % 4 == 0 {
                    // Gives up: its wait is dropped while parked.
                    let _ = timeout(Duration::from_millis(1), tracker.wait()).await;
                } else {
                    tracker.wait().await;
                    woken.set(woken.get() + 1);
                }
            })
        })
        .collect();
    corio::time::sleep(Duration::from_millis(10)).await;
    gate.set();
    for w in waiters {
        timeout(PATIENCE, w)
            .await
            .expect("a wait stranded")
            .unwrap();
    }
    assert_eq!(woken.get(), 750);
}

#[corio::test]
async fn a_tracked_task_is_reported_at_the_line_that_called_tracker_spawn() {
    let tracker = TaskTracker::new();
    let line = line!() + 1;
    let handle = tracker.spawn(pending::<()>());
    let info = corio::task::all()
        .into_iter()
        .find(|t| t.id == handle.id())
        .expect("the tracked task is listed");
    assert!(
        info.spawned_at.file().ends_with("task_tracker.rs"),
        "{info:?}"
    );
    assert_eq!(info.spawned_at.line(), line);
    handle.abort();
}

#[corio::test]
async fn a_ready_wait_draws_from_the_budget() {
    let tracker = TaskTracker::new();
    tracker.close();
    let left = corio::task::budget_remaining().unwrap();
    tracker.wait().await;
    assert_eq!(corio::task::budget_remaining(), Some(left - 1));
}
