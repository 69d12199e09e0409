//! The task cell: one heap allocation per spawned task, holding a header, the task's
//! metadata and the future (later its output), and the type-erased vtable that reaches them.
//!
//! This file holds the cell's unsafe code (allocation, the stage, the vtable functions, the
//! reference count); `refs.rs` wraps the raw pointer in the owning types the rest of the
//! runtime uses, and `waker.rs` builds wakers on it. Nothing outside `cell/` sees a raw pointer.
//!
//! Invariant that makes the `Send + Sync` waker sound: the future and the output are only
//! created, polled and dropped on the runtime's thread, so the last reference, which may die on
//! any thread, finds the stage already `Consumed` and frees memory only.

use std::any::Any;
use std::cell::{Cell, UnsafeCell};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::ptr::{addr_of, NonNull};
use std::sync::atomic::{fence, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use super::join_error::JoinError;
use super::refs::Woken;
use super::schedule::Schedule;
use super::state::State;

/// Functions that know the concrete future type `F` and scheduler `S`, reached through the
/// header. One static instance per `(F, S)`.
pub(super) struct Vtable {
    /// Poll the future; `true` when the task completed (output or panic stored).
    poll: unsafe fn(NonNull<Header>, &mut Context<'_>) -> bool,
    /// Drop the future without polling it (abort, runtime shutdown).
    cancel: unsafe fn(NonNull<Header>),
    /// Move the output into `*mut Poll<Result<T, JoinError>>` if it is there.
    read_output: unsafe fn(NonNull<Header>, *mut ()),
    /// Drop a stored output nobody will read.
    drop_output: unsafe fn(NonNull<Header>),
    /// Free the allocation and the scheduler reference.
    dealloc: unsafe fn(NonNull<Header>),
    /// Hand a woken task to `S::schedule` (any thread; borrows the caller's reference).
    pub(super) schedule: unsafe fn(NonNull<Header>),
    /// Hand an abort to `S::abort` (any thread; borrows the caller's reference).
    pub(super) abort: unsafe fn(NonNull<Header>),
}

/// The type-erased head of every task cell.
#[repr(C)]
pub(super) struct Header {
    /// Reference count: runtime, JoinHandle, AbortHandle, TaskRef, cross-thread queue entries
    /// and every Waker clone. Touched from any thread.
    refs: AtomicUsize,
    /// The flags; written by the loop thread only, read from any (see `state.rs`).
    pub(super) state: State,
    /// Slot in the runtime's task slab; runtime thread only. 32 bits (packed beside
    /// `state`) keep the header at 64 bytes, one cache line; 4G live tasks would need
    /// far more memory than any machine has for their cells.
    pub(super) key: Cell<u32>,
    /// The task's id, unique within its runtime. Immutable; read from any thread.
    pub(super) id: u64,
    /// `Arc::as_ptr` of the task's scheduler. Immutable; read from any thread; the vtable
    /// knows `S`. A thin pointer (an `Arc<dyn Schedule>` would be 16 bytes). Borrowed, not
    /// owned, while the runtime holds the task (its own `Arc` keeps the scheduler alive);
    /// the cell takes a count of its own only if references that may reach the scheduler
    /// outlive the runtime's (see [`RawTask::release_runtime_ref`]), so a spawn costs no
    /// atomic count of the scheduler.
    scheduler: NonNull<()>,
    /// Immutable; read from any thread.
    vtable: &'static Vtable,
    /// Waker of the task awaiting the JoinHandle; runtime thread only.
    pub(super) join_waker: UnsafeCell<Option<Waker>>,
    /// Optional name from `task::Builder`. Immutable. A thin pointer (8 bytes, not a
    /// 16-byte `Box<str>`): most tasks have no name and should not pay for the slot.
    pub(super) name: Option<Box<TaskName>>,
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

/// A raw, non-owning pointer to a task cell, private to `cell/`: the owning types of
/// `refs.rs` are built on it. Every method that dereferences it documents which thread may
/// call it; the ones that take `&self` and touch only immutable or atomic fields are sound on
/// any thread while some reference keeps the cell alive.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct RawTask(pub(super) NonNull<Header>);

impl RawTask {
    /// Allocate a task cell holding `future` with two references (the runtime's and the
    /// JoinHandle's) and state SCHEDULED (transition 1).
    pub(super) fn allocate<F, S>(
        future: F,
        id: u64,
        name: Option<Box<TaskName>>,
        scheduler: &Arc<S>,
        meta: Meta,
        helper: bool,
    ) -> RawTask
    where
        F: Future + 'static,
        F::Output: 'static,
        S: Schedule,
    {
        // Borrowed: the caller's `Arc` outlives the runtime's reference (see the field).
        // `Arc::as_ptr`, not a pointer made from `&S`: it keeps the provenance of the whole
        // `Arc` allocation, which `Arc::increment_strong_count` needs later.
        // SAFETY: `Arc::as_ptr` never returns null.
        let scheduler = unsafe { NonNull::new_unchecked(Arc::as_ptr(scheduler).cast_mut()) };
        let scheduler = scheduler.cast::<()>();
        let cell = Box::new(Cell_ {
            prefix: Prefix {
                header: Header {
                    refs: AtomicUsize::new(2),
                    state: State::new(helper),
                    key: Cell::new(u32::MAX),
                    id,
                    scheduler,
                    vtable: vtable::<F, S>(),
                    join_waker: UnsafeCell::new(None),
                    name,
                },
                meta,
            },
            stage: UnsafeCell::new(Stage::Running(future)),
        });
        // `Cell_` and `Prefix` are repr(C) with the header first, so the cell pointer is a
        // header pointer (and a prefix pointer).
        RawTask(NonNull::from(Box::leak(cell)).cast())
    }

    /// The header, as a shared reference. Loop thread only: the header holds `Cell`s.
    #[inline]
    pub(super) fn header(&self) -> &Header {
        // SAFETY: a RawTask is only dereferenced while some reference keeps the cell alive;
        // the owning types call this only on the loop thread (foreign threads use the raw
        // field reads below, which never form a `&Header`).
        unsafe { self.0.as_ref() }
    }

    /// The task's metadata. Loop thread only, like `header`.
    #[inline]
    pub(super) fn meta(&self) -> &Meta {
        // SAFETY: as in `header`; every cell starts with a `Prefix` (repr(C), header first),
        // whatever its future type, so the header pointer is a prefix pointer.
        unsafe { &(*self.0.cast::<Prefix>().as_ptr()).meta }
    }

    /// The state flags. Any thread (the field is atomic).
    #[inline]
    pub(super) fn state(&self) -> &State {
        // SAFETY: the cell is alive (a reference is held); a shared reference to the one
        // atomic field, not to the whole header, is sound from any thread.
        unsafe { &*addr_of!((*self.0.as_ptr()).state) }
    }

    /// The task's id. Any thread (immutable).
    #[inline]
    pub(super) fn id(&self) -> u64 {
        // SAFETY: the cell is alive; `id` is never written after allocation.
        unsafe { *addr_of!((*self.0.as_ptr()).id) }
    }

    /// The vtable. Any thread (immutable).
    #[inline]
    fn vtable(&self) -> &'static Vtable {
        // SAFETY: the cell is alive; `vtable` is never written after allocation.
        unsafe { *addr_of!((*self.0.as_ptr()).vtable) }
    }

    /// The scheduler the task was spawned with. Any thread (immutable, and `S: Sync`).
    ///
    /// # Safety
    /// `S` must be the scheduler type the cell was allocated with, and the caller must hold
    /// a reference that existed before the runtime let go of the task (or the runtime must
    /// still hold it): such a reference keeps the scheduler alive (see
    /// [`RawTask::release_runtime_ref`]). References made from a `JoinHandle` after that
    /// find the task COMPLETE and never ask for the scheduler.
    #[inline]
    pub(super) unsafe fn scheduler<'a, S: Schedule>(self) -> &'a S {
        // SAFETY: the cell is alive, and so is the scheduler (the runtime's `Arc` or the
        // cell's own count, by the contract above); `scheduler` is immutable and came from
        // `Arc::<S>::as_ptr` (the caller promises the type).
        unsafe {
            &*(*addr_of!((*self.0.as_ptr()).scheduler))
                .cast::<S>()
                .as_ptr()
        }
    }

    /// Take one more reference. Any thread; the caller holds one.
    #[inline]
    pub(super) fn add_ref(self) {
        // SAFETY: the caller holds a reference, so the header is alive; `refs` is atomic.
        let refs = unsafe { &*addr_of!((*self.0.as_ptr()).refs) };
        // Relaxed is enough to add: the caller already holds a reference (as Arc does).
        if refs.fetch_add(1, Ordering::Relaxed) > isize::MAX as usize {
            std::process::abort();
        }
    }

    /// Drop one reference; frees the cell when it was the last. Any thread.
    ///
    /// # Safety
    /// The caller must own one reference and not use the pointer afterwards.
    #[inline]
    pub(super) unsafe fn drop_ref(self) {
        // SAFETY: the caller owns a reference, so the header is alive until we decrement.
        let refs = unsafe { &*addr_of!((*self.0.as_ptr()).refs) };
        // The last reference (the common end of a task's life: its JoinHandle after the
        // runtime let go, or the runtime's own for a detached task) frees without a
        // read-modify-write: with a count of 1, the one reference is ours, so no other thread
        // can reach the count. Acquire pairs with the Release decrements of earlier owners.
        if refs.load(Ordering::Acquire) != 1 && refs.fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        // Pairs with the Release above on other threads, so their last uses happen-before the free.
        fence(Ordering::Acquire);
        // SAFETY: that was the last reference; the vtable pointer is immutable.
        unsafe { (self.vtable().dealloc)(self.0) }
    }

    /// Transition (5): the runtime lets go of its reference to a COMPLETE task. Loop thread.
    ///
    /// Until now the runtime's `Arc<S>` kept the scheduler alive for every reference; from
    /// now on the runtime may go away. So if any reference other than the `JoinHandle`'s
    /// is left (a waker, an `AbortHandle`, a cross-thread queue entry: all may call the
    /// scheduler from anywhere), the cell takes a count of the scheduler's `Arc` for them
    /// (`SCHEDULER_OWNED`; `dealloc` gives it back). The `JoinHandle` never calls the
    /// scheduler of a COMPLETE task, and nor does an `AbortHandle` it makes afterwards.
    ///
    /// The count decides without a read-modify-write in the common cases: 1 (ours only:
    /// free) or 2 with a live `JoinHandle` (ours and its: both on this thread, so no other
    /// thread holds a reference, none can appear, and a plain store is enough). A count
    /// read here that includes a reference of another thread only makes us take the
    /// scheduler's count when it might no longer be needed, never the other way round.
    ///
    /// # Safety
    /// The caller owns the runtime's reference (so the runtime's `Arc<S>` is alive) and does
    /// not use the pointer afterwards; `S` is the cell's scheduler type.
    pub(super) unsafe fn release_runtime_ref<S: Schedule>(self) {
        // SAFETY: the caller owns a reference, so the header is alive.
        let refs = unsafe { &*addr_of!((*self.0.as_ptr()).refs) };
        let state = self.state();
        match refs.load(Ordering::Acquire) {
            // SAFETY: the only reference is ours (forwarded contract).
            1 => unsafe { (self.vtable().dealloc)(self.0) },
            2 if state.load().has_join_interest() => refs.store(1, Ordering::Relaxed),
            _ => {
                // A count for the references left; the flag is set before the decrement
                // below (a release), so whichever thread frees the cell sees it.
                // SAFETY: the pointer is `Arc::<S>::as_ptr` of the runtime's `Arc`, alive
                // while the runtime holds the task (forwarded contract).
                unsafe {
                    let scheduler = *addr_of!((*self.0.as_ptr()).scheduler);
                    Arc::increment_strong_count(scheduler.cast::<S>().as_ptr().cast_const());
                }
                state.mark_scheduler_owned();
                // SAFETY: forwarded contract: we own this reference.
                unsafe { self.drop_ref() }
            }
        }
    }

    /// Hand the task to its scheduler as woken. Any thread; borrows the caller's reference.
    #[inline]
    pub(super) fn schedule(self) {
        // SAFETY: the caller holds a reference; the vtable's `schedule` accepts any thread.
        unsafe { (self.vtable().schedule)(self.0) }
    }

    /// Hand an abort to the task's scheduler. Any thread; borrows the caller's reference.
    #[inline]
    pub(super) fn abort(self) {
        // SAFETY: as in `schedule`.
        unsafe { (self.vtable().abort)(self.0) }
    }

    /// Poll the future (step 2 -> 3 or 4). Loop thread only, state RUNNING.
    pub(super) fn poll(&self, cx: &mut Context<'_>) -> bool {
        // SAFETY: we are on the runtime thread and the stage is Running (not COMPLETE).
        unsafe { (self.vtable().poll)(self.0, cx) }
    }

    /// Drop the future without polling (step 7). Loop thread only.
    pub(super) fn cancel(&self) {
        // SAFETY: runtime thread; cancel tolerates any stage.
        unsafe { (self.vtable().cancel)(self.0) }
    }

    /// Move out the output into `dst` (a `*mut Poll<Result<T, JoinError>>`). Loop thread only.
    ///
    /// # Safety
    /// `dst` must point to a `Poll<Result<T, JoinError>>` with `T` the future's output type.
    pub(super) unsafe fn read_output(&self, dst: *mut ()) {
        // SAFETY: forwarded contract.
        unsafe { (self.vtable().read_output)(self.0, dst) }
    }

    /// Drop an output nobody will read. Loop thread only.
    pub(super) fn drop_output(&self) {
        // SAFETY: called on the owning thread; tolerates any stage.
        unsafe { (self.vtable().drop_output)(self.0) }
    }

    /// The JoinHandle's waker slot. Loop thread only, and no other borrow of the slot live.
    #[allow(clippy::mut_from_ref)]
    pub(super) fn join_waker(&self) -> &mut Option<Waker> {
        // SAFETY: the slot is only touched on the loop thread, by the JoinHandle (which is
        // `!Send`) and by `wake_join`, never while another borrow of it is live (each use
        // is a statement: take, compare or store).
        unsafe { &mut *self.header().join_waker.get() }
    }
}

fn vtable<F, S>() -> &'static Vtable
where
    F: Future + 'static,
    S: Schedule,
{
    &Vtable {
        poll: poll::<F>,
        cancel: cancel::<F>,
        read_output: read_output::<F>,
        drop_output: drop_output::<F>,
        dealloc: dealloc::<F, S>,
        schedule: schedule::<S>,
        abort: abort::<S>,
    }
}

/// # Safety
/// `ptr` is a live cell allocated with scheduler `S`; the caller holds a reference.
unsafe fn schedule<S: Schedule>(ptr: NonNull<Header>) {
    let task = RawTask(ptr);
    // SAFETY: forwarded contract: the scheduler type is the cell's.
    let scheduler = unsafe { task.scheduler::<S>() };
    scheduler.schedule(Woken::new(task));
}

/// # Safety
/// As for `schedule`.
unsafe fn abort<S: Schedule>(ptr: NonNull<Header>) {
    let task = RawTask(ptr);
    // SAFETY: forwarded contract.
    let scheduler = unsafe { task.scheduler::<S>() };
    scheduler.abort(Woken::new(task));
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
    if header.state.load().has_join_interest() {
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

unsafe fn dealloc<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: last reference; the cell came from `Box::leak` in `allocate`. The stage is
    // Consumed (module invariant), so no `!Send` value is dropped here.
    let cell = unsafe { Box::from_raw(ptr.cast::<Cell_<F>>().as_ptr()) };
    let scheduler = cell.prefix.header.scheduler;
    // The caller's Acquire (fence or load) made the flag's store visible.
    let owned = cell.prefix.header.state.load().owns_scheduler();
    drop(cell);
    if owned {
        // SAFETY: `release_runtime_ref` took this count of the `Arc<S>` (`Arc::as_ptr` in
        // `allocate`) for the references that outlived the runtime's; the last one is gone.
        drop(unsafe { Arc::from_raw(scheduler.cast::<S>().as_ptr().cast_const()) });
    }
}

/// A panic payload, as `catch_unwind` hands it over.
pub(crate) type Payload = Box<dyn Any + Send + 'static>;

#[cfg(all(test, target_pointer_width = "64"))]
mod tests {
    use super::*;

    /// A small task (`async move { n }`) is paid for in memory per task: its cell must fit
    /// the 128-byte malloc chunk (120 usable bytes with glibc's 8-byte chunk header), which
    /// is why `JoinError` is one pointer wide.
    #[test]
    fn a_small_task_fits_a_128_byte_allocation() {
        fn cell_size<F: Future>(_: &F) -> usize {
            std::mem::size_of::<Cell_<F>>()
        }
        let n = 7u64;
        let size = cell_size(&async move { n });
        assert!(size <= 120, "a small task's cell is {size} bytes");
    }
}
