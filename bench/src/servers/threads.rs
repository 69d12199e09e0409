//! Thread-per-connection with std::net: the accept loop spawns one OS thread (default stack
//! size) per connection, which does blocking reads into a 4 KiB stack buffer and
//! `write_all`s the answer. The classic design the event loop is measured against.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use crate::cli::Workload;
use crate::http;

/// Serve `listener` forever, one thread per connection.
pub fn serve(listener: TcpListener, workload: Workload) -> io::Result<()> {
    loop {
        let stream = match listener.accept() {
            Ok((stream, _peer)) => stream,
            Err(e) if super::transient_accept_error(&e) => {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
            Err(e) => return Err(e),
        };
        let spawned = std::thread::Builder::new()
            .name("conn".into())
            .spawn(move || {
                // A connection error ends only that connection (and its thread).
                let _ = connection(stream, workload);
            });
        if let Err(e) = spawned {
            // Out of threads or memory: the connection is dropped (closed) and we go on.
            eprintln!("threads server: cannot spawn a thread: {e}");
        }
    }
}

fn connection(mut stream: TcpStream, workload: Workload) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = [0u8; 4096];
    match workload {
        Workload::Echo => loop {
            let n = stream.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            stream.write_all(&buf[..n])?;
        },
        Workload::Http => {
            let mut have = 0;
            let mut out = Vec::new();
            loop {
                let n = stream.read(&mut buf[have..])?;
                if n == 0 {
                    return Ok(());
                }
                have += n;
                http::answer_buffered(&mut buf, &mut have, &mut out)?;
                stream.write_all(&out)?;
            }
        }
    }
}
