//! The pooled HTTP/1.1 `Client` of corio_compat::hyper: connection reuse (counted by the
//! server's accepts), the connect and request timeouts, and its errors.

mod hyper_support;

use std::time::Duration;

use corio::net::TcpListener;
use corio_compat::hyper::client::{Client, ErrorKind};
use http_body_util::BodyExt;
use hyper_support::http1_server;

async fn body_of(resp: hyper::Response<hyper::body::Incoming>) -> String {
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[corio::test]
async fn ten_thousand_gets_reuse_one_connection() {
    let (addr, counts) = http1_server(true).await;
    let client = Client::new();
    for i in 0..10_000 {
        let resp = client
            .get(format!("http://{addr}/n/{i}").as_str())
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(body_of(resp).await, format!("GET /n/{i}"));
    }
    assert_eq!(counts.requests.get(), 10_000);
    assert_eq!(
        counts.accepts.get(),
        1,
        "every GET after the first reused the connection"
    );
    assert_eq!(client.connections_opened(), 1);
    assert_eq!(client.pooled(), 1);
}

#[corio::test]
async fn pooling_off_opens_a_connection_per_request() {
    let (addr, counts) = http1_server(true).await;
    let client: Client = Client::builder().max_idle_per_host(0).build();
    for _ in 0..5 {
        let resp = client
            .get(format!("http://{addr}/").as_str())
            .await
            .unwrap();
        body_of(resp).await;
    }
    assert_eq!(counts.accepts.get(), 5);
    assert_eq!(client.pooled(), 0);
}

#[corio::test]
async fn a_server_that_closes_after_each_response_costs_connections_not_errors() {
    let (addr, counts) = http1_server(false).await;
    let client = Client::new();
    for i in 0..20 {
        let resp = client
            .get(format!("http://{addr}/{i}").as_str())
            .await
            .unwrap();
        assert_eq!(body_of(resp).await, format!("GET /{i}"));
    }
    assert_eq!(counts.accepts.get(), 20);
    assert_eq!(counts.requests.get(), 20);
}

#[corio::test]
async fn a_body_still_being_read_keeps_its_connection_out_of_the_pool() {
    let (addr, counts) = http1_server(true).await;
    let client = Client::new();
    let url = format!("http://{addr}/");
    let big = format!("http://{addr}/big");
    let first = client.get(big.as_str()).await.unwrap();
    // The first body (4 MiB) is still coming: the second request must not queue behind it.
    let second = client.get(url.as_str()).await.unwrap();
    assert_eq!(counts.accepts.get(), 2);
    assert_eq!(body_of(second).await, "GET /");
    assert_eq!(body_of(first).await.len(), hyper_support::BIG);
    // Both are reusable now; the next requests open nothing new.
    for _ in 0..10 {
        body_of(client.get(url.as_str()).await.unwrap()).await;
    }
    assert_eq!(counts.accepts.get(), 2);
}

#[corio::test]
async fn a_body_dropped_unread_does_not_break_the_next_request() {
    let (addr, _counts) = http1_server(true).await;
    let client = Client::new();
    let url = format!("http://{addr}/x");
    for _ in 0..10 {
        drop(client.get(url.as_str()).await.unwrap());
    }
    let resp = client.get(url.as_str()).await.unwrap();
    assert_eq!(body_of(resp).await, "GET /x");
}

#[corio::test]
async fn concurrent_requests_get_their_own_connections_then_share_them() {
    let (addr, counts) = http1_server(true).await;
    let client = Client::new();
    let url = format!("http://{addr}/c");
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (client, url) = (client.clone(), url.clone());
        tasks.push(corio::spawn(async move {
            body_of(client.get(url.as_str()).await.unwrap()).await
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), "GET /c");
    }
    let opened = counts.accepts.get();
    assert!((1..=4).contains(&opened), "opened {opened}");
    for _ in 0..20 {
        body_of(client.get(url.as_str()).await.unwrap()).await;
    }
    assert_eq!(
        counts.accepts.get(),
        opened,
        "sequential requests reused the pool"
    );
}

#[corio::test]
async fn host_header_and_origin_form_are_sent() {
    // A raw server: read one request head and answer with it as the body.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    corio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.ends_with(b"\r\n\r\n") {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0 && head.len() < 16 * 1024);
            head.extend_from_slice(&buf[..n]);
        }
        let reply = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", head.len());
        stream.write_all(reply.as_bytes()).await.unwrap();
        stream.write_all(&head).await.unwrap();
    });
    let client = Client::new();
    let resp = client
        .get(format!("http://{addr}/p?q=1").as_str())
        .await
        .unwrap();
    let head = body_of(resp).await;
    assert!(head.starts_with("GET /p?q=1 HTTP/1.1\r\n"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains(&format!("host: {addr}\r\n")),
        "{head}"
    );
}

/// A listener whose accept queue is full: Linux drops further SYNs, so a connect to it
/// hangs until it is given up (loopback only, nothing is ever accepted).
fn full_backlog() -> (
    std::net::SocketAddr,
    Vec<std::net::TcpStream>,
    socket2::Socket,
) {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket
        .bind(
            &"127.0.0.1:0"
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        )
        .unwrap();
    socket.listen(0).unwrap();
    let addr = socket.local_addr().unwrap().as_socket().unwrap();
    let mut fillers = Vec::new();
    // A bounded number of fillers: connects that complete at once sit in the queue.
    for _ in 0..8 {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(s) => fillers.push(s),
            Err(_) => break,
        }
    }
    (addr, fillers, socket)
}

#[corio::test(start_paused = true)]
async fn connect_timeout_gives_up_on_a_connect_that_hangs() {
    let (addr, _fillers, _listener) = full_backlog();
    let client: Client = Client::builder()
        .connect_timeout(Duration::from_secs(3))
        .build();
    let t0 = corio::time::now();
    let err = client
        .get(format!("http://{addr}/").as_str())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectTimeout, "{err}");
    assert!(err.is_timeout());
    assert!(corio::time::now() - t0 >= Duration::from_secs(3));
    assert_eq!(client.connections_opened(), 0);
}

#[corio::test(start_paused = true)]
async fn request_timeout_gives_up_on_a_server_that_never_answers() {
    let addr = hyper_support::silent_server().await;
    let client: Client = Client::builder()
        .request_timeout(Duration::from_secs(30))
        .build();
    let t0 = corio::time::now();
    let err = client
        .get(format!("http://{addr}/slow").as_str())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RequestTimeout, "{err}");
    assert!(corio::time::now() - t0 >= Duration::from_secs(30));
    assert_eq!(client.connections_opened(), 1);
}

#[corio::test]
async fn bad_uris_and_refused_connects_are_typed_errors() {
    let client = Client::new();
    let cases = [
        ("https://127.0.0.1/", ErrorKind::UnsupportedScheme),
        ("/relative", ErrorKind::InvalidUri),
        ("http://", ErrorKind::InvalidUri),
        ("not a uri at all", ErrorKind::InvalidUri),
    ];
    for (uri, kind) in cases {
        let err = client.get(uri).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{uri}: {err}");
    }
    // A port nobody listens on (bound, then closed).
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let err = client
        .get(format!("http://{addr}/").as_str())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connect, "{err}");
    let source = std::error::Error::source(&err).expect("the io::Error");
    assert!(
        source.to_string().to_lowercase().contains("refused"),
        "{source}"
    );
}

#[corio::test]
async fn a_request_never_sent_comes_back_as_it_was() {
    let client = Client::new();
    // A port nobody listens on (bound, then closed).
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("http://{addr}/x?y=1");
    let req = hyper::Request::post(url.as_str())
        .header("x-mine", "kept")
        .body(http_body_util::Full::new(bytes::Bytes::from_static(
            b"payload",
        )))
        .unwrap();
    let mut failed = client.try_request(req).await.unwrap_err();
    assert_eq!(failed.error().kind(), ErrorKind::Connect);
    let back = failed
        .take_request()
        .expect("a refused connect sent nothing");
    assert_eq!(back.uri(), url.as_str(), "the absolute URI is restored");
    assert_eq!(back.headers()["x-mine"], "kept");
    assert!(
        back.headers().get("host").is_none(),
        "the Host the client added is gone"
    );
    let body = back.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"payload");

    let req = hyper::Request::get("ftp://127.0.0.1/f")
        .body(Default::default())
        .unwrap();
    let (error, back) = client.try_request(req).await.unwrap_err().into_parts();
    assert_eq!(error.kind(), ErrorKind::UnsupportedScheme);
    assert_eq!(back.unwrap().uri(), "ftp://127.0.0.1/f");
}

#[corio::test(start_paused = true)]
async fn a_request_that_timed_out_is_not_handed_back() {
    let addr = hyper_support::silent_server().await;
    let client: Client = Client::builder()
        .request_timeout(Duration::from_secs(5))
        .build();
    let req = hyper::Request::get(format!("http://{addr}/").as_str())
        .body(Default::default())
        .unwrap();
    let mut failed = client.try_request(req).await.unwrap_err();
    assert_eq!(failed.error().kind(), ErrorKind::RequestTimeout);
    assert!(failed.take_request().is_none(), "it may have been sent");
}

#[corio::test]
async fn ipv6_literals_and_default_ports_share_the_pool_key() {
    // An IPv6 loopback server, when the machine has ::1.
    let Ok(listener) = TcpListener::bind("[::1]:0").await else {
        eprintln!("no IPv6 loopback here: skipped");
        return;
    };
    let port = listener.local_addr().unwrap().port();
    let accepts = std::rc::Rc::new(std::cell::Cell::new(0));
    let seen = accepts.clone();
    corio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            seen.set(seen.get() + 1);
            corio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(
                corio_compat::hyper::HyperIo::new(stream),
                hyper::service::service_fn(hyper_support::echo_line),
            ));
        }
    });
    let client = Client::new();
    // Brackets in the URI, a bare address for the resolver; case-insensitive scheme.
    for url in [
        format!("http://[::1]:{port}/a"),
        format!("HTTP://[::1]:{port}/b"),
    ] {
        let resp = client.get(url.as_str()).await.unwrap();
        let path = &url[url.rfind('/').unwrap()..];
        assert_eq!(body_of(resp).await, format!("GET {path}"));
    }
    assert_eq!(
        accepts.get(),
        1,
        "both spellings used one pooled connection"
    );
}
