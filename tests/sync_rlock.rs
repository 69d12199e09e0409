//! RLock: re-entrant for the holding task (depth counted), other tasks wait in order.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use corio::sync::{Event, RLock};
use corio::task::yield_now;
use corio::time::timeout;

mod common;
use common::{poll_once, settle, within};

#[corio::test]
async fn the_holder_relocks_without_deadlock_and_only_the_outermost_guard_frees_it() {
    let lock = RLock::new(Cell::new(0));
    let a = lock.lock().await;
    let b = timeout(Duration::from_secs(1), lock.lock())
        .await
        .expect("re-locking from the holding task deadlocked");
    let c = lock.try_lock().expect("try_lock is re-entrant too");
    c.set(3);
    drop(c);
    drop(b);
    assert!(lock.is_locked(), "depth 1 left");
    assert!(format!("{lock:?}").contains("depth: 1"), "{lock:?}");
    drop(a);
    assert!(!lock.is_locked());
    assert_eq!(lock.into_inner().get(), 3);
}

#[corio::test]
async fn another_task_waits_until_the_outermost_guard_drops() {
    let lock = Rc::new(RLock::new(()));
    let outer = lock.lock().await;
    let inner = lock.lock().await;
    let other = corio::spawn({
        let lock = lock.clone();
        async move {
            let _g = lock.lock().await;
        }
    });
    settle().await;
    assert!(!other.is_finished());
    let other_try = corio::spawn({
        let lock = lock.clone();
        async move { lock.try_lock().is_some() }
    });
    assert!(
        !within(other_try).await.unwrap(),
        "try_lock from another task fails"
    );
    drop(inner);
    settle().await;
    assert!(!other.is_finished(), "one level is still held");
    drop(outer);
    timeout(Duration::from_secs(1), other)
        .await
        .unwrap()
        .unwrap();
    assert!(!lock.is_locked());
}

#[corio::test]
async fn tasks_waiting_for_the_rlock_are_served_in_arrival_order() {
    let lock = Rc::new(RLock::new(RefCell::new(Vec::new())));
    let held = lock.lock().await;
    let tasks: Vec<_> = (0..4)
        .map(|id| {
            let lock = lock.clone();
            corio::spawn(async move {
                let g = lock.lock().await;
                let g2 = lock.lock().await; // re-entrant inside its own turn
                g2.borrow_mut().push(id);
                drop(g2);
                yield_now().await;
                drop(g);
            })
        })
        .collect();
    settle().await;
    drop(held);
    for t in tasks {
        within(t).await.unwrap();
    }
    assert_eq!(*lock.try_lock().unwrap().borrow(), [0, 1, 2, 3]);
}

#[corio::test]
async fn a_waiter_dropped_after_being_handed_the_rlock_passes_it_on() {
    let lock = Rc::new(RLock::new(()));
    let held = lock.lock().await;
    let released = Rc::new(Event::new());
    // The waiter must be another task (the holder would just re-enter).
    let first = corio::spawn({
        let (lock, released) = (lock.clone(), released.clone());
        async move {
            let mut fut = Box::pin(lock.lock());
            assert!(poll_once(&mut fut).await.is_pending());
            released.wait().await; // main has dropped its guard: the lock is handed to `fut`
            drop(fut);
        }
    });
    settle().await;
    let second = corio::spawn({
        let lock = lock.clone();
        async move {
            let _g = lock.lock().await;
        }
    });
    settle().await;
    drop(held);
    assert!(lock.is_locked(), "handed to the first waiter");
    released.set();
    within(first).await.unwrap();
    timeout(Duration::from_secs(1), second)
        .await
        .expect("the RLock was lost with the dropped waiter")
        .unwrap();
    assert!(!lock.is_locked());
}

/// The seeds' run3 takes the lock, then calls run1 and run2, which take it again.
#[corio::test(seed = 9)]
async fn nested_sections_from_the_seed_count_every_update() {
    let state = Rc::new(RLock::new((Cell::new(0), Cell::new(0))));
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let state = state.clone();
            corio::spawn(async move {
                let outer = state.lock().await;
                {
                    let inner = state.lock().await;
                    let n = inner.0.get();
                    yield_now().await;
                    inner.0.set(n + 1);
                }
                {
                    let inner = state.lock().await;
                    let n = inner.1.get();
                    yield_now().await;
                    inner.1.set(n + 1);
                }
                drop(outer);
            })
        })
        .collect();
    for t in tasks {
        within(t).await.unwrap();
    }
    let g = state.lock().await;
    assert_eq!((g.0.get(), g.1.get()), (10, 10));
}
