//! The `http_hello` example, served in-process on an ephemeral loopback port and driven by a
//! hand-written client: keep-alive, pipelining, partial reads, malformed and oversized
//! requests, bodies, and the idle timeout. Also the request parser on its own.
//!
//! Every test runs on paused virtual time: the clients are tasks on the server's loop, so
//! their loopback writes are ready at once and auto-advance moves the clock only when
//! client and server are both waiting; the idle timeout is met on the virtual clock,
//! whatever the machine's load.

/// The example's own module tree (`server.rs` finds `super::parse` and `super::date`).
/// A `#[path]` naming the directory, on an inline module, makes its `mod` items load from
/// there; `#[path]`s on the inner items instead would be resolved from a `tests/http_hello/`
/// directory that does not exist.
#[allow(dead_code)]
#[path = "../examples/http_hello"]
mod http_hello {
    pub mod date;
    pub mod parse;
    pub mod server;
    pub mod sharded;
}

/// The servers' shared `--shards` helper, where `sharded.rs` finds it (`crate::shards`, as
/// in the binary).
#[allow(dead_code)]
#[path = "../examples/shards/mod.rs"]
mod shards;

mod common;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use corio::net::{TcpListener, TcpStream};
use corio::time::{self, timeout};
use http_hello::parse::{parse_request, Body, ParseError, Version};
use http_hello::server;

/// Run `test` against a fresh server, on paused time; the whole test may take at most 10 s
/// of it.
fn with_server<F, Fut>(config: server::Config, test: F)
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
        let server = corio::spawn(server::serve(listener, config));
        timeout(Duration::from_secs(10), test(addr))
            .await
            .expect("test timed out");
        server.abort();
    });
}

/// One parsed response.
#[derive(Debug)]
struct Response {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Response {
    fn closes(&self) -> bool {
        self.head
            .to_ascii_lowercase()
            .contains("\r\nconnection: close\r\n")
    }
}

/// A client that reads responses framed by Content-Length, keeping what follows.
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// Read more; false on EOF.
    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        let n = self.stream.read(&mut chunk).await.unwrap();
        self.buf.extend_from_slice(&chunk[..n]);
        n > 0
    }

    async fn response(&mut self) -> Response {
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8(self.buf[..end + 4].to_vec()).unwrap();
                let status = head[9..12].parse().unwrap();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("Content-Length: "))
                    .expect("Content-Length")
                    .parse()
                    .unwrap();
                while self.buf.len() < end + 4 + length {
                    assert!(self.fill().await, "EOF inside a body");
                }
                let body = self.buf[end + 4..end + 4 + length].to_vec();
                self.buf.drain(..end + 4 + length);
                return Response { status, head, body };
            }
            assert!(self.fill().await, "EOF before a response: {:?}", self.buf);
        }
    }

    /// The server closed: EOF (or a reset) with nothing more to read.
    async fn expect_closed(&mut self) {
        let mut chunk = [0u8; 64];
        match self.stream.read(&mut chunk).await {
            Ok(0) => {}
            Ok(n) => panic!("expected EOF, got {:?}", &chunk[..n]),
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset),
        }
    }
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: test\r\n\r\n";

#[test]
fn keep_alive_serves_hello_then_404_on_one_connection() {
    with_server(server::Config::default(), |addr| async move {
        let mut c = Client::connect(addr).await;
        for _ in 0..3 {
            c.send(GET).await;
            let r = c.response().await;
            assert_eq!((r.status, &r.body[..]), (200, &b"Hello, World!"[..]));
            assert!(r.head.contains("\r\nDate: ") && !r.closes(), "{}", r.head);
            c.send(b"GET /nope HTTP/1.1\r\nHost: test\r\n\r\n").await;
            assert_eq!(c.response().await.status, 404);
            c.send(b"POST / HTTP/1.1\r\nHost: test\r\n\r\n").await;
            assert_eq!(c.response().await.status, 404, "only GET / is served");
        }
        c.send(b"GET /?q=1 HTTP/1.1\r\nConnection: close\r\n\r\n")
            .await;
        let r = c.response().await;
        assert!(r.status == 200 && r.closes(), "{r:?}");
        c.expect_closed().await;
    });
}

#[test]
fn pipelined_requests_in_one_write_are_answered_in_order() {
    with_server(server::Config::default(), |addr| async move {
        let mut c = Client::connect(addr).await;
        let mut batch = Vec::new();
        for i in 0..32 {
            batch.extend_from_slice(if i % 3 == 1 {
                b"GET /missing HTTP/1.1\r\n\r\n".as_slice()
            } else {
                GET
            });
        }
        c.send(&batch).await;
        for i in 0..32 {
            let r = c.response().await;
            assert_eq!(r.status, if i % 3 == 1 { 404 } else { 200 }, "response {i}");
        }
        // Still usable afterwards.
        c.send(GET).await;
        assert_eq!(c.response().await.status, 200);
    });
}

#[test]
fn a_request_sent_byte_by_byte_is_answered_once_complete() {
    with_server(server::Config::default(), |addr| async move {
        let mut c = Client::connect(addr).await;
        // Two requests, the second split mid-way, every byte its own segment.
        let two: Vec<u8> = [GET, b"GET /x HTTP/1.1\r\nHost: test\r\n\r\n"].concat();
        for b in &two {
            c.send(std::slice::from_ref(b)).await;
            corio::time::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(c.response().await.status, 200);
        assert_eq!(c.response().await.status, 404);
        // A request split between two writes, with bare LF line ends (accepted).
        c.send(b"GET / HTTP/1.1\nHo").await;
        corio::time::sleep(Duration::from_millis(5)).await;
        c.send(b"st: test\n\n").await;
        assert_eq!(c.response().await.status, 200);
    });
}

#[test]
fn a_bad_request_line_gets_400_then_close() {
    for bad in [
        &b"GARBAGE\r\n\r\n"[..],
        b"GET /\r\n\r\n",
        b"GET  / HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1 extra\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", // a TLS ClientHello: no line end
    ] {
        with_server(server::Config::default(), |addr| async move {
            let mut c = Client::connect(addr).await;
            c.send(GET).await;
            assert_eq!(c.response().await.status, 200);
            c.send(bad).await;
            let r = c.response().await;
            assert!(r.status == 400 && r.closes(), "{bad:?}: {r:?}");
            c.expect_closed().await;
        });
    }
}

#[test]
fn malformed_headers_get_400_and_unknown_versions_505() {
    let cases: [(&[u8], u16); 6] = [
        (b"GET / HTTP/1.1\r\nNo-Colon\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", 400),
        (
            b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            400,
        ),
        (b"GET / HTTP/2.0\r\n\r\n", 505),
    ];
    for (request, status) in cases {
        with_server(server::Config::default(), |addr| async move {
            let mut c = Client::connect(addr).await;
            c.send(request).await;
            let r = c.response().await;
            assert!(r.status == status && r.closes(), "{request:?}: {r:?}");
            c.expect_closed().await;
        });
    }
}

#[test]
fn oversized_heads_get_431_then_close() {
    with_server(server::Config::default(), |addr| async move {
        // One huge header, sent in pieces: refused once the limit is crossed, without
        // waiting for the head to end.
        let mut c = Client::connect(addr).await;
        c.send(b"GET / HTTP/1.1\r\nX-Big: ").await;
        c.send(&[b'a'; 9000]).await;
        let r = c.response().await;
        assert!(r.status == 431 && r.closes(), "{r:?}");
        c.expect_closed().await;

        // Too many small headers.
        let mut c = Client::connect(addr).await;
        let mut head = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..100 {
            head.extend_from_slice(format!("X-{i}: y\r\n").as_bytes());
        }
        head.extend_from_slice(b"\r\n");
        c.send(&head).await;
        assert_eq!(c.response().await.status, 431);
        c.expect_closed().await;
    });
}

#[test]
fn bodies_are_skipped_and_transfer_encoding_is_refused() {
    with_server(server::Config::default(), |addr| async move {
        let mut c = Client::connect(addr).await;
        // A body split across writes, then a request pipelined right behind it.
        c.send(b"POST /form HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123")
            .await;
        assert_eq!(c.response().await.status, 404);
        c.send(b"456789GET / HTTP/1.1\r\n\r\n").await;
        assert_eq!(c.response().await.status, 200);
        c.send(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
            .await;
        let r = c.response().await;
        assert!(r.status == 501 && r.closes(), "{r:?}");
        c.expect_closed().await;
    });
}

#[test]
fn http_1_0_closes_unless_it_asks_for_keep_alive() {
    with_server(server::Config::default(), |addr| async move {
        let mut c = Client::connect(addr).await;
        c.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            .await;
        let r = c.response().await;
        assert!(r.head.contains("\r\nConnection: keep-alive\r\n"), "{r:?}");
        c.send(b"GET / HTTP/1.0\r\n\r\n").await;
        let r = c.response().await;
        assert!(r.status == 200 && r.closes(), "{r:?}");
        c.expect_closed().await;
    });
}

#[test]
fn idle_connections_are_closed_after_the_idle_timeout() {
    let config = server::Config {
        idle_timeout: Duration::from_millis(300),
        ..server::Config::default()
    };
    with_server(config, |addr| async move {
        // A connection that is served, then goes quiet.
        let mut served = Client::connect(addr).await;
        served.send(GET).await;
        assert_eq!(served.response().await.status, 200);
        let quiet_since = time::now();
        // One that never sends anything, and one stuck in the middle of a head.
        let mut silent = Client::connect(addr).await;
        let mut partial = Client::connect(addr).await;
        partial.send(b"GET / HTTP/1.1\r\nHo").await;
        // A busy one: activity keeps it open well past the timeout.
        let mut busy = Client::connect(addr).await;
        for _ in 0..8 {
            corio::time::sleep(Duration::from_millis(100)).await;
            busy.send(GET).await;
            assert_eq!(busy.response().await.status, 200);
        }
        served.expect_closed().await;
        silent.expect_closed().await;
        partial.expect_closed().await;
        let waited = time::now() - quiet_since;
        assert!(waited >= Duration::from_millis(300), "{waited:?}");
        busy.send(GET).await;
        assert_eq!(
            busy.response().await.status,
            200,
            "activity keeps a connection"
        );
    });
}

// ---- the parser alone ----

#[test]
fn parser_reads_a_head_and_its_framing() {
    let head = b"GET /a?b HTTP/1.1\r\nHost: x\r\nConnection: Keep-Alive, close\r\nContent-Length: 5\r\n\r\nhello";
    let (req, used) = parse_request(head).unwrap().unwrap();
    assert_eq!(used, head.len() - 5);
    assert_eq!(
        (req.method, req.target, req.path()),
        (&b"GET"[..], &b"/a?b"[..], &b"/a"[..])
    );
    assert_eq!(req.version, Version::Http11);
    assert!(!req.keep_alive, "close wins");
    assert_eq!(req.body, Body::Length(5));
    let headers: Vec<_> = req.headers.collect();
    assert_eq!(headers[0], (&b"Host"[..], &b"x"[..]));
    assert_eq!(headers.len(), 3);
    // Leading empty lines are skipped; every proper prefix is "incomplete".
    let padded = b"\r\n\nGET / HTTP/1.0\r\n\r\n";
    assert_eq!(parse_request(padded).unwrap().unwrap().1, padded.len());
    for cut in 0..padded.len() {
        assert_eq!(parse_request(&padded[..cut]), Ok(None), "prefix {cut}");
    }
    assert_eq!(
        parse_request(b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"),
        Err(ParseError::BadContentLength)
    );
    assert_eq!(parse_request(b"G\x00"), Err(ParseError::BadRequestLine));
    assert_eq!(parse_request(&[b'a'; 9000]), Err(ParseError::HeadTooLarge));
}

#[test]
fn parser_never_panics_on_arbitrary_bytes() {
    // A small xorshift generator: no dependency, reproducible.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet = b"GET / HTTP/1.01\r\n:; \t\x00\x7f\xffaZ-,";
    for _ in 0..20_000 {
        let len = (next() % 96) as usize;
        let input: Vec<u8> = (0..len)
            .map(|_| {
                let r = next();
                if r % 4 == 0 {
                    (r >> 8) as u8
                } else {
                    alphabet[(r >> 8) as usize % alphabet.len()]
                }
            })
            .collect();
        if let Ok(Some((_, used))) = parse_request(&input) {
            assert!(used <= input.len());
        }
    }
}

/// `--shards 2` (in-process, through the example's own `sharded::start`): 64 concurrent
/// loopback clients each get `200 Hello, World!`, the drain ends both shards, and on Linux
/// both shards answered some (SO_REUSEPORT hashes each connection's 4-tuple onto the
/// group). Real time (the shards' clocks are their own); the timeouts are hang guards.
#[test]
fn two_shards_answer_every_connection_and_both_answer_some() {
    const CLIENTS: usize = 64;
    let rt = corio::Runtime::builder().build().unwrap();
    rt.block_on(async {
        let stop = corio::sync::CancellationToken::new();
        let mut shards =
            http_hello::sharded::start(2, "127.0.0.1:0", server::Config::default(), stop.clone())
                .await
                .unwrap();
        let addr = shards.local_addr();
        let clients: Vec<_> = (0..CLIENTS)
            .map(|id| {
                corio::spawn(async move {
                    let mut client = Client::connect(addr).await;
                    client.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
                    let response = client.response().await;
                    assert_eq!(response.status, 200, "client {id}");
                    assert_eq!(response.body, b"Hello, World!", "client {id}");
                })
            })
            .collect();
        timeout(Duration::from_secs(10), async {
            for client in clients {
                client.await.unwrap();
            }
        })
        .await
        .expect("clients timed out");
        let per_shard = common::stop_and_drain_shards(&stop, shards.wait(), CLIENTS).await;
        assert_eq!(per_shard.len(), 2);
        if cfg!(target_os = "linux") {
            assert!(per_shard.iter().all(|&n| n > 0), "{per_shard:?}");
        }
    });
}
