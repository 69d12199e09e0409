//! The corio server: an accept loop and one task per connection, buffer-free while idle.
//!
//! An idle connection holds no buffer: its task awaits `readable()`, then reads into one
//! loop-wide scratch buffer (a `thread_local` `RefCell<Vec<u8>>`) and writes the answer back
//! straight from it. Only if a write would block is the rest copied into a per-connection
//! `Vec` that the task awaits writing (and frees) before it reads again. An incomplete HTTP
//! request is likewise kept per connection only while it is incomplete.

use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use corio::io::Async;

use crate::aio;
use crate::cli::Workload;
use crate::http;

thread_local! {
    /// The loop-wide read buffer every connection shares.
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(vec![0; 64 * 1024]);
    /// The loop-wide buffer HTTP answers are assembled in.
    static OUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Serve `listener` forever on a corio runtime.
pub fn serve(listener: TcpListener, workload: Workload) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    corio::run(async move {
        let listener = Async::new(listener)?;
        loop {
            let stream = match listener.read_with(|l| l.accept()).await {
                Ok((stream, _peer)) => stream,
                Err(e) if super::transient_accept_error(&e) => {
                    // Out of fds or memory: back off instead of spinning on the error.
                    corio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
                Err(e) => return Err(e),
            };
            corio::spawn(async move {
                // A connection error ends only that connection.
                let _ = connection(stream, workload).await;
            });
        }
    })
}

/// Why `on_readable` stopped.
enum Step {
    /// Read and answered what was there; wait for more.
    Continue,
    /// The client closed its side.
    Eof,
}

async fn connection(stream: TcpStream, workload: Workload) -> io::Result<()> {
    stream.set_nonblocking(true)?;
    stream.set_nodelay(true)?;
    let io = Async::new(stream)?;
    let mut pending: Vec<u8> = Vec::new();
    let mut partial: Vec<u8> = Vec::new();
    loop {
        if !pending.is_empty() {
            aio::write_all(&io, &pending).await?;
            pending = Vec::new(); // idle connections keep no buffer
        }
        io.readable().await?;
        match on_readable(&io, workload, &mut pending, &mut partial)? {
            Step::Continue => {}
            Step::Eof => return Ok(()),
        }
    }
}

/// One read into the shared scratch buffer, answered at once; whatever cannot be written
/// without blocking goes to `pending`.
fn on_readable(
    io: &Async<TcpStream>,
    workload: Workload,
    pending: &mut Vec<u8>,
    partial: &mut Vec<u8>,
) -> io::Result<Step> {
    SCRATCH.with(|scratch| {
        let mut scratch = scratch.borrow_mut();
        let n = match io.get_ref().read(&mut scratch) {
            Ok(0) => return Ok(Step::Eof),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                io.clear_readable();
                return Ok(Step::Continue);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(Step::Continue),
            Err(e) => return Err(e),
        };
        if n < scratch.len() {
            io.clear_readable(); // drained: the next read would only say WouldBlock
        }
        match workload {
            Workload::Echo => write_now(io, &scratch[..n], pending)?,
            Workload::Http => OUT.with(|out| -> io::Result<()> {
                let mut out = out.borrow_mut();
                out.clear();
                let requests = if partial.is_empty() {
                    let (count, used) = http::split_requests(&scratch[..n]);
                    partial.extend_from_slice(&scratch[used..n]);
                    count
                } else {
                    partial.extend_from_slice(&scratch[..n]);
                    let (count, used) = http::split_requests(partial);
                    partial.drain(..used);
                    count
                };
                if partial.len() > http::MAX_HEAD {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "request head too long",
                    ));
                }
                if partial.is_empty() {
                    *partial = Vec::new();
                }
                for _ in 0..requests {
                    out.extend_from_slice(http::RESPONSE);
                }
                write_now(io, &out, pending)
            })?,
        }
        Ok(Step::Continue)
    })
}

/// Write `data` without waiting; keep what did not fit in `pending`.
fn write_now(io: &Async<TcpStream>, data: &[u8], pending: &mut Vec<u8>) -> io::Result<()> {
    let mut written = 0;
    while written < data.len() {
        match io.get_ref().write(&data[written..]) {
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                io.clear_writable();
                break;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    pending.extend_from_slice(&data[written..]);
    Ok(())
}
