//! The tokio server, written the way a tokio user would: a current_thread runtime with a
//! `LocalSet`, `spawn_local` per connection, and a 4 KiB read buffer per connection
//! (allocated for the connection's whole life, idle or not), answered with `write_all`.

use std::io;
use std::net::TcpListener;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::cli::Workload;
use crate::http;

/// Serve `listener` forever on tokio's current_thread runtime.
pub fn serve(listener: TcpListener, workload: Workload) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        accept_each(&listener, |stream| {
            tokio::task::spawn_local(async move {
                // A connection error ends only that connection.
                let _ = connection(stream, workload).await;
            });
        })
        .await
    })
}

/// Accept forever, handing each connection to `each`; returns only on a fatal accept error
/// (also tokio-mt's accept loop, in `tokio_mt.rs`).
pub(super) async fn accept_each(
    listener: &tokio::net::TcpListener,
    mut each: impl FnMut(TcpStream),
) -> io::Result<()> {
    loop {
        match listener.accept().await {
            Ok((stream, _peer)) => each(stream),
            Err(e) if super::transient_accept_error(&e) => {
                // No tokio timer (the bench does not enable it): a short blocking nap is the
                // back-off, as rare as it is in a benchmark.
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(e),
        }
    }
}

/// One connection, 4 KiB buffer (also tokio-mt's, in `tokio_mt.rs`).
pub(super) async fn connection(mut stream: TcpStream, workload: Workload) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = vec![0u8; 4096];
    match workload {
        Workload::Echo => loop {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                return Ok(());
            }
            stream.write_all(&buf[..n]).await?;
        },
        Workload::Http => {
            let mut have = 0;
            let mut out = Vec::new();
            loop {
                let n = stream.read(&mut buf[have..]).await?;
                if n == 0 {
                    return Ok(());
                }
                have += n;
                http::answer_buffered(&mut buf, &mut have, &mut out)?;
                stream.write_all(&out).await?;
            }
        }
    }
}
