//! HTTP/1.1 "Hello, World!" server in the TechEmpower plaintext style: keep-alive,
//! pipelining, `GET /` answers `Hello, World!`, anything else `404`.
//!
//! Malformed requests get `400` (oversized heads `431`) and the connection closes; idle
//! connections close after `--idle-timeout-ms` (default 10000). See `server.rs` for every
//! edge case and `parse.rs` for the request-head parser.
//!
//! Run:    cargo run --release --example http_hello [ADDR] [--idle-timeout-ms N]
//!                                                         (default 127.0.0.1:8080)
//! Drive:  curl -v http://127.0.0.1:8080/                  (200 Hello, World!)
//!         curl -v http://127.0.0.1:8080/nope              (404)
//!         wrk -t1 -c50 -d5s http://127.0.0.1:8080/        (keep-alive load)
//!         printf 'GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n' | nc 127.0.0.1 8080   (pipelined)
//! Stop:   Ctrl-C.

mod date;
mod parse;
mod server;

use std::time::Duration;

use corio::net::TcpListener;

const USAGE: &str = "usage: http_hello [ADDR] [--idle-timeout-ms N]   (default 127.0.0.1:8080)";

#[corio::main]
async fn main() {
    let (addr, config) = match parse_args(std::env::args().skip(1)) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("http_hello: {message}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let listener = match TcpListener::bind(addr.as_str()).await {
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
    if let Err(e) = server::serve(listener, config).await {
        eprintln!("http_hello: accept failed: {e}");
        std::process::exit(1);
    }
}

/// `[ADDR] [--idle-timeout-ms N]` or `--idle-timeout-ms=N`, in any order.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<(String, server::Config), String> {
    let mut addr = None;
    let mut config = server::Config::default();
    while let Some(arg) = args.next() {
        let value = if arg == "--idle-timeout-ms" {
            Some(args.next().ok_or("--idle-timeout-ms needs a value")?)
        } else {
            arg.strip_prefix("--idle-timeout-ms=").map(str::to_owned)
        };
        if let Some(value) = value {
            let ms: u64 = value
                .parse()
                .map_err(|_| format!("--idle-timeout-ms: not a number of milliseconds: {value}"))?;
            config.idle_timeout = Duration::from_millis(ms);
        } else if arg == "-h" || arg == "--help" {
            println!("{USAGE}");
            std::process::exit(0);
        } else if arg.starts_with('-') || addr.is_some() {
            return Err(format!("unexpected argument: {arg}"));
        } else {
            addr = Some(arg);
        }
    }
    Ok((addr.unwrap_or_else(|| "127.0.0.1:8080".to_owned()), config))
}
