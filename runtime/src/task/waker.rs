//! `Waker`s for tasks and for the `block_on` future.
//!
//! A task waker's data pointer is the task header, and each waker owns one reference. Waking
//! takes one of two roads:
//! * on the runtime's own thread, while it runs (`context::current_ptr()` is that runtime),
//!   the task is pushed on the local run queue: no lock, no atomic beyond the refcount;
//! * anywhere else (a blocking-pool thread, a user thread, or after `block_on` returned), the
//!   task goes through `Remote::inject`, a locked queue plus a `mio::Waker` poke.
//!
//! Foreign threads never touch the header's `Cell`s: they use `refs` (atomic) and `remote`
//! (immutable) only, through raw field pointers.

use std::mem::ManuallyDrop;
use std::ptr::{addr_of, NonNull};
use std::sync::Arc;
use std::task::{RawWaker, RawWakerVTable, Waker};

use crate::context;
use crate::remote::Remote;
use crate::task::raw::{Header, TaskPtr};

static TASK_VTABLE: RawWakerVTable =
    RawWakerVTable::new(clone_task, wake_task, wake_task_by_ref, drop_task);

/// A waker that borrows the caller's reference (no refcount change). Never drop it:
/// wrap it in `ManuallyDrop`, as `Core::run_task` does.
pub(crate) fn borrowed_task_waker(task: TaskPtr) -> ManuallyDrop<Waker> {
    // SAFETY: the vtable upholds RawWaker's contract (see the functions below); the data
    // pointer is a live header and ManuallyDrop keeps us from dropping a reference we do not own.
    ManuallyDrop::new(unsafe {
        Waker::from_raw(RawWaker::new(task.0.as_ptr() as *const (), &TASK_VTABLE))
    })
}

/// Schedule `task` from whatever thread we are on. Does not consume a reference.
///
/// # Safety
/// `ptr` must be a live task header (the caller holds a reference).
unsafe fn schedule_from_anywhere(ptr: NonNull<Header>) {
    let task = TaskPtr(ptr);
    // SAFETY: the header is alive; `remote` is immutable and Arc is Sync, so a shared
    // reference to that one field is fine from any thread.
    let remote: &Arc<Remote> = unsafe { &*addr_of!((*ptr.as_ptr()).remote) };
    let core = context::current_ptr();
    // SAFETY: a non-null CURRENT points at the core running on this thread.
    if !core.is_null() && unsafe { Arc::ptr_eq(&(*core).remote, remote) } {
        // Same runtime, same thread: the Cell state is ours to touch.
        // SAFETY: as above.
        unsafe { (*core).schedule(task) };
    } else {
        // The queue entry owns a reference until the loop drains it.
        task.add_ref();
        remote.inject(task);
    }
}

unsafe fn clone_task(data: *const ()) -> RawWaker {
    // SAFETY: data is a live header (the waker being cloned holds a reference).
    let task = TaskPtr(unsafe { NonNull::new_unchecked(data as *mut Header) });
    task.add_ref();
    RawWaker::new(data, &TASK_VTABLE)
}

unsafe fn wake_task(data: *const ()) {
    // SAFETY: the waker owns a reference, which we use and then give up.
    unsafe {
        wake_task_by_ref(data);
        drop_task(data);
    }
}

unsafe fn wake_task_by_ref(data: *const ()) {
    // SAFETY: the waker holds a reference, so the header is alive.
    unsafe { schedule_from_anywhere(NonNull::new_unchecked(data as *mut Header)) }
}

unsafe fn drop_task(data: *const ()) {
    // SAFETY: the waker owns exactly one reference.
    unsafe { TaskPtr(NonNull::new_unchecked(data as *mut Header)).drop_ref() }
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
    let remote = data as *const Remote;
    let core = context::current_ptr();
    // SAFETY: a non-null CURRENT is the core on this thread; `remote` is alive (owned Arc).
    unsafe {
        if !core.is_null() && Arc::as_ptr(&(*core).remote) == remote {
            (*core).wake_main();
        } else {
            (*remote)
                .main_woken
                .store(true, std::sync::atomic::Ordering::Release);
            (*remote).notify();
        }
    }
}

unsafe fn drop_main(data: *const ()) {
    // SAFETY: the waker owns one Arc count.
    unsafe { Arc::decrement_strong_count(data as *const Remote) };
}
