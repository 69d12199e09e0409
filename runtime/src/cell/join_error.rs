//! `JoinError`: why awaiting a task failed. `Send + Sync`, so `?` converts it into
//! `Box<dyn Error + Send + Sync>`.

use std::any::Any;
use std::error::Error;
use std::fmt;
use std::io;

use super::raw::Payload;

/// Why awaiting a [`JoinHandle`](crate::task::JoinHandle) failed: the task was cancelled, or it panicked.
///
/// ```
/// corio_runtime::run(async {
///     let err = corio_runtime::spawn(async { panic!("boom") }).await.unwrap_err();
///     assert!(err.is_panic());
///     let payload = err.into_panic();
///     assert_eq!(*payload.downcast_ref::<&str>().unwrap(), "boom");
/// });
/// ```
pub struct JoinError {
    repr: Repr,
}

// One pointer wide (boxed panic, niche for `Cancelled`): a `Result<T, JoinError>` sits in
// every task cell until it is joined, so its size is paid per task; panics are rare enough
// to afford the second allocation.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<JoinError>() == 8);

enum Repr {
    Cancelled,
    Panic(Box<Panicked>),
}

/// The payload, and its message read once when the error was made.
struct Panicked {
    payload: SyncPayload,
    message: Box<str>,
}

/// A panic payload that is only ever reached by value (`into_panic`), never through `&`.
struct SyncPayload(Payload);

// SAFETY: `Sync` lets other threads share `&JoinError`; through `&` nobody can reach the
// payload (Display and Debug use the message copied at construction), so no `&dyn Any` of a
// possibly `!Sync` payload is ever shared. The payload itself is `Send` and only leaves by
// value. This is std's `Exclusive` / tokio's `SyncWrapper` argument.
unsafe impl Sync for SyncPayload {}

impl JoinError {
    pub(crate) fn cancelled() -> JoinError {
        JoinError {
            repr: Repr::Cancelled,
        }
    }

    pub(crate) fn panic(payload: Payload) -> JoinError {
        let message = panic_message(&payload).into();
        JoinError {
            repr: Repr::Panic(Box::new(Panicked {
                payload: SyncPayload(payload),
                message,
            })),
        }
    }

    /// The task was aborted (or the runtime dropped it).
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// The task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(..))
    }

    /// The panic payload, to inspect or `std::panic::resume_unwind`.
    ///
    /// # Panics
    /// If the error is a cancellation; use [`try_into_panic`](Self::try_into_panic) to check.
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("JoinError::into_panic called on a cancelled task's error")
    }

    /// The panic payload, or the error back if the task was cancelled.
    ///
    /// ```
    /// corio_runtime::run(async {
    ///     let h = corio_runtime::spawn(std::future::pending::<()>());
    ///     h.abort();
    ///     assert!(h.await.unwrap_err().try_into_panic().is_err());
    /// });
    /// ```
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(p) => Ok(p.payload.0),
            Repr::Cancelled => Err(self),
        }
    }
}

fn panic_message(payload: &Payload) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "(non-string panic payload)"
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => f.write_str("task was cancelled"),
            Repr::Panic(p) => write!(f, "task panicked: {}", p.message),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => f.write_str("JoinError::Cancelled"),
            Repr::Panic(p) => write!(f, "JoinError::Panic({:?})", p.message),
        }
    }
}

impl Error for JoinError {}

impl From<JoinError> for io::Error {
    fn from(e: JoinError) -> io::Error {
        io::Error::other(e.to_string())
    }
}
