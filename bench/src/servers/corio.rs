//! The corio server (`corio::net`): an accept loop and one task per connection, buffer-free
//! while idle.
//!
//! An idle connection holds no buffer: its task awaits `readable()`, then `try_read`s into
//! one loop-wide scratch buffer (a `thread_local` `RefCell<Vec<u8>>`) and `try_write`s the
//! answer straight from it. Only if a write would block is the rest copied into a
//! per-connection `Vec` that the task awaits writing (and frees) before it reads again. An
//! incomplete HTTP request is likewise kept per connection only while it is incomplete.

use std::cell::RefCell;
use std::io::{self, ErrorKind};

use corio::net::{TcpListener, TcpStream};

use crate::cli::Workload;
use crate::{http, runtime_metrics};

thread_local! {
    /// The loop-wide read buffer every connection shares.
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(vec![0; 64 * 1024]);
    /// The loop-wide buffer HTTP answers are assembled in.
    static OUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Serve `listener` forever on a corio runtime. With `metrics` (this child's end of the
/// metrics link: its stdin), one more task answers [`runtime_metrics`] requests on it; the accept loop
/// and the connection tasks do not know about it.
pub fn serve(
    listener: std::net::TcpListener,
    workload: Workload,
    metrics: Option<std::os::unix::net::UnixStream>,
) -> io::Result<()> {
    corio::run(async move {
        let listener = TcpListener::from_std(listener)?;
        if let Some(link) = metrics {
            corio::spawn(async move {
                if let Err(e) = runtime_metrics::answer(link).await {
                    eprintln!("corio server: the metrics link failed: {e}");
                }
            });
        }
        accept_loop(listener, workload).await
    })
}

/// Accept forever, one task per connection (also each shard's loop in `corio_shards.rs`).
pub(super) async fn accept_loop(listener: TcpListener, workload: Workload) -> io::Result<()> {
    loop {
        // accept() backs off by itself when out of fds or memory; other errors are fatal.
        let (stream, _peer) = listener.accept().await?;
        corio::spawn(async move {
            // A connection error ends only that connection.
            let _ = connection(stream, workload).await;
        });
    }
}

/// Why `on_readable` stopped.
enum Step {
    /// Read and answered what was there (or nothing was there); wait for more.
    Continue,
    /// The client closed its side.
    Eof,
}

async fn connection(mut stream: TcpStream, workload: Workload) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut pending: Vec<u8> = Vec::new();
    let mut partial: Vec<u8> = Vec::new();
    loop {
        if !pending.is_empty() {
            stream.write_all(&pending).await?;
            pending = Vec::new(); // idle connections keep no buffer
        }
        stream.readable().await?;
        match on_readable(&stream, workload, &mut pending, &mut partial)? {
            Step::Continue => {}
            Step::Eof => return Ok(()),
        }
    }
}

/// One read into the shared scratch buffer, answered at once; whatever cannot be written
/// without blocking goes to `pending`. Never awaits: the shared buffer is borrowed.
fn on_readable(
    stream: &TcpStream,
    workload: Workload,
    pending: &mut Vec<u8>,
    partial: &mut Vec<u8>,
) -> io::Result<Step> {
    SCRATCH.with(|scratch| {
        let mut scratch = scratch.borrow_mut();
        let n = match stream.try_read(&mut scratch) {
            Ok(0) => return Ok(Step::Eof),
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {
                return Ok(Step::Continue)
            }
            Err(e) => return Err(e),
        };
        match workload {
            Workload::Echo => write_now(stream, &scratch[..n], pending)?,
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
                        ErrorKind::InvalidData,
                        "request head too long",
                    ));
                }
                if partial.is_empty() {
                    *partial = Vec::new();
                }
                for _ in 0..requests {
                    out.extend_from_slice(http::RESPONSE);
                }
                write_now(stream, &out, pending)
            })?,
        }
        Ok(Step::Continue)
    })
}

/// Write `data` without waiting; keep what did not fit in `pending`.
fn write_now(stream: &TcpStream, data: &[u8], pending: &mut Vec<u8>) -> io::Result<()> {
    let mut written = 0;
    while written < data.len() {
        match stream.try_write(&data[written..]) {
            Ok(n) => written += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    pending.extend_from_slice(&data[written..]);
    Ok(())
}
