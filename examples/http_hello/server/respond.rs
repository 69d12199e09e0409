//! Writing answers: the status line, the fixed headers, the body; and the routing of one
//! request to its answer (`GET /` or an absolute-form target with path `/` is the only
//! thing served).

use super::super::date;
use super::super::parse::{Request, TargetForm, Version};

/// Write the answer to one request; returns whether the connection closes after it.
pub fn respond(out: &mut Batch<'_>, request: &Request<'_>) -> bool {
    let path = match request.target_form() {
        TargetForm::Path(path) => Some(path),
        TargetForm::OtherScheme | TargetForm::Asterisk => None,
        TargetForm::Authority(_) => {
            respond_error(out, 501);
            return true;
        }
        TargetForm::Invalid => {
            respond_error(out, 400);
            return true;
        }
    };
    let (status, body): (u16, &[u8]) = if request.method == b"GET" && path == Some(b"/") {
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

pub fn respond_error(out: &mut Batch<'_>, status: u16) {
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

/// Where the answers of one turn go, the date they carry, and how many there are.
pub struct Batch<'a> {
    /// The answers so far.
    pub out: &'a mut Vec<u8>,
    /// The `Date` header value they all carry.
    pub date: &'a [u8; date::LEN],
    /// How many answers `out` holds.
    pub answered: usize,
}

fn write_response(batch: &mut Batch<'_>, status: u16, body: &[u8], connection: ConnectionHeader) {
    batch.answered += 1;
    super::count_answer();
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
