//! signal::{Signal, terminate, shutdown}: signals sent to this process with kill(1) reach
//! every listener, on any task, loop or thread; no delivery is lost between two `recv`s;
//! deliveries made while nobody looks are coalesced into one `recv`.
//!
//! Signals are process-wide and the tests of this file run in parallel threads, so each
//! test owns its signal numbers (SIGUSR1, SIGUSR2, SIGHUP, SIGWINCH, SIGQUIT), and the two
//! that listen for SIGINT/SIGTERM hold `INT_TERM`. tests/signal.rs (ctrl_c) is its own
//! process.

#![cfg(unix)]

use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::sync::Mutex;
use std::task::Poll;
use std::time::Duration;

use corio::signal::{self, Signal};
use corio::time::timeout;

/// Held by the tests that send SIGINT or SIGTERM (`shutdown` listens for both).
static INT_TERM: Mutex<()> = Mutex::new(());

/// Send `name` (as kill(1) spells it: "USR1", "TERM") to this process, and give the kernel
/// a moment to run the handler.
fn raise(name: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{name}"), &std::process::id().to_string()])
        .status()
        .expect("run kill(1)");
    assert!(status.success(), "kill -{name} failed");
    std::thread::sleep(Duration::from_millis(50));
}

/// Send `name` and wait until `probe` (a listener of that signal) has seen it: the
/// delivery has been counted, however busy the machine is.
async fn raise_counted(name: &str, probe: &mut Signal) {
    raise(name);
    let seen = timeout(PATIENCE, probe.recv()).await;
    assert_eq!(seen, Ok(Some(())), "kill -{name} was never delivered");
}

/// Poll `fut` once (so it registers) and report whether it completed.
async fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    poll_fn(|cx| Poll::Ready(Pin::new(&mut *fut).poll(cx))).await
}

const PATIENCE: Duration = Duration::from_secs(10);

#[corio::test]
async fn several_listeners_of_one_signal_on_tasks_loops_and_threads_each_see_it() {
    let mut a = Signal::new(signal::SIGUSR1).unwrap();
    let mut b = Signal::new(signal::SIGUSR1).unwrap();
    let mut on_task = Signal::new(signal::SIGUSR1).unwrap();
    let mut on_thread = Signal::new(signal::SIGUSR1).unwrap();
    let task = corio::spawn(async move { on_task.recv().await });
    // A listener moved to a runtime on another OS thread, parked before the signal.
    let (parked_tx, parked_rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        corio::run(async move {
            let mut recv = pin!(on_thread.recv());
            assert!(poll_once(&mut recv).await.is_pending());
            parked_tx.send(()).unwrap();
            timeout(PATIENCE, recv).await
        })
    });
    parked_rx.recv().unwrap();
    {
        let mut recv_a = pin!(a.recv());
        assert!(poll_once(&mut recv_a).await.is_pending());
        corio::task::yield_now().await; // the spawned listener parks too

        raise("USR1");
        assert_eq!(timeout(PATIENCE, recv_a).await, Ok(Some(())), "a");
    }
    // `b` was never polled before the signal: it counts from its creation.
    assert_eq!(timeout(PATIENCE, b.recv()).await, Ok(Some(())), "b");
    let on_task = timeout(PATIENCE, task).await.expect("the task's listener");
    assert_eq!(on_task.unwrap(), Some(()));
    assert_eq!(
        thread.join().unwrap(),
        Ok(Some(())),
        "the other thread's listener"
    );

    // Each listener consumed its delivery: nothing more is pending.
    assert!(timeout(Duration::from_millis(50), a.recv()).await.is_err());
    assert!(timeout(Duration::from_millis(50), b.recv()).await.is_err());
}

#[corio::test]
async fn no_delivery_is_lost_between_two_recvs_and_a_batch_is_coalesced() {
    let mut usr2 = Signal::new(signal::SIGUSR2).unwrap();
    for round in 0..3 {
        // The signal arrives while nobody is waiting in `recv`...
        raise("USR2");
        // ...and the next `recv` still sees it.
        assert_eq!(
            timeout(PATIENCE, usr2.recv()).await,
            Ok(Some(())),
            "round {round}: a delivery between two recvs was lost"
        );
    }
    // Three deliveries while not looking: one `recv` for all of them (documented).
    let mut probe = Signal::new(signal::SIGUSR2).unwrap();
    for _ in 0..3 {
        raise_counted("USR2", &mut probe).await;
    }
    assert_eq!(timeout(PATIENCE, usr2.recv()).await, Ok(Some(())));
    assert!(
        timeout(Duration::from_millis(100), usr2.recv())
            .await
            .is_err(),
        "a coalesced batch completed more than one recv"
    );
    // And then the stream goes on.
    raise("USR2");
    assert_eq!(timeout(PATIENCE, usr2.recv()).await, Ok(Some(())));
}

#[corio::test]
async fn a_new_listener_does_not_see_earlier_deliveries_and_a_dropped_recv_consumes_nothing() {
    let mut old = Signal::new(signal::SIGHUP).unwrap();
    raise("HUP");
    let mut new = Signal::new(signal::SIGHUP).unwrap();
    assert!(
        timeout(Duration::from_millis(100), new.recv())
            .await
            .is_err(),
        "a listener created after the delivery saw it"
    );
    assert_eq!(timeout(PATIENCE, old.recv()).await, Ok(Some(())));
    // A recv parked, woken by a delivery, then dropped unpolled consumes nothing.
    {
        let mut recv = pin!(old.recv());
        assert!(poll_once(&mut recv).await.is_pending());
        raise("HUP");
    }
    assert_eq!(
        timeout(PATIENCE, old.recv()).await,
        Ok(Some(())),
        "a dropped recv lost the delivery it was woken for"
    );
    assert_eq!(timeout(PATIENCE, new.recv()).await, Ok(Some(())));
    raise("HUP");
    assert_eq!(timeout(PATIENCE, new.recv()).await, Ok(Some(())));
    assert_eq!(timeout(PATIENCE, old.recv()).await, Ok(Some(())));
}

#[corio::test]
async fn signal_is_a_stream_that_yields_once_per_delivery_batch() {
    use futures_core::Stream;
    let mut winch = Signal::new(signal::SIGWINCH).unwrap();
    fn next(s: &mut Signal) -> impl Future<Output = Option<()>> + '_ {
        poll_fn(move |cx| Pin::new(&mut *s).poll_next(cx))
    }
    assert!(timeout(Duration::from_millis(50), next(&mut winch))
        .await
        .is_err());
    raise("WINCH");
    assert_eq!(timeout(PATIENCE, next(&mut winch)).await, Ok(Some(())));
    assert!(timeout(Duration::from_millis(50), next(&mut winch))
        .await
        .is_err());
}

#[corio::test]
async fn a_listener_parked_across_a_signal_from_another_thread_wakes_its_loop() {
    // The handler's relay thread wakes a task parked on a loop that is blocked in epoll.
    let mut quit = Signal::new(signal::SIGQUIT).unwrap();
    let sender = std::thread::spawn(|| {
        std::thread::sleep(Duration::from_millis(100));
        raise("QUIT");
    });
    assert_eq!(timeout(PATIENCE, quit.recv()).await, Ok(Some(())));
    sender.join().unwrap();
}

#[corio::test]
#[allow(clippy::await_holding_lock)] // the lock serialises tests, not tasks
async fn shutdown_and_terminate_complete_on_sigterm() {
    let _guard = INT_TERM.lock().unwrap_or_else(|e| e.into_inner());
    let mut shutdown = pin!(signal::shutdown());
    let mut terminate = pin!(signal::terminate());
    assert!(poll_once(&mut shutdown).await.is_pending());
    assert!(poll_once(&mut terminate).await.is_pending());
    raise("TERM");
    timeout(PATIENCE, shutdown)
        .await
        .expect("shutdown() missed SIGTERM")
        .unwrap();
    timeout(PATIENCE, terminate)
        .await
        .expect("terminate() missed SIGTERM")
        .unwrap();
}

#[corio::test]
#[allow(clippy::await_holding_lock)] // the lock serialises tests, not tasks
async fn shutdown_completes_on_sigint_and_terminate_does_not() {
    let _guard = INT_TERM.lock().unwrap_or_else(|e| e.into_inner());
    let mut shutdown = pin!(signal::shutdown());
    let mut terminate = pin!(signal::terminate());
    assert!(poll_once(&mut shutdown).await.is_pending());
    assert!(poll_once(&mut terminate).await.is_pending());
    raise("INT");
    timeout(PATIENCE, shutdown)
        .await
        .expect("shutdown() missed SIGINT")
        .unwrap();
    assert!(
        timeout(Duration::from_millis(100), &mut terminate)
            .await
            .is_err(),
        "terminate() completed on SIGINT"
    );
}

#[test]
fn signals_that_cannot_be_handled_are_refused_with_invalid_input() {
    for signum in [9, 11, 0, -3, 4096] {
        // SIGKILL, SIGSEGV, not signals.
        let err = Signal::new(signum).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{signum}");
    }
}
