//! Networking on the event loop: TCP, UDP and Unix-domain sockets.
//!
//! Every type here registers a non-blocking socket with the loop once and awaits its
//! readiness edges. Byte streams ([`TcpStream`], [`UnixStream`]) offer three styles:
//!
//! * methods: `read`, `write`, `read_exact`, `write_all`, `write_vectored`, `peek`;
//! * the `futures_io::AsyncRead`/`AsyncWrite` traits, for generic code;
//! * readiness: `readable().await` then `try_read(&mut scratch)`, so an idle connection
//!   holds no buffer at all (the `echo` example serves thousands of idle clients in about a
//!   kilobyte each this way).
//!
//! ```
//! use corio_net::net::UdpSocket;
//! corio_runtime::run(async {
//!     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
//!     let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
//!     a.send_to(b"ping", b.local_addr().unwrap()).await.unwrap();
//!     let mut buf = [0u8; 16];
//!     let (n, from) = b.recv_from(&mut buf).await.unwrap();
//!     assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr().unwrap()));
//! });
//! ```

mod accept;
mod addr;
pub mod split;
mod stream_ops;
pub mod tcp;
mod udp;
pub mod unix;

pub use addr::{lookup_host, ToSocketAddrs};
pub use tcp::{TcpListener, TcpSocket, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixListener, UnixStream};
