//! Byte-stream operations shared by TCP and Unix streams and their halves: reads that clear
//! readiness when they come back short, writes with `MSG_NOSIGNAL`, `try_*` forms.

use std::future::poll_fn;
use std::io::{self, IoSlice, Read};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd};
use std::task::{ready, Context, Poll};

use corio_runtime::io::Async;
use corio_runtime::task::charge_bytes;
use socket2::SockRef;

use crate::sys;

/// The bounds every stream's inner object meets.
pub(crate) trait StreamFd: AsFd + AsRawFd {}
impl<T: AsFd + AsRawFd> StreamFd for T {}

fn recv<T: StreamFd>(io: &T, buf: &mut [u8]) -> io::Result<usize> {
    (&*SockRef::from(io)).read(buf)
}

fn send<T: StreamFd>(io: &T, buf: &[u8]) -> io::Result<usize> {
    SockRef::from(io).send_with_flags(buf, sys::SEND_FLAGS)
}

fn send_vectored<T: StreamFd>(io: &T, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    SockRef::from(io).send_vectored_with_flags(bufs, sys::SEND_FLAGS)
}

pub(crate) fn poll_read<T: StreamFd>(
    io: &Async<T>,
    cx: &mut Context<'_>,
    buf: &mut [u8],
) -> Poll<io::Result<usize>> {
    if buf.is_empty() {
        return Poll::Ready(Ok(0));
    }
    let n = ready!(io.poll_read_with(cx, |s| recv(s, buf)))?;
    // A big read counts for its size in the budget (a 64 KiB read is not one 4 KiB read).
    charge_bytes(n);
    if n < buf.len() {
        // The socket buffer is drained: the next read would only say EAGAIN.
        io.clear_readable();
    }
    Poll::Ready(Ok(n))
}

pub(crate) fn poll_peek<T: StreamFd>(
    io: &Async<T>,
    cx: &mut Context<'_>,
    buf: &mut [u8],
) -> Poll<io::Result<usize>> {
    if buf.is_empty() {
        return Poll::Ready(Ok(0));
    }
    io.poll_read_with(cx, |s| sys::peek(s.as_fd(), buf))
}

pub(crate) fn poll_write<T: StreamFd>(
    io: &Async<T>,
    cx: &mut Context<'_>,
    buf: &[u8],
) -> Poll<io::Result<usize>> {
    if buf.is_empty() {
        return Poll::Ready(Ok(0));
    }
    let n = ready!(io.poll_write_with(cx, |s| send(s, buf)))?;
    charge_bytes(n);
    if n < buf.len() {
        // The send buffer is full: the next write would only say EAGAIN.
        io.clear_writable();
    }
    Poll::Ready(Ok(n))
}

pub(crate) fn poll_write_vectored<T: StreamFd>(
    io: &Async<T>,
    cx: &mut Context<'_>,
    bufs: &[IoSlice<'_>],
) -> Poll<io::Result<usize>> {
    let total: usize = bufs.iter().map(|b| b.len()).sum();
    if total == 0 {
        return Poll::Ready(Ok(0));
    }
    let n = ready!(io.poll_write_with(cx, |s| send_vectored(s, bufs)))?;
    charge_bytes(n);
    if n < total {
        io.clear_writable();
    }
    Poll::Ready(Ok(n))
}

pub(crate) async fn read<T: StreamFd>(io: &Async<T>, buf: &mut [u8]) -> io::Result<usize> {
    poll_fn(|cx| poll_read(io, cx, buf)).await
}

pub(crate) async fn peek<T: StreamFd>(io: &Async<T>, buf: &mut [u8]) -> io::Result<usize> {
    poll_fn(|cx| poll_peek(io, cx, buf)).await
}

pub(crate) async fn read_exact<T: StreamFd>(io: &Async<T>, mut buf: &mut [u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match read(io, buf).await {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the peer closed the stream before the buffer was filled",
                ))
            }
            Ok(n) => buf = &mut buf[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

pub(crate) async fn write<T: StreamFd>(io: &Async<T>, buf: &[u8]) -> io::Result<usize> {
    poll_fn(|cx| poll_write(io, cx, buf)).await
}

pub(crate) async fn write_all<T: StreamFd>(io: &Async<T>, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match write(io, buf).await {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "the stream accepted no more bytes",
                ))
            }
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

pub(crate) async fn write_vectored<T: StreamFd>(
    io: &Async<T>,
    bufs: &[IoSlice<'_>],
) -> io::Result<usize> {
    poll_fn(|cx| poll_write_vectored(io, cx, bufs)).await
}

/// One `recv` now; `WouldBlock` (and a short read) clear readiness.
pub(crate) fn try_read<T: StreamFd>(io: &Async<T>, buf: &mut [u8]) -> io::Result<usize> {
    if buf.is_empty() {
        return Ok(0);
    }
    let len = buf.len();
    let n = io.try_read_with(|s| recv(s, buf))?;
    // No await here to yield at, but the bytes count: the task's next corio await point
    // gives way sooner (a `readable()` + `try_read` loop stays fair).
    charge_bytes(n);
    if n < len {
        // Clears what this handle last saw (its `readable()`, usually just before): if an
        // edge came since, the bit stays and the next read finds out (never a lost edge).
        io.clear_readable();
    }
    Ok(n)
}

/// `try_read` into uninitialized memory: `recv` only writes the bytes it reports.
pub(crate) fn try_read_buf<T: StreamFd>(
    io: &Async<T>,
    buf: &mut [std::mem::MaybeUninit<u8>],
) -> io::Result<usize> {
    if buf.is_empty() {
        return Ok(0);
    }
    let len = buf.len();
    let n = io.try_read_with(|s| SockRef::from(s).recv(buf))?;
    charge_bytes(n);
    if n < len {
        // As in `try_read`: a short read drained the socket.
        io.clear_readable();
    }
    Ok(n)
}

/// One `send` now; `WouldBlock` (and a short write) clear readiness.
pub(crate) fn try_write<T: StreamFd>(io: &Async<T>, buf: &[u8]) -> io::Result<usize> {
    if buf.is_empty() {
        return Ok(0);
    }
    let n = io.try_write_with(|s| send(s, buf))?;
    charge_bytes(n);
    if n < buf.len() {
        io.clear_writable();
    }
    Ok(n)
}

pub(crate) fn shutdown<T: StreamFd>(io: &Async<T>, how: Shutdown) -> io::Result<()> {
    SockRef::from(io.get_ref()).shutdown(how)
}
