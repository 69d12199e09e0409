//! Task-local storage: the async form of `threading.local()`.

use std::cell::RefCell;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Declare task-local keys: `static NAME: Type;` entries, each a [`LocalKey`].
///
/// A value is bound to a key for the duration of a future with [`LocalKey::scope`]; the
/// future (and everything it awaits, but not tasks it spawns) sees it through
/// [`LocalKey::with`].
///
/// ```
/// corio_runtime::task_local! {
///     static REQUEST_ID: u32;
/// }
/// corio_runtime::run(async {
///     REQUEST_ID.scope(7, async {
///         corio_runtime::task::yield_now().await;
///         assert_eq!(REQUEST_ID.with(|id| *id), 7);
///     }).await;
///     assert!(REQUEST_ID.try_with(|_| ()).is_err());
/// });
/// ```
#[macro_export]
macro_rules! task_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty; $($rest:tt)*) => {
        $crate::__task_local_inner!($(#[$attr])* $vis $name, $t);
        $crate::task_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty) => {
        $crate::__task_local_inner!($(#[$attr])* $vis $name, $t);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __task_local_inner {
    ($(#[$attr:meta])* $vis:vis $name:ident, $t:ty) => {
        $(#[$attr])*
        $vis static $name: $crate::task::LocalKey<$t> = {
            ::std::thread_local! {
                static __CORIO_TASK_LOCAL: ::std::cell::RefCell<::std::option::Option<$t>> =
                    const { ::std::cell::RefCell::new(::std::option::Option::None) };
            }
            $crate::task::LocalKey { inner: __CORIO_TASK_LOCAL }
        };
    };
}

/// A task-local key, declared with [`task_local!`](crate::task_local).
pub struct LocalKey<T: 'static> {
    #[doc(hidden)]
    pub inner: std::thread::LocalKey<RefCell<Option<T>>>,
}

impl<T: 'static> LocalKey<T> {
    /// Run `future` with this key set to `value`. The value is in place only while
    /// `future` is being polled (and dropped), so other tasks never see it.
    pub fn scope<F: Future>(&'static self, value: T, future: F) -> TaskLocalFuture<T, F> {
        TaskLocalFuture {
            key: self,
            slot: Some(value),
            future: Some(future),
        }
    }

    /// Run the closure `f` with this key set to `value` (the synchronous form of `scope`).
    ///
    /// ```
    /// corio_runtime::task_local! { static N: i32; }
    /// assert_eq!(N.sync_scope(3, || N.with(|n| n + 1)), 4);
    /// ```
    pub fn sync_scope<R>(&'static self, value: T, f: impl FnOnce() -> R) -> R {
        let mut slot = Some(value);
        let _swap = Swap::enter(self, &mut slot);
        f()
    }

    /// Borrow the value.
    ///
    /// # Panics
    /// If the key is not set in this task (no enclosing `scope`).
    #[track_caller]
    pub fn with<R>(&'static self, f: impl FnOnce(&T) -> R) -> R {
        match self.try_with(f) {
            Ok(r) => r,
            Err(_) => panic!(
                "task-local value not set: read it inside `KEY.scope(value, future)` of this task"
            ),
        }
    }

    /// Borrow the value, or get [`AccessError`] when it is not set.
    pub fn try_with<R>(&'static self, f: impl FnOnce(&T) -> R) -> Result<R, AccessError> {
        self.inner.with(|cell| {
            let value = cell.borrow();
            match value.as_ref() {
                Some(v) => Ok(f(v)),
                None => Err(AccessError(())),
            }
        })
    }

    /// A copy of the value.
    ///
    /// # Panics
    /// If the key is not set.
    #[track_caller]
    pub fn get(&'static self) -> T
    where
        T: Clone,
    {
        self.with(T::clone)
    }
}

impl<T: 'static> fmt::Debug for LocalKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LocalKey { .. }")
    }
}

/// Puts a value into the key's thread-local slot and takes it back out on drop (even when
/// the inner poll panics), so the value never leaks to another task.
struct Swap<'a, T: 'static> {
    key: &'static LocalKey<T>,
    slot: &'a mut Option<T>,
}

impl<'a, T: 'static> Swap<'a, T> {
    fn enter(key: &'static LocalKey<T>, slot: &'a mut Option<T>) -> Swap<'a, T> {
        key.inner
            .with(|cell| std::mem::swap(&mut *cell.borrow_mut(), slot));
        Swap { key, slot }
    }
}

impl<T: 'static> Drop for Swap<'_, T> {
    fn drop(&mut self) {
        self.key
            .inner
            .with(|cell| std::mem::swap(&mut *cell.borrow_mut(), self.slot));
    }
}

/// The future of [`LocalKey::scope`].
pub struct TaskLocalFuture<T: 'static, F> {
    key: &'static LocalKey<T>,
    slot: Option<T>,
    future: Option<F>,
}

impl<T: 'static, F: Future> Future for TaskLocalFuture<T, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved, only dropped in place
        // (in `Drop`); `slot` and `key` are not pinned and may be moved freely.
        let this = unsafe { self.get_unchecked_mut() };
        let _swap = Swap::enter(this.key, &mut this.slot);
        let future = this
            .future
            .as_mut()
            .expect("TaskLocalFuture polled after completion");
        // SAFETY: see above; the Option is never replaced while the future is pinned, only
        // set to None in place after completion, which drops the future in place.
        let result = unsafe { Pin::new_unchecked(future) }.poll(cx);
        if result.is_ready() {
            // Drop the inner future while the value is still in scope.
            this.future = None;
        }
        result
    }
}

impl<T: 'static, F> Drop for TaskLocalFuture<T, F> {
    fn drop(&mut self) {
        if self.future.is_some() {
            // The inner future's destructor may read the task-local: keep it in scope.
            let _swap = Swap::enter(self.key, &mut self.slot);
            self.future = None;
        }
    }
}

impl<T: 'static, F> fmt::Debug for TaskLocalFuture<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TaskLocalFuture { .. }")
    }
}

/// The error of [`LocalKey::try_with`] when the key is not set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessError(());

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task-local value not set in this task")
    }
}

impl Error for AccessError {}
