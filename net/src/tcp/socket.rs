//! `TcpSocket`: a TCP socket not yet listening or connected, for options that must be set
//! before `bind`/`listen`/`connect` (reuseaddr, reuseport, buffer sizes, backlog).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use corio_runtime::io::Async;
use socket2::{Domain, Protocol, SockAddr, Socket};

use super::{TcpListener, TcpStream};
use crate::addr::with_context;
use crate::sys;

/// A TCP socket before `listen` or `connect`, created non-blocking and close-on-exec.
///
/// ```
/// use corio_net::TcpSocket;
/// corio_runtime::run(async {
///     let socket = TcpSocket::new_v4().unwrap();
///     socket.set_reuseaddr(true).unwrap();
///     socket.set_recv_buffer_size(64 * 1024).unwrap();
///     socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
///     let listener = socket.listen(128).unwrap();
///     println!("listening on {}", listener.local_addr().unwrap());
/// });
/// ```
pub struct TcpSocket {
    inner: Socket,
}

impl TcpSocket {
    fn new(domain: Domain) -> io::Result<TcpSocket> {
        let inner = sys::stream_socket(domain, Some(Protocol::TCP))?;
        Ok(TcpSocket { inner })
    }

    /// A new IPv4 TCP socket.
    ///
    /// ```
    /// let socket = corio_net::TcpSocket::new_v4().unwrap();
    /// ```
    pub fn new_v4() -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::IPV4)
    }

    /// A new IPv6 TCP socket.
    ///
    /// ```
    /// // Fails only where the OS has no IPv6 at all.
    /// if let Ok(socket) = corio_net::TcpSocket::new_v6() {
    ///     drop(socket);
    /// }
    /// ```
    pub fn new_v6() -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::IPV6)
    }

    pub(super) fn for_addr(addr: SocketAddr) -> io::Result<TcpSocket> {
        if addr.is_ipv4() {
            TcpSocket::new_v4()
        } else {
            TcpSocket::new_v6()
        }
    }

    /// Allow binding an address in `TIME_WAIT` (`SO_REUSEADDR`). `TcpListener::bind` sets it.
    ///
    /// ```
    /// let socket = corio_net::TcpSocket::new_v4().unwrap();
    /// socket.set_reuseaddr(true).unwrap();
    /// assert!(socket.reuseaddr().unwrap());
    /// ```
    pub fn set_reuseaddr(&self, reuse: bool) -> io::Result<()> {
        self.inner.set_reuse_address(reuse)
    }

    /// Whether `SO_REUSEADDR` is set.
    ///
    /// ```
    /// let socket = corio_net::TcpSocket::new_v4().unwrap();
    /// assert!(!socket.reuseaddr().unwrap());
    /// ```
    pub fn reuseaddr(&self) -> io::Result<bool> {
        self.inner.reuse_address()
    }

    cfg_reuseport! {
        /// Let several sockets bind the same address and port (`SO_REUSEPORT`); the kernel
        /// spreads incoming connections among their listeners (one loop per core).
        ///
        /// ```
        /// let socket = corio_net::TcpSocket::new_v4().unwrap();
        /// socket.set_reuseport(true).unwrap();
        /// assert!(socket.reuseport().unwrap());
        /// ```
        pub fn set_reuseport(&self, reuse: bool) -> io::Result<()> {
            self.inner.set_reuse_port(reuse)
        }

        /// Whether `SO_REUSEPORT` is set.
        ///
        /// ```
        /// let socket = corio_net::TcpSocket::new_v4().unwrap();
        /// assert!(!socket.reuseport().unwrap());
        /// ```
        pub fn reuseport(&self) -> io::Result<bool> {
            self.inner.reuse_port()
        }
    }

    /// Ask for a send buffer of `size` bytes (`SO_SNDBUF`; Linux doubles it for bookkeeping).
    ///
    /// ```
    /// let socket = corio_net::TcpSocket::new_v4().unwrap();
    /// socket.set_send_buffer_size(32 * 1024).unwrap();
    /// assert!(socket.send_buffer_size().unwrap() >= 32 * 1024);
    /// ```
    pub fn set_send_buffer_size(&self, size: u32) -> io::Result<()> {
        self.inner.set_send_buffer_size(size as usize)
    }

    /// The send buffer size (`SO_SNDBUF`).
    ///
    /// ```
    /// let socket = corio_net::TcpSocket::new_v4().unwrap();
    /// assert!(socket.send_buffer_size().unwrap() > 0);
    /// ```
    pub fn send_buffer_size(&self) -> io::Result<u32> {
        self.inner.send_buffer_size().map(clamp_u32)
    }

    /// Ask for a receive buffer of `size` bytes (`SO_RCVBUF`).
    ///
    /// ```
    /// let socket = corio_net::TcpSocket::new_v4().unwrap();
    /// socket.set_recv_buffer_size(32 * 1024).unwrap();
    /// assert!(socket.recv_buffer_size().unwrap() >= 32 * 1024);
    /// ```
    pub fn set_recv_buffer_size(&self, size: u32) -> io::Result<()> {
        self.inner.set_recv_buffer_size(size as usize)
    }

    /// The receive buffer size (`SO_RCVBUF`).
    ///
    /// ```
    /// let socket = corio_net::TcpSocket::new_v4().unwrap();
    /// assert!(socket.recv_buffer_size().unwrap() > 0);
    /// ```
    pub fn recv_buffer_size(&self) -> io::Result<u32> {
        self.inner.recv_buffer_size().map(clamp_u32)
    }

    /// Turn Nagle's algorithm off before connecting (`TCP_NODELAY`).
    ///
    /// ```
    /// let socket = corio_net::TcpSocket::new_v4().unwrap();
    /// socket.set_nodelay(true).unwrap();
    /// assert!(socket.nodelay().unwrap());
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// ```
    /// let socket = corio_net::TcpSocket::new_v4().unwrap();
    /// assert!(!socket.nodelay().unwrap());
    /// ```
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.nodelay()
    }

    /// Turn keep-alive probes on or off (`SO_KEEPALIVE`).
    ///
    /// ```
    /// let socket = corio_net::TcpSocket::new_v4().unwrap();
    /// socket.set_keepalive(true).unwrap();
    /// assert!(socket.keepalive().unwrap());
    /// ```
    pub fn set_keepalive(&self, keepalive: bool) -> io::Result<()> {
        self.inner.set_keepalive(keepalive)
    }

    /// Whether `SO_KEEPALIVE` is set.
    ///
    /// ```
    /// let socket = corio_net::TcpSocket::new_v4().unwrap();
    /// assert!(!socket.keepalive().unwrap());
    /// ```
    pub fn keepalive(&self) -> io::Result<bool> {
        self.inner.keepalive()
    }

    /// Set `SO_LINGER` (`Some(Duration::ZERO)`: close sends RST).
    ///
    /// ```
    /// let socket = corio_net::TcpSocket::new_v4().unwrap();
    /// socket.set_linger(Some(std::time::Duration::from_secs(1))).unwrap();
    /// ```
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        self.inner.set_linger(linger)
    }

    /// Bind to `addr` (port 0: the OS picks one).
    ///
    /// ```
    /// let socket = corio_net::TcpSocket::new_v4().unwrap();
    /// socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// assert_ne!(socket.local_addr().unwrap().port(), 0);
    /// ```
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        self.inner
            .bind(&SockAddr::from(addr))
            .map_err(|e| with_context(e, format_args!("bind {addr}")))
    }

    /// The address the socket is bound to.
    ///
    /// ```
    /// let socket = corio_net::TcpSocket::new_v4().unwrap();
    /// socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// assert!(socket.local_addr().unwrap().ip().is_loopback());
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "not an IP socket address"))
    }

    /// Start listening with a queue of `backlog` pending connections; the socket becomes a
    /// [`TcpListener`] on the current loop.
    ///
    /// # Panics
    /// Outside a corio runtime.
    ///
    /// ```
    /// corio_runtime::run(async {
    ///     let socket = corio_net::TcpSocket::new_v4().unwrap();
    ///     socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    ///     let listener = socket.listen(1024).unwrap();
    ///     assert!(listener.local_addr().is_ok());
    /// });
    /// ```
    #[track_caller]
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        let backlog = i32::try_from(backlog).unwrap_or(i32::MAX);
        self.inner.listen(backlog)?;
        let std: std::net::TcpListener = self.inner.into();
        TcpListener::from_mio(mio::net::TcpListener::from_std(std))
    }

    /// Connect to `addr`, waiting for the handshake. Errors keep their kind
    /// (`ConnectionRefused`, `TimedOut`, ...) and name the address. Wrap in
    /// [`corio_runtime::time::timeout`] for a connect timeout.
    ///
    /// ```
    /// use corio_net::{TcpListener, TcpSocket};
    /// corio_runtime::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let socket = TcpSocket::new_v4().unwrap();
    ///     socket.set_nodelay(true).unwrap();
    ///     let stream = socket.connect(listener.local_addr().unwrap()).await.unwrap();
    ///     assert!(stream.nodelay().unwrap());
    /// });
    /// ```
    pub async fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        let context = |e| with_context(e, format_args!("connect to {addr}"));
        let in_progress = match self.inner.connect(&SockAddr::from(addr)) {
            Ok(()) => false,
            Err(e) if sys::is_in_progress(&e) => true,
            Err(e) => return Err(context(e)),
        };
        let std: std::net::TcpStream = self.inner.into();
        let io = Async::new(mio::net::TcpStream::from_std(std))?;
        if in_progress {
            // The registration starts out "writable"; wait for the handshake's real edge.
            io.clear_writable();
            io.writable().await?;
            if let Some(e) = io.get_ref().take_error()? {
                return Err(context(e));
            }
            io.get_ref().peer_addr().map_err(context)?;
        }
        Ok(TcpStream { io })
    }
}

fn clamp_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

socket_traits!(TcpSocket, [local_addr], inner);
