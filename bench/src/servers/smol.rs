//! The smol server, written the way a smol user would: `async-io`'s reactor driven by
//! `async_io::block_on` on one thread, an `async-executor` `LocalExecutor` with one detached
//! task per connection, and — like the tokio variant — a 4 KiB read buffer per connection
//! (allocated for the connection's whole life, idle or not), answered with `write_all`.

use std::io;
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use async_executor::LocalExecutor;
use async_io::{Async, Timer};
use futures_lite::{AsyncReadExt, AsyncWriteExt};

use crate::cli::Workload;
use crate::http;

/// Serve `listener` forever on one thread: `async-io`'s reactor plus a `LocalExecutor`.
pub fn serve(listener: TcpListener, workload: Workload) -> io::Result<()> {
    let ex = LocalExecutor::new();
    async_io::block_on(ex.run(async {
        // `Async::new` makes the socket non-blocking and registers it with the reactor.
        let listener = Async::new(listener)?;
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _peer)) => stream,
                Err(e) if super::transient_accept_error(&e) => {
                    // async-io always has a timer: the same 5 ms back-off the tokio variant
                    // takes, without blocking the thread.
                    Timer::after(Duration::from_millis(5)).await;
                    continue;
                }
                Err(e) => return Err(e),
            };
            ex.spawn(async move {
                // A connection error ends only that connection.
                let _ = connection(stream, workload).await;
            })
            .detach();
        }
    }))
}

async fn connection(mut stream: Async<TcpStream>, workload: Workload) -> io::Result<()> {
    stream.get_ref().set_nodelay(true)?;
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
