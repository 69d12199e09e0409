//! The runtime's cross-thread half: what a waker on another thread may touch.
//!
//! Everything else in the runtime is single-threaded (`Cell`, `RefCell`). A wake from a
//! foreign thread (blocking pool, user threads) cannot touch that state, so it parks the task
//! pointer here, under a lock, and pokes the event loop through a `mio::Waker`.
//!
//! `Remote` is also the tasks' scheduler (`cell::Schedule`): a wake on the loop's own
//! thread goes straight to the run queue, any other goes through here.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{RawWaker, RawWakerVTable, Waker};

use crate::cell::{Schedule, SendTask, Woken};
use crate::context;

/// What another thread hands the loop.
pub(crate) enum Injected {
    /// A task was woken.
    Wake(SendTask),
    /// A task was aborted through an `AbortHandle`.
    Abort(SendTask),
    /// `Handle::spawn`: run this on the loop (it spawns the task there).
    Spawn(Box<dyn FnOnce() + Send>),
}

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
    tasks: Vec<Injected>,
    /// The runtime is gone: foreign wakes are dropped.
    closed: bool,
}

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
    pub(crate) fn inject(&self, task: Injected) {
        let mut inject = self.inject.lock().unwrap_or_else(|e| e.into_inner());
        if inject.closed {
            drop(inject);
            // The runtime is gone: the entry's reference goes here.
            drop(task);
            return;
        }
        inject.tasks.push(task);
        drop(inject);
        self.notify();
    }

    /// A wake from another thread (or from this one outside `block_on`): out of line, so the
    /// same-thread path of `schedule` needs no stack frame for the queue entry.
    #[cold]
    #[inline(never)]
    fn inject_wake(&self, task: Woken<'_>) {
        self.inject(Injected::Wake(task.to_send()));
    }

    /// Make the loop return from `epoll_wait` (at most one syscall per loop turn).
    pub(crate) fn notify(&self) {
        if !self.notified.swap(true, Ordering::AcqRel) {
            // A failed wake means the eventfd is full, which already wakes the loop.
            let _ = self.waker.wake();
        }
    }

    /// A foreign thread poked the loop since the last `take_notified` (a look, not a take).
    #[inline]
    pub(crate) fn is_notified(&self) -> bool {
        self.notified.load(Ordering::Acquire)
    }

    /// True when a foreign thread poked the loop since the last `take_notified`.
    pub(crate) fn take_notified(&self) -> bool {
        self.notified.load(Ordering::Acquire) && self.notified.swap(false, Ordering::AcqRel)
    }

    /// Move the injected tasks into `out`; each keeps the reference it came with.
    pub(crate) fn drain(&self, out: &mut Vec<Injected>) {
        let mut inject = self.inject.lock().unwrap_or_else(|e| e.into_inner());
        out.append(&mut inject.tasks);
    }

    /// Refuse further injections and hand back what is queued (runtime shutdown).
    pub(crate) fn close(&self) -> Vec<Injected> {
        let mut inject = self.inject.lock().unwrap_or_else(|e| e.into_inner());
        inject.closed = true;
        std::mem::take(&mut inject.tasks)
    }
}

impl Schedule for Remote {
    #[inline]
    fn schedule(&self, task: Woken<'_>) {
        match context::core_of(self) {
            // SAFETY: `core_of` found this runtime's core running on this thread, the
            // thread that owns the task.
            Some(core) => unsafe { task.with_local(|t| core.schedule(t)) },
            None => self.inject_wake(task),
        }
    }

    fn abort(&self, task: Woken<'_>) {
        match context::core_of(self) {
            // SAFETY: as in `schedule`.
            Some(_) => unsafe { task.with_local(|t| t.abort()) },
            None => self.inject(Injected::Abort(task.to_send())),
        }
    }
}

static MAIN_VTABLE: RawWakerVTable =
    RawWakerVTable::new(clone_main, wake_main, wake_main_by_ref, drop_main);

/// The waker of the `block_on` future: data is an `Arc<Remote>` turned into a raw pointer.
pub(crate) fn main_waker(remote: &Arc<Remote>) -> Waker {
    let data = Arc::into_raw(remote.clone()) as *const ();
    // SAFETY: the vtable below treats data as an owned `Arc<Remote>`.
    unsafe { Waker::from_raw(RawWaker::new(data, &MAIN_VTABLE)) }
}

unsafe fn clone_main(data: *const ()) -> RawWaker {
    // SAFETY: data came from Arc::into_raw and the cloned waker keeps it alive.
    unsafe { Arc::increment_strong_count(data as *const Remote) };
    RawWaker::new(data, &MAIN_VTABLE)
}

unsafe fn wake_main(data: *const ()) {
    // SAFETY: wake consumes the waker's Arc.
    unsafe {
        wake_main_by_ref(data);
        drop_main(data);
    }
}

unsafe fn wake_main_by_ref(data: *const ()) {
    // SAFETY: the waker owns an `Arc<Remote>`, so the pointer is alive.
    let remote = unsafe { &*(data as *const Remote) };
    match context::core_of(remote) {
        Some(core) => core.wake_main(),
        None => {
            remote.main_woken.store(true, Ordering::Release);
            remote.notify();
        }
    }
}

unsafe fn drop_main(data: *const ()) {
    // SAFETY: the waker owns one Arc count.
    unsafe { Arc::decrement_strong_count(data as *const Remote) };
}
