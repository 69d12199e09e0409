//! The `futures_io::AsyncRead`/`AsyncWrite` impls of streams, halves and child pipes, driven
//! through the traits only (as generic code such as codecs would). In net/tests because
//! the facade does not depend on futures-io.

use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::process::Stdio;
use std::time::Duration;

use corio_net::process::Command;
use corio_net::{TcpListener, TcpStream, UnixStream};
use futures_io::{AsyncRead, AsyncWrite};

async fn write_all<W: AsyncWrite + Unpin>(w: &mut W, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        let n = poll_fn(|cx| Pin::new(&mut *w).poll_write(cx, buf)).await?;
        buf = &buf[n..];
    }
    poll_fn(|cx| Pin::new(&mut *w).poll_flush(cx)).await
}

async fn read_to_end<R: AsyncRead + Unpin>(r: &mut R) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 1000];
    loop {
        let n = poll_fn(|cx| Pin::new(&mut *r).poll_read(cx, &mut buf)).await?;
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(&buf[..n]);
    }
}

async fn close<W: AsyncWrite + Unpin>(w: &mut W) -> io::Result<()> {
    poll_fn(|cx| Pin::new(&mut *w).poll_close(cx)).await
}

fn run<F: std::future::Future>(f: F) -> F::Output {
    corio_runtime::run(async {
        corio_runtime::time::timeout(Duration::from_secs(30), f)
            .await
            .expect("the test took longer than 30 s")
    })
}

#[test]
fn tcp_stream_through_the_traits() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        let payload: Vec<u8> = (0..300_000).map(|i| i as u8).collect();
        let expected = payload.clone();
        let reader = corio_runtime::spawn(async move { read_to_end(&mut server).await.unwrap() });
        write_all(&mut client, &payload).await.unwrap();
        let n = poll_fn(|cx| {
            Pin::new(&mut client).poll_write_vectored(cx, &[IoSlice::new(b"v"), IoSlice::new(b"w")])
        })
        .await
        .unwrap();
        assert_eq!(n, 2);
        close(&mut client).await.unwrap(); // shutdown(Write): the reader sees EOF
        let got = reader.await.unwrap();
        assert_eq!(&got[..expected.len()], &expected[..]);
        assert_eq!(&got[expected.len()..], b"vw");
    });
}

#[test]
fn unix_stream_and_halves_through_the_traits() {
    run(async {
        let (a, mut b) = UnixStream::pair().unwrap();
        let (mut rd, mut wr) = a.into_split();
        write_all(&mut wr, b"from the owned half").await.unwrap();
        close(&mut wr).await.unwrap();
        assert_eq!(read_to_end(&mut b).await.unwrap(), b"from the owned half");
        write_all(&mut b, b"back").await.unwrap();
        close(&mut b).await.unwrap();
        assert_eq!(read_to_end(&mut rd).await.unwrap(), b"back");

        let (mut c, mut d) = UnixStream::pair().unwrap();
        {
            let (_r, mut w) = c.split();
            write_all(&mut w, b"borrowed").await.unwrap();
            close(&mut w).await.unwrap();
        }
        assert_eq!(read_to_end(&mut d).await.unwrap(), b"borrowed");
    });
}

#[test]
fn child_pipes_through_the_traits() {
    run(async {
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let data = vec![b'z'; 200_000];
        let expected = data.clone();
        let reader = corio_runtime::spawn(async move { read_to_end(&mut stdout).await.unwrap() });
        write_all(&mut stdin, &data).await.unwrap();
        close(&mut stdin).await.unwrap();
        drop(stdin);
        assert_eq!(reader.await.unwrap(), expected);
        assert!(child.wait().await.unwrap().success());
    });
}
