//! corio vs tokio current_thread + LocalSet, side by side in one criterion run.
//!
//! `cargo bench --bench micro` (filter: `cargo bench --bench micro -- ping_pong`). The cases
//! are the very ones `corio-bench micro` runs (shared source, `bench/src/micro/cases.rs`); each
//! times only the loop inside `block_on`, so runtime start-up is not measured. Compare the
//! `corio` and `tokio` lines of a case: their ratio is the figure that holds on a noisy machine.

#[path = "../bench/src/micro/cases.rs"]
#[allow(dead_code)] // the idle-memory helpers are used by corio-bench only
mod cases;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};

fn micro(c: &mut Criterion) {
    for case in cases::CASES {
        let mut group = c.benchmark_group(case.name);
        // Cases whose one iteration is a 100k-task batch need fewer samples.
        if case.name.contains("100k") {
            group.sample_size(10);
        }
        group.bench_function("corio", |b| b.iter_custom(case.corio));
        group.bench_function("tokio", |b| b.iter_custom(case.tokio));
        group.finish();
    }
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
}

criterion_group! {
    name = benches;
    config = config();
    targets = micro
}
criterion_main!(benches);
