//! The runtime's clock as users see it: `now`, and `pause` / `resume` / `advance` for tests.

use std::time::{Duration, Instant};

use crate::context;

/// The current instant of the runtime's clock: `Instant::now()` unless time was paused
/// (outside a runtime, `Instant::now()`). Every corio deadline — `sleep`, `timeout`,
/// `interval`, `call_later` — is measured on it, so code that computes its own deadlines
/// should use it too, and then runs unchanged under paused time.
///
/// ```
/// use std::time::Duration;
/// let rt = corio_runtime::Runtime::builder().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let t0 = corio_runtime::time::now();
///     corio_runtime::time::sleep(Duration::from_secs(3600)).await; // no wall time passes
///     assert!(corio_runtime::time::now() - t0 >= Duration::from_secs(3600));
/// });
/// ```
#[inline]
pub fn now() -> Instant {
    context::with_core(|core| core.timers().now()).unwrap_or_else(Instant::now)
}

/// Stop the current runtime's clock. From now on time moves only by [`advance`] and, unless
/// the runtime was built with `Builder::auto_advance(false)`, by *auto-advance*: when no
/// task is ready, no I/O is ready (the loop looks at the OS without blocking first) and no
/// `spawn_blocking` job is in flight, the clock jumps to the next timer deadline and fires
/// it. While sockets are registered, the loop first gives I/O already in flight in the
/// kernel (a loopback write's wake-up, an ACK) up to 1 ms of real time to land, so a loaded
/// machine's late softirq does not let the clock leap past it; a blocking job holds the clock
/// until it is done. Pausing a paused clock does nothing.
///
/// # Panics
/// Outside a corio runtime.
///
/// ```
/// use std::time::Duration;
/// corio_runtime::run(async {
///     corio_runtime::time::pause();
///     let t0 = corio_runtime::time::now();
///     corio_runtime::time::sleep(Duration::from_secs(60)).await; // instant: auto-advance
///     assert_eq!(corio_runtime::time::now() - t0, Duration::from_secs(60));
///     corio_runtime::time::resume();
/// });
/// ```
#[track_caller]
pub fn pause() {
    context::expect_core("time::pause", |core| core.timers().clock.pause());
}

/// Let the current runtime's clock run again, from the instant it stands at (it never jumps
/// back). Resuming a running clock does nothing.
///
/// # Panics
/// Outside a corio runtime.
///
/// ```
/// corio_runtime::run(async {
///     corio_runtime::time::pause();
///     corio_runtime::time::resume();
///     corio_runtime::time::sleep(std::time::Duration::from_millis(1)).await; // real time
/// });
/// ```
#[track_caller]
pub fn resume() {
    context::expect_core("time::resume", |core| core.timers().clock.resume());
}

/// Move the paused clock forward by `duration`, fire every timer now due (in deadline, then
/// insertion order) and yield, so the tasks they woke run before this returns.
///
/// # Panics
/// Outside a corio runtime, or when time is not paused (see [`pause`],
/// `Builder::start_paused`).
///
/// ```
/// use std::{cell::Cell, rc::Rc, time::Duration};
/// let rt = corio_runtime::Runtime::builder()
///     .start_paused(true)
///     .auto_advance(false)
///     .build()
///     .unwrap();
/// rt.block_on(async {
///     let fired = Rc::new(Cell::new(false));
///     let f = fired.clone();
///     corio_runtime::spawn(async move {
///         corio_runtime::time::sleep(Duration::from_secs(10)).await;
///         f.set(true);
///     });
///     corio_runtime::task::yield_now().await; // the sleeper starts and arms its timer
///     corio_runtime::time::advance(Duration::from_secs(9)).await;
///     assert!(!fired.get());
///     corio_runtime::time::advance(Duration::from_secs(1)).await;
///     assert!(fired.get());
/// });
/// ```
pub async fn advance(duration: Duration) {
    context::expect_core("time::advance", |core| {
        if !core.timers().clock.advance(duration) {
            panic!(
                "time::advance needs paused time: call time::pause() first, or build the \
                 runtime with Builder::start_paused(true)"
            );
        }
        core.timers().fire_due();
    });
    crate::task::yield_now().await;
}
