//! Knowing when a child exits, and reaping children whose `Child` was dropped.
//!
//! On Linux (5.3+) a pidfd is registered with the loop: it turns readable when the child
//! exits, so `wait` costs no polling and no SIGCHLD handler (the process-wide SIGCHLD
//! disposition is left alone). Where pidfds are missing, `wait` polls `waitpid(WNOHANG)` on
//! a timer (1 ms doubling up to 50 ms).
//!
//! A `Child` dropped before its exit was collected goes to a per-thread orphan list, which
//! is reaped (non-blocking) on every later `spawn` and `wait`, so zombies do not pile up.

use std::cell::RefCell;
use std::io;
use std::process::ExitStatus;
use std::time::Duration;

use corio_runtime::io::Async;

/// How a child's exit is noticed.
pub(crate) enum ExitWatch {
    /// A pidfd registered with the loop.
    #[cfg(target_os = "linux")]
    Pidfd(Async<std::os::fd::OwnedFd>),
    /// Polling on a timer.
    Poll,
}

impl ExitWatch {
    pub(crate) fn new(pid: u32) -> ExitWatch {
        #[cfg(target_os = "linux")]
        if let Ok(watch) = crate::sys::pidfd_open(pid).and_then(Async::new) {
            return ExitWatch::Pidfd(watch);
        }
        let _ = pid;
        ExitWatch::Poll
    }

    /// Wait until `child` has exited and reap it.
    pub(crate) async fn wait(&self, child: &mut std::process::Child) -> io::Result<ExitStatus> {
        let mut try_wait = || match child.try_wait()? {
            Some(status) => Ok(status),
            None => Err(io::Error::from(io::ErrorKind::WouldBlock)),
        };
        match self {
            #[cfg(target_os = "linux")]
            ExitWatch::Pidfd(pidfd) => pidfd.read_with(|_| try_wait()).await,
            ExitWatch::Poll => {
                let mut delay = Duration::from_millis(1);
                loop {
                    match try_wait() {
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        result => return result,
                    }
                    corio_runtime::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_millis(50));
                }
            }
        }
    }
}

thread_local! {
    static ORPHANS: RefCell<Vec<std::process::Child>> = const { RefCell::new(Vec::new()) };
}

/// Keep `child` until it can be reaped.
pub(crate) fn adopt(mut child: std::process::Child) {
    if let Ok(None) = child.try_wait() {
        // `try_with`: during thread teardown there is nobody left to reap; let it go.
        let _ = ORPHANS.try_with(|o| o.borrow_mut().push(child));
    }
}

/// Reap the orphans that have exited (never blocks).
pub(crate) fn reap_orphans() {
    let _ = ORPHANS.try_with(|o| {
        o.borrow_mut()
            .retain_mut(|child| matches!(child.try_wait(), Ok(None)))
    });
}

/// How many orphans wait to be reaped (for tests).
#[cfg(test)]
pub(crate) fn orphan_count() -> usize {
    ORPHANS.with(|o| o.borrow().len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_children_are_reaped_later() {
        corio_runtime::run(async {
            let child = crate::process::Command::new("true").spawn().unwrap();
            drop(child);
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while orphan_count() > 0 && std::time::Instant::now() < deadline {
                corio_runtime::time::sleep(Duration::from_millis(5)).await;
                reap_orphans();
            }
            assert_eq!(orphan_count(), 0, "the exited child was never reaped");
        });
    }
}
