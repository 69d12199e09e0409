//! signal::ctrl_c: SIGINT sent to this process (with kill(1), loopback of a kind) wakes every
//! waiting task, and only signals that arrive after the wait began count. Its own binary,
//! because the SIGINT handler stays installed for the process's life.

#![cfg(unix)]

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use corio::signal::ctrl_c;
use corio::time::timeout;

fn send_sigint_to_self() {
    let status = std::process::Command::new("kill")
        .args(["-INT", &std::process::id().to_string()])
        .status()
        .expect("run kill(1)");
    assert!(status.success());
}

/// Poll `fut` once, so that it registers (and installs the handler) before we signal.
async fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    poll_fn(|cx| Poll::Ready(std::pin::Pin::new(&mut *fut).poll(cx))).await
}

#[corio::test]
async fn ctrl_c_wakes_every_waiter_and_only_for_new_signals() {
    timeout(Duration::from_secs(30), async {
        let mut first = pin!(ctrl_c());
        let mut second = pin!(ctrl_c());
        assert!(poll_once(&mut first).await.is_pending());
        assert!(poll_once(&mut second).await.is_pending());
        // A waiter on another task as well.
        let third = corio::spawn(ctrl_c());
        corio::task::yield_now().await;

        send_sigint_to_self();
        timeout(Duration::from_secs(10), first)
            .await
            .expect("ctrl_c did not see SIGINT")
            .unwrap();
        timeout(Duration::from_secs(10), second)
            .await
            .expect("the second waiter was not woken")
            .unwrap();
        timeout(Duration::from_secs(10), third)
            .await
            .expect("the spawned waiter was not woken")
            .unwrap()
            .unwrap();

        // The signal is used up: a new wait needs a new SIGINT.
        let mut late = pin!(ctrl_c());
        assert!(poll_once(&mut late).await.is_pending());
        assert!(timeout(Duration::from_millis(100), &mut late)
            .await
            .is_err());
        send_sigint_to_self();
        timeout(Duration::from_secs(10), late)
            .await
            .expect("the second SIGINT was missed")
            .unwrap();
    })
    .await
    .expect("the test took longer than 30 s")
}
