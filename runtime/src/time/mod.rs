//! Time: `sleep`, `sleep_until`, `timeout`, `interval`, `call_later`.
//!
//! All timers of a runtime live in one hierarchical timing wheel (`wheel.rs`) with 1 ms
//! resolution; a timer never fires early. The loop sleeps in `epoll_wait` until the next
//! deadline, so idle timers cost nothing.

mod call_later;
mod interval;
mod sleep;
mod timeout;
pub(crate) mod wheel;

use std::cell::RefCell;
use std::task::Waker;
use std::time::{Duration, Instant};

pub use call_later::{call_later, TimerHandle};
pub use interval::{interval, interval_at, Interval, MissedTickBehavior};
pub use sleep::{sleep, sleep_until, Sleep};
pub use timeout::{timeout, timeout_at, Elapsed, Timeout};

use wheel::Wheel;

/// A runtime's timers: the wheel plus its time origin.
pub(crate) struct Timers {
    start: Instant,
    wheel: RefCell<Wheel>,
    fired: RefCell<Vec<Waker>>,
}

impl Timers {
    pub(crate) fn new() -> Timers {
        Timers {
            start: Instant::now(),
            wheel: RefCell::new(Wheel::new()),
            fired: RefCell::new(Vec::new()),
        }
    }

    /// The first tick at or after `deadline` (rounding up: never early).
    fn tick_ceil(&self, deadline: Instant) -> u64 {
        let d = deadline.saturating_duration_since(self.start);
        let ms = d.as_millis() as u64;
        if !d.subsec_nanos().is_multiple_of(1_000_000) {
            ms + 1
        } else {
            ms
        }
    }

    /// Register a timer; `None` when the deadline already passed the wheel's time.
    pub(crate) fn insert(&self, deadline: Instant, waker: &Waker) -> Option<usize> {
        let tick = self.tick_ceil(deadline);
        let mut wheel = self.wheel.borrow_mut();
        if tick <= wheel.elapsed() {
            return None;
        }
        Some(wheel.insert(tick, waker.clone()))
    }

    /// Fired yet? If not, make sure `waker` is the one woken.
    pub(crate) fn poll(&self, key: usize, waker: &Waker) -> bool {
        let mut wheel = self.wheel.borrow_mut();
        if wheel.is_fired(key) {
            return true;
        }
        wheel.update_waker(key, waker);
        false
    }

    pub(crate) fn remove(&self, key: usize) {
        self.wheel.borrow_mut().remove(key);
    }

    /// How long the loop may sleep: until the next deadline; `None` when no timer is armed.
    pub(crate) fn next_timeout(&self) -> Option<Duration> {
        let next = self.wheel.borrow().next_deadline()?;
        let at = self.start + Duration::from_millis(next);
        Some(at.saturating_duration_since(Instant::now()))
    }

    /// Fire every timer whose tick has passed.
    pub(crate) fn fire_due(&self) {
        if self.wheel.borrow().armed() == 0 {
            return;
        }
        let now = Instant::now()
            .saturating_duration_since(self.start)
            .as_millis() as u64;
        let mut fired = self.fired.borrow_mut();
        self.wheel.borrow_mut().advance(now, &mut fired);
        for waker in fired.drain(..) {
            waker.wake();
        }
    }

    /// Drop all parked wakers (runtime shutdown).
    pub(crate) fn clear(&self) {
        let wakers = self.wheel.borrow_mut().clear_wakers();
        drop(wakers);
    }
}
