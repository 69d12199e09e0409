//! A line-based chat room: every line a client sends goes to every other client.
//!
//! Each client is one task that runs two halves side by side on its split socket:
//! * the **reader** waits for `readable()` and `try_read`s into one buffer shared by the whole
//!   loop (an idle client holds no read buffer), cuts lines, and hands them to the room;
//! * the **writer** (`outbox.rs`) sends the client's queued messages, many per `writev`.
//!
//! The room delivers a message by pushing one shared `Rc<[u8]>` into each other client's
//! outbox: the sender never waits for anyone, and a message is formatted once whatever the
//! number of readers. A message is the complete lines of one read (each formatted
//! `guestN: line`), cut at about [`MSG_BYTES`]: a fast sender's burst costs the others one
//! entry per read rather than one per line. After each read the sender's task yields, so the
//! writers it woke can send before it reads again.
//!
//! # Slow clients (the policy)
//!
//! A burst is not slowness: when 200 clients each say a line at once, every outbox briefly
//! holds ~200 messages before its writer's turn comes, and that is fine. What counts is
//! bytes and time. With the defaults of [`Config`]:
//! * **stalled**: more than [`Config::stall_bytes`] (64 KiB) queued *and* the kernel has
//!   taken none of it for [`Config::stall_timeout`] (5 s): a client that stopped reading.
//!   Its kernel buffers are full by then, so it is megabytes behind on a fast network;
//! * **hard cap**: a line that would take the backlog over [`Config::max_backlog`] (1 MiB)
//!   is refused whatever the time: a client that reads, but slower than the room talks.
//!
//! Either way the client is **disconnected** (its socket closed) and everyone else is told
//! `* guestN was disconnected (too slow)`. Dropping lines for it instead would keep it
//! connected but silently missing lines, which a chat user cannot tell from a quiet room;
//! disconnecting is what IRC servers do ("SendQ exceeded") and what Redis does with client
//! output buffer limits. Clients that keep up never lose a line, and a sender is never slowed
//! down by anyone.
//!
//! **Notices cannot cascade.** Join, leave and disconnection notices have a budget of their
//! own, [`Config::max_notices`] (64 KiB, ~3,000 notices), and do not count against
//! `max_backlog`: past their budget they are skipped and counted, and the client is told
//! `* N notice(s) skipped while you were behind` once it has caught up. So a notice never
//! brings a reading client nearer to being cut off (only the stall rule counts notices, and
//! it needs a client that takes nothing for `stall_timeout`): 500 clients joining and
//! leaving at once, or one disconnection, cannot cut off anyone who reads.
//!
//! # What one client can make the server hold
//! * its outbox: at most `max_backlog` bytes of lines plus `max_notices` bytes of notices
//!   (each entry charged its length + 24 B); the messages are shared with every other
//!   outbox that holds them, so the room as a whole holds each message once;
//! * an unfinished line: at most `max_line + 1` bytes; the messages of one read in flight:
//!   16 KiB of input formatted (up to ~8× that for one-byte lines), freed once broadcast;
//! * time: a stalled client for `stall_timeout`; loop share: one 16 KiB read per turn, then
//!   a yield.
//!
//! # Drain
//!
//! [`serve_until`] stops accepting once its `stop` token is cancelled (the listener closes,
//! so new connections are refused), tells everyone `* server shutting down`, stops reading
//! from the clients, and lets each writer send everything queued for its client (lines
//! already broadcast are delivered, however slowly the client reads, within the usual
//! slow-client rules) before it closes the connection; leaving clients send no `left`
//! notices then. It returns when every client is gone. Dropping the future (the drain
//! timeout) cuts the clients left.
//!
//! # Lines
//!
//! A line ends at LF (a CR before it is dropped); empty lines are ignored; bytes are passed
//! through as they are (no UTF-8 check). A line longer than [`Config::max_line`] bytes gets
//! `* line too long` back, best effort, and that client is disconnected.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::{poll_fn, Future};
use std::io::{self, ErrorKind};
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use corio::net::tcp::ReadHalf;
use corio::net::{TcpListener, TcpStream};
use corio::sync::CancellationToken;
use corio::task::TaskTracker;

use super::outbox::{is_too_slow, write_outbox, Bounds, Kind, Msg, Offer, Outbox, ENTRY_COST};

/// Room settings (see the module docs for the policy they tune).
#[derive(Debug, Clone)]
pub struct Config {
    /// Backlog, in bytes (lines and notices), above which a client that takes nothing for
    /// `stall_timeout` is too slow. Default 64 KiB.
    pub stall_bytes: usize,
    /// How long a client may take no bytes while more than `stall_bytes` wait. Default 5 s.
    pub stall_timeout: Duration,
    /// Bytes of lines queued for one client, never exceeded: with `max_notices`, the hard
    /// memory bound per client. Default 1 MiB; raised if needed to the largest message.
    pub max_backlog: usize,
    /// Bytes of notices queued for one client; past it notices are skipped. Default 64 KiB.
    pub max_notices: usize,
    /// Longest line, in bytes, without its line end. Default 4096.
    pub max_line: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            stall_bytes: 64 * 1024,
            stall_timeout: Duration::from_secs(5),
            max_backlog: 1024 * 1024,
            max_notices: 64 * 1024,
            max_line: 4096,
        }
    }
}

/// Bytes of the loop-wide read buffer.
const READ_BUF: usize = 16 * 1024;

/// A message is closed once it holds this many bytes (it may exceed it by one line).
pub const MSG_BYTES: usize = 16 * 1024;

/// Longest `guestN: ` prefix plus the LF: `guest` and a 20-digit u64.
const NAME_OVERHEAD: usize = 5 + 20 + 3;

thread_local! {
    /// The read buffer of every client on this loop; never borrowed across an `.await`.
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(vec![0; READ_BUF]);
}

/// Run a chat room on `listener` forever.
///
/// Returns only when `accept` fails with an error it does not retry by itself.
#[allow(dead_code)] // The tests' entry point; the binary drains with `serve_until`.
pub async fn serve(listener: TcpListener, config: Config) -> io::Result<()> {
    serve_room(listener, Room::new(config)).await
}

/// Admit the clients of `listener` into `room` forever; several listeners (IPv4 and IPv6,
/// say) may feed one room.
#[allow(dead_code)] // The tests' entry point.
pub async fn serve_room(listener: TcpListener, room: Rc<Room>) -> io::Result<()> {
    loop {
        let (stream, _peer) = listener.accept().await?;
        let _ = stream.set_nodelay(true); // as in `serve_until`
        room.admit(stream);
    }
}

/// Run a chat room on `listener` until `stop` is cancelled; then drain (see the module
/// docs) and return once every client is gone. Dropping the future cuts the clients left.
pub async fn serve_until(
    listener: TcpListener,
    config: Config,
    stop: CancellationToken,
) -> io::Result<()> {
    let room = Room::new(config);
    // Cancelled when this future ends or is dropped: ends every client task left.
    let _cut_when_dropped = room.cut.clone().drop_guard();
    let result = loop {
        // Cancellation is checked first: once `stop` is cancelled, nothing more is accepted.
        let accepted = stop.run_until_cancelled(listener.accept()).await;
        match accepted {
            None => break Ok(()),
            Some(Ok((stream, _peer))) => {
                // Lines are small: without this, Nagle holds a line until the previous one is
                // acknowledged (up to a delayed-ACK timeout), a stall a reading client did not
                // cause. Failing to set it only costs latency.
                let _ = stream.set_nodelay(true);
                room.admit(stream)
            }
            Some(Err(e)) => break Err(e),
        }
    };
    // Stop accepting: connections that arrive from now on are refused.
    drop(listener);
    result?;
    room.shut_down();
    room.clients.close();
    room.clients.wait().await;
    Ok(())
}

/// The clients present and the settings; shared by the accept loops and client tasks.
pub struct Room {
    members: RefCell<HashMap<u64, Member>>,
    next_id: Cell<u64>,
    bounds: Bounds,
    max_line: usize,
    /// The client tasks, for the drain to wait for.
    clients: TaskTracker,
    /// Set once the room shuts down: clients stop reading, and nobody is told who left.
    closing: CancellationToken,
    /// Cancelled to end every client task at once (the drain timeout).
    cut: CancellationToken,
}

struct Member {
    name: Rc<str>,
    outbox: Rc<Outbox>,
}

impl Room {
    /// An empty room.
    pub fn new(config: Config) -> Rc<Room> {
        let largest = MSG_BYTES + config.max_line + NAME_OVERHEAD + ENTRY_COST;
        let bounds = Bounds {
            stall_bytes: config.stall_bytes,
            stall_timeout: config.stall_timeout,
            // A message that could never fit would cut off every reader at once.
            max_backlog: config.max_backlog.max(largest),
            max_notices: config.max_notices,
        };
        Rc::new(Room {
            members: RefCell::new(HashMap::new()),
            next_id: Cell::new(1),
            bounds,
            max_line: config.max_line,
            clients: TaskTracker::new(),
            closing: CancellationToken::new(),
            cut: CancellationToken::new(),
        })
    }

    /// How many clients are in the room.
    #[allow(dead_code)] // Read by the tests.
    pub fn len(&self) -> usize {
        self.members.borrow().len()
    }

    /// Welcome a new client: a name, an outbox, a task, and a notice to the others.
    fn admit(self: &Rc<Self>, stream: TcpStream) {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let name: Rc<str> = format!("guest{id}").into();
        let outbox = Outbox::new(self.bounds);
        let others = self.members.borrow().len();
        let welcome = format!("* welcome {name}; {others} other(s) here\n");
        outbox.push(notice(welcome), Kind::Notice);
        self.broadcast(None, notice(format!("* {name} joined\n")), Kind::Notice);
        let member = Member {
            name: name.clone(),
            outbox: outbox.clone(),
        };
        self.members.borrow_mut().insert(id, member);
        let cut = self.cut.clone();
        let serving = client(self.clone(), id, name, stream, outbox);
        self.clients.spawn(async move {
            race(serving, async { cut.cancelled().await }).await;
        });
    }

    /// The server drains: tell everyone, stop reading, let every writer send what is
    /// queued and end.
    fn shut_down(&self) {
        self.closing.cancel();
        let text: Msg = notice("* server shutting down\n".to_owned());
        for member in self.members.borrow().values() {
            member.outbox.push(text.clone(), Kind::Notice);
            member.outbox.finish();
        }
    }

    /// Queue `msg` for every member but `from`; cut off those it finds too slow.
    fn broadcast(&self, from: Option<u64>, msg: Msg, kind: Kind) {
        // One clock read per broadcast at most, and only if some outbox is over its bound.
        let mut clock = None;
        let mut now = || *clock.get_or_insert_with(corio::time::now);
        let mut too_slow = Vec::new();
        for (&id, member) in self.members.borrow().iter() {
            if Some(id) != from && member.outbox.offer(&msg, kind, &mut now) == Offer::TooSlow {
                too_slow.push(id);
            }
        }
        // Each cut-off broadcasts a notice; notices never cut anyone off (see `Outbox::offer`),
        // so this recurses one level at most.
        for id in too_slow {
            self.cut_off(id);
        }
    }

    /// `id` is too slow: close it and tell the others (unless it was already removed).
    fn cut_off(&self, id: u64) {
        let member = self.members.borrow_mut().remove(&id);
        if let Some(member) = member {
            // Its writer ends at its next poll, which ends its task and closes its socket.
            member.outbox.kick();
            let text = format!("* {} was disconnected (too slow)\n", member.name);
            self.broadcast(None, notice(text), Kind::Notice);
        }
    }

    /// `id` left on its own: forget it and tell the others (unless it was already removed,
    /// or the room is shutting down).
    fn leave(&self, id: u64) {
        let member = self.members.borrow_mut().remove(&id);
        if self.closing.is_cancelled() {
            return;
        }
        if let Some(member) = member {
            let text = format!("* {} left\n", member.name);
            self.broadcast(None, notice(text), Kind::Notice);
        }
    }
}

fn notice(text: String) -> Msg {
    text.into_bytes().into()
}

/// Removes a client from the room however its task ends (also when the runtime drops it),
/// without telling anyone: waking other tasks from a destructor that may run during runtime
/// shutdown is asking for trouble. The normal ways out are `Room::leave` and `cut_off`.
struct Membership {
    room: Rc<Room>,
    id: u64,
}

impl Drop for Membership {
    fn drop(&mut self) {
        // `try_`: never panic in a destructor, even if the map were borrowed right now.
        if let Ok(mut members) = self.room.members.try_borrow_mut() {
            members.remove(&self.id);
        }
    }
}

/// One client's task: the reader and the writer, until either ends.
async fn client(room: Rc<Room>, id: u64, name: Rc<str>, mut stream: TcpStream, outbox: Rc<Outbox>) {
    let _membership = Membership {
        room: room.clone(),
        id,
    };
    let (reader, mut writer) = stream.split();
    // Once the room shuts down the reader stops (and waits forever), so the writer's end,
    // when everything queued is sent, is the client's end.
    let reading = race(read_lines(&reader, &room, id, &name), async {
        room.closing.cancelled().await;
        std::future::pending().await
    });
    let writing = write_outbox(&mut writer, &outbox);
    match race(reading, writing).await {
        Err(e) if is_too_slow(&e) => room.cut_off(id),
        Err(e) if e.kind() == ErrorKind::InvalidData => {
            // Best effort: one non-blocking write, the client is leaving either way.
            let _ = writer.try_write(b"* line too long; bye\n");
            room.leave(id);
        }
        _ => room.leave(id),
    }
}

/// Read lines and hand them to the room until EOF or an error.
///
/// The complete lines of one read become one or a few messages (see the module docs), and
/// after handing them over the reader yields, so the writers it woke send them on before
/// this client's next read can add more.
async fn read_lines(reader: &ReadHalf<'_>, room: &Room, id: u64, name: &str) -> io::Result<()> {
    // The start of a line whose end has not arrived; empty (no heap) between lines.
    let mut partial: Vec<u8> = Vec::new();
    loop {
        reader.readable().await?;
        let read = SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let n = match reader.try_read(&mut scratch) {
                Ok(0) => return Ok(Read::Eof),
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(Read::Lines(Vec::new())),
                Err(e) => return Err(e),
            };
            Ok(cut_lines(&scratch[..n], &mut partial, name, room.max_line))
        })?;
        let (messages, too_long) = match read {
            Read::Eof => return Ok(()),
            Read::Lines(messages) => (messages, false),
            Read::TooLong(messages) => (messages, true),
        };
        let any = !messages.is_empty();
        for message in messages {
            room.broadcast(Some(id), message.into(), Kind::Line);
        }
        if too_long {
            return Err(ErrorKind::InvalidData.into());
        }
        if any {
            corio::task::yield_now().await;
        }
    }
}

/// What one read brought.
enum Read {
    Eof,
    /// The formatted complete lines, as messages of about `MSG_BYTES` (possibly none).
    Lines(Vec<Vec<u8>>),
    /// A line over the limit; the messages of the complete lines before it.
    TooLong(Vec<Vec<u8>>),
}

/// Cut `chunk` (after `partial`, the unfinished line of earlier reads) into lines, each
/// formatted `name: line\n`, gathered into messages closed once they pass [`MSG_BYTES`];
/// what follows the last LF becomes `partial`.
fn cut_lines(mut chunk: &[u8], partial: &mut Vec<u8>, name: &str, max_line: usize) -> Read {
    let mut messages = Vec::new();
    let mut batch = Vec::new();
    while let Some(lf) = chunk.iter().position(|&b| b == b'\n') {
        let line: &[u8] = if partial.is_empty() {
            &chunk[..lf]
        } else {
            partial.extend_from_slice(&chunk[..lf]);
            partial
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() > max_line {
            close_message(&mut messages, batch);
            return Read::TooLong(messages);
        }
        if !line.is_empty() {
            batch.extend_from_slice(name.as_bytes());
            batch.extend_from_slice(b": ");
            batch.extend_from_slice(line);
            batch.push(b'\n');
            if batch.len() >= MSG_BYTES {
                close_message(&mut messages, std::mem::take(&mut batch));
            }
        }
        *partial = Vec::new();
        chunk = &chunk[lf + 1..];
    }
    close_message(&mut messages, batch);
    partial.extend_from_slice(chunk);
    // One more byte than the limit may be the CR of a line at the limit.
    if partial.len() > max_line + 1 {
        return Read::TooLong(messages);
    }
    Read::Lines(messages)
}

fn close_message(messages: &mut Vec<Vec<u8>>, batch: Vec<u8>) {
    if !batch.is_empty() {
        messages.push(batch);
    }
}

/// Run two futures in one task; the first to finish wins and the other is dropped.
async fn race<T>(a: impl Future<Output = T>, b: impl Future<Output = T>) -> T {
    let mut a = pin!(a);
    let mut b = pin!(b);
    poll_fn(|cx| {
        if let Poll::Ready(v) = a.as_mut().poll(cx) {
            return Poll::Ready(v);
        }
        b.as_mut().poll(cx)
    })
    .await
}
