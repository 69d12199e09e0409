//! The task cell: one heap allocation per spawned task, holding a header and the
//! future (later its output). This file and `waker.rs` hold the executor's unsafe code.
//!
//! # Task state machine
//!
//! The state lives in `Header::state` (a `Cell<u8>` of flags). Only the thread that runs
//! the runtime touches it; other threads touch only `refs` and `remote` (see `waker.rs`).
//!
//! ```text
//!                  (1) Core::spawn
//!                        |
//!                        v
//!   +--------------> SCHEDULED ------------------------------+
//!   |                    |                                   |
//!   |                    | (2) Core::run_task: pop, clear    | (6) JoinHandle::abort sets
//!   |                    |     SCHEDULED, set RUNNING,       |     CANCELLED and schedules
//!   |                    |     TaskPtr::poll                 v
//!   |                    v                               CANCELLED --(7) run_task: TaskPtr::cancel
//!   |   (3) Pending   RUNNING --(4) Ready/panic-------------+          drops the future
//!   |   wake while       |       the vtable's poll stores  |
//!   |   idle or running: |       output or panic; finish   v
//!   |   schedule()       v                              COMPLETE
//!   +------------------ IDLE                               |
//!                                                          | (5) release: the runtime drops its
//!                                                          |     reference once the task is not
//!                                                          v     SCHEDULED; JoinHandle, TaskRef and
//!                                                       freed    wakers drop theirs; refs == 0 frees
//! ```
//!
//! * (1) `Core::spawn` allocates the cell with two references (runtime + JoinHandle),
//!   inserts it in the task slab and pushes it on the run queue.
//! * (2) `Core::run_task` pops a pointer; the queue holds no reference of its own because
//!   the runtime's reference is kept until the task is COMPLETE *and* not SCHEDULED.
//! * (3) `schedule` (from a same-thread wake) sets SCHEDULED and pushes at the back unless the
//!   task is already SCHEDULED or COMPLETE. A task woken while RUNNING is queued again.
//! * (4) `TaskPtr::poll` returns `true` when the future finished or panicked; the future is
//!   dropped right there, on the runtime thread, and `Core::finish` marks the task COMPLETE.
//! * (5) `Core::release` (from `Core::finish`, or when a stale queue entry is popped) removes the task from the slab and drops the runtime reference.
//! * (6)/(7) abort is a flag plus a wake, so the future is always dropped by the loop.
//!
//! Invariant that makes the `Send + Sync` waker sound: the future and the output are only
//! created, polled and dropped on the runtime's thread, so the last reference, which may die on
//! any thread, finds the stage already `Consumed` and frees memory only.

use std::any::Any;
use std::cell::{Cell, UnsafeCell};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::atomic::{fence, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use crate::remote::Remote;
use crate::task::JoinError;

/// The task is in the run queue (or about to be).
pub(crate) const SCHEDULED: u8 = 1 << 0;
/// The future is being polled right now.
pub(crate) const RUNNING: u8 = 1 << 1;
/// The future is gone: its output (or error) is stored or consumed.
pub(crate) const COMPLETE: u8 = 1 << 2;
/// `abort` was called: the next run drops the future instead of polling it.
pub(crate) const CANCELLED: u8 = 1 << 3;
/// A `JoinHandle` is alive and wants the output.
pub(crate) const JOIN_INTEREST: u8 = 1 << 4;
/// The runtime's own helper task (the wait of a `spawn_blocking` job), not a user task: not
/// counted by `task::active_count` or `live_tasks_count`.
pub(crate) const HELPER: u8 = 1 << 5;

/// Functions that know the concrete future type, reached through the header.
pub(crate) struct Vtable {
    /// Poll the future; `true` when the task completed (output or panic stored).
    poll: unsafe fn(NonNull<Header>, &mut Context<'_>) -> bool,
    /// Drop the future without polling it (abort, runtime shutdown).
    cancel: unsafe fn(NonNull<Header>),
    /// Move the output into `*mut Poll<Result<T, JoinError>>` if it is there.
    read_output: unsafe fn(NonNull<Header>, *mut ()),
    /// Drop a stored output nobody will read.
    drop_output: unsafe fn(NonNull<Header>),
    /// Free the allocation.
    dealloc: unsafe fn(NonNull<Header>),
}

/// The type-erased head of every task cell.
#[repr(C)]
pub(crate) struct Header {
    /// Reference count: runtime, JoinHandle, TaskRef and every Waker clone. The only atomic.
    pub(crate) refs: AtomicUsize,
    /// Flags above; runtime thread only.
    pub(crate) state: Cell<u8>,
    /// Slot in the runtime's task slab; runtime thread only. 32 bits (packed beside
    /// `state`) keep the header at 64 bytes, one cache line; 4G live tasks would need
    /// far more memory than any machine has for their cells.
    pub(crate) key: Cell<u32>,
    /// The task's id, unique within its runtime. Immutable.
    pub(crate) id: u64,
    /// The runtime's cross-thread half. Immutable; read by foreign wakers.
    pub(crate) remote: Arc<Remote>,
    vtable: &'static Vtable,
    /// Waker of the task awaiting the JoinHandle; runtime thread only.
    pub(crate) join_waker: UnsafeCell<Option<Waker>>,
    /// Optional name from `task::Builder`. Immutable. A thin pointer (8 bytes, not a
    /// 16-byte `Box<str>`): most tasks have no name and should not pay for the slot.
    pub(crate) name: Option<Box<TaskName>>,
}

/// A task's name, boxed once more where it is stored so the header holds a thin pointer.
#[derive(Debug, Clone)]
pub(crate) struct TaskName(pub(crate) Box<str>);

// The header is one cache line on 64-bit targets; a field added here should be weighed
// against that (spawn cost and idle memory per task are benchmarked against tokio).
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Header>() == 64);

enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, JoinError>),
    Consumed,
}

/// What `task::all` and slow-poll reports tell about a task: kept beside the header (not in
/// it, which stays one cache line for the hot path), at the same offset for every future type.
pub(crate) struct Meta {
    /// Where the task was spawned (`#[track_caller]` on every spawn function).
    pub(crate) spawned_at: &'static Location<'static>,
    /// Polls so far.
    pub(crate) polls: Cell<u64>,
    /// The loop's time (read once per turn, not per poll) at the task's latest poll, or at its
    /// spawn.
    pub(crate) last_polled: Cell<Instant>,
}

/// The type-independent front of every task cell.
#[repr(C)]
struct Prefix {
    header: Header,
    meta: Meta,
}

#[repr(C)]
struct Cell_<F: Future> {
    prefix: Prefix,
    stage: UnsafeCell<Stage<F>>,
}

/// A raw, non-owning pointer to a task cell. Copy; reference counting is explicit.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct TaskPtr(pub(crate) NonNull<Header>);

impl TaskPtr {
    /// Allocate a task cell holding `future`, with `refs` references (step 1).
    pub(crate) fn allocate<F>(
        future: F,
        id: u64,
        name: Option<Box<TaskName>>,
        remote: Arc<Remote>,
        refs: usize,
        meta: Meta,
    ) -> TaskPtr
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let cell = Box::new(Cell_ {
            prefix: Prefix {
                header: Header {
                    refs: AtomicUsize::new(refs),
                    state: Cell::new(SCHEDULED | JOIN_INTEREST),
                    key: Cell::new(u32::MAX),
                    id,
                    remote,
                    vtable: vtable::<F>(),
                    join_waker: UnsafeCell::new(None),
                    name,
                },
                meta,
            },
            stage: UnsafeCell::new(Stage::Running(future)),
        });
        // `Cell_` and `Prefix` are repr(C) with the header first, so the cell pointer is a
        // header pointer (and a prefix pointer).
        TaskPtr(NonNull::from(Box::leak(cell)).cast())
    }

    #[inline]
    pub(crate) fn header(&self) -> &Header {
        // SAFETY: a TaskPtr is only used while some reference keeps the cell alive, and only
        // on the runtime thread (foreign threads go through `waker.rs`, which avoids `&Header`).
        unsafe { self.0.as_ref() }
    }

    /// The task's metadata. Runtime thread only, like `header`.
    #[inline]
    pub(crate) fn meta(&self) -> &Meta {
        // SAFETY: as in `header`; every cell starts with a `Prefix` (repr(C), header first),
        // whatever its future type, so the header pointer is a prefix pointer.
        unsafe { &(*self.0.cast::<Prefix>().as_ptr()).meta }
    }

    #[inline]
    pub(crate) fn state(&self) -> u8 {
        self.header().state.get()
    }

    #[inline]
    pub(crate) fn set(&self, flags: u8) {
        let h = self.header();
        h.state.set(h.state.get() | flags);
    }

    #[inline]
    pub(crate) fn unset(&self, flags: u8) {
        let h = self.header();
        h.state.set(h.state.get() & !flags);
    }

    /// Take one more reference.
    #[inline]
    pub(crate) fn add_ref(&self) {
        // SAFETY: the caller holds a reference, so the header is alive; `refs` is atomic.
        let refs = unsafe { &(*self.0.as_ptr()).refs };
        // Relaxed is enough to add: the caller already holds a reference (as Arc does).
        if refs.fetch_add(1, Ordering::Relaxed) > isize::MAX as usize {
            std::process::abort();
        }
    }

    /// Drop one reference; frees the cell when it was the last. Callable from any thread.
    ///
    /// # Safety
    /// The caller must own one reference and not use the pointer afterwards.
    #[inline]
    pub(crate) unsafe fn drop_ref(self) {
        // SAFETY: the caller owns a reference, so the header is alive until we decrement.
        let refs = unsafe { &(*self.0.as_ptr()).refs };
        if refs.fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        // Pairs with the Release above on other threads, so their last uses happen-before the free.
        fence(Ordering::Acquire);
        // SAFETY: that was the last reference; the vtable pointer is immutable.
        unsafe {
            let dealloc = (*self.0.as_ptr()).vtable.dealloc;
            dealloc(self.0);
        }
    }

    /// Poll the future (step 2 -> 3 or 4). Runtime thread only, state RUNNING.
    pub(crate) fn poll(&self, cx: &mut Context<'_>) -> bool {
        // SAFETY: we are on the runtime thread and the stage is Running (not COMPLETE).
        unsafe { (self.header().vtable.poll)(self.0, cx) }
    }

    /// Drop the future without polling (step 7). Runtime thread only.
    pub(crate) fn cancel(&self) {
        // SAFETY: runtime thread; cancel tolerates any stage.
        unsafe { (self.header().vtable.cancel)(self.0) }
    }

    /// Move out the output into `dst` (a `*mut Poll<Result<T, JoinError>>`).
    ///
    /// # Safety
    /// `dst` must point to a `Poll<Result<T, JoinError>>` with `T` the future's output type.
    pub(crate) unsafe fn read_output(&self, dst: *mut ()) {
        // SAFETY: forwarded contract.
        unsafe { (self.header().vtable.read_output)(self.0, dst) }
    }

    /// Drop an output nobody will read. Owner thread only.
    pub(crate) fn drop_output(&self) {
        // SAFETY: called on the owning thread; tolerates any stage.
        unsafe { (self.header().vtable.drop_output)(self.0) }
    }

    /// Wake the JoinHandle's waiter, if any (after step 4 or 7).
    pub(crate) fn wake_join(&self) {
        // SAFETY: runtime thread; no other borrow of the slot is live (wakers run after take).
        let waker = unsafe { (*self.header().join_waker.get()).take() };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

fn vtable<F>() -> &'static Vtable
where
    F: Future + 'static,
{
    &Vtable {
        poll: poll::<F>,
        cancel: cancel::<F>,
        read_output: read_output::<F>,
        drop_output: drop_output::<F>,
        dealloc: dealloc::<F>,
    }
}

/// # Safety
/// `ptr` must be a live `Cell_<F>` accessed on the runtime thread with no other stage borrow.
unsafe fn stage<'a, F: Future>(ptr: NonNull<Header>) -> &'a mut Stage<F> {
    // SAFETY: forwarded contract; the header is the first field of the repr(C) cell.
    unsafe { &mut *(*ptr.cast::<Cell_<F>>().as_ptr()).stage.get() }
}

/// Store a finished result, or drop it at once when nobody joins.
///
/// # Safety
/// Same as `stage`.
unsafe fn finish<F: Future>(ptr: NonNull<Header>, result: Result<F::Output, JoinError>) {
    // SAFETY: forwarded contract.
    let header = unsafe { ptr.as_ref() };
    if header.state.get() & JOIN_INTEREST != 0 {
        // SAFETY: forwarded contract.
        unsafe { *stage::<F>(ptr) = Stage::Finished(result) };
    } else {
        // Detached: drop the output now, on this thread; a panicking destructor is swallowed
        // because nobody is there to receive it and the loop must go on.
        let _ = catch_unwind(AssertUnwindSafe(move || drop(result)));
    }
}

unsafe fn poll<F: Future>(ptr: NonNull<Header>, cx: &mut Context<'_>) -> bool {
    // SAFETY: vtable contract: live cell, runtime thread, stage not borrowed elsewhere.
    let st = unsafe { stage::<F>(ptr) };
    let Stage::Running(fut) = st else {
        return true;
    };
    // SAFETY: the future lives in a heap cell that never moves until it is dropped in place.
    let fut = unsafe { Pin::new_unchecked(fut) };
    let result = match catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
        Ok(Poll::Pending) => return false,
        Ok(Poll::Ready(v)) => Ok(v),
        Err(payload) => Err(JoinError::panic(payload)),
    };
    // Drop the future before publishing the output; its destructor may panic too.
    let dropped = catch_unwind(AssertUnwindSafe(|| *st = Stage::Consumed));
    let result = match (result, dropped) {
        (Ok(_), Err(payload)) => Err(JoinError::panic(payload)),
        (r, _) => r,
    };
    // SAFETY: forwarded contract.
    unsafe { finish::<F>(ptr, result) };
    true
}

unsafe fn cancel<F: Future>(ptr: NonNull<Header>) {
    // SAFETY: vtable contract.
    let st = unsafe { stage::<F>(ptr) };
    if !matches!(st, Stage::Running(_)) {
        return;
    }
    let dropped = catch_unwind(AssertUnwindSafe(|| *st = Stage::Consumed));
    let result = match dropped {
        Ok(()) => Err(JoinError::cancelled()),
        Err(payload) => Err(JoinError::panic(payload)),
    };
    // SAFETY: forwarded contract.
    unsafe { finish::<F>(ptr, result) };
}

unsafe fn read_output<F: Future>(ptr: NonNull<Header>, dst: *mut ()) {
    // SAFETY: vtable contract.
    let st = unsafe { stage::<F>(ptr) };
    if let Stage::Finished(_) = st {
        let Stage::Finished(out) = std::mem::replace(st, Stage::Consumed) else {
            unreachable!()
        };
        // SAFETY: the caller promises `dst` is a `Poll<Result<F::Output, JoinError>>`.
        unsafe { *(dst as *mut Poll<Result<F::Output, JoinError>>) = Poll::Ready(out) };
    }
}

unsafe fn drop_output<F: Future>(ptr: NonNull<Header>) {
    // SAFETY: vtable contract.
    let st = unsafe { stage::<F>(ptr) };
    if let Stage::Finished(_) = st {
        let old = std::mem::replace(st, Stage::Consumed);
        let _ = catch_unwind(AssertUnwindSafe(move || drop(old)));
    }
}

unsafe fn dealloc<F: Future>(ptr: NonNull<Header>) {
    // SAFETY: last reference; the cell came from `Box::leak` in `allocate`. The stage is
    // Consumed (module invariant), so no `!Send` value is dropped here.
    drop(unsafe { Box::from_raw(ptr.cast::<Cell_<F>>().as_ptr()) });
}

/// A panic payload, as `catch_unwind` hands it over.
pub(crate) type Payload = Box<dyn Any + Send + 'static>;
