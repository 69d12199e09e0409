//! Deterministic schedule exploration and cancel-at-every-poll.
//!
//! # Exploring schedules
//!
//! [`explore`] (or the [`Explore`] builder) runs one async scenario on a fresh runtime per
//! seed, each built with [`Builder::seed`](crate::Builder::seed): ready tasks are then picked
//! in an order drawn from that seed instead of FIFO, so each seed is another interleaving and
//! the same seed is the same interleaving again. A failing seed is printed with the command
//! that replays it alone:
//!
//! ```text
//! scenario producer_consumer failed under seed 17; replay with: CORIO_SEED=17 cargo test producer_consumer
//! ```
//!
//! Two environment variables steer every exploration of the process:
//!
//! * `CORIO_SEED=S` runs seed `S` only (the replay);
//! * `CORIO_SEEDS=N` runs seeds `0..N` instead of the count the test asks for (the long runs
//!   of `scripts/soak.sh` use thousands).
//!
//! A seed fixes the order of *ready* tasks. A scenario made of tasks, sync primitives and
//! `yield_now` is replayed exactly; one that also waits on timers or sockets depends on
//! when the OS reports them, so its replay is faithful only as far as those events land in the
//! same loop turns.
//!
//! # Cancelling at every poll point
//!
//! [`cancel_at_each_poll`] checks the cancel-safety contract of an async operation: it creates
//! the operation's future again and again and drops it at each [`DropPoint`] in turn —
//! unpolled, then after 1 poll (still parked, like a `timeout` that fires), after 1 poll and a
//! wake-up (possibly holding something it was granted but has not seen yet), after 2 polls,
//! and so on — until the future completes within its polls. After each drop the test's check
//! runs, so the invariant (items, permits, notifications, bytes) is asserted at every point.
//! [`poll_then_drop`] is the single step, for loops written out by hand.

use std::any::Any;
use std::fmt;
use std::future::{poll_fn, Future};
use std::ops::Range;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use crate::task::yield_now;
use crate::time::timeout;
use crate::Runtime;

/// Environment variable: run only this seed (the replay of a failure).
pub const SEED_ENV: &str = "CORIO_SEED";
/// Environment variable: how many seeds each exploration runs (`0..N`), overriding the
/// count written in the test.
pub const SEEDS_ENV: &str = "CORIO_SEEDS";

/// Default bound on one seed's run: a scenario still running after this long has a stranded
/// task (or is far too slow) and fails with its seed.
const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(60);

/// Run `scenario` once per seed on a fresh seeded runtime; on failure print the seed and the
/// replay command to stderr and re-raise the panic. Returns how many seeds ran.
///
/// `name` should be the test's name, so that `cargo test NAME` in the printed replay command
/// selects it. `seeds` is the default count (`0..seeds`); `CORIO_SEEDS=N` overrides it and
/// `CORIO_SEED=S` runs seed `S` only. Each seed may take at most 60 s (see
/// [`Explore::time_limit`]). Await the `JoinHandle`s of the tasks you spawn: a task's panic
/// is caught by the runtime and fails the seed only when its handle is awaited.
///
/// # Panics
/// With the scenario's own panic, under the first seed that fails; when a seed exceeds the
/// time limit; when `CORIO_SEED` or `CORIO_SEEDS` is not a number.
///
/// ```
/// use std::{cell::Cell, rc::Rc};
/// use corio_runtime::{spawn, sync::Lock, task::yield_now, testing::explore};
///
/// let seeds = explore("two_tasks_add_under_a_lock", 4, |_seed| async {
///     let total = Rc::new(Lock::new(0));
///     let tasks: Vec<_> = (0..2)
///         .map(|_| {
///             let total = total.clone();
///             spawn(async move {
///                 let mut guard = total.lock().await;
///                 let seen = *guard;
///                 yield_now().await; // the other task runs, but cannot get in
///                 *guard = seen + 1;
///             })
///         })
///         .collect();
///     for t in tasks {
///         t.await.unwrap();
///     }
///     assert_eq!(*total.lock().await, 2);
/// });
/// assert!(seeds >= 1);
/// ```
#[track_caller]
pub fn explore<F, Fut>(name: &str, seeds: u64, scenario: F) -> u64
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = ()>,
{
    Explore::new(name).seeds(seeds).run(scenario)
}

/// A configurable exploration: the long form of [`explore`].
///
/// ```
/// use std::time::Duration;
/// use corio_runtime::testing::Explore;
///
/// let ran = Explore::new("yields_finish")
///     .seeds(3)
///     .time_limit(Duration::from_secs(5))
///     .run(|seed| async move {
///         for _ in 0..seed {
///             corio_runtime::task::yield_now().await;
///         }
///     });
/// assert!(ran >= 1);
/// ```
#[derive(Debug, Clone)]
pub struct Explore {
    name: String,
    seeds: u64,
    time_limit: Duration,
}

impl Explore {
    /// An exploration named `name` (use the test's name), of 8 seeds with a 60 s limit each.
    ///
    /// ```
    /// let e = corio_runtime::testing::Explore::new("my_test");
    /// # drop(e);
    /// ```
    pub fn new(name: impl Into<String>) -> Explore {
        Explore {
            name: name.into(),
            seeds: 8,
            time_limit: DEFAULT_TIME_LIMIT,
        }
    }

    /// Run seeds `0..n` (unless the environment says otherwise, see [`explore`]).
    ///
    /// ```
    /// let e = corio_runtime::testing::Explore::new("t").seeds(100);
    /// # drop(e);
    /// ```
    pub fn seeds(mut self, n: u64) -> Explore {
        self.seeds = n;
        self
    }

    /// The most one seed may run before it fails as stranded (default 60 s). Measured with
    /// the runtime's own timer, so it also ends a scenario whose tasks all wait forever.
    ///
    /// ```
    /// use std::time::Duration;
    /// let e = corio_runtime::testing::Explore::new("t").time_limit(Duration::from_secs(5));
    /// # drop(e);
    /// ```
    pub fn time_limit(mut self, limit: Duration) -> Explore {
        self.time_limit = limit;
        self
    }

    /// The seeds this exploration runs, after `CORIO_SEED` / `CORIO_SEEDS`.
    ///
    /// # Panics
    /// When either variable is set to something other than an unsigned integer.
    ///
    /// ```
    /// let plan = corio_runtime::testing::Explore::new("t").seeds(5).seed_plan();
    /// if std::env::var_os("CORIO_SEED").is_none() && std::env::var_os("CORIO_SEEDS").is_none() {
    ///     assert_eq!(plan, 0..5);
    /// }
    /// ```
    pub fn seed_plan(&self) -> Range<u64> {
        let var = |key: &str| std::env::var(key).ok();
        match plan(
            self.seeds,
            var(SEED_ENV).as_deref(),
            var(SEEDS_ENV).as_deref(),
        ) {
            Ok(range) => range,
            Err(message) => panic!("{message}"),
        }
    }

    /// Run every seed of the plan and stop at the first failure, returning it (with the
    /// scenario's panic inside) instead of panicking. `Ok` holds how many seeds passed.
    ///
    /// ```
    /// use corio_runtime::testing::Explore;
    /// if std::env::var_os("CORIO_SEED").is_none() {
    ///     let failure = Explore::new("fails_on_seed_3")
    ///         .seeds(10)
    ///         .try_run(|seed| async move { assert_ne!(seed, 3, "seed 3 is unlucky") })
    ///         .unwrap_err();
    ///     assert_eq!(failure.seed(), 3);
    ///     assert!(failure.panic_message().unwrap().contains("seed 3 is unlucky"));
    ///     assert!(failure.to_string().contains("CORIO_SEED=3 cargo test fails_on_seed_3"));
    /// }
    /// ```
    pub fn try_run<F, Fut>(&self, scenario: F) -> Result<u64, Failure>
    where
        F: Fn(u64) -> Fut,
        Fut: Future<Output = ()>,
    {
        let mut passed = 0;
        for seed in self.seed_plan() {
            let rt = Runtime::builder()
                .seed(seed)
                .build()
                .expect("explore: cannot create the OS poller (epoll/kqueue)");
            let limit = self.time_limit;
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                rt.block_on(async {
                    if timeout(limit, scenario(seed)).await.is_err() {
                        panic!(
                            "the scenario did not finish within {limit:?}: a task is stranded \
                             (a waiter nobody wakes) or the scenario is too slow for the limit"
                        );
                    }
                })
            }));
            // Tasks still alive are dropped here, outside the unwind.
            drop(rt);
            match outcome {
                Ok(()) => passed += 1,
                Err(payload) => {
                    return Err(Failure {
                        name: self.name.clone(),
                        seed,
                        payload,
                    })
                }
            }
        }
        Ok(passed)
    }

    /// Like [`try_run`](Explore::try_run), but a failure is printed to stderr (the seed and
    /// the replay command) and its panic re-raised, so the test fails with it.
    ///
    /// ```should_panic
    /// corio_runtime::testing::Explore::new("always_fails")
    ///     .seeds(2)
    ///     .run(|_seed| async { panic!("boom") });
    /// ```
    #[track_caller]
    pub fn run<F, Fut>(&self, scenario: F) -> u64
    where
        F: Fn(u64) -> Fut,
        Fut: Future<Output = ()>,
    {
        match self.try_run(scenario) {
            Ok(passed) => passed,
            Err(failure) => {
                eprintln!("{failure}");
                resume_unwind(failure.into_panic())
            }
        }
    }
}

/// The seeds to run: `CORIO_SEED` (one seed) wins over `CORIO_SEEDS` (a count), which wins
/// over the test's own count.
fn plan(default: u64, seed: Option<&str>, seeds: Option<&str>) -> Result<Range<u64>, String> {
    let parse = |key: &str, value: &str| {
        value.trim().parse::<u64>().map_err(|_| {
            format!("{key} must be an unsigned integer (a seed or a count), not {value:?}")
        })
    };
    if let Some(value) = seed.filter(|v| !v.trim().is_empty()) {
        let s = parse(SEED_ENV, value)?;
        let end = s.checked_add(1).ok_or_else(|| {
            format!("{SEED_ENV}={s} is too large (the largest seed is u64::MAX - 1)")
        })?;
        return Ok(s..end);
    }
    if let Some(value) = seeds.filter(|v| !v.trim().is_empty()) {
        return Ok(0..parse(SEEDS_ENV, value)?);
    }
    Ok(0..default)
}

/// One seed's failure in an exploration: which scenario, which seed, and the panic.
///
/// Its `Display` is the line [`explore`] prints:
/// `scenario NAME failed under seed S; replay with: CORIO_SEED=S cargo test NAME`.
///
/// ```
/// use corio_runtime::testing::Explore;
/// let failure = Explore::new("demo")
///     .seeds(1)
///     .try_run(|_| async { panic!("broken invariant") });
/// if std::env::var_os("CORIO_SEED").is_none() {
///     let failure = failure.unwrap_err();
///     assert_eq!(failure.name(), "demo");
///     assert_eq!(failure.seed(), 0);
///     assert_eq!(failure.replay_command(), "CORIO_SEED=0 cargo test demo");
///     assert_eq!(failure.panic_message(), Some("broken invariant"));
/// }
/// ```
pub struct Failure {
    name: String,
    seed: u64,
    payload: Box<dyn Any + Send + 'static>,
}

impl Failure {
    /// The scenario's name.
    ///
    /// ```
    /// # let f = corio_runtime::testing::Explore::new("n").seeds(1).try_run(|_| async { panic!() });
    /// # if let Err(f) = f { assert_eq!(f.name(), "n"); }
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The seed it failed under.
    ///
    /// ```
    /// # let f = corio_runtime::testing::Explore::new("n").seeds(1).try_run(|_| async { panic!() });
    /// # if let Err(f) = f { let _seed: u64 = f.seed(); }
    /// ```
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The shell command that replays this seed alone: `CORIO_SEED=S cargo test NAME`.
    ///
    /// ```
    /// # let f = corio_runtime::testing::Explore::new("n").seeds(1).try_run(|_| async { panic!() });
    /// # if let Err(f) = f { assert!(f.replay_command().starts_with("CORIO_SEED=")); }
    /// ```
    pub fn replay_command(&self) -> String {
        format!("{SEED_ENV}={} cargo test {}", self.seed, self.name)
    }

    /// The panic message, when the panic carried a string (as `panic!` and `assert!` do).
    ///
    /// ```
    /// # let f = corio_runtime::testing::Explore::new("n").seeds(1).try_run(|_| async { panic!("m") });
    /// # if let Err(f) = f { assert_eq!(f.panic_message(), Some("m")); }
    /// ```
    pub fn panic_message(&self) -> Option<&str> {
        if let Some(s) = self.payload.downcast_ref::<&'static str>() {
            Some(s)
        } else {
            self.payload.downcast_ref::<String>().map(String::as_str)
        }
    }

    /// The panic payload, to re-raise with `std::panic::resume_unwind`.
    ///
    /// ```
    /// # let f = corio_runtime::testing::Explore::new("n").seeds(1).try_run(|_| async { panic!("m") });
    /// # if let Err(f) = f { let _payload = f.into_panic(); }
    /// ```
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.payload
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "scenario {} failed under seed {}; replay with: {}",
            self.name,
            self.seed,
            self.replay_command()
        )
    }
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Failure")
            .field("name", &self.name)
            .field("seed", &self.seed)
            .field("panic", &self.panic_message())
            .finish()
    }
}

impl std::error::Error for Failure {}

/// Where [`poll_then_drop`] drops a future: after how many polls, and whether it first
/// waits for the wake-up that would have led to the next poll.
///
/// The points in order ([`DropPoint::all`]): unpolled; 1 poll, parked; 1 poll, woken;
/// 2 polls, parked; 2 polls, woken; ... "Parked" drops the future right after a pending poll,
/// as a `timeout` firing would. "Woken" waits until something wakes it — another task handed
/// it a lock, permits, an item, a notification, or data arrived — and drops it instead of
/// polling it, so it never sees what it was given: the case cancel safety is about.
///
/// ```
/// use corio_runtime::testing::DropPoint;
/// let first: Vec<String> = DropPoint::all().take(4).map(|p| p.to_string()).collect();
/// assert_eq!(first, [
///     "unpolled",
///     "after 1 poll, parked",
///     "after 1 poll, when woken",
///     "after 2 polls, parked",
/// ]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DropPoint {
    polls: usize,
    woken: bool,
}

impl DropPoint {
    /// Dropped before its first poll.
    ///
    /// ```
    /// assert_eq!(corio_runtime::testing::DropPoint::UNPOLLED.polls(), 0);
    /// ```
    pub const UNPOLLED: DropPoint = DropPoint {
        polls: 0,
        woken: false,
    };

    /// A drop point: after `polls` polls, and (if `woken`) after the wake-up that follows
    /// the last of them. `after(0, _)` is [`UNPOLLED`](DropPoint::UNPOLLED).
    ///
    /// ```
    /// use corio_runtime::testing::DropPoint;
    /// assert!(DropPoint::after(3, true).is_woken());
    /// assert_eq!(DropPoint::after(0, true), DropPoint::UNPOLLED);
    /// ```
    pub fn after(polls: usize, woken: bool) -> DropPoint {
        DropPoint {
            polls,
            woken: woken && polls > 0,
        }
    }

    /// Every drop point in order, without end (stop when the future completes).
    ///
    /// ```
    /// use corio_runtime::testing::DropPoint;
    /// assert_eq!(DropPoint::all().nth(2), Some(DropPoint::after(1, true)));
    /// ```
    pub fn all() -> impl Iterator<Item = DropPoint> {
        std::iter::successors(Some(DropPoint::UNPOLLED), |p| Some(p.next()))
    }

    /// The point after this one.
    ///
    /// ```
    /// use corio_runtime::testing::DropPoint;
    /// assert_eq!(DropPoint::after(1, false).next(), DropPoint::after(1, true));
    /// assert_eq!(DropPoint::after(1, true).next(), DropPoint::after(2, false));
    /// ```
    pub fn next(self) -> DropPoint {
        match (self.polls, self.woken) {
            (0, _) | (_, true) => DropPoint::after(self.polls + 1, false),
            (n, false) => DropPoint::after(n, true),
        }
    }

    /// How many times the future is polled before the drop.
    ///
    /// ```
    /// assert_eq!(corio_runtime::testing::DropPoint::after(2, false).polls(), 2);
    /// ```
    pub fn polls(self) -> usize {
        self.polls
    }

    /// Whether the drop waits for the wake-up after the last poll.
    ///
    /// ```
    /// assert!(!corio_runtime::testing::DropPoint::after(2, false).is_woken());
    /// ```
    pub fn is_woken(self) -> bool {
        self.woken
    }
}

impl fmt::Display for DropPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.polls {
            0 => f.write_str("unpolled"),
            n => write!(
                f,
                "after {n} poll{}, {}",
                if n == 1 { "" } else { "s" },
                if self.woken { "when woken" } else { "parked" }
            ),
        }
    }
}

/// Remembers whether the future under test was woken, and passes the wake on to the task.
struct WakeFlag {
    woken: AtomicBool,
    task: Mutex<Waker>,
}

impl Wake for WakeFlag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.task
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .wake_by_ref();
    }
}

impl WakeFlag {
    /// Let other tasks run (one yield), then wait until the future under test is woken.
    async fn settle_until_woken(&self) {
        yield_now().await;
        poll_fn(|cx| {
            if self.woken.swap(false, Ordering::SeqCst) {
                return Poll::Ready(());
            }
            self.task
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone_from(cx.waker());
            // A wake between the check and the store went to the old waker: check again.
            if self.woken.swap(false, Ordering::SeqCst) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
    }
}

/// Poll `future` as [`DropPoint`] `point` says, then drop it: `Some(output)` if it completed
/// within its polls, `None` if it was dropped.
///
/// Between polls it yields once (so other tasks run) and then waits until the future is
/// woken, so each poll is a real poll point, as an executor would make it. For a
/// [woken](DropPoint::is_woken) point it also waits for the wake-up after the last poll, then
/// drops the future instead of polling it. Whatever wakes the future must therefore come from
/// other tasks, timers or I/O — not from later code of the calling task.
///
/// ```
/// use std::rc::Rc;
/// use corio_runtime::{spawn, sync::Lock, task::yield_now, testing::{poll_then_drop, DropPoint}};
/// corio_runtime::run(async {
///     let lock = Rc::new(Lock::new(()));
///     let holder = lock.clone();
///     let releaser = spawn(async move {
///         let guard = holder.lock().await;
///         yield_now().await;
///         drop(guard); // hands the lock to the waiter below
///         let _again = holder.lock().await; // must not be stranded by the drop
///     });
///     yield_now().await; // the releaser takes the lock
///     // Parked in the queue, granted the lock, dropped before it sees it:
///     let got = poll_then_drop(DropPoint::after(1, true), lock.lock()).await;
///     assert!(got.is_none());
///     releaser.await.unwrap(); // the lock was passed on
///     assert!(!lock.is_locked());
/// });
/// ```
pub async fn poll_then_drop<F: Future>(point: DropPoint, future: F) -> Option<F::Output> {
    if point.polls == 0 {
        drop(future);
        return None;
    }
    let task = poll_fn(|cx| Poll::Ready(cx.waker().clone())).await;
    let flag = Arc::new(WakeFlag {
        woken: AtomicBool::new(false),
        task: Mutex::new(task),
    });
    let waker = Waker::from(flag.clone());
    let mut future = pin!(future);
    for n in 0..point.polls {
        if n > 0 {
            flag.settle_until_woken().await;
        }
        flag.woken.store(false, Ordering::SeqCst);
        if let Poll::Ready(out) = future.as_mut().poll(&mut Context::from_waker(&waker)) {
            return Some(out);
        }
    }
    if point.woken {
        flag.settle_until_woken().await;
    }
    // Dropped here (the pinned future goes out of scope), without another poll.
    None
}

/// The most polls [`cancel_at_each_poll`] gives a future before it gives up on it.
pub const MAX_POLLS: usize = 10_000;

/// Drop a fresh future at each [`DropPoint`] in turn until one completes; after each trial
/// run `check`. Returns how many drop points were exercised (trials whose future was dropped
/// before completing).
///
/// `make(point)` builds the trial: set up whatever the operation contends with (a lock
/// holder that releases later, a producer that puts later) and return the operation's future.
/// [`poll_then_drop`] then polls and drops it. `check(point, output)` gets `Some(output)` on the
/// final trial (the one that completed) and `None` after a drop; it is async, so it can wait
/// for the other tasks of the trial and assert that what is counted was conserved and that
/// nobody was stranded. The loop stops after the first trial that completes.
///
/// # Panics
/// When the future has not completed after [`MAX_POLLS`] polls, and with the panics of
/// `make` and `check`.
///
/// ```
/// use std::{cell::Cell, rc::Rc};
/// use corio_runtime::{spawn, sync::Semaphore, task::yield_now, testing::cancel_at_each_poll};
/// corio_runtime::run(async {
///     let sem = Rc::new(Semaphore::new(1));
///     let dropped = cancel_at_each_poll(
///         |_point| {
///             // Each trial: the only permit is out, and comes back a turn later.
///             sem.try_acquire().unwrap().forget();
///             let giver = sem.clone();
///             spawn(async move {
///                 yield_now().await;
///                 giver.add_permits(1);
///             });
///             let sem = sem.clone();
///             async move { sem.acquire().await.map(|p| p.num_permits()) }
///         },
///         |_point, output| {
///             let sem = sem.clone();
///             async move {
///                 if let Some(n) = output {
///                     assert_eq!(n.unwrap(), 1);
///                 }
///                 // Give the holder time to finish, then no permit may be missing.
///                 for _ in 0..4 {
///                     yield_now().await;
///                 }
///                 assert_eq!(sem.available_permits(), 1);
///             }
///         },
///     )
///     .await;
///     // Unpolled; after 1 poll, parked; after 1 poll, granted and woken: then it completes.
///     assert_eq!(dropped, 3);
/// });
/// ```
pub async fn cancel_at_each_poll<M, Fut, C, CFut>(mut make: M, mut check: C) -> usize
where
    M: FnMut(DropPoint) -> Fut,
    Fut: Future,
    C: FnMut(DropPoint, Option<Fut::Output>) -> CFut,
    CFut: Future<Output = ()>,
{
    let mut dropped = 0;
    for point in DropPoint::all() {
        assert!(
            point.polls <= MAX_POLLS,
            "cancel_at_each_poll: the future did not complete within {MAX_POLLS} polls; \
             set up each trial so that the operation can finish"
        );
        let output = poll_then_drop(point, make(point)).await;
        let completed = output.is_some();
        check(point, output).await;
        if completed {
            break;
        }
        dropped += 1;
    }
    dropped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_follows_the_environment_variables() {
        assert_eq!(plan(5, None, None), Ok(0..5));
        assert_eq!(plan(5, None, Some("1000")), Ok(0..1000));
        assert_eq!(plan(5, Some("17"), Some("1000")), Ok(17..18));
        assert_eq!(plan(5, Some(" "), None), Ok(0..5), "empty means unset");
        assert!(plan(5, Some(&u64::MAX.to_string()), None).is_err());
        let err = plan(5, Some("x"), None).unwrap_err();
        assert!(
            err.contains("CORIO_SEED must be an unsigned integer"),
            "{err}"
        );
        let err = plan(5, None, Some("-1")).unwrap_err();
        assert!(err.contains("CORIO_SEEDS must be"), "{err}");
    }

    #[test]
    fn drop_points_alternate_parked_and_woken() {
        let points: Vec<(usize, bool)> = DropPoint::all()
            .take(5)
            .map(|p| (p.polls(), p.is_woken()))
            .collect();
        assert_eq!(
            points,
            [(0, false), (1, false), (1, true), (2, false), (2, true)]
        );
    }
}
