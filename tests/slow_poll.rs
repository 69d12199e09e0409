//! Slow-poll detection: a poll longer than the threshold is named (id, name, spawn location,
//! duration), one still running is reported while it runs, fast polls never are, and with
//! the threshold unset nothing is watched.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use corio::SlowPoll;

fn recording(threshold: Duration) -> (corio::Runtime, Arc<Mutex<Vec<SlowPoll>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let rt = corio::Runtime::builder()
        .slow_poll_threshold(threshold)
        .on_slow_poll(move |p| s.lock().unwrap().push(p.clone()))
        .build()
        .unwrap();
    (rt, seen)
}

#[test]
fn a_slow_poll_is_named_and_fast_ones_are_not() {
    let (rt, seen) = recording(Duration::from_millis(100));
    let line = std::rc::Rc::new(std::cell::Cell::new(0));
    let l = line.clone();
    rt.block_on(async {
        let fast = corio::task::Builder::new().name("fast").spawn(async {
            for _ in 0..100 {
                corio::task::yield_now().await;
            }
        });
        let slow_task = corio::task::Builder::new().name("slow");
        l.set(line!() + 1);
        let slow = slow_task.spawn(async {
            std::thread::sleep(Duration::from_millis(400)); // holds the loop
        });
        fast.await.unwrap();
        slow.await.unwrap();
    });
    let seen = seen.lock().unwrap();
    assert!(
        seen.iter().all(|p| p.name.as_deref() == Some("slow")),
        "only the slow task is reported: {seen:?}"
    );
    let done = seen
        .iter()
        .find(|p| !p.running)
        .expect("the slow poll's final report");
    assert_eq!(done.spawned_at.file(), file!());
    assert_eq!(done.spawned_at.line(), line.get());
    assert!(
        done.duration >= Duration::from_millis(300) && done.duration <= Duration::from_secs(5),
        "duration {:?} for a 400 ms poll",
        done.duration
    );
    assert!(format!("{done:?}").contains("slow"), "Debug shows the name");
}

#[test]
fn an_endless_poll_is_reported_by_the_watchdog_while_it_runs() {
    let (rt, seen) = recording(Duration::from_millis(30));
    let reported = seen.clone();
    rt.block_on(async move {
        corio::task::Builder::new()
            .name("spinner")
            .spawn(async move {
                // An "endless" computation: it stops only once the watchdog has named it
                // (bounded at 10 s so a broken watchdog fails the test instead of hanging).
                let start = std::time::Instant::now();
                while reported.lock().unwrap().is_empty()
                    && start.elapsed() < Duration::from_secs(10)
                {
                    std::hint::spin_loop();
                }
            })
            .await
            .unwrap();
    });
    let seen = seen.lock().unwrap();
    let running = seen
        .iter()
        .find(|p| p.running)
        .expect("the watchdog reported the running poll");
    assert_eq!(running.name.as_deref(), Some("spinner"));
    assert!(running.duration >= Duration::from_millis(30));
    assert!(
        seen.iter()
            .any(|p| !p.running && p.name.as_deref() == Some("spinner")),
        "and the loop reported it again when it returned: {seen:?}"
    );
}

#[test]
fn the_block_on_future_is_watched_too() {
    let (rt, seen) = recording(Duration::from_millis(20));
    rt.block_on(async { std::thread::sleep(Duration::from_millis(120)) });
    let seen = seen.lock().unwrap();
    assert!(
        seen.iter()
            .any(|p| p.id.as_u64() == 0 && p.name.as_deref() == Some("main")),
        "{seen:?}"
    );
}
