//! UDP echo server: every datagram goes back to its sender.
//!
//! Run:    cargo run --release --example udp_echo [ADDR]    (default 127.0.0.1:7001)
//! Drive:  nc -u 127.0.0.1 7001                              (type lines, they come back)
//!         or: python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM);
//!             s.sendto(b"hi", ("127.0.0.1", 7001)); print(s.recvfrom(100))'

use corio::net::UdpSocket;

/// Largest UDP payload over IPv4/IPv6 without jumbograms.
const MAX_DATAGRAM: usize = 65_535;

#[corio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7001".to_owned());
    let socket = match UdpSocket::bind(addr.as_str()).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("udp_echo: cannot bind {addr}: {e}");
            std::process::exit(1);
        }
    };
    println!("udp_echo: listening on {}", socket.local_addr().unwrap());
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let (n, peer) = match socket.recv_from(&mut buf).await {
            Ok(got) => got,
            // e.g. ECONNREFUSED reported for an earlier reply (ICMP port unreachable).
            Err(e) => {
                eprintln!("udp_echo: recv: {e}");
                continue;
            }
        };
        if let Err(e) = socket.send_to(&buf[..n], peer).await {
            eprintln!("udp_echo: send to {peer}: {e}");
        }
    }
}
