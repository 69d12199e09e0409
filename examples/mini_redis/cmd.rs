//! Command semantics: one parsed command in, its RESP reply appended to the output.
//!
//! Supported: `PING [msg]`, `ECHO msg`, `SET key value [NX|XX] [EX s|PX ms]`, `GET key`,
//! `MGET key..`, `MSET key value [key value..]`, `DEL key..`, `EXISTS key..`, `INCR key`,
//! `EXPIRE key seconds`, `TTL key`, `DBSIZE`, `FLUSHDB [ASYNC|SYNC]` (always synchronous),
//! `CONFIG GET param..` (enough for `redis-benchmark`, which asks for `save` and
//! `appendonly` before it starts), `COMMAND` (an empty list, for `redis-cli`'s interactive
//! help) and `QUIT`. Replies and error texts follow Redis 7's, so clients react the same way.
//!
//! Replies go to the connection's [`Output`]; a stored value large enough to be shared
//! (see `db.rs`) is queued by reference, not copied.
//!
//! Errors in a well-framed command (unknown command, wrong arity, a non-integer for `INCR`)
//! are `-ERR` replies and the connection stays usable; only framing errors close it, and
//! those are the server's business (see `server.rs`).

use std::ops::Range;
use std::time::{Duration, Instant};

use super::db::{Db, IncrError, SetCondition, Ttl, Value};
use super::output::Output;
use super::resp::{
    parse_int, push_i64, write_array_len, write_bulk, write_error, write_integer, write_null,
    write_simple,
};

/// What the connection does after a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    /// Read the next command.
    Continue,
    /// Close once the replies are sent (`QUIT`).
    Close,
}

/// The configuration parameters `CONFIG GET` knows, with the values a server without
/// persistence reports.
const CONFIG: [(&[u8], &[u8]); 4] = [
    (b"save", b""),
    (b"appendonly", b"no"),
    (b"maxmemory", b"0"),
    (b"databases", b"1"),
];

/// The arguments of one command, borrowed from the input buffer.
#[derive(Clone, Copy)]
pub struct Args<'a> {
    buf: &'a [u8],
    spans: &'a [Range<usize>],
}

impl<'a> Args<'a> {
    /// Arguments at `spans` of `buf` (as `resp::parse_command` returns them).
    pub fn new(buf: &'a [u8], spans: &'a [Range<usize>]) -> Args<'a> {
        Args { buf, spans }
    }

    /// How many arguments, the command name included.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Argument `i`; empty when out of range.
    pub fn get(&self, i: usize) -> &'a [u8] {
        self.spans
            .get(i)
            .and_then(|r| self.buf.get(r.clone()))
            .unwrap_or_default()
    }

    /// The arguments from `i` on.
    pub fn from(&self, i: usize) -> impl Iterator<Item = &'a [u8]> + 'a + use<'a> {
        let buf = self.buf;
        let spans = self.spans.get(i..).unwrap_or_default();
        spans
            .iter()
            .map(move |r| buf.get(r.clone()).unwrap_or_default())
    }
}

/// Run one command against `db`, appending its reply to `out`. An empty command (a blank
/// line, `*0`) gets no reply, as in Redis.
pub fn execute(db: &Db, args: Args<'_>, out: &mut Output, now: Instant) -> After {
    if args.len() == 0 {
        return After::Continue;
    }
    // Upper-case the name on the stack: no allocation to match it.
    let raw = args.get(0);
    let mut name = [0u8; 16];
    let Some(name) = name.get_mut(..raw.len()) else {
        unknown_command(args, out.buf());
        return After::Continue;
    };
    name.copy_from_slice(raw);
    name.make_ascii_uppercase();
    let n = args.len();
    match &*name {
        b"GET" if n == 2 => db.get(args.get(1), now, |value| write_value(out, value)),
        b"SET" if n >= 3 => set(db, args, out.buf(), now),
        b"MGET" if n >= 2 => {
            write_array_len(out.buf(), n - 1);
            for key in args.from(1) {
                db.get(key, now, |value| write_value(out, value));
            }
        }
        b"MSET" if n >= 3 && n % 2 == 1 => {
            for i in (1..n).step_by(2) {
                db.set(
                    args.get(i),
                    args.get(i + 1),
                    None,
                    SetCondition::Always,
                    now,
                );
            }
            write_simple(out.buf(), b"OK");
        }
        b"INCR" if n == 2 => match db.incr(args.get(1), now) {
            Ok(v) => write_integer(out.buf(), v),
            Err(IncrError::NotAnInteger) => not_an_integer(out.buf()),
            Err(IncrError::Overflow) => {
                write_error(out.buf(), b"ERR increment or decrement would overflow")
            }
        },
        b"PING" if n == 1 => write_simple(out.buf(), b"PONG"),
        b"PING" if n == 2 => write_bulk(out.buf(), args.get(1)),
        b"ECHO" if n == 2 => write_bulk(out.buf(), args.get(1)),
        b"DEL" if n >= 2 => {
            let count = args.from(1).filter(|k| db.del(k, now)).count();
            write_integer(out.buf(), count as i64);
        }
        b"EXISTS" if n >= 2 => {
            let count = args.from(1).filter(|k| db.exists(k, now)).count();
            write_integer(out.buf(), count as i64);
        }
        b"EXPIRE" if n == 3 => match parse_int(args.get(2)) {
            None => not_an_integer(out.buf()),
            Some(secs) => match deadline(now, secs, 1000) {
                Some(at) => write_integer(out.buf(), i64::from(db.expire(args.get(1), at, now))),
                None => write_error(out.buf(), b"ERR invalid expire time in 'expire' command"),
            },
        },
        b"TTL" if n == 2 => write_integer(
            out.buf(),
            match db.ttl(args.get(1), now) {
                Ttl::Missing => -2,
                Ttl::Persistent => -1,
                // Rounded to the nearest second, as Redis does.
                Ttl::Remaining(d) => ((d.as_millis() + 500) / 1000) as i64,
            },
        ),
        b"DBSIZE" if n == 1 => write_integer(out.buf(), db.len() as i64),
        b"FLUSHDB" if n == 1 => {
            db.flush();
            write_simple(out.buf(), b"OK");
        }
        b"FLUSHDB"
            if n == 2
                && (args.get(1).eq_ignore_ascii_case(b"ASYNC")
                    || args.get(1).eq_ignore_ascii_case(b"SYNC")) =>
        {
            db.flush();
            write_simple(out.buf(), b"OK");
        }
        b"FLUSHDB" if n == 2 => write_error(out.buf(), b"ERR syntax error"),
        b"CONFIG" if n >= 3 && args.get(1).eq_ignore_ascii_case(b"GET") => {
            config_get(args, out.buf())
        }
        b"CONFIG" if n >= 2 => {
            let mut msg = b"ERR unknown subcommand '".to_vec();
            msg.extend_from_slice(truncated(args.get(1)));
            msg.extend_from_slice(b"'. Try CONFIG HELP.");
            write_error(out.buf(), &msg);
        }
        b"COMMAND" => write_array_len(out.buf(), 0),
        b"QUIT" => {
            write_simple(out.buf(), b"OK");
            return After::Close;
        }
        b"GET" | b"SET" | b"MGET" | b"MSET" | b"INCR" | b"PING" | b"ECHO" | b"DEL" | b"EXISTS"
        | b"EXPIRE" | b"TTL" | b"DBSIZE" | b"FLUSHDB" | b"CONFIG" => {
            let mut msg = b"ERR wrong number of arguments for '".to_vec();
            msg.extend(raw.iter().map(u8::to_ascii_lowercase));
            msg.extend_from_slice(b"' command");
            write_error(out.buf(), &msg);
        }
        _ => unknown_command(args, out.buf()),
    }
    After::Continue
}

/// A stored value as a bulk string (`$-1` when missing); a shared value is queued by
/// reference between its header and CRLF.
fn write_value(out: &mut Output, value: Option<&Value>) {
    match value {
        None => write_null(out.buf()),
        Some(Value::Inline(v)) => write_bulk(out.buf(), v),
        Some(Value::Shared(v)) => {
            let buf = out.buf();
            buf.push(b'$');
            push_i64(buf, v.len() as i64);
            buf.extend_from_slice(b"\r\n");
            out.push_shared(v.clone());
            out.buf().extend_from_slice(b"\r\n");
        }
    }
}

/// `SET key value [NX|XX] [EX seconds|PX milliseconds]`, options in any order.
fn set(db: &Db, args: Args<'_>, out: &mut Vec<u8>, now: Instant) {
    let mut condition = SetCondition::Always;
    let mut expiry: Option<Instant> = None;
    let mut i = 3;
    while i < args.len() {
        let option = args.get(i);
        let unit_ms = if option.eq_ignore_ascii_case(b"EX") {
            Some(1000)
        } else if option.eq_ignore_ascii_case(b"PX") {
            Some(1)
        } else {
            None
        };
        if let Some(unit_ms) = unit_ms {
            if expiry.is_some() || i + 1 >= args.len() {
                return write_error(out, b"ERR syntax error");
            }
            let Some(n) = parse_int(args.get(i + 1)) else {
                return not_an_integer(out);
            };
            // Unlike EXPIRE, SET refuses a deadline that is not in the future.
            match deadline(now, n, unit_ms).filter(|_| n > 0) {
                Some(at) => expiry = Some(at),
                None => return write_error(out, b"ERR invalid expire time in 'set' command"),
            }
            i += 2;
            continue;
        }
        let wanted = if option.eq_ignore_ascii_case(b"NX") {
            SetCondition::IfAbsent
        } else if option.eq_ignore_ascii_case(b"XX") {
            SetCondition::IfPresent
        } else {
            return write_error(out, b"ERR syntax error");
        };
        if condition != SetCondition::Always {
            return write_error(out, b"ERR syntax error");
        }
        condition = wanted;
        i += 1;
    }
    if db.set(args.get(1), args.get(2), expiry, condition, now) {
        write_simple(out, b"OK");
    } else {
        write_null(out);
    }
}

/// `now + n * unit_ms` milliseconds; `None` when it overflows. A deadline in the past
/// (n <= 0) is `now`.
fn deadline(now: Instant, n: i64, unit_ms: u64) -> Option<Instant> {
    let ms = u64::try_from(n).unwrap_or(0).checked_mul(unit_ms)?;
    now.checked_add(Duration::from_millis(ms))
}

/// `CONFIG GET pattern..`: name/value pairs of the parameters matching any pattern (a
/// name, or `*` for all).
fn config_get(args: Args<'_>, out: &mut Vec<u8>) {
    let matches = |name: &[u8]| {
        args.from(2)
            .any(|p| p == b"*" || p.eq_ignore_ascii_case(name))
    };
    let count = CONFIG.iter().filter(|(name, _)| matches(name)).count();
    write_array_len(out, count * 2);
    for (name, value) in CONFIG.iter().filter(|(name, _)| matches(name)) {
        write_bulk(out, name);
        write_bulk(out, value);
    }
}

fn not_an_integer(out: &mut Vec<u8>) {
    write_error(out, b"ERR value is not an integer or out of range");
}

/// Redis's wording: `ERR unknown command 'x', with args beginning with: 'a' 'b' `, quoting
/// arguments until about 128 bytes are quoted.
fn unknown_command(args: Args<'_>, out: &mut Vec<u8>) {
    let mut msg = b"ERR unknown command '".to_vec();
    msg.extend_from_slice(truncated(args.get(0)));
    msg.extend_from_slice(b"', with args beginning with: ");
    let start = msg.len();
    for arg in args.from(1) {
        if msg.len() - start >= 128 {
            break;
        }
        msg.push(b'\'');
        msg.extend_from_slice(truncated(arg));
        msg.extend_from_slice(b"' ");
    }
    write_error(out, &msg);
}

fn truncated(s: &[u8]) -> &[u8] {
    &s[..s.len().min(128)]
}
