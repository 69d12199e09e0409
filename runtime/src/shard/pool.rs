//! `shard::Pool`: N corio loops, one per OS thread (one per core), each running its own copy
//! of a `!Send` future.
//!
//! Each shard thread owns a `Runtime` for the pool's whole life, so its [`Handle`] stays
//! valid between runs; between runs the thread waits for the next job (remote spawns sent
//! to it meanwhile run at the start of the next `run`).

use std::any::Any;
use std::cell::Cell;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;

use super::affinity;
use crate::cell::JoinError;
use crate::handle::Handle;
use crate::sync::CancellationToken;
use crate::Runtime;

thread_local! {
    static CURRENT_SHARD: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Which shard of a [`Pool`] this is: `0..pool.len()`.
///
/// ```
/// let pool = corio_runtime::shard::Pool::new(2).unwrap();
/// let ids = pool.run(|shard| async move { shard.index() }).unwrap();
/// assert_eq!(ids, [0, 1]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShardId(usize);

impl ShardId {
    /// The shard's position in its pool.
    pub fn index(self) -> usize {
        self.0
    }
}

impl fmt::Display for ShardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shard {}", self.0)
    }
}

/// The shard this thread is, or `None` outside a [`Pool`]'s threads.
///
/// ```
/// assert_eq!(corio_runtime::shard::current(), None);
/// let pool = corio_runtime::shard::Pool::new(1).unwrap();
/// let seen = pool.run(|_| async { corio_runtime::shard::current().map(|s| s.index()) });
/// assert_eq!(seen.unwrap(), [Some(0)]);
/// ```
pub fn current() -> Option<ShardId> {
    CURRENT_SHARD.with(|c| c.get()).map(ShardId)
}

/// Configures a [`Pool`].
///
/// ```
/// let pool = corio_runtime::shard::Pool::builder()
///     .shards(2)
///     .pin(false)
///     .runtime(corio_runtime::Builder::new().event_interval(31))
///     .build()
///     .unwrap();
/// assert_eq!(pool.len(), 2);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Builder {
    shards: Option<usize>,
    pin: Option<bool>,
    runtime: crate::Builder,
}

impl Builder {
    /// A builder with the defaults: one shard per usable CPU, pinned when there are as many
    /// CPUs as shards.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// How many shards (default: the CPUs this process may use; at least 1).
    pub fn shards(mut self, n: usize) -> Builder {
        self.shards = Some(n.max(1));
        self
    }

    /// Pin shard `i` to the `i`-th usable CPU (default: on when there are at least as many
    /// usable CPUs as shards; Linux only, a no-op elsewhere).
    pub fn pin(mut self, pin: bool) -> Builder {
        self.pin = Some(pin);
        self
    }

    /// The settings of every shard's runtime.
    pub fn runtime(mut self, runtime: crate::Builder) -> Builder {
        self.runtime = runtime;
        self
    }

    /// Start the shard threads and their runtimes. Errors: a runtime could not be created
    /// (the OS poller), a thread could not be started, or pinning failed.
    pub fn build(self) -> io::Result<Pool> {
        let cpus = affinity::usable_cpus();
        let n = self.shards.unwrap_or(cpus.len().max(1));
        let pin = self.pin.unwrap_or(cpus.len() >= n);
        let mut shards = Vec::with_capacity(n);
        for i in 0..n {
            let cpu = if pin {
                cpus.get(i % cpus.len().max(1)).copied()
            } else {
                None
            };
            shards.push(Shard::start(i, cpu, self.runtime.clone())?);
        }
        Ok(Pool { shards })
    }
}

/// N event loops, one per OS thread: the seeds' "one process per CPU core", glommio's and
/// monoio's thread-per-core. Shards share nothing but what is sent between them
/// ([`channel`](super::channel), [`Handle::spawn`]); to share a port, each binds its own
/// listener with `TcpListener::bind_reuseport`.
///
/// ```
/// use std::rc::Rc;
/// let pool = corio_runtime::shard::Pool::new(2).unwrap();
/// let out = pool
///     .run(|shard| async move {
///         let local = Rc::new(shard.index() * 10); // !Send is fine: it stays on its shard
///         *local
///     })
///     .unwrap();
/// assert_eq!(out, [0, 10]);
/// ```
pub struct Pool {
    shards: Vec<Shard>,
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("shards", &self.shards.len())
            .finish()
    }
}

impl Pool {
    /// A pool of `n` shards with the default settings.
    pub fn new(n: usize) -> io::Result<Pool> {
        Builder::new().shards(n).build()
    }

    /// A [`Builder`].
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// How many shards.
    pub fn len(&self) -> usize {
        self.shards.len()
    }

    /// Never true (a pool has at least one shard); for clippy's `len_without_is_empty`.
    pub fn is_empty(&self) -> bool {
        self.shards.is_empty()
    }

    /// The [`Handle`] of shard `i`'s runtime.
    ///
    /// # Panics
    /// If `i >= self.len()`.
    ///
    /// ```
    /// let pool = corio_runtime::shard::Pool::new(2).unwrap();
    /// let h = pool.handle(1).spawn(|| async { corio_runtime::shard::current().unwrap().index() });
    /// // The shards run, and the spawned task with them (at the loop's first turn).
    /// let out = pool
    ///     .run(|_| corio_runtime::time::sleep(std::time::Duration::from_millis(10)))
    ///     .unwrap();
    /// assert_eq!(out.len(), 2);
    /// assert_eq!(h.join().unwrap(), 1);
    /// ```
    #[track_caller]
    pub fn handle(&self, i: usize) -> Handle {
        match self.shards.get(i) {
            Some(shard) => shard.handle.clone(),
            None => panic!(
                "shard::Pool::handle({i}) on a pool of {} shards",
                self.len()
            ),
        }
    }

    /// Run `factory`'s future on every shard at once and wait for all of them; outputs come
    /// in shard order. The future need not be `Send` (it is built on its shard). A shard
    /// whose future is done keeps its loop running (its other tasks, remote spawns and
    /// channel messages go on) until every shard's future is done. A shard that panics stops
    /// the others (their futures are dropped) and `run` returns a [`ShardError`] naming it.
    ///
    /// Between runs the shards' loops stand still: a task spawned onto a shard through its
    /// [`Handle`] then waits for the next `run`.
    ///
    /// ```
    /// let pool = corio_runtime::shard::Pool::new(3).unwrap();
    /// let err = pool
    ///     .run(|shard| async move {
    ///         if shard.index() == 1 {
    ///             panic!("shard one fails");
    ///         }
    ///         std::future::pending::<()>().await // stopped by the panic
    ///     })
    ///     .unwrap_err();
    /// assert_eq!(err.shard(), 1);
    /// ```
    pub fn run<F, Fut, T>(&self, factory: F) -> Result<Vec<T>, ShardError>
    where
        F: Fn(ShardId) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = T> + 'static,
        T: Send + 'static,
    {
        let factory = Arc::new(factory);
        // `stop`: a shard panicked, drop every future. `all_done`: every shard's future has
        // finished; until then a shard whose own future is done keeps its loop turning, so
        // remote spawns and channel messages from the others are still served.
        let stop = CancellationToken::new();
        let all_done = CancellationToken::new();
        let running = Arc::new(AtomicUsize::new(self.shards.len()));
        let (done_tx, done_rx) = mpsc::channel::<(usize, thread::Result<Option<T>>)>();
        for (i, shard) in self.shards.iter().enumerate() {
            let (factory, done) = (factory.clone(), done_tx.clone());
            let shared = (stop.clone(), all_done.clone(), running.clone());
            let job: Job = Box::new(move |rt: &Runtime| {
                let (stop, all_done, running) = shared;
                let finished = || shard_finished(&running, &all_done);
                let out = catch_unwind(AssertUnwindSafe(|| {
                    rt.block_on(async {
                        let out = stop.run_until_cancelled(factory(ShardId(i))).await;
                        finished();
                        all_done.cancelled().await;
                        out
                    })
                }));
                if out.is_err() {
                    stop.cancel();
                    finished();
                }
                let _ = done.send((i, out));
            });
            if shard.jobs.send(job).is_err() {
                // The shard's thread is gone (it can only end by the pool's drop).
                stop.cancel();
                shard_finished(&running, &all_done);
                let _ = done_tx.send((i, Err(Box::new("the shard's thread has exited"))));
            }
        }
        drop(done_tx);
        let mut outputs: Vec<Option<T>> = (0..self.shards.len()).map(|_| None).collect();
        let mut failure: Option<ShardError> = None;
        for (i, out) in done_rx {
            match out {
                Ok(Some(v)) => outputs[i] = Some(v),
                // Stopped because another shard panicked.
                Ok(None) => {}
                Err(payload) => {
                    if failure.is_none() {
                        failure = Some(ShardError {
                            shard: i,
                            panic: JoinError::panic(payload),
                        });
                    }
                }
            }
        }
        if let Some(err) = failure {
            return Err(err);
        }
        Ok(outputs
            .into_iter()
            .map(|v| v.expect("every shard reports an output unless one panicked"))
            .collect())
    }
}

/// One shard of a run is done (or will never start): the last one releases them all.
fn shard_finished(running: &AtomicUsize, all_done: &CancellationToken) {
    if running.fetch_sub(1, Ordering::AcqRel) == 1 {
        all_done.cancel();
    }
}

type Job = Box<dyn FnOnce(&Runtime) + Send>;

struct Shard {
    handle: Handle,
    jobs: mpsc::Sender<Job>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Shard {
    fn start(index: usize, cpu: Option<usize>, runtime: crate::Builder) -> io::Result<Shard> {
        let (jobs, job_rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::channel::<io::Result<Handle>>();
        let thread = thread::Builder::new()
            .name(format!("corio-shard-{index}"))
            .spawn(move || {
                let started = cpu
                    .map_or(Ok(()), affinity::pin_current_thread)
                    .and_then(|()| runtime.build());
                let rt = match started {
                    Ok(rt) => rt,
                    Err(e) => return drop(ready_tx.send(Err(e))),
                };
                CURRENT_SHARD.with(|c| c.set(Some(index)));
                let _ = ready_tx.send(Ok(rt.handle()));
                for job in job_rx {
                    job(&rt);
                }
            })?;
        let handle = ready_rx.recv().unwrap_or_else(|_| {
            Err(io::Error::other(format!(
                "shard {index}'s thread ended while starting"
            )))
        })?;
        Ok(Shard {
            handle,
            jobs,
            thread: Some(thread),
        })
    }
}

impl Drop for Shard {
    fn drop(&mut self) {
        // Closing the job channel ends the thread's loop; its runtime drops every task.
        let (closed, _) = mpsc::channel();
        drop(std::mem::replace(&mut self.jobs, closed));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A shard of [`Pool::run`] panicked (the others were stopped).
///
/// ```
/// let pool = corio_runtime::shard::Pool::new(1).unwrap();
/// let err = pool.run(|_| async { panic!("boom") }).unwrap_err();
/// assert_eq!(err.shard(), 0);
/// assert_eq!(*err.into_panic().downcast_ref::<&str>().unwrap(), "boom");
/// ```
pub struct ShardError {
    shard: usize,
    /// The payload, kept in a `JoinError` for its `Sync` wrapper and message.
    panic: JoinError,
}

impl ShardError {
    /// Which shard panicked (the first to report, if several did).
    pub fn shard(&self) -> usize {
        self.shard
    }

    /// The panic payload, to inspect or `std::panic::resume_unwind`.
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.panic.into_panic()
    }
}

impl fmt::Display for ShardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // JoinError's Display reads "task panicked: <message>".
        let message = self.panic.to_string();
        let message = message.strip_prefix("task ").unwrap_or(&message);
        write!(f, "shard {} {message}", self.shard)
    }
}

impl fmt::Debug for ShardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShardError")
            .field("shard", &self.shard)
            .field("panic", &self.panic)
            .finish()
    }
}

impl Error for ShardError {}
