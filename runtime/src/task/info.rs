//! `task::all()`: the live tasks of the current runtime, the async `threading.enumerate()`.

use std::fmt;
use std::panic::Location;
use std::time::Duration;

use super::Id;
use crate::context;

/// What a task is doing right now (see [`TaskInfo`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskState {
    /// Waiting to be woken (parked on I/O, a timer, a primitive, a join).
    Idle,
    /// Woken, in the run queue.
    Scheduled,
    /// Being polled: the task that called `task::all`.
    Running,
}

/// One live task, from [`all`].
///
/// ```
/// corio_runtime::run(async {
///     let h = corio_runtime::task::Builder::new()
///         .name("worker")
///         .spawn(std::future::pending::<()>());
///     corio_runtime::task::yield_now().await; // it runs once, then parks
///     let tasks = corio_runtime::task::all();
///     assert_eq!(tasks.len(), 1);
///     let t = &tasks[0];
///     assert_eq!(t.name.as_deref(), Some("worker"));
///     assert_eq!(t.state, corio_runtime::task::TaskState::Idle);
///     assert_eq!(t.polls, 1);
///     assert!(t.spawned_at.file().ends_with(".rs"));
///     h.abort();
/// });
/// ```
#[derive(Clone)]
pub struct TaskInfo {
    /// The task's id.
    pub id: Id,
    /// Its name, if it was given one (`task::Builder::name`).
    pub name: Option<String>,
    /// Idle, scheduled or running.
    pub state: TaskState,
    /// How many times it has been polled.
    pub polls: u64,
    /// Where it was spawned.
    pub spawned_at: &'static Location<'static>,
    /// Time since its latest poll (or its spawn), to the loop's turn: a resolution of one
    /// loop turn, since the loop reads the clock once per turn, not per poll.
    pub idle_for: Duration,
}

impl fmt::Debug for TaskInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskInfo")
            .field("id", &self.id.as_u64())
            .field("name", &self.name)
            .field("state", &self.state)
            .field("polls", &self.polls)
            .field("spawned_at", &format_args!("{}", self.spawned_at))
            .field("idle_for", &self.idle_for)
            .finish()
    }
}

/// Every live (spawned, not yet finished) task of the current runtime, oldest slot first.
/// The `block_on` future is not a task and is not listed (`task::current()` calls it id 0).
///
/// # Panics
/// Outside a corio runtime.
///
/// ```
/// corio_runtime::run(async {
///     assert!(corio_runtime::task::all().is_empty());
/// });
/// ```
#[track_caller]
pub fn all() -> Vec<TaskInfo> {
    context::expect_core("task::all", |core| core.task_infos())
}
