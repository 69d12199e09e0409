//! `task::all()`: every live task with its state, polls, spawn location and idle time.

use std::time::Duration;

use corio::task::{self, TaskState};

#[test]
fn lists_live_tasks_with_state_polls_location_and_idle_time() {
    corio::run(async {
        let named = task::Builder::new().name("idle");
        let line = line!() + 1;
        let idle = named.spawn(std::future::pending::<()>());
        let yielder = corio::spawn(async {
            for _ in 0..3 {
                task::yield_now().await;
            }
            std::future::pending::<()>().await;
        });
        for _ in 0..5 {
            task::yield_now().await;
        }
        corio::time::sleep(Duration::from_millis(30)).await;
        let probe = corio::spawn(async { task::all() });
        let tasks = probe.await.unwrap();
        assert_eq!(
            tasks.len(),
            3,
            "idle, yielder and the probe itself: {tasks:?}"
        );
        let by_id = |id| tasks.iter().find(|t| t.id == id).unwrap();
        let i = by_id(idle.id());
        assert_eq!(i.name.as_deref(), Some("idle"));
        assert_eq!(i.state, TaskState::Idle);
        assert_eq!(i.polls, 1);
        assert_eq!(i.spawned_at.file(), file!());
        assert_eq!(i.spawned_at.line(), line);
        assert!(
            i.idle_for >= Duration::from_millis(25),
            "idle for {:?} after a 30 ms sleep",
            i.idle_for
        );
        let y = by_id(yielder.id());
        assert_eq!(y.polls, 4, "started once, resumed after 3 yields");
        assert_eq!(y.name, None);
        let running: Vec<_> = tasks
            .iter()
            .filter(|t| t.state == TaskState::Running)
            .collect();
        assert_eq!(running.len(), 1, "only the probe is running");
        idle.abort();
        yielder.abort();
        task::yield_now().await;
        assert!(task::all().is_empty(), "aborted tasks are gone");
    });
}

#[test]
fn a_woken_task_is_listed_as_scheduled() {
    corio::run(async {
        let h = corio::spawn(async {});
        let tasks = task::all();
        assert_eq!(tasks.len(), 1);
        assert_eq!(tasks[0].state, TaskState::Scheduled);
        assert_eq!(tasks[0].polls, 0);
        h.await.unwrap();
    });
}

#[test]
fn spawn_blocking_waits_are_not_listed() {
    corio::run(async {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let job = corio::spawn_blocking(move || rx.recv().unwrap());
        task::yield_now().await;
        assert!(task::all().is_empty(), "{:?}", task::all());
        tx.send(()).unwrap();
        job.await.unwrap();
    });
}
