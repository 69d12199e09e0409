//! TCP echo server whose idle connections hold no buffer.
//!
//! Each connection is one task that awaits `readable()`, then `try_read`s into a single
//! scratch buffer shared by the whole loop (one thread, so a `RefCell` is enough) and writes
//! the bytes straight back. Only a client that stops reading makes the server copy the
//! unsent rest into a buffer of that connection's own, until it drains. So an idle
//! connection costs its task, its socket and its reactor slot: about a kilobyte.
//!
//! Run:    cargo run --release --example echo [ADDR]        (default 127.0.0.1:7000)
//! Drive:  nc 127.0.0.1 7000                                 (type lines, they come back)
//!         or the load tool: cargo run --release -p corio-bench -- echo
//! Stop:   Ctrl-C (prints how many connections it served).

use std::cell::RefCell;
use std::io::{self, ErrorKind};
use std::rc::Rc;

use corio::net::{TcpListener, TcpStream};

/// Size of the one read buffer of the whole loop.
const SCRATCH: usize = 64 * 1024;

thread_local! {
    static SCRATCH_BUF: RefCell<Vec<u8>> = RefCell::new(vec![0; SCRATCH]);
}

#[corio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7000".to_owned());
    let listener = match TcpListener::bind(addr.as_str()).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("echo: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    println!("echo: listening on {}", listener.local_addr().unwrap());

    let served = Rc::new(std::cell::Cell::new(0u64));
    let counter = served.clone();
    corio::spawn(async move {
        if corio::signal::ctrl_c().await.is_ok() {
            println!("echo: served {} connections", counter.get());
            std::process::exit(0);
        }
    });

    loop {
        match listener.accept().await {
            Ok((stream, _peer)) => {
                served.set(served.get() + 1);
                corio::spawn(async move {
                    if let Err(e) = serve(stream).await {
                        // Resets and broken pipes are a client's business, not ours.
                        if !matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe) {
                            eprintln!("echo: connection error: {e}");
                        }
                    }
                });
            }
            // accept() already backs off by itself on EMFILE & co.; anything else is fatal.
            Err(e) => {
                eprintln!("echo: accept failed: {e}");
                return;
            }
        }
    }
}

/// Echo until EOF, holding no buffer while idle. (`pub` so that tests/example_echo.rs can
/// serve connections with it.)
pub async fn serve(mut stream: TcpStream) -> io::Result<()> {
    loop {
        stream.readable().await?;
        // Read and write back synchronously while the shared buffer is borrowed; an await
        // must never happen with the borrow held, or another task would find it taken.
        let step = SCRATCH_BUF.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let n = match stream.try_read(&mut scratch) {
                Ok(0) => return Ok(Step::Eof),
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(Step::Idle),
                Err(e) => return Err(e),
            };
            let mut sent = 0;
            while sent < n {
                match stream.try_write(&scratch[sent..n]) {
                    Ok(k) => sent += k,
                    // The client is not reading: keep the rest in a buffer of our own.
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        return Ok(Step::Backlog(scratch[sent..n].to_vec()))
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok(Step::Idle)
        })?;
        match step {
            Step::Idle => {}
            Step::Eof => return Ok(()),
            Step::Backlog(rest) => stream.write_all(&rest).await?,
        }
    }
}

/// What one wake-up of a connection led to.
enum Step {
    /// Everything read was written back (or nothing was there): wait for more.
    Idle,
    /// The client closed its side.
    Eof,
    /// These bytes could not be written yet.
    Backlog(Vec<u8>),
}
