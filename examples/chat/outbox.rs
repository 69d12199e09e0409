//! One client's outbox: the messages queued for it, what they cost, and the task half that
//! writes them. The slow-client rule lives here (see `server.rs` for the policy as a whole).
//!
//! The room pushes shared messages in with [`Outbox::offer`], which answers whether the
//! client is now too slow; the client's own task runs [`write_outbox`], which sends as much
//! as the kernel takes with one `writev` per turn and watches the clock while it is stuck.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::io::{self, ErrorKind, IoSlice};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use corio::net::tcp::WriteHalf;
use corio::time::{sleep_until, Sleep};

/// One formatted message, shared by every outbox it is in.
pub type Msg = Rc<[u8]>;

/// What an outbox entry costs besides its bytes: the `Rc<[u8]>` pointer and its kind in the
/// deque (24 B), counted so that a flood of tiny messages is bounded too.
pub const ENTRY_COST: usize = 24;

/// Most messages handed to one `writev`: enough to empty a burst's backlog in a few calls.
const MAX_IOV: usize = 64;

/// The limits an outbox enforces (copied from the room's `Config`).
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Backlog (bytes, lines and notices) above which a client that makes no write
    /// progress for `stall_timeout` is too slow.
    pub stall_bytes: usize,
    /// How long a client with more than `stall_bytes` queued may go without taking a byte.
    pub stall_timeout: Duration,
    /// Bytes of lines never exceeded: a line that would is refused and the client is too
    /// slow at once.
    pub max_backlog: usize,
    /// Bytes of notices never exceeded: a notice that would is skipped (and counted).
    /// Notices are not charged against `max_backlog`.
    pub max_notices: usize,
}

/// Is this message a client's line (must be delivered or the client cut off) or a server
/// notice (may be skipped for a client that is behind)?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A line someone said.
    Line,
    /// `* guestN joined` and the like.
    Notice,
}

/// What [`Outbox::offer`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// Queued (or, for a notice, skipped and counted).
    Taken,
    /// Not queued: the client is too slow and must go.
    TooSlow,
}

/// The messages waiting for one client. Shared (`Rc`) by the room and the client's task.
pub struct Outbox {
    queue: RefCell<VecDeque<(Msg, Kind)>>,
    /// Sum of `len + ENTRY_COST` over the lines in `queue` (the front message counted whole
    /// even when part of it is already sent: an over-estimate by less than one message).
    line_bytes: Cell<usize>,
    /// The same over the notices in `queue`.
    notice_bytes: Cell<usize>,
    /// Since when the writer has been waiting for the kernel to take bytes, with none taken;
    /// `None` while it is not stuck.
    stalled_since: Cell<Option<Instant>>,
    /// Notices skipped because the client was behind, told to it once it catches up.
    skipped: Cell<u64>,
    /// Set by the room when the client is cut off; the writer then ends.
    kicked: Cell<bool>,
    /// Set by the room when the server drains: the writer ends once the queue is empty.
    finishing: Cell<bool>,
    /// The client task's waker, from its last poll of the writer.
    waker: Cell<Option<Waker>>,
    bounds: Bounds,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("messages", &self.queue.borrow().len())
            .field("line_bytes", &self.line_bytes.get())
            .field("notice_bytes", &self.notice_bytes.get())
            .field("stalled_since", &self.stalled_since.get())
            .field("skipped", &self.skipped.get())
            .field("kicked", &self.kicked.get())
            .finish_non_exhaustive()
    }
}

impl Outbox {
    /// An empty outbox.
    pub fn new(bounds: Bounds) -> Rc<Outbox> {
        Rc::new(Outbox {
            queue: RefCell::new(VecDeque::new()),
            line_bytes: Cell::new(0),
            notice_bytes: Cell::new(0),
            stalled_since: Cell::new(None),
            skipped: Cell::new(0),
            kicked: Cell::new(false),
            finishing: Cell::new(false),
            waker: Cell::new(None),
            bounds,
        })
    }

    /// Queue `msg` unless that makes the client too slow. `now` is read by the caller at
    /// most once per broadcast, and only if some outbox needs it.
    ///
    /// * A notice is skipped (and counted) if it would take the notices queued above
    ///   `max_notices`. It is never refused for the client's sake and never counts against
    ///   `max_backlog`, so one disconnection's notice cannot cascade into more: only a
    ///   client that also takes no bytes for `stall_timeout` is ever cut off with notices
    ///   in its backlog, and it is cut off for that.
    /// * A line is refused (too slow) if it would take the lines queued above
    ///   `max_backlog`, or the whole backlog above `stall_bytes` while the writer has been
    ///   stuck for `stall_timeout`.
    pub fn offer(&self, msg: &Msg, kind: Kind, now: &mut impl FnMut() -> Instant) -> Offer {
        let cost = msg.len() + ENTRY_COST;
        if kind == Kind::Notice {
            if self.notice_bytes.get() + cost > self.bounds.max_notices {
                self.skipped.set(self.skipped.get() + 1);
            } else {
                self.push(msg.clone(), kind);
            }
            return Offer::Taken;
        }
        if self.line_bytes.get() + cost > self.bounds.max_backlog {
            return Offer::TooSlow;
        }
        if self.backlog() + cost > self.bounds.stall_bytes {
            if let Some(since) = self.stalled_since.get() {
                if now().saturating_duration_since(since) >= self.bounds.stall_timeout {
                    return Offer::TooSlow;
                }
            }
        }
        self.push(msg.clone(), kind);
        Offer::Taken
    }

    /// Queue `msg` whatever the bounds (the welcome line of a fresh, empty outbox).
    pub fn push(&self, msg: Msg, kind: Kind) {
        self.counter(kind)
            .set(self.counter(kind).get() + msg.len() + ENTRY_COST);
        let was_empty = {
            let mut queue = self.queue.borrow_mut();
            queue.push_back((msg, kind));
            queue.len() == 1
        };
        if was_empty {
            self.wake();
        }
    }

    fn counter(&self, kind: Kind) -> &Cell<usize> {
        match kind {
            Kind::Line => &self.line_bytes,
            Kind::Notice => &self.notice_bytes,
        }
    }

    /// Cut the client off: its writer ends with [`too_slow`] at its next poll.
    pub fn kick(&self) {
        self.kicked.set(true);
        self.wake();
    }

    /// The server drains: the writer sends what is queued, then ends with `Ok`.
    pub fn finish(&self) {
        self.finishing.set(true);
        self.wake();
    }

    /// Bytes queued, lines and notices (as charged against the bounds).
    pub fn backlog(&self) -> usize {
        self.line_bytes.get() + self.notice_bytes.get()
    }

    fn wake(&self) {
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }

    fn register(&self, waker: &Waker) {
        let current = self.waker.take();
        self.waker.set(match current {
            Some(w) if w.will_wake(waker) => Some(w),
            _ => Some(waker.clone()),
        });
    }

    /// Take `n` sent bytes off the front; `offset` is how much of the front message was
    /// already sent before.
    fn consume(&self, mut n: usize, offset: &mut usize) {
        let mut queue = self.queue.borrow_mut();
        while n > 0 {
            let Some((front, kind)) = queue.front() else {
                break;
            };
            let left = front.len() - *offset;
            if n < left {
                *offset += n;
                return;
            }
            n -= left;
            let counter = self.counter(*kind);
            counter.set(counter.get() - front.len() - ENTRY_COST);
            queue.pop_front();
            *offset = 0;
        }
        if queue.is_empty() && queue.capacity() > 4 * MAX_IOV {
            // A burst's peak is not kept for the rest of the connection.
            *queue = VecDeque::new();
        }
    }
}

/// The error a writer ends with when its client is too slow.
pub fn too_slow() -> io::Error {
    io::Error::new(ErrorKind::TimedOut, "client too slow")
}

/// Whether `e` is [`too_slow`].
pub fn is_too_slow(e: &io::Error) -> bool {
    e.kind() == ErrorKind::TimedOut
}

/// Send what is queued in `outbox` to `writer` until the client is kicked or too slow
/// (`Err(too_slow())`) or the socket fails; `Ok` once [`Outbox::finish`]ed and empty.
pub async fn write_outbox(writer: &mut WriteHalf<'_>, outbox: &Outbox) -> io::Result<()> {
    // How much of the front message the kernel has taken.
    let mut offset = 0;
    loop {
        if !wait_for_work(outbox).await? {
            return Ok(());
        }
        // Own references to the messages being written: the room may push (and the deque
        // reallocate) while the write waits.
        let batch: Vec<Msg> = outbox
            .queue
            .borrow()
            .iter()
            .take(MAX_IOV)
            .map(|(m, _)| m.clone())
            .collect();
        let mut slices: Vec<IoSlice<'_>> = batch.iter().map(|m| IoSlice::new(m)).collect();
        slices[0] = IoSlice::new(&batch[0][offset..]);
        let n = write_or_stall(writer, &slices, outbox).await?;
        if n == 0 {
            return Err(ErrorKind::WriteZero.into());
        }
        outbox.stalled_since.set(None);
        outbox.consume(n, &mut offset);
    }
}

/// Wait until there is something to send (also the "notices skipped" line once the client
/// has caught up); `Err` once kicked, `Ok(false)` once finished and empty.
async fn wait_for_work(outbox: &Outbox) -> io::Result<bool> {
    poll_fn(|cx| {
        if outbox.kicked.get() {
            return Poll::Ready(Err(too_slow()));
        }
        if !outbox.queue.borrow().is_empty() {
            return Poll::Ready(Ok(true));
        }
        if outbox.finishing.get() {
            return Poll::Ready(Ok(false));
        }
        let skipped = outbox.skipped.replace(0);
        if skipped > 0 {
            let text = format!("* {skipped} notice(s) skipped while you were behind\n");
            outbox.push(text.into_bytes().into(), Kind::Notice);
            return Poll::Ready(Ok(true));
        }
        outbox.register(cx.waker());
        Poll::Pending
    })
    .await
}

/// One `writev`, watched: `Err(too_slow())` if the client is kicked meanwhile, or if the
/// kernel takes nothing for `stall_timeout` while more than `stall_bytes` are queued.
async fn write_or_stall(
    writer: &mut WriteHalf<'_>,
    slices: &[IoSlice<'_>],
    outbox: &Outbox,
) -> io::Result<usize> {
    let mut write = pin!(writer.write_vectored(slices));
    // Armed on the first poll that finds the kernel full; spent once it has fired with the
    // backlog under `stall_bytes` (a later line that crosses it is refused by `offer`,
    // and notices alone stay under `max_notices`).
    let mut timer: Option<Sleep> = None;
    let mut spent = false;
    poll_fn(|cx| {
        if outbox.kicked.get() {
            return Poll::Ready(Err(too_slow()));
        }
        if let Poll::Ready(r) = write.as_mut().poll(cx) {
            return Poll::Ready(r);
        }
        outbox.register(cx.waker());
        let since = match outbox.stalled_since.get() {
            Some(since) => since,
            None => {
                let now = corio::time::now();
                outbox.stalled_since.set(Some(now));
                now
            }
        };
        if spent {
            return Poll::Pending;
        }
        let armed = timer.get_or_insert_with(|| sleep_until(since + outbox.bounds.stall_timeout));
        if Pin::new(armed).poll(cx).is_ready() {
            if outbox.backlog() > outbox.bounds.stall_bytes {
                return Poll::Ready(Err(too_slow()));
            }
            spent = true;
        }
        Poll::Pending
    })
    .await
}
