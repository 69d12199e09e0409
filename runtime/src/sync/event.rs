//! `Event`: a flag tasks can wait for (Python's `threading.Event`).

use crate::coop;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::slot::{WaiterHost, WaiterSlot};
use super::waiters::{grant_front, WaiterList};

/// A flag that tasks wait for: [`set`](Event::set) wakes every waiter, [`clear`](Event::clear)
/// makes later waits block again. Like Python's `threading.Event`.
///
/// A waiter that was parked when `set` was called returns even if the event is cleared
/// again before it runs: `set` wakes *every* task waiting at that moment.
///
/// ```
/// use std::rc::Rc;
/// use corio_runtime::sync::Event;
/// corio_runtime::run(async {
///     let green = Rc::new(Event::new());
///     let car = corio_runtime::spawn({
///         let green = green.clone();
///         async move {
///             green.wait().await;
///             "drove"
///         }
///     });
///     corio_runtime::task::yield_now().await; // the car is now waiting at the light
///     green.set();
///     assert_eq!(car.await.unwrap(), "drove");
/// });
/// ```
pub struct Event {
    is_set: Cell<bool>,
    /// Invariant: no waiter is linked while `is_set` is true.
    waiters: RefCell<WaiterList<()>>,
}

impl Event {
    /// A new event, not set.
    ///
    /// ```
    /// let event = corio_runtime::sync::Event::new();
    /// assert!(!event.is_set());
    /// ```
    pub const fn new() -> Event {
        Event {
            is_set: Cell::new(false),
            waiters: RefCell::new(WaiterList::new()),
        }
    }

    /// Set the flag and wake every task waiting for it. Setting a set event does nothing.
    ///
    /// ```
    /// let event = corio_runtime::sync::Event::new();
    /// event.set();
    /// assert!(event.is_set());
    /// ```
    pub fn set(&self) {
        if self.is_set.replace(true) {
            return;
        }
        // Only the waiters parked right now: a waker that runs code inline and waits again
        // must not be counted twice.
        let parked = self.waiters.borrow().len();
        grant_front(&self.waiters, parked, |_| {});
    }

    /// Reset the flag: later calls to [`wait`](Event::wait) block until the next `set`.
    ///
    /// ```
    /// let event = corio_runtime::sync::Event::new();
    /// event.set();
    /// event.clear();
    /// assert!(!event.is_set());
    /// ```
    pub fn clear(&self) {
        self.is_set.set(false);
    }

    /// Is the flag set?
    ///
    /// ```
    /// let event = corio_runtime::sync::Event::new();
    /// assert!(!event.is_set());
    /// ```
    pub fn is_set(&self) -> bool {
        self.is_set.get()
    }

    /// Wait until the flag is set; returns at once if it already is.
    ///
    /// Cancel-safe: dropping the future takes the task off the waiter list. To wait with a
    /// deadline, wrap it: `time::timeout(d, event.wait())`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use corio_runtime::{sync::Event, time::timeout};
    /// corio_runtime::run(async {
    ///     let event = Event::new();
    ///     assert!(timeout(Duration::from_millis(5), event.wait()).await.is_err());
    ///     event.set();
    ///     event.wait().await; // set: returns at once
    /// });
    /// ```
    pub async fn wait(&self) {
        Wait {
            slot: WaiterSlot::new(self),
        }
        .await
    }
}

impl Default for Event {
    fn default() -> Event {
        Event::new()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("is_set", &self.is_set.get())
            .field("waiters", &self.waiters.borrow().len())
            .finish()
    }
}

/// The pending part of [`Event::wait`]: a slot in the waiter list.
struct Wait<'a> {
    slot: WaiterSlot<&'a Event>,
}

impl Future for Wait<'_> {
    type Output = ();

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // Every completed wait draws from the task's budget (see `coop`).
        coop::poll_charged(cx, |cx| self.poll_uncharged(cx))
    }
}

impl Wait<'_> {
    fn poll_uncharged(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let event = self.slot.host();
        let mut waiters = event.waiters.borrow_mut();
        if self.slot.is_registered() {
            // Unlinked: `set` woke us (even if the event has been cleared since).
            return self.slot.poll_granted(&mut waiters, cx.waker());
        }
        if event.is_set.get() {
            return Poll::Ready(());
        }
        self.slot.register(&mut waiters, (), cx.waker());
        Poll::Pending
    }
}

impl WaiterHost for &Event {
    type Data = ();

    fn with_waiters<R>(self, f: impl FnOnce(&mut WaiterList<()>) -> R) -> R {
        f(&mut self.waiters.borrow_mut())
    }

    fn hand_on(self, (): ()) {
        // Nothing to hand on: `set` wakes every waiter, not a chosen one.
    }
}
