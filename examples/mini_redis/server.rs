//! The connection loop: read, run commands while the client keeps up, send replies as they
//! grow, and bound what any one client can make the server hold.
//!
//! A connection holds no buffer while idle: it awaits `readable()`, `try_read`s into one
//! input buffer shared by the whole loop, and runs the complete commands found there
//! straight from it (pipelined clients such as `redis-benchmark -P 16` send many per read).
//! Only what it cannot finish now is copied into a buffer of its own: an unfinished command
//! (the [`CommandParser`] keeps its place in it, so it is never re-parsed from the start),
//! or commands held back by the bounds below.
//!
//! Bounds, per connection (defaults in [`Config::default`], flags in `main.rs`):
//! * **Unsent replies**: commands stop running while [`Config::max_pending_reply`]
//!   (256 KiB) or more of replies is unsent, and resume as the client reads. So a client
//!   that pipelines `GET` of a 1 MB value 3,000 times and never reads makes the server
//!   hold at most the bound plus one reply, and its unread input stays in the kernel. Large
//!   values are queued by reference to the stored copy (see `output.rs`), so a held reply
//!   costs no copy of its value.
//! * **Unfinished request**: a command may hold at most [`Config::max_request`] (64 MiB)
//!   before it is complete (plus at most one read, 64 KiB), each bulk string at most
//!   `limits.max_bulk` (32 MiB; Redis's `proto-max-bulk-len` is 512 MB). Over either: an
//!   `-ERR Protocol error` reply and the connection closes. Space grows as bytes arrive,
//!   never by a declared size.
//! * **Time**: a connection on which no byte arrives and none is sent for
//!   [`Config::idle_timeout`] (300 s) is closed, whether it is idle or does not read its
//!   replies; an unfinished request must complete within [`Config::request_timeout`]
//!   (60 s) of its first byte, however it drips (the slow-loris bound).
//! * **Loop share**: at most [`TURN_WORK`] commands-plus-arguments run between two awaits
//!   (then the task yields), so a pipelining client cannot hold the loop for a whole
//!   64 KiB read of commands. One command's work is not divided (a `DEL` of 1 Mi keys runs
//!   whole; `limits.max_array` bounds it).
//! * **Memory given back**: an input buffer is freed once drained and shrunk when a burst
//!   left it large; reply buffers return to a small loop-wide pool, or are freed if a burst
//!   grew them (see `output.rs`); a huge argument list is freed after its command.
//!
//! Not bounded: the sum over connections (many clients can each hold their own bound) and
//! the database itself (no `maxmemory`).
//!
//! Drain: [`serve_until`] stops accepting once its `stop` token is cancelled (the listener
//! closes, so new connections are refused) and returns when every connection is done. A
//! connection between commands closes (FIN after its last reply), after one last look for
//! commands already in the kernel's buffer; one in the middle of something finishes it
//! first: every command received is run and answered, replies are sent whole however slowly
//! the client reads (a 32 MiB `GET`), and an unfinished command may complete within
//! [`Config::request_timeout`]. Dropping the `serve_until` future (the drain timeout) cuts
//! the connections left.
//!
//! Errors:
//! * a well-framed command that fails (unknown, wrong arity, `INCR` of a non-number) gets an
//!   `-ERR` reply and the connection carries on (that is `cmd.rs`'s business);
//! * bytes that are not RESP (see `resp.rs`), or a request over the limits, get
//!   `-ERR Protocol error: ...` after the replies to the commands before them, and then
//!   *that* connection closes, as in Redis: the start of the next command cannot be found.
//!   Other connections never notice. A client that closes its side still gets the replies
//!   to the commands it sent.

use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::io::{self, ErrorKind};
use std::net::Shutdown;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use corio::net::{TcpListener, TcpStream};
use corio::sync::CancellationToken;
use corio::task::TaskTracker;
use corio::time::{sleep_until, Sleep};

use super::cmd::{execute, After, Args};
use super::db::Db;
use super::output::Output;
use super::resp::{write_error, CommandParser, Limits};

/// Server settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Protocol limits (bulk and array sizes, inline length).
    pub limits: Limits,
    /// Most bytes one unfinished command may hold; more is a protocol error.
    pub max_request: usize,
    /// Commands stop running while this many reply bytes are unsent.
    pub max_pending_reply: usize,
    /// Close a connection after this long without a byte in or out.
    pub idle_timeout: Duration,
    /// Close a connection whose unfinished command is older than this.
    pub request_timeout: Duration,
}

impl Default for Config {
    /// 32 MiB bulk strings, 64 MiB per unfinished request, 256 KiB of unsent replies,
    /// 300 s idle timeout, 60 s to finish a request.
    fn default() -> Self {
        Config {
            limits: Limits::DEFAULT,
            max_request: 64 * 1024 * 1024,
            max_pending_reply: 256 * 1024,
            idle_timeout: Duration::from_secs(300),
            request_timeout: Duration::from_secs(60),
        }
    }
}

/// Most commands plus arguments one connection runs between two awaits.
pub const TURN_WORK: usize = 1024;
/// Bytes of the loop-wide input buffer: one read takes at most this much.
const READ_BUF: usize = 64 * 1024;
/// An input buffer with this much capacity or more is shrunk once mostly drained.
const SHRINK_INPUT: usize = 1024 * 1024;

thread_local! {
    /// The loop-wide input buffer; never borrowed across an `.await`.
    static INPUT: RefCell<Vec<u8>> = RefCell::new(vec![0; READ_BUF]);
    static STATS: Cell<Stats> = const { Cell::new(Stats::ZERO) };
}

/// What the connections of this thread's loop did and hold: the bounds above, made visible
/// (tests and operators read them; nothing in the server depends on them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Connections open now.
    pub connections: usize,
    /// Commands run.
    pub commands: u64,
    /// Most reply bytes one connection has had queued and unsent.
    pub peak_unsent_reply: usize,
    /// Most bytes one unfinished command has held.
    pub peak_unfinished_request: usize,
    /// Buffer bytes the connections hold now (input, reply buffers, argument lists).
    pub held: usize,
    /// Most commands plus arguments one connection ran between two awaits.
    pub peak_turn_work: usize,
    /// Connections closed by the idle or request timeout.
    pub timed_out: u64,
}

impl Stats {
    const ZERO: Stats = Stats {
        connections: 0,
        commands: 0,
        peak_unsent_reply: 0,
        peak_unfinished_request: 0,
        held: 0,
        peak_turn_work: 0,
        timed_out: 0,
    };
}

/// The counters of this thread's server loop.
#[allow(dead_code)] // Tests read them; the binary has no use for them yet.
pub fn stats() -> Stats {
    STATS.with(Cell::get)
}

fn update_stats(f: impl FnOnce(&mut Stats)) {
    STATS.with(|s| {
        let mut stats = s.get();
        f(&mut stats);
        s.set(stats);
    });
}

/// Accept connections forever with a fresh database, serving each in a task of its own.
#[allow(dead_code)] // The tests' entry point; the binary drains with `serve_until`.
pub async fn serve(listener: TcpListener, config: Config) -> io::Result<()> {
    serve_with(listener, Db::new(), config).await
}

/// Accept connections forever, all sharing `db`.
#[allow(dead_code)] // The tests' entry point.
pub async fn serve_with(listener: TcpListener, db: Rc<Db>, config: Config) -> io::Result<()> {
    serve_until(listener, db, config, CancellationToken::new()).await
}

/// Like [`serve_with`] until `stop` is cancelled; then drain (see the module docs) and
/// return once every connection is done. Dropping the future cuts the connections left.
pub async fn serve_until(
    listener: TcpListener,
    db: Rc<Db>,
    config: Config,
    stop: CancellationToken,
) -> io::Result<()> {
    let config = Rc::new(config);
    let connections = TaskTracker::new();
    // Cancelled when this future ends or is dropped: ends every connection task left.
    let cut = CancellationToken::new();
    let _cut_when_dropped = cut.clone().drop_guard();
    let result = loop {
        // Cancellation is checked first: once `stop` is cancelled, nothing more is accepted.
        let accepted = stop.run_until_cancelled(listener.accept()).await;
        let stream = match accepted {
            None => break Ok(()),
            Some(Ok((stream, _peer))) => stream,
            Some(Err(e)) => break Err(e),
        };
        let (db, config, stop, cut) = (db.clone(), config.clone(), stop.clone(), cut.clone());
        connections.spawn(async move {
            let serving = connection(stream, &db, &config, &stop);
            if let Some(Err(e)) = cut.run_until_cancelled(serving).await {
                if !matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe) {
                    eprintln!("mini_redis: connection error: {e}");
                }
            }
        });
    };
    // Stop accepting: connections that arrive from now on are refused.
    drop(listener);
    result?;
    connections.close();
    connections.wait().await;
    Ok(())
}

/// Why [`run`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// The input ends inside a command, or at a command boundary.
    Incomplete,
    /// Unsent replies reached the bound: wait for the client to read.
    Full,
    /// This turn's work is done: yield, then carry on.
    Turn,
    /// `QUIT` or a protocol error: send what is queued, then close.
    Close,
}

/// What one connection keeps between turns.
#[derive(Default)]
struct Conn {
    /// Input not consumed yet: an unfinished command, or commands held back by a bound.
    input: Vec<u8>,
    parser: CommandParser,
    out: Output,
    /// `input` may hold complete commands not run yet.
    runnable: bool,
    /// Send what is queued, then close.
    closing: bool,
    /// The client closed its side: run what it sent, send the replies, close.
    eof: bool,
    /// When the first byte of the unfinished command in `input` arrived.
    request_started: Option<Instant>,
    /// What this connection last added to `Stats::held`.
    accounted: usize,
}

impl Drop for Conn {
    fn drop(&mut self) {
        let accounted = self.accounted;
        update_stats(|s| {
            s.held -= accounted;
            s.connections -= 1;
        });
    }
}

impl Conn {
    /// Run commands from `input`; returns whether any ran.
    fn run_buffered(&mut self, db: &Db, config: &Config) -> bool {
        let now = corio::time::now();
        let (used, stop, ran) = run(
            &mut self.parser,
            &mut self.out,
            &self.input,
            db,
            config,
            now,
        );
        self.input.drain(..used);
        self.settle(stop, ran, now);
        ran > 0
    }

    /// Read once and run what arrived; returns whether bytes arrived.
    fn on_readable(
        &mut self,
        stream: &TcpStream,
        scratch: &mut [u8],
        db: &Db,
        config: &Config,
    ) -> io::Result<bool> {
        let n = match stream.try_read(scratch) {
            Ok(0) => {
                self.eof = true;
                return Ok(false);
            }
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
            Err(e) => return Err(e),
        };
        let now = corio::time::now();
        if self.input.is_empty() {
            // The common case: run straight from the loop's buffer, keep only the rest.
            let data = &scratch[..n];
            let (used, stop, ran) = run(&mut self.parser, &mut self.out, data, db, config, now);
            self.input.extend_from_slice(&data[used..]);
            self.settle(stop, ran, now);
        } else {
            self.input.extend_from_slice(&scratch[..n]);
            self.run_buffered(db, config);
        }
        Ok(true)
    }

    /// Record why running stopped, and give input memory back.
    fn settle(&mut self, stop: Stop, ran: usize, now: Instant) {
        self.runnable = matches!(stop, Stop::Full | Stop::Turn);
        if stop == Stop::Close {
            self.closing = true;
            self.input = Vec::new();
        }
        if self.input.is_empty() {
            self.input = Vec::new();
        } else if self.input.capacity() >= SHRINK_INPUT && self.input.len() < READ_BUF {
            self.input.shrink_to(READ_BUF);
        }
        self.request_started = match self.request_started {
            _ if stop != Stop::Incomplete || self.input.is_empty() => None,
            // A command finished in this turn: the unfinished one began with these bytes.
            _ if ran > 0 => Some(now),
            None => Some(now),
            started => started,
        };
    }

    /// Send what the socket takes now; returns whether any byte went.
    fn flush(&mut self, stream: &TcpStream) -> io::Result<bool> {
        let mut sent = false;
        loop {
            let front = self.out.front();
            if front.is_empty() {
                break;
            }
            match stream.try_write(front) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(k) => {
                    self.out.advance(k);
                    sent = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        self.out.release();
        Ok(sent)
    }

    /// Keep `Stats::held` up to date with what this connection holds.
    fn account(&mut self) {
        let held = self.input.capacity() + self.out.held() + self.parser.held();
        let before = self.accounted;
        self.accounted = held;
        update_stats(|s| s.held = s.held - before + held);
    }
}

/// Parse and run commands from `data` (which starts where the parser's current command
/// does), into `out`, until a bound or the end of the input. Returns the bytes consumed,
/// why it stopped, and how many commands ran. Never awaits.
fn run(
    parser: &mut CommandParser,
    out: &mut Output,
    data: &[u8],
    db: &Db,
    config: &Config,
    now: Instant,
) -> (usize, Stop, usize) {
    let (mut pos, mut work, mut ran) = (0, 0, 0);
    let stop = loop {
        if out.len() >= config.max_pending_reply {
            break Stop::Full;
        }
        if work >= TURN_WORK {
            break Stop::Turn;
        }
        if pos == data.len() {
            break Stop::Incomplete;
        }
        match parser.parse(&data[pos..], &config.limits) {
            Ok(Some(used)) => {
                let after = execute(db, Args::new(&data[pos..], parser.args()), out, now);
                work += 1 + parser.args().len();
                ran += 1;
                pos += used;
                parser.shrink();
                if after == After::Close {
                    break Stop::Close;
                }
            }
            Ok(None) => {
                let held = data.len() - pos;
                update_stats(|s| s.peak_unfinished_request = s.peak_unfinished_request.max(held));
                if held > config.max_request {
                    write_error(out.buf(), b"ERR Protocol error: request too large");
                    pos = data.len();
                    break Stop::Close;
                }
                break Stop::Incomplete;
            }
            Err(e) => {
                let mut msg = b"ERR Protocol error: ".to_vec();
                msg.extend_from_slice(e.message().as_bytes());
                write_error(out.buf(), &msg);
                pos = data.len();
                break Stop::Close;
            }
        }
    };
    let unsent = out.len();
    update_stats(|s| {
        s.commands += ran as u64;
        s.peak_unsent_reply = s.peak_unsent_reply.max(unsent);
        s.peak_turn_work = s.peak_turn_work.max(work);
    });
    (pos, stop, ran)
}

/// What a connection's wait ended with.
enum Wake {
    Readable,
    Writable,
    Timer,
    Stop,
}

/// Serve one connection until it closes, or, once `stop` is cancelled, until it has nothing
/// left to do (see the module docs).
async fn connection(
    stream: TcpStream,
    db: &Db,
    config: &Config,
    stop: &CancellationToken,
) -> io::Result<()> {
    // Replies go out as soon as a turn is done; Nagle would only delay them.
    stream.set_nodelay(true)?;
    update_stats(|s| s.connections += 1);
    let mut conn = Conn::default();
    let mut last_progress = corio::time::now();
    // One timer for the connection's life: moved only when it fires early or must fire
    // sooner, not on every byte.
    let mut timer_at = last_progress + config.idle_timeout;
    let mut timer = sleep_until(timer_at);
    // Whether commands already ran since the last await (at most one run per turn).
    let mut ran = false;
    let mut stopping = pin!(stop.cancelled());
    let mut draining = false;
    loop {
        let full = conn.out.len() >= config.max_pending_reply;
        if !ran && conn.runnable && !full && conn.run_buffered(db, config) {
            last_progress = corio::time::now();
        }
        ran = false;
        if conn.flush(&stream)? {
            last_progress = corio::time::now();
        }
        conn.account();
        if conn.out.is_empty() && (conn.closing || (conn.eof && !conn.runnable)) {
            return if conn.closing {
                close_gently(&stream)
            } else {
                Ok(())
            };
        }
        if draining && !conn.closing && !conn.runnable && conn.input.is_empty() {
            // Draining and between commands: run what the kernel already holds, if
            // anything; close if nothing.
            let arrived = INPUT
                .with(|input| conn.on_readable(&stream, &mut input.borrow_mut(), db, config))?;
            if arrived {
                last_progress = corio::time::now();
                ran = true;
                continue;
            }
            if conn.out.is_empty() {
                return close_gently(&stream);
            }
            // Replies still to send; then close.
            conn.closing = true;
        }
        let full = conn.out.len() >= config.max_pending_reply;
        if conn.runnable && !full {
            // More commands are waiting, but other tasks get their turn first.
            corio::task::yield_now().await;
            continue;
        }
        let want_read = !full && !conn.runnable && !conn.closing && !conn.eof;
        let want_write = !conn.out.is_empty();
        let mut deadline = last_progress + config.idle_timeout;
        if let Some(started) = conn.request_started {
            deadline = deadline.min(started + config.request_timeout);
        }
        if deadline < timer_at {
            timer_at = deadline;
            timer.reset(deadline);
        }
        let stopping = (!draining).then_some(stopping.as_mut());
        match wait(&stream, want_read, want_write, &mut timer, stopping).await? {
            Wake::Stop => draining = true,
            Wake::Timer if corio::time::now() >= deadline => {
                update_stats(|s| s.timed_out += 1);
                return Ok(());
            }
            Wake::Timer => {
                timer_at = deadline;
                timer.reset(deadline);
            }
            Wake::Writable => {}
            Wake::Readable => {
                let arrived = INPUT
                    .with(|input| conn.on_readable(&stream, &mut input.borrow_mut(), db, config))?;
                if arrived {
                    last_progress = corio::time::now();
                }
                ran = true;
            }
        }
    }
}

/// Wait until the stream is writable (if `write`), readable (if `read`), the timer fires,
/// or `stopping` (if given) completes.
async fn wait(
    stream: &TcpStream,
    read: bool,
    write: bool,
    timer: &mut Sleep,
    mut stopping: Option<Pin<&mut impl Future<Output = ()>>>,
) -> io::Result<Wake> {
    poll_fn(|cx| {
        if write {
            if let Poll::Ready(r) = stream.poll_write_ready(cx) {
                return Poll::Ready(r.map(|()| Wake::Writable));
            }
        }
        if read {
            if let Poll::Ready(r) = stream.poll_read_ready(cx) {
                return Poll::Ready(r.map(|()| Wake::Readable));
            }
        }
        if let Some(stopping) = stopping.as_mut() {
            if stopping.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Ok(Wake::Stop));
            }
        }
        Pin::new(&mut *timer).poll(cx).map(|()| Ok(Wake::Timer))
    })
    .await
}

/// Send FIN after the last reply, so the client reads it and then EOF; dropping the stream
/// then closes it.
fn close_gently(stream: &TcpStream) -> io::Result<()> {
    match stream.shutdown(Shutdown::Write) {
        Err(e) if e.kind() != ErrorKind::NotConnected => Err(e),
        _ => Ok(()),
    }
}
