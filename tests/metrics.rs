//! `corio::metrics()` / `Runtime::metrics()`: each counter moves by the count of what the
//! loop did.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use corio::sync::Event;

#[test]
fn spawned_and_live_task_counts_follow_spawns_and_completions() {
    corio::run(async {
        let before = corio::metrics();
        assert_eq!(before.live_tasks_count, 0);
        let ev = std::rc::Rc::new(Event::new());
        let handles: Vec<_> = (0..10)
            .map(|_| {
                let ev = ev.clone();
                corio::spawn(async move { ev.wait().await })
            })
            .collect();
        let m = corio::metrics();
        assert_eq!(m.spawned_tasks_count - before.spawned_tasks_count, 10);
        assert_eq!(m.live_tasks_count, 10);
        ev.set();
        for h in handles {
            h.await.unwrap();
        }
        assert_eq!(corio::metrics().live_tasks_count, 0);
        assert_eq!(corio::metrics().spawned_tasks_count, 10);
    });
}

#[test]
fn polls_are_counted_once_the_loop_turns() {
    let rt = corio::Runtime::new().unwrap();
    rt.block_on(async {
        let h = corio::spawn(async {
            for _ in 0..5 {
                corio::task::yield_now().await;
            }
        });
        h.await.unwrap();
    });
    // The task: 6 polls (start + 5 yields); block_on's future: 2 (start, after the join).
    assert_eq!(rt.metrics().total_polls_count, 8);
}

#[test]
fn forced_yields_timers_and_parks_are_counted() {
    let rt = corio::Runtime::new().unwrap();
    rt.block_on(async {
        let ev = Event::new();
        ev.set();
        // 374 ready waits: the 129th and the 257th are cut short (2 forced yields), and
        // the last poll keeps 10 units for the sleeps below.
        for _ in 0..(128 * 3 - 10) {
            ev.wait().await;
        }
        for _ in 0..3 {
            corio::time::sleep(Duration::from_millis(2)).await;
        }
    });
    let m = rt.metrics();
    assert_eq!(m.budget_forced_yield_count, 2);
    assert_eq!(m.timers_fired_count, 3);
    assert!(m.total_park_count >= 3, "each sleep parks the loop: {m:?}");
    assert!(m.total_busy_duration <= m.elapsed);
    assert!(m.busy_ratio() > 0.0 && m.busy_ratio() <= 1.0);
}

#[test]
fn io_events_and_remote_wakes_are_counted() {
    let rt = corio::Runtime::new().unwrap();
    rt.block_on(async {
        let (a, mut b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let a = corio::io::Async::new(a).unwrap();
        a.clear_readable();
        let before = corio::metrics();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(10));
            b.write_all(b"x").unwrap();
            b
        });
        a.readable().await.unwrap();
        let after_io = corio::metrics();
        assert!(after_io.io_driver_ready_count > before.io_driver_ready_count);
        // A blocking job's completion is a wake from another thread.
        corio::spawn_blocking(|| std::thread::sleep(Duration::from_millis(5)))
            .await
            .unwrap();
        let m = corio::metrics();
        assert!(m.remote_schedule_count > after_io.remote_schedule_count);
        assert_eq!(m.blocking_threads_count, 1);
        assert_eq!(m.blocking_queue_depth, 0);
        drop(writer.join().unwrap());
    });
}

#[test]
fn a_spawn_blocking_job_is_not_counted_as_a_task() {
    corio::run(async {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let job = corio::spawn_blocking(move || rx.recv().unwrap());
        corio::task::yield_now().await;
        assert_eq!(
            corio::task::active_count(),
            0,
            "a blocking job is not a task"
        );
        let m = corio::metrics();
        assert_eq!(m.live_tasks_count, 0);
        assert_eq!(m.spawned_tasks_count, 0);
        tx.send(()).unwrap();
        job.await.unwrap();
        assert_eq!(corio::task::active_count(), 0);
    });
}
