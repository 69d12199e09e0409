//! Unix-domain sockets: [`UnixListener`], [`UnixStream`] (with split halves) and
//! [`UnixDatagram`]. `UnixStream::pair()` is the async `multiprocessing.Pipe()`.
//!
//! A listener does not remove its socket file when dropped (like std): remove it yourself,
//! or bind in a temporary directory.

mod datagram;
mod listener;
mod split;
mod stream;

pub use datagram::UnixDatagram;
pub use listener::UnixListener;
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
pub use stream::UnixStream;
