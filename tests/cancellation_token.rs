//! sync::CancellationToken: one token stops tasks on several runtimes on different OS
//! threads; child tokens are cancelled with their parent and not the other way round;
//! pending `cancelled()` futures may be dropped at any point; many waiters all wake; a wait
//! on a cancelled token draws from the cooperative budget.

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::sync::mpsc;
use std::task::Poll;
use std::time::{Duration, Instant};

use corio::sync::CancellationToken;
use corio::time::timeout;

const PATIENCE: Duration = Duration::from_secs(10);

/// Poll `fut` once and report whether it completed.
async fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    poll_fn(|cx| Poll::Ready(Pin::new(&mut *fut).poll(cx))).await
}

#[test]
fn a_token_is_clone_send_and_sync_and_so_are_its_owned_waits() {
    fn send_sync<T: Clone + Send + Sync + 'static>() {}
    fn send<T: Send + 'static>(_: &T) {}
    send_sync::<CancellationToken>();
    let token = CancellationToken::new();
    send(&token.clone().cancelled_owned());
    std::thread::scope(|s| {
        let wait = token.cancelled(); // the borrowing wait is Send too
        s.spawn(move || drop(wait));
    });
}

#[test]
fn a_token_cancelled_on_one_os_thread_stops_runtimes_parked_on_other_threads() {
    let token = CancellationToken::new();
    let (parked_tx, parked_rx) = mpsc::channel();
    let runtimes: Vec<_> = (0..3)
        .map(|i| {
            let token = token.clone();
            let parked = parked_tx.clone();
            std::thread::spawn(move || {
                corio::run(async move {
                    // Each loop runs several waiting tasks: on the token, on a child, and
                    // one checking `is_cancelled` between sleeps.
                    let child = token.child_token();
                    let a = corio::spawn(token.clone().cancelled_owned());
                    let b = corio::spawn(child.clone().cancelled_owned());
                    let polling = corio::spawn({
                        let token = token.clone();
                        async move {
                            while !token.is_cancelled() {
                                corio::time::sleep(Duration::from_millis(1)).await;
                            }
                        }
                    });
                    let mut own = pin!(token.cancelled());
                    assert!(poll_once(&mut own).await.is_pending());
                    corio::task::yield_now().await; // the spawned waiters park
                    parked.send(i).unwrap();
                    // The loop now sleeps in epoll until the other thread's cancel wakes it.
                    let started = Instant::now();
                    timeout(PATIENCE, own).await.expect("the loop's own wait");
                    for h in [a, b, polling] {
                        timeout(PATIENCE, h).await.expect("a task").unwrap();
                    }
                    assert!(child.is_cancelled());
                    started.elapsed()
                })
            })
        })
        .collect();
    for _ in 0..3 {
        parked_rx.recv().unwrap();
    }
    std::thread::sleep(Duration::from_millis(20));
    assert!(!token.is_cancelled());
    token.cancel();
    for rt in runtimes {
        let took = rt.join().expect("a runtime thread panicked");
        assert!(took < PATIENCE, "{took:?}");
    }
}

#[corio::test]
async fn cancelling_a_parent_cancels_children_and_grandchildren_but_not_the_reverse() {
    let root = CancellationToken::new();
    let child = root.child_token();
    let sibling = root.child_token();
    let grandchild = child.child_token();

    // Upwards: nothing.
    grandchild.cancel();
    assert!(grandchild.is_cancelled());
    assert!(!child.is_cancelled() && !root.is_cancelled() && !sibling.is_cancelled());
    let great = child.child_token();
    child.cancel();
    assert!(
        great.is_cancelled(),
        "a child's cancel reaches its own children"
    );
    assert!(!root.is_cancelled() && !sibling.is_cancelled());

    // Downwards, even through a middle token whose handles are all gone.
    let middle = sibling.child_token();
    let below = middle.child_token();
    drop(middle);
    let waiter = corio::spawn(below.clone().cancelled_owned());
    corio::task::yield_now().await;
    root.cancel();
    assert!(sibling.is_cancelled() && below.is_cancelled());
    timeout(PATIENCE, waiter)
        .await
        .expect("a waiter on a grandchild was not woken")
        .unwrap();

    // Born cancelled.
    let late = root.child_token();
    assert!(late.is_cancelled());
    late.cancelled().await;
    late.child_token().cancelled().await;
}

#[corio::test]
async fn dropped_pending_waits_neither_block_nor_lose_the_others_wake_up() {
    let token = CancellationToken::new();
    let completed = Rc::new(Cell::new(0));
    let mut tasks = Vec::new();
    for i in 0..100 {
        let token = token.clone();
        let completed = completed.clone();
        tasks.push(corio::spawn(async move {
            // Every third waiter gives up after a short while (its future is dropped while
            // pending); the rest wait for the cancel.
            if i % 3 == 0 {
                let _ = timeout(Duration::from_millis(1), token.cancelled()).await;
            } else {
                token.cancelled().await;
                completed.set(completed.get() + 1);
            }
        }));
    }
    // Some dropped right after registering, some never polled at all.
    for _ in 0..10 {
        let mut wait = pin!(token.cancelled());
        assert!(poll_once(&mut wait).await.is_pending());
    }
    drop(token.cancelled());
    corio::time::sleep(Duration::from_millis(20)).await;
    token.cancel();
    for t in tasks {
        timeout(PATIENCE, t)
            .await
            .expect("a waiter stranded")
            .unwrap();
    }
    assert_eq!(completed.get(), 66);
    // A future polled before the cancel and dropped after it (woken, never polled again).
    let token = CancellationToken::new();
    {
        let mut wait = pin!(token.cancelled());
        assert!(poll_once(&mut wait).await.is_pending());
        token.cancel();
    }
    token.cancelled().await;
}

#[corio::test]
async fn ten_thousand_waiters_across_tasks_and_a_thread_all_wake_on_one_cancel() {
    let token = CancellationToken::new();
    let woken = Rc::new(Cell::new(0usize));
    let tasks: Vec<_> = (0..10_000)
        .map(|_| {
            let token = token.clone();
            let woken = woken.clone();
            corio::spawn(async move {
                token.cancelled().await;
                woken.set(woken.get() + 1);
            })
        })
        .collect();
    corio::task::yield_now().await;
    assert_eq!(woken.get(), 0);
    // Cancelled from another OS thread: every wake goes through the loop's inject queue.
    let remote = token.clone();
    std::thread::spawn(move || remote.cancel()).join().unwrap();
    for t in tasks {
        timeout(PATIENCE, t).await.unwrap().unwrap();
    }
    assert_eq!(woken.get(), 10_000);
}

#[corio::test]
async fn a_wait_on_a_cancelled_token_draws_from_the_budget_and_a_pending_one_does_not() {
    let token = CancellationToken::new();
    let left = corio::task::budget_remaining().expect("a budget applies in a task poll");
    let mut wait = pin!(token.cancelled());
    assert!(poll_once(&mut wait).await.is_pending());
    assert_eq!(
        corio::task::budget_remaining(),
        Some(left),
        "pending waits are free"
    );
    token.cancel();
    wait.await;
    assert_eq!(corio::task::budget_remaining(), Some(left - 1));

    // A loop of ready waits gives way to other tasks instead of holding the loop.
    let other_ran = Rc::new(Cell::new(false));
    let other = corio::spawn({
        let other_ran = other_ran.clone();
        async move { other_ran.set(true) }
    });
    let mut waits = 0;
    while !other_ran.get() {
        token.cancelled().await;
        waits += 1;
        assert!(waits < 10_000, "ready waits never yielded");
    }
    other.await.unwrap();
}

#[corio::test]
async fn a_drop_guard_cancels_on_drop_unless_disarmed() {
    let token = CancellationToken::new();
    let disarmed = token.clone().drop_guard().disarm();
    drop(disarmed);
    assert!(!token.is_cancelled());
    let waiter = corio::spawn(token.clone().cancelled_owned());
    {
        let _guard = token.clone().drop_guard();
        corio::task::yield_now().await;
        assert!(!token.is_cancelled());
    }
    assert!(token.is_cancelled());
    waiter.await.unwrap();
}
