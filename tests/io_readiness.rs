//! `io::Async` edges: `new` switches the fd to non-blocking itself, and clearing readiness
//! clears only what the caller saw, so a clear racing a new edge cannot strand a task.

use std::future::poll_fn;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::task::Poll;
use std::time::Duration;

use corio::io::Async;

/// Is `a` ready to read right now? (One poll; nothing parks for good: the waker is the
/// task's own and the answer is taken at once.)
async fn ready_now<T: std::os::fd::AsRawFd>(a: &Async<T>) -> bool {
    poll_fn(|cx| Poll::Ready(a.poll_readable(cx).is_ready())).await
}

/// A connected pair, non-blocking already (so these tests do not depend on `Async::new`
/// setting the flag, which a test of its own pins).
fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

/// Let the loop go idle once, so the reactor hears the edges the kernel already has.
async fn let_the_reactor_run() {
    corio::time::sleep(Duration::from_millis(1)).await;
}

#[corio::test(start_paused = true)]
async fn a_late_clear_readable_does_not_erase_an_edge_that_came_after_it_was_seen() {
    let (a, mut b) = pair();
    let a = Async::new(a).unwrap();
    a.readable().await.unwrap(); // the registration's initial "ready": seen at tick 0
    b.write_all(b"news").unwrap();
    let_the_reactor_run().await; // the edge for "news" arrives: tick 1
                                 // A clear meant for what was seen at tick 0 (say the caller's read came back empty
                                 // before it awaited something else) must leave the new edge alone: edge-triggered
                                 // epoll sends no second one, so erasing it would strand the next readable() forever.
    a.clear_readable();
    assert!(
        ready_now(&a).await,
        "the clear erased readiness it never saw: a reader would now wait forever"
    );
    let mut buf = [0u8; 8];
    let n = a.read_with(|mut s| s.read(&mut buf)).await.unwrap();
    assert_eq!(&buf[..n], b"news");
}

#[corio::test(start_paused = true)]
async fn a_late_clear_writable_does_not_erase_a_newer_edge_either() {
    let (a, mut b) = pair();
    let a = Async::new(a).unwrap();
    // Fill a's send buffer, so the next writable edge is a real one.
    let chunk = [0u8; 64 * 1024];
    loop {
        match a.get_ref().write(&chunk) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("{e}"),
        }
    }
    a.writable().await.unwrap(); // seen: the stale initial readiness
                                 // The peer drains everything: room again, and the OS reports the edge.
    let mut sink = vec![0u8; 256 * 1024];
    while b.read(&mut sink).is_ok() {}
    let_the_reactor_run().await;
    a.clear_writable();
    let writable_now = poll_fn(|cx| Poll::Ready(a.poll_writable(cx).is_ready())).await;
    assert!(writable_now, "the clear erased a write edge it never saw");
}

#[corio::test(start_paused = true)]
async fn a_clear_with_no_newer_edge_still_clears() {
    let (a, _b) = pair();
    let a = Async::new(a).unwrap();
    a.readable().await.unwrap();
    let_the_reactor_run().await; // nothing to read: no read edge (a writable one, maybe)
    let mut buf = [0u8; 8];
    let err = a.get_ref().read(&mut buf).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    // The tick may have moved on (the writable edge of the registration), so re-look first:
    // what `readable()` returns now is what this handle has seen.
    a.readable().await.unwrap();
    a.clear_readable();
    assert!(
        !ready_now(&a).await,
        "a clear of what was seen must clear it"
    );
}

#[cfg(target_os = "linux")]
#[corio::test]
async fn async_new_switches_a_blocking_fd_to_non_blocking() {
    fn is_nonblocking(fd: std::os::fd::RawFd) -> bool {
        // /proc/self/fdinfo/N: "flags:\t<octal>"; O_NONBLOCK is 0o4000 on Linux.
        let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).unwrap();
        let flags = info
            .lines()
            .find_map(|l| l.strip_prefix("flags:"))
            .map(|v| u32::from_str_radix(v.trim(), 8).unwrap())
            .unwrap();
        flags & 0o4000 != 0
    }
    use std::os::fd::AsRawFd;
    let (a, _b) = UnixStream::pair().unwrap(); // std makes blocking sockets
    assert!(!is_nonblocking(a.as_raw_fd()));
    let a = Async::new(a).unwrap();
    assert!(
        is_nonblocking(a.as_raw_fd()),
        "Async::new left the fd blocking"
    );
    // And so a read with nothing there says WouldBlock instead of stalling the loop.
    let err = a.get_ref().read(&mut [0u8; 4]).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);

    // Any fd, not only sockets: a pipe.
    let (reader, _writer) = std::io::pipe().unwrap();
    assert!(!is_nonblocking(reader.as_raw_fd()));
    let reader = Async::new(reader).unwrap();
    assert!(is_nonblocking(reader.as_raw_fd()));
}

#[corio::test(start_paused = true)]
async fn clear_ready_honours_only_the_event_it_is_given() {
    let (a, mut b) = pair();
    let a = Async::new(a).unwrap();
    let stale = a.readable_event().await.unwrap();
    assert!(stale.is_readable());
    b.write_all(b"x").unwrap();
    let_the_reactor_run().await;
    a.clear_ready(stale);
    assert!(
        ready_now(&a).await,
        "a stale event must not clear newer readiness"
    );
    // Drain, then clear with the event that saw the data: that one clears.
    let fresh = a.readable_event().await.unwrap();
    assert_ne!(fresh, stale);
    let mut buf = [0u8; 8];
    assert_eq!(a.get_ref().read(&mut buf).unwrap(), 1);
    a.clear_ready(fresh);
    assert!(!ready_now(&a).await);
}

#[corio::test(start_paused = true)]
async fn try_read_with_clears_on_would_block_and_a_waiter_wakes_on_the_next_edge() {
    let (a, mut b) = pair();
    let a = std::rc::Rc::new(Async::new(a).unwrap());
    let mut buf = [0u8; 8];
    let err = a.try_read_with(|mut s| s.read(&mut buf)).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    assert!(!ready_now(&a).await, "WouldBlock must clear read readiness");
    let reader = {
        let a = a.clone();
        corio::spawn(async move {
            let mut buf = [0u8; 8];
            let n = a.read_with(|mut s| s.read(&mut buf)).await.unwrap();
            buf[..n].to_vec()
        })
    };
    corio::task::yield_now().await; // the reader parks
    b.write_all(b"late").unwrap();
    let got = corio::time::timeout(Duration::from_secs(5), reader)
        .await
        .expect("the reader was stranded")
        .unwrap();
    assert_eq!(got, b"late");
}
