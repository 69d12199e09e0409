//! TCP: [`TcpListener`], [`TcpStream`], [`TcpSocket`] and the halves of a split stream.

mod listener;
mod socket;
mod stream;

pub use listener::TcpListener;
pub use socket::TcpSocket;
pub use stream::TcpStream;

split_aliases!(TcpStream);
