//! Task `Waker`s. A task waker's data pointer is the task header, and each waker owns one
//! reference. Waking hands the task to its scheduler `S` ([`Schedule::schedule`]) with a
//! borrowed view; `S` decides between the loop's run queue (on its own thread) and the
//! cross-thread queue. The vtable is generic over `S`, so that call is static.

use std::marker::PhantomData;
use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable};

use super::raw::{Header, RawTask};
use super::refs::Woken;
use super::schedule::Schedule;

/// Holder of the per-scheduler waker vtable (an associated const, so `&VTABLE` is a
/// `'static` promoted constant).
pub(super) struct WakerVtable<S>(PhantomData<S>);

impl<S: Schedule> WakerVtable<S> {
    pub(super) const VTABLE: RawWakerVTable =
        RawWakerVTable::new(clone::<S>, wake::<S>, wake_by_ref::<S>, drop_waker);
}

/// # Safety
/// `data` is a live task header (a waker that holds a reference hands it over).
unsafe fn raw(data: *const ()) -> RawTask {
    // SAFETY: waker data pointers are never null (they come from a `NonNull<Header>`).
    RawTask(unsafe { NonNull::new_unchecked(data as *mut Header) })
}

unsafe fn clone<S: Schedule>(data: *const ()) -> RawWaker {
    // SAFETY: data is a live header (the waker being cloned holds a reference).
    unsafe { raw(data) }.add_ref();
    RawWaker::new(data, &WakerVtable::<S>::VTABLE)
}

unsafe fn wake<S: Schedule>(data: *const ()) {
    // SAFETY: the waker owns a reference, which we use and then give up.
    unsafe {
        wake_by_ref::<S>(data);
        drop_waker(data);
    }
}

unsafe fn wake_by_ref<S: Schedule>(data: *const ()) {
    // SAFETY: the waker holds a reference, so the header is alive; wakers of this vtable
    // are only made for cells allocated with scheduler `S`.
    let task = unsafe { raw(data) };
    // SAFETY: as above.
    let scheduler = unsafe { task.scheduler::<S>() };
    scheduler.schedule(Woken::new(task));
}

unsafe fn drop_waker(data: *const ()) {
    // SAFETY: the waker owns exactly one reference.
    unsafe { raw(data).drop_ref() }
}
