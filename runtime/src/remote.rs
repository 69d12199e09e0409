//! The runtime's cross-thread half: what a waker on another thread may touch.
//!
//! Everything else in the runtime is single-threaded (`Cell`, `RefCell`). A wake from a
//! foreign thread (blocking pool, user threads) cannot touch that state, so it parks the task
//! pointer here, under a lock, and pokes the event loop through a `mio::Waker`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::task::raw::TaskPtr;

pub(crate) struct Remote {
    inject: Mutex<Inject>,
    /// Set when something was injected or the main future was woken since the loop last looked;
    /// coalesces `mio::Waker::wake` syscalls to one per loop turn.
    notified: AtomicBool,
    /// The `block_on` future was woken from another thread.
    pub(crate) main_woken: AtomicBool,
    waker: mio::Waker,
}

struct Inject {
    /// Each entry owns one task reference.
    tasks: Vec<TaskPtr>,
    /// The runtime is gone: foreign wakes are dropped.
    closed: bool,
}

// SAFETY: `TaskPtr`s in the inject queue are only used for their atomic refcount on foreign
// threads (in `drop_ref`) and are dereferenced otherwise only on the runtime thread when
// drained; the rest of the fields are Sync primitives.
unsafe impl Send for Remote {}
// SAFETY: as above; all shared access goes through the Mutex and atomics.
unsafe impl Sync for Remote {}

impl Remote {
    pub(crate) fn new(waker: mio::Waker) -> Remote {
        Remote {
            inject: Mutex::new(Inject {
                tasks: Vec::new(),
                closed: false,
            }),
            notified: AtomicBool::new(false),
            main_woken: AtomicBool::new(false),
            waker,
        }
    }

    /// Queue `task` (which owns a reference) for the loop thread and wake the loop.
    pub(crate) fn inject(&self, task: TaskPtr) {
        let mut inject = self.inject.lock().unwrap_or_else(|e| e.into_inner());
        if inject.closed {
            drop(inject);
            // SAFETY: the reference passed in is ours to drop.
            unsafe { task.drop_ref() };
            return;
        }
        inject.tasks.push(task);
        drop(inject);
        self.notify();
    }

    /// Make the loop return from `epoll_wait` (at most one syscall per loop turn).
    pub(crate) fn notify(&self) {
        if !self.notified.swap(true, Ordering::AcqRel) {
            // A failed wake means the eventfd is full, which already wakes the loop.
            let _ = self.waker.wake();
        }
    }

    /// True when a foreign thread poked the loop since the last `take_notified`.
    pub(crate) fn take_notified(&self) -> bool {
        self.notified.load(Ordering::Acquire) && self.notified.swap(false, Ordering::AcqRel)
    }

    /// Move the injected tasks into `out`; each keeps the reference it came with.
    pub(crate) fn drain(&self, out: &mut Vec<TaskPtr>) {
        let mut inject = self.inject.lock().unwrap_or_else(|e| e.into_inner());
        out.append(&mut inject.tasks);
    }

    /// Refuse further injections and hand back what is queued (runtime shutdown).
    pub(crate) fn close(&self) -> Vec<TaskPtr> {
        let mut inject = self.inject.lock().unwrap_or_else(|e| e.into_inner());
        inject.closed = true;
        std::mem::take(&mut inject.tasks)
    }
}
