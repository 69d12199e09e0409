//! Many cores: one corio loop per core, sharing nothing but what is sent between them.
//!
//! [`channel`] and [`unbounded`] make a multi-producer, single-consumer channel whose
//! [`Sender`]s are `Clone + Send + Sync`: between loops on different threads, from plain OS
//! threads into a loop ([`Sender::send_blocking`]), or within one loop.
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

mod channel;

pub use channel::{channel, unbounded, Receiver, Sender, TryRecvError, TrySendError};
