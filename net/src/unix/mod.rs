//! Unix-domain sockets: [`UnixListener`], [`UnixStream`] (with split halves) and
//! [`UnixDatagram`]. `UnixStream::pair()` is the async `multiprocessing.Pipe()`.
//!
//! A listener does not remove its socket file when dropped (like std): remove it yourself,
//! or bind in a temporary directory.

mod datagram;
mod listener;
mod stream;

pub use datagram::UnixDatagram;
pub use listener::UnixListener;
pub use stream::UnixStream;

split_aliases!(UnixStream);
