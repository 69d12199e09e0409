//! `shard::Pool`: one loop per OS thread, outputs in shard order, a panic stops the pool.

use std::collections::HashSet;
use std::rc::Rc;
use std::time::Duration;

use corio::shard::{self, Pool};

#[test]
fn the_factory_runs_once_on_each_of_n_distinct_threads_outputs_in_shard_order() {
    let pool = Pool::builder().shards(4).pin(false).build().unwrap();
    assert_eq!(pool.len(), 4);
    let out = pool
        .run(|id| async move {
            // Finish in reverse order, so order of completion differs from shard order.
            corio::time::sleep(Duration::from_millis(5 * (4 - id.index() as u64))).await;
            let local = Rc::new(id.index()); // !Send
            (*local, std::thread::current().id(), shard::current())
        })
        .unwrap();
    let indices: Vec<usize> = out.iter().map(|o| o.0).collect();
    assert_eq!(indices, [0, 1, 2, 3]);
    let threads: HashSet<_> = out.iter().map(|o| o.1).collect();
    assert_eq!(threads.len(), 4, "four distinct threads");
    assert!(!threads.contains(&std::thread::current().id()));
    for (i, o) in out.iter().enumerate() {
        assert_eq!(
            o.2.map(|s| s.index()),
            Some(i),
            "shard::current on shard {i}"
        );
    }
    assert_eq!(shard::current(), None);
}

#[test]
fn a_panicking_shard_stops_the_others_and_is_named() {
    let pool = Pool::builder().shards(3).pin(false).build().unwrap();
    let err = pool
        .run(|id| async move {
            if id.index() == 2 {
                corio::time::sleep(Duration::from_millis(5)).await;
                panic!("shard two failed");
            }
            // The others would run for an hour: the panic must stop them.
            corio::time::sleep(Duration::from_secs(3600)).await;
        })
        .unwrap_err();
    assert_eq!(err.shard(), 2);
    assert!(err.to_string().contains("shard 2"), "{err}");
    assert!(err.to_string().contains("shard two failed"), "{err}");
    let payload = err.into_panic();
    assert_eq!(*payload.downcast_ref::<&str>().unwrap(), "shard two failed");
    // The pool is still usable afterwards.
    assert_eq!(pool.run(|id| async move { id.index() }).unwrap(), [0, 1, 2]);
}

#[test]
fn handles_stay_valid_across_runs_and_spawn_onto_their_shard() {
    let pool = Pool::builder().shards(2).pin(false).build().unwrap();
    let first = pool.run(|id| async move { id.index() }).unwrap();
    assert_eq!(first, [0, 1]);
    let handles: Vec<_> = (0..2).map(|i| pool.handle(i)).collect();
    let out = pool
        .run(move |id| {
            let other = handles[1 - id.index()].clone();
            async move {
                // Ask the other shard which shard it is.
                other
                    .spawn(|| async { shard::current().unwrap().index() })
                    .await
                    .unwrap()
            }
        })
        .unwrap();
    assert_eq!(out, [1, 0]);
}

#[test]
#[should_panic(expected = "shard::Pool::handle(5) on a pool of 2 shards")]
fn a_handle_past_the_end_panics_with_the_pool_size() {
    let pool = Pool::builder().shards(2).pin(false).build().unwrap();
    let _ = pool.handle(5);
}

#[cfg(target_os = "linux")]
#[test]
fn pinned_shards_run_on_their_own_cpu() {
    fn allowed_cpus() -> String {
        let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
        let line = status
            .lines()
            .find(|l| l.starts_with("Cpus_allowed_list:"))
            .unwrap();
        line["Cpus_allowed_list:".len()..].trim().to_owned()
    }
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let n = cpus.min(2);
    let pool = Pool::builder().shards(n).pin(true).build().unwrap();
    let seen = pool.run(|_| async { allowed_cpus() }).unwrap();
    // Each pinned shard may run on exactly one CPU, and no two share one.
    for s in &seen {
        assert!(s.parse::<usize>().is_ok(), "one CPU, got {s:?}");
    }
    let distinct: HashSet<_> = seen.iter().collect();
    assert_eq!(distinct.len(), n);
}
