//! The tokio multi-thread server: what a tokio user picks for many cores. `N` worker threads
//! (`--shards N`), the accept loop in `block_on` on the main thread (as `#[tokio::main]`
//! runs it), `tokio::spawn` per connection, so the work-stealing scheduler spreads the
//! connections over the workers; each connection is the current_thread variant's (4 KiB
//! buffer, `write_all`).

use std::io;
use std::net::TcpListener;
use std::time::Duration;

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
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _peer)) => stream,
                Err(e) if super::transient_accept_error(&e) => {
                    // No tokio timer (the bench does not enable it): a short blocking nap of
                    // the accepting thread (not a worker) is the back-off.
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                }
                Err(e) => return Err(e),
            };
            tokio::spawn(async move {
                // A connection error ends only that connection.
                let _ = super::tokio::connection(stream, workload).await;
            });
        }
    })
}
