//! `Timer`: hyper's `rt::Timer` on corio's timing wheel, and its `Send + Sync` `Sleep`.

use std::fmt;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

/// hyper's timer (header read timeouts, HTTP/2 keep-alive pings, ...) on corio's wheel: pass it
/// to a connection builder with `.timer(Timer)`. Deadlines are on corio's clock
/// ([`corio_runtime::time::now`]), so hyper's timeouts follow paused time in tests.
///
/// ```
/// use corio_compat::hyper::Timer;
/// use std::time::Duration;
///
/// let rt = corio_runtime::Runtime::builder().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let t0 = corio_runtime::time::now();
///     hyper::rt::Timer::sleep(&Timer, Duration::from_secs(30)).await; // no wall time passes
///     assert!(corio_runtime::time::now() - t0 >= Duration::from_secs(30));
/// });
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Timer;

impl hyper::rt::Timer for Timer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(Sleep::new(corio_runtime::time::sleep(duration)))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(Sleep::new(corio_runtime::time::sleep_until(deadline)))
    }

    fn now(&self) -> Instant {
        corio_runtime::time::now()
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<Sleep>() {
            // Move the deadline in place: the wheel entry is cancelled, no new allocation.
            Some(ours) => ours.get_mut().reset(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

/// The future [`Timer`] hands to hyper: a corio [`Sleep`](corio_runtime::time::Sleep) that
/// hyper may treat as `Send + Sync`.
///
/// corio's sleep is `!Send`: once polled it holds an `Rc` to its runtime's timers. This one is
/// bound to the thread that first polls it; from then on polling, resetting or dropping it on
/// any other thread **panics** with a message saying so, and never touches the timers there:
///
/// * poll or reset on a foreign thread: panic before the inner sleep is looked at;
/// * drop on a foreign thread: the inner sleep is leaked, not dropped (its timer stays in the
///   wheel until its deadline, then wakes the task that last polled it once, spuriously, and
///   the runtime's timer table is never freed: one `Rc` count is never given back), then a
///   panic unless the thread is already unwinding.
///
/// hyper keeps its sleeps inside the connection future, which corio never moves off its loop,
/// so none of this happens with hyper itself; it is what makes the `unsafe impl`s sound.
///
/// ```
/// use corio_compat::hyper::Timer;
/// use std::time::Duration;
///
/// corio_runtime::run(async {
///     let sleep = hyper::rt::Timer::sleep(&Timer, Duration::from_millis(1));
///     fn is_send_sync<T: Send + Sync + ?Sized>(_: &T) {}
///     is_send_sync(&*sleep);
///     sleep.await;
/// });
/// ```
pub struct Sleep {
    inner: ManuallyDrop<corio_runtime::time::Sleep>,
    /// The thread of the first poll: the only one allowed to touch `inner` after it.
    owner: Option<ThreadId>,
}

// SAFETY: the only `!Send` part is the `Rc<Timers>` inside `inner`, which corio's sleep takes
// on its first poll. Before that `inner` holds only an `Instant`, so moving it to any thread
// is fine. From the first poll on, `owner` names the thread whose runtime the `Rc` belongs to,
// and every operation that can touch the `Rc` — `poll`, `reset` and `drop` — first checks that
// it runs on `owner` and otherwise panics (poll, reset) or leaks `inner` (drop) without
// touching it. So the `Rc`'s count is only ever changed on its own thread.
unsafe impl Send for Sleep {}

// SAFETY: through `&Sleep` nothing reaches the `Rc`: the only `&self` methods (`deadline`,
// `Debug`) read the deadline (a plain `Instant`) and `owner`; polling and resetting need
// `&mut` (`Pin<&mut Sleep>`), which excludes any concurrent `&` access.
unsafe impl Sync for Sleep {}

impl hyper::rt::Sleep for Sleep {}

impl Sleep {
    fn new(inner: corio_runtime::time::Sleep) -> Sleep {
        Sleep {
            inner: ManuallyDrop::new(inner),
            owner: None,
        }
    }

    /// When this sleep completes (on corio's clock).
    ///
    /// ```
    /// use corio_compat::hyper::Timer;
    /// use std::time::{Duration, Instant};
    /// let at = Instant::now() + Duration::from_secs(5);
    /// let mut sleep = hyper::rt::Timer::sleep_until(&Timer, at);
    /// let ours = sleep.as_mut().downcast_mut_pin::<corio_compat::hyper::Sleep>().unwrap();
    /// assert_eq!(ours.deadline(), at);
    /// ```
    pub fn deadline(&self) -> Instant {
        self.inner.deadline()
    }

    /// Move the deadline; the sleep can complete again.
    ///
    /// # Panics
    /// On a thread other than the one that first polled it.
    ///
    /// ```
    /// use corio_compat::hyper::Timer;
    /// use std::time::{Duration, Instant};
    /// corio_runtime::run(async {
    ///     let mut sleep = hyper::rt::Timer::sleep(&Timer, Duration::from_secs(3600));
    ///     hyper::rt::Timer::reset(&Timer, &mut sleep, Instant::now());
    ///     sleep.await;
    /// });
    /// ```
    pub fn reset(&mut self, deadline: Instant) {
        self.check_thread("reset");
        self.inner.reset(deadline);
    }

    /// Panic unless this thread may touch `inner` (binding the sleep to it on first use).
    fn check_thread(&mut self, what: &str) {
        let here = thread::current().id();
        match self.owner {
            Some(owner) if owner != here => panic!(
                "corio_compat::hyper::Sleep {what} on {here:?}, but it belongs to the corio \
                 runtime on {owner:?}: a corio timer must stay on its loop's thread \
                 (keep hyper connections on the loop that accepted them)"
            ),
            Some(_) => {}
            None => self.owner = Some(here),
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        this.check_thread("polled");
        Pin::new(&mut *this.inner).poll(cx)
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        let here = thread::current().id();
        match self.owner {
            Some(owner) if owner != here => {
                // Leave `inner` alone (leaked): dropping it would cancel its timer through an
                // `Rc` that belongs to another thread.
                if !thread::panicking() {
                    panic!(
                        "corio_compat::hyper::Sleep dropped on {here:?}, but it belongs to the \
                         corio runtime on {owner:?}; its timer was leaked instead of cancelled"
                    );
                }
            }
            // SAFETY: `inner` is dropped once, here, and never used again.
            _ => unsafe { ManuallyDrop::drop(&mut self.inner) },
        }
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.inner.deadline())
            .field("owner", &self.owner)
            .finish()
    }
}
