//! `spawn_blocking`: results, panics, the thread bound, and idle threads exiting.
//!
//! All on real time, on purpose: the jobs run on other OS threads and sleep for real, a job
//! in flight holds a paused clock (so "the loop keeps ticking while a job runs" cannot be
//! asked of paused time), and the pool's keep-alive is measured by its own threads.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[test]
fn spawn_blocking_delivers_the_result_to_the_awaiting_task() {
    corio::run(async {
        let h = corio::spawn_blocking(|| {
            std::thread::sleep(Duration::from_millis(10));
            std::thread::current().name().map(String::from)
        });
        assert_eq!(h.await.unwrap().as_deref(), Some("corio-blocking"));
    });
}

#[test]
fn the_loop_keeps_running_tasks_while_blocking_work_runs() {
    corio::run(async {
        let slow = corio::spawn_blocking(|| std::thread::sleep(Duration::from_millis(100)));
        let t = Instant::now();
        let mut ticks = 0;
        while !slow.is_finished() {
            corio::time::sleep(Duration::from_millis(5)).await;
            ticks += 1;
        }
        slow.await.unwrap();
        assert!(
            ticks >= 5,
            "the loop was blocked ({ticks} ticks in {:?})",
            t.elapsed()
        );
    });
}

#[test]
fn a_panic_in_blocking_work_becomes_a_join_error() {
    corio::run(async {
        let err = corio::spawn_blocking(|| panic!("blocking boom"))
            .await
            .unwrap_err();
        assert!(err.is_panic());
        assert_eq!(
            *err.into_panic().downcast_ref::<&str>().unwrap(),
            "blocking boom"
        );
        assert_eq!(corio::spawn_blocking(|| 1).await.unwrap(), 1);
    });
}

#[test]
fn at_most_blocking_threads_jobs_run_at_once() {
    let rt = corio::Runtime::builder()
        .blocking_threads(3)
        .build()
        .unwrap();
    rt.block_on(async {
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..12)
            .map(|i| {
                let (running, peak) = (running.clone(), peak.clone());
                corio::spawn_blocking(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(15));
                    running.fetch_sub(1, Ordering::SeqCst);
                    i
                })
            })
            .collect();
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.unwrap());
        }
        assert_eq!(out, (0..12).collect::<Vec<_>>());
        assert_eq!(peak.load(Ordering::SeqCst), 3);
    });
    assert!(rt.blocking_threads_alive() <= 3);
}

#[test]
fn idle_blocking_threads_exit_after_keep_alive() {
    let rt = corio::Runtime::builder()
        .blocking_threads(4)
        .blocking_keep_alive(Duration::from_millis(50))
        .build()
        .unwrap();
    rt.block_on(async {
        let hs: Vec<_> = (0..4)
            .map(|_| corio::spawn_blocking(|| std::thread::sleep(Duration::from_millis(20))))
            .collect();
        for h in hs {
            h.await.unwrap();
        }
    });
    assert!(rt.blocking_threads_alive() >= 1);
    let deadline = Instant::now() + Duration::from_secs(5);
    while rt.blocking_threads_alive() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(rt.blocking_threads_alive(), 0, "idle threads did not exit");
    // The pool starts threads again on demand.
    assert_eq!(
        rt.block_on(async { corio::spawn_blocking(|| 7).await })
            .unwrap(),
        7
    );
}

#[test]
fn aborting_a_blocking_handle_reports_cancelled() {
    corio::run(async {
        let h = corio::spawn_blocking(|| std::thread::sleep(Duration::from_millis(30)));
        h.abort();
        assert!(h.await.unwrap_err().is_cancelled());
    });
}
