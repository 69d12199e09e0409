//! async-tungstenite over corio TCP with no glue: a WebSocket handshake and text, binary,
//! ping and close frames both ways on loopback.

use async_tungstenite::tungstenite::Message;
use corio::net::{TcpListener, TcpStream};
use futures_util::StreamExt;

#[corio::test]
async fn a_websocket_echo_round_trip() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = corio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = async_tungstenite::accept_async(tcp).await.unwrap();
        let mut echoed = 0;
        while let Some(msg) = ws.next().await {
            match msg.unwrap() {
                m @ (Message::Text(_) | Message::Binary(_)) => {
                    ws.send(m).await.unwrap();
                    echoed += 1;
                }
                Message::Close(_) => break,
                _ => {} // pings are answered by tungstenite itself
            }
        }
        echoed
    });
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (mut ws, resp) = async_tungstenite::client_async(format!("ws://{addr}/echo"), tcp)
        .await
        .unwrap();
    assert_eq!(resp.status(), 101);
    ws.send(Message::text("hello over corio")).await.unwrap();
    ws.send(Message::binary(vec![0u8, 1, 2, 255]))
        .await
        .unwrap();
    ws.send(Message::Ping(vec![9u8].into())).await.unwrap();
    let big = "x".repeat(300_000);
    ws.send(Message::text(big.clone())).await.unwrap();
    let mut got = Vec::new();
    while got.len() < 3 {
        match ws.next().await.unwrap().unwrap() {
            Message::Pong(p) => assert_eq!(&p[..], [9u8]),
            m => got.push(m),
        }
    }
    assert_eq!(got[0], Message::text("hello over corio"));
    assert_eq!(got[1], Message::binary(vec![0u8, 1, 2, 255]));
    assert_eq!(got[2], Message::text(big));
    ws.close(None).await.unwrap();
    assert_eq!(server.await.unwrap(), 3);
}
