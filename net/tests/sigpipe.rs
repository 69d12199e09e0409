//! With SIGPIPE at its *default* disposition (terminate), writing to a peer that has gone
//! returns `BrokenPipe` and the process lives: corio-net sends with MSG_NOSIGNAL on sockets
//! and blocks SIGPIPE around child-stdin pipe writes. Rust programs start with SIGPIPE
//! ignored, which would hide a mistake, so this binary restores the default first. It lives
//! in net/tests because it needs libc (a dependency of corio-net, not of the facade).

use std::io::{ErrorKind, IoSlice};
use std::process::Stdio;
use std::time::Duration;

use corio_net::process::Command;
use corio_net::{TcpListener, TcpStream, UnixStream};
use corio_runtime::time::{sleep, timeout};

fn restore_default_sigpipe() {
    // SAFETY: setting a signal disposition to SIG_DFL has no memory-safety requirements.
    let previous = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    assert_ne!(previous, libc::SIG_ERR);
}

async fn closed_tcp_peer() -> TcpStream {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    drop(listener.accept().await.unwrap());
    assert_eq!(client.read(&mut [0u8; 1]).await.unwrap(), 0);
    client
}

#[test]
fn broken_pipes_are_errors_not_signals() {
    restore_default_sigpipe();
    corio_runtime::run(async {
        timeout(Duration::from_secs(30), async {
            // TCP: write, write_vectored, try_write, the owned write half.
            let mut tcp = closed_tcp_peer().await;
            let mut last = None;
            for _ in 0..200 {
                match tcp.write(b"x").await {
                    Ok(_) => sleep(Duration::from_millis(5)).await,
                    Err(e) => {
                        last = Some(e);
                        break;
                    }
                }
            }
            let err = last.expect("writes to a closed peer never failed");
            assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{err}");
            let err = tcp
                .write_vectored(&[IoSlice::new(b"a"), IoSlice::new(b"b")])
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{err}");
            assert_eq!(
                tcp.try_write(b"x").unwrap_err().kind(),
                ErrorKind::BrokenPipe
            );
            let (_rd, mut wr) = tcp.into_split();
            assert!(wr.write_all(b"x").await.is_err());

            // Unix streams raise SIGPIPE on the very first write without MSG_NOSIGNAL.
            let (mut a, b) = UnixStream::pair().unwrap();
            drop(b);
            assert_eq!(
                a.write(b"x").await.unwrap_err().kind(),
                ErrorKind::BrokenPipe
            );
            assert_eq!(
                a.write_vectored(&[IoSlice::new(b"y")])
                    .await
                    .unwrap_err()
                    .kind(),
                ErrorKind::BrokenPipe
            );

            // A child's stdin pipe after the child exited.
            let mut child = Command::new("true").stdin(Stdio::piped()).spawn().unwrap();
            let mut stdin = child.stdin.take().unwrap();
            child.wait().await.unwrap();
            let err = stdin.write_all(&[0u8; 4096]).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{err}");
        })
        .await
        .expect("the test took longer than 30 s");
    });
    // Still alive, and SIGPIPE is still at its default: nothing changed it behind our back.
    // SAFETY: querying the disposition (null new action) only writes into `old`.
    let old = unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        assert_eq!(
            libc::sigaction(libc::SIGPIPE, std::ptr::null(), &mut old),
            0
        );
        old
    };
    assert_eq!(old.sa_sigaction, libc::SIG_DFL);
}
