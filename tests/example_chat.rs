//! The `chat` example, served in-process on an ephemeral loopback port: fan-out to every
//! other client, join/leave notices, the slow-client policy (a client that never reads is
//! disconnected and does not hold up anyone else), and over-long lines.
//!
//! Every test runs on paused virtual time: the clients are tasks on the room's loop, so
//! their loopback writes are ready at once and auto-advance moves the clock only when
//! everyone waits.

/// The example's own module tree.
#[allow(dead_code)]
#[path = "../examples/chat"]
mod chat {
    pub mod outbox;
    pub mod server;
}

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use corio::net::{TcpListener, TcpSocket, TcpStream};
use corio::time::timeout;

use chat::server;

/// A loopback listener whose accepted connections have Nagle off (TCP_NODELAY is inherited
/// from the listener on Linux), with `send_buffer` bytes of kernel send buffer if given.
///
/// Needed on paused time: the example server leaves Nagle on, so a small line written to a
/// client that has not yet ACKed the previous one waits in the kernel for its delayed ACK
/// (up to 40 ms on Linux). A zero-timeout look at the OS cannot see that data coming, so
/// auto-advance would jump the clock past it (to a `wait_for` or whole-test timeout) and a
/// reading client would look as if it got nothing. The backlog is `TcpListener::bind`'s
/// (1024): a connect over the backlog is retried by the kernel after 1 s, which a paused
/// clock cannot see either.
fn nodelay_listener(send_buffer: Option<u32>) -> TcpListener {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_nodelay(true).unwrap();
    if let Some(size) = send_buffer {
        socket.set_send_buffer_size(size).unwrap();
    }
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    socket.listen(1024).unwrap()
}

/// Run `test` against a room with a default listener (first address) and one whose
/// accepted connections get a 4 KiB kernel send buffer (second address; a listener's buffer
/// sizes are inherited by the connections it accepts). On paused time; at most 10 s of it.
fn with_room<F, Fut>(config: server::Config, test: F)
where
    F: FnOnce(SocketAddr, SocketAddr) -> Fut,
    Fut: Future<Output = ()>,
{
    let rt = corio::Runtime::builder()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async move {
        let listener = nodelay_listener(None);
        let addr = listener.local_addr().unwrap();
        let small = nodelay_listener(Some(4096));
        let small_addr = small.local_addr().unwrap();
        let room = server::Room::new(config);
        let servers = [
            corio::spawn(server::serve_room(listener, room.clone())),
            corio::spawn(server::serve_room(small, room)),
        ];
        timeout(Duration::from_secs(10), test(addr, small_addr))
            .await
            .expect("test timed out");
        servers.iter().for_each(|s| s.abort());
    });
}

/// A chat client reading whole lines.
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    /// Connect and read the welcome line.
    async fn join(addr: SocketAddr) -> Client {
        let mut c = Client::from(TcpStream::connect(addr).await.unwrap());
        let welcome = c.line().await.expect("a welcome line");
        assert!(welcome.starts_with("* welcome guest"), "{welcome}");
        c
    }

    fn from(stream: TcpStream) -> Client {
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    async fn say(&mut self, text: &str) {
        self.stream.write_all(text.as_bytes()).await.unwrap();
    }

    /// The next line without its LF; `None` at EOF (or a reset).
    async fn line(&mut self) -> Option<String> {
        loop {
            if let Some(lf) = self.buf.iter().position(|&b| b == b'\n') {
                let line = String::from_utf8(self.buf[..lf].to_vec()).unwrap();
                self.buf.drain(..=lf);
                return Some(line);
            }
            let mut chunk = [0u8; 8192];
            match self.stream.read(&mut chunk).await {
                Ok(0) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return None,
                Err(e) => panic!("{e}"),
            }
        }
    }

    /// Skip lines until one equal to `want`; panics at EOF.
    async fn expect(&mut self, want: &str) {
        loop {
            match self.line().await {
                Some(line) if line == want => return,
                Some(_) => {}
                None => panic!("EOF while waiting for {want:?}"),
            }
        }
    }
}

#[test]
fn lines_fan_out_to_every_other_client() {
    with_room(server::Config::default(), |addr, _| async move {
        let mut a = Client::join(addr).await;
        let mut b = Client::join(addr).await;
        a.expect("* guest2 joined").await;
        let mut c = Client::join(addr).await;
        a.expect("* guest3 joined").await;
        b.expect("* guest3 joined").await;

        // Two lines in one write, CRLF and LF endings, an empty line ignored.
        a.say("hello\r\n\nhow are you\n").await;
        for other in [&mut b, &mut c] {
            assert_eq!(other.line().await.unwrap(), "guest1: hello");
            assert_eq!(other.line().await.unwrap(), "guest1: how are you");
        }
        // A line split across writes arrives whole.
        b.say("fine, ").await;
        corio::time::sleep(Duration::from_millis(5)).await;
        b.say("thanks\n").await;
        c.say("me too\n").await;
        assert_eq!(a.line().await.unwrap(), "guest2: fine, thanks");
        assert_eq!(a.line().await.unwrap(), "guest3: me too");
        // The sender does not hear itself: the next thing b reads is c's line.
        assert_eq!(b.line().await.unwrap(), "guest3: me too");

        drop(c);
        a.expect("* guest3 left").await;
        b.expect("* guest3 left").await;
    });
}

#[test]
fn a_client_that_never_reads_is_disconnected_and_stalls_nobody() {
    const LINES: usize = 5000;
    let config = server::Config {
        stall_bytes: 16 * 1024,
        max_backlog: 64 * 1024,
        ..server::Config::default()
    };
    // Small kernel buffers on both ends of the stalled connection only, so that the kernel
    // does not absorb the burst for it (Linux grows a send buffer to 4 MiB even towards a
    // peer that never reads): its backlog reaches the cap after some tens of kilobytes. The healthy
    // clients have the default buffers.
    with_room(config, |addr, small_addr| async move {
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let mut stalled = Client::from(socket.connect(small_addr).await.unwrap());
        // Wait until it is in the room (its welcome is the first thing it was sent).
        assert!(stalled
            .line()
            .await
            .unwrap()
            .starts_with("* welcome guest1"));
        let mut sender = Client::join(addr).await;
        let mut reader = Client::join(addr).await;
        sender.expect("* guest3 joined").await;

        let started = Instant::now();
        let started_rt = corio::time::now();
        let payload = "x".repeat(200);
        let mut burst = String::new();
        for i in 0..LINES {
            burst.push_str(&format!("{i} {payload}\n"));
        }
        // The sender writes while the reader reads, in another task.
        let writer = corio::spawn(async move {
            sender.say(&burst).await;
            sender
        });
        let mut kicked = false;
        for i in 0..LINES {
            loop {
                let line = reader
                    .line()
                    .await
                    .expect("the reader keeps its connection");
                if line == "* guest1 was disconnected (too slow)" {
                    kicked = true;
                    continue;
                }
                assert_eq!(
                    line,
                    format!("guest2: {i} {payload}"),
                    "in order, none lost"
                );
                break;
            }
        }
        let elapsed = started.elapsed();
        let elapsed_rt = corio::time::now() - started_rt;
        assert!(
            kicked,
            "the stalled client was disconnected before the burst ended"
        );
        let mut sender = writer.await.unwrap();
        sender.expect("* guest1 was disconnected (too slow)").await;
        assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
        // On the virtual clock: the burst never waited for the stalled client's stall
        // timeout (5 s by default); the backlog cap cut it first.
        assert!(
            elapsed_rt < server::Config::default().stall_timeout,
            "the burst waited {elapsed_rt:?} of virtual time"
        );

        // The stalled client now reads: what was buffered for it, then EOF.
        let mut got = 0;
        while let Some(line) = stalled.line().await {
            if line.starts_with("guest2: ") {
                got += 1;
            }
        }
        assert!(got < LINES, "it was cut off, got {got}");

        // The room still works for those who stayed.
        reader.say("still here\n").await;
        sender.expect("guest3: still here").await;
    });
}

#[test]
fn an_over_long_line_disconnects_only_its_sender() {
    let config = server::Config {
        max_line: 100,
        ..server::Config::default()
    };
    with_room(config, |addr, _| async move {
        let mut rude = Client::join(addr).await;
        let mut polite = Client::join(addr).await;
        rude.expect("* guest2 joined").await;
        // Longer than the limit with no line end yet: refused without waiting for one.
        rude.say(&"y".repeat(500)).await;
        assert_eq!(rude.line().await.unwrap(), "* line too long; bye");
        assert_eq!(rude.line().await, None);
        polite.expect("* guest1 left").await;
        // Exactly at the limit is fine.
        let mut third = Client::join(addr).await;
        polite.expect("* guest3 joined").await;
        third.say(&format!("{}\r\n", "z".repeat(100))).await;
        assert_eq!(
            polite.line().await.unwrap(),
            format!("guest3: {}", "z".repeat(100))
        );
    });
}
