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
//! `OwnedReadHalf<TcpStream>`, and so on. Code generic over TCP and Unix streams bounds on
//! [`SplitStream`] and calls [`split()`] / [`into_split()`].
//!
//! # `split()` and `futures::io::AsyncReadExt`
//!
//! With `futures::io::AsyncReadExt` (or `futures::AsyncReadExt`) in scope, `stream.split()`
//! does not call corio's method: method lookup tries the by-value receiver first, and futures'
//! `split(self)` takes the stream by value (returning `BiLock` halves), so the compiler picks
//! it and reports a type mismatch (E0308) where corio's halves were expected. Call
//! `TcpStream::split(&mut stream)` (or `UnixStream::split`); `(&mut stream).split()` works
//! too (with a `&mut` receiver the inherent method wins), though clippy's `needless_borrow`
//! wrongly flags it; or import the futures trait only in the scope that needs it.
//! `into_split` has no such clash.
//!
//! ```
//! use corio_net::UnixStream;
//!
//! corio_runtime::run(async {
//!     let (mut a, _b) = UnixStream::pair().unwrap();
//!     // Unambiguous whatever traits are in scope:
//!     let (_rd, _wr) = UnixStream::split(&mut a);
//!     let (_rd, _wr) = (&mut a).split();
//! });
//! ```

use std::fmt;
use std::io;
use std::net::Shutdown;
use std::rc::Rc;

use corio_runtime::io::Async;

use crate::stream::ops;

/// A byte stream that can be split: [`TcpStream`](crate::TcpStream) and
/// [`UnixStream`](crate::UnixStream). Use it as the bound of code generic over both, with
/// [`split()`] and [`into_split()`]; it implies the futures-io traits, so such code can read
/// and write the stream itself too. Sealed: the halves reach into the stream's registration,
/// which only this crate's types expose.
///
/// ```
/// use corio_net::split::SplitStream;
///
/// fn describe<S: SplitStream>(s: &S) -> String {
///     format!("{:?} -> {:?}", s.local_addr().ok(), s.peer_addr().ok())
/// }
///
/// corio_runtime::run(async {
///     let (a, _b) = corio_net::UnixStream::pair().unwrap();
///     assert!(!describe(&a).is_empty());
/// });
/// ```
pub trait SplitStream:
    sealed::Sealed + fmt::Debug + futures_io::AsyncRead + futures_io::AsyncWrite + Unpin
{
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

/// Borrow any stream as a read half and a write half: what `TcpStream::split` and
/// `UnixStream::split` do, for code generic over the stream type. No allocation.
///
/// A free function rather than a trait method, so that it never clashes with
/// `futures::io::AsyncReadExt::split` (a by-value `BiLock` split that method lookup would
/// find first on a generic `S: AsyncRead`).
///
/// ```
/// use corio_net::split::{self, SplitStream};
/// use corio_net::{TcpListener, TcpStream, UnixStream};
///
/// /// Echo one message on a TCP or a Unix stream alike.
/// async fn echo_once<S: SplitStream>(stream: &mut S) -> std::io::Result<()> {
///     let (mut rd, mut wr) = split::split(stream);
///     let mut buf = [0u8; 4];
///     rd.read_exact(&mut buf).await?;
///     wr.write_all(&buf).await
/// }
///
/// corio_runtime::run(async {
///     let (mut a, mut b) = UnixStream::pair().unwrap();
///     b.write_all(b"unix").await.unwrap();
///     echo_once(&mut a).await.unwrap();
///
///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let mut c = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
///     let (mut d, _) = listener.accept().await.unwrap();
///     c.write_all(b"tcp!").await.unwrap();
///     echo_once(&mut d).await.unwrap();
///     let mut buf = [0u8; 4];
///     c.read_exact(&mut buf).await.unwrap();
///     assert_eq!(&buf, b"tcp!");
/// });
/// ```
pub fn split<S: SplitStream>(stream: &mut S) -> (ReadHalf<'_, S>, WriteHalf<'_, S>) {
    (ReadHalf(stream), WriteHalf(stream))
}

/// Split any stream into owned halves that can move to different tasks: what
/// `TcpStream::into_split` and `UnixStream::into_split` do, for generic code. Dropping the
/// write half shuts the write direction down; [`OwnedReadHalf::reunite`] undoes it.
///
/// ```
/// use corio_net::split::{self, OwnedReadHalf, OwnedWriteHalf, SplitStream};
/// use corio_net::UnixStream;
///
/// fn halves<S: SplitStream>(stream: S) -> (OwnedReadHalf<S>, OwnedWriteHalf<S>) {
///     split::into_split(stream)
/// }
///
/// corio_runtime::run(async {
///     let (a, _b) = UnixStream::pair().unwrap();
///     let (rd, wr) = halves(a);
///     let _a: UnixStream = rd.reunite(wr).unwrap();
/// });
/// ```
pub fn into_split<S: SplitStream>(stream: S) -> (OwnedReadHalf<S>, OwnedWriteHalf<S>) {
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

impl<S: SplitStream> ReadHalf<'_, S> {
    fn io(&self) -> &Async<S::Io> {
        self.0.async_io()
    }
    read_methods!(
        "use corio_net::UnixStream;
let (mut stream, mut peer) = UnixStream::pair().unwrap();
let (mut s, _wr) = stream.split();
"
    );
}

impl<S: SplitStream> WriteHalf<'_, S> {
    fn io(&self) -> &Async<S::Io> {
        self.0.async_io()
    }
    write_methods!(
        "use corio_net::UnixStream;
let (mut stream, mut peer) = UnixStream::pair().unwrap();
let (_rd, mut s) = stream.split();
"
    );
}

impl<S: SplitStream> OwnedReadHalf<S> {
    fn io(&self) -> &Async<S::Io> {
        self.inner.async_io()
    }
    read_methods!(
        "use corio_net::UnixStream;
let (stream, mut peer) = UnixStream::pair().unwrap();
let (mut s, _wr) = stream.into_split();
"
    );

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
    write_methods!(
        "use corio_net::UnixStream;
let (stream, mut peer) = UnixStream::pair().unwrap();
let (_rd, mut s) = stream.into_split();
"
    );

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

impl_async_read!(impl<S: SplitStream> futures_io::AsyncRead for ReadHalf<'_, S>);
impl_async_read!(impl<S: SplitStream> futures_io::AsyncRead for OwnedReadHalf<S>);
impl_async_write!(impl<S: SplitStream> futures_io::AsyncWrite for WriteHalf<'_, S>);
impl_async_write!(impl<S: SplitStream> futures_io::AsyncWrite for OwnedWriteHalf<S>);

/// The protocol names of the halves (`corio::net::tcp::OwnedReadHalf` is
/// `split::OwnedReadHalf<TcpStream>`), declared in the `tcp` and `unix` modules.
macro_rules! split_aliases {
    ($ty:ident) => {
        #[doc = concat!("The read half of a [`", stringify!($ty), "`] borrowed by [`",
                    stringify!($ty), "::split`].")]
        pub type ReadHalf<'a> = $crate::split::ReadHalf<'a, $ty>;
        #[doc = concat!("The write half of a [`", stringify!($ty), "`] borrowed by [`",
                    stringify!($ty), "::split`].")]
        pub type WriteHalf<'a> = $crate::split::WriteHalf<'a, $ty>;
        #[doc = concat!("The read half of a [`", stringify!($ty), "`] owned by [`",
                    stringify!($ty), "::into_split`].")]
        pub type OwnedReadHalf = $crate::split::OwnedReadHalf<$ty>;
        #[doc = concat!("The write half of a [`", stringify!($ty), "`] owned by [`",
                    stringify!($ty), "::into_split`]; dropping it shuts the write direction down.")]
        pub type OwnedWriteHalf = $crate::split::OwnedWriteHalf<$ty>;
        #[doc = concat!("Halves of two different [`", stringify!($ty),
                    "`]s given to `reunite`.")]
        pub type ReuniteError = $crate::split::ReuniteError<$ty>;
    };
}
