//! Line-based chat: every line a client sends is broadcast to all the others.
//!
//! Clients are named `guest1`, `guest2`, ... in arrival order and see `* guestN joined`,
//! `* guestN left` notices. Each client has a bounded queue of pending messages; a client
//! too slow to keep up is disconnected rather than allowed to stall the room (the policy
//! and its reasons are in `server.rs`).
//!
//! Run:    cargo run --release --example chat [ADDR]           (default 127.0.0.1:7002)
//! Drive:  nc 127.0.0.1 7002          (in two or more terminals; type lines)
//!         or without nc: python3 -c 'import socket,sys; s=socket.create_connection(("127.0.0.1",7002)); s.sendall(b"hello\n"); print(s.recv(4096))'
//! Stop:   Ctrl-C.

mod server;

use corio::net::TcpListener;

#[corio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:7002".to_owned());
    if addr.starts_with('-') || args.next().is_some() {
        eprintln!("usage: chat [ADDR]   (default 127.0.0.1:7002)");
        std::process::exit(2);
    }
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
    if let Err(e) = server::serve(listener, server::Config::default()).await {
        eprintln!("chat: accept failed: {e}");
        std::process::exit(1);
    }
}
