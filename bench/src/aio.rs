//! The small set of TCP operations the corio client and the corio server need, written on
//! `corio::io::Async` over non-blocking std/mio sockets (genuine corio: the same readiness
//! machinery `corio::net` is built on).
//!
//! Every operation tries the syscall first and parks only on `WouldBlock`; a read that comes
//! back short clears the read readiness so no syscall is spent just to hear `EAGAIN`.

use std::io::{self, Read, Write};
use std::net::SocketAddr;

use corio::io::Async;

/// A client connection.
pub type Stream = Async<mio::net::TcpStream>;

/// Connect to `addr` without blocking the loop, with `TCP_NODELAY` set.
pub async fn connect(addr: SocketAddr) -> io::Result<Stream> {
    let stream = Async::new(mio::net::TcpStream::connect(addr)?)?;
    loop {
        // A fresh `Async` starts "writable"; mio says: on writable, check `take_error`, then
        // `peer_addr` (NotConnected means the handshake is still going).
        stream.writable().await?;
        if let Some(err) = stream.get_ref().take_error()? {
            return Err(err);
        }
        match stream.get_ref().peer_addr() {
            Ok(_) => break,
            Err(e)
                if e.kind() == io::ErrorKind::NotConnected
                    || e.raw_os_error() == Some(libc::EINPROGRESS) =>
            {
                stream.clear_writable()
            }
            Err(e) => return Err(e),
        }
    }
    stream.get_ref().set_nodelay(true)?;
    Ok(stream)
}

/// Write all of `buf`.
pub async fn write_all<T>(io: &Async<T>, mut buf: &[u8]) -> io::Result<()>
where
    T: std::os::fd::AsRawFd,
    for<'a> &'a T: Write,
{
    while !buf.is_empty() {
        let n = io.write_with(|mut s| s.write(buf)).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        if n < buf.len() {
            io.clear_writable();
        }
        buf = &buf[n..];
    }
    Ok(())
}

/// Read once into `buf` (waiting for readability); `Ok(0)` is end of stream.
pub async fn read<T>(io: &Async<T>, buf: &mut [u8]) -> io::Result<usize>
where
    T: std::os::fd::AsRawFd,
    for<'a> &'a T: Read,
{
    let n = io.read_with(|mut s| s.read(buf)).await?;
    if n < buf.len() {
        io.clear_readable();
    }
    Ok(n)
}
