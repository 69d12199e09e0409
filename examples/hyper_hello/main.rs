//! "Hello, World!" on hyper 1 over corio: HTTP/1.1 and HTTP/2 without TLS (h2c, prior
//! knowledge) on one port, through hyper-util's auto builder and `corio::compat::hyper`.
//!
//! `GET /` answers `Hello, World!`, anything else `404`. The glue is all in
//! `corio::compat::hyper`: `HyperIo` (hyper's I/O traits over the `TcpStream`, reading
//! straight into hyper's buffer), `LocalExecutor` (HTTP/2 streams as corio tasks, no `Send`),
//! `Timer` (hyper's header-read timeout on corio's wheel) and `GracefulShutdown`. The service
//! and the limits are in `service.rs` (corio-bench serves the same file on corio and tokio).
//!
//! What one client can hold: a connection whose request head is not complete within 10 s is
//! closed (hyper's `header_read_timeout`); hyper buffers at most 64 KiB of one HTTP/1.1 head
//! (`max_buf_size`); an HTTP/2 connection carries at most 100 concurrent streams with hyper's
//! default windows. Requests have no body to read here.
//!
//! Run:    cargo run --release --features hyper --example hyper_hello [ADDR]
//!                                                         (default 127.0.0.1:8081)
//! Drive:  curl -v http://127.0.0.1:8081/                  (HTTP/1.1, 200 Hello, World!)
//!         curl -v --http2-prior-knowledge http://127.0.0.1:8081/   (h2c)
//!         wrk -t1 -c100 -d5s http://127.0.0.1:8081/       (keep-alive load)
//! Stop:   Ctrl-C or `kill PID`: every connection is told to finish gracefully (HTTP/2 gets a
//!         GOAWAY, idle HTTP/1.1 connections close), then it prints how many it served.

mod service;

use corio::compat::hyper::{GracefulShutdown, HyperIo, LocalExecutor, Timer};
use corio::net::TcpListener;
use hyper_util::server::conn::auto;
use service::hello;

#[corio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8081".into());
    let listener = match TcpListener::bind(addr.as_str()).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("hyper_hello: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "hyper_hello: HTTP/1.1 and h2c on http://{}/",
        listener.local_addr().unwrap()
    );

    let mut builder = auto::Builder::new(LocalExecutor);
    service::configure(&mut builder, Timer);
    // The auto builder's connections borrow it, and it lives as long as the program.
    let builder: &'static auto::Builder<LocalExecutor> = Box::leak(Box::new(builder));
    let graceful = GracefulShutdown::new();
    let mut served = 0u64;

    let stop = graceful.token();
    corio::spawn(async move {
        let _ = corio::signal::shutdown().await;
        stop.cancel();
    });
    let stop = graceful.token();
    while let Some(accepted) = stop.run_until_cancelled(listener.accept()).await {
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            // Accept errors (a reset in the backlog, EMFILE after corio's backoff) are
            // per-connection: log and keep serving.
            Err(e) => {
                eprintln!("hyper_hello: accept: {e}");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        served += 1;
        let conn =
            builder.serve_connection(HyperIo::new(stream), hyper::service::service_fn(hello));
        // hyper-util's connection type is not one `watch` knows: name its shutdown method.
        let watched = graceful.watch_with(conn, |conn| conn.graceful_shutdown());
        drop(corio::spawn(watched));
    }
    drop(listener);
    println!(
        "hyper_hello: shutting down {} connection(s)",
        graceful.count()
    );
    graceful.shutdown().await;
    println!("hyper_hello: served {served} connection(s)");
}
