//! `HyperIo<T>`: hyper 1's `rt::Read` + `rt::Write` over a corio stream (or any futures-io one).

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use corio_net::{TcpStream, UnixStream};
use futures_io::{AsyncRead, AsyncWrite};
use hyper::rt::ReadBufCursor;
use socket2::SockRef;

/// Size of the loop-wide scratch buffer each read starts with (see [`read_uninit`]): a typical
/// request or response head fits, so small messages take one `recv`.
const SCRATCH_LEN: usize = 2048;

thread_local! {
    /// Initialized once per thread and shared by every `HyperIo` of the loop (one thread, one
    /// read at a time), so no connection holds it and no read zero-fills it.
    static SCRATCH: RefCell<[u8; SCRATCH_LEN]> = const { RefCell::new([0; SCRATCH_LEN]) };
}

/// hyper 1's I/O traits (`hyper::rt::Read` and `hyper::rt::Write`) over a corio stream: wrap a
/// connection and hand it to `hyper::server::conn::*::serve_connection` or
/// `hyper::client::conn::*::handshake`.
///
/// * corio's own [`TcpStream`] and [`UnixStream`] are read without zero-filling hyper's
///   buffer: one `recv` into a loop-wide scratch buffer for what fits there (a request head;
///   the bytes that came are copied), the rest of a bulk read straight into hyper's
///   uninitialized memory (`recv` into `&mut [MaybeUninit<u8>]`). They report
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

/// Read from a corio stream into hyper's unfilled, uninitialized buffer.
///
/// corio's reactor keeps a per-direction "ready" bit that only the stream's own reads clear
/// (on `WouldBlock`, or on a short read: the socket is drained). A `recv` of our own into
/// uninitialized memory would bypass that, so a drained socket would keep looking ready and
/// the next read would spend an `EAGAIN` syscall to find out (tokio's `poll_read_buf` spends
/// none). So each read starts with the stream's `try_read` into a loop-wide scratch buffer
/// that was initialized once: a short read (the common case: one request head) clears the bit,
/// and its bytes are copied to hyper — a copy of what arrived, not a zero-fill of hyper's
/// whole buffer. Only when the scratch fills up (bulk data) does the rest go straight into
/// hyper's uninitialized memory with `recv`. A `try_read_buf(&mut [MaybeUninit<u8>])` on
/// corio-net's streams would let all of it go straight there.
fn read_uninit<S: Readiness>(
    stream: &S,
    cx: &mut Context<'_>,
    buf: &mut ReadBufCursor<'_>,
) -> Poll<io::Result<()>> {
    let want = buf.remaining();
    if want == 0 {
        return Poll::Ready(Ok(()));
    }
    loop {
        ready!(stream.poll_read_ready(cx))?;
        let take = want.min(SCRATCH_LEN);
        let first = SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let n = stream.try_read(&mut scratch[..take])?;
            buf.put_slice(&scratch[..n]);
            Ok::<usize, io::Error>(n)
        });
        match first {
            // EOF, a short read (drained: the bit is clear now), or hyper's buffer is full.
            Ok(n) if n < take || n == want => return Poll::Ready(Ok(())),
            Ok(_) => break,
            // The bit is clear now: the next `poll_read_ready` parks until an edge.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Poll::Ready(Err(e)),
        }
    }
    // The scratch filled up: more is likely waiting. This `recv` leaves the bit set even when
    // it comes back short; the next read's `try_read` then clears it.
    // SAFETY: `recv` only writes into the slice (it never de-initializes a byte), and we
    // advance the cursor by exactly the count the kernel reports as written.
    let dst: &mut [MaybeUninit<u8>] = unsafe { buf.as_mut() };
    // On an error we still have bytes to hand over: `WouldBlock` needs nothing, and a real
    // error (a reset) shows at the next read, as an error or as EOF.
    if let Ok(n) = SockRef::from(stream).recv(dst) {
        // SAFETY: the kernel initialized the first `n` bytes of `dst`.
        unsafe { buf.advance(n) };
        corio_runtime::task::charge_bytes(n);
    }
    Poll::Ready(Ok(()))
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
