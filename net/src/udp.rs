//! `UdpSocket`: datagrams on the event loop.

use std::io;
use std::net::SocketAddr;

use corio_runtime::io::Async;

use crate::addr::{self, with_context, ToSocketAddrs};

/// A UDP socket registered with the loop.
///
/// Methods take `&self` (share it with `Rc` between a sending and a receiving task); one
/// task at a time may wait to receive and one to send. A datagram that does not fit in the
/// buffer is truncated, as with `recv_from(2)`.
///
/// ```
/// use corio_net::UdpSocket;
/// corio_runtime::run(async {
///     let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
///     let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
///     client.connect(server.local_addr().unwrap()).await.unwrap();
///     client.send(b"hello").await.unwrap();
///     let mut buf = [0u8; 64];
///     let (n, peer) = server.recv_from(&mut buf).await.unwrap();
///     server.send_to(&buf[..n], peer).await.unwrap();
///     let n = client.recv(&mut buf).await.unwrap();
///     assert_eq!(&buf[..n], b"hello");
/// });
/// ```
pub struct UdpSocket {
    io: Async<mio::net::UdpSocket>,
}

impl UdpSocket {
    /// Bind to `addr`, trying each resolved address until one works.
    ///
    /// ```
    /// use corio_net::UdpSocket;
    /// corio_runtime::run(async {
    ///     let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     assert_ne!(socket.local_addr().unwrap().port(), 0);
    /// });
    /// ```
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        let mut last_err = None;
        for addr in addr::resolve(&addr).await? {
            match mio::net::UdpSocket::bind(addr) {
                Ok(socket) => return UdpSocket::from_mio(socket),
                Err(e) => last_err = Some(with_context(e, format_args!("bind {addr}"))),
            }
        }
        Err(last_err.unwrap_or_else(|| io::Error::other("no address to bind")))
    }

    fn from_mio(socket: mio::net::UdpSocket) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            io: Async::new(socket)?,
        })
    }

    /// Wrap a bound `std` socket (switched to non-blocking mode).
    ///
    /// ```
    /// use corio_net::UdpSocket;
    /// corio_runtime::run(async {
    ///     let std_socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     let socket = UdpSocket::from_std(std_socket).unwrap();
    ///     assert!(socket.local_addr().is_ok());
    /// });
    /// ```
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        UdpSocket::from_mio(mio::net::UdpSocket::from_std(socket))
    }

    /// Set the default peer: `send`/`recv` then talk to it, and datagrams from other
    /// addresses are dropped by the kernel.
    ///
    /// ```
    /// use corio_net::UdpSocket;
    /// corio_runtime::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     a.connect(b.local_addr().unwrap()).await.unwrap();
    ///     assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
    /// });
    /// ```
    pub async fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        let mut last_err = None;
        for addr in addr::resolve(&addr).await? {
            match self.io.get_ref().connect(addr) {
                Ok(()) => return Ok(()),
                Err(e) => last_err = Some(with_context(e, format_args!("connect to {addr}"))),
            }
        }
        Err(last_err.unwrap_or_else(|| io::Error::other("no address to connect to")))
    }

    /// The local address.
    ///
    /// ```
    /// # use corio_net::UdpSocket;
    /// # corio_runtime::run(async {
    /// let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// assert!(socket.local_addr().unwrap().ip().is_loopback());
    /// # });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The peer set by [`connect`](Self::connect) (`NotConnected` before).
    ///
    /// ```
    /// # use corio_net::UdpSocket;
    /// # corio_runtime::run(async {
    /// let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// assert!(socket.peer_addr().is_err());
    /// # });
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Send one datagram to `target` (literal addresses are not looked up). Returns the
    /// bytes sent.
    ///
    /// ```
    /// # use corio_net::UdpSocket;
    /// # corio_runtime::run(async {
    /// let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// let me = socket.local_addr().unwrap();
    /// assert_eq!(socket.send_to(b"to myself", me).await.unwrap(), 9);
    /// # });
    /// ```
    pub async fn send_to(&self, buf: &[u8], target: impl ToSocketAddrs) -> io::Result<usize> {
        let target = addr::resolve_one(&target).await?;
        self.io.write_with(|s| s.send_to(buf, target)).await
    }

    /// Receive one datagram; returns its length and sender.
    ///
    /// ```
    /// # use corio_net::UdpSocket;
    /// # corio_runtime::run(async {
    /// let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// socket.send_to(b"hi", socket.local_addr().unwrap()).await.unwrap();
    /// let mut buf = [0u8; 8];
    /// let (n, from) = socket.recv_from(&mut buf).await.unwrap();
    /// assert_eq!((n, from), (2, socket.local_addr().unwrap()));
    /// # });
    /// ```
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.read_with(|s| s.recv_from(buf)).await
    }

    /// Look at the next datagram without taking it.
    ///
    /// ```
    /// # use corio_net::UdpSocket;
    /// # corio_runtime::run(async {
    /// let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// socket.send_to(b"hi", socket.local_addr().unwrap()).await.unwrap();
    /// let mut buf = [0u8; 8];
    /// let (n, _) = socket.peek_from(&mut buf).await.unwrap();
    /// assert_eq!(socket.recv_from(&mut buf).await.unwrap().0, n);
    /// # });
    /// ```
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.read_with(|s| s.peek_from(buf)).await
    }

    /// Same as [`try_recv`](Self::try_recv) (the stream name).
    ///
    /// ```
    /// # use corio_net::UdpSocket;
    /// # corio_runtime::run(async {
    /// let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// socket.connect(socket.local_addr().unwrap()).await.unwrap();
    /// let err = socket.try_read(&mut [0u8; 8]).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    /// # });
    /// ```
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.try_recv(buf)
    }

    /// Same as [`try_send`](Self::try_send) (the stream name).
    ///
    /// ```
    /// # use corio_net::UdpSocket;
    /// # corio_runtime::run(async {
    /// let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// socket.connect(socket.local_addr().unwrap()).await.unwrap();
    /// assert_eq!(socket.try_write(b"x").unwrap(), 1);
    /// # });
    /// ```
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.try_send(buf)
    }

    /// Receive a datagram now, or fail with `WouldBlock`.
    ///
    /// ```
    /// # use corio_net::UdpSocket;
    /// # corio_runtime::run(async {
    /// let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// let err = socket.try_recv_from(&mut [0u8; 8]).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    /// # });
    /// ```
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.try_read_with(|s| s.recv_from(buf))
    }

    /// Send a datagram to `target` now, or fail with `WouldBlock`.
    ///
    /// ```
    /// # use corio_net::UdpSocket;
    /// # corio_runtime::run(async {
    /// let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// let me = socket.local_addr().unwrap();
    /// assert_eq!(socket.try_send_to(b"x", me).unwrap(), 1);
    /// # });
    /// ```
    pub fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.io.try_write_with(|s| s.send_to(buf, target))
    }

    /// Allow sending to broadcast addresses (`SO_BROADCAST`).
    ///
    /// ```
    /// # use corio_net::UdpSocket;
    /// # corio_runtime::run(async {
    /// let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// socket.set_broadcast(true).unwrap();
    /// assert!(socket.broadcast().unwrap());
    /// # });
    /// ```
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_broadcast(on)
    }

    /// Whether `SO_BROADCAST` is set.
    ///
    /// ```
    /// # use corio_net::UdpSocket;
    /// # corio_runtime::run(async {
    /// let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// assert!(!socket.broadcast().unwrap());
    /// # });
    /// ```
    pub fn broadcast(&self) -> io::Result<bool> {
        self.io.get_ref().broadcast()
    }

    /// Set the IP time-to-live of outgoing datagrams.
    ///
    /// ```
    /// # use corio_net::UdpSocket;
    /// # corio_runtime::run(async {
    /// let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// socket.set_ttl(8).unwrap();
    /// assert_eq!(socket.ttl().unwrap(), 8);
    /// # });
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The IP time-to-live.
    ///
    /// ```
    /// # use corio_net::UdpSocket;
    /// # corio_runtime::run(async {
    /// let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// assert!(socket.ttl().unwrap() > 0);
    /// # });
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }
}

datagram_common!(
    UdpSocket,
    mio::net::UdpSocket,
    "use corio_net::UdpSocket;
let s = UdpSocket::bind(\"127.0.0.1:0\").await.unwrap();
let peer = UdpSocket::bind(\"127.0.0.1:0\").await.unwrap();
s.connect(peer.local_addr().unwrap()).await.unwrap();
peer.connect(s.local_addr().unwrap()).await.unwrap();
"
);
