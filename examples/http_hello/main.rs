//! HTTP/1.1 "Hello, World!" server in the TechEmpower plaintext style: keep-alive,
//! pipelining, `GET /` (or `GET http://host/`) answers `Hello, World!`, anything else `404`.
//!
//! Malformed requests get `400` (oversized heads `431`) and the connection closes; idle
//! connections close after `--idle-timeout-ms` (default 10000); a head must be complete
//! within that of its first byte, and a body within that of its head plus one second per
//! `--min-body-rate` bytes (default 1024). A pipelining client is answered 128 requests per
//! turn of the loop. See `server.rs` for every edge case and bound, `parse.rs` for the
//! request-head parser.
//!
//! Drain: on SIGINT or SIGTERM it stops accepting (new connections are refused), answers
//! every request it has received (pipelined ones included; answers a slow client is taking
//! are sent whole), closes idle keep-alive connections, and exits 0 once the last
//! connection is done, or at `--drain-timeout SECS` (default 10), cutting those left. A
//! second signal during the drain exits at once (code 1, a message on stderr). See
//! `server::serve_until` and `../drain/mod.rs`.
//!
//! Shards: `--shards N` (default 1) serves the port from N loops, one per thread and core:
//! each binds its own `SO_REUSEPORT` listener on the address and answers the connections
//! the kernel hands it (`sharded.rs`, `../shards/mod.rs`); one stop token drains them all.
//!
//! Run:    cargo run --release --example http_hello [ADDR] [--idle-timeout-ms N]
//!                   [--min-body-rate BYTES_PER_S] [--drain-timeout SECS] [--shards N]
//!                                                         (default 127.0.0.1:8080, 1 shard)
//! Drive:  curl -v http://127.0.0.1:8080/                  (200 Hello, World!)
//!         curl -v http://127.0.0.1:8080/nope              (404)
//!         wrk -t1 -c50 -d5s http://127.0.0.1:8080/        (keep-alive load)
//!         printf 'GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n' | nc 127.0.0.1 8080   (pipelined)
//! Stop:   Ctrl-C or `kill PID` (drains); a second one exits at once.
//!         scripts/sigterm-drain.sh tries it under load.

#[path = "../drain/mod.rs"]
mod drain;
#[path = "../shards/mod.rs"]
mod shards;

mod date;
mod parse;
mod server;
mod sharded;

use std::time::Duration;

use corio::net::TcpListener;
use corio::sync::CancellationToken;

const USAGE: &str = "usage: http_hello [ADDR] [--idle-timeout-ms N] [--min-body-rate BYTES_PER_S] \
                     [--drain-timeout SECS] [--shards N]   \
                     (default 127.0.0.1:8080, 10000 ms, 1024 B/s, 10 s, 1 shard)";

#[corio::main]
async fn main() {
    let (addr, config, drain_timeout, shards) = match parse_args(std::env::args().skip(1)) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("http_hello: {message}\n{USAGE}");
            std::process::exit(2);
        }
    };
    // Before anything else, so that a SIGTERM sent as soon as we listen asks for a drain.
    let signals = match drain::Signals::new() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("http_hello: cannot listen for SIGINT/SIGTERM: {e}");
            std::process::exit(1);
        }
    };
    let code = if shards == 1 {
        serve_one(&addr, config, signals, drain_timeout).await
    } else {
        serve_sharded(shards, &addr, config, signals, drain_timeout).await
    };
    std::process::exit(code);
}

/// One loop on this thread: the listener, the connections, the drain.
async fn serve_one(
    addr: &str,
    config: server::Config,
    signals: drain::Signals,
    drain_timeout: Duration,
) -> i32 {
    let listener = match TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("http_hello: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    match listener.local_addr() {
        Ok(local) => println!(
            "http_hello: listening on http://{local}/ (idle timeout {} ms)",
            config.idle_timeout.as_millis()
        ),
        Err(e) => eprintln!("http_hello: listening, but local_addr failed: {e}"),
    }
    let stop = CancellationToken::new();
    let outcome = drain::supervise(
        server::serve_until(listener, config, stop.clone()),
        stop,
        signals,
        drain_timeout,
        || eprintln!("http_hello: stop requested: draining (a second signal exits at once)"),
    )
    .await;
    outcome.exit_code("http_hello")
}

/// `n` shards (`sharded.rs`); the signals and the drain's supervision stay on this thread's
/// loop.
async fn serve_sharded(
    n: usize,
    addr: &str,
    config: server::Config,
    signals: drain::Signals,
    drain_timeout: Duration,
) -> i32 {
    let idle = config.idle_timeout;
    let stop = CancellationToken::new();
    let mut running = match sharded::start(n, addr, config, stop.clone()).await {
        Ok(running) => running,
        Err(e) => {
            eprintln!("http_hello: cannot listen on {addr} with {n} shards: {e}");
            return 1;
        }
    };
    println!(
        "http_hello: listening on http://{}/ (idle timeout {} ms, {} shards)",
        running.local_addr(),
        idle.as_millis(),
        running.count()
    );
    let outcome = drain::supervise(running.finish(), stop, signals, drain_timeout, || {
        eprintln!("http_hello: stop requested: draining {n} shards (a second signal exits at once)")
    })
    .await;
    // Known only when every shard finished (after a timeout or a second signal the process
    // exits with the shards still running).
    if let Some(counts) = running.outputs() {
        println!("http_hello: answered {} requests", shards::tally(counts));
    }
    outcome.exit_code("http_hello")
}

/// `[ADDR] [--idle-timeout-ms N] [--min-body-rate N] [--drain-timeout SECS] [--shards N]`,
/// also as `--flag=N`, in any order.
fn parse_args(
    mut args: impl Iterator<Item = String>,
) -> Result<(String, server::Config, Duration, usize), String> {
    let mut addr = None;
    let mut drain_timeout = drain::DEFAULT_TIMEOUT;
    let mut shards = 1;
    let mut config = server::Config::default();
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        if !arg.starts_with('-') {
            if addr.is_some() {
                return Err(format!("unexpected argument: {arg}"));
            }
            addr = Some(arg);
            continue;
        }
        let (flag, value) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), value.to_owned()),
            None if arg == "--idle-timeout-ms"
                || arg == "--min-body-rate"
                || arg == "--drain-timeout"
                || arg == "--shards" =>
            {
                let value = args.next().ok_or(format!("{arg} needs a value"))?;
                (arg, value)
            }
            None => return Err(format!("unexpected argument: {arg}")),
        };
        if flag == "--drain-timeout" {
            drain_timeout = drain::parse_drain_timeout(&value)?;
            continue;
        }
        if flag == "--shards" {
            shards = shards::parse_count(&value)?;
            continue;
        }
        let n: u64 = value
            .parse()
            .map_err(|_| format!("{flag}: not a non-negative integer: {value}"))?;
        match flag.as_str() {
            "--idle-timeout-ms" => config.idle_timeout = Duration::from_millis(n),
            "--min-body-rate" => config.min_body_rate = n,
            _ => return Err(format!("unexpected argument: {flag}")),
        }
    }
    let addr = addr.unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    Ok((addr, config, drain_timeout, shards))
}
