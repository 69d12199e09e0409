//! `CancellationToken`: a `Send + Sync` "stop now" flag that tasks on any loop can wait for,
//! with child tokens (tokio-util's `CancellationToken`).
//!
//! Unlike the other primitives of `sync`, a token crosses threads: one token stops every
//! shard. So it is built on an `AtomicBool` (the fast `is_cancelled` and the ready path of
//! `cancelled()`) and a `Mutex` around the waiters and children, taken only to park, to
//! unpark and to cancel — never with user code running: wakers are woken after the lock is
//! released (a waker of a task on another loop goes through that loop's inject queue).
//!
//! The tree:
//! ```text
//!   parent ──Weak──► child ──Weak──► grandchild      cancel: downwards only
//!     ▲               │ ▲               │
//!     └─────Arc───────┘ └──────Arc──────┘             a child keeps its parent alive, so
//!                                                     cancelling the root still reaches a
//!                                                     grandchild whose parent handle is gone
//! ```
//! A node unregisters from its parent when its last handle (or pending `cancelled()`
//! future) is dropped, so short-lived children do not pile up in a long-lived parent.

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Waker};

use slab::Slab;

use crate::coop;

/// A token that tells tasks to stop: [`cancel`](CancellationToken::cancel) it once and
/// every [`cancelled`](CancellationToken::cancelled) wait — now or later, on any loop or
/// thread — completes. Clones share one token; [`child_token`](CancellationToken::child_token)
/// makes a token that is cancelled with its parent but can also be cancelled alone.
///
/// `Clone + Send + Sync`, cheap to clone (an `Arc`). Cancellation is permanent.
///
/// ```
/// use std::time::Duration;
/// use corio_runtime::sync::CancellationToken;
/// corio_runtime::run(async {
///     let token = CancellationToken::new();
///     let worker = corio_runtime::spawn({
///         let token = token.clone();
///         async move {
///             let mut ticks = 0;
///             while !token.is_cancelled() {
///                 corio_runtime::time::sleep(Duration::from_millis(1)).await;
///                 ticks += 1;
///             }
///             ticks
///         }
///     });
///     corio_runtime::time::sleep(Duration::from_millis(5)).await;
///     token.cancel();
///     assert!(worker.await.unwrap() > 0);
/// });
/// ```
#[derive(Clone)]
pub struct CancellationToken {
    node: Arc<Node>,
}

struct Node {
    cancelled: AtomicBool,
    inner: Mutex<Inner>,
}

struct Inner {
    /// Parked `cancelled()` futures. Emptied by `cancel`, and never filled again after it.
    waiters: Slab<Waker>,
    /// Live children. Emptied by `cancel`, and never filled again after it.
    children: Slab<Weak<Node>>,
    /// Our parent and our key in its `children`, kept while we are not cancelled.
    parent: Option<(Arc<Node>, usize)>,
}

impl Node {
    fn new(cancelled: bool, parent: Option<(Arc<Node>, usize)>) -> Node {
        Node {
            cancelled: AtomicBool::new(cancelled),
            inner: Mutex::new(Inner {
                waiters: Slab::new(),
                children: Slab::new(),
                parent,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // No user code runs under the lock, so a poisoned lock still holds consistent data.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }
}

/// Cancel `root` and everything below it. Iterative: a long chain of children cannot
/// overflow the stack.
fn cancel_tree(root: Arc<Node>) {
    let mut pending = vec![root];
    while let Some(node) = pending.pop() {
        let (wakers, children, parent) = {
            let mut inner = node.lock();
            if node.cancelled.swap(true, Ordering::AcqRel) {
                continue;
            }
            (
                std::mem::take(&mut inner.waiters),
                std::mem::take(&mut inner.children),
                inner.parent.take(),
            )
        };
        // Our parent no longer needs to know us (and we no longer keep it alive).
        if let Some((parent, key)) = parent {
            parent.lock().children.try_remove(key);
        }
        pending.extend(
            children
                .into_iter()
                .filter_map(|(_, child)| child.upgrade()),
        );
        wakers.into_iter().for_each(|(_, waker)| waker.wake());
        // `node` (maybe a child's last reference) is dropped here, outside every lock.
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // The last handle is gone: leave the parent's list (it may live much longer). If we
        // held the parent's last reference, it goes too, and so on up: iteratively, so a long
        // chain of children cannot overflow the stack.
        let mut up = self
            .inner
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .parent
            .take();
        while let Some((parent, key)) = up {
            parent.lock().children.try_remove(key);
            up = Arc::into_inner(parent).and_then(|mut node| {
                // `node` is dropped at the end of this closure with no parent left to visit.
                node.inner
                    .get_mut()
                    .unwrap_or_else(|e| e.into_inner())
                    .parent
                    .take()
            });
        }
    }
}

impl CancellationToken {
    /// A new token, not cancelled, with no parent.
    ///
    /// ```
    /// let token = corio_runtime::sync::CancellationToken::new();
    /// assert!(!token.is_cancelled());
    /// ```
    pub fn new() -> CancellationToken {
        CancellationToken {
            node: Arc::new(Node::new(false, None)),
        }
    }

    /// Cancel the token and all its children (and theirs), waking every task waiting in
    /// [`cancelled`](CancellationToken::cancelled). Callable from any thread; cancelling a
    /// cancelled token does nothing.
    ///
    /// ```
    /// let token = corio_runtime::sync::CancellationToken::new();
    /// let child = token.child_token();
    /// token.cancel();
    /// assert!(token.is_cancelled() && child.is_cancelled());
    /// ```
    pub fn cancel(&self) {
        if !self.node.is_cancelled() {
            cancel_tree(self.node.clone());
        }
    }

    /// Has the token (or one of its ancestors) been cancelled? One atomic load.
    ///
    /// ```
    /// let token = corio_runtime::sync::CancellationToken::new();
    /// assert!(!token.is_cancelled());
    /// token.cancel();
    /// assert!(token.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.node.is_cancelled()
    }

    /// Wait until the token is cancelled; completes at once if it already is (drawing one
    /// unit of the task's cooperative budget, like every corio wait that does not wait).
    ///
    /// Cancel-safe: dropping the future takes it off the token's waiter list. The future
    /// borrows the token; [`cancelled_owned`](CancellationToken::cancelled_owned) gives one
    /// that owns a clone (for `spawn`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use corio_runtime::{sync::CancellationToken, time::timeout};
    /// corio_runtime::run(async {
    ///     let token = CancellationToken::new();
    ///     assert!(timeout(Duration::from_millis(5), token.cancelled()).await.is_err());
    ///     let from_a_thread = token.clone();
    ///     std::thread::spawn(move || from_a_thread.cancel());
    ///     token.cancelled().await;
    /// });
    /// ```
    pub fn cancelled(&self) -> WaitForCancellation<'_> {
        WaitForCancellation {
            node: &self.node,
            key: None,
            registered: None,
        }
    }

    /// Run `future` until it completes (`Some(output)`) or the token is cancelled (`None`,
    /// and `future` is dropped) — tokio-util's `run_until_cancelled`. Cancellation is
    /// checked first at every poll, so a cancelled token never lets one more step through:
    /// an accept loop written with it stops accepting the moment the token is cancelled.
    ///
    /// ```
    /// use corio_runtime::sync::CancellationToken;
    /// corio_runtime::run(async {
    ///     let token = CancellationToken::new();
    ///     assert_eq!(token.run_until_cancelled(async { 7 }).await, Some(7));
    ///     token.cancel();
    ///     assert_eq!(token.run_until_cancelled(async { 7 }).await, None);
    /// });
    /// ```
    pub async fn run_until_cancelled<F: Future>(&self, future: F) -> Option<F::Output> {
        let mut future = pin!(future);
        let mut cancelled = pin!(self.cancelled());
        poll_fn(|cx| {
            if cancelled.as_mut().poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            future.as_mut().poll(cx).map(Some)
        })
        .await
    }

    /// Like [`cancelled`](CancellationToken::cancelled), but the future owns a clone of the
    /// token, so it is `'static` (and `Send`).
    ///
    /// ```
    /// use corio_runtime::sync::CancellationToken;
    /// corio_runtime::run(async {
    ///     let token = CancellationToken::new();
    ///     let waiter = corio_runtime::spawn(token.clone().cancelled_owned());
    ///     corio_runtime::task::yield_now().await;
    ///     token.cancel();
    ///     waiter.await.unwrap();
    /// });
    /// ```
    pub fn cancelled_owned(self) -> WaitForCancellationOwned {
        WaitForCancellationOwned {
            node: self.node,
            key: None,
            registered: None,
        }
    }

    /// A new token that is cancelled when this one is (or when it is cancelled itself);
    /// cancelling the child does not cancel the parent. The child of a cancelled token is
    /// born cancelled. Dropping every handle of a child removes it from the parent.
    ///
    /// ```
    /// let server = corio_runtime::sync::CancellationToken::new();
    /// let connection = server.child_token();
    /// connection.cancel(); // one connection stops...
    /// assert!(!server.is_cancelled()); // ...the server goes on
    /// let other = server.child_token();
    /// server.cancel(); // the server stops: every connection stops
    /// assert!(other.is_cancelled());
    /// assert!(server.child_token().is_cancelled());
    /// ```
    pub fn child_token(&self) -> CancellationToken {
        let mut inner = self.node.lock();
        if self.node.is_cancelled() {
            return CancellationToken {
                node: Arc::new(Node::new(true, None)),
            };
        }
        let entry = inner.children.vacant_entry();
        let child = Arc::new(Node::new(false, Some((self.node.clone(), entry.key()))));
        entry.insert(Arc::downgrade(&child));
        CancellationToken { node: child }
    }

    /// A guard that cancels the token when it is dropped (unless
    /// [`disarm`](DropGuard::disarm)ed): ties the token's life to a scope.
    ///
    /// ```
    /// let token = corio_runtime::sync::CancellationToken::new();
    /// {
    ///     let _guard = token.clone().drop_guard();
    /// }
    /// assert!(token.is_cancelled());
    /// ```
    pub fn drop_guard(self) -> DropGuard {
        DropGuard { token: Some(self) }
    }
}

impl Default for CancellationToken {
    fn default() -> CancellationToken {
        CancellationToken::new()
    }
}

impl fmt::Debug for CancellationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancellationToken")
            .field("is_cancelled", &self.is_cancelled())
            .finish()
    }
}

/// Poll one wait for `node`: the body of both wait futures.
fn poll_wait(
    node: &Node,
    key: &mut Option<usize>,
    registered: &mut Option<Waker>,
    cx: &mut Context<'_>,
) -> Poll<()> {
    // Every completed wait draws from the task's budget (see `coop`).
    coop::poll_charged(cx, |cx| {
        if node.is_cancelled() {
            // `cancel` emptied the waiter list: our key (if any) is gone with it.
            *key = None;
            return Poll::Ready(());
        }
        if key.is_some() && registered.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            // Parked already under this very waker: a `cancel` after the check above sets
            // the flag under the lock and then wakes that waker, so nothing can be missed.
            return Poll::Pending;
        }
        let mut inner = node.lock();
        // Checked again under the lock: `cancel` sets the flag while holding it.
        if node.is_cancelled() {
            *key = None;
            return Poll::Ready(());
        }
        match *key {
            Some(k) => {
                let slot = &mut inner.waiters[k];
                if !slot.will_wake(cx.waker()) {
                    slot.clone_from(cx.waker());
                }
            }
            None => *key = Some(inner.waiters.insert(cx.waker().clone())),
        }
        *registered = Some(cx.waker().clone());
        Poll::Pending
    })
}

/// Leave `node`'s waiter list (if still on it).
fn drop_wait(node: &Node, key: Option<usize>) {
    if let Some(k) = key {
        let mut inner = node.lock();
        // After `cancel` the list is empty and stays empty: nothing to remove.
        if !node.is_cancelled() {
            inner.waiters.try_remove(k);
        }
    }
}

/// The future of [`CancellationToken::cancelled`]: completes once the token is cancelled.
///
/// ```
/// use corio_runtime::sync::CancellationToken;
/// corio_runtime::run(async {
///     let token = CancellationToken::new();
///     let wait = token.cancelled();
///     token.cancel();
///     wait.await;
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct WaitForCancellation<'a> {
    node: &'a Arc<Node>,
    key: Option<usize>,
    /// The waker parked in our slot, so a re-poll under the same waker (every wake of a task
    /// that selects on the token) skips the lock.
    registered: Option<Waker>,
}

impl Future for WaitForCancellation<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        poll_wait(this.node, &mut this.key, &mut this.registered, cx)
    }
}

impl Drop for WaitForCancellation<'_> {
    fn drop(&mut self) {
        drop_wait(self.node, self.key);
    }
}

impl fmt::Debug for WaitForCancellation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitForCancellation")
            .field("is_cancelled", &self.node.is_cancelled())
            .finish()
    }
}

/// The future of [`CancellationToken::cancelled_owned`]: owns its token.
///
/// ```
/// use corio_runtime::sync::CancellationToken;
/// let token = CancellationToken::new();
/// let wait = token.clone().cancelled_owned();
/// token.cancel();
/// corio_runtime::run(wait);
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct WaitForCancellationOwned {
    node: Arc<Node>,
    key: Option<usize>,
    /// The waker parked in our slot, so a re-poll under the same waker (every wake of a task
    /// that selects on the token) skips the lock.
    registered: Option<Waker>,
}

impl Future for WaitForCancellationOwned {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        poll_wait(&this.node, &mut this.key, &mut this.registered, cx)
    }
}

impl Drop for WaitForCancellationOwned {
    fn drop(&mut self) {
        drop_wait(&self.node, self.key);
    }
}

impl fmt::Debug for WaitForCancellationOwned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitForCancellationOwned")
            .field("is_cancelled", &self.node.is_cancelled())
            .finish()
    }
}

/// Cancels its token when dropped, from [`CancellationToken::drop_guard`].
///
/// ```
/// let token = corio_runtime::sync::CancellationToken::new();
/// let guard = token.clone().drop_guard();
/// let back = guard.disarm(); // no cancellation after all
/// drop(back);
/// assert!(!token.is_cancelled());
/// ```
pub struct DropGuard {
    token: Option<CancellationToken>,
}

impl DropGuard {
    /// Give the token back without cancelling it.
    ///
    /// ```
    /// let token = corio_runtime::sync::CancellationToken::new();
    /// let token = token.drop_guard().disarm();
    /// assert!(!token.is_cancelled());
    /// ```
    pub fn disarm(mut self) -> CancellationToken {
        self.token
            .take()
            .expect("a DropGuard holds its token until dropped")
    }
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        if let Some(token) = &self.token {
            token.cancel();
        }
    }
}

impl fmt::Debug for DropGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DropGuard")
            .field("token", &self.token)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn children(token: &CancellationToken) -> usize {
        token.node.lock().children.len()
    }

    fn waiters(token: &CancellationToken) -> usize {
        token.node.lock().waiters.len()
    }

    #[test]
    fn dropped_children_and_waits_leave_the_parent_and_the_waiter_list() {
        let parent = CancellationToken::new();
        let kids: Vec<_> = (0..100).map(|_| parent.child_token()).collect();
        let grandkid = kids[0].child_token();
        assert_eq!(children(&parent), 100);
        drop(kids);
        // kids[0] is kept alive by its child (the grandchild must still hear the root).
        assert_eq!(children(&parent), 1);
        drop(grandkid);
        assert_eq!(children(&parent), 0, "dropped children stayed registered");

        crate::run(async {
            let token = CancellationToken::new();
            for _ in 0..10 {
                let wait = token.cancelled();
                let _ = crate::time::timeout(std::time::Duration::ZERO, wait).await;
            }
            assert_eq!(waiters(&token), 0, "dropped waits stayed registered");
        });
    }

    #[test]
    fn a_cancelled_child_unregisters_and_keeps_its_parent_alive_no_longer() {
        let parent = CancellationToken::new();
        let child = parent.child_token();
        child.cancel();
        assert_eq!(children(&parent), 0);
        assert!(child.node.lock().parent.is_none());
        assert_eq!(Arc::strong_count(&parent.node), 1);
    }

    #[test]
    fn a_long_chain_of_children_cancels_without_overflowing_the_stack() {
        let root = CancellationToken::new();
        let mut last = root.clone();
        let mut chain = Vec::new();
        for _ in 0..200_000 {
            let next = last.child_token();
            chain.push(last);
            last = next;
        }
        root.cancel();
        assert!(last.is_cancelled());
        drop(chain);
    }

    #[test]
    fn a_long_chain_of_live_children_drops_without_overflowing_the_stack() {
        let root = CancellationToken::new();
        let mut last = root.child_token();
        for _ in 0..200_000 {
            last = last.child_token(); // the previous handle goes; the child keeps it alive
        }
        assert_eq!(children(&root), 1);
        drop(last); // the whole chain unwinds up to the root
        assert_eq!(children(&root), 0);
    }
}
