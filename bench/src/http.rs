//! The HTTP workload's wire format: the one request the client sends, the one response every
//! server variant answers, and the tiny splitters both sides use. Not an HTTP parser: just
//! enough to find message boundaries on a keep-alive connection.

/// The request each client connection sends, one in flight at a time.
pub const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n";

/// The answer to every complete request (like the `http_hello` example).
pub const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, World!";

/// Longest request head a server keeps buffered before it gives up on the connection.
pub const MAX_HEAD: usize = 16 * 1024;

/// Count the complete requests (heads ending in a blank line; the benchmark's requests have
/// no body) at the start of `buf`. Returns `(requests, bytes consumed)`; bytes after the last
/// complete request are an incomplete one the caller keeps for the next read.
pub fn split_requests(buf: &[u8]) -> (usize, usize) {
    let mut count = 0;
    let mut consumed = 0;
    while let Some(end) = find_blank_line(&buf[consumed..]) {
        count += 1;
        consumed += end;
    }
    (count, consumed)
}

/// The fixed-buffer servers' step (threads, tokio, smol: one 4 KiB buffer per connection):
/// `buf[..*have]` holds what was read so far. Answer its complete requests into `out`
/// (cleared first), keep the incomplete rest at the front of `buf`, and fail once a request
/// head fills the whole buffer without ending.
pub fn answer_buffered(buf: &mut [u8], have: &mut usize, out: &mut Vec<u8>) -> std::io::Result<()> {
    let (requests, used) = split_requests(&buf[..*have]);
    buf.copy_within(used..*have, 0);
    *have -= used;
    if *have == buf.len() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "request head too long",
        ));
    }
    out.clear();
    for _ in 0..requests {
        out.extend_from_slice(RESPONSE);
    }
    Ok(())
}

/// Length of the first complete response in `buf` (head + `Content-Length` body), if all of
/// it is there. `Err` when the head is complete but has no usable `Content-Length`.
pub fn response_len(buf: &[u8]) -> Result<Option<usize>, &'static str> {
    let Some(head_len) = find_blank_line(buf) else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..head_len]).map_err(|_| "response head is not UTF-8")?;
    let body_len = head
        .split("\r\n")
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .ok_or("response has no Content-Length")?;
    let total = head_len + body_len;
    Ok((buf.len() >= total).then_some(total))
}

/// The offset just past the first `\r\n\r\n` in `buf`.
fn find_blank_line(buf: &[u8]) -> Option<usize> {
    buf.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|pos| pos + 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipelined_and_partial_requests_are_split() {
        let mut buf = REQUEST.repeat(3);
        buf.extend_from_slice(&REQUEST[..10]);
        assert_eq!(split_requests(&buf), (3, REQUEST.len() * 3));
        assert_eq!(split_requests(&REQUEST[..REQUEST.len() - 1]), (0, 0));
    }

    #[test]
    fn response_length_needs_the_whole_body() {
        assert_eq!(response_len(RESPONSE), Ok(Some(RESPONSE.len())));
        assert_eq!(response_len(&RESPONSE[..RESPONSE.len() - 1]), Ok(None));
        assert_eq!(response_len(&RESPONSE[..10]), Ok(None));
        assert!(response_len(b"HTTP/1.1 200 OK\r\n\r\n").is_err());
    }

    #[test]
    fn a_fixed_buffer_answers_whole_requests_and_keeps_the_rest() {
        let mut buf = vec![0u8; 4096];
        let mut out = Vec::new();
        let mut input = REQUEST.repeat(2);
        input.extend_from_slice(&REQUEST[..7]);
        buf[..input.len()].copy_from_slice(&input);
        let mut have = input.len();
        answer_buffered(&mut buf, &mut have, &mut out).unwrap();
        assert_eq!(out, RESPONSE.repeat(2));
        assert_eq!(
            &buf[..have],
            &REQUEST[..7],
            "the incomplete request moved to the front"
        );
        // A head that fills the buffer without ending is refused.
        let mut full = vec![b'x'; 4096];
        let mut have = full.len();
        let err = answer_buffered(&mut full, &mut have, &mut out).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    }
}
