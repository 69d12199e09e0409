//! The cooperative budget: why one busy task cannot hold the loop.
//!
//! A cooperative loop is only as fair as its tasks. A task that awaits a socket whose buffer
//! never empties, a `Queue` that always has room or an `Event` that stays set never sees
//! `Pending`, so without help it would run until the data stops — seconds, while every other
//! connection waits. Threads get fairness from the OS scheduler's preemption; corio gets it
//! from a budget, as tokio's `coop` does:
//!
//! * each task poll (and each poll of the `block_on` future) starts with
//!   `Builder::task_budget` units (default 128);
//! * every corio await point that could complete without waiting — `io::Async` readiness and
//!   `read_with`/`write_with` (so every socket operation), every `sync` primitive's wait,
//!   `JoinHandle`, `spawn_blocking`'s handle and `sleep` — first draws one unit
//!   ([`poll_charged`]); an operation that then returns `Pending` gives its unit back, so
//!   only completed operations count;
//! * at zero the operation returns `Pending` *before touching anything* (so cancel safety is
//!   untouched: nothing was taken, granted or consumed) and the task is *deferred*: the loop
//!   first looks at the OS (without blocking) and fires due timers, queues what that woke,
//!   and only then queues the deferred task at the back. So the connections waiting behind
//!   a busy one run before it runs again (tokio's coop defers likewise). The next poll
//!   starts with a full budget;
//! * big stream reads and writes count for their size: one more unit per 4 KiB moved
//!   (`charge_bytes`), so a connection moving 64 KiB per call gives way as often, per byte,
//!   as one moving 4 KiB per call.
//!
//! Outside a task poll (a foreign executor polling a corio future, destructors, the loop's
//! own bookkeeping) and inside [`unconstrained`] no budget applies.
//!
//! Cost: one thread-local read and write per await point (a `Cell<u32>` with a const
//! initialiser: a plain TLS access, no lazy-init check), no atomics, no syscalls.

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::{Context, Poll};

use crate::context;

/// Budget units a task poll starts with unless `Builder::task_budget` says otherwise.
pub(crate) const DEFAULT_TASK_BUDGET: u32 = 128;

/// "No budget applies": outside task polls and inside `unconstrained`. It is decremented
/// like any budget (one branch less on the hot path), but 4 billion operations in one poll
/// are out of reach, and outside a runtime an exhausted count simply starts again.
pub(crate) const UNCONSTRAINED: u32 = u32::MAX;

/// Budgets above this are "no budget" (`Builder::task_budget` clamps to it, and
/// `budget_remaining` reports `None` above it).
pub(crate) const MAX_TASK_BUDGET: u32 = 1 << 30;

thread_local! {
    static BUDGET: Cell<u32> = const { Cell::new(UNCONSTRAINED) };
}

/// Start a task poll with `budget` units. Not restored afterwards: nothing between two
/// polls of the loop charges, and `block_on` drops a `Restore` on its way out.
#[inline]
pub(crate) fn start_poll(budget: u32) {
    BUDGET.with(|b| b.set(budget));
}

/// Restores the budget that was in force when it was made, even on unwind (the `block_on`
/// future's panic propagates through it).
pub(crate) struct Restore(u32);

impl Restore {
    /// Remember the budget in force now.
    #[inline]
    pub(crate) fn current() -> Restore {
        Restore(BUDGET.with(|b| b.get()))
    }
}

impl Drop for Restore {
    #[inline]
    fn drop(&mut self) {
        BUDGET.with(|b| b.set(self.0));
    }
}

/// Run `f` (one poll) with `budget` units, then restore whatever was in force before.
#[inline]
fn with_budget<R>(budget: u32, f: impl FnOnce() -> R) -> R {
    let _restore = Restore(BUDGET.with(|b| b.replace(budget)));
    f()
}

/// Draw one unit, or — at zero — wake the task (it is queued at the back) and say `Pending`.
#[inline]
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    BUDGET.with(|b| {
        let left = b.get();
        if left == 0 {
            return exhausted(b, cx);
        }
        b.set(left - 1);
        Poll::Ready(())
    })
}

/// Give back the unit drawn by `poll_proceed` for an operation that ended up `Pending`.
#[inline]
pub(crate) fn refund() {
    // Never overflows: it follows a `poll_proceed` that took the unit from a non-zero count.
    BUDGET.with(|b| b.set(b.get() + 1));
}

#[cold]
#[inline(never)]
fn exhausted(budget: &Cell<u32>, cx: &mut Context<'_>) -> Poll<()> {
    if context::with_core(|core| core.defer(cx.waker())).is_none() {
        // No runtime on this thread (a foreign executor polling corio primitives): no
        // budget applies, the count merely wrapped after 4 billion operations.
        // As if this operation had drawn its unit, so a refund cannot overflow.
        budget.set(UNCONSTRAINED - 1);
        return Poll::Ready(());
    }
    Poll::Pending
}

/// Poll an await point under the budget: draw a unit first (returning `Pending` at zero,
/// before `poll` runs), give it back if `poll` ends up `Pending`.
#[inline]
pub(crate) fn poll_charged<T>(
    cx: &mut Context<'_>,
    poll: impl FnOnce(&mut Context<'_>) -> Poll<T>,
) -> Poll<T> {
    if poll_proceed(cx).is_pending() {
        return Poll::Pending;
    }
    let out = poll(cx);
    if out.is_pending() {
        refund();
    }
    out
}

/// Bytes a stream read or write may move per budget unit: a read of 64 KiB costs the unit
/// every operation draws plus 16 more (see [`charge_bytes`]).
pub const BYTES_PER_UNIT: usize = 4096;

/// Draw `units` from the running poll's budget without yielding (the count stops at zero;
/// the next corio await point then gives way). For work that is large but completes
/// without waiting, so it counts for what it costs: corio's stream reads and writes draw
/// one unit per [`BYTES_PER_UNIT`] moved through [`charge_bytes`]. Outside a task poll, and
/// inside [`unconstrained`], it has no effect.
///
/// ```
/// corio_runtime::run(async {
///     let left = corio_runtime::task::budget_remaining().unwrap();
///     corio_runtime::task::charge_budget(10);
///     assert_eq!(corio_runtime::task::budget_remaining(), Some(left - 10));
///     corio_runtime::task::charge_budget(u32::MAX);
///     assert_eq!(corio_runtime::task::budget_remaining(), Some(0));
/// });
/// ```
#[inline]
pub fn charge_budget(units: u32) {
    BUDGET.with(|b| {
        let left = b.get();
        if left <= MAX_TASK_BUDGET {
            b.set(left.saturating_sub(units));
        }
    });
}

/// Charge a stream operation that moved `bytes` for its size: one more unit per whole
/// [`BYTES_PER_UNIT`] on top of the unit the operation drew (reads and writes under 4 KiB
/// cost nothing extra; a 4 KiB one costs 2 units, a 64 KiB one 17). A busy connection moving 64 KiB per call then gives way every
/// ~256 KiB, as one moving 4 KiB per call does, instead of after 128 × 64 KiB.
///
/// ```
/// corio_runtime::run(async {
///     let left = corio_runtime::task::budget_remaining().unwrap();
///     corio_runtime::task::charge_bytes(1000); // below one unit's worth: free
///     corio_runtime::task::charge_bytes(64 * 1024);
///     assert_eq!(corio_runtime::task::budget_remaining(), Some(left - 16));
/// });
/// ```
#[inline]
pub fn charge_bytes(bytes: usize) {
    if bytes >= BYTES_PER_UNIT {
        charge_budget(u32::try_from(bytes / BYTES_PER_UNIT).unwrap_or(u32::MAX));
    }
}

/// Units left in the running poll's budget (`None` when no budget applies).
///
/// ```
/// corio_runtime::run(async {
///     let left = corio_runtime::task::budget_remaining().unwrap();
///     let q = corio_runtime::sync::Queue::new();
///     q.put(1).await.unwrap();
///     assert_eq!(corio_runtime::task::budget_remaining(), Some(left - 1));
/// });
/// assert_eq!(corio_runtime::task::budget_remaining(), None);
/// ```
pub fn budget_remaining() -> Option<u32> {
    BUDGET.with(|b| match b.get() {
        left if left > MAX_TASK_BUDGET => None,
        left => Some(left),
    })
}

/// Run `future` outside the cooperative budget: the corio operations it awaits never force
/// a yield, and they draw nothing from the enclosing task's budget.
///
/// For a future that must not be interrupted between two ready operations (a short
/// critical sequence); a loop that never waits inside it holds the whole loop again, which
/// is exactly what the budget exists to prevent — use it sparingly.
///
/// ```
/// use corio_runtime::sync::Event;
/// corio_runtime::run(async {
///     let ev = Event::new();
///     ev.set();
///     corio_runtime::task::unconstrained(async {
///         // 10,000 ready waits, no forced yield in between.
///         for _ in 0..10_000 {
///             ev.wait().await;
///         }
///     })
///     .await;
/// });
/// ```
pub async fn unconstrained<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    poll_fn(|cx| with_budget(UNCONSTRAINED, || future.as_mut().poll(cx))).await
}
