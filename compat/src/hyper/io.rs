//! `HyperIo<T>`: hyper 1's `rt::Read` + `rt::Write` over a corio stream (or any futures-io one).

use std::any::Any;
use std::fmt;
use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use corio_net::{TcpStream, UnixStream};
use futures_io::{AsyncRead, AsyncWrite};
use hyper::rt::ReadBufCursor;

/// hyper 1's I/O traits (`hyper::rt::Read` and `hyper::rt::Write`) over a corio stream: wrap a
/// connection and hand it to `hyper::server::conn::*::serve_connection` or
/// `hyper::client::conn::*::handshake`.
///
/// * corio's own [`TcpStream`] and [`UnixStream`] are read straight into hyper's
///   uninitialized buffer, without zero-filling it: one `recv` into `&mut [MaybeUninit<u8>]`
///   per read (the streams' `try_read_buf`, which keeps corio's readiness exact). They report
///   `is_write_vectored() == true`, so hyper hands its head and body over in one `sendmsg`.
/// * Any other `futures_io::AsyncRead + AsyncWrite` stream (a futures-rustls `TlsStream`, a
///   duplex of your own) works through a fallback: futures-io reads take `&mut [u8]`, so the
///   buffer is zero-filled first, and writes are flattened by hyper
///   (`is_write_vectored() == false`).
///
/// The choice is made by type (`T: 'static` is compared with corio's stream types), so there is
/// one constructor for all of them.
///
/// ```
/// use corio_compat::hyper::HyperIo;
/// use corio_net::{TcpListener, TcpStream};
/// use hyper::rt::Write;
///
/// corio_runtime::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let stream = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
///     let io = HyperIo::new(stream);
///     assert!(io.is_write_vectored());
///     assert!(io.get_ref().peer_addr().is_ok());
/// });
/// ```
pub struct HyperIo<T> {
    inner: T,
    /// Read through the futures-io fallback even for corio's streams (see `zero_filling`).
    force_fallback: bool,
}

impl<T> HyperIo<T> {
    /// Wrap `inner` for hyper.
    ///
    /// ```
    /// use corio_compat::hyper::HyperIo;
    /// corio_runtime::run(async {
    ///     let (a, _b) = corio_net::UnixStream::pair().unwrap();
    ///     let _io = HyperIo::new(a);
    /// });
    /// ```
    pub fn new(inner: T) -> HyperIo<T> {
        HyperIo {
            inner,
            force_fallback: false,
        }
    }

    /// Wrap `inner` but read through the generic futures-io path even when `T` is a corio
    /// stream: zero-fill hyper's buffer, then `AsyncRead::poll_read`. This is what glue written
    /// against futures-io alone does; it is here so benchmarks can measure what the direct path
    /// saves. Prefer [`new`](Self::new).
    ///
    /// ```
    /// use corio_compat::hyper::HyperIo;
    /// corio_runtime::run(async {
    ///     let (a, _b) = corio_net::UnixStream::pair().unwrap();
    ///     let _io = HyperIo::zero_filling(a);
    /// });
    /// ```
    pub fn zero_filling(inner: T) -> HyperIo<T> {
        HyperIo {
            inner,
            force_fallback: true,
        }
    }

    /// The wrapped stream.
    ///
    /// ```
    /// # use corio_compat::hyper::HyperIo;
    /// # corio_runtime::run(async {
    /// let (a, _b) = corio_net::UnixStream::pair().unwrap();
    /// let io = HyperIo::new(a);
    /// assert!(io.get_ref().peer_addr().is_ok());
    /// # });
    /// ```
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The wrapped stream, mutably.
    ///
    /// ```
    /// # use corio_compat::hyper::HyperIo;
    /// # corio_runtime::run(async {
    /// let (a, _b) = corio_net::UnixStream::pair().unwrap();
    /// let mut io = HyperIo::new(a);
    /// let _stream: &mut corio_net::UnixStream = io.get_mut();
    /// # });
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Unwrap the stream (after a connection ends, or for an upgrade done by hand).
    ///
    /// ```
    /// # use corio_compat::hyper::HyperIo;
    /// # corio_runtime::run(async {
    /// let (a, _b) = corio_net::UnixStream::pair().unwrap();
    /// let _a: corio_net::UnixStream = HyperIo::new(a).into_inner();
    /// # });
    /// ```
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: fmt::Debug> fmt::Debug for HyperIo<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HyperIo")
            .field("inner", &self.inner)
            .field("zero_filling", &self.force_fallback)
            .finish()
    }
}

/// The readiness API corio's byte streams share (the inherent methods, as a trait here).
trait Readiness {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    fn try_read_buf(&self, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize>;
}

impl Readiness for TcpStream {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        TcpStream::poll_read_ready(self, cx)
    }
    fn try_read_buf(&self, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
        TcpStream::try_read_buf(self, buf)
    }
}

impl Readiness for UnixStream {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        UnixStream::poll_read_ready(self, cx)
    }
    fn try_read_buf(&self, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
        UnixStream::try_read_buf(self, buf)
    }
}

fn is_corio_stream<T: 'static>() -> bool {
    let id = std::any::TypeId::of::<T>();
    id == std::any::TypeId::of::<TcpStream>() || id == std::any::TypeId::of::<UnixStream>()
}

/// Read from a corio stream into hyper's unfilled, uninitialized buffer: one `recv` straight
/// into it. The stream's `try_read_buf` clears corio's readiness bit when the read comes back
/// short (the socket is drained) or `WouldBlock`, so the next read parks instead of spending an
/// `EAGAIN` syscall to find out (tokio's `poll_read_buf` spends none either).
fn read_uninit<S: Readiness>(
    stream: &S,
    cx: &mut Context<'_>,
    buf: &mut ReadBufCursor<'_>,
) -> Poll<io::Result<()>> {
    if buf.remaining() == 0 {
        return Poll::Ready(Ok(()));
    }
    loop {
        ready!(stream.poll_read_ready(cx))?;
        // SAFETY: `try_read_buf` (a `recv`) only writes into the slice, never de-initializes a
        // byte, and we advance the cursor by exactly the count it reports as written.
        let dst: &mut [MaybeUninit<u8>] = unsafe { buf.as_mut() };
        match stream.try_read_buf(dst) {
            Ok(n) => {
                // SAFETY: the kernel initialized the first `n` bytes of `dst`.
                unsafe { buf.advance(n) };
                return Poll::Ready(Ok(()));
            }
            // The bit is clear now: the next `poll_read_ready` parks until an edge.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Poll::Ready(Err(e)),
        }
    }
}

/// The futures-io fallback: zero the unfilled part, read into it, advance.
fn read_zero_filled<T: AsyncRead + Unpin>(
    inner: &mut T,
    cx: &mut Context<'_>,
    buf: &mut ReadBufCursor<'_>,
) -> Poll<io::Result<()>> {
    let n = ready!(Pin::new(inner).poll_read(cx, buf.initialize_unfilled()))?;
    // SAFETY: `initialize_unfilled` initialized every unfilled byte, and `poll_read` reports
    // at most that slice's length.
    unsafe { buf.advance(n) };
    Poll::Ready(Ok(()))
}

impl<T: AsyncRead + Unpin + 'static> hyper::rt::Read for HyperIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.force_fallback {
            // A type test on `T`: after monomorphization only one branch is left.
            let any = &this.inner as &dyn Any;
            if let Some(tcp) = any.downcast_ref::<TcpStream>() {
                return read_uninit(tcp, cx, &mut buf);
            }
            if let Some(unix) = any.downcast_ref::<UnixStream>() {
                return read_uninit(unix, cx, &mut buf);
            }
        }
        read_zero_filled(&mut this.inner, cx, &mut buf)
    }
}

impl<T: AsyncWrite + Unpin + 'static> hyper::rt::Write for HyperIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    /// `true` for corio's streams (one `sendmsg` per call); other futures-io streams cannot say
    /// (futures-io has no such query), and its default `poll_write_vectored` writes only the
    /// first buffer, so hyper is told to flatten for them.
    fn is_write_vectored(&self) -> bool {
        is_corio_stream::<T>()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}
