//! `Barrier`: `n` tasks wait for each other, generation after generation (Python's
//! `threading.Barrier`).

use crate::coop;
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::slot::{WaiterHost, WaiterSlot};
use super::waiters::{grant_front, WaiterList};

/// Lets `n` tasks meet: each [`wait`](Barrier::wait) blocks until `n` tasks are waiting,
/// then all of them go on together, and the barrier starts over for the next generation.
/// The task whose arrival completed the generation is its leader
/// ([`BarrierWaitResult::is_leader`]): exactly one per generation.
///
/// Cancel-safe: a `wait` dropped while the generation is still filling up leaves it (it no
/// longer counts as arrived). Once its generation has tripped, dropping it changes nothing:
/// the others have already gone on.
///
/// ```
/// use std::rc::Rc;
/// use corio_runtime::sync::Barrier;
/// corio_runtime::run(async {
///     let barrier = Rc::new(Barrier::new(3));
///     let tasks: Vec<_> = (0..3)
///         .map(|_| {
///             let b = barrier.clone();
///             corio_runtime::spawn(async move { b.wait().await.is_leader() })
///         })
///         .collect();
///     let mut leaders = 0;
///     for t in tasks {
///         leaders += t.await.unwrap() as usize;
///     }
///     assert_eq!(leaders, 1);
/// });
/// ```
pub struct Barrier {
    n: usize,
    /// The tasks of the current generation that arrived and wait (always fewer than `n`).
    waiters: RefCell<WaiterList<()>>,
}

impl Barrier {
    /// A barrier for `n` tasks. `n == 0` behaves like `n == 1` (every wait leads at once).
    ///
    /// ```
    /// let barrier = corio_runtime::sync::Barrier::new(4);
    /// assert_eq!(barrier.parties(), 4);
    /// ```
    pub const fn new(n: usize) -> Barrier {
        Barrier {
            n: if n == 0 { 1 } else { n },
            waiters: RefCell::new(WaiterList::new()),
        }
    }

    /// Arrive and wait until `n` tasks have arrived in this generation.
    ///
    /// ```
    /// corio_runtime::run(async {
    ///     let barrier = corio_runtime::sync::Barrier::new(1);
    ///     assert!(barrier.wait().await.is_leader());
    ///     assert!(barrier.wait().await.is_leader(), "reusable");
    /// });
    /// ```
    pub async fn wait(&self) -> BarrierWaitResult {
        Wait {
            slot: WaiterSlot::new(self),
        }
        .await
    }

    /// How many tasks each generation needs.
    ///
    /// ```
    /// assert_eq!(corio_runtime::sync::Barrier::new(2).parties(), 2);
    /// ```
    pub fn parties(&self) -> usize {
        self.n
    }

    /// How many tasks are waiting in the current generation.
    ///
    /// ```
    /// assert_eq!(corio_runtime::sync::Barrier::new(2).n_waiting(), 0);
    /// ```
    pub fn n_waiting(&self) -> usize {
        self.waiters.borrow().len()
    }

    /// Release every waiter of the current generation.
    fn trip(&self) {
        grant_front(&self.waiters, self.n - 1, |_| {});
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("parties", &self.n)
            .field("waiting", &self.waiters.borrow().len())
            .finish()
    }
}

/// What [`Barrier::wait`] returns: whether this task was the generation's leader.
///
/// ```
/// corio_runtime::run(async {
///     let result = corio_runtime::sync::Barrier::new(1).wait().await;
///     assert!(result.is_leader());
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarrierWaitResult {
    leader: bool,
}

impl BarrierWaitResult {
    /// True for exactly one task per generation: the one whose arrival completed it.
    ///
    /// ```
    /// corio_runtime::run(async {
    ///     assert!(corio_runtime::sync::Barrier::new(1).wait().await.is_leader());
    /// });
    /// ```
    pub fn is_leader(&self) -> bool {
        self.leader
    }
}

/// The pending part of [`Barrier::wait`].
struct Wait<'a> {
    slot: WaiterSlot<&'a Barrier>,
}

impl Future for Wait<'_> {
    type Output = BarrierWaitResult;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<BarrierWaitResult> {
        // Every completed wait draws from the task's budget (see `coop`).
        coop::poll_charged(cx, |cx| self.poll_uncharged(cx))
    }
}

impl Wait<'_> {
    fn poll_uncharged(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<BarrierWaitResult> {
        let barrier = self.slot.host();
        let mut waiters = barrier.waiters.borrow_mut();
        if self.slot.is_registered() {
            // Unlinked: the generation tripped and released us.
            return self
                .slot
                .poll_granted(&mut waiters, cx.waker())
                .map(|()| BarrierWaitResult { leader: false });
        }
        if waiters.len() + 1 >= barrier.n {
            // The last arrival: it leads, and the next generation starts empty.
            drop(waiters);
            barrier.trip();
            return Poll::Ready(BarrierWaitResult { leader: true });
        }
        self.slot.register(&mut waiters, (), cx.waker());
        Poll::Pending
    }
}

impl WaiterHost for &Barrier {
    type Data = ();

    fn with_waiters<R>(self, f: impl FnOnce(&mut WaiterList<()>) -> R) -> R {
        f(&mut self.waiters.borrow_mut())
    }

    fn hand_on(self, (): ()) {
        // Released already: the generation has tripped; nothing to undo or pass on. (A
        // waiter dropped while still waiting un-arrives: arrivals are the linked slots.)
    }
}
