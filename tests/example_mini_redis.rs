//! The `mini_redis` example, served in-process on an ephemeral loopback port: command
//! semantics, expiry on corio timers (lazy and active), errors that keep the connection,
//! malformed RESP that closes only its own connection, pipelining and split commands,
//! `MGET`/`MSET`/`DBSIZE`/`FLUSHDB`. Also the RESP codec on its own. Hostile clients and the
//! server's bounds: `example_mini_redis_limits.rs`.
//!
//! Every test runs on paused virtual time (the clients are tasks on the same loop, so their
//! loopback writes are ready at once and auto-advance never races them): a TTL expires when
//! the clock reaches it, not when a loaded machine gets round to it, and no wall time is
//! spent waiting. The real clock path of the server's timers is left to `soak.rs` and the
//! scripts that run the binary.

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
use std::rc::Rc;
use std::time::Duration;

use corio::net::TcpListener;
use corio::time::{self, sleep, timeout};
use mini_redis::client::{encode, Client};
use mini_redis::resp::{parse_command, parse_frame, Frame, Limits, RespError};
use mini_redis::{db, server};

/// Run `test` against a fresh server sharing `db`, on paused time; at most 10 s of it.
fn with_server<F, Fut>(test: F)
where
    F: FnOnce(SocketAddr, Rc<db::Db>) -> Fut,
    Fut: Future<Output = ()>,
{
    let rt = corio::Runtime::builder()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let db = db::Db::new();
        let server = corio::spawn(server::serve_with(
            listener,
            db.clone(),
            server::Config::default(),
        ));
        timeout(Duration::from_secs(10), test(addr, db))
            .await
            .expect("test timed out");
        server.abort();
    });
}

fn ok() -> Frame {
    Frame::Simple(b"OK".to_vec())
}

fn bulk(s: &[u8]) -> Frame {
    Frame::Bulk(s.to_vec())
}

fn int(n: i64) -> Frame {
    Frame::Integer(n)
}

fn is_error(frame: &Frame, prefix: &str) -> bool {
    matches!(frame, Frame::Error(e) if e.starts_with(prefix.as_bytes()))
}

#[test]
fn strings_counters_and_keys_behave_like_redis() {
    with_server(|addr, _db| async move {
        let mut c = Client::connect(addr).await;
        assert_eq!(c.cmd(&[b"PING"]).await, Frame::Simple(b"PONG".to_vec()));
        assert_eq!(c.cmd(&[b"ping", b"hi"]).await, bulk(b"hi"));
        assert_eq!(c.cmd(&[b"ECHO", b"a\r\nb"]).await, bulk(b"a\r\nb"));
        assert_eq!(c.cmd(&[b"GET", b"k"]).await, Frame::Null);
        assert_eq!(c.cmd(&[b"SET", b"k", b"v1"]).await, ok());
        assert_eq!(c.cmd(&[b"set", b"k", b"v2"]).await, ok());
        assert_eq!(c.cmd(&[b"GET", b"k"]).await, bulk(b"v2"));
        assert_eq!(c.cmd(&[b"SET", b"k", b"x", b"NX"]).await, Frame::Null);
        assert_eq!(c.cmd(&[b"SET", b"new", b"x", b"XX"]).await, Frame::Null);
        assert_eq!(c.cmd(&[b"SET", b"new", b"x", b"nx"]).await, ok());
        assert_eq!(
            c.cmd(&[b"EXISTS", b"k", b"k", b"nope", b"new"]).await,
            int(3)
        );
        assert_eq!(c.cmd(&[b"DEL", b"k", b"nope", b"new"]).await, int(2));
        assert_eq!(c.cmd(&[b"EXISTS", b"k"]).await, int(0));

        assert_eq!(c.cmd(&[b"INCR", b"n"]).await, int(1));
        assert_eq!(c.cmd(&[b"INCR", b"n"]).await, int(2));
        assert_eq!(c.cmd(&[b"SET", b"n", b"-10"]).await, ok());
        assert_eq!(c.cmd(&[b"INCR", b"n"]).await, int(-9));
        assert_eq!(c.cmd(&[b"GET", b"n"]).await, bulk(b"-9"));
        for not_a_number in [&b"abc"[..], b"1.5", b" 1", b"", b"99999999999999999999"] {
            c.cmd(&[b"SET", b"s", not_a_number]).await;
            let reply = c.cmd(&[b"INCR", b"s"]).await;
            assert!(is_error(&reply, "ERR value is not an integer"), "{reply:?}");
        }
        c.cmd(&[b"SET", b"max", i64::MAX.to_string().as_bytes()])
            .await;
        assert!(is_error(&c.cmd(&[b"INCR", b"max"]).await, "ERR increment"));

        // Errors keep the connection usable.
        let reply = c.cmd(&[b"FLUSHALL", b"now"]).await;
        assert_eq!(
            reply,
            Frame::Error(
                b"ERR unknown command 'FLUSHALL', with args beginning with: 'now' ".to_vec()
            )
        );
        let reply = c.cmd(&[b"GET"]).await;
        assert_eq!(
            reply,
            Frame::Error(b"ERR wrong number of arguments for 'get' command".to_vec())
        );
        assert!(is_error(
            &c.cmd(&[b"SET", b"k", b"v", b"BOGUS"]).await,
            "ERR syntax error"
        ));
        assert!(is_error(
            &c.cmd(&[b"SET", b"k", b"v", b"NX", b"XX"]).await,
            "ERR syntax"
        ));
        assert_eq!(c.cmd(&[b"PING"]).await, Frame::Simple(b"PONG".to_vec()));
    });
}

#[test]
fn mget_mset_dbsize_and_flushdb_behave_like_redis() {
    with_server(|addr, db| async move {
        let mut c = Client::connect(addr).await;
        assert_eq!(c.cmd(&[b"DBSIZE"]).await, int(0));
        assert_eq!(
            c.cmd(&[b"MSET", b"a", b"1", b"b", b"2", b"a", b"3"]).await,
            ok()
        );
        assert_eq!(
            c.cmd(&[b"dbsize"]).await,
            int(2),
            "a key set twice counts once"
        );
        let big = vec![b'B'; 100_000];
        assert_eq!(c.cmd(&[b"SET", b"big", &big, b"EX", b"100"]).await, ok());
        assert_eq!(
            c.cmd(&[b"MGET", b"a", b"nope", b"b", b"big", b"a"]).await,
            Frame::Array(vec![
                bulk(b"3"),
                Frame::Null,
                bulk(b"2"),
                Frame::Bulk(big),
                bulk(b"3")
            ])
        );
        // MSET clears a deadline, as SET does.
        assert_eq!(c.cmd(&[b"MSET", b"big", b"small"]).await, ok());
        assert_eq!(c.cmd(&[b"TTL", b"big"]).await, int(-1));
        assert_eq!(c.cmd(&[b"DBSIZE"]).await, int(3));
        for bad in [
            &[&b"MSET"[..], b"a"][..],
            &[b"MSET", b"a", b"1", b"b"],
            &[b"MGET"],
        ] {
            let reply = c.cmd(bad).await;
            assert!(
                is_error(&reply, "ERR wrong number of arguments"),
                "{reply:?}"
            );
        }
        assert!(is_error(
            &c.cmd(&[b"DBSIZE", b"x"]).await,
            "ERR wrong number"
        ));
        assert!(is_error(
            &c.cmd(&[b"FLUSHDB", b"LATER"]).await,
            "ERR syntax error"
        ));
        assert_eq!(c.cmd(&[b"SET", b"t", b"v", b"PX", b"50"]).await, ok());
        assert_eq!(c.cmd(&[b"FLUSHDB"]).await, ok());
        assert_eq!(c.cmd(&[b"DBSIZE"]).await, int(0));
        assert_eq!(db.len(), 0);
        assert_eq!(c.cmd(&[b"GET", b"a"]).await, Frame::Null);
        assert_eq!(c.cmd(&[b"MSET", b"x", b"1"]).await, ok());
        assert_eq!(c.cmd(&[b"flushdb", b"async"]).await, ok());
        assert_eq!(c.cmd(&[b"DBSIZE"]).await, int(0));
        // The purger survives a flush that took its deadline away.
        assert_eq!(c.cmd(&[b"SET", b"t", b"v", b"PX", b"30"]).await, ok());
        let give_up = time::now() + Duration::from_secs(5);
        while db.len() > 0 && time::now() < give_up {
            sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(db.len(), 0, "the purger still deletes expired keys");
    });
}

#[test]
fn config_get_answers_what_redis_benchmark_asks() {
    with_server(|addr, _db| async move {
        let mut c = Client::connect(addr).await;
        let pair = |k: &[u8], v: &[u8]| Frame::Array(vec![bulk(k), bulk(v)]);
        assert_eq!(
            c.cmd(&[b"CONFIG", b"GET", b"save"]).await,
            pair(b"save", b"")
        );
        assert_eq!(
            c.cmd(&[b"config", b"get", b"APPENDONLY"]).await,
            pair(b"appendonly", b"no")
        );
        assert_eq!(
            c.cmd(&[b"CONFIG", b"GET", b"nosuch"]).await,
            Frame::Array(vec![])
        );
        match c.cmd(&[b"CONFIG", b"GET", b"*"]).await {
            Frame::Array(items) => assert!(items.len() >= 4 && items.len() % 2 == 0),
            other => panic!("{other:?}"),
        }
        assert!(is_error(
            &c.cmd(&[b"CONFIG", b"SET", b"x", b"y"]).await,
            "ERR unknown subcommand"
        ));
        assert_eq!(c.cmd(&[b"COMMAND", b"DOCS"]).await, Frame::Array(vec![]));
        assert_eq!(c.cmd(&[b"QUIT"]).await, ok());
        assert_eq!(c.frame().await, None, "QUIT closes");
    });
}

#[test]
fn keys_expire_on_corio_timers() {
    with_server(|addr, db| async move {
        let mut c = Client::connect(addr).await;
        assert_eq!(c.cmd(&[b"SET", b"ex", b"v", b"EX", b"100"]).await, ok());
        assert_eq!(c.cmd(&[b"TTL", b"ex"]).await, int(100));
        assert_eq!(c.cmd(&[b"SET", b"px", b"v", b"px", b"80"]).await, ok());
        // 80 ms rounds to 0 s; the paused clock has not moved since the SET.
        assert_eq!(c.cmd(&[b"TTL", b"px"]).await, int(0));
        assert_eq!(c.cmd(&[b"TTL", b"nope"]).await, int(-2));
        assert!(is_error(
            &c.cmd(&[b"SET", b"k", b"v", b"EX", b"0"]).await,
            "ERR invalid expire"
        ));
        assert!(is_error(
            &c.cmd(&[b"SET", b"k", b"v", b"PX", b"-1"]).await,
            "ERR invalid expire"
        ));
        assert!(is_error(
            &c.cmd(&[b"SET", b"k", b"v", b"EX", b"x"]).await,
            "ERR value is not"
        ));
        assert!(is_error(
            &c.cmd(&[b"SET", b"k", b"v", b"EX"]).await,
            "ERR syntax"
        ));

        // EXPIRE gives and moves deadlines; a plain SET clears one; INCR keeps one.
        assert_eq!(c.cmd(&[b"EXPIRE", b"nope", b"10"]).await, int(0));
        assert_eq!(c.cmd(&[b"SET", b"e", b"1"]).await, ok());
        assert_eq!(c.cmd(&[b"TTL", b"e"]).await, int(-1));
        assert_eq!(c.cmd(&[b"EXPIRE", b"e", b"50"]).await, int(1));
        assert_eq!(c.cmd(&[b"INCR", b"e"]).await, int(2));
        assert_eq!(c.cmd(&[b"TTL", b"e"]).await, int(50));
        assert_eq!(c.cmd(&[b"SET", b"e", b"1"]).await, ok());
        assert_eq!(c.cmd(&[b"TTL", b"e"]).await, int(-1));
        assert!(is_error(
            &c.cmd(&[b"EXPIRE", b"e", b"soon"]).await,
            "ERR value is not"
        ));
        assert_eq!(c.cmd(&[b"EXPIRE", b"e", b"0"]).await, int(1));
        assert_eq!(c.cmd(&[b"EXISTS", b"e"]).await, int(0), "EXPIRE 0 deletes");

        // The PX key is gone once its deadline passes, to readers and to the purger.
        assert_eq!(db.len(), 2);
        let t0 = time::now();
        sleep(Duration::from_millis(79)).await;
        assert_eq!(db.len(), 2, "the PX key was purged before its deadline");
        sleep(Duration::from_millis(150 - 79)).await;
        assert_eq!(time::now() - t0, Duration::from_millis(150));
        assert_eq!(
            db.len(),
            1,
            "the purger deleted the unread key on its timer"
        );
        assert_eq!(c.cmd(&[b"GET", b"px"]).await, Frame::Null);
        assert_eq!(c.cmd(&[b"TTL", b"px"]).await, int(-2));
        assert_eq!(c.cmd(&[b"GET", b"ex"]).await, bulk(b"v"));
    });
}

#[test]
fn an_earlier_deadline_wakes_the_purger_and_mass_expiry_is_batched() {
    with_server(|addr, db| async move {
        let mut c = Client::connect(addr).await;
        // The purger first sleeps towards a far deadline...
        c.cmd(&[b"SET", b"late", b"v", b"EX", b"60"]).await;
        sleep(Duration::from_millis(10)).await;
        // ...then many keys expire soon, more than one purge batch. The server stamps
        // them no earlier than `sent`, so none can expire before `sent + TTL`.
        const TTL_MS: u64 = 300;
        let mut batch = Vec::new();
        for i in 0..2500 {
            batch.extend_from_slice(&encode(&[
                b"SET",
                format!("k{i}").as_bytes(),
                b"v",
                b"PX",
                TTL_MS.to_string().as_bytes(),
            ]));
        }
        let sent = time::now();
        c.send_raw(&batch).await;
        for _ in 0..2500 {
            assert_eq!(c.frame().await, Some(ok()));
        }
        // Paused time does not move while the loopback I/O flows (on real time a loaded
        // machine could take longer than the TTL, and this check was skipped then).
        assert_eq!(time::now(), sent);
        assert_eq!(db.len(), 2501, "nothing expired before its deadline");
        sleep(Duration::from_millis(TTL_MS - 1)).await;
        assert_eq!(db.len(), 2501, "nothing expired before its deadline");
        // Nobody reads the keys: only the purger can delete them, at their deadline.
        sleep(Duration::from_millis(1)).await;
        let give_up = sent + Duration::from_secs(5);
        while db.len() > 1 && time::now() < give_up {
            sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(db.len(), 1, "only the late key is left");
        // TTL rounds up to whole seconds; at most ~5 s went by.
        let ttl = c.cmd(&[b"TTL", b"late"]).await;
        assert!(matches!(ttl, Frame::Integer(54..=60)), "{ttl:?}");
    });
}

#[test]
fn malformed_resp_closes_only_its_own_connection() {
    let cases: [&[u8]; 6] = [
        b"*x\r\n",
        b"*1\r\n:5\r\n",
        b"*1\r\n$-3\r\n",
        b"*1\r\n$999999999\r\n",
        b"*1\r\n$3\r\nPINGPONG\r\n",
        b"*99999999\r\n",
    ];
    for bad in cases {
        with_server(|addr, _db| async move {
            let mut victim = Client::connect(addr).await;
            let mut other = Client::connect(addr).await;
            // The other connection has half a command in flight meanwhile.
            other.send_raw(b"*2\r\n$4\r\nECHO\r\n$2\r\nh").await;
            // A good command, then garbage, in one write: the reply, an error, then EOF.
            victim
                .send_raw(&[&encode(&[b"PING"])[..], bad].concat())
                .await;
            assert_eq!(victim.frame().await, Some(Frame::Simple(b"PONG".to_vec())));
            let reply = victim.frame().await.expect("an error before closing");
            assert!(is_error(&reply, "ERR Protocol error"), "{bad:?}: {reply:?}");
            assert_eq!(victim.frame().await, None, "{bad:?}: closed");
            other.send_raw(b"i\r\n").await;
            assert_eq!(other.frame().await, Some(bulk(b"hi")));
            assert_eq!(other.cmd(&[b"PING"]).await, Frame::Simple(b"PONG".to_vec()));
        });
    }
}

#[test]
fn pipelined_split_and_inline_commands() {
    with_server(|addr, _db| async move {
        let mut c = Client::connect(addr).await;
        // 1000 commands in one write.
        let mut batch = Vec::new();
        for _ in 0..1000 {
            batch.extend_from_slice(&encode(&[b"INCR", b"counter"]));
        }
        c.send_raw(&batch).await;
        for i in 1..=1000 {
            assert_eq!(c.frame().await, Some(int(i)));
        }
        // One command trickled byte by byte.
        for b in encode(&[b"SET", b"slow", b"value"]) {
            c.send_raw(&[b]).await;
            sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(c.frame().await, Some(ok()));
        // Inline commands, as redis-benchmark's PING_INLINE and telnet users send them.
        c.send_raw(b"PING\r\n\r\nGET  slow\nECHO\t\"x\"\r\n").await;
        assert_eq!(c.frame().await, Some(Frame::Simple(b"PONG".to_vec())));
        assert_eq!(c.frame().await, Some(bulk(b"value")));
        assert_eq!(
            c.frame().await,
            Some(bulk(b"\"x\"")),
            "no quoting in inline commands"
        );
        // A 3 MiB value travels both ways (partial reads in, a backlog out).
        let big: Vec<u8> = (0..3 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
        assert_eq!(c.cmd(&[b"SET", b"big", &big]).await, ok());
        assert_eq!(c.cmd(&[b"GET", b"big"]).await, Frame::Bulk(big));
    });
}

// ---- the codec alone ----

#[test]
fn command_parser_finds_commands_and_waits_for_the_rest() {
    let limits = Limits::DEFAULT;
    let mut args = Vec::new();
    let cmd = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\nPING";
    let used = parse_command(cmd, &mut args, &limits).unwrap().unwrap();
    assert_eq!(used, cmd.len() - 4);
    let got: Vec<&[u8]> = args.iter().map(|r| &cmd[r.clone()]).collect();
    assert_eq!(got, [&b"SET"[..], b"k", b""]);
    for cut in 0..used {
        assert_eq!(
            parse_command(&cmd[..cut], &mut args, &limits),
            Ok(None),
            "cut {cut}"
        );
    }
    assert_eq!(parse_command(b"*0\r\n", &mut args, &limits), Ok(Some(4)));
    assert!(args.is_empty());
    assert_eq!(
        parse_command(b"*1\r\n+OK\r\n", &mut args, &limits),
        Err(RespError::ExpectedBulk(b'+'))
    );
    let long_inline = vec![b'a'; limits.max_inline + 1];
    assert_eq!(
        parse_command(&long_inline, &mut args, &limits),
        Err(RespError::TooBigInline)
    );
    // A huge declared array reserves nothing and waits for its elements.
    assert_eq!(parse_command(b"*1048576\r\n", &mut args, &limits), Ok(None));
    assert!(
        args.is_empty() && args.capacity() < 64,
        "{}",
        args.capacity()
    );
}

#[test]
fn frames_round_trip_and_parsers_never_panic() {
    let frame = Frame::Array(vec![
        Frame::Simple(b"OK".to_vec()),
        Frame::Error(b"ERR x".to_vec()),
        Frame::Integer(i64::MIN),
        Frame::Bulk(b"\r\n\0".to_vec()),
        Frame::Null,
        Frame::Array(vec![Frame::Integer(7)]),
    ]);
    let mut bytes = Vec::new();
    frame.encode(&mut bytes);
    assert_eq!(
        parse_frame(&bytes, &Limits::DEFAULT),
        Ok(Some((frame, bytes.len())))
    );
    let deep = "*1\r\n".repeat(100);
    assert_eq!(
        parse_frame(deep.as_bytes(), &Limits::DEFAULT),
        Err(RespError::TooDeep)
    );

    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet = b"*$+-:\r\n0123456789-PING abc";
    let mut args = Vec::new();
    for _ in 0..30_000 {
        let len = (next() % 64) as usize;
        let input: Vec<u8> = (0..len)
            .map(|_| alphabet[(next() >> 7) as usize % alphabet.len()])
            .collect();
        if let Ok(Some(used)) = parse_command(&input, &mut args, &Limits::DEFAULT) {
            assert!(used <= input.len());
            assert!(args.iter().all(|r| r.end <= input.len()));
        }
        if let Ok(Some((_, used))) = parse_frame(&input, &Limits::DEFAULT) {
            assert!(used <= input.len());
        }
    }
}
