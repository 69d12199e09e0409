//! The `echo` example's connection handler, served in-process on an ephemeral loopback
//! port: round trips from many concurrent clients, a large transfer to a client that reads
//! late (the server's backlog path), and half-close.
//!
//! On paused virtual time: the clients are tasks on the server's loop (loopback writes are
//! ready at once), so the late reader's 50 ms pause ends only once the writer, the server
//! and the kernel buffers are all stuck, which is the situation it is there to create,
//! whatever the machine's load.

#[allow(dead_code)]
#[path = "../examples/echo.rs"]
mod echo;

mod common;

use std::future::Future;
use std::net::{Shutdown, SocketAddr};
use std::time::Duration;

use corio::net::{TcpListener, TcpStream};
use corio::time::{sleep, timeout};

/// Run `test` against an accept loop that serves each connection with `echo::serve`, on
/// paused time; at most 10 s of it.
fn with_echo<F, Fut>(test: F)
where
    F: FnOnce(SocketAddr) -> Fut,
    Fut: Future<Output = ()>,
{
    let rt = corio::Runtime::builder()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = corio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                corio::spawn(async move { echo::serve(stream).await.unwrap() });
            }
        });
        timeout(Duration::from_secs(10), test(addr))
            .await
            .expect("test timed out");
        server.abort();
    });
}

#[test]
fn many_clients_get_their_own_bytes_back() {
    with_echo(|addr| async move {
        let clients: Vec<_> = (0..20u8)
            .map(|id| {
                corio::spawn(async move {
                    let mut stream = TcpStream::connect(addr).await.unwrap();
                    stream.set_nodelay(true).unwrap();
                    for round in 0..50usize {
                        let len = 1 + (round * 97 + id as usize * 13) % 4096;
                        let msg: Vec<u8> = (0..len).map(|i| id ^ (i as u8)).collect();
                        stream.write_all(&msg).await.unwrap();
                        let mut back = vec![0u8; len];
                        stream.read_exact(&mut back).await.unwrap();
                        assert_eq!(back, msg, "client {id} round {round}");
                    }
                })
            })
            .collect();
        for client in clients {
            client.await.unwrap();
        }
    });
}

#[test]
fn a_client_that_reads_late_still_gets_every_byte_in_order() {
    with_echo(|addr| async move {
        const TOTAL: usize = 8 * 1024 * 1024;
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut rd, mut wr) = stream.into_split();
        let writer = corio::spawn(async move {
            let chunk: Vec<u8> = (0..64 * 1024).map(|i| (i % 251) as u8).collect();
            for _ in 0..TOTAL / chunk.len() {
                wr.write_all(&chunk).await.unwrap();
            }
            drop(wr); // shuts the write direction down: the server reads EOF
        });
        // Do not read for a while: the server's writes back fill the socket buffers and it
        // has to keep the unsent rest.
        sleep(Duration::from_millis(50)).await;
        let mut got = 0usize;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = rd.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            for (i, &b) in buf[..n].iter().enumerate() {
                assert_eq!(b, ((got + i) % (64 * 1024) % 251) as u8, "byte {}", got + i);
            }
            got += n;
        }
        assert_eq!(got, TOTAL);
        writer.await.unwrap();
    });
}

#[test]
fn half_close_gets_the_rest_echoed_then_eof() {
    with_echo(|addr| async move {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(b"last words").await.unwrap();
        stream.shutdown(Shutdown::Write).unwrap();
        let mut back = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            let n = stream.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            back.extend_from_slice(&buf[..n]);
        }
        assert_eq!(back, b"last words");
    });
}

/// `--shards 2` (in-process, through the example's own `start_sharded`): 64 concurrent
/// loopback clients all get their bytes back, the drain ends both shards, and on Linux both
/// shards served some of them (SO_REUSEPORT hashes each connection's 4-tuple onto the
/// group: all 64 on one of two listeners has a chance of 2^-63). Real time (the shards'
/// clocks are their own); the timeouts are only hang guards.
#[test]
fn two_shards_echo_every_connection_and_both_serve_some() {
    const CLIENTS: usize = 64;
    let rt = corio::Runtime::builder().build().unwrap();
    rt.block_on(async {
        let stop = corio::sync::CancellationToken::new();
        let mut shards = echo::start_sharded(2, "127.0.0.1:0", stop.clone())
            .await
            .unwrap();
        assert_eq!(shards.count(), 2);
        let addr = shards.local_addr();
        timeout(Duration::from_secs(10), clients_echoed(addr, CLIENTS))
            .await
            .expect("clients timed out");
        let per_shard = common::stop_and_drain_shards(&stop, shards.wait(), CLIENTS).await;
        assert_eq!(per_shard.len(), 2);
        if cfg!(target_os = "linux") {
            assert!(per_shard.iter().all(|&n| n > 0), "{per_shard:?}");
        }
    });
}

/// `--shards 2` under attack: 8 clients that send without ever reading (each connection's
/// backlog fills the kernel buffers both ways until the server stops reading it) do not
/// stop 32 well-behaved clients on either shard from being echoed, and once the attackers
/// leave, both shards drain. Real time; the timeouts are hang guards, not speed checks.
#[test]
fn two_shards_keep_echoing_beside_clients_that_never_read() {
    const HOGS: usize = 8;
    const CANARIES: usize = 32;
    let rt = corio::Runtime::builder().build().unwrap();
    rt.block_on(async {
        let stop = corio::sync::CancellationToken::new();
        let mut shards = echo::start_sharded(2, "127.0.0.1:0", stop.clone())
            .await
            .unwrap();
        let addr = shards.local_addr();
        // Each hog writes until a 64 KiB write has not gone through for 300 ms: the server
        // holds its backlog and reads no more from it.
        let hogs: Vec<_> = (0..HOGS)
            .map(|_| {
                corio::spawn(async move {
                    let mut stream = TcpStream::connect(addr).await.unwrap();
                    let chunk = vec![b'h'; 64 * 1024];
                    let mut sent = 0usize;
                    while timeout(Duration::from_millis(300), stream.write_all(&chunk))
                        .await
                        .is_ok()
                    {
                        sent += chunk.len();
                        assert!(sent < 1 << 30, "1 GiB went in without being read back");
                    }
                    stream
                })
            })
            .collect();
        let mut stuck = Vec::new();
        for hog in hogs {
            stuck.push(
                timeout(Duration::from_secs(20), hog)
                    .await
                    .expect("a hog never got stuck")
                    .unwrap(),
            );
        }
        timeout(Duration::from_secs(10), clients_echoed(addr, CANARIES))
            .await
            .expect("a canary was not echoed beside the hogs");
        // The attackers leave (their unread data makes the close a reset); then the drain
        // ends both shards.
        drop(stuck);
        common::stop_and_drain_shards(&stop, shards.wait(), HOGS + CANARIES).await;
    });
}

/// `n` concurrent clients each send a message of their own to `addr` and get it back whole.
async fn clients_echoed(addr: SocketAddr, n: usize) {
    let clients: Vec<_> = (0..n)
        .map(|id| {
            corio::spawn(async move {
                let mut stream = TcpStream::connect(addr).await.unwrap();
                let msg = format!("client {id} says hello").into_bytes();
                stream.write_all(&msg).await.unwrap();
                let mut back = vec![0u8; msg.len()];
                stream.read_exact(&mut back).await.unwrap();
                assert_eq!(back, msg, "client {id}");
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap();
    }
}
