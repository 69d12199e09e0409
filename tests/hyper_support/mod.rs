//! A hyper test server on corio for the hyper_* tests (`mod hyper_support;` in each).
#![allow(dead_code)]

use std::cell::Cell;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::rc::Rc;

use bytes::Bytes;
use corio::net::TcpListener;
use corio_compat::hyper::{HyperIo, Timer};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};

/// What the test server saw.
#[derive(Clone, Default)]
pub struct Counts {
    pub accepts: Rc<Cell<u64>>,
    pub requests: Rc<Cell<u64>>,
}

/// A body big enough that hyper cannot have read all of it before the caller does.
pub const BIG: usize = 4 << 20;

/// Answers `"{method} {path}"` as the body, so a test can see which request it got back;
/// `/big` answers [`BIG`] bytes of `b'x'`.
pub async fn echo_line(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.uri().path() == "/big" {
        return Ok(Response::new(Full::new(Bytes::from(vec![b'x'; BIG]))));
    }
    let line = format!("{} {}", req.method(), req.uri());
    Ok(Response::new(Full::new(Bytes::from(line))))
}

/// An HTTP/1.1 server on a fresh loopback port, counting accepted connections and requests;
/// `keep_alive: false` closes every connection after its first response.
pub async fn http1_server(keep_alive: bool) -> (SocketAddr, Counts) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let counts = Counts::default();
    let seen = counts.clone();
    corio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            seen.accepts.set(seen.accepts.get() + 1);
            let requests = seen.requests.clone();
            let svc = hyper::service::service_fn(move |req| {
                requests.set(requests.get() + 1);
                echo_line(req)
            });
            corio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(Timer)
                    .keep_alive(keep_alive)
                    .serve_connection(HyperIo::new(stream), svc)
                    .await;
            });
        }
    });
    (addr, counts)
}

/// A server that accepts one connection and reads it forever without ever answering.
pub async fn silent_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    corio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 1024];
        while stream.read(&mut buf).await.unwrap_or(0) > 0 {}
    });
    addr
}
