//! The `chat` example under bursts (issue 11, "Fair under load"): many clients that read
//! promptly, all saying a line at once or all joining and leaving at once, must all stay
//! connected and receive everything; a client that never reads is still disconnected by the
//! backlog bound while the readers are not. In-process on loopback, each test bounded in time.
//!
//! Every test runs on paused virtual time: the clients are tasks on the room's loop, so
//! their loopback writes are ready at once and auto-advance moves the clock only when
//! everyone waits. The stall timeout is met on the virtual clock (a loaded machine cannot
//! make a reader look stalled), and the polling waits cost no wall time.

/// The example's own module tree.
#[allow(dead_code)]
#[path = "../examples/chat"]
mod chat {
    pub mod outbox;
    pub mod server;
}

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use corio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use corio::net::{TcpListener, TcpSocket, TcpStream};
use corio::task::JoinHandle;
use corio::time::{sleep, timeout};

use chat::server;

/// What a reading client saw, shared with the test body.
#[derive(Default)]
struct Seen {
    /// Every line, in order.
    lines: RefCell<Vec<String>>,
    /// The server closed the connection (EOF or reset).
    closed: Cell<bool>,
}

impl Seen {
    fn count(&self, pred: impl Fn(&str) -> bool) -> usize {
        self.lines.borrow().iter().filter(|l| pred(l)).count()
    }
}

/// Something to read a client's lines from: a whole stream or its read half.
trait Source {
    async fn read_some(&mut self, buf: &mut [u8]) -> std::io::Result<usize>;
}

impl Source for TcpStream {
    async fn read_some(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.read(buf).await
    }
}

impl Source for OwnedReadHalf {
    async fn read_some(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.read(buf).await
    }
}

/// Read lines from `stream` as fast as they come, into `seen`, until the server closes.
async fn read_promptly(mut stream: impl Source, seen: Rc<Seen>) {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        match stream.read_some(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        while let Some(lf) = buf.iter().position(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(&buf[..lf]).into_owned();
            buf.drain(..=lf);
            seen.lines.borrow_mut().push(line);
        }
    }
    seen.closed.set(true);
}

/// A client that reads in a task of its own; the test writes through `write`.
struct Reader {
    seen: Rc<Seen>,
    write: OwnedWriteHalf,
    task: JoinHandle<()>,
}

/// Connect a reading client and wait for its welcome.
async fn join_reading(addr: SocketAddr) -> Reader {
    let (read, write) = TcpStream::connect(addr).await.unwrap().into_split();
    let seen = Rc::new(Seen::default());
    let task = corio::spawn(read_promptly(read, seen.clone()));
    wait_for(
        || seen.count(|l| l.starts_with("* welcome ")) == 1,
        "a welcome",
    )
    .await;
    Reader { seen, write, task }
}

/// Poll `cond` every 5 ms; panic with `what` after 8 s.
async fn wait_for(cond: impl Fn() -> bool, what: &str) {
    let waited = timeout(Duration::from_secs(8), async {
        while !cond() {
            sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "timed out waiting for {what}");
}

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

/// Run `test` against a room on an ephemeral loopback port (first address) and a second
/// listener whose accepted connections get a 4 KiB kernel send buffer (second address: the
/// buffer sizes of a listener are inherited by its connections), so that what a client
/// there does not read piles up in the server rather than in the kernel. On paused time; at
/// most 20 s of it.
fn with_room<Fut: std::future::Future<Output = ()>>(
    config: server::Config,
    test: impl FnOnce(SocketAddr, SocketAddr) -> Fut,
) {
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
        timeout(Duration::from_secs(20), test(addr, small_addr))
            .await
            .expect("test timed out");
        servers.iter().for_each(|s| s.abort());
    });
}

fn is_disconnect(line: &str) -> bool {
    line.contains("was disconnected")
}

#[test]
fn two_hundred_reading_clients_saying_one_line_at_once_all_stay_and_get_every_line() {
    const N: usize = 200;
    with_room(server::Config::default(), |addr, _| async move {
        let mut clients = Vec::new();
        for _ in 0..N {
            clients.push(join_reading(addr).await);
        }
        // Everyone has heard of everyone who came after them: the room is settled.
        let last = &clients[N - 1];
        let first = &clients[0];
        wait_for(
            || first.seen.count(|l| l.ends_with(" joined")) == N - 1,
            "every join notice",
        )
        .await;
        assert_eq!(last.seen.count(|l| l.ends_with(" joined")), 0);

        // One line each, all written back to back without yielding to the server.
        for (i, c) in clients.iter().enumerate() {
            let n = c
                .write
                .try_write(format!("hello from {i}\n").as_bytes())
                .unwrap();
            assert!(n > 0);
        }
        let hellos = |c: &Reader| c.seen.count(|l| l.contains(": hello from "));
        wait_for(
            || {
                clients
                    .iter()
                    .all(|c| hellos(c) == N - 1 || c.seen.closed.get())
            },
            "the whole burst at every client",
        )
        .await;
        for (i, c) in clients.iter().enumerate() {
            assert!(!c.seen.closed.get(), "client {i} was disconnected");
            assert_eq!(hellos(c), N - 1, "client {i} got every other line");
            assert_eq!(
                c.seen.count(is_disconnect),
                0,
                "client {i}: nobody was kicked"
            );
        }
        for c in clients {
            c.task.abort();
        }
    });
}

#[test]
fn a_burst_of_five_hundred_joins_then_leaves_disconnects_no_reading_client() {
    const OBSERVERS: usize = 3;
    const BURST: usize = 500;
    with_room(server::Config::default(), |addr, _| async move {
        let mut observers = Vec::new();
        for _ in 0..OBSERVERS {
            observers.push(join_reading(addr).await);
        }
        let first = &observers[0];
        wait_for(
            || first.seen.count(|l| l.ends_with(" joined")) == OBSERVERS - 1,
            "the observers' joins",
        )
        .await;
        // 500 connects at once, each from a task of its own that then reads promptly.
        let mut burst = Vec::new();
        for _ in 0..BURST {
            let seen = Rc::new(Seen::default());
            let reading = seen.clone();
            let task = corio::spawn(async move {
                let stream = TcpStream::connect(addr).await.unwrap();
                read_promptly(stream, reading).await;
            });
            burst.push((seen, task));
        }
        // Observer i heard the observers after it join, then the whole burst.
        let joins = |i: usize| OBSERVERS - 1 - i + BURST;
        let joined = |o: &Reader| o.seen.count(|l| l.ends_with(" joined"));
        wait_for(
            || {
                observers
                    .iter()
                    .enumerate()
                    .all(|(i, o)| joined(o) == joins(i))
                    || observers.iter().any(|o| o.seen.closed.get())
            },
            "the burst's joins",
        )
        .await;
        for (i, o) in observers.iter().enumerate() {
            assert!(!o.seen.closed.get(), "observer {i} was disconnected");
            assert_eq!(joined(o), joins(i), "observer {i} heard every join");
        }
        // The burst clients were reading too: none was cut off.
        for (i, (seen, _)) in burst.iter().enumerate() {
            assert!(!seen.closed.get(), "burst client {i} was disconnected");
        }
        // Then all of them leave at once.
        for (_, task) in &burst {
            task.abort();
        }
        wait_for(
            || {
                observers
                    .iter()
                    .all(|o| o.seen.count(|l| l.ends_with(" left")) == BURST)
                    || observers.iter().any(|o| o.seen.closed.get())
            },
            "the burst's leave notices",
        )
        .await;
        for (i, o) in observers.iter().enumerate() {
            assert!(!o.seen.closed.get(), "observer {i} was disconnected");
            assert_eq!(
                o.seen.count(is_disconnect),
                0,
                "observer {i}: nobody kicked"
            );
            assert_eq!(o.seen.count(|l| l.ends_with(" left")), BURST);
        }
        // The room still works.
        observers[0].write.write_all(b"still here\n").await.unwrap();
        let o1 = &observers[1];
        wait_for(
            || o1.seen.count(|l| l == "guest1: still here") == 1,
            "a line after the burst",
        )
        .await;
    });
}

/// A client that never reads, with a small receive buffer (connect it to the small
/// listener) so that its backlog builds up in the server rather than in the kernel.
async fn connect_never_reading(addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(addr).await.unwrap()
}

/// The room settings for the slow-client tests: small bounds, so they trip within a second.
fn tight() -> server::Config {
    server::Config {
        stall_bytes: 16 * 1024,
        stall_timeout: Duration::from_millis(300),
        max_backlog: 256 * 1024,
        ..server::Config::default()
    }
}

#[test]
fn a_never_reading_client_is_cut_by_the_stall_timeout_while_readers_stay() {
    // Less traffic than the hard cap (max_backlog): only the time rule can cut it.
    const LINES: usize = 1000;
    with_room(tight(), |addr, small| async move {
        let stalled = connect_never_reading(small).await;
        let mut sender = join_reading(addr).await;
        let mut readers = Vec::new();
        for _ in 0..20 {
            readers.push(join_reading(addr).await);
        }
        let payload = "y".repeat(100);
        let t0 = corio::time::now();
        for i in 0..LINES {
            let line = format!("{i} {payload}\n");
            sender.write.write_all(line.as_bytes()).await.unwrap();
            if i % 50 == 0 {
                corio::task::yield_now().await;
            }
        }
        let kicked = |r: &Reader| {
            r.seen
                .count(|l| l == "* guest1 was disconnected (too slow)")
        };
        wait_for(
            || readers.iter().all(|r| kicked(r) == 1),
            "the stalled client's disconnection",
        )
        .await;
        // Virtual time: the cut came from the time rule, so not before the stall timeout.
        let cut = corio::time::now() - t0;
        assert!(cut >= tight().stall_timeout, "cut after {cut:?}");
        for (i, r) in readers.iter().enumerate() {
            assert!(!r.seen.closed.get(), "reader {i} was disconnected");
            assert_eq!(
                r.seen.count(is_disconnect),
                1,
                "reader {i}: only guest1 kicked"
            );
            assert_eq!(
                r.seen.count(|l| l.starts_with("guest2: ")),
                LINES,
                "reader {i}"
            );
        }
        drop(stalled);
    });
}

#[test]
fn a_never_reading_client_is_cut_by_the_backlog_cap_during_a_flood_while_readers_stay() {
    // Four times the hard cap, faster than the stall timeout can matter.
    const LINES: usize = 5000;
    let config = server::Config {
        stall_timeout: Duration::from_secs(60),
        ..tight()
    };
    with_room(config, |addr, small| async move {
        let stalled = connect_never_reading(small).await;
        let mut sender = join_reading(addr).await;
        let reader = join_reading(addr).await;
        let payload = "z".repeat(200);
        let mut burst = String::new();
        for i in 0..LINES {
            burst.push_str(&format!("{i} {payload}\n"));
        }
        sender.write.write_all(burst.as_bytes()).await.unwrap();
        wait_for(
            || reader.seen.count(|l| l.starts_with("guest2: ")) == LINES,
            "the whole flood at the reader",
        )
        .await;
        assert!(!reader.seen.closed.get());
        let lines = reader.seen.lines.borrow();
        let got: Vec<&String> = lines.iter().filter(|l| l.starts_with("guest2: ")).collect();
        for (i, line) in got.iter().enumerate() {
            assert_eq!(
                **line,
                format!("guest2: {i} {payload}"),
                "in order, none lost"
            );
        }
        assert_eq!(
            lines
                .iter()
                .filter(|l| *l == "* guest1 was disconnected (too slow)")
                .count(),
            1
        );
        drop(stalled);
    });
}
