//! The `mini_redis` example against hostile clients (issue 11, "Fair under load"): the
//! parser keeps its place in a command that arrives in pieces; replies a client does not
//! read stay bounded; unfinished requests have size and time limits; idle connections close;
//! buffers give memory back; a pipelining client cannot run unbounded commands between
//! awaits. Bounds are checked through the counters the server keeps (`server::stats()`),
//! never through timing.
//!
//! Every test runs on paused virtual time: the clients are tasks on the server's loop, so
//! their loopback writes are ready at once and auto-advance only moves the clock when
//! client and server are both stuck. The idle and request timeouts are then met at their
//! deadline exactly, whatever the machine's load, and "until the server is stuck" means
//! the loop had nothing left to do.

/// The example's own module tree (`server.rs` finds `super::cmd`, `super::db`, ...).
#[allow(dead_code)]
#[path = "../examples/mini_redis"]
mod mini_redis {
    pub mod client;
    pub mod cmd;
    pub mod db;
    pub mod output;
    pub mod resp;
    pub mod server;
}

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use corio::net::TcpListener;
use corio::time::{self, sleep, timeout};
use mini_redis::client::{encode, Client};
use mini_redis::resp::{parse_command, CommandParser, Frame, Limits};
use mini_redis::server::{self, stats, Config, TURN_WORK};

/// Run `test` against a fresh server with `config`, on paused time; at most 20 s of it.
fn with_server<F, Fut>(config: Config, test: F)
where
    F: FnOnce(SocketAddr) -> Fut,
    Fut: Future<Output = ()>,
{
    let rt = corio::Runtime::builder()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = corio::spawn(server::serve(listener, config));
        timeout(Duration::from_secs(20), test(addr))
            .await
            .expect("test timed out");
        server.abort();
    });
}

/// Wait (bounded) until the server has stopped making progress: its command count has not
/// moved for several checks. Used before checking a bound, so the check sees the most the
/// server would do; a slow machine only makes it see less, never a false failure.
async fn until_server_is_stuck() {
    let give_up = time::now() + Duration::from_secs(5);
    let (mut last, mut still) = (u64::MAX, 0);
    while still < 5 && time::now() < give_up {
        sleep(Duration::from_millis(20)).await;
        let now = stats().commands;
        still = if now == last { still + 1 } else { 0 };
        last = now;
    }
}

fn ok() -> Frame {
    Frame::Simple(b"OK".to_vec())
}

fn is_error(frame: &Option<Frame>, prefix: &str) -> bool {
    matches!(frame, Some(Frame::Error(e)) if e.starts_with(prefix.as_bytes()))
}

/// `*N` of N one-byte arguments: the issue's `*1048576` case, smaller.
fn many_small_args(n: usize) -> Vec<u8> {
    let mut cmd = format!("*{n}\r\n").into_bytes();
    for _ in 0..n {
        cmd.extend_from_slice(b"$1\r\nx\r\n");
    }
    cmd
}

/// Feed `cmd` to one parser in pieces of `piece` bytes, as a server does read by read
/// (the buffer grows; earlier bytes stay). Returns the bytes examined in all.
fn feed_in_pieces(cmd: &[u8], piece: usize) -> u64 {
    let limits = Limits::DEFAULT;
    let mut parser = CommandParser::new();
    let mut end = 0;
    loop {
        end = (end + piece).min(cmd.len());
        match parser.parse(&cmd[..end], &limits) {
            Ok(None) => assert!(end < cmd.len(), "the whole command did not complete"),
            Ok(Some(used)) => {
                assert_eq!((used, end), (cmd.len(), cmd.len()), "completed early");
                // Same arguments as the stateless parser finds in the whole command.
                let mut args = Vec::new();
                parse_command(cmd, &mut args, &limits).unwrap();
                assert_eq!(parser.args(), &args[..]);
                return parser.examined();
            }
            Err(e) => panic!("{e:?} at {end}"),
        }
    }
}

#[test]
fn a_command_dripped_in_small_pieces_is_parsed_in_linear_work() {
    // 5,000 one-byte arguments (35 KB) in 14-byte pieces, as in the issue: re-parsing from
    // the start on every piece examines ~2,500 times the command (~45 M bytes).
    let cmd = many_small_args(5_000);
    let examined = feed_in_pieces(&cmd, 14);
    assert!(
        examined <= 2 * cmd.len() as u64,
        "examined {examined} bytes for a {}-byte command",
        cmd.len()
    );
    // The same command in one piece costs about the same.
    let whole = feed_in_pieces(&cmd, cmd.len());
    assert!(
        examined <= whole + cmd.len() as u64 / 4,
        "{examined} vs {whole}"
    );
}

#[test]
fn a_large_value_dripped_byte_by_byte_is_not_rescanned() {
    // A 64 KiB value one byte per read: its contents are skipped by length, never scanned.
    let value = vec![b'v'; 64 * 1024];
    let mut cmd = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n".to_vec();
    cmd.extend_from_slice(format!("${}\r\n", value.len()).as_bytes());
    cmd.extend_from_slice(&value);
    cmd.extend_from_slice(b"\r\n");
    let examined = feed_in_pieces(&cmd, 1);
    assert!(examined < 100, "examined {examined} bytes");
    // An inline command dripped byte by byte: each byte is looked at a bounded number of times.
    let mut inline = b"SET k ".to_vec();
    inline.extend_from_slice(&vec![b'i'; 60 * 1024]);
    inline.extend_from_slice(b"\r\n");
    let examined = feed_in_pieces(&inline, 1);
    assert!(
        examined <= 3 * inline.len() as u64,
        "inline: examined {examined}"
    );
}

#[test]
fn the_incremental_parser_agrees_with_the_stateless_one_at_every_split() {
    let limits = Limits {
        max_bulk: 16,
        max_array: 4,
        max_inline: 8,
        max_depth: 3,
    };
    let cases: [&[u8]; 12] = [
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\nPING",
        b"*2\r\n$4\r\nECHO\r\n$3\r\na\r\n\r\n",
        b"PING  x\tyy\r\n",
        b"\r\n",
        b"*0\r\n",
        b"*-1\r\n",
        b"*5\r\n",
        b"*1\r\n$17\r\n",
        b"*1\r\n$3\r\nabcd\r\n",
        b"*1\r\n:1\r\n",
        b"*1\r\n$123456789\r",
        b"averyverylonginline\r\n",
    ];
    for case in cases {
        let mut args = Vec::new();
        let whole = parse_command(case, &mut args, &limits);
        for piece in 1..=case.len() {
            let mut parser = CommandParser::new();
            let mut end = 0;
            let answer = loop {
                end = (end + piece).min(case.len());
                let answer = parser.parse(&case[..end], &limits);
                if answer != Ok(None) || end == case.len() {
                    break answer;
                }
            };
            let name = case.escape_ascii().to_string();
            assert_eq!(answer, whole, "{name} in pieces of {piece}");
            if whole.is_ok_and(|w| w.is_some()) {
                assert_eq!(parser.args(), &args[..], "{name} in pieces of {piece}");
            }
        }
    }
}

// ---- the server ----

#[test]
fn replies_to_pipelined_gets_a_client_does_not_read_stay_bounded() {
    // The issue's attack: `SET k <1 MB>`, then 3,000 x `GET k` in one send (42 KB), never
    // reading. Before: every reply was built in one buffer (3 GB) before any was sent.
    const GETS: usize = 3000;
    let config = Config::default();
    let bound = config.max_pending_reply;
    with_server(config, |addr| async move {
        let value = vec![b'v'; 1_000_000];
        let mut c = Client::connect(addr).await;
        assert_eq!(c.cmd(&[b"SET", b"k", &value]).await, ok());
        let batch = encode(&[b"GET", b"k"]).repeat(GETS);
        c.send_raw(&batch).await;
        until_server_is_stuck().await;
        let s = stats();
        assert!(s.commands >= 2, "the server ran some GETs: {s:?}");
        assert!(
            (s.commands as usize) < GETS,
            "all GETs ran although nothing was read: {s:?}"
        );
        assert!(
            s.peak_unsent_reply < bound + value.len() + 64,
            "unsent replies reached {} (bound {bound} + one reply)",
            s.peak_unsent_reply
        );
        // The large value is sent from the stored copy: the connection's own buffers stay small.
        assert!(s.held < 256 * 1024, "buffers held: {s:?}");
        // Reading resumes the pipeline, in order and whole.
        for _ in 0..5 {
            assert_eq!(c.frame().await, Some(Frame::Bulk(value.clone())));
        }
    });
}

#[test]
fn pipelined_large_replies_arrive_whole_and_in_order_through_backpressure() {
    with_server(Config::default(), |addr| async move {
        let value: Vec<u8> = (0..300_000).map(|i| (i % 251) as u8).collect();
        let mut c = Client::connect(addr).await;
        assert_eq!(c.cmd(&[b"SET", b"big", &value]).await, ok());
        let mut batch = Vec::new();
        for _ in 0..40 {
            batch.extend_from_slice(&encode(&[b"GET", b"big"]));
            batch.extend_from_slice(&encode(&[b"INCR", b"n"]));
        }
        c.send_raw(&batch).await;
        for i in 1..=40 {
            assert_eq!(c.frame().await, Some(Frame::Bulk(value.clone())), "GET {i}");
            assert_eq!(c.frame().await, Some(Frame::Integer(i)), "INCR {i}");
        }
        // A SET while the old value may still be queued: the new one is what GET sees.
        assert_eq!(c.cmd(&[b"SET", b"big", b"small"]).await, ok());
        assert_eq!(
            c.cmd(&[b"GET", b"big"]).await,
            Frame::Bulk(b"small".to_vec())
        );
    });
}

#[test]
fn an_unfinished_request_over_the_limit_is_refused_and_the_connection_closed() {
    let config = Config {
        max_request: 64 * 1024,
        ..Config::default()
    };
    with_server(config, |addr| async move {
        let mut c = Client::connect(addr).await;
        assert_eq!(c.cmd(&[b"PING"]).await, Frame::Simple(b"PONG".to_vec()));
        // A 1 MB value is allowed per bulk string, but not per unfinished request.
        c.send_raw(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1000000\r\n")
            .await;
        // The writes may fail once the server has closed; that is the point.
        let chunk = vec![b'x'; 16 * 1024];
        for _ in 0..16 {
            if c.stream.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let reply = c.frame().await;
        assert!(
            is_error(&reply, "ERR Protocol error: request too large"),
            "{reply:?}"
        );
        assert_eq!(c.frame().await, None, "closed after the error");
        let held = stats().peak_unfinished_request;
        assert!(
            held <= 64 * 1024 + 64 * 1024,
            "held {held} of an unfinished request"
        );
        // A bulk over max_bulk is refused at its header, before its bytes arrive.
        let mut c = Client::connect(addr).await;
        let header = format!("*2\r\n$4\r\nECHO\r\n${}\r\n", Limits::DEFAULT.max_bulk + 1);
        c.send_raw(header.as_bytes()).await;
        let reply = c.frame().await;
        assert!(
            is_error(&reply, "ERR Protocol error: invalid bulk length"),
            "{reply:?}"
        );
        assert_eq!(c.frame().await, None);
    });
}

#[test]
fn an_idle_connection_is_closed_after_the_idle_timeout() {
    let config = Config {
        idle_timeout: Duration::from_millis(300),
        ..Config::default()
    };
    with_server(config, |addr| async move {
        let mut idle = Client::connect(addr).await;
        assert_eq!(idle.cmd(&[b"PING"]).await, Frame::Simple(b"PONG".to_vec()));
        let quiet_since = time::now();
        assert_eq!(idle.frame().await, None, "the idle connection is closed");
        let quiet = time::now() - quiet_since;
        assert!(
            quiet >= Duration::from_millis(300),
            "closed early: {quiet:?}"
        );
        assert_eq!(quiet, Duration::from_millis(300), "closed late");
        assert_eq!(stats().timed_out, 1);
        // A client that holds an unread reply is not kept forever either.
        let mut stuck = Client::connect(addr).await;
        assert_eq!(stuck.cmd(&[b"SET", b"k", &vec![b'v'; 4 << 20]]).await, ok());
        stuck.send_raw(&encode(&[b"GET", b"k"]).repeat(8)).await;
        let stuck_since = time::now();
        let give_up = stuck_since + Duration::from_secs(10);
        while stats().timed_out < 2 && time::now() < give_up {
            sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(stats().timed_out, 2, "the non-reading client was closed");
        let stuck = time::now() - stuck_since;
        assert!(
            stuck >= Duration::from_millis(300),
            "the non-reading client was closed early: {stuck:?}"
        );
        assert_eq!(stats().connections, 0);
    });
}

#[test]
fn an_unfinished_request_is_closed_after_the_request_timeout_however_it_drips() {
    let config = Config {
        request_timeout: Duration::from_millis(300),
        ..Config::default()
    };
    with_server(config, |addr| async move {
        let mut c = Client::connect(addr).await;
        let started = time::now();
        c.send_raw(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100000\r\n")
            .await;
        // One byte every 20 ms is activity, but the request never gets done in time.
        for _ in 0..250 {
            if stats().timed_out > 0 || c.stream.write_all(b"x").await.is_err() {
                break;
            }
            sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(stats().timed_out, 1, "the dripping request was cut");
        let took = time::now() - started;
        assert!(took >= Duration::from_millis(300), "cut early: {took:?}");
        assert_eq!(took, Duration::from_millis(300), "cut late");
        assert_eq!(c.frame().await, None);
        // A complete command restarts nothing: a later unfinished one gets its own time.
        let mut c = Client::connect(addr).await;
        assert_eq!(c.cmd(&[b"PING"]).await, Frame::Simple(b"PONG".to_vec()));
    });
}

#[test]
fn a_pipelining_client_runs_a_bounded_number_of_commands_between_awaits() {
    with_server(Config::default(), |addr| async move {
        let mut hog = Client::connect(addr).await;
        // 20,000 inline PINGs (120 KB): a 64 KiB read holds ~11,000 of them.
        hog.send_raw(&b"PING\r\n".repeat(20_000)).await;
        for _ in 0..20_000 {
            assert_eq!(hog.frame().await, Some(Frame::Simple(b"PONG".to_vec())));
        }
        let work = stats().peak_turn_work;
        assert!(work <= TURN_WORK + 1, "{work} commands+args in one turn");
    });
}

#[test]
fn buffers_are_given_back_after_a_burst() {
    with_server(Config::default(), |addr| async move {
        let mut c = Client::connect(addr).await;
        let big = vec![b'b'; 3 << 20];
        assert_eq!(c.cmd(&[b"SET", b"big", &big]).await, ok());
        assert_eq!(c.cmd(&[b"GET", b"big"]).await, Frame::Bulk(big));
        // A burst of small replies that grows the reply buffer past its pooled size.
        c.send_raw(&encode(&[b"ECHO", &[b'e'; 200 * 1024]]).repeat(2))
            .await;
        c.frame().await;
        c.frame().await;
        assert_eq!(c.cmd(&[b"PING"]).await, Frame::Simple(b"PONG".to_vec()));
        let s = stats();
        assert!(s.peak_unfinished_request >= 2 << 20, "{s:?}");
        // What is left is the small argument list and piece list kept for reuse.
        assert!(
            s.held <= 1024,
            "an idle connection keeps its burst buffers: {s:?}"
        );
    });
}

#[test]
fn a_client_that_closes_its_side_still_gets_its_replies() {
    with_server(Config::default(), |addr| async move {
        let mut c = Client::connect(addr).await;
        let value = vec![b'v'; 100_000];
        let mut batch = encode(&[b"SET", b"k", &value]);
        batch.extend_from_slice(&encode(&[b"GET", b"k"]).repeat(20));
        c.send_raw(&batch).await;
        c.stream.shutdown(std::net::Shutdown::Write).unwrap();
        assert_eq!(c.frame().await, Some(ok()));
        for _ in 0..20 {
            assert_eq!(c.frame().await, Some(Frame::Bulk(value.clone())));
        }
        assert_eq!(c.frame().await, None);
    });
}
