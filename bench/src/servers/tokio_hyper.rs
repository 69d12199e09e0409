//! The `tokio-hyper` server: the same hyper service and settings as `corio-hyper` (from
//! `examples/hyper_hello/service.rs`) on tokio's current_thread runtime with hyper-util's
//! `TokioIo`, `TokioExecutor` and `TokioTimer` — what a tokio user gets out of the box.

use std::io;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;

use super::hyper_service as service;
use crate::cli::Workload;

/// Serve `listener` forever (HTTP only).
pub fn serve(listener: std::net::TcpListener, workload: Workload) -> io::Result<()> {
    super::http_only("tokio-hyper", workload)?;
    listener.set_nonblocking(true)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let mut builder = auto::Builder::new(TokioExecutor::new());
        service::configure(&mut builder, TokioTimer::new());
        let builder: &'static auto::Builder<TokioExecutor> = Box::leak(Box::new(builder));
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _peer)) => stream,
                Err(e) if super::transient_accept_error(&e) => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
                Err(e) => return Err(e),
            };
            stream.set_nodelay(true)?;
            let conn = builder.serve_connection(
                TokioIo::new(stream),
                hyper::service::service_fn(service::hello),
            );
            // current_thread: the spawned connection runs on this same thread.
            tokio::spawn(async move { drop(conn.await) });
        }
    })
}
