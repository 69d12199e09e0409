//! Scheduling fairness: FIFO wake order, yield_now goes to the back, and I/O and timers are
//! never starved by tasks that keep yielding.

use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::Duration;

use corio::task::yield_now;

#[test]
fn yield_now_requeues_at_the_back() {
    corio::run(async {
        let log = Rc::new(RefCell::new(Vec::new()));
        let a = {
            let l = log.clone();
            corio::spawn(async move {
                l.borrow_mut().push("a1");
                yield_now().await;
                l.borrow_mut().push("a2");
            })
        };
        let b = {
            let l = log.clone();
            corio::spawn(async move {
                l.borrow_mut().push("b1");
                l.borrow_mut().push("b-done");
            })
        };
        a.await.unwrap();
        b.await.unwrap();
        assert_eq!(*log.borrow(), ["a1", "b1", "b-done", "a2"]);
    });
}

#[test]
fn the_main_future_takes_its_turn_in_fifo_order() {
    corio::run(async {
        let ran = Rc::new(Cell::new(0));
        let r = ran.clone();
        let _h = corio::spawn(async move { r.set(r.get() + 1) });
        yield_now().await;
        assert_eq!(ran.get(), 1, "the spawned task runs before main resumes");
    });
}

#[test]
fn io_is_served_while_other_tasks_spin_on_yield_now() {
    let rt = corio::Runtime::builder().event_interval(8).build().unwrap();
    rt.block_on(async {
        let stop = Rc::new(Cell::new(false));
        let spinners: Vec<_> = (0..4)
            .map(|_| {
                let s = stop.clone();
                corio::spawn(async move {
                    while !s.get() {
                        yield_now().await;
                    }
                })
            })
            .collect();
        let (a, mut b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let a = corio::io::Async::new(a).unwrap();
        a.clear_readable();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(10));
            b.write_all(b"ping").unwrap();
            b
        });
        let mut buf = [0u8; 4];
        let n = corio::time::timeout(
            Duration::from_secs(5),
            a.read_with(|mut s| s.read(&mut buf)),
        )
        .await
        .expect("I/O starved by yielding tasks")
        .unwrap();
        assert_eq!(&buf[..n], b"ping");
        stop.set(true);
        for s in spinners {
            s.await.unwrap();
        }
        drop(writer.join().unwrap());
    });
}

#[test]
fn wake_order_is_preserved_for_many_tasks() {
    corio::run(async {
        let order = Rc::new(RefCell::new(Vec::new()));
        let wakers: Rc<RefCell<Vec<Option<std::task::Waker>>>> =
            Rc::new(RefCell::new(vec![None; 100]));
        let handles: Vec<_> = (0..100)
            .map(|i| {
                let (o, w) = (order.clone(), wakers.clone());
                corio::spawn(async move {
                    let mut parked = false;
                    std::future::poll_fn(|cx| {
                        if parked {
                            return std::task::Poll::Ready(());
                        }
                        parked = true;
                        w.borrow_mut()[i] = Some(cx.waker().clone());
                        std::task::Poll::Pending
                    })
                    .await;
                    o.borrow_mut().push(i);
                })
            })
            .collect();
        yield_now().await;
        // Wake in reverse order: they must run in that order.
        for i in (0..100).rev() {
            wakers.borrow_mut()[i].take().unwrap().wake();
        }
        for h in handles {
            h.await.unwrap();
        }
        assert_eq!(*order.borrow(), (0..100).rev().collect::<Vec<_>>());
    });
}

#[test]
fn a_budget_forced_yield_lets_the_loop_hear_io_before_the_busy_task_runs_again() {
    // event_interval is huge, so only the forced yield can make the loop look at the OS
    // while the hog stays ready: without that, the reader would wait 10,000 hog polls.
    let rt = corio::Runtime::builder()
        .event_interval(10_000)
        .task_budget(16)
        .build()
        .unwrap();
    rt.block_on(async {
        let (a, mut b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let a = corio::io::Async::new(a).unwrap();
        a.clear_readable();
        let heard = Rc::new(Cell::new(false));
        let h = heard.clone();
        let reader = corio::spawn(async move {
            a.readable().await.unwrap();
            h.set(true);
        });
        yield_now().await; // the reader parks on its readiness
        b.write_all(b"x").unwrap(); // the edge waits in epoll
        let ev = Rc::new(corio::sync::Event::new());
        ev.set();
        let h = heard.clone();
        let hog = corio::spawn(async move {
            let mut steps = 0u64;
            while !h.get() && steps < 1_000_000 {
                ev.wait().await;
                steps += 1;
            }
            steps
        });
        let steps = hog.await.unwrap();
        reader.await.unwrap();
        // 16 waits, the 17th cut short; the loop hears the edge and queues the reader
        // *before* the deferred hog, so the reader has run when that 17th wait completes.
        assert_eq!(
            steps, 17,
            "the reader was heard only after {steps} ready waits of the busy task"
        );
    });
}
