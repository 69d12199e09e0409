//! Spawning, joining, detaching, names, ids and the live-task count.

use std::cell::RefCell;
use std::rc::Rc;

use corio::task::{self, yield_now};

#[test]
fn run_returns_the_future_output() {
    assert_eq!(corio::run(async { 40 + 2 }), 42);
}

#[test]
fn spawned_tasks_need_no_send_and_join_with_their_output() {
    corio::run(async {
        let shared = Rc::new(RefCell::new(Vec::new()));
        let s = shared.clone();
        let h = corio::spawn(async move {
            s.borrow_mut().push(1);
            "done"
        });
        assert_eq!(h.await.unwrap(), "done");
        assert_eq!(*shared.borrow(), [1]);
    });
}

#[test]
fn spawn_queues_the_task_instead_of_running_it_inline() {
    corio::run(async {
        let log = Rc::new(RefCell::new(Vec::new()));
        let l = log.clone();
        let h = corio::spawn(async move { l.borrow_mut().push("task") });
        log.borrow_mut().push("spawner");
        h.await.unwrap();
        assert_eq!(*log.borrow(), ["spawner", "task"]);
    });
}

#[test]
fn tasks_run_in_fifo_order_of_spawn_and_wake() {
    corio::run(async {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut handles = Vec::new();
        for i in 0..5 {
            let l = log.clone();
            handles.push(corio::spawn(async move {
                l.borrow_mut().push(i);
                yield_now().await;
                l.borrow_mut().push(10 + i);
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
        assert_eq!(*log.borrow(), [0, 1, 2, 3, 4, 10, 11, 12, 13, 14]);
    });
}

#[test]
fn dropping_a_join_handle_detaches_the_task_which_still_runs() {
    corio::run(async {
        let done = Rc::new(RefCell::new(false));
        let d = done.clone();
        drop(corio::spawn(async move {
            yield_now().await;
            *d.borrow_mut() = true;
        }));
        for _ in 0..3 {
            yield_now().await;
        }
        assert!(*done.borrow());
    });
}

#[test]
fn join_handle_reports_finished_and_id() {
    corio::run(async {
        let h = corio::spawn(async { task::current().id() });
        let id = h.id();
        assert!(!h.is_finished());
        yield_now().await;
        assert!(h.is_finished());
        assert_eq!(h.await.unwrap(), id);
    });
}

#[test]
fn task_ids_are_unique_and_main_is_zero() {
    corio::run(async {
        assert_eq!(task::current().id().as_u64(), 0);
        let a = corio::spawn(async {});
        let b = corio::spawn(async {});
        assert_ne!(a.id(), b.id());
        assert_ne!(a.id().as_u64(), 0);
    });
}

#[test]
fn builder_names_tasks_and_current_reports_the_name() {
    corio::run(async {
        assert_eq!(task::current().name(), Some("main"));
        let named = task::Builder::new()
            .name("worker-1")
            .spawn(async { task::current().name().map(String::from) });
        let anon = corio::spawn(async { task::current().name().map(String::from) });
        assert_eq!(named.await.unwrap().as_deref(), Some("worker-1"));
        assert_eq!(anon.await.unwrap(), None);
    });
}

#[test]
fn active_count_tracks_live_tasks() {
    corio::run(async {
        assert_eq!(task::active_count(), 0);
        let handles: Vec<_> = (0..10)
            .map(|_| corio::spawn(async { yield_now().await }))
            .collect();
        assert_eq!(task::active_count(), 10);
        for h in handles {
            h.await.unwrap();
        }
        assert_eq!(task::active_count(), 0);
        let aborted = corio::spawn(std::future::pending::<()>());
        assert_eq!(task::active_count(), 1);
        aborted.abort();
        assert!(aborted.await.unwrap_err().is_cancelled());
        assert_eq!(task::active_count(), 0);
    });
}

#[test]
fn many_tasks_spawned_and_joined() {
    corio::run(async {
        let handles: Vec<_> = (0..20_000u64)
            .map(|i| corio::spawn(async move { i }))
            .collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap();
        }
        assert_eq!(sum, (0..20_000u64).sum());
    });
}

#[test]
fn runtime_spawn_from_outside_runs_at_next_block_on() {
    let rt = corio::Runtime::new().unwrap();
    let h = rt.spawn(async { 5 });
    assert!(!h.is_finished());
    assert_eq!(rt.block_on(h).unwrap(), 5);
}

#[test]
// Returning the handle out of block_on is the point of this test.
#[allow(clippy::async_yields_async)]
fn tasks_left_alive_keep_running_in_the_next_block_on() {
    let rt = corio::Runtime::new().unwrap();
    let counter = Rc::new(RefCell::new(0));
    let c = counter.clone();
    let h = rt.block_on(async move {
        corio::spawn(async move {
            for _ in 0..4 {
                *c.borrow_mut() += 1;
                yield_now().await;
            }
        })
    });
    rt.block_on(h).unwrap();
    assert_eq!(*counter.borrow(), 4);
}
