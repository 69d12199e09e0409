//! WebSocket echo server: async-tungstenite on corio TCP streams, no glue (corio's streams
//! are futures-io streams). Text and binary messages come back as they were sent; pings are
//! answered by tungstenite; a close frame ends the connection.
//!
//! What one client can hold: a message of at most 1 MiB and a frame of at most 256 KiB
//! (tungstenite's limits, set here; bigger ones close the connection with an error), and
//! the upgrade must finish within 10 s. One task per connection.
//!
//! Run:    cargo run --release --example ws_echo [ADDR]        (default 127.0.0.1:9001)
//! Drive:  any WebSocket client, e.g. `websocat ws://127.0.0.1:9001/`, or curl:
//!         curl -i -N -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
//!              -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
//!              http://127.0.0.1:9001/              (101 Switching Protocols)
//! Stop:   Ctrl-C or `kill PID`.

use std::time::Duration;

use async_tungstenite::tungstenite::protocol::WebSocketConfig;
use async_tungstenite::tungstenite::Message;
use corio::net::TcpListener;
use futures_util::StreamExt;

#[corio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let listener = match TcpListener::bind(addr.as_str()).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("ws_echo: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    println!("ws_echo: ws://{}/", listener.local_addr().unwrap());
    let stop = corio::sync::CancellationToken::new();
    let stopper = stop.clone();
    corio::spawn(async move {
        let _ = corio::signal::shutdown().await;
        stopper.cancel();
    });
    let mut connections = 0u64;
    while let Some(accepted) = stop.run_until_cancelled(listener.accept()).await {
        let Ok((tcp, peer)) = accepted else { continue };
        connections += 1;
        corio::spawn(async move {
            let config = WebSocketConfig::default()
                .max_message_size(Some(1 << 20))
                .max_frame_size(Some(256 << 10));
            let upgrade = async_tungstenite::accept_async_with_config(tcp, Some(config));
            let mut ws = match corio::time::timeout(Duration::from_secs(10), upgrade).await {
                Ok(Ok(ws)) => ws,
                Ok(Err(e)) => return eprintln!("ws_echo: {peer}: upgrade failed: {e}"),
                Err(_) => return eprintln!("ws_echo: {peer}: upgrade timed out"),
            };
            let mut echoed = 0u64;
            while let Some(msg) = ws.next().await {
                match msg {
                    Ok(m @ (Message::Text(_) | Message::Binary(_))) => {
                        if ws.send(m).await.is_err() {
                            break;
                        }
                        echoed += 1;
                    }
                    Ok(Message::Close(_)) => break,
                    Ok(_) => {} // ping/pong: tungstenite answers pings itself
                    Err(e) => {
                        eprintln!("ws_echo: {peer}: {e}");
                        break;
                    }
                }
            }
            println!("ws_echo: {peer} done, {echoed} message(s) echoed");
        });
    }
    println!("ws_echo: stopped after {connections} connection(s)");
}
