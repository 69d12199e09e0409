//! A task's state flags and the transitions between them (the numbers are those of the
//! diagram in `cell/mod.rs`).
//!
//! The flags live in one `AtomicU8`, but only the task's own loop thread ever *writes* them,
//! with a plain load and store (no read-modify-write: on x86 and ARM a relaxed atomic load or
//! store is an ordinary `mov`/`ldr`). Other threads only *read* them (`AbortHandle::
//! is_finished` from a foreign thread), which is why the cell is atomic at all: a `Cell<u8>`
//! read from another thread would be a data race.
//!
//! Each transition checks its precondition in debug builds and returns what the caller must
//! do next, so the executor never sets or clears a bit by hand.

use std::sync::atomic::{AtomicU8, Ordering};

/// The task is in the run queue (or about to be).
const SCHEDULED: u8 = 1 << 0;
/// The future is being polled right now.
const RUNNING: u8 = 1 << 1;
/// The future is gone: its output (or error) is stored or consumed.
const COMPLETE: u8 = 1 << 2;
/// `abort` was called: the next run drops the future instead of polling it.
const CANCELLED: u8 = 1 << 3;
/// A `JoinHandle` is alive and wants the output.
const JOIN_INTEREST: u8 = 1 << 4;
/// The runtime's own helper task (the wait of a `spawn_blocking` job), not a user task: not
/// counted by `task::active_count` or `live_tasks_count`.
const HELPER: u8 = 1 << 5;
/// The cell owns a strong count of its scheduler's `Arc` (taken when the runtime let go of
/// the task while references that may wake or abort it were left; see `raw.rs`).
const SCHEDULER_OWNED: u8 = 1 << 6;

pub(crate) struct State(AtomicU8);

/// What transition (2) found: what the loop does with the task it popped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunAction {
    /// Poll the future (the task is RUNNING now).
    Poll,
    /// `abort` was called: drop the future (transition 7).
    Cancel,
    /// A stale queue entry of a task that completed meanwhile: the entry's turn is the
    /// moment the runtime may let go of it (transition 5).
    Release,
}

/// After transition (4)/(7): whether the runtime may let go of the task now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Completed {
    /// Not queued: release it now.
    ReleaseNow,
    /// Still in the run queue (woken while it finished): that entry releases it later, so the
    /// runtime's reference must outlive the entry.
    StillQueued,
}

/// A reading of the flags, for `task::all` and the handles.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Snapshot(u8);

impl Snapshot {
    pub(crate) fn is_scheduled(self) -> bool {
        self.0 & SCHEDULED != 0
    }
    pub(crate) fn is_running(self) -> bool {
        self.0 & RUNNING != 0
    }
    pub(crate) fn is_complete(self) -> bool {
        self.0 & COMPLETE != 0
    }
    pub(crate) fn is_helper(self) -> bool {
        self.0 & HELPER != 0
    }
    pub(crate) fn has_join_interest(self) -> bool {
        self.0 & JOIN_INTEREST != 0
    }
    pub(crate) fn owns_scheduler(self) -> bool {
        self.0 & SCHEDULER_OWNED != 0
    }
}

impl State {
    /// Transition (1): a new task is born SCHEDULED (it is queued at once) with a JoinHandle.
    pub(crate) fn new(helper: bool) -> State {
        let helper = if helper { HELPER } else { 0 };
        State(AtomicU8::new(SCHEDULED | JOIN_INTEREST | helper))
    }

    #[inline]
    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.0.load(Ordering::Relaxed))
    }

    /// A reading from any thread that happens-after the completion it reports (the COMPLETE
    /// store is a release).
    #[inline]
    pub(crate) fn load_acquire(&self) -> Snapshot {
        Snapshot(self.0.load(Ordering::Acquire))
    }

    #[inline]
    fn store(&self, flags: u8) {
        self.0.store(flags, Ordering::Relaxed);
    }

    /// Transition (3): a wake. True when the caller must push the task on the run queue (it
    /// was neither queued already nor complete).
    #[inline]
    pub(crate) fn transition_to_scheduled(&self) -> bool {
        let s = self.load().0;
        if s & (SCHEDULED | COMPLETE) != 0 {
            return false;
        }
        self.store(s | SCHEDULED);
        true
    }

    /// Transition (2): the loop popped the task's queue entry.
    #[inline]
    pub(crate) fn transition_to_running(&self) -> RunAction {
        let s = self.load().0;
        debug_assert!(s & SCHEDULED != 0, "popped a task that was not SCHEDULED");
        debug_assert!(s & RUNNING == 0, "popped a task that is RUNNING");
        let s = s & !SCHEDULED;
        if s & COMPLETE != 0 {
            self.store(s);
            RunAction::Release
        } else if s & CANCELLED != 0 {
            self.store(s);
            RunAction::Cancel
        } else {
            self.store(s | RUNNING);
            RunAction::Poll
        }
    }

    /// End of a poll (3 or 4): no longer RUNNING.
    #[inline]
    pub(crate) fn transition_to_idle(&self) {
        let s = self.load().0;
        debug_assert!(
            s & RUNNING != 0,
            "a poll ended on a task that was not RUNNING"
        );
        self.store(s & !RUNNING);
    }

    /// Transition (4)/(7), or the runtime dropping a live task: the future is gone.
    #[inline]
    pub(crate) fn transition_to_complete(&self) -> Completed {
        let s = self.load().0;
        debug_assert!(s & COMPLETE == 0, "a task completed twice");
        debug_assert!(s & RUNNING == 0, "a task completed while RUNNING");
        // Release: a foreign `AbortHandle::is_finished` that reads COMPLETE sees the future gone.
        self.0.store(s | COMPLETE, Ordering::Release);
        if s & SCHEDULED != 0 {
            Completed::StillQueued
        } else {
            Completed::ReleaseNow
        }
    }

    /// Transition (6): `abort`. True when the caller must wake the task so the loop drops its
    /// future; false when it is already complete.
    #[inline]
    pub(crate) fn transition_to_cancelled(&self) -> bool {
        let s = self.load().0;
        if s & COMPLETE != 0 {
            return false;
        }
        self.store(s | CANCELLED);
        true
    }

    /// The JoinHandle is dropped; returns the state it saw (is the output stored?).
    #[inline]
    pub(crate) fn unset_join_interest(&self) -> Snapshot {
        let s = self.load().0;
        debug_assert!(s & JOIN_INTEREST != 0, "two JoinHandles for one task");
        self.store(s & !JOIN_INTEREST);
        Snapshot(s & !JOIN_INTEREST)
    }

    /// Transition (5), when references that may reach the scheduler outlive the runtime's:
    /// the cell now owns a count of the scheduler's `Arc` (the caller took it). Loop thread,
    /// once, on a COMPLETE task.
    pub(crate) fn mark_scheduler_owned(&self) {
        let s = self.load().0;
        debug_assert!(s & COMPLETE != 0, "the runtime let go of a live task");
        debug_assert!(s & SCHEDULER_OWNED == 0, "the scheduler was taken twice");
        self.store(s | SCHEDULER_OWNED);
    }

    /// Runtime shutdown: the run queue has been forgotten, so no entry refers to the task
    /// any more; the SCHEDULED flag it may carry is stale.
    pub(crate) fn forget_queue_entry(&self) {
        let s = self.load().0;
        self.store(s & !SCHEDULED);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_runs_idles_and_completes() {
        let s = State::new(false);
        assert_eq!(s.transition_to_running(), RunAction::Poll);
        assert!(s.load().is_running());
        s.transition_to_idle();
        assert!(s.transition_to_scheduled());
        assert!(
            !s.transition_to_scheduled(),
            "a queued task is not queued twice"
        );
        assert_eq!(s.transition_to_running(), RunAction::Poll);
        s.transition_to_idle();
        assert_eq!(s.transition_to_complete(), Completed::ReleaseNow);
        assert!(
            !s.transition_to_scheduled(),
            "a complete task is never queued"
        );
        assert!(
            !s.transition_to_cancelled(),
            "a complete task cannot be aborted"
        );
    }

    #[test]
    fn a_task_woken_while_finishing_is_released_by_its_queue_entry() {
        let s = State::new(false);
        assert_eq!(s.transition_to_running(), RunAction::Poll);
        assert!(s.transition_to_scheduled(), "woken while running");
        s.transition_to_idle();
        assert_eq!(s.transition_to_complete(), Completed::StillQueued);
        assert_eq!(s.transition_to_running(), RunAction::Release);
    }

    #[test]
    fn an_aborted_task_is_cancelled_at_its_next_run() {
        let s = State::new(true);
        assert!(s.load().is_helper());
        assert!(s.transition_to_cancelled());
        assert_eq!(s.transition_to_running(), RunAction::Cancel);
        assert_eq!(s.transition_to_complete(), Completed::ReleaseNow);
        assert!(s.load_acquire().is_complete());
        assert!(!s.unset_join_interest().has_join_interest());
        assert!(!s.load().owns_scheduler());
        s.mark_scheduler_owned();
        assert!(s.load_acquire().owns_scheduler());
        assert!(s.load().is_complete(), "marking keeps the other flags");
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "completed twice")]
    fn completing_twice_is_caught_in_debug_builds() {
        let s = State::new(false);
        s.forget_queue_entry();
        s.transition_to_complete();
        s.transition_to_complete();
    }
}
