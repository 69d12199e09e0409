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
