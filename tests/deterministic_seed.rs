//! `Builder::seed`: shuffled but reproducible scheduling.

use std::cell::RefCell;
use std::rc::Rc;

use corio::task::yield_now;

/// Eight tasks, each yielding five times; returns the order in which steps ran.
fn interleaving(seed: Option<u64>) -> Vec<(u32, u32)> {
    let mut builder = corio::Runtime::builder();
    if let Some(seed) = seed {
        builder = builder.seed(seed);
    }
    let rt = builder.build().unwrap();
    rt.block_on(async {
        let log = Rc::new(RefCell::new(Vec::new()));
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let log = log.clone();
                corio::spawn(async move {
                    for step in 0..5 {
                        log.borrow_mut().push((t, step));
                        yield_now().await;
                    }
                })
            })
            .collect();
        for h in handles {
            h.await.unwrap();
        }
        log.borrow().clone()
    })
}

#[test]
fn the_same_seed_gives_the_same_interleaving_twice() {
    for seed in [1, 7, 12345] {
        assert_eq!(interleaving(Some(seed)), interleaving(Some(seed)));
    }
}

#[test]
fn a_different_seed_gives_a_different_interleaving() {
    let a = interleaving(Some(1));
    let b = interleaving(Some(2));
    assert_ne!(a, b);
    assert_eq!(a.len(), 40);
    assert_eq!(b.len(), 40);
}

#[test]
fn a_seeded_schedule_is_not_fifo_but_unseeded_is() {
    let fifo = interleaving(None);
    let expected: Vec<(u32, u32)> = (0..5).flat_map(|s| (0..8).map(move |t| (t, s))).collect();
    assert_eq!(fifo, expected);
    assert_ne!(interleaving(Some(99)), fifo);
}

#[test]
fn every_step_still_runs_under_any_seed() {
    for seed in 0..50 {
        let mut log = interleaving(Some(seed));
        log.sort();
        let all: Vec<(u32, u32)> = (0..8).flat_map(|t| (0..5).map(move |s| (t, s))).collect();
        assert_eq!(log, all, "seed {seed}");
    }
}
