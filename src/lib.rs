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
#![deny(missing_docs)]

pub use corio_macros::{main, test};
pub use corio_net::{net, process, signal};
pub use corio_runtime::{io, sync, task, task_local, time};
pub use corio_runtime::{metrics, RuntimeMetrics, SlowPoll};
pub use corio_runtime::{run, spawn, spawn_blocking, Builder, Runtime};

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
