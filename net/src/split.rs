//! Read and write halves of a [`TcpStream`](crate::TcpStream) or
//! [`UnixStream`](crate::UnixStream), so one task can read while another writes.
//!
//! * `split(&mut self)` borrows the stream: [`ReadHalf`] / [`WriteHalf`], no allocation.
//! * `into_split(self)` owns it: [`OwnedReadHalf`] / [`OwnedWriteHalf`] share it through an
//!   `Rc` (the loop is single-threaded, so no `Arc`). Dropping the owned write half shuts the
//!   write direction down (the peer reads EOF), unless it was [`forget`](OwnedWriteHalf::forget)-ed;
//!   [`reunite`](OwnedReadHalf::reunite) puts the two back together.
//!
//! The protocol-specific names are aliases: `corio::net::tcp::OwnedReadHalf` is
//! `OwnedReadHalf<TcpStream>`, and so on.

use std::fmt;
use std::io::{self, IoSlice};
use std::net::Shutdown;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use corio_runtime::io::Async;

use crate::stream_ops as ops;

/// A stream that can be split: [`TcpStream`](crate::TcpStream) and
/// [`UnixStream`](crate::UnixStream). Sealed.
///
/// ```
/// fn takes_any_stream<S: corio_net::split::SplitStream>(_s: &S) {}
/// ```
pub trait SplitStream: sealed::Sealed + fmt::Debug {
    /// The address type of the stream's ends: `std::net::SocketAddr` for TCP,
    /// `std::os::unix::net::SocketAddr` for Unix sockets.
    type Addr: fmt::Debug;
    /// The stream's local address (what the halves' `local_addr` returns).
    fn local_addr(&self) -> io::Result<Self::Addr>;
    /// The stream's peer address (what the halves' `peer_addr` returns).
    fn peer_addr(&self) -> io::Result<Self::Addr>;
}

pub(crate) mod sealed {
    use corio_runtime::io::Async;

    /// Access to the registered fd of a stream.
    pub trait Sealed {
        /// The mio socket inside.
        type Io: std::os::fd::AsFd + std::os::fd::AsRawFd;
        /// The registration.
        fn async_io(&self) -> &Async<Self::Io>;
    }
}

/// The read half of a stream borrowed by `split`.
///
/// ```
/// use corio_net::UnixStream;
/// corio_runtime::run(async {
///     let (mut a, mut b) = UnixStream::pair().unwrap();
///     let (mut rd, mut wr) = a.split();
///     b.write_all(b"ping").await.unwrap();
///     let mut buf = [0u8; 4];
///     rd.read_exact(&mut buf).await.unwrap();
///     wr.write_all(&buf).await.unwrap();
/// });
/// ```
pub struct ReadHalf<'a, S: SplitStream>(&'a S);

/// The write half of a stream borrowed by `split`.
///
/// ```
/// use corio_net::UnixStream;
/// corio_runtime::run(async {
///     let (mut a, _b) = UnixStream::pair().unwrap();
///     let (_rd, mut wr) = a.split();
///     assert_eq!(wr.write(b"hi").await.unwrap(), 2);
/// });
/// ```
pub struct WriteHalf<'a, S: SplitStream>(&'a S);

/// The read half of a stream owned by `into_split`.
///
/// ```
/// use corio_net::UnixStream;
/// corio_runtime::run(async {
///     let (a, mut b) = UnixStream::pair().unwrap();
///     let (mut rd, _wr) = a.into_split();
///     let reader = corio_runtime::spawn(async move {
///         let mut buf = [0u8; 2];
///         rd.read_exact(&mut buf).await.unwrap();
///         buf
///     });
///     b.write_all(b"ok").await.unwrap();
///     assert_eq!(&reader.await.unwrap(), b"ok");
/// });
/// ```
pub struct OwnedReadHalf<S: SplitStream> {
    inner: Rc<S>,
}

/// The write half of a stream owned by `into_split`. Dropping it shuts down the write
/// direction (the peer reads EOF) unless [`forget`](Self::forget) was called.
///
/// ```
/// use corio_net::UnixStream;
/// corio_runtime::run(async {
///     let (a, mut b) = UnixStream::pair().unwrap();
///     let (_rd, mut wr) = a.into_split();
///     wr.write_all(b"bye").await.unwrap();
///     drop(wr); // FIN
///     let mut buf = Vec::new();
///     let mut chunk = [0u8; 8];
///     loop {
///         let n = b.read(&mut chunk).await.unwrap();
///         if n == 0 { break }
///         buf.extend_from_slice(&chunk[..n]);
///     }
///     assert_eq!(buf, b"bye");
/// });
/// ```
pub struct OwnedWriteHalf<S: SplitStream> {
    inner: Rc<S>,
    shutdown_on_drop: bool,
}

/// The halves given to [`OwnedReadHalf::reunite`] came from different streams; both are
/// handed back.
///
/// ```
/// use corio_net::UnixStream;
/// corio_runtime::run(async {
///     let (a, b) = UnixStream::pair().unwrap();
///     let (ra, _wa) = a.into_split();
///     let (_rb, wb) = b.into_split();
///     let err = ra.reunite(wb).unwrap_err();
///     println!("{err}");
/// });
/// ```
pub struct ReuniteError<S: SplitStream>(pub OwnedReadHalf<S>, pub OwnedWriteHalf<S>);

pub(crate) fn split<S: SplitStream>(stream: &mut S) -> (ReadHalf<'_, S>, WriteHalf<'_, S>) {
    (ReadHalf(stream), WriteHalf(stream))
}

pub(crate) fn into_split<S: SplitStream>(stream: S) -> (OwnedReadHalf<S>, OwnedWriteHalf<S>) {
    let inner = Rc::new(stream);
    (
        OwnedReadHalf {
            inner: inner.clone(),
        },
        OwnedWriteHalf {
            inner,
            shutdown_on_drop: true,
        },
    )
}

/// Reading methods, the same on both read halves (`$split` names the constructor for the
/// doc examples).
macro_rules! read_methods {
    ($split:literal) => {
        /// Read some bytes; `Ok(0)` means EOF. Cancel-safe.
        ///
        #[doc = concat!("```\n# corio_runtime::run(async {\n\
            let (mut a, mut b) = corio_net::UnixStream::pair().unwrap();\n\
            let (mut rd, _wr) = a.", $split, "();\n\
            b.write_all(b\"hi\").await.unwrap();\n\
            let mut buf = [0u8; 8];\n\
            assert_eq!(rd.read(&mut buf).await.unwrap(), 2);\n# });\n```")]
        pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            ops::read(self.io(), buf).await
        }

        /// Fill `buf` entirely (`UnexpectedEof` if the stream ends first). Not cancel-safe:
        /// bytes read before a cancellation are lost.
        ///
        #[doc = concat!("```\n# corio_runtime::run(async {\n\
            let (mut a, mut b) = corio_net::UnixStream::pair().unwrap();\n\
            let (mut rd, _wr) = a.", $split, "();\n\
            b.write_all(b\"abcd\").await.unwrap();\n\
            let mut buf = [0u8; 4];\n\
            rd.read_exact(&mut buf).await.unwrap();\n# });\n```")]
        pub async fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
            ops::read_exact(self.io(), buf).await
        }

        /// Read without consuming: the next `read` sees the same bytes.
        ///
        #[doc = concat!("```\n# corio_runtime::run(async {\n\
            let (mut a, mut b) = corio_net::UnixStream::pair().unwrap();\n\
            let (mut rd, _wr) = a.", $split, "();\n\
            b.write_all(b\"x\").await.unwrap();\n\
            let mut buf = [0u8; 1];\n\
            assert_eq!(rd.peek(&mut buf).await.unwrap(), 1);\n\
            assert_eq!(rd.read(&mut buf).await.unwrap(), 1);\n# });\n```")]
        pub async fn peek(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            ops::peek(self.io(), buf).await
        }

        /// Wait until the stream is readable (may be spurious: `try_read` can still say
        /// `WouldBlock`).
        ///
        #[doc = concat!("```\n# corio_runtime::run(async {\n\
            let (mut a, mut b) = corio_net::UnixStream::pair().unwrap();\n\
            let (rd, _wr) = a.", $split, "();\n\
            b.write_all(b\"x\").await.unwrap();\n\
            rd.readable().await.unwrap();\n\
            let mut buf = [0u8; 4];\n\
            assert_eq!(rd.try_read(&mut buf).unwrap(), 1);\n# });\n```")]
        pub async fn readable(&self) -> io::Result<()> {
            self.io().readable().await
        }

        /// Read now or fail with `WouldBlock`; never waits.
        ///
        #[doc = concat!("```\n# corio_runtime::run(async {\n\
            let (mut a, _b) = corio_net::UnixStream::pair().unwrap();\n\
            let (rd, _wr) = a.", $split, "();\n\
            let err = rd.try_read(&mut [0u8; 4]).unwrap_err();\n\
            assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);\n# });\n```")]
        pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
            ops::try_read(self.io(), buf)
        }
    };
}

/// Writing methods, the same on both write halves.
macro_rules! write_methods {
    ($split:literal) => {
        /// Write some bytes; returns how many were taken. Cancel-safe.
        ///
        #[doc = concat!("```\n# corio_runtime::run(async {\n\
            let (mut a, _b) = corio_net::UnixStream::pair().unwrap();\n\
            let (_rd, mut wr) = a.", $split, "();\n\
            assert_eq!(wr.write(b\"hi\").await.unwrap(), 2);\n# });\n```")]
        pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            ops::write(self.io(), buf).await
        }

        /// Write all of `buf`. Not cancel-safe: a cancelled call may have sent a prefix.
        ///
        #[doc = concat!("```\n# corio_runtime::run(async {\n\
            let (mut a, _b) = corio_net::UnixStream::pair().unwrap();\n\
            let (_rd, mut wr) = a.", $split, "();\n\
            wr.write_all(b\"hello\").await.unwrap();\n# });\n```")]
        pub async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
            ops::write_all(self.io(), buf).await
        }

        /// Write from several buffers with one `sendmsg`.
        ///
        #[doc = concat!("```\n# corio_runtime::run(async {\n\
            use std::io::IoSlice;\n\
            let (mut a, _b) = corio_net::UnixStream::pair().unwrap();\n\
            let (_rd, mut wr) = a.", $split, "();\n\
            let n = wr.write_vectored(&[IoSlice::new(b\"ab\"), IoSlice::new(b\"c\")]).await.unwrap();\n\
            assert_eq!(n, 3);\n# });\n```")]
        pub async fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            ops::write_vectored(self.io(), bufs).await
        }

        /// Wait until the stream is writable.
        ///
        #[doc = concat!("```\n# corio_runtime::run(async {\n\
            let (mut a, _b) = corio_net::UnixStream::pair().unwrap();\n\
            let (_rd, wr) = a.", $split, "();\n\
            wr.writable().await.unwrap();\n# });\n```")]
        pub async fn writable(&self) -> io::Result<()> {
            self.io().writable().await
        }

        /// Write now or fail with `WouldBlock`; never waits.
        ///
        #[doc = concat!("```\n# corio_runtime::run(async {\n\
            let (mut a, _b) = corio_net::UnixStream::pair().unwrap();\n\
            let (_rd, wr) = a.", $split, "();\n\
            assert_eq!(wr.try_write(b\"x\").unwrap(), 1);\n# });\n```")]
        pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
            ops::try_write(self.io(), buf)
        }
    };
}

impl<S: SplitStream> ReadHalf<'_, S> {
    fn io(&self) -> &Async<S::Io> {
        self.0.async_io()
    }
    read_methods!("split");
}

impl<S: SplitStream> WriteHalf<'_, S> {
    fn io(&self) -> &Async<S::Io> {
        self.0.async_io()
    }
    write_methods!("split");
}

impl<S: SplitStream> OwnedReadHalf<S> {
    fn io(&self) -> &Async<S::Io> {
        self.inner.async_io()
    }
    read_methods!("into_split");

    /// Put the halves back together; fails if they came from different streams.
    ///
    /// ```
    /// use corio_net::UnixStream;
    /// corio_runtime::run(async {
    ///     let (a, _b) = UnixStream::pair().unwrap();
    ///     let (rd, wr) = a.into_split();
    ///     let _a: UnixStream = rd.reunite(wr).unwrap();
    /// });
    /// ```
    pub fn reunite(self, other: OwnedWriteHalf<S>) -> Result<S, ReuniteError<S>> {
        if !Rc::ptr_eq(&self.inner, &other.inner) {
            return Err(ReuniteError(self, other));
        }
        other.forget();
        Rc::try_unwrap(self.inner).map_err(|_| unreachable!("only the two halves hold the stream"))
    }
}

impl<S: SplitStream> OwnedWriteHalf<S> {
    fn io(&self) -> &Async<S::Io> {
        self.inner.async_io()
    }
    write_methods!("into_split");

    /// Drop this half without shutting the write direction down.
    ///
    /// ```
    /// use corio_net::UnixStream;
    /// corio_runtime::run(async {
    ///     let (a, _b) = UnixStream::pair().unwrap();
    ///     let (_rd, wr) = a.into_split();
    ///     wr.forget(); // the peer does not see EOF
    /// });
    /// ```
    pub fn forget(mut self) {
        self.shutdown_on_drop = false;
    }

    /// Put the halves back together; fails if they came from different streams.
    ///
    /// ```
    /// use corio_net::UnixStream;
    /// corio_runtime::run(async {
    ///     let (a, _b) = UnixStream::pair().unwrap();
    ///     let (rd, wr) = a.into_split();
    ///     let _a: UnixStream = wr.reunite(rd).unwrap();
    /// });
    /// ```
    pub fn reunite(self, other: OwnedReadHalf<S>) -> Result<S, ReuniteError<S>> {
        other.reunite(self)
    }
}

impl<S: SplitStream> Drop for OwnedWriteHalf<S> {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            // The peer may be gone already (ENOTCONN); nothing to report from a drop.
            let _ = ops::shutdown(self.io(), Shutdown::Write);
        }
    }
}

/// `local_addr` / `peer_addr` on every kind of half: the addresses of the stream it is part of.
macro_rules! endpoint_addresses {
    ($($half:ident $(<$lt:lifetime>)?),*) => {$(
        impl<S: SplitStream> $half<$($lt,)? S> {
            /// The local address of the stream this half belongs to.
            ///
            /// ```
            /// use corio_net::{TcpListener, TcpStream};
            /// corio_runtime::run(async {
            ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            ///     let mut a = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
            ///     let (b, _) = listener.accept().await.unwrap();
            ///     let here = a.local_addr().unwrap();
            ///     let (rd, wr) = a.split();
            ///     assert_eq!((rd.local_addr().unwrap(), wr.local_addr().unwrap()), (here, here));
            ///     let (rd, wr) = b.into_split();
            ///     assert_eq!(rd.peer_addr().unwrap(), here);
            ///     assert_eq!(wr.local_addr().unwrap(), listener.local_addr().unwrap());
            /// });
            /// ```
            pub fn local_addr(&self) -> io::Result<S::Addr> {
                self.as_ref().local_addr()
            }

            /// The peer address of the stream this half belongs to (see `local_addr` for an
            /// example).
            ///
            /// ```
            /// corio_runtime::run(async {
            ///     let (a, _b) = corio_net::UnixStream::pair().unwrap();
            ///     let (rd, _wr) = a.into_split();
            ///     assert!(rd.peer_addr().unwrap().is_unnamed());
            /// });
            /// ```
            pub fn peer_addr(&self) -> io::Result<S::Addr> {
                self.as_ref().peer_addr()
            }
        }
    )*};
}

endpoint_addresses!(ReadHalf<'_>, WriteHalf<'_>, OwnedReadHalf, OwnedWriteHalf);

impl<S: SplitStream> AsRef<S> for ReadHalf<'_, S> {
    fn as_ref(&self) -> &S {
        self.0
    }
}
impl<S: SplitStream> AsRef<S> for WriteHalf<'_, S> {
    fn as_ref(&self) -> &S {
        self.0
    }
}
impl<S: SplitStream> AsRef<S> for OwnedReadHalf<S> {
    fn as_ref(&self) -> &S {
        &self.inner
    }
}
impl<S: SplitStream> AsRef<S> for OwnedWriteHalf<S> {
    fn as_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: SplitStream> fmt::Debug for ReadHalf<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ReadHalf").field(self.0).finish()
    }
}
impl<S: SplitStream> fmt::Debug for WriteHalf<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("WriteHalf").field(self.0).finish()
    }
}
impl<S: SplitStream> fmt::Debug for OwnedReadHalf<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OwnedReadHalf").field(&self.inner).finish()
    }
}
impl<S: SplitStream> fmt::Debug for OwnedWriteHalf<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OwnedWriteHalf").field(&self.inner).finish()
    }
}
impl<S: SplitStream> fmt::Debug for ReuniteError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReuniteError(..)")
    }
}
impl<S: SplitStream> fmt::Display for ReuniteError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves that are not from the same stream")
    }
}
impl<S: SplitStream> std::error::Error for ReuniteError<S> {}

// futures-io traits.

impl<S: SplitStream> futures_io::AsyncRead for ReadHalf<'_, S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        ops::poll_read(self.io(), cx, buf)
    }
}

impl<S: SplitStream> futures_io::AsyncRead for OwnedReadHalf<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        ops::poll_read(self.io(), cx, buf)
    }
}

macro_rules! async_write_impl {
    ($($head:tt)*) => {
        $($head)* {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                ops::poll_write(self.io(), cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                ops::poll_write_vectored(self.io(), cx, bufs)
            }

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(ops::shutdown(self.io(), Shutdown::Write))
            }
        }
    };
}

async_write_impl!(impl<S: SplitStream> futures_io::AsyncWrite for WriteHalf<'_, S>);
async_write_impl!(impl<S: SplitStream> futures_io::AsyncWrite for OwnedWriteHalf<S>);
