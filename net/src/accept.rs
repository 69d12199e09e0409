//! The accept loop shared by TCP and Unix listeners, with the fault policy of the contract,
//! and [`Incoming`], the listeners as a `futures_core::Stream` of connections:
//!
//! * `EMFILE`/`ENFILE`/`ENOBUFS`/`ENOMEM` (and `ENOSPC` from registering the new socket):
//!   sleep on a timer, 10 ms doubling up to 1 s, then try again. The pending connection stays
//!   in the kernel's backlog meanwhile, the loop keeps serving everything else, and accepting
//!   resumes as soon as a retry finds a free descriptor.
//! * `ECONNABORTED` (and the per-connection network errors Linux reports from `accept`):
//!   retry at once; that connection is gone, the next one may be fine.
//! * Anything else is returned.

use std::fmt;
use std::future::Future;
use std::io;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use corio_runtime::io::Async;
use corio_runtime::time::Sleep;

use crate::sys;

/// First back-off delay after running out of descriptors or memory.
pub(crate) const BACKOFF_START: Duration = Duration::from_millis(10);
/// Longest back-off delay.
pub(crate) const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Where one accept (or a stream of them) stands: the current back-off delay and the timer
/// being slept on, if any. Dropping it mid-sleep loses nothing: the connection waits in the
/// kernel's backlog.
#[derive(Debug)]
pub struct AcceptState {
    backoff: Duration,
    sleep: Option<Sleep>,
}

impl AcceptState {
    pub(crate) fn new() -> AcceptState {
        AcceptState {
            backoff: BACKOFF_START,
            sleep: None,
        }
    }

    /// Accept one connection with `op` (a non-blocking accept on the listener) and turn it
    /// into the caller's type with `finish` (registration with the reactor). One budget unit
    /// per attempt, like every corio I/O operation (see `Async::poll_read_with`).
    pub(crate) fn poll_accept<L, S, A, R>(
        &mut self,
        listener: &Async<L>,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&L) -> io::Result<(S, A)>,
        mut finish: impl FnMut(S) -> io::Result<R>,
    ) -> Poll<io::Result<(R, A)>>
    where
        L: AsRawFd,
    {
        loop {
            if let Some(sleep) = &mut self.sleep {
                ready!(Pin::new(sleep).poll(cx));
                self.sleep = None;
            }
            let err = match ready!(listener.poll_read_with(cx, &mut op)) {
                Ok((socket, addr)) => match finish(socket) {
                    Ok(stream) => {
                        self.backoff = BACKOFF_START;
                        return Poll::Ready(Ok((stream, addr)));
                    }
                    Err(e) => e,
                },
                Err(e) => e,
            };
            if sys::is_transient_accept_error(&err) {
                continue;
            }
            if !sys::is_resource_exhaustion(&err) {
                return Poll::Ready(Err(err));
            }
            self.sleep = Some(corio_runtime::time::sleep(self.backoff));
            self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
        }
    }
}

/// A listener [`Incoming`] can draw connections from: [`TcpListener`](crate::TcpListener)
/// and [`UnixListener`](crate::UnixListener). Sealed (it lives in a private module).
pub trait Listener: fmt::Debug {
    /// The connected stream type it accepts.
    type Stream;
    /// Accept once, keeping back-off state in `state`.
    #[doc(hidden)]
    fn poll_accept_stream(
        &self,
        state: &mut AcceptState,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<Self::Stream>>;
}

/// The connections of a listener as a `futures_core::Stream<Item = io::Result<Stream>>`:
/// what [`TcpListener::incoming`](crate::TcpListener::incoming) and
/// [`UnixListener::incoming`](crate::UnixListener::incoming) return. It never ends (`None`
/// never comes); an error item (not a resource shortage, which backs off, nor an aborted
/// connection, which is skipped) leaves the stream usable.
///
/// Like `accept`, it is cancel-safe (a dropped `next()` loses no connection: it stays
/// queued in the kernel) and each connection draws from the task's cooperative budget.
///
/// ```
/// use std::pin::Pin;
/// use futures_core::Stream;
/// use corio_net::{TcpListener, TcpStream};
///
/// corio_runtime::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let _client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
///     let mut incoming = listener.incoming();
///     let next = std::future::poll_fn(|cx| Pin::new(&mut incoming).poll_next(cx)).await;
///     let conn = next.unwrap().unwrap();
///     assert!(conn.peer_addr().is_ok());
/// });
/// ```
pub struct Incoming<'a, L: Listener> {
    listener: &'a L,
    state: AcceptState,
}

impl<'a, L: Listener> Incoming<'a, L> {
    pub(crate) fn new(listener: &'a L) -> Incoming<'a, L> {
        Incoming {
            listener,
            state: AcceptState::new(),
        }
    }
}

impl<L: Listener> futures_core::Stream for Incoming<'_, L> {
    type Item = io::Result<L::Stream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        this.listener
            .poll_accept_stream(&mut this.state, cx)
            .map(Some)
    }
}

impl<L: Listener> fmt::Debug for Incoming<'_, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Incoming")
            .field("listener", self.listener)
            .field("backing_off", &self.state.sleep.is_some())
            .finish()
    }
}

/// A listener's accept plumbing, for `struct $ty { io: Async<mio listener> }` whose
/// `accept()` gives `($stream, $addr)`: the polling accept its `accept` and `incoming` share,
/// and the [`Listener`] impl behind [`Incoming`].
macro_rules! listener_plumbing {
    ($ty:ident, $stream:ident, $addr:ty) => {
        impl $ty {
            fn poll_accept_with(
                &self,
                state: &mut $crate::accept::AcceptState,
                cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<($stream, $addr)>> {
                state.poll_accept(&self.io, cx, |l| l.accept(), $stream::from_mio)
            }
        }

        impl $crate::accept::Listener for $ty {
            type Stream = $stream;
            fn poll_accept_stream(
                &self,
                state: &mut $crate::accept::AcceptState,
                cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<$stream>> {
                self.poll_accept_with(state, cx)
                    .map_ok(|(stream, _peer)| stream)
            }
        }
    };
}
