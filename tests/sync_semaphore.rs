//! Semaphore: a limit on permits out, FIFO including acquire_many at the head, RAII
//! permits, close, and cancel-safe waiters.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use corio::sync::{Semaphore, TryAcquireError};
use corio::task::yield_now;
use corio::time::{sleep, timeout};

mod common;
use common::{poll_once, settle, until, within};

#[corio::test(seed = 4, start_paused = true)]
async fn at_most_n_permits_are_out_and_the_limit_is_reached() {
    let sem = Rc::new(Semaphore::new(5));
    let (inside, peak) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (sem, inside, peak) = (sem.clone(), inside.clone(), peak.clone());
            corio::spawn(async move {
                let _permit = sem.acquire().await.unwrap();
                inside.set(inside.get() + 1);
                peak.set(peak.get().max(inside.get()));
                sleep(Duration::from_millis(2)).await;
                inside.set(inside.get() - 1);
            })
        })
        .collect();
    for t in tasks {
        within(t).await.unwrap();
    }
    assert_eq!(peak.get(), 5);
    assert_eq!(sem.available_permits(), 5);
}

#[test]
fn dropping_a_permit_returns_it_and_forget_keeps_it_taken() {
    let sem = Semaphore::new(3);
    let two = sem.try_acquire_many(2).unwrap();
    assert_eq!((two.num_permits(), sem.available_permits()), (2, 1));
    drop(two);
    assert_eq!(sem.available_permits(), 3);
    sem.try_acquire().unwrap().forget();
    assert_eq!(sem.available_permits(), 2);
    sem.add_permits(1);
    assert_eq!(sem.available_permits(), 3);
}

#[corio::test(seed = 12)]
async fn waiters_are_served_in_arrival_order() {
    let sem = Rc::new(Semaphore::new(1));
    let order = Rc::new(RefCell::new(Vec::new()));
    let arrived = Rc::new(Cell::new(0));
    let held = sem.acquire().await.unwrap();
    let mut tasks = Vec::new();
    for id in 0..5 {
        let (sem, order, a) = (sem.clone(), order.clone(), arrived.clone());
        tasks.push(corio::spawn(async move {
            a.set(a.get() + 1);
            let _p = sem.acquire().await.unwrap();
            order.borrow_mut().push(id);
            yield_now().await;
        }));
        until(|| arrived.get() == id + 1).await;
    }
    drop(held);
    for t in tasks {
        within(t).await.unwrap();
    }
    assert_eq!(*order.borrow(), [0, 1, 2, 3, 4]);
}

#[corio::test]
async fn acquire_many_at_the_head_is_not_overtaken_by_smaller_requests() {
    let sem = Rc::new(Semaphore::new(2));
    let held = sem.acquire_many(2).await.unwrap();
    let mut big = Box::pin(sem.acquire_many(2));
    let mut small = Box::pin(sem.acquire());
    assert!(poll_once(&mut big).await.is_pending());
    assert!(poll_once(&mut small).await.is_pending());
    drop(held);
    // Both permits are free; the head wants both: it gets them, the small one waits.
    let Poll::Ready(Ok(big_permit)) = poll_once(&mut big).await else {
        panic!("the head request was not served first")
    };
    assert!(poll_once(&mut small).await.is_pending());
    assert_eq!(sem.available_permits(), 0);
    drop(big_permit);
    assert!(matches!(poll_once(&mut small).await, Poll::Ready(Ok(_))));
}

#[corio::test]
async fn a_free_permit_waits_behind_a_head_that_needs_more() {
    let sem = Semaphore::new(3);
    let one = sem.acquire().await.unwrap(); // 2 free
    let mut big = Box::pin(sem.acquire_many(3));
    assert!(poll_once(&mut big).await.is_pending());
    let mut small = Box::pin(sem.acquire());
    assert!(
        poll_once(&mut small).await.is_pending(),
        "strict FIFO: no overtaking the head"
    );
    assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
    drop(big); // the blocking head leaves: the small request fits right away
    assert!(matches!(poll_once(&mut small).await, Poll::Ready(Ok(_))));
    drop(one);
}

#[corio::test]
async fn permits_handed_to_a_dropped_waiter_go_to_the_next_one() {
    let sem = Rc::new(Semaphore::new(1));
    let held = sem.acquire().await.unwrap();
    let mut first = Box::pin(sem.acquire());
    assert!(poll_once(&mut first).await.is_pending());
    let second = corio::spawn({
        let sem = sem.clone();
        async move { sem.acquire().await.map(|p| p.num_permits()) }
    });
    settle().await;
    drop(held); // handed to `first`
    assert_eq!(sem.available_permits(), 0);
    drop(first); // never takes it
    assert_eq!(within(second).await.unwrap(), Ok(1));
    assert_eq!(sem.available_permits(), 1);
}

#[corio::test(start_paused = true)]
async fn a_timed_out_acquire_leaves_the_permits_as_they_were() {
    let sem = Semaphore::new(1);
    let held = sem.acquire().await.unwrap();
    assert!(timeout(Duration::from_millis(2), sem.acquire())
        .await
        .is_err());
    drop(held);
    assert_eq!(sem.available_permits(), 1);
}

#[corio::test]
async fn try_acquire_does_not_overtake_a_waiter_being_handed_a_permit() {
    let sem = Rc::new(Semaphore::new(1));
    let held = sem.acquire().await.unwrap();
    let waiter = corio::spawn({
        let sem = sem.clone();
        async move { sem.acquire().await.is_ok() }
    });
    settle().await;
    drop(held);
    assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
    assert!(within(waiter).await.unwrap());
}

#[corio::test]
async fn add_permits_wakes_waiters_oldest_first() {
    let sem = Rc::new(Semaphore::new(0));
    let order = Rc::new(RefCell::new(Vec::new()));
    let tasks: Vec<_> = (0..3)
        .map(|id| {
            let (sem, order) = (sem.clone(), order.clone());
            corio::spawn(async move {
                sem.acquire().await.unwrap().forget();
                order.borrow_mut().push(id);
            })
        })
        .collect();
    settle().await;
    sem.add_permits(2);
    settle().await;
    assert_eq!(*order.borrow(), [0, 1]);
    sem.add_permits(1);
    for t in tasks {
        within(t).await.unwrap();
    }
    assert_eq!(*order.borrow(), [0, 1, 2]);
}

#[corio::test]
async fn close_fails_every_waiter_now_and_later_and_outstanding_permits_still_return() {
    let sem = Rc::new(Semaphore::new(1));
    let held = sem.acquire().await.unwrap();
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let sem = sem.clone();
            corio::spawn(async move { sem.acquire().await.is_err() })
        })
        .collect();
    settle().await;
    sem.close();
    assert!(sem.is_closed());
    for w in waiters {
        assert!(
            within(w).await.unwrap(),
            "a waiter got a permit from a closed semaphore"
        );
    }
    let err = sem.acquire_many(0).await.unwrap_err();
    assert!(err.to_string().contains("closed"), "{err}");
    assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::Closed);
    drop(held);
    assert_eq!(sem.available_permits(), 1);
}

#[corio::test]
async fn a_waiter_granted_just_before_close_also_sees_the_close_and_returns_the_permit() {
    let sem = Semaphore::new(1);
    let held = sem.acquire().await.unwrap();
    let mut waiter = Box::pin(sem.acquire());
    assert!(poll_once(&mut waiter).await.is_pending());
    drop(held); // handed to the waiter
    sem.close();
    assert!(matches!(poll_once(&mut waiter).await, Poll::Ready(Err(_))));
    assert_eq!(sem.available_permits(), 1);
}

#[test]
fn acquire_many_of_zero_succeeds_at_once_and_errors_explain_themselves() {
    corio::run(async {
        let sem = Semaphore::new(0);
        assert_eq!(sem.acquire_many(0).await.unwrap().num_permits(), 0);
    });
    assert!(TryAcquireError::NoPermits
        .to_string()
        .contains("await `acquire()`"));
    assert!(format!("{:?}", Semaphore::new(2)).contains("permits: 2"));
}
