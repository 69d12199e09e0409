//! `TcpStream`: a connected TCP socket on the event loop.

use std::fmt;
use std::io::{self, IoSlice};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use corio_runtime::io::Async;
use socket2::SockRef;

use super::TcpSocket;
use crate::addr::{self, ToSocketAddrs};
use crate::stream_ops as ops;
use crate::sys;

/// A TCP connection registered with the loop.
///
/// Byte methods (`read`, `write`, ...) take `&mut self`: one task reads and writes at a time;
/// use [`split`](Self::split) or [`into_split`](Self::into_split) to read and write from two
/// places. The readiness methods (`readable`, `try_read`, ...) take `&self` and serve
/// buffer-free idle connections: wait for `readable()`, then `try_read` into a buffer shared
/// by the whole loop. Dropping the stream deregisters and closes it.
///
/// Writes never raise SIGPIPE: writing to a stream whose peer has gone returns
/// `ErrorKind::BrokenPipe` (or `ConnectionReset`).
///
/// ```
/// use corio_net::{TcpListener, TcpStream};
/// corio_runtime::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
///     let (mut server, _) = listener.accept().await.unwrap();
///     client.write_all(b"hi").await.unwrap();
///     let mut buf = [0u8; 2];
///     server.read_exact(&mut buf).await.unwrap();
///     assert_eq!(&buf, b"hi");
/// });
/// ```
pub struct TcpStream {
    pub(super) io: Async<mio::net::TcpStream>,
}

impl TcpStream {
    /// Connect to `addr`, trying each resolved address in turn; the error of the last one
    /// is returned, with the address in its message and its `ErrorKind` kept (e.g.
    /// `ConnectionRefused`). Compose with [`corio_runtime::time::timeout`] for a connect
    /// timeout: dropping the future closes the half-open socket.
    ///
    /// ```
    /// use corio_net::{TcpListener, TcpStream};
    /// use std::time::Duration;
    /// corio_runtime::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let addr = listener.local_addr().unwrap();
    ///     let connect = TcpStream::connect(addr);
    ///     let stream = corio_runtime::time::timeout(Duration::from_secs(5), connect)
    ///         .await
    ///         .expect("connect timed out")
    ///         .unwrap();
    ///     assert_eq!(stream.peer_addr().unwrap(), addr);
    /// });
    /// ```
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let mut last_err = None;
        for addr in addr::resolve(&addr).await? {
            let socket = match TcpSocket::for_addr(addr) {
                Ok(s) => s,
                Err(e) => {
                    last_err = Some(e);
                    continue;
                }
            };
            match socket.connect(addr).await {
                Ok(stream) => return Ok(stream),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(|| io::Error::other("no address to connect to")))
    }

    /// Wrap a connected socket (an accepted one, or one whose connect has completed).
    pub(super) fn from_mio(stream: mio::net::TcpStream) -> io::Result<TcpStream> {
        sys::no_sigpipe(stream.as_fd())?;
        Ok(TcpStream {
            io: Async::new(stream)?,
        })
    }

    /// Wrap a connected `std` stream (switched to non-blocking mode) into the loop.
    ///
    /// ```
    /// use corio_net::TcpStream;
    /// corio_runtime::run(async {
    ///     let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let std_stream = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    ///     let stream = TcpStream::from_std(std_stream).unwrap();
    ///     assert!(stream.peer_addr().is_ok());
    /// });
    /// ```
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        TcpStream::from_mio(mio::net::TcpStream::from_std(stream))
    }

    /// The local address of this end.
    ///
    /// ```
    /// # use corio_net::{TcpListener, TcpStream};
    /// # corio_runtime::run(async {
    /// let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let stream = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    /// assert!(stream.local_addr().unwrap().ip().is_loopback());
    /// # });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The address of the peer.
    ///
    /// ```
    /// # use corio_net::{TcpListener, TcpStream};
    /// # corio_runtime::run(async {
    /// let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let addr = listener.local_addr().unwrap();
    /// let stream = TcpStream::connect(addr).await.unwrap();
    /// assert_eq!(stream.peer_addr().unwrap(), addr);
    /// # });
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Read some bytes into `buf`; `Ok(0)` means the peer closed its side (EOF). A peer
    /// reset gives `ConnectionReset`. Cancel-safe: if the future is dropped, no byte is lost.
    ///
    /// ```
    /// # use corio_net::{TcpListener, TcpStream};
    /// # corio_runtime::run(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// # let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    /// # let (mut server, _) = listener.accept().await.unwrap();
    /// client.write_all(b"abc").await.unwrap();
    /// let mut buf = [0u8; 16];
    /// let n = server.read(&mut buf).await.unwrap();
    /// assert!(n > 0 && buf[..n] == b"abc"[..n]);
    /// # });
    /// ```
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        ops::read(&self.io, buf).await
    }

    /// Read exactly `buf.len()` bytes; `UnexpectedEof` if the stream ends first. Not
    /// cancel-safe: bytes already read are lost if the future is dropped.
    ///
    /// ```
    /// # use corio_net::{TcpListener, TcpStream};
    /// # corio_runtime::run(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// # let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    /// # let (mut server, _) = listener.accept().await.unwrap();
    /// client.write_all(b"abcd").await.unwrap();
    /// let mut buf = [0u8; 4];
    /// server.read_exact(&mut buf).await.unwrap();
    /// assert_eq!(&buf, b"abcd");
    /// # });
    /// ```
    pub async fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        ops::read_exact(&self.io, buf).await
    }

    /// Read bytes without taking them off the socket: the next `read` returns them again.
    ///
    /// ```
    /// # use corio_net::{TcpListener, TcpStream};
    /// # corio_runtime::run(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// # let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    /// # let (mut server, _) = listener.accept().await.unwrap();
    /// client.write_all(b"x").await.unwrap();
    /// let mut buf = [0u8; 1];
    /// assert_eq!(server.peek(&mut buf).await.unwrap(), 1);
    /// assert_eq!(server.read(&mut buf).await.unwrap(), 1);
    /// # });
    /// ```
    pub async fn peek(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        ops::peek(&self.io, buf).await
    }

    /// Write some bytes of `buf`, returning how many were taken. Cancel-safe.
    ///
    /// ```
    /// # use corio_net::{TcpListener, TcpStream};
    /// # corio_runtime::run(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    /// assert_eq!(client.write(b"hello").await.unwrap(), 5);
    /// # });
    /// ```
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        ops::write(&self.io, buf).await
    }

    /// Write all of `buf`, waiting for room as needed. Not cancel-safe: a dropped future
    /// may have sent a prefix.
    ///
    /// ```
    /// # use corio_net::{TcpListener, TcpStream};
    /// # corio_runtime::run(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    /// client.write_all(b"hello").await.unwrap();
    /// # });
    /// ```
    pub async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        ops::write_all(&self.io, buf).await
    }

    /// Write from several buffers with one `sendmsg` call; returns the bytes taken.
    ///
    /// ```
    /// # use corio_net::{TcpListener, TcpStream};
    /// use std::io::IoSlice;
    /// # corio_runtime::run(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    /// let bufs = [IoSlice::new(b"head "), IoSlice::new(b"body")];
    /// assert_eq!(client.write_vectored(&bufs).await.unwrap(), 9);
    /// # });
    /// ```
    pub async fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        ops::write_vectored(&self.io, bufs).await
    }

    /// Shut down the read side, the write side (the peer reads EOF) or both.
    ///
    /// ```
    /// # use corio_net::{TcpListener, TcpStream};
    /// # corio_runtime::run(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    /// let (mut server, _) = listener.accept().await.unwrap();
    /// client.shutdown(std::net::Shutdown::Write).unwrap();
    /// assert_eq!(server.read(&mut [0u8; 8]).await.unwrap(), 0);
    /// # });
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        ops::shutdown(&self.io, how)
    }

    /// Wait until the stream is readable: data, EOF or an error is there. May complete
    /// spuriously; follow it with [`try_read`](Self::try_read) and loop on `WouldBlock`.
    ///
    /// ```
    /// # use corio_net::{TcpListener, TcpStream};
    /// # corio_runtime::run(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// # let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    /// # let (server, _) = listener.accept().await.unwrap();
    /// client.write_all(b"x").await.unwrap();
    /// let mut scratch = [0u8; 1024];
    /// let n = loop {
    ///     server.readable().await.unwrap();
    ///     match server.try_read(&mut scratch) {
    ///         Ok(n) => break n,
    ///         Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
    ///         Err(e) => panic!("{e}"),
    ///     }
    /// };
    /// assert_eq!(&scratch[..n], b"x");
    /// # });
    /// ```
    pub async fn readable(&self) -> io::Result<()> {
        self.io.readable().await
    }

    /// Wait until the stream is writable (room in the send buffer, or an error).
    ///
    /// ```
    /// # use corio_net::{TcpListener, TcpStream};
    /// # corio_runtime::run(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    /// client.writable().await.unwrap();
    /// assert_eq!(client.try_write(b"x").unwrap(), 1);
    /// # });
    /// ```
    pub async fn writable(&self) -> io::Result<()> {
        self.io.writable().await
    }

    /// Poll form of [`readable`](Self::readable), for hand-written futures.
    ///
    /// ```
    /// # use corio_net::{TcpListener, TcpStream};
    /// # corio_runtime::run(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// # let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    /// # let (server, _) = listener.accept().await.unwrap();
    /// client.write_all(b"x").await.unwrap();
    /// std::future::poll_fn(|cx| server.poll_read_ready(cx)).await.unwrap();
    /// # });
    /// ```
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_readable(cx)
    }

    /// Poll form of [`writable`](Self::writable).
    ///
    /// ```
    /// # use corio_net::{TcpListener, TcpStream};
    /// # corio_runtime::run(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    /// std::future::poll_fn(|cx| client.poll_write_ready(cx)).await.unwrap();
    /// # });
    /// ```
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_writable(cx)
    }

    /// Read now, without waiting: `Err(WouldBlock)` when no data is there (the readiness is
    /// then cleared, so the next [`readable`](Self::readable) waits for new data). `Ok(0)`
    /// is EOF. One `recv` call.
    ///
    /// ```
    /// # use corio_net::{TcpListener, TcpStream};
    /// # corio_runtime::run(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// # let _client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    /// let (server, _) = listener.accept().await.unwrap();
    /// let err = server.try_read(&mut [0u8; 64]).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    /// # });
    /// ```
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        ops::try_read(&self.io, buf)
    }

    /// Write now, without waiting: `Err(WouldBlock)` when the send buffer is full. One
    /// `send` call (with `MSG_NOSIGNAL`).
    ///
    /// ```
    /// # use corio_net::{TcpListener, TcpStream};
    /// # corio_runtime::run(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    /// assert_eq!(client.try_write(b"ping").unwrap(), 4);
    /// # });
    /// ```
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        ops::try_write(&self.io, buf)
    }

    /// Turn Nagle's algorithm off (`true`) or on: `TCP_NODELAY`.
    ///
    /// ```
    /// # use corio_net::{TcpListener, TcpStream};
    /// # corio_runtime::run(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    /// client.set_nodelay(true).unwrap();
    /// assert!(client.nodelay().unwrap());
    /// # });
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// ```
    /// # use corio_net::{TcpListener, TcpStream};
    /// # corio_runtime::run(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    /// assert!(!client.nodelay().unwrap());
    /// # });
    /// ```
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
    }

    /// Turn TCP keep-alive probes on or off (`SO_KEEPALIVE`; the OS's default timings).
    ///
    /// ```
    /// # use corio_net::{TcpListener, TcpStream};
    /// # corio_runtime::run(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    /// client.set_keepalive(true).unwrap();
    /// assert!(client.keepalive().unwrap());
    /// # });
    /// ```
    pub fn set_keepalive(&self, keepalive: bool) -> io::Result<()> {
        SockRef::from(self.io.get_ref()).set_keepalive(keepalive)
    }

    /// Whether `SO_KEEPALIVE` is set.
    ///
    /// ```
    /// # use corio_net::{TcpListener, TcpStream};
    /// # corio_runtime::run(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    /// assert!(!client.keepalive().unwrap());
    /// # });
    /// ```
    pub fn keepalive(&self) -> io::Result<bool> {
        SockRef::from(self.io.get_ref()).keepalive()
    }

    /// Set `SO_LINGER`. `Some(Duration::ZERO)` makes close send a reset (RST) instead of a
    /// FIN, which is how a peer "resets" a connection.
    ///
    /// ```
    /// # use corio_net::{TcpListener, TcpStream};
    /// use std::time::Duration;
    /// # corio_runtime::run(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    /// client.set_linger(Some(Duration::ZERO)).unwrap();
    /// assert_eq!(client.linger().unwrap(), Some(Duration::ZERO));
    /// # });
    /// ```
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        SockRef::from(self.io.get_ref()).set_linger(linger)
    }

    /// The `SO_LINGER` setting.
    ///
    /// ```
    /// # use corio_net::{TcpListener, TcpStream};
    /// # corio_runtime::run(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    /// assert_eq!(client.linger().unwrap(), None);
    /// # });
    /// ```
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        SockRef::from(self.io.get_ref()).linger()
    }

    /// Set the IP time-to-live of outgoing packets.
    ///
    /// ```
    /// # use corio_net::{TcpListener, TcpStream};
    /// # corio_runtime::run(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    /// client.set_ttl(42).unwrap();
    /// assert_eq!(client.ttl().unwrap(), 42);
    /// # });
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The IP time-to-live of outgoing packets.
    ///
    /// ```
    /// # use corio_net::{TcpListener, TcpStream};
    /// # corio_runtime::run(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    /// assert!(client.ttl().unwrap() > 0);
    /// # });
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Take the pending socket error (`SO_ERROR`), if any.
    ///
    /// ```
    /// # use corio_net::{TcpListener, TcpStream};
    /// # corio_runtime::run(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    /// assert!(client.take_error().unwrap().is_none());
    /// # });
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

impl AsFd for TcpStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl futures_io::AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        ops::poll_read(&self.io, cx, buf)
    }
}

impl futures_io::AsyncWrite for TcpStream {
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
