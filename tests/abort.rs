//! Aborting tasks: destructors run, handles report cancellation, finished tasks ignore it.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use corio::task::yield_now;
use corio::time::sleep;

struct DropFlag(Rc<Cell<u32>>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[test]
fn abort_of_a_task_parked_on_a_timer_runs_its_destructor() {
    corio::run(async {
        let drops = Rc::new(Cell::new(0));
        let flag = DropFlag(drops.clone());
        let h = corio::spawn(async move {
            let _flag = flag;
            sleep(Duration::from_secs(3600)).await;
            unreachable!("the timer must never fire");
        });
        yield_now().await; // let it park on the timer
        assert_eq!(drops.get(), 0);
        h.abort();
        let err = h.await.unwrap_err();
        assert!(err.is_cancelled());
        assert_eq!(drops.get(), 1);
    });
}

#[test]
fn abort_before_the_first_poll_never_polls_the_future() {
    corio::run(async {
        let polled = Rc::new(Cell::new(false));
        let drops = Rc::new(Cell::new(0));
        let (p, flag) = (polled.clone(), DropFlag(drops.clone()));
        let h = corio::spawn(async move {
            let _flag = flag;
            p.set(true);
        });
        h.abort();
        assert!(h.await.unwrap_err().is_cancelled());
        assert!(!polled.get());
        assert_eq!(drops.get(), 1);
    });
}

#[test]
fn abort_of_a_finished_task_keeps_its_output() {
    corio::run(async {
        let h = corio::spawn(async { 9 });
        yield_now().await;
        assert!(h.is_finished());
        h.abort();
        assert_eq!(h.await.unwrap(), 9);
    });
}

#[test]
fn a_task_can_abort_itself_via_an_abort_handle() {
    corio::run(async {
        let slot: Rc<Cell<Option<corio::task::AbortHandle>>> = Rc::new(Cell::new(None));
        let s = slot.clone();
        let h = corio::spawn(async move {
            yield_now().await;
            s.take().unwrap().abort();
            yield_now().await;
            unreachable!("aborted at the previous await");
        });
        slot.set(Some(h.abort_handle()));
        assert!(h.await.unwrap_err().is_cancelled());
    });
}

#[test]
fn the_timer_of_an_aborted_sleep_is_cancelled() {
    // If the aborted task's timer stayed armed, block_on would be woken for nothing; the
    // observable contract is that the loop still exits promptly and the short sleep works.
    corio::run(async {
        let h = corio::spawn(sleep(Duration::from_secs(86_400)));
        yield_now().await;
        h.abort();
        let _ = h.await;
        let t = std::time::Instant::now();
        sleep(Duration::from_millis(5)).await;
        assert!(t.elapsed() >= Duration::from_millis(5));
    });
}

/// Wakes its own task from its destructor, as an `Async` owned by the task does.
struct WakesSelfOnDrop(Option<std::task::Waker>);
impl Drop for WakesSelfOnDrop {
    fn drop(&mut self) {
        if let Some(w) = self.0.take() {
            w.wake();
        }
    }
}

#[test]
fn abort_of_a_task_whose_destructor_wakes_itself_releases_it_once() {
    corio::run(async {
        let mut handles = Vec::new();
        for _ in 0..100 {
            handles.push(corio::spawn(async {
                let mut guard = WakesSelfOnDrop(None);
                std::future::poll_fn(|cx| {
                    guard.0 = Some(cx.waker().clone());
                    std::task::Poll::<()>::Pending
                })
                .await;
                drop(guard);
            }));
        }
        yield_now().await;
        for h in &handles {
            h.abort();
        }
        for h in handles {
            assert!(h.await.unwrap_err().is_cancelled());
        }
        // The runtime is still consistent: more tasks run and finish.
        yield_now().await;
        assert_eq!(corio::task::active_count(), 0);
        assert_eq!(corio::spawn(async { 1 }).await.unwrap(), 1);
    });
}
