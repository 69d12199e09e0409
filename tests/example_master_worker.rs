//! The `master_worker` example's core (`master`): worker shards fed round-robin through one
//! task channel each, answers back over one shared result channel.

#[allow(dead_code)]
#[path = "../examples/master_worker.rs"]
mod master_worker;

use std::time::Duration;

use master_worker::master;

#[test]
fn every_task_is_answered_once_by_the_worker_it_was_dealt_to() {
    const WORKERS: usize = 3;
    let tasks: Vec<u64> = (0..12u64).map(|k| 1000 + k * 7).collect();
    let answers = corio::run(master(WORKERS, &tasks, Duration::ZERO, false)).unwrap();
    assert_eq!(answers.len(), tasks.len());
    for (k, &n) in tasks.iter().enumerate() {
        let mine: Vec<_> = answers.iter().filter(|a| a.n == n).collect();
        assert_eq!(mine.len(), 1, "task {n}: {answers:?}");
        assert_eq!(mine[0].line, format!("{n} * {n} = {}", n * n));
        // Round-robin: task k goes to worker k mod N.
        assert_eq!(mine[0].shard, k % WORKERS, "task {k} ({n})");
    }
}

#[test]
fn one_worker_answers_in_the_order_it_was_given() {
    let tasks = [5u64, 3, 9, 1];
    let answers = corio::run(master(1, &tasks, Duration::ZERO, false)).unwrap();
    let order: Vec<u64> = answers.iter().map(|a| a.n).collect();
    assert_eq!(order, tasks);
    assert!(answers.iter().all(|a| a.shard == 0));
}

#[test]
fn more_tasks_than_the_channels_hold_wait_instead_of_failing() {
    // 40 tasks into 2 channels of capacity 2: the master's sends wait for the workers.
    let tasks: Vec<u64> = (0..40).collect();
    let answers = corio::run(master(2, &tasks, Duration::from_millis(1), false)).unwrap();
    let mut got: Vec<u64> = answers.iter().map(|a| a.n).collect();
    got.sort_unstable();
    assert_eq!(got, tasks);
}
