//! The HTTP/1.1 connection loop: keep-alive, pipelining, deadlines, errors then close.
//!
//! A connection holds no buffer while it waits: it awaits `readable()`, then `try_read`s into
//! one input buffer shared by the whole loop, answers the complete requests found there into
//! one shared output buffer, and sends those answers with one `send`. Only three things give
//! a connection memory of its own: a request head split across reads (its start is kept until
//! the rest arrives), pipelined requests left for its next turn (below), and answers the
//! client is too slow to take (kept until they drain).
//!
//! Behaviour at the edges:
//! * `GET /` (any query string) is `200 Hello, World!`; every other request is `404`. The
//!   target may be in origin-form (`/path`) or absolute-form (`http://host[:port]/path`,
//!   `https://...`; RFC 9112 §3.2.2: a server must accept it), routed by its path. A target
//!   in no form of RFC 9112 §3.2 for its method gets `400`; `CONNECT host:port` gets `501`
//!   (this is no proxy).
//! * A request body announced by `Content-Length` is skipped without being buffered; one
//!   sent with `Transfer-Encoding` cannot be framed without decoding it, so it gets `501` and
//!   the connection closes.
//! * A malformed head gets `400` (`505` for an unknown HTTP version, `431` when it is larger
//!   than [`Limits::max_head`] or has too many headers), then the connection closes: the
//!   position of the next request is unknowable after a bad one.
//! * Closing after an error answer is a "lingering close": shut the write side down, then
//!   read and discard for a moment, so the client's unread requests do not make the kernel
//!   answer with a reset that would destroy the error response before the client reads it.
//!
//! # What one client can make the server hold
//! * **Time.** A connection on which nothing arrives for [`Config::idle_timeout`] is closed;
//!   so is one that takes longer than that to accept pending answers (a client that never
//!   reads). A request head must be complete within one idle timeout of its first byte
//!   (nginx's `client_header_timeout`), and a body within one idle timeout of its head plus
//!   one second per [`Config::min_body_rate`] bytes received (Kestrel's minimum data rate):
//!   a slow loris dripping a byte now and then is cut although each byte is "activity".
//!   Either deadline closes the connection without an answer (the head's request has none
//!   yet; the body's request was answered at its head).
//! * **Memory.** Input held: at most `max(READ_BUF, max_head)` (64 KiB); answers held: at
//!   most one batch ([`MAX_BATCH_BYTES`] plus one answer), because no further request is
//!   answered until they are sent. Bodies are counted, never stored.
//! * **Loop share.** One turn of a connection answers at most [`MAX_BATCH_REQUESTS`]
//!   requests or [`MAX_BATCH_BYTES`] of answers, then sends them and yields before answering
//!   the rest of what it read: a client pipelining thousands of requests per read gets
//!   them answered in turns, between which every other connection runs.
//!
//! # Drain
//! [`serve_until`] stops accepting once its `stop` token is cancelled (the listener closes,
//! so new connections are refused) and returns when every connection is done. A connection
//! that is idle between requests, or becomes so, closes (a lingering close: FIN, then what
//! the client still sends is discarded for a moment). One in the middle of something
//! finishes it first: every request it has received is answered (pipelined ones too, and
//! those already in the kernel's buffer when it looks), answers the client is slow to take
//! are sent whole, and an unfinished head or body may complete within its usual deadline.
//! Dropping the `serve_until` future (the drain timeout) cuts the connections left.

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
use corio::time::{sleep_until, timeout, Sleep};

use super::date;
use super::parse::{parse_request_with, Body, Limits};

mod respond;
use respond::{respond, respond_error, Batch};

/// Server settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Close a connection on which nothing arrives for this long (also the longest a client
    /// may take to accept pending answers, and the grace for a head and a body; see the
    /// module docs). Default 10 s.
    pub idle_timeout: Duration,
    /// The slowest average a body may arrive at, in bytes per second, beyond its grace of one
    /// `idle_timeout`; 0 gives no allowance (a body must arrive within the grace). Default
    /// 1024.
    pub min_body_rate: u64,
    /// Head size limits; larger heads get 431.
    pub limits: Limits,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            idle_timeout: Duration::from_secs(10),
            min_body_rate: 1024,
            limits: Limits::DEFAULT,
        }
    }
}

/// Most requests answered in one turn of a connection.
pub const MAX_BATCH_REQUESTS: usize = 128;
/// A turn stops answering once its answers pass this many bytes.
pub const MAX_BATCH_BYTES: usize = 32 * 1024;

/// Bytes of the loop-wide input buffer: one read takes at most this much.
const READ_BUF: usize = 64 * 1024;
/// How long a lingering close keeps reading, and how much it reads at most.
const LINGER: Duration = Duration::from_millis(500);
const LINGER_BYTES: usize = 256 * 1024;

/// The two buffers of the whole loop. One thread, and never borrowed across an `.await`.
struct Scratch {
    input: Vec<u8>,
    output: Vec<u8>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch {
        input: vec![0; READ_BUF],
        output: Vec::with_capacity(READ_BUF),
    });
    /// Requests answered on this thread, for [`answered`].
    static ANSWERED: Cell<u64> = const { Cell::new(0) };
}

fn count_answer() {
    ANSWERED.with(|a| a.set(a.get() + 1));
}

/// How many requests (errors included) this thread's connections have answered so far:
/// for tests, the shards' summary and the curious; one thread-local add per answer.
pub fn answered() -> u64 {
    ANSWERED.with(Cell::get)
}

/// Accept connections on `listener` forever, serving each in a task of its own.
///
/// Returns only when `accept` fails with an error it does not retry by itself.
#[allow(dead_code)] // The tests' entry point; the binary drains with `serve_until`.
pub async fn serve(listener: TcpListener, config: Config) -> io::Result<()> {
    serve_until(listener, config, CancellationToken::new()).await
}

/// Like [`serve`] until `stop` is cancelled; then drain (see the module docs) and return
/// once every connection is done. Dropping the future cuts the connections still open.
pub async fn serve_until(
    listener: TcpListener,
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
        let (config, stop, cut) = (config.clone(), stop.clone(), cut.clone());
        connections.spawn(async move {
            let serving = connection(stream, &config, &stop);
            if let Some(Err(e)) = cut.run_until_cancelled(serving).await {
                // Resets and broken pipes are the client's business, not the server's.
                if !matches!(
                    e.kind(),
                    ErrorKind::ConnectionReset | ErrorKind::BrokenPipe | ErrorKind::TimedOut
                ) {
                    eprintln!("http_hello: connection error: {e}");
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

/// What a connection keeps between turns; empty (no heap) while idle.
#[derive(Default)]
struct Conn {
    /// Input not answered yet, from `start` on: the start of a head that has not fully
    /// arrived, or (when `more`) requests left for the next turn by the batch bounds.
    held: Vec<u8>,
    start: usize,
    /// `held` has requests to answer before reading again.
    more: bool,
    /// The body being skipped, if any.
    body: Skipping,
}

/// The body of the last request, skipped as it arrives (counted, never stored).
#[derive(Default)]
struct Skipping {
    /// Bytes still to be skipped before the next request begins.
    left: u64,
    /// While `left > 0`: when its head was answered, and how much of it has arrived.
    since: Option<(Instant, u64)>,
}

impl Conn {
    fn held(&self) -> &[u8] {
        &self.held[self.start..]
    }

    /// Keep `rest` as the unanswered input (from the shared buffer).
    fn hold(&mut self, rest: &[u8]) {
        self.held.clear();
        self.start = 0;
        self.held.extend_from_slice(rest);
    }

    /// `n` held bytes were answered.
    fn release(&mut self, n: usize) {
        self.start += n;
        if self.start >= self.held.len() {
            // Back to holding nothing while idle.
            self.held = Vec::new();
            self.start = 0;
        }
    }
}

/// What one turn of a connection led to.
enum Step {
    /// Nothing to read after all (a spurious wake-up).
    Nothing,
    /// Bytes were read (or held ones answered) and all answers sent.
    Progress,
    /// The client closed its side.
    Eof,
    /// These answers could not be sent yet; send them, then carry on (or close if `close`).
    Backlog { rest: Vec<u8>, close: bool },
    /// All answers were sent and the last one said the connection closes.
    Close,
}

/// Serve one connection until it closes, or, once `stop` is cancelled, until it has nothing
/// left to do (see the module docs).
async fn connection(
    mut stream: TcpStream,
    config: &Config,
    stop: &CancellationToken,
) -> io::Result<()> {
    // Answers go out as soon as they are written; with pipelining they are already batched.
    stream.set_nodelay(true)?;
    let mut conn = Conn::default();
    let idle = config.idle_timeout;
    let mut last_active = corio::time::now();
    // When the first bytes of a still-incomplete request head arrived (see the module docs).
    let mut head_started: Option<Instant> = None;
    // One timer per idle period, not per request: when it fires early (there was activity
    // since it was set) it is moved to the new deadline instead of closing.
    let mut idle_timer = sleep_until(last_active + idle);
    // What this task may still answer before it next lets the loop run others: the batch
    // bounds count per poll of the task, not per turn (a turn that finishes held requests
    // may be followed at once by one that reads more).
    let mut quota = Quota::FULL;
    let mut stopping = pin!(stop.cancelled());
    let mut draining = false;
    loop {
        if quota.is_spent() {
            corio::task::yield_now().await;
            quota = Quota::FULL;
        }
        let between_requests = !conn.more && conn.held().is_empty() && conn.body.left == 0;
        let step = if draining && between_requests {
            // Draining and between requests: answer what the kernel already holds, if
            // anything; close if nothing.
            let step = SCRATCH.with(|s| {
                turn(
                    &stream,
                    &mut s.borrow_mut(),
                    &mut conn,
                    config,
                    true,
                    &mut quota,
                )
            })?;
            if matches!(step, Step::Nothing) {
                return linger_close(&stream).await;
            }
            step
        } else if conn.more {
            // Answer what is held without reading.
            SCRATCH.with(|s| {
                turn(
                    &stream,
                    &mut s.borrow_mut(),
                    &mut conn,
                    config,
                    false,
                    &mut quota,
                )
            })?
        } else {
            let stopping = (!draining).then_some(stopping.as_mut());
            let (wake, waited) = readable_or_idle(&stream, &mut idle_timer, stopping).await?;
            if waited {
                quota = Quota::FULL;
            }
            if wake == Wake::Stop {
                draining = true;
                continue;
            }
            if wake == Wake::Timer {
                let deadline = deadline(&conn, head_started, last_active, config);
                if corio::time::now() >= deadline {
                    return Ok(());
                }
                idle_timer.reset(deadline);
                continue;
            }
            SCRATCH.with(|s| {
                turn(
                    &stream,
                    &mut s.borrow_mut(),
                    &mut conn,
                    config,
                    true,
                    &mut quota,
                )
            })?
        };
        match step {
            Step::Nothing => {}
            Step::Progress => {
                last_active = corio::time::now();
                let incomplete_head = !conn.more && !conn.held().is_empty();
                head_started = match head_started {
                    _ if !incomplete_head => None,
                    None => Some(last_active),
                    started => started,
                };
            }
            Step::Eof => return Ok(()),
            Step::Backlog { rest, close } => {
                match timeout(idle, stream.write_all(&rest)).await {
                    Ok(result) => result?,
                    Err(_) => return Err(ErrorKind::TimedOut.into()),
                }
                if close {
                    return linger_close(&stream).await;
                }
                last_active = corio::time::now();
            }
            Step::Close => return linger_close(&stream).await,
        }
    }
}

/// When the connection is cut if nothing more happens: the idle deadline, or the earlier
/// deadline of an unfinished head or body (see the module docs).
fn deadline(
    conn: &Conn,
    head_started: Option<Instant>,
    last_active: Instant,
    config: &Config,
) -> Instant {
    let idle = config.idle_timeout;
    let mut deadline = head_started.unwrap_or(last_active) + idle;
    if let Some((started, received)) = conn.body.since {
        let allowance = match config.min_body_rate {
            0 => Duration::ZERO,
            rate => {
                let nanos = u128::from(received) * 1_000_000_000 / u128::from(rate);
                Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
            }
        };
        deadline = deadline.min(started + idle + allowance);
    }
    deadline
}

/// What a connection's wait ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wake {
    Readable,
    Timer,
    Stop,
}

/// Wait until the stream is readable, the idle timer fires, or `stopping` (if given)
/// completes; also say whether the task had to wait (so other tasks ran meanwhile).
async fn readable_or_idle(
    stream: &TcpStream,
    idle_timer: &mut Sleep,
    mut stopping: Option<Pin<&mut impl Future<Output = ()>>>,
) -> io::Result<(Wake, bool)> {
    let mut waited = false;
    poll_fn(|cx| {
        if let Poll::Ready(r) = stream.poll_read_ready(cx) {
            return Poll::Ready(r.map(|()| (Wake::Readable, waited)));
        }
        if Pin::new(&mut *idle_timer).poll(cx).is_ready() {
            return Poll::Ready(Ok((Wake::Timer, waited)));
        }
        if let Some(stopping) = stopping.as_mut() {
            if stopping.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Ok((Wake::Stop, waited)));
            }
        }
        waited = true;
        Poll::Pending
    })
    .await
}

/// What one poll of a connection's task may still answer (see [`MAX_BATCH_REQUESTS`]).
#[derive(Debug, Clone, Copy)]
struct Quota {
    requests: usize,
    bytes: usize,
}

impl Quota {
    const FULL: Quota = Quota {
        requests: MAX_BATCH_REQUESTS,
        bytes: MAX_BATCH_BYTES,
    };

    fn is_spent(&self) -> bool {
        self.requests == 0 || self.bytes == 0
    }
}

/// One turn: read once (if `read`), answer as many of the complete requests held and read
/// as `quota` allows, send the answers. Synchronous: runs while the loop-wide buffers are
/// borrowed.
fn turn(
    stream: &TcpStream,
    scratch: &mut Scratch,
    conn: &mut Conn,
    config: &Config,
    read: bool,
    quota: &mut Quota,
) -> io::Result<Step> {
    let n = if read {
        match stream.try_read(&mut scratch.input) {
            Ok(0) => return Ok(Step::Eof),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(Step::Nothing),
            Err(e) => return Err(e),
        }
    } else {
        0
    };
    let Scratch { input, output } = scratch;
    output.clear();
    // Parse straight from the shared buffer unless input is held from before. (Reading
    // happens only when nothing is left for a next turn, so what is held then is an
    // incomplete head, under `max_head`: cheap to move to the front and append to.)
    let from_held = !conn.held().is_empty();
    if from_held && n > 0 {
        conn.held.drain(..conn.start);
        conn.start = 0;
        conn.held.extend_from_slice(&input[..n]);
    }
    let data: &[u8] = if from_held {
        &conn.held[conn.start..]
    } else {
        &input[..n]
    };
    // One clock read and one Date per batch of pipelined requests, not per answer.
    let date = date::now();
    let batch = Batch {
        out: output,
        date: &date,
        answered: 0,
    };
    let now = corio::time::now();
    let (consumed, end) = answer_batch(data, &mut conn.body, batch, &config.limits, now, quota);
    let close = end == End::Close;
    if close {
        conn.held = Vec::new();
        conn.start = 0;
    } else if from_held {
        conn.release(consumed);
    } else if consumed < n {
        conn.hold(&input[consumed..n]);
    }
    conn.more = end == End::More;
    let mut sent = 0;
    while sent < output.len() {
        match stream.try_write(&output[sent..]) {
            Ok(k) => sent += k,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                let rest = output[sent..].to_vec();
                return Ok(Step::Backlog { rest, close });
            }
            Err(e) => return Err(e),
        }
    }
    Ok(if close { Step::Close } else { Step::Progress })
}

/// How a batch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// Everything complete was answered; wait for more input.
    Drained,
    /// A batch bound was reached with complete requests possibly left: another turn.
    More,
    /// The last answer closes the connection.
    Close,
}

/// Answer the complete requests at the start of `data` into `out`, as many as `quota`
/// allows, and take them off the quota. Returns how many bytes were used and how the batch
/// ended.
fn answer_batch(
    data: &[u8],
    body: &mut Skipping,
    mut out: Batch<'_>,
    limits: &Limits,
    now: Instant,
    quota: &mut Quota,
) -> (usize, End) {
    let (pos, end) = answer_within(data, body, &mut out, limits, now, *quota);
    quota.requests = quota.requests.saturating_sub(out.answered);
    quota.bytes = quota.bytes.saturating_sub(out.out.len());
    (pos, end)
}

/// [`answer_batch`] without the bookkeeping: stops once `out` holds `quota`'s worth.
fn answer_within(
    data: &[u8],
    body: &mut Skipping,
    out: &mut Batch<'_>,
    limits: &Limits,
    now: Instant,
    quota: Quota,
) -> (usize, End) {
    let mut pos = 0;
    loop {
        // Skip what is left of the previous request's body.
        let avail = data.len() - pos;
        let take = usize::try_from(body.left).map_or(avail, |s| s.min(avail));
        pos += take;
        body.left -= take as u64;
        if let Some((_, received)) = &mut body.since {
            *received += take as u64;
        }
        if body.left > 0 {
            return (pos, End::Drained);
        }
        body.since = None;
        if pos == data.len() {
            return (pos, End::Drained);
        }
        if out.answered >= quota.requests || out.out.len() >= quota.bytes {
            return (pos, End::More);
        }
        match parse_request_with(&data[pos..], limits) {
            Ok(None) => return (pos, End::Drained),
            Ok(Some((request, used))) => {
                pos += used;
                match request.body {
                    Body::None => {}
                    Body::Length(n) => {
                        body.left = n;
                        body.since = Some((now, 0));
                    }
                    Body::TransferEncoded => {
                        respond_error(out, 501);
                        return (pos, End::Close);
                    }
                }
                if respond(out, &request) {
                    return (pos, End::Close);
                }
            }
            Err(e) => {
                respond_error(out, e.status());
                return (pos, End::Close);
            }
        }
    }
}

/// Close after a final answer: send FIN, then discard what the client still sends for a
/// moment (see the module docs), then drop the socket.
async fn linger_close(stream: &TcpStream) -> io::Result<()> {
    match stream.shutdown(Shutdown::Write) {
        // The client is already gone: nothing to linger for.
        Err(e) if e.kind() == ErrorKind::NotConnected => return Ok(()),
        result => result?,
    }
    let deadline = corio::time::now() + LINGER;
    let mut discarded = 0;
    while discarded < LINGER_BYTES {
        match corio::time::timeout_at(deadline, stream.readable()).await {
            Err(_) => break,
            Ok(r) => r?,
        }
        let n = SCRATCH.with(|s| stream.try_read(&mut s.borrow_mut().input));
        match n {
            Ok(0) => break,
            Ok(n) => discarded += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
