//! A line-based chat room: every line a client sends goes to every other client.
//!
//! Each client is one task that runs two halves side by side on its split socket:
//! * the **reader** waits for `readable()` and `try_read`s into one buffer shared by the whole
//!   loop (an idle client holds no read buffer), cuts lines, and hands each one to the room;
//! * the **writer** takes messages from the client's own bounded [`Queue`] and writes them.
//!
//! The room delivers a message by `try_put`ting one shared `Rc<[u8]>` into each other
//! client's queue: the sender never waits for anyone, and a message is formatted once
//! whatever the number of readers. A message is everything one read brought from a client
//! (all its complete lines, each formatted `guestN: line`), not one line: a fast sender's
//! burst then costs the others one queue slot per read (at most 16 KiB of input) rather than
//! one per line, and after each read the sender's task yields so the writers it woke can send
//! the message on before it reads again. A reader that keeps up therefore never has more
//! than a message or two queued.
//!
//! # Slow clients (the policy)
//!
//! A client that does not read fills its socket buffers, then its queue of
//! [`Config::queue_len`] messages (so at most `queue_len` reads' worth of lines are held
//! for it: 128 x 16 KiB of input by default). The next message that finds its queue full **disconnects
//! it**: its task is aborted, its socket closed, and everyone else is told
//! `* guestN was disconnected (too slow)`. Dropping messages for it instead would keep it
//! connected but silently missing lines, which a chat user cannot tell from a quiet room;
//! disconnecting is what IRC servers do ("SendQ exceeded") and what Redis does with client
//! output buffer limits. Clients that keep up never lose a message, and the sender is never
//! slowed down by anyone.
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

use corio::net::tcp::ReadHalf;
use corio::net::{TcpListener, TcpStream};
use corio::sync::{Queue, TryPutError};
use corio::task::AbortHandle;

/// Room settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Messages waiting for one client before it counts as too slow (at least 1).
    pub queue_len: usize,
    /// Longest line, in bytes, without its line end.
    pub max_line: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            queue_len: 128,
            max_line: 4096,
        }
    }
}

/// One formatted message, shared by every queue it is in.
type Msg = Rc<[u8]>;

/// Bytes of the loop-wide read buffer.
const READ_BUF: usize = 16 * 1024;

thread_local! {
    /// The read buffer of every client on this loop; never borrowed across an `.await`.
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(vec![0; READ_BUF]);
}

/// Run a chat room on `listener` forever.
///
/// Returns only when `accept` fails with an error it does not retry by itself.
pub async fn serve(listener: TcpListener, config: Config) -> io::Result<()> {
    serve_room(listener, Room::new(config)).await
}

/// Admit the clients of `listener` into `room` forever; several listeners (IPv4 and IPv6,
/// say) may feed one room.
pub async fn serve_room(listener: TcpListener, room: Rc<Room>) -> io::Result<()> {
    loop {
        let (stream, _peer) = listener.accept().await?;
        room.admit(stream);
    }
}

/// The clients present and the settings; shared by the accept loops and client tasks.
pub struct Room {
    members: RefCell<HashMap<u64, Member>>,
    next_id: Cell<u64>,
    config: Config,
}

struct Member {
    name: Rc<str>,
    queue: Rc<Queue<Msg>>,
    /// The client's task, to stop it when it is too slow.
    task: Option<AbortHandle>,
}

impl Room {
    /// An empty room.
    pub fn new(config: Config) -> Rc<Room> {
        Rc::new(Room {
            members: RefCell::new(HashMap::new()),
            next_id: Cell::new(1),
            config,
        })
    }

    /// Welcome a new client: a name, a queue, a task, and a notice to the others.
    fn admit(self: &Rc<Self>, stream: TcpStream) {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let name: Rc<str> = format!("guest{id}").into();
        let queue = Rc::new(Queue::bounded(self.config.queue_len.max(1)));
        let others = self.members.borrow().len();
        let welcome = format!("* welcome {name}; {others} other(s) here\n");
        // The queue is new and holds at least one message, so this cannot fail.
        let _ = queue.try_put(Msg::from(welcome.into_bytes()));
        self.broadcast(None, format!("* {name} joined\n").into_bytes().into());
        let member = Member {
            name: name.clone(),
            queue: queue.clone(),
            task: None,
        };
        self.members.borrow_mut().insert(id, member);
        let task = corio::spawn(client(self.clone(), id, name, stream, queue));
        if let Some(member) = self.members.borrow_mut().get_mut(&id) {
            member.task = Some(task.abort_handle());
        }
    }

    /// Queue `msg` for every member but `from`; disconnect those whose queue is full.
    fn broadcast(&self, from: Option<u64>, msg: Msg) {
        let mut too_slow = Vec::new();
        self.deliver(from, &msg, &mut too_slow);
        // Iterative, not recursive: each disconnection notice may find more slow members.
        while let Some(id) = too_slow.pop() {
            let Some(member) = self.members.borrow_mut().remove(&id) else {
                continue; // found slow twice; already gone
            };
            member.queue.close();
            if let Some(task) = &member.task {
                // The task is dropped when the loop next reaches it, closing its socket.
                task.abort();
            }
            let notice = format!("* {} was disconnected (too slow)\n", member.name);
            self.deliver(None, &notice.into_bytes().into(), &mut too_slow);
        }
    }

    fn deliver(&self, from: Option<u64>, msg: &Msg, too_slow: &mut Vec<u64>) {
        for (&id, member) in self.members.borrow().iter() {
            if Some(id) == from {
                continue;
            }
            if let Err(TryPutError::Full(_)) = member.queue.try_put(msg.clone()) {
                too_slow.push(id);
            }
        }
    }

    /// `id` left on its own: forget it and tell the others (unless it was already removed).
    fn leave(&self, id: u64) {
        let member = self.members.borrow_mut().remove(&id);
        if let Some(member) = member {
            self.broadcast(
                None,
                format!("* {} left\n", member.name).into_bytes().into(),
            );
        }
    }
}

/// Removes a client from the room however its task ends (also when aborted or when the
/// runtime drops it), without telling anyone: waking other tasks from a destructor that may
/// run during runtime shutdown is asking for trouble. The normal way out is `Room::leave`.
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
async fn client(
    room: Rc<Room>,
    id: u64,
    name: Rc<str>,
    mut stream: TcpStream,
    queue: Rc<Queue<Msg>>,
) {
    let _membership = Membership {
        room: room.clone(),
        id,
    };
    let (reader, mut writer) = stream.split();
    let reading = read_lines(&reader, &room, id, &name);
    let writing = async {
        while let Some(msg) = queue.get().await {
            writer.write_all(&msg).await?;
        }
        Ok(())
    };
    let ended = race(reading, writing).await;
    if let Err(e) = ended {
        if e.kind() == ErrorKind::InvalidData {
            // Best effort: one non-blocking write, the client is leaving either way.
            let _ = writer.try_write(b"* line too long; bye\n");
        }
    }
    room.leave(id);
}

/// Read lines and hand them to the room until EOF or an error.
///
/// All complete lines of one read become one message (see the module docs), and after
/// handing it over the reader yields, so the writers it woke send it on before this client's
/// next read can add more.
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
            Ok(cut_lines(
                &scratch[..n],
                &mut partial,
                name,
                room.config.max_line,
            ))
        })?;
        match read {
            Read::Eof => return Ok(()),
            Read::Lines(batch) if batch.is_empty() => {}
            Read::Lines(batch) => {
                room.broadcast(Some(id), batch.into());
                corio::task::yield_now().await;
            }
            Read::TooLong(batch) => {
                if !batch.is_empty() {
                    room.broadcast(Some(id), batch.into());
                }
                return Err(ErrorKind::InvalidData.into());
            }
        }
    }
}

/// What one read brought.
enum Read {
    Eof,
    /// The formatted complete lines (possibly none).
    Lines(Vec<u8>),
    /// A line over the limit; the formatted complete lines before it.
    TooLong(Vec<u8>),
}

/// Cut `chunk` (after `partial`, the unfinished line of earlier reads) into lines, each
/// formatted `name: line\n` into one batch; what follows the last LF becomes `partial`.
fn cut_lines(mut chunk: &[u8], partial: &mut Vec<u8>, name: &str, max_line: usize) -> Read {
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
            return Read::TooLong(batch);
        }
        if !line.is_empty() {
            batch.extend_from_slice(name.as_bytes());
            batch.extend_from_slice(b": ");
            batch.extend_from_slice(line);
            batch.push(b'\n');
        }
        *partial = Vec::new();
        chunk = &chunk[lf + 1..];
    }
    partial.extend_from_slice(chunk);
    // One more byte than the limit may be the CR of a line at the limit.
    if partial.len() > max_line + 1 {
        return Read::TooLong(batch);
    }
    Read::Lines(batch)
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
