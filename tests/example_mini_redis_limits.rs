//! The `mini_redis` example against hostile clients (issue 11, "Fair under load"): the
//! parser keeps its place in a command that arrives in pieces; replies a client does not
//! read stay bounded; unfinished requests have size and time limits; idle connections close;
//! buffers give memory back; a pipelining client cannot run unbounded commands between
//! awaits. Bounds are checked through the counters the server keeps (`server::stats()`),
//! never through timing.

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

use mini_redis::resp::{parse_command, CommandParser, Limits};

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
