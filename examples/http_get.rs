//! The pooled HTTP/1.1 client of `corio::compat::hyper`: GET a URL N times, one request after
//! the other, and print how many TCP connections that took (1 with a keep-alive server).
//!
//! Each response body is read to the end (that is what hands the connection back to the
//! pool) and counted; the first one is printed. What it holds: one connection per authority
//! at a time here (the requests are sequential), each body in memory while it is counted, a
//! 5 s connect timeout and a 30 s request timeout.
//!
//! Run:    cargo run --release --features hyper --example http_get URL [N]
//!         e.g. with `hyper_hello` running:
//!         cargo run --release --features hyper --example http_get http://127.0.0.1:8081/ 1000

use std::time::Duration;

use corio::compat::hyper::Client;
use http_body_util::BodyExt;

#[corio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:8081/".into());
    let count: u64 = match args.next().map(|n| n.parse()) {
        None => 10,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("http_get: N must be a positive integer\nusage: http_get URL [N]");
            std::process::exit(2);
        }
    };
    let client: Client = Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .request_timeout(Duration::from_secs(30))
        .build();
    let started = std::time::Instant::now();
    let mut bytes = 0usize;
    for i in 0..count {
        let resp = match client.get(url.as_str()).await {
            Ok(resp) => resp,
            Err(e) => {
                eprintln!("http_get: GET {url} (request {}): {e}", i + 1);
                std::process::exit(1);
            }
        };
        let status = resp.status();
        let body = match resp.into_body().collect().await {
            Ok(body) => body.to_bytes(),
            Err(e) => {
                eprintln!("http_get: reading the body of request {}: {e}", i + 1);
                std::process::exit(1);
            }
        };
        if i == 0 {
            println!("{status} {}", String::from_utf8_lossy(&body));
        }
        bytes += body.len();
    }
    println!(
        "http_get: {count} GETs, {bytes} body bytes, {} connection(s) opened, {:.1?}",
        client.connections_opened(),
        started.elapsed()
    );
}
