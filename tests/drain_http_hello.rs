//! The `http_hello` example's graceful drain, in-process on loopback and paused time:
//! pipelined requests received before the drain are all answered (the client reading them
//! slowly) before the serve future returns, idle keep-alive connections are closed, new
//! connections are refused while a half-sent request is still finished, the drain timeout
//! cuts a client that never reads, and a second stop request ends the drain at once. Stop
//! requests come from a manual trigger, not signals (scripts/sigterm-drain.sh checks those).

#[allow(dead_code)]
#[path = "../examples/http_hello"]
mod http_hello {
    pub mod date;
    #[path = "../drain/mod.rs"]
    pub mod drain;
    pub mod parse;
    pub mod server;
}

mod drain_support;

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::Duration;

use corio::net::{TcpListener, TcpStream};
use corio::sync::CancellationToken;
use corio::task::JoinHandle;
use corio::time::{now, sleep, timeout};
use drain_support::{expect_closed_by_the_cut, on_paused_time, Trigger};
use http_hello::drain::{supervise, Outcome};
use http_hello::server::{self, Config};

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: test\r\n\r\n";
const OK: &[u8] = b"HTTP/1.1 200 OK\r\n";

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
        Config::default(),
        stop.clone(),
    ));
    (addr, stop, server)
}

/// Read until EOF (or a reset), slowly if `pause` is not zero; returns what was read and
/// whether it ended in a reset.
async fn read_all(stream: &mut TcpStream, pause: Duration) -> (Vec<u8>, bool) {
    let mut all = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) => return (all, false),
            Ok(n) => all.extend_from_slice(&buf[..n]),
            Err(_) => return (all, true),
        }
        if !pause.is_zero() {
            sleep(pause).await;
        }
    }
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

#[test]
fn pipelined_requests_received_before_the_drain_are_all_answered_then_serve_returns() {
    on_paused_time(async {
        const REQUESTS: usize = 20_000;
        let (addr, stop, server) = start().await;
        // A small receive window, so that the answers pile up in the server, not the kernel.
        let socket = corio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let mut client = socket.connect(addr).await.unwrap();
        // Send them all without reading.
        let all = GET.repeat(REQUESTS);
        timeout(Duration::from_secs(1), client.write_all(&all))
            .await
            .expect("the requests fit in the buffers")
            .unwrap();
        sleep(Duration::from_millis(10)).await;
        stop.cancel();
        let (answers, reset) = read_all(&mut client, Duration::from_micros(500)).await;
        assert!(!reset, "closed gently");
        assert_eq!(count(&answers, OK), REQUESTS, "every request was answered");
        timeout(Duration::from_secs(1), server)
            .await
            .expect("serve_until returns once its last connection is done")
            .unwrap()
            .unwrap();
    });
}

#[test]
fn a_body_still_arriving_when_the_drain_starts_is_read_to_its_end_and_what_follows_answered() {
    on_paused_time(async {
        const BODY: usize = 1024 * 1024;
        let (addr, stop, server) = start().await;
        let mut client = TcpStream::connect(addr).await.unwrap();
        let head = format!("POST / HTTP/1.1\r\nHost: test\r\nContent-Length: {BODY}\r\n\r\n");
        client.write_all(head.as_bytes()).await.unwrap();
        client.write_all(&vec![b'x'; BODY / 2]).await.unwrap();
        sleep(Duration::from_millis(10)).await;
        stop.cancel();
        sleep(Duration::from_millis(10)).await;
        let mut rest = vec![b'x'; BODY - BODY / 2];
        rest.extend_from_slice(GET); // pipelined behind the body, in the same write
        client.write_all(&rest).await.unwrap();
        let (answers, reset) = read_all(&mut client, Duration::ZERO).await;
        assert!(!reset, "closed gently");
        let answered = count(&answers, b"HTTP/1.1 404 Not Found\r\n") + count(&answers, OK);
        assert_eq!(answered, 2, "the POST and the GET behind its body");
        timeout(Duration::from_secs(1), server)
            .await
            .expect("serve_until returns")
            .unwrap()
            .unwrap();
    });
}

#[test]
fn idle_keep_alive_connections_are_closed_by_the_drain() {
    on_paused_time(async {
        let (addr, stop, server) = start().await;
        let mut clients = Vec::new();
        for _ in 0..5 {
            let mut c = TcpStream::connect(addr).await.unwrap();
            c.write_all(GET).await.unwrap();
            let mut buf = vec![0u8; 4096];
            let n = c.read(&mut buf).await.unwrap();
            assert!(buf[..n].starts_with(OK));
            clients.push(c);
        }
        let started = now();
        stop.cancel();
        for c in &mut clients {
            let mut buf = [0u8; 64];
            let n = timeout(Duration::from_millis(10), c.read(&mut buf))
                .await
                .expect("an idle keep-alive connection is closed at once")
                .unwrap();
            assert_eq!(n, 0, "EOF, not data");
        }
        assert!(now() - started < Duration::from_millis(10));
        drop(clients);
        timeout(Duration::from_secs(1), server)
            .await
            .expect("serve_until returns")
            .unwrap()
            .unwrap();
    });
}

#[test]
fn new_connections_are_refused_once_the_drain_starts_while_a_half_sent_request_is_finished() {
    on_paused_time(async {
        let (addr, stop, server) = start().await;
        let mut busy = TcpStream::connect(addr).await.unwrap();
        busy.write_all(b"GET / HTTP/1.1\r\n").await.unwrap(); // half a head
        sleep(Duration::from_millis(1)).await;
        stop.cancel();
        sleep(Duration::from_millis(1)).await;
        let err = TcpStream::connect(addr)
            .await
            .expect_err("a connection after the drain started is refused");
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
        assert!(!server.is_finished(), "still draining");
        busy.write_all(b"Host: test\r\n\r\n").await.unwrap();
        let (answer, reset) = read_all(&mut busy, Duration::ZERO).await;
        assert!(!reset);
        assert_eq!(
            count(&answer, OK),
            1,
            "the request in the middle was answered"
        );
        drop(busy);
        timeout(Duration::from_secs(1), server)
            .await
            .expect("serve_until returns")
            .unwrap()
            .unwrap();
    });
}

/// A supervised server and a client that pipelines requests forever and never reads.
async fn never_reading_client(
    drain_timeout: Duration,
) -> (Trigger, JoinHandle<Outcome>, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    let trigger = Trigger::new();
    let supervisor = corio::spawn(supervise(
        server::serve_until(listener, Config::default(), stop.clone()),
        stop,
        trigger.clone(),
        drain_timeout,
        || {},
    ));
    let client = TcpStream::connect(addr).await.unwrap();
    (trigger, supervisor, client)
}

#[test]
fn the_drain_timeout_cuts_a_client_that_never_reads() {
    on_paused_time(async {
        let (trigger, supervisor, client) = never_reading_client(Duration::from_secs(2)).await;
        let (mut rd, mut wr) = client.into_split();
        let writer = corio::spawn(async move {
            let batch = GET.repeat(1000);
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

#[test]
fn a_second_stop_request_ends_the_drain_at_once() {
    on_paused_time(async {
        let (trigger, supervisor, client) = never_reading_client(Duration::from_secs(60)).await;
        let (_rd, mut wr) = client.into_split();
        let _writer = corio::spawn(async move {
            let batch = GET.repeat(1000);
            while wr.write_all(&batch).await.is_ok() {}
        });
        sleep(Duration::from_millis(50)).await;
        trigger.fire();
        sleep(Duration::from_millis(500)).await;
        assert!(!supervisor.is_finished(), "the first request only drains");
        trigger.fire();
        let outcome = timeout(Duration::from_millis(10), supervisor)
            .await
            .expect("the second request ends the drain at once")
            .unwrap();
        assert!(matches!(outcome, Outcome::Forced), "{outcome:?}");
    });
}
