//! Tasks, timers and the blocking pool at work on one thread.
//!
//! Run: `cargo run --release --example tasks`
//!
//! 1. 100,000 tasks each sleep 50-150 ms: with threads that would be 100,000 stacks; here
//!    it is one thread and a timing wheel, and the whole batch takes ~150 ms.
//! 2. A CPU-bound job goes to `spawn_blocking` while a ticker task keeps ticking on the loop,
//!    showing the loop is never blocked.
//! 3. A JoinSet collects results in completion order.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use corio::task::JoinSet;
use corio::time::{interval, sleep};

fn main() {
    corio::run(async {
        // 1. Many sleeping tasks.
        let n = 100_000u64;
        let started = Instant::now();
        let woke = Rc::new(Cell::new(0u64));
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let woke = woke.clone();
                corio::spawn(async move {
                    sleep(Duration::from_millis(50 + (i * 7919) % 100)).await;
                    woke.set(woke.get() + 1);
                })
            })
            .collect();
        println!(
            "spawned {n} tasks in {:?}; live tasks: {}",
            started.elapsed(),
            corio::task::active_count()
        );
        for h in handles {
            h.await.unwrap();
        }
        println!(
            "{} tasks slept 50-150 ms each and woke; all done after {:?} on one thread",
            woke.get(),
            started.elapsed()
        );

        // 2. CPU-bound work on the blocking pool while the loop keeps ticking.
        let ticks = Rc::new(Cell::new(0u32));
        let t = ticks.clone();
        let ticker = corio::spawn(async move {
            let mut iv = interval(Duration::from_millis(10));
            loop {
                iv.tick().await;
                t.set(t.get() + 1);
            }
        });
        let started = Instant::now();
        let primes = corio::spawn_blocking(|| (2..200_000u32).filter(|&k| is_prime(k)).count())
            .await
            .unwrap();
        ticker.abort();
        println!(
            "blocking pool counted {primes} primes below 200000 in {:?}; meanwhile the loop ticked {} times",
            started.elapsed(),
            ticks.get()
        );

        // 3. Results in completion order.
        let mut set = JoinSet::new();
        for (name, ms) in [("slow", 30u64), ("fast", 5), ("medium", 15)] {
            set.spawn(async move {
                sleep(Duration::from_millis(ms)).await;
                name
            });
        }
        let mut order = Vec::new();
        while let Some(r) = set.join_next().await {
            order.push(r.unwrap());
        }
        println!("JoinSet finished in order: {}", order.join(", "));
    });
}

fn is_prime(n: u32) -> bool {
    n >= 2
        && (2..)
            .take_while(|d| d * d <= n)
            .all(|d| !n.is_multiple_of(d))
}
