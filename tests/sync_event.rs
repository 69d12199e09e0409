//! Event: wait on a set event returns at once, set wakes every waiter, clear blocks again.

use std::cell::Cell;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use corio::sync::Event;
use corio::time::timeout;

mod common;
use common::{poll_once, settle, within};

#[corio::test]
async fn wait_on_a_set_event_returns_at_once() {
    let event = Event::new();
    event.set();
    assert_eq!(
        poll_once(&mut Box::pin(event.wait())).await,
        Poll::Ready(())
    );
    assert!(event.is_set(), "waiting does not consume the flag");
}

#[corio::test]
async fn set_wakes_every_waiter() {
    let event = Rc::new(Event::new());
    let woken = Rc::new(Cell::new(0));
    let waiters: Vec<_> = (0..5)
        .map(|_| {
            let (event, woken) = (event.clone(), woken.clone());
            corio::spawn(async move {
                event.wait().await;
                woken.set(woken.get() + 1);
            })
        })
        .collect();
    settle().await;
    assert_eq!(woken.get(), 0, "nobody passes an unset event");
    event.set();
    for w in waiters {
        within(w).await.unwrap();
    }
    assert_eq!(woken.get(), 5);
}

#[corio::test(start_paused = true)]
async fn clear_then_wait_blocks_again() {
    let event = Event::new();
    event.set();
    event.clear();
    assert!(!event.is_set());
    assert!(poll_once(&mut Box::pin(event.wait())).await.is_pending());
    assert!(timeout(Duration::from_millis(5), event.wait())
        .await
        .is_err());
    event.set();
    assert!(timeout(Duration::from_millis(5), event.wait())
        .await
        .is_ok());
}

#[corio::test]
async fn a_waiter_parked_before_set_returns_even_if_the_event_is_cleared_before_it_runs() {
    let event = Rc::new(Event::new());
    let waiter = corio::spawn({
        let event = event.clone();
        async move { event.wait().await }
    });
    settle().await;
    event.set();
    event.clear();
    timeout(Duration::from_secs(1), waiter)
        .await
        .expect("a set-then-clear pulse must release the waiters parked at the set")
        .unwrap();
}

#[corio::test]
async fn a_dropped_wait_leaves_no_waiter_behind() {
    let event = Event::new();
    let mut wait = Box::pin(event.wait());
    assert!(poll_once(&mut wait).await.is_pending());
    assert!(format!("{event:?}").contains("waiters: 1"), "{event:?}");
    drop(wait);
    assert!(format!("{event:?}").contains("waiters: 0"), "{event:?}");
    event.set(); // nothing stale to wake
    assert!(event.is_set());
}

#[corio::test]
async fn setting_twice_and_clearing_twice_are_harmless() {
    let event = Event::default();
    event.set();
    event.set();
    assert!(event.is_set());
    event.clear();
    event.clear();
    assert!(!event.is_set());
}

/// The seeds' door: staff swipe (set) when they find it closed; the door closes (clear)
/// after a while; staff arriving at an open door pass at once.
#[corio::test(seed = 5)]
async fn the_door_lets_every_staff_member_through() {
    let door = Rc::new(Event::new());
    let passed = Rc::new(Cell::new(0));
    let staff: Vec<_> = (0..5)
        .map(|_| {
            let (door, passed) = (door.clone(), passed.clone());
            corio::spawn(async move {
                if !door.is_set() {
                    door.set(); // swipe the card
                }
                door.wait().await;
                passed.set(passed.get() + 1);
            })
        })
        .collect();
    for s in staff {
        within(s).await.unwrap();
    }
    door.clear();
    assert_eq!(passed.get(), 5);
}
