//! `HyperIo<T>`: hyper 1's `rt::Read` + `rt::Write` over a corio stream (or any futures-io one).

use std::any::Any;
use std::fmt;
use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use corio_net::net::{TcpStream, UnixStream};
use futures_io::{AsyncRead, AsyncWrite};
use hyper::rt::ReadBufCursor;
use socket2::SockRef;

/// How many bytes the readiness probe after a drained read may take (see [`read_uninit`]).
/// Small enough that zeroing it on the stack is noise next to a syscall, big enough for a
/// typical request head when one is already waiting.
const PROBE: usize = 512;

/// hyper 1's I/O traits (`hyper::rt::Read` and `hyper::rt::Write`) over a corio stream: wrap a
/// connection and hand it to `hyper::server::conn::*::serve_connection` or
/// `hyper::client::conn::*::handshake`.
///
/// * corio's own [`TcpStream`] and [`UnixStream`] are read straight into hyper's
///   uninitialized buffer (one `recv` into `&mut [MaybeUninit<u8>]`, no zero-fill), and
///   report `is_write_vectored() == true`, so hyper hands its head and body over in one
///   `sendmsg`.
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
/// use corio_net::net::{TcpListener, TcpStream};
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
    /// The last read came back short (or said `WouldBlock`), so the socket buffer is empty but
    /// the reactor's read bit is still set: our `recv` does not go through the stream, and only
    /// the stream's own reads clear that bit. The next read probes with `try_read` first.
    drained: bool,
    /// Read through the futures-io fallback even for corio's streams (see `zero_filling`).
    force_fallback: bool,
}

impl<T> HyperIo<T> {
    /// Wrap `inner` for hyper.
    ///
    /// ```
    /// use corio_compat::hyper::HyperIo;
    /// corio_runtime::run(async {
    ///     let (a, _b) = corio_net::net::UnixStream::pair().unwrap();
    ///     let _io = HyperIo::new(a);
    /// });
    /// ```
    pub fn new(inner: T) -> HyperIo<T> {
        HyperIo {
            inner,
            drained: false,
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
    ///     let (a, _b) = corio_net::net::UnixStream::pair().unwrap();
    ///     let _io = HyperIo::zero_filling(a);
    /// });
    /// ```
    pub fn zero_filling(inner: T) -> HyperIo<T> {
        HyperIo {
            inner,
            drained: false,
            force_fallback: true,
        }
    }

    /// The wrapped stream.
    ///
    /// ```
    /// # use corio_compat::hyper::HyperIo;
    /// # corio_runtime::run(async {
    /// let (a, _b) = corio_net::net::UnixStream::pair().unwrap();
    /// let io = HyperIo::new(a);
    /// assert!(io.get_ref().peer_addr().is_ok());
    /// # });
    /// ```
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The wrapped stream, mutably. Reading from it directly is fine: the next hyper read
    /// probes the socket before trusting its readiness.
    ///
    /// ```
    /// # use corio_compat::hyper::HyperIo;
    /// # corio_runtime::run(async {
    /// let (a, _b) = corio_net::net::UnixStream::pair().unwrap();
    /// let mut io = HyperIo::new(a);
    /// let _stream: &mut corio_net::net::UnixStream = io.get_mut();
    /// # });
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        // Whatever the caller does may drain the socket: do not trust the read bit afterwards.
        self.drained = true;
        &mut self.inner
    }

    /// Unwrap the stream (after a connection ends, or for an upgrade done by hand).
    ///
    /// ```
    /// # use corio_compat::hyper::HyperIo;
    /// # corio_runtime::run(async {
    /// let (a, _b) = corio_net::net::UnixStream::pair().unwrap();
    /// let _a: corio_net::net::UnixStream = HyperIo::new(a).into_inner();
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
trait Readiness: std::os::fd::AsFd {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize>;
}

impl Readiness for TcpStream {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        TcpStream::poll_read_ready(self, cx)
    }
    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        TcpStream::try_read(self, buf)
    }
}

impl Readiness for UnixStream {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        UnixStream::poll_read_ready(self, cx)
    }
    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        UnixStream::try_read(self, buf)
    }
}

fn is_corio_stream<T: 'static>() -> bool {
    let id = std::any::TypeId::of::<T>();
    id == std::any::TypeId::of::<TcpStream>() || id == std::any::TypeId::of::<UnixStream>()
}

/// Read from a corio stream straight into hyper's unfilled, uninitialized buffer.
///
/// corio's reactor keeps a per-direction "ready" bit that only the stream's own reads clear
/// (on `WouldBlock` or a short read). Our `recv` bypasses them, so after a short read or a
/// `WouldBlock` the bit would stay set and `poll_read_ready` would keep saying "ready" — a busy
/// loop. So the read after such a one first probes with the stream's `try_read` into a small
/// stack buffer: its `WouldBlock` (or short read) clears the bit, and data that did arrive is
/// copied over. This costs one `EAGAIN` syscall per drained read that tokio's `poll_read_buf`
/// avoids; a `poll_read_uninit` (or `clear_read_ready`) on corio-net's streams would remove it.
fn read_uninit<S: Readiness>(
    stream: &S,
    drained: &mut bool,
    cx: &mut Context<'_>,
    buf: &mut ReadBufCursor<'_>,
) -> Poll<io::Result<()>> {
    let want = buf.remaining();
    if want == 0 {
        return Poll::Ready(Ok(()));
    }
    loop {
        ready!(stream.poll_read_ready(cx))?;
        if *drained {
            let mut probe = [0u8; PROBE];
            let take = want.min(PROBE);
            match stream.try_read(&mut probe[..take]) {
                Ok(n) => {
                    // A full probe left the bit set (more may be waiting); a short one cleared it.
                    *drained = false;
                    buf.put_slice(&probe[..n]);
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // The bit is clear now: the next `poll_read_ready` parks until an edge.
                    *drained = false;
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        // SAFETY: `recv` only writes into the slice (it never de-initializes a byte), and we
        // advance the cursor by exactly the count the kernel reports as written.
        let dst: &mut [MaybeUninit<u8>] = unsafe { buf.as_mut() };
        match SockRef::from(stream).recv(dst) {
            Ok(n) => {
                // SAFETY: the kernel initialized the first `n` bytes of `dst`.
                unsafe { buf.advance(n) };
                corio_runtime::task::charge_bytes(n);
                if n > 0 && n < want {
                    *drained = true;
                }
                return Poll::Ready(Ok(()));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => *drained = true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
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
                return read_uninit(tcp, &mut this.drained, cx, &mut buf);
            }
            if let Some(unix) = any.downcast_ref::<UnixStream>() {
                return read_uninit(unix, &mut this.drained, cx, &mut buf);
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
