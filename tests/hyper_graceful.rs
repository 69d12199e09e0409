//! corio_compat::hyper::GracefulShutdown: in-flight requests finish, idle connections close,
//! the wait ends when the last connection is done; the signal can come from a token.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use corio::net::{TcpListener, TcpStream};
use corio_compat::hyper::{GracefulShutdown, HyperIo, LocalExecutor, Timer};
use http_body_util::Full;
use hyper::{Request, Response};

/// Answers after `delay` (paused time in these tests).
async fn slow(req: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let secs: u64 = req
        .uri()
        .path()
        .trim_start_matches('/')
        .parse()
        .unwrap_or(0);
    corio::time::sleep(Duration::from_secs(secs)).await;
    Ok(Response::new(Full::new(Bytes::from(format!(
        "slept {secs}"
    )))))
}

/// Read from `stream` until EOF (bounded), returning everything.
async fn read_to_end(stream: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    let mut buf = [0u8; 1024];
    while all.len() < 64 * 1024 {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => all.extend_from_slice(&buf[..n]),
        }
    }
    all
}

/// Accept `n` connections and serve each over HTTP/1.1, watched by `graceful`.
async fn serve_n(listener: &TcpListener, graceful: &GracefulShutdown, n: usize) {
    for _ in 0..n {
        let (stream, _) = listener.accept().await.unwrap();
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(Timer)
            .serve_connection(HyperIo::new(stream), hyper::service::service_fn(slow));
        corio::spawn(graceful.watch(conn));
    }
}

#[corio::test(start_paused = true)]
async fn an_in_flight_request_finishes_and_idle_connections_close() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let graceful = GracefulShutdown::new();
    let mut busy = TcpStream::connect(addr).await.unwrap();
    let mut idle = TcpStream::connect(addr).await.unwrap();
    serve_n(&listener, &graceful, 2).await;
    busy.write_all(b"GET /5 HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    // Let the server read the request before the shutdown starts.
    corio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(graceful.count(), 2);
    let t0 = corio::time::now();
    graceful.shutdown().await;
    assert!(
        corio::time::now() - t0 >= Duration::from_secs(3),
        "waited for the handler"
    );
    let reply = String::from_utf8(read_to_end(&mut busy).await).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200 OK"), "{reply}");
    assert!(reply.ends_with("slept 5"), "{reply}");
    assert!(
        reply.to_ascii_lowercase().contains("connection: close"),
        "{reply}"
    );
    assert_eq!(
        read_to_end(&mut idle).await,
        b"",
        "the idle connection just closes"
    );
}

#[corio::test(start_paused = true)]
async fn a_token_cancelled_on_another_thread_starts_the_shutdown() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let token = corio::sync::CancellationToken::new();
    let graceful = GracefulShutdown::with_token(token.clone());
    let mut client = TcpStream::connect(addr).await.unwrap();
    serve_n(&listener, &graceful, 1).await;
    let wait = corio::spawn(graceful.wait());
    corio::time::sleep(Duration::from_secs(60)).await;
    assert!(
        !wait.is_finished(),
        "no signal yet: the connection stays up"
    );
    std::thread::spawn(move || token.cancel()).join().unwrap();
    wait.await.unwrap();
    assert_eq!(read_to_end(&mut client).await, b"");
}

#[corio::test(start_paused = true)]
async fn http2_connections_get_a_goaway_and_finish_their_streams() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let graceful = GracefulShutdown::new();
    let client_io = HyperIo::new(TcpStream::connect(addr).await.unwrap());
    let (stream, _) = listener.accept().await.unwrap();
    let conn = hyper::server::conn::http2::Builder::new(LocalExecutor)
        .timer(Timer)
        .serve_connection(HyperIo::new(stream), hyper::service::service_fn(slow));
    corio::spawn(graceful.watch(conn));
    let (mut sender, conn) = hyper::client::conn::http2::Builder::new(LocalExecutor)
        .timer(Timer)
        .handshake::<_, Full<Bytes>>(client_io)
        .await
        .unwrap();
    corio::spawn(conn);
    let req = Request::get("http://t/4").body(Full::default()).unwrap();
    let in_flight = corio::spawn(sender.send_request(req));
    corio::time::sleep(Duration::from_secs(1)).await;
    graceful.shutdown().await;
    let resp = in_flight.await.unwrap().unwrap();
    assert_eq!(resp.status(), 200);
    let body = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap();
    assert_eq!(&body.to_bytes()[..], b"slept 4");
}

#[corio::test]
async fn a_dropped_watched_connection_no_longer_counts() {
    let (a, _b) = corio::net::UnixStream::pair().unwrap();
    let graceful = GracefulShutdown::new();
    let conn = hyper::server::conn::http1::Builder::new()
        .serve_connection(HyperIo::new(a), hyper::service::service_fn(slow));
    let watched = graceful.watch(conn);
    assert_eq!(graceful.count(), 1);
    drop(watched);
    assert_eq!(graceful.count(), 0);
    graceful.shutdown().await; // nothing left to wait for
}
