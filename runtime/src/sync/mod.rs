//! Sync primitives for tasks on one loop: Event, Lock, RLock, Semaphore, BoundedSemaphore,
//! Condition, Barrier and the Queue family.
//!
//! They are `!Send` plain structs built on `Cell`/`RefCell` and waiter lists — no atomics,
//! no OS locks. Share them between tasks with `Rc`.
