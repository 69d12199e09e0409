//! Signals: [`ctrl_c`] (SIGINT), [`terminate`] (SIGTERM), [`shutdown`] (the first of the
//! two) and [`Signal`], a stream of the deliveries of any catchable signal (SIGHUP,
//! SIGUSR1, ...).
//!
//! The first listener of a signal installs a process-wide handler for it, kept for the rest
//! of the process's life, as in tokio: from then on that signal no longer has its default
//! effect (SIGINT and SIGTERM no longer kill the process, SIGUSR1 no longer terminates it);
//! it is delivered to the listening tasks instead, and counted but otherwise ignored while
//! nobody listens. The handler only counts the delivery and writes a byte to a self-pipe; a
//! small thread (`corio-signal`) reads the pipe and wakes every listener of that signal, on
//! whichever loop (or OS thread) it waits. Signals nobody listened for keep their
//! disposition.
//!
//! Deliveries are counted per signal; each [`Signal`] remembers how many it has consumed,
//! so nothing that arrives between two `recv`s is lost, and several listeners of one signal
//! each see every delivery. Deliveries that arrive while a listener is not looking are
//! *coalesced*: one `recv` completes for all of them (the kernel coalesces pending
//! signals of one kind too), as tokio does.
//!
//! ```no_run
//! use corio_net::signal::{self, Signal};
//!
//! corio_runtime::run(async {
//!     let mut reload = Signal::new(signal::SIGHUP).unwrap();
//!     corio_runtime::spawn(async move {
//!         while reload.recv().await.is_some() {
//!             println!("SIGHUP: reloading the configuration");
//!         }
//!     });
//!     signal::shutdown().await.unwrap(); // SIGINT or SIGTERM
//!     println!("draining");
//! });
//! ```

mod registry;

use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

macro_rules! signal_numbers {
    ($($name:ident: $what:literal;)*) => {$(
        #[doc = concat!("`", stringify!($name), "`: ", $what, ", this platform's number for [`Signal::new`].")]
        ///
        /// ```
        #[doc = concat!(
            "let listener = corio_net::signal::Signal::new(corio_net::signal::",
            stringify!($name),
            ").unwrap();"
        )]
        #[doc = concat!("assert_eq!(listener.signum(), corio_net::signal::", stringify!($name), ");")]
        /// ```
        pub const $name: i32 = libc::$name;
    )*};
}

signal_numbers! {
    SIGHUP: "hang-up; by convention, reload the configuration";
    SIGINT: "interrupt (Ctrl-C in a terminal)";
    SIGQUIT: "quit (Ctrl-\\ in a terminal)";
    SIGTERM: "polite termination (what `kill`, systemd and Kubernetes send first)";
    SIGUSR1: "user-defined signal 1";
    SIGUSR2: "user-defined signal 2";
    SIGALRM: "timer alarm";
    SIGWINCH: "terminal window size change";
}

/// A listener for one signal: a stream of its deliveries, counted from the moment the
/// listener was created.
///
/// [`recv`](Signal::recv) completes once per batch of deliveries: if the signal arrived
/// three times since the previous `recv` completed (or since `new`), the next `recv`
/// returns at once, and the one after waits for a new delivery. No delivery is lost
/// between two `recv`s, and any number of listeners — of one signal, in one task, in
/// several tasks, on several loops — each see every delivery.
///
/// `Signal` is also a [`futures_core::Stream`] of `()`, and is `Send`: it may be moved to
/// another loop.
///
/// ```
/// use corio_net::signal::{Signal, SIGUSR2};
/// use std::process::Command;
/// corio_runtime::run(async {
///     let mut a = Signal::new(SIGUSR2).unwrap();
///     let mut b = Signal::new(SIGUSR2).unwrap();
///     let me = std::process::id().to_string();
///     assert!(Command::new("kill").args(["-USR2", &me]).status().unwrap().success());
///     // Both listeners see the delivery, even though it came before their `recv`.
///     assert_eq!(a.recv().await, Some(()));
///     assert_eq!(b.recv().await, Some(()));
/// });
/// ```
pub struct Signal {
    signum: i32,
    /// Deliveries already consumed.
    seen: usize,
    /// Our entry in the registry's list of parked listeners.
    parked: Option<u64>,
}

impl Signal {
    /// Listen for `signum` (for example [`SIGHUP`] or `libc::SIGUSR1`). The first listener
    /// of a signal installs corio's handler for it (see the module docs).
    ///
    /// Fails with `InvalidInput` for SIGKILL and SIGSTOP (they cannot be caught), the fault
    /// signals SIGSEGV, SIGBUS, SIGILL and SIGFPE, and numbers that are not signals; with the
    /// OS's error if the handler cannot be installed.
    ///
    /// ```
    /// use corio_net::signal::{Signal, SIGHUP};
    /// let hup = Signal::new(SIGHUP).unwrap();
    /// assert_eq!(hup.signum(), SIGHUP);
    /// let err = Signal::new(9).unwrap_err(); // SIGKILL
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// ```
    pub fn new(signum: i32) -> io::Result<Signal> {
        registry::install(signum)?;
        Ok(Signal {
            signum,
            seen: registry::count(signum),
            parked: None,
        })
    }

    /// The signal this listener listens for.
    ///
    /// ```
    /// use corio_net::signal::{Signal, SIGUSR1};
    /// assert_eq!(Signal::new(SIGUSR1).unwrap().signum(), SIGUSR1);
    /// ```
    pub fn signum(&self) -> i32 {
        self.signum
    }

    /// Wait for the next delivery of the signal not yet consumed by this listener; returns
    /// at once if one (or several: they are coalesced) arrived since the previous `recv`
    /// completed or since [`new`](Signal::new). Always `Some(())`: the `Option` mirrors
    /// tokio's `Signal::recv` (and the stream's item), but corio's listeners never end.
    ///
    /// Cancel-safe: dropping the future consumes nothing; the delivery waits for the next
    /// `recv`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use corio_net::signal::{Signal, SIGWINCH};
    /// corio_runtime::run(async {
    ///     let mut winch = Signal::new(SIGWINCH).unwrap();
    ///     let quiet = corio_runtime::time::timeout(Duration::from_millis(10), winch.recv()).await;
    ///     assert!(quiet.is_err(), "no SIGWINCH was sent");
    /// });
    /// ```
    pub fn recv(&mut self) -> impl Future<Output = Option<()>> + '_ {
        Recv { signal: self }
    }

    /// Poll for the next delivery (what [`recv`](Signal::recv) and the `Stream` impl do):
    /// `Ready(Some(()))` if one arrived since the last consumed, otherwise `Pending` with
    /// `cx`'s waker registered.
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use corio_net::signal::{Signal, SIGUSR1};
    /// corio_runtime::run(async {
    ///     let mut usr1 = Signal::new(SIGUSR1).unwrap();
    ///     let me = std::process::id().to_string();
    ///     std::process::Command::new("kill").args(["-USR1", &me]).status().unwrap();
    ///     assert_eq!(poll_fn(|cx| usr1.poll_recv(cx)).await, Some(()));
    /// });
    /// ```
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        match registry::poll(self.signum, self.seen, &mut self.parked, cx) {
            Poll::Ready(now) => {
                // Everything up to now is consumed by this one completion (coalescing).
                self.seen = now;
                Poll::Ready(Some(()))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        registry::forget(&mut self.parked);
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal")
            .field("signum", &self.signum)
            .field("pending", &(registry::count(self.signum) != self.seen))
            .finish()
    }
}

impl futures_core::Stream for Signal {
    type Item = ();

    /// Never ends: yields `Some(())` per (coalesced) batch of deliveries.
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        self.get_mut().poll_recv(cx)
    }
}

/// The future of [`Signal::recv`]; takes its waker off the list when dropped pending.
struct Recv<'a> {
    signal: &'a mut Signal,
}

impl Future for Recv<'_> {
    type Output = Option<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        self.signal.poll_recv(cx)
    }
}

impl Drop for Recv<'_> {
    fn drop(&mut self) {
        registry::forget(&mut self.signal.parked);
    }
}

/// Wait for the next SIGINT (Ctrl-C in a terminal) received after the first poll of the
/// returned future. Any number of tasks, on any number of loops, may wait at once; each one
/// completes. Fails only if the handler cannot be installed.
///
/// A server that must also react to a *second* signal should keep a [`Signal`] instead:
/// a new `ctrl_c()` only counts signals from its own first poll on.
///
/// ```no_run
/// corio_runtime::run(async {
///     println!("press Ctrl-C to stop");
///     corio_net::signal::ctrl_c().await.unwrap();
///     println!("bye");
/// });
/// ```
pub async fn ctrl_c() -> io::Result<()> {
    Signal::new(SIGINT)?.recv().await;
    Ok(())
}

/// Wait for the next SIGTERM (what `kill PID`, systemd and Kubernetes send to stop a
/// service) received after the first poll of the returned future. Like [`ctrl_c`]: every
/// waiter completes; fails only if the handler cannot be installed.
///
/// ```no_run
/// corio_runtime::run(async {
///     corio_net::signal::terminate().await.unwrap();
///     println!("SIGTERM: stopping");
/// });
/// ```
pub async fn terminate() -> io::Result<()> {
    Signal::new(SIGTERM)?.recv().await;
    Ok(())
}

/// Wait for the first SIGINT or SIGTERM received after the first poll of the returned
/// future: the usual "stop the server" request, from a terminal or from a service manager.
/// Installs both handlers at its first poll; fails only if one cannot be installed.
///
/// To tell the two apart, or to see a second request ("stop now"), listen with two
/// [`Signal`]s, which keep counting between waits.
///
/// ```no_run
/// corio_runtime::run(async {
///     corio_net::signal::shutdown().await.unwrap();
///     println!("stop requested: draining");
/// });
/// ```
pub async fn shutdown() -> io::Result<()> {
    let mut int = Signal::new(SIGINT)?;
    let mut term = Signal::new(SIGTERM)?;
    poll_fn(|cx| {
        if int.poll_recv(cx).is_ready() || term.poll_recv(cx).is_ready() {
            return Poll::Ready(());
        }
        Poll::Pending
    })
    .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::task::{Wake, Waker};

    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }

    #[test]
    fn a_dropped_listener_or_recv_leaves_no_parked_waker() {
        let waker = Waker::from(Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        // SIGUSR2 is used by no other unit test of this crate.
        let before = registry::parked();
        let mut a = Signal::new(SIGUSR2).unwrap();
        assert!(a.poll_recv(&mut cx).is_pending());
        assert_eq!(registry::parked(), before + 1);
        // Polling again re-uses the entry.
        assert!(a.poll_recv(&mut cx).is_pending());
        assert_eq!(registry::parked(), before + 1);
        drop(a);
        assert_eq!(registry::parked(), before);

        let mut b = Signal::new(SIGUSR2).unwrap();
        {
            let mut recv = std::pin::pin!(b.recv());
            assert!(recv.as_mut().poll(&mut cx).is_pending());
            assert_eq!(registry::parked(), before + 1);
        }
        assert_eq!(registry::parked(), before);
    }

    #[test]
    fn uncatchable_and_fault_signals_and_bad_numbers_are_refused() {
        for signum in [
            libc::SIGKILL,
            libc::SIGSTOP,
            libc::SIGSEGV,
            libc::SIGBUS,
            0,
            -1,
            65,
            1000,
        ] {
            let err = Signal::new(signum).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{signum}: {err}");
        }
    }
}
