//! `JoinSet`: join in completion order, abort on drop, shutdown.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use corio::task::{yield_now, JoinSet};
use corio::time::sleep;

#[test]
fn join_next_returns_results_in_completion_order() {
    corio::run(async {
        let mut set = JoinSet::new();
        for ms in [40u64, 10, 25] {
            set.spawn(async move {
                sleep(Duration::from_millis(ms)).await;
                ms
            });
        }
        assert_eq!(set.len(), 3);
        let mut got = Vec::new();
        while let Some(r) = set.join_next().await {
            got.push(r.unwrap());
        }
        assert_eq!(got, [10, 25, 40]);
        assert!(set.is_empty());
        assert!(set.join_next().await.is_none());
    });
}

#[test]
fn join_set_collects_panics_and_keeps_going() {
    corio::run(async {
        let mut set = JoinSet::new();
        set.spawn(async { panic!("one bad apple") });
        set.spawn(async { 1 });
        let mut ok = 0;
        let mut panics = 0;
        while let Some(r) = set.join_next().await {
            match r {
                Ok(_) => ok += 1,
                Err(e) if e.is_panic() => panics += 1,
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert_eq!((ok, panics), (1, 1));
    });
}

#[test]
fn dropping_a_join_set_aborts_its_tasks() {
    corio::run(async {
        struct Flag(Rc<Cell<u32>>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.set(self.0.get() + 1);
            }
        }
        let drops = Rc::new(Cell::new(0));
        let mut set = JoinSet::new();
        for _ in 0..5 {
            let f = Flag(drops.clone());
            set.spawn(async move {
                let _f = f;
                std::future::pending::<()>().await;
            });
        }
        yield_now().await;
        drop(set);
        yield_now().await;
        assert_eq!(drops.get(), 5);
    });
}

#[test]
fn shutdown_aborts_and_waits_for_all() {
    corio::run(async {
        let mut set = JoinSet::new();
        for _ in 0..10 {
            set.spawn(sleep(Duration::from_secs(3600)));
        }
        corio::time::timeout(Duration::from_secs(5), set.shutdown())
            .await
            .unwrap();
        assert!(set.is_empty());
        assert_eq!(corio::task::active_count(), 0);
    });
}

#[test]
fn many_tasks_in_a_join_set_are_all_joined() {
    corio::run(async {
        let mut set = JoinSet::new();
        for i in 0..10_000u64 {
            set.spawn(async move {
                yield_now().await;
                i
            });
        }
        let mut sum = 0;
        while let Some(r) = set.join_next().await {
            sum += r.unwrap();
        }
        assert_eq!(sum, (0..10_000u64).sum());
    });
}

#[test]
fn dropping_join_next_loses_no_result() {
    corio::run(async {
        let mut set = JoinSet::new();
        set.spawn(async {
            sleep(Duration::from_millis(20)).await;
            "late"
        });
        assert!(
            corio::time::timeout(Duration::from_millis(1), set.join_next())
                .await
                .is_err()
        );
        assert_eq!(set.join_next().await.unwrap().unwrap(), "late");
    });
}

#[test]
fn a_join_set_is_a_stream_of_results_in_finishing_order() {
    use futures_core::Stream;
    use std::pin::Pin;
    use std::time::Duration;
    let rt = corio::Builder::new().start_paused(true).build().unwrap();
    rt.block_on(async {
        let mut set = corio::task::JoinSet::new();
        for (i, ms) in [(0u32, 30u64), (1, 10), (2, 20)] {
            set.spawn(async move {
                corio::time::sleep(Duration::from_millis(ms)).await;
                i
            });
        }
        assert_eq!(set.size_hint(), (3, Some(3)));
        let mut order = Vec::new();
        while let Some(r) = std::future::poll_fn(|cx| Pin::new(&mut set).poll_next(cx)).await {
            order.push(r.unwrap());
        }
        assert_eq!(order, [1, 2, 0]);
        assert_eq!(set.size_hint(), (0, Some(0)));
    });
}
