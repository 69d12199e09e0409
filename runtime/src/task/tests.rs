//! Unit tests of the task cell, its reference counting and wakers. Small enough to run
//! under Miri (`scripts/miri.sh`), which checks the unsafe code in `raw.rs` and `waker.rs`:
//! every allocation freed once, no use after free, no data race on foreign wakes.

use std::cell::Cell;
use std::future::poll_fn;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

use crate::task::{spawn, yield_now, JoinSet};
use crate::Runtime;

struct Flag(Rc<Cell<u32>>);
impl Drop for Flag {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[test]
fn spawn_join_detach_and_output_drop() {
    let rt = Runtime::new().unwrap();
    let drops = Rc::new(Cell::new(0));
    rt.block_on(async {
        // Joined: output moved out through the vtable.
        let out = spawn(async { String::from("out") }).await.unwrap();
        assert_eq!(out, "out");
        // Detached before completion: the output is dropped at completion.
        let f = Flag(drops.clone());
        drop(spawn(async move { f }));
        yield_now().await;
        assert_eq!(drops.get(), 1);
        // Detached after completion: the handle drops the stored output.
        let f = Flag(drops.clone());
        let h = spawn(async move { f });
        yield_now().await;
        drop(h);
        assert_eq!(drops.get(), 2);
    });
}

#[test]
fn abort_panic_and_self_wake_on_drop() {
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let h = spawn(std::future::pending::<()>());
        h.abort();
        assert!(h.await.unwrap_err().is_cancelled());
        let p = spawn(async { panic!("unit-test panic") });
        assert!(p.await.unwrap_err().is_panic());
        struct WakeOnDrop(Option<Waker>);
        impl Drop for WakeOnDrop {
            fn drop(&mut self) {
                if let Some(w) = self.0.take() {
                    w.wake();
                }
            }
        }
        let h = spawn(async {
            let mut g = WakeOnDrop(None);
            poll_fn(|cx| {
                g.0 = Some(cx.waker().clone());
                Poll::<()>::Pending
            })
            .await;
        });
        yield_now().await;
        h.abort();
        assert!(h.await.unwrap_err().is_cancelled());
    });
}

#[test]
fn foreign_wakes_and_wakers_outliving_the_runtime() {
    let slot = Arc::new(Mutex::new(None::<Waker>));
    let drops = Rc::new(Cell::new(0));
    {
        let rt = Runtime::new().unwrap();
        let (s, f) = (slot.clone(), Flag(drops.clone()));
        rt.block_on(async move {
            let done = Arc::new(Mutex::new(false));
            let (s2, d2) = (s.clone(), done.clone());
            let waiter = spawn(poll_fn(move |cx| {
                if *d2.lock().unwrap() {
                    return Poll::Ready(());
                }
                *s2.lock().unwrap() = Some(cx.waker().clone());
                Poll::Pending
            }));
            yield_now().await;
            let (s3, d3) = (s.clone(), done.clone());
            let t = std::thread::spawn(move || {
                *d3.lock().unwrap() = true;
                let w = s3.lock().unwrap().take().unwrap();
                w.wake();
            });
            waiter.await.unwrap();
            t.join().unwrap();
            // Leave one task parked with its waker in `slot`, to outlive the runtime.
            drop(spawn(async move {
                let _f = f;
                poll_fn(|cx| {
                    *s.lock().unwrap() = Some(cx.waker().clone());
                    Poll::<()>::Pending
                })
                .await
            }));
            yield_now().await;
        });
    }
    assert_eq!(drops.get(), 1);
    let w = slot.lock().unwrap().take().unwrap();
    let w2 = w.clone();
    std::thread::spawn(move || w2.wake()).join().unwrap();
    w.wake();
}

/// The runtime's `Arc` of its scheduler is borrowed by its tasks; when the runtime lets go
/// of a finished task, the references left that may reach the scheduler (a waker, an
/// `AbortHandle`) keep it alive, and handles made afterwards never reach it. Each case has a
/// runtime of its own with one task, so no other cell keeps the scheduler alive by chance.
/// Under Miri a mistake here is a use after free; outside it, a crash at best.
#[test]
fn handles_and_wakers_of_finished_tasks_outlive_the_runtime() {
    // Finishes while a clone of its waker is kept elsewhere.
    let stash = Arc::new(Mutex::new(None::<Waker>));
    let s = stash.clone();
    let h = finished_on_a_dropped_runtime(move || {
        let mut first = true;
        spawn(poll_fn(move |cx| {
            if std::mem::take(&mut first) {
                *s.lock().unwrap() = Some(cx.waker().clone());
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            Poll::Ready(())
        }))
    });
    let w = stash.lock().unwrap().take().unwrap();
    drop(h);
    let w2 = w.clone();
    std::thread::spawn(move || w2.wake()).join().unwrap();
    w.wake();

    // Finishes while an AbortHandle made before is alive; it aborts from another thread.
    let early = Arc::new(Mutex::new(None));
    let e = early.clone();
    let h = finished_on_a_dropped_runtime(move || {
        let h = spawn(async {});
        *e.lock().unwrap() = Some(h.abort_handle());
        h
    });
    drop(h);
    let early = early.lock().unwrap().take().unwrap();
    std::thread::spawn(move || {
        early.abort();
        assert!(early.is_finished());
    })
    .join()
    .unwrap();

    // Finishes with only its JoinHandle left; handles made from it now reach nothing.
    let h = finished_on_a_dropped_runtime(|| spawn(async {}));
    h.abort();
    let late = h.abort_handle();
    drop(h);
    std::thread::spawn(move || {
        late.abort();
        assert!(late.is_finished());
    })
    .join()
    .unwrap();
}

/// Spawn one task with `make` on a runtime of its own, let it finish, drop the runtime and
/// hand back the task's JoinHandle.
fn finished_on_a_dropped_runtime(
    make: impl FnOnce() -> crate::task::JoinHandle<()> + 'static,
) -> crate::task::JoinHandle<()> {
    let rt = Runtime::new().unwrap();
    // Handed out of `block_on` on purpose, unawaited: it is to outlive the runtime.
    #[allow(clippy::async_yields_async)]
    rt.block_on(async move {
        let h = make();
        for _ in 0..4 {
            yield_now().await;
        }
        assert!(h.is_finished());
        h
    })
}

#[test]
fn join_set_and_runtime_drop_with_live_tasks() {
    let drops = Rc::new(Cell::new(0));
    let rt = Runtime::new().unwrap();
    let d = drops.clone();
    rt.block_on(async move {
        let mut set = JoinSet::new();
        for i in 0..4u32 {
            set.spawn(async move { i });
        }
        let mut sum = 0;
        while let Some(r) = set.join_next().await {
            sum += r.unwrap();
        }
        assert_eq!(sum, 6);
        for _ in 0..3 {
            let f = Flag(d.clone());
            drop(spawn(async move {
                let _f = f;
                std::future::pending::<()>().await
            }));
        }
        yield_now().await;
    });
    drop(rt);
    assert_eq!(drops.get(), 3);
}

#[test]
fn foreign_abort_and_remote_spawn_through_the_send_handles() {
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        // An AbortHandle used and dropped on another thread (a SendTask reference).
        let h = spawn(std::future::pending::<()>());
        let abort = h.abort_handle();
        std::thread::spawn(move || abort.abort()).join().unwrap();
        assert!(h.await.unwrap_err().is_cancelled());
        // A remote spawn from another thread; its !Send future is built here.
        let handle = crate::Handle::current();
        let remote = std::thread::spawn(move || {
            handle.spawn(|| async {
                let local = Rc::new(3u32);
                yield_now().await;
                *local
            })
        })
        .join()
        .unwrap();
        assert_eq!(remote.await.unwrap(), 3);
    });
}
