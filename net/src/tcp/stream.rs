//! `TcpStream`: a connected TCP socket on the event loop.

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::time::Duration;

use corio_runtime::io::Async;
use socket2::SockRef;

use super::TcpSocket;
use crate::addr::{self, ToSocketAddrs};
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
}

stream_common!(
    TcpStream,
    mio::net::TcpStream,
    std::net::TcpStream,
    SocketAddr,
    "use corio_net::{TcpListener, TcpStream};
let listener = TcpListener::bind(\"127.0.0.1:0\").await.unwrap();
let mut peer = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
let (mut s, _) = listener.accept().await.unwrap();
"
);
