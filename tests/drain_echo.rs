//! The `echo` example's graceful drain, in-process on loopback and paused time: a large
//! echo in flight arrives whole before the serve future returns, idle connections are
//! closed, new connections are refused once the drain starts, the drain timeout cuts a
//! client that never reads, and a second stop request ends the drain at once. The stop
//! requests come from a manual trigger, not from signals (process-wide; the signal wiring
//! is checked by scripts/sigterm-drain.sh).

#[allow(dead_code)]
#[path = "../examples/echo.rs"]
mod echo;

mod drain_support;

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::Duration;

use corio::net::{TcpListener, TcpStream};
use corio::sync::CancellationToken;
use corio::task::JoinHandle;
use corio::time::{now, sleep, timeout};
use drain_support::{expect_closed_by_the_cut, on_paused_time, Trigger};
use echo::drain::{supervise, Outcome};

/// A server on an ephemeral loopback port, drained when `stop` is cancelled.
async fn start() -> (
    SocketAddr,
    CancellationToken,
    JoinHandle<std::io::Result<()>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    let server = corio::spawn(echo::serve_until(listener, stop.clone()));
    (addr, stop, server)
}

/// The byte at offset `i` of the test stream.
fn byte(i: usize) -> u8 {
    (i % (64 * 1024) % 251) as u8
}

#[test]
fn a_drain_lets_an_8_mb_echo_read_slowly_arrive_whole_then_serve_returns() {
    on_paused_time(async {
        const TOTAL: usize = 8 * 1024 * 1024;
        let (addr, stop, server) = start().await;
        let (mut rd, mut wr) = TcpStream::connect(addr).await.unwrap().into_split();
        let writer = corio::spawn(async move {
            let chunk: Vec<u8> = (0..64 * 1024).map(byte).collect();
            for _ in 0..TOTAL / chunk.len() {
                wr.write_all(&chunk).await.unwrap();
            }
            drop(wr); // EOF for the server once it has echoed everything
        });
        let mut buf = vec![0u8; 16 * 1024];
        let mut got = 0usize;
        loop {
            if got >= 1024 * 1024 && !stop.is_cancelled() {
                stop.cancel(); // the drain starts with 7 MB still to come back
            }
            let n = rd.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            for (i, &b) in buf[..n].iter().enumerate() {
                assert_eq!(b, byte(got + i), "byte {}", got + i);
            }
            got += n;
            sleep(Duration::from_micros(200)).await; // a slow reader
        }
        assert!(stop.is_cancelled());
        assert_eq!(got, TOTAL, "the whole echo arrived");
        writer.await.unwrap();
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
        for i in 0..5u8 {
            let mut c = TcpStream::connect(addr).await.unwrap();
            c.write_all(&[i; 10]).await.unwrap();
            let mut back = [0u8; 10];
            c.read_exact(&mut back).await.unwrap();
            assert_eq!(back, [i; 10]);
            clients.push(c);
        }
        let started = now();
        stop.cancel();
        for c in &mut clients {
            let mut buf = [0u8; 16];
            let n = timeout(Duration::from_secs(1), c.read(&mut buf))
                .await
                .expect("an idle connection is closed by the drain")
                .unwrap();
            assert_eq!(n, 0, "EOF, not data");
        }
        assert!(now() - started <= echo::DRAIN_QUIET + Duration::from_millis(10));
        timeout(Duration::from_secs(1), server)
            .await
            .expect("serve_until returns")
            .unwrap()
            .unwrap();
    });
}

#[test]
fn new_connections_are_refused_once_the_drain_starts() {
    on_paused_time(async {
        let (addr, stop, server) = start().await;
        // A connection that keeps the drain going while we knock.
        let mut busy = TcpStream::connect(addr).await.unwrap();
        busy.write_all(b"hello").await.unwrap();
        let mut back = [0u8; 5];
        busy.read_exact(&mut back).await.unwrap();
        stop.cancel();
        sleep(Duration::from_millis(1)).await;
        assert!(!server.is_finished(), "still draining");
        let err = TcpStream::connect(addr)
            .await
            .expect_err("a connection after the drain started is refused");
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
        // The connection that was already there is still served during the drain.
        busy.write_all(b"again").await.unwrap();
        busy.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"again");
        server.await.unwrap().unwrap();
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
            echo::serve_until(listener, stop.clone()),
            stop,
            trigger.clone(),
            Duration::from_secs(2),
            || {},
        ));
        let (mut rd, mut wr) = TcpStream::connect(addr).await.unwrap().into_split();
        // Send until everything is full: the server cannot write back, so it stops reading.
        let writer = corio::spawn(async move {
            let chunk = vec![7u8; 64 * 1024];
            while wr.write_all(&chunk).await.is_ok() {}
        });
        sleep(Duration::from_millis(50)).await;
        let started = now();
        trigger.fire();
        let outcome = supervisor.await.unwrap();
        assert!(
            matches!(outcome, Outcome::TimedOut(d) if d == Duration::from_secs(2)),
            "{outcome:?}"
        );
        assert_eq!(
            now() - started,
            Duration::from_secs(2),
            "cut at the timeout"
        );
        assert_eq!(
            outcome.exit_code("echo"),
            0,
            "a timed-out drain still exits 0"
        );
        // The client finds its connection closed: EOF or a reset after what was buffered.
        let got = expect_closed_by_the_cut(&mut rd, writer).await;
        assert!(got < 64 * 1024 * 1024);
    });
}

#[test]
fn a_second_stop_request_ends_the_drain_at_once() {
    on_paused_time(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = CancellationToken::new();
        let trigger = Trigger::new();
        let supervisor = corio::spawn(supervise(
            echo::serve_until(listener, stop.clone()),
            stop,
            trigger.clone(),
            Duration::from_secs(60),
            || {},
        ));
        // A client that never reads keeps the drain from finishing.
        let (_rd, mut wr) = TcpStream::connect(addr).await.unwrap().into_split();
        let _writer = corio::spawn(async move {
            let chunk = vec![7u8; 64 * 1024];
            while wr.write_all(&chunk).await.is_ok() {}
        });
        sleep(Duration::from_millis(50)).await;
        trigger.fire();
        sleep(Duration::from_millis(500)).await;
        assert!(!supervisor.is_finished(), "the first request only drains");
        let second = now();
        trigger.fire();
        let outcome = timeout(Duration::from_millis(10), supervisor)
            .await
            .expect("the second request ends the drain at once")
            .unwrap();
        assert!(matches!(outcome, Outcome::Forced), "{outcome:?}");
        assert!(now() - second < Duration::from_millis(10));
        assert_ne!(
            outcome.exit_code("echo"),
            0,
            "a forced exit is not a success"
        );
    });
}

#[test]
fn a_drain_with_nothing_in_flight_is_immediate_and_exits_zero() {
    on_paused_time(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let stop = CancellationToken::new();
        let trigger = Trigger::new();
        trigger.fire();
        let outcome = supervise(
            echo::serve_until(listener, stop.clone()),
            stop.clone(),
            trigger,
            Duration::from_secs(10),
            || {},
        )
        .await;
        assert!(stop.is_cancelled());
        assert!(
            matches!(outcome, Outcome::Drained(d) if d < Duration::from_millis(1)),
            "{outcome:?}"
        );
        assert_eq!(outcome.exit_code("echo"), 0);
    });
}

#[test]
fn bad_drain_timeouts_are_rejected_and_good_ones_read() {
    use echo::drain::parse_drain_timeout;
    assert_eq!(parse_drain_timeout("10"), Ok(Duration::from_secs(10)));
    assert_eq!(parse_drain_timeout("0.25"), Ok(Duration::from_millis(250)));
    for bad in ["", "x", "-1", "NaN", "inf", "1e400"] {
        let err = parse_drain_timeout(bad).expect_err(bad);
        assert!(err.contains("--drain-timeout"), "{err}");
    }
}

/// Dropping the serve future without a stop request (no drain) cuts every connection at
/// once: an idle one and one mid-echo to a client that stopped reading both see the
/// connection closed, whichever await each was in.
#[test]
fn dropping_the_serve_future_cuts_idle_and_busy_connections_without_a_drain() {
    on_paused_time(async {
        let (addr, stop, server) = start().await;
        let mut idle = TcpStream::connect(addr).await.unwrap();
        idle.write_all(b"ping").await.unwrap();
        let mut back = [0u8; 4];
        idle.read_exact(&mut back).await.unwrap();
        // The busy one: writes far more than the buffers hold and never reads, so its
        // connection task sits in the backlog write.
        let (_rd, mut wr) = TcpStream::connect(addr).await.unwrap().into_split();
        let stuck = corio::spawn(async move {
            let chunk = vec![7u8; 64 * 1024];
            while timeout(Duration::from_millis(100), wr.write_all(&chunk))
                .await
                .is_ok()
            {}
            wr
        });
        let wr = stuck.await.unwrap();
        server.abort();
        assert!(server.await.unwrap_err().is_cancelled());
        assert!(!stop.is_cancelled(), "no drain was asked for");
        let mut buf = [0u8; 16];
        let n = timeout(Duration::from_secs(1), idle.read(&mut buf))
            .await
            .expect("the idle connection was not closed");
        assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
        // The server side is gone: a write into the busy connection fails soon.
        let mut wr = wr;
        let failed = timeout(Duration::from_secs(1), async {
            loop {
                if wr.write_all(&[1u8; 1024]).await.is_err() {
                    break;
                }
                sleep(Duration::from_millis(1)).await;
            }
        })
        .await;
        assert!(failed.is_ok(), "the busy connection was not closed");
    });
}
