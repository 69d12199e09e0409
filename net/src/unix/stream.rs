//! `UnixStream`: a connected Unix-domain stream socket on the event loop.

use std::fmt;
use std::io::{self, IoSlice};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use corio_runtime::io::Async;
use socket2::{Domain, SockAddr, Socket};

use crate::addr::with_context;
use crate::stream_ops as ops;
use crate::sys;

/// A connected Unix-domain stream socket; the same API as
/// [`TcpStream`](crate::TcpStream) (methods, readiness, split, futures-io traits).
///
/// ```
/// use corio_net::UnixStream;
/// corio_runtime::run(async {
///     let (mut parent, mut child) = UnixStream::pair().unwrap();
///     parent.write_all(b"job").await.unwrap();
///     let mut buf = [0u8; 3];
///     child.read_exact(&mut buf).await.unwrap();
///     assert_eq!(&buf, b"job");
/// });
/// ```
pub struct UnixStream {
    pub(super) io: Async<mio::net::UnixStream>,
}

impl UnixStream {
    /// Connect to the socket bound at `path`. If the listener's backlog is full the connect
    /// is retried on a timer (1 ms doubling to 100 ms) until it fits; wrap the call in
    /// [`corio_runtime::time::timeout`] to bound the wait. A missing path gives `NotFound`,
    /// nobody listening gives `ConnectionRefused`.
    ///
    /// ```
    /// use corio_net::{UnixListener, UnixStream};
    /// corio_runtime::run(async {
    ///     let dir = std::env::temp_dir().join(format!("corio-doc-uc-{}", std::process::id()));
    ///     std::fs::create_dir_all(&dir).unwrap();
    ///     let path = dir.join("s.sock");
    ///     let _ = std::fs::remove_file(&path);
    ///     let listener = UnixListener::bind(&path).unwrap();
    ///     let _client = UnixStream::connect(&path).await.unwrap();
    ///     let (_server, _) = listener.accept().await.unwrap();
    ///     std::fs::remove_dir_all(&dir).unwrap();
    /// });
    /// ```
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let path = path.as_ref();
        let context = |e| with_context(e, format_args!("connect to {}", path.display()));
        let addr = SockAddr::unix(path).map_err(context)?;
        let socket = new_socket()?;
        let mut backoff = Duration::from_millis(1);
        let in_progress = loop {
            match socket.connect(&addr) {
                Ok(()) => break false,
                Err(e) if sys::is_in_progress(&e) => break true,
                // The listener's backlog is full: no readiness event announces room.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    corio_runtime::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_millis(100));
                }
                Err(e) => return Err(context(e)),
            }
        };
        let std: std::os::unix::net::UnixStream = socket.into();
        let io = Async::new(mio::net::UnixStream::from_std(std))?;
        if in_progress {
            io.clear_writable();
            io.writable().await?;
            if let Some(e) = io.get_ref().take_error()? {
                return Err(context(e));
            }
        }
        Ok(UnixStream { io })
    }

    /// A connected pair of streams (`socketpair(2)`), both on this loop.
    ///
    /// ```
    /// corio_runtime::run(async {
    ///     let (mut a, mut b) = corio_net::UnixStream::pair().unwrap();
    ///     a.write_all(b"1").await.unwrap();
    ///     assert_eq!(b.read(&mut [0u8; 1]).await.unwrap(), 1);
    /// });
    /// ```
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = mio::net::UnixStream::pair()?;
        Ok((UnixStream::from_mio(a)?, UnixStream::from_mio(b)?))
    }

    pub(super) fn from_mio(stream: mio::net::UnixStream) -> io::Result<UnixStream> {
        sys::no_sigpipe(stream.as_fd())?;
        Ok(UnixStream {
            io: Async::new(stream)?,
        })
    }

    /// Wrap a connected `std` stream (switched to non-blocking mode).
    ///
    /// ```
    /// use corio_net::UnixStream;
    /// corio_runtime::run(async {
    ///     let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    ///     let a = UnixStream::from_std(a).unwrap();
    ///     assert!(a.peer_addr().is_ok());
    /// });
    /// ```
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        UnixStream::from_mio(mio::net::UnixStream::from_std(stream))
    }

    /// The local address (unnamed for a connecting client or a pair).
    ///
    /// ```
    /// # corio_runtime::run(async {
    /// let (a, _b) = corio_net::UnixStream::pair().unwrap();
    /// assert!(a.local_addr().unwrap().is_unnamed());
    /// # });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The peer's address.
    ///
    /// ```
    /// # corio_runtime::run(async {
    /// let (a, _b) = corio_net::UnixStream::pair().unwrap();
    /// assert!(a.peer_addr().unwrap().as_pathname().is_none());
    /// # });
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Read some bytes; `Ok(0)` is EOF. Cancel-safe.
    ///
    /// ```
    /// # corio_runtime::run(async {
    /// let (mut a, mut b) = corio_net::UnixStream::pair().unwrap();
    /// a.write_all(b"hi").await.unwrap();
    /// let mut buf = [0u8; 8];
    /// assert_eq!(b.read(&mut buf).await.unwrap(), 2);
    /// # });
    /// ```
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        ops::read(&self.io, buf).await
    }

    /// Read exactly `buf.len()` bytes (`UnexpectedEof` if the stream ends first). Not
    /// cancel-safe.
    ///
    /// ```
    /// # corio_runtime::run(async {
    /// let (mut a, mut b) = corio_net::UnixStream::pair().unwrap();
    /// a.write_all(b"abcd").await.unwrap();
    /// let mut buf = [0u8; 4];
    /// b.read_exact(&mut buf).await.unwrap();
    /// # });
    /// ```
    pub async fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        ops::read_exact(&self.io, buf).await
    }

    /// Read without consuming.
    ///
    /// ```
    /// # corio_runtime::run(async {
    /// let (mut a, mut b) = corio_net::UnixStream::pair().unwrap();
    /// a.write_all(b"x").await.unwrap();
    /// let mut buf = [0u8; 1];
    /// assert_eq!(b.peek(&mut buf).await.unwrap(), 1);
    /// assert_eq!(b.read(&mut buf).await.unwrap(), 1);
    /// # });
    /// ```
    pub async fn peek(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        ops::peek(&self.io, buf).await
    }

    /// Write some bytes; returns how many were taken. Cancel-safe.
    ///
    /// ```
    /// # corio_runtime::run(async {
    /// let (mut a, _b) = corio_net::UnixStream::pair().unwrap();
    /// assert_eq!(a.write(b"hi").await.unwrap(), 2);
    /// # });
    /// ```
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        ops::write(&self.io, buf).await
    }

    /// Write all of `buf`. Not cancel-safe.
    ///
    /// ```
    /// # corio_runtime::run(async {
    /// let (mut a, _b) = corio_net::UnixStream::pair().unwrap();
    /// a.write_all(b"hello").await.unwrap();
    /// # });
    /// ```
    pub async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        ops::write_all(&self.io, buf).await
    }

    /// Write from several buffers with one `sendmsg`.
    ///
    /// ```
    /// # use std::io::IoSlice;
    /// # corio_runtime::run(async {
    /// let (mut a, _b) = corio_net::UnixStream::pair().unwrap();
    /// let n = a.write_vectored(&[IoSlice::new(b"a"), IoSlice::new(b"b")]).await.unwrap();
    /// assert_eq!(n, 2);
    /// # });
    /// ```
    pub async fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        ops::write_vectored(&self.io, bufs).await
    }

    /// Shut down reading, writing or both.
    ///
    /// ```
    /// # corio_runtime::run(async {
    /// let (a, mut b) = corio_net::UnixStream::pair().unwrap();
    /// a.shutdown(std::net::Shutdown::Write).unwrap();
    /// assert_eq!(b.read(&mut [0u8; 4]).await.unwrap(), 0);
    /// # });
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        ops::shutdown(&self.io, how)
    }

    /// Wait until readable (data, EOF or error); may be spurious.
    ///
    /// ```
    /// # corio_runtime::run(async {
    /// let (mut a, b) = corio_net::UnixStream::pair().unwrap();
    /// a.write_all(b"x").await.unwrap();
    /// b.readable().await.unwrap();
    /// assert_eq!(b.try_read(&mut [0u8; 8]).unwrap(), 1);
    /// # });
    /// ```
    pub async fn readable(&self) -> io::Result<()> {
        self.io.readable().await
    }

    /// Wait until writable.
    ///
    /// ```
    /// # corio_runtime::run(async {
    /// let (a, _b) = corio_net::UnixStream::pair().unwrap();
    /// a.writable().await.unwrap();
    /// # });
    /// ```
    pub async fn writable(&self) -> io::Result<()> {
        self.io.writable().await
    }

    /// Poll form of [`readable`](Self::readable).
    ///
    /// ```
    /// # corio_runtime::run(async {
    /// let (mut a, b) = corio_net::UnixStream::pair().unwrap();
    /// a.write_all(b"x").await.unwrap();
    /// std::future::poll_fn(|cx| b.poll_read_ready(cx)).await.unwrap();
    /// # });
    /// ```
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_readable(cx)
    }

    /// Poll form of [`writable`](Self::writable).
    ///
    /// ```
    /// # corio_runtime::run(async {
    /// let (a, _b) = corio_net::UnixStream::pair().unwrap();
    /// std::future::poll_fn(|cx| a.poll_write_ready(cx)).await.unwrap();
    /// # });
    /// ```
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_writable(cx)
    }

    /// Read now or fail with `WouldBlock` (then readiness is cleared). One `recv` call.
    ///
    /// ```
    /// # corio_runtime::run(async {
    /// let (a, _b) = corio_net::UnixStream::pair().unwrap();
    /// let err = a.try_read(&mut [0u8; 8]).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    /// # });
    /// ```
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        ops::try_read(&self.io, buf)
    }

    /// Write now or fail with `WouldBlock`. One `send` call (with `MSG_NOSIGNAL`).
    ///
    /// ```
    /// # corio_runtime::run(async {
    /// let (a, _b) = corio_net::UnixStream::pair().unwrap();
    /// assert_eq!(a.try_write(b"x").unwrap(), 1);
    /// # });
    /// ```
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        ops::try_write(&self.io, buf)
    }

    /// Take the pending socket error (`SO_ERROR`), if any.
    ///
    /// ```
    /// # corio_runtime::run(async {
    /// let (a, _b) = corio_net::UnixStream::pair().unwrap();
    /// assert!(a.take_error().unwrap().is_none());
    /// # });
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }
}

fn new_socket() -> io::Result<Socket> {
    sys::stream_socket(Domain::UNIX, None)
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl AsRawFd for UnixStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

impl AsFd for UnixStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl futures_io::AsyncRead for UnixStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        ops::poll_read(&self.io, cx, buf)
    }
}

impl futures_io::AsyncWrite for UnixStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ops::poll_write(&self.io, cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        ops::poll_write_vectored(&self.io, cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Shuts the write direction down (the peer reads EOF).
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.shutdown(Shutdown::Write))
    }
}
