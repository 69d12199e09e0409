//! `call_later`: run a callback after a delay, cancellable (Python's `threading.Timer`).

use std::time::Duration;

use super::sleep::sleep;
use crate::task::JoinHandle;

/// Run `callback` on the event loop after `delay`, unless cancelled first.
///
/// Like `threading.Timer(delay, callback).start()`. Dropping the handle does not cancel:
/// the callback still runs.
///
/// # Panics
/// Outside a corio runtime.
///
/// ```
/// use std::{cell::Cell, rc::Rc, time::Duration};
/// use corio_runtime::time::{call_later, sleep};
/// corio_runtime::run(async {
///     let hits = Rc::new(Cell::new(0));
///     let h = hits.clone();
///     let _t = call_later(Duration::from_millis(1), move || h.set(h.get() + 1));
///     let h = hits.clone();
///     let cancelled = call_later(Duration::from_millis(1), move || h.set(h.get() + 10));
///     cancelled.cancel();
///     sleep(Duration::from_millis(10)).await;
///     assert_eq!(hits.get(), 1);
/// });
/// ```
#[track_caller]
pub fn call_later<F>(delay: Duration, callback: F) -> TimerHandle
where
    F: FnOnce() + 'static,
{
    // The sleep is created here, not inside the task: the delay counts from this call, not
    // from whenever the spawned task first gets polled.
    let timer = sleep(delay);
    let task = crate::task::spawn(async move {
        timer.await;
        callback();
    });
    TimerHandle { task }
}

/// Handle of a [`call_later`] timer.
#[derive(Debug)]
pub struct TimerHandle {
    task: JoinHandle<()>,
}

impl TimerHandle {
    /// Cancel the timer: the callback will not run unless it already has.
    ///
    /// ```
    /// # corio_runtime::run(async {
    /// let t = corio_runtime::time::call_later(std::time::Duration::from_secs(5), || unreachable!());
    /// t.cancel();
    /// # });
    /// ```
    pub fn cancel(&self) {
        self.task.abort();
    }

    /// Has the callback run (or been cancelled)?
    ///
    /// ```
    /// # corio_runtime::run(async {
    /// let t = corio_runtime::time::call_later(std::time::Duration::from_secs(5), || ());
    /// assert!(!t.is_finished());
    /// # });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}
