//! One port served by N shards, for the example servers' `--shards N`: the seeds' "one
//! process per CPU core" (Nginx) as one corio loop per core in one process.
//!
//! [`start`] builds a [`corio::shard::Pool`] of N shards on a thread of its own (`Pool::run`
//! blocks, and the caller's loop has the signals to watch). Every shard binds its own
//! listener with `TcpListener::bind_reuseport` on the same address, so the kernel spreads
//! the connections over the shards, and serves only the connections its listener accepts:
//! the shards share nothing. Shard 0 binds first and the others bind exactly the address it
//! got, so a port of 0 means one OS-chosen port for all of them.
//!
//! What comes back ([`Shards`]) is the caller's view of the pool: the bound address, and
//! [`Shards::wait`], which completes once every shard's serve future has returned (or at the
//! first that failed). The drain works as with one loop: the servers' `serve_until` take a
//! `CancellationToken`, which is `Send + Sync`, so the main loop's `drain::supervise`
//! cancels one token and every shard drains; `wait` is the serve future it supervises.
//! Dropping [`Shards`] cuts every shard's connections and joins the pool.
//!
//! Not an example of its own (no `main.rs`): each server includes it with `#[path]`.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::thread;

use corio::net::TcpListener;
use corio::shard::{self, Pool, ShardId};
use corio::sync::CancellationToken;

/// The most shards `--shards` takes: one thread each, and far more than cores only costs.
pub const MAX: usize = 1024;

/// `--shards`' value: a whole number of loops, 1 to [`MAX`]; the message names the flag.
pub fn parse_count(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if (1..=MAX).contains(&n) => Ok(n),
        _ => Err(format!(
            "--shards: not a number of shards (1 to {MAX}): {value:?}"
        )),
    }
}

/// What the shards tell the caller's loop, each shard once per kind.
enum Report<T> {
    /// Shard `.0` has its listener (at this address), or could not bind.
    Bound(usize, io::Result<SocketAddr>),
    /// Shard `.0`'s serve future returned.
    Ended(usize, io::Result<T>),
    /// A shard panicked: the pool stopped every shard (`ShardError`'s message).
    Panicked(String),
}

/// N shards serving one address; see the module docs.
pub struct Shards<T> {
    addr: SocketAddr,
    len: usize,
    reports: shard::Receiver<Report<T>>,
    /// What [`Shards::finish`] collected.
    outputs: Option<Vec<T>>,
    /// Cancelled on drop: every shard's serve future is dropped, then the pool ends.
    abort: CancellationToken,
    pool: Option<thread::JoinHandle<()>>,
}

/// Start `n` shards, each serving its own `bind_reuseport` listener on `addr` with
/// `serve(shard, listener)`; return once all of them listen. An error if the pool cannot be
/// built or a shard cannot bind (shard 0's own error when it is the one that failed).
pub async fn start<F, Fut, T>(n: usize, addr: &str, serve: F) -> io::Result<Shards<T>>
where
    F: Fn(ShardId, TcpListener) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = io::Result<T>> + 'static,
    T: Send + 'static,
{
    let pool = Pool::new(n)?;
    let len = pool.len();
    let (tx, reports) = shard::unbounded::<Report<T>>();
    let abort = CancellationToken::new();
    // Shard 0's bound address (None: it failed), set once, then `first_bound` is cancelled.
    let first: Arc<OnceLock<Option<SocketAddr>>> = Arc::new(OnceLock::new());
    let first_bound = CancellationToken::new();
    let (serve, addr) = (Arc::new(serve), addr.to_owned());
    let factory = {
        let (tx, abort) = (tx.clone(), abort.clone());
        move |shard: ShardId| {
            let (tx, abort, serve) = (tx.clone(), abort.clone(), serve.clone());
            let (first, first_bound, addr) = (first.clone(), first_bound.clone(), addr.clone());
            async move {
                let i = shard.index();
                let bound = if i == 0 {
                    let bound = TcpListener::bind_reuseport(addr.as_str()).await;
                    let got = bound.as_ref().ok().and_then(|l| l.local_addr().ok());
                    let _ = first.set(got);
                    first_bound.cancel();
                    bound
                } else {
                    first_bound.cancelled().await;
                    match first.get().copied().flatten() {
                        // The same address and port as shard 0's: one SO_REUSEPORT group.
                        Some(at) => TcpListener::bind_reuseport(at).await,
                        None => Err(io::Error::other("shard 0 could not bind")),
                    }
                };
                let listener = match bound.and_then(|l| l.local_addr().map(|at| (l, at))) {
                    Ok((listener, at)) => {
                        let _ = tx.try_send(Report::Bound(i, Ok(at)));
                        listener
                    }
                    Err(e) => {
                        let _ = tx.try_send(Report::Bound(i, Err(e)));
                        return;
                    }
                };
                if let Some(result) = abort.run_until_cancelled(serve(shard, listener)).await {
                    let _ = tx.try_send(Report::Ended(i, result));
                }
            }
        }
    };
    let pool = thread::Builder::new()
        .name("shards".to_owned())
        .spawn(move || {
            if let Err(panicked) = pool.run(factory) {
                let _ = tx.try_send(Report::Panicked(panicked.to_string()));
            }
        })?;
    let mut shards = Shards {
        addr: SocketAddr::from(([0, 0, 0, 0], 0)),
        len,
        reports,
        outputs: None,
        abort,
        pool: Some(pool),
    };
    // Every shard reports its bind once; keep the first error in shard order (shard 0's
    // real cause rather than the others' "shard 0 could not bind").
    let mut bound: Vec<Option<io::Result<SocketAddr>>> = (0..len).map(|_| None).collect();
    for _ in 0..len {
        match shards.reports.recv().await {
            Some(Report::Bound(i, result)) => bound[i] = Some(result),
            Some(Report::Panicked(message)) => return Err(io::Error::other(message)),
            Some(Report::Ended(..)) => {} // only after every Bound; not here
            None => return Err(io::Error::other("the shards ended while binding")),
        }
    }
    for (i, result) in bound.into_iter().enumerate() {
        match result {
            Some(Ok(at)) if i == 0 => shards.addr = at,
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(io::Error::new(e.kind(), format!("shard {i}: {e}"))),
            None => return Err(io::Error::other(format!("shard {i} did not bind"))),
        }
    }
    Ok(shards)
}

impl<T> Shards<T> {
    /// The address every shard listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many shards.
    pub fn count(&self) -> usize {
        self.len
    }

    /// Wait until every shard's serve future has returned, and give their outputs in shard
    /// order; the first that fails (or a panic) ends the wait with its error at once, the
    /// other shards still running.
    pub async fn wait(&mut self) -> io::Result<Vec<T>> {
        let mut outputs: Vec<Option<T>> = (0..self.len).map(|_| None).collect();
        let mut left = self.len;
        while left > 0 {
            match self.reports.recv().await {
                Some(Report::Ended(i, Ok(out))) => {
                    outputs[i] = Some(out);
                    left -= 1;
                }
                Some(Report::Ended(i, Err(e))) => {
                    return Err(io::Error::new(e.kind(), format!("shard {i}: {e}")))
                }
                Some(Report::Panicked(message)) => return Err(io::Error::other(message)),
                Some(Report::Bound(..)) => {} // all seen by `start`
                None => return Err(io::Error::other("the shards' pool ended early")),
            }
        }
        Ok(outputs.into_iter().flatten().collect())
    }

    /// [`wait`](Self::wait), keeping the outputs for [`outputs`](Self::outputs): the serve
    /// future the binaries hand to `drain::supervise`, which may drop it at the timeout.
    pub async fn finish(&mut self) -> io::Result<()> {
        let outputs = self.wait().await?;
        self.outputs = Some(outputs);
        Ok(())
    }

    /// Every shard's output, once [`finish`](Self::finish) has completed.
    pub fn outputs(&self) -> Option<&[T]> {
        self.outputs.as_deref()
    }
}

/// `counts` as `total (per shard: a, b, ..)`, for the binaries' last line.
pub fn tally(counts: &[u64]) -> String {
    let each: Vec<String> = counts.iter().map(u64::to_string).collect();
    format!(
        "{} (per shard: {})",
        counts.iter().sum::<u64>(),
        each.join(", ")
    )
}

impl<T> Drop for Shards<T> {
    fn drop(&mut self) {
        self.abort.cancel();
        if let Some(pool) = self.pool.take() {
            // Every shard future is dropped at the cancel; the pool ends within a loop turn.
            let _ = pool.join();
        }
    }
}
