//! Which runtime (if any) is running on this thread right now.
//!
//! `block_on` publishes its `Core` here for the duration of the call, so `spawn`, timers and
//! same-thread wakers find the run queue without any handle being passed around.

use std::cell::Cell;
use std::ptr;

use crate::executor::Core;
use crate::remote::Remote;

thread_local! {
    static CURRENT: Cell<*const Core> = const { Cell::new(ptr::null()) };
}

/// The core running on this thread, or null.
#[inline]
pub(crate) fn current_ptr() -> *const Core {
    CURRENT.with(|c| c.get())
}

/// The core running on this thread if it is `remote`'s runtime (a wake on the loop's own
/// thread may touch its single-threaded state; any other must go through `remote`).
#[inline]
pub(crate) fn core_of<'a>(remote: &Remote) -> Option<&'a Core> {
    let p = current_ptr();
    // SAFETY: a non-null CURRENT points at the core running on this thread (see `enter`),
    // alive while its `Enter` guard lives, which outlasts any wake made during `block_on`.
    if !p.is_null() && std::ptr::eq(unsafe { (*p).remote_ptr() }, remote) {
        // SAFETY: as above.
        Some(unsafe { &*p })
    } else {
        None
    }
}

/// Run `f` with the core running on this thread, if any.
#[inline]
pub(crate) fn with_core<R>(f: impl FnOnce(&Core) -> R) -> Option<R> {
    let p = current_ptr();
    if p.is_null() {
        None
    } else {
        // SAFETY: CURRENT is only non-null while an `Enter` guard lives, and the guard is
        // created from a `&Core` that outlives it (see `enter`).
        Some(f(unsafe { &*p }))
    }
}

/// Like `with_core`, but panics with a clear message outside a runtime.
#[inline]
#[track_caller]
pub(crate) fn expect_core<R>(what: &str, f: impl FnOnce(&Core) -> R) -> R {
    match with_core(f) {
        Some(r) => r,
        None => panic!(
            "{what} must be called from inside a corio runtime \
             (inside `corio::run`, `Runtime::block_on` or a task spawned there)"
        ),
    }
}

/// Marks `core` as this thread's runtime until dropped.
pub(crate) struct Enter {
    prev: *const Core,
}

/// Enter `core`. Panics if another `block_on` is already running on this thread.
#[track_caller]
pub(crate) fn enter(core: &Core, allow_nested: bool) -> Enter {
    let prev = current_ptr();
    if !prev.is_null() && !allow_nested {
        panic!(
            "cannot call `block_on` (or `corio::run`) from inside a corio runtime: the loop \
             thread would block on itself. Use `.await` on the future, or `corio::spawn` it"
        );
    }
    CURRENT.with(|c| c.set(core as *const Core));
    Enter { prev }
}

impl Drop for Enter {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.prev));
    }
}
