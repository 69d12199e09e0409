//! Core runtime costs, corio vs tokio current_thread + LocalSet, side by side.
//!
//! `cargo bench --bench runtime`. Each case measures inside one `block_on` with
//! `iter_custom`, so runtime start-up is not part of the figure.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};

fn corio_rt() -> corio::Runtime {
    corio::Runtime::new().unwrap()
}

fn tokio_rt() -> (tokio::runtime::Runtime, tokio::task::LocalSet) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    (rt, tokio::task::LocalSet::new())
}

/// Run `body(iters)` inside corio's loop and return its own timing.
fn corio_iter<F, Fut>(c: &mut Criterion, group: &str, body: F)
where
    F: Fn(u64) -> Fut + Copy,
    Fut: std::future::Future<Output = Duration>,
{
    let rt = corio_rt();
    c.benchmark_group(group)
        .bench_function("corio", |b| b.iter_custom(|iters| rt.block_on(body(iters))));
}

fn tokio_iter<F, Fut>(c: &mut Criterion, group: &str, body: F)
where
    F: Fn(u64) -> Fut + Copy,
    Fut: std::future::Future<Output = Duration>,
{
    let (rt, local) = tokio_rt();
    c.benchmark_group(group).bench_function("tokio", |b| {
        b.iter_custom(|iters| local.block_on(&rt, body(iters)))
    });
}

fn spawn_join_one(c: &mut Criterion) {
    corio_iter(c, "spawn_join_one", |iters| async move {
        let t = Instant::now();
        for i in 0..iters {
            std::hint::black_box(corio::spawn(async move { i }).await.unwrap());
        }
        t.elapsed()
    });
    tokio_iter(c, "spawn_join_one", |iters| async move {
        let t = Instant::now();
        for i in 0..iters {
            std::hint::black_box(tokio::task::spawn_local(async move { i }).await.unwrap());
        }
        t.elapsed()
    });
}

const MANY: u64 = 100_000;

fn spawn_many_join_all(c: &mut Criterion) {
    let group_c = |c: &mut Criterion| {
        corio_iter(c, "spawn_100k_join_all", |iters| async move {
            let t = Instant::now();
            for _ in 0..iters {
                let hs: Vec<_> = (0..MANY).map(|i| corio::spawn(async move { i })).collect();
                for h in hs {
                    std::hint::black_box(h.await.unwrap());
                }
            }
            t.elapsed()
        })
    };
    group_c(c);
    tokio_iter(c, "spawn_100k_join_all", |iters| async move {
        let t = Instant::now();
        for _ in 0..iters {
            let hs: Vec<_> = (0..MANY)
                .map(|i| tokio::task::spawn_local(async move { i }))
                .collect();
            for h in hs {
                std::hint::black_box(h.await.unwrap());
            }
        }
        t.elapsed()
    });
}

fn yield_now(c: &mut Criterion) {
    corio_iter(c, "yield_now", |iters| async move {
        corio::spawn(async move {
            let t = Instant::now();
            for _ in 0..iters {
                corio::task::yield_now().await;
            }
            t.elapsed()
        })
        .await
        .unwrap()
    });
    tokio_iter(c, "yield_now", |iters| async move {
        tokio::task::spawn_local(async move {
            let t = Instant::now();
            for _ in 0..iters {
                tokio::task::yield_now().await;
            }
            t.elapsed()
        })
        .await
        .unwrap()
    });
}

const SLEEPERS: u64 = 100_000;

fn sleeps_registered_and_fired(c: &mut Criterion) {
    corio_iter(c, "sleep_100k_fire", |iters| async move {
        let t = Instant::now();
        for _ in 0..iters {
            let hs: Vec<_> = (0..SLEEPERS)
                .map(|_| corio::spawn(corio::time::sleep(Duration::from_millis(1))))
                .collect();
            for h in hs {
                h.await.unwrap();
            }
        }
        t.elapsed()
    });
    tokio_iter(c, "sleep_100k_fire", |iters| async move {
        let t = Instant::now();
        for _ in 0..iters {
            let hs: Vec<_> = (0..SLEEPERS)
                .map(|_| tokio::task::spawn_local(tokio::time::sleep(Duration::from_millis(1))))
                .collect();
            for h in hs {
                h.await.unwrap();
            }
        }
        t.elapsed()
    });
}

fn timeout_not_fired(c: &mut Criterion) {
    // The inner future is pending once, so the timer is really armed, then cancelled.
    corio_iter(c, "timeout_not_fired", |iters| async move {
        let t = Instant::now();
        for _ in 0..iters {
            let r = corio::time::timeout(Duration::from_secs(1), corio::task::yield_now()).await;
            std::hint::black_box(r.unwrap());
        }
        t.elapsed()
    });
    tokio_iter(c, "timeout_not_fired", |iters| async move {
        let t = Instant::now();
        for _ in 0..iters {
            let r = tokio::time::timeout(Duration::from_secs(1), tokio::task::yield_now()).await;
            std::hint::black_box(r.unwrap());
        }
        t.elapsed()
    });
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
}

criterion_group! {
    name = benches;
    config = config();
    targets = spawn_join_one, spawn_many_join_all, yield_now, sleeps_registered_and_fired, timeout_not_fired
}
criterion_main!(benches);
