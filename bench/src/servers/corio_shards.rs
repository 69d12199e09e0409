//! The corio server on N shards (`--shards N`): a `corio::shard::Pool`, one loop per thread
//! (pinned: the child's CPU set has N CPUs, shard i takes the i-th), each with its own
//! `SO_REUSEPORT` listener on the one port and the single-loop variant's accept loop and
//! connections (`corio.rs`): the kernel spreads the connections, the shards share nothing.
//!
//! The N listeners are bound up front on a short-lived loop of this thread (the first on the
//! requested address, the others on the port it got), so the address is printed before any
//! shard runs; each shard takes its own with `into_std` / `from_std`. The runtime metrics,
//! if asked for, are answered on shard 0 with every shard's counters
//! ([`Snapshot::pooled`]), each taken on its own loop by a remote spawn.

use std::io;
use std::net::SocketAddr;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};

use corio::net::TcpListener;
use corio::shard::{Pool, ShardId};
use corio::Handle;

use crate::cli::Workload;
use crate::runtime_metrics::{self, Snapshot};

/// Bind `n` listeners on `addr`, print the address, and serve on `n` shards forever.
pub fn serve(
    addr: SocketAddr,
    workload: Workload,
    n: usize,
    metrics: Option<UnixStream>,
) -> Result<(), String> {
    let (bound, listeners) = corio::run(bind_group(addr, n))
        .map_err(|e| format!("cannot bind {addr} {n} times with SO_REUSEPORT: {e}"))?;
    super::report_address(bound)?;
    let pool = Pool::new(n).map_err(|e| format!("cannot start {n} shards: {e}"))?;
    let handles: Arc<[Handle]> = (0..pool.len()).map(|i| pool.handle(i)).collect();
    let listeners = Mutex::new(listeners.into_iter().map(Some).collect::<Vec<_>>());
    let shared = Arc::new((listeners, Mutex::new(metrics)));
    let ended = pool
        .run(move |shard: ShardId| {
            let (shared, handles) = (shared.clone(), handles.clone());
            async move {
                let (listeners, metrics) = &*shared;
                let mine = lock(listeners)[shard.index()].take();
                let listener = TcpListener::from_std(mine.ok_or_else(|| {
                    io::Error::other("a shard's listener was taken twice (a second run?)")
                })?)?;
                if let Some(link) = lock(metrics).take() {
                    corio::spawn(async move {
                        let snapshot = || pooled_snapshot(handles.clone());
                        if let Err(e) = runtime_metrics::answer_with(link, snapshot).await {
                            eprintln!("corio server: the metrics link failed: {e}");
                        }
                    });
                }
                super::corio::accept_loop(listener, workload).await
            }
        })
        .map_err(|panicked| panicked.to_string())?;
    match ended
        .into_iter()
        .enumerate()
        .find_map(|(i, r)| r.err().map(|e| (i, e)))
    {
        Some((i, e)) => Err(format!("shard {i}: {e}")),
        None => Ok(()),
    }
}

/// `n` SO_REUSEPORT listeners on one address, as std listeners to hand to the shards.
async fn bind_group(
    addr: SocketAddr,
    n: usize,
) -> io::Result<(SocketAddr, Vec<std::net::TcpListener>)> {
    let first = TcpListener::bind_reuseport(addr).await?;
    // Port 0 picks a port once; every other shard joins the group on that one.
    let bound = first.local_addr()?;
    let mut all = vec![first.into_std()?];
    for _ in 1..n {
        all.push(TcpListener::bind_reuseport(bound).await?.into_std()?);
    }
    Ok((bound, all))
}

/// Every shard's runtime metrics, each read on its own loop, as one server's.
async fn pooled_snapshot(handles: Arc<[Handle]>) -> Snapshot {
    let mut shards = Vec::with_capacity(handles.len());
    for handle in handles.iter() {
        let read = handle.spawn(|| async { Snapshot::from_runtime(&corio::metrics()) });
        // A shard that cannot answer (stopping) is left out rather than failing the link.
        if let Ok(snapshot) = read.await {
            shards.push(snapshot);
        }
    }
    Snapshot::pooled(&shards)
}

/// A poisoned lock still holds the listeners (a shard panicked: the pool stops anyway).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
