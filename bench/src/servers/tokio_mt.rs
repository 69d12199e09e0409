//! The tokio multi-thread server: what a tokio user picks for many cores. `N` worker threads
//! (`--shards N`), the accept loop in `block_on` on the main thread (as `#[tokio::main]`
//! runs it), `tokio::spawn` per connection, so the work-stealing scheduler spreads the
//! connections over the workers; each connection is the current_thread variant's (4 KiB
//! buffer, `write_all`).

use std::io;
use std::net::TcpListener;

use crate::cli::Workload;

/// Serve `listener` forever on tokio's multi-thread runtime with `threads` workers.
pub fn serve(listener: TcpListener, workload: Workload, threads: usize) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_io()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        super::tokio::accept_each(&listener, |stream| {
            tokio::spawn(async move {
                // A connection error ends only that connection.
                let _ = super::tokio::connection(stream, workload).await;
            });
        })
        .await
    })
}
