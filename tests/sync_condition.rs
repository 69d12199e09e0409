//! Condition: wait releases and re-acquires the lock, notify/notify(n)/notify_all wake in
//! arrival order, and notifications given to dropped waiters pass on.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use corio::sync::{Condition, Lock};
use corio::task::JoinHandle;
use corio::time::timeout;

mod common;
use common::{poll_once, settle, until, within};

type Shared = Rc<(Lock<()>, Condition, RefCell<Vec<usize>>)>;

/// Spawn `n` tasks that each wait once, in order, then log their id.
async fn parked_waiters(shared: &Shared, n: usize) -> Vec<JoinHandle<()>> {
    let parked = Rc::new(Cell::new(0));
    let mut handles = Vec::new();
    for id in 0..n {
        let (shared, p) = (shared.clone(), parked.clone());
        handles.push(corio::spawn(async move {
            let (lock, cond, log) = &*shared;
            let guard = lock.lock().await;
            p.set(p.get() + 1);
            let _guard = cond.wait(guard).await;
            log.borrow_mut().push(id);
        }));
        until(|| parked.get() == id + 1).await;
    }
    handles
}

fn shared() -> Shared {
    Rc::new((Lock::new(()), Condition::new(), RefCell::new(Vec::new())))
}

#[corio::test]
async fn wait_releases_the_lock_while_parked_and_holds_it_again_on_return() {
    let state = Rc::new((Lock::new(0), Condition::new()));
    let waiter = corio::spawn({
        let state = state.clone();
        async move {
            let (lock, cond) = &*state;
            let guard = cond.wait(lock.lock().await).await;
            assert!(lock.is_locked() && lock.try_lock().is_none(), "re-acquired");
            *guard
        }
    });
    settle().await;
    let (lock, cond) = &*state;
    let mut guard = lock
        .try_lock()
        .expect("the waiter released the lock while parked");
    *guard = 7;
    cond.notify_one();
    settle().await;
    assert!(!waiter.is_finished(), "it cannot return before we unlock");
    drop(guard);
    assert_eq!(within(waiter).await.unwrap(), 7);
}

#[corio::test]
async fn notify_n_wakes_exactly_n_waiters_in_arrival_order() {
    let s = shared();
    let handles = parked_waiters(&s, 6).await;
    s.1.notify(2);
    settle().await;
    assert_eq!(*s.2.borrow(), [0, 1]);
    s.1.notify(3);
    settle().await;
    assert_eq!(*s.2.borrow(), [0, 1, 2, 3, 4]);
    s.1.notify_one();
    for h in handles {
        within(h).await.unwrap();
    }
    assert_eq!(*s.2.borrow(), [0, 1, 2, 3, 4, 5]);
}

#[corio::test]
async fn notify_all_wakes_every_waiter() {
    let s = shared();
    let handles = parked_waiters(&s, 4).await;
    s.1.notify_all();
    for h in handles {
        timeout(Duration::from_secs(1), h).await.unwrap().unwrap();
    }
    assert_eq!(s.2.borrow().len(), 4);
}

#[corio::test]
async fn a_notification_with_nobody_waiting_is_lost() {
    let s = shared();
    s.1.notify_one();
    s.1.notify_all();
    let handles = parked_waiters(&s, 1).await;
    settle().await;
    assert!(
        s.2.borrow().is_empty(),
        "earlier notifications are not stored"
    );
    s.1.notify_one();
    within(handles.into_iter().next().unwrap()).await.unwrap();
}

#[corio::test]
async fn wait_while_checks_first_and_after_every_wakeup() {
    let state = Rc::new((Lock::new(0), Condition::new()));
    let checks = Rc::new(Cell::new(0));
    let waiter = corio::spawn({
        let (state, checks) = (state.clone(), checks.clone());
        async move {
            let (lock, cond) = &*state;
            let guard = cond
                .wait_while(lock.lock().await, |n| {
                    checks.set(checks.get() + 1);
                    *n < 2
                })
                .await;
            *guard
        }
    });
    settle().await;
    assert_eq!(checks.get(), 1);
    let (lock, cond) = &*state;
    for _ in 0..2 {
        *lock.lock().await += 1;
        cond.notify_one();
        settle().await;
    }
    assert_eq!(within(waiter).await.unwrap(), 2);
    assert_eq!(checks.get(), 3);
    // Already true: no waiting at all.
    let guard = cond.wait_while(lock.lock().await, |n| *n < 2).await;
    assert_eq!(*guard, 2);
}

#[corio::test]
async fn a_waiter_dropped_after_being_notified_passes_the_notification_on() {
    let s = shared();
    let (lock, cond, _) = &*s;
    let mut first = Box::pin(cond.wait(lock.lock().await));
    assert!(poll_once(&mut first).await.is_pending());
    let handles = parked_waiters(&s, 1).await;
    cond.notify_one(); // goes to `first`
    drop(first);
    timeout(Duration::from_secs(1), handles.into_iter().next().unwrap())
        .await
        .expect("the notification was lost with the dropped waiter")
        .unwrap();
}

#[corio::test]
async fn a_waiter_dropped_while_reacquiring_the_lock_passes_the_notification_on() {
    let s = shared();
    let (lock, cond, _) = &*s;
    let mut first = Box::pin(cond.wait(lock.lock().await));
    assert!(poll_once(&mut first).await.is_pending());
    let handles = parked_waiters(&s, 1).await;
    let held = lock.lock().await;
    cond.notify_one(); // goes to `first`...
    assert!(
        poll_once(&mut first).await.is_pending(),
        "...which waits for the lock"
    );
    drop(first);
    drop(held);
    timeout(Duration::from_secs(1), handles.into_iter().next().unwrap())
        .await
        .expect("the notification was lost while re-locking")
        .unwrap();
    assert!(
        !lock.is_locked(),
        "the dropped waiter did not keep the lock"
    );
}

#[corio::test]
async fn a_notify_all_wakeup_is_not_passed_to_waiters_that_came_later() {
    let s = shared();
    let (lock, cond, log) = &*s;
    let mut early = Box::pin(cond.wait(lock.lock().await));
    assert!(poll_once(&mut early).await.is_pending());
    cond.notify_all();
    let late = parked_waiters(&s, 1).await;
    drop(early);
    settle().await;
    assert!(
        log.borrow().is_empty(),
        "the late waiter was not part of notify_all"
    );
    cond.notify_one();
    within(late.into_iter().next().unwrap()).await.unwrap();
}

/// The seeds' Condition demo without stdin: ten waiters, released 1, 2, 3, then 4. Under a
/// seed the notified tasks run (and re-lock) in shuffled order, but each batch is exactly
/// the next oldest waiters.
#[corio::test(seed = 10)]
async fn the_seed_demo_releases_the_oldest_waiters_in_batches() {
    let s = shared();
    let handles = parked_waiters(&s, 10).await;
    let mut released = 0;
    for n in 1..=4 {
        s.1.notify(n);
        released += n;
        until(|| s.2.borrow().len() == released).await;
        settle().await;
        let mut woken = s.2.borrow().clone();
        woken.sort_unstable();
        assert_eq!(
            woken,
            (0..released).collect::<Vec<_>>(),
            "after notify({n})"
        );
    }
    for h in handles {
        within(h).await.unwrap();
    }
}
