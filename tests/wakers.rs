//! Wakers: same-thread and foreign-thread wakes, stale wakes, wakers outliving the runtime.

use std::cell::Cell;
use std::future::poll_fn;
use std::rc::Rc;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use corio::task::yield_now;

/// A future that completes once `flag` is set, parking its waker in `slot`.
fn wait_for_flag(
    flag: Arc<Mutex<bool>>,
    slot: Arc<Mutex<Option<Waker>>>,
) -> impl std::future::Future<Output = ()> {
    poll_fn(move |cx| {
        if *flag.lock().unwrap() {
            return Poll::Ready(());
        }
        *slot.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    })
}

#[test]
fn a_foreign_thread_wake_reaches_a_sleeping_loop() {
    corio::run(async {
        let flag = Arc::new(Mutex::new(false));
        let slot = Arc::new(Mutex::new(None::<Waker>));
        let task = corio::spawn(wait_for_flag(flag.clone(), slot.clone()));
        yield_now().await; // the task parks its waker
        let (f, s) = (flag.clone(), slot.clone());
        let thread = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            *f.lock().unwrap() = true;
            s.lock().unwrap().take().unwrap().wake();
        });
        // No timer is armed: the loop blocks in epoll until the foreign wake pokes it.
        corio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("foreign wake lost")
            .unwrap();
        thread.join().unwrap();
    });
}

#[test]
fn the_main_future_can_be_woken_from_another_thread() {
    corio::run(async {
        let flag = Arc::new(Mutex::new(false));
        let slot = Arc::new(Mutex::new(None::<Waker>));
        let (f, s) = (flag.clone(), slot.clone());
        let (ready_tx, ready_rx) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            ready_rx.recv().unwrap();
            std::thread::sleep(Duration::from_millis(10));
            *f.lock().unwrap() = true;
            s.lock().unwrap().take().unwrap().wake_by_ref();
        });
        let mut told = false;
        poll_fn(|cx| {
            if *flag.lock().unwrap() {
                return Poll::Ready(());
            }
            *slot.lock().unwrap() = Some(cx.waker().clone());
            if !told {
                told = true;
                ready_tx.send(()).unwrap();
            }
            Poll::Pending
        })
        .await;
        thread.join().unwrap();
    });
}

#[test]
fn many_foreign_wakes_from_many_threads_all_arrive() {
    corio::run(async {
        const THREADS: usize = 8;
        const PER_THREAD: usize = 200;
        let mut handles = Vec::new();
        let mut slots = Vec::new();
        for _ in 0..THREADS * PER_THREAD {
            let flag = Arc::new(Mutex::new(false));
            let slot = Arc::new(Mutex::new(None::<Waker>));
            handles.push(corio::spawn(wait_for_flag(flag.clone(), slot.clone())));
            slots.push((flag, slot));
        }
        yield_now().await;
        let slots = Arc::new(slots);
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let slots = slots.clone();
                std::thread::spawn(move || {
                    for i in 0..PER_THREAD {
                        let (flag, slot) = &slots[t * PER_THREAD + i];
                        *flag.lock().unwrap() = true;
                        if let Some(w) = slot.lock().unwrap().take() {
                            w.wake();
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            corio::time::timeout(Duration::from_secs(10), h)
                .await
                .expect("a foreign wake was lost")
                .unwrap();
        }
        for t in threads {
            t.join().unwrap();
        }
    });
}

#[test]
fn waking_a_finished_task_is_a_no_op() {
    corio::run(async {
        let slot: Rc<Cell<Option<Waker>>> = Rc::new(Cell::new(None));
        let s = slot.clone();
        let h = corio::spawn(poll_fn(move |cx| {
            s.set(Some(cx.waker().clone()));
            Poll::Ready(5)
        }));
        assert_eq!(h.await.unwrap(), 5);
        let waker = slot.take().unwrap();
        waker.wake_by_ref();
        let clone = waker.clone();
        clone.wake();
        std::thread::spawn(move || waker.wake()).join().unwrap();
        yield_now().await;
        assert_eq!(corio::task::active_count(), 0);
    });
}

#[test]
fn waking_an_aborted_task_is_a_no_op() {
    corio::run(async {
        let slot: Rc<Cell<Option<Waker>>> = Rc::new(Cell::new(None));
        let s = slot.clone();
        let h = corio::spawn(poll_fn(move |cx| -> Poll<()> {
            s.set(Some(cx.waker().clone()));
            Poll::Pending
        }));
        yield_now().await;
        h.abort();
        assert!(h.await.unwrap_err().is_cancelled());
        slot.take().unwrap().wake();
        yield_now().await;
    });
}

struct DropCount(Arc<Mutex<u32>>);
impl Drop for DropCount {
    fn drop(&mut self) {
        *self.0.lock().unwrap() += 1;
    }
}

#[test]
fn wakers_held_after_the_runtime_is_gone_are_harmless() {
    let drops = Arc::new(Mutex::new(0));
    let slot = Arc::new(Mutex::new(None::<Waker>));
    {
        let rt = corio::Runtime::new().unwrap();
        let (s, d) = (slot.clone(), DropCount(drops.clone()));
        rt.block_on(async move {
            drop(corio::spawn(async move {
                let _d = d;
                poll_fn(|cx| -> Poll<()> {
                    *s.lock().unwrap() = Some(cx.waker().clone());
                    Poll::Pending
                })
                .await
            }));
            yield_now().await;
        });
        assert_eq!(*drops.lock().unwrap(), 0);
    } // runtime dropped: the parked task's future is dropped
    assert_eq!(*drops.lock().unwrap(), 1);
    let waker = slot.lock().unwrap().take().unwrap();
    waker.wake_by_ref(); // same thread, no runtime
    let w2 = waker.clone();
    std::thread::spawn(move || w2.wake()).join().unwrap(); // foreign thread
    drop(waker); // last reference frees the task cell
}

#[test]
fn a_waker_woken_outside_block_on_schedules_for_the_next_block_on() {
    let rt = corio::Runtime::new().unwrap();
    let slot: Rc<Cell<Option<Waker>>> = Rc::new(Cell::new(None));
    let woken = Rc::new(Cell::new(false));
    let (s, w) = (slot.clone(), woken.clone());
    let h = rt.spawn(poll_fn(move |cx| {
        if w.get() {
            return Poll::Ready("resumed");
        }
        s.set(Some(cx.waker().clone()));
        Poll::Pending
    }));
    rt.block_on(yield_now());
    woken.set(true);
    slot.take().unwrap().wake(); // no runtime is running on this thread now
    assert_eq!(rt.block_on(h).unwrap(), "resumed");
}
