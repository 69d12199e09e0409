//! # corio — a single-threaded async runtime
//!
//! One event loop (epoll/kqueue via mio) runs many lightweight tasks on one thread. On top
//! sit the concurrency tools of Python's `threading` and `queue` in async form (Event, Lock,
//! RLock, Semaphore, Condition, Barrier, Queue), timers, a blocking-thread pool,
//! task-locals, and TCP/UDP/Unix networking.
//!
//! ```
//! use std::time::Duration;
//!
//! corio::run(async {
//!     let worker = corio::task::Builder::new().name("worker-1").spawn(async {
//!         corio::time::sleep(Duration::from_millis(5)).await;
//!         corio::task::current().name().unwrap().to_owned()
//!     });
//!     let cpu = corio::spawn_blocking(|| (1..=20u64).sum::<u64>());
//!     assert_eq!(worker.await.unwrap(), "worker-1");
//!     assert_eq!(cpu.await.unwrap(), 210);
//! });
//! ```
//!
//! See the `corio_runtime` crate docs for the mental model and the non-goals.
//!
//! # Many cores
//!
//! One runtime serves one core. [`shard::Pool`] runs one loop per core, each with its own
//! `!Send` tasks; [`Handle`] spawns onto a loop from any thread, [`shard::channel`] carries
//! values between loops, and `TcpListener::bind_reuseport` lets every shard accept on one port.
//!
//! ```
//! let pool = corio::shard::Pool::builder().shards(2).build().unwrap();
//! let shards = pool.run(|shard| async move { shard.index() }).unwrap();
//! assert_eq!(shards, [0, 1]);
//! ```
//!
//! # The ecosystem
//!
//! Every stream implements futures-io's `AsyncRead`/`AsyncWrite`, so futures-util,
//! futures-rustls and async-tungstenite work unchanged; listeners have `incoming()` streams
//! and `JoinSet` is a `Stream`. hyper 1 runs through `corio::compat::hyper` (feature `hyper`).
//!
//! **`split()` and futures' `AsyncReadExt`.** With `futures::io::AsyncReadExt` in scope,
//! `stream.split()` on an owned stream resolves to futures' by-value `split` (two halves
//! behind a lock) instead of corio's borrowing one, and the types do not match (E0308).
//! Call corio's by path, `corio::net::TcpStream::split(&mut stream)` (or
//! `corio::net::split::split(&mut stream)` in code generic over TCP and Unix), or import
//! `AsyncReadExt` only where you need it.
#![deny(missing_docs)]

pub use corio_macros::{main, test};
pub use corio_net::{process, signal};

/// Networking on the event loop: TCP, UDP and Unix-domain sockets (the `corio_net` crate's
/// sockets; the split halves under [`net::tcp`], [`net::unix`] and [`net::split`]).
///
/// ```
/// use corio::net::UdpSocket;
/// corio::run(async {
///     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
///     let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
///     a.send_to(b"ping", b.local_addr().unwrap()).await.unwrap();
///     let mut buf = [0u8; 16];
///     let (n, from) = b.recv_from(&mut buf).await.unwrap();
///     assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr().unwrap()));
/// });
/// ```
pub mod net {
    pub use corio_net::{lookup_host, split, tcp, unix, Incoming, ToSocketAddrs};
    pub use corio_net::{TcpListener, TcpSocket, TcpStream, UdpSocket};
    pub use corio_net::{UnixDatagram, UnixListener, UnixStream};
}
pub use corio_runtime::{io, shard, sync, task, task_local, time};
pub use corio_runtime::{metrics, RuntimeMetrics, SlowPoll};
pub use corio_runtime::{run, spawn, spawn_blocking, Builder, Handle, RemoteJoinHandle, Runtime};

/// Glue for crates that need more than futures-io (feature `hyper`).
///
/// [`compat::hyper`] is hyper 1 on corio: `HyperIo` (hyper's I/O traits over corio's
/// streams), `LocalExecutor`, `Timer`, `GracefulShutdown` and a pooled `Client`. It lives in
/// the `corio-compat` crate so that `corio::net` takes no dependency on hyper.
///
/// ```
/// use corio::compat::hyper::{HyperIo, LocalExecutor, Timer};
/// corio::run(async {
///     let (a, _b) = corio::net::UnixStream::pair().unwrap();
///     let _io = HyperIo::new(a);
///     let _ = (LocalExecutor, Timer);
/// });
/// ```
#[cfg(feature = "hyper")]
pub mod compat {
    pub use corio_compat::hyper;
}
