//! `Handle` and `RemoteJoinHandle`: spawning onto a loop from other threads and loops, and
//! the `Send` handles (`AbortHandle`, `RemoteJoinHandle`) used from other threads.

use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use corio::{Handle, RemoteJoinHandle, Runtime};

fn assert_send_sync<T: Send + Sync>() {}
fn assert_send<T: Send>() {}

#[test]
fn the_cross_thread_handles_are_send() {
    assert_send_sync::<Handle>();
    assert_send_sync::<corio::task::AbortHandle>();
    assert_send_sync::<corio::task::JoinError>();
    assert_send::<RemoteJoinHandle<u32>>();
}

/// A loop thread that runs until told to stop, returning its handle.
fn loop_thread() -> (Handle, mpsc::Sender<()>, thread::JoinHandle<()>) {
    let (handle_tx, handle_rx) = mpsc::channel();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let t = thread::spawn(move || {
        let rt = Runtime::new().unwrap();
        handle_tx.send(rt.handle()).unwrap();
        rt.block_on(async move {
            // Poll the stop channel between short sleeps (bounded by the test's own stop).
            for _ in 0..20_000 {
                if stop_rx.try_recv().is_ok() {
                    return;
                }
                corio::time::sleep(Duration::from_millis(1)).await;
            }
            panic!("loop thread never told to stop");
        });
    });
    (handle_rx.recv().unwrap(), stop_tx, t)
}

#[test]
fn a_plain_thread_spawns_a_non_send_future_built_on_the_loop_and_joins_it() {
    let (handle, stop, t) = loop_thread();
    let h = handle.spawn(|| async {
        let local = Rc::new(std::cell::Cell::new(1)); // !Send: built and kept on the loop
        corio::task::yield_now().await;
        local.set(local.get() + 41);
        (local.get(), thread::current().id())
    });
    let (value, ran_on) = h.join().unwrap();
    assert_eq!(value, 42);
    assert_ne!(ran_on, thread::current().id());
    assert_eq!(ran_on, t.thread().id());
    stop.send(()).unwrap();
    t.join().unwrap();
}

#[test]
fn a_remote_join_handle_is_awaited_on_another_loop() {
    let (handle, stop, t) = loop_thread();
    let out = corio::run(async move {
        let hs: Vec<_> = (0..100u64)
            .map(|i| handle.spawn(move || async move { i * 2 }))
            .collect();
        let mut sum = 0;
        for h in hs {
            sum += h.await.unwrap();
        }
        sum
    });
    assert_eq!(out, (0..100u64).map(|i| i * 2).sum::<u64>());
    stop.send(()).unwrap();
    t.join().unwrap();
}

#[test]
fn spawning_on_the_current_loop_through_its_handle_works() {
    corio::run(async {
        let handle = Handle::current();
        assert!(handle.same_runtime(&Handle::try_current().unwrap()));
        assert_eq!(handle.spawn(|| async { 5 }).await.unwrap(), 5);
    });
    assert!(Handle::try_current().is_none());
}

#[test]
#[should_panic(expected = "Handle::current must be called from inside a corio runtime")]
fn handle_current_outside_a_runtime_panics() {
    let _ = Handle::current();
}

#[test]
fn a_panic_in_the_remote_task_or_its_constructor_reaches_the_handle() {
    corio::run(async {
        let handle = Handle::current();
        let err = handle
            .spawn(|| async { panic!("remote task panic") })
            .await
            .unwrap_err();
        assert!(err.is_panic());
        assert!(err.to_string().contains("remote task panic"));
        let err = handle
            .spawn(|| -> std::future::Ready<()> { panic!("constructor panic") })
            .await
            .unwrap_err();
        assert!(err.is_panic());
        // The loop goes on.
        assert_eq!(handle.spawn(|| async { 1 }).await.unwrap(), 1);
    });
}

#[test]
fn abort_before_the_task_reached_its_loop_and_while_it_runs_cancels_it() {
    let rt = Runtime::new().unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let early = rt.handle().spawn(move || {
        r.store(true, Ordering::SeqCst);
        async {}
    });
    early.abort();
    assert!(rt.block_on(early).unwrap_err().is_cancelled());
    assert!(
        !ran.load(Ordering::SeqCst),
        "an aborted spawn never builds its future"
    );

    drop(rt);

    // From a plain thread, while the task runs on its loop's thread.
    let (handle, stop, t) = loop_thread();
    let started = Arc::new(AtomicBool::new(false));
    let s = started.clone();
    let h = handle.spawn(move || async move {
        s.store(true, Ordering::SeqCst);
        std::future::pending::<()>().await
    });
    for _ in 0..10_000 {
        if started.load(Ordering::SeqCst) {
            break;
        }
        thread::sleep(Duration::from_millis(1));
    }
    assert!(started.load(Ordering::SeqCst));
    h.abort();
    assert!(h.join().unwrap_err().is_cancelled());
    stop.send(()).unwrap();
    t.join().unwrap();
}

#[test]
fn an_abort_handle_aborts_from_another_thread() {
    corio::run(async {
        let h = corio::spawn(std::future::pending::<()>());
        let abort = h.abort_handle();
        assert!(!abort.is_finished());
        let a2 = abort.clone();
        thread::spawn(move || a2.abort()).join().unwrap();
        assert!(h.await.unwrap_err().is_cancelled());
        let seen = thread::spawn(move || abort.is_finished()).join().unwrap();
        assert!(seen, "a foreign thread sees the task finished");
    });
}

#[test]
fn a_spawn_onto_a_dropped_runtime_is_cancelled() {
    let rt = Runtime::new().unwrap();
    let handle = rt.handle();
    drop(rt);
    let h = handle.spawn(|| async { 1 });
    assert!(h.join().unwrap_err().is_cancelled());
}

#[test]
fn a_remote_task_left_unfinished_by_the_runtime_drop_is_cancelled() {
    let rt = Runtime::new().unwrap();
    let h = rt.handle().spawn(std::future::pending::<()>);
    rt.block_on(corio::time::sleep(Duration::from_millis(1)));
    assert!(!h.is_finished());
    drop(rt);
    assert!(h.join().unwrap_err().is_cancelled());
}

#[test]
#[should_panic(expected = "this thread runs a corio loop")]
fn join_on_a_loop_thread_panics_instead_of_blocking_it() {
    corio::run(async {
        let h = Handle::current().spawn(|| async {});
        let _ = h.join();
    });
}
