//! The runtime's clock: the OS's monotonic clock, or a paused (virtual) one for tests.
//!
//! While running it is `Instant::now()` — plus a fixed shift once it has been paused and
//! resumed, so it never jumps back. While paused it stands still; `advance` moves it, and the
//! loop moves it to the next timer deadline when nothing else can happen (auto-advance, see
//! `executor::Core::turn`). Timers are ticks of this clock, so paused time fires them in the
//! same deadline-then-insertion order as real time.

use std::cell::Cell;
use std::time::{Duration, Instant};

pub(crate) struct Clock {
    /// The timers' origin: tick 0 (ticks are whole milliseconds after it).
    start: Instant,
    /// `Some(t)`: paused at `t`.
    frozen: Cell<Option<Instant>>,
    /// `Some((real, virtual))`: resumed after a pause; now = virtual + (real elapsed).
    /// `None`: never paused, the clock is the OS's.
    shifted: Cell<Option<(Instant, Instant)>>,
}

impl Clock {
    pub(crate) fn new(start: Instant, paused: bool) -> Clock {
        Clock {
            start,
            // Paused from the start: at tick 0 exactly, so `sleep(10 ms)` is due at tick 10
            // and a jump to it lands on the deadline itself.
            frozen: Cell::new(paused.then_some(start)),
            shifted: Cell::new(None),
        }
    }

    #[inline]
    pub(crate) fn now(&self) -> Instant {
        if let Some(t) = self.frozen.get() {
            return t;
        }
        match self.shifted.get() {
            None => Instant::now(),
            Some((real, virt)) => virt + real.elapsed(),
        }
    }

    pub(crate) fn is_paused(&self) -> bool {
        self.frozen.get().is_some()
    }

    /// Stop the clock (no-op when paused already) at the next whole tick: at most 1 ms ahead
    /// of now, so whole-millisecond deadlines set while paused are met exactly by a jump.
    pub(crate) fn pause(&self) {
        if self.frozen.get().is_none() {
            let now = self.now();
            let since = now.saturating_duration_since(self.start);
            let sub_ms = since.subsec_nanos() % 1_000_000;
            let at = if sub_ms == 0 {
                now
            } else {
                now + Duration::from_nanos(u64::from(1_000_000 - sub_ms))
            };
            self.frozen.set(Some(at));
        }
    }

    /// Let the clock run again from where it stands (no-op when running).
    pub(crate) fn resume(&self) {
        if let Some(t) = self.frozen.take() {
            self.shifted.set(Some((Instant::now(), t)));
        }
    }

    /// Move a paused clock forward by `by`; `false` when it is not paused.
    pub(crate) fn advance(&self, by: Duration) -> bool {
        match self.frozen.get() {
            Some(t) => {
                self.frozen.set(Some(t.checked_add(by).unwrap_or(t)));
                true
            }
            None => false,
        }
    }

    /// Move a paused clock forward to `to` (never back).
    pub(crate) fn advance_to(&self, to: Instant) {
        if let Some(t) = self.frozen.get() {
            if to > t {
                self.frozen.set(Some(to));
            }
        }
    }
}
