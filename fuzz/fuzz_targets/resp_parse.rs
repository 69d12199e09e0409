//! Fuzz target `resp_parse`: bytes into the `mini_redis` example's RESP2 codec
//! (`examples/mini_redis/resp.rs`, compiled in through `#[path]`, as the example tests do):
//! `parse_command` (what the server runs on every read) and `parse_frame` (the client side).
//!
//! The input is a split point, a choice of default or tiny limits, then the bytes. For both
//! parsers, asserted:
//! * no panic, on the whole input, a prefix, and every pipelined command after the first;
//! * `Ok(Some(consumed))`: `0 < consumed <= len`; command arguments are ranges inside the
//!   consumed bytes, at most `max_array` of them;
//! * only the consumed bytes matter: parsing exactly them gives the same answer, and any
//!   shorter prefix answers `Ok(None)` ("read more");
//! * a split is consistent with the whole (the server parses whatever has arrived): an error
//!   on a prefix stays an error with more bytes ("`Err` for bytes that can never be valid"),
//!   a complete prefix gives the same answer as the whole;
//! * the server's incremental `CommandParser`, fed the prefix and then the whole, answers
//!   exactly as `parse_command` on the whole (same consumed count and arguments), having
//!   examined a number of bytes linear in the input;
//! * round trips: a command's arguments encoded as a multibulk array (`write_array_len` +
//!   `write_bulk`) parse back to the same arguments, consuming exactly the encoding; a
//!   frame encoded with `Frame::encode` parses back to the same frame (error text with CR/LF
//!   comes back with spaces: `write_error` replaces them, as documented).
//!
//! This target found `max_inline` enforced only on a line still missing its CRLF, so a prefix
//! of a valid reply was refused (fixed in a975374; pinned in `tests/fuzz_regressions.rs`,
//! reproducer in `fuzz/regressions/resp_parse/`).

#![no_main]

#[allow(dead_code)]
#[path = "../../examples/mini_redis/resp.rs"]
mod resp;

use std::ops::Range;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use resp::{
    parse_command, parse_frame, write_array_len, write_bulk, CommandParser, Frame, Limits,
    RespError,
};

/// A fuzz input: where to split, which limits, and the bytes.
#[derive(Arbitrary, Debug)]
struct Input<'a> {
    /// The prefix tried is `bytes[..split % (len + 1)]`.
    split: u16,
    /// Tiny limits (bulk 16, array 4, inline 16, depth 3) instead of the defaults.
    tiny: bool,
    bytes: &'a [u8],
}

type CommandAnswer = Result<Option<(usize, Vec<Range<usize>>)>, RespError>;

fn command(buf: &[u8], limits: &Limits) -> CommandAnswer {
    let mut args = Vec::new();
    parse_command(buf, &mut args, limits).map(|n| n.map(|n| (n, args)))
}

/// A complete command in `buf`: checks, exact-prefix, shorter-prefix and round trip.
fn check_command(buf: &[u8], n: usize, args: &[Range<usize>], limits: &Limits) {
    assert!(n > 0 && n <= buf.len(), "consumed {n} of {}", buf.len());
    assert!(args.len() <= limits.max_array, "{} args", args.len());
    for a in args {
        assert!(
            a.start <= a.end && a.end <= n,
            "arg {a:?} outside the {n} consumed bytes"
        );
    }
    let exact = command(&buf[..n], limits);
    assert_eq!(
        exact,
        Ok(Some((n, args.to_vec()))),
        "exactly the command parses otherwise"
    );
    let shorter = command(&buf[..n - 1], limits);
    assert_eq!(shorter, Ok(None), "a shorter prefix of a command");

    let mut encoded = Vec::new();
    write_array_len(&mut encoded, args.len());
    for a in args {
        write_bulk(&mut encoded, &buf[a.clone()]);
    }
    let Ok(Some((m, back))) = command(&encoded, limits) else {
        panic!(
            "the re-encoded command does not parse: {:?}",
            command(&encoded, limits)
        );
    };
    assert_eq!(
        m,
        encoded.len(),
        "the re-encoded command is not consumed whole"
    );
    let back: Vec<&[u8]> = back.iter().map(|r| &encoded[r.clone()]).collect();
    let want: Vec<&[u8]> = args.iter().map(|r| &buf[r.clone()]).collect();
    assert_eq!(back, want, "round trip changed the arguments");
}

/// `write_error` turns CR and LF into spaces; everything else encodes as it parsed.
fn after_encoding(frame: &Frame) -> Frame {
    match frame {
        Frame::Error(e) => Frame::Error(
            e.iter()
                .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
                .collect(),
        ),
        Frame::Array(items) => Frame::Array(items.iter().map(after_encoding).collect()),
        other => other.clone(),
    }
}

fn check_frame(buf: &[u8], frame: &Frame, n: usize, limits: &Limits) {
    assert!(n > 0 && n <= buf.len(), "consumed {n} of {}", buf.len());
    assert_eq!(
        parse_frame(&buf[..n], limits),
        Ok(Some((frame.clone(), n))),
        "exactly the frame parses otherwise"
    );
    let shorter = parse_frame(&buf[..n - 1], limits);
    assert_eq!(shorter, Ok(None), "a shorter prefix of a frame");
    let mut encoded = Vec::new();
    frame.encode(&mut encoded);
    assert_eq!(
        parse_frame(&encoded, limits),
        Ok(Some((after_encoding(frame), encoded.len()))),
        "round trip of {frame:?} through {:?}",
        encoded.escape_ascii().to_string()
    );
}

fuzz_target!(|input: Input<'_>| {
    let buf = input.bytes;
    let limits = if input.tiny {
        Limits {
            max_bulk: 16,
            max_array: 4,
            max_inline: 16,
            max_depth: 3,
        }
    } else {
        Limits::DEFAULT
    };
    let k = usize::from(input.split) % (buf.len() + 1);

    // Commands.
    let whole = command(buf, &limits);
    if let Ok(Some((n, args))) = &whole {
        check_command(buf, *n, args, &limits);
    }
    let part = command(&buf[..k], &limits);
    match (&part, &whole) {
        (_, Ok(Some((n, _)))) if k < *n => assert_eq!(part, Ok(None), "prefix of a command"),
        (Ok(Some(_)), _) => assert_eq!(part, whole, "complete prefix differs from the whole"),
        (Err(_), _) => assert!(
            whole.is_err(),
            "command prefix {part:?} but whole {whole:?}"
        ),
        _ => {}
    }
    // The incremental parser, as the server runs it: the prefix first, then the rest.
    let mut parser = CommandParser::new();
    let first = parser.parse(&buf[..k], &limits);
    let incremental = match first {
        Ok(None) => parser.parse(buf, &limits),
        other => other,
    };
    let incremental = incremental.map(|n| n.map(|n| (n, parser.args().to_vec())));
    match (&first, &whole) {
        // Stopped at the prefix: its answer is the prefix's, checked above.
        (Ok(Some(_)) | Err(_), _) => {}
        _ => assert_eq!(
            incremental, whole,
            "incremental parse differs from the whole"
        ),
    }
    assert!(
        parser.examined() <= 3 * buf.len() as u64 + 8,
        "examined {} bytes of {}",
        parser.examined(),
        buf.len()
    );

    let mut pos = 0;
    let mut count = 0;
    while let Ok(Some((n, args))) = command(&buf[pos..], &limits) {
        check_command(&buf[pos..], n, &args, &limits);
        pos += n;
        count += 1;
        if count > 256 {
            break;
        }
    }

    // Frames.
    let whole = parse_frame(buf, &limits);
    if let Ok(Some((frame, n))) = &whole {
        check_frame(buf, frame, *n, &limits);
    }
    let part = parse_frame(&buf[..k], &limits);
    match (&part, &whole) {
        (_, Ok(Some((_, n)))) if k < *n => assert_eq!(part, Ok(None), "prefix of a frame"),
        (Ok(Some(_)), _) => assert_eq!(part, whole, "complete frame prefix differs"),
        (Err(_), _) => assert!(whole.is_err(), "frame prefix {part:?} but whole {whole:?}"),
        _ => {}
    }
    let mut pos = 0;
    let mut count = 0;
    while let Ok(Some((frame, n))) = parse_frame(&buf[pos..], &limits) {
        check_frame(&buf[pos..], &frame, n, &limits);
        pos += n;
        count += 1;
        if count > 256 {
            break;
        }
    }
});
