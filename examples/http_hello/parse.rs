//! A pure HTTP/1.1 request-head parser: no I/O, no allocation, no panics on any input.
//!
//! [`parse_request`] looks at the bytes received so far and answers one of three things:
//!
//! * `Ok(Some((request, consumed)))`: a complete, valid head of `consumed` bytes (request
//!   line, header lines and the blank line). Any body follows; its framing is in
//!   [`Request::body`].
//! * `Ok(None)`: the head is incomplete but everything seen so far is valid; read more.
//! * `Err(e)`: the bytes can never become a valid head; answer [`ParseError::status`] and
//!   close. A broken request line is rejected as soon as its bad byte arrives, before its line
//!   ends, so garbage (a TLS hello, a stray binary protocol) is refused at once.
//!
//! The parser keeps nothing between calls: the caller hands it the whole unconsumed input
//! each time. That makes a head trickled in byte by byte cost O(n²) scanning, bounded by
//! [`Limits::max_head`] (8 KiB by default: about 30 M byte checks at worst), which is the
//! price of keeping the parser stateless and trivially fuzzable.
//!
//! What it accepts, following RFC 9112 where it matters for safety and being lenient where
//! real clients are sloppy:
//! * lines end in CRLF or a bare LF; empty lines before the request line are skipped;
//! * `method SP request-target SP HTTP/d.d`, with `HTTP/1.0` and `HTTP/1.1` served and any
//!   other well-formed version answered 505;
//! * header names are tokens with no space before the colon (a space there is a classic
//!   request-smuggling vector, so it is a 400); obsolete line folding is a 400;
//! * `Content-Length` must be plain digits; repeated ones must agree; with
//!   `Transfer-Encoding` also present the request is refused (ambiguous framing).

/// How large a head may grow before it is refused with 431.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes in a head, blank line and skipped leading empty lines included.
    pub max_head: usize,
    /// Most header lines.
    pub max_headers: usize,
}

impl Limits {
    /// 8 KiB and 64 headers: what common servers accept, and far more than `wrk`, `curl` or
    /// browsers send for a plaintext page.
    pub const DEFAULT: Limits = Limits {
        max_head: 8 * 1024,
        max_headers: 64,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// The HTTP versions served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// HTTP/1.0: the connection closes after the response unless `Connection: keep-alive`.
    Http10,
    /// HTTP/1.1: the connection stays open unless `Connection: close`.
    Http11,
}

/// How the request's body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// No body (no `Content-Length`, or `Content-Length: 0`).
    None,
    /// Exactly this many bytes follow the head.
    Length(u64),
    /// `Transfer-Encoding` is present: the body is chunked (or worse) and its end cannot be
    /// found without decoding it.
    TransferEncoded,
}

/// A parsed request head; everything borrows from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    /// The method, e.g. `GET` (a non-empty token; case-sensitive, as HTTP says).
    pub method: &'a [u8],
    /// The request target, e.g. `/` or `/search?q=x` (visible ASCII, no spaces).
    pub target: &'a [u8],
    /// The protocol version.
    pub version: Version,
    /// Whether the client wants the connection kept open after this response.
    pub keep_alive: bool,
    /// The body framing.
    pub body: Body,
    /// The header lines, validated; iterate them with [`Headers`].
    pub headers: Headers<'a>,
}

impl Request<'_> {
    /// The target up to its `?`, as sent (a prefix of [`Request::target`]). To route, use
    /// [`Request::target_form`], which also understands absolute-form.
    #[allow(dead_code)] // The server routes by `target_form`; tests and the fuzzer use this.
    pub fn path(&self) -> &[u8] {
        match self.target.iter().position(|&b| b == b'?') {
            Some(q) => &self.target[..q],
            None => self.target,
        }
    }

    /// Which of the four forms of RFC 9112 §3.2 the target takes, checked against the
    /// method (authority-form is for `CONNECT` only, asterisk-form for `OPTIONS` only).
    pub fn target_form(&self) -> TargetForm<'_> {
        target_form(self.method, self.target)
    }
}

/// A request target, classified (RFC 9112 §3.2). Only the parts routing needs are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetForm<'a> {
    /// `/path?query` (origin-form), or `http(s)://host[:port][/path][?query]`
    /// (absolute-form, which a server must accept although clients send it to proxies):
    /// the path, without the query; `/` for an absolute-form target with an empty path.
    Path(&'a [u8]),
    /// A well-formed absolute URI of another scheme (`ftp://...`, `urn:...`): nothing this
    /// server has, but not a malformed request either.
    OtherScheme,
    /// `host:port` of a `CONNECT` (authority-form).
    Authority(&'a [u8]),
    /// `*` of an `OPTIONS` (asterisk-form): the server as a whole.
    Asterisk,
    /// None of the forms, or a form the method may not use: answer 400.
    Invalid,
}

/// Classify `target` as sent with `method`; see [`TargetForm`].
pub fn target_form<'a>(method: &[u8], target: &'a [u8]) -> TargetForm<'a> {
    let connect = method == b"CONNECT";
    if connect {
        // RFC 9112 §3.2.3: CONNECT takes authority-form and nothing else.
        return if is_authority_form(target) {
            TargetForm::Authority(target)
        } else {
            TargetForm::Invalid
        };
    }
    if target.first() == Some(&b'/') {
        return TargetForm::Path(before_query(target));
    }
    if target == b"*" {
        return if method == b"OPTIONS" {
            TargetForm::Asterisk
        } else {
            TargetForm::Invalid
        };
    }
    let Some(colon) = target.iter().position(|&b| b == b':') else {
        return TargetForm::Invalid;
    };
    let (scheme, rest) = (&target[..colon], &target[colon + 1..]);
    if !is_scheme(scheme) || is_authority_form(target) {
        // `host:port` with a method other than CONNECT, or no URI at all.
        return TargetForm::Invalid;
    }
    if !scheme.eq_ignore_ascii_case(b"http") && !scheme.eq_ignore_ascii_case(b"https") {
        return TargetForm::OtherScheme;
    }
    // http(s) URIs have `//authority` (RFC 9110 §4.2.1) with a non-empty host; userinfo is
    // deprecated there (§4.2.4) and a classic way to disguise a host, so it is refused.
    let Some(after) = rest.strip_prefix(b"//") else {
        return TargetForm::Invalid;
    };
    let end = after
        .iter()
        .position(|&b| b == b'/' || b == b'?')
        .unwrap_or(after.len());
    let authority = &after[..end];
    let host_empty = authority.is_empty() || authority[0] == b':';
    if host_empty || authority.contains(&b'@') {
        return TargetForm::Invalid;
    }
    match after[end..].first() {
        Some(b'/') => TargetForm::Path(before_query(&after[end..])),
        // An empty path is "/" (RFC 9112 §3.2.2).
        _ => TargetForm::Path(b"/"),
    }
}

fn before_query(target: &[u8]) -> &[u8] {
    match target.iter().position(|&b| b == b'?') {
        Some(q) => &target[..q],
        None => target,
    }
}

/// `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )` (RFC 3986 §3.1).
fn is_scheme(s: &[u8]) -> bool {
    s.first().is_some_and(u8::is_ascii_alphabetic)
        && s.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
}

/// `host:port` (RFC 9112 §3.2.3): a bracketed IP literal or a name without `/`, `?`, `@`,
/// then `:` and 1 to 5 digits.
fn is_authority_form(target: &[u8]) -> bool {
    let Some(colon) = target.iter().rposition(|&b| b == b':') else {
        return false;
    };
    let (host, port) = (&target[..colon], &target[colon + 1..]);
    let port_ok = (1..=5).contains(&port.len()) && port.iter().all(u8::is_ascii_digit);
    let host_ok = match host {
        [b'[', inner @ .., b']'] => inner
            .iter()
            .all(|&b| b.is_ascii_hexdigit() || b":.".contains(&b)),
        _ => !host.is_empty() && host.iter().all(|&b| !b"/?@#[]:".contains(&b)),
    };
    port_ok && host_ok
}

/// The validated header lines of a [`Request`], iterated as `(name, value)` pairs with the
/// value's surrounding whitespace trimmed. Re-scans the bytes: no storage needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Headers<'a> {
    raw: &'a [u8],
}

impl<'a> Iterator for Headers<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (line, rest) = split_line(self.raw)?;
            self.raw = rest;
            if line.is_empty() {
                return None;
            }
            // Lines were validated when the head was parsed: each has a colon.
            if let Some(colon) = line.iter().position(|&b| b == b':') {
                return Some((&line[..colon], trim(&line[colon + 1..])));
            }
        }
    }
}

/// Why a head was refused. Every variant means "answer the status and close": after a bad
/// head the position of the next request on the connection is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// The request line is not `method SP target SP HTTP/d.d`.
    BadRequestLine,
    /// A header line is malformed (no colon, bad name, control bytes, line folding).
    BadHeader,
    /// `Content-Length` is not a number, overflows, or disagrees with another one; or it
    /// comes together with `Transfer-Encoding`.
    BadContentLength,
    /// A well-formed version other than HTTP/1.0 and HTTP/1.1.
    VersionNotSupported,
    /// The head is longer than [`Limits::max_head`].
    HeadTooLarge,
    /// More header lines than [`Limits::max_headers`].
    TooManyHeaders,
}

impl ParseError {
    /// The status code to answer with.
    pub fn status(self) -> u16 {
        match self {
            ParseError::BadRequestLine | ParseError::BadHeader | ParseError::BadContentLength => {
                400
            }
            ParseError::VersionNotSupported => 505,
            ParseError::HeadTooLarge | ParseError::TooManyHeaders => 431,
        }
    }
}

/// Parse a request head from the start of `buf` with the default [`Limits`].
///
/// ```ignore
/// let (req, used) = parse_request(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap().unwrap();
/// assert_eq!((req.method, req.target, used), (&b"GET"[..], &b"/"[..], 27));
/// ```
#[allow(dead_code)] // The entry point for tests and fuzzers; the server passes its limits.
pub fn parse_request(buf: &[u8]) -> Result<Option<(Request<'_>, usize)>, ParseError> {
    parse_request_with(buf, &Limits::DEFAULT)
}

/// Parse a request head from the start of `buf` (see the module docs for the answers).
pub fn parse_request_with<'a>(
    buf: &'a [u8],
    limits: &Limits,
) -> Result<Option<(Request<'a>, usize)>, ParseError> {
    let mut rest = buf;
    // RFC 9112 §2.2: ignore empty lines before the request line (left over from a client
    // that sent a CRLF after a POST body, say).
    let request_line = loop {
        match split_line(rest) {
            Some(([], after)) => rest = after,
            Some((line, after)) => {
                rest = after;
                break line;
            }
            None => {
                // Refuse a broken request line now rather than when its line ends.
                check_request_line(strip_cr_at_end(rest), false)?;
                return incomplete(buf, limits);
            }
        }
    };
    let (method, target, version) = check_request_line(request_line, true)?;
    let Some(version) = version else {
        return Err(ParseError::BadRequestLine);
    };
    let headers_start = buf.len() - rest.len();

    let mut count = 0usize;
    let mut close = false;
    let mut keep_alive_token = false;
    let mut content_length: Option<u64> = None;
    let mut transfer_encoding = false;
    loop {
        let Some((line, after)) = split_line(rest) else {
            return incomplete(buf, limits);
        };
        rest = after;
        if line.is_empty() {
            break;
        }
        count += 1;
        if count > limits.max_headers {
            return Err(ParseError::TooManyHeaders);
        }
        let (name, value) = check_header(line)?;
        if name.eq_ignore_ascii_case(b"connection") {
            for token in value.split(|&b| b == b',').map(trim) {
                close |= token.eq_ignore_ascii_case(b"close");
                keep_alive_token |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if name.eq_ignore_ascii_case(b"content-length") {
            let n = parse_length(value)?;
            if content_length.is_some_and(|m| m != n) {
                return Err(ParseError::BadContentLength);
            }
            content_length = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            transfer_encoding = true;
        }
    }
    let consumed = buf.len() - rest.len();
    if consumed > limits.max_head {
        return Err(ParseError::HeadTooLarge);
    }
    let body = match (transfer_encoding, content_length) {
        // Both framings at once is how requests get smuggled past proxies: refuse.
        (true, Some(_)) => return Err(ParseError::BadContentLength),
        (true, None) => Body::TransferEncoded,
        (false, None | Some(0)) => Body::None,
        (false, Some(n)) => Body::Length(n),
    };
    let keep_alive = match version {
        Version::Http11 => !close,
        Version::Http10 => keep_alive_token && !close,
    };
    let headers = Headers {
        raw: buf.get(headers_start..consumed).unwrap_or_default(),
    };
    let request = Request {
        method,
        target,
        version,
        keep_alive,
        body,
        headers,
    };
    Ok(Some((request, consumed)))
}

/// The head is not complete yet: fine unless it is already too long to ever fit.
fn incomplete<T>(buf: &[u8], limits: &Limits) -> Result<Option<T>, ParseError> {
    if buf.len() >= limits.max_head {
        Err(ParseError::HeadTooLarge)
    } else {
        Ok(None)
    }
}

/// The first line of `buf` (without its CRLF or LF) and what follows it; `None` when no
/// line end has arrived yet.
fn split_line(buf: &[u8]) -> Option<(&[u8], &[u8])> {
    let lf = buf.iter().position(|&b| b == b'\n')?;
    let line = strip_cr_at_end(&buf[..lf]);
    Some((line, &buf[lf + 1..]))
}

fn strip_cr_at_end(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Method, target and (for a complete line) version.
type RequestLine<'a> = (&'a [u8], &'a [u8], Option<Version>);

/// Check a request line, or with `complete == false` the prefix of one that has arrived.
/// A complete line gives its parts; a valid prefix gives `Ok` with no version.
fn check_request_line(line: &[u8], complete: bool) -> Result<RequestLine<'_>, ParseError> {
    let bad = Err(ParseError::BadRequestLine);
    // method: 1*tchar, then one SP
    let method_len = line.iter().take_while(|&&b| is_tchar(b)).count();
    let after_method = &line[method_len..];
    if after_method.is_empty() {
        return if complete { bad } else { Ok((line, &[], None)) };
    }
    if method_len == 0 || after_method[0] != b' ' {
        return bad;
    }
    let method = &line[..method_len];
    // request-target: 1*(visible ASCII), then one SP
    let rest = &after_method[1..];
    let target_len = rest.iter().take_while(|&&b| is_vchar(b)).count();
    let after_target = &rest[target_len..];
    if after_target.is_empty() {
        return if complete {
            bad
        } else {
            Ok((method, rest, None))
        };
    }
    if target_len == 0 || after_target[0] != b' ' {
        return bad;
    }
    let target = &rest[..target_len];
    // HTTP-version: "HTTP/" DIGIT "." DIGIT, and nothing after it
    let version = &after_target[1..];
    let pattern_ok = version.iter().enumerate().all(|(i, &b)| match i {
        0..=4 => b == b"HTTP/"[i],
        5 | 7 => b.is_ascii_digit(),
        6 => b == b'.',
        _ => false,
    });
    if !pattern_ok {
        return bad;
    }
    if !complete {
        return Ok((method, target, None));
    }
    match version {
        b"HTTP/1.1" => Ok((method, target, Some(Version::Http11))),
        b"HTTP/1.0" => Ok((method, target, Some(Version::Http10))),
        v if v.len() == 8 => Err(ParseError::VersionNotSupported),
        _ => bad,
    }
}

/// Check one header line; give its name and trimmed value.
fn check_header(line: &[u8]) -> Result<(&[u8], &[u8]), ParseError> {
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or(ParseError::BadHeader)?;
    let name = &line[..colon];
    // An empty name, a space before the colon or a leading space (obsolete line folding)
    // all fail here: none of them is a token.
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return Err(ParseError::BadHeader);
    }
    let value = trim(&line[colon + 1..]);
    // field-value: visible bytes, obs-text (0x80..), SP and HTAB. A bare CR or a NUL would
    // let a header smuggle a line end past a downstream parser.
    if !value
        .iter()
        .all(|&b| b == b'\t' || b == b' ' || is_vchar(b) || b >= 0x80)
    {
        return Err(ParseError::BadHeader);
    }
    Ok((name, value))
}

/// A `Content-Length` value: 1 to 19 ASCII digits (no sign, no spaces, no list).
fn parse_length(value: &[u8]) -> Result<u64, ParseError> {
    if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
        return Err(ParseError::BadContentLength);
    }
    // 19 digits always fit in a u64, so no overflow check is needed.
    Ok(value
        .iter()
        .fold(0u64, |n, &d| n * 10 + u64::from(d - b'0')))
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// `tchar` of RFC 9110: the bytes of methods and header names.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Visible ASCII: the bytes of a request target.
fn is_vchar(b: u8) -> bool {
    (0x21..=0x7e).contains(&b)
}
