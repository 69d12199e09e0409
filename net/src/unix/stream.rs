//! `UnixStream`: a connected Unix-domain stream socket on the event loop.

use std::io;
use std::os::fd::AsFd;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use corio_runtime::io::Async;
use socket2::{Domain, SockAddr, Socket};

use crate::addr::with_context;
use crate::sys;

/// A connected Unix-domain stream socket; the same API as
/// [`TcpStream`](crate::TcpStream) (methods, readiness, split, futures-io traits).
///
/// ```
/// use corio_net::UnixStream;
/// corio_runtime::run(async {
///     let (mut parent, mut child) = UnixStream::pair().unwrap();
///     parent.write_all(b"job").await.unwrap();
///     let mut buf = [0u8; 3];
///     child.read_exact(&mut buf).await.unwrap();
///     assert_eq!(&buf, b"job");
/// });
/// ```
pub struct UnixStream {
    pub(super) io: Async<mio::net::UnixStream>,
}

impl UnixStream {
    /// Connect to the socket bound at `path`. If the listener's backlog is full the connect
    /// is retried on a timer (1 ms doubling to 100 ms) until it fits; wrap the call in
    /// [`corio_runtime::time::timeout`] to bound the wait. A missing path gives `NotFound`,
    /// nobody listening gives `ConnectionRefused`.
    ///
    /// ```
    /// use corio_net::{UnixListener, UnixStream};
    /// corio_runtime::run(async {
    ///     let dir = std::env::temp_dir().join(format!("corio-doc-uc-{}", std::process::id()));
    ///     std::fs::create_dir_all(&dir).unwrap();
    ///     let path = dir.join("s.sock");
    ///     let _ = std::fs::remove_file(&path);
    ///     let listener = UnixListener::bind(&path).unwrap();
    ///     let _client = UnixStream::connect(&path).await.unwrap();
    ///     let (_server, _) = listener.accept().await.unwrap();
    ///     std::fs::remove_dir_all(&dir).unwrap();
    /// });
    /// ```
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let path = path.as_ref();
        let context = |e| with_context(e, format_args!("connect to {}", path.display()));
        let addr = SockAddr::unix(path).map_err(context)?;
        let socket = new_socket()?;
        let mut backoff = Duration::from_millis(1);
        let in_progress = loop {
            match socket.connect(&addr) {
                Ok(()) => break false,
                Err(e) if sys::is_in_progress(&e) => break true,
                // The listener's backlog is full: no readiness event announces room.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    corio_runtime::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_millis(100));
                }
                Err(e) => return Err(context(e)),
            }
        };
        let std: std::os::unix::net::UnixStream = socket.into();
        let io = Async::new(mio::net::UnixStream::from_std(std))?;
        if in_progress {
            io.clear_writable();
            io.writable().await?;
            if let Some(e) = io.get_ref().take_error()? {
                return Err(context(e));
            }
        }
        Ok(UnixStream { io })
    }

    /// A connected pair of streams (`socketpair(2)`), both on this loop.
    ///
    /// ```
    /// corio_runtime::run(async {
    ///     let (mut a, mut b) = corio_net::UnixStream::pair().unwrap();
    ///     a.write_all(b"1").await.unwrap();
    ///     assert_eq!(b.read(&mut [0u8; 1]).await.unwrap(), 1);
    /// });
    /// ```
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = mio::net::UnixStream::pair()?;
        Ok((UnixStream::from_mio(a)?, UnixStream::from_mio(b)?))
    }

    pub(super) fn from_mio(stream: mio::net::UnixStream) -> io::Result<UnixStream> {
        sys::no_sigpipe(stream.as_fd())?;
        Ok(UnixStream {
            io: Async::new(stream)?,
        })
    }

    /// Wrap a connected `std` stream (switched to non-blocking mode).
    ///
    /// ```
    /// use corio_net::UnixStream;
    /// corio_runtime::run(async {
    ///     let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    ///     let a = UnixStream::from_std(a).unwrap();
    ///     assert!(a.peer_addr().is_ok());
    /// });
    /// ```
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        UnixStream::from_mio(mio::net::UnixStream::from_std(stream))
    }

    /// The local address (unnamed for a connecting client or a pair).
    ///
    /// ```
    /// # corio_runtime::run(async {
    /// let (a, _b) = corio_net::UnixStream::pair().unwrap();
    /// assert!(a.local_addr().unwrap().is_unnamed());
    /// # });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The peer's address.
    ///
    /// ```
    /// # corio_runtime::run(async {
    /// let (a, _b) = corio_net::UnixStream::pair().unwrap();
    /// assert!(a.peer_addr().unwrap().as_pathname().is_none());
    /// # });
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }
}

fn new_socket() -> io::Result<Socket> {
    sys::stream_socket(Domain::UNIX, None)
}

stream_common!(
    UnixStream,
    mio::net::UnixStream,
    std::os::unix::net::UnixStream,
    SocketAddr,
    "use corio_net::UnixStream;
let (mut s, mut peer) = UnixStream::pair().unwrap();
"
);
