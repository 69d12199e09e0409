//! The seam between a task cell and whatever runs it.
//!
//! `cell/` knows nothing of the executor: a cell is allocated with a scheduler `S`, and every
//! wake or abort of the task, on whatever thread it happens, is handed to `S` with a borrowed
//! [`Woken`] view of the task. The executor implements `Schedule` for its cross-thread half
//! (`Remote`); the cell keeps a pointer to the runtime's `Arc<S>` in its header and reaches
//! `S` through its vtable, so the waker's hot path is a static call (no trait object). The
//! pointer is borrowed while the runtime holds the task and owned (one strong count) only by
//! a finished task whose wakers or `AbortHandle`s outlive the runtime's reference.

use super::refs::Woken;

/// Where a woken task goes. Called on any thread that holds a waker or an `AbortHandle`.
pub(crate) trait Schedule: Send + Sync + Sized + 'static {
    /// The task was woken. On the loop's own thread, queue it directly (the loop's own
    /// reference keeps it alive while it is queued); anywhere else take a reference
    /// ([`Woken::to_send`]) into a cross-thread queue.
    fn schedule(&self, task: Woken<'_>);

    /// `abort` was called through a handle that may be on another thread: on the loop's
    /// thread, mark the task cancelled and queue it; elsewhere queue the abort.
    fn abort(&self, task: Woken<'_>);
}
