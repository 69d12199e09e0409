//! Paused (virtual) time: the clock moves only by `advance` and by auto-advance (when no task
//! is ready and the OS has no I/O ready), timers fire in deadline then insertion order, real
//! work on other threads does not move it, and a jump never races I/O that is ready.

use std::cell::{Cell, RefCell};
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::{Duration, Instant};

use corio::time::{self, advance, sleep, timeout};

fn paused() -> corio::Runtime {
    corio::Runtime::builder()
        .start_paused(true)
        .build()
        .unwrap()
}

fn paused_manual() -> corio::Runtime {
    corio::Runtime::builder()
        .start_paused(true)
        .auto_advance(false)
        .build()
        .unwrap()
}

#[test]
fn an_hour_of_sleeps_passes_in_well_under_a_second_of_wall_time() {
    let wall = Instant::now();
    paused().block_on(async {
        let t0 = time::now();
        let sleepers: Vec<_> = (1..=60u64)
            .map(|min| corio::spawn(async move { sleep(Duration::from_secs(60 * min)).await }))
            .collect();
        for s in sleepers {
            s.await.unwrap();
        }
        assert_eq!(time::now() - t0, Duration::from_secs(3600));
    });
    assert!(
        wall.elapsed() < Duration::from_secs(1),
        "an hour of virtual sleeps took {:?} of wall time",
        wall.elapsed()
    );
}

#[test]
fn advance_fires_due_timers_in_deadline_then_insertion_order() {
    paused_manual().block_on(async {
        let log = Rc::new(RefCell::new(Vec::new()));
        // (delay ms, label): two pairs share a deadline; each pair must keep spawn order.
        for (ms, label) in [(30, "c1"), (10, "a1"), (20, "b"), (10, "a2"), (30, "c2")] {
            let log = log.clone();
            corio::spawn(async move {
                sleep(Duration::from_millis(ms)).await;
                log.borrow_mut().push(label);
            });
        }
        corio::task::yield_now().await; // every sleeper registers its timer
        advance(Duration::from_millis(9)).await;
        assert!(log.borrow().is_empty(), "nothing is due at 9 ms");
        advance(Duration::from_millis(1)).await;
        assert_eq!(*log.borrow(), ["a1", "a2"]);
        advance(Duration::from_millis(25)).await;
        assert_eq!(*log.borrow(), ["a1", "a2", "b", "c1", "c2"]);
    });
}

#[test]
fn without_auto_advance_time_stands_still_while_real_work_happens_elsewhere() {
    paused_manual().block_on(async {
        let t0 = time::now();
        let fired = Rc::new(Cell::new(false));
        let f = fired.clone();
        let sleeper = corio::spawn(async move {
            sleep(Duration::from_millis(10)).await;
            f.set(true);
        });
        // 50 ms of real work on another thread; the loop waits for it, the clock does not move.
        let (tx, rx) = std::sync::mpsc::channel();
        let worker = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            tx.send(()).unwrap();
        });
        corio::spawn_blocking(move || rx.recv().unwrap())
            .await
            .unwrap();
        worker.join().unwrap();
        assert_eq!(time::now(), t0, "paused time moved by itself");
        assert!(
            !fired.get(),
            "a 10 ms timer fired on a clock that stood still"
        );
        advance(Duration::from_millis(10)).await;
        assert!(fired.get());
        sleeper.await.unwrap();
    });
}

#[test]
fn a_blocking_job_in_flight_holds_the_clock_even_with_auto_advance() {
    paused().block_on(async {
        let t0 = time::now();
        let timer = corio::spawn(async { sleep(Duration::from_secs(5)).await });
        let job = corio::spawn_blocking(|| std::thread::sleep(Duration::from_millis(30)));
        job.await.unwrap();
        assert_eq!(
            time::now(),
            t0,
            "auto-advance jumped while a blocking job could still wake someone"
        );
        timer.await.unwrap(); // now nothing else can happen: the clock jumps
        assert_eq!(time::now() - t0, Duration::from_secs(5));
    });
}

#[test]
fn pause_and_resume_inside_a_normal_runtime() {
    corio::run(async {
        let before = time::now();
        assert!(before <= Instant::now());
        time::pause();
        let t0 = time::now();
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(time::now(), t0, "a paused clock stands still");
        sleep(Duration::from_secs(30)).await; // auto-advance
        assert_eq!(time::now() - t0, Duration::from_secs(30));
        time::resume();
        let t1 = time::now();
        assert!(
            t1 >= t0 + Duration::from_secs(30),
            "resuming never jumps back"
        );
        sleep(Duration::from_millis(2)).await; // real time again
        assert!(time::now() >= t1 + Duration::from_millis(2));
        time::pause();
        time::pause(); // idempotent
        time::resume();
        time::resume();
    });
}

#[test]
#[should_panic(expected = "time::advance needs paused time")]
fn advance_on_a_running_clock_panics_with_a_clear_message() {
    corio::run(advance(Duration::from_secs(1)));
}

#[corio::test(start_paused = true)]
async fn the_test_macro_starts_paused() {
    let wall = Instant::now();
    let t0 = time::now();
    sleep(Duration::from_secs(24 * 3600)).await;
    assert_eq!(time::now() - t0, Duration::from_secs(24 * 3600));
    assert!(wall.elapsed() < Duration::from_secs(5));
}

#[corio::test(seed = 3, start_paused = true)]
async fn the_test_macro_takes_a_seed_and_start_paused_together() {
    let t0 = time::now();
    sleep(Duration::from_secs(7)).await;
    assert_eq!(time::now() - t0, Duration::from_secs(7));
}

#[test]
fn a_timeout_does_not_jump_past_io_that_is_ready() {
    paused().block_on(async {
        let (a, mut b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let a = corio::io::Async::new(a).unwrap();
        a.clear_readable();
        let reader = corio::spawn(async move {
            timeout(Duration::from_secs(10), a.readable())
                .await
                .map(|r| r.unwrap())
        });
        corio::task::yield_now().await; // the reader parks on readiness and its timer
        b.write_all(b"ready").unwrap(); // real I/O, ready before the loop next goes idle
        let t0 = time::now();
        let outcome = reader.await.unwrap();
        assert!(
            outcome.is_ok(),
            "the timeout fired although the socket was readable"
        );
        assert_eq!(time::now(), t0, "the clock jumped while I/O was ready");
    });
}

#[test]
fn interval_timeout_and_call_later_follow_the_paused_clock() {
    paused().block_on(async {
        let t0 = time::now();
        let mut iv = time::interval(Duration::from_secs(10));
        let first = iv.tick().await;
        let second = iv.tick().await;
        assert_eq!(first, t0);
        assert_eq!(second - first, Duration::from_secs(10));
        let r = timeout(Duration::from_secs(3), sleep(Duration::from_secs(60))).await;
        assert!(r.is_err());
        assert_eq!(time::now() - t0, Duration::from_secs(13));
        let hit = Rc::new(Cell::new(None));
        let h = hit.clone();
        let _timer = time::call_later(Duration::from_secs(2), move || h.set(Some(time::now())));
        sleep(Duration::from_secs(5)).await;
        assert_eq!(hit.get(), Some(t0 + Duration::from_secs(15)));
        let s = time::sleep(Duration::from_secs(1));
        assert!(!s.is_elapsed());
        advance(Duration::from_secs(1)).await;
        assert!(s.is_elapsed());
    });
}

#[test]
fn the_same_seed_replays_the_same_interleaving_of_timers_and_tasks() {
    fn run(seed: u64) -> Vec<u32> {
        corio::Runtime::builder()
            .seed(seed)
            .start_paused(true)
            .build()
            .unwrap()
            .block_on(async {
                let log = Rc::new(RefCell::new(Vec::new()));
                let tasks: Vec<_> = (0..20u32)
                    .map(|i| {
                        let log = log.clone();
                        corio::spawn(async move {
                            for round in 0..3u64 {
                                sleep(Duration::from_millis(u64::from(i % 4) * 10 + round)).await;
                                log.borrow_mut().push(i);
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
                log.borrow().clone()
            })
    }
    let a = run(11);
    assert_eq!(a, run(11), "seed 11 did not replay");
    assert_eq!(a.len(), 60);
}

#[test]
fn a_timeout_counts_from_its_first_pending_poll_and_a_ready_one_never_arms() {
    paused_manual().block_on(async {
        // Made now, first polled 20 ms later: the 10 ms count starts at that poll, so it is
        // late rather than early — and a ready future completes without any timer.
        let t = timeout(Duration::from_millis(10), std::future::pending::<()>());
        advance(Duration::from_millis(20)).await;
        let started = time::now();
        let waiter = corio::spawn(t);
        corio::task::yield_now().await;
        assert!(!waiter.is_finished(), "fired at its first poll");
        advance(Duration::from_millis(9)).await;
        assert!(!waiter.is_finished());
        advance(Duration::from_millis(1)).await;
        assert!(waiter.await.unwrap().is_err());
        assert_eq!(time::now() - started, Duration::from_millis(10));
        assert_eq!(timeout(Duration::from_secs(1), async { 5 }).await, Ok(5));
        assert_eq!(
            corio::metrics().timers_fired_count,
            1,
            "the ready timeout armed no timer"
        );
    });
}

#[test]
fn an_aborted_blocking_job_does_not_hold_paused_time_forever() {
    // Bounded from outside: a hang fails the test instead of stalling the suite.
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        paused().block_on(async {
            let job = corio::spawn_blocking(|| std::thread::sleep(Duration::from_millis(20)));
            job.abort(); // nobody will be woken when the job ends
            let t0 = time::now();
            sleep(Duration::from_secs(1)).await;
            assert_eq!(time::now() - t0, Duration::from_secs(1));
        });
        done_tx.send(()).unwrap();
    });
    done_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("paused time stayed held by a finished, aborted blocking job");
}
