//! Many cores: shards. N independent loops, one per core, sharing nothing but what is sent:
//! the seeds' "one process per CPU core" (Nginx), glommio's and monoio's thread-per-core.
//!
//! * [`Pool`] runs one corio runtime per OS thread, each running its own `!Send` future.
//! * [`Handle`](crate::Handle) spawns onto any shard from any thread.
//! * [`channel`] and [`unbounded`] make a multi-producer, single-consumer channel whose
//!   [`Sender`]s are `Clone + Send + Sync`: between loops on different threads, from plain OS
//!   threads into a loop ([`Sender::send_blocking`]), or within one loop.
//! * To share a port, each shard binds its own listener (`TcpListener::bind_reuseport`) and
//!   the kernel spreads connections, or one shard hands accepted streams to others
//!   (`TcpStream::into_std` / `from_std`).
//!
//! ```
//! let (tx, mut rx) = corio_runtime::shard::channel(8);
//! let producer = std::thread::spawn(move || {
//!     for n in 0..100u64 {
//!         tx.send_blocking(n).unwrap();
//!     }
//! });
//! let sum = corio_runtime::run(async move {
//!     let mut sum = 0;
//!     while let Some(n) = rx.recv().await {
//!         sum += n;
//!     }
//!     sum
//! });
//! producer.join().unwrap();
//! assert_eq!(sum, 4950);
//! ```

mod affinity;
mod channel;
mod pool;

pub use channel::{channel, unbounded, Receiver, Sender, TryRecvError, TrySendError};
pub use pool::{current, Builder, Pool, ShardError, ShardId};
