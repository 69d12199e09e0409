//! No file descriptor leaks: 10,000 TCP connect/accept/close cycles (plus refused connects,
//! abandoned connects, Unix pairs and child processes) leave the number of entries in
//! /proc/self/fd unchanged. Its own test binary, so no other test opens files meanwhile.

#![cfg(target_os = "linux")]

use std::time::Duration;

use corio::net::{TcpListener, TcpStream, UdpSocket, UnixStream};
use corio::time::timeout;

const CYCLES: usize = 10_000;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn ten_thousand_connect_accept_close_cycles_leak_no_fd() {
    let before_runtime = open_fds();
    corio::run(async {
        timeout(Duration::from_secs(120), async {
            let before = open_fds();

            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = corio::spawn(async move {
                for _ in 0..CYCLES {
                    let (stream, _) = listener.accept().await.unwrap();
                    drop(stream);
                }
            });
            for _ in 0..CYCLES {
                let mut client = TcpStream::connect(addr).await.unwrap();
                // EOF: the server has accepted and closed its end.
                assert_eq!(client.read(&mut [0u8; 1]).await.unwrap(), 0);
            }
            server.await.unwrap();

            // Refused connects close their socket too.
            for _ in 0..200 {
                assert!(TcpStream::connect(addr).await.is_err());
            }

            // Connects abandoned half-way (the future dropped while in progress).
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            for _ in 0..200 {
                let _ = timeout(Duration::ZERO, TcpStream::connect(addr)).await;
            }
            drop(listener);

            // Split streams, Unix pairs, UDP sockets.
            for _ in 0..500 {
                let (a, b) = UnixStream::pair().unwrap();
                let (ra, wa) = a.into_split();
                drop((ra, wa, b));
                drop(UdpSocket::bind("127.0.0.1:0").await.unwrap());
            }

            // Child processes: pipes and pidfds are closed once the child is done with.
            for _ in 0..20 {
                let out = corio::process::Command::new("true").output().await.unwrap();
                assert!(out.status.success());
            }

            let after = open_fds();
            assert_eq!(before, after, "file descriptors leaked inside the runtime");
        })
        .await
        .expect("the cycles took longer than 120 s")
    });
    assert_eq!(
        before_runtime,
        open_fds(),
        "file descriptors leaked by the runtime itself"
    );
}
