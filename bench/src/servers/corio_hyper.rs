//! The `corio-hyper` server: the `hyper_hello` example's service (included from
//! `examples/hyper_hello/service.rs`) on corio through `corio::compat::hyper` — hyper-util's
//! auto builder (HTTP/1.1 + h2c), `HyperIo` over corio's `TcpStream`, `LocalExecutor`, `Timer`.

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
        loop {
            // accept() backs off by itself when out of fds or memory; other errors are fatal.
            let (stream, _peer) = listener.accept().await?;
            stream.set_nodelay(true)?;
            let conn = builder.serve_connection(
                HyperIo::new(stream),
                hyper::service::service_fn(service::hello),
            );
            // A connection error ends only that connection.
            drop(corio::spawn(async move { drop(conn.await) }));
        }
    })
}
