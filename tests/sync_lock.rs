//! Lock: exclusive across awaits, FIFO hand-over without barging, cancel-safe waiters.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use corio::sync::Lock;
use corio::task::yield_now;
use corio::time::timeout;

mod common;
use common::{poll_once, settle, until, within};

async fn exclusive_increments() {
    let lock = Rc::new(Lock::new(0u32));
    let inside = Rc::new(Cell::new(false));
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (lock, inside) = (lock.clone(), inside.clone());
            corio::spawn(async move {
                for _ in 0..10 {
                    let mut guard = lock.lock().await;
                    assert!(!inside.replace(true), "two tasks inside the lock");
                    let read = *guard;
                    yield_now().await; // others run, but cannot enter
                    *guard = read + 1;
                    inside.set(false);
                }
            })
        })
        .collect();
    for t in tasks {
        within(t).await.unwrap();
    }
    assert_eq!(*lock.lock().await, 100, "no update was lost");
}

#[corio::test]
async fn the_lock_keeps_read_modify_write_exclusive_across_awaits() {
    exclusive_increments().await;
}

#[corio::test(seed = 7)]
async fn the_lock_is_exclusive_under_shuffled_scheduling_too() {
    exclusive_increments().await;
}

#[corio::test(seed = 21)]
async fn waiters_get_the_lock_in_arrival_order() {
    let lock = Rc::new(Lock::new(()));
    let order = Rc::new(RefCell::new(Vec::new()));
    let arrived = Rc::new(Cell::new(0));
    let held = lock.lock().await;
    let mut tasks = Vec::new();
    for id in 0..6 {
        let (lock, order, a) = (lock.clone(), order.clone(), arrived.clone());
        tasks.push(corio::spawn(async move {
            a.set(a.get() + 1);
            let _g = lock.lock().await;
            order.borrow_mut().push(id);
            yield_now().await;
        }));
        until(|| arrived.get() == id + 1).await; // parked before the next one arrives
    }
    drop(held);
    for t in tasks {
        within(t).await.unwrap();
    }
    assert_eq!(*order.borrow(), [0, 1, 2, 3, 4, 5]);
}

#[corio::test]
async fn try_lock_cannot_barge_in_while_the_lock_is_handed_to_a_waiter() {
    let lock = Rc::new(Lock::new(0));
    let guard = lock.lock().await;
    let waiter = corio::spawn({
        let lock = lock.clone();
        async move { *lock.lock().await += 1 }
    });
    settle().await;
    drop(guard); // handed to the waiter, which has not run yet
    assert!(lock.is_locked());
    assert!(lock.try_lock().is_none());
    within(waiter).await.unwrap();
    assert_eq!(*lock.try_lock().unwrap(), 1);
}

#[corio::test]
async fn a_waiter_dropped_after_being_handed_the_lock_passes_it_on() {
    let lock = Rc::new(Lock::new(Vec::new()));
    let guard = lock.lock().await;
    let mut first = Box::pin(lock.lock());
    assert!(poll_once(&mut first).await.is_pending());
    let second = corio::spawn({
        let lock = lock.clone();
        async move { lock.lock().await.push("second") }
    });
    settle().await;
    drop(guard); // handed to `first`
    drop(first); // which never takes it
    timeout(Duration::from_secs(1), second)
        .await
        .expect("the lock was lost with the dropped waiter")
        .unwrap();
    assert_eq!(*lock.try_lock().unwrap(), ["second"]);
}

#[corio::test]
async fn a_waiter_dropped_while_waiting_just_leaves_the_queue() {
    let lock = Lock::new(());
    let guard = lock.lock().await;
    let mut waiter = Box::pin(lock.lock());
    assert!(poll_once(&mut waiter).await.is_pending());
    drop(waiter);
    drop(guard);
    assert!(!lock.is_locked(), "nobody is left to hand the lock to");
}

#[corio::test(start_paused = true)]
async fn a_timed_out_lock_leaves_it_usable() {
    let lock = Lock::new(1);
    let guard = lock.lock().await;
    assert!(timeout(Duration::from_millis(2), lock.lock())
        .await
        .is_err());
    drop(guard);
    assert_eq!(
        *timeout(Duration::from_millis(50), lock.lock())
            .await
            .unwrap(),
        1
    );
}

#[corio::test]
async fn aborting_a_task_that_waits_for_the_lock_strands_nobody() {
    let lock = Rc::new(Lock::new(()));
    let guard = lock.lock().await;
    let aborted = corio::spawn({
        let lock = lock.clone();
        async move { drop(lock.lock().await) }
    });
    settle().await;
    aborted.abort();
    settle().await;
    drop(guard);
    assert!(!lock.is_locked());
}

#[test]
fn get_mut_and_into_inner_need_no_locking() {
    let mut lock = Lock::new(String::from("a"));
    lock.get_mut().push('b');
    assert!(format!("{lock:?}").contains("locked: false"));
    assert_eq!(lock.into_inner(), "ab");
}

#[corio::test]
async fn the_guard_derefs_to_the_data_and_shows_it_in_debug() {
    let lock = Lock::new(vec![1]);
    let mut guard = lock.lock().await;
    guard.push(2);
    assert_eq!(*guard, [1, 2]);
    assert_eq!(format!("{guard:?}"), "[1, 2]");
}
