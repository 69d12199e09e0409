//! Runtime creation, nesting, and what dropping a runtime does to live tasks.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use corio::task::yield_now;

struct DropFlag(Rc<Cell<u32>>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[test]
fn dropping_the_runtime_drops_every_live_task() {
    let drops = Rc::new(Cell::new(0));
    let rt = corio::Runtime::new().unwrap();
    let handles = rt.block_on({
        let drops = drops.clone();
        async move {
            let mut hs = Vec::new();
            for i in 0..50 {
                let flag = DropFlag(drops.clone());
                hs.push(corio::spawn(async move {
                    let _flag = flag;
                    if i % 2 == 0 {
                        corio::time::sleep(Duration::from_secs(3600)).await;
                    } else {
                        std::future::pending::<()>().await;
                    }
                }));
            }
            yield_now().await;
            hs
        }
    });
    assert_eq!(drops.get(), 0);
    drop(rt);
    assert_eq!(drops.get(), 50);
    // Handles outlive the runtime: they report cancellation.
    for h in handles {
        assert!(h.is_finished());
        let err = corio::Runtime::new().unwrap().block_on(h).unwrap_err();
        assert!(err.is_cancelled());
    }
}

#[test]
fn tasks_never_polled_are_dropped_with_the_runtime() {
    let drops = Rc::new(Cell::new(0));
    let rt = corio::Runtime::new().unwrap();
    let flag = DropFlag(drops.clone());
    drop(rt.spawn(async move {
        let _flag = flag;
    }));
    drop(rt);
    assert_eq!(drops.get(), 1);
}

struct SpawnsOnDrop(Rc<Cell<u32>>);
impl Drop for SpawnsOnDrop {
    fn drop(&mut self) {
        let flag = DropFlag(self.0.clone());
        // Spawning while the runtime shuts down must not panic; the new task is dropped.
        let h = corio::spawn(async move {
            let _flag = flag;
        });
        assert!(h.is_finished());
    }
}

#[test]
fn a_destructor_that_spawns_during_shutdown_is_handled() {
    let drops = Rc::new(Cell::new(0));
    let rt = corio::Runtime::new().unwrap();
    let guard = SpawnsOnDrop(drops.clone());
    rt.block_on(async move {
        drop(corio::spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        }));
        yield_now().await;
    });
    drop(rt);
    assert_eq!(drops.get(), 1);
}

#[test]
#[should_panic(expected = "cannot call `block_on`")]
fn nested_block_on_panics_with_a_clear_message() {
    corio::run(async {
        corio::run(async {});
    });
}

#[test]
#[should_panic(expected = "must be called from inside a corio runtime")]
fn spawn_outside_a_runtime_panics_with_a_clear_message() {
    drop(corio::spawn(async {}));
}

#[test]
fn two_runtimes_on_two_threads_are_independent() {
    let threads: Vec<_> = (0..2)
        .map(|i| {
            std::thread::spawn(move || {
                corio::run(async move {
                    let hs: Vec<_> = (0..100u64)
                        .map(|j| corio::spawn(async move { j * i }))
                        .collect();
                    let mut s = 0;
                    for h in hs {
                        s += h.await.unwrap();
                    }
                    s
                })
            })
        })
        .collect();
    let sums: Vec<u64> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(sums, [0, 4950]);
}

#[test]
fn builder_settings_are_accepted() {
    let rt = corio::Runtime::builder()
        .event_interval(1)
        .blocking_threads(1)
        .seed(3)
        .build()
        .unwrap();
    let out = rt.block_on(async {
        let hs: Vec<_> = (0..10).map(|i| corio::spawn(async move { i })).collect();
        let mut v = Vec::new();
        for h in hs {
            v.push(h.await.unwrap());
        }
        v
    });
    assert_eq!(out, (0..10).collect::<Vec<_>>());
}
