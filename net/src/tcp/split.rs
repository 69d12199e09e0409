//! `TcpStream::split` / `into_split` and the TCP names of the halves.

use super::TcpStream;
use crate::split::{self, sealed::Sealed, SplitStream};

/// The read half of a [`TcpStream`] borrowed by [`TcpStream::split`].
pub type ReadHalf<'a> = split::ReadHalf<'a, TcpStream>;
/// The write half of a [`TcpStream`] borrowed by [`TcpStream::split`].
pub type WriteHalf<'a> = split::WriteHalf<'a, TcpStream>;
/// The read half of a [`TcpStream`] owned by [`TcpStream::into_split`].
pub type OwnedReadHalf = split::OwnedReadHalf<TcpStream>;
/// The write half of a [`TcpStream`] owned by [`TcpStream::into_split`]; dropping it shuts
/// the write direction down.
pub type OwnedWriteHalf = split::OwnedWriteHalf<TcpStream>;
/// Halves of two different [`TcpStream`]s given to `reunite`.
pub type ReuniteError = split::ReuniteError<TcpStream>;

impl Sealed for TcpStream {
    type Io = mio::net::TcpStream;
    fn async_io(&self) -> &corio_runtime::io::Async<mio::net::TcpStream> {
        &self.io
    }
}

impl SplitStream for TcpStream {
    type Addr = std::net::SocketAddr;
    fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        TcpStream::local_addr(self)
    }
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        TcpStream::peer_addr(self)
    }
}

impl TcpStream {
    /// Borrow the stream as a read half and a write half, to read and write from two places
    /// of one task (e.g. two futures joined). No allocation.
    ///
    /// ```
    /// use corio_net::{TcpListener, TcpStream};
    /// corio_runtime::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    ///     let (mut server, _) = listener.accept().await.unwrap();
    ///     let (mut rd, mut wr) = server.split();
    ///     client.write_all(b"hi").await.unwrap();
    ///     let mut buf = [0u8; 2];
    ///     rd.read_exact(&mut buf).await.unwrap();
    ///     wr.write_all(&buf).await.unwrap();
    /// });
    /// ```
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        split::split(self)
    }

    /// Split into owned halves that can move to different tasks. Dropping the write half
    /// shuts the write direction down (the peer reads EOF); `reunite` undoes the split.
    ///
    /// ```
    /// use corio_net::{TcpListener, TcpStream};
    /// corio_runtime::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    ///     let (mut server, _) = listener.accept().await.unwrap();
    ///     let (mut rd, mut wr) = client.into_split();
    ///     let writer = corio_runtime::spawn(async move { wr.write_all(b"ping").await });
    ///     let mut buf = [0u8; 4];
    ///     server.read_exact(&mut buf).await.unwrap();
    ///     server.write_all(b"pong").await.unwrap();
    ///     rd.read_exact(&mut buf).await.unwrap();
    ///     assert_eq!(&buf, b"pong");
    ///     writer.await.unwrap().unwrap();
    /// });
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        split::into_split(self)
    }
}
