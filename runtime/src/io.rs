//! `Async<T>`: an I/O object registered with the reactor.
//!
//! Wrap any non-blocking file descriptor (a mio socket, a `std` socket set non-blocking, a
//! pipe) and await its readiness. Everything in `corio::net` is built on this type.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;
use std::task::{Context, Poll};

use mio::unix::SourceFd;

use crate::context;
use crate::coop;
use crate::reactor::{Direction, IoKey, Reactor};

/// An I/O handle registered with the current runtime's reactor (edge-triggered).
///
/// `T` must already be in non-blocking mode. Readiness starts as "ready": the first
/// operation is attempted right away and a `WouldBlock` result clears the readiness bit until
/// the OS reports an edge. Operations made through `read_with`/`write_with` do that for you.
/// Any number of tasks may wait in each direction (workers sharing one socket); the next
/// edge wakes all of them, and those that then find nothing to do wait again.
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
///     let (a, b) = UnixStream::pair().unwrap();
///     a.set_nonblocking(true).unwrap();
///     b.set_nonblocking(true).unwrap();
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
    /// Register `io` with the reactor of the runtime running on this thread.
    ///
    /// # Panics
    /// Outside a corio runtime.
    ///
    /// ```
    /// use corio_runtime::io::Async;
    /// corio_runtime::run(async {
    ///     let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    ///     a.set_nonblocking(true).unwrap();
    ///     let a = Async::new(a).unwrap();
    ///     a.writable().await.unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn new(io: T) -> io::Result<Async<T>> {
        let reactor = context::expect_core("Async::new", |core| core.reactor().clone());
        let fd = io.as_raw_fd();
        let key = reactor.register(&mut SourceFd(&fd))?;
        Ok(Async {
            io: Some(io),
            key,
            reactor,
        })
    }

    /// The inner I/O object.
    ///
    /// ```
    /// # use corio_runtime::io::Async;
    /// # corio_runtime::run(async {
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
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
    /// a.set_nonblocking(true).unwrap();
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
    /// a.set_nonblocking(true).unwrap();
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
    /// a.set_nonblocking(true).unwrap();
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
    /// a.set_nonblocking(true).unwrap();
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
    /// # a.set_nonblocking(true).unwrap();
    /// let a = Async::new(a).unwrap();
    /// std::future::poll_fn(|cx| a.poll_readable(cx)).await.unwrap();
    /// # });
    /// ```
    pub fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // A ready flag that stays set (a peer that keeps sending) would let a
        // `readable()` loop run forever: the budget makes it give way (see `coop`).
        coop::poll_charged(cx, |cx| {
            self.reactor.poll_ready(self.key, Direction::Read, cx)
        })
    }

    /// Poll form of [`writable`](Self::writable).
    ///
    /// ```
    /// # use corio_runtime::io::Async;
    /// # corio_runtime::run(async {
    /// # let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// # a.set_nonblocking(true).unwrap();
    /// let a = Async::new(a).unwrap();
    /// std::future::poll_fn(|cx| a.poll_writable(cx)).await.unwrap();
    /// # });
    /// ```
    pub fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        coop::poll_charged(cx, |cx| {
            self.reactor.poll_ready(self.key, Direction::Write, cx)
        })
    }

    /// Forget read readiness until the next edge. Call it after a read that returned fewer
    /// bytes than asked: the socket buffer is drained, so the next read would only say
    /// `WouldBlock` (this saves that syscall).
    ///
    /// ```
    /// # use corio_runtime::io::Async;
    /// # corio_runtime::run(async {
    /// # let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// # a.set_nonblocking(true).unwrap();
    /// let a = Async::new(a).unwrap();
    /// a.clear_readable();
    /// # });
    /// ```
    pub fn clear_readable(&self) {
        self.reactor.clear_ready(self.key, Direction::Read);
    }

    /// Forget write readiness until the next edge (after a short write, say).
    ///
    /// ```
    /// # use corio_runtime::io::Async;
    /// # corio_runtime::run(async {
    /// # let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// # a.set_nonblocking(true).unwrap();
    /// let a = Async::new(a).unwrap();
    /// a.clear_writable();
    /// a.writable().await.unwrap(); // the OS reports the new edge
    /// # });
    /// ```
    pub fn clear_writable(&self) {
        self.reactor.clear_ready(self.key, Direction::Write);
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
            match self.reactor.poll_ready(self.key, dir, cx) {
                Poll::Ready(Ok(())) => {}
                other => return other.map(|r| r.map(|()| unreachable!())),
            }
            match op(self.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.reactor.clear_ready(self.key, dir);
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
    /// a.set_nonblocking(true).unwrap();
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
    /// a.set_nonblocking(true).unwrap();
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
