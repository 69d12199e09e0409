//! A minimal RESP client for the example's tests: send commands, read reply frames. Not part
//! of the server (`main.rs` does not load it); the test files do, through the module tree.

use std::net::SocketAddr;

use corio::net::TcpStream;

use super::resp::{parse_frame, Frame, Limits};

/// One connection to a server.
pub struct Client {
    /// The socket, for tests that need more than commands (half-close, raw reads).
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    /// Connect to `addr`, Nagle off.
    ///
    /// # Panics
    /// If the connection fails (tests only).
    pub async fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    /// Send bytes as they are.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// The next reply frame; `None` on EOF (or a reset: the server closed on us).
    pub async fn frame(&mut self) -> Option<Frame> {
        loop {
            if let Some((frame, used)) = parse_frame(&self.buf, &Limits::DEFAULT).unwrap() {
                self.buf.drain(..used);
                return Some(frame);
            }
            let mut chunk = vec![0u8; 64 * 1024];
            let n = match self.stream.read(&mut chunk).await {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => 0,
                Err(e) => panic!("read: {e}"),
            };
            if n == 0 {
                assert!(self.buf.is_empty(), "EOF inside a frame: {:?}", self.buf);
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Send one command as a multibulk array and read its reply.
    pub async fn cmd(&mut self, args: &[&[u8]]) -> Frame {
        self.send_raw(&encode(args)).await;
        self.frame().await.expect("EOF instead of a reply")
    }
}

/// `args` as a multibulk array of bulk strings, the way client libraries send commands.
pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let command = Frame::Array(args.iter().map(|a| Frame::Bulk(a.to_vec())).collect());
    let mut out = Vec::new();
    command.encode(&mut out);
    out
}
