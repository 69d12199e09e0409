//! `TcpListener`: accepts TCP connections, backing off when out of file descriptors.

use std::io;
use std::net::SocketAddr;

use corio_runtime::io::Async;

use super::{TcpSocket, TcpStream};
use crate::accept::{AcceptState, Incoming};
use crate::addr::{self, ToSocketAddrs};

/// Default listen backlog of [`TcpListener::bind`] (the kernel caps it at `somaxconn`).
const DEFAULT_BACKLOG: u32 = 1024;

/// A TCP socket listening for connections.
///
/// [`accept`](Self::accept) never fails just because the process ran out of file
/// descriptors or memory (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`): it sleeps on a timer,
/// 10 ms doubling up to 1 s, and tries again, while the loop keeps serving the connections it
/// has. `ECONNABORTED` (a client gave up while queued) is skipped at once. One task at a time
/// should call `accept`.
///
/// ```
/// use corio_net::{TcpListener, TcpStream};
/// corio_runtime::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let addr = listener.local_addr().unwrap();
///     let _client = TcpStream::connect(addr).await.unwrap();
///     let (_conn, peer) = listener.accept().await.unwrap();
///     assert!(peer.ip().is_loopback());
/// });
/// ```
pub struct TcpListener {
    io: Async<mio::net::TcpListener>,
}

impl TcpListener {
    /// Bind and listen on `addr` (`SO_REUSEADDR` on, backlog 1024), trying each resolved
    /// address until one works. Host names are resolved on the blocking pool; literals such
    /// as `"127.0.0.1:7000"` or `"[::1]:0"` are parsed on the spot.
    ///
    /// ```
    /// use corio_net::TcpListener;
    /// corio_runtime::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     assert_ne!(listener.local_addr().unwrap().port(), 0);
    /// });
    /// ```
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        let mut last_err = None;
        for addr in addr::resolve(&addr).await? {
            match bind_one(addr) {
                Ok(listener) => return Ok(listener),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(|| io::Error::other("no address to bind")))
    }

    cfg_reuseport! {
        /// Bind and listen on `addr` with `SO_REUSEPORT` (and `SO_REUSEADDR`) set, so that
        /// several listeners, typically one per shard's loop, can bind the same address and
        /// port; the kernel then spreads incoming connections among them (on Linux by a hash
        /// of the connection's addresses and ports, so the split is even only on average).
        /// Every socket sharing the port must set `SO_REUSEPORT` (and, on Linux, belong to
        /// the same user); a port bound without it gives `AddrInUse`.
        ///
        /// ```
        /// use corio_net::TcpListener;
        /// corio_runtime::run(async {
        ///     let a = TcpListener::bind_reuseport("127.0.0.1:0").await.unwrap();
        ///     let port = a.local_addr().unwrap().port();
        ///     let b = TcpListener::bind_reuseport(("127.0.0.1", port)).await.unwrap();
        ///     assert_eq!(b.local_addr().unwrap(), a.local_addr().unwrap());
        /// });
        /// ```
        pub async fn bind_reuseport(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
            let mut last_err = None;
            for addr in addr::resolve(&addr).await? {
                let listener = TcpSocket::for_addr(addr).and_then(|socket| {
                    socket.set_reuseport(true)?;
                    listen_on(socket, addr)
                });
                match listener {
                    Ok(listener) => return Ok(listener),
                    Err(e) => last_err = Some(e),
                }
            }
            Err(last_err.unwrap_or_else(|| io::Error::other("no address to bind")))
        }
    }

    pub(super) fn from_mio(listener: mio::net::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener {
            io: Async::new(listener)?,
        })
    }

    /// Wrap a listening `std` socket (switched to non-blocking mode).
    ///
    /// ```
    /// use corio_net::TcpListener;
    /// corio_runtime::run(async {
    ///     let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let listener = TcpListener::from_std(std_listener).unwrap();
    ///     assert!(listener.local_addr().is_ok());
    /// });
    /// ```
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        TcpListener::from_mio(mio::net::TcpListener::from_std(listener))
    }

    /// Wait for the next connection; returns the stream and the peer's address. Cancel-safe:
    /// a dropped `accept` loses no connection (it stays queued in the kernel).
    ///
    /// ```
    /// use corio_net::{TcpListener, TcpStream};
    /// corio_runtime::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    ///     let (conn, peer) = listener.accept().await.unwrap();
    ///     assert_eq!(peer, client.local_addr().unwrap());
    ///     assert_eq!(conn.peer_addr().unwrap(), peer);
    /// });
    /// ```
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let mut state = AcceptState::new();
        std::future::poll_fn(|cx| self.poll_accept_with(&mut state, cx)).await
    }

    /// The connections as a `futures_core::Stream<Item = io::Result<TcpStream>>` (tokio's
    /// `TcpListenerStream`), for `while let Some(conn) = incoming.next().await` with
    /// futures-util's `StreamExt`, or any stream combinator. Cancel-safe and under the
    /// cooperative budget, like [`accept`](Self::accept); the peer address is on the stream
    /// (`peer_addr`).
    ///
    /// ```
    /// use std::pin::Pin;
    /// use futures_core::Stream;
    /// use corio_net::{TcpListener, TcpStream};
    /// corio_runtime::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let addr = listener.local_addr().unwrap();
    ///     let clients: Vec<_> = (0..3)
    ///         .map(|_| corio_runtime::spawn(TcpStream::connect(addr)))
    ///         .collect();
    ///     let mut incoming = listener.incoming();
    ///     for _ in 0..3 {
    ///         let next = std::future::poll_fn(|cx| Pin::new(&mut incoming).poll_next(cx));
    ///         let conn: TcpStream = next.await.unwrap().unwrap();
    ///         assert!(conn.peer_addr().unwrap().ip().is_loopback());
    ///     }
    ///     for c in clients {
    ///         c.await.unwrap().unwrap();
    ///     }
    /// });
    /// ```
    pub fn incoming(&self) -> Incoming<'_, TcpListener> {
        Incoming::new(self)
    }

    /// Take the listener off this loop and hand it out as a `std` listener: deregistered
    /// here, still non-blocking (`set_nonblocking(false)` for blocking use), its backlog of
    /// pending connections kept. [`TcpListener::from_std`] registers it on another loop.
    ///
    /// ```
    /// use corio_net::TcpListener;
    /// corio_runtime::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let addr = listener.local_addr().unwrap();
    ///     let std_listener: std::net::TcpListener = listener.into_std().unwrap();
    ///     assert_eq!(std_listener.local_addr().unwrap(), addr);
    ///     let again = TcpListener::from_std(std_listener).unwrap();
    ///     assert_eq!(again.local_addr().unwrap(), addr);
    /// });
    /// ```
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        Ok(self.io.into_inner()?.into())
    }

    /// The address the listener is bound to (with the real port after binding port 0).
    ///
    /// ```
    /// use corio_net::TcpListener;
    /// corio_runtime::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     assert!(listener.local_addr().unwrap().ip().is_loopback());
    /// });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Set the IP time-to-live of accepted connections' packets.
    ///
    /// ```
    /// use corio_net::TcpListener;
    /// corio_runtime::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     listener.set_ttl(64).unwrap();
    ///     assert_eq!(listener.ttl().unwrap(), 64);
    /// });
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The IP time-to-live.
    ///
    /// ```
    /// use corio_net::TcpListener;
    /// corio_runtime::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     assert!(listener.ttl().unwrap() > 0);
    /// });
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }
}

fn bind_one(addr: SocketAddr) -> io::Result<TcpListener> {
    listen_on(TcpSocket::for_addr(addr)?, addr)
}

/// `SO_REUSEADDR`, bind, listen with the default backlog.
fn listen_on(socket: TcpSocket, addr: SocketAddr) -> io::Result<TcpListener> {
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(DEFAULT_BACKLOG)
}

listener_plumbing!(TcpListener, TcpStream, SocketAddr);

socket_traits!(TcpListener, [local_addr], io);
