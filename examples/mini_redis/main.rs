//! A small Redis: RESP2 over TCP with PING, ECHO, SET (EX/PX/NX/XX), GET, MGET, MSET, DEL,
//! INCR, EXPIRE, TTL, EXISTS, DBSIZE, FLUSHDB and enough `CONFIG GET` for
//! `redis-benchmark`. Keys expire on corio timers (see `db.rs`); unknown commands get `-ERR`
//! and the connection stays usable; malformed RESP closes only that connection.
//!
//! What one client can make the server hold is bounded (see `server.rs` for the details):
//! at most 256 KiB of unsent replies plus one reply (commands wait while the client does
//! not read), at most `--max-request-len` bytes of an unfinished command and
//! `--max-bulk-len` per bulk string, `--request-timeout` seconds to finish a command,
//! `--idle-timeout` seconds without traffic, and at most `server::TURN_WORK` commands plus
//! arguments between two awaits.
//!
//! Drain: on SIGINT or SIGTERM it stops accepting (new connections are refused), runs and
//! answers every command it has received, sends replies in flight whole however slowly the
//! client reads (a 32 MiB `GET`), closes idle connections, and exits 0 once the last
//! connection is done, or at `--drain-timeout SECS` (default 10), cutting those left. A
//! second signal during the drain exits at once (code 1, a message on stderr). See
//! `server::serve_until` and `../drain/mod.rs`.
//!
//! Run:    cargo run --release --example mini_redis [ADDR] [OPTIONS]   (default 127.0.0.1:6379)
//!         --max-bulk-len BYTES      longest bulk string (default 33554432 = 32 MiB)
//!         --max-request-len BYTES   most bytes of one unfinished command (default 64 MiB)
//!         --idle-timeout SECS       close after this long without traffic (default 300)
//!         --request-timeout SECS    an unfinished command must complete within (default 60)
//!         --drain-timeout SECS      after SIGINT/SIGTERM, exit within (default 10)
//! Drive:  redis-cli -p 6379 PING
//!         redis-cli -p 6379 SET greeting hello EX 10
//!         redis-cli -p 6379 GET greeting; redis-cli -p 6379 TTL greeting
//!         redis-cli -p 6379 INCR hits
//!         redis-benchmark -p 6379 -q -n 100000 -t ping,set,get,incr,mset
//!         redis-benchmark -p 6379 -q -n 100000 -t set,get -P 16   (pipelined)
//!         printf 'PING\r\n' | nc 127.0.0.1 6379                  (inline commands work too)
//! Limits: scripts/redis-limits.sh (hostile clients under `prlimit`, peak RSS).
//! Stop:   Ctrl-C or `kill PID` (drains); a second one exits at once.
//!         scripts/sigterm-drain.sh tries it under load.

#[path = "../drain/mod.rs"]
mod drain;

mod cmd;
mod db;
mod output;
mod resp;
mod server;

use std::time::Duration;

use corio::net::TcpListener;
use corio::sync::CancellationToken;

const USAGE: &str = "usage: mini_redis [ADDR] [--max-bulk-len BYTES] [--max-request-len BYTES] \
                     [--idle-timeout SECS] [--request-timeout SECS] [--drain-timeout SECS]   \
                     (default 127.0.0.1:6379)";

/// `[ADDR]` and the options, in any order, as `--flag VALUE` or `--flag=VALUE`.
fn parse_args(
    mut args: impl Iterator<Item = String>,
) -> Result<(String, server::Config, Duration), String> {
    let mut addr = None;
    let mut drain_timeout = drain::DEFAULT_TIMEOUT;
    let mut config = server::Config::default();
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            return Err(String::new());
        }
        if !arg.starts_with("--") {
            if addr.replace(arg).is_some() {
                return Err("more than one address".into());
            }
            continue;
        }
        let (flag, value) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), value.to_owned()),
            None => {
                let value = args.next().ok_or(format!("{arg} needs a value"))?;
                (arg, value)
            }
        };
        if flag == "--drain-timeout" {
            drain_timeout = drain::parse_drain_timeout(&value)?;
            continue;
        }
        let number = value
            .parse::<u64>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or(format!("{flag}: not a positive whole number: {value:?}"))?;
        let bytes = usize::try_from(number).map_err(|_| format!("{flag}: too large"))?;
        match flag.as_str() {
            "--max-bulk-len" => config.limits.max_bulk = bytes,
            "--max-request-len" => config.max_request = bytes,
            "--idle-timeout" => config.idle_timeout = Duration::from_secs(number),
            "--request-timeout" => config.request_timeout = Duration::from_secs(number),
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    let addr = addr.unwrap_or_else(|| "127.0.0.1:6379".to_owned());
    Ok((addr, config, drain_timeout))
}

#[corio::main]
async fn main() {
    let (addr, config, drain_timeout) = match parse_args(std::env::args().skip(1)) {
        Ok(parsed) => parsed,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("mini_redis: {msg}");
            }
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    };
    // Before anything else, so that a SIGTERM sent as soon as we listen asks for a drain.
    let signals = match drain::Signals::new() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mini_redis: cannot listen for SIGINT/SIGTERM: {e}");
            std::process::exit(1);
        }
    };
    let listener = match TcpListener::bind(addr.as_str()).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("mini_redis: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    match listener.local_addr() {
        Ok(local) => println!("mini_redis: listening on {local}"),
        Err(e) => eprintln!("mini_redis: listening, but local_addr failed: {e}"),
    }
    let stop = CancellationToken::new();
    let outcome = drain::supervise(
        server::serve_until(listener, db::Db::new(), config, stop.clone()),
        stop,
        signals,
        drain_timeout,
        || eprintln!("mini_redis: stop requested: draining (a second signal exits at once)"),
    )
    .await;
    std::process::exit(outcome.exit_code("mini_redis"));
}
