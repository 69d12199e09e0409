//! The fault contract of corio::net, on loopback: broken pipes, resets, refused and
//! timed-out connects, and streams dropped while another task waits on them.
//! (SIGPIPE with the default disposition: net/tests/sigpipe.rs; accept back-off under
//! RLIMIT_NOFILE: net/tests/accept_backoff.rs; fd leaks: tests/net_fd_leak.rs.)

use std::cell::RefCell;
use std::future::poll_fn;
use std::io::{self, ErrorKind};
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use corio::net::{TcpListener, TcpSocket, TcpStream, UnixStream};
use corio::time::{sleep, timeout};

mod common;
use common::{bounded, tcp_pair};

/// Write until the OS reports an error (the first writes may still be accepted while the
/// peer's RST is on its way); give up after a few seconds.
async fn write_until_error(stream: &mut TcpStream) -> io::Error {
    for _ in 0..500 {
        match stream.write(b"are you there?").await {
            Ok(_) => sleep(Duration::from_millis(5)).await,
            Err(e) => return e,
        }
    }
    panic!("writing to a closed peer never failed");
}

#[corio::test]
async fn writing_to_a_closed_peer_is_broken_pipe() {
    bounded(async {
        let (mut client, server) = tcp_pair().await;
        drop(server);
        // The FIN has arrived once we read EOF.
        assert_eq!(client.read(&mut [0u8; 8]).await.unwrap(), 0);
        let err = write_until_error(&mut client).await;
        assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{err}");
        // And it stays an error, without killing the process.
        assert!(client.write_all(b"again").await.is_err());
        assert!(client.try_write(b"again").is_err());
    })
    .await
}

#[corio::test]
async fn a_peer_reset_mid_read_is_connection_reset() {
    bounded(async {
        let (client, mut server) = tcp_pair().await;
        let reader = corio::spawn(async move {
            let mut buf = [0u8; 100];
            // Waits for 100 bytes, gets 7 and then the reset.
            server.read_exact(&mut buf).await
        });
        let mut client = client;
        client.write_all(b"partial").await.unwrap();
        sleep(Duration::from_millis(20)).await;
        client.set_linger(Some(Duration::ZERO)).unwrap();
        drop(client); // RST
        let err = reader.await.unwrap().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
    })
    .await
}

#[corio::test]
async fn readiness_reports_a_reset_too() {
    bounded(async {
        let (client, server) = tcp_pair().await;
        client.set_linger(Some(Duration::ZERO)).unwrap();
        drop(client);
        server.readable().await.unwrap();
        let err = server.try_read(&mut [0u8; 16]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
    })
    .await
}

#[corio::test]
async fn connecting_to_a_closed_port_is_connection_refused() {
    bounded(async {
        let addr = {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            listener.local_addr().unwrap()
        };
        let err = TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
        assert!(
            err.to_string().contains(&format!("connect to {addr}")),
            "the error should say what failed: {err}"
        );
    })
    .await
}

#[corio::test]
async fn a_connect_timeout_composes_with_time_timeout() {
    bounded(async {
        // A listener that never accepts, with the smallest backlog: once its queue is full
        // the kernel drops further SYNs, so the next connect hangs in SYN_SENT.
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let listener = socket.listen(0).unwrap();
        let addr = listener.local_addr().unwrap();
        let mut queued = Vec::new();
        let mut timed_out = false;
        for _ in 0..64 {
            match timeout(Duration::from_millis(200), TcpStream::connect(addr)).await {
                Ok(Ok(stream)) => queued.push(stream),
                Ok(Err(e)) => panic!("connect failed instead of hanging: {e}"),
                Err(_elapsed) => {
                    timed_out = true;
                    break;
                }
            }
        }
        assert!(
            timed_out,
            "no connect ever hung ({} got through)",
            queued.len()
        );
        // The timed-out connect's socket is closed, the loop is fine: a new listener works.
        let (mut a, mut b) = tcp_pair().await;
        a.write_all(b"ok").await.unwrap();
        b.read_exact(&mut [0u8; 2]).await.unwrap();
    })
    .await
}

/// A task parks on a stream's readiness without holding the stream across the wait (it is
/// in a shared slot), then another task drops the stream. The parked task must be woken.
#[corio::test]
async fn dropping_a_stream_wakes_the_task_waiting_on_it() {
    bounded(async {
        let (client, _server) = tcp_pair().await;
        // Nothing to read: this clears the (optimistic) initial readiness.
        let err = client.try_read(&mut [0u8; 8]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WouldBlock);
        let slot = Rc::new(RefCell::new(Some(client)));
        let waiter_slot = slot.clone();
        let waiter = corio::spawn(async move {
            poll_fn(|cx| match waiter_slot.borrow().as_ref() {
                Some(stream) => stream.poll_read_ready(cx),
                None => Poll::Ready(Err(io::Error::new(
                    ErrorKind::NotConnected,
                    "the stream was dropped",
                ))),
            })
            .await
        });
        // Let the waiter park.
        for _ in 0..3 {
            corio::task::yield_now().await;
        }
        assert!(!waiter.is_finished());
        drop(slot.borrow_mut().take());
        let result = timeout(Duration::from_secs(5), waiter)
            .await
            .expect("the waiting task hung after the stream was dropped")
            .unwrap();
        assert!(result.is_err());
    })
    .await
}

#[corio::test]
async fn dropping_a_unix_stream_wakes_a_writer_waiting_for_room() {
    bounded(async {
        let (a, _b) = UnixStream::pair().unwrap();
        // Fill the socket so that writable() really waits.
        let chunk = vec![0u8; 64 * 1024];
        while a.try_write(&chunk).is_ok() {}
        let slot = Rc::new(RefCell::new(Some(a)));
        let waiter_slot = slot.clone();
        let waiter = corio::spawn(async move {
            poll_fn(|cx| match waiter_slot.borrow().as_ref() {
                Some(stream) => stream.poll_write_ready(cx),
                None => Poll::Ready(Err(io::Error::from(ErrorKind::NotConnected))),
            })
            .await
        });
        for _ in 0..3 {
            corio::task::yield_now().await;
        }
        assert!(!waiter.is_finished());
        drop(slot.borrow_mut().take());
        let result = timeout(Duration::from_secs(5), waiter)
            .await
            .expect("the waiting writer hung")
            .unwrap();
        assert!(result.is_err());
    })
    .await
}

// Cancelling a task whose future drops an `Async` it is parked on makes the drop wake the
// task being cancelled (a regression test for a double release in the executor).
#[corio::test]
async fn aborting_a_task_blocked_in_read_closes_its_stream() {
    bounded(async {
        let (client, mut server) = tcp_pair().await;
        let reader = corio::spawn(async move {
            let mut client = client;
            let _ = client.read(&mut [0u8; 8]).await;
        });
        corio::task::yield_now().await;
        reader.abort();
        assert!(reader.await.unwrap_err().is_cancelled());
        // The aborted task's stream was dropped: the server sees EOF.
        assert_eq!(server.read(&mut [0u8; 8]).await.unwrap(), 0);
    })
    .await
}

#[corio::test]
async fn connecting_to_missing_or_dead_unix_paths_fails_cleanly() {
    bounded(async {
        let dir = std::env::temp_dir().join(format!(
            "corio-net-faults-{}-{:?}",
            std::process::id(),
            std::time::SystemTime::now()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.sock");
        let err = UnixStream::connect(&missing).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        // A socket file nobody listens on any more.
        let stale = dir.join("stale.sock");
        drop(corio::net::UnixListener::bind(&stale).unwrap());
        let err = UnixStream::connect(&stale).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    })
    .await
}
