//! `GracefulShutdown`: stop every watched hyper connection gracefully, then wait for them.
//!
//! hyper-util's `GracefulShutdown` needs `Send` connections (it signals through a tokio
//! watch channel and its trait is sealed to hyper-util's own types). This one is built on
//! corio's [`CancellationToken`] (the signal) and [`TaskTracker`] (the count), and takes any
//! connection future with a way to start its graceful shutdown.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use corio_runtime::sync::{CancellationToken, WaitForCancellationOwned};
use corio_runtime::task::{TaskTracker, TaskTrackerToken};
use hyper::body::{Body, Incoming};
use hyper::rt::{Read, Write};
use hyper::service::HttpService;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A connection future that can be asked to finish gracefully: stop taking new requests,
/// finish the ones in flight, then complete. Implemented for hyper's HTTP/1 and HTTP/2 server
/// connections; for other types (hyper-util's auto connection, say) use
/// [`GracefulShutdown::watch_with`].
///
/// ```
/// use corio_compat::hyper::{GracefulConnection, HyperIo};
/// fn assert_graceful<C: GracefulConnection>(_: &C) {}
/// corio_runtime::run(async {
///     let (a, _b) = corio_net::UnixStream::pair().unwrap();
///     let svc = hyper::service::service_fn(|_req| async {
///         Ok::<_, std::convert::Infallible>(hyper::Response::new(String::new()))
///     });
///     let conn = hyper::server::conn::http1::Builder::new().serve_connection(HyperIo::new(a), svc);
///     assert_graceful(&conn);
/// });
/// ```
pub trait GracefulConnection: Future {
    /// Start the graceful shutdown; the future keeps being polled until it completes.
    fn graceful_shutdown(self: Pin<&mut Self>);
}

impl<I, S, B> GracefulConnection for hyper::server::conn::http1::Connection<I, S>
where
    S: HttpService<Incoming, ResBody = B>,
    S::Error: Into<BoxError>,
    I: Read + Write + Unpin,
    B: Body + 'static,
    B::Error: Into<BoxError>,
{
    fn graceful_shutdown(self: Pin<&mut Self>) {
        hyper::server::conn::http1::Connection::graceful_shutdown(self)
    }
}

impl<I, S, B, E> GracefulConnection for hyper::server::conn::http2::Connection<I, S, E>
where
    S: HttpService<Incoming, ResBody = B>,
    S::Error: Into<BoxError>,
    I: Read + Write + Unpin,
    B: Body + 'static,
    B::Error: Into<BoxError>,
    E: hyper::rt::bounds::Http2ServerConnExec<S::Future, B>,
{
    fn graceful_shutdown(self: Pin<&mut Self>) {
        hyper::server::conn::http2::Connection::graceful_shutdown(self)
    }
}

/// Watches connections on one loop and shuts them all down gracefully on request: wrap each
/// connection with [`watch`](Self::watch) (or [`watch_with`](Self::watch_with)) and spawn the
/// result; later [`shutdown`](Self::shutdown) signals every watched connection to start its
/// graceful shutdown and completes when the last one has finished. Bound the wait with
/// `corio::time::timeout` (dropping the connections after it ends them at once).
///
/// The signal is a [`CancellationToken`]: [`with_token`](Self::with_token) lets a token that
/// is cancelled elsewhere (a ctrl-c handler, another shard) start it, and the wait is then
/// [`wait`](Self::wait).
///
/// ```
/// use corio_compat::hyper::{GracefulShutdown, HyperIo};
/// use corio_net::{TcpListener, TcpStream};
/// use hyper::server::conn::http1;
/// use hyper::service::service_fn;
///
/// corio_runtime::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let _client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
///     let (stream, _) = listener.accept().await.unwrap();
///     let graceful = GracefulShutdown::new();
///     let svc = service_fn(|_req| async {
///         Ok::<_, std::convert::Infallible>(hyper::Response::new(String::from("hi")))
///     });
///     let conn = http1::Builder::new().serve_connection(HyperIo::new(stream), svc);
///     corio_runtime::spawn(graceful.watch(conn));
///     assert_eq!(graceful.count(), 1);
///     graceful.shutdown().await; // the idle connection closes at once
/// });
/// ```
pub struct GracefulShutdown {
    token: CancellationToken,
    tracker: TaskTracker,
}

impl GracefulShutdown {
    /// A new helper with its own signal.
    ///
    /// ```
    /// let graceful = corio_compat::hyper::GracefulShutdown::new();
    /// assert_eq!(graceful.count(), 0);
    /// ```
    pub fn new() -> GracefulShutdown {
        GracefulShutdown::with_token(CancellationToken::new())
    }

    /// A helper whose signal is `token`: cancelling it (from any thread) starts the graceful
    /// shutdown of every watched connection.
    ///
    /// ```
    /// use corio_runtime::sync::CancellationToken;
    /// let stop = CancellationToken::new();
    /// let graceful = corio_compat::hyper::GracefulShutdown::with_token(stop.clone());
    /// stop.cancel();
    /// corio_runtime::run(graceful.wait()); // nothing watched: done at once
    /// ```
    pub fn with_token(token: CancellationToken) -> GracefulShutdown {
        GracefulShutdown {
            token,
            tracker: TaskTracker::new(),
        }
    }

    /// Watch a hyper server connection; spawn (or await) the future this returns in its place.
    /// It completes with the connection's own output.
    ///
    /// ```
    /// # use corio_compat::hyper::{GracefulShutdown, HyperIo};
    /// # corio_runtime::run(async {
    /// # let (a, _b) = corio_net::UnixStream::pair().unwrap();
    /// let graceful = GracefulShutdown::new();
    /// let svc = hyper::service::service_fn(|_req| async {
    ///     Ok::<_, std::convert::Infallible>(hyper::Response::new(String::new()))
    /// });
    /// let conn = hyper::server::conn::http1::Builder::new().serve_connection(HyperIo::new(a), svc);
    /// let watched = graceful.watch(conn);
    /// assert_eq!(graceful.count(), 1);
    /// drop(watched);
    /// assert_eq!(graceful.count(), 0);
    /// # });
    /// ```
    pub fn watch<C: GracefulConnection>(&self, conn: C) -> Watched<C, fn(Pin<&mut C>)> {
        self.watch_with(conn, C::graceful_shutdown)
    }

    /// Watch any connection future, with `start_shutdown` as its way to begin a graceful
    /// shutdown (e.g. `|conn| conn.graceful_shutdown()` for hyper-util's auto connection).
    ///
    /// ```
    /// # use corio_compat::hyper::GracefulShutdown;
    /// # corio_runtime::run(async {
    /// let graceful = GracefulShutdown::new();
    /// // A stand-in connection that ends when asked to.
    /// let stop = std::rc::Rc::new(corio_runtime::sync::Event::new());
    /// let conn = { let stop = stop.clone(); async move { stop.wait().await } };
    /// corio_runtime::spawn(graceful.watch_with(conn, move |_conn| stop.set()));
    /// graceful.shutdown().await;
    /// # });
    /// ```
    pub fn watch_with<C, F>(&self, conn: C, start_shutdown: F) -> Watched<C, F>
    where
        C: Future,
        F: FnOnce(Pin<&mut C>),
    {
        Watched {
            conn: Box::pin(conn),
            signal: Some(self.token.clone().cancelled_owned()),
            start_shutdown: Some(start_shutdown),
            _count: self.tracker.token(),
        }
    }

    /// How many watched connections are still running.
    ///
    /// ```
    /// assert_eq!(corio_compat::hyper::GracefulShutdown::new().count(), 0);
    /// ```
    pub fn count(&self) -> usize {
        self.tracker.len()
    }

    /// Signal every watched connection (those watched later see the signal at their first
    /// poll) and wait until all have finished.
    ///
    /// ```
    /// corio_runtime::run(corio_compat::hyper::GracefulShutdown::new().shutdown());
    /// ```
    pub fn shutdown(self) -> impl Future<Output = ()> + 'static {
        self.token.cancel();
        self.wait()
    }

    /// Wait, without signalling, until the signal has come (see
    /// [`with_token`](Self::with_token)) and every watched connection has finished.
    ///
    /// ```
    /// let graceful = corio_compat::hyper::GracefulShutdown::new();
    /// let token = graceful.token();
    /// token.cancel();
    /// corio_runtime::run(graceful.wait());
    /// ```
    pub fn wait(self) -> impl Future<Output = ()> + 'static {
        let GracefulShutdown { token, tracker } = self;
        async move {
            token.cancelled().await;
            // Connections that see the signal end by themselves; `close` lets `wait` finish.
            tracker.close();
            tracker.wait().await;
        }
    }

    /// The signal: cancel it to start the shutdown from elsewhere.
    ///
    /// ```
    /// let graceful = corio_compat::hyper::GracefulShutdown::new();
    /// assert!(!graceful.token().is_cancelled());
    /// ```
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }
}

impl Default for GracefulShutdown {
    fn default() -> GracefulShutdown {
        GracefulShutdown::new()
    }
}

impl fmt::Debug for GracefulShutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GracefulShutdown")
            .field("connections", &self.count())
            .field("signalled", &self.token.is_cancelled())
            .finish()
    }
}

/// A watched connection, from [`GracefulShutdown::watch`]: polls the connection and starts
/// its graceful shutdown when the signal comes. Counts as running until it completes or is
/// dropped.
#[must_use = "futures do nothing unless awaited or spawned"]
pub struct Watched<C, F> {
    // Boxed: hyper's connections are `!Unpin`, and this keeps `Watched` free of pin projections.
    conn: Pin<Box<C>>,
    /// `None` once the signal has been seen.
    signal: Option<WaitForCancellationOwned>,
    start_shutdown: Option<F>,
    _count: TaskTrackerToken,
}

// The connection is boxed and `start_shutdown` is only ever moved out whole, never pinned:
// nothing in `Watched` relies on staying in place.
impl<C, F> Unpin for Watched<C, F> {}

impl<C: Future, F: FnOnce(Pin<&mut C>)> Future for Watched<C, F> {
    type Output = C::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<C::Output> {
        let this = Pin::into_inner(self);
        if let Some(signal) = &mut this.signal {
            if Pin::new(signal).poll(cx).is_ready() {
                this.signal = None;
                if let Some(start) = this.start_shutdown.take() {
                    start(this.conn.as_mut());
                }
            }
        }
        this.conn.as_mut().poll(cx)
    }
}

impl<C, F> fmt::Debug for Watched<C, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watched")
            .field("signalled", &self.signal.is_none())
            .finish()
    }
}
