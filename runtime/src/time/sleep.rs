//! `sleep` and `sleep_until`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::Timers;
use crate::context;
use crate::coop;

/// Wait until `duration` has passed (at 1 ms resolution, never early).
///
/// ```
/// use std::time::{Duration, Instant};
/// corio_runtime::run(async {
///     let t = Instant::now();
///     corio_runtime::time::sleep(Duration::from_millis(5)).await;
///     assert!(t.elapsed() >= Duration::from_millis(5));
/// });
/// ```
#[inline]
pub fn sleep(duration: Duration) -> Sleep {
    sleep_until(far_deadline(super::now(), duration))
}

/// Wait until `deadline`. A deadline that has passed completes at once.
///
/// ```
/// use std::time::{Duration, Instant};
/// corio_runtime::run(async {
///     corio_runtime::time::sleep_until(Instant::now() + Duration::from_millis(2)).await;
/// });
/// ```
#[inline]
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        entry: None,
    }
}

/// `start + duration`, or about 30 years from `start` when that overflows `Instant`.
#[inline]
pub(crate) fn far_deadline(start: Instant, duration: Duration) -> Instant {
    start
        .checked_add(duration)
        .unwrap_or_else(|| start + Duration::from_secs(86_400 * 365 * 30))
}

/// The future of [`sleep`] / [`sleep_until`]. Registers its timer on first poll; dropping it
/// cancels the timer in O(1). It is `Unpin`.
pub struct Sleep {
    deadline: Instant,
    entry: Option<(Rc<Timers>, usize)>,
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("registered", &self.entry.is_some())
            .finish()
    }
}

impl Sleep {
    /// When this sleep completes.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let at = Instant::now() + Duration::from_secs(1);
    /// assert_eq!(corio_runtime::time::sleep_until(at).deadline(), at);
    /// ```
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Has the deadline passed (by the clock, whether or not the timer fired yet)?
    ///
    /// ```
    /// let s = corio_runtime::time::sleep(std::time::Duration::ZERO);
    /// assert!(s.is_elapsed());
    /// ```
    pub fn is_elapsed(&self) -> bool {
        super::now() >= self.deadline
    }

    /// Move the deadline; the sleep can be awaited again.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// corio_runtime::run(async {
    ///     let mut s = corio_runtime::time::sleep(Duration::from_secs(3600));
    ///     s.reset(Instant::now());
    ///     (&mut s).await;
    /// });
    /// ```
    pub fn reset(&mut self, deadline: Instant) {
        self.cancel();
        self.deadline = deadline;
    }

    fn cancel(&mut self) {
        if let Some((timers, key)) = self.entry.take() {
            timers.remove(key);
        }
    }
}

impl Future for Sleep {
    type Output = ();

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // Every completed wait draws from the task's budget (see `coop`).
        coop::poll_charged(cx, |cx| self.poll_uncharged(cx))
    }
}

impl Sleep {
    /// The poll without the budget charge, for `Timeout`: its deadline must be seen even when
    /// the future it guards used up the budget.
    pub(crate) fn poll_uncharged(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match &self.entry {
            Some((timers, key)) => {
                if timers.poll(*key, cx.waker()) {
                    self.cancel();
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            }
            None => {
                let timers = context::expect_core("time::sleep", |core| core.timers().clone());
                match timers.insert(self.deadline, cx.waker()) {
                    None => Poll::Ready(()),
                    Some(key) => {
                        self.entry = Some((timers, key));
                        Poll::Pending
                    }
                }
            }
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.cancel();
    }
}
