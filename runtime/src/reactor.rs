//! The reactor: a `mio::Poll` (epoll on Linux, kqueue on BSD/macOS, edge-triggered) and a
//! slab of registered sources with their readiness and the wakers parked on them.
//!
//! Readiness is a cached bit per direction. It is set by events and cleared only by the
//! owner of the source after an operation said `WouldBlock` (or, for reads, came back short),
//! which is what edge-triggered notification requires: no event is lost, and no
//! `epoll_ctl` is needed per operation.

use std::cell::RefCell;
use std::io;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use mio::{Events, Interest, Registry, Token};
use slab::Slab;

/// Token of the `mio::Waker` that foreign threads poke.
const WAKER_TOKEN: Token = Token(usize::MAX);

/// Readiness bits.
pub(crate) const READABLE: u8 = 1 << 0;
pub(crate) const WRITABLE: u8 = 1 << 1;
const READ_CLOSED: u8 = 1 << 2;
const WRITE_CLOSED: u8 = 1 << 3;
const ERROR: u8 = 1 << 4;

/// Which way an operation goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

impl Direction {
    /// The bits that make this direction ready: closed and error states wake too, so the
    /// operation runs and reports EOF or the error instead of waiting forever.
    fn ready_mask(self) -> u8 {
        match self {
            Direction::Read => READABLE | READ_CLOSED | ERROR,
            Direction::Write => WRITABLE | WRITE_CLOSED | ERROR,
        }
    }
}

/// A registration handle: slab key plus a generation, so a stale handle never touches a
/// newer source that reused the slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IoKey {
    key: usize,
    generation: u64,
}

struct ScheduledIo {
    generation: u64,
    readiness: u8,
    /// Events seen for this source (wrapping). A readiness clear names the tick its caller
    /// observed; a newer event makes that clear a no-op, so it cannot erase readiness the
    /// caller never saw (tokio's "ready event" guard).
    tick: u32,
    /// The first task waiting to read (almost always the only one).
    reader: Option<Waker>,
    /// The first task waiting to write.
    writer: Option<Waker>,
    /// Further waiters, when several tasks wait on one source in the same direction (workers
    /// sharing one UDP socket, say). Empty, so unallocated, on the common path. Every waiter
    /// is woken by the next edge; those that find nothing to do park again. It holds one
    /// entry per distinct waker that parked since the last edge (tasks keep one waker, so
    /// that is one per waiting task; a dropped waiter's entry goes at the next edge).
    more: Vec<(Direction, Waker)>,
}

pub(crate) struct Reactor {
    poll: RefCell<mio::Poll>,
    registry: Registry,
    events: RefCell<Events>,
    sources: RefCell<Slab<ScheduledIo>>,
    next_generation: std::cell::Cell<u64>,
    /// Wakers collected while handling events, woken after the borrows end.
    to_wake: RefCell<Vec<Waker>>,
    /// Events the OS reported so far (metrics).
    ready_events: std::cell::Cell<u64>,
}

impl Reactor {
    /// A poller and the waker other threads use to interrupt it.
    pub(crate) fn new() -> io::Result<(Reactor, mio::Waker)> {
        let poll = mio::Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = mio::Waker::new(&registry, WAKER_TOKEN)?;
        let reactor = Reactor {
            poll: RefCell::new(poll),
            registry,
            events: RefCell::new(Events::with_capacity(1024)),
            sources: RefCell::new(Slab::new()),
            next_generation: std::cell::Cell::new(0),
            to_wake: RefCell::new(Vec::new()),
            ready_events: std::cell::Cell::new(0),
        };
        Ok((reactor, waker))
    }

    /// Register `source` for both directions. Readiness starts as "ready both ways": the
    /// first operation is tried at once and tells the truth (WouldBlock clears the bit).
    pub(crate) fn register(&self, source: &mut impl mio::event::Source) -> io::Result<IoKey> {
        let generation = self.next_generation.get();
        self.next_generation.set(generation + 1);
        let mut sources = self.sources.borrow_mut();
        let entry = sources.vacant_entry();
        let key = entry.key();
        self.registry
            .register(source, Token(key), Interest::READABLE | Interest::WRITABLE)?;
        entry.insert(ScheduledIo {
            generation,
            readiness: READABLE | WRITABLE,
            tick: 0,
            reader: None,
            writer: None,
            more: Vec::new(),
        });
        Ok(IoKey { key, generation })
    }

    /// Deregister `source` and wake whoever waits on it: their next poll sees an error.
    pub(crate) fn deregister(&self, key: IoKey, source: &mut impl mio::event::Source) {
        // Deregistration fails only if the fd is already gone; nothing to do then.
        let _ = self.registry.deregister(source);
        let removed = {
            let mut sources = self.sources.borrow_mut();
            match sources.get(key.key) {
                Some(io) if io.generation == key.generation => Some(sources.remove(key.key)),
                _ => None,
            }
        };
        if let Some(io) = removed {
            let more = io.more.into_iter().map(|(_, w)| w);
            io.reader
                .into_iter()
                .chain(io.writer)
                .chain(more)
                .for_each(Waker::wake);
        }
    }

    /// Ready in `dir`? Then the source's tick (for [`clear_ready`](Self::clear_ready));
    /// `None` if the source is gone ([`closed_error`]). Otherwise park `cx`'s waker beside
    /// any other task waiting that way.
    pub(crate) fn poll_ready(
        &self,
        key: IoKey,
        dir: Direction,
        cx: &mut Context<'_>,
    ) -> Poll<Option<u32>> {
        let mut sources = self.sources.borrow_mut();
        let io = match sources.get_mut(key.key) {
            Some(io) if io.generation == key.generation => io,
            _ => return Poll::Ready(None),
        };
        if io.readiness & dir.ready_mask() != 0 {
            return Poll::Ready(Some(io.tick));
        }
        let slot = match dir {
            Direction::Read => &mut io.reader,
            Direction::Write => &mut io.writer,
        };
        match slot {
            None => *slot = Some(cx.waker().clone()),
            Some(w) if w.will_wake(cx.waker()) => {}
            // Another task (or this one under a new waker) already waits this way: keep
            // both rather than strand the first.
            Some(_) => {
                let waker = cx.waker();
                if !io.more.iter().any(|(d, w)| *d == dir && w.will_wake(waker)) {
                    io.more.push((dir, waker.clone()));
                }
            }
        }
        Poll::Pending
    }

    /// Forget readiness in `dir` after an operation returned WouldBlock (or a short read),
    /// unless an event arrived since `seen` (the tick its caller observed): that event's
    /// readiness stays. `None`: the caller's operation ran just now, with no chance for an
    /// event in between (the reactor runs only between polls), so clear unconditionally.
    pub(crate) fn clear_ready(&self, key: IoKey, dir: Direction, seen: Option<u32>) {
        if let Some(io) = self.sources.borrow_mut().get_mut(key.key) {
            if io.generation == key.generation && seen.is_none_or(|t| t == io.tick) {
                io.readiness &= !match dir {
                    Direction::Read => READABLE,
                    Direction::Write => WRITABLE,
                };
            }
        }
    }

    /// Wait for events (no longer than `timeout`; `None` = until one comes) and wake waiters.
    pub(crate) fn poll(&self, timeout: Option<Duration>) -> usize {
        // Only the mio::Waker is registered and we must not block: nothing can be reported
        // that the atomic `notified` flag does not already tell, so skip the syscall.
        if timeout == Some(Duration::ZERO) && self.sources.borrow().is_empty() {
            return 0;
        }
        let mut events = self.events.borrow_mut();
        if let Err(e) = self.poll.borrow_mut().poll(&mut events, timeout) {
            // EINTR: a signal arrived; the loop simply turns again.
            if e.kind() != io::ErrorKind::Interrupted {
                panic!("corio: the OS poller failed: {e}");
            }
            return 0;
        }
        let mut to_wake = self.to_wake.borrow_mut();
        let mut ready = 0;
        {
            let mut sources = self.sources.borrow_mut();
            for event in events.iter() {
                ready += 1;
                let Some(io) = sources.get_mut(event.token().0) else {
                    continue;
                };
                let mut bits = 0;
                if event.is_readable() {
                    bits |= READABLE;
                }
                if event.is_writable() {
                    bits |= WRITABLE;
                }
                if event.is_read_closed() {
                    bits |= READ_CLOSED;
                }
                if event.is_write_closed() {
                    bits |= WRITE_CLOSED;
                }
                if event.is_error() {
                    bits |= ERROR;
                }
                io.readiness |= bits;
                io.tick = io.tick.wrapping_add(1);
                let read = bits & Direction::Read.ready_mask() != 0;
                let write = bits & Direction::Write.ready_mask() != 0;
                if read {
                    to_wake.extend(io.reader.take());
                }
                if write {
                    to_wake.extend(io.writer.take());
                }
                if !io.more.is_empty() {
                    let woken = |d: &mut (Direction, Waker)| match d.0 {
                        Direction::Read => read,
                        Direction::Write => write,
                    };
                    to_wake.extend(io.more.extract_if(.., woken).map(|(_, w)| w));
                }
            }
            self.ready_events.set(self.ready_events.get() + ready);
        }
        drop(events);
        for waker in to_wake.drain(..) {
            waker.wake();
        }
        ready as usize
    }

    /// Some I/O source (other than the cross-thread waker) is registered.
    pub(crate) fn has_sources(&self) -> bool {
        !self.sources.borrow().is_empty()
    }

    /// Events the OS has reported (including the cross-thread waker's).
    pub(crate) fn ready_count(&self) -> u64 {
        self.ready_events.get()
    }

    /// Drop every parked waker (runtime shutdown); the sources stay with their owners.
    pub(crate) fn clear(&self) {
        let wakers: Vec<Waker> = self
            .sources
            .borrow_mut()
            .iter_mut()
            .flat_map(|(_, io)| {
                let more: Vec<Waker> = io.more.drain(..).map(|(_, w)| w).collect();
                io.reader
                    .take()
                    .into_iter()
                    .chain(io.writer.take())
                    .chain(more)
            })
            .collect();
        drop(wakers);
    }
}

/// What a wait on a deregistered source returns.
pub(crate) fn closed_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotConnected,
        "the I/O source was deregistered (closed) while a task waited on it",
    )
}
