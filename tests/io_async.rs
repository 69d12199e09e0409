//! `io::Async<T>`: readiness on any non-blocking fd, and what dropping it does to waiters.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::Duration;

use corio::io::Async;
use corio::time::timeout;

fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

#[test]
fn read_with_waits_for_data_written_later() {
    corio::run(async {
        let (a, b) = pair();
        let a = Async::new(a).unwrap();
        let b = Async::new(b).unwrap();
        let reader = corio::spawn(async move {
            let mut buf = [0u8; 5];
            let n = a.read_with(|mut s| s.read(&mut buf)).await.unwrap();
            buf[..n].to_vec()
        });
        corio::time::sleep(Duration::from_millis(10)).await;
        b.write_with(|mut s| s.write(b"hello")).await.unwrap();
        let got = timeout(Duration::from_secs(5), reader)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, b"hello");
    });
}

#[test]
fn writes_wait_for_space_when_the_buffer_is_full() {
    corio::run(async {
        let (a, b) = pair();
        let a = Rc::new(Async::new(a).unwrap());
        let b = Async::new(b).unwrap();
        // Fill the socket buffer until the kernel says WouldBlock.
        let chunk = vec![7u8; 64 * 1024];
        let mut written = 0usize;
        loop {
            match a.get_ref().write(&chunk) {
                Ok(n) => written += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
        }
        a.clear_writable();
        let writer = {
            let a = a.clone();
            corio::spawn(async move { a.write_with(|mut s| s.write(b"tail")).await.unwrap() })
        };
        corio::task::yield_now().await;
        assert!(
            !writer.is_finished(),
            "the write should wait for buffer space"
        );
        let mut buf = vec![0u8; 64 * 1024];
        let mut read = 0;
        while read < written {
            read += b.read_with(|mut s| s.read(&mut buf)).await.unwrap();
        }
        assert_eq!(
            timeout(Duration::from_secs(5), writer)
                .await
                .unwrap()
                .unwrap(),
            4
        );
    });
}

#[test]
fn readable_reports_eof_when_the_peer_closes() {
    corio::run(async {
        let (a, b) = pair();
        let a = Async::new(a).unwrap();
        let reader = corio::spawn(async move {
            let mut buf = [0u8; 8];
            a.read_with(|mut s| s.read(&mut buf)).await
        });
        corio::task::yield_now().await;
        drop(b);
        let n = timeout(Duration::from_secs(5), reader)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(n, 0);
    });
}

#[test]
fn dropping_the_source_wakes_a_waiting_task_with_an_error() {
    corio::run(async {
        let (a, _b) = pair();
        let a = Rc::new(std::cell::RefCell::new(Some(Async::new(a).unwrap())));
        let waiter = {
            let a = a.clone();
            a.borrow().as_ref().unwrap().clear_readable();
            corio::spawn(async move {
                // Park on a registration that another task will drop; dropping it must
                // wake this task (it would hang otherwise: no data ever arrives).
                std::future::poll_fn(|cx| {
                    let guard = a.borrow();
                    match guard.as_ref() {
                        Some(src) => src.poll_readable(cx),
                        None => std::task::Poll::Ready(Err(std::io::Error::other("gone"))),
                    }
                })
                .await
            })
        };
        corio::task::yield_now().await;
        assert!(!waiter.is_finished());
        a.borrow_mut().take(); // deregister + close while the waiter is parked
        let r = timeout(Duration::from_secs(5), waiter)
            .await
            .expect("waiter hung")
            .unwrap();
        assert!(r.is_err());
    });
}

#[test]
fn into_inner_gives_the_fd_back_registered_no_more() {
    corio::run(async {
        let (a, mut b) = pair();
        let a = Async::new(a).unwrap();
        let mut std_a = a.into_inner().unwrap();
        b.write_all(b"x").unwrap();
        let mut buf = [0u8; 1];
        // Still non-blocking and usable directly.
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(std_a.read(&mut buf).unwrap(), 1);
    });
}

#[test]
#[should_panic(expected = "must be called from inside a corio runtime")]
fn async_new_outside_a_runtime_panics_clearly() {
    let (a, _b) = pair();
    let _ = Async::new(a);
}

#[test]
fn every_task_waiting_in_one_direction_is_woken() {
    corio::run(async {
        let (a, b) = pair();
        let a = Rc::new(Async::new(a).unwrap());
        let b = Async::new(b).unwrap();
        // A fresh source starts "ready"; nothing has been read, so forget that.
        a.clear_readable();
        // A hundred tasks wait to read the same fd (as workers sharing one socket do).
        let waiters: Vec<_> = (0..100)
            .map(|_| {
                let a = a.clone();
                corio::spawn(async move { a.readable().await.unwrap() })
            })
            .collect();
        corio::time::sleep(Duration::from_millis(10)).await;
        assert!(
            waiters.iter().all(|w| !w.is_finished()),
            "nothing to read yet"
        );
        b.write_with(|mut s| s.write(b"x")).await.unwrap();
        for w in waiters {
            timeout(Duration::from_secs(5), w)
                .await
                .expect("a waiter was stranded: only the last one parked was woken")
                .unwrap();
        }
    });
}

#[test]
fn tasks_sharing_a_udp_socket_each_get_a_datagram() {
    use corio::net::UdpSocket;
    corio::run(async {
        let server = Rc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let addr = server.local_addr().unwrap();
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let server = server.clone();
                corio::spawn(async move {
                    let mut buf = [0u8; 16];
                    let (n, _) = server.recv_from(&mut buf).await.unwrap();
                    buf[..n].to_vec()
                })
            })
            .collect();
        corio::time::sleep(Duration::from_millis(10)).await;
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        for i in 0..4u8 {
            client.send_to(&[i], addr).await.unwrap();
        }
        let mut got = Vec::new();
        for w in workers {
            got.extend(
                timeout(Duration::from_secs(5), w)
                    .await
                    .expect("a worker was stranded waiting on the shared socket")
                    .unwrap(),
            );
        }
        got.sort();
        assert_eq!(got, [0, 1, 2, 3]);
    });
}
