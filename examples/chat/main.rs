//! Line-based chat: every line a client sends is broadcast to all the others.
//!
//! Clients are named `guest1`, `guest2`, ... in arrival order and see `* guestN joined`,
//! `* guestN left` notices. A client that stops reading is disconnected once more than
//! `--stall-bytes` wait for it and it has taken nothing for `--stall-timeout-ms`, or when its
//! backlog would pass `--max-backlog`; a burst of lines, joins or leaves disconnects nobody
//! who reads (the policy, its reasons and every bound are in `server.rs`).
//!
//! Drain: on SIGINT or SIGTERM it stops accepting (new connections are refused), tells
//! everyone `* server shutting down`, stops reading, sends every client what is already
//! queued for it (slow readers within the slow-client rules), closes the connections, and
//! exits 0 once the last is closed, or at `--drain-timeout SECS` (default 10), cutting those
//! left. A second signal during the drain exits at once (code 1, a message on stderr). See
//! `server::serve_until` and `../drain/mod.rs`.
//!
//! Run:    cargo run --release --example chat [ADDR] [--stall-bytes N] [--stall-timeout-ms N]
//!                        [--max-backlog N] [--max-notices N] [--max-line N]
//!                        [--drain-timeout SECS]
//!                                                                (default 127.0.0.1:7002)
//! Drive:  nc 127.0.0.1 7002          (in two or more terminals; type lines)
//!         or without nc: python3 -c 'import socket,sys; s=socket.create_connection(("127.0.0.1",7002)); s.sendall(b"hello\n"); print(s.recv(4096))'
//! Stop:   Ctrl-C or `kill PID` (drains); a second one exits at once.
//!         scripts/sigterm-drain.sh tries it under load.

#[path = "../drain/mod.rs"]
mod drain;

mod outbox;
mod server;

use std::time::Duration;

use corio::net::TcpListener;
use corio::sync::CancellationToken;

const USAGE: &str = "usage: chat [ADDR] [--stall-bytes N] [--stall-timeout-ms N] \
                     [--max-backlog N] [--max-notices N] [--max-line N] [--drain-timeout SECS]   \
                     (default 127.0.0.1:7002)";

#[corio::main]
async fn main() {
    let (addr, config, drain_timeout) = match parse_args(std::env::args().skip(1)) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("chat: {message}\n{USAGE}");
            std::process::exit(2);
        }
    };
    // Before anything else, so that a SIGTERM sent as soon as we listen asks for a drain.
    let signals = match drain::Signals::new() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("chat: cannot listen for SIGINT/SIGTERM: {e}");
            std::process::exit(1);
        }
    };
    let listener = match TcpListener::bind(addr.as_str()).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("chat: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    match listener.local_addr() {
        Ok(local) => println!("chat: listening on {local}"),
        Err(e) => eprintln!("chat: listening, but local_addr failed: {e}"),
    }
    let stop = CancellationToken::new();
    let outcome = drain::supervise(
        server::serve_until(listener, config, stop.clone()),
        stop,
        signals,
        drain_timeout,
        || eprintln!("chat: stop requested: draining (a second signal exits at once)"),
    )
    .await;
    std::process::exit(outcome.exit_code("chat"));
}

/// `[ADDR]` and `--flag N` or `--flag=N`, in any order.
fn parse_args(
    mut args: impl Iterator<Item = String>,
) -> Result<(String, server::Config, Duration), String> {
    let mut addr = None;
    let mut drain_timeout = drain::DEFAULT_TIMEOUT;
    let mut config = server::Config::default();
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        if !arg.starts_with("--") {
            if addr.is_some() || arg.starts_with('-') {
                return Err(format!("unexpected argument: {arg}"));
            }
            addr = Some(arg);
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
        let n: u64 = value
            .parse()
            .map_err(|_| format!("{flag}: not a non-negative integer: {value}"))?;
        let size = || usize::try_from(n).map_err(|_| format!("{flag}: too large: {n}"));
        match flag.as_str() {
            "--stall-bytes" => config.stall_bytes = size()?,
            "--stall-timeout-ms" => config.stall_timeout = Duration::from_millis(n),
            "--max-backlog" => config.max_backlog = size()?,
            "--max-notices" => config.max_notices = size()?,
            "--max-line" if n > 0 => config.max_line = size()?,
            "--max-line" => return Err("--max-line must be at least 1".to_owned()),
            _ => return Err(format!("unknown flag: {flag}")),
        }
    }
    let addr = addr.unwrap_or_else(|| "127.0.0.1:7002".to_owned());
    Ok((addr, config, drain_timeout))
}
