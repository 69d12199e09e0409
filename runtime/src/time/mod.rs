//! Time: `sleep`, `sleep_until`, `timeout`, `interval`, `call_later`, and the runtime's
//! clock (`now`, `pause`, `resume`, `advance`).
//!
//! All timers of a runtime live in one hierarchical timing wheel (`wheel.rs`) with 1 ms
//! resolution; a timer never fires early. The loop sleeps in `epoll_wait` until the next
//! deadline, so idle timers cost nothing.
//!
//! Every deadline is an instant of the runtime's clock ([`now`]): the OS's monotonic clock,
//! or, for tests, a paused one that moves only by [`advance`] and by *auto-advance* — when no
//! task is ready and a look at the OS found no I/O, the loop moves it straight to the next
//! timer deadline, so an hour of sleeps takes no wall time. See [`pause`].

mod call_later;
mod clock;
mod control;
mod interval;
mod sleep;
mod timeout;
pub(crate) mod wheel;

use std::cell::RefCell;
use std::task::Waker;
use std::time::{Duration, Instant};

pub use call_later::{call_later, TimerHandle};
pub use control::{advance, now, pause, resume};
pub use interval::{interval, interval_at, Interval, MissedTickBehavior};
pub use sleep::{sleep, sleep_until, Sleep};
pub use timeout::{timeout, timeout_at, Elapsed, Timeout};

use wheel::Wheel;

/// A runtime's timers: the wheel, its time origin and the clock it runs on.
pub(crate) struct Timers {
    start: Instant,
    pub(crate) clock: clock::Clock,
    wheel: RefCell<Wheel>,
    fired: RefCell<Vec<Waker>>,
    /// Timers fired so far (metrics).
    fired_count: std::cell::Cell<u64>,
}

impl Timers {
    pub(crate) fn new(start_paused: bool) -> Timers {
        let start = Instant::now();
        Timers {
            start,
            clock: clock::Clock::new(start, start_paused),
            wheel: RefCell::new(Wheel::new()),
            fired: RefCell::new(Vec::new()),
            fired_count: std::cell::Cell::new(0),
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

    /// The runtime's clock.
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        self.clock.now()
    }

    /// The instant of the next armed timer's tick; `None` when no timer is armed.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let next = self.wheel.borrow().next_deadline()?;
        Some(self.start + Duration::from_millis(next))
    }

    /// How long the loop may sleep: until the next deadline; `None` when no timer is armed.
    pub(crate) fn next_timeout(&self) -> Option<Duration> {
        Some(self.next_deadline()?.saturating_duration_since(self.now()))
    }

    /// Fire every timer whose tick has passed.
    pub(crate) fn fire_due(&self) {
        if self.wheel.borrow().armed() == 0 {
            return;
        }
        let now = self.now().saturating_duration_since(self.start).as_millis() as u64;
        let mut fired = self.fired.borrow_mut();
        self.wheel.borrow_mut().advance(now, &mut fired);
        self.fired_count
            .set(self.fired_count.get() + fired.len() as u64);
        for waker in fired.drain(..) {
            waker.wake();
        }
    }

    /// Timers fired so far.
    pub(crate) fn fired_count(&self) -> u64 {
        self.fired_count.get()
    }

    /// Drop all parked wakers (runtime shutdown).
    pub(crate) fn clear(&self) {
        let wakers = self.wheel.borrow_mut().clear_wakers();
        drop(wakers);
    }
}
