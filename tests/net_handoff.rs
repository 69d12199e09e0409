//! Sharing a port and handing sockets between loops (issue 13's socket pieces):
//! `TcpListener::bind_reuseport`, `into_std` on streams and listeners, `from_std` on
//! another runtime thread. Loopback and Unix sockets in a temp dir only.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::Duration;

use corio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use corio::time::timeout;

const LIMIT: Duration = Duration::from_secs(10);

#[cfg(target_os = "linux")]
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

#[corio::test]
async fn two_reuseport_listeners_on_one_port_both_get_connections() {
    const CONNECTS: usize = 64;
    let a = TcpListener::bind_reuseport("127.0.0.1:0").await.unwrap();
    let addr = a.local_addr().unwrap();
    let b = TcpListener::bind_reuseport(addr).await.unwrap();
    assert_eq!(b.local_addr().unwrap(), addr);
    let total = Rc::new(Cell::new(0usize));
    let serve = |listener: TcpListener| {
        let total = total.clone();
        corio::spawn(async move {
            let mut accepted = Vec::new();
            while total.get() < CONNECTS {
                // Bounded: the other listener may take the last connection.
                match timeout(Duration::from_millis(50), listener.accept()).await {
                    Ok(conn) => {
                        accepted.push(conn.unwrap().0);
                        total.set(total.get() + 1);
                    }
                    Err(_elapsed) => {}
                }
            }
            accepted.len()
        })
    };
    let (serve_a, serve_b) = (serve(a), serve(b));
    let mut clients = Vec::new();
    for _ in 0..CONNECTS {
        clients.push(TcpStream::connect(addr).await.unwrap());
    }
    let count_a = timeout(LIMIT, serve_a).await.unwrap().unwrap();
    let count_b = timeout(LIMIT, serve_b).await.unwrap().unwrap();
    assert_eq!(count_a + count_b, CONNECTS);
    // Linux hashes each connection's 4-tuple onto the group: with 64 connections, all on
    // one side would have odds of 2^-63. (Other kernels may hand them all to one socket.)
    #[cfg(target_os = "linux")]
    assert!(
        count_a > 0 && count_b > 0,
        "the kernel did not spread connections: {count_a} / {count_b}"
    );
}

#[corio::test]
async fn a_plain_bind_does_not_share_a_reuseport_port() {
    let a = TcpListener::bind_reuseport("127.0.0.1:0").await.unwrap();
    let err = TcpListener::bind(a.local_addr().unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse, "{err}");
}

/// Run `f` on a new OS thread with its own corio runtime; its result comes back on join.
fn on_another_loop<T: Send + 'static>(
    f: impl FnOnce() -> std::pin::Pin<Box<dyn std::future::Future<Output = T>>> + Send + 'static,
) -> std::thread::JoinHandle<T> {
    std::thread::spawn(move || corio::run(f()))
}

#[corio::test]
async fn a_tcp_stream_handed_to_another_loop_keeps_working_both_ways() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    // Bytes that arrive before the hand-off stay in the kernel's buffer for the new owner.
    client.write_all(b"early").await.unwrap();
    let std_stream = server.into_std().unwrap();
    #[cfg(target_os = "linux")]
    assert!(
        is_nonblocking(std::os::fd::AsRawFd::as_raw_fd(&std_stream)),
        "into_std must hand the fd out non-blocking, as documented"
    );
    let (tx, rx) = mpsc::channel();
    tx.send(std_stream).unwrap();
    let other = on_another_loop(move || {
        Box::pin(async move {
            let mut s = TcpStream::from_std(rx.recv().unwrap()).unwrap();
            let mut buf = [0u8; 10];
            s.read_exact(&mut buf).await.unwrap();
            s.write_all(b"reply").await.unwrap();
            buf
        })
    });
    client.write_all(b"later").await.unwrap();
    let mut reply = [0u8; 5];
    timeout(LIMIT, client.read_exact(&mut reply))
        .await
        .expect("no reply from the other loop")
        .unwrap();
    assert_eq!(&reply, b"reply");
    assert_eq!(&other.join().unwrap(), b"earlylater");
}

#[corio::test]
async fn a_unix_stream_handed_to_another_loop_keeps_working_both_ways() {
    let (mut here, there) = UnixStream::pair().unwrap();
    let std_stream = there.into_std().unwrap();
    let (tx, rx) = mpsc::channel();
    tx.send(std_stream).unwrap();
    let other = on_another_loop(move || {
        Box::pin(async move {
            let mut s = UnixStream::from_std(rx.recv().unwrap()).unwrap();
            let mut buf = [0u8; 4];
            s.read_exact(&mut buf).await.unwrap();
            s.write_all(&buf).await.unwrap();
        })
    });
    here.write_all(b"ping").await.unwrap();
    let mut buf = [0u8; 4];
    timeout(LIMIT, here.read_exact(&mut buf))
        .await
        .expect("no echo from the other loop")
        .unwrap();
    assert_eq!(&buf, b"ping");
    other.join().unwrap();
}

#[corio::test]
async fn a_tcp_listener_handed_to_another_loop_accepts_there() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // A connection queued before the hand-off is accepted by the new owner.
    let mut early = TcpStream::connect(addr).await.unwrap();
    let std_listener = listener.into_std().unwrap();
    let (tx, rx) = mpsc::channel();
    tx.send(std_listener).unwrap();
    let other = on_another_loop(move || {
        Box::pin(async move {
            let listener = TcpListener::from_std(rx.recv().unwrap()).unwrap();
            for _ in 0..2 {
                let (mut conn, _) = listener.accept().await.unwrap();
                conn.write_all(b"hi").await.unwrap();
            }
        })
    });
    let mut late = TcpStream::connect(addr).await.unwrap();
    for s in [&mut early, &mut late] {
        let mut buf = [0u8; 2];
        timeout(LIMIT, s.read_exact(&mut buf))
            .await
            .expect("the other loop did not accept")
            .unwrap();
        assert_eq!(&buf, b"hi");
    }
    other.join().unwrap();
}

#[corio::test]
async fn a_unix_listener_handed_to_another_loop_accepts_there() {
    let dir = std::env::temp_dir().join(format!("corio-handoff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("l.sock");
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path).unwrap();
    let std_listener = listener.into_std().unwrap();
    let (tx, rx) = mpsc::channel();
    tx.send(std_listener).unwrap();
    let other = on_another_loop(move || {
        Box::pin(async move {
            let listener = UnixListener::from_std(rx.recv().unwrap()).unwrap();
            let (mut conn, _) = listener.accept().await.unwrap();
            conn.write_all(b"ok").await.unwrap();
        })
    });
    let mut client = UnixStream::connect(&path).await.unwrap();
    let mut buf = [0u8; 2];
    timeout(LIMIT, client.read_exact(&mut buf))
        .await
        .expect("the other loop did not accept")
        .unwrap();
    assert_eq!(&buf, b"ok");
    other.join().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
