//! Test and fuzzing support, behind the `testing` feature: not part of the stable API.
//!
//! Enable it from a test crate with
//! `corio-runtime = { path = "runtime", features = ["testing"] }` in `[dev-dependencies]`.

/// The runtime's hierarchical timing wheel, exposed so fuzzers can check it against a
/// model. Time is in ticks (ms); `advance(now, &mut fired)` collects the wakers of due timers.
///
/// ```
/// use corio_runtime::testing::TimerWheel;
/// let mut wheel = TimerWheel::new();
/// let waker = std::task::Waker::noop().clone();
/// let key = wheel.insert(5, waker);
/// let mut fired = Vec::new();
/// wheel.advance(5, &mut fired);
/// assert!(wheel.is_fired(key));
/// assert_eq!(fired.len(), 1);
/// ```
pub use crate::time::wheel::Wheel as TimerWheel;

mod explore;
pub use explore::{
    cancel_at_each_poll, explore, poll_then_drop, DropPoint, Explore, Failure, MAX_POLLS,
    SEEDS_ENV, SEED_ENV,
};

/// How many polls of the current runtime were cut short by the cooperative budget so far
/// (the counter behind `RuntimeMetrics::budget_forced_yield_count`).
///
/// # Panics
/// Outside a corio runtime.
///
/// ```
/// corio_runtime::run(async {
///     assert_eq!(corio_runtime::testing::budget_forced_yield_count(), 0);
/// });
/// ```
#[track_caller]
pub fn budget_forced_yield_count() -> u64 {
    crate::context::expect_core("testing::budget_forced_yield_count", |core| {
        core.forced_yield_count()
    })
}
