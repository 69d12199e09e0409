//! hyper 1 server and client over corio, HTTP/1.1 and h2c (HTTP/2 without TLS), with
//! corio_compat::hyper's HyperIo, LocalExecutor and Timer; hyper-util's auto builder serving
//! both on one port. Each test asserts what came back.

use std::convert::Infallible;

use bytes::Bytes;
use corio::net::{TcpListener, TcpStream, UnixStream};
use corio_compat::hyper::{HyperIo, LocalExecutor, Timer};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, Version};

/// Echoes the request: status 200, `x-method`/`x-version` headers, the body reversed.
async fn mirror(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = req.method().to_string();
    let version = format!("{:?}", req.version());
    let mut body = req.into_body().collect().await.unwrap().to_bytes().to_vec();
    body.reverse();
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    resp.headers_mut()
        .insert("x-method", method.parse().unwrap());
    resp.headers_mut()
        .insert("x-version", version.parse().unwrap());
    Ok(resp)
}

fn post(uri: &str, body: &'static [u8]) -> Request<Full<Bytes>> {
    Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header("host", "test")
        .body(Full::new(Bytes::from_static(body)))
        .unwrap()
}

async fn check(resp: Response<Incoming>, version: &str, want_body: &[u8]) {
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-method"], "POST");
    assert_eq!(resp.headers()["x-version"], version);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], want_body);
}

#[corio::test]
async fn http1_server_and_client_over_tcp() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    corio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        hyper::server::conn::http1::Builder::new()
            .timer(Timer)
            .serve_connection(HyperIo::new(stream), hyper::service::service_fn(mirror))
            .await
            .unwrap();
    });
    let io = HyperIo::new(TcpStream::connect(addr).await.unwrap());
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
    corio::spawn(conn);
    for body in [&b"abc"[..], b"", b"keep-alive works"] {
        let resp = sender.send_request(post("/", body)).await.unwrap();
        assert_eq!(resp.version(), Version::HTTP_11);
        let want: Vec<u8> = body.iter().rev().copied().collect();
        check(resp, "HTTP/1.1", &want).await;
    }
}

#[corio::test]
async fn h2c_server_and_client_carry_concurrent_streams() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    corio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        hyper::server::conn::http2::Builder::new(LocalExecutor)
            .timer(Timer)
            .serve_connection(HyperIo::new(stream), hyper::service::service_fn(mirror))
            .await
            .unwrap();
    });
    let io = HyperIo::new(TcpStream::connect(addr).await.unwrap());
    let (sender, conn) = hyper::client::conn::http2::Builder::new(LocalExecutor)
        .timer(Timer)
        .handshake(io)
        .await
        .unwrap();
    corio::spawn(conn);
    // 20 requests in flight at once on one connection: HTTP/2 streams as corio tasks.
    let mut tasks = Vec::new();
    for i in 0..20u8 {
        let mut sender = sender.clone();
        tasks.push(corio::spawn(async move {
            let body: &'static [u8] = Box::leak(vec![b'a' + i; 1 + i as usize].into_boxed_slice());
            let resp = sender
                .send_request(post("http://test/", body))
                .await
                .unwrap();
            assert_eq!(resp.version(), Version::HTTP_2);
            check(resp, "HTTP/2.0", body).await; // a run of one byte reversed is itself
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

#[corio::test]
async fn http1_over_a_unix_stream() {
    let (server, client) = UnixStream::pair().unwrap();
    corio::spawn(async move {
        hyper::server::conn::http1::Builder::new()
            .serve_connection(HyperIo::new(server), hyper::service::service_fn(mirror))
            .await
            .unwrap();
    });
    let (mut sender, conn) = hyper::client::conn::http1::handshake(HyperIo::new(client))
        .await
        .unwrap();
    corio::spawn(conn);
    let resp = sender.send_request(post("/", b"unix")).await.unwrap();
    check(resp, "HTTP/1.1", b"xinu").await;
}

#[corio::test]
async fn the_auto_builder_serves_http1_and_h2c_on_one_port() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    corio::spawn(async move {
        let builder: &'static _ = Box::leak(Box::new(
            hyper_util::server::conn::auto::Builder::new(LocalExecutor),
        ));
        for _ in 0..2 {
            let (stream, _) = listener.accept().await.unwrap();
            corio::spawn(
                builder.serve_connection(HyperIo::new(stream), hyper::service::service_fn(mirror)),
            );
        }
    });
    // HTTP/1.1 ...
    let io = HyperIo::new(TcpStream::connect(addr).await.unwrap());
    let (mut h1, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
    corio::spawn(conn);
    check(
        h1.send_request(post("/", b"one")).await.unwrap(),
        "HTTP/1.1",
        b"eno",
    )
    .await;
    // ... and HTTP/2 with prior knowledge, same port.
    let io = HyperIo::new(TcpStream::connect(addr).await.unwrap());
    let (mut h2, conn) = hyper::client::conn::http2::Builder::new(LocalExecutor)
        .handshake(io)
        .await
        .unwrap();
    corio::spawn(conn);
    check(
        h2.send_request(post("http://test/", b"two")).await.unwrap(),
        "HTTP/2.0",
        b"owt",
    )
    .await;
}

#[corio::test]
async fn a_large_body_crosses_both_ways() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    corio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(HyperIo::new(stream), hyper::service::service_fn(mirror))
            .await;
    });
    let io = HyperIo::new(TcpStream::connect(addr).await.unwrap());
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
    corio::spawn(conn);
    let body: Vec<u8> = (0..2_000_000u32).map(|i| (i % 253) as u8).collect();
    let req = Request::post("/")
        .header("host", "t")
        .body(Full::new(Bytes::from(body.clone())))
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    let got = resp.into_body().collect().await.unwrap().to_bytes();
    let want: Vec<u8> = body.into_iter().rev().collect();
    assert_eq!(got.len(), want.len());
    assert!(
        got[..] == want[..],
        "the 2 MB body came back reversed, byte for byte"
    );
}
