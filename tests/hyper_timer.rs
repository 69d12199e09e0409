//! corio_compat::hyper::Timer: hyper's timer on corio's wheel, and the thread rule that makes
//! its `Send + Sync` Sleep sound (panic when polled or dropped on a foreign thread, never
//! touching the wheel there).

mod hyper_support;

use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use corio::net::{TcpListener, TcpStream};
use corio_compat::hyper::{HyperIo, Sleep, Timer};
use hyper::rt::Timer as _;

/// Poll once with a waker that does nothing.
fn poll_noop(sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>) -> Poll<()> {
    sleep.as_mut().poll(&mut Context::from_waker(Waker::noop()))
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[corio::test]
async fn a_sleep_polled_on_another_thread_panics_with_a_clear_message() {
    let mut sleep = Timer.sleep(Duration::from_secs(3600));
    assert_eq!(poll_noop(&mut sleep), Poll::Pending); // registered on this loop's wheel
    let outcome = std::thread::spawn(move || {
        let _ = poll_noop(&mut sleep);
    })
    .join();
    let message = panic_message(outcome.expect_err("polling on a foreign thread must panic"));
    assert!(message.contains("polled on"), "{message}");
    assert!(
        message.contains("belongs to the corio runtime"),
        "{message}"
    );
    // The loop's timers are intact: a new sleep still fires.
    corio::time::sleep(Duration::from_millis(1)).await;
}

#[corio::test]
async fn a_sleep_dropped_on_another_thread_panics_and_leaves_the_wheel_alone() {
    let mut sleep = Timer.sleep(Duration::from_millis(20));
    assert_eq!(poll_noop(&mut sleep), Poll::Pending);
    let outcome = std::thread::spawn(move || drop(sleep)).join();
    let message = panic_message(outcome.expect_err("dropping on a foreign thread must panic"));
    assert!(message.contains("dropped on"), "{message}");
    assert!(message.contains("leaked"), "{message}");
    // The leaked timer stays in the wheel until its deadline and fires harmlessly; the loop
    // keeps working past it.
    corio::time::sleep(Duration::from_millis(40)).await;
    let mut again = Timer.sleep(Duration::from_millis(1));
    std::future::poll_fn(|cx| again.as_mut().poll(cx)).await;
}

#[test]
fn a_sleep_not_yet_polled_may_move_to_the_loop_that_polls_it() {
    // Made on this plain thread (no runtime, nothing registered), awaited on a loop thread.
    let sleep = Timer.sleep(Duration::from_millis(2));
    std::thread::spawn(move || corio::run(sleep))
        .join()
        .unwrap();
}

#[corio::test]
async fn sleep_is_send_and_sync_for_hyper() {
    fn needs_send_sync<T: Send + Sync>(_: &T) {}
    let sleep = Timer.sleep(Duration::ZERO);
    needs_send_sync(&sleep);
    sleep.await;
}

#[corio::test(start_paused = true)]
async fn sleeps_and_now_follow_paused_time() {
    let t0 = Timer.now();
    assert_eq!(t0, corio::time::now());
    Timer.sleep(Duration::from_secs(3600)).await;
    assert!(Timer.now() - t0 >= Duration::from_secs(3600));
    Timer
        .sleep_until(Timer.now() + Duration::from_secs(5))
        .await;
    assert!(Timer.now() - t0 >= Duration::from_secs(3605));
}

#[corio::test(start_paused = true)]
async fn reset_moves_the_deadline_in_place() {
    let t0 = corio::time::now();
    let mut sleep = Timer.sleep(Duration::from_secs(3600));
    assert_eq!(poll_noop(&mut sleep), Poll::Pending);
    let before: *const Sleep = &*sleep.as_mut().downcast_mut_pin::<Sleep>().unwrap();
    Timer.reset(&mut sleep, t0 + Duration::from_secs(2));
    let after: *const Sleep = &*sleep.as_mut().downcast_mut_pin::<Sleep>().unwrap();
    assert_eq!(before, after, "reset reuses the same allocation");
    std::future::poll_fn(|cx| sleep.as_mut().poll(cx)).await;
    let waited = corio::time::now() - t0;
    assert!(waited >= Duration::from_secs(2) && waited < Duration::from_secs(3600));
}

#[test]
fn reset_on_another_thread_panics() {
    let rt = corio::Runtime::new().unwrap();
    // The sleep is handed out of the runtime on purpose, registered and unfinished.
    #[allow(clippy::async_yields_async)]
    let mut sleep = rt.block_on(async {
        let mut sleep = Timer.sleep(Duration::from_secs(3600));
        assert_eq!(poll_noop(&mut sleep), Poll::Pending);
        sleep
    });
    let outcome = std::thread::spawn(move || {
        Timer.reset(&mut sleep, Instant::now());
    })
    .join();
    let message = panic_message(outcome.expect_err("reset on a foreign thread must panic"));
    assert!(message.contains("reset on"), "{message}");
}

#[corio::test(start_paused = true)]
async fn hyper_header_read_timeout_runs_on_corio_time() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = corio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let svc = hyper::service::service_fn(hyper_support::echo_line);
        hyper::server::conn::http1::Builder::new()
            .timer(Timer)
            .header_read_timeout(Duration::from_secs(30))
            .serve_connection(HyperIo::new(stream), svc)
            .await
    });
    let t0 = corio::time::now();
    let mut client = TcpStream::connect(addr).await.unwrap();
    client
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap(); // never finished
    let mut reply = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        match client.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => reply.extend_from_slice(&buf[..n]),
        }
    }
    let waited = corio::time::now() - t0;
    assert!(waited >= Duration::from_secs(30), "closed after {waited:?}");
    assert!(
        reply.is_empty() || reply.starts_with(b"HTTP/1.1 408"),
        "{reply:?}"
    );
    let result = server.await.unwrap();
    assert!(result.unwrap_err().is_timeout());
}
