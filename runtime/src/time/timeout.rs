//! `timeout`: bound how long a future may take.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::sleep::{far_deadline, sleep_until, Sleep};

/// Run `future`, giving up after `duration` with [`Elapsed`]. The future is polled first, so
/// one that is ready at once never touches the timer or the clock: `duration` counts from the
/// first poll that finds it pending (never earlier than this call, so never early). On `Elapsed` the future is dropped
/// (corio's sync primitives lose nothing when that happens).
///
/// ```
/// use std::time::Duration;
/// use corio_runtime::time::{sleep, timeout};
/// corio_runtime::run(async {
///     assert_eq!(timeout(Duration::from_secs(1), async { 7 }).await, Ok(7));
///     assert!(timeout(Duration::from_millis(1), sleep(Duration::from_secs(60))).await.is_err());
/// });
/// ```
#[inline]
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    // The deadline is taken at the first poll that finds `future` pending: a future that is
    // ready at once reads no clock, and a later start can only make the timeout later,
    // never early. Awaited where it is made (the usual case) that is the same instant.
    Timeout {
        future,
        deadline: Deadline::After(duration),
    }
}

/// Like [`timeout`], with an absolute deadline.
///
/// ```
/// use std::time::{Duration, Instant};
/// corio_runtime::run(async {
///     let r = corio_runtime::time::timeout_at(Instant::now() + Duration::from_secs(1), async { 1 }).await;
///     assert_eq!(r, Ok(1));
/// });
/// ```
#[inline]
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    Timeout {
        future,
        deadline: Deadline::At(sleep_until(deadline)),
    }
}

/// The future of [`timeout`].
#[derive(Debug)]
pub struct Timeout<F> {
    future: F,
    deadline: Deadline,
}

/// `timeout(d)` before its first pending poll, then (like `timeout_at`) a registered sleep.
#[derive(Debug)]
enum Deadline {
    After(Duration),
    At(Sleep),
}

impl<F> Timeout<F> {
    /// The wrapped future.
    ///
    /// ```
    /// let t = corio_runtime::time::timeout(std::time::Duration::from_secs(1), async { 3 });
    /// let _inner = t.into_inner();
    /// ```
    pub fn into_inner(self) -> F {
        self.future
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `future` is structurally pinned (never moved out while pinned; into_inner
        // takes `self` by value, which requires it unpinned); `deadline` is Unpin, not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        if let Poll::Ready(out) = future.poll(cx) {
            return Poll::Ready(Ok(out));
        }
        if let Deadline::After(d) = this.deadline {
            this.deadline = Deadline::At(sleep_until(far_deadline(super::now(), d)));
        }
        let Deadline::At(sleep) = &mut this.deadline else {
            unreachable!("the deadline was set just above")
        };
        // Uncharged: a future that spends the whole budget every poll (a flooded socket) must
        // still time out; a charged check would be cut short by that same empty budget.
        match Pin::new(sleep).poll_uncharged(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The error of a [`timeout`] whose deadline passed first.
///
/// ```
/// use std::time::Duration;
/// corio_runtime::run(async {
///     let never = std::future::pending::<()>();
///     let err = corio_runtime::time::timeout(Duration::from_millis(1), never).await.unwrap_err();
///     assert_eq!(err.to_string(), "deadline has elapsed");
///     let io: std::io::Error = err.into();
///     assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl Error for Elapsed {}

impl From<Elapsed> for io::Error {
    fn from(e: Elapsed) -> io::Error {
        io::Error::new(io::ErrorKind::TimedOut, e)
    }
}
