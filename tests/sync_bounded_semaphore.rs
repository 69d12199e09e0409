//! BoundedSemaphore: Python-style acquire/release; releasing past the initial count errs.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use corio::sync::BoundedSemaphore;
use corio::task::yield_now;
use corio::time::{sleep, timeout};

mod common;
use common::{poll_once, within};

#[test]
fn releasing_past_the_initial_count_is_an_error_and_changes_nothing() {
    let sem = BoundedSemaphore::new(2);
    assert!(sem.try_acquire());
    sem.release().unwrap();
    let err = sem.release().unwrap_err();
    assert!(err.to_string().contains("released more times"), "{err}");
    assert_eq!(sem.available_permits(), 2);
}

#[corio::test]
async fn a_double_release_while_the_permit_is_handed_to_a_waiter_is_caught() {
    let sem = Rc::new(BoundedSemaphore::new(1));
    sem.acquire().await;
    let waiter = corio::spawn({
        let sem = sem.clone();
        async move { sem.acquire().await }
    });
    yield_now().await;
    sem.release().unwrap(); // handed to the waiter, which has not run yet
    assert!(sem.release().is_err(), "the same permit released twice");
    within(waiter).await.unwrap();
    sem.release().unwrap(); // the waiter's own release
    assert_eq!(sem.available_permits(), 1);
}

#[corio::test(seed = 2, start_paused = true)]
async fn at_most_n_tasks_are_inside() {
    let sem = Rc::new(BoundedSemaphore::new(5));
    let (inside, peak) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (sem, inside, peak) = (sem.clone(), inside.clone(), peak.clone());
            corio::spawn(async move {
                sem.acquire().await;
                inside.set(inside.get() + 1);
                peak.set(peak.get().max(inside.get()));
                sleep(Duration::from_millis(1)).await;
                inside.set(inside.get() - 1);
                sem.release().unwrap();
            })
        })
        .collect();
    for t in tasks {
        within(t).await.unwrap();
    }
    assert_eq!(peak.get(), 5);
    assert_eq!(sem.available_permits(), 5);
}

#[corio::test]
async fn a_dropped_acquire_handed_the_permit_passes_it_on() {
    let sem = Rc::new(BoundedSemaphore::new(1));
    assert!(sem.try_acquire());
    let mut first = Box::pin(sem.acquire());
    assert!(poll_once(&mut first).await.is_pending());
    let second = corio::spawn({
        let sem = sem.clone();
        async move { sem.acquire().await }
    });
    yield_now().await;
    sem.release().unwrap(); // handed to `first`
    drop(first);
    timeout(Duration::from_secs(1), second)
        .await
        .unwrap()
        .unwrap();
    sem.release().unwrap();
    assert!(sem.release().is_err());
    assert_eq!(sem.available_permits(), 1);
}

#[test]
fn try_acquire_reports_whether_it_took_a_permit() {
    let sem = BoundedSemaphore::new(1);
    assert!(sem.try_acquire());
    assert!(!sem.try_acquire());
    assert!(format!("{sem:?}").contains("held: 1"));
}
