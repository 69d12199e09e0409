//! Helpers of the cancel-at-every-poll tests (tests/cancel_at_every_poll.rs,
//! tests/cancel_at_every_poll_net.rs, tests/shard_channel.rs): pacing from a seed, waits
//! bounded by `STRANDED`, and the other tasks of a trial.

use std::cell::RefCell;
use std::fmt::Display;
use std::future::Future;
use std::panic::resume_unwind;
use std::time::Duration;

use corio::task::{yield_now, JoinHandle};
use corio::time::timeout;
use corio_runtime::testing::DropPoint;

/// How long one step of a trial (a wait, a task of the trial) may take before it counts as
/// stranded: an item, permit, byte or wake-up lost.
pub const STRANDED: Duration = Duration::from_secs(5);

/// Yield `n` times.
pub async fn turns(n: u64) {
    for _ in 0..n {
        yield_now().await;
    }
}

/// 0..=3 turns, mixed from a seed, a task and a trial (the drop point).
pub fn jitter(seed: u64, task: u64, point: DropPoint) -> u64 {
    let step = point.polls() as u64 * 2 + point.is_woken() as u64;
    let mut x = seed
        .wrapping_add(1)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(task.wrapping_mul(0xBF58_476D_1CE4_E5B9))
        .wrapping_add(step.wrapping_mul(0x94D0_49BB_1331_11EB));
    x ^= x >> 29;
    x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 62
}

/// Await `future` within `STRANDED`, or panic saying what was stranded.
pub async fn within_or_stranded<F: Future>(what: impl Display, future: F) -> F::Output {
    within_limit(what, STRANDED, future).await
}

/// Await `future` within `limit`, or panic saying what was stranded.
pub async fn within_limit<F: Future>(what: impl Display, limit: Duration, future: F) -> F::Output {
    match timeout(limit, future).await {
        Ok(out) => out,
        Err(_) => panic!("stranded: {what} (not done within {limit:?})"),
    }
}

/// Yield until `cond` holds, or panic (naming `what`) after `STRANDED`.
pub async fn until_or_stranded(what: impl Display, cond: impl Fn() -> bool) {
    let wait = async {
        while !cond() {
            yield_now().await;
        }
    };
    within_or_stranded(format_args!("waiting until {what}"), wait).await
}

/// Await a task of a trial within `STRANDED`; re-raise its panic.
pub async fn join_or_stranded<T>(what: impl Display, task: JoinHandle<T>) -> T {
    join_within(what, STRANDED, task).await
}

/// Await a task of a trial within `limit`; re-raise its panic.
pub async fn join_within<T>(what: impl Display, limit: Duration, task: JoinHandle<T>) -> T {
    match within_limit(&what, limit, task).await {
        Ok(out) => out,
        Err(e) if e.is_panic() => resume_unwind(e.into_panic()),
        Err(e) => panic!("{what}: the task failed: {e}"),
    }
}

/// The other tasks of one trial: lock holders, waiters queued behind the future under test,
/// producers, connecting clients. Every one of them must finish after each drop.
#[derive(Default)]
pub struct Others(RefCell<Vec<JoinHandle<()>>>);

impl Others {
    /// Spawn a task of the trial.
    pub fn spawn(&self, task: impl Future<Output = ()> + 'static) {
        self.0.borrow_mut().push(corio::spawn(task));
    }

    /// Wait for every task of the trial, each within `STRANDED`; re-raise their panics.
    pub async fn finish(&self, point: DropPoint) {
        self.finish_within(point, STRANDED).await;
    }

    /// Like [`finish`](Others::finish), each task within `limit`.
    pub async fn finish_within(&self, point: DropPoint, limit: Duration) {
        let tasks = self.0.take();
        for task in tasks {
            let what = format!("dropped {point}: a task of the trial");
            join_within(what, limit, task).await;
        }
    }
}
