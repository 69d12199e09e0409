//! `interval`: a periodic ticker, also a `futures_core::Stream`.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::sleep::{sleep_until, Sleep};

/// What an [`Interval`] does when ticks were missed (the task was busy past a deadline).
///
/// ```
/// use corio_runtime::time::{interval, MissedTickBehavior};
/// let mut iv = interval(std::time::Duration::from_millis(10));
/// iv.set_missed_tick_behavior(MissedTickBehavior::Skip);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks back to back, then keep the original schedule (the default).
    #[default]
    Burst,
    /// Start a fresh schedule one period after the late tick.
    Delay,
    /// Drop the missed ticks; the next tick is the next multiple of the period on the
    /// original schedule.
    Skip,
}

/// A ticker created by [`interval`] or [`interval_at`].
#[derive(Debug)]
pub struct Interval {
    period: Duration,
    sleep: Sleep,
    behavior: MissedTickBehavior,
}

/// Tick every `period`; the first tick completes at once.
///
/// # Panics
/// If `period` is zero.
///
/// ```
/// use std::time::Duration;
/// corio_runtime::run(async {
///     let mut iv = corio_runtime::time::interval(Duration::from_millis(2));
///     for _ in 0..3 {
///         iv.tick().await;
///     }
/// });
/// ```
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    interval_at(super::now(), period)
}

/// Tick every `period`, the first time at `start`.
///
/// # Panics
/// If `period` is zero.
///
/// ```
/// use std::time::{Duration, Instant};
/// let iv = corio_runtime::time::interval_at(Instant::now(), Duration::from_secs(1));
/// assert_eq!(iv.period(), Duration::from_secs(1));
/// ```
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(!period.is_zero(), "interval period must be non-zero");
    Interval {
        period,
        sleep: sleep_until(start),
        behavior: MissedTickBehavior::default(),
    }
}

impl Interval {
    /// Wait for the next tick; returns its scheduled instant.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # corio_runtime::run(async {
    /// let mut iv = corio_runtime::time::interval(Duration::from_millis(1));
    /// let first = iv.tick().await;
    /// let second = iv.tick().await;
    /// assert!(second >= first + Duration::from_millis(1));
    /// # });
    /// ```
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Poll form of [`tick`](Self::tick).
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if Pin::new(&mut self.sleep).poll(cx).is_pending() {
            return Poll::Pending;
        }
        let scheduled = self.sleep.deadline();
        let now = super::now();
        let next = if now > scheduled + self.period {
            match self.behavior {
                MissedTickBehavior::Burst => scheduled + self.period,
                MissedTickBehavior::Delay => now + self.period,
                MissedTickBehavior::Skip => {
                    let behind = (now - scheduled).as_nanos();
                    let periods = behind / self.period.as_nanos() + 1;
                    scheduled + self.period * periods.min(u32::MAX as u128) as u32
                }
            }
        } else {
            scheduled + self.period
        };
        self.sleep.reset(next);
        Poll::Ready(scheduled)
    }

    /// Restart the schedule: the next tick is one period from now.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let mut iv = corio_runtime::time::interval(Duration::from_secs(1));
    /// iv.reset();
    /// ```
    pub fn reset(&mut self) {
        self.sleep.reset(super::now() + self.period);
    }

    /// The period.
    ///
    /// ```
    /// # use std::time::Duration;
    /// assert_eq!(corio_runtime::time::interval(Duration::from_secs(2)).period(), Duration::from_secs(2));
    /// ```
    pub fn period(&self) -> Duration {
        self.period
    }

    /// The missed-tick policy.
    ///
    /// ```
    /// use corio_runtime::time::{interval, MissedTickBehavior};
    /// let iv = interval(std::time::Duration::from_secs(1));
    /// assert_eq!(iv.missed_tick_behavior(), MissedTickBehavior::Burst);
    /// ```
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.behavior
    }

    /// Set the missed-tick policy.
    ///
    /// ```
    /// use corio_runtime::time::{interval, MissedTickBehavior};
    /// let mut iv = interval(std::time::Duration::from_secs(1));
    /// iv.set_missed_tick_behavior(MissedTickBehavior::Delay);
    /// ```
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.behavior = behavior;
    }
}

impl futures_core::Stream for Interval {
    type Item = Instant;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }
}
