//! Graceful drain for the example servers: what happens between "stop, please" and exit.
//!
//! Each server has a `serve_until(listener, .., stop: CancellationToken)` that, once `stop`
//! is cancelled, stops accepting (drops its listener: new connections are refused), lets the
//! work in flight finish, closes idle connections, and returns when its last connection is
//! done (a `TaskTracker` counts them). Dropping that future cuts every connection still
//! open. This module is the part around it, shared by the servers' `main`s:
//!
//! * [`supervise`] runs the serve future until the first stop request, cancels `stop`, and
//!   then waits for whichever comes first: the drain completing ([`Outcome::Drained`]), the
//!   drain timeout ([`Outcome::TimedOut`]: the serve future is dropped, which cuts the
//!   connections left), or a second stop request ([`Outcome::Forced`]: exit at once).
//!   Requests come from any [`Stream`] of `()`, so tests drive it with a trigger of their
//!   own and no process-wide signal;
//! * [`Signals`] is that stream in the binaries: SIGINT and SIGTERM, with both listeners
//!   created up front, so a second signal is seen even if it arrives before the first one
//!   is handled (a `signal::shutdown()` call counts only from its own first poll);
//! * [`Outcome::exit_code`] says what happened on stderr and picks the exit code: 0 for a
//!   drain (completed, or cut at the timeout), 1 for a second signal or an accept failure;
//! * [`parse_drain_timeout`] reads `--drain-timeout SECS` (default [`DEFAULT_TIMEOUT`]).
//!
//! Not an example of its own (no `main.rs`): each server includes it with `#[path]`.

use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::{pin, Pin};
use std::task::{Context, Poll};
use std::time::Duration;

use corio::signal::{Signal, SIGINT, SIGTERM};
use corio::sync::CancellationToken;
use corio::time::sleep_until;
use futures_core::Stream;

/// The drain timeout when `--drain-timeout` is not given.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// `--drain-timeout`'s value: seconds, a whole or decimal number (`0.5`), not negative.
pub fn parse_drain_timeout(value: &str) -> Result<Duration, String> {
    value
        .parse::<f64>()
        .ok()
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .ok_or(format!(
            "--drain-timeout: not a number of seconds (like 10 or 0.5): {value:?}"
        ))
}

/// SIGINT and SIGTERM as one stream of stop requests; both listeners are installed by
/// [`Signals::new`], so deliveries are counted from then on, and each one (or each batch of
/// coalesced ones) is a request.
pub struct Signals {
    int: Signal,
    term: Signal,
}

impl Signals {
    /// Install the SIGINT and SIGTERM listeners now: from here on the signals no longer kill
    /// the process, they ask it to drain.
    pub fn new() -> io::Result<Signals> {
        Ok(Signals {
            int: Signal::new(SIGINT)?,
            term: Signal::new(SIGTERM)?,
        })
    }
}

impl Stream for Signals {
    type Item = ();

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        let this = self.get_mut();
        // Poll both, so each registers its waker (and a pair of deliveries counts once here,
        // once later: SIGINT then SIGTERM is two requests).
        let int = this.int.poll_recv(cx);
        if int.is_ready() {
            return int;
        }
        this.term.poll_recv(cx)
    }
}

impl fmt::Debug for Signals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signals").finish_non_exhaustive()
    }
}

/// How a supervised server ended.
#[derive(Debug)]
pub enum Outcome {
    /// The serve future returned by itself before any stop request (an accept failure).
    Ended(io::Result<()>),
    /// A stop request, then every connection finished within the timeout; how long it took.
    Drained(Duration),
    /// A stop request, then the timeout passed with connections still open; they were cut.
    TimedOut(Duration),
    /// A second stop request during the drain: give up at once.
    Forced,
}

impl Outcome {
    /// Say on stderr what happened (as `name: ...`) and return the process's exit code.
    pub fn exit_code(&self, name: &str) -> i32 {
        match self {
            Outcome::Ended(Ok(())) => 0,
            Outcome::Ended(Err(e)) => {
                eprintln!("{name}: accept failed: {e}");
                1
            }
            Outcome::Drained(took) => {
                eprintln!("{name}: drained in {:.3} s", took.as_secs_f64());
                0
            }
            Outcome::TimedOut(limit) => {
                eprintln!(
                    "{name}: drain timeout ({:.3} s): closed the connections still open",
                    limit.as_secs_f64()
                );
                0
            }
            Outcome::Forced => {
                eprintln!("{name}: second stop signal: exiting now, without finishing the drain");
                1
            }
        }
    }
}

/// Run `serve` until the first item of `requests`, then cancel `stop` and drain: wait for
/// `serve` to return, at most `timeout`, and no longer than the next item of `requests`.
/// `serve` is dropped when this returns (which cuts the connections it still has).
/// `announce` is called once, when the drain starts (the binaries print a line).
pub async fn supervise<S, R>(
    serve: S,
    stop: CancellationToken,
    mut requests: R,
    timeout: Duration,
    announce: impl FnOnce(),
) -> Outcome
where
    S: Future<Output = io::Result<()>>,
    R: Stream<Item = ()> + Unpin,
{
    let mut serve = pin!(serve);
    let first = poll_fn(|cx| {
        if let Poll::Ready(result) = serve.as_mut().poll(cx) {
            return Poll::Ready(Some(result));
        }
        match Pin::new(&mut requests).poll_next(cx) {
            Poll::Ready(_) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    })
    .await;
    if let Some(result) = first {
        return Outcome::Ended(result);
    }
    announce();
    let started = corio::time::now();
    stop.cancel();
    let mut deadline = pin!(sleep_until(started + timeout));
    poll_fn(|cx| {
        if serve.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Outcome::Drained(corio::time::now() - started));
        }
        if Pin::new(&mut requests).poll_next(cx).is_ready() {
            return Poll::Ready(Outcome::Forced);
        }
        if deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Outcome::TimedOut(timeout));
        }
        Poll::Pending
    })
    .await
}
