//! Shared by the sync fuzz targets: polling futures by hand, without a runtime, and
//! catching lost wake-ups.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// A waker that only raises a flag.
pub struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::Relaxed);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A future the harness keeps pending, with its own waker and its id in the model.
pub struct Pending<'a, T, D = ()> {
    fut: Pin<Box<dyn Future<Output = T> + 'a>>,
    flag: Arc<Flag>,
    waker: Waker,
    /// The model's name for this future.
    pub id: usize,
    /// What the model needs to know about it (a put's item, an acquire's count).
    pub data: D,
}

impl<'a, T, D> Pending<'a, T, D> {
    /// Box `fut`; it is polled only through [`Pending::poll`].
    pub fn new(fut: impl Future<Output = T> + 'a, id: usize, data: D) -> Self {
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        Pending {
            fut: Box::pin(fut),
            waker: Waker::from(flag.clone()),
            flag,
            id,
            data,
        }
    }

    /// Poll once (`first`: the call that started it), optionally with a fresh waker. A
    /// re-poll that is ready must have had its latest waker woken since the previous poll:
    /// otherwise a real executor would never have polled it again (a lost wake-up).
    pub fn poll(&mut self, fresh_waker: bool, first: bool) -> Poll<T> {
        let woken = self.flag.0.swap(false, Ordering::Relaxed);
        if fresh_waker {
            self.flag = Arc::new(Flag(AtomicBool::new(false)));
            self.waker = Waker::from(self.flag.clone());
        }
        let out = self
            .fut
            .as_mut()
            .poll(&mut Context::from_waker(&self.waker));
        assert!(
            first || out.is_pending() || woken,
            "lost wake-up: future {} was ready on re-poll but its waker was never woken",
            self.id
        );
        out
    }

    /// Has its current waker been woken since its last poll?
    pub fn woken(&self) -> bool {
        self.flag.0.load(Ordering::Relaxed)
    }
}
