//! `TcpListener`: accepts TCP connections, backing off when out of file descriptors.

use std::io;
use std::net::SocketAddr;

use corio_runtime::io::Async;

use super::{TcpSocket, TcpStream};
use crate::accept;
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
        accept::accept(&self.io, |l| l.accept(), TcpStream::from_mio).await
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
    let socket = TcpSocket::for_addr(addr)?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(DEFAULT_BACKLOG)
}

socket_traits!(TcpListener, [local_addr], io);
