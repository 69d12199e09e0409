//! `JoinSet`: a set of tasks whose results are collected as they finish.

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use slab::Slab;

use super::{spawn, AbortHandle, JoinError, JoinHandle};
use crate::coop;

/// A collection of spawned tasks, joined in the order they finish.
///
/// Dropping the set aborts every task still in it.
///
/// ```
/// use std::time::Duration;
/// use corio_runtime::{task::JoinSet, time::sleep};
/// corio_runtime::run(async {
///     let mut set = JoinSet::new();
///     for ms in [30u64, 10, 20] {
///         set.spawn(async move { sleep(Duration::from_millis(ms)).await; ms });
///     }
///     let mut order = Vec::new();
///     while let Some(r) = set.join_next().await {
///         order.push(r.unwrap());
///     }
///     assert_eq!(order, [10, 20, 30]);
/// });
/// ```
pub struct JoinSet<T> {
    entries: Slab<(JoinHandle<T>, Waker)>,
    notify: Arc<Notify>,
}

/// Which entries were woken, and who waits in `join_next`. Behind a Mutex only because
/// `Waker` must be `Send + Sync`; it is never contended (one loop thread).
struct Notify {
    inner: Mutex<NotifyInner>,
}

struct NotifyInner {
    ready: std::collections::VecDeque<usize>,
    waiter: Option<Waker>,
}

struct EntryWaker {
    key: usize,
    notify: Arc<Notify>,
}

impl Wake for EntryWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let waiter = {
            let mut inner = self.notify.inner.lock().unwrap_or_else(|e| e.into_inner());
            inner.ready.push_back(self.key);
            inner.waiter.take()
        };
        if let Some(w) = waiter {
            w.wake();
        }
    }
}

impl<T: 'static> JoinSet<T> {
    /// An empty set.
    pub fn new() -> JoinSet<T> {
        JoinSet {
            entries: Slab::new(),
            notify: Arc::new(Notify {
                inner: Mutex::new(NotifyInner {
                    ready: std::collections::VecDeque::new(),
                    waiter: None,
                }),
            }),
        }
    }

    /// Spawn `future` into the set (see [`crate::spawn`]).
    ///
    /// # Panics
    /// Outside a corio runtime.
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        let handle = spawn(future);
        let abort = handle.abort_handle();
        let entry = self.entries.vacant_entry();
        let key = entry.key();
        let waker = Waker::from(Arc::new(EntryWaker {
            key,
            notify: self.notify.clone(),
        }));
        entry.insert((handle, waker.clone()));
        // Poll it once in `join_next` so its join waker gets registered.
        waker.wake();
        abort
    }

    /// Wait for the next task to finish and return its result; `None` when the set is empty.
    /// Cancel-safe: dropping the future loses no result.
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// Poll form of [`join_next`](Self::join_next).
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        // One unit per result, like a `JoinHandle`; the entries are polled uncharged below,
        // since an entry cut short by the budget would wake itself back onto `ready` and be
        // popped again in this same loop.
        coop::poll_charged(cx, |cx| self.poll_join_next_uncharged(cx))
    }

    fn poll_join_next_uncharged(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<T, JoinError>>> {
        loop {
            let next = {
                let mut inner = self.notify.inner.lock().unwrap_or_else(|e| e.into_inner());
                match inner.ready.pop_front() {
                    Some(key) => key,
                    None => {
                        if self.entries.is_empty() {
                            return Poll::Ready(None);
                        }
                        inner.waiter = Some(cx.waker().clone());
                        return Poll::Pending;
                    }
                }
            };
            let Some((handle, waker)) = self.entries.get_mut(next) else {
                continue;
            };
            let mut entry_cx = Context::from_waker(waker);
            if let Poll::Ready(result) = Pin::new(handle).poll_uncharged(&mut entry_cx) {
                self.entries.remove(next);
                return Poll::Ready(Some(result));
            }
        }
    }

    /// How many tasks are in the set (finished ones count until joined).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the set holds no task.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Abort every task in the set; they stay in it until joined (as cancelled).
    pub fn abort_all(&mut self) {
        for (_, (handle, _)) in self.entries.iter() {
            handle.abort();
        }
    }

    /// Abort every task and wait until all have finished; the set is then empty.
    ///
    /// ```
    /// corio_runtime::run(async {
    ///     let mut set = corio_runtime::task::JoinSet::new();
    ///     set.spawn(std::future::pending::<()>());
    ///     set.shutdown().await;
    ///     assert!(set.is_empty());
    /// });
    /// ```
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }
}

/// A `JoinSet` is a stream of its tasks' results, in the order they finish; the stream ends
/// when the set is empty (like `join_next` returning `None`).
///
/// ```
/// use futures_core::Stream;
/// use std::pin::Pin;
/// corio_runtime::run(async {
///     let mut set = corio_runtime::task::JoinSet::new();
///     for i in 1..=3u32 {
///         set.spawn(async move { i });
///     }
///     let mut sum = 0;
///     while let Some(r) = std::future::poll_fn(|cx| Pin::new(&mut set).poll_next(cx)).await {
///         sum += r.unwrap();
///     }
///     assert_eq!(sum, 6);
/// });
/// ```
impl<T: 'static> futures_core::Stream for JoinSet<T> {
    type Item = Result<T, JoinError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_join_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.entries.len(), Some(self.entries.len()))
    }
}

impl<T: 'static> Default for JoinSet<T> {
    fn default() -> Self {
        JoinSet::new()
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        for (_, (handle, _)) in self.entries.iter() {
            handle.abort();
        }
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet")
            .field("len", &self.entries.len())
            .finish()
    }
}
