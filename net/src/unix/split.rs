//! `UnixStream::split` / `into_split` and the Unix names of the halves.

use super::UnixStream;
use crate::split::{self, sealed::Sealed, SplitStream};

/// The read half of a [`UnixStream`] borrowed by [`UnixStream::split`].
pub type ReadHalf<'a> = split::ReadHalf<'a, UnixStream>;
/// The write half of a [`UnixStream`] borrowed by [`UnixStream::split`].
pub type WriteHalf<'a> = split::WriteHalf<'a, UnixStream>;
/// The read half of a [`UnixStream`] owned by [`UnixStream::into_split`].
pub type OwnedReadHalf = split::OwnedReadHalf<UnixStream>;
/// The write half of a [`UnixStream`] owned by [`UnixStream::into_split`]; dropping it
/// shuts the write direction down.
pub type OwnedWriteHalf = split::OwnedWriteHalf<UnixStream>;
/// Halves of two different [`UnixStream`]s given to `reunite`.
pub type ReuniteError = split::ReuniteError<UnixStream>;

impl Sealed for UnixStream {
    type Io = mio::net::UnixStream;
    fn async_io(&self) -> &corio_runtime::io::Async<mio::net::UnixStream> {
        &self.io
    }
}

impl SplitStream for UnixStream {
    type Addr = std::os::unix::net::SocketAddr;
    fn local_addr(&self) -> std::io::Result<std::os::unix::net::SocketAddr> {
        UnixStream::local_addr(self)
    }
    fn peer_addr(&self) -> std::io::Result<std::os::unix::net::SocketAddr> {
        UnixStream::peer_addr(self)
    }
}

impl UnixStream {
    /// Borrow the stream as a read half and a write half. No allocation.
    ///
    /// ```
    /// use corio_net::UnixStream;
    /// corio_runtime::run(async {
    ///     let (mut a, mut b) = UnixStream::pair().unwrap();
    ///     let (mut rd, mut wr) = a.split();
    ///     wr.write_all(b"hi").await.unwrap();
    ///     let mut buf = [0u8; 2];
    ///     b.read_exact(&mut buf).await.unwrap();
    ///     b.write_all(&buf).await.unwrap();
    ///     rd.read_exact(&mut buf).await.unwrap();
    /// });
    /// ```
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        split::split(self)
    }

    /// Split into owned halves that can move to different tasks; dropping the write half
    /// shuts the write direction down.
    ///
    /// ```
    /// use corio_net::UnixStream;
    /// corio_runtime::run(async {
    ///     let (a, mut b) = UnixStream::pair().unwrap();
    ///     let (mut rd, mut wr) = a.into_split();
    ///     corio_runtime::spawn(async move { wr.write_all(b"hi").await.unwrap() });
    ///     let mut buf = [0u8; 2];
    ///     b.read_exact(&mut buf).await.unwrap();
    ///     b.write_all(b"yo").await.unwrap();
    ///     rd.read_exact(&mut buf).await.unwrap();
    ///     assert_eq!(&buf, b"yo");
    /// });
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        split::into_split(self)
    }
}
