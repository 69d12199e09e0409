//! TCP behaviour on loopback: connect/accept, the byte methods, options, split halves, the
//! readiness API for buffer-free connections, name resolution, IPv6.

use std::cell::RefCell;
use std::io::{ErrorKind, IoSlice};
use std::net::{Shutdown, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

use corio::net::{TcpListener, TcpSocket, TcpStream};
use corio::time::{sleep, timeout};

mod common;
use common::{bounded, tcp_pair};

#[corio::test]
async fn read_write_read_exact_write_all_round_trip() {
    bounded(async {
        let (mut client, mut server) = tcp_pair().await;
        client.write_all(b"hello world").await.unwrap();
        let mut buf = [0u8; 11];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"hello world");
        assert_eq!(server.write(b"back").await.unwrap(), 4);
        let mut buf = [0u8; 16];
        let n = client.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"back");
        // An empty buffer returns at once.
        assert_eq!(client.read(&mut []).await.unwrap(), 0);
        assert_eq!(client.write(&[]).await.unwrap(), 0);
    })
    .await
}

#[corio::test]
async fn write_vectored_peek_and_shutdown() {
    bounded(async {
        let (mut client, mut server) = tcp_pair().await;
        let n = client
            .write_vectored(&[IoSlice::new(b"ab"), IoSlice::new(b"cd")])
            .await
            .unwrap();
        assert_eq!(n, 4);
        let mut buf = [0u8; 4];
        // peek waits for data and does not consume it.
        let mut peeked = 0;
        while peeked < 4 {
            peeked = server.peek(&mut buf).await.unwrap();
        }
        assert_eq!(&buf, b"abcd");
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"abcd");
        client.shutdown(Shutdown::Write).unwrap();
        assert_eq!(
            server.read(&mut buf).await.unwrap(),
            0,
            "EOF after shutdown"
        );
        assert_eq!(server.read(&mut buf).await.unwrap(), 0, "EOF stays EOF");
        // The other direction still works after a write shutdown.
        server.write_all(b"late").await.unwrap();
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"late");
        let err = server.read_exact(&mut [0u8; 1]).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
    })
    .await
}

#[corio::test]
async fn socket_options_on_streams() {
    bounded(async {
        let (client, _server) = tcp_pair().await;
        client.set_nodelay(true).unwrap();
        assert!(client.nodelay().unwrap());
        client.set_keepalive(true).unwrap();
        assert!(client.keepalive().unwrap());
        client.set_linger(Some(Duration::from_secs(1))).unwrap();
        assert_eq!(client.linger().unwrap(), Some(Duration::from_secs(1)));
        client.set_ttl(33).unwrap();
        assert_eq!(client.ttl().unwrap(), 33);
        assert!(client.take_error().unwrap().is_none());
    })
    .await
}

#[corio::test]
async fn tcp_socket_reuseport_backlog_and_buffer_sizes() {
    bounded(async {
        let a = TcpSocket::new_v4().unwrap();
        a.set_reuseaddr(true).unwrap();
        a.set_reuseport(true).unwrap();
        a.set_send_buffer_size(64 * 1024).unwrap();
        a.set_recv_buffer_size(64 * 1024).unwrap();
        assert!(a.reuseaddr().unwrap() && a.reuseport().unwrap());
        assert!(a.send_buffer_size().unwrap() >= 64 * 1024);
        assert!(a.recv_buffer_size().unwrap() >= 64 * 1024);
        a.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = a.local_addr().unwrap();
        let first = a.listen(16).unwrap();
        // SO_REUSEPORT: a second listener on the very same port.
        let b = TcpSocket::new_v4().unwrap();
        b.set_reuseport(true).unwrap();
        b.bind(addr).unwrap();
        let second = b.listen(16).unwrap();
        assert_eq!(second.local_addr().unwrap(), addr);
        // Without it the port is taken, and the error names the address.
        let c = TcpSocket::new_v4().unwrap();
        let err = c.bind(addr).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AddrInUse);
        assert!(err.to_string().contains(&addr.to_string()), "{err}");
        // Connections land on one of the two listeners.
        let _client = TcpStream::connect(addr).await.unwrap();
        drop((first, second));
    })
    .await
}

#[corio::test]
async fn borrowed_split_reads_and_writes() {
    bounded(async {
        let (mut client, mut server) = tcp_pair().await;
        let (mut rd, mut wr) = server.split();
        client.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        rd.read_exact(&mut buf).await.unwrap();
        wr.write_all(b"pong").await.unwrap();
        assert_eq!(
            rd.as_ref().peer_addr().unwrap(),
            client.local_addr().unwrap()
        );
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"pong");
    })
    .await
}

#[corio::test]
async fn owned_halves_move_to_tasks_and_reunite() {
    bounded(async {
        let (client, mut server) = tcp_pair().await;
        let (mut rd, mut wr) = client.into_split();
        let writer = corio::spawn(async move {
            for i in 0..100u8 {
                wr.write_all(&[i; 100]).await.unwrap();
            }
            wr
        });
        let reader = corio::spawn(async move {
            let mut buf = [0u8; 4];
            rd.read_exact(&mut buf).await.unwrap();
            (rd, buf)
        });
        let mut got = vec![0u8; 100 * 100];
        server.read_exact(&mut got).await.unwrap();
        for (i, chunk) in got.chunks(100).enumerate() {
            assert!(chunk.iter().all(|&b| b == i as u8));
        }
        server.write_all(b"done").await.unwrap();
        let wr = writer.await.unwrap();
        let (rd, buf) = reader.await.unwrap();
        assert_eq!(&buf, b"done");
        let client = rd.reunite(wr).unwrap();
        assert_eq!(client.peer_addr().unwrap(), server.local_addr().unwrap());
    })
    .await
}

#[corio::test]
async fn dropping_the_owned_write_half_sends_eof() {
    bounded(async {
        let (client, mut server) = tcp_pair().await;
        let (_rd, wr) = client.into_split();
        drop(wr);
        assert_eq!(server.read(&mut [0u8; 8]).await.unwrap(), 0);
    })
    .await
}

#[corio::test]
async fn reunite_rejects_halves_of_different_streams() {
    bounded(async {
        let (a, _a2) = tcp_pair().await;
        let (b, _b2) = tcp_pair().await;
        let (ra, _wa) = a.into_split();
        let (_rb, wb) = b.into_split();
        let err = ra.reunite(wb).unwrap_err();
        assert!(err.to_string().contains("not from the same stream"));
    })
    .await
}

#[corio::test]
async fn try_read_and_try_write_say_would_block_when_not_ready() {
    bounded(async {
        let (client, server) = tcp_pair().await;
        let mut buf = [0u8; 64];
        let err = server.try_read(&mut buf).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WouldBlock);
        assert_eq!(client.try_write(b"now").unwrap(), 3);
        server.readable().await.unwrap();
        assert_eq!(server.try_read(&mut buf).unwrap(), 3);
        // Fill the pipe until the kernel refuses, then writable() waits for the peer.
        let chunk = vec![7u8; 64 * 1024];
        let mut queued = 0usize;
        loop {
            match client.try_write(&chunk) {
                Ok(n) => queued += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
        }
        assert!(queued > 0);
        let still_full = timeout(Duration::from_millis(50), client.writable()).await;
        assert!(
            still_full.is_err(),
            "writable() must wait while the buffer is full"
        );
        // Drain on the other side; the writer becomes writable again.
        let drain = corio::spawn(async move {
            let mut server = server;
            let mut buf = vec![0u8; 256 * 1024];
            let mut left = queued;
            while left > 0 {
                left -= server.read(&mut buf).await.unwrap();
            }
            server
        });
        client.writable().await.unwrap();
        drain.await.unwrap();
    })
    .await
}

#[corio::test]
async fn a_short_read_clears_readiness_and_a_full_one_keeps_it() {
    bounded(async {
        let (mut client, server) = tcp_pair().await;
        client.write_all(b"12345678").await.unwrap();
        server.readable().await.unwrap();
        let mut four = [0u8; 4];
        // Full read: more may be waiting, so readiness stays and readable() is immediate.
        assert_eq!(server.try_read(&mut four).unwrap(), 4);
        timeout(Duration::from_millis(500), server.readable())
            .await
            .expect("readiness must survive a full read")
            .unwrap();
        let mut big = [0u8; 64];
        // Short read: the socket is drained, so readable() waits for new data (no EAGAIN
        // read needed to learn that).
        assert_eq!(server.try_read(&mut big).unwrap(), 4);
        let waited = timeout(Duration::from_millis(50), server.readable()).await;
        assert!(waited.is_err(), "readiness must be cleared by a short read");
        client.write_all(b"more").await.unwrap();
        timeout(Duration::from_secs(5), server.readable())
            .await
            .expect("new data must wake the reader")
            .unwrap();
        assert_eq!(server.try_read(&mut big).unwrap(), 4);
    })
    .await
}

/// The echo example's pattern: no buffer per idle connection, one scratch buffer for all.
#[corio::test]
async fn buffer_free_echo_serves_many_clients() {
    bounded(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let scratch = Rc::new(RefCell::new(vec![0u8; 4096]));
        corio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let scratch = scratch.clone();
                corio::spawn(async move {
                    loop {
                        if stream.readable().await.is_err() {
                            return;
                        }
                        let echoed = {
                            let mut buf = scratch.borrow_mut();
                            match stream.try_read(&mut buf) {
                                Ok(0) => return,
                                Ok(n) => buf[..n].to_vec(),
                                Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                                Err(_) => return,
                            }
                        };
                        let mut off = 0;
                        while off < echoed.len() {
                            stream.writable().await.unwrap();
                            match stream.try_write(&echoed[off..]) {
                                Ok(n) => off += n,
                                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                                Err(_) => return,
                            }
                        }
                    }
                });
            }
        });
        let mut clients = Vec::new();
        for i in 0..200u32 {
            clients.push(corio::spawn(async move {
                let mut c = TcpStream::connect(addr).await.unwrap();
                for round in 0..5u32 {
                    let msg = format!("client {i} round {round}");
                    c.write_all(msg.as_bytes()).await.unwrap();
                    let mut back = vec![0u8; msg.len()];
                    c.read_exact(&mut back).await.unwrap();
                    assert_eq!(back, msg.as_bytes());
                }
            }));
        }
        for c in clients {
            c.await.unwrap();
        }
    })
    .await
}

#[corio::test]
async fn large_transfers_both_ways_at_once() {
    bounded(async {
        let (client, server) = tcp_pair().await;
        const LEN: usize = 8 * 1024 * 1024;
        let (mut crd, mut cwr) = client.into_split();
        let (mut srd, mut swr) = server.into_split();
        let data: Rc<Vec<u8>> = Rc::new((0..LEN).map(|i| (i % 251) as u8).collect());
        let d1 = data.clone();
        let up = corio::spawn(async move { cwr.write_all(&d1).await.unwrap() });
        let d2 = data.clone();
        let down = corio::spawn(async move { swr.write_all(&d2).await.unwrap() });
        let mut got_up = vec![0u8; LEN];
        let mut got_down = vec![0u8; LEN];
        let read_up = corio::spawn(async move {
            srd.read_exact(&mut got_up).await.unwrap();
            got_up
        });
        crd.read_exact(&mut got_down).await.unwrap();
        let got_up = read_up.await.unwrap();
        up.await.unwrap();
        down.await.unwrap();
        assert!(got_up == *data && got_down == *data);
    })
    .await
}

#[corio::test]
async fn bind_and_connect_resolve_host_names_off_the_loop() {
    bounded(async {
        // "localhost" needs getaddrinfo: it runs on the blocking pool.
        let listener = TcpListener::bind("localhost:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let ticks = Rc::new(std::cell::Cell::new(0u32));
        let t = ticks.clone();
        let ticker = corio::spawn(async move {
            loop {
                t.set(t.get() + 1);
                corio::task::yield_now().await;
            }
        });
        let client = TcpStream::connect(("localhost", port)).await;
        ticker.abort();
        assert!(
            ticks.get() > 0,
            "the loop must keep running during the lookup"
        );
        let client = match client {
            Ok(c) => c,
            // "localhost" may name ::1 first while we listen on 127.0.0.1 only, or the
            // other way round; the literal must work.
            Err(_) => TcpStream::connect(listener.local_addr().unwrap())
                .await
                .unwrap(),
        };
        assert!(client.peer_addr().unwrap().ip().is_loopback());
        // Every address form of the ToSocketAddrs family.
        let addr = listener.local_addr().unwrap();
        let _ = TcpStream::connect(addr).await.unwrap();
        let _ = TcpStream::connect(&addr).await.unwrap();
        let _ = TcpStream::connect((addr.ip(), addr.port())).await.unwrap();
        let _ = TcpStream::connect(addr.to_string()).await.unwrap();
        let _ = TcpStream::connect(&[addr][..]).await.unwrap();
        let _ = TcpStream::connect(vec![addr]).await.unwrap();
        let err = TcpStream::connect("no port here").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        let err = TcpStream::connect(Vec::<SocketAddr>::new())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    })
    .await
}

#[corio::test]
async fn ipv6_loopback_works_where_available() {
    bounded(async {
        let listener = match TcpListener::bind("[::1]:0").await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("skipping: no IPv6 loopback here ({e})");
                return;
            }
        };
        let addr = listener.local_addr().unwrap();
        assert!(addr.is_ipv6());
        let mut client = TcpStream::connect(addr).await.unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        client.write_all(b"six").await.unwrap();
        let mut buf = [0u8; 3];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"six");
    })
    .await
}

#[corio::test]
async fn accept_is_cancel_safe() {
    bounded(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        assert!(timeout(Duration::from_millis(20), listener.accept())
            .await
            .is_err());
        let _client = TcpStream::connect(addr).await.unwrap();
        sleep(Duration::from_millis(20)).await;
        let (conn, _) = listener.accept().await.unwrap();
        assert_eq!(conn.local_addr().unwrap(), addr);
    })
    .await
}

#[corio::test]
async fn debug_shows_the_addresses() {
    bounded(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        assert!(format!("{listener:?}").contains(&addr.to_string()));
        let client = TcpStream::connect(addr).await.unwrap();
        let text = format!("{client:?}");
        assert!(
            text.contains("peer_addr") && text.contains(&addr.to_string()),
            "{text}"
        );
        let (mut server, _) = listener.accept().await.unwrap();
        let (rd, _wr) = server.split();
        assert!(format!("{rd:?}").starts_with("ReadHalf"));
        assert!(format!("{:?}", TcpSocket::new_v4().unwrap()).starts_with("TcpSocket"));
    })
    .await
}

#[corio::test]
async fn from_std_wraps_std_sockets() {
    bounded(async {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = std_listener.local_addr().unwrap();
        let listener = TcpListener::from_std(std_listener).unwrap();
        let std_client = std::net::TcpStream::connect(addr).unwrap();
        let mut client = TcpStream::from_std(std_client).unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        client.write_all(b"std").await.unwrap();
        let mut buf = [0u8; 3];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"std");
    })
    .await
}

#[test]
fn try_read_buf_reads_into_uninitialized_memory_and_clears_readiness_when_short() {
    corio::run(async {
        let listener = corio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut client = corio::net::TcpStream::connect(addr).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        client.write_all(b"hello").await.unwrap();
        server.readable().await.unwrap();
        let mut buf: Vec<u8> = Vec::with_capacity(1024);
        let n = server.try_read_buf(buf.spare_capacity_mut()).unwrap();
        // SAFETY: `try_read_buf` initialized the first `n` bytes.
        unsafe { buf.set_len(n) };
        assert_eq!(buf, b"hello");
        // The short read drained the socket and cleared readiness: the next try says so
        // without data, and `readable()` waits for new bytes.
        let err = server.try_read_buf(buf.spare_capacity_mut()).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
        let wait =
            corio::time::timeout(std::time::Duration::from_millis(20), server.readable()).await;
        assert!(wait.is_err(), "readable() must wait for new data");
    });
}
