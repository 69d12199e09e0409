//! The process-wide side of signals: installing handlers, the self-pipe, the relay thread
//! and the list of parked listeners.
//!
//! ```text
//!   kernel ─► handler (sys::signals): COUNTS[sig] += 1; write 1 byte to the pipe
//!                                                            │
//!   corio-signal thread: read the pipe ─► lock WAITERS ─► every listener whose signal's
//!                                         count moved past the count it parked at is
//!                                         taken off the list and woken (any loop, any thread)
//! ```
//!
//! A listener parks with the count it has already seen. It registers first and reads the
//! count second, and the relay reads the counts under the same lock after reading a byte
//! the handler wrote after counting; so a delivery is either seen by the listener's own
//! check or by the relay's, never by neither.

use std::io;
use std::os::fd::IntoRawFd;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Waker};

use crate::sys::signals;

/// A parked listener.
struct Waiter {
    id: u64,
    signum: i32,
    /// The count of `signum` the listener has already consumed.
    seen: usize,
    waker: Waker,
}

struct Waiters {
    next_id: u64,
    list: Vec<Waiter>,
}

static WAITERS: Mutex<Waiters> = Mutex::new(Waiters {
    next_id: 0,
    list: Vec::new(),
});

/// Whether the pipe and relay thread exist (or why they could not be made).
static RELAY: OnceLock<Result<(), String>> = OnceLock::new();

/// Signals whose handler is installed.
static INSTALLED: Mutex<[bool; signals::LIMIT]> = Mutex::new([false; signals::LIMIT]);

fn waiters() -> MutexGuard<'static, Waiters> {
    // A panic while holding this lock leaves only a list of wakers: still usable.
    WAITERS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Signals a handler must not take: SIGKILL and SIGSTOP cannot be caught, and returning from
/// a handler for a fault (SIGSEGV, SIGBUS, SIGILL, SIGFPE) re-runs the faulting instruction.
const FORBIDDEN: [i32; 6] = [
    libc::SIGKILL,
    libc::SIGSTOP,
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGILL,
    libc::SIGFPE,
];

/// Make sure the handler for `signum` is installed (once per process).
pub(super) fn install(signum: i32) -> io::Result<()> {
    if FORBIDDEN.contains(&signum) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("signal {signum} cannot be listened for (SIGKILL, SIGSTOP and fault signals are refused)"),
        ));
    }
    let slot = usize::try_from(signum)
        .ok()
        .filter(|&i| i > 0 && i < signals::LIMIT)
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "signal number {signum} is out of range 1..{}",
                    signals::LIMIT
                ),
            )
        })?;
    relay()?;
    let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    if !installed[slot] {
        signals::install(signum)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot handle signal {signum}: {e}")))?;
        installed[slot] = true;
    }
    Ok(())
}

/// Create the self-pipe and start the `corio-signal` thread, once.
fn relay() -> io::Result<()> {
    let result = RELAY.get_or_init(|| {
        let setup = || -> io::Result<()> {
            let (sender, receiver) = mio::unix::pipe::new()?;
            // The reading thread blocks; the handler's end stays non-blocking.
            receiver.set_nonblocking(false)?;
            std::thread::Builder::new()
                .name("corio-signal".into())
                .spawn(move || relay_loop(receiver))?;
            // The write end lives as long as the process: a handler may run at any time.
            signals::set_pipe(sender.into_raw_fd());
            Ok(())
        };
        setup().map_err(|e| format!("cannot set up signal handling: {e}"))
    });
    result.clone().map_err(io::Error::other)
}

/// The `corio-signal` thread: after each read from the pipe, wake every listener whose
/// signal arrived since it parked.
fn relay_loop(receiver: mio::unix::pipe::Receiver) {
    let mut buf = [0u8; 64];
    loop {
        match std::io::Read::read(&mut &receiver, &mut buf) {
            Ok(0) => return,
            Ok(_) => {
                let woken: Vec<Waker> = {
                    let mut w = waiters();
                    let mut woken = Vec::new();
                    w.list.retain_mut(|waiter| {
                        if signals::count(waiter.signum) == waiter.seen {
                            return true;
                        }
                        woken.push(waiter.waker.clone());
                        false
                    });
                    woken
                };
                // Outside the lock: a waker may run code that registers again.
                woken.into_iter().for_each(Waker::wake);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

/// Deliveries of `signum` so far.
pub(super) fn count(signum: i32) -> usize {
    signals::count(signum)
}

/// Ready with the current count once `signum`'s count has moved past `seen`; otherwise
/// park `cx`'s waker under `slot` (re-using the entry of an earlier poll).
pub(super) fn poll(
    signum: i32,
    seen: usize,
    slot: &mut Option<u64>,
    cx: &mut Context<'_>,
) -> Poll<usize> {
    let now = signals::count(signum);
    if now != seen {
        forget(slot);
        return Poll::Ready(now);
    }
    {
        // Register before looking at the count again, so a delivery in between still
        // wakes us (see the module docs).
        let mut w = waiters();
        let existing = slot.and_then(|id| w.list.iter_mut().find(|x| x.id == id));
        match existing {
            Some(waiter) => {
                waiter.seen = seen;
                if !waiter.waker.will_wake(cx.waker()) {
                    waiter.waker.clone_from(cx.waker());
                }
            }
            None => {
                let id = w.next_id;
                w.next_id += 1;
                w.list.push(Waiter {
                    id,
                    signum,
                    seen,
                    waker: cx.waker().clone(),
                });
                *slot = Some(id);
            }
        }
    }
    let now = signals::count(signum);
    if now != seen {
        forget(slot);
        return Poll::Ready(now);
    }
    Poll::Pending
}

/// Take the listener parked under `slot` (if any) off the list.
pub(super) fn forget(slot: &mut Option<u64>) {
    if let Some(id) = slot.take() {
        waiters().list.retain(|x| x.id != id);
    }
}

/// Parked listeners (for tests of the crate).
#[cfg(test)]
pub(super) fn parked() -> usize {
    waiters().list.len()
}
