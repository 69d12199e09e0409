//! corio's OS I/O layer: TCP, UDP and Unix sockets, child processes and signals.
//!
//! Use it through the facade: `corio::net` (the sockets of this crate's root), `corio::process`,
//! `corio::signal`.
//!
//! # The mental model
//!
//! Every socket, pipe and process handle here is a non-blocking file descriptor wrapped in
//! [`corio_runtime::io::Async`], registered once with the loop's epoll/kqueue
//! (edge-triggered, read and write interest together). An operation is tried right away; if
//! the OS says `WouldBlock`, the task parks until the next readiness edge and tries again.
//! Nothing here calls `epoll_ctl` per operation, and a read that comes back short marks the
//! socket "not readable" so no extra `read` is spent just to hear `EAGAIN`.
//!
//! ```text
//!   task: stream.read(&mut buf).await
//!     ├─ readiness bit set?  ── yes ──► recv(2) ─► data (short read: clear the bit)
//!     │                                      └──► EAGAIN: clear the bit, park
//!     └─ no: park the waker ◄── epoll edge sets the bit and wakes the task
//! ```
//!
//! * Sockets at the crate root: [`TcpListener`], [`TcpStream`], [`TcpSocket`] (options
//!   before bind/connect), [`UdpSocket`], [`UnixListener`], [`UnixStream`],
//!   [`UnixDatagram`]; the split halves live in [`tcp`], [`unix`] and [`split`]. Host names
//!   resolve on the blocking pool ([`corio_runtime::spawn_blocking`]); address literals never
//!   leave the loop.
//! * Byte streams ([`TcpStream`], [`UnixStream`]) offer three styles: methods (`read`,
//!   `write`, `read_exact`, `write_all`, `write_vectored`, `peek`); the
//!   `futures_io::AsyncRead`/`AsyncWrite` traits, for generic code; and readiness:
//!   `readable().await` then `try_read(&mut scratch)`, so an idle connection holds no buffer
//!   at all (the `echo` example serves thousands of idle clients in about a kilobyte each).
//! * Faults are values, not crashes: writes use `MSG_NOSIGNAL` (`SO_NOSIGPIPE` on Apple
//!   systems), so a closed peer gives `BrokenPipe` and never a SIGPIPE; `accept` backs off on
//!   a timer when the process runs out of file descriptors or memory.
//! * Listeners are also streams of connections: [`TcpListener::incoming`] and
//!   [`UnixListener::incoming`] give an [`Incoming`] (`futures_core::Stream`).
//! * Many loops (one per core): [`TcpListener::bind_reuseport`] lets each loop bind the same
//!   port (the kernel spreads connections); `into_std` on streams and listeners takes a socket
//!   off one loop and `from_std` registers it on another.
//! * [`process::Command`] spawns children whose piped stdio are async streams;
//!   [`signal::ctrl_c`], [`signal::terminate`], [`signal::shutdown`] and [`signal::Signal`]
//!   wait for signals.
//!
//! One task at a time may wait in each direction of one I/O object (one reader and one
//! writer); the read and write halves from `split`/`into_split` make that explicit. Code
//! generic over TCP and Unix streams bounds on [`split::SplitStream`] and splits with
//! [`split::split`] / [`split::into_split`].
//!
//! **`split()` and futures' `AsyncReadExt`:** with `futures::io::AsyncReadExt` in scope,
//! `stream.split()` picks futures' by-value `split` (it takes `self`, which method lookup
//! tries before `&mut self`) and fails with a type mismatch. Write
//! `TcpStream::split(&mut stream)` or `(&mut stream).split()` instead; see [`split`].
//!
//! # Non-goals
//!
//! * Windows, io_uring, TLS, HTTP: out of scope for this layer.
//! * Several tasks reading the same socket at once (use a task per connection and channels).
//! * Chaining to a signal handler installed by other code: corio's replaces it.
//!
//! ```
//! use corio_net::{TcpListener, TcpStream};
//!
//! corio_runtime::run(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     let server = corio_runtime::spawn(async move {
//!         let (mut conn, _peer) = listener.accept().await.unwrap();
//!         let mut buf = [0u8; 5];
//!         conn.read_exact(&mut buf).await.unwrap();
//!         conn.write_all(&buf).await.unwrap();
//!     });
//!     let mut client = TcpStream::connect(addr).await.unwrap();
//!     client.write_all(b"hello").await.unwrap();
//!     let mut echo = [0u8; 5];
//!     client.read_exact(&mut echo).await.unwrap();
//!     assert_eq!(&echo, b"hello");
//!     server.await.unwrap();
//! });
//! ```
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

// Macro modules first: `macro_rules!` are visible only below their definition.
#[macro_use]
mod cfg;
#[macro_use]
mod fd_traits;
#[macro_use]
mod stream;
#[macro_use]
mod datagram;
#[macro_use]
pub mod split;
#[macro_use]
mod accept;

mod addr;
pub mod process;
pub mod signal;
mod sys;
pub mod tcp;
mod udp;
pub mod unix;

pub use accept::Incoming;
pub use addr::{lookup_host, ToSocketAddrs};
pub use tcp::{TcpListener, TcpSocket, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixListener, UnixStream};
