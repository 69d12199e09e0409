//! A small Redis: RESP2 over TCP with PING, ECHO, SET (EX/PX/NX/XX), GET, DEL, INCR,
//! EXPIRE, TTL, EXISTS and enough `CONFIG GET` for `redis-benchmark`. Keys expire on corio
//! timers (see `db.rs`); unknown commands get `-ERR` and the connection stays usable;
//! malformed RESP closes only that connection (see `server.rs`).
//!
//! Run:    cargo run --release --example mini_redis [ADDR]     (default 127.0.0.1:6379)
//! Drive:  redis-cli -p 6379 PING
//!         redis-cli -p 6379 SET greeting hello EX 10
//!         redis-cli -p 6379 GET greeting; redis-cli -p 6379 TTL greeting
//!         redis-cli -p 6379 INCR hits
//!         redis-benchmark -p 6379 -q -n 100000 -t ping,set,get,incr
//!         redis-benchmark -p 6379 -q -n 100000 -t set,get -P 16   (pipelined)
//!         printf 'PING\r\n' | nc 127.0.0.1 6379                  (inline commands work too)
//! Stop:   Ctrl-C.

mod cmd;
mod db;
mod resp;
mod server;

use corio::net::TcpListener;

#[corio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:6379".to_owned());
    if addr.starts_with('-') || args.next().is_some() {
        eprintln!("usage: mini_redis [ADDR]   (default 127.0.0.1:6379)");
        std::process::exit(2);
    }
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
    if let Err(e) = server::serve(listener, server::Config::default()).await {
        eprintln!("mini_redis: accept failed: {e}");
        std::process::exit(1);
    }
}
