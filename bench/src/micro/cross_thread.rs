//! Micro cases that need more than one thread: corio's shard channel between two loops vs
//! `tokio::sync::mpsc` on tokio's multi-thread runtime (the peer a user would pick for
//! many cores). Kept apart from `cases.rs` because they need tokio's `rt-multi-thread`,
//! which the criterion benches and `scripts/micro-instructions.sh` (which include
//! `cases.rs`) do not build with.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use super::cases::Case;

/// Items in flight at most: both channels are bounded alike.
const CAPACITY: usize = 1024;

/// The cases of this file, in report order.
pub const CASES: &[Case] = &[
    Case {
        name: "channel_cross_thread",
        unit: "one item from a producer on another thread's loop to a receiver, bounded(1024)",
        target: 0.5,
        corio: corio_cross_thread,
        tokio: tokio_cross_thread,
    },
    Case {
        name: "remote_spawn",
        unit: "spawn a task onto another thread's loop and await its output there (round trip)",
        target: 0.5,
        corio: corio_remote_spawn,
        tokio: tokio_remote_spawn,
    },
];

/// The producer runs its own corio loop on another OS thread (a shard); the receiver runs
/// on this thread's loop. Timed from the moment both are ready to the last item received.
fn corio_cross_thread(iters: u64) -> Duration {
    let (tx, mut rx) = corio::shard::channel::<u64>(CAPACITY);
    let ready = Arc::new(Barrier::new(2));
    let producer = std::thread::spawn({
        let ready = ready.clone();
        move || {
            let rt = corio::Runtime::new().expect("corio runtime");
            ready.wait();
            rt.block_on(async move {
                for i in 0..iters {
                    tx.send(i).await.unwrap();
                }
            });
        }
    });
    let rt = corio::Runtime::new().expect("corio runtime");
    let elapsed = rt.block_on(async {
        ready.wait();
        let t = Instant::now();
        let mut sum = 0u64;
        while let Some(i) = rx.recv().await {
            sum += i;
        }
        std::hint::black_box(sum);
        t.elapsed()
    });
    producer.join().unwrap();
    elapsed
}

/// The producer is a task on tokio's multi-thread runtime (two workers); the receiver is
/// the `block_on` future on this thread.
fn tokio_cross_thread(iters: u64) -> Duration {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async move {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(CAPACITY);
        let t = Instant::now();
        let producer = tokio::spawn(async move {
            for i in 0..iters {
                tx.send(i).await.unwrap();
            }
        });
        let mut sum = 0u64;
        while let Some(i) = rx.recv().await {
            sum += i;
        }
        std::hint::black_box(sum);
        let elapsed = t.elapsed();
        producer.await.unwrap();
        elapsed
    })
}

/// A loop on another OS thread runs until `stop`; this thread's loop spawns onto it through
/// its `Handle` one task at a time and awaits each output: the latency of a cross-thread
/// spawn, its run there, and the wake back (two cross-thread wakes per iteration).
fn corio_remote_spawn(iters: u64) -> Duration {
    let stop = corio::sync::CancellationToken::new();
    let (handle_tx, handle_rx) = std::sync::mpsc::channel();
    let target = std::thread::spawn({
        let stop = stop.clone();
        move || {
            let rt = corio::Runtime::new().expect("corio runtime");
            handle_tx.send(rt.handle()).unwrap();
            rt.block_on(stop.cancelled());
        }
    });
    let handle = handle_rx.recv().unwrap();
    let rt = corio::Runtime::new().expect("corio runtime");
    let elapsed = rt.block_on(async {
        let t = Instant::now();
        let mut sum = 0u64;
        for i in 0..iters {
            sum += handle.spawn(move || async move { i }).await.unwrap();
        }
        std::hint::black_box(sum);
        t.elapsed()
    });
    stop.cancel();
    target.join().unwrap();
    elapsed
}

/// The same on tokio: `Handle::spawn` from the `block_on` thread onto the multi-thread
/// runtime's workers (two), awaiting each `JoinHandle` there.
fn tokio_remote_spawn(iters: u64) -> Duration {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let handle = rt.handle().clone();
    rt.block_on(async move {
        let t = Instant::now();
        let mut sum = 0u64;
        for i in 0..iters {
            sum += handle.spawn(async move { i }).await.unwrap();
        }
        std::hint::black_box(sum);
        t.elapsed()
    })
}
