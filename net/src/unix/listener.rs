//! `UnixListener`: accepts Unix-domain stream connections.

use std::io;
use std::os::unix::net::SocketAddr;
use std::path::Path;

use corio_runtime::io::Async;

use super::UnixStream;
use crate::accept::{AcceptState, Incoming};
use crate::addr::with_context;

/// A Unix-domain socket listening for connections, with the same `accept` fault policy as
/// [`TcpListener`](crate::TcpListener) (back off on `EMFILE` & co., skip
/// `ECONNABORTED`). The socket file stays after drop.
///
/// ```
/// use corio_net::{UnixListener, UnixStream};
/// corio_runtime::run(async {
///     let dir = std::env::temp_dir().join(format!("corio-doc-ul-{}", std::process::id()));
///     std::fs::create_dir_all(&dir).unwrap();
///     let path = dir.join("l.sock");
///     let _ = std::fs::remove_file(&path);
///     let listener = UnixListener::bind(&path).unwrap();
///     let mut client = UnixStream::connect(&path).await.unwrap();
///     let (mut server, _) = listener.accept().await.unwrap();
///     client.write_all(b"hi").await.unwrap();
///     let mut buf = [0u8; 2];
///     server.read_exact(&mut buf).await.unwrap();
///     std::fs::remove_dir_all(&dir).unwrap();
/// });
/// ```
pub struct UnixListener {
    io: Async<mio::net::UnixListener>,
}

impl UnixListener {
    /// Bind a socket file at `path` and listen (`AddrInUse` if the file exists).
    ///
    /// # Panics
    /// Outside a corio runtime.
    ///
    /// ```
    /// use corio_net::UnixListener;
    /// corio_runtime::run(async {
    ///     let path = std::env::temp_dir().join(format!("corio-doc-ub-{}.sock", std::process::id()));
    ///     let _ = std::fs::remove_file(&path);
    ///     let listener = UnixListener::bind(&path).unwrap();
    ///     assert_eq!(listener.local_addr().unwrap().as_pathname(), Some(path.as_path()));
    ///     std::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        let path = path.as_ref();
        let listener = mio::net::UnixListener::bind(path)
            .map_err(|e| with_context(e, format_args!("bind {}", path.display())))?;
        Ok(UnixListener {
            io: Async::new(listener)?,
        })
    }

    /// Wrap a listening `std` socket (switched to non-blocking mode).
    ///
    /// ```
    /// use corio_net::UnixListener;
    /// corio_runtime::run(async {
    ///     let path = std::env::temp_dir().join(format!("corio-doc-uf-{}.sock", std::process::id()));
    ///     let _ = std::fs::remove_file(&path);
    ///     let std_listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    ///     let listener = UnixListener::from_std(std_listener).unwrap();
    ///     assert!(listener.local_addr().is_ok());
    ///     std::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        listener.set_nonblocking(true)?;
        Ok(UnixListener {
            io: Async::new(mio::net::UnixListener::from_std(listener))?,
        })
    }

    /// Wait for the next connection. Cancel-safe.
    ///
    /// ```
    /// use corio_net::{UnixListener, UnixStream};
    /// corio_runtime::run(async {
    ///     let path = std::env::temp_dir().join(format!("corio-doc-ua-{}.sock", std::process::id()));
    ///     let _ = std::fs::remove_file(&path);
    ///     let listener = UnixListener::bind(&path).unwrap();
    ///     let _client = UnixStream::connect(&path).await.unwrap();
    ///     let (_conn, peer) = listener.accept().await.unwrap();
    ///     assert!(peer.is_unnamed());
    ///     std::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let mut state = AcceptState::new();
        std::future::poll_fn(|cx| self.poll_accept_with(&mut state, cx)).await
    }

    /// The connections as a `futures_core::Stream<Item = io::Result<UnixStream>>`;
    /// cancel-safe and under the cooperative budget, like [`accept`](Self::accept).
    ///
    /// ```
    /// use std::pin::Pin;
    /// use futures_core::Stream;
    /// use corio_net::{UnixListener, UnixStream};
    /// corio_runtime::run(async {
    ///     let path = std::env::temp_dir().join(format!("corio-doc-ui-{}.sock", std::process::id()));
    ///     let _ = std::fs::remove_file(&path);
    ///     let listener = UnixListener::bind(&path).unwrap();
    ///     let _client = UnixStream::connect(&path).await.unwrap();
    ///     let mut incoming = listener.incoming();
    ///     let next = std::future::poll_fn(|cx| Pin::new(&mut incoming).poll_next(cx)).await;
    ///     let _conn: UnixStream = next.unwrap().unwrap();
    ///     std::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    pub fn incoming(&self) -> Incoming<'_, UnixListener> {
        Incoming::new(self)
    }

    /// Take the listener off this loop and hand it out as a `std` listener (deregistered
    /// here, still non-blocking, pending connections kept); [`UnixListener::from_std`]
    /// registers it on another loop.
    ///
    /// ```
    /// use corio_net::UnixListener;
    /// corio_runtime::run(async {
    ///     let path = std::env::temp_dir().join(format!("corio-doc-uis-{}.sock", std::process::id()));
    ///     let _ = std::fs::remove_file(&path);
    ///     let listener = UnixListener::bind(&path).unwrap();
    ///     let std_listener = listener.into_std().unwrap();
    ///     let _again = UnixListener::from_std(std_listener).unwrap();
    ///     std::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixListener> {
        Ok(self.io.into_inner()?.into())
    }

    /// The address the listener is bound to.
    ///
    /// ```
    /// use corio_net::UnixListener;
    /// corio_runtime::run(async {
    ///     let path = std::env::temp_dir().join(format!("corio-doc-ul2-{}.sock", std::process::id()));
    ///     let _ = std::fs::remove_file(&path);
    ///     let listener = UnixListener::bind(&path).unwrap();
    ///     assert!(listener.local_addr().unwrap().as_pathname().is_some());
    ///     std::fs::remove_file(&path).unwrap();
    /// });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }
}

socket_traits!(UnixListener, [local_addr], io);

listener_plumbing!(UnixListener, UnixStream, SocketAddr);
