//! The HTTP/1.1 connection loop: keep-alive, pipelining, idle timeout, errors then close.
//!
//! A connection holds no buffer while it waits: it awaits `readable()`, then `try_read`s into
//! one input buffer shared by the whole loop, answers every complete request found there into
//! one shared output buffer, and sends all those answers with one `send`. Only two things give
//! a connection memory of its own: a request head split across reads (its start is kept until
//! the rest arrives) and answers the client is too slow to take (kept until they drain).
//!
//! Behaviour at the edges:
//! * `GET /` (any query string) is `200 Hello, World!`; every other request is `404`.
//! * A request body announced by `Content-Length` is skipped without being buffered; one
//!   sent with `Transfer-Encoding` cannot be framed without decoding it, so it gets `501` and
//!   the connection closes.
//! * A malformed head gets `400` (`505` for an unknown HTTP version, `431` when it is larger
//!   than [`Limits::max_head`] or has too many headers), then the connection closes: the
//!   position of the next request is unknowable after a bad one.
//! * A connection on which nothing arrives for [`Config::idle_timeout`] is closed; so is one
//!   that takes longer than that to accept our pending answers (a client that never reads).
//! * Closing after an error answer is a "lingering close": shut the write side down, then
//!   read and discard for a moment, so the client's unread requests do not make the kernel
//!   answer with a reset that would destroy the error response before the client reads it.

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::io::{self, ErrorKind};
use std::net::Shutdown;
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use corio::net::{TcpListener, TcpStream};
use corio::time::{sleep_until, timeout, Sleep};

use super::date;
use super::parse::{parse_request_with, Body, Limits, Request, Version};

/// Server settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Close a connection on which nothing arrives for this long (also the longest a client
    /// may take to accept pending answers). Default 10 s.
    pub idle_timeout: Duration,
    /// Head size limits; larger heads get 431.
    pub limits: Limits,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            idle_timeout: Duration::from_secs(10),
            limits: Limits::DEFAULT,
        }
    }
}

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
}

/// Accept connections on `listener` forever, serving each in a task of its own.
///
/// Returns only when `accept` fails with an error it does not retry by itself.
pub async fn serve(listener: TcpListener, config: Config) -> io::Result<()> {
    let config = Rc::new(config);
    loop {
        let (stream, _peer) = listener.accept().await?;
        let config = config.clone();
        corio::spawn(async move {
            if let Err(e) = connection(stream, &config).await {
                // Resets and broken pipes are the client's business, not the server's.
                if !matches!(
                    e.kind(),
                    ErrorKind::ConnectionReset | ErrorKind::BrokenPipe | ErrorKind::TimedOut
                ) {
                    eprintln!("http_hello: connection error: {e}");
                }
            }
        });
    }
}

/// What a connection keeps between reads; empty (no heap) while idle.
#[derive(Default)]
struct Conn {
    /// The start of a request head that has not fully arrived yet.
    partial: Vec<u8>,
    /// Body bytes still to be skipped before the next request begins.
    skip: u64,
}

/// What one wake-up of a connection led to.
enum Step {
    /// Nothing to read after all (a spurious wake-up).
    Nothing,
    /// Bytes were read and all answers sent: wait for more.
    Progress,
    /// The client closed its side.
    Eof,
    /// These answers could not be sent yet; send them, then carry on (or close if `close`).
    Backlog { rest: Vec<u8>, close: bool },
    /// All answers were sent and the last one said the connection closes.
    Close,
}

/// Serve one connection until it closes.
async fn connection(mut stream: TcpStream, config: &Config) -> io::Result<()> {
    // Answers go out as soon as they are written; with pipelining they are already batched.
    stream.set_nodelay(true)?;
    let mut conn = Conn::default();
    let idle = config.idle_timeout;
    let mut last_active = Instant::now();
    // When the first bytes of a still-incomplete request head arrived. The head must be
    // complete within one idle timeout of that (nginx's `client_header_timeout`), so a
    // slow-loris client dripping a byte now and then is cut although each byte is "activity".
    let mut head_started: Option<Instant> = None;
    // One timer per idle period, not per request: when it fires early (there was activity
    // since it was set) it is moved to the new deadline instead of closing.
    let mut idle_timer = sleep_until(last_active + idle);
    loop {
        if !readable_or_idle(&stream, &mut idle_timer).await? {
            let deadline = head_started.unwrap_or(last_active) + idle;
            if Instant::now() >= deadline {
                return Ok(());
            }
            idle_timer.reset(deadline);
            continue;
        }
        let step =
            SCRATCH.with(|s| on_readable(&stream, &mut s.borrow_mut(), &mut conn, config))?;
        match step {
            Step::Nothing => {}
            Step::Progress => {
                last_active = Instant::now();
                head_started = match head_started {
                    _ if conn.partial.is_empty() => None,
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
                last_active = Instant::now();
            }
            Step::Close => return linger_close(&stream).await,
        }
    }
}

/// Wait until the stream is readable (`true`) or the idle timer fires (`false`).
async fn readable_or_idle(stream: &TcpStream, idle_timer: &mut Sleep) -> io::Result<bool> {
    poll_fn(|cx| {
        if let Poll::Ready(r) = stream.poll_read_ready(cx) {
            return Poll::Ready(r.map(|()| true));
        }
        Pin::new(&mut *idle_timer).poll(cx).map(|()| Ok(false))
    })
    .await
}

/// Read once, answer every complete request, send the answers. Synchronous: runs while the
/// loop-wide buffers are borrowed.
fn on_readable(
    stream: &TcpStream,
    scratch: &mut Scratch,
    conn: &mut Conn,
    config: &Config,
) -> io::Result<Step> {
    let n = match stream.try_read(&mut scratch.input) {
        Ok(0) => return Ok(Step::Eof),
        Ok(n) => n,
        Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(Step::Nothing),
        Err(e) => return Err(e),
    };
    let Scratch { input, output } = scratch;
    output.clear();
    // Parse straight from the shared buffer unless a head was left incomplete last time.
    let from_partial = !conn.partial.is_empty();
    if from_partial {
        conn.partial.extend_from_slice(&input[..n]);
    }
    let data: &[u8] = if from_partial {
        &conn.partial
    } else {
        &input[..n]
    };
    // One clock read per batch of pipelined requests, not per answer.
    let date = date::now();
    let batch = Batch {
        out: output,
        date: &date,
    };
    let (consumed, close) = answer_all(data, &mut conn.skip, batch, &config.limits);
    if close {
        conn.partial = Vec::new();
    } else if from_partial {
        conn.partial.drain(..consumed);
        if conn.partial.is_empty() {
            // Back to holding nothing while idle.
            conn.partial = Vec::new();
        }
    } else if consumed < n {
        conn.partial.extend_from_slice(&input[consumed..n]);
    }
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

/// Answer every complete request at the start of `data` into `out`. Returns how many bytes
/// were used and whether the connection must close after the answers.
fn answer_all(data: &[u8], skip: &mut u64, mut out: Batch<'_>, limits: &Limits) -> (usize, bool) {
    let mut pos = 0;
    loop {
        // Skip what is left of the previous request's body.
        let take = usize::try_from(*skip).map_or(data.len() - pos, |s| s.min(data.len() - pos));
        pos += take;
        *skip -= take as u64;
        if *skip > 0 || pos == data.len() {
            return (pos, false);
        }
        match parse_request_with(&data[pos..], limits) {
            Ok(None) => return (pos, false),
            Ok(Some((request, used))) => {
                pos += used;
                match request.body {
                    Body::None => {}
                    Body::Length(n) => *skip = n,
                    Body::TransferEncoded => {
                        respond_error(&mut out, 501);
                        return (pos, true);
                    }
                }
                let close = respond(&mut out, &request);
                if close {
                    return (pos, true);
                }
            }
            Err(e) => {
                respond_error(&mut out, e.status());
                return (pos, true);
            }
        }
    }
}

/// Write the answer to one request; returns whether the connection closes after it.
fn respond(out: &mut Batch<'_>, request: &Request<'_>) -> bool {
    let (status, body): (u16, &[u8]) = if request.method == b"GET" && request.path() == b"/" {
        (200, b"Hello, World!")
    } else {
        (404, b"Not Found")
    };
    let connection = match (request.keep_alive, request.version) {
        (false, _) => ConnectionHeader::Close,
        (true, Version::Http10) => ConnectionHeader::KeepAlive,
        (true, Version::Http11) => ConnectionHeader::Implied,
    };
    write_response(out, status, body, connection);
    !request.keep_alive
}

fn respond_error(out: &mut Batch<'_>, status: u16) {
    let body: &[u8] = match status {
        431 => b"Request Header Fields Too Large",
        501 => b"Not Implemented",
        505 => b"HTTP Version Not Supported",
        _ => b"Bad Request",
    };
    write_response(out, status, body, ConnectionHeader::Close);
}

/// Which `Connection` header an answer carries.
#[derive(Clone, Copy)]
enum ConnectionHeader {
    /// None: HTTP/1.1 keeps the connection by default.
    Implied,
    /// `keep-alive`: an HTTP/1.0 client asked for it.
    KeepAlive,
    /// `close`: the server closes after this answer.
    Close,
}

/// Where the answers of one read go, and the date they carry.
struct Batch<'a> {
    out: &'a mut Vec<u8>,
    date: &'a [u8; date::LEN],
}

fn write_response(batch: &mut Batch<'_>, status: u16, body: &[u8], connection: ConnectionHeader) {
    let out = &mut *batch.out;
    let status_line: &[u8] = match status {
        200 => b"HTTP/1.1 200 OK\r\n",
        404 => b"HTTP/1.1 404 Not Found\r\n",
        431 => b"HTTP/1.1 431 Request Header Fields Too Large\r\n",
        501 => b"HTTP/1.1 501 Not Implemented\r\n",
        505 => b"HTTP/1.1 505 HTTP Version Not Supported\r\n",
        _ => b"HTTP/1.1 400 Bad Request\r\n",
    };
    out.extend_from_slice(status_line);
    out.extend_from_slice(b"Server: corio\r\nContent-Type: text/plain\r\nContent-Length: ");
    push_decimal(out, body.len());
    out.extend_from_slice(b"\r\nDate: ");
    out.extend_from_slice(batch.date);
    out.extend_from_slice(match connection {
        ConnectionHeader::Implied => b"\r\n\r\n".as_slice(),
        ConnectionHeader::KeepAlive => b"\r\nConnection: keep-alive\r\n\r\n",
        ConnectionHeader::Close => b"\r\nConnection: close\r\n\r\n",
    });
    out.extend_from_slice(body);
}

fn push_decimal(out: &mut Vec<u8>, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// Close after a final answer: send FIN, then discard what the client still sends for a
/// moment (see the module docs), then drop the socket.
async fn linger_close(stream: &TcpStream) -> io::Result<()> {
    match stream.shutdown(Shutdown::Write) {
        // The client is already gone: nothing to linger for.
        Err(e) if e.kind() == ErrorKind::NotConnected => return Ok(()),
        result => result?,
    }
    let deadline = Instant::now() + LINGER;
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
