//! The accept loop shared by TCP and Unix listeners, with the fault policy of the contract:
//!
//! * `EMFILE`/`ENFILE`/`ENOBUFS`/`ENOMEM` (and `ENOSPC` from registering the new socket):
//!   sleep on a timer, 10 ms doubling up to 1 s, then try again. The pending connection stays
//!   in the kernel's backlog meanwhile, the loop keeps serving everything else, and accepting
//!   resumes as soon as a retry finds a free descriptor.
//! * `ECONNABORTED` (and the per-connection network errors Linux reports from `accept`):
//!   retry at once; that connection is gone, the next one may be fine.
//! * Anything else is returned.

use std::io;
use std::os::fd::AsRawFd;
use std::time::Duration;

use corio_runtime::io::Async;

use crate::sys;

/// First back-off delay after running out of descriptors or memory.
pub(crate) const BACKOFF_START: Duration = Duration::from_millis(10);
/// Longest back-off delay.
pub(crate) const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Accept one connection with `op` (a non-blocking accept on the listener) and turn it into
/// the caller's type with `finish` (registration with the reactor).
pub(crate) async fn accept<L, S, A, R>(
    listener: &Async<L>,
    mut op: impl FnMut(&L) -> io::Result<(S, A)>,
    mut finish: impl FnMut(S) -> io::Result<R>,
) -> io::Result<(R, A)>
where
    L: AsRawFd,
{
    let mut backoff = BACKOFF_START;
    loop {
        let err = match listener.read_with(&mut op).await {
            Ok((socket, addr)) => match finish(socket) {
                Ok(stream) => return Ok((stream, addr)),
                Err(e) => e,
            },
            Err(e) => e,
        };
        if sys::is_transient_accept_error(&err) {
            continue;
        }
        if !sys::is_resource_exhaustion(&err) {
            return Err(err);
        }
        corio_runtime::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}
