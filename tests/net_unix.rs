//! Unix-domain sockets in a temporary directory: listener/stream, pairs and split halves,
//! the readiness API, datagrams, and the error cases.

use std::io::ErrorKind;
use std::path::PathBuf;
use std::time::Duration;

use corio::net::{UnixDatagram, UnixListener, UnixStream};
use corio::time::timeout;

mod common;
use common::bounded;

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "corio-net-unix-{tag}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[corio::test]
async fn listener_accepts_and_streams_echo() {
    bounded(async {
        let dir = TempDir::new("echo");
        let path = dir.path("echo.sock");
        let listener = UnixListener::bind(&path).unwrap();
        assert_eq!(
            listener.local_addr().unwrap().as_pathname(),
            Some(path.as_path())
        );
        let server = corio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 5];
            conn.read_exact(&mut buf).await.unwrap();
            conn.write_all(&buf).await.unwrap();
        });
        let mut client = UnixStream::connect(&path).await.unwrap();
        assert_eq!(
            client.peer_addr().unwrap().as_pathname(),
            Some(path.as_path())
        );
        client.write_all(b"hello").await.unwrap();
        let mut buf = [0u8; 5];
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"hello");
        server.await.unwrap();
        // Binding the same path again: the file is still there.
        let err = UnixListener::bind(&path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
    })
    .await
}

#[corio::test]
async fn pairs_split_and_reunite() {
    bounded(async {
        let (a, mut b) = UnixStream::pair().unwrap();
        let (mut rd, mut wr) = a.into_split();
        let echo = corio::spawn(async move {
            let mut buf = [0u8; 3];
            b.read_exact(&mut buf).await.unwrap();
            b.write_all(&buf).await.unwrap();
            b
        });
        wr.write_all(b"abc").await.unwrap();
        let mut buf = [0u8; 3];
        rd.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"abc");
        let mut b = echo.await.unwrap();
        let mut a = rd.reunite(wr).unwrap();
        let (mut ra, mut wa) = a.split();
        wa.write_all(b"z").await.unwrap();
        b.read_exact(&mut buf[..1]).await.unwrap();
        b.write_all(b"y").await.unwrap();
        ra.read_exact(&mut buf[..1]).await.unwrap();
        assert_eq!(buf[0], b'y');
    })
    .await
}

#[corio::test]
async fn readiness_api_on_unix_streams() {
    bounded(async {
        let (a, b) = UnixStream::pair().unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(
            b.try_read(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        assert_eq!(a.try_write(b"data").unwrap(), 4);
        b.readable().await.unwrap();
        assert_eq!(b.try_read(&mut buf).unwrap(), 4);
        // Short read: readable() now waits for new data.
        assert!(timeout(Duration::from_millis(30), b.readable())
            .await
            .is_err());
        a.shutdown(std::net::Shutdown::Write).unwrap();
        b.readable().await.unwrap();
        assert_eq!(b.try_read(&mut buf).unwrap(), 0, "EOF");
    })
    .await
}

#[corio::test]
async fn writing_to_a_closed_unix_peer_is_broken_pipe() {
    bounded(async {
        let (mut a, b) = UnixStream::pair().unwrap();
        drop(b);
        let err = a.write_all(b"anyone?").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{err}");
    })
    .await
}

#[corio::test]
async fn datagrams_by_path_and_by_pair() {
    bounded(async {
        let dir = TempDir::new("dgram");
        let path = dir.path("d.sock");
        let server = UnixDatagram::bind(&path).unwrap();
        let client_path = dir.path("c.sock");
        let client = UnixDatagram::bind(&client_path).unwrap();
        client.send_to(b"to server", &path).await.unwrap();
        let mut buf = [0u8; 32];
        let (n, from) = server.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"to server");
        assert_eq!(from.as_pathname(), Some(client_path.as_path()));
        server.send_to(b"reply", &client_path).await.unwrap();
        assert_eq!(client.recv(&mut buf).await.unwrap(), 5);

        let unbound = UnixDatagram::unbound().unwrap();
        unbound.connect(&path).unwrap();
        unbound.send(b"connected").await.unwrap();
        assert_eq!(server.recv(&mut buf).await.unwrap(), 9);

        let (x, y) = UnixDatagram::pair().unwrap();
        assert_eq!(
            y.try_recv(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        x.try_send(b"1").unwrap();
        x.send(b"22").await.unwrap();
        y.readable().await.unwrap();
        assert_eq!(y.try_recv(&mut buf).unwrap(), 1);
        assert_eq!(y.recv(&mut buf).await.unwrap(), 2);
        assert!(format!("{x:?}").starts_with("UnixDatagram"));
    })
    .await
}

#[corio::test]
async fn many_clients_on_one_listener() {
    bounded(async {
        let dir = TempDir::new("many");
        let path = dir.path("m.sock");
        let listener = UnixListener::bind(&path).unwrap();
        corio::spawn(async move {
            loop {
                let (mut conn, _) = listener.accept().await.unwrap();
                corio::spawn(async move {
                    let mut buf = [0u8; 8];
                    while let Ok(n) = conn.read(&mut buf).await {
                        if n == 0 || conn.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let mut clients = Vec::new();
        for i in 0..100u8 {
            let path = path.clone();
            clients.push(corio::spawn(async move {
                let mut c = UnixStream::connect(&path).await.unwrap();
                c.write_all(&[i]).await.unwrap();
                let mut b = [0u8; 1];
                c.read_exact(&mut b).await.unwrap();
                assert_eq!(b[0], i);
            }));
        }
        for c in clients {
            c.await.unwrap();
        }
    })
    .await
}
