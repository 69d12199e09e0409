//! `Async<T>`: an I/O object registered with the reactor.
//!
//! Wrap any non-blocking file descriptor (a mio socket, a `std` socket set non-blocking, a
//! pipe) and await its readiness. Everything in `corio::net` is built on this type.

use std::cell::Cell;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::rc::Rc;
use std::task::{Context, Poll};

use mio::unix::SourceFd;

use crate::context;
use crate::coop;
use crate::reactor::{self, Direction, IoKey, Reactor};

/// An I/O handle registered with the current runtime's reactor (edge-triggered).
///
/// [`new`](Self::new) switches the fd to non-blocking mode. Readiness starts as "ready": the
/// first operation is attempted right away and a `WouldBlock` result clears the readiness
/// bit until the OS reports an edge. Operations made through `read_with`/`write_with`
/// (waiting) and `try_read_with`/`try_write_with` (not waiting) do that for you.
/// Any number of tasks may wait in each direction (workers sharing one socket); the next
/// edge wakes all of them, and those that then find nothing to do wait again.
///
/// # Clearing readiness never strands a task
///
/// Every edge the OS reports bumps the source's *tick*. A clear names the tick at which its
/// caller saw the readiness (a [`ReadyEvent`] for [`clear_ready`](Self::clear_ready); the
/// last readiness this handle saw for [`clear_readable`](Self::clear_readable) and
/// [`clear_writable`](Self::clear_writable)); if an edge has come since, the clear does
/// nothing. So a clear made after an await, while new data arrived, cannot erase the only
/// notice of that data (edge-triggered: no second edge would come).
///
/// Dropping an `Async` deregisters the fd before the inner value closes it, and wakes any
/// task waiting on it; that task's wait returns an error.
///
/// ```
/// use corio_runtime::io::Async;
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
///
/// corio_runtime::run(async {
///     let (a, b) = UnixStream::pair().unwrap(); // blocking; `Async::new` switches them
///     let (a, b) = (Async::new(a).unwrap(), Async::new(b).unwrap());
///     a.write_with(|mut s| s.write(b"hi")).await.unwrap();
///     let mut buf = [0u8; 2];
///     b.read_with(|mut s| s.read(&mut buf)).await.unwrap();
///     assert_eq!(&buf, b"hi");
/// });
/// ```
pub struct Async<T: AsRawFd> {
    io: Option<T>,
    key: IoKey,
    reactor: Rc<Reactor>,
    /// The source's tick when this handle last saw readiness or ran an operation, per
    /// direction (read, write): what `clear_readable`/`clear_writable` clear.
    seen: [Cell<u32>; 2],
}

/// One observation of readiness: the direction and the source's tick when it was seen.
/// Hand it to [`Async::clear_ready`] after the operation it allowed said `WouldBlock` (or
/// came back short); if the OS reported a new edge in between, the clear is a no-op.
///
/// ```
/// use corio_runtime::io::Async;
/// corio_runtime::run(async {
///     let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
///     let a = Async::new(a).unwrap();
///     let event = a.writable_event().await.unwrap();
///     assert!(event.is_writable() && !event.is_readable());
/// });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadyEvent {
    dir: Direction,
    tick: u32,
}

impl ReadyEvent {
    /// Whether this is read readiness (from `readable_event`/`poll_readable_event`).
    ///
    /// ```
    /// # use corio_runtime::io::Async;
    /// # use std::io::Write;
    /// corio_runtime::run(async {
    ///     let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    ///     let a = Async::new(a).unwrap();
    ///     b.write_all(b"x").unwrap();
    ///     assert!(a.readable_event().await.unwrap().is_readable());
    /// });
    /// ```
    pub fn is_readable(&self) -> bool {
        self.dir == Direction::Read
    }

    /// Whether this is write readiness (from `writable_event`/`poll_writable_event`).
    ///
    /// ```
    /// # use corio_runtime::io::Async;
    /// corio_runtime::run(async {
    ///     let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    ///     let a = Async::new(a).unwrap();
    ///     assert!(a.writable_event().await.unwrap().is_writable());
    /// });
    /// ```
    pub fn is_writable(&self) -> bool {
        self.dir == Direction::Write
    }
}

/// Index of `dir` in `Async::seen`.
fn slot(dir: Direction) -> usize {
    match dir {
        Direction::Read => 0,
        Direction::Write => 1,
    }
}

impl<T: AsRawFd> fmt::Debug for Async<T>
where
    T: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Async").field("io", &self.io).finish()
    }
}

impl<T: AsRawFd> Async<T> {
    /// Switch `io` to non-blocking mode (`O_NONBLOCK`; one `fcntl` when it already is) and
    /// register it with the reactor of the runtime running on this thread.
    ///
    /// # Panics
    /// Outside a corio runtime.
    ///
    /// ```
    /// use corio_runtime::io::Async;
    /// corio_runtime::run(async {
    ///     let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    ///     let a = Async::new(a).unwrap();
    ///     a.writable().await.unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn new(io: T) -> io::Result<Async<T>> {
        let reactor = context::expect_core("Async::new", |core| core.reactor().clone());
        let fd = io.as_raw_fd();
        // SAFETY: `io` owns `fd` and outlives this borrow, which ends with the statement.
        let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
        // A blocking fd would stall the whole loop on its first read; the flag belongs to
        // the open file, so a pipe, a socket or a tty all take it (socket2 only calls fcntl).
        socket2::SockRef::from(&borrowed).set_nonblocking(true)?;
        let key = reactor.register(&mut SourceFd(&fd))?;
        Ok(Async {
            io: Some(io),
            key,
            reactor,
            // A fresh registration has seen tick 0: a clear before any event is honoured.
            seen: [Cell::new(0), Cell::new(0)],
        })
    }

    /// The inner I/O object.
    ///
    /// ```
    /// # use corio_runtime::io::Async;
    /// # corio_runtime::run(async {
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let a = Async::new(a).unwrap();
    /// assert!(a.get_ref().peer_addr().is_ok());
    /// # });
    /// ```
    pub fn get_ref(&self) -> &T {
        self.io.as_ref().expect("Async used after into_inner")
    }

    /// The inner I/O object, mutably. Do not replace its fd.
    ///
    /// ```
    /// # use corio_runtime::io::Async;
    /// # corio_runtime::run(async {
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let mut a = Async::new(a).unwrap();
    /// let _s: &mut std::os::unix::net::UnixStream = a.get_mut();
    /// # });
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.io.as_mut().expect("Async used after into_inner")
    }

    /// Deregister and give the inner object back (still non-blocking).
    ///
    /// ```
    /// # use corio_runtime::io::Async;
    /// # corio_runtime::run(async {
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let a = Async::new(a).unwrap();
    /// let _std: std::os::unix::net::UnixStream = a.into_inner().unwrap();
    /// # });
    /// ```
    pub fn into_inner(mut self) -> io::Result<T> {
        let io = self.io.take().expect("Async used after into_inner");
        self.reactor
            .deregister(self.key, &mut SourceFd(&io.as_raw_fd()));
        Ok(io)
    }

    /// Wait until the OS reports the fd readable (or closed, or in error). May complete
    /// spuriously: the next read can still return `WouldBlock`.
    ///
    /// ```
    /// # use corio_runtime::io::Async;
    /// # use std::io::Write;
    /// # corio_runtime::run(async {
    /// let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let a = Async::new(a).unwrap();
    /// b.write_all(b"x").unwrap();
    /// a.readable().await.unwrap();
    /// # });
    /// ```
    pub async fn readable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_readable(cx)).await
    }

    /// Wait until the OS reports the fd writable (or closed, or in error).
    ///
    /// ```
    /// # use corio_runtime::io::Async;
    /// # corio_runtime::run(async {
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// Async::new(a).unwrap().writable().await.unwrap();
    /// # });
    /// ```
    pub async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_writable(cx)).await
    }

    /// Poll form of [`readable`](Self::readable).
    ///
    /// ```
    /// # use corio_runtime::io::Async;
    /// # corio_runtime::run(async {
    /// # let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let a = Async::new(a).unwrap();
    /// std::future::poll_fn(|cx| a.poll_readable(cx)).await.unwrap();
    /// # });
    /// ```
    pub fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // A ready flag that stays set (a peer that keeps sending) would let a
        // `readable()` loop run forever: the budget makes it give way (see `coop`).
        coop::poll_charged(cx, |cx| {
            self.poll_ready_seen(Direction::Read, cx).map_ok(|_| ())
        })
    }

    /// Poll form of [`writable`](Self::writable).
    ///
    /// ```
    /// # use corio_runtime::io::Async;
    /// # corio_runtime::run(async {
    /// # let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let a = Async::new(a).unwrap();
    /// std::future::poll_fn(|cx| a.poll_writable(cx)).await.unwrap();
    /// # });
    /// ```
    pub fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        coop::poll_charged(cx, |cx| {
            self.poll_ready_seen(Direction::Write, cx).map_ok(|_| ())
        })
    }

    /// Poll the reactor for readiness in `dir` and remember the tick it was seen at.
    fn poll_ready_seen(&self, dir: Direction, cx: &mut Context<'_>) -> Poll<io::Result<u32>> {
        match self.reactor.poll_ready(self.key, dir, cx) {
            Poll::Ready(Some(tick)) => {
                self.seen[slot(dir)].set(tick);
                Poll::Ready(Ok(tick))
            }
            Poll::Ready(None) => Poll::Ready(Err(reactor::closed_error())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_event(&self, dir: Direction, cx: &mut Context<'_>) -> Poll<io::Result<ReadyEvent>> {
        coop::poll_charged(cx, |cx| {
            self.poll_ready_seen(dir, cx)
                .map_ok(|tick| ReadyEvent { dir, tick })
        })
    }

    /// Like [`poll_readable`](Self::poll_readable), handing back the [`ReadyEvent`] seen,
    /// for [`clear_ready`](Self::clear_ready).
    ///
    /// ```
    /// # use corio_runtime::io::Async;
    /// # corio_runtime::run(async {
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let a = Async::new(a).unwrap();
    /// let event = std::future::poll_fn(|cx| a.poll_readable_event(cx)).await.unwrap();
    /// assert!(event.is_readable());
    /// # });
    /// ```
    pub fn poll_readable_event(&self, cx: &mut Context<'_>) -> Poll<io::Result<ReadyEvent>> {
        self.poll_event(Direction::Read, cx)
    }

    /// Like [`poll_writable`](Self::poll_writable), handing back the [`ReadyEvent`] seen.
    ///
    /// ```
    /// # use corio_runtime::io::Async;
    /// # corio_runtime::run(async {
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let a = Async::new(a).unwrap();
    /// let event = std::future::poll_fn(|cx| a.poll_writable_event(cx)).await.unwrap();
    /// assert!(event.is_writable());
    /// # });
    /// ```
    pub fn poll_writable_event(&self, cx: &mut Context<'_>) -> Poll<io::Result<ReadyEvent>> {
        self.poll_event(Direction::Write, cx)
    }

    /// Wait until readable, like [`readable`](Self::readable), and hand back the
    /// [`ReadyEvent`] to clear once an operation says `WouldBlock`. For several tasks sharing
    /// one handle, where "the last readiness this handle saw" may be another task's.
    ///
    /// ```
    /// # use corio_runtime::io::Async;
    /// # use std::io::{Read, Write};
    /// # corio_runtime::run(async {
    /// let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let a = Async::new(a).unwrap();
    /// b.write_all(b"x").unwrap();
    /// let event = a.readable_event().await.unwrap();
    /// let mut buf = [0u8; 8];
    /// assert_eq!(a.get_ref().read(&mut buf).unwrap(), 1); // short read: drained
    /// a.clear_ready(event);
    /// # });
    /// ```
    pub async fn readable_event(&self) -> io::Result<ReadyEvent> {
        poll_fn(|cx| self.poll_readable_event(cx)).await
    }

    /// Wait until writable and hand back the [`ReadyEvent`].
    ///
    /// ```
    /// # use corio_runtime::io::Async;
    /// # corio_runtime::run(async {
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let a = Async::new(a).unwrap();
    /// assert!(a.writable_event().await.unwrap().is_writable());
    /// # });
    /// ```
    pub async fn writable_event(&self) -> io::Result<ReadyEvent> {
        poll_fn(|cx| self.poll_writable_event(cx)).await
    }

    /// Forget the readiness `event` saw, until the next edge; a no-op if the OS has
    /// reported an edge since `event` (that newer readiness stays).
    ///
    /// ```
    /// # use corio_runtime::io::Async;
    /// # corio_runtime::run(async {
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let a = Async::new(a).unwrap();
    /// let event = a.readable_event().await.unwrap(); // the initial "ready"
    /// a.clear_ready(event); // nothing came since: cleared
    /// let waker = std::task::Waker::noop();
    /// let mut cx = std::task::Context::from_waker(&waker);
    /// assert!(a.poll_readable(&mut cx).is_pending());
    /// # });
    /// ```
    pub fn clear_ready(&self, event: ReadyEvent) {
        self.reactor
            .clear_ready(self.key, event.dir, Some(event.tick));
    }

    /// Forget read readiness until the next edge. Call it after a read that returned fewer
    /// bytes than asked: the socket buffer is drained, so the next read would only say
    /// `WouldBlock` (this saves that syscall).
    ///
    /// It clears the readiness this handle last saw (through `readable`, `poll_readable`,
    /// `read_with`, ...): if the OS has reported an edge since, the clear is
    /// a no-op, so calling it late (after an await) cannot strand a task on data that came
    /// meanwhile. With several tasks on one handle, prefer
    /// [`readable_event`](Self::readable_event) + [`clear_ready`](Self::clear_ready).
    ///
    /// ```
    /// # use corio_runtime::io::Async;
    /// # corio_runtime::run(async {
    /// # let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let a = Async::new(a).unwrap();
    /// a.clear_readable();
    /// # });
    /// ```
    pub fn clear_readable(&self) {
        self.clear_seen(Direction::Read);
    }

    /// Forget write readiness until the next edge (after a short write, say). Like
    /// [`clear_readable`](Self::clear_readable), a no-op if an edge has come since this
    /// handle last saw write readiness.
    ///
    /// ```
    /// # use corio_runtime::io::Async;
    /// # corio_runtime::run(async {
    /// # let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let a = Async::new(a).unwrap();
    /// a.clear_writable();
    /// a.writable().await.unwrap(); // the OS reports the new edge
    /// # });
    /// ```
    pub fn clear_writable(&self) {
        self.clear_seen(Direction::Write);
    }

    fn clear_seen(&self, dir: Direction) {
        self.reactor
            .clear_ready(self.key, dir, Some(self.seen[slot(dir)].get()));
    }

    /// Run `op` (a non-blocking read on the inner object) now, without waiting; on
    /// `WouldBlock` read readiness is cleared, so the next [`readable`](Self::readable)
    /// waits for a new edge. The `try_read`s of corio's sockets are built on it.
    ///
    /// ```
    /// # use corio_runtime::io::Async;
    /// # use std::io::Read;
    /// # corio_runtime::run(async {
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let a = Async::new(a).unwrap();
    /// let err = a.try_read_with(|mut s| s.read(&mut [0u8; 8])).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    /// # });
    /// ```
    pub fn try_read_with<R>(&self, op: impl FnOnce(&T) -> io::Result<R>) -> io::Result<R> {
        self.try_with(Direction::Read, op)
    }

    /// Run `op` (a non-blocking write) now; `WouldBlock` clears write readiness.
    ///
    /// ```
    /// # use corio_runtime::io::Async;
    /// # use std::io::Write;
    /// # corio_runtime::run(async {
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let a = Async::new(a).unwrap();
    /// assert_eq!(a.try_write_with(|mut s| s.write(b"x")).unwrap(), 1);
    /// # });
    /// ```
    pub fn try_write_with<R>(&self, op: impl FnOnce(&T) -> io::Result<R>) -> io::Result<R> {
        self.try_with(Direction::Write, op)
    }

    fn try_with<R>(&self, dir: Direction, op: impl FnOnce(&T) -> io::Result<R>) -> io::Result<R> {
        let result = op(self.get_ref());
        if matches!(&result, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
            // The OS said "nothing" just now, in this same call: no edge can have come in
            // between, so the clear is exact (no tick needed).
            self.reactor.clear_ready(self.key, dir, None);
        }
        result
    }

    /// Run `op` when readable; on `WouldBlock`, clear readiness, wait for the next edge and
    /// retry. Other results (including errors) are returned as they are.
    pub fn poll_read_with<R>(
        &self,
        cx: &mut Context<'_>,
        op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_with(cx, Direction::Read, op)
    }

    /// Run `op` when writable; `WouldBlock` waits for the next edge and retries.
    pub fn poll_write_with<R>(
        &self,
        cx: &mut Context<'_>,
        op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_with(cx, Direction::Write, op)
    }

    fn poll_with<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        // One unit per operation, however many WouldBlock retries it takes.
        coop::poll_charged(cx, |cx| self.poll_with_uncharged(cx, dir, &mut op))
    }

    fn poll_with_uncharged<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        op: &mut impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            let tick = match self.poll_ready_seen(dir, cx) {
                Poll::Ready(Ok(tick)) => tick,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            };
            match op(self.get_ref()) {
                // No event can come between the readiness check and here (the reactor runs
                // only between polls), so this clear is exact.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.reactor.clear_ready(self.key, dir, Some(tick));
                }
                result => return Poll::Ready(result),
            }
        }
    }

    /// Read with `op` (a non-blocking call on the inner object) once the fd is readable.
    ///
    /// ```
    /// # use corio_runtime::io::Async;
    /// # use std::io::{Read, Write};
    /// # corio_runtime::run(async {
    /// let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let a = Async::new(a).unwrap();
    /// b.write_all(b"ping").unwrap();
    /// let mut buf = [0u8; 4];
    /// let n = a.read_with(|mut s| s.read(&mut buf)).await.unwrap();
    /// assert_eq!(&buf[..n], b"ping");
    /// # });
    /// ```
    pub async fn read_with<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        poll_fn(|cx| self.poll_read_with(cx, &mut op)).await
    }

    /// Write with `op` (a non-blocking call on the inner object) once the fd is writable.
    ///
    /// ```
    /// # use corio_runtime::io::Async;
    /// # use std::io::Write;
    /// # corio_runtime::run(async {
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let a = Async::new(a).unwrap();
    /// let n = a.write_with(|mut s| s.write(b"pong")).await.unwrap();
    /// assert_eq!(n, 4);
    /// # });
    /// ```
    pub async fn write_with<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        poll_fn(|cx| self.poll_write_with(cx, &mut op)).await
    }
}

impl<T: AsRawFd> AsRawFd for Async<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.get_ref().as_raw_fd()
    }
}

impl<T: AsRawFd> Drop for Async<T> {
    fn drop(&mut self) {
        if let Some(io) = self.io.take() {
            // Deregister before `io` closes the fd, so the epoll set never holds a dead fd.
            self.reactor
                .deregister(self.key, &mut SourceFd(&io.as_raw_fd()));
            drop(io);
        }
    }
}
