//! `LocalExecutor`: hyper's `rt::Executor` for `!Send` futures on the current corio loop.

use std::future::Future;

/// Spawns hyper's background futures (HTTP/2 streams, client connection tasks) as corio tasks
/// on the loop of the thread that calls it. corio tasks need no `Send`, so neither do the
/// futures: connections over corio's `!Send` streams work with HTTP/2.
///
/// # Panics
/// `execute` panics outside a corio runtime, as `corio::spawn` does.
///
/// ```
/// use corio_compat::hyper::LocalExecutor;
/// use hyper::rt::Executor;
///
/// corio_runtime::run(async {
///     let (tx, rx) = std::sync::mpsc::channel();
///     let not_send = std::rc::Rc::new(7);
///     LocalExecutor.execute(async move { tx.send(*not_send).unwrap() });
///     corio_runtime::task::yield_now().await;
///     assert_eq!(rx.try_recv(), Ok(7));
/// });
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct LocalExecutor;

impl<F> hyper::rt::Executor<F> for LocalExecutor
where
    F: Future + 'static,
{
    fn execute(&self, future: F) {
        // Detached: hyper owns the future's lifetime (it ends with its connection or stream).
        drop(corio_runtime::spawn(future));
    }
}
