//! corio's core: the executor, reactor, timers, sync primitives and blocking pool.
//!
//! Use it through the `corio` facade crate; this crate is what `corio::` re-exports.
//!
//! # The mental model
//!
//! One thread runs one event loop. Tasks are futures owned by the loop; a task runs until it
//! awaits something that is not ready, then the loop runs the next ready task. Nothing runs
//! in parallel, so tasks share data with `Rc` and `RefCell` and need no locks for memory
//! safety — the async `Lock` in `sync` exists to keep *multi-step* invariants across
//! `.await` points, like `threading.Lock` does across statements.
//!
//! ```text
//!   block_on(main) ──► run ready tasks (FIFO, up to event_interval polls)
//!        ▲                   │
//!        │                   ▼
//!   wakers push ◄── epoll_wait (0 if work is queued, else until the next timer)
//!   tasks back          fires timers, drains wakes from other threads
//! ```
//!
//! * I/O: `io::Async<T>` registers a non-blocking fd with the reactor (mio, edge-triggered);
//!   awaiting readiness parks the task's waker until the OS reports an edge.
//! * Time: a hierarchical timing wheel; the loop sleeps exactly until the next deadline.
//! * Blocking work goes to `spawn_blocking`'s thread pool, so it never stalls the loop.
//! * Fairness: every corio await point that completes without waiting (a socket read, a
//!   ready `Queue::get`, a free `Lock`, ...) draws one unit from the task's budget (128 per
//!   poll, `Builder::task_budget`); at zero it returns `Pending` and the task goes to the
//!   back of the queue, so one busy connection cannot hold the loop (tokio's coop). See
//!   `task::unconstrained` to opt a future out, and the `coop` module docs for the details.
//!
//! # Non-goals
//!
//! * Work stealing or multi-threaded scheduling: one loop per thread; [`shard::Pool`] runs N
//!   loops on N threads (or run N processes) to use N cores, and tasks never migrate between
//!   them — values do ([`Handle::spawn`], [`shard::channel`]).
//! * `Send` futures everywhere: tasks are `!Send`-friendly by design.
//! * Windows support (IOCP) and io_uring, for now.
//! * Preemption: a task that computes without awaiting blocks the loop (use
//!   `spawn_blocking`); the budget only helps at corio await points.
//!
//! ```
//! use std::time::Duration;
//! corio_runtime::run(async {
//!     let h = corio_runtime::spawn(async {
//!         corio_runtime::time::sleep(Duration::from_millis(1)).await;
//!         "slept"
//!     });
//!     assert_eq!(h.await.unwrap(), "slept");
//! });
//! ```
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

mod blocking;
mod cell;
mod context;
mod coop;
mod executor;
mod handle;
pub mod io;
mod metrics;
mod reactor;
mod remote;
mod rng;
pub mod shard;
pub mod sync;
pub mod task;
#[cfg(feature = "testing")]
pub mod testing;
pub mod time;
mod watchdog;

pub use blocking::spawn_blocking;
pub use executor::{Builder, Runtime};
pub use handle::{Handle, RemoteJoinHandle};
pub use metrics::{metrics, RuntimeMetrics};
pub use task::spawn;
pub use watchdog::SlowPoll;

/// Run `future` to completion on a new runtime with default settings, then drop the runtime
/// (and every task still alive). The usual entry point, like `asyncio.run`.
///
/// # Panics
/// If the OS poller cannot be created, when nested inside another runtime on this thread,
/// and when `future` panics.
///
/// ```
/// let answer = corio_runtime::run(async { 6 * 7 });
/// assert_eq!(answer, 42);
/// ```
#[track_caller]
pub fn run<F: std::future::Future>(future: F) -> F::Output {
    let rt = Runtime::new().expect("corio::run: cannot create the OS poller (epoll/kqueue)");
    rt.block_on(future)
}
