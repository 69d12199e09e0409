//! UdpSocket on loopback: send_to/recv_from, connected send/recv, the readiness API,
//! peeking, truncation, name resolution and IPv6.

use std::io::ErrorKind;
use std::time::Duration;

use corio::net::UdpSocket;
use corio::time::timeout;

mod common;
use common::bounded;

#[corio::test]
async fn send_to_and_recv_from_round_trip() {
    bounded(async {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let server_addr = server.local_addr().unwrap();
        assert_eq!(client.send_to(b"ping", server_addr).await.unwrap(), 4);
        let mut buf = [0u8; 64];
        let (n, from) = server.recv_from(&mut buf).await.unwrap();
        assert_eq!(
            (&buf[..n], from),
            (&b"ping"[..], client.local_addr().unwrap())
        );
        server.send_to(b"pong", from).await.unwrap();
        let (n, from) = client.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"pong"[..], server_addr));
    })
    .await
}

#[corio::test]
async fn connected_send_and_recv() {
    bounded(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        a.connect(b.local_addr().unwrap()).await.unwrap();
        b.connect(a.local_addr().unwrap()).await.unwrap();
        assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
        a.send(b"one").await.unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(b.recv(&mut buf).await.unwrap(), 3);
        assert_eq!(&buf[..3], b"one");
    })
    .await
}

#[corio::test]
async fn try_recv_is_would_block_until_a_datagram_arrives() {
    bounded(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(
            b.try_recv_from(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        let waited = timeout(Duration::from_millis(30), b.readable()).await;
        assert!(waited.is_err(), "nothing to read yet");
        assert_eq!(a.try_send_to(b"x", b.local_addr().unwrap()).unwrap(), 1);
        b.readable().await.unwrap();
        let (n, from) = b.try_recv_from(&mut buf).unwrap();
        assert_eq!((n, from), (1, a.local_addr().unwrap()));
        // The connected forms, under both names.
        a.connect(b.local_addr().unwrap()).await.unwrap();
        b.connect(a.local_addr().unwrap()).await.unwrap();
        assert_eq!(a.try_write(b"yz").unwrap(), 2);
        assert_eq!(a.try_send(b"w").unwrap(), 1);
        b.readable().await.unwrap();
        assert_eq!(b.try_read(&mut buf).unwrap(), 2);
        // Datagram sockets keep readiness after a short read: the next datagram is there.
        assert_eq!(b.try_recv(&mut buf).unwrap(), 1);
        assert_eq!(
            b.try_recv(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
    })
    .await
}

#[corio::test]
async fn peek_from_leaves_the_datagram_and_long_ones_are_truncated() {
    bounded(async {
        let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let me = s.local_addr().unwrap();
        s.send_to(b"0123456789", me).await.unwrap();
        let mut small = [0u8; 4];
        let (n, _) = s.peek_from(&mut small).await.unwrap();
        assert_eq!(&small[..n], b"0123");
        let (n, _) = s.recv_from(&mut small).await.unwrap();
        assert_eq!(
            &small[..n],
            b"0123",
            "the rest of the datagram is discarded"
        );
        s.send_to(b"next", me).await.unwrap();
        let (n, _) = s.recv_from(&mut small).await.unwrap();
        assert_eq!(&small[..n], b"next");
    })
    .await
}

#[corio::test]
async fn a_burst_of_datagrams_all_arrive() {
    bounded(async {
        let rx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        tx.connect(rx.local_addr().unwrap()).await.unwrap();
        // Batches small enough for the default receive buffer (UDP drops the overflow).
        let mut buf = [0u8; 4];
        for batch in 0..20u32 {
            for i in batch * 50..(batch + 1) * 50 {
                tx.send(&i.to_be_bytes()).await.unwrap();
            }
            for i in batch * 50..(batch + 1) * 50 {
                let (n, _) = rx.recv_from(&mut buf).await.unwrap();
                assert_eq!((n, u32::from_be_bytes(buf)), (4, i));
            }
        }
    })
    .await
}

#[corio::test]
async fn host_names_and_ipv6() {
    bounded(async {
        let rx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let port = rx.local_addr().unwrap().port();
        let tx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        // Resolved on the blocking pool; localhost has 127.0.0.1 in every /etc/hosts.
        tx.send_to(b"named", ("localhost", port)).await.unwrap();
        let mut buf = [0u8; 8];
        let (n, _) = rx.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"named");
        match UdpSocket::bind("[::1]:0").await {
            Ok(six) => {
                let me = six.local_addr().unwrap();
                assert!(me.is_ipv6());
                six.send_to(b"v6", me).await.unwrap();
                let (n, _) = six.recv_from(&mut buf).await.unwrap();
                assert_eq!(&buf[..n], b"v6");
            }
            Err(e) => eprintln!("skipping IPv6: {e}"),
        }
        let err = UdpSocket::bind("not an address").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    })
    .await
}

#[corio::test]
async fn options_debug_and_from_std() {
    bounded(async {
        let s = UdpSocket::from_std(std::net::UdpSocket::bind("127.0.0.1:0").unwrap()).unwrap();
        s.set_broadcast(true).unwrap();
        assert!(s.broadcast().unwrap());
        s.set_ttl(7).unwrap();
        assert_eq!(s.ttl().unwrap(), 7);
        assert!(s.take_error().unwrap().is_none());
        assert!(s.peer_addr().is_err());
        let text = format!("{s:?}");
        assert!(
            text.contains(&s.local_addr().unwrap().to_string()),
            "{text}"
        );
    })
    .await
}
