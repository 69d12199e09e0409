//! The references to a task cell, each kind its own type, so who owns a reference is in the
//! types and releasing one is a `Drop`, never a hand-written call:
//!
//! | type        | owns a reference | thread            | held by                                   |
//! |-------------|------------------|-------------------|-------------------------------------------|
//! | `RuntimeTask` | yes            | the loop's only   | the task slab (the runtime's own)          |
//! | `Task`      | yes              | the loop's only   | `JoinHandle`, `TaskRef`                    |
//! | `SendTask`  | yes              | any (`Send+Sync`) | the cross-thread queue, `AbortHandle`      |
//! | `Notified`  | no               | the loop's only   | the run queue (one per SCHEDULED task)     |
//! | `Woken<'a>` | no (borrowed)    | the waker's       | a `Schedule` call, for its duration        |
//! | waker data  | yes              | any               | every `Waker` (see `waker.rs`)             |
//!
//! `Notified` owns nothing because the runtime's own `Task` (in the slab) outlives every
//! queue entry: the runtime lets go of a task only once it is COMPLETE *and* not SCHEDULED
//! (`state::Completed`, `RunAction::Release`), and at shutdown the queue is forgotten before
//! the slab is emptied. Only a state transition makes a `Notified`, and it is neither `Clone`
//! nor `Copy`, so there is at most one per SCHEDULED flag.
//!
//! `Task`, `Notified` and `Woken` hold a `NonNull`, which makes them `!Send` and `!Sync`: a
//! `Task` exists only on the thread that allocated it (the loop's), which is what lets its
//! methods touch the header's `Cell`s. A `SendTask` becomes a `Task` again only on that
//! thread (`into_local`, unsafe for that reason).

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::Arc;
use std::task::{Context, Poll, RawWaker, Waker};

use super::join_error::JoinError;
use super::raw::{Header, Meta, RawTask, TaskName};
use super::schedule::Schedule;
use super::state::{Completed, RunAction, Snapshot, State};
use super::waker::WakerVtable;

/// An owning reference to a task, on its loop's thread.
pub(crate) struct Task {
    raw: RawTask,
}

/// What `Task::allocate` makes: the runtime's reference, the JoinHandle's, and the first
/// run-queue entry (a task is born SCHEDULED).
pub(crate) struct NewTask<S: Schedule> {
    pub(crate) task: RuntimeTask<S>,
    pub(crate) join: Task,
    pub(crate) notified: Notified,
}

/// The runtime's own reference to a task (kept in its task slab): dropping it is transition
/// (5), which hands the scheduler over to the references left, if any need it
/// ([`RawTask::release_runtime_ref`]). Dropped only once the task is COMPLETE, while the
/// runtime (and so its `Arc<S>`) is alive.
pub(crate) struct RuntimeTask<S: Schedule> {
    task: ManuallyDrop<Task>,
    _scheduler: PhantomData<Arc<S>>,
}

impl<S: Schedule> Deref for RuntimeTask<S> {
    type Target = Task;
    fn deref(&self) -> &Task {
        &self.task
    }
}

impl<S: Schedule> Drop for RuntimeTask<S> {
    fn drop(&mut self) {
        // SAFETY: this is the runtime's reference, of a cell allocated with scheduler `S`,
        // dropped while the runtime's `Arc<S>` lives (the type's contract); the `Task` inside
        // is never dropped by itself (ManuallyDrop), so the reference is released once.
        unsafe { self.task.raw.release_runtime_ref::<S>() }
    }
}

impl Task {
    /// Transition (1): allocate a cell for `future` on the loop's thread.
    pub(crate) fn allocate<F, S>(
        future: F,
        id: u64,
        name: Option<Box<TaskName>>,
        scheduler: &Arc<S>,
        meta: Meta,
        helper: bool,
    ) -> NewTask<S>
    where
        F: Future + 'static,
        F::Output: 'static,
        S: Schedule,
    {
        let raw = RawTask::allocate(future, id, name, scheduler, meta, helper);
        // The cell starts with two references: the runtime's and the JoinHandle's.
        NewTask {
            task: RuntimeTask {
                task: ManuallyDrop::new(Task { raw }),
                _scheduler: PhantomData,
            },
            join: Task { raw },
            notified: Notified::new(raw),
        }
    }

    #[inline]
    pub(crate) fn id(&self) -> u64 {
        self.raw.id()
    }

    #[inline]
    pub(crate) fn name(&self) -> Option<&str> {
        self.raw.header().name.as_deref().map(|n| &*n.0)
    }

    #[inline]
    pub(crate) fn meta(&self) -> &Meta {
        self.raw.meta()
    }

    #[inline]
    pub(crate) fn state(&self) -> Snapshot {
        self.raw.state().load()
    }

    /// The transitions (see `state.rs`); the loop thread is the only writer, and a `Task`
    /// only exists there.
    #[inline]
    pub(crate) fn transitions(&self) -> &State {
        self.raw.state()
    }

    /// Transition (3): mark the task SCHEDULED; the `Notified` is its run-queue entry.
    #[inline]
    pub(crate) fn schedule(&self) -> Option<Notified> {
        if self.raw.state().transition_to_scheduled() {
            Some(Notified::new(self.raw))
        } else {
            None
        }
    }

    /// Transition (4)/(7) or shutdown: the future is gone. Wakes the joiner.
    pub(crate) fn complete(&self) -> Completed {
        let completed = self.raw.state().transition_to_complete();
        self.wake_join();
        completed
    }

    /// Transition (6) on the loop's thread: mark cancelled and hand the task to its
    /// scheduler, which queues it (or, outside `block_on`, parks it in the cross-thread
    /// queue for the next one).
    pub(crate) fn abort(&self) {
        if self.raw.state().transition_to_cancelled() {
            self.raw.schedule();
        }
    }

    /// Slot in the runtime's task slab.
    #[inline]
    pub(crate) fn key(&self) -> usize {
        self.raw.header().key.get() as usize
    }

    pub(crate) fn set_key(&self, key: usize) {
        let key = u32::try_from(key).expect("corio: more than 4G live tasks");
        self.raw.header().key.set(key);
    }

    /// Poll the future (RUNNING). `true` when it completed or panicked.
    #[inline]
    pub(crate) fn poll(&self, cx: &mut Context<'_>) -> bool {
        self.raw.poll(cx)
    }

    /// Drop the future unpolled (abort, shutdown).
    pub(crate) fn cancel(&self) {
        self.raw.cancel();
    }

    /// A waker that borrows this reference (no count change), for polling the task. `S` is
    /// the scheduler the task was allocated with (the caller knows it statically, which
    /// saves reading the vtable pointer out of the header on every poll).
    ///
    /// # Safety
    /// `S` must be the task's scheduler type.
    #[inline]
    pub(crate) unsafe fn waker_ref<S: Schedule>(&self) -> WakerRef<'_> {
        // SAFETY: the waker vtable is the one for the cell's scheduler (the caller promises
        // `S`); its functions treat the data pointer as a task header; ManuallyDrop keeps the
        // borrowed waker from releasing a reference it does not own.
        let waker = unsafe {
            Waker::from_raw(RawWaker::new(
                self.raw.0.as_ptr() as *const (),
                &WakerVtable::<S>::VTABLE,
            ))
        };
        WakerRef {
            waker: ManuallyDrop::new(waker),
            _task: PhantomData,
        }
    }

    /// A reference another thread may hold.
    pub(crate) fn to_send(&self) -> SendTask {
        self.raw.add_ref();
        SendTask { raw: self.raw }
    }

    /// Keep `waker` to wake when the output is ready (the JoinHandle's poll).
    pub(crate) fn set_join_waker(&self, waker: &Waker) {
        let slot = self.raw.join_waker();
        match slot {
            Some(w) if w.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
    }

    /// The JoinHandle is gone: forget its waker; drop a stored output nobody will read.
    pub(crate) fn drop_join_interest(&self) {
        let state = self.raw.state().unset_join_interest();
        // Taken out first, dropped after: a waker's destructor may run arbitrary code.
        let waker = self.raw.join_waker().take();
        drop(waker);
        if state.is_complete() {
            self.raw.drop_output();
        }
    }

    /// Move the output out, if the task is complete and it is still there.
    ///
    /// # Safety
    /// `T` must be the output type of the task's future.
    pub(crate) unsafe fn take_output<T>(&self) -> Poll<Result<T, JoinError>> {
        let mut out: Poll<Result<T, JoinError>> = Poll::Pending;
        // SAFETY: `out` has the type the vtable writes (the caller promises `T`).
        unsafe { self.raw.read_output(&mut out as *mut _ as *mut ()) };
        out
    }

    fn wake_join(&self) {
        // Taken out of the slot before waking: the wake may run code that polls the handle.
        let waker = self.raw.join_waker().take();
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl Clone for Task {
    fn clone(&self) -> Task {
        self.raw.add_ref();
        Task { raw: self.raw }
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        // SAFETY: a `Task` owns one reference and is never used after its drop.
        unsafe { self.raw.drop_ref() }
    }
}

impl PartialEq for Task {
    fn eq(&self, other: &Task) -> bool {
        self.raw == other.raw
    }
}

impl fmt::Debug for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task").field("id", &self.id()).finish()
    }
}

/// A task waker borrowed from a [`Task`] for the duration of a poll.
pub(crate) struct WakerRef<'a> {
    waker: ManuallyDrop<Waker>,
    _task: PhantomData<&'a Task>,
}

impl Deref for WakerRef<'_> {
    type Target = Waker;
    fn deref(&self) -> &Waker {
        &self.waker
    }
}

/// An owning reference another thread may hold (the cross-thread queue, `AbortHandle`).
pub(crate) struct SendTask {
    raw: RawTask,
}

// SAFETY: a `SendTask` touches only the cell's atomic and immutable fields (`refs`, `state`
// read with acquire, `id`, `scheduler`, `vtable`) on the thread it is on; anything else needs
// a `Task`, which `into_local` makes only on the loop's thread. Dropping it may free the cell
// on any thread, which is sound because the future and output are gone by then (the stage is
// `Consumed`; see `raw.rs`) and everything else in the cell is `Send`.
unsafe impl Send for SendTask {}
// SAFETY: as above; `&SendTask` offers only the same atomic and immutable reads.
unsafe impl Sync for SendTask {}

impl SendTask {
    #[inline]
    pub(crate) fn id(&self) -> u64 {
        self.raw.id()
    }

    /// The future is gone (completed, panicked or cancelled). Any thread.
    pub(crate) fn is_complete(&self) -> bool {
        self.raw.state().load_acquire().is_complete()
    }

    /// Abort from any thread: the task's scheduler marks it cancelled on its loop. A COMPLETE
    /// task is left alone without asking the scheduler, which may be gone by then (this
    /// handle may have been made from a `JoinHandle` after the runtime let go of the task).
    pub(crate) fn abort(&self) {
        if !self.is_complete() {
            self.raw.abort();
        }
    }

    /// Back to a loop-thread reference (the same one: no count change).
    ///
    /// # Safety
    /// Call on the thread of the loop that owns the task.
    pub(crate) unsafe fn into_local(self) -> Task {
        let this = ManuallyDrop::new(self);
        Task { raw: this.raw }
    }
}

impl Clone for SendTask {
    fn clone(&self) -> SendTask {
        self.raw.add_ref();
        SendTask { raw: self.raw }
    }
}

impl Drop for SendTask {
    fn drop(&mut self) {
        // SAFETY: a `SendTask` owns one reference and is never used after its drop.
        unsafe { self.raw.drop_ref() }
    }
}

/// A task's run-queue entry: a non-owning token made by transition (3) (or at birth) and
/// consumed by the loop's run. See the module docs for why it need not own a reference.
pub(crate) struct Notified {
    /// Never dropped: the entry owns no reference.
    task: ManuallyDrop<Task>,
}

impl Notified {
    fn new(raw: RawTask) -> Notified {
        Notified {
            task: ManuallyDrop::new(Task { raw }),
        }
    }

    /// Transition (2): the loop takes the entry; the task is no longer SCHEDULED.
    #[inline]
    pub(crate) fn run(self) -> (RunAction, Running) {
        let action = self.task.raw.state().transition_to_running();
        (action, Running { task: self.task })
    }
}

/// A popped task while the loop works on it: borrowed, like the `Notified` it came from,
/// from the runtime's own reference.
pub(crate) struct Running {
    task: ManuallyDrop<Task>,
}

impl Deref for Running {
    type Target = Task;
    fn deref(&self) -> &Task {
        &self.task
    }
}

impl Deref for Notified {
    type Target = Task;
    fn deref(&self) -> &Task {
        &self.task
    }
}

/// A woken task, borrowed for one `Schedule` call on whatever thread the wake happened.
pub(crate) struct Woken<'a> {
    raw: RawTask,
    _borrow: PhantomData<&'a Header>,
}

impl Woken<'_> {
    pub(super) fn new(raw: RawTask) -> Self {
        Woken {
            raw,
            _borrow: PhantomData,
        }
    }

    /// Take a reference of its own (for a cross-thread queue). Any thread.
    pub(crate) fn to_send(&self) -> SendTask {
        self.raw.add_ref();
        SendTask { raw: self.raw }
    }

    /// Use the task as a loop-thread [`Task`] for the duration of `f` (no count change).
    ///
    /// # Safety
    /// Call on the thread of the loop that owns the task.
    #[inline]
    pub(crate) unsafe fn with_local<R>(&self, f: impl FnOnce(&Task) -> R) -> R {
        let task = ManuallyDrop::new(Task { raw: self.raw });
        f(&task)
    }
}

/// The task being polled right now (for `task::current()`), borrowed for the poll.
pub(crate) struct CurrentTask {
    task: std::cell::Cell<Option<NonNull<Header>>>,
}

impl CurrentTask {
    pub(crate) const fn new() -> CurrentTask {
        CurrentTask {
            task: std::cell::Cell::new(None),
        }
    }

    /// Mark `task` as running until the guard drops.
    #[inline]
    pub(crate) fn enter<'a>(&'a self, task: &'a Task) -> CurrentGuard<'a> {
        self.task.set(Some(task.raw.0));
        CurrentGuard { current: self }
    }

    /// An owning reference to the running task, if a task (not the `block_on` future) runs.
    pub(crate) fn get(&self) -> Option<Task> {
        let ptr = self.task.get()?;
        let raw = RawTask(ptr);
        // The guard of `enter` borrows the running task, so the cell is alive here.
        raw.add_ref();
        Some(Task { raw })
    }
}

/// Clears [`CurrentTask`] when the poll ends.
pub(crate) struct CurrentGuard<'a> {
    current: &'a CurrentTask,
}

impl Drop for CurrentGuard<'_> {
    fn drop(&mut self) {
        self.current.task.set(None);
    }
}
