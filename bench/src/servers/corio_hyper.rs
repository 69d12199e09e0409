//! The `corio-hyper` server: the `hyper_hello` example's service (included from
//! `examples/hyper_hello/service.rs`) on corio through `corio::compat::hyper` — hyper-util's
//! auto builder (HTTP/1.1 + h2c), `HyperIo` over corio's `TcpStream`, `LocalExecutor`, `Timer`.
//!
//! With `CORIO_HYPER_ZERO_FILL=1` in the environment the server reads through
//! `HyperIo::zero_filling` instead (hyper's buffer zeroed before every read, as glue written
//! against futures-io alone does), to measure what the direct read saves (BENCHMARKS.md).

use std::io;

use corio::compat::hyper::{HyperIo, LocalExecutor, Timer};
use corio::net::TcpListener;
use hyper_util::server::conn::auto;

use super::hyper_service as service;
use crate::cli::Workload;

/// Serve `listener` forever (HTTP only: hyper does not speak the echo workload).
pub fn serve(listener: std::net::TcpListener, workload: Workload) -> io::Result<()> {
    super::http_only("corio-hyper", workload)?;
    corio::run(async move {
        let listener = TcpListener::from_std(listener)?;
        let mut builder = auto::Builder::new(LocalExecutor);
        service::configure(&mut builder, Timer);
        // Connections borrow the builder; it lives as long as this server process.
        let builder: &'static auto::Builder<LocalExecutor> = Box::leak(Box::new(builder));
        let zero_fill = std::env::var_os("CORIO_HYPER_ZERO_FILL").is_some_and(|v| v == "1");
        loop {
            // accept() backs off by itself when out of fds or memory; other errors are fatal.
            let (stream, _peer) = listener.accept().await?;
            stream.set_nodelay(true)?;
            let io = if zero_fill {
                HyperIo::zero_filling(stream)
            } else {
                HyperIo::new(stream)
            };
            let conn = builder.serve_connection(io, hyper::service::service_fn(service::hello));
            // A connection error ends only that connection.
            drop(corio::spawn(async move { drop(conn.await) }));
        }
    })
}
