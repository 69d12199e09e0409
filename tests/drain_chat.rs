//! The `chat` example's graceful drain, in-process on loopback and paused time: lines
//! already broadcast to a slow reader are all delivered before `* server shutting down`
//! and EOF, idle clients are told and closed, and new connections are refused once the
//! drain starts. The timeout and second-signal logic is shared with the other servers
//! (`examples/drain/mod.rs`) and tested in tests/drain_echo.rs.

#[allow(dead_code)]
#[path = "../examples/chat"]
mod chat {
    pub mod outbox;
    pub mod server;
}

mod drain_support;

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::Duration;

use chat::server::{self, Config};
use corio::net::{TcpListener, TcpSocket, TcpStream};
use corio::sync::CancellationToken;
use corio::task::JoinHandle;
use corio::time::{sleep, timeout};
use drain_support::on_paused_time;

/// A room on a loopback listener whose accepted connections have Nagle off (on paused time
/// a line held back for a delayed ACK is invisible to auto-advance; see tests/example_chat.rs)
/// and a 4 KiB kernel send buffer, so that a slow reader's backlog waits in the server.
async fn start() -> (
    SocketAddr,
    CancellationToken,
    JoinHandle<std::io::Result<()>>,
) {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_nodelay(true).unwrap();
    socket.set_send_buffer_size(4096).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener: TcpListener = socket.listen(1024).unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    let server = corio::spawn(server::serve_until(
        listener,
        Config::default(),
        stop.clone(),
    ));
    (addr, stop, server)
}

/// Read until EOF, pausing `pause` between reads; panics on a reset.
async fn read_to_eof(stream: &mut TcpStream, pause: Duration) -> Vec<u8> {
    let mut all = Vec::new();
    let mut buf = vec![0u8; 4096];
    loop {
        let n = stream
            .read(&mut buf)
            .await
            .expect("closed gently, not reset");
        if n == 0 {
            return all;
        }
        all.extend_from_slice(&buf[..n]);
        if !pause.is_zero() {
            sleep(pause).await;
        }
    }
}

/// Read until `text` has arrived.
async fn read_until(stream: &mut TcpStream, text: &[u8]) {
    let mut all = Vec::new();
    let mut buf = vec![0u8; 4096];
    while !all.windows(text.len()).any(|w| w == text) {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "EOF before {:?}", String::from_utf8_lossy(text));
        all.extend_from_slice(&buf[..n]);
    }
}

#[test]
fn lines_queued_for_a_slow_reader_are_all_delivered_before_the_close() {
    on_paused_time(async {
        const LINES: usize = 400;
        let (addr, stop, server) = start().await;
        // A small receive window: the backlog waits in the reader's outbox, in the server.
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let mut reader = socket.connect(addr).await.unwrap();
        read_until(&mut reader, b"* welcome guest1").await;
        let mut sender = TcpStream::connect(addr).await.unwrap();
        sender.set_nodelay(true).unwrap();
        read_until(&mut sender, b"* welcome guest2").await;
        for i in 0..LINES {
            let line = format!("{i:04} {}\n", "x".repeat(1000));
            sender.write_all(line.as_bytes()).await.unwrap();
        }
        sleep(Duration::from_millis(10)).await;
        stop.cancel();
        let heard = read_to_eof(&mut reader, Duration::from_micros(200)).await;
        let heard = String::from_utf8(heard).unwrap();
        let lines: Vec<&str> = heard
            .lines()
            .filter(|l| l.starts_with("guest2: "))
            .collect();
        assert_eq!(lines.len(), LINES, "every line broadcast was delivered");
        for (i, line) in lines.iter().enumerate() {
            assert!(
                line.starts_with(&format!("guest2: {i:04} ")),
                "line {i} in order"
            );
        }
        assert!(
            heard.ends_with("* server shutting down\n"),
            "told last: {:?}",
            &heard[heard.len().saturating_sub(80)..]
        );
        let told = read_to_eof(&mut sender, Duration::ZERO).await;
        assert!(told.ends_with(b"* server shutting down\n"));
        timeout(Duration::from_secs(1), server)
            .await
            .expect("serve_until returns once every client is gone")
            .unwrap()
            .unwrap();
    });
}

#[test]
fn idle_clients_are_told_and_closed_by_the_drain_and_new_ones_refused() {
    on_paused_time(async {
        let (addr, stop, server) = start().await;
        let mut clients = Vec::new();
        for i in 1..=3 {
            let mut c = TcpStream::connect(addr).await.unwrap();
            read_until(&mut c, format!("* welcome guest{i}").as_bytes()).await;
            clients.push(c);
        }
        sleep(Duration::from_millis(1)).await;
        stop.cancel();
        sleep(Duration::from_millis(1)).await;
        let err = TcpStream::connect(addr)
            .await
            .expect_err("a connection after the drain started is refused");
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
        for c in &mut clients {
            let told = timeout(Duration::from_millis(10), read_to_eof(c, Duration::ZERO))
                .await
                .expect("an idle client is closed at once");
            let told = String::from_utf8(told).unwrap();
            assert!(told.ends_with("* server shutting down\n"), "{told:?}");
            assert!(
                !told.contains(" left"),
                "no leave notices during the drain: {told:?}"
            );
        }
        timeout(Duration::from_secs(1), server)
            .await
            .expect("serve_until returns")
            .unwrap()
            .unwrap();
    });
}
