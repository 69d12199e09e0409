//! The seeds' `Pool(5).apply_async(f, callback=cb)`, as `spawn_blocking`: CPU-bound jobs
//! run on a bounded pool of OS threads while the event loop stays free; each result is
//! handed to a callback on the loop.
//!
//! Run: `cargo run --release --example blocking_pool`

use std::time::{Duration, Instant};

/// CPU-bound work that would stall every task if it ran on the loop.
fn fib(n: u64) -> u64 {
    if n < 2 {
        n
    } else {
        fib(n - 1) + fib(n - 2)
    }
}

fn main() {
    let rt = corio::Runtime::builder()
        .blocking_threads(5) // like Pool(5)
        .build()
        .expect("runtime");
    rt.block_on(async {
        let started = Instant::now();
        let callback =
            |n: u64, r: u64| println!("callback: fib({n}) = {r} after {:?}", started.elapsed());
        let jobs: Vec<_> = (28..38u64)
            .map(|n| (n, corio::spawn_blocking(move || fib(n))))
            .collect();
        // The loop is not blocked: a ticker keeps running while the pool computes.
        let ticks = std::rc::Rc::new(std::cell::Cell::new(0u32));
        let t = ticks.clone();
        let ticker = corio::spawn(async move {
            loop {
                corio::time::sleep(Duration::from_millis(5)).await;
                t.set(t.get() + 1);
            }
        });
        for (n, job) in jobs {
            callback(n, job.await.expect("job panicked"));
        }
        ticker.abort();
        println!(
            "10 jobs on at most 5 threads in {:?}; meanwhile the loop ticked {} times (every 5 ms)",
            started.elapsed(),
            ticks.get()
        );
    });
}
