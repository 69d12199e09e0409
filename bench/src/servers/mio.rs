//! The floor: a hand-written, edge-triggered mio loop. No tasks, no wakers, no futures — a
//! `slab` of connections, one read buffer shared by all of them, and per connection only the
//! bytes that could not be written yet (and an incomplete HTTP request, while incomplete).
//!
//! Each connection is registered once for read and write edges. On any event it is "driven":
//! flush what is pending; if that all went out, read until `WouldBlock`, answering each
//! read at once. If an answer cannot be written fully, reading stops until the next
//! writable edge (back-pressure), which drives the connection again.

use std::io::{self, Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use slab::Slab;

use crate::cli::Workload;
use crate::http;

const LISTENER: Token = Token(usize::MAX);

struct Conn {
    stream: TcpStream,
    /// Answer bytes not written yet.
    pending: Vec<u8>,
    /// An incomplete HTTP request.
    partial: Vec<u8>,
}

/// Serve `listener` forever on a mio event loop.
pub fn serve(listener: TcpListener, workload: Workload) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let mut listener = mio::net::TcpListener::from_std(listener);
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut events = Events::with_capacity(1024);
    let mut conns: Slab<Conn> = Slab::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut out = Vec::new();
    loop {
        if let Err(e) = poll.poll(&mut events, None) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        for event in &events {
            if event.token() == LISTENER {
                accept_all(&listener, &poll, &mut conns)?;
                continue;
            }
            let key = event.token().0;
            let Some(conn) = conns.get_mut(key) else {
                continue;
            };
            let read_closed = event.is_read_closed();
            if drive(conn, workload, read_closed, &mut buf, &mut out).is_err() {
                let mut conn = conns.remove(key);
                let _ = poll.registry().deregister(&mut conn.stream);
            }
        }
    }
}

fn accept_all(
    listener: &mio::net::TcpListener,
    poll: &Poll,
    conns: &mut Slab<Conn>,
) -> io::Result<()> {
    loop {
        let mut stream = match listener.accept() {
            Ok((stream, _peer)) => stream,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if super::transient_accept_error(&e) => {
                // Out of fds or memory: nap, and leave the rest for the next edge.
                std::thread::sleep(Duration::from_millis(5));
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        stream.set_nodelay(true)?;
        let entry = conns.vacant_entry();
        poll.registry().register(
            &mut stream,
            Token(entry.key()),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        entry.insert(Conn {
            stream,
            pending: Vec::new(),
            partial: Vec::new(),
        });
    }
}

/// Make all the progress possible without blocking. `Err` closes the connection (EOF too).
fn drive(
    conn: &mut Conn,
    workload: Workload,
    read_closed: bool,
    buf: &mut [u8],
    out: &mut Vec<u8>,
) -> io::Result<()> {
    if !conn.pending.is_empty() {
        let written = write_some(&mut conn.stream, &conn.pending)?;
        conn.pending.drain(..written);
        if !conn.pending.is_empty() {
            return Ok(()); // wait for the writable edge
        }
        conn.pending = Vec::new();
    }
    loop {
        let n = match conn.stream.read(buf) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let answer: &[u8] = match workload {
            Workload::Echo => &buf[..n],
            Workload::Http => {
                conn.partial.extend_from_slice(&buf[..n]);
                let (requests, used) = http::split_requests(&conn.partial);
                conn.partial.drain(..used);
                if conn.partial.len() > http::MAX_HEAD {
                    return Err(io::ErrorKind::InvalidData.into());
                }
                if conn.partial.is_empty() {
                    conn.partial = Vec::new();
                }
                out.clear();
                for _ in 0..requests {
                    out.extend_from_slice(http::RESPONSE);
                }
                &out[..]
            }
        };
        let written = write_some(&mut conn.stream, answer)?;
        if written < answer.len() {
            conn.pending.extend_from_slice(&answer[written..]);
            return Ok(()); // back-pressure: read again after the writable edge
        }
        if n < buf.len() && !read_closed {
            return Ok(()); // drained (a short read); the next edge brings more
        }
    }
}

/// Write as much of `data` as the socket takes now.
fn write_some(stream: &mut TcpStream, data: &[u8]) -> io::Result<usize> {
    let mut written = 0;
    while written < data.len() {
        match stream.write(&data[written..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(written)
}
