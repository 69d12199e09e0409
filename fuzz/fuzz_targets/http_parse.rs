//! Fuzz target `http_parse`: bytes into the `http_hello` example's request-head parser
//! (`examples/http_hello/parse.rs`, compiled in through `#[path]`, as the example tests do).
//!
//! The input is a split point, optional small limits, then the bytes. Asserted:
//! * no panic, on the whole input, on every prefix tried and on each pipelined request after
//!   the first (the server parses from where the previous head and its body ended);
//! * `Ok(Some((request, consumed)))`: `0 < consumed <= len`, `consumed <= max_head`, method
//!   and target lie inside the consumed bytes, at most `max_headers` headers, each a token
//!   name; the framing and keep-alive the parser reports agree with what the `Headers`
//!   iterator yields (recomputed here independently); `path()` is a prefix of the target;
//! * the head is all the parser looks at: parsing exactly `consumed` bytes gives the same
//!   answer, and any shorter prefix answers `Ok(None)` ("read more");
//! * the split is consistent with the whole (the server feeds the parser whatever has
//!   arrived): a prefix that is an error stays an error with more bytes, a prefix that is
//!   complete gives the same request as the whole;
//! * raising the limits never turns a parsed head into anything else.

#![no_main]

#[allow(dead_code)]
#[path = "../../examples/http_hello/parse.rs"]
mod parse;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use parse::{parse_request_with, Body, Limits, Request, Version};

/// A fuzz input: where to split, which limits, and the bytes.
#[derive(Arbitrary, Debug)]
struct Input<'a> {
    /// The first part is `bytes[..split % (len + 1)]`.
    split: u16,
    /// `None`: the default limits; `Some((head, headers))`: `max_head = head % 512 + 1`,
    /// `max_headers = headers % 8`.
    limits: Option<(u16, u8)>,
    bytes: &'a [u8],
}

type Answer<'a> = Result<Option<(Request<'a>, usize)>, parse::ParseError>;

fn parse<'a>(buf: &'a [u8], limits: &Limits) -> Answer<'a> {
    parse_request_with(buf, limits)
}

/// Spaces and tabs off both ends (HTTP's optional whitespace).
fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |e| e + 1);
    &s[start..end]
}

/// Check a successful parse of `buf` on its own terms.
fn check_request(buf: &[u8], request: &Request<'_>, consumed: usize, limits: &Limits) {
    assert!(
        consumed > 0 && consumed <= buf.len(),
        "consumed {consumed} of {}",
        buf.len()
    );
    assert!(
        consumed <= limits.max_head,
        "head of {consumed} bytes over the limit"
    );
    let head = &buf[..consumed];
    let inside = |s: &[u8]| {
        let (start, end) = (s.as_ptr() as usize, s.as_ptr() as usize + s.len());
        let (hs, he) = (head.as_ptr() as usize, head.as_ptr() as usize + head.len());
        hs <= start && end <= he
    };
    assert!(
        !request.method.is_empty() && inside(request.method),
        "method"
    );
    assert!(
        !request.target.is_empty() && inside(request.target),
        "target"
    );
    assert!(
        request.target.starts_with(request.path()),
        "path() not a prefix"
    );

    // Recompute framing and keep-alive from the headers the iterator yields.
    let (mut count, mut close, mut keep_alive_token) = (0, false, false);
    let (mut length, mut chunked) = (None::<u64>, false);
    for (name, value) in request.headers {
        count += 1;
        assert!(
            !name.is_empty() && inside(name) && inside(value),
            "header slices"
        );
        assert_eq!(trim(value), value, "untrimmed value");
        if name.eq_ignore_ascii_case(b"connection") {
            for token in value.split(|&b| b == b',') {
                let token = trim(token);
                close |= token.eq_ignore_ascii_case(b"close");
                keep_alive_token |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if name.eq_ignore_ascii_case(b"content-length") {
            let n: u64 = std::str::from_utf8(value).unwrap().parse().unwrap();
            assert!(
                length.is_none_or(|m| m == n),
                "disagreeing lengths accepted"
            );
            length = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            chunked = true;
        }
    }
    assert!(count <= limits.max_headers, "{count} headers accepted");
    let body = match (chunked, length) {
        (true, Some(_)) => panic!("Transfer-Encoding with Content-Length accepted"),
        (true, None) => Body::TransferEncoded,
        (false, None | Some(0)) => Body::None,
        (false, Some(n)) => Body::Length(n),
    };
    assert_eq!(request.body, body, "body framing");
    let keep_alive = match request.version {
        Version::Http11 => !close,
        Version::Http10 => keep_alive_token && !close,
    };
    assert_eq!(request.keep_alive, keep_alive, "keep-alive");
}

/// The answer for `buf` and for its prefix `buf[..k]` must be consistent.
fn check_prefix(buf: &[u8], whole: &Answer<'_>, k: usize, limits: &Limits) {
    let part = parse(&buf[..k], limits);
    match (&part, whole) {
        (_, Ok(Some((_, n)))) if k < *n => {
            assert_eq!(
                part,
                Ok(None),
                "prefix of {k} < head {n} bytes is not 'read more'"
            )
        }
        (Ok(Some(_)), _) => assert_eq!(&part, whole, "complete prefix differs from the whole"),
        (Err(_), _) => assert!(whole.is_err(), "prefix {part:?} but whole {whole:?}"),
        _ => {}
    }
}

fuzz_target!(|input: Input<'_>| {
    let buf = input.bytes;
    let limits = match input.limits {
        None => Limits::DEFAULT,
        Some((head, headers)) => Limits {
            max_head: usize::from(head % 512) + 1,
            max_headers: usize::from(headers % 8),
        },
    };
    let whole = parse(buf, &limits);
    if let Ok(Some((request, n))) = &whole {
        check_request(buf, request, *n, &limits);
        assert_eq!(
            parse(&buf[..*n], &limits),
            whole,
            "exactly the head gives another answer"
        );
        if *n > 0 {
            check_prefix(buf, &whole, n - 1, &limits);
        }
        if limits != Limits::DEFAULT {
            assert_eq!(
                parse(buf, &Limits::DEFAULT),
                whole,
                "higher limits changed the answer"
            );
        }
    }
    check_prefix(
        buf,
        &whole,
        usize::from(input.split) % (buf.len() + 1),
        &limits,
    );

    // Pipelining: parse what follows each head and its body, as the server does.
    let mut pos = 0;
    let mut heads = 0;
    while let Ok(Some((request, n))) = parse(&buf[pos..], &limits) {
        check_request(&buf[pos..], &request, n, &limits);
        pos += n;
        let body = match request.body {
            Body::Length(len) => usize::try_from(len).unwrap_or(usize::MAX),
            Body::None | Body::TransferEncoded => 0,
        };
        if body > buf.len() - pos || heads > 64 {
            break;
        }
        pos += body;
        heads += 1;
    }
});
