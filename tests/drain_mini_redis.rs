//! The `mini_redis` example's graceful drain, in-process on loopback and paused time: a
//! 32 MiB `GET` reply read slowly arrives whole before the serve future returns, idle
//! connections are closed, new connections are refused while a half-sent command is still
//! run and answered, and the drain timeout cuts a client that never reads. Stop requests
//! come from a manual trigger, not signals (scripts/sigterm-drain.sh checks those).

#[allow(dead_code)]
#[path = "../examples/mini_redis"]
mod mini_redis {
    pub mod client;
    pub mod cmd;
    pub mod db;
    #[path = "../drain/mod.rs"]
    pub mod drain;
    pub mod output;
    pub mod resp;
    pub mod server;
}

mod drain_support;

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::Duration;

use corio::net::{TcpListener, TcpSocket, TcpStream};
use corio::sync::CancellationToken;
use corio::task::JoinHandle;
use corio::time::{now, sleep, timeout};
use drain_support::{expect_closed_by_the_cut, on_paused_time, Trigger};
use mini_redis::client::{encode, Client};
use mini_redis::drain::{supervise, Outcome};
use mini_redis::resp::Frame;
use mini_redis::{db, server};

async fn start() -> (
    SocketAddr,
    CancellationToken,
    JoinHandle<std::io::Result<()>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    let server = corio::spawn(server::serve_until(
        listener,
        db::Db::new(),
        server::Config::default(),
        stop.clone(),
    ));
    (addr, stop, server)
}

#[test]
fn a_32_mib_get_reply_read_slowly_arrives_whole_then_serve_returns() {
    on_paused_time(async {
        const LEN: usize = 32 * 1024 * 1024;
        let (addr, stop, server) = start().await;
        let value: Vec<u8> = (0..LEN).map(|i| (i % 253) as u8).collect();
        let mut setter = Client::connect(addr).await;
        let reply = setter.cmd(&[b"SET", b"big", &value]).await;
        assert_eq!(reply, Frame::Simple(b"OK".to_vec()));
        drop(setter);
        // A small receive window, so that most of the reply waits in the server.
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(16 * 1024).unwrap();
        let mut client = socket.connect(addr).await.unwrap();
        client.write_all(&encode(&[b"GET", b"big"])).await.unwrap();
        let mut expected = format!("${LEN}\r\n").into_bytes();
        expected.extend_from_slice(&value);
        expected.extend_from_slice(b"\r\n");
        let mut got = 0usize;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            if got >= 1024 * 1024 && !stop.is_cancelled() {
                stop.cancel(); // the drain starts with 31 MiB still to send
            }
            let n = client.read(&mut buf).await.expect("no reset");
            if n == 0 {
                break;
            }
            assert!(got + n <= expected.len(), "more than the reply");
            assert!(
                buf[..n] == expected[got..got + n],
                "bytes {got}..{}",
                got + n
            );
            got += n;
            sleep(Duration::from_micros(100)).await; // a slow reader
        }
        assert!(stop.is_cancelled());
        assert_eq!(got, expected.len(), "the whole reply arrived, then EOF");
        timeout(Duration::from_secs(1), server)
            .await
            .expect("serve_until returns once its last connection is done")
            .unwrap()
            .unwrap();
    });
}

#[test]
fn idle_connections_are_closed_by_the_drain() {
    on_paused_time(async {
        let (addr, stop, server) = start().await;
        let mut clients = Vec::new();
        for _ in 0..5 {
            let mut c = Client::connect(addr).await;
            assert_eq!(c.cmd(&[b"PING"]).await, Frame::Simple(b"PONG".to_vec()));
            clients.push(c);
        }
        let started = now();
        stop.cancel();
        for c in &mut clients {
            let end = timeout(Duration::from_millis(10), c.frame())
                .await
                .expect("an idle connection is closed at once");
            assert_eq!(end, None, "EOF, not a frame");
        }
        assert!(now() - started < Duration::from_millis(10));
        timeout(Duration::from_secs(1), server)
            .await
            .expect("serve_until returns")
            .unwrap()
            .unwrap();
    });
}

#[test]
fn new_connections_are_refused_once_the_drain_starts_while_a_half_sent_command_is_answered() {
    on_paused_time(async {
        let (addr, stop, server) = start().await;
        let mut busy = Client::connect(addr).await;
        busy.send_raw(b"*2\r\n$4\r\nECHO\r\n").await; // half a command
        sleep(Duration::from_millis(1)).await;
        stop.cancel();
        sleep(Duration::from_millis(1)).await;
        let err = TcpStream::connect(addr)
            .await
            .expect_err("a connection after the drain started is refused");
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
        assert!(!server.is_finished(), "still draining");
        busy.send_raw(b"$2\r\nhi\r\n").await;
        assert_eq!(busy.frame().await, Some(Frame::Bulk(b"hi".to_vec())));
        assert_eq!(busy.frame().await, None, "then the connection closes");
        timeout(Duration::from_secs(1), server)
            .await
            .expect("serve_until returns")
            .unwrap()
            .unwrap();
    });
}

#[test]
fn the_drain_timeout_cuts_a_client_that_never_reads() {
    on_paused_time(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = CancellationToken::new();
        let trigger = Trigger::new();
        let supervisor = corio::spawn(supervise(
            server::serve_until(
                listener,
                db::Db::new(),
                server::Config::default(),
                stop.clone(),
            ),
            stop,
            trigger.clone(),
            Duration::from_secs(2),
            || {},
        ));
        let (mut rd, mut wr) = TcpStream::connect(addr).await.unwrap().into_split();
        let writer = corio::spawn(async move {
            let batch = b"PING\r\n".repeat(10_000);
            while wr.write_all(&batch).await.is_ok() {}
        });
        sleep(Duration::from_millis(50)).await;
        let started = now();
        trigger.fire();
        let outcome = supervisor.await.unwrap();
        assert!(matches!(outcome, Outcome::TimedOut(_)), "{outcome:?}");
        assert_eq!(
            now() - started,
            Duration::from_secs(2),
            "cut at the timeout"
        );
        expect_closed_by_the_cut(&mut rd, writer).await;
    });
}
