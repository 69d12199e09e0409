//! The wire formats the fairness clients speak: what a canary sends for one round trip, what
//! a hog sends in one pipelined batch, and how to find where one reply ends.
//!
//! Not full parsers: just enough framing to count replies on a connection whose requests are
//! all the same. A reply the framing cannot make sense of is an error (the connection is
//! dropped and counted), never a panic: the bytes come from the network.

use crate::http;

/// Echo message size: what one canary round trip and one hog "reply" carry.
pub const ECHO_MESSAGE: usize = 64;

/// Echo messages per hog write (64 KiB: a full read buffer for every server variant).
const ECHO_BATCH: usize = 1024;

/// HTTP requests per hog write: the batch the hostile client used.
pub const HTTP_BATCH: usize = 3640;

/// PING + GET pairs per hog write (about 64 KiB).
const REDIS_BATCH: usize = 1500;

/// The key the redis hog reads (set once, before it starts, so every GET has the same reply).
const REDIS_KEY: &str = "corio-bench:fair";

/// A protocol a fairness client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    /// 64-byte messages echoed back (the `echo` example, the bench's echo servers).
    Echo,
    /// `GET / HTTP/1.1`, keep-alive (the `http_hello` example, the bench's http servers).
    Http,
    /// RESP `PING` and `GET` (the `mini_redis` example).
    Redis,
}

impl Proto {
    /// The name used on the command line and in the output.
    pub fn name(self) -> &'static str {
        match self {
            Proto::Echo => "echo",
            Proto::Http => "http",
            Proto::Redis => "redis",
        }
    }

    /// What a canary sends for one round trip.
    pub fn canary_request(self) -> Vec<u8> {
        match self {
            Proto::Echo => echo_message(),
            Proto::Http => http::REQUEST.to_vec(),
            Proto::Redis => resp_command(&["PING"]),
        }
    }

    /// A request sent once on a hog connection before it starts, and the reply it expects
    /// (so its pipelined GETs all read a known, short value).
    pub fn hog_setup(self) -> Option<(Vec<u8>, &'static [u8])> {
        match self {
            Proto::Redis => Some((resp_command(&["SET", REDIS_KEY, "hello"]), b"+OK\r\n")),
            Proto::Echo | Proto::Http => None,
        }
    }

    /// One pipelined hog write, and how many replies it asks for.
    pub fn hog_batch(self) -> (Vec<u8>, u64) {
        match self {
            Proto::Echo => (echo_message().repeat(ECHO_BATCH), ECHO_BATCH as u64),
            Proto::Http => (http::REQUEST.repeat(HTTP_BATCH), HTTP_BATCH as u64),
            Proto::Redis => {
                let mut pair = resp_command(&["PING"]);
                pair.extend_from_slice(&resp_command(&["GET", REDIS_KEY]));
                (pair.repeat(REDIS_BATCH), 2 * REDIS_BATCH as u64)
            }
        }
    }

    /// Length of the first complete reply at the start of `buf`, if it is all there.
    /// `request_len` is what the request was (an echo reply is as long as its request).
    pub fn reply_len(self, buf: &[u8], request_len: usize) -> Result<Option<usize>, String> {
        match self {
            Proto::Echo => Ok((buf.len() >= request_len).then_some(request_len)),
            Proto::Http => http::response_len(buf).map_err(str::to_owned),
            Proto::Redis => resp_len(buf),
        }
    }
}

fn echo_message() -> Vec<u8> {
    (0..ECHO_MESSAGE).map(|i| b'a' + (i % 26) as u8).collect()
}

/// A RESP array of bulk strings (what redis-cli sends).
fn resp_command(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n{arg}\r\n", arg.len()).as_bytes());
    }
    out
}

/// Replies longer than this are refused: the clients only ask for short ones.
const MAX_REPLY: usize = 1 << 20;

/// Length of one RESP reply: simple string, error, integer, bulk string or null. Arrays
/// are refused (PING and GET never answer with one).
fn resp_len(buf: &[u8]) -> Result<Option<usize>, String> {
    let Some(&kind) = buf.first() else {
        return Ok(None);
    };
    let Some(line_end) = buf.windows(2).position(|w| w == b"\r\n") else {
        if buf.len() > MAX_REPLY {
            return Err("a RESP reply line longer than 1 MiB".into());
        }
        return Ok(None);
    };
    let head = line_end + 2;
    match kind {
        b'+' | b'-' | b':' => Ok(Some(head)),
        b'$' => {
            let len: i64 = std::str::from_utf8(&buf[1..line_end])
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or("a RESP bulk length that is not a number")?;
            if len < 0 {
                return Ok(Some(head)); // $-1: null
            }
            let len = usize::try_from(len).map_err(|_| "a RESP bulk length out of range")?;
            if len > MAX_REPLY {
                return Err(format!("a {len}-byte RESP reply (more than asked for)"));
            }
            let total = head + len + 2;
            Ok((buf.len() >= total).then_some(total))
        }
        other => Err(format!(
            "an unexpected RESP reply type {:?}",
            char::from(other)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resp_replies_are_framed_by_type() {
        assert_eq!(resp_len(b"+PONG\r\n+PO"), Ok(Some(7)));
        assert_eq!(resp_len(b"+PON"), Ok(None));
        assert_eq!(resp_len(b"$5\r\nhello\r\n"), Ok(Some(11)));
        assert_eq!(resp_len(b"$5\r\nhel"), Ok(None));
        assert_eq!(resp_len(b"$-1\r\n"), Ok(Some(5)));
        assert_eq!(resp_len(b":12\r\n"), Ok(Some(5)));
        assert!(resp_len(b"$x\r\n").is_err());
        assert!(resp_len(b"*1\r\n").is_err());
        assert!(resp_len(b"$99999999999\r\n").is_err());
    }

    #[test]
    fn a_hog_batch_asks_for_as_many_replies_as_it_says() {
        for proto in [Proto::Echo, Proto::Http, Proto::Redis] {
            let (batch, replies) = proto.hog_batch();
            let one = proto.canary_request();
            assert!(
                batch.len() as u64 >= replies * one.len() as u64 / 2,
                "{proto:?}"
            );
        }
        let (batch, replies) = Proto::Http.hog_batch();
        assert_eq!(batch.len(), http::REQUEST.len() * HTTP_BATCH);
        assert_eq!(replies, HTTP_BATCH as u64);
        assert_eq!(resp_command(&["PING"]), b"*1\r\n$4\r\nPING\r\n");
    }
}
