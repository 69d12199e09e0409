//! `UnixDatagram`: Unix-domain datagram sockets on the event loop.

use std::io;
use std::os::unix::net::SocketAddr;
use std::path::Path;

use corio_runtime::io::Async;

use crate::addr::with_context;

/// A Unix-domain datagram socket. Methods take `&self`; one task at a time may wait to
/// receive and one to send.
///
/// ```
/// use corio_net::UnixDatagram;
/// corio_runtime::run(async {
///     let (a, b) = UnixDatagram::pair().unwrap();
///     a.send(b"one message").await.unwrap();
///     let mut buf = [0u8; 32];
///     let n = b.recv(&mut buf).await.unwrap();
///     assert_eq!(&buf[..n], b"one message");
/// });
/// ```
pub struct UnixDatagram {
    io: Async<mio::net::UnixDatagram>,
}

impl UnixDatagram {
    fn from_mio(socket: mio::net::UnixDatagram) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            io: Async::new(socket)?,
        })
    }

    /// Bind a socket file at `path`.
    ///
    /// ```
    /// use corio_net::UnixDatagram;
    /// corio_runtime::run(async {
    ///     let path = std::env::temp_dir().join(format!("corio-doc-db-{}.sock", std::process::id()));
    ///     let _ = std::fs::remove_file(&path);
    ///     let socket = UnixDatagram::bind(&path).unwrap();
    ///     assert_eq!(socket.local_addr().unwrap().as_pathname(), Some(path.as_path()));
    ///     std::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        let path = path.as_ref();
        let socket = mio::net::UnixDatagram::bind(path)
            .map_err(|e| with_context(e, format_args!("bind {}", path.display())))?;
        UnixDatagram::from_mio(socket)
    }

    /// A socket bound to no address (it can send, and receive replies once connected).
    ///
    /// ```
    /// corio_runtime::run(async {
    ///     let socket = corio_net::UnixDatagram::unbound().unwrap();
    ///     assert!(socket.local_addr().unwrap().is_unnamed());
    /// });
    /// ```
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::from_mio(mio::net::UnixDatagram::unbound()?)
    }

    /// A connected pair of datagram sockets.
    ///
    /// ```
    /// corio_runtime::run(async {
    ///     let (a, b) = corio_net::UnixDatagram::pair().unwrap();
    ///     a.send(b"x").await.unwrap();
    ///     assert_eq!(b.recv(&mut [0u8; 4]).await.unwrap(), 1);
    /// });
    /// ```
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = mio::net::UnixDatagram::pair()?;
        Ok((UnixDatagram::from_mio(a)?, UnixDatagram::from_mio(b)?))
    }

    /// Wrap a `std` socket (switched to non-blocking mode).
    ///
    /// ```
    /// corio_runtime::run(async {
    ///     let (a, _b) = std::os::unix::net::UnixDatagram::pair().unwrap();
    ///     let a = corio_net::UnixDatagram::from_std(a).unwrap();
    ///     assert!(a.peer_addr().is_ok());
    /// });
    /// ```
    pub fn from_std(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        socket.set_nonblocking(true)?;
        UnixDatagram::from_mio(mio::net::UnixDatagram::from_std(socket))
    }

    /// Set the default peer for `send`/`recv`.
    ///
    /// ```
    /// use corio_net::UnixDatagram;
    /// corio_runtime::run(async {
    ///     let path = std::env::temp_dir().join(format!("corio-doc-dc-{}.sock", std::process::id()));
    ///     let _ = std::fs::remove_file(&path);
    ///     let server = UnixDatagram::bind(&path).unwrap();
    ///     let client = UnixDatagram::unbound().unwrap();
    ///     client.connect(&path).unwrap();
    ///     client.send(b"hi").await.unwrap();
    ///     assert_eq!(server.recv(&mut [0u8; 8]).await.unwrap(), 2);
    ///     std::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let path = path.as_ref();
        self.io
            .get_ref()
            .connect(path)
            .map_err(|e| with_context(e, format_args!("connect to {}", path.display())))
    }

    /// The local address.
    ///
    /// ```
    /// corio_runtime::run(async {
    ///     let (a, _b) = corio_net::UnixDatagram::pair().unwrap();
    ///     assert!(a.local_addr().unwrap().is_unnamed());
    /// });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The connected peer's address.
    ///
    /// ```
    /// corio_runtime::run(async {
    ///     let (a, _b) = corio_net::UnixDatagram::pair().unwrap();
    ///     assert!(a.peer_addr().is_ok());
    /// });
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Send one datagram to the socket bound at `path`.
    ///
    /// ```
    /// use corio_net::UnixDatagram;
    /// corio_runtime::run(async {
    ///     let path = std::env::temp_dir().join(format!("corio-doc-ds-{}.sock", std::process::id()));
    ///     let _ = std::fs::remove_file(&path);
    ///     let server = UnixDatagram::bind(&path).unwrap();
    ///     let client = UnixDatagram::unbound().unwrap();
    ///     assert_eq!(client.send_to(b"ping", &path).await.unwrap(), 4);
    ///     let mut buf = [0u8; 8];
    ///     let (n, _from) = server.recv_from(&mut buf).await.unwrap();
    ///     assert_eq!(&buf[..n], b"ping");
    ///     std::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    pub async fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let path = path.as_ref();
        self.io.write_with(|s| s.send_to(buf, path)).await
    }

    /// Receive one datagram and the sender's address.
    ///
    /// ```
    /// corio_runtime::run(async {
    ///     let (a, b) = corio_net::UnixDatagram::pair().unwrap();
    ///     a.send(b"hey").await.unwrap();
    ///     let mut buf = [0u8; 8];
    ///     let (n, _from) = b.recv_from(&mut buf).await.unwrap();
    ///     assert_eq!(n, 3);
    /// });
    /// ```
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.read_with(|s| s.recv_from(buf)).await
    }
}

datagram_common!(
    UnixDatagram,
    mio::net::UnixDatagram,
    "use corio_net::UnixDatagram;
let (s, peer) = UnixDatagram::pair().unwrap();
"
);
