//! The task cell and the references to it: the mechanism under `spawn`, independent of the
//! executor (which reaches it through the [`Schedule`] seam).
//!
//! * `raw.rs` — the allocation (header, metadata, future/output stage) and its vtable;
//!   the only file that dereferences a raw task pointer.
//! * `state.rs` — the flags and their transitions, each checking its precondition.
//! * `refs.rs` — one owning type per kind of reference (`Task`, `SendTask`), the
//!   run-queue token (`Notified`), the borrowed views (`Woken`, `Running`, `CurrentTask`).
//! * `waker.rs` — task wakers (one reference each), generic over the scheduler.
//! * `schedule.rs` — the seam: where a woken or aborted task goes.
//! * `join_handle.rs`, `join_error.rs`, `id.rs` — the public handles.
//!
//! Unsafe code of the task system lives in `raw.rs`, `refs.rs`, `waker.rs` and one
//! `take_output` call in `join_handle.rs`.
//!
//! # Task state machine
//!
//! ```text
//!                  (1) Task::allocate (Core::spawn)
//!                        |
//!                        v
//!   +--------------> SCHEDULED ------------------------------+
//!   |                    |                                   |
//!   |                    | (2) Notified::run ->              | (6) abort: transition_to_cancelled
//!   |                    |     transition_to_running:        |     and schedule (JoinHandle on the
//!   |                    |     RunAction::Poll               v     loop; AbortHandle from anywhere)
//!   |                    v                               CANCELLED --(7) RunAction::Cancel:
//!   |   (3) Pending:  RUNNING --(4) Ready/panic-------------+        Task::cancel drops the future
//!   |   transition_to_   |       the vtable's poll stores   |
//!   |   idle; a wake:    |       output or panic            v
//!   |   Task::schedule   v                 Task::complete -> COMPLETE
//!   +------------------ IDLE                                |
//!                                                           | (5) Completed::ReleaseNow, or the
//!                                                           |     stale entry's RunAction::Release:
//!                                                           v     the slab drops its RuntimeTask;
//!                                                        freed    JoinHandle, AbortHandle, TaskRef,
//!                                                                 wakers drop theirs; refs == 0 frees
//! ```
//!
//! * (1) `Task::allocate` makes the cell with two references (the runtime's `RuntimeTask`, kept in
//!   the task slab, and the JoinHandle's) and its first `Notified`, which the loop queues.
//! * (2) the loop pops a `Notified` and runs it (`transition_to_running`): poll it, cancel it,
//!   or release it when it completed while queued.
//! * (3) a wake: `Schedule::schedule` → `Task::schedule` (`transition_to_scheduled`) makes a
//!   `Notified` unless the task is queued already or complete. A task woken while RUNNING is
//!   queued again.
//! * (4) the poll returns `true` when the future finished or panicked; the future is dropped
//!   right there, on the loop's thread, and `Task::complete` marks the task COMPLETE.
//! * (5) the runtime lets go of its reference once the task is COMPLETE and not SCHEDULED
//!   (`RuntimeTask`'s drop, `RawTask::release_runtime_ref`): with only the JoinHandle's
//!   reference left (or none) that is a plain store; with wakers or an `AbortHandle` left,
//!   the cell first takes a count of the scheduler's `Arc` for them (`SCHEDULER_OWNED`).
//! * (6)/(7) abort is a flag plus a wake, so the future is always dropped by the loop.

mod id;
mod join_error;
mod join_handle;
mod raw;
mod refs;
mod schedule;
mod state;
mod waker;

pub use id::Id;
pub use join_error::JoinError;
pub use join_handle::{AbortHandle, JoinHandle};
pub(crate) use raw::{Meta, TaskName};
pub(crate) use refs::{CurrentTask, NewTask, Notified, RuntimeTask, SendTask, Task, Woken};
pub(crate) use schedule::Schedule;
pub(crate) use state::{Completed, RunAction};
