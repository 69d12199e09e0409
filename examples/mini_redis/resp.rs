//! RESP2, the Redis protocol: a pure parser and encoder. No I/O, no panics on any input.
//!
//! Servers read *commands*: [`parse_command`] takes the bytes received so far and finds the
//! first command in them, either a multibulk array of bulk strings (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`,
//! what client libraries send) or an inline command (`PING\r\n`, what `telnet` users type and
//! what `redis-benchmark`'s `PING_INLINE` test sends). It allocates nothing: arguments are
//! returned as byte ranges into the input, in a `Vec` the caller reuses.
//!
//! Clients read *replies*: [`parse_frame`] decodes any RESP2 value into an owned [`Frame`]
//! (tests and fuzzers use it; the server never does).
//!
//! Both answer `Ok(None)` for "incomplete, read more" and `Err` for bytes that can never be
//! valid; the limits in [`Limits`] turn absurd declared sizes into errors before anything is
//! reserved for them (a `*2147483647` header allocates nothing).
//!
//! Encoding writes straight into a `Vec<u8>` (the server's loop-wide output buffer).

use std::ops::Range;

/// Size limits; a declared size above them is a protocol error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest bulk string (Redis allows 512 MiB; a demo server does not need that).
    pub max_bulk: usize,
    /// Most elements in one array (command arguments included).
    pub max_array: usize,
    /// Longest inline command, or header line (`*N`, `$N`) still missing its CRLF.
    pub max_inline: usize,
    /// Deepest nesting of arrays in a reply frame.
    pub max_depth: usize,
}

impl Limits {
    /// 32 MiB bulk strings (Redis's `proto-max-bulk-len` is 512 MB; a demo server does not
    /// need that), 1 Mi elements (Redis's own multibulk limit), 64 KiB inline commands
    /// (Redis's too), arrays nested 32 deep.
    pub const DEFAULT: Limits = Limits {
        max_bulk: 32 * 1024 * 1024,
        max_array: 1024 * 1024,
        max_inline: 64 * 1024,
        max_depth: 32,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// Why bytes can never be valid RESP. The server answers `-ERR Protocol error: ...` with
/// [`RespError::message`] and closes the connection, as Redis does: after a framing error
/// the start of the next command is unknowable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RespError {
    /// `*N` with N not a number or above [`Limits::max_array`].
    InvalidMultibulkLength,
    /// `$N` with N not a number, negative in a command, or above [`Limits::max_bulk`].
    InvalidBulkLength,
    /// A command array element that is not a bulk string; holds the byte found.
    ExpectedBulk(u8),
    /// A bulk string not followed by CRLF.
    MissingCrlf,
    /// An inline command or header line longer than [`Limits::max_inline`].
    TooBigInline,
    /// A reply frame with an unknown type byte; holds it.
    UnknownType(u8),
    /// An integer reply that is not a 64-bit integer.
    InvalidInteger,
    /// Arrays nested deeper than [`Limits::max_depth`].
    TooDeep,
}

impl RespError {
    /// The message after `-ERR Protocol error: `, worded like Redis's own.
    pub fn message(self) -> String {
        match self {
            RespError::InvalidMultibulkLength => "invalid multibulk length".into(),
            RespError::InvalidBulkLength => "invalid bulk length".into(),
            RespError::ExpectedBulk(b) => format!("expected '$', got '{}'", b.escape_ascii()),
            RespError::MissingCrlf => "bulk string not terminated by CRLF".into(),
            RespError::TooBigInline => "too big inline request".into(),
            RespError::UnknownType(b) => format!("unknown type byte '{}'", b.escape_ascii()),
            RespError::InvalidInteger => "invalid integer".into(),
            RespError::TooDeep => "arrays nested too deep".into(),
        }
    }
}

/// Find the first command in `buf`. On `Ok(Some(consumed))`, `args` holds the ranges of its
/// arguments in `buf` (cleared first; possibly empty: an empty line or `*0` is a command
/// with no arguments, which servers skip).
///
/// Stateless: every call parses from the start of `buf`. A server that calls it again as
/// more bytes arrive re-parses the unfinished command each time (quadratic in a command
/// dripped in small pieces); it uses a [`CommandParser`] instead, which gives the same
/// answers and keeps its place.
#[allow(dead_code)] // Tests and the fuzzer compare the server's parser with it.
pub fn parse_command(
    buf: &[u8],
    args: &mut Vec<Range<usize>>,
    limits: &Limits,
) -> Result<Option<usize>, RespError> {
    args.clear();
    // Lend the caller's vector to a fresh parser, so its allocation is reused.
    let mut parser = CommandParser {
        args: std::mem::take(args),
        ..CommandParser::new()
    };
    let answer = parser.parse(buf, limits);
    *args = parser.args;
    answer
}

/// An incremental command parser: it keeps its place in an unfinished command between
/// calls, so a command that arrives in many pieces costs time linear in its size.
///
/// Call [`parse`](Self::parse) with the bytes of the current command received so far, from
/// its first byte; call it again with the same bytes plus whatever arrived since (the
/// caller may move them in memory, not change them). `Ok(None)` means "read more";
/// `Ok(Some(consumed))` means the command is complete, its arguments are
/// [`args`](Self::args) (ranges into that call's `buf`), and the next call starts a new
/// command at the start of its `buf`. After `Err` the parser starts afresh too (a server
/// closes the connection anyway). Answers are the same as [`parse_command`]'s on the same
/// bytes, however they were split.
///
/// What it keeps: the argument ranges found so far (never reserved by a declared count, so
/// `*1048576` allocates nothing), where the next element starts, the length of a bulk string
/// whose header was read, and where the search for an unfinished line's CRLF resumes.
#[derive(Debug)]
pub struct CommandParser {
    /// Where the next element (or, inside a bulk string, its data) starts.
    pos: usize,
    /// Where the search for the end of the line starting at `pos` resumes.
    scan: usize,
    phase: Phase,
    args: Vec<Range<usize>>,
    /// Bytes looked at over the parser's life (tests check that parsing is linear).
    examined: u64,
}

/// Where a [`CommandParser`] is in the current command.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Nothing of the current command parsed yet.
    #[default]
    Start,
    /// An inline command whose LF has not arrived.
    Inline,
    /// A multibulk array with `left` elements to go; `bulk` is the length of the element
    /// whose `$N` header was read (its data starts at `pos`).
    Multibulk { left: usize, bulk: Option<usize> },
}

impl Default for CommandParser {
    fn default() -> Self {
        CommandParser::new()
    }
}

impl CommandParser {
    /// A parser at the start of a command; holds no memory until arguments arrive.
    pub const fn new() -> CommandParser {
        CommandParser {
            pos: 0,
            scan: 0,
            phase: Phase::Start,
            args: Vec::new(),
            examined: 0,
        }
    }

    /// The arguments of the command the last `Ok(Some(_))` completed.
    pub fn args(&self) -> &[Range<usize>] {
        &self.args
    }

    /// Bytes examined over the parser's life: header and inline bytes scanned, two per
    /// bulk string terminator; bulk contents are skipped, not examined.
    #[allow(dead_code)] // Tests read it; the server does not.
    pub fn examined(&self) -> u64 {
        self.examined
    }

    /// Whether part of a command has been parsed (the next call continues it).
    #[allow(dead_code)] // Tests read it; the server does not.
    pub fn in_command(&self) -> bool {
        self.phase != Phase::Start
    }

    /// Heap bytes the parser holds (its argument list).
    pub fn held(&self) -> usize {
        self.args.capacity() * std::mem::size_of::<Range<usize>>()
    }

    /// Let go of a large argument list once its command has run, so one huge command does
    /// not pin its peak for the connection's life.
    pub fn shrink(&mut self) {
        if self.phase == Phase::Start && self.args.capacity() > 64 {
            self.args = Vec::new();
        }
    }

    /// Continue parsing the current command; see the type's docs.
    pub fn parse(&mut self, buf: &[u8], limits: &Limits) -> Result<Option<usize>, RespError> {
        let answer = self.step(buf, limits);
        if !matches!(answer, Ok(None)) {
            // Complete or hopeless: the next call starts a new command.
            self.phase = Phase::Start;
            self.pos = 0;
            self.scan = 0;
        }
        answer
    }

    fn step(&mut self, buf: &[u8], limits: &Limits) -> Result<Option<usize>, RespError> {
        if self.phase == Phase::Start {
            self.args.clear();
            match buf.first() {
                None => return Ok(None),
                Some(b'*') => {
                    let Some(count) = self.line(buf, limits)? else {
                        return Ok(None);
                    };
                    let count = parse_int(count).ok_or(RespError::InvalidMultibulkLength)?;
                    if count > limits.max_array as i64 {
                        return Err(RespError::InvalidMultibulkLength);
                    }
                    // `*0` and `*-1` are empty commands: consumed and ignored, as Redis does.
                    let left = count.max(0) as usize;
                    self.phase = Phase::Multibulk { left, bulk: None };
                }
                Some(_) => self.phase = Phase::Inline,
            }
        }
        match self.phase {
            Phase::Inline => self.inline(buf, limits),
            _ => self.multibulk(buf, limits),
        }
    }

    fn multibulk(&mut self, buf: &[u8], limits: &Limits) -> Result<Option<usize>, RespError> {
        while let Phase::Multibulk { left, bulk } = self.phase {
            if left == 0 {
                return Ok(Some(self.pos));
            }
            let len = match bulk {
                Some(len) => len,
                None => {
                    match buf.get(self.pos) {
                        None => return Ok(None),
                        Some(b'$') => {}
                        Some(&other) => return Err(RespError::ExpectedBulk(other)),
                    }
                    let Some(len) = self.line(buf, limits)? else {
                        return Ok(None);
                    };
                    let len = parse_int(len).ok_or(RespError::InvalidBulkLength)?;
                    if len < 0 || len > limits.max_bulk as i64 {
                        return Err(RespError::InvalidBulkLength);
                    }
                    let len = len as usize;
                    self.phase = Phase::Multibulk {
                        left,
                        bulk: Some(len),
                    };
                    len
                }
            };
            let (start, end) = (self.pos, self.pos + len);
            match buf.get(end..end + 2) {
                None => return Ok(None),
                Some(b"\r\n") => {}
                Some(_) => return Err(RespError::MissingCrlf),
            }
            self.examined += 2;
            self.args.push(start..end);
            self.pos = end + 2;
            self.scan = self.pos;
            self.phase = Phase::Multibulk {
                left: left - 1,
                bulk: None,
            };
        }
        Ok(None)
    }

    /// The header line whose type byte is at `pos` (`*N`, `$N`), without its type byte and
    /// CRLF, moving `pos` past it; `None` while its CRLF has not arrived (the search resumes
    /// where it stopped). Limits as [`header_line`]'s, so the answers agree with frames'.
    fn line<'a>(&mut self, buf: &'a [u8], limits: &Limits) -> Result<Option<&'a [u8]>, RespError> {
        let content = self.pos + 1;
        let from = self.scan.max(content);
        let rest = buf.get(from..).unwrap_or_default();
        match rest.windows(2).position(|w| w == b"\r\n") {
            Some(at) => {
                self.examined += at as u64 + 2;
                let end = from + at;
                if end - content > limits.max_inline {
                    return Err(RespError::TooBigInline);
                }
                self.pos = end + 2;
                self.scan = self.pos;
                Ok(Some(&buf[content..end]))
            }
            None => {
                self.examined += rest.len() as u64;
                // A trailing '\r' may be the start of the CRLF: look at it again next time.
                let pending_cr = buf.last() == Some(&b'\r') && buf.len() > content;
                self.scan = buf.len() - usize::from(pending_cr);
                if self.scan.saturating_sub(content) > limits.max_inline {
                    Err(RespError::TooBigInline)
                } else {
                    Ok(None)
                }
            }
        }
    }

    /// An inline command: one line (LF, optionally after CR), split on spaces and tabs.
    /// Quoting (`"a b"`) is not supported: quotes are ordinary bytes here.
    fn inline(&mut self, buf: &[u8], limits: &Limits) -> Result<Option<usize>, RespError> {
        let from = self.scan.min(buf.len());
        let Some(at) = buf[from..].iter().position(|&b| b == b'\n') else {
            self.examined += (buf.len() - from) as u64;
            self.scan = buf.len();
            return if buf.len() > limits.max_inline {
                Err(RespError::TooBigInline)
            } else {
                Ok(None)
            };
        };
        let lf = from + at;
        self.examined += at as u64 + 1;
        if lf > limits.max_inline {
            return Err(RespError::TooBigInline);
        }
        let line_end = if lf > 0 && buf[lf - 1] == b'\r' {
            lf - 1
        } else {
            lf
        };
        // The line is split once, when it is complete.
        self.examined += line_end as u64;
        let mut i = 0;
        while i < line_end {
            if buf[i] == b' ' || buf[i] == b'\t' {
                i += 1;
                continue;
            }
            let start = i;
            while i < line_end && buf[i] != b' ' && buf[i] != b'\t' {
                i += 1;
            }
            if self.args.len() == limits.max_array {
                return Err(RespError::InvalidMultibulkLength);
            }
            self.args.push(start..i);
        }
        Ok(Some(lf + 1))
    }
}

/// The header line starting at `buf[at]` (its type byte skipped), and where the next
/// element starts. `None`: its CRLF has not arrived.
fn header_line<'a>(
    buf: &'a [u8],
    at: usize,
    limits: &Limits,
) -> Result<Option<(&'a [u8], usize)>, RespError> {
    let rest = buf.get(at + 1..).unwrap_or_default();
    // A line over `max_inline` is refused whether it arrived whole or is still incomplete,
    // so the answer never depends on how the bytes were split across reads.
    match rest.windows(2).position(|w| w == b"\r\n") {
        Some(len) if len > limits.max_inline => Err(RespError::TooBigInline),
        Some(len) => Ok(Some((&rest[..len], at + 1 + len + 2))),
        None => {
            // A trailing '\r' may be the start of the CRLF, not content.
            let content = rest.len() - usize::from(rest.last() == Some(&b'\r'));
            if content > limits.max_inline {
                Err(RespError::TooBigInline)
            } else {
                Ok(None)
            }
        }
    }
}

/// A RESP integer: optional `-`, then 1 to 19 digits, fitting an i64.
pub fn parse_int(digits: &[u8]) -> Option<i64> {
    let (negative, digits) = match digits {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, digits),
    };
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // Accumulate negatively so that i64::MIN parses too.
    let mut n: i64 = 0;
    for &d in digits {
        n = n.checked_mul(10)?.checked_sub(i64::from(d - b'0'))?;
    }
    if negative {
        Some(n)
    } else {
        n.checked_neg()
    }
}

// ---- encoding ----

/// `+OK`-style simple string. `s` must not contain CR or LF (callers pass constants).
pub fn write_simple(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'+');
    out.extend_from_slice(s);
    out.extend_from_slice(b"\r\n");
}

/// `-ERR ...` error; CR and LF in `msg` (which may quote client bytes) become spaces, so an
/// error can never break the framing.
pub fn write_error(out: &mut Vec<u8>, msg: &[u8]) {
    out.push(b'-');
    out.extend(
        msg.iter()
            .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
    out.extend_from_slice(b"\r\n");
}

/// `:N` integer.
pub fn write_integer(out: &mut Vec<u8>, n: i64) {
    out.push(b':');
    push_i64(out, n);
    out.extend_from_slice(b"\r\n");
}

/// `$N` bulk string.
pub fn write_bulk(out: &mut Vec<u8>, data: &[u8]) {
    out.push(b'$');
    push_i64(out, data.len() as i64);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// `$-1`, the null bulk string (GET of a missing key).
pub fn write_null(out: &mut Vec<u8>) {
    out.extend_from_slice(b"$-1\r\n");
}

/// `*N`, the header of an array whose N elements follow.
pub fn write_array_len(out: &mut Vec<u8>, n: usize) {
    out.push(b'*');
    push_i64(out, n as i64);
    out.extend_from_slice(b"\r\n");
}

/// Decimal digits of `n` without going through `fmt` (no allocation).
pub fn push_i64(out: &mut Vec<u8>, n: i64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut m = n.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (m % 10) as u8;
        m /= 10;
        if m == 0 {
            break;
        }
    }
    if n < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[at..]);
}

// ---- frames (the client side) ----

/// Any RESP2 value, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// `+...`
    Simple(Vec<u8>),
    /// `-...`
    Error(Vec<u8>),
    /// `:N`
    Integer(i64),
    /// `$N` with its bytes.
    Bulk(Vec<u8>),
    /// `$-1` or `*-1`.
    Null,
    /// `*N` with its elements.
    Array(Vec<Frame>),
}

#[allow(dead_code)] // The client side: tests and fuzzers use it, the server does not.
impl Frame {
    /// Encode this frame.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Frame::Simple(s) => write_simple(out, s),
            Frame::Error(e) => write_error(out, e),
            Frame::Integer(n) => write_integer(out, *n),
            Frame::Bulk(b) => write_bulk(out, b),
            Frame::Null => write_null(out),
            Frame::Array(items) => {
                write_array_len(out, items.len());
                for item in items {
                    item.encode(out);
                }
            }
        }
    }
}

/// Decode the first frame of `buf`: the frame and the bytes it used, `Ok(None)` when
/// incomplete.
#[allow(dead_code)] // The client side: tests and fuzzers use it, the server does not.
pub fn parse_frame(buf: &[u8], limits: &Limits) -> Result<Option<(Frame, usize)>, RespError> {
    frame_at(buf, 0, limits, 0)
}

fn frame_at(
    buf: &[u8],
    at: usize,
    limits: &Limits,
    depth: usize,
) -> Result<Option<(Frame, usize)>, RespError> {
    let Some(&kind) = buf.get(at) else {
        return Ok(None);
    };
    if !matches!(kind, b'+' | b'-' | b':' | b'$' | b'*') {
        return Err(RespError::UnknownType(kind));
    }
    let Some((line, mut pos)) = header_line(buf, at, limits)? else {
        return Ok(None);
    };
    let frame = match kind {
        b'+' => Frame::Simple(line.to_vec()),
        b'-' => Frame::Error(line.to_vec()),
        b':' => Frame::Integer(parse_int(line).ok_or(RespError::InvalidInteger)?),
        b'$' => {
            let len = parse_int(line).ok_or(RespError::InvalidBulkLength)?;
            if len == -1 {
                Frame::Null
            } else if len < 0 || len > limits.max_bulk as i64 {
                return Err(RespError::InvalidBulkLength);
            } else {
                let end = pos + len as usize;
                match buf.get(end..end + 2) {
                    None => return Ok(None),
                    Some(b"\r\n") => {}
                    Some(_) => return Err(RespError::MissingCrlf),
                }
                let data = buf[pos..end].to_vec();
                pos = end + 2;
                Frame::Bulk(data)
            }
        }
        _ => {
            let count = parse_int(line).ok_or(RespError::InvalidMultibulkLength)?;
            if count == -1 {
                Frame::Null
            } else if count < 0 || count > limits.max_array as i64 {
                return Err(RespError::InvalidMultibulkLength);
            } else if depth >= limits.max_depth {
                return Err(RespError::TooDeep);
            } else {
                // Reserve by what has arrived, never by what the header claims.
                let mut items = Vec::with_capacity((count as usize).min(64));
                for _ in 0..count {
                    let Some((item, next)) = frame_at(buf, pos, limits, depth + 1)? else {
                        return Ok(None);
                    };
                    items.push(item);
                    pos = next;
                }
                Frame::Array(items)
            }
        }
    };
    Ok(Some((frame, pos)))
}
