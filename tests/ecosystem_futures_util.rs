//! futures-util over corio TCP with no glue: BufReader + lines, copy, select!,
//! FuturesUnordered, split into halves. Each test asserts what came back.

mod common;

use std::time::Duration;

use corio::net::{TcpListener, TcpStream};
use futures_util::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use futures_util::stream::{FuturesUnordered, StreamExt};

#[corio::test]
async fn buf_reader_lines_splits_what_was_written() {
    let (mut client, server) = common::tcp_pair().await;
    corio::spawn(async move {
        for i in 0..100 {
            AsyncWriteExt::write_all(&mut client, format!("line {i}\n").as_bytes())
                .await
                .unwrap();
        }
        AsyncWriteExt::write_all(&mut client, b"last, no newline")
            .await
            .unwrap();
        AsyncWriteExt::close(&mut client).await.unwrap();
    });
    let lines: Vec<String> = BufReader::new(server)
        .lines()
        .map(|l| l.unwrap())
        .collect()
        .await;
    assert_eq!(lines.len(), 101);
    assert_eq!(lines[0], "line 0");
    assert_eq!(lines[99], "line 99");
    assert_eq!(lines[100], "last, no newline");
}

#[corio::test]
async fn copy_echoes_a_megabyte_through_a_server() {
    let (client, server) = common::tcp_pair().await;
    // The server copies its read side to its write side (an echo) with futures' `copy`.
    corio::spawn(async move {
        let (reader, mut writer) = AsyncReadExt::split(server);
        futures_util::io::copy(reader, &mut writer).await.unwrap();
    });
    let (mut reader, mut writer) = AsyncReadExt::split(client);
    let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 249) as u8).collect();
    let sent = data.clone();
    let write = corio::spawn(async move {
        writer.write_all(&sent).await.unwrap();
        writer.close().await.unwrap(); // EOF: the server's copy ends and closes its side
    });
    let mut echoed = Vec::new();
    reader.read_to_end(&mut echoed).await.unwrap();
    write.await.unwrap();
    assert!(echoed == data, "1 MB came back unchanged");
}

#[corio::test(start_paused = true)]
async fn select_picks_the_read_that_is_ready() {
    let (mut client, mut server) = common::tcp_pair().await;
    AsyncWriteExt::write_all(&mut client, b"ping")
        .await
        .unwrap();
    let mut buf = [0u8; 4];
    let timer = corio::time::sleep(Duration::from_secs(5));
    futures_util::pin_mut!(timer);
    let read = AsyncReadExt::read_exact(&mut server, &mut buf);
    let outcome = futures_util::select! {
        r = futures_util::FutureExt::fuse(read) => { r.unwrap(); "read" }
        _ = futures_util::FutureExt::fuse(timer) => "timer",
    };
    assert_eq!(outcome, "read");
    assert_eq!(&buf, b"ping");
    // And the timer wins when nothing comes.
    let mut more = [0u8; 1];
    let read = AsyncReadExt::read(&mut server, &mut more);
    let outcome = futures_util::select! {
        _ = futures_util::FutureExt::fuse(read) => "read",
        _ = futures_util::FutureExt::fuse(corio::time::sleep(Duration::from_secs(5))) => "timer",
    };
    assert_eq!(outcome, "timer");
}

#[corio::test]
async fn futures_unordered_runs_many_connections_at_once() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    corio::spawn(async move {
        for _ in 0..16 {
            let (mut conn, _) = listener.accept().await.unwrap();
            corio::spawn(async move {
                let mut buf = [0u8; 8];
                let n = AsyncReadExt::read(&mut conn, &mut buf).await.unwrap();
                buf[..n].reverse();
                AsyncWriteExt::write_all(&mut conn, &buf[..n])
                    .await
                    .unwrap();
            });
        }
    });
    let mut calls: FuturesUnordered<_> = (0..16u8)
        .map(|i| async move {
            let mut conn = TcpStream::connect(addr).await.unwrap();
            AsyncWriteExt::write_all(&mut conn, &[i, 100])
                .await
                .unwrap();
            let mut back = [0u8; 2];
            AsyncReadExt::read_exact(&mut conn, &mut back)
                .await
                .unwrap();
            (i, back)
        })
        .collect();
    let mut seen = Vec::new();
    while let Some((i, back)) = calls.next().await {
        assert_eq!(back, [100, i]);
        seen.push(i);
    }
    seen.sort();
    assert_eq!(seen, (0..16).collect::<Vec<u8>>());
}
