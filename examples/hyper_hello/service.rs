//! The hyper_hello service and connection settings, shared with corio-bench's `corio-hyper`
//! and `tokio-hyper` variants (which include this file), so both runtimes serve exactly the
//! same hyper code.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::server::conn::auto;

/// The TechEmpower plaintext answer on `/`, 404 elsewhere.
pub async fn hello(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (status, body) = if req.uri().path() == "/" {
        (StatusCode::OK, &b"Hello, World!"[..])
    } else {
        (StatusCode::NOT_FOUND, &b"not found\n"[..])
    };
    let mut resp = Response::new(Full::new(Bytes::from_static(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain"),
    );
    Ok(resp)
}

/// What one client can hold: a request head must be complete within 10 s and fit in 64 KiB;
/// an HTTP/2 connection carries at most 100 concurrent streams.
pub fn configure<E, T>(builder: &mut auto::Builder<E>, timer: T)
where
    T: hyper::rt::Timer + Clone + Send + Sync + 'static,
{
    builder
        .http1()
        .timer(timer.clone())
        .header_read_timeout(Duration::from_secs(10))
        .max_buf_size(64 * 1024);
    builder.http2().timer(timer).max_concurrent_streams(100);
}
