//! The connection loop: read, run every complete command, send all replies in one write.
//!
//! Like `http_hello`, a connection holds no buffer while idle: it awaits `readable()`,
//! `try_read`s into one input buffer shared by the whole loop, runs every complete command
//! found there (pipelined clients such as `redis-benchmark -P 16` send many per read), and
//! sends all their replies from one shared output buffer with one `send`. A command split
//! across reads keeps its start in a buffer of the connection's own until the rest arrives;
//! replies the client does not take fast enough wait in another.
//!
//! Errors:
//! * a well-framed command that fails (unknown, wrong arity, `INCR` of a non-number) gets an
//!   `-ERR` reply and the connection carries on (that is `cmd.rs`'s business);
//! * bytes that are not RESP (see `resp.rs`), or a command larger than
//!   [`Config::max_command`], get `-ERR Protocol error: ...` after the replies to the
//!   commands before them, and then *that* connection closes, as in Redis: the start of the
//!   next command cannot be found. Other connections never notice.

use std::cell::RefCell;
use std::io::{self, ErrorKind};
use std::net::Shutdown;
use std::ops::Range;
use std::rc::Rc;
use std::time::Instant;

use corio::net::{TcpListener, TcpStream};

use super::cmd::{execute, After, Args};
use super::db::Db;
use super::resp::{parse_command, write_error, Limits};

/// Server settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Protocol limits (bulk and array sizes, inline length).
    pub limits: Limits,
    /// Largest command (all its bytes) a connection may buffer; larger is a protocol error.
    pub max_command: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            limits: Limits::DEFAULT,
            max_command: 32 * 1024 * 1024,
        }
    }
}

/// Bytes of the loop-wide input buffer.
const READ_BUF: usize = 64 * 1024;

/// The buffers of the whole loop; never borrowed across an `.await`.
struct Scratch {
    input: Vec<u8>,
    output: Vec<u8>,
    args: Vec<Range<usize>>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch {
        input: vec![0; READ_BUF],
        output: Vec::with_capacity(READ_BUF),
        args: Vec::with_capacity(16),
    });
}

/// Accept connections forever with a fresh database, serving each in a task of its own.
pub async fn serve(listener: TcpListener, config: Config) -> io::Result<()> {
    serve_with(listener, Db::new(), config).await
}

/// Accept connections forever, all sharing `db`.
pub async fn serve_with(listener: TcpListener, db: Rc<Db>, config: Config) -> io::Result<()> {
    let config = Rc::new(config);
    loop {
        let (stream, _peer) = listener.accept().await?;
        let (db, config) = (db.clone(), config.clone());
        corio::spawn(async move {
            if let Err(e) = connection(stream, &db, &config).await {
                if !matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe) {
                    eprintln!("mini_redis: connection error: {e}");
                }
            }
        });
    }
}

/// What one wake-up of a connection led to.
enum Step {
    /// Keep serving.
    Continue,
    /// The client closed its side.
    Eof,
    /// These replies could not be sent yet; send them, then carry on (or close).
    Backlog { rest: Vec<u8>, close: bool },
    /// All replies were sent; close (after `QUIT` or a protocol error).
    Close,
}

async fn connection(mut stream: TcpStream, db: &Db, config: &Config) -> io::Result<()> {
    // Replies go out as soon as a batch is done; Nagle would only delay them.
    stream.set_nodelay(true)?;
    let mut partial = Vec::new();
    loop {
        stream.readable().await?;
        let step = SCRATCH
            .with(|s| on_readable(&stream, &mut s.borrow_mut(), &mut partial, db, config))?;
        match step {
            Step::Continue => {}
            Step::Eof => return Ok(()),
            Step::Backlog { rest, close } => {
                stream.write_all(&rest).await?;
                if close {
                    return close_gently(&stream);
                }
            }
            Step::Close => return close_gently(&stream),
        }
    }
}

/// Read once, run every complete command, send the replies. Runs while the loop-wide
/// buffers are borrowed, so it never awaits.
fn on_readable(
    stream: &TcpStream,
    scratch: &mut Scratch,
    partial: &mut Vec<u8>,
    db: &Db,
    config: &Config,
) -> io::Result<Step> {
    let n = match stream.try_read(&mut scratch.input) {
        Ok(0) => return Ok(Step::Eof),
        Ok(n) => n,
        Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(Step::Continue),
        Err(e) => return Err(e),
    };
    let Scratch {
        input,
        output,
        args,
    } = scratch;
    output.clear();
    let from_partial = !partial.is_empty();
    if from_partial {
        partial.extend_from_slice(&input[..n]);
    }
    let data: &[u8] = if from_partial { partial } else { &input[..n] };
    let now = Instant::now();
    let mut pos = 0;
    let mut close = false;
    while pos < data.len() {
        match parse_command(&data[pos..], args, &config.limits) {
            Ok(Some(used)) => {
                let after = execute(db, Args::new(&data[pos..], args), output, now);
                pos += used;
                if after == After::Close {
                    close = true;
                    break;
                }
            }
            Ok(None) => {
                if data.len() - pos > config.max_command {
                    write_error(output, b"ERR Protocol error: command too large");
                    close = true;
                }
                break;
            }
            Err(e) => {
                let mut msg = b"ERR Protocol error: ".to_vec();
                msg.extend_from_slice(e.message().as_bytes());
                write_error(output, &msg);
                close = true;
                break;
            }
        }
    }
    // Keep the incomplete tail (if any) for the next read; hold nothing when there is none.
    if close {
        *partial = Vec::new();
    } else if from_partial {
        partial.drain(..pos);
        if partial.is_empty() {
            *partial = Vec::new();
        }
    } else if pos < n {
        partial.extend_from_slice(&input[pos..n]);
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
    Ok(if close { Step::Close } else { Step::Continue })
}

/// Send FIN after the last reply, so the client reads it and then EOF; dropping the stream
/// then closes it.
fn close_gently(stream: &TcpStream) -> io::Result<()> {
    match stream.shutdown(Shutdown::Write) {
        Err(e) if e.kind() != ErrorKind::NotConnected => Err(e),
        _ => Ok(()),
    }
}
